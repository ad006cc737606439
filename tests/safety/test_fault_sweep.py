"""The fault sweep: SIGKILL at random moments of import, save, export and re-parse, then check everything.

After each kill: SQLite's integrity check, the database opens, every letter is whole (its contents,
file and items agree with its record, its file hashes to its sha256), every save the worker reported
is stored (or a later one), every reported import is there, every reported export is complete (its
manifest's hashes match), and what killed exports left is removed by the next one. Fixed seed.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imr_desk.export.safety import sweep_killed_exports
from imr_desk.store import Database
from tests.safety.conftest import REAL, SEEDS

ROOT = Path(__file__).resolve().parent.parent.parent
KILLS = 32
MODES = ["import", "save", "export", "reparse", "mixed"]


def _run_and_kill(db_path: Path, work: Path, mode: str, seed: int, delay: float) -> list[list[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.safety.fault_worker", str(db_path), str(work), mode,
                             str(seed)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.strip() == "ready", first + (proc.stderr.read() if proc.stderr else "")
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err  # killed, not failed on its own
    return [line.split(" ", 3) for line in out.splitlines() if line.strip()]


def _check(db_path: Path, saves: dict[int, tuple[int, str]], added: dict[int, str], exports: list[Path]) -> None:
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()
    with Database.open(db_path) as db:
        for row in db.queue({}, limit=10_000):
            letter = db.letter(row.id)
            assert hashlib.sha256(db.letter_file(row.id)).hexdigest() == letter.sha256
            assert len(db.items(row.id)) == len(letter.record.get("items") or []) == row.item_count
            assert db.history(row.id), "a letter without its history is half a letter"
        for letter_id, (version, summary) in saves.items():
            letter = db.letter(letter_id)
            assert letter.version >= version, (letter_id, letter.version, version)
            if letter.version == version:
                assert letter.record["summary"] == summary
        for letter_id, sha in added.items():
            assert db.letter(letter_id).sha256 == sha
    for manifest_path in exports:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        folder = manifest_path.parent
        for f in manifest["files"]:
            if f["name"] != manifest_path.name:
                assert hashlib.sha256((folder / f["name"]).read_bytes()).hexdigest() == f["sha256"]


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_reported_and_damages_nothing(tmp_path: Path, capsys) -> None:
    db_path = tmp_path / "sweep.db"
    with Database.open(db_path) as db:
        assert len(db.import_paths([*REAL[:6], *SEEDS]).added) == 11
    work = tmp_path / "work"
    work.mkdir()
    rng = random.Random(20261202)
    saves: dict[int, tuple[int, str]] = {}
    added: dict[int, str] = {}
    exports: list[Path] = []
    counts = dict.fromkeys(MODES, 0)
    operations = 0
    for kill in range(KILLS):
        mode = MODES[kill % len(MODES)]
        reported = _run_and_kill(db_path, work, mode, seed=kill, delay=rng.uniform(0.05, 1.2))
        for words in reported:
            operations += 1
            if words[0] == "saved":
                saves[int(words[1])] = (int(words[2]), words[3])
            elif words[0] == "added":
                added[int(words[1])] = words[2]
            elif words[0] == "exported":
                exports.append(Path(words[1]))
        counts[mode] += 1
        _check(db_path, saves, added, exports)
    sweep_killed_exports()  # what the killed exports left, removed as the next export or start would
    leftovers = [p for p in work.iterdir() if p.name.startswith(".")]
    assert not leftovers, leftovers
    shutil.rmtree(work)
    with capsys.disabled():
        print(f"\nfault sweep: {KILLS} SIGKILLs ({', '.join(f'{m} {n}' for m, n in counts.items())}), "
              f"{operations} operations reported and found stored, {len(saves)} letters saved, "
              f"{len(added)} imported, {len(exports)} exports complete; integrity ok after every kill")
