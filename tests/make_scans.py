"""Make scanned letters from text PDFs: what a claims file's scans and faxes look like.

Each page is rendered at 150-300 dpi in grey, turned about a degree, sprinkled with speckle and
saved as an image-only PDF (no text layer) or a (multi-page) TIFF, so the OCR path can be tested on
the real letters in ../shared/letters/real and scored with ../shared/tools/evaluate.py:

    .venv/bin/python tests/make_scans.py ../shared/letters/real /tmp/scans [--dpi 200] [--angle 1.0] [--tiff]
    .venv/bin/python ../shared/tools/evaluate.py ../shared/letters/gold /tmp/scans --min-spans 0.9

Importable too (`make_scan`, `smudge`), for the tests.
"""

from __future__ import annotations

import argparse
import io
import random
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter


def render_pages(pdf: bytes, dpi: int) -> list[Image.Image]:
    """The PDF's pages as grey images at `dpi`."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L") for i in range(len(doc))]
    finally:
        doc.close()


def degrade(image: Image.Image, *, angle: float, speckle: float, rng: random.Random) -> Image.Image:
    """Turn the page by `angle` degrees and sprinkle `speckle` (share of the page's pixels) dark specks."""
    out = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255, expand=False)
    draw = ImageDraw.Draw(out)
    w, h = out.size
    for _ in range(int(w * h * speckle)):
        x, y = rng.randrange(w), rng.randrange(h)
        r = rng.choice((0, 0, 0, 1))
        draw.rectangle((x, y, x + r, y + r), fill=rng.randrange(0, 90))
    return out


def smudge(image: Image.Image, box: tuple[int, int, int, int], *, seed: int = 7) -> Image.Image:
    """A smudge over `box` (pixels): the ink there blurred and greyed, with grime too big for a speck filter."""
    rng = random.Random(seed)
    out = image.copy()
    region = out.crop(box).filter(ImageFilter.GaussianBlur(1.3))
    region = region.point(lambda v: 90 + v * 135 // 255)  # grey wash: ink lighter, paper darker
    draw = ImageDraw.Draw(region)
    w, h = region.size
    for _ in range(w * h // 40):
        x, y = rng.randrange(w), rng.randrange(h)
        draw.rectangle((x, y, x + 2, y + 1), fill=rng.randrange(40, 160))
    out.paste(region, box[:2])
    return out


def save_scan(pages: list[Image.Image], out: Path, dpi: int) -> None:
    """Image-only PDF (by the name's .pdf) or multi-page TIFF (.tif/.tiff) or one image (.png, .jpg)."""
    suffix = out.suffix.lower()
    if suffix == ".pdf":
        buf = io.BytesIO()
        pages[0].save(buf, "PDF", resolution=dpi, save_all=True, append_images=pages[1:])
        out.write_bytes(buf.getvalue())
    elif suffix in (".tif", ".tiff"):
        pages[0].save(out, "TIFF", dpi=(dpi, dpi), compression="tiff_lzw", save_all=True, append_images=pages[1:])
    elif suffix in (".jpg", ".jpeg"):
        pages[0].save(out, "JPEG", dpi=(dpi, dpi), quality=80)
    else:
        pages[0].save(out, dpi=(dpi, dpi))


def make_scan(pdf: bytes, out: Path, *, dpi: int = 200, angle: float = 1.0, speckle: float = 0.0006,
              seed: int = 0, pages: Iterable[int] | None = None) -> Path:
    """A scan of `pdf` at `out` (format by its suffix): pages rendered, turned, speckled."""
    rng = random.Random(seed)
    images = render_pages(pdf, dpi)
    if pages is not None:
        images = [images[i] for i in pages]
    scanned = []
    for img in images:
        turn = angle * rng.choice((-1, 1)) * rng.uniform(0.7, 1.0)
        scanned.append(degrade(img, angle=turn, speckle=speckle, rng=rng))
    save_scan(scanned, out, dpi)
    return out


def long_tiff(pdf: bytes, out: Path, pages: int, dpi: int = 300, seed: int = 26) -> Path:
    """A long scan as a scanner saves it: `pages` grey pages at `dpi` made from the letter's pages (a
    dozen distinct ones, turned about a degree and speckled, then repeated), in one LZW-compressed TIFF.
    The memory benchmarks' letter: only the distinct pages are ever in memory."""
    rng = random.Random(seed)
    letter = render_pages(pdf, dpi)
    distinct = [degrade(img, angle=rng.choice((-1, 1)) * rng.uniform(0.5, 1.0), speckle=0.0005, rng=rng)
                for _ in range(6) for img in letter]
    images = [distinct[i % len(distinct)] for i in range(pages)]  # references, not copies
    images[0].save(out, "TIFF", dpi=(dpi, dpi), compression="tiff_lzw", save_all=True, append_images=images[1:])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("letters", type=Path, help="a folder of text PDFs")
    ap.add_argument("out", type=Path, help="the folder for the scans (same names)")
    ap.add_argument("--dpi", type=int, default=200)
    ap.add_argument("--angle", type=float, default=1.0)
    ap.add_argument("--speckle", type=float, default=0.0006)
    ap.add_argument("--tiff", action="store_true", help="multi-page TIFF instead of image-only PDF")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    for i, pdf in enumerate(sorted(a.letters.glob("*.pdf"))):
        out = a.out / (pdf.stem + (".tiff" if a.tiff else ".pdf"))
        make_scan(pdf.read_bytes(), out, dpi=a.dpi, angle=a.angle, speckle=a.speckle, seed=i)
        print(out)


if __name__ == "__main__":
    main()
