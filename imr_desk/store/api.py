"""The review database as scripts, the command line and the window use it.

`Database` is the store's `LetterStore` (letters, records, history, leases, the queue; store/database.py)
with the operations built on it: importing files, folders, archives and JSON Lines exports
(store/importing.py, store/roundtrip.py), re-parsing and statistics (store/maintenance.py). Those
modules take a `LetterStore`, so the dependencies run one way: database <- importing, maintenance
<- api.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imr_desk.store import maintenance
from imr_desk.store.database import LetterStore, ReparseReport

if TYPE_CHECKING:
    from imr_desk.store.importing import ImportEvent, ImportReport


class Database(LetterStore):
    """An open review database (one per thread), with its imports, re-parse and statistics."""

    def import_iter(self, paths: Iterable[str | Path], batch: str | None = None,
                    cancel: Any = None) -> Generator[ImportEvent, None, ImportReport]:
        """A generator importing files, folders and .zip archives, one event per letter (`importing.import_iter`)."""
        from imr_desk.store import importing  # late: with the parser and OCR, which only imports need

        return importing.import_iter(self, paths, batch=batch, cancel=cancel)

    def import_paths(self, paths: Iterable[str | Path], batch: str | None = None,
                     progress: Callable[[ImportEvent], Any] | None = None, cancel: Any = None) -> ImportReport:
        """Import files, folders and .zip archives to the end; the report says what was added and why any failed."""
        from imr_desk.store import importing

        return importing.import_paths(self, paths, batch=batch, progress=progress, cancel=cancel)

    def reparse(self, progress: Callable[[int, int], Any] | None = None, force: bool = False) -> ReparseReport:
        """Parse letters again with this parser (`maintenance.reparse`)."""
        return maintenance.reparse(self, progress=progress, force=force)

    def accuracy(self) -> dict[str, dict[str, Any]]:
        """Per field, how often the parser's value survived review."""
        return maintenance.accuracy(self)

    def stats(self) -> dict[str, Any]:
        """Counts by status, outcome, decision and batch, and the parser's accuracy."""
        return maintenance.stats(self)
