"""The flat tables of an export (letters, items, annotations) with a type for every column.

CSV writes the values as text (ISO dates, `true`/`false`); Excel writes them typed (real dates and
date-times, integers, booleans). Both take the rows from here, so the two always agree.
"""

from __future__ import annotations

from typing import Any

from imr_desk.core.fields import diff
from imr_desk.export.selection import LetterData
from imr_desk.store.records import REVIEWED_PARTS

# (column, type): type is one of text, int, bool, date (ISO date), datetime (ISO date-time, UTC)
LETTER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("letter_id", "int"),
    ("file_name", "text"),
    ("sha256", "text"),
    ("batch", "text"),
    ("status", "text"),
    ("status_reason", "text"),
    ("reviewed_by", "text"),
    ("reviewed_at", "datetime"),
    ("case_number", "text"),
    ("date_assigned", "date"),
    ("date_of_injury", "date"),
    ("decision_date", "date"),
    ("ur_denial_date", "date"),
    ("application_received", "date"),
    ("priority", "text"),
    ("reviewer_role", "text"),
    ("reviewer_licensure", "text"),
    ("reviewer_specialties", "text"),
    ("patient_age", "int"),
    ("patient_sex", "text"),
    ("outcome", "text"),
    ("item_count", "int"),
    ("upheld_count", "int"),
    ("overturned_count", "int"),
    ("summary", "text"),
    ("layout", "text"),
    ("pages", "int"),
    ("warning_count", "int"),
    ("warning_codes", "text"),
    ("changed_fields", "text"),
    ("annotation_count", "int"),
    ("parser_version", "text"),
    ("record_version", "int"),
)

ITEM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("letter_id", "int"),
    ("case_number", "text"),
    ("decision_date", "date"),
    ("date_of_injury", "date"),
    ("reviewer_specialties", "text"),
    ("outcome", "text"),
    ("item", "int"),  # 1-based position in the letter
    ("request", "text"),
    ("original_request", "text"),
    ("authorized", "text"),
    ("decision", "text"),
    ("decision_stated", "bool"),
    ("claims_administrator_guideline", "text"),
    ("maximus_guideline", "text"),
    ("rationale", "text"),
)

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


def letter_row(letter: LetterData) -> list[Any]:
    rec = letter.record
    case = rec.get("case") or {}
    reviewer = rec.get("reviewer") or {}
    patient = rec.get("patient") or {}
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
        case.get("case_number"),
        case.get("date_assigned"),
        case.get("date_of_injury"),
        case.get("decision_date"),
        case.get("ur_denial_date"),
        case.get("application_received"),
        case.get("priority"),
        reviewer.get("role"),
        _words(reviewer.get("licensure")),
        _words(reviewer.get("specialties")),
        patient.get("age"),
        patient.get("sex"),
        rec.get("outcome"),
        len(items),
        decisions.count("upheld"),
        decisions.count("overturned"),
        rec.get("summary"),
        rec.get("layout", letter.layout),
        (rec.get("source") or {}).get("pages", letter.pages),
        len(warnings),
        " ".join(sorted({str(w.get("code")) for w in warnings if w.get("code")})) or None,
        LIST_SEPARATOR.join(changed_fields(letter)) or None,
        len(letter.active_annotations),
        letter.parser_version,
        letter.version,
    ]


def item_rows(letter: LetterData) -> list[list[Any]]:
    rec = letter.record
    case = rec.get("case") or {}
    specialties = _words((rec.get("reviewer") or {}).get("specialties"))
    rows = []
    for pos, item in enumerate(rec.get("items") or [], start=1):
        rows.append([
            letter.id,
            case.get("case_number"),
            case.get("decision_date"),
            case.get("date_of_injury"),
            specialties,
            rec.get("outcome"),
            pos,
            item.get("request"),
            item.get("original_request"),
            item.get("authorized"),
            item.get("decision"),
            item.get("decision_stated"),
            item.get("claims_administrator_guideline"),
            item.get("maximus_guideline"),
            item.get("rationale"),
        ])
    return rows


def annotation_rows(letter: LetterData) -> list[list[Any]]:
    case_number = (letter.record.get("case") or {}).get("case_number")
    return [[letter.id, case_number, a["id"], a["label"], a["note"], a.get("quote"), a["start"], a["end"],
             a["who"], a["at"]] for a in letter.active_annotations]
