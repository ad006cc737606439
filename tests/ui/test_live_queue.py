"""The live queue: another clerk's status change, and a letter another clerk holds, show in the window's queue."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from imr_desk.store import Database

from .conftest import PDFS, TEXTS, letter_id


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, db_path: Path) -> Path | str:
    """The five letters of the UI tests: in an SQLite file, or in a database on the test server."""
    if request.param == "sqlite":
        return db_path
    url = str(request.getfixturevalue("pg_url"))
    with Database.open(url, user="importer") as db:
        assert len(db.import_paths([*PDFS, *TEXTS], batch="test").added) == 5
    return url


def other_clerk(path: Path | str, script: str) -> None:
    """Run `script` in another process, with `db` open on the database as the clerk bob."""
    code = ("import sys\nfrom imr_desk.store import Database\n"
            "with Database.open(sys.argv[1], user='bob') as db:\n" + "".join(f"    {line}\n" for line in
                                                                            script.splitlines()))
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def status_shown(window, letter: int) -> str | None:
    model = window.queue.model
    row = model.row_of(letter)
    return None if row is None else model.data(model.index(row, 0))


def test_a_status_changed_by_another_process_shows_within_two_seconds(open_window, target: Path | str,
                                                                      qtbot) -> None:
    where = target
    w = open_window(where)
    target = letter_id(w, "CM16-0230651.pdf")
    chosen = letter_id(w, "CM17-0011517.pdf")
    w.queue.select_letter(chosen)
    assert status_shown(w, target) == "to review"
    other_clerk(where, f"db.set_status({target}, 'postponed', 'waiting for page 3')")
    qtbot.waitUntil(lambda: status_shown(w, target) == "postponed", timeout=2500)
    assert w.queue.view.currentIndex().row() == w.queue.model.row_of(chosen)  # the selection stayed
    assert "0 of 5 reviewed" in w.queue.count_label.text()
    other_clerk(where, f"db.set_status({target}, 'reviewed', 'fine')")
    qtbot.waitUntil(lambda: "1 of 5 reviewed" in w.queue.count_label.text(), timeout=2500)


def test_a_letter_leaving_the_filter_goes_and_the_selection_and_scroll_stay(open_window, db_path: Path,
                                                                            qtbot) -> None:
    w = open_window(db_path)
    w.queue.status.setCurrentIndex(w.queue.status.findData("open"))
    target = letter_id(w, "CM16-0221706.pdf")
    chosen = letter_id(w, "CM17-0011517.pdf")
    w.queue.select_letter(chosen)
    other_clerk(db_path, f"db.set_status({target}, 'reviewed', 'done')")
    qtbot.waitUntil(lambda: w.queue.model.row_of(target) is None, timeout=2500)
    current = w.queue.view.currentIndex()
    assert current.isValid() and w.queue.model.letter_id(current.row()) == chosen
    assert w.queue.model.total() == 4


def test_a_letter_another_clerk_holds_shows_who_and_since_when(open_window, target: Path | str, qtbot) -> None:
    where = target
    w = open_window(where)
    target = letter_id(w, "CM16-0230651.pdf")
    model = w.queue.model
    # bob's window: a process that runs (this one), another window's tag, on this computer
    holder = f"bob@{socket.gethostname()}:{os.getpid()}:bobwindow"
    with Database.open(where, user="bob") as bob:
        bob.acquire_lease(target, holder)
        qtbot.waitUntil(lambda: model.holder_of(target) is not None, timeout=2500)
        row = model.row_of(target)
        assert row is not None
        tip = model.data(model.index(row, 1), Qt.ItemDataRole.ToolTipRole)
        assert f"Open for editing by bob (on {socket.gethostname()}) since " in tip
        assert not model.data(model.index(row, 0), Qt.ItemDataRole.DecorationRole).isNull()
        own = w.session.letter_id  # the letter this window holds is not shown as held
        assert own is not None and model.holder_of(own) is None
        bob.release_lease(target, holder)
        qtbot.waitUntil(lambda: model.holder_of(target) is None, timeout=2500)
    assert model.data(model.index(model.row_of(target) or 0, 0), Qt.ItemDataRole.DecorationRole) is None
