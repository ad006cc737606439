"""Memory of importing a long scan (issue 26): `imr-desk import --db X FILE` of a 200-page 300 dpi TIFF.

Target: the import's peak memory stays under 400 MB on SQLite and on PostgreSQL whatever the page
count: the file once (it is read whole: the OCR and the parser read it) plus a flat amount. The
import used to hold the file three times when storing it: bound whole as a parameter (SQLite copies
a bound blob, then builds the row's record from it; psycopg sends the whole value): 457 MB for this
139 MB TIFF without OCR, 578 MB with it (PostgreSQL: 445 and 579 MB). The store now writes the file a chunk at a time
(store/database.py `_write_file`). Measured (2 busy cores), without OCR: SQLite 181 MB, PostgreSQL
180 MB (20 pages, 14 MB: 63 and 62 MB); with OCR: SQLite 323 MB (7.6 min), PostgreSQL 324 MB.

The TIFF is made as tests/bench/test_scan_memory_bench.py makes it (200 pages of a real letter's
pages as 300 dpi grey scans, LZW-compressed). OCR is switched off by default (the engine's path set
to one that does not exist, as the tests do; the scan is stored for review by hand): OCR's own
memory is measured by test_scan_memory_bench.py, and 200 pages take some minutes. IMR_BENCH_IMPORT_OCR=1
runs the imports with OCR too. The peak is the largest resident set of the import process and its
children (the OCR engines), `resource.getrusage(RUSAGE_CHILDREN)` of a process that only runs the
import; the server's own memory is not counted. IMR_BENCH_SCAN_PAGES sets the page count (default 200).

Run with: .venv/bin/python -m pytest tests/bench/test_import_memory_bench.py --benchmark-only -s
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imr_desk.core import ocr
from imr_desk.store import Database
from tests.make_scans import long_tiff as make_long_tiff

DATA = Path(__file__).resolve().parent.parent / "data"
PAGES = int(os.environ.get("IMR_BENCH_SCAN_PAGES", "200"))
DPI = 300
LIMIT_MB = 400
WITH_OCR = os.environ.get("IMR_BENCH_IMPORT_OCR") == "1"

# The import, run in a process of its own; its parent (a process doing nothing else) reports the
# peak resident set of its children (KB on Linux): the import and the engines it ran.
_PARENT = """
import resource, subprocess, sys
code = subprocess.run([sys.executable, "-m", "imr_desk", "import", "--db", sys.argv[1], sys.argv[2]]).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


@pytest.fixture(scope="module")
def long_tiff(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("long-scan") / "long.tiff"
    return make_long_tiff((DATA / "real" / "CM16-0221706.pdf").read_bytes(), out, PAGES, DPI)


@pytest.fixture
def target(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if engine == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "review.db")


def _import(target: str, path: Path, env: dict[str, str]) -> int:
    """The import's peak RSS in KB (with its children's)."""
    proc = subprocess.run([sys.executable, "-c", _PARENT, target, str(path)], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-2000:]
    assert "1 letter(s) added" in proc.stdout, proc.stdout[-2000:]
    return int(proc.stderr.strip().splitlines()[-1])


def test_a_200_page_tiff_is_imported_under_400_mb(benchmark, engine: str, target: str, long_tiff: Path,
                                                  tmp_path: Path) -> None:
    if WITH_OCR and not ocr.available():
        pytest.skip("Tesseract is not installed")
    env = dict(os.environ)
    if not WITH_OCR:
        env["IMR_DESK_TESSERACT"] = str(tmp_path / "no-tesseract")
    result: dict[str, int] = {}

    def run() -> None:
        result["kb"] = _import(target, long_tiff, env)

    benchmark.pedantic(run, rounds=1, iterations=1)
    peak_mb = result["kb"] / 1024
    size = long_tiff.stat().st_size
    with Database.open(target, user="bench") as db:  # stored whole: the letter's identity is its bytes
        (letter_id,) = db.letter_ids()
        letter = db.letter(letter_id)
        assert letter.size == size and letter.pages == PAGES
        assert letter.sha256 == hashlib.sha256(long_tiff.read_bytes()).hexdigest()
        assert db.letter_file(letter_id) == long_tiff.read_bytes()
    seconds = benchmark.stats.stats.min
    benchmark.extra_info.update({"engine": engine, "ocr": WITH_OCR, "pages": PAGES, "dpi": DPI,
                                 "tiff_mb": round(size / 1e6, 1), "peak_rss_mb": round(peak_mb, 1)})
    print(f"\nimr-desk import ({engine}, OCR {'on' if WITH_OCR else 'off'}) of a {PAGES}-page {DPI} dpi TIFF "
          f"({size / 1e6:.0f} MB): peak RSS {peak_mb:.0f} MB, {seconds:.0f} s; target under {LIMIT_MB} MB")
    assert peak_mb < LIMIT_MB
