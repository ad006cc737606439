"""What a clerk's QA session under a real window manager found (each test failed before its fix)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import PDFS, letter_id


def test_importing_a_letter_already_there_says_what_the_clerk_can_do_in_the_window(qtbot, open_window, db_path):
    w = open_window(db_path)
    there = letter_id(w, PDFS[1].name)
    assert w.session.letter_id != there
    with qtbot.waitSignal(w.importer.finished, timeout=60_000) as blocker:
        w.import_paths([PDFS[1]])
    assert blocker.args[0].duplicate_ids == [there]
    box = w.importer.report_box
    text = box.text()
    assert "Already in this database, so nothing was changed" in text
    assert f"{PDFS[1].name}: letter {there}" in text and "--" not in text  # no command-line flags in the window
    button = next(b for b in box.buttons() if b.objectName() == "openDuplicate")
    assert button.text() == f"Open letter {there}"
    button.click()
    qtbot.waitUntil(lambda: w.session.letter_id == there)
    current = w.queue.view.currentIndex()
    assert current.isValid() and w.queue.model.letter_id(current.row()) == there


def history_lines(dialog) -> list[str]:
    """Each row of the history dialog as the clerk reads it, cells joined by " | "."""
    t = dialog.table
    return [" | ".join(t.item(r, c).text() if t.item(r, c) else "" for c in range(t.columnCount()))
            for r in range(t.rowCount())]


def _type(qtbot, w, path: str, text: str, then=None) -> None:
    from PySide6.QtCore import Qt

    editor = w.form.editors[path]
    w.form.ensureWidgetVisible(editor.widget)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    editor.widget.setFocus(Qt.FocusReason.MouseFocusReason)
    editor.widget.selectAll()
    qtbot.keyClicks(editor.widget, text)
    if then is not None:
        qtbot.keyClick(editor.widget, then)


@pytest.mark.parametrize("typed, why", [("13/45/2016", "there is no month 13"),
                                        ("2016-02-31", "February 2016 has no day 31")])
def test_a_mistyped_date_is_refused_under_the_field_and_kept_until_corrected_or_esc(qtbot, open_window, db_path,
                                                                                   typed, why):
    from PySide6.QtCore import Qt

    w = open_window(db_path)
    first = letter_id(w, "CM16-0221706.pdf")
    assert w.open_letter(first)
    path = "case.decision_date"
    ed = w.form.editors[path]
    saved = w.session.value(path)
    assert saved
    _type(qtbot, w, path, typed, Qt.Key.Key_Tab)  # typed, then on to the next field
    assert w.session.value(path) == saved and not w.session.dirty  # not saved
    assert ed.widget.text() == typed  # not reverted: the clerk sees what they typed
    assert ed.error_label.isVisible() and why in ed.error_label.text() and "Esc" in ed.error_label.text()
    assert ed.widget.property("fieldState") == "refused"
    # another field's edit re-syncs the form: the typed text stays, still not saved
    _type(qtbot, w, "case.date_of_injury", "10/17/2016", Qt.Key.Key_Tab)
    assert w.session.value("case.date_of_injury") == "2016-10-17"
    assert ed.widget.text() == typed and w.session.value(path) == saved
    # Enter (confirm) and leaving the letter are refused while it stands; the text is not lost
    _type(qtbot, w, path, "", Qt.Key.Key_Return)
    assert not w.form.confirmations.is_confirmed(path) and ed.widget.text() == typed
    w.do_next_letter()
    assert w.session.letter_id == first and "Stayed on this letter" in w.statusBar().currentMessage()
    w.do_mark_reviewed_next()
    assert w.session.letter_id == first and w.session.status != "reviewed" and ed.widget.text() == typed
    # corrected: saved, the message goes
    _type(qtbot, w, path, "12/22/2016", Qt.Key.Key_Tab)
    assert w.session.value(path) == "2016-12-22" and ed.widget.text() == "2016-12-22"
    assert not ed.error_label.isVisible() and ed.widget.property("fieldState") != "refused"
    # mistyped again, then Esc: the record's value comes back
    _type(qtbot, w, path, typed, Qt.Key.Key_Tab)
    assert ed.widget.text() == typed
    ed.widget.setFocus()
    qtbot.keyClick(ed.widget, Qt.Key.Key_Escape)
    assert ed.widget.text() == "2016-12-22" and not ed.error_label.isVisible()
    w.do_next_letter()
    assert w.session.letter_id != first


def test_reverting_a_confirmed_field_records_the_revert_and_drops_the_confirmation(qtbot, open_window, db_path):
    from PySide6.QtCore import Qt

    from imr_desk.core.confirmations import HISTORY_PATH
    from imr_desk.ui.form import REVERT_REASON

    w = open_window(db_path)
    first = letter_id(w, "CM16-0221706.pdf")
    assert w.open_letter(first)
    path = "case.decision_date"
    parsed = w.session.value(path)
    w.form.focus_field(path)
    qtbot.keyClick(w.form.editors[path].widget, Qt.Key.Key_Return)  # the parser's value, confirmed
    _type(qtbot, w, path, "12/22/2016", Qt.Key.Key_Return)  # changed within seconds, and confirmed too
    assert w.session.value(path) == "2016-12-22" and w.form.confirmations.is_confirmed(path)
    w.form.focus_field(path)
    w.do_revert_field()  # Ctrl+R, at once: within the burst of typing that would fold the two edits away
    assert w.session.value(path) == parsed and not w.form.confirmations.is_confirmed(path)
    assert w.form.editors[path].badge.property("fieldState") != "confirmed"
    qtbot.waitUntil(lambda: not w.session.dirty and not w.session.writer.waiting, timeout=10_000)
    w.writer.wait_idle(10)
    rows = [h for h in w.db.history(first) if h.path in (path, HISTORY_PATH)]
    edits = [(h.old, h.new, h.reason) for h in rows if h.path == path]
    assert edits == [(parsed, "2016-12-22", None), ("2016-12-22", parsed, REVERT_REASON)], edits
    dropped = rows[-1]
    assert dropped.path == HISTORY_PATH and dropped.old == {path: "2016-12-22"} and REVERT_REASON in dropped.reason
    assert path not in w.db.confirmations(first)  # on reopening too, though the value is the one once confirmed
    # the history dialog tells the story in that order
    w.do_history()
    shown = history_lines(w.dialog)
    assert any("put back" in r for r in shown), shown


def test_the_queue_columns_show_their_longest_text_and_keep_the_widths_the_clerk_set(qtbot, open_window, db_path):
    from PySide6.QtGui import QFont

    from imr_desk.store import Database

    with Database.open(db_path, user="bob") as db:  # every status, and every outcome, in the queue
        ids = [r.id for r in db.queue({}, limit=10)]
        db.set_status(ids[0], "postponed", reason="waiting for the file")
        db.set_status(ids[1], "in review")
        db.set_status(ids[2], "reviewed")
        record = db.letter(ids[3]).record
        record["outcome"] = "partially overturned"
        db.save_record(ids[3], record, db.letter(ids[3]).version)
    w = open_window(db_path)
    view = w.queue.view
    texts = {w.queue.model.data(w.queue.model.index(r, 0)) for r in range(w.queue.model.rowCount())}
    assert {"postponed", "in review", "reviewed", "to review"} <= texts

    def fits(column: int) -> bool:  # the view's own measure of its widest cell (margins and all)
        return view.sizeHintForColumn(column) <= view.columnWidth(column)

    assert fits(0) and fits(4), (view.sizeHintForColumn(0), view.columnWidth(0), view.sizeHintForColumn(4),
                                 view.columnWidth(4))
    bigger = QFont(w.queue.font())
    bigger.setPointSizeF(bigger.pointSizeF() * 1.6)
    w.queue.setFont(bigger)  # a larger font (the desktop's setting): the columns follow
    assert fits(0) and fits(4), (view.sizeHintForColumn(0), view.columnWidth(0))
    w.queue.setFont(QFont())
    view.horizontalHeader().resizeSection(1, 173)  # the clerk widens the case column
    w.close()
    again = open_window(db_path)
    assert again.queue.view.columnWidth(1) == 173  # remembered
    assert again.queue.view.sizeHintForColumn(0) <= again.queue.view.columnWidth(0)


def test_f1_lists_every_key_the_window_has_whole_and_scrollable(qtbot, open_window, db_path):
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QAction, QKeySequence

    from imr_desk.ui.form import FORM_KEYS

    w = open_window(db_path)
    extra = QAction("Open a team server", w)  # an action added outside the table: listed all the same
    extra.setShortcut(QKeySequence("Ctrl+Shift+K"))
    w.addAction(extra)
    w.do_help()
    panel = w.help_panel
    qtbot.waitExposed(panel)
    native = QKeySequence.SequenceFormat.NativeText
    for action in w.findChildren(QAction):
        for key in action.shortcuts():
            if not key.isEmpty() and action.isVisible():
                assert any(key.toString(native) in k for k in panel.keys), (action.text(), key.toString())
    assert "Ctrl+Shift+K" in panel.keys
    assert "Enter" in panel.keys and "Shift+Enter" in panel.keys and "Esc" in panel.keys
    table = panel.table
    rows = [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())
            if table.item(r, 1) is not None]
    assert ("Enter", FORM_KEYS[0][1]) in rows and ("Shift+Enter", FORM_KEYS[1][1]) in rows
    assert "next field not confirmed" in FORM_KEYS[0][1] and "previous field" in FORM_KEYS[1][1]
    # nothing cut: every description fits its cell (wrapped), the keys their column; the list scrolls instead
    fm = table.fontMetrics()
    for r in range(table.rowCount()):
        for c in range(2):
            item = table.item(r, c)
            if item is None or table.columnSpan(r, c) > 1:
                continue
            width = table.columnWidth(c) - 8
            needed = fm.boundingRect(QRect(0, 0, width, 100_000), int(Qt.TextFlag.TextWordWrap), item.text())
            assert needed.width() <= width and needed.height() <= table.rowHeight(r), (item.text(), needed)
    assert table.verticalScrollBar().maximum() > 0 or table.viewport().height() >= sum(
        table.rowHeight(r) for r in range(table.rowCount()))
    avail = panel.screen().availableGeometry()
    assert panel.frameGeometry().height() <= avail.height() and panel.frameGeometry().width() <= avail.width()


def test_shift_enter_goes_back_a_field_and_makes_a_new_line_in_a_rationale(qtbot, open_window, db_path):
    from PySide6.QtCore import Qt

    w = open_window(db_path)
    assert w.open_letter(letter_id(w, "CM16-0221706.pdf"))
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    paths = w.form.field_paths()
    w.form.focus_field(paths[2])
    qtbot.keyClick(w.form.editors[paths[2]].widget, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert w.session.focused_path == paths[1] and QApplication.focusWidget() is w.form.editors[paths[1]].widget
    assert not w.form.confirmations.is_confirmed(paths[2])  # going back confirms nothing
    rationale = next(p for p in paths if p.endswith("rationale"))
    w.form.focus_field(rationale)
    before = w.form.editors[rationale].widget.toPlainText()
    qtbot.keyClick(w.form.editors[rationale].widget, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert w.session.focused_path == rationale
    assert w.form.editors[rationale].widget.toPlainText().count("\n") == before.count("\n") + 1
