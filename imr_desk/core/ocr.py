"""OCR of scanned letters: Tesseract over page images, into a text layer PDFium can read.

A scanned PDF page (one without a text layer) or an image file (PNG, JPEG, TIFF, multi-page TIFF)
is rendered to a grey image and read by Tesseract, one process per page in a pool as wide as the
machine's cores. The pages stream: one page is decoded at a time, a page ahead of the engines, and its
files are removed once it is read, so a 200-page scan costs what a 2-page one does in memory. Nothing
is decoded before the scan is measured against `core.limits` (pages, pixels a page and a letter).
The page images and the engine's output live in a private folder of the data folder (`ocr-temp`,
0700, files 0600), one folder a run, named by its process id; a killed run's is swept at the next
start (`sweep_leftovers`). Each run writes two things at once: an invisible text-only PDF page and the words
with their boxes and confidences (TSV). The text pages are laid over the letter's own pages, so the
result (`OcrLayer.pdf`) is the letter as it looks with a text layer under its ink: the reading path,
PDFium's character boxes, highlights and selection work on it as on a text PDF. The words keep the
engine's confidence, so a value read from a smudge can be marked uncertain.

The original file is never changed: the layer is kept beside it (the store's `ocr_layers`).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from imr_desk.core import limits

log = logging.getLogger(__name__)

ENGINE = "tesseract"
LANGUAGE = "eng"
RENDER_DPI = 300
"""A PDF page whose scan resolution cannot be told is rendered at this resolution for the engine."""
MIN_DPI, MAX_DPI = 200, 400
"""A page is read at its scan's own resolution within these bounds (Tesseract reads best at 200-400 dpi):
a coarser scan (a 100 or 150 dpi fax) is read at twice its resolution, a finer one at MAX_DPI."""
IMAGE_DPI_FALLBACK = 200
"""An image that does not say its resolution is taken to be a 200 dpi scan (a fax is 200 or 204)."""
PAGE_TIMEOUT = 300.0
"""Seconds one page may take before the engine is stopped (a normal page takes 1-4 s)."""
MISSING_ENGINE = ("OCR needs Tesseract and its English data, which are not installed: "
                  "sudo apt-get install tesseract-ocr tesseract-ocr-eng (then run: imr-desk ocr)")

IMAGE_TYPES = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
               "image/tiff": (b"II*\x00", b"MM\x00*")}
IMAGE_SUFFIXES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".tif": "image/tiff",
                  ".tiff": "image/tiff"}


class OcrUnavailable(RuntimeError):
    """The OCR engine is not installed (or cannot run); `clerk_message` says what to install."""

    def __init__(self, message: str = MISSING_ENGINE) -> None:
        super().__init__(message)
        self.clerk_message = message


class OcrCancelled(RuntimeError):
    """OCR was cancelled before every page was read."""


def image_type_of(data: bytes) -> str | None:
    """The media type of a PNG, JPEG or TIFF image by its magic bytes, else None."""
    for media_type, magics in IMAGE_TYPES.items():
        if data.startswith(magics):
            return media_type
    return None


@dataclass(frozen=True)
class OcrWord:
    """One word as the engine read it: page (0-based), text, box in PDF points (top-left origin), confidence 0..1."""

    page: int
    text: str
    box: tuple[float, float, float, float]
    conf: float
    line: int
    """A number shared by the words of one text line of the page (block, paragraph and line)."""


@dataclass
class OcrLayer:
    """The OCR of one letter: the letter's pages with a text layer, and the words behind it."""

    engine: str
    engine_version: str
    dpi: int
    pages: list[int]
    """The 0-based pages the engine read (the other pages kept their own text)."""
    words: list[OcrWord] = field(default_factory=list)
    pdf: bytes = b""
    """A PDF's pages with the text laid over them; for an image file, its pages' text only (on pages of
    the image's size: the window draws the image file's pages under it; a layer made before version 0.26
    holds the page images too)."""
    seconds: float = 0.0

    def words_json(self) -> str:
        return json.dumps([[w.page, w.text, [round(v, 2) for v in w.box], round(w.conf, 3), w.line]
                           for w in self.words], ensure_ascii=False, separators=(",", ":"))

    @staticmethod
    def words_from_json(text: str) -> list[OcrWord]:
        out = []
        for page, word, box, conf, line in json.loads(text or "[]"):
            out.append(OcrWord(int(page), str(word), (box[0], box[1], box[2], box[3]), float(conf), int(line)))
        return out

    def page_words(self, page: int) -> list[OcrWord]:
        return [w for w in self.words if w.page == page]

    def describe(self) -> dict[str, Any]:
        return {"engine": self.engine, "version": self.engine_version, "dpi": self.dpi,
                "pages": [p + 1 for p in self.pages]}


