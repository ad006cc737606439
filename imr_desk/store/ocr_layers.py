"""The OCR layers of scanned letters (table `ocr_layers`, schema v3), and re-OCR of stored letters.

A letter's original bytes (`files`) stay its identity and are never changed; the OCR layer beside
them holds the letter's pages with a text layer (what the window shows and the parser reads), the
engine's words with boxes and confidences, the engine and its version.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imr_desk.core import ocr
from imr_desk.core.reading import PDF, media_type_of

if TYPE_CHECKING:
    from imr_desk.store.database import LetterStore as Database

log = logging.getLogger(__name__)

HEARTBEAT = 0.2
"""Seconds between the steps an OCR run yields, so that the writer thread lets waiting saves in."""


def save_layer(db: Database, letter_id: int, layer: ocr.OcrLayer) -> None:
    from imr_desk.store.database import now_iso

    with db.transaction("store the letter's OCR"):
        db.conn.execute(
            "INSERT INTO ocr_layers(letter_id, engine, engine_version, dpi, pages, words, pdf, seconds, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(letter_id) DO UPDATE SET "
            "engine = excluded.engine, engine_version = excluded.engine_version, dpi = excluded.dpi, "
            "pages = excluded.pages, words = excluded.words, pdf = excluded.pdf, seconds = excluded.seconds, "
            "created_at = excluded.created_at",
            (letter_id, layer.engine, layer.engine_version, layer.dpi, _pages_json(layer.pages), layer.words_json(),
             layer.pdf, round(layer.seconds, 3), now_iso()))


def load_layer(db: Database, letter_id: int) -> ocr.OcrLayer | None:
    """The letter's OCR layer, or None (not a scan, or not read by OCR yet)."""
    import json

    try:
        row = db.conn.execute("SELECT engine, engine_version, dpi, pages, words, pdf, seconds FROM ocr_layers "
                              "WHERE letter_id = ?", (letter_id,)).fetchone()
    except Exception:  # noqa: BLE001 - a database from before v3 opened read-only: no layers
        return None
    if row is None:
        return None
    engine, version, dpi, pages, words, pdf, seconds = row
    return ocr.OcrLayer(engine, version, int(dpi), [int(p) for p in json.loads(pages or "[]")],
                        ocr.OcrLayer.words_from_json(words), bytes(pdf), float(seconds or 0))


def _pages_json(pages: list[int]) -> str:
    import json

    return json.dumps(pages)


def needs_ocr(data: bytes, name: str) -> list[int]:
    """The pages of a letter's file that OCR would read (none for a text PDF or a text letter)."""
    return ocr.pages_to_ocr(data, media_type_of(data, name))


@dataclass
class OcrProgress:
    """How an OCR run stands: pages done of pages to do (of the letter being read)."""

    done: int = 0
    total: int = 0


def run_ocr(data: bytes, name: str, cancel: threading.Event | None = None,
            workers: int | None = None) -> Generator[OcrProgress, None, ocr.OcrLayer | None]:
    """OCR a letter's scanned pages in a pool on other threads, yielding progress every `HEARTBEAT` s.

    Returns the layer (None when nothing needed OCR). Raises `ocr.ScanTooLarge` beyond the limits (more
    pages or pixels than a letter has: before anything is decoded), `ocr.OcrUnavailable`,
    `ocr.OcrCancelled` or the engine's failure.
    """
    file_type = media_type_of(data, name)
    pages = ocr.pages_to_ocr(data, file_type)
    if not pages:
        return None
    if not ocr.available():
        raise ocr.OcrUnavailable()
    state = OcrProgress(0, len(pages))
    result: dict[str, Any] = {}
    cancel = cancel or threading.Event()

    def progress(done: int, total: int) -> None:
        state.done, state.total = done, total

    def work() -> None:
        try:
            result["layer"] = ocr.ocr_letter(data, file_type, pages=pages if file_type == PDF else None,
                                             workers=workers, progress=progress, cancel=cancel)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
            result["error"] = exc

    thread = threading.Thread(target=work, name="imr-ocr", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(HEARTBEAT)
            yield OcrProgress(state.done, state.total)
    finally:
        if thread.is_alive():  # the caller stopped listening: stop the engine too
            cancel.set()
            thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("layer")
