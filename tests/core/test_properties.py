"""Property tests: the parser never raises, and every span stays inside the text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imr_desk.core import parse_bytes

from .conftest import DATA

LETTER = (DATA / "seeds" / "002_a4e734c225be3e19.txt").read_text(encoding="utf-8")
PIECES = [
    "Case Number: CM16-0221706\n", "Date Assigned: 11/23/2016 ", "Date of Injury:", "99/99/9999", "Priority: ",
    "HOW THE IMR FINAL DETERMINATION WAS MADE\n", "State(s) of Licensure: ", "Certification(s)/Specialty: ",
    "CLINICAL CASE SUMMARY\n", "IMR ISSUES, DECISIONS AND RATIONALES\n", ": Upheld\n", ": Overturned\n",
    "Claims Administrator guideline: ", "MAXIMUS guideline: ", "Decision rationale: ", "was the original request. ",
    "The remaining IMR eligible portion of the original request, ", " is: ", "\n", "\n\n", "\f", "Â§", "\ufffe",
    "is not medically necessary.", "45 year old female", "Board Certified in ", " and is licensed to practice in ",
]


def check(rec: dict) -> None:
    text = rec.get("text", "")
    for path, prov in rec["fields"].items():
        assert 0 <= prov["start"] <= prov["end"] <= len(text), path
        assert 0 <= prov["confidence"] <= 1
        assert prov["page"] is None or prov["page"] >= 1
    for item in rec["items"]:
        assert item["decision"] in ("upheld", "overturned", None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=3000))
def test_parser_never_raises_on_arbitrary_text(text):
    check(parse_bytes(text.encode("utf-8", "surrogatepass"), "random.txt", include_text=True))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=40), max_size=60))
def test_parser_never_raises_on_letter_shaped_text(pieces):
    check(parse_bytes("".join(pieces).encode("utf-8", "surrogatepass"), "shaped.txt", include_text=True))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(LETTER)), st.integers(0, 2000), st.text(max_size=50))
def test_parser_never_raises_on_a_damaged_real_letter(cut, length, insert):
    damaged = LETTER[:cut] + insert + LETTER[cut + length :]
    check(parse_bytes(damaged.encode("utf-8", "surrogatepass"), "damaged.txt", include_text=True))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_parser_never_raises_on_arbitrary_bytes(data):
    rec = parse_bytes(data, "random.pdf", include_text=True)
    check(rec)
    rec = parse_bytes(b"%PDF-1.4\n" + data, "random.pdf")
    assert rec.get("error") or rec["warnings"]
