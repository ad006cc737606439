"""Opening databases: new, older, newer, foreign, unwritable, busy and full ones."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from imr_desk.store import (
    SCHEMA_VERSION,
    Database,
    DatabaseLocked,
    DiskFull,
    NewerDatabase,
    NotADatabase,
    NotWritable,
)
from imr_desk.store import schema as schema_mod
from imr_desk.store.importing import add_letter

from .conftest import REAL


@pytest.mark.sqlite_only  # about SQLite files: the server's side is in test_server.py
def test_new_database_is_wal_with_foreign_keys_and_current_schema(db: Database) -> None:
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    assert db.schema_version == SCHEMA_VERSION == 5
    assert db.conn.execute("PRAGMA application_id").fetchone()[0] == schema_mod.APPLICATION_ID
    tables = set(db.db.table_names())
    assert {"letters", "files", "items", "history", "annotations", "leases", "batches", "exports",
            "letter_exports", "contents", "contents_fts", "ocr_layers", "team_settings", "operations"} <= tables


@pytest.mark.sqlite_only  # about SQLite files: the server's side is in test_server.py
def test_older_database_is_upgraded_in_place_keeping_its_letters(db_path: Path) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    schema_mod.migrate(conn, upto=1)  # what IMR Desk's first release created
    assert schema_mod.version_of(conn) == 1
    conn.close()
    old = Database(sqlite3.connect(db_path, isolation_level=None), db_path, "alice")
    outcome, _msg, letter_id = add_letter(old, REAL[0].read_bytes(), REAL[0].name, "old batch")
    assert outcome == "added"
    old.close()

    db = Database.open(db_path, user="bob")
    assert db.schema_version == SCHEMA_VERSION
    assert db.letter(letter_id).name == REAL[0].name
    assert db.letter_file(letter_id) == REAL[0].read_bytes()
    assert db.queue_count({"exported": False}) == 1  # the v2 tables work on the old letters
    assert db.conn.execute("SELECT count(*) FROM ocr_layers").fetchone()[0] == 0  # v3: no OCR layer yet
    db.close()


@pytest.mark.sqlite_only  # about SQLite files: the server's side is in test_server.py
def test_newer_database_is_refused_and_left_unchanged(db_path: Path) -> None:
    Database.open(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = db_path.read_bytes()
    with pytest.raises(NewerDatabase) as err:
        Database.open(db_path)
    assert "newer IMR Desk" in err.value.clerk_message and "Update IMR Desk" in err.value.clerk_message
    assert db_path.read_bytes() == before


def test_other_sqlite_database_and_non_database_files_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(NotADatabase, match="not one made by IMR Desk"):
        Database.open(other)
    text = tmp_path / "letter.db"
    text.write_text("This is a letter, not a database.\n" * 200)
    with pytest.raises(NotADatabase) as err:
        Database.open(text)
    assert "not a readable IMR Desk database" in err.value.clerk_message
    with pytest.raises(NotADatabase, match="is a folder"):
        Database.open(tmp_path)


def test_missing_folder_is_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(NotWritable, match="does not exist"):
        Database.open(tmp_path / "no" / "such" / "review.db")


_AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.mark.skipif(sys.platform != "linux", reason="uses setpriv to drop root's permissions")
def test_read_only_location_is_a_clear_message() -> None:
    """A real read-only folder and file, opened by an ordinary user (root may write anywhere)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="imr-ro-"))
    Database.open(folder / "review.db").close()
    folder.chmod(0o755)
    (folder / "review.db").chmod(0o644)
    script = (
        "import sys\nfrom imr_desk.store import Database, StoreError\n"
        "for p in sys.argv[1:]:\n"
        "    try:\n        Database.open(p)\n        print('opened')\n"
        "    except StoreError as e:\n        print(type(e).__name__, e.clerk_message)\n"
    )
    cmd = [sys.executable, "-c", script, str(folder / "review.db"), str(folder / "new.db")]
    if hasattr(__import__("os"), "geteuid") and __import__("os").geteuid() == 0:
        cmd = _AS_NOBODY + cmd
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(folder)
    lines = out.stdout.splitlines()
    assert len(lines) == 2, out.stderr
    assert lines[0].startswith("NotWritable") and "read-only for you" in lines[0]
    assert lines[1].startswith("NotWritable") and "read-only for you" in lines[1]


@pytest.mark.sqlite_only  # about SQLite files: the server's side is in test_server.py
def test_full_disk_is_a_clear_message_and_loses_nothing(db: Database) -> None:
    """SQLite's own size limit gives the same SQLITE_FULL error as a full disk."""
    first = add_letter(db, REAL[0].read_bytes(), REAL[0].name, None)
    assert first[0] == "added"
    pages = db.conn.execute("PRAGMA page_count").fetchone()[0]
    db.conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(DiskFull) as err:
        for p in REAL[1:]:
            add_letter(db, p.read_bytes(), p.name, None)
    assert "is full" in err.value.clerk_message and "free some space" in err.value.clerk_message
    assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ids = [r.id for r in db.queue({}, limit=100)]
    for letter_id in ids:  # only whole letters: each with its file and its items
        letter = db.letter(letter_id)
        assert db.letter_file(letter_id)
        assert len(db.items(letter_id)) == len(letter.record["items"])
    assert db.letter(first[2]).name == REAL[0].name


@pytest.mark.sqlite_only  # about SQLite files: the server's side is in test_server.py
def test_busy_database_is_a_clear_message(db_path: Path) -> None:
    Database.open(db_path).close()
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        db = Database.open(db_path, busy_timeout=0.2)
    except DatabaseLocked:
        db = None  # opening may already meet the lock
    else:
        with pytest.raises(DatabaseLocked) as err:
            db.set_status(1, "reviewed")
        assert "busy" in err.value.clerk_message and "Try again" in err.value.clerk_message
        db.close()
    blocker.execute("ROLLBACK")
    blocker.close()


@pytest.mark.skipif(sys.platform != "linux", reason="uses setpriv to drop root's permissions")
def test_a_read_only_database_can_still_be_searched_and_counted() -> None:
    import os
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="imr-ro-"))
    try:
        with Database.open(folder / "review.db") as db:
            db.import_paths(REAL[:3])
        folder.chmod(0o755)
        (folder / "review.db").chmod(0o444)
        base = [sys.executable, "-m", "imr_desk"]
        if os.geteuid() == 0:
            base = _AS_NOBODY + base
        env = {**os.environ, "IMR_DESK_HOME": str(folder / "home")}
        search = subprocess.run([*base, "search", "--db", str(folder / "review.db"), "--json", "Viagra"],
                                capture_output=True, text=True, timeout=60, env=env)
        assert search.returncode == 0, search.stderr
        assert "CM16-0221706" in search.stdout
        stats = subprocess.run([*base, "stats", "--db", str(folder / "review.db"), "--json"],
                               capture_output=True, text=True, timeout=60, env=env)
        assert stats.returncode == 0, stats.stderr
        assert '"letters": 3' in stats.stdout
        assert sorted(p.name for p in folder.iterdir()) == ["review.db"]  # reading wrote nothing beside it
        with Database.open(folder / "review.db", readonly=True) as ro, pytest.raises(NotWritable):
            ro.set_status(1, "postponed", reason="x")
    finally:
        shutil.rmtree(folder)
