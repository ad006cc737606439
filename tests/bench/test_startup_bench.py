"""Start-up: the whole `imr-desk` process, from its start to its exit (issue 20, part 5).

Targets: `imr-desk --help` under 150 ms, `imr-desk stats --json` on a small review file under 250 ms
(the median of 15 runs). What keeps them there is that a command imports only what it uses; the
normal suite guards that without timing (tests/store/test_startup_imports.py).

The command runs as an installed copy does, its bytecode compiled once (pip compiles on install): the
warm-up run writes it to a private cache folder (PYTHONPYCACHEPREFIX), even where PYTHONDONTWRITEBYTECODE
is set, which would otherwise make every run compile every module from source.

Run with: .venv/bin/python -m pytest tests/bench/test_startup_bench.py --benchmark-only
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imr_desk.store import Database

DATA = Path(__file__).resolve().parent.parent / "data"
ROUNDS = 15


def _command() -> list[str]:
    """`imr-desk` as the clerk runs it: the console script beside this Python, else `python -m imr_desk`."""
    script = Path(sys.executable).with_name("imr-desk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "imr_desk"]


def _time_process(benchmark, args: list[str], pycache: Path) -> float:
    """The median seconds of ROUNDS runs of `imr-desk ARGS` (after a warm-up run), each a whole process."""
    command = [*_command(), *args]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONPYCACHEPREFIX": str(pycache)}

    def run() -> None:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, env=env)

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    median = float(benchmark.stats.stats.median)
    benchmark.extra_info["median_ms"] = round(median * 1000, 1)
    return median


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    """A review file of four letters (the first shared real PDFs)."""
    path = tmp_path / "small.db"
    with Database.open(path, user="bench") as db:
        db.import_paths(sorted((DATA / "real").glob("*.pdf"))[:4])
    return path


@pytest.mark.benchmark(group="startup")
def test_help_starts_quickly(benchmark, tmp_path: Path) -> None:
    assert shutil.which(_command()[0]) or Path(_command()[0]).exists()
    assert _time_process(benchmark, ["--help"], tmp_path / "pycache") < 0.150


@pytest.mark.benchmark(group="startup")
def test_stats_on_a_small_file_starts_quickly(benchmark, small_db: Path, tmp_path: Path) -> None:
    assert _time_process(benchmark, ["stats", "--json", "--db", str(small_db)], tmp_path / "pycache") < 0.250
