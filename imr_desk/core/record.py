"""The letter's record as types: what `contract/record.schema.json` describes, declared once.

`Record` and its parts (`Source`, `Case`, `Reviewer`, `Patient`, `Item`, `Provenance`, `Warning`)
are msgspec `Struct`s, and the closed vocabularies are enums (`Decision`, from the verdict module,
`Outcome`, `Sex`, `Severity`, `Status`, `Priority`).

Why msgspec rather than dataclasses or attrs: a record crosses a boundary (a JSON Lines line, a
database row, the parser's output) far more often than it is built by hand, and msgspec converts
and checks a decoded record against these types in C, several times faster than building
dataclasses from the same dicts, and about as fast as `json.loads` alone; a 50,000-letter export
or import pays for that on every letter. The declarations read like dataclasses (typed fields with
defaults, in contract order) and mypy checks them the same way. attrs would give the declarations
but not the checked conversion.

The JSON stays exactly as today: fields are declared in the order the parser writes them (keyword
only, so a required field may follow one with a default), `error`
and `text` are left out when they are absent (`UNSET`), and `to_dict(from_dict(d)) == d` for every
record the parser writes (tests/core/test_record_types.py). Numbers keep their type (a confidence of
1 stays 1). Keys outside the contract are not kept.

The parser builds a `Record` (`imr_desk.core.api.parse_record`); the store, the window and the
exports still pass records around as the plain dicts JSON gives, so `from_dict` is the checked way
in and `to_dict` the way out at those boundaries. The field catalogue (`imr_desk.core.fields`) says, for every
value a clerk reviews, its path, label, kind and vocabulary.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec
from msgspec import UNSET, Struct, UnsetType

from imr_desk.core import verdicts
from imr_desk.core.verdicts import Decision  # the item's decision: one enum, the verdict module's

SCHEMA = "imr-desk/record/1"


class Outcome(StrEnum):
    """The letter's outcome, derived from its items' decisions (`verdicts.outcome_of`)."""

    UPHELD = Decision.UPHELD.value
    OVERTURNED = Decision.OVERTURNED.value
    PARTIALLY_OVERTURNED = verdicts.PARTIALLY_OVERTURNED


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


class Severity(StrEnum):
    """How much a warning matters: errors block "reviewed" unless the clerk gives a reason."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Status(StrEnum):
    """Where a letter is in its review (the store keeps it; the record itself has no status)."""

    TO_REVIEW = "to review"
    IN_REVIEW = "in review"
    REVIEWED = "reviewed"
    POSTPONED = "postponed"


STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
OPEN_STATUSES: tuple[str, ...] = (Status.TO_REVIEW.value, Status.IN_REVIEW.value)


class Priority(StrEnum):
    """Every priority the letters carry in their header ("Priority: Standard"), as the parser writes it.

    The contract keeps the priority as written, so a record may carry another word; the form shows it.
    """

    STANDARD = "Standard"
    EXPEDITED = "Expedited"
    REGULAR = "Regular"
    URGENT = "Urgent"


class OcrRun(Struct):
    """How the scanned pages were read: the engine, its version, the resolution and which pages (from 1)."""

    engine: str
    version: str | None = None
    dpi: int | None = None
    pages: list[int] = msgspec.field(default_factory=list)


class Source(Struct, kw_only=True):
    """The file the record was read from.

    Beyond the contract's keys, a scan's record says the original file's type (`file_media_type`, when
    it is not `media_type`: an image read by OCR) and the OCR run (`ocr`); both are left out otherwise.
    """

    name: str
    sha256: str
    media_type: str
    pages: int | None = None
    file_media_type: str | UnsetType = UNSET
    ocr: OcrRun | UnsetType = UNSET


class Case(Struct):
    """The case header: number, dates (ISO, YYYY-MM-DD) and priority."""

    case_number: str | None = None
    date_assigned: str | None = None
    date_of_injury: str | None = None
    decision_date: str | None = None
    ur_denial_date: str | None = None
    priority: str | None = None
    application_received: str | None = None


class Reviewer(Struct):
    role: str | None = None
    licensure: list[str] = msgspec.field(default_factory=list)
    specialties: list[str] = msgspec.field(default_factory=list)


