"""The clinical case summary, and the worker's age and sex read from it.

Age and sex are looked for in the summary first, then in the items' text (a rationale may say
"This 26 year old male"), the latter with `rules.OUTSIDE_SUMMARY_PENALTY` less confidence.
"""

from __future__ import annotations

import re

from imr_desk.core.parser import rules
from imr_desk.core.parser.header import summary_source
from imr_desk.core.parser.layouts import Sections
from imr_desk.core.parser.reader import Reader, collapse
from imr_desk.core.record import Sex

_I = re.IGNORECASE
# The sex word right after the age ("43 year old female") is looked for within this many characters.
SEX_AFTER_AGE_REACH = 60
OLDEST = 120
QUOTES = "\"“”'‘’"

_AGE_RES = [
    (re.compile(r"\b(\d{1,3})\s*-?\s*(?:year|yr)s?\s*-?\s*old\b", _I), rules.AGE_YEAR_OLD),
    (re.compile(r"\b(?:age|aged)\s*:?\s*(\d{1,3})\b", _I), rules.AGE_AGED),
    (re.compile(r"\b(\d{1,3})\s*(?:y/o|yo)\b", _I), rules.AGE_YO),
]
_SEX_WORD = re.compile(r"\b(male|female|man|woman|gentleman|lady|boy|girl)\b", _I)
_SEX_OF = {"male": Sex.MALE, "man": Sex.MALE, "gentleman": Sex.MALE, "boy": Sex.MALE,
           "female": Sex.FEMALE, "woman": Sex.FEMALE, "lady": Sex.FEMALE, "girl": Sex.FEMALE}
_MALE_PRONOUN = re.compile(r"(?<![/\w])(he|him|his|himself)(?![/\w])", _I)
_FEMALE_PRONOUN = re.compile(r"(?<![/\w])(she|her|hers|herself)(?![/\w])", _I)


def read_summary(r: Reader, s: Sections) -> None:
    span = s.first(s.layout.summary)
    if span is None:
        return
    start, end = r.trim(span.start, span.end)
    disclaimer = s.intros.get("summary")
    if disclaimer is not None and "source" in disclaimer.groupdict():
        summary_source(r, collapse(disclaimer.group("source")), disclaimer.group("date"))
        # The quoted summary: without its quotation marks.
        if start < end and r.text[start] in QUOTES:
            start, end = r.trim(start + 1, end)
            if start < end and r.text[end - 1] in QUOTES:
                start, end = r.trim(start, end - 1)
    if start < end:
        r.record.summary = collapse(r.text[start:end])
        r.note("summary", start, end, rules.SUMMARY_SECTION)


def read_patient(r: Reader, s: Sections) -> None:
    text = r.text
    patient = r.record.patient
    areas: list[tuple[int, int, float]] = []
    summary = s.first(s.layout.summary)
    if summary is not None:
        areas.append((summary.start, summary.end, 0.0))
    items = s.items()
    areas.append((items.start, items.end, rules.OUTSIDE_SUMMARY_PENALTY))
    age_match = None
    for lo, hi, penalty in areas:
        for rx, rule in _AGE_RES:
            m = rx.search(text, lo, hi)
            if m and 0 <= int(m.group(1)) <= OLDEST and (age_match is None or m.start() < age_match[0].start()):
                age_match = (m, rule, penalty)
        if age_match:
            break
    if age_match:
        m, rule, penalty = age_match
        patient.age = int(m.group(1))
        r.note("patient.age", m.start(1), m.end(1), rule, rule.confidence - penalty)
    # Sex: the noun next to the age first ("43 year old female"), then the first such word, then pronouns.
    for lo, hi, penalty in areas:
        window_lo = age_match[0].end() if age_match and lo <= age_match[0].start() < hi else lo
        m = _SEX_WORD.search(text, window_lo, min(hi, window_lo + SEX_AFTER_AGE_REACH)) if age_match else None
        if m:
            patient.sex = _SEX_OF[m.group(1).lower()]
            r.note("patient.sex", m.start(1), m.end(1), rules.SEX_AFTER_AGE, rules.SEX_AFTER_AGE.confidence - penalty)
            return
    for lo, hi, penalty in areas:
        m = _SEX_WORD.search(text, lo, hi)
        if m:
            patient.sex = _SEX_OF[m.group(1).lower()]
            r.note("patient.sex", m.start(1), m.end(1), rules.SEX_WORD, rules.SEX_WORD.confidence - penalty)
            return
    for lo, hi, _penalty in areas:
        males = list(_MALE_PRONOUN.finditer(text, lo, hi))
        females = list(_FEMALE_PRONOUN.finditer(text, lo, hi))
        if len(males) != len(females) and (males or females):
            winner = males if len(males) > len(females) else females
            loser = females if winner is males else males
            if len(winner) >= 2 * max(1, len(loser)):
                patient.sex = Sex.MALE if winner is males else Sex.FEMALE
                m = winner[0]
                r.note("patient.sex", m.start(1), m.end(1), rules.SEX_PRONOUNS)
                r.warn("sex-inferred", "info",
                       f"The worker's sex is inferred from pronouns ({len(winner)} to {len(loser)}).",
                       "patient.sex")
                return
