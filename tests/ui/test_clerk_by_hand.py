"""What a new clerk found trying the window by hand (issue 26's fixes on a real X server), each kept fixed:
the queue held a narrow window's letter to a sliver; the history's first page had rows two or three lines
too tall; "Import letters…" hid scans and a dropped scan was not imported; "Importing 1 item(s)…" stayed
in the status bar after the import's report."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from imr_desk.store import Database
from imr_desk.store.importing import ARCHIVE_SUFFIXES, EXPORT_SUFFIXES, LETTER_SUFFIXES
from imr_desk.ui.dialogs import HistoryDialog
from imr_desk.ui.main_window import IMPORT_FILTER
from tests.make_scans import make_scan
from tests.ui.conftest import REAL, letter_id
from tests.ui.huge import huge_letter

LONG_BATCH = "import 2026-12-08 01:00:27 from the claims office's second scanner"


def _settle() -> None:
    for _ in range(5):
        QApplication.processEvents()


def test_a_narrow_window_leaves_the_letter_room_beside_the_queue(qtbot, open_window, db_path, tmp_path) -> None:
    with Database.open(db_path, user="importer") as db:  # a batch with a long name in the batch filter
        assert len(db.import_paths([huge_letter(tmp_path, 3)], batch=LONG_BATCH).added) == 1
    w = open_window(db_path)
    assert w.open_letter(letter_id(w, "CM16-0221706.pdf"))
    w.queue.refresh_batches()
    assert w.queue.batch.findText(LONG_BATCH) >= 0
    w.resize(640, 700)
    _settle()
    queue, letter, form = w.splitter.sizes()
    # The two filter boxes were as wide as "Open (to review, in review)" and the batch's name, the count
    # under the list as wide as its sentence: the queue kept some 400 px and the letter got 86.
    assert w.queue.minimumSizeHint().width() <= 240, w.queue.minimumSizeHint()
    assert letter >= 200 and queue <= 260, w.splitter.sizes()
    pdf = w.letter_view.pdf_view
    assert pdf.isVisible() and pdf.horizontalScrollBar().maximum() == 0  # the page fits: no sideways scrolling
    assert "reviewed" in w.queue.count_label.text() and w.queue.count_label.height() > 0


def test_the_history_rows_are_as_tall_as_their_text(qtbot, open_window, db_path) -> None:
    w = open_window(db_path)
    assert w.open_letter(letter_id(w, "CM16-0221706.pdf"))
    long_summary = "The injured worker was seen again; " * 12
    with Database.open(db_path, user="bob") as db:
        lid = w.session.letter_id
        letter = db.letter(lid)
        record = letter.record
        record["summary"] = long_summary
        db.save_record(lid, record, letter.version)
    w.do_history()
    dialog = w.dialog
    assert isinstance(dialog, HistoryDialog)
    qtbot.waitExposed(dialog)
    _settle()
    table = dialog.table
    line = table.fontMetrics().lineSpacing()
    texts = [table.item(r, 2).text() for r in range(table.rowCount())]
    one_line = [r for r, t in enumerate(texts) if table.fontMetrics().horizontalAdvance(t) < table.columnWidth(2) - 20]
    assert one_line, texts
    for r in one_line:  # they were measured while the column was 100 px wide: 2-3 lines tall
        assert table.rowHeight(r) < 2 * line, (texts[r], table.rowHeight(r), line)
    long_row = next(r for r, t in enumerate(texts) if "seen again" in t)
    wide = table.rowHeight(long_row)
    dialog.resize(420, dialog.height())  # narrower: the long row wraps onto more lines, and grows
    _settle()
    assert table.rowHeight(long_row) > wide
    dialog.close()


def test_the_import_dialog_offers_every_kind_of_letter_the_import_reads() -> None:
    first = IMPORT_FILTER.split(";;")[0]
    for suffix in (*LETTER_SUFFIXES, *ARCHIVE_SUFFIXES, *EXPORT_SUFFIXES):
        assert f"*{suffix}" in first.split("(")[1].rstrip(")").split(), (suffix, first)
    assert "Scans (*.png *.jpg *.jpeg *.tif *.tiff)" in IMPORT_FILTER.split(";;")


def test_a_dropped_scan_is_imported_and_the_status_bar_does_not_keep_saying_importing(
        qtbot, open_window, tmp_path: Path) -> None:
    scan = make_scan((REAL / "CM16-0221706.pdf").read_bytes(), tmp_path / "CM16-0221706-scan.png", dpi=150,
                     pages=[0])
    w = open_window(tmp_path / "window.db")
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(scan))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(w.importer.finished, timeout=120_000) as blocker:
        w.dropEvent(event)  # a .png was filtered out: "Drop PDF or text letters…", and nothing imported
        assert w.status.currentMessage() == "Importing 1 item(s)…"
    assert len(blocker.args[0].added) == 1
    assert w.db.queue_count({}) == 1
    assert w.status.currentMessage() == ""
    w.importer.report_box.close()


def test_the_import_progress_fits_its_bar_whatever_the_file_is_called(qtbot, open_window, tmp_path: Path) -> None:
    from imr_desk.store.importing import ImportEvent

    w = open_window(tmp_path / "window.db")
    bar = w.importer.progress
    long_name = "/claims/scans/" + "CM16-0230651-second-request-from-the-claims-administrator" * 2 + ".tiff"
    for event in (ImportEvent(done=0, total=1, name="/claims/scans/CM16-0230651.tiff", outcome="ocr", pages=(1, 3)),
                  ImportEvent(done=0, total=1, name=long_name, outcome="ocr", pages=(2, 12)),
                  ImportEvent(done=3, total=140, name=long_name, outcome="added")):
        w.importer._stepped(event)
        text = bar.text()  # the format with its numbers filled in
        # "Reading CM16-0230651.tiff by OCR: page 1 of 3 done" was wider than the bar and ran onto a second line
        assert bar.fontMetrics().horizontalAdvance(text) <= bar.maximumWidth() - 8, text
        assert f"{bar.value()} of {bar.maximum()}" in text
        assert Path(event.name).name in bar.toolTip()
