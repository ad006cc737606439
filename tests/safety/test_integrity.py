"""A damaged database is not written into; a pre-release layout is refused by its shape; `imr-desk check`."""

from __future__ import annotations

import hashlib
import random
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from imr_desk.cli import cli
from imr_desk.store import DamagedDatabase, Database, NotADatabase
from imr_desk.store.integrity import expected_shape
from imr_desk.store.schema import SCHEMA_VERSION
from tests.safety.conftest import REAL, SEEDS


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def damaged(db_path: Path) -> Path:
    """Six real letters, then 8 KB of random bytes written into the middle of the closed file."""
    with Database.open(db_path) as db:
        assert len(db.import_paths(REAL[:6]).added) == 6
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = db_path.stat().st_size
    with open(db_path, "r+b") as f:
        f.seek(size // 2 // 4096 * 4096)
        f.write(random.Random(14).randbytes(8192))
    return db_path


def test_a_damaged_database_is_refused_for_writing_and_left_as_it_was(damaged: Path) -> None:
    before = _sha(damaged)
    with pytest.raises(DamagedDatabase) as refused:
        Database.open(damaged)
    message = refused.value.clerk_message
    assert "damaged" in message and "will not write into it" in message
    assert "imr-desk import LAST.jsonl --db NEW.db" in message and "imr-desk check --db" in message
    result = CliRunner().invoke(cli, ["import", "--db", str(damaged), str(SEEDS[0])])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "damaged" in result.stderr
    assert _sha(damaged) == before  # nothing was written into it
    searched = CliRunner().invoke(cli, ["search", "--db", str(damaged), "--json", "pain"])
    assert searched.exit_code == 0, searched.output  # reading it spreads nothing


def test_check_runs_the_full_integrity_check(damaged: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["check", "--db", str(damaged)])
    assert result.exit_code == 1 and result.stdout == ""
    *found, last = result.stderr.strip().splitlines()
    assert found and all(line.startswith(f"imr-desk: {damaged}: integrity check: ") for line in found)
    # the common error path: one `imr-desk: error:` line, as import prints the same damage
    assert last.startswith(f"imr-desk: error: {damaged} is damaged ({len(found)} problem")
    assert "listed above" in last and "imr-desk import LAST.jsonl --db NEW.db" in last and "imr-desk check" not in last
    imported = CliRunner().invoke(cli, ["import", "--db", str(damaged), str(SEEDS[0])])
    assert imported.exit_code == result.exit_code and imported.stderr.startswith(f"imr-desk: error: {damaged} is damaged")
    sound = tmp_path / "sound.db"
    with Database.open(sound) as db:
        db.import_paths(REAL[:2])
    result = CliRunner().invoke(cli, ["check", "--db", str(sound)])
    assert result.exit_code == 0 and "no damage found" in result.stdout and "2 letter(s)" in result.stdout
    assert CliRunner().invoke(cli, ["check", "--help"]).exit_code == 0
    missing = CliRunner().invoke(cli, ["check", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 1 and "no database" in missing.stderr


def test_a_pre_release_layout_claiming_the_current_version_is_refused_by_its_shape(db_path: Path) -> None:
    with Database.open(db_path) as db:
        db.import_paths(REAL[:1])
    conn = sqlite3.connect(db_path, isolation_level=None)  # the layout that never shipped: text in letters
    conn.executescript("DROP TABLE contents_fts; DROP TABLE contents; ALTER TABLE letters ADD COLUMN text TEXT;")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    before = _sha(db_path)
    with pytest.raises(NotADatabase, match="pre-release IMR Desk") as refused:
        Database.open(db_path)
    assert "no table contents" in refused.value.clerk_message
    result = CliRunner().invoke(cli, ["import", "--db", str(db_path), str(SEEDS[0])])
    assert result.exit_code == 1 and "no such table" not in result.output and "pre-release" in result.stderr
    assert _sha(db_path) == before
    checked = CliRunner().invoke(cli, ["check", "--db", str(db_path)])
    assert checked.exit_code == 1 and "no table contents" in checked.stderr


def test_an_older_database_is_upgraded_not_refused(tmp_path: Path) -> None:
    from imr_desk.store import schema

    old = tmp_path / "old.db"
    conn = sqlite3.connect(old, isolation_level=None)
    schema.migrate(conn, upto=1)
    conn.close()
    with Database.open(old) as db:
        assert db.schema_version == SCHEMA_VERSION
        assert set(expected_shape(SCHEMA_VERSION)) <= {r[0] for r in db.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_the_window_says_the_database_is_damaged(qtbot, damaged: Path) -> None:
    from imr_desk.ui.app import build_window

    with pytest.raises(DamagedDatabase):
        build_window(damaged, user="alice", seed_samples=False)
