"""Each layout on whole letters written in its style; the fingerprint; where items start; rule names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imr_desk.core import parse_bytes
from imr_desk.core.parser import LAYOUTS, identify, rules
from imr_desk.core.parser.layouts import MARKS, MARKS_SHOWN

from . import letters as L
from .conftest import real_pdfs, seed_texts

WHOLE_LETTERS = {
    "fdl-header": L.FDL_2016, "fdl": L.SEED_STYLE, "maximus-2013": L.MAXIMUS_2013,
    "documents-reviewed": L.DOCUMENTS_REVIEWED, "professional-review": L.PROFESSIONAL_REVIEW,
}


def parse(text: str) -> dict:
    return parse_bytes(text.encode("utf-8"), "letter.txt", include_text=True)


def span_text(rec: dict, path: str) -> str:
    f = rec["fields"][path]
    return " ".join(rec["text"][f["start"] : f["end"]].split())


def codes(rec: dict) -> set[str]:
    return {w["code"] for w in rec["warnings"]}


# ---------------------------------------------------------------- each layout, whole letters

def test_every_layout_has_a_whole_letter_here():
    assert set(WHOLE_LETTERS) == {lay.name for lay in LAYOUTS}


@pytest.mark.parametrize("name", sorted(WHOLE_LETTERS))
def test_whole_letter_is_recognised_fully(name):
    match = identify(WHOLE_LETTERS[name])
    assert (match.name, match.full) == (name, True)
    rec = parse(WHOLE_LETTERS[name])
    assert rec["layout"] == name
    assert not codes(rec) & {"layout-partial", "section-missing", "unknown-layout"}
    assert all(f["confidence"] >= 0.75 for f in rec["fields"].values())


def test_2016_letter():
    rec = parse(L.FDL_2016)
    assert rec["case"] == {
        "case_number": "CM16-0234567", "date_assigned": "2016-11-23", "date_of_injury": "2014-10-16",
        "decision_date": "2016-12-21", "ur_denial_date": "2016-10-20", "priority": "Standard",
        "application_received": "2016-11-15"}
    assert rec["reviewer"]["specialties"] == ["Physical Medicine & Rehabilitation", "Pain Medicine"]
    assert rec["patient"] == {"age": 48, "sex": "female"}
    got = [(i["request"], i["original_request"], i["authorized"], i["decision"]) for i in rec["items"]]
    assert got == L.FDL_2016_ITEMS
    assert rec["items"][1]["maximus_guideline"] == "Decision based on ACOEM Low Back Chapter."
    assert rec["outcome"] == "partially overturned"


def test_seed_style_text_reads_the_same_items_without_a_case():
    rec = parse(L.SEED_STYLE)
    assert rec["layout"] == "fdl"
    assert all(v is None for v in rec["case"].values())
    got = [(i["request"], i["original_request"], i["authorized"], i["decision"]) for i in rec["items"]]
    assert got == L.FDL_2016_ITEMS
    assert rec["items"][0]["rationale"] == parse(L.FDL_2016)["items"][0]["rationale"]


@pytest.mark.parametrize("text", [L.MAXIMUS_2013, L.MAXIMUS_2013_PROSE], ids=["with-table", "prose-only"])
def test_2013_notice_read_fully(text):
    rec = parse(text)
    assert rec["layout"] == "maximus-2013"
    case = rec["case"]
    assert (case["decision_date"], case["application_received"], case["ur_denial_date"], case["date_assigned"],
            case["date_of_injury"]) == ("2013-09-26", "2013-09-06", "2013-08-30", "2013-09-23", "2001-08-28")
    # each numbered item once, although the notice prints the list twice
    assert [(i["request"], i["decision"]) for i in rec["items"]] == [
        ("28 day functional restoration program", "upheld"), ("6 month follow-up aftercare program", "overturned")]
    assert rec["reviewer"]["specialties"] == ["Occupational Medicine"]
    assert rec["reviewer"]["licensure"] == ["California"]
    assert rec["patient"] == {"age": 44, "sex": "female"}
    assert rec["summary"].startswith("The patient is a 44 year-old female")
    assert rec["summary"].endswith("chronic low back pain.")
    (source,) = [w for w in rec["warnings"] if w["code"] == "summary-source"]
    assert "utilization review denial/modification dated 2013-08-30" in source["message"]
    assert span_text(rec, "case.decision_date") == "9/26/2013"


def test_2013_notice_prose_dates_have_their_rules_and_spans():
    rec = parse(L.MAXIMUS_2013_PROSE)
    fields = rec["fields"]
    assert fields["case.application_received"]["rule"] == "application-prose"
    assert fields["case.ur_denial_date"]["rule"] == "ur-denial-prose"
    assert fields["case.date_assigned"]["rule"] == "assignment-prose"
    assert fields["case.date_of_injury"]["rule"] == "injury-date-prose"
    assert span_text(rec, "case.date_assigned") == "9/23/2013"
    assert span_text(rec, "case.date_of_injury") == "8/28/2001"


@pytest.mark.parametrize("written", ["September 6, 2013", "Sept. 6, 2013", "6 September 2013", "9/6/13", "09/06/2013"])
def test_2013_prose_dates_in_every_written_form(written):
    rec = parse(L.MAXIMUS_2013_PROSE.replace("was filed on 9/6/2013", f"was filed on {written}"))
    assert rec["case"]["application_received"] == "2013-09-06"
    assert span_text(rec, "case.application_received") == written


def test_documents_reviewed_template():
    rec = parse(L.DOCUMENTS_REVIEWED)
    assert rec["case"]["case_number"] == "CM15-0102345" and rec["case"]["decision_date"] == "2015-07-08"
    assert [(i["request"], i["decision"]) for i in rec["items"]] == [
        ("Right shoulder arthroscopy", "upheld"), ("Post-operative physical therapy 12 visits", "upheld")]
    # the documents list belongs to no value
    assert "Medical Treatment Utilization Schedule" not in (rec["summary"] or "")
    assert rec["items"][0]["request"] == "Right shoulder arthroscopy"
    assert rec["reviewer"]["licensure"] == ["Texas", "California"]


def test_professional_review_template():
    rec = parse(L.PROFESSIONAL_REVIEW)
    assert rec["case"]["date_assigned"] == "2018-04-02" and rec["case"]["priority"] == "Expedited"
    (item,) = rec["items"]
    assert (item["request"], item["decision"]) == ("Lumbar epidural steroid injection L4-L5", "overturned")
    assert item["rationale"].endswith("The injection is medically necessary.")  # not the case summary after it
    assert rec["reviewer"]["specialties"] == ["Anesthesiology", "Pain Medicine"]
    assert rec["reviewer"]["licensure"] == ["California", "Arizona"]
    assert rec["patient"] == {"age": 39, "sex": "male"}
    assert rec["summary"].startswith("The injured worker is a 39-year-old man")


# ---------------------------------------------------------------- fingerprint

def test_unseen_template_is_marked_and_every_confidence_lowered():
    rec = parse(L.UNSEEN)
    assert rec["layout"] is None
    assert "unknown-layout" in codes(rec)
    assert rec["fields"] and all(f["confidence"] <= rules.UNSEEN_LAYOUT_CAP for f in rec["fields"].values())
    # what it could read, it read: the case number, the date, the item line
    assert rec["case"]["case_number"] == "CM19-0011111"
    assert [(i["request"], i["decision"]) for i in rec["items"]] == [("Cervical traction unit", "upheld")]
    assert rec["fields"]["items.0.request"]["rule"] == "decision-line"


def test_a_letter_missing_a_section_says_which_and_is_less_sure():
    text = re.sub(r"CLINICAL CASE SUMMARY\n.*?(?=IMR ISSUES)", "", L.FDL_2016, flags=re.DOTALL)
    match = identify(text)
    assert (match.name, match.full, match.missing) == ("fdl-header", False, ("summary",))
    rec = parse(text)
    assert rec["layout"] == "fdl-header"
    warnings = {w["code"]: w["message"] for w in rec["warnings"]}
    assert "CLINICAL CASE SUMMARY" in warnings["layout-partial"]
    assert "case summary" in warnings["section-missing"]
    assert all(f["confidence"] <= rules.PARTIAL_LAYOUT_CAP for f in rec["fields"].values())
    assert len(rec["items"]) == 2


def test_fingerprint_counts_the_header_table_only_at_the_top():
    assert "case-header" in identify(L.FDL_2016).fingerprint
    moved = L.SEED_STYLE + "\nCase Number: CM16-0234567\n"
    assert identify(moved).name == "fdl"


def test_every_mark_is_named_for_the_clerk():
    assert set(MARKS_SHOWN) == set(MARKS)
    for lay in LAYOUTS:
        assert set(lay.marks) <= set(MARKS) and lay.key in lay.marks
        assert {s.mark for s in lay.sections} <= set(MARKS)


# ---------------------------------------------------------------- OCR-tolerant labels

def test_labels_tolerate_ocr_confusions():
    text = (L.FDL_2016.replace("Certification(s)/Specialty:", "Certification(sy/Specia|ty:")
            .replace("State(s) of Licensure:", "State(s) of Licensure:").replace("CLINICAL CASE", "CLINICAL CASE")
            .replace("MAXIMUS guideline:", "MAXIMUS guide1ine:").replace(": Overturned", ": 0verturned"))
    rec = parse(text)
    assert rec["reviewer"]["specialties"] == ["Physical Medicine & Rehabilitation", "Pain Medicine"]
    assert rec["items"][1]["maximus_guideline"] == "Decision based on ACOEM Low Back Chapter."
    assert rec["items"][1]["decision"] == "overturned"


# ---------------------------------------------------------------- where an item starts

RESTATING = """IMR ISSUES, DECISIONS AND RATIONALES
Physical therapy x12 was the original request. Physical therapy x6 was authorized by the Claims 
Administrator. The remaining IMR eligible portion of the original request, Physical therapy x6 is: 
Upheld
Claims Administrator guideline: Decision based on MTUS.
MAXIMUS guideline: Decision based on MTUS.
Decision rationale: The MTUS allows 10 visits. Given the above, the request for "Physical therapy 
for 12 sessions" was modified to Physical therapy for 6 sessions. Twelve visits was the original 
request. Nine visits were authorized by the Claims Administrator. The original request, twelve 
visits, is not medically necessary.
{next}
Claims Administrator guideline: Decision based on ODG.
MAXIMUS guideline: Decision based on ODG.
Decision rationale: The MRI is not medically necessary.
"""
NEXT_PLAIN = "MRI of the lumbar spine: Upheld"
NEXT_MODIFIED = ("Norco 10/325mg #120 was the original request. Norco 10/325mg #60 was authorized by the Claims \n"
                 "Administrator. The remaining IMR eligible portion of the original request, Norco 10/325mg #60 is: \n"
                 "Upheld")


@pytest.mark.parametrize("joined", [False, True], ids=["lines", "joined-into-paragraphs"])
def test_a_rationale_restating_the_request_is_not_the_next_header(joined):
    text = RESTATING.replace("{next}", NEXT_PLAIN)
    if joined:
        text = re.sub(r"[ \t]*\n(?!\n)", " ", text)
    rec = parse(text)
    first, second = rec["items"]
    assert first["rationale"].endswith("The original request, twelve visits, is not medically necessary.")
    assert first["rationale"].startswith("The MTUS allows 10 visits.")
    assert (second["request"], second["original_request"], second["authorized"]) == (
        "MRI of the lumbar spine", None, None)
    assert (first["original_request"], first["authorized"], first["request"]) == (
        "Physical therapy x12", "Physical therapy x6", "Physical therapy x6")


def test_a_modified_header_after_a_restating_rationale_keeps_its_own_sentences():
    rec = parse(RESTATING.replace("{next}", NEXT_MODIFIED))
    first, second = rec["items"]
    assert first["rationale"].endswith("twelve visits, is not medically necessary.")
    assert (second["original_request"], second["authorized"], second["request"]) == (
        "Norco 10/325mg #120", "Norco 10/325mg #60", "Norco 10/325mg #60")
    assert rec["fields"]["items.1.request"]["rule"] == "modified-request"


def test_requested_treatment_and_authorized_visits_at_a_rationale_end_stay_in_it():
    text = RESTATING.replace(
        "The original request, twelve \nvisits, is not medically necessary.",
        "Requested Treatment: Twelve visits of physical therapy. Nine visits were authorized.").replace(
        "{next}", NEXT_PLAIN)
    rec = parse(text)
    assert rec["items"][0]["rationale"].endswith("Nine visits were authorized.")
    assert rec["items"][1]["request"] == "MRI of the lumbar spine"
    assert rec["items"][1]["original_request"] is None


# ---------------------------------------------------------------- rule names

def all_records() -> list[dict]:
    recs = [parse(t) for t in [*WHOLE_LETTERS.values(), L.UNSEEN, L.MAXIMUS_2013_PROSE,
                               RESTATING.replace("{next}", NEXT_MODIFIED)]]
    recs += [parse_bytes(p.read_bytes(), p.name) for p in real_pdfs()[::3] + seed_texts()]
    return recs


def test_every_rule_name_that_appears_is_documented():
    seen = {f["rule"] for rec in all_records() for f in rec["fields"].values()}
    assert len(seen) > 15
    assert [name for name in seen if not rules.documented(name)] == []


def test_every_rule_the_parser_can_use_is_declared_and_documented():
    """Every `rules.X` the parser's source refers to is a declared rule with a doc and a confidence."""
    source = "".join(p.read_text() for p in Path(rules.__file__).parent.glob("*.py") if p.name != "rules.py")
    used = set(re.findall(r"\brules\.([A-Z][A-Z_]+)\b", source))
    declared = {name for name, value in vars(rules).items() if isinstance(value, rules.Rule)}
    caps = {"LABELLED", "STRUCTURED", "HEURISTIC", "GUESS", "UNSEEN_LAYOUT_CAP", "PARTIAL_LAYOUT_CAP",
            "OUTSIDE_SUMMARY_PENALTY"}
    assert used - caps <= declared
    assert {r.name for r in map(vars(rules).get, declared)} == set(rules.RULES)
    for rule in rules.RULES.values():
        assert rule.doc and rule.reads and 0 < rule.confidence <= 1
    assert not rules.documented("no-such-rule") and not rules.documented("item-header+no-such-variant")
    assert rules.documented("item-header+glued")


