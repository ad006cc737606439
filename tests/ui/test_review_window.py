"""The review window driven as a clerk would: keys, clicks, selections; checked in the widgets and the database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QDialog

from imr_desk.store import Database, StoreError
from imr_desk.ui.actions import ACTIONS, HelpPanel
from imr_desk.ui.dialogs import AnnotationDialog, HistoryDialog, ReasonDialog
from tests.ui.conftest import PDFS, SEEDS, TEXTS, letter_id

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """A key press where the clerk's focus is (the window's shortcuts included)."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, key, modifier)


def focus_field(qtbot, window, path: str):
    """Click into a form field, as the clerk does."""
    editor = window.form.editors[path]
    window.form.ensureWidgetVisible(editor.widget)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    editor.widget.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(lambda: window.session.focused_path == path)
    return editor.widget


def open_by_click(qtbot, window, name: str) -> int:
    """Click the letter's row in the queue."""
    lid = letter_id(window, name)
    view = window.queue.view
    row = window.queue.model.row_of(lid)
    assert row is not None
    rect = view.visualRect(window.queue.model.index(row, 1))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.session.letter_id == lid)
    return lid


def wait_saved(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.session.dirty, timeout=5000)


def stored(window, lid: int):
    """The letter as the database holds it now, read through a separate connection."""
    with Database.open(window.db_path, user="reader") as db:
        return db.letter(lid)


# -- import ----------------------------------------------------------------------------------------
def test_import_from_the_window_reports_a_bad_file_and_goes_on(qtbot, open_window, tmp_path):
    bad_zip = tmp_path / "broken.zip"
    bad_zip.write_bytes(b"PK\x03\x04 this is not a zip archive")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    w = open_window(tmp_path / "new.db")
    assert w.session.letter_id is None
    assert w.queue.model.rowCount() == 0
    with qtbot.waitSignal(w.importer.finished, timeout=120_000) as blocker:
        w.import_paths([*PDFS, SEEDS, bad_zip, empty])
        assert w.importer.progress.isVisible()
    report = blocker.args[0]
    assert report is not None
    assert len(report.added) >= 3 + 5
    failed = dict(report.failed)
    assert "broken.zip" in " ".join(failed)
    box = w.importer.report_box
    assert box is not None and box.isVisible()
    assert "broken.zip" in box.text() and "added" in box.text()
    box.close()
    assert not w.importer.progress.isVisible()
    n = w.db.queue_count({})
    assert w.queue.model.total() == n and n >= 8
    assert f"0 of {n} reviewed · {n} left to review" in w.queue.count_label.text()
    # the first letter to review is opened at once
    assert w.session.letter_id is not None
    # importing the same letters again adds nothing and says so
    with qtbot.waitSignal(w.importer.finished, timeout=120_000) as blocker:
        w.import_paths(PDFS)
    assert len(blocker.args[0].duplicates) == 3 and not blocker.args[0].added
    assert "3 already in the database" in w.importer.report_box.text()
    w.importer.report_box.close()


def test_import_can_be_cancelled(qtbot, open_window, tmp_path):
    w = open_window(tmp_path / "new.db")
    with qtbot.waitSignal(w.importer.finished, timeout=120_000) as blocker:
        w.import_paths([Path(__file__).resolve().parent.parent / "data" / "real"])
        w.importer.cancel()
    report = blocker.args[0]
    assert report.cancelled
    assert "cancelled" in w.importer.report_box.text()
    w.importer.report_box.close()
    assert w.db.queue_count({}) < 29


# -- the letter and its form -------------------------------------------------------------------------
def test_pdf_letter_shows_its_pages_and_the_highlight_follows_the_focused_field(qtbot, open_window, db_path):
    w = open_window(db_path)
    open_by_click(qtbot, w, "CM16-0221706.pdf")
    pdf = w.letter_view.pdf_view
    assert w.letter_view.current is pdf
    assert pdf.page_count() == 2
    qtbot.waitUntil(lambda: 0 in pdf.rendered_pages())
    focus_field(qtbot, w, "case.decision_date")
    first = pdf.focus_rects()
    assert first, "the decision date's source is highlighted"
    top_of_page_2 = pdf._pages[1].top
    assert all(r.bottom() < top_of_page_2 for r in first)  # on page 1, in the header table
    focus_field(qtbot, w, "items.0.rationale")
    second = pdf.focus_rects()
    assert second and second != first
    # the rationale is on page 2, and the view scrolled to it
    assert any(r.top() > top_of_page_2 for r in second)
    visible = pdf.mapToScene(pdf.viewport().rect()).boundingRect()
    assert visible.intersects(second[0])
    # the form marks the field in focus
    assert w.form.editors["items.0.rationale"].widget.property("focusedField") is True
    assert w.form.editors["case.decision_date"].widget.property("focusedField") is False


