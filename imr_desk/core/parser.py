"""The IMR Final Determination Letter parser.

A letter has up to five parts, each found by its printed anchor:

1. the case header block ("Case Number:", "Date Assigned:", ...), in letters from 2015 on;
2. "HOW THE IMR FINAL DETERMINATION WAS MADE", naming the reviewer, either as a credentials block
   ("State(s) of Licensure:", "Certification(s)/Specialty:") or in a sentence ("is Board Certified in");
3. "CLINICAL CASE SUMMARY", which gives the worker's age and sex;
4. "IMR ISSUES, DECISIONS AND RATIONALES": one block per disputed item, a header ("Request: Upheld")
   followed by "Claims Administrator guideline:", "MAXIMUS guideline:" and "Decision rationale:".

Every value is recorded with its provenance: the span of `text` it was read from, the page, a
confidence, and the rule that read it. Confidence says how the value was found: a value read right
after its printed label is near-certain; one found by a fallback heuristic is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from imr_desk.core import checks
from imr_desk.core.dates import DATE_PATTERN, to_iso
from imr_desk.core.reading import LetterText
from imr_desk.core.verdicts import (
    DECISION_WORD,
    decision_of_necessity,
    find_verdict,
    mentions_necessity,
    normalise_decision,
    outcome_of,
)

PARSER_VERSION = "1.0"
SCHEMA = "imr-desk/record/1"

CASE_KEYS = ("case_number", "date_assigned", "date_of_injury", "decision_date", "ur_denial_date",
             "priority", "application_received")

# Confidence levels: what each kind of evidence is worth.
LABELLED = 0.98  # read right after its printed label
STRUCTURED = 0.93  # read from a well-formed structure (item header, list element)
HEURISTIC = 0.75  # found by a fallback (a pattern elsewhere in the text, a split at a glued sentence)
GUESS = 0.5  # inferred, not stated (a decision implied by its rationale, sex from pronouns)

_WS = re.compile(r"\s+")
_I = re.IGNORECASE


def collapse(s: str) -> str:
    return _WS.sub(" ", s).strip()


@dataclass
class Span:
    start: int
    end: int


class _Reader:
    """Holds the text and the record being built, and records provenance for each value."""

    def __init__(self, letter: LetterText, record: dict[str, Any]) -> None:
        self.letter = letter
        self.text = letter.text
        self.record = record
        self.fields: dict[str, dict[str, Any]] = record["fields"]
        self.warnings: list[dict[str, Any]] = record["warnings"]

    def trim(self, start: int, end: int) -> tuple[int, int]:
        """Shrink a span so it starts and ends on non-space characters."""
        t = self.text
        while start < end and t[start].isspace():
            start += 1
        while end > start and t[end - 1].isspace():
            end -= 1
        return start, end

    def note(self, path: str, start: int, end: int, confidence: float, rule: str) -> None:
        start, end = self.trim(start, end)
        self.fields[path] = {
            "start": start,
            "end": end,
            "page": self.letter.page_of(start),
            "confidence": round(confidence, 2),
            "rule": rule,
        }

    def warn(self, code: str, severity: str, message: str, path: str | None = None) -> None:
        self.warnings.append({"path": path, "code": code, "severity": severity, "message": message})


def empty_record(letter: LetterText) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "source": {"name": letter.name, "sha256": letter.sha256, "media_type": letter.media_type,
                   "pages": letter.pages},
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
    r = _Reader(letter, rec)
    for problem in letter.problems:
        r.warn(problem.code, problem.severity, problem.message)
    if letter.error:
        rec["error"] = letter.error
    elif letter.text.strip():
        sections = _find_sections(letter.text)
        rec["layout"] = sections.layout
        _parse_header(r, sections)
        _parse_reviewer(r, sections)
        _parse_summary(r, sections)
        _parse_patient(r, sections)
        _parse_items(r, sections)
        rec["outcome"] = outcome_of(it["decision"] for it in rec["items"])
    rec["warnings"] = checks.merge(rec["warnings"], checks.check_record(rec))
    if include_text:
        rec["text"] = letter.text
    return rec


# ---------------------------------------------------------------- sections

_ANCHOR_HOW = re.compile(r"HOW\s+THE\s+IMR\s+FINAL\s+DETERMINATION\s+WAS\s+MADE", _I)
_ANCHOR_SUMMARY = re.compile(r"CLINICAL\s+CASE\s+SUMMARY|(?:Expert|Physician)\s+Reviewer\s+Case\s+Summary\s*:?", _I)
_ANCHOR_ISSUES = re.compile(
    r"IMR\s+ISSUES?(?:\s*\(S\))?\s*,?\s+DECISIONS?(?:\s*\(S\))?\s+AND\s+RATIONALES?(?:\s*\(S\))?", _I)
_SUMMARY_INTRO = re.compile(
    r"(?:The\s+)?(?:expert|physician)\s+reviewer\s+developed\s+the\s+following\s+clinical\s+case\s+summary"
    r"\s+based\s+on\s+a\s+review\s+of\s+the\s+case\s+file,?\s+including\s+all\s+medical\s+records\s*:?", _I)
_ISSUES_INTRO = re.compile(
    r"The\s+Final\s+Determination\s+was\s+based\s+on\s+decisions?\s+for\s+the\s+disputed\s+items?\s*/?\s*"
    r"(?:services?)?\s+set\s+forth\s+below\s*:?", _I)
_CASE_NUMBER_LABEL = re.compile(r"Case\s+Number\s*:", _I)


@dataclass
class _Sections:
    layout: str | None
    header: Span | None
    how: Span | None
    summary: Span | None
    issues: Span


def _find_sections(text: str) -> _Sections:
    n = len(text)
    how = _ANCHOR_HOW.search(text)
    summ = _ANCHOR_SUMMARY.search(text, how.end() if how else 0)
    issues = _ANCHOR_ISSUES.search(text, summ.end() if summ else (how.end() if how else 0))
    if issues is None:
        issues = _ANCHOR_ISSUES.search(text)
    header_end = how.start() if how else (summ.start() if summ else min(n, 800))
    header = Span(0, header_end) if _CASE_NUMBER_LABEL.search(text, 0, header_end) else None
    how_span = Span(how.end(), summ.start() if summ else (issues.start() if issues else n)) if how else None
    summary_span = None
    if summ:
        s_start = summ.end()
        intro = _SUMMARY_INTRO.match(text, s_start) or _SUMMARY_INTRO.search(text, s_start,
                                                                               min(n, s_start + 400))
        if intro:
            s_start = intro.end()
        summary_span = Span(s_start, issues.start() if issues else n)
    if issues:
        i_start = issues.end()
        intro = _ISSUES_INTRO.search(text, i_start, min(n, i_start + 400))
        if intro:
            i_start = intro.end()
        issues_span = Span(i_start, n)
    else:
        # No section heading: look for items anywhere after the summary.
        issues_span = Span(summary_span.end if summary_span else 0, n)
    if issues and (how or summ):
        layout = "fdl-header" if header else "fdl"
    else:
        layout = None
    return _Sections(layout, header, how_span, summary_span, issues_span)


# ---------------------------------------------------------------- header

_CASE_NUMBER_ANY = re.compile(r"\bCM\d{2}-\d{7}\b")
# The header is read as a run of tokens: labels, values, and other text. Letters print it as a two-column
# table, which text extraction gives back either row by row ("Label: value Label: value") or column by
# column ("Label: Label: value value"); pairing each run of labels with the run of values after it
# reads both.
_HEADER_TOKEN = re.compile(
    r"(?P<case_number>Case\s+Number\s*:)"
    r"|(?P<date_assigned>Date\s+Assigned\s*:)"
    r"|(?P<date_of_injury>Date\s+of\s+Injury\s*:)"
    r"|(?P<decision_date>Decision\s+Date\s*:)"
    r"|(?P<ur_denial_date>UR\s+Denial\s+Date\s*:)"
    r"|(?P<application_received>Application\b(?:\s+Received)?\s*:?)"
    r"|(?P<priority>Priority\s*:)"
    r"|(?P<v_case>CM\s*\d{2}\s*-\s*\d{7})"
    r"|(?P<v_date>" + DATE_PATTERN + r")"
    r"|(?P<v_priority>\b(?:Standard|Expedited|Regular|Urgent)\b)"
    r"|(?P<noise>Received\s*:)"
    r"|(?P<other>\S+)", _I)
_DATE_LABELS = ("date_assigned", "date_of_injury", "decision_date", "ur_denial_date", "application_received")
_VALUE_KIND = {"case_number": "v_case", "priority": "v_priority", **{k: "v_date" for k in _DATE_LABELS}}


def _header_tokens(text: str, lo: int, hi: int) -> list[tuple[str, int, int]]:
    tokens: list[tuple[str, int, int]] = []
    for m in _HEADER_TOKEN.finditer(text, lo, hi):
        kind = m.lastgroup or "other"
        if kind == "noise":
            continue
        if kind == "other" and tokens and tokens[-1][0] == "other":
            tokens[-1] = ("other", tokens[-1][1], m.end())  # words of one unrecognised value
            continue
        tokens.append((kind, m.start(), m.end()))
    return tokens


def _parse_header(r: _Reader, s: _Sections) -> None:
    text = r.text
    case = r.record["case"]
    if s.header is None:
        # No header block: a case number may still be printed somewhere (e.g. a page footer).
        m = _CASE_NUMBER_ANY.search(text)
        if m:
            case["case_number"] = m.group()
            r.note("case.case_number", m.start(), m.end(), HEURISTIC, "case-number-anywhere")
        return
    tokens = _header_tokens(text, s.header.start, s.header.end)
    i = 0
    while i < len(tokens):
        labels = []
        while i < len(tokens) and not tokens[i][0].startswith(("v_", "other")):
            labels.append(tokens[i])
            i += 1
        values = []
        while i < len(tokens) and tokens[i][0].startswith(("v_", "other")):
            values.append(tokens[i])
            i += 1
        column = len(labels) > 1
        for (key, _ls, _le), (vkind, vs, ve) in zip(labels, values, strict=False):
            if vkind != _VALUE_KIND[key] or case[key] is not None:
                continue
            _set_header_value(r, key, vs, ve, STRUCTURED if column else LABELLED,
                              "header-column" if column else "header-label")
    # A value the table pairing missed, when only one such value is in the header.
    for key, vkind in (("case_number", "v_case"), ("priority", "v_priority")):
        if case[key] is None:
            found = [t for t in tokens if t[0] == vkind]
            if len(found) == 1:
                _set_header_value(r, key, found[0][1], found[0][2], HEURISTIC, "header-value")


def _set_header_value(r: _Reader, key: str, start: int, end: int, confidence: float, rule: str) -> None:
    raw = r.text[start:end]
    case = r.record["case"]
    if key == "case_number":
        case[key] = re.sub(r"\s+", "", raw).upper()
    elif key == "priority":
        case[key] = raw.capitalize()
    else:
        iso = to_iso(raw)
        if iso is None:
            r.warn("bad-date", "warning", f"The {key.replace('_', ' ')} '{raw}' is not a valid date.", f"case.{key}")
            return
        case[key] = iso
    r.note(f"case.{key}", start, end, confidence, rule)


# ---------------------------------------------------------------- reviewer

_ROLE_RE = re.compile(r"case\s+file\s+to\s+an?\s+((?:[A-Za-z]+\s+){0,2}?reviewer)\b", _I)
_LICENSURE_LABEL = re.compile(r"States?\s*\(?s?\)?\s+of\s+Licensure\s*:", _I)
_SPECIALTY_LABEL = re.compile(r"Certifications?\s*\(?s?\)?\s*/\s*Specialt(?:y|ies)\s*:", _I)
_BLOCK_STOP = re.compile(r"(?:States?\s*\(?s?\)?\s+of\s+Licensure|Certifications?\s*\(?s?\)?\s*/\s*Specialt"
                         r"|CLINICAL\s+CASE\s+SUMMARY|The\s+expert\s+reviewer\s+developed)", _I)
_BOARD_RE = re.compile(
    r"Board[\s-]+Certified\s+in\s+(?:the\s+)?(.+?)(?=,?\s+(?:and\s+)?(?:has|with|holds)\s+(?:a\s+)?sub-?\s*specialt"
    r"|,?\s+and\s+is\s+licensed|,?\s+is\s+licensed|\.\s|\.$|;)", _I | re.DOTALL)
_SUBSPECIALTY_RE = re.compile(
    r"sub-?\s*specialt(?:y|ies)\s+(?:certification\s+)?in\s+(.+?)(?=,?\s+and\s+is\s+licensed|,?\s+is\s+licensed"
    r"|\.\s|\.$|;)", _I | re.DOTALL)
_LICENSED_RE = re.compile(r"licensed\s+to\s+practice\s+(?:medicine\s+)?in\s+(?:the\s+states?\s+of\s+)?(.+?)"
                          r"(?=\.\s|\.$|;|\s+He/she|\s+and\s+has\s)", _I | re.DOTALL)


def _split_list(r: _Reader, start: int, end: int) -> list[tuple[str, int, int]]:
    """Split text[start:end] on commas; each piece with its own span, whitespace collapsed."""
    out = []
    pos = start
    text = r.text
    for piece in re.split(r"([,;])", text[start:end]):
        if piece in (",", ";"):
            pos += 1
            continue
        ps, pe = r.trim(pos, pos + len(piece))
        value = collapse(text[ps:pe]).rstrip(".")
        if value:
            out.append((value, ps, pe))
        pos += len(piece)
    return out


def _block_value(r: _Reader, label: re.Match[str], limit: int) -> tuple[int, int]:
    """A credentials value: the rest of the label's line plus continuation lines up to the next label or a blank line."""
    text = r.text
    start = label.end()
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
        if text[start:end].count("\n") >= 3:
            break
    return start, end