# -- the engine ------------------------------------------------------------------------------------
def _tesseract() -> str | None:
    return os.environ.get("IMR_DESK_TESSERACT") or shutil.which("tesseract")


@lru_cache(maxsize=4)
def _engine_version(exe: str) -> str | None:
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
        langs = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    first = (out.stdout or out.stderr).strip().splitlines()
    if out.returncode != 0 or not first or LANGUAGE not in (langs.stdout + langs.stderr).split():
        return None
    return first[0].split()[-1]  # "tesseract 5.3.0"


def engine_version() -> str | None:
    """The installed engine's version ("5.3.0"), or None when it (or its English data) is missing."""
    exe = _tesseract()
    return _engine_version(exe) if exe else None


def available() -> bool:
    return engine_version() is not None


def workers_default() -> int:
    """One engine process per core the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _engine_env() -> dict[str, str]:
    # One thread per engine process: the pool gives each core its own page, which is faster than
    # Tesseract's own threads fighting over the same cores.
    return dict(os.environ, OMP_THREAD_LIMIT="1")


# -- bounds ------------------------------------------------------------------------------------------
class ScanTooLarge(ValueError):
    """A scan beyond `core.limits`: more pages than a letter has, or a page (or the pages together) of more
    pixels than may be decoded. Said before anything is decoded; `clerk_message` says what and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.clerk_message = message


def _pillow() -> Any:
    """PIL.Image, its decompression-bomb limit set to a page's (`limits.MAX_PAGE_PIXELS`).

    The one place the limit is set. Every scan's pages are measured from their headers (`_scan_frames`)
    before any is decoded, so the limit is a second guard: Pillow warns above it, refuses twice it.
    """
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = limits.MAX_PAGE_PIXELS
    return Image


def _open_scan(data: bytes) -> Any:
    """An image file opened lazily (its first header read, nothing decoded), by its magic bytes.

    The format's own class, not `Image.open`, so that a page over the limit is measured and refused with
    its size (`_scan_frames`) rather than stopped by Pillow's check before its size is known.
    """
    _pillow()
    from PIL import JpegImagePlugin, PngImagePlugin, TiffImagePlugin

    fp = io.BytesIO(data)
    kind = image_type_of(data)
    if kind == "image/png":
        return PngImagePlugin.PngImageFile(fp)
    if kind == "image/jpeg":
        return JpegImagePlugin.jpeg_factory(fp)
    if kind == "image/tiff":
        return TiffImagePlugin.TiffImageFile(fp)
    raise ValueError("not a PNG, JPEG or TIFF image")


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    dpi: int


_COUNTED_PAGES = 10 * limits.MAX_PAGES
"""A multi-page image's pages are counted up to this many (then: "more than")."""


def _scan_frames(im: Any) -> list[_Frame]:
    """Each page of an opened image file, its size and resolution from the headers (nothing decoded).

    Raises `ScanTooLarge` beyond the limits (more pages than a letter has, a page or the pages together
    of more pixels than may be decoded), ValueError when a header is damaged.
    """
    from PIL import PngImagePlugin

    Image = _pillow()
    frames: list[_Frame] = []
    if isinstance(im, PngImagePlugin.PngImageFile):  # an animated PNG says its frame count; each is the canvas
        count = int(getattr(im, "n_frames", 1))
        problem = limits.too_many_pages(count, "the image")
        if problem:
            raise ScanTooLarge(problem)
        frames = [_Frame(im.width, im.height, _dpi_of(im))] * count
    else:  # a TIFF's or an MPO's pages, one header after another
        while True:
            if frames:
                if len(frames) > _COUNTED_PAGES:
                    raise ScanTooLarge(limits.too_many_pages(_COUNTED_PAGES, "the image", more=True) or "")
                try:
                    im.seek(len(frames))
                except EOFError:
                    break
                except Image.DecompressionBombError:  # an MPO frame's header, measured below
                    pass
            frames.append(_Frame(int(im.width), int(im.height), _dpi_of(im)))
        problem = limits.too_many_pages(len(frames), "the image")
        if problem:
            raise ScanTooLarge(problem)
    for i, f in enumerate(frames):
        problem = limits.page_too_large(i + 1, f.width, f.height)
        if problem:
            raise ScanTooLarge(problem)
    problem = limits.scan_too_large(sum(f.width * f.height for f in frames), len(frames))
    if problem:
        raise ScanTooLarge(problem)
    return frames


