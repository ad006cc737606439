"""OCR of scanned letters with the real engine (Tesseract), on scans made from the real letters.

Each page takes the engine a second or two, so these read one or two pages; whole letters are in
tests/core/test_ocr_letters.py, marked slow.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from imr_desk.core import letter_record, ocr, parse_bytes, read_letter
from imr_desk.core.reading import sha256_of
from imr_desk.core.record import to_dict
from tests.make_scans import make_scan, render_pages, save_scan, smudge

from .conftest import DATA

LETTER = DATA / "real" / "CM16-0221706.pdf"  # case CM16-0221706, 2 pages

pytestmark = pytest.mark.skipif(not ocr.available(), reason="Tesseract is not installed (packaging/bootstrap.sh)")


@pytest.fixture(scope="module")
def scan_page1(tmp_path_factory) -> bytes:
    """The letter's first page as an image-only PDF: 200 dpi, turned a degree, speckled."""
    out = tmp_path_factory.mktemp("scan") / "CM16-0221706.pdf"
    return make_scan(LETTER.read_bytes(), out, dpi=200, angle=1.0, pages=[0]).read_bytes()


def test_a_scanned_page_is_read_through_ocr_with_its_words_confidences(scan_page1: bytes) -> None:
    assert ocr.pdf_pages_without_text(scan_page1) == (1, [0])
    rec = parse_bytes(scan_page1, "CM16-0221706.pdf", include_text=True)
    assert rec["source"]["sha256"] == sha256_of(scan_page1)  # the original stays the identity
    assert rec["source"]["ocr"]["engine"] == "tesseract" and rec["source"]["ocr"]["pages"] == [1]
    assert rec["case"]["case_number"] == "CM16-0221706"
    assert rec["case"]["date_of_injury"] == "2016-10-16"
    assert rec["reviewer"]["licensure"] == ["California", "South Carolina"]
    prov = rec["fields"]["case.case_number"]
    assert rec["text"][prov["start"]:prov["end"]] == "CM16-0221706"
    assert 0.8 <= prov["ocr_confidence"] <= 1.0
    assert not any(w["code"] == "no-text-layer" for w in rec["warnings"])


def test_reading_a_pdf_finds_its_scanned_pages_on_the_way(scan_page1: bytes) -> None:
    """Extracting the text marks the pages OCR must read, so a text PDF is opened once, not twice."""
    import io

    import pypdfium2 as pdfium

    blank = pdfium.PdfDocument.new()
    blank.new_page(612, 792)
    buf = io.BytesIO()
    blank.save(buf)
    assert read_letter(scan_page1, "scan.pdf").textless_pages == [0]
    assert read_letter(LETTER.read_bytes(), LETTER.name).textless_pages == []
    assert read_letter(buf.getvalue(), "blank.pdf").textless_pages == []  # nothing drawn: nothing to read


def test_the_ocr_layer_lays_the_engines_words_over_the_page(scan_page1: bytes) -> None:
    layer = ocr.ocr_letter(scan_page1, "application/pdf", workers=1)
    assert layer is not None and layer.pages == [0] and layer.engine_version
    letter = read_letter(scan_page1, "scan.pdf", layer)
    # the engine's words are in the text, each with its confidence; specks and rules read as marks are not
    assert 0.9 * len(layer.words) < len(letter.ocr_words) <= len(layer.words)
    confs = {w.conf for w in layer.words}
    for start, end, conf in letter.ocr_words:
        assert letter.text[start:end].strip() == letter.text[start:end] != ""
        assert conf in confs
    at = letter.text.index("CM16-0221706")
    (case_conf,) = [c for s, e, c in letter.ocr_words if s == at and e == at + 12]
    assert case_conf == next(w.conf for w in layer.words if w.text == "CM16-0221706")
    assert "|" not in letter.text and "_" not in letter.text
    # the text layer is where the words are on the page: PDFium finds the case number in its box
    import pypdfium2 as pdfium

    case = next(w for w in layer.words if w.text == "CM16-0221706")
    doc = pdfium.PdfDocument(layer.pdf)
    tp = doc[0].get_textpage()
    h = doc[0].get_size()[1]
    x0, y0, x1, y1 = case.box
    assert "CM16-0221706" in tp.get_text_bounded(x0 - 2, h - y1 - 2, x1 + 2, h - y0 + 2)
    tp.close()
    doc.close()
    # words round-trip through their JSON
    assert ocr.OcrLayer.words_from_json(layer.words_json())[:20] == [
        ocr.OcrWord(w.page, w.text, tuple(round(v, 2) for v in w.box), round(w.conf, 3), w.line)  # type: ignore[arg-type]
        for w in layer.words[:20]]