def _parse_reviewer(r: _Reader, s: _Sections) -> None:
    text = r.text
    rev = r.record["reviewer"]
    lo, hi = (s.how.start, s.how.end) if s.how else (0, s.summary.start if s.summary else min(len(text), 3000))
    m = _ROLE_RE.search(text, lo, hi)
    if m:
        rev["role"] = collapse(m.group(1)).lower()
        r.note("reviewer.role", m.start(1), m.end(1), STRUCTURED, "role-sentence")
    lic = _LICENSURE_LABEL.search(text, lo, hi)
    spec = _SPECIALTY_LABEL.search(text, lo, hi)
    if lic or spec:
        if lic:
            vs, ve = _block_value(r, lic, hi)
            for i, (value, ps, pe) in enumerate(_split_list(r, vs, ve)):
                rev["licensure"].append(value)
                r.note(f"reviewer.licensure.{i}", ps, pe, LABELLED, "credentials-block")
        if spec:
            vs, ve = _block_value(r, spec, hi)
            for i, (value, ps, pe) in enumerate(_split_list(r, vs, ve)):
                rev["specialties"].append(value)
                r.note(f"reviewer.specialties.{i}", ps, pe, LABELLED, "credentials-block")
        return
    # Sentence style: "is Board Certified in X, has a subspecialty in Y and is licensed to practice in Z."
    board = _BOARD_RE.search(text, lo, hi)
    if board:
        for value, ps, pe in _split_list(r, board.start(1), board.end(1)):
            r.note(f"reviewer.specialties.{len(rev['specialties'])}", ps, pe, STRUCTURED, "board-sentence")
            rev["specialties"].append(value)
        sub = _SUBSPECIALTY_RE.search(text, board.end(1), min(hi, board.end(1) + 300))
        if sub:
            for value, ps, pe in _split_list(r, sub.start(1), sub.end(1)):
                r.note(f"reviewer.specialties.{len(rev['specialties'])}", ps, pe, STRUCTURED, "board-sentence")
                rev["specialties"].append(value)
    lic_s = _LICENSED_RE.search(text, lo, hi)
    if lic_s:
        for value, ps, pe in _split_list(r, lic_s.start(1), lic_s.end(1)):
            r.note(f"reviewer.licensure.{len(rev['licensure'])}", ps, pe, STRUCTURED, "licensed-sentence")
            rev["licensure"].append(value)


