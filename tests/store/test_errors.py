"""Known errors and bugs told apart: each SQLite condition made to happen for real, then classified by its code."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from imr_desk.cli import Group
from imr_desk.store import (
    ClerkError,
    Database,
    DatabaseLocked,
    DiskFull,
    NewerDatabase,
    NotADatabase,
    NotWritable,
)
from imr_desk.store.errors import classify, known_error, raise_known, sqlite_code

from .conftest import SEEDS

LETTER = SEEDS[0]


def caught(fn) -> sqlite3.Error:
    with pytest.raises(sqlite3.Error) as info:
        fn()
    return info.value


@pytest.mark.sqlite_only  # about SQLite files: the server's side is in test_server.py
def test_busy_is_database_locked(db_path: Path) -> None:
    Database.open(db_path).close()
    db = Database.open(db_path, busy_timeout=0.05)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseLocked) as info, db.transaction("save the letter"):
            pass
        assert sqlite_code(info.value.__cause__) == "SQLITE_BUSY"
        assert "busy" in info.value.clerk_message and "save the letter" in info.value.clerk_message
    finally:
        other.execute("ROLLBACK")
        other.close()
        db.close()


@pytest.mark.sqlite_only  # about SQLite files: the server's side is in test_server.py
def test_a_lock_waiter_waits_until_the_lock_is_free(db_path: Path) -> None:
    Database.open(db_path).close()
    db = Database.open(db_path, busy_timeout=0.02)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    asked: list[tuple[str, float]] = []

    def waiter(doing: str, waited: float) -> bool:
        asked.append((doing, waited))
        if len(asked) == 5:  # the other program lets go while the write waits
            other.execute("ROLLBACK")
        return len(asked) < 50

    db.lock_waiter = waiter
    try:
        with db.transaction("save the letter"):
            db.conn.execute("PRAGMA user_version")
        assert len(asked) == 5 and all(doing == "save the letter" for doing, _ in asked)
        assert asked[-1][1] >= asked[0][1]
        # a waiter that gives up: the clerk hears the database is busy
        other.execute("BEGIN IMMEDIATE")
        db.lock_waiter = lambda doing, waited: False
        with pytest.raises(DatabaseLocked), db.transaction():
            pass
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
        db.close()


@pytest.mark.sqlite_only  # about SQLite files: the server's side is in test_server.py
def test_a_full_disk_is_disk_full(db_path: Path) -> None:
    db = Database.open(db_path)
    try:
        pages = db.conn.execute("PRAGMA page_count").fetchone()[0]
        db.conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # the database may not grow: a full disk
        with pytest.raises(DiskFull) as info:
            db.import_paths([LETTER])
        assert sqlite_code(info.value.__cause__) == "SQLITE_FULL"
        assert "full" in info.value.clerk_message and "free some space" in info.value.clerk_message
    finally:
        db.close()
    with Database.open(db_path) as again:  # nothing half-written
        assert again.queue_count({}) == 0


@pytest.mark.sqlite_only  # about SQLite files: the server's side is in test_server.py
def test_a_read_only_file_is_not_writable(db_path: Path) -> None:
    Database.open(db_path).close()
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        exc = caught(lambda: conn.execute("INSERT INTO batches(name, created_at) VALUES ('x', 'now')"))
    finally:
        conn.close()
    assert sqlite_code(exc) == "SQLITE_READONLY"
    assert isinstance(classify(exc, db_path, "store the letter"), NotWritable)
    with Database.open(db_path, readonly=True) as db, pytest.raises(NotWritable, match="read-only"):
        db.batch_id("week 1")


@pytest.mark.sqlite_only  # about SQLite files: the server's side is in test_server.py
def test_a_database_from_a_newer_version_is_refused(db_path: Path) -> None:
    Database.open(db_path).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA user_version = 999")
    conn.close()
    for readonly in (False, True):
        with pytest.raises(NewerDatabase, match="newer IMR Desk"):
            Database.open(db_path, readonly=readonly)


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "letters.db"
    junk.write_bytes(b"this is a text file, not SQLite\n" * 200)
    exc = caught(lambda: sqlite3.connect(junk).execute("SELECT * FROM sqlite_master").fetchall())
    assert sqlite_code(exc) == "SQLITE_NOTADB"
    with pytest.raises(NotADatabase):
        Database.open(junk)


def test_a_file_that_cannot_be_opened(tmp_path: Path) -> None:
    exc = caught(lambda: sqlite3.connect(tmp_path / "no such folder" / "x.db"))
    assert sqlite_code(exc) == "SQLITE_CANTOPEN"
    assert isinstance(classify(exc, "x.db", "open the database"), NotWritable)


@pytest.mark.sqlite_only  # about SQLite files: the server's side is in test_server.py
def test_anything_else_is_a_bug_and_keeps_its_own_error(db: Database) -> None:
    exc = caught(lambda: db.conn.execute("SELEKT 1"))
    assert classify(exc, db.path, "read") is None and known_error(exc) is None
    with pytest.raises(sqlite3.OperationalError, match="syntax error"):
        raise_known(exc, db.path, "read")
    with pytest.raises(sqlite3.OperationalError):
        db._read("SELECT * FROM no_such_table")
    assert known_error(ZeroDivisionError()) is None
    known = DiskFull("the disk is full")
    assert known_error(known) is known and isinstance(known, ClerkError)


# -- the command line: a known condition is one line; a bug is one line too, and its traceback is logged --
@click.group(cls=Group)
def demo() -> None:
    """A group with the command line's error handling."""


@demo.command()
def bug() -> None:
    """A command with a bug in it."""
    {}["missing key"]  # noqa: B018 - the bug


@demo.command()
@click.argument("path", type=click.Path(path_type=Path))
def busy(path: Path) -> None:
    """A write into a locked database, raised as SQLite raised it."""
    conn = sqlite3.connect(path, timeout=0.05)
    conn.execute("CREATE TABLE IF NOT EXISTS t(x)")


def test_cli_bug_is_one_line_and_logged_with_its_traceback(imr_home: Path) -> None:
    result = CliRunner().invoke(demo, ["bug"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imr-desk: internal error: KeyError")
    log = imr_home / "logs" / "imr-desk.log"
    assert str(log) in lines[0]
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "missing key" in text and "in bug" in text


@pytest.mark.sqlite_only  # about SQLite files: the server's side is in test_server.py
def test_cli_known_sqlite_condition_is_the_clerk_message(db_path: Path, imr_home: Path) -> None:
    Database.open(db_path).close()
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        result = CliRunner().invoke(demo, ["busy", str(db_path)])
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imr-desk: error: Could not do that: the database")
    assert "busy" in lines[0] and not (imr_home / "logs" / "imr-desk.log").exists()


@pytest.mark.sqlite_only  # about SQLite files: the server's side is in test_server.py
def test_cli_newer_database_is_one_line(db_path: Path) -> None:
    import subprocess
    import sys

    Database.open(db_path).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA user_version = 999")
    conn.close()
    out = subprocess.run([sys.executable, "-m", "imr_desk", "stats", "--db", str(db_path)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "newer IMR Desk" in out.stderr and "Traceback" not in out.stderr
