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
not have its type (`items` not a list, an item not an object, an age that is not a number, ...): the
line is converted by msgspec into `ExportLine`, the record's Structs (core/record.py, the types
contract/record.schema.json gives) with the export's own parts beside them, and the first part that
does not convert is named in the report's words ("items.0.decision should be 'upheld', 'overturned'
or null, not 'maybe'"); or when `page_starts` are not ascending offsets from 0 inside the
text, or when a span (the provenance in `fields`, an annotation) reaches outside the text: the record
was then not read from that text, and highlights and annotations would point at the wrong words.
Progress names each line: "set.jsonl:line 7: CM16-0221706".
"""

from __future__ import annotations

import copy
import logging
import re
import types
from collections.abc import Iterator
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec

from imr_desk.core import fields, limits
from imr_desk.core.reading import sha256_of
from imr_desk.core.record import STATUSES, Item, Record, Status, reviewable_paths
from imr_desk.logs import describe_error
from imr_desk.store.database import LetterStore
from imr_desk.store.errors import (
    ConnectionLost,
    DatabaseLocked,
    DiskFull,
    DiskIOError,
    NotWritable,
    ServerUnreachable,
    StoreError,
)
from imr_desk.store.jsonl import BadLine, read_lines

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


# -- the line's types: the record's Structs (core/record.py) and the export's own parts ----------------
_PATH = Annotated[str, msgspec.Meta(min_length=1, title="a field path")]  # `title`: the report's words for it
_LABEL = Annotated[str, msgspec.Meta(min_length=1, title="a label")]
_PAGE_STARTS = "the offsets where the pages begin: whole numbers from 0, in ascending order, within the text"
_PageStarts = Annotated[list[int] | None, msgspec.Meta(title=_PAGE_STARTS)]


class ParserValues(msgspec.Struct):
    """`review.parser_values`: the parser's value of each changed field path; `items.count` a whole number."""

    items_count: Annotated[int, msgspec.Meta(ge=0)] | None | msgspec.UnsetType = msgspec.field(
        default=msgspec.UNSET, name="items.count")


class Review(msgspec.Struct):
    """The export's `review`: the letter's status, who reviewed it, and the parser's values."""

    status: str | None = None  # one of the statuses (checked with its own message: `_review`)
    status_reason: str | None = None
    status_by: str | None = None
    status_at: str | None = None
    reviewed_by: str | None = None
    reviewed_at: str | None = None
    parser_version: str | None = None
    letter_id: object = None  # the exporting database's id: only kept in the import's history row
    parser_values: ParserValues | None = None


class HistoryOrigin(StrEnum):
    """Who wrote a history row (the history table's CHECK allows these only; a line without one is an import's)."""

    PARSER = "parser"
    CLERK = "clerk"
    REPARSE = "reparse"
    IMPORT = "import"


class HistoryEntry(msgspec.Struct):
    """One row of the export's `history` (its values `old` and `new` are any JSON)."""

    path: _PATH
    who: str | None = None
    at: str | None = None
    origin: HistoryOrigin | None = None
    reason: str | None = None
    version: int | None = None


class Annotation(msgspec.Struct, kw_only=True):
    """One of the export's `annotations`: a span of the text with a label."""

    start: int | None = None  # inside the text: checked with its own message (`_annotations`)
    end: int | None = None
    label: _LABEL
    note: str | None = None
    who: str | None = None
    at: str | None = None
    removed_at: str | None = None
    removed_by: str | None = None


class ExportLine(Record, kw_only=True):
    """A line of a JSON Lines export: the clerk's `Record` and, beside it, the export's own parts."""

    page_starts: _PageStarts = None
    review: Review | None = None
    history: list[HistoryEntry] | None = None
    annotations: list[Annotation] | None = None


_RECORD_KEYS = {f.name for f in msgspec.structs.fields(Record)}
EXTRA_KEYS = ("text", *(f.name for f in msgspec.structs.fields(ExportLine) if f.name not in _RECORD_KEYS))
"""The line's keys that are not the clerk's record: the letter's text and the export's own parts."""


# -- the report's words for what a part should be ---------------------------------------------------
_WORDS: dict[object, str] = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
                          type(None): "null", object: "any value"}
_KINDS = {list: "a list", dict: "an object", str: "text", bool: "true/false", int: "a whole number",
          float: "a number", type(None): "null"}


def _wanted(annotation: object) -> str:
    """What a value of this type is, in the import report's words ("text or null", "a list of items")."""
    words = _words(annotation)
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]


def _title(annotation: object) -> str | None:
    if get_origin(annotation) is not Annotated:
        return None
    return next((m.title for m in get_args(annotation)[1:] if isinstance(m, msgspec.Meta) and m.title), None)


