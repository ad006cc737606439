"""Memory of reading a long scan (issue 26): `imr-desk parse` of a 200-page TIFF, OCR included.

Target: the parse's peak memory stays under 400 MB whatever the page count (it used to keep every
page's image: 1.79 GB for these 200 pages). OCR streams the pages, one decoded at a time, and an
image's layer holds its pages' text only, so the figure is the file itself, a few pages and the
words. Measured (2 busy cores): 265 MB for a 139 MB TIFF, 2.97 s a page; 95 MB for 20 pages.

The TIFF is 200 pages of a real letter's pages made into 300 dpi grey scans (tests/make_scans.py:
turned about a degree, speckled; a dozen distinct pages, repeated), LZW-compressed, as a scanner
saves them. The peak is the parse process's own (its resident set, measured by itself), and the
largest of it and its engine processes (`os.wait4`); both are printed. OCR of 200 pages takes some
minutes on 2 cores. IMR_BENCH_SCAN_PAGES sets the page count (default 200).

Run with: .venv/bin/python -m pytest tests/bench/test_scan_memory_bench.py --benchmark-only -s
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imr_desk.core import ocr
from tests.make_scans import long_tiff as make_long_tiff

DATA = Path(__file__).resolve().parent.parent / "data"
PAGES = int(os.environ.get("IMR_BENCH_SCAN_PAGES", "200"))
DPI = 300
LIMIT_MB = 400

pytestmark = pytest.mark.skipif(not ocr.available(), reason="Tesseract is not installed")

# The parse, run in a process of its own that reports its own peak resident set (KB on Linux) at the end.
_CHILD = """
import resource, sys
from imr_desk.cli import main
sys.argv = ["imr-desk", "parse", sys.argv[1]]
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


@pytest.fixture(scope="module")
def long_tiff(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("long-scan") / "long.tiff"
    return make_long_tiff((DATA / "real" / "CM16-0221706.pdf").read_bytes(), out, PAGES, DPI)


def _parse(path: Path) -> tuple[dict, int, int]:
    """(the record, the parse process's own peak RSS in KB, the peak of it and its engines in KB)."""
    out_path, err_path = path.with_suffix(".out"), path.with_suffix(".err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)], stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    errors = err_path.read_text(encoding="utf-8", errors="replace")
    assert proc.returncode == 0, errors[-2000:]
    own = int(errors.strip().splitlines()[-1])
    return json.loads(out_path.read_text(encoding="utf-8")), own, int(usage.ru_maxrss)


def test_a_200_page_tiff_is_read_under_400_mb(benchmark, long_tiff: Path) -> None:
    result: dict = {}

    def run() -> None:
        result["record"], result["own"], result["tree"] = _parse(long_tiff)

    benchmark.pedantic(run, rounds=1, iterations=1)
    record, own_kb, tree_kb = result["record"], result["own"], result["tree"]
    assert "error" not in record, record.get("error")
    assert record["source"]["pages"] == PAGES and record["source"]["ocr"]["pages"] == list(range(1, PAGES + 1))
    assert record["case"]["case_number"]  # the letters were read
    own_mb, tree_mb = own_kb / 1024, tree_kb / 1024
    seconds = benchmark.stats.stats.min
    benchmark.extra_info.update({"pages": PAGES, "dpi": DPI, "tiff_mb": round(long_tiff.stat().st_size / 1e6, 1),
                                 "peak_rss_mb": round(own_mb, 1), "peak_rss_with_engines_mb": round(tree_mb, 1),
                                 "s_per_page": round(seconds / PAGES, 3)})
    print(f"\nimr-desk parse of a {PAGES}-page {DPI} dpi TIFF ({long_tiff.stat().st_size / 1e6:.0f} MB): "
          f"peak RSS {own_mb:.0f} MB (with its engines: {tree_mb:.0f} MB), {seconds:.0f} s "
          f"({seconds / PAGES:.2f} s a page); target under {LIMIT_MB} MB")
    assert own_mb < LIMIT_MB and tree_mb < LIMIT_MB