# ---------------------------------------------------------------- summary and patient

_AGE_RES = [
    (re.compile(r"\b(\d{1,3})\s*-?\s*(?:year|yr)s?\s*-?\s*old\b", _I), STRUCTURED, "age-year-old"),
    (re.compile(r"\b(?:age|aged)\s*:?\s*(\d{1,3})\b", _I), HEURISTIC, "age-aged"),
    (re.compile(r"\b(\d{1,3})\s*(?:y/o|yo)\b", _I), HEURISTIC, "age-yo"),
]
_SEX_WORD = re.compile(
    r"\b(male|female|man|woman|gentleman|lady|boy|girl)\b", _I)
_SEX_OF = {"male": "male", "man": "male", "gentleman": "male", "boy": "male",
           "female": "female", "woman": "female", "lady": "female", "girl": "female"}
_MALE_PRONOUN = re.compile(r"(?<![/\w])(he|him|his|himself)(?![/\w])", _I)
_FEMALE_PRONOUN = re.compile(r"(?<![/\w])(she|her|hers|herself)(?![/\w])", _I)


def _parse_summary(r: _Reader, s: _Sections) -> None:
    if not s.summary:
        return
    start, end = r.trim(s.summary.start, s.summary.end)
    if start < end:
        r.record["summary"] = collapse(r.text[start:end])
        r.note("summary", start, end, LABELLED, "summary-section")


