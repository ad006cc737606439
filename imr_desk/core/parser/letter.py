"""A read letter in, a contract record out: recognise the layout, then run each section's reader."""

from __future__ import annotations

from typing import Any

from imr_desk.core import checks, ocr_text
from imr_desk.core.parser import header, items, layouts, patient, reviewer, rules
from imr_desk.core.parser.reader import Reader
from imr_desk.core.reading import LetterText
from imr_desk.core.verdicts import outcome_of

PARSER_VERSION = "1.1"
SCHEMA = "imr-desk/record/1"

CASE_KEYS = ("case_number", "date_assigned", "date_of_injury", "decision_date", "ur_denial_date",
             "priority", "application_received")

_SECTION_WORDS = {"how": "HOW THE IMR FINAL DETERMINATION WAS MADE", "summary": "the case summary",
                  "issues": "the items' section", "decisions": "the decisions", "reviewer": "the reviewer's "
                  "qualifications", "documents": "DOCUMENTS REVIEWED"}


def empty_record(letter: LetterText) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "source": {"name": letter.name, "sha256": letter.sha256, "media_type": letter.media_type,
                   "pages": letter.pages, **ocr_text.source_extra(letter)},
        "layout": None,
        "case": {k: None for k in CASE_KEYS},
        "reviewer": {"role": None, "licensure": [], "specialties": []},
        "patient": {"age": None, "sex": None},
        "summary": None,
        "items": [],
        "outcome": None,
        "fields": {},
        "warnings": [],
    }


def parse_letter(letter: LetterText, *, include_text: bool = False) -> dict[str, Any]:
    """Parse a read letter into a record of the contract schema. Never raises on bad input."""
    rec = empty_record(letter)
    r = Reader(letter, rec)
    for problem in letter.problems:
        r.warn(problem.code, problem.severity, problem.message)
    if letter.error:
        rec["error"] = letter.error
    elif letter.text.strip():
        match = layouts.identify(letter.text)
        layout = match.layout or layouts.UNSEEN
        rec["layout"] = match.name
        _layout_warnings(r, match)
        sections = layouts.find_sections(letter.text, layout, match.marks)
        if match.layout is not None:
            missing = [name for name in layout.always if name not in sections.spans]
            if missing:
                r.warn("section-missing", "warning",
                       f"This {layout.name} letter lacks " + ", ".join(_SECTION_WORDS.get(m, m) for m in missing)
                       + "; check the values that section gives.")
        header.read_case(r, sections)
        reviewer.read_reviewer(r, sections)
        patient.read_summary(r, sections)
        patient.read_patient(r, sections)
        items.read_items(r, sections)
        rec["outcome"] = outcome_of(it["decision"] for it in rec["items"])
    ocr_text.weigh_confidences(rec, letter)
    rec["warnings"] = checks.merge(rec["warnings"], checks.check_record(rec))
    if include_text:
        rec["text"] = letter.text
    return rec


def _layout_warnings(r: Reader, match: layouts.Match) -> None:
    if match.layout is None:
        r.confidence_cap = rules.UNSEEN_LAYOUT_CAP  # checks.py warns "unknown-layout" from the record
    elif not match.full:
        r.confidence_cap = rules.PARTIAL_LAYOUT_CAP
        r.warn("layout-partial", "warning",
               f"The letter matches the {match.layout.name} layout only in part (no "
               + ", ".join(layouts.MARKS_SHOWN.get(m, m) for m in match.missing)
               + "): check every value against the letter.")
