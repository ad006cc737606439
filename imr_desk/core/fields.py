"""The field catalogue: every value of a record a clerk reviews, declared once.

For each field: its path in the record (`case.decision_date`; an item's fields as `items.*.request`),
the label the clerk reads, its kind (text, long text, date, choice, number, list, yes/no), its
vocabulary (for a choice), and its export column. Everything that lists the record's fields reads
this catalogue instead of restating it:

- the review form builds one editor per field, in catalogue order (`imr_desk.ui.form`);
- the difference between two records, which the store writes to history and `stats` counts
  (`flatten`, `diff` here);
- the history's wording (`label_of`: "Item 2: Decision", not `items.1.decision`);
- the checks (`imr_desk.core.checks`: dates that are not real dates, required values);
- the export columns (`imr_desk.export.rows`);
- the JSON Lines import's check of a field the record's Structs do not declare yet (its kind's type,
  `imr_desk.store.roundtrip`).

Adding a field to the record is one `Field` here plus its tests (tests/core/test_fields.py shows a
new field reaching every one of those places).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from imr_desk.core import dates, verdicts
from imr_desk.core.record import Decision, Priority, Sex
from imr_desk.core.text import same_value


class Kind(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long text"
    DATE = "date"  # ISO YYYY-MM-DD, or null
    CHOICE = "choice"  # one word of `vocabulary`, or null
    NUMBER = "number"  # a whole number within `bounds`, or null
    LIST = "list"  # a list of words, as written
    FLAG = "yes/no"  # true or false


ITEM = "items.*."  # the prefix of an item's fields in the catalogue


@dataclass(frozen=True)
class Field:
    """One reviewable value of the record."""

    path: str  # 'case.decision_date', 'summary', or 'items.*.request' for every item's request
    label: str
    kind: Kind
    section: str  # the form's group: Case, Reviewer, Worker, Item
    column: str  # the export column (letters table; items table for an item's field)
    vocabulary: tuple[str, ...] = ()  # a choice's words
    open_vocabulary: bool = False  # a choice that keeps other words as written (the letter's priority)
    bounds: tuple[int, int] | None = None  # a number's smallest and largest value
    required: bool = False  # never null: empty is "" (an item's request)

    @property
    def per_item(self) -> bool:
        return self.path.startswith(ITEM)

    @property
    def key(self) -> str:
        """The last part of the path: the key in its part of the record ('decision_date', 'request')."""
        return self.path.rsplit(".", 1)[-1]

    def path_in(self, index: int | None = None) -> str:
        """The field's path in a record; an item's field needs the item's index."""
        if self.per_item:
            if index is None:
                raise ValueError(f"{self.path} is an item's field: give the item's index")
            return f"items.{index}.{self.key}"
        return self.path

    def phrase(self) -> str:
        """The label inside a sentence ('the date of injury'; 'the UR denial date' keeps its capitals)."""
        label = self.label
        return label if label[1:2].isupper() else label[:1].lower() + label[1:]


FIELDS: tuple[Field, ...] = (
    Field("case.case_number", "Case number", Kind.TEXT, "Case", "case_number"),
    Field("case.decision_date", "Decision date", Kind.DATE, "Case", "decision_date"),
    Field("case.date_assigned", "Date assigned", Kind.DATE, "Case", "date_assigned"),
    Field("case.date_of_injury", "Date of injury", Kind.DATE, "Case", "date_of_injury"),
    Field("case.ur_denial_date", "UR denial date", Kind.DATE, "Case", "ur_denial_date"),
    Field("case.application_received", "Application received", Kind.DATE, "Case", "application_received"),
    Field("case.priority", "Priority", Kind.CHOICE, "Case", "priority",
          vocabulary=tuple(p.value for p in Priority), open_vocabulary=True),
    Field("reviewer.role", "Role", Kind.TEXT, "Reviewer", "reviewer_role"),
    Field("reviewer.licensure", "Licensure", Kind.LIST, "Reviewer", "reviewer_licensure"),
    Field("reviewer.specialties", "Specialties", Kind.LIST, "Reviewer", "reviewer_specialties"),
    Field("patient.age", "Age", Kind.NUMBER, "Worker", "patient_age", bounds=(0, 120)),
    Field("patient.sex", "Sex", Kind.CHOICE, "Worker", "patient_sex", vocabulary=tuple(s.value for s in Sex)),
    Field("summary", "Case summary", Kind.LONG_TEXT, "Worker", "summary"),
    Field("items.*.request", "Request", Kind.TEXT, "Item", "request", required=True),
    Field("items.*.decision", "Decision", Kind.CHOICE, "Item", "decision",
          vocabulary=tuple(d.value for d in Decision)),
    Field("items.*.decision_stated", "Decision stated", Kind.FLAG, "Item", "decision_stated"),
    Field("items.*.original_request", "Original request", Kind.TEXT, "Item", "original_request"),
    Field("items.*.authorized", "Authorized", Kind.TEXT, "Item", "authorized"),
    Field("items.*.claims_administrator_guideline", "Claims admin. guideline", Kind.LONG_TEXT, "Item",
          "claims_administrator_guideline"),
    Field("items.*.maximus_guideline", "MAXIMUS guideline", Kind.LONG_TEXT, "Item", "maximus_guideline"),
    Field("items.*.rationale", "Rationale", Kind.LONG_TEXT, "Item", "rationale"),
)

SECTIONS = ("Case", "Reviewer", "Worker")  # the record's sections in the form; the items follow


def letter_fields() -> tuple[Field, ...]:
    """The fields of the letter as a whole (not of one item), in form order."""
    return tuple(f for f in FIELDS if not f.per_item)


