"""The one verdict module: how letters write an item's decision, and what a rationale concludes.

An IMR decision is about the utilization review's denial: **upheld** (the denial stands, the
request is not medically necessary) or **overturned** (the request is medically necessary).
A letter's outcome is upheld, overturned or partially overturned (some items each way).

How letters write it, all read here:

- the item header's word: "Upheld", "Overturned", in any case, glued to what is around it by text
  extraction ("50mg:Upheld", "UpheldClaims Administrator"), or with OCR's look-alikes
  ("Uphe1d", "Uphe|d", "0verturned", "Overtumed" for rn, "Up held");
- the 2013 notices' sentence: "X is (not) medically necessary and appropriate", where PDF text may
  glue "notmedically";
- a rationale's conclusion ("... is not medically necessary", "medical necessity has been
  established"), which `rationale_verdict` reads when the letter states no decision, and which
  the checks compare with a stated decision.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

__all__ = [
    "DECISION_WORD",
    "NECESSITY_CLAUSE",
    "Decision",
    "decision_of_necessity",
    "find_verdict",
    "mentions_necessity",
    "normalise_decision",
    "outcome_of",
    "rationale_verdict",
]


class Decision(StrEnum):
    """An item's decision, as the record's JSON writes it."""

    UPHELD = "upheld"
    OVERTURNED = "overturned"


PARTIALLY_OVERTURNED = "partially overturned"  # a letter's outcome when its items differ

# The decision word as letters print it, with OCR's look-alikes (1 | I for l, 0 for O, rn read as m)
# and a space an OCR engine may put inside it. Case-insensitive; glued forms match because the word
# needs no boundary.
DECISION_WORD = r"(?:Up[ \t]?he[l1|I]d|[O0]ver[ \t]?tu(?:rn|m)ed)"
_DECISION_WORD = re.compile(DECISION_WORD, re.IGNORECASE)

# "is (not) medically necessary (and appropriate)": the 2013 notices' way of stating a decision.
NECESSITY_CLAUSE = r"(?:is|are|was|were)\s*(?P<neg>not\s*)?medically\s+necessary(?:\s+and\s+appropriate)?"


def normalise_decision(raw: str | None) -> Decision | None:
    """'Upheld', 'OVERTURNED', ' upheld. ', 'Overtumed' -> the decision; None when it is not one."""
    if raw is None:
        return None
    word = raw.strip().strip(".:;,!").strip()
    if not word:
        return None
    if _DECISION_WORD.fullmatch(word) is None:
        return None
    return Decision.UPHELD if word[:1].lower() == "u" else Decision.OVERTURNED


def decision_of_necessity(negative: bool) -> Decision:
    """A request found not medically necessary upholds the denial; one found necessary overturns it."""
    return Decision.UPHELD if negative else Decision.OVERTURNED


def outcome_of(decisions: Iterable[str | None]) -> str | None:
    """A letter's outcome from its items' decisions: upheld, overturned, partially overturned, or None."""
    found = {d for d in decisions if d is not None}
    if not found:
        return None
    if found == {Decision.UPHELD}:
        return Decision.UPHELD.value
    if found == {Decision.OVERTURNED}:
        return Decision.OVERTURNED.value
    return PARTIALLY_OVERTURNED


# ---------------------------------------------------------------- a rationale's conclusion

# How far back from a rationale's end its conclusion is looked for: a rationale concludes in its last
# few sentences, and an earlier "is not medically necessary" is often about another treatment.
CONCLUSION_WINDOW = 800
# How far before "necessary" a negation is looked for (within the same clause, and at most
# NEGATION_WORDS words): "is not considered medically necessary", "does not appear to be necessary".
NEGATION_REACH = 80
NEGATION_WORDS = 6
# How far after "medical necessity" its verb is looked for: "medical necessity has not been established".
NECESSITY_VERB_REACH = 60

_NECESSARY = re.compile(
    r"medically\s+(?:un)?necessary\b|(?<=\s)(?:is|are|was|were|be|been|deemed|considered|found)\s+(?:not\s+)?"
    r"(?:un)?necessary\b|medical\s+necessity", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:not|non|no|never|neither|nor)\b|n't|\bnon-", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r"[.;:!?,]")
_WORD = re.compile(r"\S+")
_NECESSITY_AFTER = re.compile(
    r"\s+(?:has|have|is|was|were)\s+(?P<neg>not\s+)?(?:been\s+)?(?:established|supported|demonstrated|met|shown)"
    r"|\s+(?:is|was)\s+(?P<neg2>not\s+)?(?:\w+\s+)?(?:evident|documented)", re.IGNORECASE)


def mentions_necessity(text: str) -> bool:
    """Whether a text speaks of medical necessity (reads like the conclusion of a rationale)."""
    return _NECESSARY.search(text) is not None


def rationale_verdict(rationale: str | None) -> Decision | None:
    """What a rationale concludes: upheld (not medically necessary), overturned (necessary), or None."""
    text = rationale or ""
    found = find_verdict(text, 0, len(text))
    return found[0] if found else None


def find_verdict(text: str, lo: int, hi: int) -> tuple[Decision, int, int] | None:
    """The last verdict phrase in text[lo:hi] (looking at its end): (decision, start, end) of the phrase.

    "not medically necessary" upholds the denial, "is medically necessary" overturns it, and
    "medical necessity has (not) been established" says the same in other words.
    """
    lo = max(lo, hi - CONCLUSION_WINDOW)
    last: tuple[Decision, int, int] | None = None
    for m in _NECESSARY.finditer(text, lo, hi):
        phrase = m.group().lower()
        end = m.end()
        if "necessity" in phrase:
            after = _NECESSITY_AFTER.match(text, m.end(), min(hi, m.end() + NECESSITY_VERB_REACH))
            if after is None:
                continue
            negative = bool(after.group("neg") or after.group("neg2"))
            end = after.end()
        elif "unnecessary" in phrase:
            negative = True
        else:
            b0 = max(lo, m.start() - NEGATION_REACH)
            before = text[b0:m.start()]
            clause_start = b0 + max((c.end() for c in _CLAUSE_BREAK.finditer(before)), default=0)
            words = list(_WORD.finditer(text, clause_start, m.start()))[-NEGATION_WORDS:]
            near = words[0].start() if words else m.start()
            negation = _NEGATION.search(text, near, m.end())
            negative = negation is not None
            if negation is not None and negation.start() < m.start():
                last = (Decision.UPHELD, negation.start(), end)
                continue
        last = (decision_of_necessity(negative), m.start(), end)
    return last
