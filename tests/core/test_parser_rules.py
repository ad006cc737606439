"""Each parser rule on fragments of real letters, and on the variants that text extraction produces."""

from __future__ import annotations

import pytest

from imr_desk.core import parse_bytes

HEADER_ROWS = """Case Number: CM16-0221706
Date Assigned: 11/23/2016 Date of Injury: 10/16/2016
Decision Date: 12/21/2016 UR Denial Date: 10/20/2016
Priority: Standard Application 
Received: 
11/15/2016
"""

# pdftotext without -layout reads the header table column by column.
HEADER_COLUMNS = """Case Number:
Date Assigned:
Decision Date:
Priority:

CM16-0221706
11/23/2016
12/21/2016
Standard

Date of Injury:
UR Denial Date:
Application
Received:

10/16/2016
10/20/2016
11/15/2016
"""

# pdftotext -layout puts the value of "Application Received" between its two words.
HEADER_LAYOUT = """Case Number:          CM16-0221706
Date Assigned:        11/23/2016                      Date of Injury:      10/16/2016
Decision Date:        12/21/2016                      UR Denial Date:      10/20/2016
Priority:             Standard                        Application          11/15/2016
                                                      Received:
"""

HOW = """HOW THE IMR FINAL DETERMINATION WAS MADE
MAXIMUS Federal Services sent the complete case file to an expert reviewer. He/she has no 
affiliation with the employer, employee, providers or the claims administrator.
The Expert Reviewer has the following credentials:
State(s) of Licensure: California,South Carolina
Certification(s)/Specialty: Preventive Medicine, Occupational Medicine, Public Health & 
General Preventive Medicine
"""

SUMMARY = """CLINICAL CASE SUMMARY
The expert reviewer developed the following clinical case summary based on a review of the 
case file, including all medical records:
The injured worker is a 65 year old male with an industrial injury date of 10-16-2016. Medical 
record review indicates the injured worker is being treated for male erectile disorder.
"""

ISSUES = """IMR ISSUES, DECISIONS AND RATIONALES
The Final Determination was based on decisions for the disputed items/services set forth below:
"""

ITEM_VIAGRA = """Three months coverage of Viagra 50mg: Upheld
Claims Administrator guideline: The Claims Administrator did not cite any medical evidence 
for its decision.
MAXIMUS guideline: The Expert Reviewer based their decision on recommendation(s) outside 
of the MTUS Guidelines.
Decision rationale: The MTUS Guidelines and ODG do not address the use of Viagra. The request 
for three months coverage of Viagra 50mg is determined to not be medically necessary.
"""

ITEM_MODIFIED = """Voltaren 75mg #60 with 3 refills was the original request. Voltaren 75mg #60 was 
authorized by the Claims Administrator. The remaining IMR eligible portion of the 
original request, Three refills of Voltaren 75mg #60 is: Upheld
Claims Administrator guideline: The Claims Administrator did not cite any medical evidence 
for its decision. 
MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, 
Section(s): Topical analgesics.
Decision rationale: The request is not medically necessary.
"""

ITEM_MODIFIED_LEAVING = """Acupuncture treatments (unspecified quantity) was the original request. The Claims 
Administrator authorized Acupuncture treatments, 6 sessions, leaving the original request 
IMR eligible. The original request, Acupuncture treatments (unspecified quantity) is:
Upheld
Claims Administrator guideline: Decision based on MTUS Acupuncture Treatment 2007.
MAXIMUS guideline: Decision based on MTUS Acupuncture Treatment 2007.
Decision rationale: Acupuncture is not medically necessary.
"""


def parse_text(text: str) -> dict:
    return parse_bytes(text.encode("utf-8"), "fragment.txt", include_text=True)


def span_text(rec: dict, path: str) -> str:
    f = rec["fields"][path]
    return rec["text"][f["start"] : f["end"]]


EXPECTED_CASE = {
    "case_number": "CM16-0221706",
    "date_assigned": "2016-11-23",
    "date_of_injury": "2016-10-16",
    "decision_date": "2016-12-21",
    "ur_denial_date": "2016-10-20",
    "priority": "Standard",
    "application_received": "2016-11-15",
}


