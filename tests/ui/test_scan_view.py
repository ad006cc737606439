"""The letter view decodes only the pages it shows (issue 26): a long PDF, or a long scanned image file
not read by OCR, is rendered page by page as it scrolls into view, and the pages left far behind are
dropped, so a letter of any length costs what its pages in view do."""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw

from imr_desk.core import ocr, read_letter
from imr_desk.store import Database
from imr_desk.store.importing import add_letter
from imr_desk.ui import letter_view
from imr_desk.ui.letter_view import PdfLetterView
from tests.ui.conftest import REAL
from tests.ui.test_review_window import open_by_click

PAGES = 60


def long_tiff(pages: int = PAGES) -> bytes:
    """A scan of `pages` letter-size pages at 100 dpi, each with its number printed on it."""
    frames = []
    for i in range(pages):
        im = Image.new("L", (850, 1100), 255)
        ImageDraw.Draw(im).text((60, 60), f"page {i + 1}", fill=0)
        frames.append(im)
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", dpi=(100, 100), compression="tiff_lzw", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def long_pdf(pages: int = PAGES) -> bytes:
    src = pdfium.PdfDocument((REAL / "CM16-0221706.pdf").read_bytes())
    out = pdfium.PdfDocument.new()
    while len(out) < pages:
        out.import_pages(src)
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()


def scroll_through(qtbot, view: PdfLetterView) -> list[list[int]]:
    """Scroll from the first page to the last a step at a time; the pages rendered after each step."""
    bar = view.verticalScrollBar()
    steps = []
    while True:
        view._render_visible()  # what the scroll's timer does a moment later
        steps.append(view.rendered_pages())
        if bar.value() >= bar.maximum():
            return steps
        bar.setValue(bar.value() + bar.pageStep())


@pytest.mark.parametrize("kind", ["pdf", "tiff"])
def test_only_the_pages_in_view_are_decoded_and_far_ones_dropped(qtbot, kind: str, monkeypatch) -> None:
    data = long_pdf() if kind == "pdf" else long_tiff()
    decoded: list[int] = []
    if kind == "tiff":  # count the pages decoded (the real decoding runs)
        real_page = ocr.ScanImage.page
        monkeypatch.setattr(ocr.ScanImage, "page", lambda self, i, mode="L": (decoded.append(i),
                                                                              real_page(self, i, mode))[1])
    letter = read_letter(data, f"long.{kind}")
    assert letter.error is None and letter.pages == PAGES
    view = PdfLetterView()
    qtbot.addWidget(view)
    view.resize(800, 700)
    view.show()
    qtbot.waitExposed(view)
    view.show_letter(letter, data)
    assert view.page_count() == PAGES
    qtbot.waitUntil(lambda: 0 in view.rendered_pages())
    assert len(view.rendered_pages()) <= 2  # the first page and what shows of the next
    steps = scroll_through(qtbot, view)
    assert len(steps) > PAGES // 2  # a page at a time, or near it
    most = max(len(s) for s in steps)
    assert most <= 3 + letter_view.KEPT_PAGES, steps
    assert PAGES - 1 in steps[-1] and 0 not in steps[-1]  # at the end: the last page shown, the first dropped
    if kind == "tiff":
        assert len(decoded) <= PAGES + 3, decoded  # each page once on the way down (not all pages at the start)
        assert sorted(set(decoded)) == list(range(PAGES))
    # back to the top: the first page is decoded again, once
    before = len(decoded)
    view.go_to_start()
    view._render_visible()
    assert 0 in view.rendered_pages() and len(view.rendered_pages()) <= 3 + letter_view.KEPT_PAGES
    if kind == "tiff":
        assert 1 <= len(decoded) - before <= 2


def test_a_zoomed_page_is_rendered_no_larger_than_the_cap(qtbot) -> None:
    view = PdfLetterView()
    qtbot.addWidget(view)
    view.resize(800, 700)
    view.show()
    data = (REAL / "CM16-0221706.pdf").read_bytes()
    view.show_letter(read_letter(data, "letter.pdf"), data)
    view.set_zoom(5.0)
    view._render_visible()
    for page in view._pages:
        if page.rendered_scale > 0:
            pixmap = page.pixmap()
            assert pixmap.width() * pixmap.height() <= letter_view.MAX_PAGE_RENDER_PIXELS * 1.01


def test_the_window_shows_a_scan_not_read_by_ocr_from_its_image_file(qtbot, open_window, tmp_path: Path) -> None:
    path = tmp_path / "review.db"
    data = long_tiff(12)
    with Database.open(path, user="importer") as db:
        assert add_letter(db, data, "long.tiff", "no ocr")[0] == "added"  # stored without OCR
    w = open_window(path)
    open_by_click(qtbot, w, "long.tiff")
    pdf = w.letter_view.pdf_view
    assert w.letter_view.current is pdf and pdf.page_count() == 12
    assert w.session.data == data  # the image file itself: no PDF of all its pages made
    qtbot.waitUntil(lambda: 0 in pdf.rendered_pages())
    assert len(pdf.rendered_pages()) <= 3


@pytest.mark.skipif(not ocr.available(), reason="Tesseract is not installed (packaging/bootstrap.sh)")
def test_an_image_read_by_ocr_is_drawn_from_its_file_with_the_layers_text_over_it(qtbot, open_window,
                                                                                  tmp_path: Path) -> None:
    """The layer of an image file holds its pages' text only (a few KB a page, not the page images); the
    window decodes the image file's pages and puts the highlights on the layer's words."""
    from tests.make_scans import make_scan
    from tests.ui.test_review_window import focus_field

    scan = make_scan((REAL / "CM16-0221706.pdf").read_bytes(), tmp_path / "fax.tiff", dpi=200, angle=0.0)
    path = tmp_path / "review.db"
    with Database.open(path, user="importer") as db:
        assert db.import_paths([scan]).added
    from imr_desk.store.ocr_layers import load_layer

    with Database.open(path) as db:
        [row] = db.queue({}, limit=5)
        layer = load_layer(db, row.id)
    assert layer is not None and layer.pages == [0, 1]
    doc = pdfium.PdfDocument(layer.pdf)
    assert len(doc) == 2 and not [obj for i in range(2) for obj in doc[i].get_objects()
                                  if obj.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]  # text only
    doc.close()
    assert len(layer.pdf) < 40_000 * 2
    w = open_window(path)
    open_by_click(qtbot, w, "fax.tiff")
    pdf = w.letter_view.pdf_view
    assert w.session.data == scan.read_bytes() and pdf._scan is not None and pdf.page_count() == 2
    qtbot.waitUntil(lambda: 0 in pdf.rendered_pages())
    focus_field(qtbot, w, "case.case_number")
    rects = pdf.focus_rects()
    word = next(x for x in layer.words if x.text == "CM16-0221706")
    assert rects and abs(rects[0].center().x() - (word.box[0] + word.box[2]) / 2) < 6
    assert abs(rects[0].center().y() - (word.box[1] + word.box[3]) / 2) < 6
    box = (word.box[0] - 4, word.box[1] - 3, word.box[2] + 4, word.box[3] + 3)
    hit = pdf.box_words(0, box)
    assert hit is not None and hit[0] == "CM16-0221706"
