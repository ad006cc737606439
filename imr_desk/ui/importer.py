"""Importing letters from the window: by dialog or drag and drop, as a stepped write, with progress.

The import is one `WriteOp` whose write is a generator: the writer thread stores one file per turn,
so the clerk's saves slip in between its files, and each step's event comes back as progress.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QProgressBar, QPushButton, QWidget

from imr_desk.store import ClerkError, Database
from imr_desk.ui.writer import DbWriter, WriteOp

log = logging.getLogger(__name__)


class ImportController(QObject):
    """One import at a time: progress in the status bar, a cancel button, the report at the end."""

    progressed = Signal(int, int, str)  # done, total, current file
    finished = Signal(object)  # the import report, or None when it failed
    openRequested = Signal(int)  # the clerk asked to open this letter (a duplicate)

    def __init__(self, writer: DbWriter, parent_widget: QWidget) -> None:
        super().__init__(parent_widget)
        self.writer = writer
        self.parent_widget = parent_widget
        self.progress = QProgressBar(parent_widget)
        self.progress.setObjectName("importProgress")
        self.progress.setMaximumWidth(260)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel import", parent_widget)
        self.cancel_button.setObjectName("cancelImport")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel)
        self._op: WriteOp[Any] | None = None
        self._cancel = threading.Event()
        self._ended = threading.Event()
        self._ended.set()
        self.last_report: Any = None
        self.report_box: QMessageBox | None = None

    @property
    def running(self) -> bool:
        return self._op is not None

    def start(self, paths: list[Path]) -> bool:
        if self.running:
            return False
        paths = [Path(p) for p in paths]
        self._cancel = cancel = threading.Event()
        self._ended = ended = threading.Event()
        self.progress.setRange(0, 0)
        self.progress.setFormat("Importing…")
        self.progress.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        op: WriteOp[Any] = WriteOp(lambda db: _import_steps(db, paths, cancel, ended), "import the letters")
        self._op = op.progress(self._stepped).success(self._succeeded).failure(self._failed).run(self.writer)
        return True

    def cancel(self) -> None:
        self._cancel.set()
        self.cancel_button.setEnabled(False)
        self.progress.setFormat("Cancelling…")

    def shutdown(self, timeout: float = 60.0) -> bool:
        """The window is closing: cancel a running import and wait until the writer thread has stopped it.

        Its progress and its end are no longer reported (the window and its database are going away).
        Returns False when the import did not stop within `timeout` seconds.
        """
        if self._op is None:
            return True
        self._cancel.set()
        self._op.forget()  # whatever the writer still reports is ignored
        self._op = None
        stopped = self.writer.wait_idle(timeout, until=self._ended.is_set)
        if not stopped:
            log.warning("the import did not stop within %s s of closing the window", timeout)
        self.progress.hide()
        self.cancel_button.hide()
        return stopped

    def _stepped(self, event: Any) -> None:
        done, total, name = _progress_of(event)
        pages = getattr(event, "pages", None)
        if pages and pages[1]:  # a scan being read by OCR: pages done of pages to do
            self.progress.setRange(0, pages[1])
            self.progress.setValue(pages[0])
            self._set_format("OCR of {name}: page %v of %m", name)
        elif total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self._set_format("Importing %v of %m: {name}" if name else "Importing %v of %m", name)
        self.progressed.emit(done, total, name)

    def _set_format(self, template: str, name: str) -> None:
        """The bar's text with the file's name shortened (…) to fit the bar: "Reading CM16-0230651.tiff by
        OCR: page 1 of 3 done" ran over the bar's 260 px onto a second line. The whole name is in the tip."""
        widest = str(self.progress.maximum())
        room = self.progress.maximumWidth() - 16 - self.progress.fontMetrics().horizontalAdvance(
            template.replace("{name}", "").replace("%v", widest).replace("%m", widest))
        short = self.progress.fontMetrics().elidedText(name, Qt.TextElideMode.ElideMiddle, max(room, 40))
        self.progress.setFormat(template.replace("{name}", short))
        self.progress.setToolTip(template.replace("{name}", name).replace("%v", str(self.progress.value()))
                                 .replace("%m", widest) if name else "")

    def _ended_now(self) -> None:
        self._op = None
        self.progress.hide()
        self.cancel_button.hide()

    def _failed(self, error: ClerkError) -> None:
        self._ended_now()
        self._show("Import failed", error.clerk_message, QMessageBox.Icon.Warning)
        self.finished.emit(None)

    def _succeeded(self, report: Any) -> None:
        self._ended_now()
        self.last_report = report
        self._show("Import finished", describe_report(report), QMessageBox.Icon.Information)
        ids = [i for i in getattr(report, "duplicate_ids", []) if i]
        if ids and not getattr(report, "added", None) and self.report_box is not None:
            # nothing new: the clerk most likely wants the letter that is already there
            button = self.report_box.addButton(f"Open letter {ids[0]}", QMessageBox.ButtonRole.AcceptRole)
            button.setObjectName("openDuplicate")
            button.clicked.connect(lambda: self.openRequested.emit(ids[0]))
        self.finished.emit(report)

    def _show(self, title: str, text: str, icon: QMessageBox.Icon) -> None:
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self.parent_widget)
        box.setObjectName("importReport")
        self.report_box = box
        box.open()