def test_a_value_read_from_a_smudge_is_marked_uncertain(tmp_path: Path) -> None:
    dpi = 200
    page = render_pages(LETTER.read_bytes(), dpi)[0]
    clean = tmp_path / "clean.png"
    save_scan([page], clean, dpi)
    layer = ocr.ocr_letter(clean.read_bytes(), "image/png")
    assert layer is not None
    date = next(w for w in layer.words if w.text == "10/16/2016")  # the date of injury
    px = [round(v * dpi / 72) for v in date.box]
    smudged = tmp_path / "smudged.png"
    save_scan([smudge(page, (px[0] - 4, px[1] - 4, px[2] + 4, px[3] + 4))], smudged, dpi)

    before = to_dict(letter_record(read_letter(clean.read_bytes(), "clean.png", layer)))
    after = parse_bytes(smudged.read_bytes(), "smudged.png")
    assert before["case"]["date_of_injury"] == "2016-10-16"
    assert before["fields"]["case.date_of_injury"]["confidence"] >= 0.9
    prov = after["fields"].get("case.date_of_injury")
    assert prov is not None, "the smudged date was not read at all"
    assert prov["confidence"] < 0.8, prov  # the form's "uncertain": F8 and the confirmation flow stop here
    assert prov["ocr_confidence"] < before["fields"]["case.date_of_injury"]["ocr_confidence"]
    # the rest of the page is as sure as before
    assert after["fields"]["case.case_number"]["confidence"] == before["fields"]["case.case_number"]["confidence"]


def test_a_two_page_tiff_is_read_page_by_page(tmp_path: Path) -> None:
    tiff = make_scan(LETTER.read_bytes(), tmp_path / "fax.tiff", dpi=150, angle=0.8)
    rec = parse_bytes(tiff.read_bytes(), "fax.tiff", include_text=True)
    assert rec["source"]["file_media_type"] == "image/tiff"
    assert rec["source"]["media_type"] == "application/pdf" and rec["source"]["pages"] == 2
    assert rec["source"]["ocr"]["pages"] == [1, 2]
    assert rec["case"]["case_number"] == "CM16-0221706"
    assert rec["items"] and rec["items"][0]["decision"] == "upheld"
    text_pdf = parse_bytes(LETTER.read_bytes(), LETTER.name)
    assert rec["fields"]["items.0.rationale"]["page"] == text_pdf["fields"]["items.0.rationale"]["page"] == 2


def test_parse_reads_scans_and_no_ocr_skips_them(scan_page1: bytes, tmp_path: Path) -> None:
    scan = tmp_path / "CM16-0221706.pdf"
    scan.write_bytes(scan_page1)
    cmd = [sys.executable, "-m", "imr_desk", "parse"]
    with_ocr = subprocess.run([*cmd, str(scan)], capture_output=True, text=True, timeout=120)
    assert with_ocr.returncode == 0, with_ocr.stderr
    assert json.loads(with_ocr.stdout)["case"]["case_number"] == "CM16-0221706"
    without = subprocess.run([*cmd, "--no-ocr", str(scan)], capture_output=True, text=True, timeout=60)
    rec = json.loads(without.stdout)
    assert rec["case"]["case_number"] is None and "ocr" not in rec["source"]
    assert any(w["code"] == "no-text-layer" for w in rec["warnings"])


def test_a_missing_engine_is_said_plainly_and_the_scan_kept_for_review_by_hand(
        scan_page1: bytes, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IMR_DESK_TESSERACT", str(tmp_path / "no-such-tesseract"))
    assert not ocr.available()
    rec = parse_bytes(scan_page1, "scan.pdf")
    codes = {w["code"]: w["message"] for w in rec["warnings"]}
    assert "no-text-layer" in codes
    assert "apt-get install tesseract-ocr tesseract-ocr-eng" in codes["ocr-unavailable"]
    assert "error" not in rec
    png = tmp_path / "page.png"
    save_scan(render_pages(LETTER.read_bytes(), 100)[:1], png, 100)
    rec = parse_bytes(png.read_bytes(), "page.png")
    assert "error" not in rec and rec["source"]["pages"] == 1
    assert "no-text-layer" in {w["code"] for w in rec["warnings"]}


def test_a_text_pdf_is_not_ocr_d(tmp_path: Path) -> None:
    assert ocr.pages_to_ocr(LETTER.read_bytes(), "application/pdf") == []
    rec = parse_bytes(LETTER.read_bytes(), LETTER.name)
    assert "ocr" not in rec["source"]
    assert all("ocr_confidence" not in p for p in rec["fields"].values())