def _fitting_factor(width: int, height: int, factor: int) -> int:
    """The upscale factor for a coarse scan, lowered so the enlarged page stays within a page's pixels."""
    while factor > 1 and width * height * factor * factor > limits.MAX_PAGE_PIXELS:
        factor -= 1
    return factor


@dataclass(frozen=True)
class _PdfPlan:
    index: int
    dpi: int  # rendered at
    factor: int  # then enlarged by
    size: tuple[float, float]  # in PDF points


def _plan_pdf(doc: Any, pages: list[int], dpi: int | None) -> list[_PdfPlan]:
    """How each page to read is rendered for the engine; `ScanTooLarge` when a page, or the pages together,
    would be more pixels than may be decoded (said before any page is rendered)."""
    out: list[_PdfPlan] = []
    total = 0
    for i in pages:
        page = doc[i]
        try:
            w, h = page.get_size()
            render_dpi, factor = _dpi_for_engine(_scan_dpi(page)) if dpi is None else (dpi, 1)
        finally:
            page.close()
        px_w, px_h = max(1, round(w / 72 * render_dpi)), max(1, round(h / 72 * render_dpi))
        factor = _fitting_factor(px_w, px_h, factor)
        problem = limits.page_too_large(i + 1, px_w, px_h, render_dpi, (w / 72, h / 72))
        if problem:
            raise ScanTooLarge(problem)
        total += px_w * px_h * factor * factor
        out.append(_PdfPlan(i, render_dpi, factor, (w, h)))
    problem = limits.scan_too_large(total, len(out))
    if problem:
        raise ScanTooLarge(problem)
    return out


# -- which pages -----------------------------------------------------------------------------------
def pdf_pages_without_text(data: bytes) -> tuple[int, list[int]]:
    """(page count, the 0-based pages that have no text layer) of a PDF; (0, []) when it cannot be opened.

    Raises `ScanTooLarge` for more pages than a letter has, before any page is read.
    """
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        return 0, []
    try:
        problem = limits.too_many_pages(len(doc))
        if problem:
            raise ScanTooLarge(problem)
        empty = []
        for i in range(len(doc)):
            page = doc[i]
            try:
                tp = page.get_textpage()
                try:
                    n = tp.count_chars()
                    if (n == 0 or not tp.get_text_range(0, n).strip()) and draws_something(page):
                        empty.append(i)  # a page without text that shows something: a scan
                finally:
                    tp.close()
            except pdfium.PdfiumError:
                empty.append(i)
            finally:
                page.close()
        return len(doc), empty
    finally:
        doc.close()


def draws_something(page: Any) -> bool:
    """Whether a page holds anything to read (an image, drawn shapes): a blank page needs no OCR."""
    try:
        return next(iter(page.get_objects(max_depth=1)), None) is not None
    except Exception:  # noqa: BLE001 - cannot tell: read it
        return True


def pages_to_ocr(data: bytes, media_type: str) -> list[int]:
    """The pages of a letter that need OCR: a PDF's pages without text, every page of an image ([] when the
    image is damaged).

    Raises `ScanTooLarge` when reading them would pass the limits (pages, pixels), before any is decoded.
    """
    if media_type == "application/pdf":
        _count, pages = pdf_pages_without_text(data)
        if pages:
            import pypdfium2 as pdfium

            doc = pdfium.PdfDocument(data)
            try:
                _plan_pdf(doc, pages, None)
            finally:
                doc.close()
        return pages
    if media_type in IMAGE_TYPES:
        try:
            im = _open_scan(data)
        except Exception:  # noqa: BLE001 - a damaged image: nothing to read
            return []
        try:
            return list(range(len(_scan_frames(im))))
        except ScanTooLarge:
            raise
        except Exception:  # noqa: BLE001 - a damaged page header: nothing to read
            return []
        finally:
            im.close()
    return []


