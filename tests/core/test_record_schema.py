"""Every record the parser writes follows the contract's JSON schema, bad files included."""

from __future__ import annotations

import jsonschema
import pytest

from imr_desk.core import parse_bytes, parse_file
from imr_desk.core.api import failed_record
from imr_desk.core.record import to_dict

from .conftest import real_pdfs, seed_texts


@pytest.mark.parametrize("path", real_pdfs()[:6] + seed_texts(), ids=lambda p: p.name)
def test_records_follow_the_schema(path, schema):
    rec = parse_file(path, include_text=True)
    jsonschema.validate(rec, schema)
    assert rec["source"]["name"] == path.name


@pytest.mark.parametrize(
    "data,name",
    [(b"", "empty.txt"), (b"%PDF-1.7 broken", "broken.pdf"), (bytes(range(256)) * 4, "x.bin"), (b"hello", "h.txt")],
)
def test_bad_files_still_follow_the_schema(data, name, schema):
    rec = parse_bytes(data, name)
    jsonschema.validate(rec, schema)


def test_a_failed_record_follows_the_schema(schema):
    rec = to_dict(failed_record("missing.pdf", "could not open the file: No such file"))
    jsonschema.validate(rec, schema)
    assert rec["error"].startswith("could not open")