def _words(annotation: object) -> list[str]:
    origin = get_origin(annotation)
    if origin is Annotated:
        title = _title(annotation)
        return [title] if title else _words(get_args(annotation)[0])
    if origin in (types.UnionType, Union):
        members = [a for a in get_args(annotation) if a is not msgspec.UnsetType]
        if set(members) == {int, float}:
            return ["a number"]
        words = [w for a in members if a is not type(None) for w in _words(a)]
        return words + ["null"] if type(None) in members else words
    if origin is list:
        (element,) = get_args(annotation)
        if element is Item:
            return ["a list of items"]
        if isinstance(element, type) and issubclass(element, msgspec.Struct):
            return ["a list"]
        return [f"a list of {_wanted(element)}"]
    if origin is dict or annotation is dict:
        return ["an object"]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [repr(e.value) for e in annotation]
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return ["an object (one disputed item)" if annotation is Item else "an object"]
    return [_WORDS.get(annotation, "of another type")]


def _bare(annotation: object) -> object:
    """The Struct, list or dict type inside an optional or annotated type (what a path steps into)."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (types.UnionType, Union):
        inner = [a for a in get_args(annotation) if a not in (type(None), msgspec.UnsetType)]
        return _bare(inner[0]) if len(inner) == 1 else annotation
    return annotation


def _step(annotation: object, part: str | int) -> object:
    bare = _bare(annotation)
    if isinstance(bare, type) and issubclass(bare, msgspec.Struct):
        return next((f.type for f in msgspec.structs.fields(bare) if f.encode_name == part), object)
    if get_origin(bare) in (list, dict):
        return get_args(bare)[-1]
    return object


_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_INDEX = re.compile(r"\[(?P<index>\d+|\.\.\.)\]")
_KEY = re.compile(r"\.([^.\[]*)")
_MISSING = re.compile(r"^Object missing required field `(?P<key>[^`]+)`")


def _kind(value: object) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def _shown(value: object) -> str:
    short = (isinstance(value, str | int | float) and not isinstance(value, bool)
             or isinstance(value, list) and bool(value) and all(isinstance(v, str | int | float) for v in value))
    return repr(value) if short and len(repr(value)) <= 40 else _kind(value)


def _failing_key(mapping: dict[str, object], annotation: object) -> str:
    """The key of a mapping whose value does not convert to `annotation` (msgspec's path says `[...]`)."""
    for key, value in mapping.items():
        try:
            msgspec.convert(value, annotation)
        except msgspec.ValidationError:
            return key
    return "?"  # pragma: no cover - msgspec named a failing value


def _at(value: object, part: str | int) -> object:
    if isinstance(value, dict):
        return value.get(str(part))
    if isinstance(value, list) and isinstance(part, int) and part < len(value):
        return value[part]
    return None


def _bad_line(line: dict[str, Any], error: msgspec.ValidationError) -> BadLine:
    """The report's line for msgspec's error: the part, by its dotted path, what it should be, and what it is."""
    message = str(error)
    at = _AT.search(message)
    annotation: object = ExportLine
    value: object = line
    parts: list[str] = []
    rest = at.group("path") if at else ""
    while rest:
        index = _INDEX.match(rest)
        if index is not None and index.group("index") != "...":
            part: str | int = int(index.group("index"))
        elif index is not None:  # a mapping's key (`fields`): msgspec does not say which
            part = _failing_key(value if isinstance(value, dict) else {}, get_args(_bare(annotation))[-1])
        else:  # ".key", where a Struct's key may hold a dot ("items.count")
            dotted = _KEY.match(rest)
            if dotted is None:
                break
            bare = _bare(annotation)
            names = ([f.encode_name for f in msgspec.structs.fields(bare)]
                     if isinstance(bare, type) and issubclass(bare, msgspec.Struct) else [])
            part = max((n for n in names if re.match(rf"\.{re.escape(n)}(?=[.\[]|$)", rest)), key=len,
                       default=dotted.group(1))
        rest = rest[index.end():] if index is not None else rest[len(str(part)) + 1:]
        annotation = _step(annotation, part)
        value = _at(value, part)
        parts.append(str(part))
        if _title(annotation) and get_origin(_bare(annotation)) is list:  # a list with its own words: named whole
            return BadLine(f"{'.'.join(parts)} should be {_wanted(annotation)}, not {_shown(value)}")
    missing = _MISSING.match(message)
    if missing:  # an entry without a key it must have
        key = missing.group("key")
        return BadLine(f"{'.'.join([*parts, key])} should be {_wanted(_step(annotation, key))}")
    return BadLine(f"{'.'.join(parts)} should be {_wanted(annotation)}, not {_shown(value)}")


def decode_line(line: dict[str, Any]) -> ExportLine:
    """The line as its types (`ExportLine`): `BadLine` naming the first part that does not have its type.

    Types, not formats: a date or case number the clerk typed oddly still imports.
    """
    try:
        return msgspec.convert(line, ExportLine)
    except msgspec.ValidationError as error:
        raise _bad_line(line, error) from None


def _check_catalogue_extras(line: dict[str, Any]) -> None:
    """A field of the catalogue that the record's Structs do not declare yet has its kind's type.

    The Structs and the catalogue agree (tests/core/test_record_struct.py); a field added to the
    catalogue first (tests/ui/test_new_field.py) is still checked, in the catalogue's words.
    """
    declared = reviewable_paths()
    for f in fields.FIELDS:
        if f.path in declared:
            continue
        items = line.get("items") if f.per_item else None
        found = ([(f.path_in(i), item.get(f.key)) for i, item in enumerate(items) if isinstance(item, dict)]
                 if isinstance(items, list) else [] if f.per_item else [(f.path, fields.value_at(line, f.path))])
        wanted = _kind_type(f)
        for path, value in found:
            if value is None:  # no value: every field may have none
                continue
            try:
                msgspec.convert(value, wanted)
            except msgspec.ValidationError:
                raise BadLine(f"{path} should be {_wanted(wanted)}, not {_shown(value)}") from None


# a field's type by its kind, as the record's Structs declare their fields of that kind
_KIND_TYPES: dict[fields.Kind, object] = {
    fields.Kind.TEXT: str | None, fields.Kind.LONG_TEXT: str | None, fields.Kind.DATE: str | None,
    fields.Kind.CHOICE: str | None, fields.Kind.NUMBER: int | None, fields.Kind.LIST: list[str],
    fields.Kind.FLAG: bool,
}


def _kind_type(f: fields.Field) -> object:
    """The type a catalogue field's value has: its kind's, or for a closed choice its words (as `Sex`);
    a required text is text, never null (as an item's `request`)."""
    if f.kind is fields.Kind.TEXT and f.required:
        return str
    if f.kind is fields.Kind.CHOICE and not f.open_vocabulary:
        words = Enum(f"{f.key}_words", [(w, w) for w in f.vocabulary])  # type: ignore[misc]  # named after its field
        return words | None
    return _KIND_TYPES[f.kind]


def _check_spans(line: ExportLine, length: int) -> None:
    """The provenance spans lie inside the text (else the record was not read from it)."""
    for key, prov in line.fields.items():
        if not 0 <= prov.start <= prov.end <= length:
            raise BadLine(f"fields.{key}: its span {prov.start}..{prov.end} is outside the letter's text ({length} "
                          "characters), so the line's record was not read from its text")


def _page_starts(line: ExportLine, length: int) -> list[int]:
    starts = line.page_starts
    if not starts:
        return [0]
    ok = starts[0] == 0 and all(a <= b for a, b in zip(starts, starts[1:], strict=False)) and starts[-1] <= length
    if not ok:
        shown = starts if len(starts) <= 6 else "a list"
        raise BadLine(f"page_starts should be {_PAGE_STARTS} ({length} characters); not {shown}")
    return list(starts)


def _review(line: ExportLine) -> Review:
    review = line.review or Review()
    if (review.status or Status.TO_REVIEW) not in STATUSES:
        raise BadLine(f"unknown status {review.status!r}; use one of: {', '.join(STATUSES)}")
    return review


def _annotations(line: ExportLine, text_length: int) -> list[dict[str, Any]]:
    out = []
    for n, a in enumerate(line.annotations or []):
        if not (a.start is not None and a.end is not None and 0 <= a.start < a.end <= text_length):
            raise BadLine(f"annotations.{n}: its span ({a.start}..{a.end}) is outside the letter's text "
                          f"({text_length} characters)")
        out.append(msgspec.structs.asdict(a))
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
        typed = decode_line(line)
        _check_catalogue_extras(line)
        review = _review(typed)
        page_starts = _page_starts(typed, len(text))
        _check_spans(typed, len(text))
        annotations = _annotations(typed, len(text))
        history = list(line.get("history") or [])  # as written: its `old` and `new` are any JSON
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
    # Stored as written (the store keeps the contract's dicts): keys the Structs do not know yet, such as
    # a catalogue field added before its Struct field or an item's optional `category`, are not lost.
    record = {k: v for k, v in line.items() if k not in EXTRA_KEYS}
    parsed = parser_record(record, (line.get("review") or {}).get("parser_values") or {})
    history.append({"path": "*", "old": None, "new": {"imported_from": origin, "letter_id": review.letter_id,
                                                      "original_sha256": claimed},
                    "who": db.user, "origin": "import"})
    try:
        letter_id = db.insert_letter(
            data=data, name=source["name"], media_type="text/plain", text=text,
            page_starts=page_starts, parsed=parsed, record=record, sha256=carried, batch=batch,
            status=review.status or Status.TO_REVIEW.value, status_reason=review.status_reason,
            status_by=review.status_by, status_at=review.status_at,
            reviewed_at=review.reviewed_at, reviewed_by=review.reviewed_by,
            layout=typed.layout, parser_version=review.parser_version,
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
