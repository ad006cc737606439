"""`imr-desk check` tells apart a file it may not read, a file that is no IMR Desk database and a damaged one,
and finds a sound database in a read-only folder sound. Each case runs the real command; the permission
cases as the user nobody (setpriv), since root may read and write anywhere."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from imr_desk.store import Database
from tests.safety.conftest import SEEDS

_AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
DAMAGED = "is damaged"
NOT_OURS = "is not an IMR Desk database"
PERMISSIONS = "cannot be read here (permissions)"

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="uses setpriv to drop root's permissions")


@pytest.fixture
def place() -> Iterator[Path]:
    """A folder outside pytest's (whose parents nobody may not enter), with a sound database of five letters."""
    folder = Path(tempfile.mkdtemp(prefix="imr-check-"))
    folder.chmod(0o755)
    with Database.open(folder / "sound.db") as db:
        db.import_paths(SEEDS[:5])
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (folder / "sound.db").chmod(0o644)
    yield folder
    shutil.rmtree(folder)


def check(path: Path, as_nobody: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IMR_DESK_HOME": str(Path(tempfile.gettempdir()) / "imr-check-home")}
    cmd = [*(_AS_NOBODY if as_nobody else []), sys.executable, "-m", "imr_desk", "check", "--db", str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


def only_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith("imr-desk: error: ")
    return lines[0]


def test_a_sound_database_in_a_read_only_folder_is_sound(place: Path) -> None:
    folder = place / "ro"
    folder.mkdir()
    shutil.copy(place / "sound.db", folder / "review.db")
    folder.chmod(0o555)
    result = check(folder / "review.db")
    assert result.returncode == 0, result.stderr
    assert "no damage found" in result.stdout and "5 letter(s)" in result.stdout
    assert sorted(p.name for p in folder.iterdir()) == ["review.db"]


def test_a_file_this_user_may_not_read(place: Path) -> None:
    (place / "sound.db").chmod(0o600)
    line = only_error(check(place / "sound.db"))
    assert PERMISSIONS in line and DAMAGED not in line and "export" not in line
    hidden = place / "closed"
    hidden.mkdir(mode=0o700)
    shutil.copy(place / "sound.db", hidden / "review.db")
    (hidden / "review.db").chmod(0o644)
    line = only_error(check(hidden / "review.db"))
    assert PERMISSIONS in line and DAMAGED not in line


def test_a_text_file(place: Path) -> None:
    (place / "notes.db").write_text("these are not letters\n", encoding="utf-8")
    line = only_error(check(place / "notes.db"))
    assert NOT_OURS in line and "not an SQLite file" in line and DAMAGED not in line


def test_another_programs_sqlite_file(place: Path) -> None:
    conn = sqlite3.connect(place / "other.db")
    conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    conn.commit()
    conn.close()
    line = only_error(check(place / "other.db"))
    assert NOT_OURS in line and "another program" in line and "moz_places" in line and DAMAGED not in line


def test_a_sparse_file(place: Path) -> None:
    with open(place / "sparse.db", "wb") as f:
        f.truncate(8 << 20)
    line = only_error(check(place / "sparse.db"))
    assert NOT_OURS in line and "nothing but zero bytes" in line and DAMAGED not in line


def test_a_truly_damaged_database(place: Path) -> None:
    path = place / "sound.db"
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size // 2 // 4096 * 4096)
        f.write(random.Random(26).randbytes(8192))
    result = check(path)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert DAMAGED in last and "import your last JSON Lines export" in last
    assert NOT_OURS not in result.stderr and PERMISSIONS not in result.stderr


def test_a_text_that_is_not_utf8_is_named_by_its_row_not_called_sound(place: Path) -> None:
    """Search, export and copy fail on such a row; `check` said "no damage found"."""
    path = place / "sound.db"
    raw = sqlite3.connect(path)
    raw.execute("UPDATE contents SET text = CAST(? AS TEXT) WHERE letter_id = 2",
                (b"Claimant Janet Private \xff\xfe has knee pain",))
    raw.commit()
    raw.close()
    result = check(path, as_nobody=False)
    assert result.returncode == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"imr-desk: {path}: contents.text of row 2 is not UTF-8 text (written by another program, " \
                       "or damage)", result.stderr
    assert "holds text that is not UTF-8" in lines[-1] and "imr-desk copy --from" in lines[-1]
    assert DAMAGED not in result.stderr and "Janet" not in result.stderr and "no damage" not in result.stdout