@pytest.mark.parametrize("header", [HEADER_ROWS, HEADER_COLUMNS, HEADER_LAYOUT], ids=["rows", "columns", "layout"])
def test_header_block_in_every_extraction_order(header):
    rec = parse_text(header + HOW + SUMMARY + ISSUES + ITEM_VIAGRA)
    assert rec["case"] == EXPECTED_CASE
    assert rec["layout"] == "fdl-header"
    assert span_text(rec, "case.decision_date") == "12/21/2016"
    assert span_text(rec, "case.case_number") == "CM16-0221706"


def test_header_value_not_given_does_not_steal_the_next_date():
    header = HEADER_ROWS.replace("UR Denial Date: 10/20/2016", "UR Denial Date: N/A")
    rec = parse_text(header + HOW + SUMMARY + ISSUES + ITEM_VIAGRA)
    assert rec["case"]["ur_denial_date"] is None
    assert rec["case"]["application_received"] == "2016-11-15"


def test_no_header_block_gives_fdl_layout_and_null_case():
    rec = parse_text(HOW + SUMMARY + ISSUES + ITEM_VIAGRA)
    assert rec["layout"] == "fdl"
    assert all(v is None for v in rec["case"].values())


def test_credentials_block_with_wrapped_specialty():
    rec = parse_text(HOW + SUMMARY + ISSUES + ITEM_VIAGRA)
    assert rec["reviewer"]["licensure"] == ["California", "South Carolina"]
    assert rec["reviewer"]["specialties"] == [
        "Preventive Medicine", "Occupational Medicine", "Public Health & General Preventive Medicine"]
    assert rec["reviewer"]["role"] == "expert reviewer"
    assert span_text(rec, "reviewer.licensure.1") == "South Carolina"
    assert rec["fields"]["reviewer.specialties.0"]["rule"] == "credentials-block"


@pytest.mark.parametrize(
    ("sentence", "specialties", "states"),
    [
        ("The physician reviewer is Board Certified in Occupational Medicine, has a subspecialty in Preventive "
         "Medicine \nand is licensed to practice in California. He/she has been in active clinical practice",
         ["Occupational Medicine", "Preventive Medicine"], ["California"]),
        ("The physician \nreviewer is Board Certified in psychiatry and is licensed to practice in California. "
         "He/she has ", ["psychiatry"], ["California"]),
        ("The physician reviewer is Board Certified in Physical Medicine Rehabilitation, has a subspecialty in \n"
         "Interventional Spine and is licensed to practice in California. He/she has been",
         ["Physical Medicine Rehabilitation", "Interventional Spine"], ["California"]),
        ("The physician reviewer is Board Certified in Orthopedic Surgery and is licensed to practice in Texas, "
         "California. He/she", ["Orthopedic Surgery"], ["Texas", "California"]),
    ],
)
def test_reviewer_sentence_style(sentence, specialties, states):
    how = ("HOW THE IMR FINAL DETERMINATION WAS MADE\nMAXIMUS Federal Services sent the complete case file to a "
           "physician reviewer. He/she has no \naffiliation with the employer. " + sentence + "\n")
    rec = parse_text(how + SUMMARY + ISSUES + ITEM_VIAGRA)
    assert rec["reviewer"]["specialties"] == specialties
    assert rec["reviewer"]["licensure"] == states
    assert rec["reviewer"]["role"] == "physician reviewer"


@pytest.mark.parametrize(
    ("phrase", "age", "sex"),
    [
        ("The patient is a 43 year old female with an injury date of 05/02/07.", 43, "female"),
        ("The patient is a 42-year old female with an injury date of 04/27/09.", 42, "female"),
        ("This 51-year-old male detailer injured his low back on 5/27/11.", 51, "male"),
        ("The injured worker is a(n) 59 year old female, who sustained an industrial injury.", 59, "female"),
        ("This case involves a now 36-year-old female with a history of an occupational claim.", 36, "female"),
    ],
)
def test_worker_age_and_sex(phrase, age, sex):
    summary = SUMMARY.split("The injured worker")[0] + phrase + "\n"
    rec = parse_text(HOW + summary + ISSUES + ITEM_VIAGRA)
    assert rec["patient"] == {"age": age, "sex": sex}
    assert span_text(rec, "patient.age") == str(age)


