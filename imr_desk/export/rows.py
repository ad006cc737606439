"""The flat tables of an export (letters, items, annotations) with a type for every column.

The record's values are the field catalogue's (imr_desk/core/fields.py): a field added there is a
column here, in CSV and in Excel alike.

CSV writes the values as text (ISO dates, `true`/`false`); Excel writes them typed (real dates and
date-times, integers, booleans). Both take the rows from here, so the two always agree.
"""

from __future__ import annotations

from typing import Any

from imr_desk.core import fields
from imr_desk.core.fields import Kind, diff, item_fields, letter_fields
from imr_desk.export.selection import LetterData
from imr_desk.store.records import REVIEWED_PARTS

# (column, type): type is one of text, int, bool, date (ISO date), datetime (ISO date-time, UTC).
# The record's own values take their columns from the field catalogue (core/fields.py), between the
# letter's review columns and the columns derived from the record.
Columns = tuple[tuple[str, str], ...]

_COLUMN_TYPE = {Kind.TEXT: "text", Kind.LONG_TEXT: "text", Kind.DATE: "date", Kind.CHOICE: "text",
                Kind.NUMBER: "int", Kind.LIST: "text", Kind.FLAG: "bool"}

_LETTER_HEAD: Columns = (
    ("letter_id", "int"),
    ("file_name", "text"),
    ("sha256", "text"),
    ("batch", "text"),
    ("status", "text"),
    ("status_reason", "text"),
    ("reviewed_by", "text"),
    ("reviewed_at", "datetime"),
)
_LETTER_TAIL: Columns = (
    ("outcome", "text"),
    ("item_count", "int"),
    ("upheld_count", "int"),
    ("overturned_count", "int"),
    ("layout", "text"),
    ("pages", "int"),
    ("warning_count", "int"),
    ("warning_codes", "text"),
    ("changed_fields", "text"),
    ("confirmed_fields", "text"),  # the fields a clerk confirmed (their value checked against the letter)
    ("annotation_count", "int"),
    ("parser_version", "text"),
    ("record_version", "int"),
)
# each item's row repeats these of its letter, so the items table reads on its own
_ITEM_HEAD: Columns = (
    ("letter_id", "int"),
    ("case_number", "text"),
    ("decision_date", "date"),
    ("date_of_injury", "date"),
    ("reviewer_specialties", "text"),
    ("outcome", "text"),
    ("item", "int"),  # 1-based position in the letter
)


def letter_columns() -> Columns:
    """The letters table's columns: the review's, the catalogue's letter fields, the derived ones."""
    return _LETTER_HEAD + tuple((f.column, _COLUMN_TYPE[f.kind]) for f in letter_fields()) + _LETTER_TAIL


def item_columns() -> Columns:
    """The items table's columns: the letter's that each item repeats, then the catalogue's item fields."""
    return _ITEM_HEAD + tuple((f.column, _COLUMN_TYPE[f.kind]) for f in item_fields())


ANNOTATION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("letter_id", "int"),
    ("case_number", "text"),
    ("annotation_id", "int"),
    ("label", "text"),
    ("note", "text"),
    ("quote", "text"),  # the annotated text
    ("start", "int"),
    ("end", "int"),
    ("who", "text"),
    ("at", "datetime"),
)

LIST_SEPARATOR = "; "


def _words(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(v) for v in value) or None
    return str(value)


def changes(parsed: dict[str, Any], record: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(path, parser's value, clerk's value) where the clerk's record differs from the parser's.

    The same as the store's `records.diff`, but only the parts that differ at all are compared field
    by field: most of a reviewed record is as the parser read it, and this runs for every letter.
    """
    differing = [p for p in REVIEWED_PARTS if parsed.get(p) != record.get(p)]
    if not differing:
        return []
    return list(diff({p: parsed.get(p) for p in differing}, {p: record.get(p) for p in differing}))


def changed_fields(letter: LetterData) -> list[str]:
    """The field paths where the clerk's record differs from the parser's."""
    return [path for path, _old, _new in changes(letter.parsed, letter.record)]


_plans: dict[int, tuple[tuple[tuple[str | None, str, bool], ...], tuple[tuple[str, bool], ...]]] = {}


def _plan() -> tuple[tuple[tuple[str | None, str, bool], ...], tuple[tuple[str, bool], ...]]:
    """How to read the catalogue's values from a record, worked out once per catalogue (this runs per letter):
    (part, key, is a list) for the letter's fields, (key, is a list) for an item's."""
    key = id(fields.FIELDS)
    if key not in _plans:
        _plans.clear()
        letter = tuple((f.path.split(".", 1)[0] if "." in f.path else None, f.key, f.kind is Kind.LIST)
                       for f in letter_fields())
        item = tuple((f.key, f.kind is Kind.LIST) for f in item_fields())
        _plans[key] = (letter, item)
    return _plans[key]


def _record_values(rec: dict[str, Any]) -> list[Any]:
    out = []
    for part, key, is_list in _plan()[0]:
        holder = rec.get(part) if part is not None else rec
        value = holder.get(key) if isinstance(holder, dict) else None
        out.append(_words(value) if is_list else value)
    return out


def letter_row(letter: LetterData) -> list[Any]:
    """The letter's row, in `letter_columns()` order."""
    rec = letter.record
    items = rec.get("items") or []
    warnings = rec.get("warnings") or []
    decisions = [i.get("decision") for i in items]
    return [
        letter.id,
        letter.name,
        letter.sha256,
        letter.batch,
        letter.status,
        letter.status_reason,
        letter.reviewed_by,
        letter.reviewed_at,
        *_record_values(rec),
        rec.get("outcome"),
        len(items),
        decisions.count("upheld"),
        decisions.count("overturned"),
        rec.get("layout", letter.layout),
        (rec.get("source") or {}).get("pages", letter.pages),
        len(warnings),
        " ".join(sorted({str(w.get("code")) for w in warnings if w.get("code")})) or None,
        LIST_SEPARATOR.join(changed_fields(letter)) or None,
        LIST_SEPARATOR.join(letter.confirmed) or None,
        len(letter.active_annotations),
        letter.parser_version,
        letter.version,
    ]


def item_rows(letter: LetterData) -> list[list[Any]]:
    """One row per disputed item, in `item_columns()` order."""
    rec = letter.record
    case = rec.get("case") or {}
    specialties = _words((rec.get("reviewer") or {}).get("specialties"))
    head = [letter.id, case.get("case_number"), case.get("decision_date"), case.get("date_of_injury"), specialties,
            rec.get("outcome")]
    per_item = _plan()[1]
    return [[*head, pos, *(_words(item.get(k)) if is_list else item.get(k) for k, is_list in per_item)]
            for pos, item in enumerate(rec.get("items") or [], start=1)]


def annotation_rows(letter: LetterData) -> list[list[Any]]:
    case_number = (letter.record.get("case") or {}).get("case_number")
    return [[letter.id, case_number, a["id"], a["label"], a["note"], a.get("quote"), a["start"], a["end"],
             a["who"], a["at"]] for a in letter.active_annotations]
