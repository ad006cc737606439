"""Scans in the review database: OCR on import, the layer beside the untouched original, `imr-desk ocr`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imr_desk.core import ocr
from imr_desk.store import Database
from imr_desk.store.ocr_layers import load_layer
from tests.make_scans import make_scan

from .conftest import REAL

pytestmark = pytest.mark.skipif(not ocr.available(), reason="Tesseract is not installed (packaging/bootstrap.sh)")

LETTER = next(p for p in REAL if p.name == "CM16-0221706.pdf")


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> Path:
    """The letter's first page as a 200 dpi PNG scan, turned and speckled."""
    return make_scan(LETTER.read_bytes(), tmp_path_factory.mktemp("scan") / "CM16-0221706.png", dpi=200, pages=[0])


def test_a_scan_is_read_on_import_and_its_original_kept_byte_for_byte(db: Database, scan: Path) -> None:
    events = []
    report = db.import_paths([scan], progress=events.append)
    assert report.added == [str(scan)] and not report.failed
    letter_id = report.added_ids[0]
    assert db.letter_file(letter_id) == scan.read_bytes()  # the identity: the file as it came
    letter = db.letter(letter_id)
    assert letter.media_type == "image/png"
    assert letter.parsed["case"]["case_number"] == "CM16-0221706"
    assert letter.parsed["source"]["ocr"]["engine"] == "tesseract"
    layer = load_layer(db, letter_id)
    assert layer is not None and layer.pages == [0] and layer.engine_version == ocr.engine_version()
    assert layer.pdf.startswith(b"%PDF") and len(layer.words) > 300
    # progress: pages done of pages to do while the scan was read, then the letter added
    pages = [e.pages for e in events if e.outcome == "ocr"]
    assert pages[0] == (0, 1) and (1, 1) in pages
    assert events[-1].outcome == "added"
    # the text read is searchable
    assert letter_id in [hit["id"] if isinstance(hit, dict) else hit for hit in _search_ids(db, "Viagra")]


def _search_ids(db: Database, words: str) -> list[int]:
    out = subprocess.run([sys.executable, "-m", "imr_desk", "search", "--db", db.target, "--json", words],
                         capture_output=True, text=True, timeout=60)
    return [json.loads(line).get("id") for line in out.stdout.splitlines() if line.strip()]


def test_without_the_engine_a_scan_is_stored_for_review_by_hand_and_imr_desk_ocr_reads_it_later(
        db_path: Path, scan: Path, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "imr_desk"]
    env = dict(os.environ, IMR_DESK_TESSERACT=str(tmp_path / "no-tesseract"))
    out = subprocess.run([*cmd, "import", "--db", str(db_path), str(scan)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "apt-get install tesseract-ocr" in out.stderr  # said plainly, and the letter still stored
    db = Database.open(db_path)
    (letter_id,) = [r[0] for r in db.conn.execute("SELECT id FROM letters")]
    letter = db.letter(letter_id)
    assert letter.parsed["case"]["case_number"] is None
    assert {"no-text-layer", "ocr-unavailable"} <= {w["code"] for w in letter.parsed["warnings"]}
    db.close()

    missing = subprocess.run([*cmd, "ocr", "--db", str(db_path)], capture_output=True, text=True, env=env, timeout=60)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert "tesseract-ocr tesseract-ocr-eng" in missing.stderr

    done = subprocess.run([*cmd, "ocr", "--db", str(db_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "1 scanned letter(s) read by OCR, 1 page(s)" in done.stdout
    assert "page 1 of 1 read" in done.stderr
    db = Database.open(db_path)
    letter = db.letter(letter_id)
    assert letter.parsed["case"]["case_number"] == "CM16-0221706"
    assert "ocr-unavailable" not in {w["code"] for w in letter.parsed["warnings"]}
    assert db.letter_file(letter_id) == scan.read_bytes()
    assert load_layer(db, letter_id) is not None
    db.close()
    again = subprocess.run([*cmd, "ocr", "--db", str(db_path)], capture_output=True, text=True, timeout=60)
    assert "0 scanned letter(s) read by OCR" in again.stdout  # only letters never read, unless --all