def test_clicking_a_highlight_in_the_letter_focuses_its_field(qtbot, open_window, db_path):
    w = open_window(db_path)
    open_by_click(qtbot, w, "CM16-0221706.pdf")
    pdf = w.letter_view.pdf_view
    rects = pdf.rects_for(*w.session.span_of("case.case_number")[:2])
    assert rects
    pdf.centerOn(rects[0].center())
    pos = pdf.mapFromScene(rects[0].center())
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    qtbot.mouseClick(pdf.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: w.session.focused_path == "case.case_number")
    assert w.form.editors["case.case_number"].widget.hasFocus()


def test_text_letter_highlight_and_fill_a_field_from_a_selection(qtbot, open_window, db_path):
    w = open_window(db_path)
    lid = open_by_click(qtbot, w, TEXTS[0].name)
    view = w.letter_view.text_view
    assert w.letter_view.current is view
    text = w.session.text.text
    focus_field(qtbot, w, "items.0.request")
    start, end = w.session.span_of("items.0.request")[:2]
    assert view.focus_span() == (start, end)
    # the clerk selects the words in the letter and presses Ctrl+D
    wanted = "Chronic pain psychology evaluation"
    s = text.index(wanted)
    w.letter_view.select_span(s, s + len(wanted))
    press(qtbot, w, Qt.Key.Key_D, CTRL)
    assert w.session.value("items.0.request") == wanted
    prov = w.session.record["fields"]["items.0.request"]
    assert (prov["start"], prov["end"], prov["rule"]) == (s, s + len(wanted), "clerk-selection")
    assert w.form.editors["items.0.request"].widget.text() == wanted
    assert w.form.editors["items.0.request"].badge.property("fieldState") == "changed"
    wait_saved(qtbot, w)
    letter = stored(w, lid)
    assert letter.record["items"][0]["request"] == wanted
    assert letter.record["fields"]["items.0.request"]["rule"] == "clerk-selection"
    assert letter.status == "in review"


def test_annotate_a_selection_then_remove_it(qtbot, open_window, db_path):
    w = open_window(db_path)
    lid = open_by_click(qtbot, w, TEXTS[0].name)
    text = w.session.text.text
    s = text.index("MTUS")
    w.letter_view.select_span(s, s + 4)
    press(qtbot, w, Qt.Key.Key_M, CTRL)
    dialog = w.dialog
    assert isinstance(dialog, AnnotationDialog) and dialog.isVisible()
    dialog.label.setCurrentText("question")
    qtbot.keyClicks(dialog.note, "which edition?")
    dialog.accept()
    qtbot.waitUntil(lambda: w.annotations.list.count() == 1)
    assert "question: which edition?" in w.annotations.list.item(0).text()
    assert w.side_tabs.tabText(1) == "Annotations (1)"
    notes = stored_annotations(w, lid)
    assert [(a.start, a.end, a.label, a.note, a.who) for a in notes] == [(s, s + 4, "question", "which edition?", "alice")]
    # shown in the letter as a highlight
    assert any(sp.key.startswith("annotation:") for sp in w.letter_view.text_view._spans)
    # removed from the panel: gone from view, kept in the database with who removed it
    w.annotations.list.setCurrentRow(0)
    qtbot.mouseClick(w.annotations.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.annotations.list.count() == 0)
    with Database.open(w.db_path) as db:
        assert db.annotations(lid) == []
        kept = db.annotations(lid, include_removed=True)
        assert kept[0].removed_by == "alice"