class ScanImage:
    """A scanned image file's pages, decoded one at a time when asked for (the window shows a scan not
    read by OCR this way: only the pages in view are decoded).

    Raises `ScanTooLarge` beyond the limits, ValueError (or Pillow's errors) when the file is damaged.
    """

    def __init__(self, data: bytes) -> None:
        self._im = _open_scan(data)
        try:
            self.frames = _scan_frames(self._im)
        except BaseException:
            self._im.close()
            raise

    def __len__(self) -> int:
        return len(self.frames)

    def page_size(self, page: int) -> tuple[float, float]:
        """The page's size in PDF points (its pixels at its resolution)."""
        f = self.frames[page]
        return f.width * 72 / f.dpi, f.height * 72 / f.dpi

    def dpi(self, page: int) -> int:
        return self.frames[page].dpi

    def page(self, page: int, mode: str | None = "L") -> Any:
        """The page decoded, grey (`mode` None: grey, or black and white for a black-and-white page)."""
        self._im.seek(page)
        return self._im.convert(mode or ("1" if self._im.mode == "1" else "L"))

    def close(self) -> None:
        self._im.close()


# -- page images -----------------------------------------------------------------------------------
@dataclass
class _PageJob:
    index: int
    image: Path
    dpi: int
    size: tuple[float, float]  # the page's size in PDF points


class _ImageLetter:
    """An image file's pages, one at a time: each a page image for the engine, and a page of the layer's
    PDF that holds the page's text only (the image file itself is the letter's look: the window draws its
    pages under the text), so the layer grows by a few KB a page, not by the page's image."""

    def __init__(self, data: bytes) -> None:
        import pypdfium2 as pdfium

        self.scan = ScanImage(data)
        self.pages = list(range(len(self.scan)))
        self.out = pdfium.PdfDocument.new()

    def render(self, k: int, workdir: Path) -> _PageJob:
        f = self.scan.frames[k]
        dpi = f.dpi
        _engine_dpi, factor = _dpi_for_engine(dpi)
        factor = _fitting_factor(f.width, f.height, factor)
        size = (f.width * 72 / dpi, f.height * 72 / dpi)
        self.out.new_page(*size)  # the page's text is laid on it when the engine has read it
        path = workdir / f"page-{k:04d}.pgm"
        _save_private(_prepare(self.scan.page(k), factor), path)
        return _PageJob(k, path, dpi * factor, size)

    def close(self) -> None:
        self.out.close()
        self.scan.close()


class _PdfLetter:
    """A PDF's pages to read, rendered one at a time; the text is laid over a copy of the letter's pages."""

    def __init__(self, data: bytes, pages: list[int], dpi: int | None) -> None:
        import pypdfium2 as pdfium

        self.doc = pdfium.PdfDocument(data)
        try:
            self.plan = _plan_pdf(self.doc, pages, dpi)
            self.out = pdfium.PdfDocument(data)
        except BaseException:
            self.doc.close()
            raise
        self.pages = [p.index for p in self.plan]

    def render(self, k: int, workdir: Path) -> _PageJob:
        plan = self.plan[k]
        page = self.doc[plan.index]
        try:
            bitmap = page.render(scale=plan.dpi / 72, grayscale=True)
            image = _prepare(bitmap.to_pil(), plan.factor)
            bitmap.close()
        finally:
            page.close()
        path = workdir / f"page-{plan.index:04d}.pgm"
        _save_private(image, path)
        return _PageJob(plan.index, path, plan.dpi * plan.factor, plan.size)

    def close(self) -> None:
        self.out.close()
        self.doc.close()