def _parse_patient(r: _Reader, s: _Sections) -> None:
    text = r.text
    patient = r.record["patient"]
    areas = []
    if s.summary:
        areas.append((s.summary.start, s.summary.end, 0.0))
    areas.append((s.issues.start, s.issues.end, 0.1))  # the rationale may say "This 26 year old male"
    age_match = None
    for lo, hi, penalty in areas:
        for rx, conf, rule in _AGE_RES:
            m = rx.search(text, lo, hi)
            if m and 0 <= int(m.group(1)) <= 120 and (age_match is None or m.start() < age_match[0].start()):
                age_match = (m, conf - penalty, rule)
        if age_match:
            break
    if age_match:
        m, conf, rule = age_match
        patient["age"] = int(m.group(1))
        r.note("patient.age", m.start(1), m.end(1), conf, rule)
    # Sex: the noun next to the age first ("43 year old female"), then the first such word, then pronouns.
    for lo, hi, penalty in areas:
        window_lo = age_match[0].end() if age_match and lo <= age_match[0].start() < hi else lo
        m = _SEX_WORD.search(text, window_lo, min(hi, window_lo + 60)) if age_match else None
        if m:
            patient["sex"] = _SEX_OF[m.group(1).lower()]
            r.note("patient.sex", m.start(1), m.end(1), STRUCTURED - penalty, "sex-after-age")
            return
    for lo, hi, penalty in areas:
        m = _SEX_WORD.search(text, lo, hi)
        if m:
            patient["sex"] = _SEX_OF[m.group(1).lower()]
            r.note("patient.sex", m.start(1), m.end(1), HEURISTIC - penalty, "sex-word")
            return
    for lo, hi, _penalty in areas:
        males = list(_MALE_PRONOUN.finditer(text, lo, hi))
        females = list(_FEMALE_PRONOUN.finditer(text, lo, hi))
        if len(males) != len(females) and (males or females):
            winner = males if len(males) > len(females) else females
            loser = females if winner is males else males
            if len(winner) >= 2 * max(1, len(loser)):
                patient["sex"] = "male" if winner is males else "female"
                m = winner[0]
                r.note("patient.sex", m.start(1), m.end(1), GUESS, "sex-pronouns")
                r.warn("sex-inferred", "info",
                       f"The worker's sex is inferred from pronouns ({len(winner)} to {len(loser)}).",
                       "patient.sex")
                return


