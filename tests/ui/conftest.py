"""The review window on a real temporary database, driven as a clerk would."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from imr_desk.store import Database

DATA = Path(__file__).resolve().parent.parent / "data"
REAL = DATA / "real"
SEEDS = DATA / "seeds"
PDFS = [REAL / "CM16-0221706.pdf", REAL / "CM16-0230651.pdf", REAL / "CM17-0011517.pdf"]
TEXTS = [SEEDS / "003_bb4913a5b984f6c8.txt", SEEDS / "004_e25f01a0328d0b31.txt"]


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    """A database with three real PDF letters and two text letters, imported once for the session."""
    path = tmp_path_factory.mktemp("template") / "review.db"
    with Database.open(path, user="importer") as db:
        report = db.import_paths([*PDFS, *TEXTS], batch="test")
        assert len(report.added) == 5, report
    return path


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:
    """A fresh copy of the template database for one test."""
    path = tmp_path / "review.db"
    shutil.copy(template_db, path)
    return path


@pytest.fixture
def open_window(qtbot) -> Iterator[Callable[..., object]]:
    """Build the real review window (its own connections and writer thread) on a database file."""
    from imr_desk.ui.app import build_window

    made = []

    def make(path: Path, user: str = "alice"):
        w = build_window(path, user=user, seed_samples=False)
        qtbot.addWidget(w)
        w.show()
        qtbot.waitExposed(w)
        made.append(w)
        return w

    yield make
    import shiboken6

    for w in made:
        if shiboken6.isValid(w):  # pytest-qt may have closed and deleted it already
            w.close()


@contextmanager
def x_server(screen: str) -> Iterator[str]:
    """A real X server (Xvfb, one screen of `screen`, e.g. "1280x720x24") with openbox managing its
    windows, for a window run on the xcb platform in a subprocess; yields its DISPLAY."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", screen, "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        display = ":" + f.readline().strip()
    wm = subprocess.Popen(["openbox"], env={**os.environ, "DISPLAY": display},
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        yield display
    finally:
        for p in (wm, xvfb):
            p.terminate()
            p.wait(10)


def letter_id(window, name: str) -> int:
    """The id of the letter with that file name."""
    rows = [r for r in window.db.queue({}, limit=1000) if r.name == name]
    assert rows, name
    return rows[0].id


def pytest_collection_modifyitems(items) -> None:
    """The offscreen platform cannot propagate a window's size hints; that warning is no fault of ours."""
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(here):
            item.add_marker(pytest.mark.qt_log_ignore("This plugin does not support (propagateSizeHints|raise)"))