def _save_private(image: Any, path: Path) -> None:
    """A page image for the engine (PGM: no encoding cost), readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        image.save(f, "PPM")


def _dpi_of(image: Any) -> int:
    dpi = image.info.get("dpi")
    try:
        value = int(round(float(dpi[0]))) if dpi else 0
    except (TypeError, ValueError, IndexError):
        value = 0
    return value if 70 <= value <= 1200 else IMAGE_DPI_FALLBACK


def _scan_dpi(page: Any) -> int | None:
    """The resolution of the scan that fills a page (its largest image's pixels per inch), or None."""
    import pypdfium2.raw as pdfium_c

    best: tuple[float, int] | None = None
    try:
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
            px_w, _px_h = obj.get_px_size()
            left, _bottom, right, _top = obj.get_bounds()
            width_in = (right - left) / 72
            if px_w > 0 and width_in > 1:
                area = right - left
                if best is None or area > best[0]:
                    best = (area, round(px_w / width_in))
    except Exception:  # noqa: BLE001 - an odd image object: fall back to the default
        return None
    return best[1] if best else None


def _dpi_for_engine(native: int | None) -> tuple[int, int]:
    """(resolution to render at, upscale factor after the clean-up) for a scan of `native` dpi."""
    if native is None:
        return RENDER_DPI, 1
    if native < MIN_DPI:
        return max(72, native), 2
    return min(native, MAX_DPI), 1


def _prepare(image: Any, factor: int = 1) -> Any:
    """A page image as the engine reads it best: grey, specks taken out by a 3x3 median at the scan's own
    resolution (where a speck is a pixel or two), then enlarged `factor` times for a coarse scan.

    On the speckled scans of tests/make_scans.py this lifts the words read right from 91% (as rendered
    at 300 dpi) to 99.6%.
    """
    Image = _pillow()
    from PIL import ImageFilter

    out = image.convert("L").filter(ImageFilter.MedianFilter(3))
    if factor > 1:
        out = out.resize((out.width * factor, out.height * factor), Image.Resampling.BICUBIC)
    return out


# -- the private folder of a run ---------------------------------------------------------------------
@contextmanager
def _run_folder() -> Iterator[Path]:
    """A folder for one run's page images and the engine's output, in the data folder's `ocr-temp` (0700),
    named by this process's id so that a later start can tell a killed run's folder from a live one's."""
    from imr_desk import paths

    folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=paths.ocr_temp_dir()))  # 0700
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


OLD_TEMP_AGE_S = 3600.0
"""The folders earlier versions kept in the system's temporary folder (imr-ocr-*) are removed once they
have not changed for this long (a live run changes its folder with every page)."""


def sweep_leftovers() -> list[Path]:
    """Remove what killed OCR runs left behind (page images and their text): every run folder whose process
    no longer runs, and an earlier version's imr-ocr-* folders in the system's temporary folder.

    Run at every start (the command line's, the window's) and before every OCR run; never raises.
    """
    from imr_desk import paths
    from imr_desk.core.processes import alive

    removed: list[Path] = []
    try:
        entries = list(paths.ocr_temp_dir(create=False).iterdir())
    except OSError:
        entries = []
    for entry in entries:
        pid = entry.name.split("-", 1)[0]
        try:
            if not pid.isdigit() or int(pid) == os.getpid() or alive(int(pid)):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
        except OSError:
            continue
    try:
        old = list(Path(tempfile.gettempdir()).glob("imr-ocr-*"))
    except OSError:
        old = []
    for entry in old:
        try:
            st = entry.lstat()
            if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and time.time() - st.st_mtime > OLD_TEMP_AGE_S:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
        except (OSError, AttributeError):  # not ours, gone meanwhile, or no uid here (Windows)
            continue
    for folder in removed:
        log.info("removed %s, left by an OCR run that was killed", folder)
    return removed


# -- running the engine ----------------------------------------------------------------------------
class _Stop:
    """Set by the caller (`cancel`) or by the run itself (a page failed: the other pages' engines stop)."""

    def __init__(self, cancel: threading.Event | None) -> None:
        self.cancel = cancel
        self.halted = threading.Event()

    def is_set(self) -> bool:
        return self.halted.is_set() or (self.cancel is not None and self.cancel.is_set())

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()


def _run_engine(exe: str, job: _PageJob, cancel: threading.Event | _Stop | None, extra: list[str] | None = None,
                outputs: tuple[str, ...] = ("pdf", "tsv")) -> Path:
    base = job.image.with_suffix("")
    cmd = [exe, str(job.image), str(base), "--dpi", str(job.dpi), "-l", LANGUAGE, *(extra or [])]
    if "pdf" in outputs:
        cmd += ["-c", "textonly_pdf=1"]
    cmd += list(outputs)
    # umask 077: the engine's text files are the letter's words, readable by the clerk only
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_engine_env(), umask=0o077)
    started = time.monotonic()
    while True:
        try:
            _out, err = proc.communicate(timeout=0.1)
            break
        except subprocess.TimeoutExpired:
            if (cancel is not None and cancel.is_set()) or time.monotonic() - started > PAGE_TIMEOUT:
                proc.kill()
                proc.communicate()
                if cancel is not None and cancel.is_set():
                    raise OcrCancelled("OCR was cancelled") from None
                raise RuntimeError(f"the OCR engine took more than {PAGE_TIMEOUT:.0f} s on page {job.index + 1}") from None
    if proc.returncode != 0:
        msg = (err or b"").decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"the OCR engine failed on page {job.index + 1}: {msg[-1] if msg else proc.returncode}")
    return base


