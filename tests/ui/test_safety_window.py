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


def test_a_letter_a_killed_window_held_opens_for_editing_at_once(qtbot, open_window, db_path) -> None:
    from tests.safety.test_leases import _lease_by_a_killed_window

    _lease_by_a_killed_window(db_path, 1)
    window = open_window(db_path)
    window.open_letter(1)
    assert window.session.letter_id == 1
    assert not window.session.read_only, window.session.read_only_reason


def test_a_letter_opens_read_only_when_its_lease_cannot_be_written(qtbot, open_window, db_path) -> None:
    """A full disk: no file may grow (RLIMIT_FSIZE, a real kernel limit), so taking the lease fails."""
    import resource
    import signal

    window = open_window(db_path)
    window.open_letter(1)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1, old_limit[1]))
    try:
        window.open_letter(2)
        qtbot.waitUntil(lambda: window.session.read_only, timeout=10_000)  # the lease is written in the background
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)
    assert window.session.letter_id == 2
    assert window.session.read_only and "read-only" in window.session.read_only_reason
    assert window.form.banner.isVisible()
    assert window.session.record.get("case", {}).get("case_number")