def test_sex_from_pronouns_when_no_male_or_female_is_written():
    summary = ("CLINICAL CASE SUMMARY\nThe applicant is a represented employee who has filed a claim for chronic low "
               "back pain. She was treated with analgesics. Her pain persists and she reports poor sleep.\n")
    rec = parse_text(HOW + summary + ISSUES + ITEM_VIAGRA)
    assert rec["patient"]["age"] is None
    assert rec["patient"]["sex"] == "female"
    assert rec["fields"]["patient.sex"]["confidence"] < 0.7
    assert any(w["code"] == "sex-inferred" for w in rec["warnings"])


def test_sex_unknown_stays_null():
    summary = "CLINICAL CASE SUMMARY\nThe applicant has filed a claim for chronic low back pain.\n"
    rec = parse_text(HOW + summary + ISSUES + ITEM_VIAGRA)
    assert rec["patient"]["sex"] is None


def test_summary_without_its_boilerplate():
    rec = parse_text(HOW + SUMMARY + ISSUES + ITEM_VIAGRA)
    assert rec["summary"].startswith("The injured worker is a 65 year old male")
    assert "clinical case summary based on" not in rec["summary"]


def test_one_item_with_guidelines_and_rationale():
    rec = parse_text(HOW + SUMMARY + ISSUES + ITEM_VIAGRA)
    (item,) = rec["items"]
    assert item["request"] == "Three months coverage of Viagra 50mg"
    assert item["decision"] == "upheld" and item["decision_stated"] is True
    assert item["claims_administrator_guideline"] == (
        "The Claims Administrator did not cite any medical evidence for its decision.")
    assert item["maximus_guideline"].startswith("The Expert Reviewer based their decision")
    assert item["rationale"].endswith("is determined to not be medically necessary.")
    assert rec["outcome"] == "upheld"
    assert span_text(rec, "items.0.decision") == "Upheld"
    assert rec["fields"]["items.0.request"]["confidence"] > 0.9


def test_modified_request():
    rec = parse_text(HOW + SUMMARY + ISSUES + ITEM_VIAGRA + ITEM_MODIFIED)
    item = rec["items"][1]
    assert item["original_request"] == "Voltaren 75mg #60 with 3 refills"
    assert item["authorized"] == "Voltaren 75mg #60"
    assert item["request"] == "Three refills of Voltaren 75mg #60"
    assert item["decision"] == "upheld"
    # The previous rationale stops where this header starts.
    assert rec["items"][0]["rationale"].endswith("not be medically necessary.")
    assert span_text(rec, "items.1.request") == "Three refills of Voltaren 75mg #60"


ITEM_MODIFIED_NO_IS = """Twelve physical therapy visits for the left hand/finger was the original request. Ten 
physical therapy visits for the left hand/finger was authorized by the Claims 
Administrator. The remaining IMR eligible portion of the original request, Two physical 
therapy visits for the left hand/finger: Upheld
Claims Administrator guideline: The Claims Administrator did not cite any medical evidence 
for its decision.
MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, 
Section(s): Physical medicine treatment.
Decision rationale: The request is not medically necessary.
"""


def test_modified_request_without_is_before_the_decision():
    """CM17-0016761's wording: "The remaining IMR eligible portion of the original request, X: Upheld"."""
    rec = parse_text(HOW + SUMMARY + ISSUES + ITEM_VIAGRA + ITEM_MODIFIED_NO_IS)
    item = rec["items"][1]
    assert item["request"] == "Two physical therapy visits for the left hand/finger"
    assert item["original_request"] == "Twelve physical therapy visits for the left hand/finger"
    assert item["authorized"] == "Ten physical therapy visits for the left hand/finger"
    assert item["decision"] == "upheld"
    assert rec["items"][0]["rationale"].endswith("not be medically necessary.")
    assert rec["fields"]["items.1.request"]["rule"] == "modified-request"


