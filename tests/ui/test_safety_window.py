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


def _kept_edits(qtbot, open_window, db_path, request: str) -> int:
    """A window keeps a letter's edits in a recovery file (as closing with a refused save does) and closes."""
    window = open_window(db_path)
    lid = window.db.queue({}, limit=1)[0].id
    window.open_letter(lid)
    letter = window.session.letter
    record = dict(window.session.record)
    record["items"] = [dict(record["items"][0], request=request), *record["items"][1:]]
    window.session._keep(letter, window.session.version, record, None)
    window.close()
    return lid


def test_the_window_offers_to_restore_recovery_files_at_the_next_start(qtbot, open_window, db_path) -> None:
    from PySide6.QtWidgets import QMessageBox

    from imr_desk import paths
    from imr_desk.ui.recovery import offer

    lid = _kept_edits(qtbot, open_window, db_path, "Restored request")
    assert len(list((paths.data_dir() / "recovery").glob("*.json"))) == 1
    window = open_window(db_path)
    window.open_letter(lid)
    box = offer(window)
    assert box is not None and box.isVisible() and "1 letter(s)" in box.text()
    restore = next(b for b in box.buttons() if b.text() == "Restore")
    assert box.buttonRole(restore) == QMessageBox.ButtonRole.AcceptRole
    qtbot.mouseClick(restore, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.db.letter(lid).record["items"][0]["request"] == "Restored request", timeout=10_000)
    qtbot.waitUntil(lambda: window.session.value("items.0.request") == "Restored request", timeout=10_000)
    qtbot.waitUntil(lambda: not list((paths.data_dir() / "recovery").glob("*.json")), timeout=10_000)
    assert offer(window) is None  # nothing is offered twice
    assert any(h.reason == "restored from a recovery file" for h in window.db.history(lid))


def test_kept_edits_never_overwrite_a_later_change_and_can_be_discarded(qtbot, open_window, db_path) -> None:
    from imr_desk import paths
    from imr_desk.store import Database
    from imr_desk.ui.recovery import offer

    lid = _kept_edits(qtbot, open_window, db_path, "Kept request")
    with Database.open(db_path, user="bob") as other:  # bob changes the letter meanwhile
        letter = other.letter(lid)
        record = letter.record
        record["summary"] = "bob's summary"
        other.save_record(lid, record, letter.version)
    window = open_window(db_path)
    box = offer(window)
    assert box is not None
    qtbot.mouseClick(next(b for b in box.buttons() if b.text() == "Restore"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(h.path == "*rejected" for h in window.db.history(lid)), timeout=10_000)
    assert window.db.letter(lid).record["summary"] == "bob's summary"
    qtbot.waitUntil(lambda: not list((paths.data_dir() / "recovery").glob("*.json")), timeout=10_000)

    _kept_edits(qtbot, open_window, db_path, "Unwanted")
    box = offer(window)
    assert box is not None
    qtbot.mouseClick(next(b for b in box.buttons() if b.text() == "Discard them"), Qt.MouseButton.LeftButton)
    assert not list((paths.data_dir() / "recovery").glob("*.json"))
