"""Real review databases on disk, filled with the real letters."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imr_desk.store import Database

DATA = Path(__file__).resolve().parent.parent / "data"
REAL = sorted((DATA / "real").glob("*.pdf"))
SEEDS = sorted((DATA / "seeds").glob("*.txt"))


@pytest.fixture
def filled(db: Database) -> Database:
    """A database holding six real PDF letters and the five seed texts."""
    report = db.import_paths([*REAL[:6], *SEEDS], batch="first")
    assert len(report.added) == 11, report
    return db


@pytest.fixture
def letters_dir(tmp_path: Path) -> Path:
    """A folder of letters with a sub-folder, as a clerk would receive them."""
    root = tmp_path / "incoming"
    (root / "week2").mkdir(parents=True)
    for p in REAL[:3]:
        shutil.copy(p, root / p.name)
    for p in REAL[3:5]:
        shutil.copy(p, root / "week2" / p.name)
    shutil.copy(SEEDS[0], root / "week2" / SEEDS[0].name)
    (root / "notes.docx").write_bytes(b"PK\x03\x04 not a letter")
    return root
