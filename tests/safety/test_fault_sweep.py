"""The fault sweep: SIGKILL at chosen steps of import, save, export and re-parse, then check everything.

The worker (fault_worker.py) counts checkpoints (each SQL statement, COMMIT, folder made, file renamed
or removed, staging folder noted) and kills itself at the one the sweep picks from its seed
(IMR_FAULT_KILL_AT), so the same seed kills at the same step and a failure can be run again to it.
After each kill: SQLite's integrity check, the database opens, every letter is whole (its contents,
file and items agree with its record, its file hashes to its sha256), every save the worker reported
is stored (or a later one), every reported import is there, every reported export is complete (its
manifest's hashes match), and what killed exports left is removed by the next one. Fixed seed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from imr_desk import paths
from imr_desk.export.safety import sweep_killed_exports
from imr_desk.store import Database
from tests.safety.conftest import REAL, SEEDS

ROOT = Path(__file__).resolve().parent.parent.parent
KILLS = 32
MODES = ["import", "save", "export", "reparse", "mixed"]
SPAN = 300  # the step to kill at is drawn from 1..SPAN: a few operations of any mode (about a second)


def _run_and_kill(db_path: Path, work: Path, mode: str, seed: int, kill_at: int | str) -> list[list[str]]:
    """Run the worker until it kills itself at checkpoint `kill_at` (N, or NAME:K); its report, by line."""
    env = {**os.environ, "IMR_FAULT_KILL_AT": str(kill_at)}
    run = subprocess.run([sys.executable, "-m", "tests.safety.fault_worker", str(db_path), str(work), mode,
                          str(seed)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    lines = [line.split(" ", 3) for line in run.stdout.splitlines() if line.strip()]
    assert run.returncode == -signal.SIGKILL, run.stderr  # killed, not failed on its own
    assert lines[0] == ["ready"] and lines[-1][0] == "kill", run.stdout[-500:]
    return lines[1:]


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
    killed_at: Counter[str] = Counter()
    operations = 0
    for kill in range(KILLS):
        mode = MODES[kill % len(MODES)]
        step = rng.randint(1, SPAN)
        reported = _run_and_kill(db_path, work, mode, seed=kill, kill_at=step)
        assert int(reported[-1][1]) == step
        killed_at[reported[-1][2]] += 1
        for words in reported:
            if words[0] in ("step", "kill"):
                continue
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
    assert not list((paths.data_dir() / "staging").glob("*")), "a note of a killed export was left"
    shutil.rmtree(work)
    with capsys.disabled():
        print(f"\nfault sweep: {KILLS} SIGKILLs ({', '.join(f'{m} {n}' for m, n in counts.items())}) at steps "
              f"before a {', '.join(f'{w} {n}' for w, n in killed_at.most_common())}; "
              f"{operations} operations reported and found stored, {len(saves)} letters saved, "
              f"{len(added)} imported, {len(exports)} exports complete; integrity ok after every kill")


def _fresh(tmp_path: Path, name: str) -> tuple[Path, Path]:
    folder = tmp_path / name
    (folder / "work").mkdir(parents=True)
    db_path = folder / "sweep.db"
    with Database.open(db_path) as db:
        assert len(db.import_paths([*REAL[:2], *SEEDS[:3]]).added) == 5
    return db_path, folder / "work"


def test_the_same_seed_kills_at_the_same_step(tmp_path: Path) -> None:
    runs = []
    for name in ("first", "again"):
        db_path, work = _fresh(tmp_path, name)
        reported = _run_and_kill(db_path, work, "mixed", seed=5, kill_at=120)
        runs.append([[w.replace(str(work), "WORK") for w in words] for words in reported])
    assert runs[0][-1][:2] == ["kill", "120"]
    assert runs[0] == runs[1]  # the same operations reported (ids, versions, exports), killed at the same checkpoint


def test_a_kill_while_an_export_sets_up_its_staging_folder_leaves_nothing_the_sweep_cannot_find(
        tmp_path: Path) -> None:
    """Killed at the note of the staging folder and at each step after it until the folder exists (the note
    is itself written in steps: a temporary file, then its rename): the next sweep removes the folder (if
    made) and the note, whatever the step."""
    db_path, work = _fresh(tmp_path, "find")
    noted = int(_run_and_kill(db_path, work, "export", seed=1, kill_at="note:1")[-1][1])
    registry = paths.data_dir() / "staging"
    seen = []
    for step in range(noted, noted + 12):
        shutil.copy(db_path, tmp_path / "copy.db")
        for side in work.iterdir():
            shutil.rmtree(side) if side.is_dir() else side.unlink()
        reported = _run_and_kill(tmp_path / "copy.db", work, "export", seed=1, kill_at=step)
        seen.append((reported[-1][2], sorted(p.name.split(".")[-1] for p in work.iterdir()),
                     len(list(registry.glob("*.json")))))
        sweep_killed_exports()
        assert not [p for p in work.iterdir() if p.name.startswith(".")], seen
        assert not list(registry.glob("*.json")), seen
        if seen[-1][1:] == (["partial"], 1):
            break
    # the steps covered: before the note, the note made without its folder, the folder made
    assert seen[0][0] == "note" and seen[0][1:] == ([], 0), seen
    assert any(notes == 1 and folders == [] for _name, folders, notes in seen), seen
    assert any(notes == 1 and folders == ["partial"] for _name, folders, notes in seen), seen
