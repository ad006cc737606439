"""The disputed items: request, decision, both guidelines and the rationale.

An item is a header ("Three months coverage of Viagra 50mg: Upheld") followed by its labels
("Claims Administrator guideline:", "MAXIMUS guideline:", "Decision rationale:"), each running to
the next. The labels are found first (they are reliable); the text between one item's last label
and the next item's first label is the previous rationale followed by the next header.

## Where an item starts

The next item's header is where the letter's item structure puts one: at the end of that text,
after the previous rationale has ended, in the shape the letter's own headers take. Never a
sentence inside the rationale. Concretely, working back from the next item's first label:

1. the decision ("Upheld", on the header's line or the next; or "is not medically necessary" in
   2013-14 headers) ends the header;
2. the header's lines are the lines before it back to a line that ends a sentence, a blank line or
   a label (`HEADER_LINES`, `MODIFIED_HEADER_LINES` for the modified-request form); where lines
   were joined into paragraphs or glued with no space, the header starts after the last sentence
   break (`_cut_glue`);
3. the modified-request form ("X was the original request. Y was authorized by the Claims
   Administrator. The remaining IMR eligible portion of the original request, Z is: Upheld") is read
   only when its last sentence ("... original request, Z is:") is the sentence that ends at the
   decision, and its "original request" sentence comes right before it (at most the authorized
   sentence between, `AUTHORIZED_REACH`). A rationale that ends by restating the request in those
   words ("... Nine visits were authorized by the Claims Administrator. The original request, twelve
   visits, is not medically necessary.") is thus left to the rationale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imr_desk.core.parser import rules
from imr_desk.core.parser.layouts import Sections
from imr_desk.core.parser.reader import Reader, collapse
from imr_desk.core.parser.rules import Rule
from imr_desk.core.record import Item
from imr_desk.core.verdicts import (
    DECISION_WORD,
    Decision,
    decision_of_necessity,
    find_verdict,
    mentions_necessity,
    normalise_decision,
)

_I = re.IGNORECASE

# Windows, each in characters of the text:
DECISION_REACH = 40  # the decision word is within this much of the header's end
NECESSITY_REACH = 80  # "is not medically necessary and appropriate." ends a 2013-14 header within this much
DECISION_BEFORE_REACH = 24  # a label glued after a header's decision: ": Upheld" within this much before it
LONGEST_HEADER = 300  # a header line longer than this has a rationale's tail run into it
HEADER_LEAD = 60  # on the header's own line, a sentence break after this much text ends a rationale
LONGEST_REQUEST = 400  # a 2013 decision sentence's request is shorter than this
AUTHORIZED_REACH = 400  # the authorized sentence between "was the original request." and "The remaining ..."
# Lines:
HEADER_LINES = 3  # a header wraps over at most this many lines before its decision's line
MODIFIED_HEADER_LINES = 4  # a modified request's "X was the original request" wraps over at most this many

_DECISION_BEFORE = re.compile(r":\s*" + DECISION_WORD + r"$", _I)
_DECISION_AT_END = re.compile(r"(?P<colon>:)?[ \t]*(?:\n\s*)?(?P<decision>" + DECISION_WORD + r")[ \t]*\.?\s*$", _I)
_COLON_AT_END = re.compile(r":[ \t]*\s*$")
# 2013-14 letters: "1. Physical therapy for the lumbar spine is not medically necessary and appropriate."
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
    r"The\s+(?P<remaining>remaining\s+IMR[\s-]+eligible\s+portions?\s+of\s+the\s+)?original\s+requests?\s*,\s*", _I)
_REMAINING_TAIL = re.compile(r"\s+(?:is|are)\s*:?\s*$", _I)
_TERMINAL = re.compile(r"[.!?][\"'”’)\]]*\s*$|\)\s*$")
_GLUE = re.compile(r"(?<=[a-z0-9%)\]\"”’])[.!?][\"”’]?(?=[A-Z(\"“])")
_HEADER_BREAK = re.compile(r"[.!?][\"”’)]*\s+(?=[A-Z0-9(\"“])")  # a request may begin with a number
_SENTENCE_BREAK = re.compile(r"[.!?][\"”’)]*\s+(?=[A-Z(\"“])")
# Early (2013) notices list each decision as one sentence, with no labelled sections per item:
# "1) MAXIMUS Federal Services, Inc. has determined the request for a 28 day functional restoration
# program is not medically necessary and appropriate." (PDF text may glue "notmedically").
_DECISION_SENTENCE = re.compile(
    r"(?:has|have)\s+determined\s+(?:that\s+)?the\s+requests?\s+for\s+(?P<request>.+?)\s+(?:is|are|was|were)\s*"
    r"(?P<neg>not\s*)?medically\s+necessary(?:\s+and\s+appropriate)?", _I | re.DOTALL)
_ARTICLE = re.compile(r"^(?:an?|the)\s+", _I)
_DECISION_LINE = re.compile(
    r"^[ \t]*(?:\d{1,2}[.)][ \t]+)?(?P<request>[^\n:]{3,300}?)[ \t]*:[ \t]*(?P<decision>" + DECISION_WORD
    + r")[ \t]*\.?[ \t]*$", _I | re.MULTILINE)


@dataclass
class _Label:
    kind: int  # 0 claims administrator, 1 maximus, 2 rationale
    start: int
    end: int


@dataclass
class _Header:
    start: int  # where the header (and so the previous rationale's end) begins
    request: tuple[int, int] | None
    decision: tuple[int, int] | None
    decision_value: Decision | None
    original: tuple[int, int] | None
    authorized: tuple[int, int] | None
    rule: Rule
    confidence: float
    variant: str


def _starts_label(text: str, pos: int) -> bool:
    """A label begins a line, or follows the end of a sentence (text glued by extraction).

    This tells "Decision rationale:" the label from "the Physician Reviewer's decision rationale:" quoted
    inside a rationale.
    """
    i = pos - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    if i >= 0 and text[i].isalpha():  # a header's decision ends it: "Viagra 50mg: Upheld Claims Administrator..."
        if _DECISION_BEFORE.search(text, max(0, i - DECISION_BEFORE_REACH), i + 1):
            return True
    return i < 0 or text[i] in "\n.!?\"”)"


def _labels(text: str, lo: int, hi: int, pattern: re.Pattern[str]) -> list[_Label]:
    """The item labels in text[lo:hi], in order (`pattern`: the layout's labels, group k0/k1/k2 by kind)."""
    return [_Label(int((m.lastgroup or "k2")[1]), m.start(), m.end())
            for m in pattern.finditer(text, lo, hi) if _starts_label(text, m.start())]


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


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _line_start(text: str, pos: int, lo: int) -> int:
    return max(lo, text.rfind("\n", lo, pos) + 1)


def _walk_back(text: str, anchor: int, lo: int, labels: tuple[re.Pattern[str], ...],
               max_lines: int = HEADER_LINES) -> tuple[int, bool]:
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
        if any(rx.match(text, prev_start) for rx in labels):
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
        if took_lines or end - start > LONGEST_HEADER or len(before) >= HEADER_LEAD or mentions_necessity(before):
            cut, how = brk.end(), "sentence-break"
    return cut, how


def _starts_sentence(text: str, pos: int, lo: int) -> bool:
    i = pos - 1
    while i >= lo and text[i].isspace():
        i -= 1
    return i < lo or text[i] in ".!?\"”’)"


def _modified_request(text: str, lo: int, req_end: int) -> tuple[re.Match[str], re.Match[str] | None] | None:
    """The modified-request form when it is the header's own: its "The remaining ... original request, Z is:"
    sentence ends at the decision, and its "X was the original request." comes right before it."""
    rem = None
    for m in _REMAINING.finditer(text, lo, req_end):
        rem = m
    if rem is None or not _starts_sentence(text, rem.start(), lo):
        return None
    if _REMAINING_TAIL.search(text, rem.end(), req_end) is None and not rem.group("remaining"):
        # "The original request, X, is not medically necessary. Next item:" is a rationale's; the full
        # "The remaining IMR eligible portion of the original request, Z: Upheld" needs no "is"
        return None
    for brk in _SENTENCE_BREAK.finditer(text, rem.end(), req_end):
        if mentions_necessity(text[rem.end():brk.start()]):
            return None
    orig = None
    for m in _ORIGINAL.finditer(text, max(lo, rem.start() - AUTHORIZED_REACH - 200), rem.start()):
        orig = m
    if orig is not None:
        between = text[orig.end():rem.start()]
        if len(between) > AUTHORIZED_REACH or len(list(_SENTENCE_BREAK.finditer(between.strip()))) > 1:
            orig = None
    return rem, orig


def _find_header(text: str, lo: int, hi: int, first: bool, labels: tuple[re.Pattern[str], ...]) -> _Header:
    """The item header in text[lo:hi] (the tail of the previous rationale, then the header)."""
    seg_end = hi
    while seg_end > lo and text[seg_end - 1].isspace():
        seg_end -= 1
    decision = None
    decision_value = None
    dm = _DECISION_AT_END.search(text, max(lo, seg_end - DECISION_REACH),
                                 seg_end + 1 if seg_end < len(text) else seg_end)
    nm = None if dm else _NECESSITY_AT_END.search(text, max(lo, seg_end - NECESSITY_REACH), seg_end)
    if dm and dm.end() >= seg_end:
        decision = (dm.start("decision"), dm.end("decision"))
        decision_value = normalise_decision(dm.group("decision"))
        req_end = dm.start("colon") if dm.group("colon") else dm.start()
    elif nm is not None:
        decision = _trim(text, nm.start(), seg_end)
        decision_value = decision_of_necessity(bool(nm.group("neg")))
        req_end = nm.start()
    else:
        cm = _COLON_AT_END.search(text, max(lo, seg_end - 5), seg_end)
        req_end = cm.start() if cm else seg_end
    modified = _modified_request(text, lo, req_end)
    if modified is not None:
        rem, orig = modified
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
        hstart, took = _walk_back(text, anchor, lo, labels, MODIFIED_HEADER_LINES)
        if first:
            hstart, took = lo, True
        cut, how = _cut_glue(text, hstart, anchor, took)
        tail = _REMAINING_TAIL.search(text, rem.end(), req_end)
        z_end = tail.start() if tail else req_end
        original = (cut, orig.start()) if orig is not None else None
        conf = rules.STRUCTURED if (orig is not None and authorized is not None) else rules.HEURISTIC
        return _Header(cut, (rem.end(), z_end), decision, decision_value, original, authorized,
                       rules.MODIFIED_REQUEST, conf if not how else rules.HEURISTIC, how)
    if first:
        hstart, took = lo, False
    else:
        hstart, took = _walk_back(text, req_end, lo, labels)
    cut, how = _cut_glue(text, hstart, req_end, took)
    req_start = cut
    if nm is not None:
        while req_start < req_end and text[req_start].isspace():
            req_start += 1
        numbered = _NUMBERING.match(text, req_start, req_end)
        if numbered:
            req_start = numbered.end()
    conf = rules.STRUCTURED if decision and not how else rules.HEURISTIC
    rule = rules.ITEM_HEADER_NECESSITY if nm is not None else rules.ITEM_HEADER
    return _Header(cut, (req_start, req_end) if req_start < req_end else None, decision, decision_value, None, None,
                   rule, conf, how)


def read_items(r: Reader, s: Sections) -> None:
    """Labelled items in the layout's items section; else the 2013 decision sentences; else decision lines."""
    text = r.text
    area = s.items()
    patterns = s.layout.label_patterns
    groups = _group_items(_labels(text, area.start, area.end, s.layout.label_pattern))
    if not groups:
        if not _decision_sentences(r):
            _decision_lines(r, area.start, area.end)
        return
    items = r.record.items
    prev_rationale_start: int | None = None
    prev_item: Item | None = None
    lo = area.start
    for n, group in enumerate(groups):
        first_label = group[min(group)]
        head = _find_header(text, lo, first_label.start, n == 0, patterns)
        if prev_item is not None and prev_rationale_start is not None:
            _set_rationale(r, prev_item, len(items) - 1, prev_rationale_start, head.start)
        item = Item(decision_stated=False)  # stated once the header's decision is read
        i = len(items)
        path = f"items.{i}"
        if head.request:
            rs, re_ = r.trim(*head.request)
            item.request = collapse(text[rs:re_]).rstrip(":").strip()
            r.note(f"{path}.request", rs, re_, head.rule, head.confidence, head.variant)
        if head.original:
            item.original_request = collapse(text[head.original[0]:head.original[1]])
            r.note(f"{path}.original_request", *head.original, head.rule, head.confidence, head.variant)
        if head.authorized:
            item.authorized = collapse(text[head.authorized[0]:head.authorized[1]])
            r.note(f"{path}.authorized", *head.authorized, head.rule, head.confidence, head.variant)
        if head.decision and head.decision_value:
            item.decision = head.decision_value
            item.decision_stated = True
            r.note(f"{path}.decision", *head.decision, rules.ITEM_HEADER_DECISION)
        # Guidelines: each runs to the next label.
        ordered = [group[k] for k in sorted(group)]
        for j, lab in enumerate(ordered):
            if lab.kind == 2:
                continue
            end = ordered[j + 1].start if j + 1 < len(ordered) else lab.end
            key = "claims_administrator_guideline" if lab.kind == 0 else "maximus_guideline"
            vs, ve = r.trim(lab.end, end)
            if vs < ve:
                setattr(item, key, collapse(text[vs:ve]))
                r.note(f"{path}.{key}", vs, ve, rules.GUIDELINE_LABEL)
        items.append(item)
        prev_item = item
        prev_rationale_start = group[2].end if 2 in group else None
        lo = max(lab.end for lab in group.values())
    if prev_item is not None and prev_rationale_start is not None:
        _set_rationale(r, prev_item, len(items) - 1, prev_rationale_start, area.end)
    for i, item in enumerate(items):
        f = r.fields.get(f"items.{i}.rationale")
        if item.decision is None and f:
            found = find_verdict(text, f.start, f.end)
            if found:
                item.decision = found[0]
                item.decision_stated = False
                r.note(f"items.{i}.decision", found[1], found[2], rules.DECISION_FROM_RATIONALE)


def _set_rationale(r: Reader, item: Item, i: int, start: int, end: int) -> None:
    start, end = r.trim(start, end)
    if start < end:
        item.rationale = collapse(r.text[start:end])
        r.note(f"items.{i}.rationale", start, end, rules.RATIONALE_LABEL)


def _decision_sentences(r: Reader) -> bool:
    """Items of a letter that states each decision as one sentence (a fallback: no labelled items)."""
    seen: set[str] = set()
    for m in _DECISION_SENTENCE.finditer(r.text):
        if len(m.group("request")) > LONGEST_REQUEST:
            continue
        request = _ARTICLE.sub("", collapse(m.group("request")))
        key = request.lower()
        if key in seen:  # the same list is printed twice: in the notice and in the decision section
            continue
        seen.add(key)
        i = len(r.record.items)
        r.record.items.append(Item(request=request, decision=decision_of_necessity(m.group("neg") is not None),
                                   decision_stated=True))
        r.note(f"items.{i}.request", m.start("request"), m.end("request"), rules.DECISION_SENTENCE)
        r.note(f"items.{i}.decision", m.start("request") + len(m.group("request")), m.end(), rules.DECISION_SENTENCE)
    return bool(seen)


def _decision_lines(r: Reader, lo: int, hi: int) -> None:
    """Items of an unseen template whose items carry no labels: lines "X: Upheld"."""
    for m in _DECISION_LINE.finditer(r.text, lo, hi):
        found = normalise_decision(m.group("decision"))
        if found is None:
            continue
        i = len(r.record.items)
        r.record.items.append(Item(request=collapse(m.group("request")), decision=found, decision_stated=True))
        r.note(f"items.{i}.request", m.start("request"), m.end("request"), rules.DECISION_LINE)
        r.note(f"items.{i}.decision", m.start("decision"), m.end("decision"), rules.DECISION_LINE)