def _read_tsv(path: Path, job: _PageJob) -> list[OcrWord]:
    scale = 72 / job.dpi
    words = []
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if row.get("level") != "5":
                continue
            text = (row.get("text") or "").strip()
            if not text:
                continue
            try:
                left, top = float(row["left"]), float(row["top"])
                width, height = float(row["width"]), float(row["height"])
                conf = max(0.0, min(100.0, float(row["conf"]))) / 100
                line = int(row["block_num"]) * 1_000_000 + int(row["par_num"]) * 1000 + int(row["line_num"])
            except (KeyError, TypeError, ValueError):
                continue
            box = (left * scale, top * scale, (left + width) * scale, (top + height) * scale)
            words.append(OcrWord(job.index, text, box, conf, line))
    return words


def _read_page(exe: str, job: _PageJob, stop: _Stop) -> tuple[_PageJob, bytes, list[OcrWord]]:
    """One page through the engine (on a worker thread): its words and its text page; its files removed."""
    base = job.image.with_suffix("")
    try:
        if stop.is_set():
            raise OcrCancelled("OCR was cancelled")
        _run_engine(exe, job, stop)
        words = _read_tsv(base.with_suffix(".tsv"), job)
        return job, base.with_suffix(".pdf").read_bytes(), words
    finally:
        for suffix in (".pgm", ".tsv", ".pdf"):
            base.with_suffix(suffix).unlink(missing_ok=True)


ProgressFn = Callable[[int, int], None]


def ocr_letter(data: bytes, media_type: str, *, pages: list[int] | None = None, dpi: int | None = None,
               workers: int | None = None, progress: ProgressFn | None = None,
               cancel: threading.Event | None = None) -> OcrLayer | None:
    """OCR a letter's scanned pages (a PDF's pages without text, or every page of an image).

    The pages stream: one is decoded, cleaned and written for the engine at a time, while the engines
    (`workers` of them) read the ones before it; each page's image and the engine's files are removed as
    soon as it is read, so memory stays flat whatever the page count. Returns None when nothing needs
    OCR. Raises `OcrUnavailable` when the engine is missing, `ScanTooLarge` beyond the limits (before
    any page is decoded), `OcrCancelled` when `cancel` is set, RuntimeError when the engine fails.
    `progress(done, total)` is called (on this thread) as pages finish.
    """
    exe = _tesseract()
    version = _engine_version(exe) if exe else None
    if exe is None or version is None:
        raise OcrUnavailable()
    started = time.monotonic()
    sweep_leftovers()
    letter: _ImageLetter | _PdfLetter
    if media_type in IMAGE_TYPES:
        letter = _ImageLetter(data)
    else:
        todo = pdf_pages_without_text(data)[1] if pages is None else pages
        if not todo:
            return None
        letter = _PdfLetter(data, todo, dpi)
    try:
        if not letter.pages:
            return None
        with _run_folder() as workdir:
            words, best_dpi = _read_pages(exe, letter, workdir, workers, progress, cancel)
        buf = io.BytesIO()
        letter.out.save(buf)
    finally:
        letter.close()
    return OcrLayer(ENGINE, version, best_dpi, list(letter.pages), words, buf.getvalue(), time.monotonic() - started)


def _read_pages(exe: str, letter: _ImageLetter | _PdfLetter, workdir: Path, workers: int | None,
                progress: ProgressFn | None, cancel: threading.Event | None) -> tuple[list[OcrWord], int]:
    """Render the letter's pages one at a time and have them read by a pool of engines, at most one page
    ahead of them; each page's text is laid over the letter's page as it comes back, in page order."""
    total = len(letter.pages)
    width = max(1, min(workers or workers_default(), total))
    stop = _Stop(cancel)
    words: list[OcrWord] = []
    best_dpi = 0
    done = 0
    if progress is not None:
        progress(0, total)
    pending: deque[Future[tuple[_PageJob, bytes, list[OcrWord]]]] = deque()
    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="imr-ocr-engine")

    def collect() -> None:
        nonlocal done, best_dpi
        job, text_pdf, page_words = pending.popleft().result()
        _lay_text(letter.out, job.index, text_pdf)
        words.extend(page_words)
        best_dpi = max(best_dpi, job.dpi)
        done += 1
        if progress is not None:
            progress(done, total)

    try:
        for k in range(total):
            if stop.is_set():
                raise OcrCancelled("OCR was cancelled")
            pending.append(pool.submit(_read_page, exe, letter.render(k, workdir), stop))
            while len(pending) > width:  # one page rendered ahead of the engines, no more
                collect()
        while pending:
            collect()
    except BaseException:
        stop.halted.set()  # the other pages' engines stop too
        for fut in pending:
            fut.cancel()
        raise
    finally:
        pool.shutdown(wait=True)
    if stop.cancelled():
        raise OcrCancelled("OCR was cancelled")
    return words, best_dpi


