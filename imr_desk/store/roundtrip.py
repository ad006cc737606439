"""Importing an IMR Desk JSON Lines export back into a review database (the round trip).

Each line of an export (imr_desk/export/jsonl_format.py) is the clerk's record plus the letter's
`text`, `page_starts`, `review`, `history` and `annotations`. Importing a line stores a letter whose
file is that text (UTF-8), whose identity is the original file's sha256 (so importing the same set
twice, or into the database it came from, finds duplicates), with the clerk's record, the status,
who reviewed it and when, the whole history and the annotations as they were. The parser's record is
rebuilt from the clerk's record and `review.parser_values`, so "which fields the clerk changed"
survives too. A line of `imr-desk parse --text` output (a bare record with its text) imports as a
letter to review.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imr_desk.store.errors import DiskFull, NotWritable, StoreError

if TYPE_CHECKING:
    from imr_desk.store.database import Database

EXTRA_KEYS = ("text", "page_starts", "review", "history", "annotations")
STATUSES = ("to review", "in review", "reviewed", "postponed")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

Outcome = tuple[str, str, str | None, int | None]


def parser_record(record: dict[str, Any], parser_values: dict[str, Any]) -> dict[str, Any]:
    """The parser's record, rebuilt from the clerk's and the parser's value of every changed field path."""
    parsed = copy.deepcopy(record)
    items = parsed.get("items")
    if "items.count" in parser_values:
        n = int(parser_values["items.count"] or 0)
        items = parsed["items"] = list(items or [])
        del items[n:]
        items.extend({} for _ in range(n - len(items)))
    for path, value in parser_values.items():
        parts = path.split(".")
        if path == "items.count":
            continue
        if parts[0] == "items" and len(parts) == 3 and parts[1].isdigit():
            i = int(parts[1])
            if items is not None and i < len(items):
                items[i] = dict(items[i])
                items[i][parts[2]] = value
        elif len(parts) == 1:
            parsed[parts[0]] = value
        elif len(parts) == 2:
            part = parsed.get(parts[0])
            part = dict(part) if isinstance(part, dict) else {}
            part[parts[1]] = value
            parsed[parts[0]] = part
    return parsed


def _problem(line: dict[str, Any]) -> str | None:
    source = line.get("source")
    if not isinstance(source, dict):
        return "the line has no `source` (is this an IMR Desk JSON Lines export?)"
    if not isinstance(source.get("name"), str) or not source.get("name"):
        return "the line has no source.name"
    if not isinstance(source.get("sha256"), str) or not _SHA256.match(source["sha256"]):
        return "the line has no valid source.sha256"
    if not isinstance(line.get("text"), str):
        return "the line has no `text` (export with IMR Desk, or `imr-desk parse --text`)"
    review = line.get("review") or {}
    if not isinstance(review, dict):
        return "`review` is not an object"
    if review.get("status", "to review") not in STATUSES:
        return f"unknown status {review.get('status')!r}"
    return None


def _annotations(line: dict[str, Any], text_length: int) -> list[dict[str, Any]]:
    out = []
    for a in line.get("annotations") or []:
        start, end = a.get("start"), a.get("end")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= text_length):
            raise ValueError(f"an annotation's span ({start}..{end}) is outside the letter's text")
        if not a.get("label"):
            raise ValueError("an annotation has no label")
        out.append({k: a.get(k) for k in ("start", "end", "label", "note", "who", "at", "removed_at",
                                          "removed_by")})
    return out


def import_line(db: Database, line: dict[str, Any], batch: str | None, origin: str) -> Outcome:
    """Store one exported letter. Returns (name, outcome, message, letter id)."""
    name = str((line.get("source") or {}).get("name") or "?") if isinstance(line.get("source"), dict) else "?"
    problem = _problem(line)
    if problem:
        return name, "failed", problem, None
    source = line["source"]
    existing = db.letter_id_by_sha256(source["sha256"])
    if existing is not None:
        return name, "duplicate", f"already in the database as letter {existing}", existing
    review: dict[str, Any] = line.get("review") or {}
    record = {k: v for k, v in line.items() if k not in EXTRA_KEYS}
    parsed = parser_record(record, review.get("parser_values") or {})
    text: str = line["text"]
    try:
        annotations = _annotations(line, len(text))
    except ValueError as exc:
        return name, "failed", str(exc), None
    history = [h for h in (line.get("history") or []) if isinstance(h, dict) and h.get("path")]
    history.append({"path": "*", "old": None, "new": {"imported_from": origin, "letter_id": review.get("letter_id")},
                    "who": db.user, "origin": "import"})
    page_starts = line.get("page_starts") or [0]
    try:
        letter_id = db.insert_letter(
            data=text.encode("utf-8"), name=source["name"], media_type="text/plain", text=text,
            page_starts=page_starts, parsed=parsed, record=record, sha256=source["sha256"], batch=batch,
            status=review.get("status") or "to review", status_reason=review.get("status_reason"),
            status_by=review.get("status_by"), status_at=review.get("status_at"),
            reviewed_at=review.get("reviewed_at"), reviewed_by=review.get("reviewed_by"),
            layout=record.get("layout"), parser_version=review.get("parser_version"),
            history=history, annotations=annotations,
        )
    except (DiskFull, NotWritable):
        raise  # nothing else can be stored either
    except StoreError as exc:
        return name, "failed", exc.clerk_message, None
    if letter_id is None:
        return name, "duplicate", "already in the database", db.letter_id_by_sha256(source["sha256"])
    return name, "added", None, letter_id


def import_jsonl(db: Database, path: Path, batch: str | None) -> Iterator[Outcome]:
    """Import every line of an IMR Desk JSON Lines export; yields (name, outcome, message, letter id) per line."""
    path = Path(path)
    try:
        f = open(path, encoding="utf-8-sig")
    except OSError as exc:
        yield path.name, "failed", f"could not read the file ({exc.strerror or exc})", None
        return
    with f:
        number = 0
        while True:
            try:
                raw = f.readline()
            except (OSError, UnicodeDecodeError) as exc:
                yield f"line {number + 1}", "failed", f"could not read the file past line {number} ({exc})", None
                return
            if not raw:
                return
            number += 1
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except json.JSONDecodeError as exc:
                yield f"line {number}", "failed", f"line {number} is not JSON ({exc.msg})", None
                continue
            if not isinstance(line, dict):
                yield f"line {number}", "failed", f"line {number} is not a JSON object", None
                continue
            yield import_line(db, line, batch, f"{path.name}:{number}")
