"""The parser against the gold labels of the shared letters, as PDF and as seed-style text.

The comparison follows the contract's rules (case, whitespace and trailing punctuation ignored;
a rationale is right at 97% similarity), so a regression on any field of any letter fails here.
"""

from __future__ import annotations

import difflib
import re

import pytest

from imr_desk.core import parse_bytes, parse_file

from .conftest import DATA, gold, real_pdfs, seed_texts

CASE_FIELDS = ["case_number", "date_assigned", "date_of_injury", "decision_date", "ur_denial_date", "priority",
               "application_received"]
ITEM_TEXT = ["request", "original_request", "authorized", "claims_administrator_guideline", "maximus_guideline"]


def squash(s):
    if s is None:
        return None
    return re.sub(r"\s+", "", str(s).replace("Â§", "§")).casefold().rstrip(".,;:")


def similar(a, b):
    a, b = squash(a), squash(b)
    if a is None or b is None:
        return a == b
    return a == b or difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.97


def misses(rec: dict, g: dict, with_case: bool) -> list[str]:
    out = []
    if with_case:
        out += [f"case.{k}" for k in CASE_FIELDS if squash(g["case"][k]) != squash(rec["case"][k])]
    for k in ("licensure", "specialties"):
        if sorted(map(squash, g["reviewer"][k])) != sorted(map(squash, rec["reviewer"][k])):
            out.append(f"reviewer.{k}")
    out += [f"patient.{k}" for k in ("age", "sex") if g["patient"][k] != rec["patient"][k]]
    if len(g["items"]) != len(rec["items"]):
        return out + [f"items: {len(g['items'])} != {len(rec['items'])}"]
    for n, (gi, ri) in enumerate(zip(g["items"], rec["items"], strict=True)):
        out += [f"items.{n}.{k}" for k in ITEM_TEXT if squash(gi.get(k)) != squash(ri.get(k))]
        if gi["decision"] != ri["decision"]:
            out.append(f"items.{n}.decision")
        if gi.get("decision_stated", True) != ri["decision_stated"]:
            out.append(f"items.{n}.decision_stated")
        if not similar(gi.get("rationale"), ri.get("rationale")):
            out.append(f"items.{n}.rationale")
    return out


@pytest.mark.parametrize("path", real_pdfs(), ids=lambda p: p.stem)
def test_real_pdf_matches_gold(path):
    rec = parse_file(path)
    assert misses(rec, gold(path.stem), with_case=True) == []


@pytest.mark.parametrize("path", seed_texts(), ids=lambda p: p.stem)
def test_seed_text_matches_gold(path):
    rec = parse_file(path)
    assert misses(rec, gold(path.stem), with_case=True) == []


@pytest.mark.parametrize("path", real_pdfs()[::4], ids=lambda p: p.stem)
def test_real_letter_as_double_spaced_text_matches_gold(path):
    """The same letter as seed-style text (blank lines between lines, trailing spaces) reads the same."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(path)
    lines = []
    for page in doc:
        lines += [line + " " for line in page.get_textpage().get_text_range().replace("\r\n", "\n").split("\n")]
    doc.close()
    rec = parse_bytes("\n\n".join(lines).encode("utf-8"), path.stem + ".txt")
    assert misses(rec, gold(path.stem), with_case=True) == []


def test_every_provenance_span_holds_its_value():
    good = total = 0
    for path in real_pdfs() + seed_texts():
        rec = parse_file(path, include_text=True)
        for key, prov in rec["fields"].items():
            assert 0 <= prov["start"] <= prov["end"] <= len(rec["text"]), key
            value = rec
            for part in key.split("."):
                value = value[int(part)] if isinstance(value, list) else value[part]
            if not isinstance(value, str) or len(value) < 3 or re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                continue
            total += 1
            good += similar(rec["text"][prov["start"] : prov["end"]], value)
    assert total > 500
    assert good / total >= 0.97


def test_gold_folder_is_complete():
    assert len(list((DATA / "gold").glob("*.json"))) == len(real_pdfs()) + len(seed_texts())
