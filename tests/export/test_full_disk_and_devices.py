"""A full disk is a known error in every export format, naming the destination; nothing is left there. Writing
to a device, a pipe or into /dev is refused before anything is written."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from imr_desk.cli import cli
from imr_desk.export import ExportError, ExportSet, export_set
from imr_desk.store import Database

ALL = ExportSet(status=["to review", "in review", "reviewed", "postponed"])
FORMATS = [("csv", "set"), ("jsonl", "set.jsonl"), ("xlsx", "set.xlsx"), ("sqlite", "set.db")]


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB filesystem of its own (tmpfs), filled up but for 4 KB."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        filler = mount / "filler"
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        os.truncate(filler, max(0, filler.stat().st_size - 4096))
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


@pytest.mark.sqlite_only  # the destination's disk is what is tested; the database's engine plays no part
@pytest.mark.parametrize("fmt,name", FORMATS)
def test_a_full_disk_is_a_known_error_in_every_format(reviewed: Database, full_disk: Path, fmt: str,
                                                      name: str) -> None:
    with pytest.raises(ExportError) as err:
        export_set(reviewed, fmt, full_disk / name, ALL)
    message = err.value.clerk_message
    assert "the disk is full" in message and "Nothing was written" in message
    assert ".partial" not in message and str(full_disk / name) in message
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]  # no file, no manifest, no staging left
    assert reviewed.conn.execute("SELECT count(*) FROM exports").fetchone()[0] == 0


@pytest.mark.sqlite_only
def test_a_full_disk_on_the_command_line_is_one_line(reviewed: Database, db_path: Path, full_disk: Path) -> None:
    r = CliRunner().invoke(cli, ["export", "--db", str(db_path), "--format", "xlsx", "-o", str(full_disk / "x.xlsx")])
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines()[-1].startswith("imr-desk: error: Could not write the export to ")
    assert "internal error" not in r.stderr and "SerialisationError" not in r.stderr


@pytest.mark.sqlite_only
@pytest.mark.parametrize("target", ["/dev/null", "/dev/shm/set", "/proc/self/fd/1"])
def test_devices_and_system_folders_are_refused(reviewed: Database, target: str) -> None:
    before = set(os.listdir("/dev"))
    for fmt in ("jsonl", "csv"):
        with pytest.raises(ExportError, match="not one for files"):
            export_set(reviewed, fmt, target, ALL)
    assert set(os.listdir("/dev")) == before


@pytest.mark.sqlite_only
def test_a_pipe_is_refused_even_with_force(reviewed: Database, tmp_path: Path) -> None:
    pipe = tmp_path / "out" / "set.jsonl"
    pipe.parent.mkdir()
    os.mkfifo(pipe)
    with pytest.raises(ExportError, match="a device, a pipe or a socket"):
        export_set(reviewed, "jsonl", pipe, ALL, force=True)
    assert sorted(p.name for p in pipe.parent.iterdir()) == ["set.jsonl"]
    r = CliRunner().invoke(cli, ["export", "--db", str(reviewed.path), "--format", "jsonl", "-o", "/dev/null"])
    assert r.exit_code == 1 and "/dev/null.jsonl is in /dev" in r.stderr
    assert not Path("/dev/null.jsonl").exists() and not Path("/dev/null.jsonl.manifest.json").exists()
