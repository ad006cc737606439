"""The form reads the field catalogue and the one date module: dates typed or selected in any written
form, impossible ones refused with a message, every priority the letters carry shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from imr_desk.core.record import Priority
from imr_desk.store import Database
from imr_desk.ui.session import ReviewError
from tests.ui.conftest import TEXTS, letter_id


def type_into(qtbot, window, path: str, text: str) -> None:
    editor = window.form.editors[path]
    window.form.ensureWidgetVisible(editor.widget)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    editor.widget.setFocus(Qt.FocusReason.MouseFocusReason)
    editor.widget.selectAll()
    qtbot.keyClicks(editor.widget, text)
    qtbot.keyClick(editor.widget, Qt.Key.Key_Return)


def test_a_typed_date_is_read_by_the_date_module_and_an_impossible_one_refused(qtbot, open_window, db_path):
    w = open_window(db_path)
    assert w.open_letter(letter_id(w, "CM16-0221706.pdf"))
    said: list[str] = []
    w.session.message.connect(said.append)
    before = w.session.value("case.decision_date")
    type_into(qtbot, w, "case.decision_date", "2/31/2016")
    assert w.session.value("case.decision_date") == before  # refused: the record keeps its date
    assert any("February 2016 has no day 31" in m for m in said), said
    assert w.form.editors["case.decision_date"].widget.text() == "2/31/2016"  # kept, to be corrected
    qtbot.keyClick(w.form.editors["case.decision_date"].widget, Qt.Key.Key_Escape)
    assert w.form.editors["case.decision_date"].widget.text() == (before or "")
    type_into(qtbot, w, "case.date_of_injury", "3/4/55")  # two-digit years: one rule (core/dates.py)
    assert w.session.value("case.date_of_injury") == "1955-03-04"
    assert w.form.editors["case.date_of_injury"].widget.text() == "1955-03-04"
    type_into(qtbot, w, "case.ur_denial_date", "October 16, 2016")
    assert w.session.value("case.ur_denial_date") == "2016-10-16"
    qtbot.waitUntil(lambda: not w.session.dirty, timeout=5000)


def test_fill_from_a_selection_refuses_an_impossible_date(qtbot, open_window, db_path, tmp_path: Path):
    letter = tmp_path / "dated.txt"
    letter.write_text("Seen on 2/30/2015, injured 3/4/55.\n" + TEXTS[0].read_text(encoding="utf-8"), encoding="utf-8")
    with Database.open(db_path) as db:
        db.import_paths([letter])
    w = open_window(db_path)
    assert w.open_letter(letter_id(w, "dated.txt"))
    text = w.session.text.text
    w.form.focus_field("case.date_of_injury")
    start = text.index("2/30/2015")
    with pytest.raises(ReviewError, match="February 2015 has no day 30"):
        w.session.fill_from_selection(start, start + len("2/30/2015"))
    start = text.index("injured 3/4/55")
    w.session.fill_from_selection(start, start + len("injured 3/4/55"))  # the one date in the selection
    assert w.session.value("case.date_of_injury") == "1955-03-04"
    assert w.session.record["fields"]["case.date_of_injury"]["rule"] == "clerk-selection"


def test_every_priority_shows_and_one_outside_the_vocabulary_too(qtbot, open_window, db_path):
    w = open_window(db_path)
    assert w.open_letter(letter_id(w, "CM16-0221706.pdf"))
    combo = w.form.editors["case.priority"].widget
    offered = [combo.itemData(i) for i in range(combo.count())]
    assert offered == [None, *(p.value for p in Priority)]
    for word in ("Urgent", "Regular", "STAT"):
        w.session.set_value("case.priority", word)
        assert combo.currentText() == word  # never a dash for a value the record holds
    qtbot.waitUntil(lambda: not w.session.dirty, timeout=5000)
