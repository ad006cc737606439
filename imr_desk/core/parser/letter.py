"""A read letter in, a typed record (`core.record.Record`) out: recognise the layout, then run each section's reader."""

from __future__ import annotations

import msgspec

from imr_desk.core import checks, ocr_text
from imr_desk.core.parser import header, items, layouts, patient, reviewer, rules
from imr_desk.core.parser.reader import Reader
from imr_desk.core.reading import LetterText
from imr_desk.core.record import Outcome, Record, Warning, to_dict
from imr_desk.core.verdicts import outcome_of

PARSER_VERSION = "1.1"

_SECTION_WORDS = {"how": "HOW THE IMR FINAL DETERMINATION WAS MADE", "summary": "the case summary",
                  "issues": "the items' section", "decisions": "the decisions", "reviewer": "the reviewer's "
                  "qualifications", "documents": "DOCUMENTS REVIEWED"}


def read_record(letter: LetterText, *, include_text: bool = False) -> Record:
    """Parse a read letter into a `Record` (contract/record.schema.json). Never raises on bad input."""
    rec = Record(source=ocr_text.source_of(letter))
    r = Reader(letter, rec)
    for problem in letter.problems:
        r.warn(problem.code, problem.severity, problem.message)
    if letter.error:
        rec.error = letter.error
    elif letter.text.strip():
        match = layouts.identify(letter.text)
        layout = match.layout or layouts.UNSEEN
        rec.layout = match.name
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
        found = outcome_of(it.decision for it in rec.items)
        rec.outcome = None if found is None else Outcome(found)
    ocr_text.weigh_confidences(rec, letter)
    # The checks read the contract's dict (core/checks.py); their warnings come back typed.
    as_dict = to_dict(rec)
    checked = checks.merge(as_dict["warnings"], checks.check_record(as_dict))
    rec.warnings = msgspec.convert(checked, list[Warning])
    if include_text:
        rec.text = letter.text
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
