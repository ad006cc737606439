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
    order = [(h.path, h.new if h.path == path else None) for h in rows]
    typed_at = order.index((path, "2016-12-22"))
    confirmed_at = next(i for i, h in enumerate(rows) if h.path == HISTORY_PATH and h.new == {path: "2016-12-22"})
    assert typed_at < confirmed_at, order  # changed, then confirmed: in the order the clerk did it
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


def test_the_history_reads_in_plain_words_for_every_origin(qtbot, open_window, db_path, tmp_path):
    import re

    from imr_desk.export import ExportSet, export_set
    from imr_desk.store import Database
    from imr_desk.ui import history

    with Database.open(db_path, user="bob") as db:  # every origin: parser, clerk, confirmations, status,
        lid = letter_id_in(db, "CM16-0221706.pdf")  # annotations, re-parse, then an import of an export
        letter = db.letter(lid)
        record = letter.record
        record["items"][0]["request"] = "Viagra 100mg"
        record["reviewer"]["specialties"] = [*record["reviewer"]["specialties"], "Neurology"]
        record["case"]["ur_denial_date"] = None
        db.save_record(lid, record, letter.version)
        db.confirm_fields(lid, {"case.case_number": record["case"]["case_number"], "items.0.request": "Viagra 100mg"})
        db.remove_annotation(db.add_annotation(lid, 0, 12, "question", "is this the right case?"))
        db.set_status(lid, "postponed", reason="waiting for the file")
        db.set_status(lid, "reviewed")
        db.conn.execute("UPDATE letters SET parser_version = 'older'")
        db.reparse()
        export_set(db, "jsonl", tmp_path / "out.jsonl", ExportSet(ids=[lid]))
    moved = tmp_path / "moved.db"
    with Database.open(moved, user="carol") as db:
        assert db.import_paths([tmp_path / "out.jsonl"]).added
    w = open_window(moved)
    assert w.open_letter(1)
    w.do_history()
    lines = history_lines(w.dialog)
    text = "\n".join(lines)
    for raw in (r"\bitems\.\d", r"\b(case|reviewer|patient)\.[a-z_]+", r"\*confirmed", r"\*parser", r"annotations\.\d",
                r"\{'", r"\['", r"\bNone\b"):
        assert not re.search(raw, text), (raw, text)
    said = [line.split(" | ")[2] for line in lines]
    how = {line.split(" | ")[2]: line.split(" | ")[3] for line in lines}
    assert said[0] == "Letter read by the parser (version " + w.session.letter.parser_version + ")" or \
        said[0].startswith("Letter read by the parser")
    assert "Item 1 · Request changed from “Three months coverage of Viagra 50mg” to “Viagra 100mg”" in said
    assert "Reviewer · Specialties: added “Neurology”" in said
    assert any(s.startswith("Case · UR denial date emptied (it was “") for s in said), said
    confirmed = next(s for s in said if s.startswith("Confirmed 2 fields: "))
    assert "Case number “CM16-0221706”" in confirmed and "by bob at " in confirmed
    # the moved letter has no text (its export carried none): the annotation is named by its label and note
    assert "Annotation added: “question” (note: “is this the right case?”)" in said, "\n".join(said)
    assert any(s.startswith("Annotation removed: “question”") for s in said)
    assert "Status changed from “in review” to “postponed”" in said
    assert any(line.endswith("waiting for the file") for line in lines)
    reparsed = next(s for s in said if s.startswith("Read again by parser version "))
    assert "it was read by version older" in reparsed and how[reparsed] == "re-parse"
    imported = next(s for s in said if s.startswith("Imported with its history from "))
    assert "out.jsonl, line 1" in imported and how[imported] == "import"
    assert how["Reviewer · Specialties: added “Neurology”"] == "by hand"
    with Database.open(db_path) as db:  # where the letter's text is there, the annotation quotes it
        text = db.letter(lid).text
        added = next(h for h in db.history(lid) if h.path.startswith("annotations."))
    quoted = " ".join(text[:12].split())
    assert history.row(added, text)["what"] == (f"Annotation added: “question” on “{quoted}” "
                                                "(note: “is this the right case?”)")


def letter_id_in(db, name: str) -> int:
    return next(r.id for r in db.queue({}, limit=1000) if r.name == name)


def test_at_1280x720_the_form_needs_no_sideways_scrolling(qtbot, open_window, db_path):
    from PySide6.QtCore import QCoreApplication, QEvent

    w = open_window(db_path)  # (the offscreen screen is 800 wide: the form's needs are measured instead)
    assert w.open_letter(letter_id(w, "CM16-0221706.pdf"))
    w.form.confirm_and_next(w.form.field_paths()[0])  # the count line at its longest
    QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
    assert "Enter confirms a field" in w.form.confirm_count.text()
    pane = int(1280 * 0.32)  # the form's pane on a 1280-wide screen, as a first start lays it out
    needed = (w.form.body.minimumSizeHint().width() + w.form.verticalScrollBar().sizeHint().width()
              + 2 * w.form.frameWidth())
    assert needed <= pane, (needed, pane)  # the badges beside the fields stay in view, no sideways scrolling
    # the count line wraps rather than widening the form (at Xvfb's 1280x720 it pushed the ✓ badges out of view)
    assert w.form.confirm_count.minimumSizeHint().width() <= pane // 2, w.form.confirm_count.minimumSizeHint()


def test_a_value_the_clerk_reads_as_the_same_is_no_edit_and_no_changed_mark(qtbot, open_window, db_path):
    """The session and the form read values as core/text.py does: a blank text is no value, a list's
    words compare collapsed; a real change is an edit, marked changed, and undone."""
    w = open_window(db_path)
    assert w.open_letter(letter_id(w, "CM16-0221706.pdf"))
    s = w.session
    from imr_desk.core.fields import Kind

    empty = next(p for p, ed in w.form.editors.items() if ed.kind in (Kind.TEXT, Kind.LONG_TEXT) and not s.value(p))
    words = s.value("reviewer.specialties")
    assert words, "the letter names its reviewer's specialties"
    steps = s.undo_stack.count()
    s.set_value(empty, "   ")
    s.set_value("reviewer.specialties", [f"  {'  '.join(w.split())} " for w in words])
    assert s.undo_stack.count() == steps
    assert not s.field_state(empty).changed and not s.field_state("reviewer.specialties").changed
    assert w.form.editors["reviewer.specialties"].shows([f" {w} " for w in words])
    s.set_value("reviewer.specialties", [*words, "Pain Medicine"])
    assert s.undo_stack.count() == steps + 1 and s.field_state("reviewer.specialties").changed
    s.undo_stack.undo()
    assert s.value("reviewer.specialties") == words and not s.field_state("reviewer.specialties").changed
