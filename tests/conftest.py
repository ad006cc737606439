"""Shared fixtures. Qt runs offscreen; every test gets its own IMR_DESK_HOME."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from imr_desk.store import Database

os.environ["QT_QPA_PLATFORM"] = "offscreen"

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def imr_home(tmp_path_factory, monkeypatch) -> Path:
    """Point the data directory, settings and logs at a fresh folder for every test."""
    home = tmp_path_factory.mktemp("imr-home")
    monkeypatch.setenv("IMR_DESK_HOME", str(home))
    return home


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's review database lives (the UI tests start theirs from a template)."""
    return tmp_path / "review.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    """A real review database on disk, opened as the clerk alice."""
    from imr_desk.store import Database

    database = Database.open(db_path, user="alice")
    yield database
    database.close()


@pytest.fixture
def data_dir() -> Path:
    return DATA
