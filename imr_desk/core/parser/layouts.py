"""The letter templates the parser knows, as data, and how a letter's template is recognised.

A **mark** is a printed heading (or title) that says something about the template. A letter's
**fingerprint** is the set of marks it prints. Each `Layout` names the marks that make its
fingerprint, the sections it reads (in print order, each from its heading to the next), which
section gives the reviewer, the summary and the items, the header table's labels, and which prose
rules apply.

Recognition (`identify`): a layout matches **fully** when the letter prints all its marks (the
first full match in `LAYOUTS` order wins: "fdl-header" before "fdl"); **partly** when it prints its key mark and
at least half of its marks; else the letter's layout is **unseen** (`layout: null`). A partial or
unseen layout lowers every confidence (rules.PARTIAL_LAYOUT_CAP, UNSEEN_LAYOUT_CAP) and is named in
the warnings; a known layout lacking a section it always has says which.

To add a template: write its marks in `MARKS` (with `labels.label`, so OCR tolerance comes free),
add a `Layout` to `LAYOUTS`, and add a whole letter in its style to tests/core/test_layouts.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from imr_desk.core.dates import DATE_PATTERN
from imr_desk.core.parser.labels import DIGIT, label
from imr_desk.core.parser.reader import Span

_I = re.IGNORECASE
_LINE_START = r"(?m:^|\f)[ \t]*"  # a heading that begins a line (or a page)

MARKS: dict[str, re.Pattern[str]] = {
    # 2015-17 Final Determination Letters (and their 2013-14 predecessors)
    "how": re.compile(label("HOW THE IMR FINAL DETERMINATION WAS MADE"), _I),
    "summary": re.compile(label("CLINICAL CASE SUMMARY") + r"|(?:Expert|Physician)\s+Reviewer\s+Case\s+Summary\s*:?",
                          _I),
    "issues": re.compile(label("IMR ISSUE(S), DECISION(S) AND RATIONALE(S)"), _I),
    "case-header": re.compile(label("Case Number:"), _I),
    # 2013 MAXIMUS notices
    "notice-title": re.compile(label("Notice of Independent Medical Review Determination"), _I),
    "notice-decisions": re.compile(label("INDEPENDENT MEDICAL REVIEW DECISION AND RATIONALE"), _I),
    "qualifications-2013": re.compile(label("Medical Qualifications of the Expert Reviewer:"), _I),
    "case-summary": re.compile(_LINE_START + label("Case Summary:"), _I),
    # the documents-reviewed template
    # printed in capitals at a line start: "Documents reviewed include ..." in a summary or a rationale is prose
    "documents": re.compile(_LINE_START + label("DOCUMENTS REVIEWED") + r"(?!\s+FOR\b)\s*:?"),
    "decisions": re.compile(label("IMR DECISION(S) AND RATIONALE(S)"), _I),
    # the medical professional review template
    "professional-title": re.compile(label("MEDICAL PROFESSIONAL REVIEW"), _I),
    "issue-at-dispute": re.compile(label("ISSUE(S) AT DISPUTE:"), _I),
    "documents-for-determination": re.compile(label("DOCUMENTS REVIEWED FOR DETERMINATION:"), _I),
    "reviewer-qualifications": re.compile(label("MEDICAL REVIEWER QUALIFICATIONS:", "ME DICAL REVIEWER QUALIFICATIONS:"),
                                          _I),
}

# How a mark is named to the clerk in a warning.
MARKS_SHOWN = {
    "how": "HOW THE IMR FINAL DETERMINATION WAS MADE", "summary": "CLINICAL CASE SUMMARY",
    "issues": "IMR ISSUES, DECISIONS AND RATIONALES", "case-header": "the case header table",
    "notice-title": "Notice of Independent Medical Review Determination",
    "notice-decisions": "INDEPENDENT MEDICAL REVIEW DECISION AND RATIONALE",
    "qualifications-2013": "Medical Qualifications of the Expert Reviewer", "case-summary": "Case Summary:",
    "documents": "DOCUMENTS REVIEWED", "decisions": "IMR DECISION(S) AND RATIONALE(S)",
    "professional-title": "MEDICAL PROFESSIONAL REVIEW", "issue-at-dispute": "ISSUE AT DISPUTE",
    "documents-for-determination": "DOCUMENTS REVIEWED FOR DETERMINATION",
    "reviewer-qualifications": "MEDICAL REVIEWER QUALIFICATIONS",
}

# Where a header table is looked for when a letter has no section heading at all.
HEADER_WINDOW = 800

# Boilerplate right after a heading, left out of the section.
SUMMARY_INTRO = re.compile(
    r"(?:The\s+)?(?:expert|physician)\s+reviewer\s+developed\s+the\s+following\s+clinical\s+case\s+summary"
    r"\s+based\s+on\s+a\s+review\s+of\s+the\s+case\s+file,?\s+including\s+all\s+medical\s+records\s*:?", _I)
ISSUES_INTRO = re.compile(
    r"The\s+Final\s+Determination\s+was\s+based\s+on\s+decisions?\s+for\s+the\s+disputed\s+items?\s*[/,|]?\s*"
    r"(?:services?)?\s+set\s+forth\s+below\s*:?", _I)
DISCLAIMER = re.compile(
    r"Disclaimer\s*:\s*The\s+following\s+case\s+summary\s+was\s+taken\s+(?:directly\s+)?from\s+the\s+"
    r"(?P<source>.{0,120}?)\s+dated\s+(?P<date>[^.\n]{4,30}?)\s*\.(?=\s)", _I | re.DOTALL)
# How far after a heading its intro is looked for.
INTRO_REACH = 400

# Header table labels: (case key, pattern). The FDL's table, then the 2013 notice's own wording.
FDL_HEADER_LABELS: tuple[tuple[str, str], ...] = (
    ("case_number", label("Case Number:")),
    ("date_assigned", label("Date Assigned:")),
    ("date_of_injury", label("Date of Injury:")),
    ("decision_date", label("Decision Date:")),
    ("ur_denial_date", label("UR Denial Date:")),
    # pdftotext -layout puts the value between the two words: "Application   11/15/2016\n Received:"
    ("application_received", r"Application\b(?:\s+Received)?\s*:?"),
    ("priority", label("Priority:")),
)
NOTICE_HEADER_LABELS: tuple[tuple[str, str], ...] = (
    ("ur_denial_date", label("Date of UR Decision:", "Date of UR Denial:")),
    ("application_received", label("IMR Application Received:")),
    ("decision_date", label("Dated:")),
    *FDL_HEADER_LABELS,
)


@dataclass(frozen=True)
class ItemLabels:
    """The labels inside an item, each kind in every wording its layouts print."""

    claims_administrator: tuple[str, ...]
    maximus: tuple[str, ...]
    rationale: tuple[str, ...]

    def patterns(self) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
        return (re.compile("|".join(self.claims_administrator), _I), re.compile("|".join(self.maximus), _I),
                re.compile("|".join(self.rationale), _I))

    def combined(self) -> re.Pattern[str]:
        """All three in one pattern (groups k0, k1, k2), so the items section is scanned once.

        Python's `re` tries every wording at every position; a lookahead on the characters a wording
        can begin with skips most positions at once (a third of the time on the real letters).
        """
        kinds = (self.claims_administrator, self.maximus, self.rationale)
        alternatives = "|".join(f"(?P<k{k}>" + "|".join(forms) + ")" for k, forms in enumerate(kinds))
        return re.compile(_first_chars([f for forms in kinds for f in forms]) + f"(?:{alternatives})", _I)


def _first_chars(forms: list[str]) -> str:
    """A lookahead for the letters the wordings begin with, or "" when a wording begins otherwise."""
    chars = set()
    for form in forms:
        body = form
        while body.startswith("(?:"):
            body = body[3:]
        if not body[:1].isascii() or not body[:1].isalnum():
            return ""
        chars.add(body[0].lower())
    return "(?=[" + "".join(sorted(chars)) + "])"


FDL_ITEM_LABELS = ItemLabels(
    claims_administrator=(
        label("Claims Administrator guideline(s):"),
        # 2013-14 letters write each label as a sentence
        r"The\s+Claims\s+Administrator\s+based\s+its\s+decision\s+on\s+(?:the\s+)?",
    ),
    maximus=(
        label("MAXIMUS guideline(s):"),
        r"The\s+(?:Physician|Expert)\s+Reviewer\s+based\s+(?:his/her|his|her|their)\s+decision\s+on\s+(?:the\s+)?",
    ),
    rationale=(
        label("Decision rationale(s):"),
        r"The\s+(?:Physician|Expert)\s+Reviewer'?s\s+decision\s+rationale\s*:",
    ),
)


@dataclass(frozen=True)
class Section:
    """A part of a letter: from its heading (a mark) to the next heading found."""

    name: str
    mark: str
    intro: re.Pattern[str] | None = None
    anywhere: bool = False  # looked for in the whole letter when not found after the previous heading
    between: bool = False  # looked for only between the previous heading and the next one (an optional part)


@dataclass(frozen=True)
class Layout:
    name: str  # the record's `layout`
    description: str
    marks: tuple[str, ...]  # the fingerprint of a full match
    key: str  # the mark without which it is not this layout at all
    sections: tuple[Section, ...]
    always: tuple[str, ...]  # sections every letter of the layout has: one missing is named
    reviewer: tuple[str, ...]  # sections the reviewer is read from (first found)
    summary: tuple[str, ...]
    items: tuple[str, ...]
    header_labels: tuple[tuple[str, str], ...] = FDL_HEADER_LABELS
    notice_prose: bool = False  # the 2013 notice's prose dates and quoted summary
    # The header table runs up to this section's heading ("" : the first heading); a table printed
    # without a case number label is read only when `header_always`.
    header_until: str = ""
    header_always: bool = False
    item_labels: ItemLabels = FDL_ITEM_LABELS
    header_pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    case_label: re.Pattern[str] = field(init=False, repr=False, compare=False)
    label_patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    label_pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "header_pattern", header_token_pattern(self.header_labels))
        object.__setattr__(self, "case_label", re.compile(
            "|".join(p for k, p in self.header_labels if k == "case_number"), _I))
        object.__setattr__(self, "label_patterns", self.item_labels.patterns())
        object.__setattr__(self, "label_pattern", self.item_labels.combined())


def header_token_pattern(labels: tuple[tuple[str, str], ...]) -> re.Pattern[str]:
    """The header read as a run of tokens: labels, values, and other text (see header.py)."""
    keys: dict[str, list[str]] = {}
    for key, pattern in labels:
        keys.setdefault(key, []).append(pattern)
    parts = [f"(?P<{key}>" + "|".join(pats) + ")" for key, pats in keys.items()]
    parts += [
        # OCR may split the number's digits with a space ("CM16-0221 706"); the value is read without it
        r"(?P<v_case>CM\s*" + DIGIT + r"{2}\s*-\s*(?:" + DIGIT + r" ?){6}" + DIGIT + r")",
        r"(?P<v_date>" + DATE_PATTERN + r")",
        r"(?P<v_priority>\b(?:Standard|Expedited|Regular|Urgent)\b)",
        r"(?P<noise>Received\s*:)",
        r"(?P<other>\S+)",
    ]
    return re.compile("|".join(parts), _I)


_FDL_SECTIONS = (
    Section("how", "how"),
    Section("summary", "summary", SUMMARY_INTRO),
    # 2015 letters may list the documents reviewed after the summary: a section no value is read from
    Section("documents", "documents", between=True),
    Section("issues", "issues", ISSUES_INTRO, anywhere=True),
)

FDL_HEADER = Layout(
    name="fdl-header",
    description="Final Determination Letter, 2015 on: the case header table, then HOW THE IMR FINAL "
                "DETERMINATION WAS MADE, CLINICAL CASE SUMMARY, IMR ISSUES, DECISIONS AND RATIONALES",
    marks=("issues", "how", "summary", "case-header"), key="issues",
    sections=_FDL_SECTIONS, always=("how", "summary", "issues"),
    reviewer=("how",), summary=("summary",), items=("issues",),
)
FDL = Layout(
    name="fdl",
    description="Final Determination Letter without the header table: seed-style text, 2013-14 letters "
                "(\"Expert Reviewer Case Summary:\", items stated as \"X is not medically necessary\"), "
                "pages after the first",
    marks=("issues", "how", "summary"), key="issues",
    sections=_FDL_SECTIONS, always=("how", "summary", "issues"),
    reviewer=("how",), summary=("summary",), items=("issues",),
)
MAXIMUS_2013 = Layout(
    name="maximus-2013",
    description="2013 MAXIMUS notice: \"Notice of Independent Medical Review Determination Dated:\", the "
                "decisions as numbered sentences (twice), dates in a prose paragraph, \"Medical "
                "Qualifications of the Expert Reviewer:\", \"Case Summary:\" with a \"Disclaimer:\"",
    marks=("notice-title", "notice-decisions", "qualifications-2013", "case-summary"), key="notice-title",
    sections=(
        Section("notice", "notice-title"),
        Section("decisions", "notice-decisions"),
        Section("reviewer", "qualifications-2013"),
        Section("summary", "case-summary", DISCLAIMER),
        Section("issues", "issues", ISSUES_INTRO),
    ),
    always=("decisions", "reviewer", "summary"),
    reviewer=("reviewer",), summary=("summary",), items=("issues",),
    header_labels=NOTICE_HEADER_LABELS, notice_prose=True, header_until="decisions", header_always=True,
)
DOCUMENTS_REVIEWED = Layout(
    name="documents-reviewed",
    description="Letters with a DOCUMENTS REVIEWED section and the heading IMR DECISION(S) AND RATIONALE(S)",
    marks=("decisions", "documents"), key="decisions",
    sections=(
        Section("how", "how"),
        Section("summary", "summary", SUMMARY_INTRO),
        Section("documents", "documents"),
        Section("decisions", "decisions", ISSUES_INTRO, anywhere=True),
    ),
    always=("documents", "decisions"),
    reviewer=("how",), summary=("summary",), items=("decisions",),
)
PROFESSIONAL_REVIEW = Layout(
    name="professional-review",
    description="MEDICAL PROFESSIONAL REVIEW letters: ISSUE AT DISPUTE:, CASE SUMMARY:, DOCUMENTS REVIEWED FOR "
                "DETERMINATION:, MEDICAL REVIEWER QUALIFICATIONS:",
    marks=("professional-title", "issue-at-dispute", "case-summary", "documents-for-determination",
           "reviewer-qualifications"), key="professional-title",
    sections=(
        Section("title", "professional-title"),
        Section("issues", "issue-at-dispute", ISSUES_INTRO),
        Section("summary", "case-summary", SUMMARY_INTRO, anywhere=True),
        Section("documents", "documents-for-determination", anywhere=True),
        Section("reviewer", "reviewer-qualifications", anywhere=True),
    ),
    always=("issues", "summary", "reviewer"),
    reviewer=("reviewer",), summary=("summary",), items=("issues",), header_until="issues",
)

# The order decides: the first layout a letter fully matches is its layout. The FDL comes first (most
# letters are FDLs and they then cost no search for other templates' marks), with its header table
# before without; each other template's key mark is listed first, so it costs one search.
LAYOUTS: tuple[Layout, ...] = (FDL_HEADER, FDL, DOCUMENTS_REVIEWED, MAXIMUS_2013, PROFESSIONAL_REVIEW)
# The sections read from a letter whose layout is unseen: the FDL's, wherever they are found.
UNSEEN = Layout(
    name="unseen", description="a letter in no known layout: the FDL's sections, where found",
    marks=(), key="issues", sections=_FDL_SECTIONS, always=(), reviewer=("how",), summary=("summary",),
    items=("issues",))


@dataclass(frozen=True)
class Match:
    """What the letter's fingerprint says: its layout (None when unseen), full or partial, the marks."""

    layout: Layout | None
    full: bool
    fingerprint: frozenset[str]
    missing: tuple[str, ...] = ()  # the layout's marks the letter lacks
    marks: _Marks | None = field(default=None, repr=False, compare=False)  # where each mark looked for is

    @property
    def name(self) -> str | None:
        return self.layout.name if self.layout else None


