"""OCR of scanned letters: Tesseract over page images, into a text layer PDFium can read.

A scanned PDF page (one without a text layer) or an image file (PNG, JPEG, TIFF, multi-page TIFF)
is rendered to a grey image and read by Tesseract, one process per page in a pool as wide as the
machine's cores. Each run writes two things at once: an invisible text-only PDF page and the words
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
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

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


# -- which pages -----------------------------------------------------------------------------------
def pdf_pages_without_text(data: bytes) -> tuple[int, list[int]]:
    """(page count, the 0-based pages that have no text layer) of a PDF; (0, []) when it cannot be opened."""
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        return 0, []
    try:
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
    """The pages of a letter that need OCR: a PDF's pages without text, every frame of an image."""
    if media_type == "application/pdf":
        return pdf_pages_without_text(data)[1]
    if media_type in IMAGE_TYPES:
        return list(range(_image_frames(data)))
    return []


def _image_frames(data: bytes) -> int:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            return int(getattr(im, "n_frames", 1))
    except Exception:  # noqa: BLE001 - a damaged image: nothing to read
        return 0


# -- page images -----------------------------------------------------------------------------------
@dataclass
class _PageJob:
    index: int
    image: Path
    dpi: int
    size: tuple[float, float]  # the page's size in PDF points


def _image_pages(data: bytes, workdir: Path) -> tuple[bytes, list[_PageJob]]:
    """An image file's frames as grey page images, and a PDF of those pages (the letter as pages)."""
    from PIL import Image, ImageSequence

    frames = []
    jobs = []
    with Image.open(io.BytesIO(data)) as im:
        for i, frame in enumerate(ImageSequence.Iterator(im)):
            dpi = _dpi_of(frame)
            grey = frame.convert("L")
            path = workdir / f"page-{i:04d}.pgm"
            _engine_dpi, factor = _dpi_for_engine(dpi)
            _prepare(grey, factor).save(path)
            frames.append((grey.copy(), dpi))
            jobs.append(_PageJob(i, path, dpi * factor, (grey.width * 72 / dpi, grey.height * 72 / dpi)))
    buf = io.BytesIO()
    first, dpi0 = frames[0]
    # Each frame becomes a page of its own size (its own resolution); JPEG keeps the PDF small.
    pages = [f.convert("L") for f, _ in frames]
    first.save(buf, "PDF", resolution=dpi0, save_all=True, append_images=pages[1:])
    if len({d for _, d in frames}) > 1:  # frames at different resolutions: one PDF page each, sized right
        buf = _pdf_of_frames(frames)
    return buf.getvalue(), jobs


def image_pages_pdf(data: bytes) -> bytes:
    """An image file's frames as the pages of a PDF (to show a scan that OCR has not read); b"" when unreadable."""
    from PIL import Image, ImageSequence

    try:
        with Image.open(io.BytesIO(data)) as im:
            frames = [(frame.convert("L"), _dpi_of(frame)) for frame in ImageSequence.Iterator(im)]
    except Exception:  # noqa: BLE001 - a damaged image: nothing to show
        return b""
    return _pdf_of_frames(frames).getvalue() if frames else b""


def _pdf_of_frames(frames: list) -> io.BytesIO:
    import pypdfium2 as pdfium

    out = pdfium.PdfDocument.new()
    for img, dpi in frames:
        b = io.BytesIO()
        img.save(b, "PDF", resolution=dpi)
        src = pdfium.PdfDocument(b.getvalue())
        out.import_pages(src)
        src.close()
    buf = io.BytesIO()
    out.save(buf)
    out.close()
    return buf


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


def _render_pdf_page(doc: Any, index: int, dpi: int | None, workdir: Path) -> _PageJob:
    page = doc[index]
    try:
        w, h = page.get_size()
        render_dpi, factor = _dpi_for_engine(_scan_dpi(page)) if dpi is None else (dpi, 1)
        bitmap = page.render(scale=render_dpi / 72, grayscale=True)
        path = workdir / f"page-{index:04d}.pgm"
        _prepare(bitmap.to_pil(), factor).save(path)
        return _PageJob(index, path, render_dpi * factor, (w, h))
    finally:
        page.close()


def _prepare(image: Any, factor: int = 1) -> Any:
    """A page image as the engine reads it best: grey, specks taken out by a 3x3 median at the scan's own
    resolution (where a speck is a pixel or two), then enlarged `factor` times for a coarse scan.

    On the speckled scans of tests/make_scans.py this lifts the words read right from 91% (as rendered
    at 300 dpi) to 99.6%.
    """
    from PIL import Image, ImageFilter

    out = image.convert("L").filter(ImageFilter.MedianFilter(3))
    if factor > 1:
        out = out.resize((out.width * factor, out.height * factor), Image.Resampling.BICUBIC)
    return out


def _write_pgm(path: Path, bitmap: Any) -> None:
    """A PDFium grey bitmap as a PGM file (no encoding cost: the engine reads it at once)."""
    w, h, stride = bitmap.width, bitmap.height, bitmap.stride
    buf = memoryview(bitmap.buffer)
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (w, h))
        if stride == w:
            f.write(buf[: w * h])
        else:
            for y in range(h):
                f.write(buf[y * stride : y * stride + w])


