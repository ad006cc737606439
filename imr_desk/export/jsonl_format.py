"""JSON Lines: one object per letter, per line.

Each line is the clerk's record (contract/record.schema.json: schema, source, layout, case, reviewer,
patient, summary, items, outcome, fields, warnings) with, beside it:

- `text`: the letter's text, which every offset in `fields` and in the annotations indexes into;
- `page_starts`: the offset in `text` where each page begins;
- `review`: status, reason, who reviewed it and when, the batch, the record's version,
  `changed_fields` (the field paths where the clerk's record differs from the parser's) and
  `parser_values` (the parser's value for each of them), so the parser's record can be rebuilt, and
  `confirmed_fields` (path -> who confirmed the field's value against the letter, and when: the
  fields a clerk checked, whose value has not changed since);
- `history`: every change, oldest first (path, old, new, who, at, origin, reason, version);
- `annotations`: start, end, label, note, who, at, the quoted text, and removed_at/removed_by for
  annotations that were removed (kept, as the database keeps them).

`imr-desk import FILE.jsonl` reads it back (imr_desk.store.roundtrip).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imr_desk.export.rows import changes as changed
from imr_desk.export.selection import LetterData
from imr_desk.store.roundtrip import EXTRA_KEYS  # the line's parts beside the record (ExportLine)

LINE_SCHEMA = "imr-desk/export-line/1"


def review_of(letter: LetterData) -> dict[str, Any]:
    changes = changed(letter.parsed, letter.record)
    return {
        "status": letter.status,
        "status_reason": letter.status_reason,
        "status_by": letter.status_by,
        "status_at": letter.status_at,
        "reviewed_by": letter.reviewed_by,
        "reviewed_at": letter.reviewed_at,
        "batch": letter.batch,
        "imported_by": letter.imported_by,
        "imported_at": letter.imported_at,
        "parser_version": letter.parser_version,
        "version": letter.version,
        "letter_id": letter.id,
        "changed_fields": [path for path, _old, _new in changes],
        "parser_values": {path: old for path, old, _new in changes},
        "confirmed_fields": {path: {"by": c.by, "at": c.at} for path, c in letter.confirmed.items()},
    }


def _annotations(letter: LetterData) -> list[dict[str, Any]]:
    return [{k: a.get(k) for k in ("start", "end", "label", "note", "who", "at", "removed_at", "removed_by", "quote")}
            for a in letter.annotations]


def line_of(letter: LetterData) -> dict[str, Any]:
    """The letter's line as a dict (what `JsonlWriter` writes, decoded)."""
    line = json.loads(letter.record_json)  # the whole record, whether or not `record` was read slim
    line["text"] = letter.text
    line["page_starts"] = letter.page_starts
    line["review"] = review_of(letter)
    line["history"] = letter.history if letter.history_json is None else json.loads(letter.history_json)
    line["annotations"] = _annotations(letter)
    return line


class JsonlWriter:
    """Writes one JSON object per letter to a .jsonl file."""

    needs_text = True
    needs_history = "json"
    needs_files = False
    slim = True

    def __init__(self, path: Path) -> None:
        self.files = [path.name]
        self._f = open(path, "w", encoding="utf-8", newline="\n", buffering=1 << 20)
        self.counts = {"letters": 0, "items": 0, "annotations": 0}
        self._dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def write(self, letter: LetterData) -> None:
        raw = letter.record_json.rstrip()
        if (letter.history_json is not None and raw.startswith("{") and raw.endswith("}") and raw != "{}"
                and "\n" not in raw and not any(k in letter.record for k in EXTRA_KEYS)):
            # the stored record and the history are JSON already: splice them in rather than decode and
            # encode them again (most of the line, and most of the time)
            extra = self._dumps({"text": letter.text, "page_starts": letter.page_starts,
                                 "review": review_of(letter)})
            self._f.write(f'{raw[:-1]},{extra[1:-1]},"history":{letter.history_json},'
                          f'"annotations":{self._dumps(_annotations(letter))}}}\n')
        else:
            self._f.write(self._dumps(line_of(letter)))
            self._f.write("\n")
        self.counts["letters"] += 1
        self.counts["items"] += len(letter.record.get("items") or [])
        self.counts["annotations"] += len(letter.active_annotations)

    def close(self) -> None:
        self._f.close()

    def abort(self) -> None:
        self._f.close()
