"""An import that stops part way (a full disk, the server gone) ends with the count of what it stored; the files
an import leaves alone are each listed with the reason, on the command line and in the window's report."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from imr_desk.cli import cli
from imr_desk.store import ConnectionLost, Database, DiskFull, ImportEvent, ServerUnreachable
from tests.pgserver import PgCluster

from .conftest import REAL

STOPPED = re.compile(r"The import stopped after storing (\d+) letter\(s\), which are kept")


def _stored(message: str) -> int:
    found = STOPPED.search(message)
    assert found, message
    assert "nothing was changed" not in message.lower() and "nothing was half-written" not in message.lower()
    return int(found.group(1))


@pytest.mark.sqlite_only
def test_a_full_database_file_says_how_many_letters_were_stored(db: Database) -> None:
    db.import_paths(REAL[:1])
    pages = db.conn.execute("PRAGMA page_count").fetchone()[0]
    db.conn.execute(f"PRAGMA max_page_count = {pages + 120}")  # SQLite's size limit: the same error as a full disk
    with pytest.raises(DiskFull) as err:
        db.import_paths(REAL[1:])
    stored = _stored(err.value.clerk_message)
    assert "is full" in err.value.clerk_message and "the letters already stored are skipped" in err.value.clerk_message
    assert 0 < stored < len(REAL) - 1
    assert len(err.value.report.added) == stored  # type: ignore[attr-defined]
    assert db.queue_count() == 1 + stored


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small filesystem needs root")
def test_a_full_disk_on_the_command_line_ends_with_the_count(tmp_path: Path) -> None:
    disk = tmp_path / "small"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], check=True)
    try:
        env = {**os.environ, "IMR_DESK_HOME": str(tmp_path / "home")}
        out = subprocess.run([sys.executable, "-m", "imr_desk", "import", "-q", "--db", str(disk / "r.db"),
                              *map(str, REAL)], capture_output=True, text=True, timeout=300, env=env)
        assert out.returncode == 1
        last = out.stderr.strip().splitlines()[-1]
        assert last.startswith("imr-desk: error: The import stopped after storing") and "is full" in last
        stored = _stored(last)
        with Database.open(disk / "r.db", readonly=True) as db:
            assert db.queue_count() == stored > 0
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def test_the_server_stopping_mid_import_ends_with_the_count(pg_cluster: PgCluster, pg_url: str) -> None:
    added: list[ImportEvent] = []

    def progress(event: ImportEvent) -> None:
        if event.outcome == "added":
            added.append(event)
            if len(added) == 3:
                pg_cluster.pause()  # every connection cut; nothing answers until resume()

    try:
        with Database.open(pg_url) as db, pytest.raises((ConnectionLost, ServerUnreachable)) as err:
            db.import_paths(REAL[:8], progress=progress)
    finally:
        pg_cluster.resume()
    assert _stored(err.value.clerk_message) == 3
    assert "database server" in err.value.clerk_message
    with Database.open(pg_url) as db:
        assert db.queue_count() == 3
        again = db.import_paths(REAL[:8])  # run again: the three are skipped, the rest stored
        assert len(again.duplicates) == 3 and len(again.added) == 5


@pytest.fixture
def odd_folder(tmp_path: Path) -> Path:
    """One letter among the things an import leaves alone: hidden files, macOS's notes, a .docx, a link to a
    folder, and an archive holding a member named ../../escape.txt."""
    folder = tmp_path / "in"
    (folder / "__MACOSX").mkdir(parents=True)
    (folder / "letter.pdf").write_bytes(REAL[0].read_bytes())
    (folder / ".hidden.pdf").write_bytes(REAL[1].read_bytes())
    (folder / "__MACOSX" / "._letter.pdf").write_bytes(b"\x00\x05\x16\x07")
    (folder / "notes.docx").write_bytes(b"PK not really")
    (tmp_path / "elsewhere").mkdir()
    (folder / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with zipfile.ZipFile(folder / "set.zip", "w") as zf:
        zf.writestr("../../escape.txt", "not a letter, and named to escape")
    return folder


EXPECTED = {  # what each ignored entry starts with -> a piece of its reason
    "letter.pdf": None,
    ".hidden.pdf": "a hidden file",
    "__MACOSX/": "macOS's own notes",
    "notes.docx": "not a letter file",
    "linked": "a link to a folder",
    "set.zip:../../escape.txt": "leads out of the archive",
}


def test_the_command_line_lists_each_ignored_file_with_its_reason(db: Database, db_path: Path,
                                                                 odd_folder: Path) -> None:
    r = CliRunner().invoke(cli, ["import", "-q", "--db", str(db_path), str(odd_folder)])
    assert r.exit_code == 0, r.output
    assert "1 letter(s) added" in r.stdout and "5 other file(s) ignored" in r.stdout
    lines = [x for x in r.stderr.splitlines() if x.startswith("imr-desk: ignored: ")]
    assert len(lines) == 5, r.stderr
    for name, why in EXPECTED.items():
        if why is None:
            assert not any(f"{odd_folder}/{name} (" in x for x in lines)
            continue
        (line,) = [x for x in lines if x.startswith(f"imr-desk: ignored: {odd_folder}/{name} (")]
        assert why in line

