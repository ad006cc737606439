"""Leases follow their window: a killed window's lease frees at once; re-parse leaves open letters alone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from imr_desk.cli import cli
from imr_desk.store import Database, LetterLeased
from tests.safety.conftest import REAL

_KILLED_WINDOW = textwrap.dedent("""
    import os, signal, socket, sys
    from imr_desk.store import Database
    db = Database.open(sys.argv[1], user="bob")
    db.acquire_lease(int(sys.argv[2]), f"bob@{socket.gethostname()}:{os.getpid()}:deadbeef")
    os.kill(os.getpid(), signal.SIGKILL)
""")


def holder(tag: str, pid: int | None = None, host: str | None = None) -> str:
    return f"alice@{host or socket.gethostname()}:{pid or os.getpid()}:{tag}"


def _lease_by_a_killed_window(path: Path, letter_id: int) -> None:
    run = subprocess.run([sys.executable, "-c", _KILLED_WINDOW, str(path), str(letter_id)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == -9, run.stderr


@pytest.fixture
def two(db: Database) -> Database:
    assert len(db.import_paths(REAL[:2]).added) == 2
    return db


def test_a_lease_whose_process_is_gone_is_released_at_once(two: Database, db_path: Path) -> None:
    _lease_by_a_killed_window(db_path, 1)
    assert two.lease_holder(1) == "bob"  # still in the table, for up to five minutes
    two.acquire_lease(1, holder("mine"))  # not "bob has this letter open"
    rows = two.conn.execute("SELECT holder FROM leases WHERE letter_id = 1").fetchall()
    assert rows == [(holder("mine"),)]


def test_a_lease_of_a_running_window_or_another_host_holds(two: Database) -> None:
    two.acquire_lease(1, holder("other-window"))  # this very process: it runs
    with pytest.raises(LetterLeased):
        two.acquire_lease(1, holder("mine"))
    two.acquire_lease(2, holder("far", pid=999_999_999, host="another-machine"))  # cannot be seen: it holds
    with pytest.raises(LetterLeased):
        two.acquire_lease(2, holder("mine"))


def test_reparse_leaves_a_letter_open_in_a_window_and_reports_it(two: Database, db_path: Path) -> None:
    two.acquire_lease(1, holder("window"))
    _lease_by_a_killed_window(db_path, 2)  # a lease of a killed window does not hold re-parse up
    before = two.letter(1).version
    two.conn.execute("UPDATE letters SET parser_version = 'old'")
    report = two.reparse()
    assert report.leased == [(1, "alice")]
    assert 2 in report.replaced + report.recorded or report.unchanged == 1
    assert two.letter(1).version == before and two.letter(1).parser_version == "old"
    result = CliRunner().invoke(cli, ["reparse", "--db", str(db_path)])
    assert result.exit_code == 0
    assert "1 open in a window left for later" in result.stdout
    assert "letter 1: left as it was: alice has it open for editing" in result.stderr
    two.release_lease(1, holder("window"))
    assert not two.reparse().leased and two.letter(1).parser_version != "old"
