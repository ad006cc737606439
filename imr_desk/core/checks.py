"""Consistency checks on a record: facts of a letter that disagree with each other.

`check_record` works on the record alone, so the review window can run it again on every edit.
Warnings that come from reading the file (a scanned PDF, an odd encoding) are kept by `merge`.
"""

from __future__ import annotations

import re
from typing import Any

from imr_desk.core import dates
from imr_desk.core.fields import Kind, field_at, letter_fields, value_at
from imr_desk.core.verdicts import rationale_verdict

# Codes computed from the record by check_record; any other code (from reading the file) is kept as is.
RECORD_CODES = frozenset({
    "no-items", "unknown-layout", "decision-not-stated", "decision-missing", "decision-contradicts-rationale",
    "dates-out-of-order", "rationale-cut-off", "request-missing", "case-number-format", "reviewer-missing",
    "age-out-of-range", "rationale-missing", "date-impossible",
})

# The case's dates in the order the events happen (the catalogue gives each one's label).
_DATE_ORDER = ("case.date_of_injury", "case.ur_denial_date", "case.application_received", "case.date_assigned",
               "case.decision_date")
_CASE_NUMBER = re.compile(r"^CM\d{2}-\d{7}$")
_ENDS_SENTENCE = re.compile(r"[.!?][\"'”’)\]]*$|\)$|\]$")


def _phrase(path: str) -> str:
    f = field_at(path)
    return f.phrase() if f is not None else path


def _w(code: str, severity: str, message: str, path: str | None = None) -> dict[str, Any]:
    return {"path": path, "code": code, "severity": severity, "message": message}


ItemFindings = list[tuple[str, str, str, str]]
"""One item's findings, whatever its position: (code, severity, message after "Item N", the item's field)."""


def item_findings(item: dict[str, Any]) -> ItemFindings:
    """What the checks find in one item, without its position (so a moved item's findings are the same)."""
    out: ItemFindings = []
    if not (item.get("request") or "").strip():
        out.append(("request-missing", "error", " has no request.", "request"))
    decision = item.get("decision")
    if decision is None:
        out.append(("decision-missing", "error", " has no decision.", "decision"))
    elif not item.get("decision_stated", True):
        out.append(("decision-not-stated", "warning",
                    f": the letter states no decision; '{decision}' is implied by the rationale.", "decision"))
    rationale = item.get("rationale")
    if not rationale:
        out.append(("rationale-missing", "warning", " has no rationale.", "rationale"))
    else:
        verdict = rationale_verdict(rationale)
        if decision and verdict and verdict != decision:
            said = "not medically necessary" if verdict == "upheld" else "medically necessary"
            out.append(("decision-contradicts-rationale", "error",
                        f" is '{decision}' but its rationale concludes the request is {said}.", "decision"))
        if not _ENDS_SENTENCE.search(rationale.strip()):
            out.append(("rationale-cut-off", "warning",
                        f": the rationale ends mid-sentence ('...{rationale.strip()[-30:]}'); it may be cut off.",
                        "rationale"))
    return out


class ItemChecks:
    """The findings of each item by the item itself (its dict, as the review window keeps it unchanged until it
    is edited): checking a record again after one edit checks only the item that changed."""

    def __init__(self) -> None:
        self._found: dict[int, tuple[dict[str, Any], ItemFindings]] = {}
        self._last: tuple[list[dict[str, Any]], list[ItemFindings]] = ([], [])  # the items checked last, in order

    def findings(self, items: list[dict[str, Any]]) -> list[ItemFindings]:
        last_items, last_found = self._last
        if len(items) == len(last_items):  # an edit of a field: the items where they were, one of them new
            out = [f if a is b else item_findings(b) for a, b, f in zip(last_items, items, last_found, strict=True)]
            self._last = (list(items), out)
            self._found = {}  # by position from now on; rebuilt when items are added, removed or moved
            return out
        if not self._found and last_items:
            self._found = {id(i): (i, f) for i, f in zip(last_items, last_found, strict=True)}
        found: dict[int, tuple[dict[str, Any], ItemFindings]] = {}
        out = []
        for item in items:
            known = self._found.get(id(item))
            if known is None or known[0] is not item:
                known = (item, item_findings(item))
            found[id(item)] = known
            out.append(known[1])
        self._found = found  # the items of this record only: those edited away are forgotten
        self._last = (list(items), out)
        return out


def check_record(rec: dict[str, Any], items_checked: ItemChecks | None = None) -> list[dict[str, Any]]:
    """The consistency warnings of a record (parsed or edited by a clerk).

    `items_checked` keeps each item's findings between calls (the review window checks again on every edit).
    """
    out: list[dict[str, Any]] = []
    if rec.get("error"):
        return out
    if rec.get("layout") is None and rec.get("items") is not None:
        out.append(_w("unknown-layout", "warning",
                      "The letter's layout was not recognised; check every value against the letter."))
    items = rec.get("items") or []
    if not items:
        out.append(_w("no-items", "error", "No disputed items were found in the letter.", "items"))
    per_item = items_checked.findings(items) if items_checked is not None else [item_findings(i) for i in items]
    for i, found in enumerate(per_item):
        for code, severity, message, key in found:
            out.append(_w(code, severity, f"Item {i + 1}{message}", f"items.{i}.{key}"))
    case = rec.get("case") or {}
    number = case.get("case_number")
    if number and not _CASE_NUMBER.match(number):
        out.append(_w("case-number-format", "warning",
                      f"The case number '{number}' is not of the form CM16-0123456.", "case.case_number"))
    for f in letter_fields():  # a date in the record must be one that exists (imported, or from an old version)
        value = value_at(rec, f.path)
        if f.kind is Kind.DATE and value is not None and dates.to_iso(str(value)) != value:
            try:
                dates.parse_date(str(value))
                why = "write it as YYYY-MM-DD."
            except dates.DateError as exc:
                why = exc.reason + "."
            out.append(_w("date-impossible", "error", f"The {f.phrase()} '{value}' is not a real date: {why}",
                          f.path))
    dated = [(p, _phrase(p), str(value_at(rec, p))) for p in _DATE_ORDER
             if value_at(rec, p) and dates.to_iso(str(value_at(rec, p))) == value_at(rec, p)]
    for (_p1, l1, d1), (p2, l2, d2) in zip(dated, dated[1:], strict=False):
        if d1 > d2:
            out.append(_w("dates-out-of-order", "warning", f"The {l1} ({d1}) is after the {l2} ({d2}).", p2))
    reviewer = rec.get("reviewer") or {}
    if rec.get("layout") and not reviewer.get("specialties"):
        out.append(_w("reviewer-missing", "warning", "The reviewer's specialty was not found.",
                      "reviewer.specialties"))
    age = (rec.get("patient") or {}).get("age")
    if age is not None and not (14 <= age <= 100):
        out.append(_w("age-out-of-range", "warning", f"The worker's age {age} is unlikely.", "patient.age"))
    return out


def merge(existing: list[dict[str, Any]], checked: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Warnings from reading the file, then the record's checks (replacing any earlier ones)."""
    kept = [w for w in existing if w.get("code") not in RECORD_CODES]
    return kept + checked


def recheck(rec: dict[str, Any], items_checked: ItemChecks | None = None) -> list[dict[str, Any]]:
    """The warnings a record should show now: its reading warnings plus fresh consistency checks."""
    return merge(rec.get("warnings") or [], check_record(rec, items_checked))