def test_a_new_annotation_label_is_typed_once_and_offered_next_time(qtbot, open_window, db_path):
    w = open_window(db_path)
    lid = open_by_click(qtbot, w, TEXTS[0].name)
    s = w.session.text.text.index("MTUS")
    w.letter_view.select_span(s, s + 4)
    press(qtbot, w, Qt.Key.Key_M, CTRL)
    dialog = w.dialog
    dialog.label.setCurrentText("")
    qtbot.keyClicks(dialog.label.lineEdit(), "guideline  edition")
    dialog.accept()
    qtbot.waitUntil(lambda: w.annotations.list.count() == 1)
    assert [a.label for a in stored_annotations(w, lid)] == ["guideline edition"]
    assert w.settings.annotation_labels()[-1] == "guideline edition"
    w.letter_view.select_span(s, s + 2)
    press(qtbot, w, Qt.Key.Key_M, CTRL)
    offered = [w.dialog.label.itemText(i) for i in range(w.dialog.label.count())]
    assert offered[:4] == ["extraction error", "illegible", "question", "note"] and "guideline edition" in offered
    w.dialog.reject()


def stored_annotations(w, lid):
    with Database.open(w.db_path) as db:
        return db.annotations(lid)


def test_fix_a_decision_checks_update_and_undo_redo(qtbot, open_window, db_path):
    w = open_window(db_path)
    lid = open_by_click(qtbot, w, "CM16-0221706.pdf")
    assert w.session.value("items.0.decision") == "upheld"
    assert w.checks.codes() == []
    combo = focus_field(qtbot, w, "items.0.decision")
    qtbot.keyClick(combo, Qt.Key.Key_Down)  # upheld -> overturned
    assert w.session.value("items.0.decision") == "overturned"
    # the checks panel sees the contradiction at once
    assert "decision-contradicts-rationale" in w.checks.codes()
    assert w.side_tabs.tabText(0) == "Checks (1)"
    assert w.form.editors["items.0.decision"].badge.property("fieldState") == "warning"
    wait_saved(qtbot, w)
    assert stored(w, lid).record["items"][0]["decision"] == "overturned"
    assert stored(w, lid).record["outcome"] == "overturned"
    # undo, wherever the focus is (the combo box must not take Ctrl+Z)
    press(qtbot, w, Qt.Key.Key_Z, CTRL)
    assert w.session.value("items.0.decision") == "upheld"
    assert combo.currentText() == "upheld"
    assert w.checks.codes() == []
    wait_saved(qtbot, w)
    assert stored(w, lid).record["items"][0]["decision"] == "upheld"
    press(qtbot, w, Qt.Key.Key_Z, CTRL | SHIFT)
    assert w.session.value("items.0.decision") == "overturned"
    wait_saved(qtbot, w)
    assert stored(w, lid).record["items"][0]["decision"] == "overturned"
    # a click on the check goes to its field
    focus_field(qtbot, w, "case.case_number")
    item = w.checks.list.item(0)
    rect = w.checks.list.visualItemRect(item)
    w.side_tabs.setCurrentWidget(w.checks)
    qtbot.mouseClick(w.checks.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: w.session.focused_path == "items.0.decision")


def test_mark_reviewed_lands_on_the_next_letter_to_review(qtbot, open_window, db_path):
    w = open_window(db_path)
    lid = open_by_click(qtbot, w, "CM16-0221706.pdf")
    expected_next = w.db.next_letter(lid)
    press(qtbot, w, Qt.Key.Key_Return, CTRL)
    qtbot.waitUntil(lambda: w.session.letter_id == expected_next)
    letter = stored(w, lid)
    assert letter.status == "reviewed" and letter.reviewed_by == "alice"
    assert w.queue.model.row_of(expected_next) == w.queue.view.currentIndex().row()
    assert "1 of 5 reviewed · 4 left to review" in w.queue.count_label.text()


def test_errors_block_reviewed_unless_a_reason_is_given(qtbot, open_window, db_path):
    w = open_window(db_path)
    lid = open_by_click(qtbot, w, "CM16-0221706.pdf")
    combo = focus_field(qtbot, w, "items.0.decision")
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert w.session.errors()
    press(qtbot, w, Qt.Key.Key_Return, CTRL)
    dialog = w.dialog
    assert isinstance(dialog, ReasonDialog) and dialog.isVisible()
    dialog.reject()
    assert w.session.letter_id == lid
    wait_saved(qtbot, w)
    assert stored(w, lid).status == "in review"
    press(qtbot, w, Qt.Key.Key_Return, CTRL)
    dialog = w.dialog
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()  # no reason: the dialog stays
    assert dialog.isVisible()
    qtbot.keyClicks(dialog.reason, "letter is wrong, checked with supervisor")
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: w.session.letter_id != lid)
    letter = stored(w, lid)
    assert letter.status == "reviewed"
    assert letter.status_reason == "letter is wrong, checked with supervisor"
    with Database.open(w.db_path) as db:
        rows = [h for h in db.history(lid) if h.path == "status" and h.new == "reviewed"]
    assert rows and rows[-1].reason == "letter is wrong, checked with supervisor" and rows[-1].who == "alice"


