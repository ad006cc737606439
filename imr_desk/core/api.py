"""The parser's public entry points: bytes or a path in, the letter's record out.

The typed entries give a `core.record.Record`: `parse_record` (a file), `parse_record_bytes` (bytes)
and `letter_record` (a letter already read). The dict entries (`parse_file`, `parse_bytes`) are the
compatibility boundary for the code that still passes the contract's plain dicts (the command line,
the tests): each is its typed entry's record through `to_dict`, so their JSON is the contract's, key
for key.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from imr_desk.core import limits, ocr
from imr_desk.core.limits import MAX_LETTER_BYTES
from imr_desk.core.parser import PARSER_VERSION, read_record
from imr_desk.core.reading import PDF, LetterText, ReadProblem, media_type_of, read_letter, sha256_of
from imr_desk.core.record import Record, to_dict

__all__ = ["MAX_LETTER_BYTES", "PARSER_VERSION", "failed_record", "letter_record", "parse_bytes",
           "parse_file", "parse_record", "parse_record_bytes", "read_with_ocr"]


def letter_record(letter: LetterText, *, include_text: bool = False) -> Record:
    """The record of a letter already read (`read_letter`, `read_with_ocr`). Never raises on bad input."""
    return read_record(letter, include_text=include_text)


def parse_record_bytes(data: bytes, name: str, *, include_text: bool = False, ocr: bool = True) -> Record:
    """Parse one letter's bytes into its record. Never raises on bad input.

    `ocr`: read a scanned PDF's pages without text, or an image, through OCR first (`core.ocr`).
    """
    letter = read_with_ocr(data, name) if ocr else read_letter(data, name)
    return read_record(letter, include_text=include_text)


def parse_record(path: str | Path, *, include_text: bool = False, ocr: bool = True) -> Record:
    """Parse one letter file into its record. A file that cannot be opened gives a record with `error`."""
    p = Path(path)
    try:
        info = p.stat()
        if p.is_dir():
            return failed_record(p.name, "this is a folder, not a letter file")
        if not stat.S_ISREG(info.st_mode):  # a pipe or a device: reading it could block or never end
            return failed_record(p.name, "not a regular file (a pipe or a device?)")
        if info.st_size > MAX_LETTER_BYTES:
            return failed_record(p.name, f"the file is {info.st_size // 1_000_000} MB; no IMR letter is near that size")
        data = p.read_bytes()
    except OSError as exc:
        return failed_record(p.name, f"could not open the file: {exc.strerror or exc}")
    return parse_record_bytes(data, p.name, include_text=include_text, ocr=ocr)


def failed_record(name: str, message: str, data: bytes = b"") -> Record:
    """The record of a file that could not be read at all."""
    letter = LetterText(name=name, sha256=sha256_of(data), media_type="text/plain", error=message)
    return read_record(letter)


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


# -- the compatibility boundary: the contract's plain dicts, for the code that still passes them ----------
def parse_bytes(data: bytes, name: str, *, include_text: bool = False, ocr: bool = True) -> dict[str, Any]:
    """`parse_record_bytes` as the contract's dict (compatibility boundary). Never raises on bad input."""
    return to_dict(parse_record_bytes(data, name, include_text=include_text, ocr=ocr))


def parse_file(path: str | Path, *, include_text: bool = False, ocr: bool = True) -> dict[str, Any]:
    """`parse_record` as the contract's dict (compatibility boundary: the command line, the tests)."""
    return to_dict(parse_record(path, include_text=include_text, ocr=ocr))
