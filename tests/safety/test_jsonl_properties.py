"""Property: no JSON Lines line, however odd, stops an import or makes a later export fail."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imr_desk.export import ExportSet, export_set
from imr_desk.store import Database
from tests.safety.conftest import SEEDS, letter_line

BASE = letter_line(SEEDS[0])
GOOD = letter_line(SEEDS[1])
ALL = ExportSet(status=["to review", "in review", "reviewed", "postponed"])

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30)
           | st.sampled_from(["", "\x00", "\ud800", "=1+1", "\uff1dX", "2016-02-31", "upheld", "reviewed", "-1"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
PATHS = ["case", "case.case_number", "case.decision_date", "reviewer", "reviewer.specialties", "patient.age",
         "patient.sex", "summary", "items", "items.0", "items.0.request", "items.0.decision", "outcome", "warnings",
         "fields", "fields.summary", "fields.summary.start", "text", "page_starts", "review", "review.status",
         "review.reviewed_at", "review.parser_values", "history", "annotations", "source", "source.sha256",
         "source.name", "layout", "schema"]


def _set(line: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node: Any = line
    for part in parts[:-1]:
        nxt = node[int(part)] if isinstance(node, list) and part.isdigit() and int(part) < len(node) else (
            node.get(part) if isinstance(node, dict) else None)
        if not isinstance(nxt, dict | list):
            nxt = {}
            if isinstance(node, dict):
                node[part] = nxt
        node = nxt
    if isinstance(node, dict):
        node[parts[-1]] = value
    elif isinstance(node, list) and parts[-1].isdigit() and int(parts[-1]) < len(node):
        node[int(parts[-1])] = value


@st.composite
def lines(draw: Any) -> bytes:
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "value", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200)).replace(b"\n", b" ")
    if kind == "value":
        return json.dumps(draw(values)).encode("utf-8", "surrogatepass")
    line = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        _set(line, draw(st.sampled_from(PATHS)), draw(values))
    line["source"] = dict(line["source"]) if isinstance(line.get("source"), dict) else line.get("source")
    return json.dumps(line, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=lines())
def test_a_random_line_never_stops_an_import_nor_breaks_an_export(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "set.jsonl"
        path.write_bytes(raw + b"\n" + json.dumps(GOOD).encode() + b"\n")
        with Database.open(folder / "r.db") as db:
            report = db.import_paths([path])
            assert any(label.startswith(f"{path}:line 2") for label in report.added), report
            lines_read = 2 if raw.removeprefix(b"\xef\xbb\xbf").strip() else 1  # a blank line is no line
            assert len(report.added) + len(report.failed) + len(report.duplicates) == lines_read
            for fmt, name in (("csv", "out"), ("jsonl", "out.jsonl"), ("xlsx", "out.xlsx"), ("sqlite", "out.db")):
                result = export_set(db, fmt, folder / name, ALL)
                assert result.count == len(report.added)
