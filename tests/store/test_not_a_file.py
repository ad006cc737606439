"""A device, a pipe or a socket named as the database is refused in one line before SQLite is asked.

SQLite opens /dev/null "as an empty file": `--db /dev/null stats` said "an empty file... import letters
into it to create one", and `--db /dev/null import` made /dev/null-journal (mode 0666, beside the
device) and then called it a disk error.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from imr_desk.cli import cli
from imr_desk.store import Database, NotADatabase

from .conftest import SEEDS

REFUSED = "is a device, a pipe or a socket, not a database file"


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.db"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("verb", [["import", str(SEEDS[0])], ["stats"], ["search", "knee"], ["check"], ["reparse"]])
def test_a_fifo_or_a_device_as_the_database_is_refused_in_one_line(fifo: Path, verb: list[str]) -> None:
    journal_before = os.path.exists("/dev/null-journal")
    try:
        for target in (fifo, Path("/dev/null")):
            result = CliRunner().invoke(cli, ["--db", str(target), *verb])
            assert result.exit_code == 1, result.output
            assert result.stderr.startswith(f"imr-desk: error: {target} {REFUSED}"), result.stderr
            assert len(result.stderr.strip().splitlines()) == 1
        assert sorted(p.name for p in fifo.parent.iterdir()) == ["pipe.db"]  # no journal beside the pipe
        assert journal_before or not os.path.exists("/dev/null-journal"), "a journal was made beside /dev/null"
    finally:
        if not journal_before and os.path.exists("/dev/null-journal"):
            os.unlink("/dev/null-journal")  # root's run of the old code: leave /dev as it was


def test_the_store_refuses_a_device_and_still_opens_a_new_file(tmp_path: Path) -> None:
    with pytest.raises(NotADatabase, match=REFUSED):
        Database.open("/dev/null")
    with Database.open(tmp_path / "new.db") as db:  # a path with nothing there yet is a new database
        assert db.queue_count() == 0