def test_postpone_with_a_reason(qtbot, open_window, db_path):
    w = open_window(db_path)
    lid = open_by_click(qtbot, w, TEXTS[1].name)
    press(qtbot, w, Qt.Key.Key_P, CTRL)
    dialog = w.dialog
    assert isinstance(dialog, ReasonDialog)
    qtbot.keyClicks(dialog.reason, "page 2 missing")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: stored(w, lid).status == "postponed")
    assert stored(w, lid).status_reason == "page 2 missing"
    # postponing moves on to the next letter to review, so the next Ctrl+Return cannot mark it reviewed
    qtbot.waitUntil(lambda: w.session.letter_id not in (None, lid))
    assert w.session.status in ("to review", "in review")
    qtbot.waitUntil(lambda: w.queue.model.data(w.queue.model.index(w.queue.model.row_of(lid), 0)) == "postponed")
    qtbot.waitUntil(lambda: "0 of 5 reviewed · 4 left to review" in w.queue.count_label.text())


def test_history_dialog_shows_the_changes(qtbot, open_window, db_path):
    w = open_window(db_path)
    open_by_click(qtbot, w, "CM16-0221706.pdf")
    editor = focus_field(qtbot, w, "reviewer.role")
    editor.selectAll()
    qtbot.keyClicks(editor, "physician reviewer")
    wait_saved(qtbot, w)
    press(qtbot, w, Qt.Key.Key_H, CTRL)
    dialog = w.dialog
    assert isinstance(dialog, HistoryDialog) and dialog.isVisible()
    table = dialog.table
    rows = [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]
    role = [r for r in rows if r[2].startswith("Reviewer · Role")]  # the field's label, not its path
    assert role and role[-1][1] == "alice"
    assert role[-1][2] == "Reviewer · Role changed from “expert reviewer” to “physician reviewer”"
    assert role[-1][3] == "by hand"
    assert any(r[2] == "Status changed from “to review” to “in review”" for r in rows)
    dialog.close()


def test_next_previous_letter_and_field_needing_attention(qtbot, open_window, db_path):
    w = open_window(db_path)
    first = open_by_click(qtbot, w, PDFS[0].name)
    press(qtbot, w, Qt.Key.Key_PageDown, CTRL)
    qtbot.waitUntil(lambda: w.session.letter_id != first)
    press(qtbot, w, Qt.Key.Key_PageUp, CTRL)
    qtbot.waitUntil(lambda: w.session.letter_id == first)
    open_by_click(qtbot, w, TEXTS[0].name)  # has a warning on item 2's rationale
    attention = w.form.attention_paths()
    assert "items.1.rationale" in attention
    press(qtbot, w, Qt.Key.Key_F8)
    assert w.session.focused_path in attention
    seen = {w.session.focused_path}
    for _ in range(len(attention)):
        press(qtbot, w, Qt.Key.Key_F8)
        seen.add(w.session.focused_path)
    assert seen == set(attention)


def test_help_lists_every_action_with_its_key(qtbot, open_window, db_path):
    w = open_window(db_path)
    press(qtbot, w, Qt.Key.Key_F1)
    panel = w.help_panel
    assert isinstance(panel, HelpPanel) and panel.isVisible()
    keys = set(panel.keys)
    for spec in ACTIONS:
        action = w.actions_[spec.name]
        assert not spec.shortcut or action.shortcut().toString() in keys or action.shortcut().toString(
            action.shortcut().SequenceFormat.NativeText) in keys
        assert any(action in m.actions() for m in (a.menu() for a in w.menuBar().actions()) if m)
    shortcuts = [w.actions_[s.name].shortcut().toString() for s in ACTIONS]
    assert len(shortcuts) == len(set(shortcuts)), "every action has its own key"
    panel.close()


