"""Re-OCR of stored letters (`imr-desk ocr`): scans imported before OCR was installed, or all again."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from imr_desk.core import ocr
from imr_desk.logs import describe_error
from imr_desk.store.database import LetterStore
from imr_desk.store.maintenance import reparse
from imr_desk.store.ocr_layers import OcrProgress, run_ocr, save_layer

log = logging.getLogger(__name__)


@dataclass
class OcrReport:
    read: list[int] = field(default_factory=list)
    """Letters read by OCR (their layer stored, their record re-parsed)."""
    failed: list[tuple[int, str]] = field(default_factory=list)
    skipped: int = 0
    """Letters with nothing to read by OCR (text letters, text PDFs)."""
    pages: int = 0
    seconds: float = 0.0
    cancelled: bool = False


def letters_to_ocr(db: LetterStore, everything: bool = False) -> list[int]:
    """Letters that may need OCR: those without a layer (`everything`: every letter, to read again)."""
    if everything:
        sql = "SELECT id FROM letters ORDER BY id"
    else:
        sql = "SELECT id FROM letters WHERE id NOT IN (SELECT letter_id FROM ocr_layers) ORDER BY id"
    return [int(r[0]) for r in db.conn.execute(sql)]


def ocr_stored(db: LetterStore, everything: bool = False, progress: Callable[[str, int, int, OcrProgress], Any] | None = None,
               cancel: threading.Event | None = None) -> OcrReport:
    """Read stored scans by OCR: each letter's layer stored, then the letter re-parsed with it.

    `everything`: read again letters that already have a layer (a newer engine). A letter no clerk
    has touched gets the new values; for the others the clerk's record stays (as `reparse` does).
    """
    report = OcrReport()
    if not ocr.available():
        raise ocr.OcrUnavailable()
    started = time.monotonic()
    ids = letters_to_ocr(db, everything)
    if ids:
        db.require_write("store what OCR reads")  # before any page is read, not after
    for n, letter_id in enumerate(ids, 1):
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            break
        row = db.conn.execute("SELECT l.name, f.data FROM letters l JOIN files f ON f.letter_id = l.id "
                              "WHERE l.id = ?", (letter_id,)).fetchone()
        if row is None:
            continue
        name, data = row[0], bytes(row[1])
        try:
            steps = run_ocr(data, name, cancel)
            while True:
                try:
                    state = next(steps)
                except StopIteration as stop:
                    layer = stop.value
                    break
                if progress is not None:
                    progress(name, n, len(ids), state)
        except ocr.OcrCancelled:
            report.cancelled = True
            break
        except ocr.OcrUnavailable:
            raise
        except ocr.ScanTooLarge as exc:  # refused before anything was decoded: no trace to log
            report.failed.append((letter_id, exc.clerk_message))
            continue
        except Exception as exc:  # noqa: BLE001 - one letter must not stop the others
            log.exception("OCR of letter %s failed", letter_id)
            report.failed.append((letter_id, getattr(exc, "clerk_message", None) or describe_error(exc)))
            continue
        if layer is None:
            report.skipped += 1
            continue
        save_layer(db, letter_id, layer)
        report.pages += len(layer.pages)
        report.read.append(letter_id)
    if report.read:
        reparse(db, force=True, ids=report.read)
    report.seconds = time.monotonic() - started
    return report
