"""A scanned letter in the window: its page image with the text layer OCR laid under it, the fields'
highlights on the scan, and filling a field from a box drawn on the page (read by OCR where the page
has no text)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from imr_desk.core import ocr
from imr_desk.store import Database
from imr_desk.store.importing import add_letter
from tests.make_scans import make_scan
from tests.ui.conftest import REAL
from tests.ui.test_review_window import focus_field, open_by_click, press, stored, wait_saved

pytestmark = pytest.mark.skipif(not ocr.available(), reason="Tesseract is not installed (packaging/bootstrap.sh)")

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
LETTER = REAL / "CM16-0221706.pdf"


@pytest.fixture(scope="module")
def scan_db(tmp_path_factory) -> Path:
    """A database with the letter's first page as a speckled 200 dpi scan, read by OCR on import, and the
    same page as a second scan stored without OCR (as when the engine was missing)."""
    folder = tmp_path_factory.mktemp("scans")
    scan = make_scan(LETTER.read_bytes(), folder / "scan.pdf", dpi=200, pages=[0])
    plain = make_scan(LETTER.read_bytes(), folder / "unread.pdf", dpi=200, angle=0.0, pages=[0], seed=3)
    path = folder / "review.db"
    with Database.open(path, user="importer") as db:
        assert db.import_paths([scan]).added
        assert add_letter(db, plain.read_bytes(), "unread.pdf", "no ocr")[0] == "added"
    return path


def drag_box(qtbot, window, pdf, page: int, box: tuple[float, float, float, float]) -> None:
    """Shift+drag from the box's top left to its bottom right, as the clerk draws it."""
    top = pdf._pages[page].top
    a, b = QPointF(box[0], top + box[1]), QPointF(box[2], top + box[3])
    pdf.centerOn((a + b) / 2)
    pa, pb = pdf.mapFromScene(a), pdf.mapFromScene(b)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.mousePress(pdf.viewport(), Qt.MouseButton.LeftButton, SHIFT, pa)
    qtbot.mouseMove(pdf.viewport(), (pa + pb) / 2)
    qtbot.mouseRelease(pdf.viewport(), Qt.MouseButton.LeftButton, SHIFT, pb)


def test_a_scan_shows_its_fields_on_the_page_image_and_fills_a_field_from_a_box(
        qtbot, open_window, scan_db: Path, tmp_path: Path) -> None:
    import shutil

    db_path = tmp_path / "review.db"
    shutil.copy(scan_db, db_path)
    w = open_window(db_path)
    lid = open_by_click(qtbot, w, "scan.pdf")
    pdf = w.letter_view.pdf_view
    assert w.letter_view.current is pdf and pdf.page_count() == 1
    # the case number's source is outlined on the scan, where the engine found the word
    focus_field(qtbot, w, "case.case_number")
    rects = pdf.focus_rects()
    assert rects
    layer_word = next(x for x in _layer(db_path, lid).words if x.text == "CM16-0221706")
    x0, y0, x1, y1 = layer_word.box
    assert abs(rects[0].center().x() - (x0 + x1) / 2) < 6 and abs(rects[0].center().y() - (y0 + y1) / 2) < 6

    # draw a box around the date of injury and fill the (cleared) field from it
    focus_field(qtbot, w, "case.date_of_injury")
    w.session.set_value("case.date_of_injury", None)
    date = next(x for x in _layer(db_path, lid).words if x.text == "10/16/2016")
    box = (date.box[0] - 4, date.box[1] - 3, date.box[2] + 4, date.box[3] + 3)
    drag_box(qtbot, w, pdf, 0, box)
    assert pdf.selected_box() is not None
    focus_field(qtbot, w, "case.date_of_injury")
    press(qtbot, w, Qt.Key.Key_D, CTRL)
    qtbot.waitUntil(lambda: w.session.record["case"]["date_of_injury"] == "2016-10-16")
    prov = w.session.record["fields"]["case.date_of_injury"]
    assert prov["rule"] == "clerk-box" and prov["page"] == 1
    assert w.session.text.text[prov["start"]:prov["end"]] == "10/16/2016"
    wait_saved(qtbot, w)
    assert stored(w, lid).record["fields"]["case.date_of_injury"]["box"][0] == pytest.approx(box[0], abs=1)


def test_a_box_on_a_page_without_text_is_read_by_ocr(qtbot, open_window, scan_db: Path, tmp_path: Path) -> None:
    import shutil

    db_path = tmp_path / "review.db"
    shutil.copy(scan_db, db_path)
    w = open_window(db_path)
    open_by_click(qtbot, w, "unread.pdf")
    pdf = w.letter_view.pdf_view
    assert w.session.record["case"]["case_number"] is None  # nothing was read: a page image only
    focus_field(qtbot, w, "case.case_number")
    # the case number's cell of the header table (where the text letter prints it), a plain drag
    with Database.open(db_path) as db:
        text_pdf_word = _text_pdf_box(db, "CM16-0221706")
    top = pdf._pages[0].top
    box = (text_pdf_word[0] - 6, text_pdf_word[1] - 5, text_pdf_word[2] + 6, text_pdf_word[3] + 5)
    a, b = QPointF(box[0], top + box[1]), QPointF(box[2], top + box[3])
    pdf.centerOn((a + b) / 2)
    w.activateWindow()
    qtbot.mousePress(pdf.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pdf.mapFromScene(a))
    qtbot.mouseRelease(pdf.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       pdf.mapFromScene(b))
    assert pdf.selected_box() is not None
    focus_field(qtbot, w, "case.case_number")
    press(qtbot, w, Qt.Key.Key_D, CTRL)
    qtbot.waitUntil(lambda: w.session.record["case"]["case_number"] == "CM16-0221706", timeout=30_000)
    prov = w.session.record["fields"]["case.case_number"]
    assert prov["rule"] == "clerk-box-ocr" and prov["start"] == prov["end"] and len(prov["box"]) == 4


def _layer(db_path: Path, lid: int):
    from imr_desk.store.ocr_layers import load_layer

    with Database.open(db_path) as db:
        layer = load_layer(db, lid)
    assert layer is not None
    return layer


def _text_pdf_box(_db, word: str) -> tuple[float, float, float, float]:
    """Where the text PDF prints `word` (PDF points, top-left origin): the scan has it in the same place."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(LETTER.read_bytes())
    page = doc[0]
    tp = page.get_textpage()
    h = page.get_size()[1]
    text = tp.get_text_range()
    i = text.index(word)
    boxes = [tp.get_charbox(k) for k in range(i, i + len(word))]
    out = (min(b[0] for b in boxes), h - max(b[3] for b in boxes), max(b[2] for b in boxes), h - min(b[1] for b in boxes))
    tp.close()
    doc.close()
    return out



def test_importing_a_scan_in_the_window_shows_its_pages_read(qtbot, open_window, tmp_path: Path) -> None:
    scan = make_scan(LETTER.read_bytes(), tmp_path / "scan.png", dpi=150, pages=[0])
    w = open_window(tmp_path / "new.db")
    formats: list[str] = []
    w.importer.progressed.connect(lambda *_: formats.append(w.importer.progress.format()))
    with qtbot.waitSignal(w.importer.finished, timeout=120_000) as blocker:
        w.import_paths([scan])
    assert blocker.args[0] is not None and len(blocker.args[0].added) == 1
    assert "OCR of scan.png: page %v of %m" in formats  # the name shortened (…) only when it is long
