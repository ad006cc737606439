"""Scans beyond the limits (issue 26): refused with a clear "too large" or "too many pages" message,
measured from the file's headers before a page is decoded; a scan within them is still read.

The hostile files are made cheaply here: a TIFF of 1,001 tiny pages (half a megabyte), and a PNG of
30,000 x 30,000 black-and-white pixels written row by row through zlib (150 KB; decoded it would be
900 million pixels).
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from imr_desk.core import limits, ocr, parse_bytes, read_letter
from imr_desk.store import Database
from tests.make_scans import make_scan
from tests.safety.conftest import REAL, SEEDS

LETTER = REAL[0]  # CM16-0221706.pdf


@pytest.fixture(autouse=True)
def _pillow_limit_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests lower the limits; IMR Desk sets Pillow's from them: it is put back after each test."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)


def tiff_of_pages(pages: int, size: tuple[int, int] = (16, 16)) -> bytes:
    frames = [Image.new("L", size, 255) for _ in range(min(pages, 2))]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=[frames[i % len(frames)] for i in range(1, pages)])
    return buf.getvalue()


def huge_png(width: int, height: int) -> bytes:
    """A white 1-bit PNG of `width` x `height`, compressed row by row (never held decoded)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter byte "none", then the row's bits
    z = zlib.compressobj(6)
    idat = []
    rows_at_once = 256
    for start in range(0, height, rows_at_once):
        idat.append(z.compress(row * min(rows_at_once, height - start)))
    idat.append(z.flush())
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", b"".join(idat)) + chunk(b"IEND", b""))


def imr(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imr_desk", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def many_pages(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tiff") / "1001-pages.tiff"
    path.write_bytes(tiff_of_pages(1001))
    return path


