"""The field catalogue: labels, paths, the difference of two records, the import's type checks."""

from __future__ import annotations

import copy

import pytest

from imr_desk.core import fields
from imr_desk.core.fields import FIELDS, Kind, diff, field_at, flatten, label_of
from imr_desk.store.jsonl import BadLine
from imr_desk.store.roundtrip import decode_line
from tests.core.conftest import real_pdfs


def test_every_path_reads_as_a_label() -> None:
    assert label_of("items.1.decision") == "Item 2: Decision"
    assert label_of("case.ur_denial_date") == "Case: UR denial date"
    assert label_of("case.case_number") == "Case number"
    assert label_of("reviewer.specialties.1") == "Reviewer: Specialties"
    assert label_of("items.count") == "Number of items"
    assert label_of("items.0") == "Item 1"
    assert label_of("annotations.7") == "Annotation"
    assert field_at("case.ur_denial_date").phrase() == "UR denial date"
    assert field_at("case.date_of_injury").phrase() == "date of injury"


def test_the_catalogue_covers_the_contracts_reviewable_values(schema) -> None:
    props = schema["properties"]
    wanted = {f"{part}.{key}" for part in ("case", "reviewer", "patient") for key in props[part]["properties"]}
    wanted |= {"summary"} | {f"items.*.{k}" for k in props["items"]["items"]["properties"]}
    assert {f.path for f in FIELDS} == wanted
    assert len({f.column for f in FIELDS}) == len(FIELDS)
    for f in FIELDS:
        assert f.kind in Kind and f.label and (f.kind is not Kind.CHOICE or f.vocabulary)


def test_diff_names_each_changed_value_by_path() -> None:
    from imr_desk.core import parse_file

    old = parse_file(real_pdfs()[0])
    new = copy.deepcopy(old)
    new["case"]["priority"] = "Expedited"
    new["items"][0]["decision"] = "overturned" if old["items"][0]["decision"] == "upheld" else "upheld"
    new["reviewer"]["specialties"] = [*old["reviewer"]["specialties"], "Pain Medicine"]
    new["items"].append({"request": "X-rays", "decision": "upheld"})
    n = len(old["items"])
    changes = [p for p, _o, _n in diff(old, new)]
    assert changes == ["items.count", "case.priority", "items.0.decision", f"items.{n}.decision",
                       f"items.{n}.request", "reviewer.specialties"]
    assert "items.0.rationale" in flatten(old) and "case.case_number" in flatten(old)
    same = copy.deepcopy(old)
    same["summary"] = "  ".join((old["summary"] or "x").split(" "))  # only whitespace differs
    assert list(diff(old, same)) == []


def test_diff_reads_values_as_the_clerk_does() -> None:
    """diff and the store's history rows use core/text.py's one "equal as a clerk reads it": a blank text
    is no value, a list's words compare collapsed, a yes/no is not the number 1."""
    from imr_desk.core import parse_file
    from imr_desk.store.records import changes

    old = parse_file(real_pdfs()[0])
    old["patient"]["sex"] = None
    old["items"][0]["decision_stated"] = True
    new = copy.deepcopy(old)
    new["patient"]["sex"] = "   "  # a blank text: no value, as before
    new["reviewer"]["specialties"] = [" ".join(w.split()).replace(" ", "  ") + " "
                                      for w in old["reviewer"]["specialties"]]
    assert list(diff(old, new)) == [] and changes(old, new) == []
    new["items"][0]["decision_stated"] = 1
    assert [p for p, _o, _n in diff(old, new)] == ["items.0.decision_stated"]
    # (the store's `changes` first compares whole items with ==, where True == 1: the record's Structs
    # keep a yes/no a bool, so a 1 never reaches it)


@pytest.mark.parametrize(("path", "value", "ok"), [
    ("case.priority", "Urgent", True), ("case.priority", "STAT", True), ("case.priority", 3, False),
    ("patient.sex", "female", True), ("patient.sex", "f", False), ("patient.age", 40, True),
    ("patient.age", True, False), ("reviewer.licensure", ["CA"], True), ("reviewer.licensure", "CA", False),
    ("case.decision_date", "2016-13-45", True),  # types, not formats: the checks tell the clerk
])
def test_the_import_checks_types_not_formats(path, value, ok) -> None:
    part, key = path.split(".")
    line = {part: {key: value}}
    try:  # the import decodes the line into the record's Structs
        decode_line({"source": {"name": "x.txt", "sha256": "0" * 64, "media_type": "text/plain"}, **line})
        typed_ok = True
    except BadLine as bad:
        assert str(bad).startswith(f"{path} should be ")
        typed_ok = False
    assert typed_ok is ok


def test_an_impossible_date_in_a_record_is_an_error_of_its_field() -> None:
    from imr_desk.core import parse_file
    from imr_desk.core.checks import check_record

    rec = parse_file(real_pdfs()[0])
    rec["case"]["decision_date"] = "2016-02-31"
    found = [w for w in check_record(rec) if w["code"] == "date-impossible"]
    assert [(w["path"], w["severity"]) for w in found] == [("case.decision_date", "error")]
    assert "February 2016 has no day 31" in found[0]["message"]
    assert not any(w["code"] == "dates-out-of-order" and w["path"] == "case.decision_date" for w in check_record(rec))


def test_values_from_selected_text() -> None:
    assert fields.value_from_text(field_at("items.0.decision"), "Overtumed.") == "overturned"  # OCR's look-alike
    assert fields.value_from_text(field_at("case.priority"), "expedited") == "Expedited"
    assert fields.value_from_text(field_at("patient.age"), "43 year old") == 43
    assert fields.value_from_text(field_at("reviewer.licensure"), "California, Nevada") == ["California", "Nevada"]
    with pytest.raises(fields.NotAValue, match="between 0 and 120"):
        fields.value_from_text(field_at("patient.age"), "150")
    with pytest.raises(fields.NotAValue, match="2 dates"):
        fields.value_from_text(field_at("case.decision_date"), "1/2/2016 to 3/4/2016")
