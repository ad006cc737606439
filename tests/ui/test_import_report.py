"""The window's import report lists each file the import left alone, with the reason (as the command line does)."""

from __future__ import annotations

from pathlib import Path

from tests.store.test_partial_import import EXPECTED, odd_folder  # noqa: F401 - the fixture


def test_the_windows_report_lists_each_ignored_file(qtbot, open_window, tmp_path: Path, odd_folder: Path) -> None:  # noqa: F811
    w = open_window(tmp_path / "window.db")
    with qtbot.waitSignal(w.importer.finished, timeout=120_000) as blocker:
        w.import_paths([odd_folder])
    assert len(blocker.args[0].added) == 1
    text = w.importer.report_box.text()
    assert "5 other file(s) ignored" in text and "Not read" in text
    for name, why in EXPECTED.items():
        if why is not None:
            assert f"• {odd_folder}/{name} (" in text and why in text, (name, text)
    w.importer.report_box.close()
