"""The parser's public entry points: bytes or a path in, a contract record out."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from imr_desk.core import limits, ocr
from imr_desk.core.limits import MAX_LETTER_BYTES
from imr_desk.core.parser import PARSER_VERSION, parse_letter
from imr_desk.core.reading import PDF, LetterText, ReadProblem, media_type_of, read_letter, sha256_of

__all__ = ["MAX_LETTER_BYTES", "PARSER_VERSION", "parse_bytes", "parse_file", "parse_letter", "read_with_ocr"]


def parse_bytes(data: bytes, name: str, *, include_text: bool = False, ocr: bool = True) -> dict[str, Any]:
    """Parse one letter's bytes into a record (`contract/record.schema.json`). Never raises on bad input.

    `ocr`: read a scanned PDF's pages without text, or an image, through OCR first (`core.ocr`).
    """
    letter = read_with_ocr(data, name) if ocr else read_letter(data, name)
    return parse_letter(letter, include_text=include_text)


def read_with_ocr(data: bytes, name: str, **ocr_options: Any) -> LetterText:
    """Read a letter, with OCR of its scanned pages (if any). A missing or failing engine is a warning,
    and the letter is read as it is (a scan without text: for review by hand)."""
    file_type = media_type_of(data, name)
    if file_type == PDF:  # read once; only a PDF with scanned pages is read again through OCR
        letter = read_letter(data, name)
        pages = list(letter.textless_pages)
        if not pages or letter.error is not None:
            return letter
    elif file_type in ocr.IMAGE_TYPES:
        try:
            pages = ocr.pages_to_ocr(data, file_type)
        except ocr.ScanTooLarge:  # more pages or pixels than a letter has: reading says so
            return read_letter(data, name)
    else:
        return read_letter(data, name)
    problem = None
    layer = None
    try:
        if pages:
            layer = ocr.ocr_letter(data, file_type, pages=pages if file_type == PDF else None, **ocr_options)
    except ocr.ScanTooLarge as exc:  # a PDF's pages too large to render for OCR: refused, as an image is
        letter = read_letter(data, name)
        letter.error = limits.sentence(exc.clerk_message)
        return letter
    except ocr.OcrUnavailable as exc:
        problem = ReadProblem("ocr-unavailable", exc.clerk_message)
    except ocr.OcrCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - an engine failure must not lose the letter
        problem = ReadProblem("ocr-failed", f"OCR could not read the scanned pages: {exc}")
    letter = read_letter(data, name, layer)
    if problem is not None:
        letter.problems.append(problem)
    return letter


def parse_file(path: str | Path, *, include_text: bool = False, ocr: bool = True) -> dict[str, Any]:
    """Parse one letter file. A file that cannot be opened gives a record with `error`."""
    p = Path(path)
    try:
        info = p.stat()
        if p.is_dir():
            return error_record(p.name, "this is a folder, not a letter file")
        if not stat.S_ISREG(info.st_mode):  # a pipe or a device: reading it could block or never end
            return error_record(p.name, "not a regular file (a pipe or a device?)")
        if info.st_size > MAX_LETTER_BYTES:
            return error_record(p.name, f"the file is {info.st_size // 1_000_000} MB; no IMR letter is near that size")
        data = p.read_bytes()
    except OSError as exc:
        return error_record(p.name, f"could not open the file: {exc.strerror or exc}")
    return parse_bytes(data, p.name, include_text=include_text, ocr=ocr)


def error_record(name: str, message: str, data: bytes = b"") -> dict[str, Any]:
    """The record of a file that could not be read at all."""
    letter = LetterText(name=name, sha256=sha256_of(data), media_type="text/plain", error=message)
    return parse_letter(letter)
