"""The window's import report lists each file the import left alone, with the reason (as the command line does)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.store.test_partial_import import EXPECTED, odd_folder  # noqa: F401 - the fixture
from tests.ui.conftest import REAL


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


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small filesystem needs root")
def test_a_full_disk_stops_the_windows_import_with_the_count(qtbot, open_window, tmp_path: Path) -> None:
    disk = tmp_path / "small"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], check=True)
    try:
        w = open_window(disk / "window.db")
        with qtbot.waitSignal(w.importer.finished, timeout=120_000) as blocker:
            w.import_paths([REAL])
        assert blocker.args[0] is None  # it failed
        text = w.importer.report_box.text()
        found = re.search(r"The import stopped after storing (\d+) letter\(s\), which are kept", text)
        assert found and "is full" in text, text
        assert int(found.group(1)) == w.db.queue_count({}) > 0
        w.importer.report_box.close()
        w.close()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)