def test_a_rationale_restating_the_original_request_is_not_a_header():
    """Without "remaining IMR eligible portion" and without "is", "The original request, X:" stays a rationale's."""
    item = ITEM_VIAGRA.replace(
        "is determined to not be medically necessary.",
        "is determined to not be medically necessary. The original request, Viagra 50mg, is not medically necessary.")
    rec = parse_text(HOW + SUMMARY + ISSUES + item + ITEM_MODIFIED)
    assert rec["items"][0]["rationale"].endswith("Viagra 50mg, is not medically necessary.")
    assert rec["items"][1]["request"] == "Three refills of Voltaren 75mg #60"


def test_modified_request_claims_administrator_authorized_form():
    rec = parse_text(HOW + SUMMARY + ISSUES + ITEM_VIAGRA + ITEM_MODIFIED_LEAVING)
    item = rec["items"][1]
    assert item["original_request"] == "Acupuncture treatments (unspecified quantity)"
    assert item["authorized"] == "Acupuncture treatments, 6 sessions"
    assert item["request"] == "Acupuncture treatments (unspecified quantity)"
    assert item["decision"] == "upheld" and item["decision_stated"]


def test_header_wrapped_over_two_lines_with_decision_on_the_next():
    item = ITEM_VIAGRA.replace(
        "Three months coverage of Viagra 50mg: Upheld",
        "Lidoderm patch, 12 hours on 12 hours off to affected area, #1 box with 1 refill, DOS: \n11/11/2016: \nOverturned",
    ).replace("to not be medically necessary", "to be medically necessary")
    rec = parse_text(HOW + SUMMARY + ISSUES + ITEM_VIAGRA + item)
    assert rec["items"][1]["request"] == (
        "Lidoderm patch, 12 hours on 12 hours off to affected area, #1 box with 1 refill, DOS: 11/11/2016")
    assert rec["items"][1]["decision"] == "overturned"
    assert rec["outcome"] == "partially overturned"


def test_decision_after_a_page_break():
    item = ITEM_VIAGRA.replace("Three months coverage of Viagra 50mg: Upheld",
                               "Three months coverage of Viagra 50mg:\f\nUpheld")
    rec = parse_text(HOW + SUMMARY + ISSUES + item)
    assert rec["items"][0]["request"] == "Three months coverage of Viagra 50mg"
    assert rec["items"][0]["decision"] == "upheld"
    assert rec["fields"]["items.0.decision"]["page"] == 2


def test_rationale_glued_to_next_header():
    first = ITEM_VIAGRA.replace("to not be medically necessary.\n", "to not be medically necessary.")
    second = ITEM_VIAGRA.replace("Three months coverage of Viagra 50mg", "X-rays of the lumbar spine")
    rec = parse_text(HOW + SUMMARY + ISSUES + first + second)
    assert [it["request"] for it in rec["items"]] == ["Three months coverage of Viagra 50mg",
                                                      "X-rays of the lumbar spine"]
    assert rec["items"][0]["rationale"].endswith("determined to not be medically necessary.")
    assert "glued" in rec["fields"]["items.1.request"]["rule"]
    assert rec["fields"]["items.1.request"]["confidence"] < 0.9


def test_decision_not_stated_is_inferred_from_rationale():
    item = ITEM_VIAGRA.replace("Three months coverage of Viagra 50mg: Upheld", "Acupuncture 2x6 for the lumbar/cervical:   ")
    rec = parse_text(HOW + SUMMARY + ISSUES + item)
    (it,) = rec["items"]
    assert it["request"] == "Acupuncture 2x6 for the lumbar/cervical"
    assert it["decision"] == "upheld" and it["decision_stated"] is False
    assert rec["fields"]["items.0.decision"]["rule"] == "decision-from-rationale"
    assert span_text(rec, "items.0.decision") == "not be medically necessary"
    assert any(w["code"] == "decision-not-stated" and w["path"] == "items.0.decision" for w in rec["warnings"])


def test_quoted_decision_rationale_inside_a_rationale_is_not_a_new_item():
    item = ITEM_VIAGRA.replace(
        "Decision rationale: The MTUS", "Decision rationale: The Physician Reviewer's decision rationale: The MTUS")
    rec = parse_text(HOW + SUMMARY + ISSUES + item)
    assert len(rec["items"]) == 1
    assert rec["items"][0]["rationale"].startswith("The Physician Reviewer's decision rationale: The MTUS")


