"""Printed labels and headings as patterns: the one place where label matching is tolerant.

`label("Certification(s)/Specialty:")` gives a regex that matches the label as letters, text
extraction and OCR print it: any run of whitespace between words, a line break inside a heading,
"(s)" written as "(s)", "s", nothing, or OCR's "(sy"; a comma that may be missing; and, per
character, the look-alikes in `OCR_LOOKALIKES`.

OCR confusions belong here: add a character's look-alikes to `OCR_LOOKALIKES` (or a new "(s)"
misreading to `PLURAL_S`) and every label and heading of every layout accepts them; a letter read
for a digit goes in `OCR_DIGITS` (case numbers; dates are core/dates.py's).
"""

from __future__ import annotations

import re

# Characters OCR engines confuse in labels: each key also matches the characters of its value.
# Kept to confusions seen on IMR scans; matching is case-insensitive anyway.
OCR_LOOKALIKES: dict[str, str] = {
    "l": "1|I",
    "I": "1|l",
    "O": "0",
    "o": "0",
}
# Characters OCR reads in place of a digit, in case numbers ("CM16-O221706"): what each stands for.
OCR_DIGITS: dict[str, str] = {"O": "0", "o": "0", "l": "1", "I": "1", "|": "1"}
DIGIT = "[0-9" + re.escape("".join(OCR_DIGITS)) + "]"
_TO_DIGIT = str.maketrans(OCR_DIGITS)

# "(s)" as printed, as run into the word ("States"), left out ("State"), or misread by OCR ("(sy", "(s}").
PLURAL_S = r"(?:\s*\(\s*s\s*[)}\]y]?|s)?"

_TOKEN = re.compile(r"\(s\)|\s+|.", re.IGNORECASE | re.DOTALL)


def _char(ch: str) -> str:
    alts = OCR_LOOKALIKES.get(ch)
    if not alts:
        return re.escape(ch)
    return "[" + re.escape(ch) + "".join(re.escape(a) for a in alts) + "]"


def _one(spelling: str) -> str:
    out: list[str] = []
    for tok in _TOKEN.findall(spelling):
        if tok.lower() == "(s)":
            out.append(PLURAL_S)
        elif tok.isspace():
            out.append(r"\s+")
        elif tok == ",":
            out.append(r"\s*,?")
        elif tok in ":/":
            out.append(r"\s*" + re.escape(tok) + r"\s*" if tok == "/" else r"\s*:")
        elif tok == "-":
            out.append(r"\s*-?\s*")
        else:
            out.append(_char(tok))
    return "".join(out)


def digits(value: str) -> str:
    """A number as OCR read it, with its look-alikes put back to digits."""
    return value.translate(_TO_DIGIT)


def label(*spellings: str) -> str:
    """A regex (text, to compile or combine) matching any of the spellings, tolerantly."""
    return "(?:" + "|".join(_one(s) for s in spellings) + ")"
