"""Printed labels and headings as patterns: the one place where label matching is tolerant.

`label("Certification(s)/Specialty:")` gives a regex that matches the label as letters, text
extraction and OCR print it: any run of whitespace between words, a line break inside a heading,
"(s)" written as "(s)", "s", nothing, or OCR's "(sy"; a comma that may be missing; and, per
character, the look-alikes in `OCR_LOOKALIKES`.

OCR confusions belong here: add a character's look-alikes to `OCR_LOOKALIKES` (or a new "(s)"
misreading to `PLURAL_S`) and every label and heading of every layout accepts them.
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


def label(*spellings: str) -> str:
    """A regex (text, to compile or combine) matching any of the spellings, tolerantly."""
    return "(?:" + "|".join(_one(s) for s in spellings) + ")"


def compiled(*spellings: str) -> re.Pattern[str]:
    """`label` compiled, case-insensitive."""
    return re.compile(label(*spellings), re.IGNORECASE)
