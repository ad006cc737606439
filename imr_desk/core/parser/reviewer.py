"""The reviewer: role, states of licensure and specialties.

Either a credentials block ("State(s) of Licensure:", "Certification(s)/Specialty:", values that wrap
onto the next lines) or the sentence ("is Board Certified in X, has a subspecialty in Y and is
licensed to practice in Z"), in the section the layout names (HOW THE IMR FINAL DETERMINATION WAS
MADE; a 2013 notice's "Medical Qualifications of the Expert Reviewer:").
"""

from __future__ import annotations

import re

from imr_desk.core.parser import rules
from imr_desk.core.parser.labels import label
from imr_desk.core.parser.layouts import Sections
from imr_desk.core.parser.reader import Reader, collapse

_I = re.IGNORECASE
# A letter with no reviewer section: the reviewer is looked for in this much of its start.
REVIEWER_WINDOW = 3000
# A subspecialty is named right after the board certification, within this many characters.
SUBSPECIALTY_REACH = 300
# A credentials value wraps onto at most this many further lines.
CREDENTIAL_LINES = 3

_LICENSURE = label("State(s) of Licensure:")
_SPECIALTY = label("Certification(s)/Specialty:", "Certification(s)/Specialties:")
_ROLE_RE = re.compile(r"case\s+file\s+to\s+an?\s+((?:[A-Za-z]+\s+){0,2}?reviewer)\b", _I)
_ROLE_SUBJECT = re.compile(r"\bThe\s+((?:physician|expert|medical|professional)\s+reviewer)\s+is\s+Board", _I)
_LICENSURE_LABEL = re.compile(_LICENSURE, _I)
_SPECIALTY_LABEL = re.compile(_SPECIALTY, _I)
# Where a credentials value stops: the next label, or the summary.
_BLOCK_STOP = re.compile(label("State(s) of Licensure", "Certification(s)/Specialt", "CLINICAL CASE SUMMARY",
                               "The expert reviewer developed"), _I)
_BOARD_RE = re.compile(
    r"Board[\s-]+Certified\s+in\s+(?:the\s+)?(.+?)(?=,?\s+(?:and\s+)?(?:has|with|holds)\s+(?:a\s+)?sub-?\s*specialt"
    r"|,?\s+and\s+is\s+licensed|,?\s+is\s+licensed|\.\s|\.$|;)", _I | re.DOTALL)
_SUBSPECIALTY_RE = re.compile(
    r"sub-?\s*specialt(?:y|ies)\s+(?:certification\s+)?in\s+(.+?)(?=,?\s+and\s+is\s+licensed|,?\s+is\s+licensed"
    r"|\.\s|\.$|;)", _I | re.DOTALL)
_LICENSED_RE = re.compile(r"licensed\s+to\s+practice\s+(?:medicine\s+)?in\s+(?:the\s+states?\s+of\s+)?(.+?)"
                          r"(?=\.\s|\.$|;|\s+He/she|\s+and\s+has\s)", _I | re.DOTALL)


def _block_value(r: Reader, label_end: int, limit: int) -> tuple[int, int]:
    """A credentials value: the rest of the label's line plus continuation lines up to the next label or a blank line."""
    text = r.text
    start = label_end
    end = start
    pos = start
    first = True
    while pos < limit:
        nl = text.find("\n", pos, limit)
        line_end = limit if nl < 0 else nl
        line = text[pos:line_end]
        if not first:
            if not line.strip() or _BLOCK_STOP.match(line.strip()) or line.strip().isupper():
                break
        inner = _BLOCK_STOP.search(text, pos, line_end)  # the next label on the same line (lines run together)
        if inner is not None and inner.start() > start:
            if text[start:inner.start()].strip():
                end = inner.start()
            break
        if line.strip():
            end = line_end
        first = False
        if nl < 0:
            break
        pos = nl + 1
        if text[start:end].count("\n") >= CREDENTIAL_LINES:
            break
    return start, end


def read_reviewer(r: Reader, s: Sections) -> None:
    text = r.text
    rev = r.record.reviewer
    span = s.first(s.layout.reviewer)
    if span is not None:
        lo, hi = span.start, span.end
    else:
        summary = s.first(s.layout.summary)
        lo, hi = 0, summary.start if summary else min(len(text), REVIEWER_WINDOW)
    m = _ROLE_RE.search(text, lo, hi)
    if m:
        rev.role = collapse(m.group(1)).lower()
        r.note("reviewer.role", m.start(1), m.end(1), rules.ROLE_SENTENCE)
    else:
        m = _ROLE_SUBJECT.search(text, lo, hi)
        if m:
            rev.role = collapse(m.group(1)).lower()
            r.note("reviewer.role", m.start(1), m.end(1), rules.ROLE_SUBJECT)
    lic = _LICENSURE_LABEL.search(text, lo, hi)
    spec = _SPECIALTY_LABEL.search(text, lo, hi)
    if lic or spec:
        for lab, key, values in ((lic, "licensure", rev.licensure), (spec, "specialties", rev.specialties)):
            if lab is None:
                continue
            vs, ve = _block_value(r, lab.end(), hi)
            for i, (value, ps, pe) in enumerate(r.split_list(vs, ve)):
                values.append(value)
                r.note(f"reviewer.{key}.{i}", ps, pe, rules.CREDENTIALS_BLOCK)
        return
    # Sentence style: "is Board Certified in X, has a subspecialty in Y and is licensed to practice in Z."
    board = _BOARD_RE.search(text, lo, hi)
    if board:
        _add(r, "specialties", board.start(1), board.end(1), rules.BOARD_SENTENCE)
        sub = _SUBSPECIALTY_RE.search(text, board.end(1), min(hi, board.end(1) + SUBSPECIALTY_REACH))
        if sub:
            _add(r, "specialties", sub.start(1), sub.end(1), rules.BOARD_SENTENCE)
    lic_s = _LICENSED_RE.search(text, lo, hi)
    if lic_s:
        _add(r, "licensure", lic_s.start(1), lic_s.end(1), rules.LICENSED_SENTENCE)


def _add(r: Reader, key: str, start: int, end: int, rule: rules.Rule) -> None:
    values: list[str] = getattr(r.record.reviewer, key)
    for value, ps, pe in r.split_list(start, end):
        r.note(f"reviewer.{key}.{len(values)}", ps, pe, rule)
        values.append(value)
