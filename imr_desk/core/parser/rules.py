"""Every rule the parser reads a value by: its name (the record's `fields[*].rule`), what it reads,
the confidence it gives, and why.

Confidence says how the value was found:

- `LABELLED` 0.98: read right after its printed label ("Decision Date: 12/21/2016");
- `STRUCTURED` 0.93: read from a well-formed structure (an item header, a list, a sentence whose
  wording the template fixes);
- `HEURISTIC` 0.75: found by a fallback (a pattern elsewhere in the text, a cut at glued text);
- `GUESS` 0.5: inferred, not stated (a decision implied by its rationale, sex from pronouns).

A letter whose layout is unseen, or matches a known one only in part, has every confidence capped
below the window's "uncertain" mark (0.8), so the confirmation flow visits every value
(`UNSEEN_LAYOUT_CAP`, `PARTIAL_LAYOUT_CAP`).

A rule name may carry a variant after a `+` ("item-header+glued") saying how the rule had to cut
its text; `VARIANTS` documents each. `documented(name)` is what the tests check every name
against.
"""

from __future__ import annotations

from dataclasses import dataclass

LABELLED = 0.98
STRUCTURED = 0.93
HEURISTIC = 0.75
GUESS = 0.5
UNSEEN_LAYOUT_CAP = 0.7
PARTIAL_LAYOUT_CAP = 0.75
# A worker's age or sex read from the rationales rather than the case summary is less sure: the
# rationale may speak of someone else ("a 70 year old study population").
OUTSIDE_SUMMARY_PENALTY = 0.1


@dataclass(frozen=True)
class Rule:
    """A named way of reading a value."""

    name: str
    confidence: float
    reads: str
    doc: str


RULES: dict[str, Rule] = {}


def rule(name: str, confidence: float, reads: str, doc: str) -> Rule:
    """Declare a rule (once, by name)."""
    if name in RULES:
        raise ValueError(f"rule {name!r} declared twice")
    RULES[name] = Rule(name, confidence, reads, doc)
    return RULES[name]


VARIANTS = {
    "glued": "the header was cut from the previous rationale where extraction glued them with no space "
             "(\"...necessary.X-rays: Upheld\"); confidence HEURISTIC",
    "sentence-break": "the header was cut from the previous rationale at its last sentence break (text whose "
                      "lines were joined into paragraphs); confidence HEURISTIC",
}


def documented(name: str) -> bool:
    """Whether a rule name (with any variants) is one of the documented rules."""
    base, *variants = name.split("+")
    return base in RULES and all(v in VARIANTS for v in variants)


# ---------------------------------------------------------------- case header
CASE_HEADER_LABEL = rule(
    "header-label", LABELLED, "case.*",
    "a case value right after its label in the header table read row by row "
    "(\"Case Number: CM16-0221706\", \"Date of UR Decision: 8/30/2013\")")
CASE_HEADER_COLUMN = rule(
    "header-column", STRUCTURED, "case.*",
    "a case value paired with its label when the table was extracted column by column (a run of labels, "
    "then a run of values in the same order)")
CASE_HEADER_VALUE = rule(
    "header-value", HEURISTIC, "case.case_number, case.priority",
    "the only case number or priority in the header, when the table pairing missed it")
CASE_NUMBER_ANYWHERE = rule(
    "case-number-anywhere", HEURISTIC, "case.case_number",
    "a case number (CM16-0123456) printed anywhere, when the letter has no header table (a page footer)")
NOTICE_DATED = rule(
    "notice-dated", LABELLED, "case.decision_date",
    "the 2013 notice's \"Notice of Independent Medical Review Determination Dated: 9/26/2013\"")
APPLICATION_PROSE = rule(
    "application-prose", STRUCTURED, "case.application_received",
    "\"An application for Independent Medical Review was filed on 9/6/2013\" (2013 notices)")
UR_DENIAL_PROSE = rule(
    "ur-denial-prose", STRUCTURED, "case.ur_denial_date",
    "\"disputing the Utilization Review Denial dated 8/30/2013\" (2013 notices)")
ASSIGNMENT_PROSE = rule(
    "assignment-prose", STRUCTURED, "case.date_assigned",
    "\"A Notice of Assignment and Request for Information was provided to the above parties on 9/23/2013\"")
INJURY_PROSE = rule(
    "injury-date-prose", STRUCTURED, "case.date_of_injury",
    "\"with a date of injury of 8/28/2001\" in a 2013 notice's quoted summary (letters with a header table "
    "take it from there)")