def _import_steps(db: Database, paths: list[Path], cancel: threading.Event,
                  ended: threading.Event) -> Iterator[Any]:
    """Runs on the writer thread: the store's import, one event per step; returns its report.

    `ended` is set once the import has stopped, whether it finished, failed or was cancelled.
    """
    try:
        gen = db.import_iter(paths, batch=None, cancel=cancel)
        report = None
        while True:
            try:
                event = next(gen)
            except StopIteration as stop:
                report = stop.value
                break
            yield event
            report = getattr(event, "report", None) or report
        return report
    finally:
        ended.set()


def _progress_of(event: Any) -> tuple[int, int, str]:
    get = event.get if isinstance(event, dict) else lambda k, d=None: getattr(event, k, d)
    done = int(get("done", 0) or 0)
    total = int(get("total", 0) or 0)
    name = str(get("name", "") or get("path", "") or "")
    return done, total, Path(name).name if name else ""


def describe_report(report: Any) -> str:
    if report is None:
        return "The import stopped before any letter was read."
    get = report.get if isinstance(report, dict) else lambda k, d=None: getattr(report, k, d)

    def n(key: str) -> int:
        value = get(key, 0)
        return len(value) if isinstance(value, list | tuple) else int(value or 0)

    ignored = list(get("ignored", []) or [])
    other = f", {len(ignored)} other file(s) ignored" if ignored else ""
    lines = [f"{n('added')} letter(s) added, {n('duplicates')} already in the database, {n('failed')} failed{other}."]
    if get("cancelled", False):
        lines.insert(0, "The import was cancelled; the letters read so far were kept.")
    duplicates = list(get("duplicates", []) or [])
    ids = list(get("duplicate_ids", []) or [])
    if duplicates:
        lines += ["", "Already in this database, so nothing was changed:"]
    for i, name in enumerate(duplicates[:10]):
        letter = ids[i] if i < len(ids) and ids[i] else None
        lines.append(f"• {name}: letter {letter}" if letter else f"• {name}")
    if len(duplicates) > 10:
        lines.append(f"… and {len(duplicates) - 10} more.")
    if duplicates:
        lines.append("Open one from the queue (Ctrl+1; Ctrl+F finds it by its case number) to review it again.")
    failed = list(get("failed", []) or [])
    if failed:
        lines.append("")
        lines.append("Not imported:")
    for f in failed[:10]:
        name, reason = f if isinstance(f, list | tuple) and len(f) == 2 else (f, "")
        lines.append(f"• {name}: {reason}" if reason else f"• {name}")
    if len(failed) > 10:
        lines.append(f"… and {len(failed) - 10} more (see the log).")
    if ignored:  # each "path (why)", as the command line lists them
        lines += ["", "Not read (not letters, or not to be read):"]
        lines += [f"• {entry}" for entry in ignored[:10]]
    if len(ignored) > 10:
        lines.append(f"… and {len(ignored) - 10} more (`imr-desk import` lists them all).")
    return "\n".join(lines)