# ---------------------------------------------------------------- items

# The labels of an item; the second form of each is the 2013 letters' sentence.
_CA_LABEL = re.compile(r"Claims\s+Administrator\s+guidelines?\s*:|The\s+Claims\s+Administrator\s+based\s+its\s+"
                       r"decision\s+on\s+(?:the\s+)?", _I)
_MX_LABEL = re.compile(r"MAXIMUS\s+guidelines?\s*:|The\s+(?:Physician|Expert)\s+Reviewer\s+based\s+(?:his/her|his|her|"
                       r"their)\s+decision\s+on\s+(?:the\s+)?", _I)
_RA_LABEL = re.compile(r"Decision\s+rationales?\s*:|The\s+(?:Physician|Expert)\s+Reviewer'?s\s+decision\s+"
                       r"rationale\s*:", _I)


_DECISION_BEFORE = re.compile(r":\s*" + DECISION_WORD + r"$", _I)


def _starts_label(text: str, pos: int) -> bool:
    """A label begins a line, or follows the end of a sentence (text glued by extraction).

    This tells "Decision rationale:" the label from "the Physician Reviewer's decision rationale:" quoted
    inside a rationale.
    """
    i = pos - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    if i >= 0 and text[i].isalpha():  # a header's decision ends it: "Viagra 50mg: Upheld Claims Administrator..."
        if _DECISION_BEFORE.search(text, max(0, i - 24), i + 1):
            return True
    return i < 0 or text[i] in "\n.!?\"”)"
_DECISION_AT_END = re.compile(r"(?P<colon>:)?[ \t]*(?:\n\s*)?(?P<decision>" + DECISION_WORD + r")[ \t]*\.?\s*$", _I)
_COLON_AT_END = re.compile(r":[ \t]*\s*$")
# 2013 letters: "1. Physical therapy for the lumbar spine is not medically necessary and appropriate."
_NECESSITY_AT_END = re.compile(
    r"\s+(?:is|are)\s+(?P<neg>not\s+)?medically\s+necessary(?:\s+and\s+appropriate)?\s*\.?\s*$", _I)
