"""Team mode's speed: eight clerks saving at once, and importing, on one PostgreSQL server against one SQLite file.

(a) Eight clerk processes (tests/bench/clerk_worker.py) open letters and save edits with the version
    they read for IMR_BENCH_SECONDS (default 60) s, half of the time on three letters they all work
    on: p50/p95 save latency, saves a second, conflicts refused. No update may be lost: every save
    reported as landed is one history row of its letter, every refused one a "*rejected" row.
(b) Importing the shared letters (PDFs and texts) and a generated corpus of IMR_BENCH_LETTERS
    (default 50,000) text letters (test_store_bench's variants of the sample letters): letters a
    second on each engine, side by side.

Run with: .venv/bin/python -m pytest tests/bench/test_team_bench.py --benchmark-enable -s
A quick run: IMR_BENCH_SECONDS=10 IMR_BENCH_LETTERS=2000 (the same command).
The PostgreSQL server is the tests' throwaway cluster (tests/pgserver.py): on this one machine, over
its local socket, fsync off as for every test cluster (SQLite runs with its own synchronous=NORMAL).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imr_desk.store import Database

from .test_store_bench import _variants

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "letters"
SEEDS = sorted((ROOT / "tests" / "data" / "seeds").glob("*.txt"))
SECONDS = float(os.environ.get("IMR_BENCH_SECONDS", "60"))
CORPUS_SIZE = int(os.environ.get("IMR_BENCH_LETTERS", "50000"))
CLERKS = 8
HOT = 3  # letters every clerk works on
OWN = 4  # letters each clerk works on alone
RESULTS: dict[str, dict[str, float]] = {}  # engine -> figures, printed side by side at the end


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "team.db")


def _letters(n: int, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, (name, data) in enumerate(_variants(n)):
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(exist_ok=True)
        (sub / name).write_bytes(data)
    return folder


def _engine(target: str) -> str:
    return "postgresql" if target.startswith("postgresql://") else "sqlite"


@pytest.mark.benchmark(group="team-saves")
def test_eight_clerks_saving_at_once(benchmark, target: str, tmp_path: Path) -> None:
    n_letters = HOT + CLERKS * OWN
    with Database.open(target, user="setup") as db:
        ids = db.import_paths([_letters(n_letters, tmp_path / "letters")]).added_ids
    assert len(ids) == n_letters
    hot, rest = ids[:HOT], ids[HOT:]
    results: list[dict] = []

    def run() -> None:
        procs = [subprocess.Popen(
            [sys.executable, "-m", "tests.bench.clerk_worker", target, f"clerk{c}", str(SECONDS), str(c),
             json.dumps(hot), json.dumps(rest[c * OWN:(c + 1) * OWN])],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in range(CLERKS)]
        for p in procs:
            out, err = p.communicate(timeout=SECONDS + 120)
            assert p.returncode == 0, err
            results.append(json.loads(out))

    benchmark.pedantic(run, rounds=1, iterations=1)
    errors = [e for r in results for e in r["errors"]]
    assert not errors, errors[:5]
    latencies = sorted(x for r in results for x in r["latencies"])
    saved: dict[int, int] = {}
    refused: dict[int, int] = {}
    for r in results:
        for k, v in r["saved"].items():
            saved[int(k)] = saved.get(int(k), 0) + v
        for k, v in r["refused"].items():
            refused[int(k)] = refused.get(int(k), 0) + v
    with Database.open(target, user="check") as db:  # no lost update: each landed save is in the history
        for letter_id in ids:
            rows = db.history(letter_id)
            assert sum(1 for h in rows if h.path == "summary") == saved.get(letter_id, 0), letter_id
            assert sum(1 for h in rows if h.path == "*rejected") == refused.get(letter_id, 0), letter_id
    total_saved, total_refused = sum(saved.values()), sum(refused.values())
    assert total_saved and total_refused, "the clerks must both save and collide"
    figures = {"saves": total_saved, "saves_per_s": round(total_saved / SECONDS, 1),
               "conflicts_refused": total_refused, "attempts": len(latencies),
               "p50_ms": round(statistics.median(latencies) * 1000, 2),
               "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 2),
               "seconds": SECONDS, "clerks": CLERKS}
    benchmark.extra_info.update(figures)
    RESULTS.setdefault(_engine(target), {}).update({f"clerks_{k}": v for k, v in figures.items()})
    print(f"\n{_engine(target)}: {CLERKS} clerks for {SECONDS:.0f} s: {total_saved} saves "
          f"({figures['saves_per_s']}/s), {total_refused} conflicts refused, save p50 {figures['p50_ms']} ms, "
          f"p95 {figures['p95_ms']} ms; history matches every save")


@pytest.mark.benchmark(group="team-import")
def test_import_the_shared_letters(benchmark, target: str) -> None:
    paths = [SHARED / "real", SHARED / "seeds"]
    expected = sum(1 for p in paths for f in p.iterdir() if f.suffix in (".pdf", ".txt"))
    rounds = iter(range(100))

    def run() -> int:
        with Database.open(target, user="bench") as db:
            batch = f"round {next(rounds)}"
            db.conn.execute("DELETE FROM letters")  # each round imports all of them again
            return len(db.import_paths(paths, batch=batch).added)

    added = benchmark.pedantic(run, rounds=3, iterations=1)
    assert added == expected
    rate = expected / benchmark.stats.stats.mean
    benchmark.extra_info.update({"letters": expected, "letters_per_s": round(rate, 1)})
    RESULTS.setdefault(_engine(target), {})["shared_letters_per_s"] = round(rate, 1)
    print(f"\n{_engine(target)}: the {expected} shared letters import at {rate:.1f} letters/s")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _letters(CORPUS_SIZE, tmp_path_factory.mktemp("team-corpus") / "letters")


@pytest.mark.benchmark(group="team-import")
def test_import_a_text_corpus(benchmark, target: str, corpus: Path) -> None:
    seconds: list[float] = []

    def run() -> int:
        start = time.perf_counter()
        with Database.open(target, user="bench") as db:
            added = len(db.import_paths([corpus]).added)
        seconds.append(time.perf_counter() - start)
        return added

    assert benchmark.pedantic(run, rounds=1, iterations=1) == CORPUS_SIZE
    rate = CORPUS_SIZE / seconds[0]
    benchmark.extra_info.update({"letters": CORPUS_SIZE, "seconds": round(seconds[0], 1),
                                 "letters_per_s": round(rate, 1)})
    RESULTS.setdefault(_engine(target), {})["corpus_letters_per_s"] = round(rate, 1)
    print(f"\n{_engine(target)}: {CORPUS_SIZE} text letters imported in {seconds[0]:.1f} s = {rate:.0f} letters/s")


def test_figures_side_by_side() -> None:
    """Prints what the benchmarks above measured, SQLite beside PostgreSQL (run last, with -s)."""
    if not RESULTS:
        pytest.skip("no team benchmark ran (they run with --benchmark-enable)")
    keys = sorted({k for figures in RESULTS.values() for k in figures})
    print("\n" + f"{'':32}{'sqlite':>14}{'postgresql':>14}")
    for k in keys:
        print(f"{k:32}" + "".join(f"{RESULTS.get(e, {}).get(k, '-')!s:>14}" for e in ("sqlite", "postgresql")))
