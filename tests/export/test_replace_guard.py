"""Replacing (--force, "Replace it if it exists") never destroys what is not an earlier export.

Regressions from the QA sweep: `export --format sqlite -o <the database> --force` replaced the review
database with its own export (every letter not in the set lost), and a forced CSV export into any
existing folder deleted everything in it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from imr_desk.cli import cli
from imr_desk.export import ExportError, export_set
from imr_desk.store import Database

pytestmark = pytest.mark.sqlite_only  # the review database's file is never replaced: about SQLite files

FORMATS = ["csv", "jsonl", "xlsx", "sqlite"]


def _intact(db_path: Path) -> None:
    """The review database still holds all eight letters and opens cleanly in another connection."""
    with Database.open(db_path, user="check") as again:
        assert again.queue_count({}) == 8
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


@pytest.mark.parametrize("fmt", ["sqlite", "jsonl", "xlsx"])
def test_the_database_itself_is_never_replaced(reviewed: Database, db_path: Path, fmt: str) -> None:
    before = db_path.stat().st_mtime_ns, db_path.stat().st_ino
    with pytest.raises(ExportError, match="is the review database being exported") as err:
        export_set(reviewed, fmt, db_path, force=True)
    assert "Choose another name" in err.value.clerk_message
    assert (db_path.stat().st_mtime_ns, db_path.stat().st_ino) == before
    assert [p.name for p in db_path.parent.iterdir() if ".partial" in p.name] == []
    _intact(db_path)


def test_the_database_under_another_name_is_never_replaced(reviewed: Database, db_path: Path, tmp_path: Path) -> None:
    # the suffix the sqlite format adds (review -> review.db), a symbolic link, a hard link, the -wal
    # and -shm files, and a manifest that would land on the database
    (tmp_path / "link.db").symlink_to(db_path)
    os.link(db_path, tmp_path / "hard.db")
    wal = db_path.with_name(db_path.name + "-wal")
    assert wal.exists()  # the store keeps its database in WAL mode
    cases = [("sqlite", db_path.with_suffix("")), ("sqlite", tmp_path / "link.db"), ("jsonl", tmp_path / "hard.db"),
             ("jsonl", wal), ("xlsx", db_path.with_name(db_path.name + "-shm"))]
    for fmt, target in cases:
        with pytest.raises(ExportError, match="review database being exported"):
            export_set(reviewed, fmt, target, force=True)
    # out.jsonl.manifest.json beside out.jsonl: a database called so is not replaced either
    with Database.open(tmp_path / "out.jsonl.manifest.json", user="alice") as odd:
        odd.import_paths([], batch="none")
        with pytest.raises(ExportError, match="out.jsonl.manifest.json is the review database"):
            export_set(odd, "jsonl", tmp_path / "out.jsonl", force=True)
    assert (tmp_path / "link.db").is_symlink() and not (tmp_path / "out.jsonl").exists()
    _intact(db_path)


def test_the_cli_refuses_in_one_line(reviewed: Database, db_path: Path) -> None:
    result = CliRunner().invoke(cli, ["export", "--db", str(db_path), "--format", "sqlite",
                                      "-o", str(db_path.with_suffix("")), "--force", "-q"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imr-desk: error: ") and "review database" in lines[0]
    _intact(db_path)


def test_a_csv_export_never_replaces_the_folder_holding_the_database(reviewed: Database, db_path: Path) -> None:
    folder = db_path.parent
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="holds the review database") as err:
        export_set(reviewed, "csv", folder, force=True)
    assert "Choose a new folder" in err.value.clerk_message
    with pytest.raises(ExportError, match="holds the review database"):
        export_set(reviewed, "csv", folder.parent, force=True)  # further up too
    assert (folder / "notes.txt").read_text() == "mine"
    _intact(db_path)


def test_a_forced_csv_export_does_not_wipe_a_folder_that_is_not_an_export(reviewed: Database, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("x")
    with pytest.raises(ExportError, match="is not an earlier IMR Desk CSV export") as err:
        export_set(reviewed, "csv", victim, force=True)
    assert "Choose a new folder name" in err.value.clerk_message
    assert (victim / "precious.txt").read_text() == "x"
    # nor one that only looks like an export: a manifest.json of something else, with letters.csv
    (victim / "manifest.json").write_text(json.dumps({"name": "another program", "format": "csv"}))
    (victim / "letters.csv").write_text("mine")
    (victim / "precious.txt").unlink()
    with pytest.raises(ExportError, match="is not an earlier IMR Desk CSV export"):
        export_set(reviewed, "csv", victim, force=True)
    assert (victim / "letters.csv").read_text() == "mine"
    # an empty folder is not an export either: refused, and left
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExportError, match="not an earlier IMR Desk CSV export"):
        export_set(reviewed, "csv", tmp_path / "empty", force=True)
    assert reviewed.conn.execute("SELECT count(*) FROM exports").fetchone()[0] == 0


def test_the_cli_keeps_an_unrelated_folder(reviewed: Database, db_path: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("x")
    result = CliRunner().invoke(cli, ["export", "--db", str(db_path), "--format", "csv", "-o", str(victim),
                                      "--force", "-q"])
    assert result.exit_code == 1 and (victim / "precious.txt").exists()
    assert result.stderr.startswith("imr-desk: error: ") and "not an earlier IMR Desk CSV export" in result.stderr


def test_an_earlier_csv_export_with_other_files_added_is_not_replaced(reviewed: Database, tmp_path: Path) -> None:
    first = export_set(reviewed, "csv", tmp_path / "set")
    before = {p: p.read_bytes() for p in first.files}
    (tmp_path / "set" / "my analysis.xlsx").write_text("hours of work")
    (tmp_path / "set" / "charts").mkdir()
    with pytest.raises(ExportError, match="also holds charts, my analysis.xlsx") as err:
        export_set(reviewed, "csv", tmp_path / "set", force=True)
    assert "Move those files out" in err.value.clerk_message
    assert (tmp_path / "set" / "my analysis.xlsx").read_text() == "hours of work"
    assert {p: p.read_bytes() for p in first.files} == before
    # moved out: now it is an earlier export, replaced
    (tmp_path / "set" / "my analysis.xlsx").rename(tmp_path / "my analysis.xlsx")
    (tmp_path / "set" / "charts").rmdir()
    again = export_set(reviewed, "csv", tmp_path / "set", force=True)
    assert again.count == 5 and sorted(p.name for p in (tmp_path / "set").iterdir()) == [
        "annotations.csv", "items.csv", "letters.csv", "manifest.json"]


def test_a_symbolic_link_to_an_export_folder_is_not_replaced(reviewed: Database, tmp_path: Path) -> None:
    export_set(reviewed, "csv", tmp_path / "set")
    (tmp_path / "link").symlink_to(tmp_path / "set")
    with pytest.raises(ExportError, match="is a symbolic link"):
        export_set(reviewed, "csv", tmp_path / "link", force=True)
    assert (tmp_path / "link").is_symlink() and (tmp_path / "set" / "manifest.json").exists()


def _stale_wal(db: Path) -> bytes:
    """The -wal file a program with `db` open (in WAL mode) would leave beside it if killed."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("CREATE TABLE scribble(x)")
    conn.executemany("INSERT INTO scribble VALUES (?)", [(i,) for i in range(200)])
    conn.commit()
    wal = Path(str(db) + "-wal").read_bytes()
    conn.close()
    return wal