def item_fields() -> tuple[Field, ...]:
    """The fields of each disputed item, in form order."""
    return tuple(f for f in FIELDS if f.per_item)


def field_at(path: str) -> Field | None:
    """The catalogue's field for a record path ('items.3.decision', 'reviewer.specialties.1'), if any."""
    parts = path.split(".")
    if parts[0] == "items" and len(parts) >= 3 and parts[1].isdigit():
        wanted = f"{ITEM}{parts[2]}"
    else:
        wanted = path
    for f in FIELDS:
        if f.path == wanted or (f.kind is Kind.LIST and wanted.startswith(f.path + ".")):
            return f
    return None


def form_path(path: str) -> str:
    """The form field that shows a path: a list element's path gives the list ('reviewer.specialties')."""
    f = field_at(path)
    if f is None or f.per_item:
        return path
    return f.path


_OTHER_LABELS = {
    "items.count": "Number of items",
    "status": "Status",
    "*": "Letter",
    "*rejected": "Edits not saved (changed meanwhile)",
    "*parser": "Parser's output",
    "*cleaned": "Characters the database cannot store",
    "*confirmed": "Fields confirmed",
    "fields": "Sources of the values",
    "items": "Disputed items",
}


def label_of(path: str) -> str:
    """How a path reads for the clerk: 'items.1.decision' -> 'Item 2: Decision', 'reviewer.role' ->
    'Reviewer: Role', 'case.case_number' -> 'Case number'."""
    parts = path.split(".")
    if parts[0] == "items" and len(parts) >= 2 and parts[1].isdigit():
        item = f"Item {int(parts[1]) + 1}"
        f = field_at(path)
        return f"{item}: {f.label}" if f is not None else item
    if parts[0] == "annotations" and len(parts) == 2:
        return "Annotation"
    f = field_at(path)
    if f is not None:  # with its section, unless the label names it already ('Case number')
        return f.label if f.section.lower() in f.label.lower() else f"{f.section}: {f.label}"
    return _OTHER_LABELS.get(path, path)


# -- reading and comparing records --------------------------------------------------------------------
def value_at(record: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of a record dict; None where any part is missing."""
    node: Any = record
    for part in path.split("."):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return None
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """The record's reviewable values by path ('case.decision_date', 'items.0.decision'), catalogue order.

    A list of words (licensure, specialties) stays one value: a clerk edits it as one field.
    """
    out: dict[str, Any] = {}
    for f in letter_fields():
        out[f.path] = value_at(record, f.path)
    items = record.get("items")
    for i, item in enumerate(items if isinstance(items, list) else []):
        for f in item_fields():
            out[f.path_in(i)] = item.get(f.key) if isinstance(item, dict) else None
    return out


def _path_key(path: str) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.split("."))


path_order = _path_key  # the sort key of a path: its parts in order, item indices as numbers


def diff(old: dict[str, Any], new: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """(path, old value, new value) for every reviewable value that differs, in a stable order.

    A change in the number of items comes first, as 'items.count'.
    """
    a, b = flatten(old), flatten(new)
    n_old, n_new = len(old.get("items") or []), len(new.get("items") or [])
    if n_old != n_new:
        yield "items.count", n_old, n_new
    for path in sorted(set(a) | set(b), key=_path_key):
        if not same_value(a.get(path), b.get(path)):
            yield path, a.get(path), b.get(path)


# -- a value from the letter's text (fill from selection) ------------------------------------------------
class NotAValue(ValueError):
    """Text that is not a value of the field; `str(err)` says so to the clerk."""


def value_from_text(f: Field, raw: str) -> Any:
    """The value a field takes from text selected in the letter; `NotAValue` when the text is not one.

    A date is read by core/dates.py (any written form; an impossible date is refused with the reason),
    a number must be one within the field's bounds, a choice one of its words.
    """
    text = " ".join(raw.split())
    if f.kind is Kind.LIST:
        return [s.strip() for s in text.split(",") if s.strip()]
    if f.kind is Kind.NUMBER:
        digits = "".join(ch for ch in text if ch.isdigit())
        if not digits:
            raise NotAValue(f"“{text}” is not a number: select the {f.phrase()} as digits.")
        number = int(digits)
        if f.bounds and not f.bounds[0] <= number <= f.bounds[1]:
            raise NotAValue(f"{number} cannot be the {f.phrase()}: it is between {f.bounds[0]} and {f.bounds[1]}.")
        return number
    if f.kind is Kind.CHOICE:
        word = text.strip(" .:")
        if set(f.vocabulary) == {d.value for d in Decision}:  # the verdict module reads decision words
            decision = verdicts.normalise_decision(word)
            if decision is not None:
                return decision.value
        for option in f.vocabulary:
            if word.lower() == option.lower():
                return option
        if f.open_vocabulary and word:
            return word
        raise NotAValue(f"“{text}” is not one of {', '.join(f.vocabulary)}: select just that word.")
    if f.kind is Kind.DATE:
        return date_from_text(text)
    if f.kind is Kind.FLAG:
        raise NotAValue("This field is a yes/no choice; it cannot be filled from text.")
    return text


def date_from_text(text: str) -> str:
    """The ISO date written in `text` (the whole of it, or the one date inside it); `NotAValue` when none is
    or the date cannot exist ("February 2016 has no day 31")."""
    try:
        return dates.parse_date(text).isoformat()
    except dates.DateError as whole:
        found = list(dates.find_dates(text, keep_impossible=True))
        if len(found) == 1 and found[0].iso:
            return found[0].iso
        if len(found) == 1:
            raise NotAValue(found[0].error or str(whole)) from None
        if found:
            raise NotAValue(f"“{text}” holds {len(found)} dates: select just one.") from None
        raise NotAValue(str(whole)) from None
