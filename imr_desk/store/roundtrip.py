"""Importing an IMR Desk JSON Lines export back into a review database (the round trip).

Each line of an export (imr_desk/export/jsonl_format.py) is the clerk's record plus the letter's
`text`, `page_starts`, `review`, `history` and `annotations`. Importing a line stores a letter whose
file is that text (UTF-8) and whose sha256 is that file's: the line's `source.sha256` (the original
file's) only finds the letter it came from (so importing the same set twice, or into the database it
came from, finds duplicates) and is kept in the history, never taken as the stored letter's identity,
since nothing in the line proves it; a forged line cannot make a real PDF "already in the database".
The letter has the clerk's record, the status,
who reviewed it and when, the whole history and the annotations as they were. The parser's record is
rebuilt from the clerk's record and `review.parser_values`, so "which fields the clerk changed"
survives too. A line of `imr-desk parse --text` output (a bare record with its text) imports as a
letter to review.

Every line is imported or reported as failed with its reason; one bad line never stops the others.
A line is refused whole (nothing of it is stored, nothing is dropped silently) when a part of it does
not have the type contract/record.schema.json gives it (`items` not a list, an item not an object,
an age that is not a number, ...), when `page_starts` are not ascending offsets from 0 inside the
text, or when a span (the provenance in `fields`, an annotation) reaches outside the text: the record
was then not read from that text, and highlights and annotations would point at the wrong words.
Progress names each line: "set.jsonl:line 7: CM16-0221706".
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fastjsonschema

from imr_desk.core import fields, limits
from imr_desk.core.reading import sha256_of
from imr_desk.core.record import STATUSES, Status
from imr_desk.core.record import Outcome as RecordOutcome
from imr_desk.store.database import LetterStore
from imr_desk.store.errors import (
    ConnectionLost,
    DatabaseLocked,
    DiskFull,
    DiskIOError,
    NotWritable,
    ServerUnreachable,
    StoreError,
    describe_error,
)
from imr_desk.store.jsonl import BadLine, read_lines

EXTRA_KEYS = ("text", "page_starts", "review", "history", "annotations")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
log = logging.getLogger(__name__)

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


def _text(wanted: str = "text or null") -> dict[str, Any]:
    return {"type": ["string", "null"], "title": wanted}


def _whole(wanted: str = "a whole number or null", minimum: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["integer", "null"], "title": wanted}
    if minimum is not None:
        schema["minimum"] = minimum
    return schema


def _obj(properties: dict[str, Any], wanted: str = "an object", **more: Any) -> dict[str, Any]:
    return {"type": ["object", "null"], "title": wanted, "properties": properties, **more}


def _list(items: dict[str, Any], wanted: str = "a list") -> dict[str, Any]:
    return {"type": ["array", "null"], "title": wanted, "items": items}


def line_schema() -> dict[str, Any]:
    """The JSON schema of an export line: the record's reviewable parts from the field catalogue, the
    record's other parts as contract/record.schema.json types them, and the export's own parts.

    Types, not formats: a date or case number the clerk typed oddly still imports. Every `title`
    says what is wanted, in the words of the import's report.
    """
    schema = fields.record_schema()
    props = schema["properties"]
    props["layout"] = _text()
    props["source"] = {"type": "object", "title": "an object", "properties": {  # pages is stored as the letter's
        "name": _text(), "media_type": _text(), "size": _whole(minimum=0), "pages": _whole(minimum=0)}}
    props["outcome"] = {"enum": [o.value for o in RecordOutcome] + [None],
                        "title": ", ".join(repr(o.value) for o in RecordOutcome) + " or null"}
    props["warnings"] = _list(_obj({k: _text() for k in ("code", "severity", "message", "path")}))
    props["fields"] = {"type": ["object", "null"], "title": "an object", "additionalProperties": {
        "type": "object", "title": "an object", "properties": {
            "start": _whole(), "end": _whole(), "page": _whole(),
            "confidence": {"type": ["number", "null"], "title": "a number or null"}}}}
    review_text = ("status_reason", "status_by", "status_at", "reviewed_by", "reviewed_at", "parser_version")
    props["review"] = _obj({
        **{k: _text() for k in review_text},
        "parser_values": _obj({"items.count": _whole("a whole number", minimum=0)}),
    })
    history_text = ("who", "at", "reason")
    origins = ("parser", "clerk", "reparse", "import")  # the history table's CHECK: any other failed as a constraint
    props["history"] = _list(_obj({
        "path": {"type": "string", "minLength": 1, "title": "a field path"},
        **{k: _text() for k in history_text},
        "origin": {"enum": [*origins, None], "title": ", ".join(repr(o) for o in origins) + " or null"},
        "version": _whole("a whole number"),
    }, required=["path"]))
    notes_text = ("note", "who", "at", "removed_at", "removed_by")
    props["annotations"] = _list(_obj({
        "label": {"type": "string", "minLength": 1, "title": "a label"},
        **{k: _text() for k in notes_text},
    }, required=["label"]))
    for part in ("warnings", "history", "annotations"):  # an entry must be an object, not null
        props[part]["items"]["type"] = "object"
    return schema


_validators: dict[int, Callable[[Any], Any]] = {}


def _validator() -> Callable[[Any], Any]:
    """The line schema compiled (fastjsonschema: some 30 times faster than interpreting it on every line),
    once for the catalogue in force."""
    key = id(fields.FIELDS)
    if key not in _validators:
        _validators.clear()
        _validators[key] = fastjsonschema.compile(line_schema())
    return _validators[key]


_KINDS = {list: "a list", dict: "an object", str: "text", bool: "true/false", int: "a whole number",
          float: "a number", type(None): "null"}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    short = isinstance(value, str | int | float) and not isinstance(value, bool) and len(repr(value)) <= 40
    return repr(value) if short else _kind(value)


def _check_types(line: dict[str, Any]) -> None:
    """Every part of the line has the type the schema gives it; the first that does not is named."""
    try:
        _validator()(line)
    except fastjsonschema.JsonSchemaValueException as error:
        schema = error.definition or {}
        path = ".".join(str(p) for p in (error.path or [])[1:])  # the path starts at "data"
        if error.rule == "required" and isinstance(error.value, dict):  # an entry without a key it must have
            missing = next(k for k in schema.get("required", []) if k not in error.value)
            wanted = schema["properties"][missing].get("title", "given")
            raise BadLine(f"{path}.{missing} should be {wanted}" if path else f"{missing} should be {wanted}") from None
        raise BadLine(f"{path} should be {schema.get('title', 'of another type')}, not {_shown(error.value)}") from None


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_spans(line: dict[str, Any], length: int) -> None:
    """The provenance spans lie inside the text (else the record was not read from it)."""
    for key, prov in (line.get("fields") or {}).items():
        start, end = prov.get("start"), prov.get("end")
        if _int(start) and _int(end) and not 0 <= start <= end <= length:
            raise BadLine(f"fields.{key}: its span {start}..{end} is outside the letter's text ({length} "
                          "characters), so the line's record was not read from its text")


def _page_starts(line: dict[str, Any], length: int) -> list[int]:
    starts = line.get("page_starts")
    if starts is None or starts == []:
        return [0]
    ok = (isinstance(starts, list) and all(_int(p) for p in starts) and starts[0] == 0
          and all(a <= b for a, b in zip(starts, starts[1:], strict=False)) and starts[-1] <= length)
    if not ok:
        shown = starts if isinstance(starts, list) and len(starts) <= 6 else _kind(starts)
        raise BadLine(f"page_starts should be the offsets where the pages begin: whole numbers from 0, in "
                      f"ascending order, within the text ({length} characters); not {shown}")
    return list(starts)


def _review(line: dict[str, Any]) -> dict[str, Any]:
    review = line.get("review") or {}
    if review.get("status", Status.TO_REVIEW) not in STATUSES:
        raise BadLine(f"unknown status {review.get('status')!r}; use one of: {', '.join(STATUSES)}")
    return review


def _annotations(line: dict[str, Any], text_length: int) -> list[dict[str, Any]]:
    out = []
    for n, a in enumerate(line.get("annotations") or []):
        start, end = a.get("start"), a.get("end")
        if not (_int(start) and _int(end) and 0 <= start < end <= text_length):
            raise BadLine(f"annotations.{n}: its span ({start}..{end}) is outside the letter's text "
                          f"({text_length} characters)")
        out.append({k: a.get(k) for k in ("start", "end", "label", "note", "who", "at", "removed_at",
                                          "removed_by")})
    return out


def _source(line: dict[str, Any]) -> dict[str, Any]:
    source = line.get("source")
    if not isinstance(source, dict):
        raise BadLine("the line has no `source` (is this an IMR Desk JSON Lines export?)")
    if not isinstance(source.get("name"), str) or not source.get("name"):
        raise BadLine("the line has no source.name")
    if not isinstance(source.get("sha256"), str) or not _SHA256.match(source["sha256"]):
        raise BadLine("the line has no valid source.sha256")
    return source


def label_of(line: dict[str, Any]) -> str:
    """How a line is named in the import's progress and report: its case number, else its file name."""
    case = line.get("case")
    number = case.get("case_number") if isinstance(case, dict) else None
    source = line.get("source")
    name = source.get("name") if isinstance(source, dict) else None
    for value in (number, name):
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())[:80]
    return "?"


