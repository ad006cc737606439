"""Excel (.xlsx): sheets Letters, Items and Annotations, one header row each, frozen.

Columns are typed: dates are Excel dates, review times Excel date-times (UTC), counts integers,
`decision_stated` a boolean. openpyxl's write-only mode streams the rows to disk, so memory stays flat
however many letters there are. Text that Excel would take for a formula gets a leading apostrophe;
characters that XML cannot hold (control characters from a PDF) are dropped; a cell longer than
Excel's limit (32,767 characters) is cut there with an ellipsis.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import openpyxl.worksheet._writer as _openpyxl_writer
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from imr_desk.export.rows import (
    ANNOTATION_COLUMNS,
    annotation_rows,
    item_columns,
    item_rows,
    letter_columns,
    letter_row,
)
from imr_desk.export.safety import neutralise
from imr_desk.export.selection import LetterData

MAX_CELL = 32767
_temporary = threading.local()


def _temporary_file(suffix: str = "") -> str:
    """openpyxl's temporary sheet file, made in the export's staging folder (removed with it, even after a
    kill) instead of the system's temporary folder, where a killed export left patient data for good."""
    fd, name = tempfile.mkstemp(suffix=suffix, prefix="openpyxl.", dir=getattr(_temporary, "folder", None))
    os.close(fd)
    _openpyxl_writer.ALL_TEMP_FILES.append(name)
    return name


_openpyxl_writer.create_temporary_file = _temporary_file
WIDTHS = {"text": 24, "int": 10, "bool": 10, "date": 12, "datetime": 20}
WIDE = {"summary": 60, "rationale": 60, "request": 40, "quote": 40, "sha256": 20, "changed_fields": 30,
        "confirmed_fields": 30}


def _text(value: str) -> str:
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if len(value) > MAX_CELL:
        value = value[:MAX_CELL - 1] + "…"
    return str(neutralise(value))


def _date(value: Any) -> Any:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return _text(str(value))  # a date the clerk typed as text stays as typed


def _datetime(value: Any) -> Any:
    try:
        when = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return _text(str(value))
    if when.tzinfo is not None:  # Excel has no time zones: write UTC, as the header says
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when


def _typed(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "date":
        return _date(value)
    if kind == "datetime":
        return _datetime(value)
    if kind == "int":
        return value if isinstance(value, int) else _text(str(value))
    if kind == "bool":
        return bool(value)
    return _text(value if isinstance(value, str) else str(value))


class XlsxWriter:
    """Writes an .xlsx workbook in openpyxl's write-only mode."""

    needs_text = False
    needs_history = False
    needs_files = False
    slim = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files = [path.name]
        _temporary.folder = path.parent  # the staging folder: openpyxl's sheet files go there, not to /tmp
        self._wb = Workbook(write_only=True)
        self._sheets = []
        bold = Font(bold=True)
        try:
            for title, columns in (("Letters", letter_columns()), ("Items", item_columns()),
                                   ("Annotations", ANNOTATION_COLUMNS)):
                ws = self._wb.create_sheet(title)
                self._sheets.append((ws, [kind for _n, kind in columns]))
                ws.freeze_panes = "A2"
                for i, (name, kind) in enumerate(columns, start=1):
                    ws.column_dimensions[get_column_letter(i)].width = WIDE.get(name, WIDTHS[kind])
                header = []
                for name, kind in columns:
                    cell = WriteOnlyCell(ws, value=f"{name} (UTC)" if kind == "datetime" else name)
                    cell.font = bold
                    header.append(cell)
                ws.append(header)
        except BaseException:  # a full disk already: close what was begun
            self.abort()
            raise
        self.counts = {"letters": 0, "items": 0, "annotations": 0}

    def _append(self, index: int, row: list[Any]) -> None:
        ws, kinds = self._sheets[index]
        ws.append([_typed(v, k) for v, k in zip(row, kinds, strict=True)])

    def write(self, letter: LetterData) -> None:
        self._append(0, letter_row(letter))
        items = item_rows(letter)
        for row in items:
            self._append(1, row)
        notes = annotation_rows(letter)
        for row in notes:
            self._append(2, row)
        self.counts["letters"] += 1
        self.counts["items"] += len(items)
        self.counts["annotations"] += len(notes)

    def close(self) -> None:
        self._wb.save(self.path)

    def abort(self) -> None:
        # finish each sheet's XML stream and remove its temporary file, so nothing is left behind; a stream
        # that cannot finish (a full disk) is closed as it is, never left for the garbage collector to finish
        for ws, _kinds in self._sheets:
            try:
                ws.close()
            except Exception:  # noqa: BLE001 - best effort: the export has already failed
                writer = getattr(ws, "_writer", None)
                for stream in (getattr(ws, "_rows", None), getattr(writer, "xf", None)):
                    with contextlib.suppress(Exception):
                        if stream is not None:
                            stream.close()
            with contextlib.suppress(Exception):
                ws._writer.cleanup()
