"""The window shows and logs no database error's text and no password (the error box, its details, the log)."""

from __future__ import annotations

import logging
import sqlite3

from imr_desk.ui.app import ErrorHook, setup_logging


def test_an_unexpected_database_error_shows_no_letter_text(qtbot, imr_home) -> None:
    log_path = setup_logging()
    hook = ErrorHook(log_path)
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE contents (text TEXT)")
    conn.execute("INSERT INTO contents VALUES (CAST(? AS TEXT))", (b"Claimant Janet Private-Example " + b"\xff",))
    try:
        try:
            conn.execute("SELECT text FROM contents").fetchall()
        except sqlite3.OperationalError as exc:
            raise RuntimeError("reading postgresql://clerk:Sekret-99@db/imr failed") from exc
    except RuntimeError as exc:
        hook(type(exc), exc, exc.__traceback__)
    assert hook.box is not None and hook.box.isVisible()
    shown = hook.box.text() + hook.box.detailedText()
    assert "OperationalError (raised by Python's sqlite3 module" in hook.box.detailedText()
    assert "postgresql://clerk@db/imr" in shown
    hook.box.close()
    for handler in logging.getLogger("imr_desk").handlers:
        handler.flush()
    logged = log_path.read_text(encoding="utf-8")
    assert "unexpected error" in logged and "RuntimeError" in logged
    for text in (shown, logged):
        assert "Janet" not in text and "Sekret-99" not in text