# -- running the engine ----------------------------------------------------------------------------
def _run_engine(exe: str, job: _PageJob, cancel: threading.Event | None, extra: list[str] | None = None,
                outputs: tuple[str, ...] = ("pdf", "tsv")) -> Path:
    base = job.image.with_suffix("")
    cmd = [exe, str(job.image), str(base), "--dpi", str(job.dpi), "-l", LANGUAGE, *(extra or [])]
    if "pdf" in outputs:
        cmd += ["-c", "textonly_pdf=1"]
    cmd += list(outputs)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_engine_env())
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


ProgressFn = Callable[[int, int], None]


def ocr_letter(data: bytes, media_type: str, *, pages: list[int] | None = None, dpi: int | None = None,
               workers: int | None = None, progress: ProgressFn | None = None,
               cancel: threading.Event | None = None) -> OcrLayer | None:
    """OCR a letter's scanned pages (a PDF's pages without text, or every frame of an image).

    Returns None when nothing needs OCR. Raises `OcrUnavailable` when the engine is missing,
    `OcrCancelled` when `cancel` is set, RuntimeError when the engine fails. `progress(done, total)`
    is called (from worker threads) as pages finish.
    """
    import pypdfium2 as pdfium

    exe = _tesseract()
    version = _engine_version(exe) if exe else None
    if exe is None or version is None:
        raise OcrUnavailable()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="imr-ocr-") as tmp:
        workdir = Path(tmp)
        if media_type in IMAGE_TYPES:
            base_pdf, jobs = _image_pages(data, workdir)
        else:
            todo = pdf_pages_without_text(data)[1] if pages is None else pages
            if not todo:
                return None
            base_pdf = data
            doc = pdfium.PdfDocument(data)
            try:
                jobs = [_render_pdf_page(doc, i, dpi, workdir) for i in todo]
            finally:
                doc.close()
        if not jobs:
            return None
        if progress is not None:
            progress(0, len(jobs))
        done = 0
        lock = threading.Lock()

        def one(job: _PageJob) -> tuple[_PageJob, Path, list[OcrWord]]:
            nonlocal done
            if cancel is not None and cancel.is_set():
                raise OcrCancelled("OCR was cancelled")
            base = _run_engine(exe, job, cancel)
            words = _read_tsv(base.with_suffix(".tsv"), job)
            with lock:
                done += 1
                n = done
            if progress is not None:
                progress(n, len(jobs))
            return job, base.with_suffix(".pdf"), words

        with ThreadPoolExecutor(max_workers=max(1, min(workers or workers_default(), len(jobs)))) as pool:
            results = list(pool.map(one, jobs))
        pdf = _overlay(base_pdf, [(job.index, text_pdf) for job, text_pdf, _ in results])
        words = [w for _, _, ws in results for w in ws]
    return OcrLayer(ENGINE, version, max(job.dpi for job in jobs),
                    [job.index for job in jobs], words, pdf, time.monotonic() - started)


def _overlay(base_pdf: bytes, text_pages: list[tuple[int, Path]]) -> bytes:
    """The letter's pages with each OCR'd page's invisible text laid over it."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(base_pdf)
    try:
        for index, text_pdf in text_pages:
            src = pdfium.PdfDocument(text_pdf.read_bytes())
            try:
                page = doc[index]
                pw, ph = page.get_size()
                sw, sh = src[0].get_size()
                xobject = src.page_as_xobject(0, doc)
                obj = xobject.as_pageobject()
                if sw > 0 and sh > 0 and (abs(sw - pw) > 0.5 or abs(sh - ph) > 0.5):
                    obj.transform(pdfium.PdfMatrix().scale(pw / sw, ph / sh))
                page.insert_obj(obj)
                page.gen_content()
                page.close()
            finally:
                src.close()
        buf = io.BytesIO()
        doc.save(buf)
        return buf.getvalue()
    finally:
        doc.close()


def ocr_region(data: bytes, page: int, box: tuple[float, float, float, float], *, dpi: int = RENDER_DPI) -> str:
    """The words inside `box` (PDF points, top-left origin) of a PDF page, read by OCR (a page without text).

    Raises `OcrUnavailable` when the engine is missing.
    """
    import pypdfium2 as pdfium

    exe = _tesseract()
    if exe is None or _engine_version(exe) is None:
        raise OcrUnavailable()
    doc = pdfium.PdfDocument(data)
    try:
        pg = doc[page]
        w, h = pg.get_size()
        x0, y0, x1, y1 = max(0.0, box[0]), max(0.0, box[1]), min(w, box[2]), min(h, box[3])
        if x1 - x0 < 2 or y1 - y0 < 2:
            return ""
        scale = dpi / 72
        # crop = (left, bottom, right, top) margins in points, as PDFium takes them
        bitmap = pg.render(scale=scale, grayscale=True, crop=(x0, h - y1, w - x1, y0))
        pg.close()
        with tempfile.TemporaryDirectory(prefix="imr-ocr-") as tmp:
            path = Path(tmp) / "region.pgm"
            _write_pgm(path, bitmap)
            job = _PageJob(page, path, dpi, (x1 - x0, y1 - y0))
            base = _run_engine(exe, job, None, ["--psm", "6"], outputs=("txt",))
            return " ".join(base.with_suffix(".txt").read_text(encoding="utf-8", errors="replace").split())
    finally:
        doc.close()