# The FDL headings before which a "Case Number:" label is the case header table.
_HEADER_BEFORE = ("how", "summary", "issues")


class _Marks:
    """The marks of one letter, each looked for once and only when a question needs it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts: dict[str, int | None] = {}

    def start(self, name: str) -> int | None:
        if name not in self.starts:
            if name == "case-header":
                found = [s for s in map(self.start, _HEADER_BEFORE) if s is not None]
                top = min(found) if found else min(len(self.text), HEADER_WINDOW)
                m = MARKS[name].search(self.text, 0, top)
            else:
                m = MARKS[name].search(self.text)
            self.starts[name] = m.start() if m else None
        return self.starts[name]

    def has(self, name: str) -> bool:
        return self.start(name) is not None

    def found(self) -> frozenset[str]:
        return frozenset(n for n, s in self.starts.items() if s is not None)


def fingerprint(text: str) -> frozenset[str]:
    """Every mark a letter prints ("case-header": a "Case Number:" label before the FDL's headings)."""
    marks = _Marks(text)
    return frozenset(n for n in MARKS if marks.has(n))


def identify(text: str) -> Match:
    """The layout a letter is in: the first in `LAYOUTS` whose marks it all prints, else a partial match.

    Marks are looked for lazily, each layout's key first, so a letter of a common layout costs one
    search per mark of the layouts before it; `Match.fingerprint` holds the marks found on the way
    (all of them when the match is partial or the layout unseen).
    """
    marks = _Marks(text)
    for lay in LAYOUTS:
        if all(marks.has(m) for m in lay.marks):
            return Match(lay, True, marks.found(), marks=marks)
    fp = frozenset(n for n in MARKS if marks.has(n))
    partial: list[tuple[float, int, Layout]] = []
    for n, lay in enumerate(LAYOUTS):
        if lay.key not in fp:
            continue
        share = len(fp & set(lay.marks)) / len(lay.marks)
        if share >= 0.5:
            partial.append((share, -n, lay))
    if partial:
        _share, _n, best = max(partial, key=lambda t: (t[0], t[1]))
        return Match(best, False, fp, tuple(m for m in best.marks if m not in fp), marks)
    return Match(None, False, fp, marks=marks)


@dataclass
class Sections:
    """Where each section of a letter is: name -> span of its body (heading and intro left out)."""

    layout: Layout
    spans: dict[str, Span]
    header: Span | None
    length: int
    intros: dict[str, re.Match[str]] = field(default_factory=dict)  # the boilerplate skipped after a heading

    def first(self, names: tuple[str, ...]) -> Span | None:
        for n in names:
            if n in self.spans:
                return self.spans[n]
        return None

    def items(self) -> Span:
        """Where the items are: the layout's items section, else everything after the summary."""
        found = self.first(self.layout.items)
        if found is not None:
            return found
        summary = self.first(self.layout.summary)
        return Span(summary.end if summary else 0, self.length)


def find_sections(text: str, layout: Layout, marks: _Marks | None = None) -> Sections:
    """The spans of the layout's sections in the text, each from its heading to the next heading found.

    `marks` (from `identify`) saves searching again for a heading already found.
    """
    n = len(text)
    marks = marks if marks is not None and marks.text is text else _Marks(text)
    found: list[tuple[int, int, Section]] = []  # heading start, heading end, section
    pos = 0
    for k, sec in enumerate(layout.sections):
        rx = MARKS[sec.mark]
        if sec.between:
            later = [f for f in map(marks.start, (s.mark for s in layout.sections[k + 1:])) if f is not None and f >= pos]
            m = rx.search(text, pos, min(later, default=n))
            if m is not None:
                found.append((m.start(), m.end(), sec))
                pos = m.end()
            continue
        first = marks.start(sec.mark)
        if first is None:
            continue  # printed nowhere
        m = rx.match(text, first) if first >= pos else rx.search(text, pos)
        if m is None and sec.anywhere:
            m = rx.search(text)
        if m is None:
            continue
        found.append((m.start(), m.end(), sec))
        pos = m.end()
    found.sort(key=lambda t: t[0])
    spans: dict[str, Span] = {}
    intros: dict[str, re.Match[str]] = {}
    for i, (_hs, he, sec) in enumerate(found):
        end = found[i + 1][0] if i + 1 < len(found) else n
        start = he
        if sec.intro is not None:
            intro = sec.intro.match(text, start) or sec.intro.search(text, start, min(end, start + INTRO_REACH))
            if intro:
                start = intro.end()
                intros[sec.name] = intro
        spans[sec.name] = Span(start, max(start, end))
    header_end = found[0][0] if found else min(n, HEADER_WINDOW)
    if layout.header_until:
        header_end = next((hs for hs, _he, sec in found if sec.name == layout.header_until), min(n, 3 * HEADER_WINDOW))
    header = Span(0, header_end) if layout.header_always or layout.case_label.search(text, 0, header_end) else None
    return Sections(layout, spans, header, n, intros)
