"""OCR's temporary files (issue 26): the page images and the engine's text live in a private folder of
the data folder (0700, files 0600), one folder a run named by its process id; a page's files go as
soon as it is read, the run's folder when it ends, and a killed run's at the next start."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imr_desk import paths
from imr_desk.core import ocr
from tests.make_scans import make_scan, render_pages

from .conftest import DATA

LETTER = DATA / "real" / "CM16-0221706.pdf"
SEED = sorted((DATA / "seeds").glob("*.txt"))[0]

pytestmark = pytest.mark.skipif(not ocr.available(), reason="Tesseract is not installed (packaging/bootstrap.sh)")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(scope="module")
def three_pages() -> bytes:
    """A 3-page TIFF at 200 dpi: the tops of the letter's pages (a few lines each, so the engine is quick)."""
    import io

    tops = [page.crop((0, 0, page.width, page.height // 5)) for page in render_pages(LETTER.read_bytes(), 200)]
    buf = io.BytesIO()
    tops[0].save(buf, "TIFF", dpi=(200, 200), compression="tiff_lzw", save_all=True, append_images=[tops[1], tops[0]])
    return buf.getvalue()


def test_each_pages_files_are_private_and_gone_once_the_page_is_read(three_pages: bytes) -> None:
    root = paths.ocr_temp_dir(create=False)
    seen: list[tuple[int, list[tuple[str, int]], int]] = []

    def progress(done: int, total: int) -> None:
        [run] = list(root.iterdir())  # this run's folder, named by this process's id
        assert run.name.startswith(f"{os.getpid()}-")
        files = [(f.name, mode(f)) for f in run.iterdir()]
        seen.append((done, files, mode(run)))

    layer = ocr.ocr_letter(three_pages, "image/tiff", workers=1, progress=progress)
    assert layer is not None and layer.pages == [0, 1, 2] and len({w.page for w in layer.words}) == 3
    assert [d for d, _f, _m in seen] == [0, 1, 2, 3]
    assert mode(root) == 0o700 and mode(root.parent) == 0o700
    for done, files, run_mode in seen:
        assert run_mode == 0o700
        assert all(m == 0o600 for _name, m in files), files
        pages = {int(name[5:9]) for name, _m in files}
        # a read page's image and text are gone; at most the page being read and none ahead (1 engine)
        assert all(p >= done for p in pages) and len(pages) <= 1, (done, files)
    assert not list(root.iterdir())  # the run's folder is gone with it


def test_a_killed_ocr_run_leaves_a_private_folder_that_the_next_start_removes(three_pages: bytes, tmp_path: Path,
                                                                              imr_home: Path) -> None:
    scan = tmp_path / "fax.tiff"
    scan.write_bytes(three_pages)
    root = paths.ocr_temp_dir(create=False)
    run = subprocess.Popen([sys.executable, "-m", "imr_desk", "parse", str(scan)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, start_new_session=True)
    engine_files: list[tuple[Path, int]] = []
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and run.poll() is None:  # until the engine writes its text for a page
            for f in root.glob(f"{run.pid}-*/page-*"):
                try:
                    engine_files.append((f, mode(f)))
                except FileNotFoundError:  # read and removed meanwhile
                    continue
            if any(f.suffix in (".tsv", ".pdf") for f, _m in engine_files) and any(
                    f.suffix == ".pgm" for f, _m in engine_files):
                break
            time.sleep(0.005)
        else:
            pytest.fail(f"the OCR run wrote no page files ({run.poll()=}, {engine_files=})")
        os.killpg(run.pid, signal.SIGKILL)  # the run and its engines, mid-letter
    finally:
        run.wait(30)
        assert run.stderr is not None
        run.stderr.close()
    [left] = list(root.iterdir())
    assert left.name.startswith(f"{run.pid}-") and mode(left) == 0o700 and mode(root) == 0o700
    assert all(m == 0o600 for _f, m in engine_files), engine_files
    suffixes = {f.suffix for f, _m in engine_files}  # the page images ours, the text the engine's
    assert ".pgm" in suffixes and suffixes & {".tsv", ".pdf"}, suffixes
    assert list(left.glob("page-*")), "the kill left nothing behind: the test proves nothing"
    assert all(mode(f) == 0o600 for f in left.iterdir())

    # the next start (any command) removes what the killed run left
    nxt = subprocess.run([sys.executable, "-m", "imr_desk", "parse", "--no-ocr", str(SEED)], capture_output=True,
                         text=True, timeout=60)
    assert nxt.returncode == 0, nxt.stderr
    assert not left.exists() and list(root.iterdir()) == []


def test_a_live_runs_folder_is_not_swept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # no earlier version's folders in the way
    root = paths.ocr_temp_dir()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        for pid in (live.pid, dead.pid, os.getpid()):
            folder = root / f"{pid}-run"
            folder.mkdir(mode=0o700)
            (folder / "page-0000.pgm").write_bytes(b"P5\n1 1\n255\n\x00")
        (root / "not-a-run").mkdir()
        removed = ocr.sweep_leftovers()
        assert removed == [root / f"{dead.pid}-run"]
        assert sorted(p.name for p in root.iterdir()) == sorted([f"{live.pid}-run", f"{os.getpid()}-run", "not-a-run"])
    finally:
        live.kill()
        live.wait()
    assert ocr.sweep_leftovers() == [root / f"{live.pid}-run"]  # once its process is gone


def test_an_earlier_versions_temporary_folders_are_swept_once_stale(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale, fresh = tmp_path / "imr-ocr-old1", tmp_path / "imr-ocr-new1"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "page-0000.tsv").write_text("level\ttext\n5\tPatient\n")
    old = time.time() - ocr.OLD_TEMP_AGE_S - 60
    os.utime(stale, (old, old))
    assert stale in ocr.sweep_leftovers()
    assert not stale.exists() and fresh.exists()


def test_a_box_on_a_page_of_an_image_file_is_read_in_the_private_folder(tmp_path: Path) -> None:
    """The window's box on a scan not read by OCR: the region of the image file's page, at its own resolution."""
    import pypdfium2 as pdfium

    png = make_scan(LETTER.read_bytes(), tmp_path / "page.png", dpi=200, angle=0.0, pages=[0]).read_bytes()
    doc = pdfium.PdfDocument(LETTER.read_bytes())
    tp = doc[0].get_textpage()
    h = doc[0].get_size()[1]
    at = tp.get_text_range().index("CM16-0221706")
    boxes = [tp.get_charbox(k) for k in range(at, at + 12)]
    box = (min(b[0] for b in boxes) - 6, h - max(b[3] for b in boxes) - 5,
           max(b[2] for b in boxes) + 6, h - min(b[1] for b in boxes) + 5)
    tp.close()
    doc.close()
    assert "CM16-0221706" in ocr.ocr_region(png, 0, box)
    assert list(paths.ocr_temp_dir().iterdir()) == []