# ---------------------------------------------------------------- never raises, spans inside

@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(WHOLE_LETTERS) + ["unseen"]), st.integers(0, 4000), st.integers(0, 600),
       st.sampled_from(["", "\n", "\n\n", "\f", ": Upheld", "Decision rationale: ", "Case Summary:\n",
                        "The original request, ", " was the original request. ", "Dated: 2/31/2013",
                        "IMR DECISION(S) AND RATIONALE(S)\n", "ISSUE AT DISPUTE:", "9/6/13"]) | st.text(max_size=30))
def test_no_layout_makes_the_parser_raise_or_a_span_leave_the_text(name, cut, length, insert):
    letter = WHOLE_LETTERS.get(name, L.UNSEEN)
    cut = min(cut, len(letter))
    text = letter[:cut] + insert + letter[cut + length :]
    rec = parse_bytes(text.encode("utf-8", "surrogatepass"), "damaged.txt", include_text=True)
    for path, prov in rec["fields"].items():
        assert 0 <= prov["start"] <= prov["end"] <= len(rec["text"]), path
        assert 0 <= prov["confidence"] <= 1
        assert rules.documented(prov["rule"]), prov["rule"]
    for item in rec["items"]:
        assert item["decision"] in ("upheld", "overturned", None)


def test_case_number_with_ocr_letters_for_digits():
    rec = parse(L.FDL_2016.replace("CM16-0234567", "CM16-O2345l7"))
    assert rec["case"]["case_number"] == "CM16-0234517"
    assert span_text(rec, "case.case_number") == "CM16-O2345l7"


def test_documents_reviewed_in_prose_is_not_a_section():
    text = L.FDL_2016.replace("Decision rationale: The MTUS recommends",
                              "Decision rationale: \nDocuments reviewed include the progress notes. The MTUS recommends")
    rec = parse(text)
    assert rec["layout"] == "fdl-header"
    assert rec["items"][0]["rationale"].startswith("Documents reviewed include the progress notes.")
    assert len(rec["items"]) == 2 and rec["items"][1]["rationale"].endswith("is medically necessary.")


def test_an_fdl_with_a_documents_section_keeps_it_out_of_the_summary():
    text = L.FDL_2016.replace("IMR ISSUES, DECISIONS AND RATIONALES",
                              "DOCUMENTS REVIEWED\nApplication for IMR; utilization review dated 10/20/2016.\n"
                              "IMR ISSUES, DECISIONS AND RATIONALES")
    rec = parse(text)
    assert rec["layout"] == "fdl-header"
    assert rec["summary"].endswith("radiating to the left leg.")
    assert [i["request"] for i in rec["items"]] == [i[0] for i in L.FDL_2016_ITEMS]