class Patient(Struct):
    age: int | None = None
    sex: Sex | None = None


class Item(Struct):
    """One disputed item and its decision.

    `decision_stated` is true when the decision is stated: by the letter (its item header) or by the
    clerk who adds the item. The parser's item starts with it false (`Item(decision_stated=False)`)
    and sets it when it reads the header's decision; an item whose decision was inferred from its
    rationale, or that has none, keeps false (the contract: "false when the letter states no decision").
    """

    request: str = ""
    original_request: str | None = None
    authorized: str | None = None
    decision: Decision | None = None
    decision_stated: bool = True
    claims_administrator_guideline: str | None = None
    maximus_guideline: str | None = None
    rationale: str | None = None


class Provenance(Struct):
    """Where in the letter's text a value was read, how sure the parser is, and which rule read it."""

    start: int
    end: int
    page: int | None = None
    confidence: int | float = 0.0
    rule: str | UnsetType = UNSET
    ocr_confidence: float | UnsetType = UNSET  # on a page read by OCR: the engine's confidence in the words
    box: list[float] | UnsetType = UNSET  # a value the clerk read from a box drawn on the page: x0, y0, x1, y1


class Warning(Struct, kw_only=True):  # noqa: A001 - the contract's word for it
    """A check's finding about the record (or about reading the file); `path` names the field."""

    path: str | None = None
    code: str
    severity: Severity
    message: str


class Record(Struct, kw_only=True):
    """One letter, as parsed or as corrected by a clerk (`contract/record.schema.json`)."""

    schema: str = SCHEMA
    source: Source
    layout: str | None = None
    case: Case = msgspec.field(default_factory=Case)
    reviewer: Reviewer = msgspec.field(default_factory=Reviewer)
    patient: Patient = msgspec.field(default_factory=Patient)
    summary: str | None = None
    items: list[Item] = msgspec.field(default_factory=list)
    outcome: Outcome | None = None
    fields: dict[str, Provenance] = msgspec.field(default_factory=dict)
    warnings: list[Warning] = msgspec.field(default_factory=list)
    error: str | UnsetType = UNSET
    text: str | UnsetType = UNSET


class BadRecord(ValueError):
    """A dict that is not a record of the contract; the message names the part ("at `$.items[0]`")."""


def from_dict(value: Any) -> Record:
    """The record a decoded JSON object holds; `BadRecord` when it does not have the contract's types."""
    try:
        return msgspec.convert(value, Record)
    except msgspec.ValidationError as exc:
        raise BadRecord(str(exc)) from None


def to_dict(record: Record) -> dict[str, Any]:
    """The record as the JSON object the contract describes, keys in the parser's order."""
    out: dict[str, Any] = msgspec.to_builtins(record)
    return out


def reviewable_paths() -> frozenset[str]:
    """The path of every value a clerk reviews, as the field catalogue names them (`core.fields.FIELDS`):
    the case's, the reviewer's and the worker's fields, the summary, and each item's (`items.*.request`)."""
    parts: dict[str, type[Struct]] = {"case": Case, "reviewer": Reviewer, "patient": Patient}
    paths = {f"{part}.{f.name}" for part, cls in parts.items() for f in msgspec.structs.fields(cls)}
    return frozenset({*paths, "summary", *(f"items.*.{f.name}" for f in msgspec.structs.fields(Item))})


def outcome_of(items: list[dict[str, Any]]) -> str | None:
    """The letter's outcome from its items' decisions (plain dict items, as records hold them)."""
    return verdicts.outcome_of(it.get("decision") for it in items)


def empty_item() -> dict[str, Any]:
    """A new disputed item, as the form adds it."""
    return msgspec.to_builtins(Item())


__all__ = ["OPEN_STATUSES", "SCHEMA", "STATUSES", "BadRecord", "Case", "Decision", "Item", "OcrRun", "Outcome",
           "Patient", "Priority", "Provenance", "Record", "Reviewer", "Severity", "Sex", "Source", "Status", "Warning",
           "empty_item", "from_dict", "outcome_of", "reviewable_paths", "to_dict"]