# ---------------------------------------------------------------- reviewer
ROLE_SENTENCE = rule(
    "role-sentence", STRUCTURED, "reviewer.role",
    "\"sent the complete case file to an expert reviewer\"")
ROLE_SUBJECT = rule(
    "role-subject", HEURISTIC, "reviewer.role",
    "\"The physician reviewer is Board Certified in ...\" when no case-file sentence names the role")
CREDENTIALS_BLOCK = rule(
    "credentials-block", LABELLED, "reviewer.licensure.*, reviewer.specialties.*",
    "\"State(s) of Licensure:\" and \"Certification(s)/Specialty:\" values, split on commas, including lines "
    "that wrap (up to the next label, a blank line or an upper-case heading)")
BOARD_SENTENCE = rule(
    "board-sentence", STRUCTURED, "reviewer.specialties.*",
    "\"is Board Certified in X, has a subspecialty in Y\"")
LICENSED_SENTENCE = rule(
    "licensed-sentence", STRUCTURED, "reviewer.licensure.*",
    "\"is licensed to practice in Z\"")

# ---------------------------------------------------------------- worker and summary
AGE_YEAR_OLD = rule("age-year-old", STRUCTURED, "patient.age", "\"43 year old\", \"42-year old\", \"51-year-old\"")
AGE_AGED = rule("age-aged", HEURISTIC, "patient.age", "\"age 43\", \"aged: 43\"")
AGE_YO = rule("age-yo", HEURISTIC, "patient.age", "\"43 y/o\", \"43yo\"")
SEX_AFTER_AGE = rule(
    "sex-after-age", STRUCTURED, "patient.sex",
    "the word right after the age (\"43 year old female\"), within SEX_AFTER_AGE_REACH characters")
SEX_WORD = rule("sex-word", HEURISTIC, "patient.sex", "the first male/female/man/woman/... word")
SEX_PRONOUNS = rule(
    "sex-pronouns", GUESS, "patient.sex",
    "he/him/his against she/her/hers, when one kind is at least twice as frequent; with a warning")
SUMMARY_SECTION = rule(
    "summary-section", LABELLED, "summary",
    "the clinical case summary section without its boilerplate introduction (and, in 2013 notices, "
    "without the \"Disclaimer:\" sentence)")

# ---------------------------------------------------------------- items
ITEM_HEADER = rule(
    "item-header", STRUCTURED, "items.*.request",
    "the item header before its first label (\"Three months coverage of Viagra 50mg: Upheld\"); HEURISTIC "
    "when it states no decision. Where it starts: see items.py, 'Where an item starts'")
ITEM_HEADER_NECESSITY = rule(
    "item-header-necessity", STRUCTURED, "items.*.request, items.*.decision",
    "a 2013-14 header \"1. Physical therapy ... is not medically necessary and appropriate.\"")
MODIFIED_REQUEST = rule(
    "modified-request", STRUCTURED, "items.*.request, original_request, authorized",
    "\"X was the original request. Y was authorized by the Claims Administrator. The remaining IMR eligible "
    "portion of the original request, Z is: Upheld\" (and \"The Claims Administrator authorized Y, leaving "
    "...\"), only as the header's own sentences; HEURISTIC without both the original and the authorized")
ITEM_HEADER_DECISION = rule(
    "item-header-decision", LABELLED, "items.*.decision",
    "the decision word ending the header (\"Upheld\", \"Overturned\", OCR look-alikes), on its line or the next")
GUIDELINE_LABEL = rule(
    "guideline-label", LABELLED, "items.*.claims_administrator_guideline, items.*.maximus_guideline",
    "the text after \"Claims Administrator guideline:\" / \"MAXIMUS guideline:\" (or the 2013 sentences "
    "\"The Claims Administrator based its decision on\"), up to the next label")
RATIONALE_LABEL = rule(
    "rationale-label", LABELLED, "items.*.rationale",
    "the text after \"Decision rationale:\" up to where the next item starts")
DECISION_FROM_RATIONALE = rule(
    "decision-from-rationale", GUESS, "items.*.decision",
    "no stated decision: the verdict the rationale's conclusion implies (core/verdicts.py); with a warning")
DECISION_SENTENCE = rule(
    "decision-sentence", HEURISTIC, "items.*.request, items.*.decision",
    "a 2013 notice's \"MAXIMUS Federal Services, Inc. has determined the request for X is (not) medically "
    "necessary and appropriate\", each item once although the notice lists them twice")
DECISION_LINE = rule(
    "decision-line", HEURISTIC, "items.*.request, items.*.decision",
    "a line \"X: Upheld\" in the items section of a letter whose items carry no labels (an unseen template)")
