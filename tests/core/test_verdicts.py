"""The one verdict module: the decision words, the outcome, and what a rationale concludes."""

from __future__ import annotations

import pytest

from imr_desk.core.verdicts import (
    Decision,
    decision_of_necessity,
    find_verdict,
    normalise_decision,
    outcome_of,
    rationale_verdict,
)


@pytest.mark.parametrize(
    ("written", "decision"),
    [
        ("Upheld", Decision.UPHELD), ("UPHELD", Decision.UPHELD), (" upheld. ", Decision.UPHELD),
        ("Uphe1d", Decision.UPHELD), ("Uphe|d", Decision.UPHELD), ("Up held", Decision.UPHELD),
        ("Overturned", Decision.OVERTURNED), ("overturned:", Decision.OVERTURNED),
        ("0verturned", Decision.OVERTURNED), ("Overtumed", Decision.OVERTURNED),
        ("Over turned", Decision.OVERTURNED),
        ("denied", None), ("", None), (None, None), ("Upheld in part", None),
    ],
)
def test_decision_words_as_letters_print_them(written, decision):
    assert normalise_decision(written) == decision


def test_decision_is_its_json_string():
    assert Decision.UPHELD == "upheld" and Decision.OVERTURNED.value == "overturned"


def test_necessity_decides():
    assert decision_of_necessity(True) == Decision.UPHELD
    assert decision_of_necessity(False) == Decision.OVERTURNED


@pytest.mark.parametrize(
    ("decisions", "outcome"),
    [
        (["upheld", "upheld"], "upheld"), (["overturned"], "overturned"),
        (["upheld", "overturned"], "partially overturned"), ([None, "upheld"], "upheld"), ([], None), ([None], None),
    ],
)
def test_outcome_of_the_items(decisions, outcome):
    assert outcome_of(decisions) == outcome


@pytest.mark.parametrize(
    ("rationale", "verdict"),
    [
        ("The request is not medically necessary.", "upheld"),
        ("The request is determined to not be medically necessary.", "upheld"),
        ("Therefore the treatment is medically necessary.", "overturned"),
        ("The surgery is unnecessary at this time.", "upheld"),
        ("Medical necessity has not been established.", "upheld"),
        ("Medical necessity has been established.", "overturned"),
        ("The cream is not considered medically necessary.", "upheld"),
        # The conclusion is the last verdict: an earlier one about another treatment does not count.
        ("Surgery was medically necessary in 2014. The present request is not medically necessary.", "upheld"),
        ("The guidelines discuss the treatment.", None),
        ("", None),
        (None, None),
    ],
)
def test_rationale_verdict(rationale, verdict):
    assert rationale_verdict(rationale) == verdict


def test_find_verdict_gives_the_phrase_span():
    text = "History. The request is not medically necessary."
    decision, start, end = find_verdict(text, 0, len(text)) or (None, 0, 0)
    assert decision == Decision.UPHELD
    assert text[start:end] == "not medically necessary"
