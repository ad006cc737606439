"""The IMR Final Determination Letter parser (work in progress: filled in below)."""

from __future__ import annotations

from typing import Any

from imr_desk.core.reading import LetterText

PARSER_VERSION = "1"
SCHEMA = "imr-desk/record/1"


def empty_record(letter: LetterText) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "source": {"name": letter.name, "sha256": letter.sha256, "media_type": letter.media_type,
                   "pages": letter.pages},
        "layout": None,
        "case": {k: None for k in ("case_number", "date_assigned", "date_of_injury", "decision_date",
                                   "ur_denial_date", "priority", "application_received")},
        "reviewer": {"role": None, "licensure": [], "specialties": []},
        "patient": {"age": None, "sex": None},
        "summary": None,
        "items": [],
        "outcome": None,
        "fields": {},
        "warnings": [],
    }


def parse_letter(letter: LetterText, *, include_text: bool = False) -> dict[str, Any]:
    rec = empty_record(letter)
    if letter.error:
        rec["error"] = letter.error
    if include_text:
        rec["text"] = letter.text
    return rec