_NUMBERING = re.compile(r"\d{1,2}[.)]\s+")
_ORIGINAL = re.compile(r"\s+(?:was|were)\s+the\s+original\s+requests?\s*\.?", _I)
# "Y was authorized by the Claims Administrator." (Y before) or "The Claims Administrator authorized Y, leaving ..."
_AUTHORIZED = re.compile(
    r"\s+(?:was|were|has\s+been|have\s+been|is|are)\s+(?:partially\s+)?(?:authorized|certified|approved|modified)"
    r"\s+by\s+the\s+Claims\s+Administrator\s*\.?", _I)
_AUTHORIZED_AFTER = re.compile(
    r"\s*The\s+Claims\s+Administrator\s+(?:has\s+)?(?:partially\s+)?(?:authorized|certified|approved|modified\s+"
    r"(?:the\s+request\s+)?to)\s+(?P<what>.+?)(?:,?\s+leaving\b[^.]*)?\.(?=\s|$)", _I | re.DOTALL)
_REMAINING = re.compile(
    r"The\s+(?:remaining\s+IMR[\s-]+eligible\s+portions?\s+of\s+the\s+)?original\s+requests?\s*,\s*", _I)
_REMAINING_TAIL = re.compile(r"\s+(?:is|are)\s*:?\s*$", _I)
_TERMINAL = re.compile(r"[.!?][\"'”’)\]]*\s*$|\)\s*$")
_GLUE = re.compile(r"(?<=[a-z0-9%)\]\"”’])[.!?][\"”’]?(?=[A-Z(\"“])")
_SENTENCE_BREAK = re.compile(r"[.!?][\"”’)]*\s+(?=[A-Z(\"“])")

@dataclass
class _Label:
    kind: int  # 0 claims administrator, 1 maximus, 2 rationale
    start: int
    end: int


def _labels(text: str, lo: int, hi: int) -> list[_Label]:
    found = []
    for kind, rx in enumerate((_CA_LABEL, _MX_LABEL, _RA_LABEL)):
        for m in rx.finditer(text, lo, hi):
            if _starts_label(text, m.start()):
                found.append(_Label(kind, m.start(), m.end()))
    found.sort(key=lambda lab: lab.start)
    return found


def _group_items(labels: list[_Label]) -> list[dict[int, _Label]]:
    """One group per item: labels come in the order CA, MAXIMUS, rationale; a label that does not
    follow the previous one in that order starts the next item."""
    groups: list[dict[int, _Label]] = []
    last_kind = 3
    for lab in labels:
        if lab.kind <= last_kind:
            groups.append({})
        groups[-1][lab.kind] = lab
        last_kind = lab.kind
    return groups


@dataclass
class _Header:
    start: int  # where the header (and so the previous rationale's end) begins
    request: tuple[int, int] | None
    decision: tuple[int, int] | None
    decision_value: str | None
    original: tuple[int, int] | None
    authorized: tuple[int, int] | None
    confidence: float
    rule: str


def r_trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _line_start(text: str, pos: int, lo: int) -> int:
    return max(lo, text.rfind("\n", lo, pos) + 1)


def _walk_back(text: str, anchor: int, lo: int, max_lines: int = 3) -> tuple[int, bool]:
    """Start of the header whose key phrase is at `anchor`: back over wrapped lines of the header.

    A line before the header's first line ends a sentence (the previous rationale's end) or is blank.
    Returns the start and whether lines before the anchor's line were taken in.
    """
    start = _line_start(text, anchor, lo)
    took = False
    for _ in range(max_lines):
        if start <= lo:
            break
        prev_end = start - 1  # the \n before this line
        prev_start = _line_start(text, prev_end, lo)
        prev = text[prev_start:prev_end]
        if not prev.strip() or _TERMINAL.search(prev):
            break
        if any(rx.match(text, prev_start) for rx in (_RA_LABEL, _MX_LABEL, _CA_LABEL)):
            break
        start = prev_start
        took = True
    return start, took


def _cut_glue(text: str, start: int, end: int, took_lines: bool) -> tuple[int, str]:
    """Where the header really starts inside text[start:end], cutting off the end of the previous rationale.

    The rationale ends at the later of: the last place where its last sentence is glued to the header
    with no space ("...necessary.X-rays: Upheld"), and the last sentence break when the header was
    wrapped onto lines before its decision or its line runs on from a rationale (text whose lines were
    joined into paragraphs).
    """
    cut, how = start, ""
    for m in _GLUE.finditer(text, start, end):
        cut, how = m.end(), "glued"
    brk = None
    for m in _HEADER_BREAK.finditer(text, start, end):
        brk = m
    if brk is not None and brk.end() > cut:
        before = text[start:brk.start()]
        # On the header's own line a sentence break is the end of the previous rationale when what comes
        # before it reads like one (a verdict, or more words than a request's abbreviation: "Dr. X").
        if took_lines or end - start > _LONGEST_HEADER or len(before) >= 60 or mentions_necessity(before):
            cut, how = brk.end(), "sentence-break"
    return cut, how


