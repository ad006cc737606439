"""How big a letter may be: limits far above every real letter, far below what would hurt.

Real IMR Final Determination Letters (the 29 in tests/data/real, and the published ones like them)
are 2 to 6 pages, 8,000 to 17,000 characters of text, 1 to 15 disputed items, 20 to 50 KB as a PDF.
A file far outside that is something else (several letters run together, a whole case file, a
generated file meant to exhaust the machine), and storing it as one letter would make the window,
the exports and the write lock pay for it. So:

- a limit *refuses* the file, with a message that says what it is and what to do, before the costly
  step (a file's size before reading it, a PDF's page count before extracting text);
- an *unusual letter* warning stores it but says so, in the letter's checks and in the import
  report, where it is still plausible (many items, many pages).

Measured on this machine: the parser reads 2.4 MB of text in 0.7 s; a 15.5 MB text letter just under
the limit (2,598 items) imports in 5 s at 340 MB, one of 21 MB is refused in a millisecond, and so is a
150 MB member in a 146 KB zip. Every real letter is at least 50 times below each refusal.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

MAX_LETTER_BYTES = 200_000_000
"""Any letter file (a PDF with scanned pages may be large)."""
MAX_TEXT_FILE_BYTES = 16_000_000
"""A plain-text letter (a real one is about 20 KB)."""
MAX_TEXT_CHARS = 16_000_000
"""The text read from any letter (a real one: under 20,000 characters)."""
MAX_PAGES = 1000
"""Pages of any letter: a PDF's, a multi-page TIFF's, any multi-frame image's (counted before a page is read)."""
UNUSUAL_PAGES = 40
MAX_PAGE_PIXELS = 40_000_000
"""Pixels of one page decoded (a scanned image's page, a PDF page rendered for OCR): a letter page is 8.4
million at 300 dpi, 15 million at 400, 34 million at 600. Pillow's decompression-bomb limit is set to it
(`core.ocr`), and every page's size is checked from its header before it is decoded, so one page costs
at most some 200 MB however it is coded (4 bytes a pixel, and its grey copy)."""
MAX_LETTER_PIXELS = 4_000_000_000
"""Pixels of one letter's pages decoded together: some 475 pages at 300 dpi, 1,000 at 200 dpi (a fax).
OCR reads a page at a time, so this bounds the time (some 0.3 s a million pixels on 2 cores) and the
size of the letter's page images, not the memory."""
MAX_ITEMS = 10_000
UNUSUAL_ITEMS = 60

MAX_ARCHIVE_BYTES = 4_000_000_000
"""What the letters of one .zip may expand to, all together."""
MAX_EXPANSION = 100
"""How many times over a member may expand (letters compress 1 to 5 times)..."""
EXPANSION_FLOOR = 1_000_000
"""...once it expands to more than this (small files compress oddly and cost nothing)."""


def mb(n: int) -> str:
    return f"{n / 1_000_000:.0f} MB" if n >= 10_000_000 else f"{n / 1_000_000:.1f} MB"


def too_big(size: int, is_pdf: bool) -> str | None:
    """Why a letter file of `size` bytes is refused, or None."""
    if size > MAX_LETTER_BYTES:
        return (f"the file is {mb(size)}, larger than any letter ({mb(MAX_LETTER_BYTES)} at most); "
                "it is not one IMR letter")
    if not is_pdf and size > MAX_TEXT_FILE_BYTES:
        return (f"the text file is {mb(size)}; a letter's text is some 20 KB ({mb(MAX_TEXT_FILE_BYTES)} at most), "
                "so this is not one letter. Split it into its letters")
    return None


def too_many_pages(pages: int, what: str = "the PDF", more: bool = False) -> str | None:
    """Why a letter of `pages` pages is refused, or None; `more`: it has at least that many (not counted on)."""
    if pages > MAX_PAGES:
        return (f"{what} has {'more than ' if more else ''}{pages:,} pages; a letter has a few ({MAX_PAGES:,} at "
                "most), so this is not one letter. Split it into its letters")
    return None


def sentence(problem: str) -> str:
    """A limit's reason as a letter's error: a sentence."""
    return problem[:1].upper() + problem[1:] + ("" if problem.endswith(".") else ".")


def _millions(pixels: int) -> str:
    return f"{pixels / 1_000_000:,.0f} million" if pixels >= 10_000_000 else f"{pixels / 1_000_000:,.1f} million"


