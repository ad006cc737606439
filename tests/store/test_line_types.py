"""A JSON Lines line as types: every record the parser writes converts, and a part of the wrong type is
named by its own path in the report's words (no database: `decode_line` alone)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imr_desk.core import parse_file
from imr_desk.core.record import Record, to_dict
from imr_desk.store.jsonl import BadLine
from imr_desk.store.roundtrip import EXTRA_KEYS, ExportLine, decode_line
from tests.core.conftest import real_pdfs
from tests.core.test_record_struct import records

EXPORT_PARTS = {"page_starts": [0], "review": {"status": "reviewed", "reviewed_by": "alice",
                                                "parser_values": {"items.count": 1, "summary": "x"}},
                "history": [{"path": "summary", "old": "a", "new": {"any": ["json"]}, "who": "alice"}],
                "annotations": [{"start": 0, "end": 4, "label": "note", "quote": "kept aside"}]}
BASE = {**parse_file(real_pdfs()[0], include_text=True), **EXPORT_PARTS}
BASE["warnings"] = [*BASE["warnings"], {"path": None, "code": "sex-inferred", "severity": "info", "message": "m"}]

scalars = (st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=8)
           | st.sampled_from(["upheld", "reviewed", "error", "2016-02-31"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)
PATHS = ["case", "case.case_number", "reviewer", "reviewer.licensure", "patient.age", "patient.sex", "summary",
         "items", "items.0", "items.0.request", "items.0.decision", "items.0.decision_stated", "outcome",
         "warnings", "warnings.0", "warnings.0.severity", "fields", "fields.summary", "fields.summary.start",
         "fields.summary.confidence", "page_starts", "review", "review.status_at", "review.parser_values",
         "history", "history.0", "history.0.path", "annotations", "annotations.0", "annotations.0.label",
         "source", "source.media_type", "source.pages", "layout", "schema"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_every_record_the_parser_writes_converts_as_a_line(record: Record) -> None:
    line = {**json.loads(json.dumps(to_dict(record))), **EXPORT_PARTS}
    typed = decode_line(line)
    assert isinstance(typed, ExportLine)
    kept = {k: v for k, v in to_dict(typed).items() if k not in EXTRA_KEYS or k == "text"}
    assert kept == to_dict(record)


def _set(line: dict[str, Any], path: str, value: Any) -> None:
    node: Any = line
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHS), values)
def test_a_part_of_the_wrong_type_is_named_by_its_path(path: str, value: Any) -> None:
    line = copy.deepcopy(BASE)
    _set(line, path, value)
    try:
        decode_line(line)
    except BadLine as bad:
        message = str(bad)
        named = message.split(" should be ", 1)[0]
        assert " should be " in message and message.split(" should be ", 1)[1], message
        assert named.startswith(path) or path.startswith(named), (path, value, message)
        assert "Expected" not in message and "`" not in message  # the report's words, not msgspec's


@pytest.mark.parametrize(("path", "value", "message"), [
    ("review.parser_values", {"items.count": -1}, "review.parser_values.items.count should be a whole number"),
    ("fields", {"summary": {"start": 1}}, "fields.summary.end should be a whole number"),
    ("fields", {"case.case_number": {"start": 0, "end": "9"}}, "fields.case.case_number.end should be a whole "
                                                               "number, not '9'"),
    ("history", [{"who": "alice"}], "history.0.path should be a field path"),
    ("source", {"name": "x.txt", "sha256": "0" * 64}, "source.media_type should be text"),
    ("warnings", [{"code": "c", "severity": "error"}], "warnings.0.message should be text"),
    ("patient.sex", "f", "patient.sex should be 'male', 'female' or null, not 'f'"),
])
def test_the_report_names_the_part_and_what_it_should_be(path: str, value: Any, message: str) -> None:
    line = copy.deepcopy(BASE)
    _set(line, path, value)
    with pytest.raises(BadLine) as bad:
        decode_line(line)
    assert str(bad.value).startswith(message)


def test_a_catalogue_field_is_checked_as_the_structs_type_its_kind() -> None:
    """The check of a field the Structs do not declare yet (`_check_catalogue_extras`) types it by its
    kind as the Structs type their fields of that kind: for every declared field, the two agree on what
    a value must be, and on the values they refuse."""
    from imr_desk.core import fields
    from imr_desk.store.roundtrip import _bare, _kind_type, _step, _wanted

    odd: list[object] = [None, "x", 3, True, ["a"], ["a", 1], {"a": 1}, "upheld", "female", 2.5]
    for f in fields.FIELDS:
        declared: object = ExportLine
        for part in f.path.replace("*", "0").split("."):
            declared = _step(declared, int(part) if part.isdigit() else part)
        checked = _kind_type(f)
        assert _wanted(checked) == _wanted(declared), f.path
        for value in odd:
            if value is None and _bare(declared) in (bool, list[str]):
                continue  # no value: the check leaves it alone, the Struct gives its default
            assert _converts(value, checked) == _converts(value, declared), (f.path, value)


def _converts(value: object, annotation: object) -> bool:
    import msgspec

    try:
        msgspec.convert(value, annotation)
    except msgspec.ValidationError:
        return False
    return True
