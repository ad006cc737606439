"""The export dialog on a real database: choose, export in the background, see the result."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from PySide6.QtCore import Qt

from imr_desk.store import Database
from imr_desk.ui.export_dialog import ExportDialog
from tests.export.conftest import damage

# the offscreen platform says so for every top-level window; nothing to do with the dialog
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support (propagateSizeHints|raise)")


def make(qtbot, db: Database, **kw) -> ExportDialog:
    dialog = ExportDialog(db, None, **kw)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def choose_format(dialog: ExportDialog, fmt: str) -> None:
    dialog.format.setCurrentIndex(dialog.format.findData(fmt))


def test_export_reviewed_set_to_excel(qtbot, reviewed: Database, tmp_path: Path) -> None:
    dialog = make(qtbot, reviewed)
    assert dialog.count.text() == "5 letter(s) in this set."
    choose_format(dialog, "xlsx")
    assert dialog.destination.text().endswith(".xlsx")
    dialog.destination.setText(str(tmp_path / "week1"))
    with qtbot.waitSignal(dialog.exported, timeout=30_000) as blocker:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    result = blocker.args[0]
    assert result.destination == tmp_path / "week1.xlsx" and result.count == 5
    assert "Exported 5 letter(s)" in dialog.message.text() and "week1.xlsx.manifest.json" in dialog.message.text()
    assert dialog.progress.value() == 5 and dialog.progress.maximum() == 5
    assert dialog.export_button.isEnabled()  # ready for another export of the same set
    wb = openpyxl.load_workbook(tmp_path / "week1.xlsx")
    assert wb["Letters"].max_row == 6
    assert reviewed.queue_count({"exported": True}) == 5


def test_only_new_and_filters_update_the_count(qtbot, reviewed: Database, tmp_path: Path) -> None:
    dialog = make(qtbot, reviewed)
    dialog.status_boxes["postponed"].setChecked(True)
    assert dialog.count.text() == "6 letter(s) in this set."
    dialog.decision.setCurrentIndex(dialog.decision.findData("upheld"))
    upheld = int(dialog.count.text().split()[0])
    assert 1 <= upheld <= 6
    dialog.decision.setCurrentIndex(0)
    dialog.batch.setCurrentIndex(dialog.batch.findData("week1"))
    dialog.reviewer.setCurrentIndex(dialog.reviewer.findData("alice"))
    assert dialog.count.text() == "5 letter(s) in this set."  # reviewed by alice: the postponed one is not
    dialog.reviewer.setCurrentIndex(0)
    choose_format(dialog, "jsonl")
    dialog.destination.setText(str(tmp_path / "first.jsonl"))
    with qtbot.waitSignal(dialog.exported, timeout=30_000):
        dialog.start_export()
    dialog.only_new.setChecked(True)
    assert dialog.count.text() == "No letters in this set."
    assert not dialog.export_button.isEnabled()
    lines = (tmp_path / "first.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["review"]["status"] for x in lines] == ["reviewed"] * 5 + ["postponed"]


def test_an_existing_destination_is_refused_until_replace_is_ticked(qtbot, reviewed: Database, tmp_path: Path) -> None:
    (tmp_path / "set.jsonl").write_text("keep me")
    dialog = make(qtbot, reviewed)
    choose_format(dialog, "jsonl")
    dialog.destination.setText(str(tmp_path / "set.jsonl"))
    dialog.start_export()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=30_000)
    assert "already exists" in dialog.message.text()
    assert (tmp_path / "set.jsonl").read_text() == "keep me"
    dialog.replace.setChecked(True)
    with qtbot.waitSignal(dialog.exported, timeout=30_000):
        dialog.start_export()
    assert (tmp_path / "set.jsonl").read_text(encoding="utf-8").count("\n") == 5


def test_a_failure_is_shown_and_nothing_written(qtbot, reviewed: Database, tmp_path: Path) -> None:
    damage(reviewed, 2)
    dialog = make(qtbot, reviewed)
    choose_format(dialog, "csv")
    out = tmp_path / "exports"
    out.mkdir()
    dialog.destination.setText(str(out / "set"))
    dialog.start_export()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=30_000)
    assert "Letter 2" in dialog.message.text() and "damaged" in dialog.message.text()
    assert list(out.iterdir()) == []
    assert dialog.export_button.isEnabled()


def test_cancel_leaves_nothing(qtbot, reviewed: Database, tmp_path: Path) -> None:
    dialog = make(qtbot, reviewed)
    choose_format(dialog, "sqlite")
    out = tmp_path / "exports"
    out.mkdir()
    dialog.destination.setText(str(out / "set.db"))
    dialog.start_export()
    assert dialog.job is not None
    dialog.job.cancel_event.set()  # before the first letter is written: the export must stop
    qtbot.waitUntil(lambda: dialog.job is None, timeout=30_000)
    if dialog.export_result is None:
        assert dialog.message.text() == "The export was cancelled; nothing was written."
        assert list(out.iterdir()) == []
    else:  # it finished before the cancel was seen: then it is whole
        assert (out / "set.db").exists() and (out / "set.db.manifest.json").exists()


def test_selected_letters(qtbot, reviewed: Database, tmp_path: Path) -> None:
    dialog = make(qtbot, reviewed, ids=[2, 4, 7])
    assert dialog.count.text() == "2 letter(s) in this set."
    dialog.only_selected.setChecked(False)
    assert dialog.count.text() == "5 letter(s) in this set."


def test_closing_while_exporting_stops_the_export(qtbot, reviewed: Database, tmp_path: Path) -> None:
    dialog = make(qtbot, reviewed)
    choose_format(dialog, "xlsx")
    dialog.destination.setText(str(tmp_path / "x.xlsx"))
    dialog.start_export()
    dialog.reject()
    assert dialog.job is None
    assert not dialog.isVisible()


@pytest.mark.sqlite_only  # about the SQLite file (its name, its write lock)
def test_replace_never_replaces_the_review_database_or_a_folder_that_is_not_an_export(
        qtbot, reviewed: Database, db_path: Path, tmp_path: Path) -> None:
    dialog = make(qtbot, reviewed)
    dialog.replace.setChecked(True)
    choose_format(dialog, "sqlite")
    dialog.destination.setText(str(db_path.with_suffix("")))  # "review": the format's .db makes it the database
    dialog.start_export()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=30_000)
    assert "is the review database being exported" in dialog.message.text()
    assert dialog.export_result is None and dialog.export_button.isEnabled()
    with Database.open(db_path, user="check") as again:
        assert again.queue_count({}) == 8
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "letter to the board.docx").write_text("draft")
    choose_format(dialog, "csv")
    dialog.destination.setText(str(mine))
    dialog.start_export()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=30_000)
    assert "is not an earlier IMR Desk CSV export" in dialog.message.text()
    assert sorted(p.name for p in mine.iterdir()) == ["letter to the board.docx"]
    assert reviewed.queue_count({"exported": True}) == 0
    assert dialog.only_new.text() == "Only letters not exported since their last review"


@pytest.mark.sqlite_only  # about the SQLite file (its name, its write lock)
def test_the_export_records_itself_through_the_writer_once_the_lock_is_free(qtbot, reviewed: Database,
                                                                             tmp_path: Path) -> None:
    """The export reads and writes its files while another program holds the write lock (its own connection
    is read-only); only its record in the database waits for the lock, queued to the writer."""
    import sqlite3

    dialog = make(qtbot, reviewed)
    choose_format(dialog, "jsonl")
    dialog.destination.setText(str(tmp_path / "while-locked.jsonl"))
    other = sqlite3.connect(reviewed.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        dialog.start_export()
        qtbot.waitUntil(lambda: dialog.writer.waiting, timeout=30_000)
        assert (tmp_path / "while-locked.jsonl").read_text(encoding="utf-8").count("\n") == 5  # written
        assert "Recording the export" in dialog.message.text() and dialog.export_result is None
        assert reviewed.queue_count({"exported": True}) == 0
    finally:
        other.execute("ROLLBACK")
        other.close()
    with qtbot.waitSignal(dialog.exported, timeout=30_000) as blocker:
        pass
    assert blocker.args[0].export_id is not None
    assert reviewed.queue_count({"exported": True}) == 5
    assert "Exported 5 letter(s)" in dialog.message.text()


def test_the_keyboard_stays_where_it_was_after_an_export(qtbot, reviewed: Database, tmp_path: Path) -> None:
    """A clerk exports one format with Enter, then picks the next format with the arrow keys."""
    from PySide6.QtWidgets import QApplication

    dialog = make(qtbot, reviewed)
    dialog.destination.setText(str(tmp_path / "week1"))
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    dialog.format.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.format)
    with qtbot.waitSignal(dialog.exported, timeout=30_000):
        qtbot.keyClick(dialog.format, Qt.Key.Key_Return)  # the default button: Export
    qtbot.waitUntil(lambda: dialog.export_button.isEnabled())
    assert QApplication.focusWidget() is dialog.format, QApplication.focusWidget()
    qtbot.keyClick(dialog.format, Qt.Key.Key_Down)
    assert dialog.format.currentData() != "csv"
