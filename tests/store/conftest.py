"""Real review databases, filled with the real letters: an SQLite file, and a PostgreSQL server's database.

Every test here that asks for `db_path` (or `db`, `filled`) runs on both engines (tests/conftest.py):
`db_path` is then the SQLite file's path or the server database's URL, which `Database.open` takes
alike. Tests about SQLite files themselves are marked `sqlite_only`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imr_desk.store import Database

DATA = Path(__file__).resolve().parent.parent / "data"
REAL = sorted((DATA / "real").glob("*.pdf"))
SEEDS = sorted((DATA / "seeds").glob("*.txt"))


@pytest.fixture
def db_path(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """Where the test's review database is: a file (SQLite), or a fresh database on the test server."""
    if engine == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return tmp_path / "review.db"


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


def assert_sound(db: Database) -> None:
    """The database is whole: SQLite's integrity check (on a file), and every letter with its contents and file."""
    if db.engine == "sqlite":
        assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.conn.execute("SELECT count(*) FROM letters l WHERE NOT EXISTS (SELECT 1 FROM contents c WHERE "
                           "c.letter_id = l.id) OR NOT EXISTS (SELECT 1 FROM files f WHERE f.letter_id = l.id)"
                           ).fetchone()[0] == 0
