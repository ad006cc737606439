"""What an absurd input costs (issue 14): seconds and bounded memory, never minutes.

Targets: a 21 MB text letter, a 150 MB member in a small zip and a 300 MB JSON Lines line are refused
in under a second each; a text letter just under the size limit imports in under 15 s; an 800-word
search answers in under 100 ms.

Run with: .venv/bin/python -m pytest tests/bench/test_safety_bench.py --benchmark-only -s
"""

from __future__ import annotations

import itertools
import json
import zipfile
from pathlib import Path

import pytest

from imr_desk.core import limits, parse_file
from imr_desk.store import Database

DATA = Path(__file__).resolve().parent.parent / "data"
SEED = sorted((DATA / "seeds").glob("*.txt"))[0]
_n = itertools.count()


def _import(db: Database, path: Path) -> tuple[int, int]:
    report = db.import_paths([path], batch=f"bench {next(_n)}")
    return len(report.added), len(report.failed)


@pytest.fixture
def bench_db(tmp_path: Path):
    with Database.open(tmp_path / "bench.db", user="bench") as db:
        yield db


@pytest.mark.benchmark(group="absurd")
def test_a_21_mb_text_letter_is_refused_at_once(benchmark, bench_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    seed = SEED.read_bytes()
    path.write_bytes(seed * (21_000_000 // len(seed) + 1))
    assert benchmark(_import, bench_db, path) == (0, 1)


@pytest.mark.benchmark(group="absurd")
def test_a_zip_bomb_is_refused_at_once(benchmark, bench_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("letter.txt", b"A" * 150_000_000)
    assert benchmark(_import, bench_db, path) == (0, 1)


@pytest.mark.benchmark(group="absurd")
def test_a_300_mb_line_is_passed_over(benchmark, bench_db: Database, tmp_path: Path) -> None:
    line = parse_file(SEED, include_text=True)
    path = tmp_path / "set.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"text": "' + "x" * 300_000_000 + '"}\n')
        f.write(json.dumps(line) + "\n")
    added, failed = benchmark.pedantic(_import, (bench_db, path), rounds=1, iterations=1)
    assert failed == 1


@pytest.mark.benchmark(group="absurd")
def test_a_letter_just_under_the_size_limit(benchmark, bench_db: Database, tmp_path: Path) -> None:
    seed = SEED.read_bytes()
    path = tmp_path / "near.txt"
    path.write_bytes(seed * ((limits.MAX_TEXT_FILE_BYTES - 500_000) // len(seed)))
    added, _failed = benchmark.pedantic(_import, (bench_db, path), rounds=1, iterations=1)
    assert added == 1


@pytest.mark.benchmark(group="absurd")
def test_an_800_word_search(benchmark, bench_db: Database) -> None:
    bench_db.import_paths([DATA / "real"])
    words = SEED.read_text(encoding="utf-8", errors="replace").split()[:800]
    benchmark(bench_db.search, " ".join(words))
