"""The window's search box takes any text: quotes and NUL used to be an FTS5 syntax error mid-reset."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import Qt


@pytest.mark.parametrize("typed", ['"', 'pain "back', "x\x00y", "NEAR(", "*", "-", "'"])
def test_quotes_and_nul_in_the_search_box_filter_without_an_error(qtbot, open_window, db_path, typed) -> None:
    window = open_window(db_path)
    errors: list[BaseException] = []
    hook, sys.excepthook = sys.excepthook, lambda kind, exc, tb: errors.append(exc)
    try:
        panel = window.queue
        panel.search.setFocus()
        qtbot.keyClicks(panel.search, typed.replace("\x00", ""))
        if "\x00" in typed:
            panel.search.setText(typed)  # pasted: a NUL cannot be typed
        qtbot.keyClick(panel.search, Qt.Key.Key_Return)
        qtbot.wait(50)
    finally:
        sys.excepthook = hook
    assert not errors, errors
    model = panel.model
    assert model.rowCount() == model.total() == window.db.queue_count({"search": typed})
    panel.search.clear()
    qtbot.keyClick(panel.search, Qt.Key.Key_Return)
    assert model.rowCount() == 5
