"""The record's types read and write the contract's JSON exactly as the parser writes it."""

from __future__ import annotations

import json

import jsonschema
import pytest

from imr_desk.core import parse_bytes, parse_file
from imr_desk.core.api import failed_record
from imr_desk.core.record import (
    STATUSES,
    BadRecord,
    Decision,
    Item,
    Priority,
    Record,
    Severity,
    empty_item,
    from_dict,
    outcome_of,
    to_dict,
)
from tests.core.conftest import real_pdfs, seed_texts


@pytest.mark.parametrize("path", real_pdfs() + seed_texts(), ids=lambda p: p.name)
def test_every_parsed_record_reads_and_writes_back_byte_for_byte(path) -> None:
    for include_text in (False, True):
        raw = parse_file(path, include_text=include_text)
        record = from_dict(raw)
        assert isinstance(record, Record) and all(isinstance(i, Item) for i in record.items)
        assert json.dumps(to_dict(record), ensure_ascii=False) == json.dumps(raw, ensure_ascii=False)


def test_bad_files_and_error_records_read_and_write_back() -> None:
    for raw in (to_dict(failed_record("gone.pdf", "could not open the file")), parse_bytes(b"%PDF-1.7 broken", "x.pdf"),
                parse_bytes(b"", "empty.txt")):
        assert to_dict(from_dict(raw)) == raw
        assert list(to_dict(from_dict(raw))) == list(raw)  # the keys in the parser's order


def test_types_follow_the_contract(schema) -> None:
    record = from_dict(parse_file(real_pdfs()[0]))
    record.items.append(Item(request="Physical therapy", decision=Decision.OVERTURNED))
    jsonschema.validate(to_dict(record), schema)
    assert to_dict(record)["items"][-1]["decision"] == "overturned"


def test_a_dict_of_the_wrong_shape_is_refused_with_the_place() -> None:
    raw = parse_file(real_pdfs()[0])
    raw["items"][0]["decision"] = "maybe"
    with pytest.raises(BadRecord, match=r"items\[0\]\.decision"):
        from_dict(raw)


def test_enums_carry_every_value_the_letters_and_the_contract_use(schema) -> None:
    assert [d.value for d in Decision] == [v for v in schema["properties"]["items"]["items"]["properties"]
                                           ["decision"]["enum"] if v]
    assert [s.value for s in Severity] == schema["properties"]["warnings"]["items"]["properties"]["severity"]["enum"]
    seen = {parse_file(p)["case"]["priority"] for p in real_pdfs()} - {None}
    assert seen and seen <= {p.value for p in Priority}
    assert STATUSES == ("to review", "in review", "reviewed", "postponed")


def test_outcome_and_a_new_item() -> None:
    assert outcome_of([{"decision": "upheld"}, {"decision": "upheld"}]) == "upheld"
    assert outcome_of([{"decision": "upheld"}, {"decision": "overturned"}]) == "partially overturned"
    assert outcome_of([{"decision": None}]) is None
    assert empty_item() == {"request": "", "original_request": None, "authorized": None, "decision": None,
                            "decision_stated": True, "claims_administrator_guideline": None,
                            "maximus_guideline": None, "rationale": None}


def test_the_command_line_offers_every_status() -> None:
    """The CLI keeps its status words literal (it starts without loading the parser); they are the enum's."""
    from imr_desk.cli import export

    option = next(p for p in export.params if p.name == "statuses")
    assert tuple(option.type.choices) == STATUSES
