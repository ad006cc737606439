"""What OCR means for a parsed record: values read from uncertain words are uncertain.

The parser's rules give each value a confidence for how it was found (right after its label, from a
structure, by a fallback). On a page read by OCR the words themselves may be wrong: a smudge, a
fold, a faint fax. Each value's confidence is therefore capped by the engine's confidence in the
words it was read from (`LetterText.ocr_confidence`), so the form marks a value read from a smudge
as uncertain and F8 stops there.
"""

from __future__ import annotations

import msgspec

from imr_desk.core.reading import LetterText
from imr_desk.core.record import OcrRun, Record, Source

OCR_MARGIN = 0.08
"""Clean print reads at 0.90-0.97 word confidence; a value keeps its rule's confidence up to that margin."""


def weigh_confidences(rec: Record, letter: LetterText) -> None:
    """Cap each field's confidence by the OCR confidence of its words; note that confidence beside it."""
    if not letter.ocr_words:
        return
    for prov in rec.fields.values():
        quality = letter.ocr_confidence(prov.start, prov.end)
        if quality is None:
            continue
        prov.ocr_confidence = round(quality, 2)
        prov.confidence = round(min(float(prov.confidence), quality + OCR_MARGIN), 2)


def source_of(letter: LetterText) -> Source:
    """The record's `source`; beyond the contract's keys, a scan's original file type and its OCR run."""
    source = Source(name=letter.name, sha256=letter.sha256, media_type=letter.media_type, pages=letter.pages)
    if letter.file_type and letter.file_type != letter.media_type:
        source.file_media_type = letter.file_type
    if letter.ocr:
        source.ocr = msgspec.convert(letter.ocr, OcrRun)
    return source