def test_queue_filters_by_status_and_search(qtbot, open_window, db_path):
    w = open_window(db_path)
    lid = open_by_click(qtbot, w, "CM16-0221706.pdf")
    press(qtbot, w, Qt.Key.Key_Return, CTRL)
    qtbot.waitUntil(lambda: w.session.letter_id != lid)
    w.queue.status.setCurrentIndex(w.queue.status.findData("reviewed"))
    assert w.queue.model.rowCount() == 1 and w.queue.model.letter_id(0) == lid
    w.queue.status.setCurrentIndex(w.queue.status.findData("open"))
    assert w.queue.model.rowCount() == 4
    w.queue.status.setCurrentIndex(0)
    press(qtbot, w, Qt.Key.Key_F, CTRL)
    assert w.queue.search.hasFocus()
    qtbot.keyClicks(w.queue.search, "Viagra")
    qtbot.keyClick(w.queue.search, Qt.Key.Key_Return)
    assert [w.queue.model.letter_id(r) for r in range(w.queue.model.rowCount())] == [lid]
    assert "1 of 1 reviewed · 0 left to review · 1 shown" in w.queue.count_label.text()
    # the start of a word, a piece of a case number; and a search that finds nothing says so
    case = w.db.queue({"ids": [lid]})[0].case_number
    for query in ("Viag", case[:7], case[-5:]):
        w.queue.search.setText(query)
        w.queue.apply_filter()
        assert lid in [w.queue.model.letter_id(r) for r in range(w.queue.model.rowCount())], query
    w.queue.search.setText("Zzyzx")
    w.queue.apply_filter()
    assert w.queue.model.rowCount() == 0
    assert w.queue.empty_label.isVisible() and "No letters match “Zzyzx”" in w.queue.empty_label.text()
    assert not w.queue.view.isVisible()
    w.queue.search.clear()
    w.queue.apply_filter()
    assert w.queue.view.isVisible() and not w.queue.empty_label.isVisible()
    # the progress follows the batch in view
    w.queue.batch.setCurrentIndex(w.queue.batch.findData("test"))
    assert "1 of 5 reviewed" in w.queue.count_label.text()


# -- reopening, two windows --------------------------------------------------------------------------
def test_reopen_finds_everything_as_left(qtbot, open_window, db_path):
    w = open_window(db_path)
    w.resize(780, 700)  # the offscreen screen is 800 x 800
    lid = open_by_click(qtbot, w, "CM16-0230651.pdf")
    w.splitter.setSizes([200, 300, 280])
    sizes = w.splitter.sizes()
    editor = focus_field(qtbot, w, "items.0.request")
    editor.selectAll()
    qtbot.keyClicks(editor, "An edited request")
    w.close()  # saves the last edit, the layout and the letter
    assert stored(w, lid).record["items"][0]["request"] == "An edited request"
    again = open_window(db_path)
    assert again.session.letter_id == lid
    assert again.splitter.sizes() == sizes
    assert again.size() == w.size()
    assert again.form.editors["items.0.request"].widget.text() == "An edited request"
    assert again.session.status == "in review"


def test_a_second_window_cannot_edit_the_letter_the_first_holds(qtbot, open_window, db_path):
    first = open_window(db_path, user="alice")
    lid = open_by_click(qtbot, first, "CM16-0221706.pdf")
    qtbot.waitUntil(lambda: first.writer.idle)  # its lease is taken
    second = open_window(db_path, user="bob")
    second.open_letter(lid)
    assert second.session.read_only
    assert "alice" in second.session.read_only_reason
    assert second.form.banner.isVisible() and "alice" in second.form.banner.text()
    role = second.form.editors["reviewer.role"].widget
    assert role.isReadOnly()
    assert not second.form.editors["items.0.decision"].widget.isEnabled()
    # keys that would change it do nothing to the letter
    press(qtbot, second, Qt.Key.Key_Return, CTRL)
    assert second.session.letter_id == lid
    assert stored(second, lid).status == "to review"
    with pytest.raises(Exception, match="alice"):
        second.session.set_value("reviewer.role", "bob's edit")
    # the first window edits freely
    combo = focus_field(qtbot, first, "items.0.decision")
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    wait_saved(qtbot, first)
    # once the first window moves on, the second may take the letter
    first.close()
    second.open_letter(letter_id(second, TEXTS[0].name))
    second.open_letter(lid)
    assert not second.session.read_only
    assert second.session.value("items.0.decision") == "overturned"


