"""Reading a letter file into normalised text, keeping the way back to the source.

A letter arrives as PDF bytes or as plain text in one of several encodings. The parser works on
one normalised string (`LetterText.text`); every character of it remembers which character of the
source it came from, so a span the parser reports can be drawn on the very glyphs of a PDF page.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from imr_desk.core.ocr import IMAGE_TYPES, draws_something, image_type_of

if TYPE_CHECKING:
    from imr_desk.core.ocr import OcrLayer, OcrWord

log = logging.getLogger(__name__)

PDF = "application/pdf"
TEXT = "text/plain"

# Characters of mojibake: UTF-8 read as Windows-1252 leaves these in front of the real character.
_MOJIBAKE = re.compile(r"[ÂÃâ][\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]{1,2}")


@dataclass
class ReadProblem:
    """Something that went wrong while reading; becomes a warning or, when nothing was read, the error."""

    code: str
    message: str
    severity: str = "warning"


@dataclass
class LetterText:
    """The text of one letter, normalised for parsing, with its way back to the source."""

    name: str
    sha256: str
    media_type: str
    text: str = ""
    page_starts: list[int] = field(default_factory=lambda: [0])
    """Offset in `text` at which each page begins (one entry for a text file)."""
    segments: list[tuple[int, int, int, int]] = field(default_factory=list)
    """The way back to the source: runs (text start, text length, source start, source length), in text order."""
    raw_page_starts: list[int] = field(default_factory=lambda: [0])
    """For a PDF: where each page's PDFium characters start in the concatenated source."""
    problems: list[ReadProblem] = field(default_factory=list)
    error: str | None = None
    file_type: str = ""
    """The original file's media type (an image's, for a scan read through OCR); `media_type` when empty."""
    ocr: dict | None = None
    """For a letter read through OCR: the engine, its version, the resolution and the pages it read."""
    textless_pages: list[int] = field(default_factory=list)
    """For a PDF read without OCR: the 0-based pages without a text layer that show something (scans),
    which OCR must read; found while the text is extracted, so the PDF is opened once."""
    text_pdf: bytes | None = field(default=None, repr=False, compare=False)
    """For a letter read through OCR: the PDF of its text layer (`OcrLayer.pdf`), whose characters
    `segments` point at; for a scanned image file it holds the pages' text only, which the window lays
    over the image file's pages. None: the letter's own file."""
    ocr_words: list[tuple[int, int, float]] = field(default_factory=list)
    """For the pages read by OCR: each word's (start, end) in `text` and the engine's confidence (0..1), in order."""
    _starts: list[int] | None = field(default=None, repr=False, compare=False)

    @property
    def pages(self) -> int | None:
        return len(self.page_starts) if self.media_type == PDF else None

    def ocr_confidence(self, start: int, end: int) -> float | None:
        """How sure the OCR engine was of the words in text[start:end] (None: no OCR there).

        A short value is as sure as its least sure word (one smudged digit spoils a date); a long
        one (a rationale) as its tenth-percentile word, so one speck does not mark a page uncertain.
        """
        words = self.ocr_words
        if not words or end <= start:
            return None
        i = bisect_right([w[1] for w in words], start)  # the first word ending after start
        confs = []
        while i < len(words) and words[i][0] < end:
            confs.append(words[i][2])
            i += 1
        if not confs:
            return None
        if len(confs) <= 12:
            return min(confs)
        confs.sort()
        return confs[len(confs) // 10]

    def page_of(self, offset: int) -> int:
        """1-based page number of a text offset."""
        lo, hi = 0, len(self.page_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.page_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    def source_offset(self, pos: int) -> int:
        """The index in the concatenated source of the character that became text[pos]."""
        segs = self.segments
        if not segs:
            return pos
        i = bisect_right(self._seg_starts(), pos) - 1
        t0, tlen, s0, slen = segs[max(0, i)]
        k = min(max(0, pos - t0), max(0, tlen - 1))
        return s0 + (k if tlen == slen else (k * slen) // max(1, tlen))

    def _seg_starts(self) -> list[int]:
        if self._starts is None or len(self._starts) != len(self.segments):
            self._starts = [seg[0] for seg in self.segments]
        return self._starts

    def pdf_char_spans(self, start: int, end: int) -> list[tuple[int, int, int]]:
        """The PDFium characters behind text[start:end] as (page index, first char, last char + 1) runs."""
        if self.media_type != PDF or start >= end or not self.segments:
            return []
        runs: list[tuple[int, int, int]] = []
        start, end = max(0, start), min(end, len(self.text))

        def add(raw_lo: int, raw_hi: int) -> None:  # source chars [raw_lo, raw_hi), split at pages
            while raw_lo < raw_hi:
                page = self._raw_page(raw_lo)
                base = self.raw_page_starts[page]
                page_end = self.raw_page_starts[page + 1] if page + 1 < len(self.raw_page_starts) else raw_hi
                lo, hi = raw_lo - base, min(raw_hi, max(page_end, raw_lo + 1)) - base
                if runs and runs[-1][0] == page and lo - runs[-1][2] <= 2:  # touching, or a space apart
                    runs[-1] = (page, runs[-1][1], max(runs[-1][2], hi))
                else:
                    runs.append((page, lo, hi))
                raw_lo = base + hi

        segs = self.segments
        i = max(0, bisect_right(self._seg_starts(), start) - 1)
        while i < len(segs) and segs[i][0] < end:
            t0, tlen, s0, slen = segs[i]
            i += 1
            a, b = max(start, t0), min(end, t0 + tlen)
            if a >= b:
                continue
            if tlen != slen:  # a repaired run (mojibake, ligature): map character by character
                for pos in range(a, b):
                    if self.text[pos] != "\n":
                        raw = self.source_offset(pos)
                        add(raw, raw + 1)
                continue
            pos = a
            while pos < b:  # the run minus its line breaks, which draw nothing
                nl = self.text.find("\n", pos, b)
                stop = b if nl < 0 else nl
                if stop > pos:
                    add(s0 + pos - t0, s0 + stop - t0)
                pos = stop + 1
        return runs

    def _raw_page(self, raw: int) -> int:
        lo, hi = 0, len(self.raw_page_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.raw_page_starts[mid] <= raw:
                lo = mid
            else:
                hi = mid - 1
        return lo


class _Builder:
    """Accumulates normalised text together with the source index of each character."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.segments: list[tuple[int, int, int, int]] = []

    def add(self, s: str, src_start: int, src_end: int | None = None) -> None:
        if not s:
            return
        n = len(s)
        src_len = n if src_end is None else src_end - src_start
        segs = self.segments
        if segs and src_len == n:
            t0, tlen, s0, slen = segs[-1]
            if tlen == slen and t0 + tlen == self.length and s0 + slen == src_start:
                segs[-1] = (t0, tlen + n, s0, slen + n)  # extends the previous run one to one
                self.parts.append(s)
                self.length += n
                return
        segs.append((self.length, n, src_start, src_len))
        self.parts.append(s)
        self.length += n

    def text(self) -> str:
        return "".join(self.parts)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def media_type_of(data: bytes, name: str = "") -> str:
    """PDF by its magic bytes (or its name, for a damaged one), a PNG, JPEG or TIFF image, otherwise plain text."""
    if data[:1024].lstrip().startswith(b"%PDF") or b"%PDF-" in data[:1024]:
        return PDF
    image = image_type_of(data)
    if image:
        return image
    if name.lower().endswith(".pdf"):
        return PDF
    return TEXT


def read_letter(data: bytes, name: str, ocr: OcrLayer | None = None) -> LetterText:
    """Read a letter's bytes (PDF, text, or a scanned image) into a `LetterText`; never raises on bad input.

    `ocr`: the letter's OCR layer (`core.ocr.ocr_letter`); its PDF (the pages with a text layer) is
    read instead of the original, which stays the letter's identity (`sha256`).
    """
    file_type = media_type_of(data, name)
    media_type = PDF if file_type in IMAGE_TYPES else file_type
    letter = LetterText(name=name, sha256=sha256_of(data), media_type=media_type, file_type=file_type)
    try:
        if ocr is not None and ocr.pdf:
            letter.media_type = PDF
            letter.ocr = ocr.describe()
            letter.text_pdf = ocr.pdf
            raw_pages = _pdf_pages(ocr.pdf, letter)
        elif file_type in IMAGE_TYPES:
            raw_pages = None
            _image_without_ocr(letter, data)
        elif media_type == PDF:
            raw_pages = _pdf_pages(data, letter)
        else:
            raw_pages = _text_pages(data, letter)
    except Exception as exc:  # a library failing on a hostile file must not stop the others
        log.warning("could not read %s: %s", name, exc, exc_info=True)
        letter.error = f"could not read the file: {exc}"
        return letter
    if raw_pages is None:
        return letter
    ocr_lines: dict[int, list[tuple[int, int]]] = {}
    ocr_sources = _ocr_rewrite(letter, raw_pages, ocr, ocr_lines) if ocr is not None else []
    _normalise(letter, raw_pages, ocr_lines)
    if ocr_sources:
        _place_ocr_words(letter, ocr_sources)
    if letter.error is None and not letter.text.strip():
        if media_type == PDF:
            letter.problems.append(
                ReadProblem(
                    "no-text-layer",
                    "The PDF has no text layer (a scanned letter?): nothing could be read; review it by hand.",
                    "error",
                )
            )
        else:
            letter.problems.append(ReadProblem("empty-file", "The file holds no text.", "error"))
    return letter


def _image_without_ocr(letter: LetterText, data: bytes) -> None:
    """An image read without OCR: its pages count, and nothing can be read from them."""
    from imr_desk.core.limits import sentence
    from imr_desk.core.ocr import ScanTooLarge, pages_to_ocr

    try:
        pages = pages_to_ocr(data, letter.file_type)  # measured from its headers: nothing decoded
    except ScanTooLarge as exc:
        letter.error = sentence(exc.clerk_message)
        return
    if not pages:
        letter.error = "The image cannot be read; it may be damaged or incomplete. Scan it again."
        return
    letter.page_starts = [0] * len(pages)
    letter.raw_page_starts = [0] * len(pages)
    letter.problems.append(ReadProblem(
        "no-text-layer", "The letter is an image (a scan) and was not read by OCR: review it by hand, "
        "or read it with: imr-desk ocr.", "error"))


# OCR noise: what speckle, table rules and fax streaks become in the engine's words.
_OCR_KEEP_ALONE = frozenset("-–&§+/%#")
"""Punctuation that stands alone in the letters' own text ("Labs - CBC"); any other lone mark is noise."""
_OCR_EDGE_JUNK = "|_~©«»¦"
"""Marks the engine reads from table rules and specks at a word's edge ("‘MRI", "decision. |")."""
_OCR_NOISE_CONF = 0.3
"""A word of at most three characters read below this confidence is a speck ("oe", "7", "Cy!"), not text."""
_OCR_LOOKALIKE_LETTERS = str.maketrans("éèêëáàâíìîóòôúùûÉÈÁÀÍÓÚ", "eeeeaaaiiiooouuuEEAAIOU")
"""Accents the engine reads into English words from a speck above a letter ("médical")."""


def _ocr_page_rewrite(raw: str, words: list[OcrWord]
                      ) -> tuple[str, list[tuple[int, int, float]], list[tuple[int, int]]]:
    """An OCR'd page's text as PDFium read it from the text layer, rewritten to the same length.

    The engine's lines become the text's lines (PDFium may join a slightly turned page's lines into
    one), specks and table rules read as words are dropped (turned into NUL, which reading drops, so
    every kept character keeps its index into the page's characters), and the accents a speck adds
    to an English word are taken off. Returns the page and each kept word's (first, last + 1) index
    with its confidence.
    """
    import difflib

    tokens = [(m.start(), m.end()) for m in re.finditer(r"\S+", raw)]
    if len(tokens) == len(words):
        matched: dict[int, OcrWord] = dict(enumerate(words))
    else:  # a page whose text layer split or joined words differently: match them by their text
        sm = difflib.SequenceMatcher(None, [raw[a:b] for a, b in tokens], [w.text for w in words], autojunk=False)
        matched = {}
        for block in sm.get_matching_blocks():
            for k in range(block.size):
                matched[block.a + k] = words[block.b + k]
    chars = list(raw)
    kept: list[tuple[int, int, int | None]] = []  # (start, end, line) of the tokens kept
    kept_words: list[OcrWord | None] = []
    sources: list[tuple[int, int, float]] = []
    for i, (a, b) in enumerate(tokens):
        word = matched.get(i)
        tok = raw[a:b]
        if _ocr_noise(raw, tokens, i, tok, word, matched):
            chars[a:b] = "\x00" * (b - a)
            continue
        while a < b and raw[a] in _OCR_EDGE_JUNK:
            chars[a] = "\x00"
            a += 1
        while b > a and raw[b - 1] in _OCR_EDGE_JUNK:
            chars[b - 1] = "\x00"
            b -= 1
        if a >= b:
            continue
        fixed = tok[a - tokens[i][0]: b - tokens[i][0]].translate(_OCR_LOOKALIKE_LETTERS)
        chars[a:b] = fixed
        kept.append((a, b, word.line if word is not None else None))
        kept_words.append(word)
    kept, kept_words = _drop_lone_specks(chars, kept, kept_words)
    sources = [(a, b, w.conf) for (a, b, _line), w in zip(kept, kept_words, strict=True) if w is not None]
    # the separators between kept words: a line break where the engine's line changes, else a space
    for (_a0, b0, line0), (a1, _b1, line1) in zip(kept, kept[1:], strict=False):
        if a1 <= b0:
            continue
        new_line = line1 is not None and line0 is not None and line1 != line0
        if not new_line and "\n" in raw[b0:a1] and (line1 is None or line0 is None):
            new_line = True
        chars[b0] = "\n" if new_line else " "
        for k in range(b0 + 1, a1):
            chars[k] = "\x00"
    if kept:  # before the first and after the last word: nothing
        for k in range(0, kept[0][0]):
            chars[k] = "\x00"
        for k in range(kept[-1][1], len(raw)):
            chars[k] = "\x00"
    text = "".join(chars)
    return text, sources, _reading_order(text, kept, kept_words)


def _drop_lone_specks(chars: list[str], kept: list[tuple[int, int, int | None]], words: list[OcrWord | None]
                      ) -> tuple[list[tuple[int, int, int | None]], list[OcrWord | None]]:
    """Drop a line that is one speck the engine took for a line of its own ("A", "Cy", "HH!"): the
    letters print no such line (a page number is digits)."""
    count: dict[int | None, int] = {}
    for _a, _b, line in kept:
        count[line] = count.get(line, 0) + 1
    out_kept, out_words = [], []
    for (a, b, line), w in zip(kept, words, strict=True):
        tok = "".join(chars[a:b]).replace("\x00", "")
        if line is not None and count[line] == 1 and _lone_speck(tok, w):
            chars[a:b] = "\x00" * (b - a)
            continue
        out_kept.append((a, b, line))
        out_words.append(w)
    return out_kept, out_words


def _lone_speck(tok: str, word: OcrWord | None) -> bool:
    """A line's only word that is a speck: one or two characters that are not digits, or three with a mark
    in them ("HH!") or read unsure; a wrapped last word ("it.") is read sure and kept."""
    if tok.isdigit() or len(tok) > 3:
        return False
    if len(tok) <= 2:
        return True
    return not tok.rstrip(".,").isalpha() or (word is not None and word.conf < 0.5)


def _reading_order(text: str, kept: list[tuple[int, int, int | None]], words: list[OcrWord | None]
                   ) -> list[tuple[int, int]]:
    """The page's lines, as (start, end) in `text`, in reading order.

    The engine gives its blocks in its own order, which on a turned page now and then puts a block
    before one printed above it in the same column ("case file, including all medical records:"
    ahead of the heading above it). A block moves up past the blocks that lie wholly below it in its
    column; blocks beside or across each other (a header table's cells) keep the engine's order.
    """
    lines: list[list[Any]] = []  # [start, end, block, x0, y0, x1, y1]
    for (a, b, line), w in zip(kept, words, strict=True):
        if lines and ("\n" not in text[lines[-1][1]:a]):
            cur = lines[-1]
            cur[1] = b
            if w is not None:
                cur[3:] = [min(cur[3], w.box[0]), min(cur[4], w.box[1]), max(cur[5], w.box[2]), max(cur[6], w.box[3])]
            continue
        block = line // 1_000_000 if line is not None else None
        box = list(w.box) if w is not None else [0.0, 0.0, 0.0, 0.0]
        lines.append([a, b, block, *box])
    blocks: list[list[Any]] = []  # [lines, x0, y0, x1, y1]
    for ln in lines:
        if blocks and blocks[-1][0][-1][2] == ln[2] and ln[2] is not None:
            blk = blocks[-1]
            blk[0].append(ln)
            blk[1:] = [min(blk[1], ln[3]), min(blk[2], ln[4]), max(blk[3], ln[5]), max(blk[4], ln[6])]
        else:
            blocks.append([[ln], *ln[3:]])
    order: list[list[Any]] = []
    for blk in blocks:
        at = len(order)
        while at > 0:
            prev = order[at - 1]
            wholly_below = prev[2] > blk[4]
            same_column = prev[1] < blk[3] and blk[1] < prev[3]
            if not (wholly_below and same_column):
                break
            at -= 1
        order.insert(at, blk)
    return [(ln[0], ln[1]) for blk in order for ln in blk[0]]


def _ocr_noise(raw: str, tokens: list[tuple[int, int]], i: int, tok: str, word: OcrWord | None,
               matched: dict[int, OcrWord]) -> bool:
    """Whether the i-th token of an OCR'd page is a speck or a rule, not text.

    A lone mark is text only where the letters print one: between two words of one line ("Labs - CBC"),
    read with confidence, and not right after a label's colon ("Decision Date: - 12/21/2016").
    """
    conf = word.conf if word is not None else 1.0
    if any(c.isalnum() for c in tok):
        return word is not None and len(tok) <= 3 and conf < _OCR_NOISE_CONF
    if tok not in _OCR_KEEP_ALONE or conf < 0.6 or i == 0 or i + 1 >= len(tokens):
        return True
    before, after = matched.get(i - 1), matched.get(i + 1)
    if word is not None and (before is None or after is None or before.line != word.line or after.line != word.line):
        return True
    return raw[tokens[i - 1][0]:tokens[i - 1][1]].endswith(":")


def _ocr_rewrite(letter: LetterText, raw_pages: list[str], ocr: OcrLayer,
                 lines: dict[int, list[tuple[int, int]]]) -> list[tuple[int, int, float]]:
    """Rewrite the OCR'd pages in place (`_ocr_page_rewrite`), their lines' reading order into `lines`;
    returns the kept words' source ranges and confidences."""
    by_page: dict[int, list[OcrWord]] = {}
    for w in ocr.words:
        by_page.setdefault(w.page, []).append(w)
    base = 0
    out: list[tuple[int, int, float]] = []
    for page, raw in enumerate(raw_pages):
        if page in by_page:
            raw_pages[page], sources, order = _ocr_page_rewrite(raw, by_page[page])
            out += [(base + a, base + b, conf) for a, b, conf in sources]
            lines[page] = order
        base += len(raw) + 1
    return out


def _place_ocr_words(letter: LetterText, sources: list[tuple[int, int, float]]) -> None:
    """The OCR words' places in the text, with their confidences."""
    to_text = _source_to_text(letter)
    out = []
    for a, b, conf in sources:
        start, end = to_text(a), to_text(b - 1) + 1
        if end > start:
            out.append((start, end, conf))
    out.sort()
    letter.ocr_words = out


def _source_to_text(letter: LetterText) -> Callable[[int], int]:
    """From a source index to the text offset its character became (the nearest kept one when dropped)."""
    segs = sorted(letter.segments, key=lambda s: s[2])
    starts = [s[2] for s in segs]

    def to_text(raw: int) -> int:
        if not segs:
            return 0
        i = max(0, bisect_right(starts, raw) - 1)
        t0, tlen, s0, slen = segs[i]
        if raw >= s0 + slen:
            return segs[i + 1][0] if i + 1 < len(segs) else t0 + tlen
        k = raw - s0
        return t0 + (k if tlen == slen else (k * tlen) // max(1, slen))

    return to_text


def _pdf_pages(data: bytes, letter: LetterText) -> list[str] | None:
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower():
            letter.error = "The PDF is encrypted with a password, so its text cannot be read."
        else:  # PDFium's own reason is often just "Success" or "Unknown error": say what it means
            letter.error = ("The file is not a readable PDF; it may be damaged, incomplete, or have no pages. "
                            "Download or scan it again.")
        return None
    try:
        from imr_desk.core.limits import sentence, too_many_pages

        problem = too_many_pages(len(doc))  # said before any page is read
        if problem:
            letter.error = sentence(problem)
            return None
        pages = []
        for i in range(len(doc)):
            page = doc[i]
            try:
                textpage = page.get_textpage()
                try:
                    n = textpage.count_chars()
                    pages.append(textpage.get_text_range(0, n) if n > 0 else "")
                finally:
                    textpage.close()
                if not pages[-1].strip() and draws_something(page):
                    letter.textless_pages.append(i)  # a page without text that shows something: a scan
            except pdfium.PdfiumError as exc:
                letter.problems.append(ReadProblem("page-unreadable", f"Page {i + 1} could not be read: {exc}"))
                pages.append("")
                letter.textless_pages.append(i)
            finally:
                page.close()
        return pages
    finally:
        doc.close()


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _looks_binary(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return controls > max(8, len(sample) // 20)


def _utf16_without_bom(data: bytes) -> str | None:
    """The encoding of UTF-16 text saved without a byte-order mark (NULs in every other byte), or None."""
    sample = data[:4096]
    if len(sample) < 64 or len(sample) % 2:
        sample = sample[: len(sample) // 2 * 2]
    if len(sample) < 64:
        return None
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > 0.6 * half and even_nuls < 0.05 * half:
        return "utf-16-le"
    if even_nuls > 0.6 * half and odd_nuls < 0.05 * half:
        return "utf-16-be"
    return None


def _text_pages(data: bytes, letter: LetterText) -> list[str] | None:
    utf16 = _utf16_without_bom(data) if not data.startswith((b"\xff\xfe", b"\xfe\xff")) else None
    if utf16:
        text, encoding = data.decode(utf16, errors="replace"), utf16
        if _looks_binary(text[:4096].encode("utf-8", errors="replace")):
            letter.error = "The file is binary, not a letter's text or a PDF."
            return None
        letter.problems.append(ReadProblem("encoding", f"The text was read as {encoding}.", "info"))
        return text.split("\f")
    if _looks_binary(data) and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        letter.error = "The file is binary, not a letter's text or a PDF."
        return None
    text, encoding = _decode(data)
    if encoding not in ("utf-8", "utf-8-sig"):
        letter.problems.append(ReadProblem("encoding", f"The text was read as {encoding}.", "info"))
    # A form feed separates pages in text exported from PDFs.
    return text.split("\f")


_NEWLINE = re.compile(r"\r\n|\r|\n")


def _normalise(letter: LetterText, raw_pages: list[str], line_order: dict[int, list[tuple[int, int]]] | None = None
               ) -> None:
    """Join pages; unify line ends; undo double spacing; repair mojibake and PDFium's marker characters."""
    raw_starts = []
    pos = 0
    for page in raw_pages:
        raw_starts.append(pos)
        pos += len(page) + 1
    letter.raw_page_starts = raw_starts

    # Pass 1: per page, line ends to \n and PDFium's soft-hyphen marker to a hyphen.
    lines_per_page: list[list[tuple[str, int]]] = []
    for p, (page, base) in enumerate(zip(raw_pages, raw_starts, strict=True)):
        if line_order and p in line_order:  # a page read by OCR: its lines in reading order (`_reading_order`)
            lines_per_page.append([(page[a:b], base + a) for a, b in line_order[p]] or [("", base)])
            continue
        lines: list[tuple[str, int]] = []
        start = 0
        for m in _NEWLINE.finditer(page):
            lines.append((page[start : m.start()], base + start))
            start = m.end()
        lines.append((page[start:], base + start))
        lines_per_page.append(lines)

    all_lines = [ln for page in lines_per_page for ln in page]
    double_spaced = _is_double_spaced([t for t, _ in all_lines])

    b = _Builder()
    page_starts: list[int] = []
    fix = _char_fixer()
    for p, lines in enumerate(lines_per_page):
        # most pages hold nothing to repair: their lines go in as they are, without the fixer's scan
        add = b.add if _SPECIAL.search(raw_pages[p]) is None else functools.partial(fix, b)
        if p > 0:
            # Page boundary: keep a line break, attributed to the page's first character.
            if b.parts and not b.parts[-1].endswith("\n"):
                b.add("\n", raw_starts[p])
        page_starts.append(b.length)
        blank_run = 0
        for i, (line, src) in enumerate(lines):
            is_last = i == len(lines) - 1
            if double_spaced:
                if not line.strip():
                    blank_run += 1
                    if blank_run == 2:  # two blank lines in a double-spaced file were one blank line
                        b.add("\n", src)
                    continue
                blank_run = 0
            add(line, src)
            if not is_last:
                b.add("\n", src + len(line))
    letter.text = b.text()
    letter.segments = b.segments
    letter.page_starts = page_starts or [0]


def _is_double_spaced(lines: list[str]) -> bool:
    """True when nearly every text line is followed by an empty line (text extracted with blank lines between lines)."""
    content = 0
    followed = 0
    for i, line in enumerate(lines[:-1]):
        if line.strip():
            content += 1
            if not lines[i + 1].strip():
                followed += 1
    return content >= 4 and followed / content > 0.8


def _char_fixer() -> Callable[[_Builder, str, int], None]:
    import ftfy

    def fix(b: _Builder, line: str, src: int) -> None:
        pos = 0
        for m in _SPECIAL.finditer(line):
            b.add(line[pos : m.start()], src + pos)
            chunk = m.group()
            if chunk == "\ufffe":
                b.add("-", src + m.start())
            elif chunk == "\ufeff" or chunk == "\x00":
                pass
            elif chunk == "\u00a0":
                b.add(" ", src + m.start())
            else:
                fixed = ftfy.fix_text(chunk)
                b.add(fixed, src + m.start(), src + m.end())
            pos = m.end()
        b.add(line[pos:], src + pos)

    return fix


_SPECIAL = re.compile(_MOJIBAKE.pattern + r"|[\ufffe\ufeff\x00\u00a0]")
