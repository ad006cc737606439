"""Patient data stays its owner's: file modes whatever the umask; what killed exports leave is removed."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from imr_desk import paths
from imr_desk.export import ExportSet, export_set
from imr_desk.store import Database
from tests.safety.conftest import REAL


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.lstat().st_mode)


@pytest.fixture
def open_umask():
    old = os.umask(0o000)  # the most careless umask: everything would be world-writable
    yield
    os.umask(old)


def test_the_database_its_side_files_and_the_folders_are_the_owners_only(open_umask, imr_home: Path,
                                                                         tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "imr_desk", "import", "-q", str(REAL[0])],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    data = paths.data_dir()
    assert _mode(data) == 0o700 and _mode(paths.log_dir()) == 0o700
    assert _mode(paths.default_db_path()) == 0o600
    assert _mode(paths.log_dir() / "imr-desk.log") == 0o600
    chosen = tmp_path / "own.db"
    with Database.open(chosen) as db:  # a database the clerk names: private too, and its -wal/-shm
        db.import_paths(REAL[:1])
        sides = [chosen.with_name(chosen.name + s) for s in ("-wal", "-shm")]
        assert all(p.exists() for p in sides)
        assert {_mode(p) for p in [chosen, *sides]} == {0o600}


def test_settings_and_recovery_folders_are_the_owners_only(open_umask, imr_home: Path) -> None:
    paths.write_private(paths.private_dir(paths.private_dir(paths.data_dir()) / "recovery") / "r.json", "{}")
    assert _mode(paths.data_dir() / "recovery") == 0o700
    assert _mode(paths.data_dir() / "recovery" / "r.json") == 0o600


def test_exports_are_the_clerks_only_too(db: Database, db_path: Path, tmp_path: Path) -> None:
    """An export holds patient data like the database: the command line and the window run under umask 077
    (paths.PRIVATE_UMASK), so it is 0600 in a 0700 folder whatever the clerk's umask; sharing it is a choice."""
    db.import_paths(REAL[:2])
    db.close()
    run = subprocess.run([sys.executable, "-m", "imr_desk", "export", "-q", "--db", str(db_path), "--status",
                          "to review", "--format", "csv", "-o", str(tmp_path / "out")], capture_output=True, text=True,
                         timeout=120, preexec_fn=lambda: os.umask(0o022))
    assert run.returncode == 0, run.stderr
    assert _mode(tmp_path / "out") == 0o700
    assert {_mode(p) for p in (tmp_path / "out").iterdir()} == {0o600}
    old = os.umask(0o022)  # called as a library, an export follows the caller's umask
    try:
        with Database.open(db_path) as again:
            export_set(again, "jsonl", tmp_path / "lib.jsonl", ExportSet(status=["to review"]))
    finally:
        os.umask(old)
    assert _mode(tmp_path / "lib.jsonl") == 0o644


_KILLED_EXPORT = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from imr_desk.export.safety import Staging
    from imr_desk.export.xlsx_format import XlsxWriter
    staging = Staging(Path(sys.argv[1]))
    (staging.folder / "letters.csv").write_text("CM16-0221706,patient data")
    XlsxWriter(staging.path("x.xlsx"))  # openpyxl's temporary sheet files, made at once
    print(staging.folder, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
""")


def _killed_export(destination: Path) -> Path:
    run = subprocess.run([sys.executable, "-c", _KILLED_EXPORT, str(destination)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == -signal.SIGKILL, run.stderr
    left = Path(run.stdout.strip())
    assert left.is_dir() and (left / "letters.csv").exists()
    return left


def test_a_killed_export_is_removed_by_the_next_export_whatever_its_name(db: Database, tmp_path: Path) -> None:
    db.import_paths(REAL[:1])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    left = _killed_export(elsewhere / "monday-set")
    sheets = [p.name for p in left.iterdir() if p.name.startswith("openpyxl.")]
    assert len(sheets) == 3, "openpyxl's sheet files are made inside the staging folder"
    export_set(db, "jsonl", tmp_path / "another-name.jsonl", ExportSet(status=["to review"]))
    assert not left.exists()
    assert not list(elsewhere.iterdir())


def test_a_killed_export_is_removed_when_the_app_starts(qtbot, tmp_path: Path, db_path: Path) -> None:
    from imr_desk.ui.app import build_window

    left = _killed_export(tmp_path / "set.xlsx")
    window = build_window(db_path, user="alice", seed_samples=False)
    qtbot.addWidget(window)
    try:
        assert not left.exists()
    finally:
        window.close()


def test_a_running_export_is_left_alone(tmp_path: Path) -> None:
    from imr_desk.export.safety import Staging, sweep_killed_exports

    with Staging(tmp_path / "mine.csv") as staging:
        assert sweep_killed_exports() == []
        assert staging.folder.is_dir()
    assert not staging.folder.exists()