def import_line(db: LetterStore, line: dict[str, Any], batch: str | None, origin: str) -> Outcome:
    """Store one exported letter. Returns (name, outcome, message, letter id).

    A line that is not a letter IMR Desk can store is refused whole, with the reason: every part of
    it must have the type the record schema gives it; `page_starts` must be ascending offsets inside
    the text; and every span (the provenance in `fields`, the annotations) must lie inside the text:
    one that does not means the record and the text do not belong together, so no part of the line
    is trusted (nothing is dropped silently).
    """
    name = label_of(line)
    try:
        source = _source(line)
        if not isinstance(line.get("text"), str):
            raise BadLine("the line has no `text` (export with IMR Desk, or `imr-desk parse --text`)")
        text: str = line["text"]
        too_big = limits.too_much_text(len(text)) or limits.too_many_items(
            len(line["items"]) if isinstance(line.get("items"), list) else 0)
        if too_big:
            raise BadLine(too_big)
        _check_types(line)
        review = _review(line)
        page_starts = _page_starts(line, len(text))
        _check_spans(line, len(text))
        annotations = _annotations(line, len(text))
        history = list(line.get("history") or [])
    except BadLine as exc:
        return name, "failed", str(exc), None
    # The line's sha256 names the original file; the line carries only its text. A claim is taken
    # only when what is stored hashes to it: otherwise a forged line could take a real PDF's identity
    # and make that PDF "already in the database". It still finds the letter it came from.
    data = text.encode("utf-8")
    claimed, carried = source["sha256"], sha256_of(data)
    for sha in dict.fromkeys((claimed, carried)):
        existing = db.letter_id_by_sha256(sha)
        if existing is not None:
            return name, "duplicate", f"already in the database as letter {existing}", existing
    note = None if claimed == carried else (
        f"the original file (sha256 {claimed[:12]}…) is not in the line, so the letter is kept as its text; "
        "that file, imported later, is a letter of its own")
    record = {k: v for k, v in line.items() if k not in EXTRA_KEYS}
    parsed = parser_record(record, review.get("parser_values") or {})
    history.append({"path": "*", "old": None, "new": {"imported_from": origin, "letter_id": review.get("letter_id"),
                                                      "original_sha256": claimed},
                    "who": db.user, "origin": "import"})
    try:
        letter_id = db.insert_letter(
            data=data, name=source["name"], media_type="text/plain", text=text,
            page_starts=page_starts, parsed=parsed, record=record, sha256=carried, batch=batch,
            status=review.get("status") or "to review", status_reason=review.get("status_reason"),
            status_by=review.get("status_by"), status_at=review.get("status_at"),
            reviewed_at=review.get("reviewed_at"), reviewed_by=review.get("reviewed_by"),
            layout=record.get("layout"), parser_version=review.get("parser_version"),
            history=history, annotations=annotations,
        )
    except STOPS_THE_IMPORT:
        raise  # nothing else can be stored either
    except StoreError as exc:
        return name, "failed", exc.clerk_message, None
    if letter_id is None:
        return name, "duplicate", "already in the database", db.letter_id_by_sha256(carried)
    return name, "added", note, letter_id


# conditions under which no further letter can be stored either: the import stops, saying how far it got
STOPS_THE_IMPORT: tuple[type[StoreError], ...] = (DiskFull, NotWritable, DiskIOError, ConnectionLost,
                                                  ServerUnreachable, DatabaseLocked)


def import_jsonl(db: LetterStore, path: Path, batch: str | None) -> Iterator[Outcome]:
    """Import every line of an IMR Desk JSON Lines export; yields (name, outcome, message, letter id) per line."""
    path = Path(path)
    for number, line, problem in read_lines(path):
        if line is None:
            yield (f"line {number}" if number else path.name), "failed", problem, None
            continue
        try:
            name, outcome, message, letter_id = import_line(db, line, batch, f"{path.name}:{number}")
        except STOPS_THE_IMPORT:
            raise  # nothing else can be stored either: the import stops and says why
        except Exception as exc:  # noqa: BLE001 - a line we did not foresee: logged, reported, and the next one read
            log.exception("could not import %s line %d", path, number)
            name, outcome, message, letter_id = (label_of(line), "failed",
                                                 f"could not be imported ({describe_error(exc)})", None)
        yield f"line {number}: {name}", outcome, message, letter_id