_LONGEST_HEADER = 300
_HEADER_BREAK = re.compile(r"[.!?][\"”’)]*\s+(?=[A-Z0-9(\"“])")  # a request may begin with a number


def _decision_value(word: str) -> str | None:
    found = normalise_decision(word)
    return found.value if found else None


def _find_header(text: str, lo: int, hi: int, first: bool) -> _Header:
    """The item header in text[lo:hi] (the tail of the previous rationale, then the header)."""
    seg_end = hi
    while seg_end > lo and text[seg_end - 1].isspace():
        seg_end -= 1
    decision = None
    decision_value = None
    dm = _DECISION_AT_END.search(text, max(lo, seg_end - 40), seg_end + 1 if seg_end < len(text) else seg_end)
    nm = None if dm else _NECESSITY_AT_END.search(text, max(lo, seg_end - 80), seg_end)
    if dm and dm.end() >= seg_end:
        decision = (dm.start("decision"), dm.end("decision"))
        decision_value = _decision_value(dm.group("decision"))
        req_end = dm.start("colon") if dm.group("colon") else dm.start()
    elif nm is not None:
        decision = r_trim(text, nm.start(), seg_end)
        decision_value = decision_of_necessity(bool(nm.group("neg"))).value
        req_end = nm.start()
    else:
        cm = _COLON_AT_END.search(text, max(lo, seg_end - 5), seg_end)
        req_end = cm.start() if cm else seg_end
    # The modified-request form: "X was the original request. Y was authorized by the Claims Administrator.
    # The remaining IMR eligible portion of the original request, Z is: Upheld"
    rem = None
    for m in _REMAINING.finditer(text, lo, req_end):
        rem = m
    if rem is not None:
        orig = None
        for m in _ORIGINAL.finditer(text, lo, rem.start()):
            orig = m
        authorized = None
        if orig is not None:
            auth = _AUTHORIZED.search(text, orig.end(), rem.start())
            if auth is not None:
                authorized = (orig.end(), auth.start())
            else:
                after = _AUTHORIZED_AFTER.match(text, orig.end(), rem.start())
                if after is not None:
                    authorized = (after.start("what"), after.end("what"))
        anchor = orig.start() if orig is not None else rem.start()
        hstart, took = _walk_back(text, anchor, lo, 4)
        if first:
            hstart, took = lo, True
        cut, how = _cut_glue(text, hstart, anchor, took)
        tail = _REMAINING_TAIL.search(text, rem.end(), req_end)
        z_end = tail.start() if tail else req_end
        original = (cut, orig.start()) if orig is not None else None
        conf = STRUCTURED if (orig is not None and authorized is not None) else HEURISTIC
        return _Header(cut, (rem.end(), z_end), decision, decision_value, original, authorized,
                       conf if not how else HEURISTIC, "modified-request" + (f"+{how}" if how else ""))
    if first:
        hstart, took = lo, False
    else:
        hstart, took = _walk_back(text, req_end, lo)
    cut, how = _cut_glue(text, hstart, req_end, took)
    req_start = cut
    if nm is not None:
        while req_start < req_end and text[req_start].isspace():
            req_start += 1
        numbered = _NUMBERING.match(text, req_start, req_end)
        if numbered:
            req_start = numbered.end()
    conf = STRUCTURED if decision else HEURISTIC
    if how:
        conf = HEURISTIC
    rule = "item-header-necessity" if nm is not None else "item-header"
    return _Header(cut, (req_start, req_end) if req_start < req_end else None, decision, decision_value, None, None, conf,
                   rule + (f"+{how}" if how else ""))


# Early (2013) notices list each decision as one sentence, with no labelled sections per item:
# "1) MAXIMUS Federal Services, Inc. has determined the request for a 28 day functional restoration
# program is not medically necessary and appropriate." (PDF text may glue "notmedically").
_DECISION_SENTENCE = re.compile(
    r"(?:has|have)\s+determined\s+(?:that\s+)?the\s+requests?\s+for\s+(?P<request>.+?)\s+(?:is|are|was|were)\s*"
    r"(?P<neg>not\s*)?medically\s+necessary(?:\s+and\s+appropriate)?", _I | re.DOTALL)