def test_a_replaced_sqlite_set_loses_its_stale_wal_and_shm(reviewed: Database, tmp_path: Path) -> None:
    first = export_set(reviewed, "sqlite", tmp_path / "set.db")
    assert first.count == 5
    wal = _stale_wal(tmp_path / "set.db")
    (tmp_path / "set.db-wal").write_bytes(wal)
    (tmp_path / "set.db-shm").write_bytes(b"\0" * 32768)
    reviewed.set_status(7, "reviewed")
    export_set(reviewed, "sqlite", tmp_path / "set.db", force=True)
    assert not (tmp_path / "set.db-wal").exists() and not (tmp_path / "set.db-shm").exists()
    conn = sqlite3.connect(tmp_path / "set.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM letters").fetchone()[0] == 6
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'scribble'").fetchone()[0] == 0
    finally:
        conn.close()


def test_a_stale_wal_without_force_is_an_existing_destination(reviewed: Database, tmp_path: Path) -> None:
    (tmp_path / "set.db-wal").write_bytes(b"left by a killed program")
    with pytest.raises(ExportError, match="set.db-wal already exists"):
        export_set(reviewed, "sqlite", tmp_path / "set.db")
    assert not (tmp_path / "set.db").exists()


@pytest.mark.parametrize("fmt", ["jsonl", "xlsx"])
def test_a_forced_single_file_export_replaces_any_file(reviewed: Database, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"old.{fmt}"
    target.write_text("something else")
    result = export_set(reviewed, fmt, target, force=True)
    assert result.count == 5 and target.read_bytes() != b"something else"