def page_too_large(page: int, width: int, height: int, dpi: int | None = None,
                   inches: tuple[float, float] | None = None) -> str | None:
    """Why page `page` (1-based) of `width` x `height` pixels is not decoded, or None.

    `dpi` and `inches`: a PDF page, which would be rendered at `dpi` for OCR (its size in inches).
    """
    pixels = width * height
    if pixels <= MAX_PAGE_PIXELS:
        return None
    limit = f"a page may have {_millions(MAX_PAGE_PIXELS)} pixels at most (a letter page scanned at 600 dpi has 34 million)"
    if dpi is not None and inches is not None:
        return (f"page {page} is too large to read: it is {inches[0]:,.0f} x {inches[1]:,.0f} inches, which at {dpi} dpi "
                f"is {width:,} x {height:,} pixels ({_millions(pixels)}); {limit}. Check that this is a letter; "
                "scan it again at letter size and 300 dpi")
    return (f"the image is too large: page {page} is {width:,} x {height:,} pixels ({_millions(pixels)}); {limit}. "
            "Scan it again at 300 dpi")


def scan_too_large(pixels: int, pages: int) -> str | None:
    """Why a scan whose `pages` pages hold `pixels` pixels together is not decoded, or None."""
    if pixels <= MAX_LETTER_PIXELS:
        return None
    return (f"the scan is too large: its {pages:,} pages hold {pixels / 1e9:,.1f} billion pixels together; a letter "
            f"may have {MAX_LETTER_PIXELS / 1e9:,.0f} billion at most (some {MAX_LETTER_PIXELS // 8_415_000:,} pages at "
            "300 dpi), so this is not one letter. Split it into its letters, or scan it at 200 dpi")


def too_much_text(chars: int) -> str | None:
    if chars > MAX_TEXT_CHARS:
        return (f"the letter's text is {chars:,} characters; a letter has some 20,000 ({MAX_TEXT_CHARS:,} at "
                "most), so this is not one letter. Split it into its letters")
    return None


def too_many_items(items: int) -> str | None:
    if items > MAX_ITEMS:
        return (f"the letter has {items:,} disputed items; a letter has a few ({MAX_ITEMS:,} at most), so this "
                "is not one letter. Split it into its letters")
    return None


def unusual(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The "unusual letter" warnings of a record that is within the limits but far from real letters."""
    out: list[dict[str, Any]] = []
    items = len(record.get("items") or [])
    pages = (record.get("source") or {}).get("pages") or 0
    if items > UNUSUAL_ITEMS:
        out.append({"path": "items", "code": "unusual-letter", "severity": "warning",
                    "message": f"Unusual letter: {items:,} disputed items (real letters have up to about 20). "
                               "Check that this is one letter, not several run together."})
    if isinstance(pages, int) and pages > UNUSUAL_PAGES:
        out.append({"path": None, "code": "unusual-letter", "severity": "warning",
                    "message": f"Unusual letter: {pages:,} pages (real letters have up to about 10). "
                               "Check that this is one letter, not several run together."})
    return out


def archive_member_problem(size: int, compressed: int, total_so_far: int) -> str | None:
    """Why a .zip member of `size` bytes (`compressed` in the archive) is not read, or None."""
    if size > EXPANSION_FLOOR and size > MAX_EXPANSION * max(1, compressed):
        return (f"it expands {size // max(1, compressed):,} times over (to {mb(size)}), which no letter does: "
                "a damaged or hostile archive; it was not extracted")
    if total_so_far + size > MAX_ARCHIVE_BYTES:
        return (f"the archive's letters expand to more than {mb(MAX_ARCHIVE_BYTES)} together; this one and the "
                "rest were not extracted. Import the archive in parts")
    return None


_INVISIBLE = {"Cc", "Cf", "Zs", "Zl", "Zp"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown_name(name: str) -> str:
    """A file name as the clerk can read it, and as it can be stored and printed.

    Bytes that are not UTF-8 (kept by the OS as surrogate escapes) become `\\xNN`; control and
    direction characters (a newline, an escape, a right-to-left override) become escapes, so a name
    cannot forge a line of progress or hide its real ending.
    """
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
        raw = name.encode("utf-8", "backslashreplace")
    text = raw.decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def first_visible(text: str) -> str:
    """The first character of `text` that is not whitespace or invisible, in its plain (NFKC) form."""
    for ch in text:
        if unicodedata.category(ch) in _INVISIBLE:
            continue
        return unicodedata.normalize("NFKC", ch)[:1]
    return ""
