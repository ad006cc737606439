"""Importing an IMR Desk JSON Lines export back into a review database (the round trip).

Each line of an export (imr_desk/export/jsonl_format.py) is the clerk's record plus the letter's
`text`, `page_starts`, `review`, `history` and `annotations`. Importing a line stores a letter whose
file is that text (UTF-8), whose identity is the original file's sha256 (so importing the same set
twice, or into the database it came from, finds duplicates), with the clerk's record, the status,
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
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imr_desk.store.errors import DiskFull, NotWritable, StoreError
from imr_desk.store.jsonl import BadLine, read_lines

if TYPE_CHECKING:
    from imr_desk.store.database import Database

EXTRA_KEYS = ("text", "page_starts", "review", "history", "annotations")
STATUSES = ("to review", "in review", "reviewed", "postponed")
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


_TEXT = (str, type(None))
_KINDS = {list: "a list", dict: "an object", str: "text", bool: "true/false", int: "a whole number",
          float: "a number", type(None): "null"}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _need(ok: bool, path: str, wanted: str, value: Any) -> None:
    if not ok:
        shown = repr(value) if isinstance(value, str | int | float) and len(repr(value)) <= 40 else _kind(value)
        raise BadLine(f"{path} should be {wanted}, not {shown}")


def _text_or_null(obj: dict[str, Any], keys: tuple[str, ...] | None, path: str) -> None:
    for k, v in obj.items():
        if keys is None or k in keys:
            _need(isinstance(v, _TEXT), f"{path}.{k}", "text or null", v)


def _list_of_text(value: Any, path: str) -> None:
    _need(value is None or isinstance(value, list), path, "a list of text", value)
    for n, v in enumerate(value or []):
        _need(isinstance(v, str), f"{path}.{n}", "text", v)


def _part(line: dict[str, Any], key: str) -> dict[str, Any]:
    value = line.get(key)
    _need(value is None or isinstance(value, dict), key, "an object", value)
    return value or {}


def _check_record(line: dict[str, Any], length: int) -> None:
    """The record's parts have the types of contract/record.schema.json (values, not formats: a date the
    clerk typed oddly still imports), and its provenance spans lie inside the text."""
    _text_or_null(_part(line, "case"), None, "case")
    reviewer = _part(line, "reviewer")
    _need(isinstance(reviewer.get("role"), _TEXT), "reviewer.role", "text or null", reviewer.get("role"))
    for k in ("licensure", "specialties"):
        _list_of_text(reviewer.get(k), f"reviewer.{k}")
    patient = _part(line, "patient")
    age = patient.get("age")
    _need(age is None or _int(age), "patient.age", "a whole number or null", age)
    _need(patient.get("sex") in ("male", "female", None), "patient.sex", "'male', 'female' or null",
          patient.get("sex"))
    for k in ("summary", "layout"):
        _need(isinstance(line.get(k), _TEXT), k, "text or null", line.get(k))
    _need(line.get("outcome") in ("upheld", "overturned", "partially overturned", None), "outcome",
          "'upheld', 'overturned', 'partially overturned' or null", line.get("outcome"))
    items = line.get("items")
    _need(items is None or isinstance(items, list), "items", "a list of items", items)
    for n, item in enumerate(items or []):
        _need(isinstance(item, dict), f"items.{n}", "an object (one disputed item)", item)
        _text_or_null(item, ("request", "original_request", "authorized", "claims_administrator_guideline",
                             "maximus_guideline", "rationale"), f"items.{n}")
        _need(item.get("decision") in ("upheld", "overturned", None), f"items.{n}.decision",
              "'upheld', 'overturned' or null", item.get("decision"))
        stated = item.get("decision_stated")
        _need(stated is None or isinstance(stated, bool), f"items.{n}.decision_stated", "true or false", stated)
    warnings = line.get("warnings")
    _need(warnings is None or isinstance(warnings, list), "warnings", "a list", warnings)
    for n, w in enumerate(warnings or []):
        _need(isinstance(w, dict), f"warnings.{n}", "an object", w)
        _text_or_null(w, ("code", "severity", "message", "path"), f"warnings.{n}")
    fields = line.get("fields")
    _need(fields is None or isinstance(fields, dict), "fields", "an object", fields)
    for key, prov in (fields or {}).items():
        _need(isinstance(prov, dict), f"fields.{key}", "an object", prov)
        start, end = prov.get("start"), prov.get("end")
        for k, v in (("start", start), ("end", end), ("page", prov.get("page"))):
            _need(v is None or _int(v), f"fields.{key}.{k}", "a whole number or null", v)
        conf = prov.get("confidence")
        _need(conf is None or (isinstance(conf, int | float) and not isinstance(conf, bool)),
              f"fields.{key}.confidence", "a number or null", conf)
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
    review = _part(line, "review")
    if review.get("status", "to review") not in STATUSES:
        raise BadLine(f"unknown status {review.get('status')!r}; use one of: {', '.join(STATUSES)}")
    _text_or_null(review, ("status_reason", "status_by", "status_at", "reviewed_by", "reviewed_at",
                           "parser_version"), "review")
    values = review.get("parser_values")
    _need(values is None or isinstance(values, dict), "review.parser_values", "an object", values)
    count = (values or {}).get("items.count")
    _need(count is None or (_int(count) and count >= 0), "review.parser_values.items.count",
          "a whole number", count)
    return review


def _history(line: dict[str, Any]) -> list[dict[str, Any]]:
    history = line.get("history")
    _need(history is None or isinstance(history, list), "history", "a list", history)
    out = []
    for n, h in enumerate(history or []):
        _need(isinstance(h, dict), f"history.{n}", "an object", h)
        _need(isinstance(h.get("path"), str) and bool(h.get("path")), f"history.{n}.path", "a field path",
              h.get("path"))
        _text_or_null(h, ("who", "at", "origin", "reason"), f"history.{n}")
        _need(h.get("version") is None or _int(h.get("version")), f"history.{n}.version", "a whole number",
              h.get("version"))
        out.append(h)
    return out


def _annotations(line: dict[str, Any], text_length: int) -> list[dict[str, Any]]:
    notes = line.get("annotations")
    _need(notes is None or isinstance(notes, list), "annotations", "a list", notes)
    out = []
    for n, a in enumerate(notes or []):
        _need(isinstance(a, dict), f"annotations.{n}", "an object", a)
        start, end = a.get("start"), a.get("end")
        if not (_int(start) and _int(end) and 0 <= start < end <= text_length):
            raise BadLine(f"annotations.{n}: its span ({start}..{end}) is outside the letter's text "
                          f"({text_length} characters)")
        _need(isinstance(a.get("label"), str) and bool(a.get("label")), f"annotations.{n}.label", "a label",
              a.get("label"))
        _text_or_null(a, ("note", "who", "at", "removed_at", "removed_by"), f"annotations.{n}")
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


def import_line(db: Database, line: dict[str, Any], batch: str | None, origin: str) -> Outcome:
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
        review = _review(line)
        page_starts = _page_starts(line, len(text))
        _check_record(line, len(text))
        annotations = _annotations(line, len(text))
        history = _history(line)
    except BadLine as exc:
        return name, "failed", str(exc), None
    existing = db.letter_id_by_sha256(source["sha256"])
    if existing is not None:
        return name, "duplicate", f"already in the database as letter {existing}", existing
    record = {k: v for k, v in line.items() if k not in EXTRA_KEYS}
    parsed = parser_record(record, review.get("parser_values") or {})
    history.append({"path": "*", "old": None, "new": {"imported_from": origin, "letter_id": review.get("letter_id")},
                    "who": db.user, "origin": "import"})
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
    for number, line, problem in read_lines(path):
        if line is None:
            yield (f"line {number}" if number else path.name), "failed", problem, None
            continue
        try:
            name, outcome, message, letter_id = import_line(db, line, batch, f"{path.name}:{number}")
        except (DiskFull, NotWritable):
            raise  # nothing else can be stored either: the import stops and says why
        except Exception as exc:  # noqa: BLE001 - a line we did not foresee: logged, reported, and the next one read
            log.exception("could not import %s line %d", path, number)
            name, outcome, message, letter_id = (label_of(line), "failed",
                                                 f"could not be imported ({type(exc).__name__}: {exc})", None)
        yield f"line {number}: {name}", outcome, message, letter_id