@pytest.fixture(scope="module")
def bomb_png(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("png") / "30000px.png"
    path.write_bytes(huge_png(30_000, 30_000))
    assert path.stat().st_size < 1_000_000
    return path


def test_a_1001_page_tiff_is_refused_at_import_and_parse(many_pages: Path, tmp_path: Path) -> None:
    db = tmp_path / "review.db"
    run = imr("import", "--db", str(db), str(many_pages), str(SEEDS[0]))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    line = next(ln for ln in run.stderr.splitlines() if ln.startswith(f"imr-desk: {many_pages}:"))
    assert "the image has 1,001 pages" in line and "1,000 at most" in line and "Split it into its letters" in line
    assert "1 letter(s) added" in run.stdout and "1 failed" in run.stdout, run.stdout
    with Database.open(db) as store:
        assert [row.name for row in store.queue({}, limit=10)] == [SEEDS[0].name]  # the TIFF is not stored

    parse = imr("parse", str(many_pages))
    assert parse.returncode == 1 and "Traceback" not in parse.stderr
    assert "The image has 1,001 pages" in parse.stderr


def test_a_30000_pixel_png_is_refused_as_too_large_not_damaged(bomb_png: Path, tmp_path: Path) -> None:
    db = tmp_path / "review.db"
    run = imr("import", "--db", str(db), str(bomb_png))
    assert run.returncode == 1 and "Traceback" not in run.stderr
    line = next(ln for ln in run.stderr.splitlines() if ln.startswith(f"imr-desk: {bomb_png}:"))
    assert "too large" in line and "30,000 x 30,000 pixels" in line and "900 million" in line
    assert f"{limits.MAX_PAGE_PIXELS // 1_000_000} million pixels at most" in line and "Scan it again at 300 dpi" in line
    assert "damaged" not in line
    parse = imr("parse", str(bomb_png))
    assert parse.returncode == 1 and "Traceback" not in parse.stderr
    assert "too large" in parse.stderr and "30,000 x 30,000" in parse.stderr and "damaged" not in parse.stderr


def test_pillows_own_limit_is_the_pages_limit(bomb_png: Path) -> None:
    """The decompression-bomb guard is set on purpose: anything that opens an image through Pillow after
    IMR Desk has (the window, OCR) is stopped at twice a page's pixels even without IMR Desk's check."""
    with pytest.raises(ocr.ScanTooLarge):
        ocr.pages_to_ocr(bomb_png.read_bytes(), "image/png")
    assert Image.MAX_IMAGE_PIXELS == limits.MAX_PAGE_PIXELS
    with pytest.raises(Image.DecompressionBombError):
        Image.open(bomb_png)


def test_a_multi_page_tiff_over_the_page_limit_is_refused_like_a_pdf(db: Database, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_PAGES", 5)
    tiff = tmp_path / "six.tiff"
    tiff.write_bytes(tiff_of_pages(6, (850, 1100)))
    pdf = pdfium.PdfDocument.new()
    for _ in range(6):
        pdf.new_page(612, 792)
    pdf_path = tmp_path / "six.pdf"
    pdf.save(pdf_path)
    pdf.close()
    report = db.import_paths([tiff, pdf_path, SEEDS[0]])
    reasons = dict(report.failed)
    assert set(reasons) == {str(tiff), str(pdf_path)}, report.failed
    assert reasons[str(tiff)] == reasons[str(pdf_path)].replace("the PDF", "the image")
    assert "has 6 pages; a letter has a few (5 at most)" in reasons[str(tiff)]
    # a TIFF of as many pages as the limit allows is stored (a scan without OCR text: for review by hand)
    five = tmp_path / "five.tiff"
    five.write_bytes(tiff_of_pages(5, (850, 1100)))
    assert read_letter(five.read_bytes(), five.name).error is None
    assert read_letter(tiff.read_bytes(), tiff.name).error == limits.sentence(reasons[str(tiff)])


def test_a_page_or_a_scan_of_too_many_pixels_is_refused_before_decoding(db: Database, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_PAGE_PIXELS", 850 * 1100 - 1)
    one = tmp_path / "page.png"
    Image.new("L", (850, 1100), 255).save(one, dpi=(100, 100))
    report = db.import_paths([one])
    [(_label, reason)] = report.failed
    assert "too large: page 1 is 850 x 1,100 pixels" in reason
    monkeypatch.setattr(limits, "MAX_PAGE_PIXELS", 850 * 1100)
    monkeypatch.setattr(limits, "MAX_LETTER_PIXELS", 3 * 850 * 1100 - 1)
    three = tmp_path / "three.tiff"
    three.write_bytes(tiff_of_pages(3, (850, 1100)))
    report = db.import_paths([three])
    [(_label, reason)] = report.failed
    assert "the scan is too large: its 3 pages hold" in reason and "Split it into its letters" in reason


def test_a_pdf_page_too_large_to_render_for_ocr_is_refused(db: Database, tmp_path: Path) -> None:
    """A 200 x 200 inch page holding a 100 x 100 pixel image (a 0.5 dpi "scan"): rendered for OCR it would
    be 14,400 x 14,400 pixels."""
    buf = io.BytesIO()
    Image.new("L", (100, 100), 128).save(buf, "PDF", resolution=0.5)
    path = tmp_path / "poster.pdf"
    path.write_bytes(buf.getvalue())
    assert ocr.pdf_pages_without_text(path.read_bytes()) == (1, [0])
    report = db.import_paths([path])
    [(_label, reason)] = report.failed
    assert "page 1 is too large to read: it is 200 x 200 inches" in reason and "14,400 x 14,400 pixels" in reason
    rec = parse_bytes(path.read_bytes(), path.name)
    assert "too large" in rec["error"]
    assert "error" not in parse_bytes(path.read_bytes(), path.name, ocr=False)  # not decoded: nothing refused


@pytest.mark.skipif(not ocr.available(), reason="Tesseract is not installed (packaging/bootstrap.sh)")
def test_a_scan_at_the_limit_is_still_read(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scan = make_scan(LETTER.read_bytes(), tmp_path / "scan.png", dpi=200, pages=[0])
    with Image.open(scan) as im:
        width, height = im.size
    monkeypatch.setattr(limits, "MAX_PAGE_PIXELS", width * height)  # exactly a page's worth
    monkeypatch.setattr(limits, "MAX_LETTER_PIXELS", width * height)
    report = db.import_paths([scan])
    assert len(report.added) == 1, report.failed
    assert db.letter(report.added_ids[0]).record["case"]["case_number"] == "CM16-0221706"


@pytest.mark.skipif(not ocr.available(), reason="Tesseract is not installed (packaging/bootstrap.sh)")
def test_a_scan_stored_before_the_limits_is_refused_by_ocr_and_never_decoded(db: Database, many_pages: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1,001-page TIFF an earlier version stored (with a warning): `imr-desk ocr` says why it is not
    read, and reading it for the window measures it and stops, decoding nothing."""
    from imr_desk.store.importing import add_letter
    from imr_desk.store.reocr import ocr_stored

    monkeypatch.setattr(limits, "MAX_PAGES", 2000)  # as the earlier version let it in (stored without OCR)
    outcome, _message, lid = add_letter(db, many_pages.read_bytes(), many_pages.name, "before")
    assert outcome == "added" and lid is not None
    monkeypatch.setattr(limits, "MAX_PAGES", 1000)
    decoded: list[int] = []
    real_page = ocr.ScanImage.page
    monkeypatch.setattr(ocr.ScanImage, "page", lambda self, i, mode="L": (decoded.append(i), real_page(self, i, mode))[1])
    result = ocr_stored(db)
    assert result.read == [] and result.failed == [(lid, limits.too_many_pages(1001, "the image"))]
    letter = read_letter(db.letter_file(lid), many_pages.name)
    assert letter.error is not None and "1,001 pages" in letter.error
    assert decoded == []