def test_contradicting_decision_is_flagged():
    item = ITEM_VIAGRA.replace(": Upheld", ": Overturned")
    rec = parse_text(HOW + SUMMARY + ISSUES + item)
    codes = {(w["code"], w["severity"]) for w in rec["warnings"]}
    assert ("decision-contradicts-rationale", "error") in codes


def test_dates_out_of_order_are_flagged():
    header = HEADER_ROWS.replace("Decision Date: 12/21/2016", "Decision Date: 10/01/2016")
    rec = parse_text(header + HOW + SUMMARY + ISSUES + ITEM_VIAGRA)
    assert any(w["code"] == "dates-out-of-order" and w["path"] == "case.decision_date" for w in rec["warnings"])


def test_cut_off_rationale_is_flagged():
    item = ITEM_VIAGRA.replace("to not be medically necessary.\n", "to not be medically necessary. Given the great s")
    rec = parse_text(HOW + SUMMARY + ISSUES + item)
    assert any(w["code"] == "rationale-cut-off" for w in rec["warnings"])


def test_unknown_layout_gives_a_record_with_warnings():
    rec = parse_text("Dear Sir, this is a letter about something else entirely.\nRegards\n")
    assert rec["layout"] is None
    assert rec["items"] == []
    codes = {w["code"] for w in rec["warnings"]}
    assert {"unknown-layout", "no-items"} <= codes
    assert "error" not in rec


def test_items_are_found_even_without_section_headings():
    rec = parse_text(ITEM_VIAGRA + ITEM_MODIFIED)
    assert len(rec["items"]) == 2
    assert rec["layout"] is None


LETTER_2013 = """HOW THE IMR FINAL DETERMINATION WAS MADE
MAXIMUS Federal Services sent the complete case file to a physician reviewer. He/she has no affiliation
with the employer, employee, providers or the claims administrator. The physician reviewer is Board
Certified in Physical Medicine and Rehabilitation, has a subspecialty in Pain Medicine and is licensed to
practice in California.

Expert Reviewer Case Summary:
The expert reviewer developed the following clinical case summary based on a review of the case file,
including all medical records:
The patient is a 52-year-old male who reported an injury on 04/13/2011.

IMR ISSUE(S), DECISION(S) AND RATIONALE(S)
The Final Determination was based on decisions for the disputed items/services set forth below:

1. Physical therapy 2x/week x 6 weeks for the lumbar spine is not medically necessary and appropriate.

The Claims Administrator based its decision on the Chronic Pain Medical Treatment Guidelines, page 99.

The Physician Reviewer based his/her decision on the MTUS Chronic Pain Medical Treatment Guidelines,
Physical Medicine, pages 98-99.

The Physician Reviewer's decision rationale:
The patient has had 24 sessions of therapy. The request is not medically necessary.

2. A topical compound cream is medically necessary and appropriate.

The Claims Administrator based its decision on the Official Disability Guidelines.

The Physician Reviewer based his/her decision on the MTUS Chronic Pain Medical Treatment Guidelines.

The Physician Reviewer's decision rationale:
The cream is recommended for this patient and is medically necessary.
"""


def test_2013_letters_item_sentences():
    rec = parse_text(LETTER_2013)
    assert rec["layout"] == "fdl"
    assert [(it["request"], it["decision"], it["decision_stated"]) for it in rec["items"]] == [
        ("Physical therapy 2x/week x 6 weeks for the lumbar spine", "upheld", True),
        ("A topical compound cream", "overturned", True),
    ]
    first = rec["items"][0]
    assert first["claims_administrator_guideline"] == "Chronic Pain Medical Treatment Guidelines, page 99."
    assert first["maximus_guideline"].startswith("MTUS Chronic Pain Medical Treatment Guidelines")
    assert first["rationale"] == "The patient has had 24 sessions of therapy. The request is not medically necessary."
    assert rec["reviewer"]["specialties"] == ["Physical Medicine and Rehabilitation", "Pain Medicine"]
    assert rec["patient"] == {"age": 52, "sex": "male"}
    assert rec["summary"] == "The patient is a 52-year-old male who reported an injury on 04/13/2011."
    assert not [w for w in rec["warnings"] if w["severity"] == "error"]


