"""CSV: a folder with letters.csv (a row per letter), items.csv (a row per disputed item) and
annotations.csv (a row per annotation), UTF-8 with a byte-order mark so that Excel reads it as UTF-8.

Values are text: dates as ISO dates, booleans as true/false, empty for none. Text that a spreadsheet
would take for a formula is neutralised with a leading apostrophe.
"""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path
from typing import IO, Any

from imr_desk.export.rows import (
    ANNOTATION_COLUMNS,
    annotation_rows,
    item_columns,
    item_rows,
    letter_columns,
    letter_row,
)
from imr_desk.export.safety import FORMULA_STARTS, is_formula, neutralise
from imr_desk.export.selection import LetterData

ENCODING = "utf-8-sig"
FILES = ("letters.csv", "items.csv", "annotations.csv")  # what a CSV export writes, besides its manifest
FORMULA_FIRST = frozenset(FORMULA_STARTS)  # all single characters


def _cells(row: list[Any]) -> list[Any]:
    """The row as CSV text: none as empty, booleans as true/false, formulas neutralised."""
    out = []
    for value in row:
        if value.__class__ is str:
            first = value[:1]
            if first in FORMULA_FIRST or (first and not (first.isascii() and first.isalnum()) and is_formula(value)):
                value = "'" + value
            out.append(value)
        elif value is None:
            out.append("")
        elif value is True or value is False:
            out.append("true" if value else "false")
        else:
            out.append(neutralise(value))
    return out


class CsvWriter:
    """Writes the three CSV files into a folder."""

    needs_text = False
    needs_history = False
    needs_files = False
    slim = True

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files = list(FILES)
        self._handles: list[IO[str]] = []
        try:
            self._letters = self._open("letters.csv", letter_columns())
            self._items = self._open("items.csv", item_columns())
            self._notes = self._open("annotations.csv", ANNOTATION_COLUMNS)
        except BaseException:
            with contextlib.suppress(OSError):
                self.close()
            raise
        self.counts = {"letters": 0, "items": 0, "annotations": 0}

    def _open(self, name: str, columns: tuple[tuple[str, str], ...]) -> Any:
        f = open(self.folder / name, "w", encoding=ENCODING, newline="", buffering=1 << 20)
        self._handles.append(f)
        out = csv.writer(f)
        out.writerow([c for c, _t in columns])
        return out

    def write(self, letter: LetterData) -> None:
        self._letters.writerow(_cells(letter_row(letter)))
        items = item_rows(letter)
        self._items.writerows([_cells(row) for row in items])
        notes = annotation_rows(letter)
        self._notes.writerows([_cells(row) for row in notes])
        self.counts["letters"] += 1
        self.counts["items"] += len(items)
        self.counts["annotations"] += len(notes)

    def close(self) -> None:
        """Close every file, even when one fails to (a full disk fails the last flush): the first error is raised."""
        handles, self._handles = self._handles, []
        failed: OSError | None = None
        for f in handles:
            try:
                f.close()
            except OSError as exc:
                failed = failed or exc
        if failed is not None:
            raise failed

    def abort(self) -> None:
        self.close()
