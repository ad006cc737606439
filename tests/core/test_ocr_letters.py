"""Whole scanned letters scored like the text PDFs: every shared real letter scanned (tests/make_scans.py)
and read back through `imr-desk parse`, scored by the shared ../shared/tools/evaluate.py.

Done when (issue 12): field accuracy at least 0.97 with at least 90% of provenance spans holding
their value. Slow (some 100 pages through the engine), so marked `slow`; CI runs it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from imr_desk.core import ocr
from tests.make_scans import make_scan

from .conftest import DATA

ROOT = Path(__file__).resolve().parents[2]
EVALUATE = ROOT.parent / "shared" / "tools" / "evaluate.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ocr.available(), reason="Tesseract is not installed (packaging/bootstrap.sh)"),
    pytest.mark.skipif(not EVALUATE.exists(), reason="../shared/tools/evaluate.py is not beside the repository"),
]


def _score(gold: Path, letters: Path, ext: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EVALUATE), str(gold), str(letters), "--python", sys.executable,
         "--ext", ext, "--min", "0.97", "--min-spans", "0.9"],
        capture_output=True, text=True, timeout=3000, cwd=ROOT)


def test_scans_of_every_shared_letter_score_at_least_0_97(tmp_path: Path) -> None:
    """200 dpi image-only PDFs, each page turned about a degree and speckled."""
    for i, pdf in enumerate(sorted((DATA / "real").glob("*.pdf"))):
        make_scan(pdf.read_bytes(), tmp_path / pdf.name, dpi=200, angle=1.0, seed=i)
    out = _score(DATA / "gold", tmp_path, ".pdf")
    print(out.stdout[-1500:])
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "failed 0" in out.stdout.splitlines()[-1]


def test_faxes_and_fine_scans_as_tiff_score_at_least_0_97(tmp_path: Path) -> None:
    """The other resolutions and the other file kind: 150 dpi (a fax) and 300 dpi multi-page TIFFs."""
    pdfs = sorted((DATA / "real").glob("*.pdf"))[::4]  # a sample: every fourth letter
    gold = tmp_path / "gold"
    gold.mkdir()
    for i, pdf in enumerate(pdfs):
        make_scan(pdf.read_bytes(), tmp_path / f"{pdf.stem}.tiff", dpi=150 if i % 2 else 300, angle=0.8, seed=i)
        (gold / f"{pdf.stem}.json").write_text((DATA / "gold" / f"{pdf.stem}.json").read_text())
    out = _score(gold, tmp_path, ".tiff")
    print(out.stdout[-1500:])
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
