"""The case: the header table (case number, dates, priority) and, in 2013 notices, the dates in prose.

Letters print the header as a two-column table, which text extraction gives back either row by
row ("Label: value Label: value") or column by column ("Label: Label: value value"); pairing each
run of labels with the run of values after it reads both. Dates are read by core/dates.py.
"""

from __future__ import annotations

import re

from imr_desk.core.dates import date_at, find_dates, to_iso
from imr_desk.core.parser import rules
from imr_desk.core.parser.labels import DIGIT, digits
from imr_desk.core.parser.layouts import Sections
from imr_desk.core.parser.reader import Reader
from imr_desk.core.parser.rules import Rule

_I = re.IGNORECASE
_CASE_NUMBER_ANY = re.compile(r"\bCM" + DIGIT + r"{2}-" + DIGIT + r"{7}(?![\w|])")
_VALUE_KINDS = ("v_", "other")


def _value_kind(key: str) -> str:
    return {"case_number": "v_case", "priority": "v_priority"}.get(key, "v_date")


def _tokens(pattern: re.Pattern[str], text: str, lo: int, hi: int) -> list[tuple[str, int, int]]:
    tokens: list[tuple[str, int, int]] = []
    for m in pattern.finditer(text, lo, hi):
        kind = m.lastgroup or "other"
        if kind == "noise":
            continue
        if kind == "other" and tokens and tokens[-1][0] == "other":
            tokens[-1] = ("other", tokens[-1][1], m.end())  # words of one unrecognised value
            continue
        tokens.append((kind, m.start(), m.end()))
    return tokens


def read_case(r: Reader, s: Sections) -> None:
    """The header table when the letter has one, else a case number printed anywhere; then the prose dates."""
    text = r.text
    case = r.record.case
    if s.header is None:
        # No header block: a case number may still be printed somewhere (e.g. a page footer).
        m = _CASE_NUMBER_ANY.search(text)
        if m:
            case.case_number = "CM" + digits(m.group()[2:])
            r.note("case.case_number", m.start(), m.end(), rules.CASE_NUMBER_ANYWHERE)
    else:
        _read_table(r, s)
    if s.layout.notice_prose:
        _read_notice_prose(r, s)


def _read_table(r: Reader, s: Sections) -> None:
    assert s.header is not None
    case = r.record.case
    tokens = _tokens(s.layout.header_pattern, r.text, s.header.start, s.header.end)
    i = 0
    while i < len(tokens):
        labels = []
        while i < len(tokens) and not tokens[i][0].startswith(_VALUE_KINDS):
            labels.append(tokens[i])
            i += 1
        values = []
        while i < len(tokens) and tokens[i][0].startswith(_VALUE_KINDS):
            values.append(tokens[i])
            i += 1
        column = len(labels) > 1
        for (key, _ls, _le), (vkind, vs, ve) in zip(labels, values, strict=False):
            if vkind != _value_kind(key) or getattr(case, key) is not None:
                continue
            _set(r, key, vs, ve, rules.CASE_HEADER_COLUMN if column else rules.CASE_HEADER_LABEL)
    # A value the table pairing missed, when only one such value is in the header.
    for key, vkind in (("case_number", "v_case"), ("priority", "v_priority")):
        if getattr(case, key) is None:
            found = [t for t in tokens if t[0] == vkind]
            if len(found) == 1:
                _set(r, key, found[0][1], found[0][2], rules.CASE_HEADER_VALUE)


def _set(r: Reader, key: str, start: int, end: int, rule: Rule) -> None:
    raw = r.text[start:end]
    if key == "case_number":
        number = re.sub(r"\s+", "", raw)
        value = number[:2].upper() + digits(number[2:])
    elif key == "priority":
        value = raw.capitalize()
    else:
        iso = to_iso(raw)
        if iso is None:
            r.warn("bad-date", "warning", f"The {key.replace('_', ' ')} '{raw}' is not a valid date.", f"case.{key}")
            return
        value = iso
    setattr(r.record.case, key, value)
    r.note(f"case.{key}", start, end, rule)


# ---------------------------------------------------------------- 2013 notices: dates in prose

# Each phrase ends right where its date begins.
_NOTICE_PROSE: tuple[tuple[str, re.Pattern[str], Rule], ...] = (
    ("decision_date", re.compile(r"Independent\s+Medical\s+Review\s+Determination\s+Dated\s*:", _I),
     rules.NOTICE_DATED),
    ("application_received", re.compile(
        r"application\s+for\s+Independent\s+Medical\s+Review\s+was\s+(?:filed|received|submitted)\s+on\b", _I),
     rules.APPLICATION_PROSE),
    ("ur_denial_date", re.compile(
        r"disputing\s+the\s+Utilization\s+Review\s+(?:Denial|Decision|Determination|Modification)s?"
        r"(?:\s*/\s*modification)?\s+dated\b", _I),
     rules.UR_DENIAL_PROSE),
    ("date_assigned", re.compile(
        r"Notice\s+of\s+Assignment\s+and\s+Request\s+for\s+Information\s+was\s+(?:provided|sent|mailed)\s+to\s+"
        r"the\s+(?:above\s+)?parties\s+on\b", _I),
     rules.ASSIGNMENT_PROSE),
)
_INJURY_PROSE = re.compile(r"\b(?:date\s+of\s+injury|injury\s+date|DOI)\s*(?:of|on|:|was|is)?\s*(?=\S)", _I)


def _read_notice_prose(r: Reader, s: Sections) -> None:
    text = r.text
    case = r.record.case
    for key, phrase, rule in _NOTICE_PROSE:
        if getattr(case, key) is not None:
            continue  # the table gave it
        for m in phrase.finditer(text):
            found = date_at(text, m.end())
            if found is not None and found.iso:
                setattr(case, key, found.iso)
                r.note(f"case.{key}", found.start, found.end, rule)
                break
    summary = s.first(s.layout.summary)
    if case.date_of_injury is None and summary is not None:
        for m in _INJURY_PROSE.finditer(text, summary.start, summary.end):
            found = date_at(text, m.end(), summary.end)
            if found is not None and found.iso:
                case.date_of_injury = found.iso
                r.note("case.date_of_injury", found.start, found.end, rules.INJURY_PROSE)
                break


def summary_source(r: Reader, source: str, date_text: str) -> None:
    """Record where a 2013 notice's summary was taken from (an info warning on the summary)."""
    found = next(find_dates(date_text), None)
    when = f" dated {found.iso}" if found and found.iso else ""
    r.warn("summary-source", "info", f"The case summary was taken from the {source}{when}, not written by the "
           "reviewer.", "summary")