# An early (2013) notice: each decision is one sentence, listed twice, with no labelled item sections;
# PDF extraction glued "not" to "medically".
DECISION_SENTENCES = """MAXIMUS FEDERAL SERVICES, INC. Notice of Independent Medical Review Determination
1) MAXIMUS Federal Services, Inc. has determined the request for a 28 day
functional restoration program is notmedically necessary and appropriate.
2) MAXIMUS Federal Services, Inc. has determined the request for a 6 month
follow-up aftercare program is medically necessary and appropriate.
INDEPENDENT MEDICAL REVIEW DECISION AND RATIONALE
1) MAXIMUS Federal Services, Inc. has determined the request for a 28 day
functional restoration program is notmedically necessary and appropriate.
2) MAXIMUS Federal Services, Inc. has determined the request for a 6 month
follow-up aftercare program is medically necessary and appropriate.
"""


def test_decision_sentences_give_items_when_no_item_is_labelled() -> None:
    rec = parse_bytes(DECISION_SENTENCES.encode(), "notice.txt", include_text=True)
    got = [(i["request"], i["decision"], i["decision_stated"]) for i in rec["items"]]
    assert got == [("28 day functional restoration program", "upheld", True),
                   ("6 month follow-up aftercare program", "overturned", True)]
    assert rec["outcome"] == "partially overturned"
    span = rec["fields"]["items.1.request"]
    assert " ".join(rec["text"][span["start"]:span["end"]].split()) == "a 6 month follow-up aftercare program"
    assert span["confidence"] < 0.8 and span["rule"] == "decision-sentence"
    assert any(w["code"] == "rationale-missing" for w in rec["warnings"])


# Text whose lines were joined into paragraphs (some converters do this): labels, headers and the
# previous rationale's last sentence all share one line.
JOINED = (
    "HOW THE IMR FINAL DETERMINATION WAS MADE MAXIMUS Federal Services sent the complete case file to an "
    "expert reviewer. The Expert Reviewer has the following credentials: State(s) of Licensure: California, "
    "South Carolina Certification(s)/Specialty: Preventive Medicine, Occupational Medicine\n\n"
    "CLINICAL CASE SUMMARY The injured worker is a 65 year old male with an industrial injury.\n\n"
    "IMR ISSUES, DECISIONS AND RATIONALES The Final Determination was based on decisions for the disputed "
    "items/services set forth below: Three months coverage of Viagra 50mg:  Overturned Claims Administrator "
    "guideline: The Claims Administrator did not cite any medical evidence for its decision. MAXIMUS "
    "guideline: Decision based on Non-MTUS Citation UpToDate. Decision rationale: The request is medically "
    "necessary. Treatment of PAH is described in \"the guidelines.\" The requested medication is medically "
    "necessary. 1 knee scooter: Upheld Claims Administrator guideline: Decision based on ODG. MAXIMUS "
    "guideline: Decision based on ODG. Decision rationale: The knee scooter is not medically necessary.\n"
)


def test_lines_joined_into_paragraphs_still_give_every_item_and_credential() -> None:
    rec = parse_bytes(JOINED.encode(), "joined.txt")
    assert rec["reviewer"]["licensure"] == ["California", "South Carolina"]
    assert rec["reviewer"]["specialties"] == ["Preventive Medicine", "Occupational Medicine"]
    got = [(i["request"], i["decision"], i["decision_stated"]) for i in rec["items"]]
    assert got == [("Three months coverage of Viagra 50mg", "overturned", True), ("1 knee scooter", "upheld", True)]
    assert rec["items"][0]["rationale"].endswith("The requested medication is medically necessary.")
    assert rec["items"][0]["claims_administrator_guideline"].startswith("The Claims Administrator did not cite")


def test_a_short_abbreviation_in_a_request_is_not_taken_for_a_sentence_end() -> None:
    text = JOINED.replace("1 knee scooter: Upheld", "\nConsult with Dr. Jones: Upheld")
    rec = parse_bytes(text.encode(), "abbrev.txt")
    assert rec["items"][1]["request"] == "Consult with Dr. Jones"