def _parse_decision_sentences(r: _Reader) -> None:
    """Items of a letter that states each decision as one sentence (a fallback: no labelled items)."""
    seen: set[str] = set()
    for m in _DECISION_SENTENCE.finditer(r.text):
        if len(m.group("request")) > 400:
            continue
        request = collapse(m.group("request"))
        request = re.sub(r"^(?:an?|the)\s+", "", request, flags=_I)
        key = request.lower()
        if key in seen:  # the same list is printed twice: in the notice and in the decision section
            continue
        seen.add(key)
        i = len(r.record["items"])
        decision = decision_of_necessity(m.group("neg") is not None).value
        r.record["items"].append({
            "request": request, "original_request": None, "authorized": None, "decision": decision,
            "decision_stated": True, "claims_administrator_guideline": None, "maximus_guideline": None,
            "rationale": None,
        })
        r.note(f"items.{i}.request", m.start("request"), m.end("request"), HEURISTIC, "decision-sentence")
        r.note(f"items.{i}.decision", m.start("request") + len(m.group("request")), m.end(), HEURISTIC,
               "decision-sentence")


def _parse_items(r: _Reader, s: _Sections) -> None:
    text = r.text
    labels = _labels(text, s.issues.start, s.issues.end)
    groups = _group_items(labels)
    if not groups:
        _parse_decision_sentences(r)
        return
    items = r.record["items"]
    prev_rationale_start: int | None = None
    prev_item: dict[str, Any] | None = None
    lo = s.issues.start
    for n, group in enumerate(groups):
        first_label = group[min(group)]
        head = _find_header(text, lo, first_label.start, first=(n == 0))
        if prev_item is not None and prev_rationale_start is not None:
            _set_rationale(r, prev_item, len(items) - 1, prev_rationale_start, head.start)
        item: dict[str, Any] = {
            "request": "",
            "original_request": None,
            "authorized": None,
            "decision": None,
            "decision_stated": False,
            "claims_administrator_guideline": None,
            "maximus_guideline": None,
            "rationale": None,
        }
        i = len(items)
        path = f"items.{i}"
        if head.request:
            rs, re_ = r.trim(*head.request)
            item["request"] = collapse(text[rs:re_]).rstrip(":").strip()
            r.note(f"{path}.request", rs, re_, head.confidence, head.rule)
        if head.original:
            item["original_request"] = collapse(text[head.original[0]:head.original[1]])
            r.note(f"{path}.original_request", *head.original, head.confidence, head.rule)
        if head.authorized:
            item["authorized"] = collapse(text[head.authorized[0]:head.authorized[1]])
            r.note(f"{path}.authorized", *head.authorized, head.confidence, head.rule)
        if head.decision:
            item["decision"] = head.decision_value
            item["decision_stated"] = True
            r.note(f"{path}.decision", *head.decision, LABELLED, "item-header-decision")
        # Guidelines: each runs to the next label.
        ordered = [group[k] for k in sorted(group)]
        for j, lab in enumerate(ordered):
            if lab.kind == 2:
                continue
            end = ordered[j + 1].start if j + 1 < len(ordered) else lab.end
            key = "claims_administrator_guideline" if lab.kind == 0 else "maximus_guideline"
            vs, ve = r.trim(lab.end, end)
            if vs < ve:
                item[key] = collapse(text[vs:ve])
                r.note(f"{path}.{key}", vs, ve, LABELLED, "guideline-label")
        items.append(item)
        prev_item = item
        prev_rationale_start = group[2].end if 2 in group else None
        lo = max(lab.end for lab in group.values())
    if prev_item is not None and prev_rationale_start is not None:
        _set_rationale(r, prev_item, len(items) - 1, prev_rationale_start, _rationale_end(text, s.issues.end))
    for i, item in enumerate(items):
        f = r.fields.get(f"items.{i}.rationale")
        if item["decision"] is None and f:
            found = find_verdict(text, f["start"], f["end"])
            if found:
                item["decision"] = found[0].value
                item["decision_stated"] = False
                r.note(f"items.{i}.decision", found[1], found[2], GUESS, "decision-from-rationale")


_TRAILER = re.compile(r"\n\s*(?:cc\s*:|Sincerely,|Page\s+\d+\s+of\s+\d+\s*$)", _I)


def _rationale_end(text: str, hi: int) -> int:
    return hi


def _set_rationale(r: _Reader, item: dict[str, Any], i: int, start: int, end: int) -> None:
    start, end = r.trim(start, end)
    if start < end:
        item["rationale"] = collapse(r.text[start:end])
        r.note(f"items.{i}.rationale", start, end, LABELLED, "rationale-label")