def _lay_text(doc: Any, index: int, text_pdf: bytes) -> None:
    """Lay an OCR'd page's invisible text (the engine's one-page PDF) over the letter's page."""
    import pypdfium2 as pdfium

    src = pdfium.PdfDocument(text_pdf)
    try:
        page = doc[index]
        try:
            pw, ph = page.get_size()
            sw, sh = src[0].get_size()
            xobject = src.page_as_xobject(0, doc)
            obj = xobject.as_pageobject()
            if sw > 0 and sh > 0 and (abs(sw - pw) > 0.5 or abs(sh - ph) > 0.5):
                obj.transform(pdfium.PdfMatrix().scale(pw / sw, ph / sh))
            page.insert_obj(obj)
            page.gen_content()
        finally:
            page.close()
    finally:
        src.close()


def ocr_region(data: bytes, page: int, box: tuple[float, float, float, float], *, dpi: int = RENDER_DPI) -> str:
    """The words inside `box` (PDF points, top-left origin) of a page without text, read by OCR: a PDF's
    page, or a page of a scanned image file (read at its own resolution).

    Raises `OcrUnavailable` when the engine is missing, `ScanTooLarge` for an image beyond the limits.
    """
    exe = _tesseract()
    if exe is None or _engine_version(exe) is None:
        raise OcrUnavailable()
    crop = _image_region(data, page, box) if image_type_of(data) else _pdf_region(data, page, box, dpi)
    if crop is None:
        return ""
    image, crop_dpi = crop
    with _run_folder() as workdir:
        path = workdir / "region.pgm"
        _save_private(image, path)
        job = _PageJob(page, path, crop_dpi, (0.0, 0.0))
        base = _run_engine(exe, job, None, ["--psm", "6"], outputs=("txt",))
        return " ".join(base.with_suffix(".txt").read_text(encoding="utf-8", errors="replace").split())


def _pdf_region(data: bytes, page: int, box: tuple[float, float, float, float], dpi: int) -> tuple[Any, int] | None:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    try:
        pg = doc[page]
        try:
            w, h = pg.get_size()
            x0, y0, x1, y1 = max(0.0, box[0]), max(0.0, box[1]), min(w, box[2]), min(h, box[3])
            if x1 - x0 < 2 or y1 - y0 < 2:
                return None
            problem = limits.page_too_large(page + 1, round((x1 - x0) / 72 * dpi), round((y1 - y0) / 72 * dpi), dpi,
                                            ((x1 - x0) / 72, (y1 - y0) / 72))
            if problem:
                raise ScanTooLarge(problem)
            # crop = (left, bottom, right, top) margins in points, as PDFium takes them
            bitmap = pg.render(scale=dpi / 72, grayscale=True, crop=(x0, h - y1, w - x1, y0))
            image = bitmap.to_pil().convert("L")
            bitmap.close()
            return image, dpi
        finally:
            pg.close()
    finally:
        doc.close()


def _image_region(data: bytes, page: int, box: tuple[float, float, float, float]) -> tuple[Any, int] | None:
    scan = ScanImage(data)
    try:
        dpi = scan.dpi(page)
        f = scan.frames[page]
        s = dpi / 72
        x0, y0 = max(0, round(box[0] * s)), max(0, round(box[1] * s))
        x1, y1 = min(f.width, round(box[2] * s)), min(f.height, round(box[3] * s))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        region = scan.page(page).crop((x0, y0, x1, y1))
    finally:
        scan.close()
    _engine_dpi, factor = _dpi_for_engine(dpi)
    return _prepare(region, _fitting_factor(region.width, region.height, factor)), dpi * factor