# -- start-up ------------------------------------------------------------------------------------------
def test_first_run_opens_the_sample_letters(qtbot, imr_home):
    from imr_desk import paths
    from imr_desk.ui.app import build_window

    w = build_window(None, user="alice")
    qtbot.addWidget(w)
    try:
        assert w.db_path == paths.default_db_path()
        assert w.db.queue_count({}) == len(paths.sample_letters()) >= 3
        assert w.session.letter_id is not None
        assert w.windowIcon().isNull() is False
    finally:
        w.close()
    # the second start does not import them again
    w = build_window(None, user="alice")
    qtbot.addWidget(w)
    try:
        assert w.db.queue_count({}) == len(paths.sample_letters())
    finally:
        w.close()


def test_a_file_that_is_not_a_database_is_refused_with_a_message(qtbot, tmp_path):
    from imr_desk.ui.app import build_window

    bad = tmp_path / "notes.db"
    bad.write_bytes(b"these are not the droids" * 100)
    with pytest.raises(StoreError) as err:
        build_window(bad)
    assert str(bad) in err.value.clerk_message


def test_an_unexpected_error_is_logged_and_shown(qtbot, open_window, db_path, imr_home):
    from imr_desk.ui.app import ErrorHook, setup_logging

    w = open_window(db_path)
    log_path = setup_logging()
    hook = ErrorHook(log_path)
    try:
        raise RuntimeError("the printer caught fire")
    except RuntimeError as exc:
        hook(type(exc), exc, exc.__traceback__)
    assert hook.box is not None and hook.box.isVisible()
    assert "the printer caught fire" in hook.box.text()
    assert str(log_path) in hook.box.text()
    hook.box.close()
    for handler in __import__("logging").getLogger("imr_desk").handlers:
        handler.flush()
    assert "the printer caught fire" in log_path.read_text()
    assert w.isVisible()


def test_reopening_a_copy_of_a_database_is_independent(qtbot, open_window, db_path, tmp_path):
    """Settings remember the last letter per database file."""
    w = open_window(db_path)
    lid = open_by_click(qtbot, w, TEXTS[0].name)
    w.close()
    other = tmp_path / "other.db"
    shutil.copy(db_path, other)
    w2 = open_window(other)
    assert w2.session.letter_id != lid or w2.session.letter_id == w2.db.next_letter(None)


def _dialogs(window) -> list[QDialog]:
    return [d for d in window.findChildren(QDialog) if d.isVisible()]


def test_drop_files_on_the_window_imports_them(qtbot, open_window, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    w = open_window(tmp_path / "dropped.db")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in TEXTS])
    event = QDropEvent(QPointF(QPoint(50, 50)), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(w.importer.finished, timeout=60_000) as blocker:
        w.dropEvent(event)
    assert len(blocker.args[0].added) == 2
    w.importer.report_box.close()
    assert w.queue.model.rowCount() == 2


def test_item_boxes_kept_between_letters_show_and_edit_the_right_item(qtbot, open_window, db_path):
    """Switching between a 10-item and a 1-item letter reuses the item boxes: values and edits stay right."""
    w = open_window(db_path)
    big = open_by_click(qtbot, w, "CM16-0230651.pdf")
    items = w.session.record["items"]
    assert len(items) == 10
    open_by_click(qtbot, w, "CM16-0221706.pdf")
    visible = [b for b in w.form._item_boxes if b.isVisible()]
    assert len(visible) == 1 and not any(k.startswith("items.1.") for k in w.form.editors)
    assert w.form.editors["items.0.request"].value() == w.session.record["items"][0]["request"]
    open_by_click(qtbot, w, "CM16-0230651.pdf")
    assert [w.form.editors[f"items.{i}.request"].value() for i in range(10)] == [i["request"] for i in items]
    assert all(b.isVisible() for b in w.form._item_boxes) and len(w.form._item_boxes) == 10
    combo = focus_field(qtbot, w, "items.6.decision")
    qtbot.keyClick(combo, Qt.Key.Key_Down if items[6]["decision"] == "upheld" else Qt.Key.Key_Up)
    qtbot.waitUntil(lambda: not w.session.dirty)
    with Database.open(w.db_path) as db:
        stored = db.letter(big).record["items"]
    assert stored[6]["decision"] != items[6]["decision"]
    assert [i["decision"] for k, i in enumerate(stored) if k != 6] == [i["decision"] for k, i in enumerate(items)
                                                                       if k != 6]
