"""OCR speed: seconds per scanned page on 2 cores, against the bare Tesseract run on the same pages.

Target: IMR Desk's OCR (render the page at the scan's resolution, speck filter, the engine writing
its text layer and its words, the layer laid over the letter) costs at most 1.2x the bare engine
reading the same page images to plain text. The bare engine is timed both ways it can use 2 cores
(one page at a time with its own threads, or two single-threaded runs side by side) and the faster
counts. The scans are the shared letters' pages made by tests/make_scans.py (200 dpi, turned about
a degree, speckled); IMR_BENCH_OCR_PAGES sets how many (default 8).

Run with: .venv/bin/python -m pytest tests/bench/test_ocr_bench.py --benchmark-only -s
"""

from __future__ import annotations

import io
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from imr_desk.core import ocr
from tests.make_scans import degrade, render_pages

DATA = Path(__file__).resolve().parent.parent / "data"
PAGES = int(os.environ.get("IMR_BENCH_OCR_PAGES", "8"))
CORES = 2
DPI = 200

pytestmark = pytest.mark.skipif(not ocr.available(), reason="Tesseract is not installed")


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> tuple[bytes, list[Path]]:
    """An image-only PDF of PAGES scanned pages, and the same pages as image files for the bare engine."""
    import random

    rng = random.Random(1)
    images = []
    for pdf in sorted((DATA / "real").glob("*.pdf")):
        for img in render_pages(pdf.read_bytes(), DPI):
            images.append(degrade(img, angle=rng.choice((-1, 1)) * 0.9, speckle=0.0006, rng=rng))
            if len(images) == PAGES:
                break
        if len(images) == PAGES:
            break
    folder = tmp_path_factory.mktemp("bench-scans")
    buf = io.BytesIO()
    images[0].save(buf, "PDF", resolution=DPI, save_all=True, append_images=images[1:])
    files = []
    for i, img in enumerate(images):
        path = folder / f"page-{i}.png"
        img.save(path, dpi=(DPI, DPI))
        files.append(path)
    return buf.getvalue(), files


def bare_tesseract(files: list[Path]) -> float:
    """Seconds for the engine alone to read the page images on CORES cores: the faster of its two ways."""
    exe = ocr._tesseract()
    assert exe is not None

    def run(path: Path, out: Path, threads: str | None) -> None:
        env = dict(os.environ)
        if threads:
            env["OMP_THREAD_LIMIT"] = threads
        subprocess.run([exe, str(path), str(out), "--dpi", str(DPI), "-l", "eng"], check=True,
                       capture_output=True, env=env)

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        for i, f in enumerate(files):  # one page at a time, the engine's own threads on the cores
            run(f, Path(tmp) / f"seq-{i}", str(CORES))
        sequential = time.perf_counter() - started
        started = time.perf_counter()
        with ThreadPoolExecutor(CORES) as pool:  # one single-threaded engine per core
            list(pool.map(lambda a: run(a[1], Path(tmp) / f"par-{a[0]}", "1"), enumerate(files)))
        parallel = time.perf_counter() - started
    return min(sequential, parallel)


def test_ocr_seconds_per_page_against_bare_tesseract(benchmark, scans) -> None:
    pdf, files = scans
    bare = bare_tesseract(files)
    layer = benchmark.pedantic(lambda: ocr.ocr_letter(pdf, "application/pdf", workers=CORES), rounds=2, iterations=1)
    assert layer is not None and layer.pages == list(range(len(files)))
    ours = benchmark.stats.stats.min
    ratio = ours / bare
    benchmark.extra_info.update({"pages": len(files), "cores": CORES, "bare_s_per_page": round(bare / len(files), 3),
                                 "ours_s_per_page": round(ours / len(files), 3), "ratio": round(ratio, 3)})
    print(f"\nOCR of {len(files)} scanned pages on {CORES} cores: IMR Desk {ours / len(files):.2f} s a page, "
          f"bare Tesseract {bare / len(files):.2f} s a page: {ratio:.2f}x (target 1.2x)")
