"""The export dialog: which letters, which format, where; then progress and the result.

The export reads on its own thread through its own read-only connection to the database (a
consistent snapshot; the window's writer thread keeps saving meanwhile) and writes the files; then
it records itself (the exports and letter_exports rows) as a `WriteOp` on the window's writer, like
every other write. Cancel stops it and leaves nothing at the destination.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path

from PySide6.QtCore import QDate, QObject, QStandardPaths, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from imr_desk.export import (
    FORMAT_NAMES,
    FORMATS,
    ExportCancelled,
    ExportError,
    ExportResult,
    ExportSet,
    export_set,
    normalise_destination,
    record_export,
)
from imr_desk.export.exporter import SUFFIXES
from imr_desk.export.selection import STATUSES
from imr_desk.logs import describe_error
from imr_desk.store import ClerkError, Database, StoreError
from imr_desk.ui.writer import DbWriter, WriteOp

log = logging.getLogger(__name__)


class ExportJob(QObject):
    """One export's reading and files on a background thread; signals arrive on the thread that created the job.

    It writes nothing into the database: its connection is read-only, and `succeeded` carries the
    result with its bookkeeping (`result.record`) still to be written by the writer.
    """

    progressed = Signal(int, int)
    succeeded = Signal(object)  # ExportResult
    failed = Signal(str)  # what to tell the clerk
    cancelled = Signal()

    def __init__(self, db_path: Path | str, user: str, fmt: str, destination: Path, selection: ExportSet, force: bool,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cancel_event = threading.Event()
        self._args = (db_path, user, fmt, destination, selection, force)
        self._thread = threading.Thread(target=self._run, name="imr-desk-export", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, timeout: float = 30.0) -> bool:
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        db_path, user, fmt, destination, selection, force = self._args
        try:
            db = Database.open(db_path, user=user, readonly=True)
        except StoreError as exc:
            self.failed.emit(exc.clerk_message)
            return
        try:
            result = export_set(db, fmt, destination, selection, force=force, progress=self.progressed.emit,
                                cancel=self.cancel_event, record=False)
        except ExportCancelled:
            self.cancelled.emit()
        except (ExportError, StoreError) as exc:
            self.failed.emit(exc.clerk_message)
        except Exception as exc:  # noqa: BLE001 - a bug: logged, and the clerk still hears of it
            log.exception("export failed")
            self.failed.emit(f"The export failed: {describe_error(exc)}. Nothing was written; see the log for details.")
        else:
            self.succeeded.emit(result)
        finally:
            db.close()


def _documents() -> Path:
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(found) if found and Path(found).is_dir() else Path.home()


class ExportDialog(QDialog):
    """Choose a set (status, batch, review dates, reviewer, decision, only new), a format and a destination."""

    exported = Signal(object)  # ExportResult, when an export has been written

    def __init__(self, db: Database, parent: QWidget | None = None, ids: list[int] | None = None,
                 folder: Path | None = None, writer: DbWriter | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.folder = folder if folder is not None and folder.is_dir() else None  # where the last export went
        self.setWindowTitle("Export letters")
        self.db = db
        self.ids = list(ids) if ids else None
        self.job: ExportJob | None = None
        self._focus_before: QWidget | None = None  # the keyboard's place while an export runs
        self._own_writer = writer is None  # opened alone (not from a window): the dialog's own writer
        self.writer = writer if writer is not None else DbWriter(lambda: Database.open(db.target, user=db.user))
        self._recording: WriteOp[int] | None = None
        self.export_result: ExportResult | None = None  # the last export's result
        layout = QVBoxLayout(self)

        which = QGroupBox("Letters", self)
        form = QFormLayout(which)
        status_row = QHBoxLayout()
        self.status_boxes: dict[str, QCheckBox] = {}
        for status in STATUSES:
            box = QCheckBox(status, which)
            box.setObjectName(f"status_{status.replace(' ', '_')}")
            box.setChecked(status == "reviewed")
            box.toggled.connect(self._update_count)
            status_row.addWidget(box)
            self.status_boxes[status] = box
        form.addRow("Status", status_row)
        self.batch = QComboBox(which)
        self.batch.setObjectName("exportBatch")
        self.batch.addItem("All batches", None)
        for name in db.batches():
            self.batch.addItem(name, name)
        self.batch.currentIndexChanged.connect(self._update_count)
        form.addRow("Batch", self.batch)
        since_row = QHBoxLayout()
        self.use_since = QCheckBox("Reviewed since", which)
        self.use_since.setObjectName("useSince")
        self.since = QDateEdit(which)
        self.since.setObjectName("exportSince")
        self.since.setCalendarPopup(True)
        self.since.setDisplayFormat("yyyy-MM-dd")
        self.since.setDate(QDate.currentDate().addDays(-7))
        self.since.setEnabled(False)
        self.use_since.toggled.connect(self.since.setEnabled)
        self.use_since.toggled.connect(self._update_count)
        self.since.dateChanged.connect(self._update_count)
        since_row.addWidget(self.use_since)
        since_row.addWidget(self.since)
        since_row.addStretch(1)
        form.addRow("Dates", since_row)
        self.reviewer = QComboBox(which)
        self.reviewer.setObjectName("exportReviewer")
        self.reviewer.addItem("Anyone", None)
        for name in db.reviewers():
            self.reviewer.addItem(name, name)
        self.reviewer.currentIndexChanged.connect(self._update_count)
        form.addRow("Reviewed by", self.reviewer)
        self.decision = QComboBox(which)
        self.decision.setObjectName("exportDecision")
        self.decision.addItem("Any", None)
        self.decision.addItem("With an item upheld", "upheld")
        self.decision.addItem("With an item overturned", "overturned")
        self.decision.currentIndexChanged.connect(self._update_count)
        form.addRow("Decision", self.decision)
        self.only_new = QCheckBox("Only letters not exported since their last review", which)
        self.only_new.setObjectName("exportOnlyNew")
        self.only_new.toggled.connect(self._update_count)
        form.addRow("", self.only_new)
        if self.ids:
            self.only_selected = QCheckBox(f"Only the {len(self.ids)} selected letter(s)", which)
            self.only_selected.setObjectName("exportOnlySelected")
            self.only_selected.setChecked(True)
            self.only_selected.toggled.connect(self._update_count)
            form.addRow("", self.only_selected)
        self.count = QLabel(which)
        self.count.setObjectName("exportCount")
        form.addRow("", self.count)
        layout.addWidget(which)

        where = QGroupBox("Format and destination", self)
        wform = QFormLayout(where)
        self.format = QComboBox(where)
        self.format.setObjectName("exportFormat")
        for fmt in FORMATS:
            self.format.addItem(FORMAT_NAMES[fmt], fmt)
        self.format.currentIndexChanged.connect(self._format_changed)
        wform.addRow("Format", self.format)
        dest_row = QHBoxLayout()
        self.destination = QLineEdit(where)
        self.destination.setObjectName("exportDestination")
        self.browse = QPushButton("Browse…", where)
        self.browse.setObjectName("exportBrowse")
        self.browse.clicked.connect(self._browse)
        dest_row.addWidget(self.destination, 1)
        dest_row.addWidget(self.browse)
        wform.addRow("Save as", dest_row)
        self.replace = QCheckBox("Replace it if it exists", where)
        self.replace.setObjectName("exportReplace")
        wform.addRow("", self.replace)
        layout.addWidget(where)

        self.progress = QProgressBar(self)
        self.progress.setObjectName("exportProgress")
        self.progress.setFormat("%v of %m letters")
        self.progress.hide()
        layout.addWidget(self.progress)
        self.message = QLabel(self)
        self.message.setObjectName("exportMessage")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.export_button = QPushButton("Export", self)
        self.export_button.setObjectName("exportButton")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button = QPushButton("Close", self)
        self.cancel_button.setObjectName("exportCancel")
        self.cancel_button.clicked.connect(self._cancel_or_close)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)

        self._format_changed()
        self._update_count()
        self.resize(620, 480)

    # -- the set -----------------------------------------------------------------------------------
    def selection(self) -> ExportSet:
        """The set the dialog's choices describe (raises ExportError for an impossible one)."""
        since = self.since.date().toString("yyyy-MM-dd") if self.use_since.isChecked() else None
        ids = self.ids if self.ids and self.only_selected.isChecked() else None
        return ExportSet(status=[s for s, box in self.status_boxes.items() if box.isChecked()],
                         batch=self.batch.currentData(), since=since, reviewer=self.reviewer.currentData(),
                         decision=self.decision.currentData(), ids=ids, only_new=self.only_new.isChecked())

    def _update_count(self) -> None:
        try:
            n = len(self.db.letter_ids(self.selection().letter_filter()))
        except ExportError as exc:
            self.count.setText(exc.clerk_message)
            return
        self.count.setText(f"{n} letter(s) in this set." if n else "No letters in this set.")
        if self.job is None:
            self.export_button.setEnabled(n > 0)

    # -- the destination ---------------------------------------------------------------------------
    def fmt(self) -> str:
        return str(self.format.currentData())

    def _format_changed(self) -> None:
        fmt = self.fmt()
        current = self.destination.text().strip()
        stamp = dt.date.today().isoformat()
        if not current:
            path = (self.folder or _documents()) / f"imr-desk-export-{stamp}{SUFFIXES[fmt]}"
        else:
            old = Path(current)
            stem = old.name[: -len(old.suffix)] if old.suffix in (".jsonl", ".xlsx", ".db") else old.name
            path = old.with_name(stem + SUFFIXES[fmt])
        self.destination.setText(str(path))

    def _browse(self) -> None:
        fmt = self.fmt()
        start = self.destination.text().strip() or str(self.folder or _documents())
        if fmt == "csv":
            chosen, _ = QFileDialog.getSaveFileName(self, "Export as a folder of CSV files", start)
        else:
            filters = {"jsonl": "JSON Lines (*.jsonl)", "xlsx": "Excel workbook (*.xlsx)",
                       "sqlite": "SQLite database (*.db *.sqlite)"}
            chosen, _ = QFileDialog.getSaveFileName(self, "Export as", start, filters[fmt])
            if chosen:
                self.replace.setChecked(Path(chosen).exists())  # the file dialog has asked already
        if chosen:
            self.destination.setText(chosen)

    # -- running -----------------------------------------------------------------------------------
    def start_export(self) -> bool:
        if self.job is not None:
            return False
        text = self.destination.text().strip()
        if not text:
            self._show_error("Choose where to save the export.")
            return False
        try:
            selection = self.selection()
        except ExportError as exc:
            self._show_error(exc.clerk_message)
            return False
        fmt = self.fmt()
        destination = normalise_destination(fmt, text)
        self.export_result = None
        job = ExportJob(self.db.target, self.db.user, fmt, destination, selection, self.replace.isChecked(),
                        self)
        job.progressed.connect(self._progressed)
        job.succeeded.connect(self._succeeded)
        job.failed.connect(self._failed)
        job.cancelled.connect(self._cancelled)
        self.job = job
        self._running(True)
        self.message.setText(f"Exporting to {destination}…")
        job.start()
        return True

    def _running(self, on: bool) -> None:
        # Disabling the focused widget leaves the keyboard nowhere (Tab and the arrows do nothing after
        # the export): keep Cancel in reach meanwhile, and give the keyboard back where it was.
        if on:
            self._focus_before = self.focusWidget()
        self.export_button.setEnabled(not on)
        self.cancel_button.setText("Cancel" if on else "Close")
        for box in self.findChildren(QGroupBox):
            box.setEnabled(not on)
        if on:
            self.cancel_button.setFocus()
        else:
            before, self._focus_before = self._focus_before, None
            (before if before is not None and before.isEnabled() else self.export_button).setFocus()
        self.progress.setVisible(on or self.progress.value() > 0)
        if on:
            self.progress.setRange(0, 0)
            self.progress.setValue(0)

    def _progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _finished(self) -> None:
        if self.job is not None:
            self.job.wait(5)
        self.job = None
        self.cancel_button.setEnabled(True)
        self._running(False)
        self._update_count()

    def _succeeded(self, result: ExportResult) -> None:
        """The files are in place: record the export through the writer, then say it is done."""
        if result.record is None:
            self._recorded(result, result.export_id)
            return
        self.message.setText(f"Recording the export in the database… (the files are written: {result.destination})")
        bookkeeping = result.record
        op: WriteOp[int] = WriteOp(lambda db: record_export(db, bookkeeping), "record the export")
        self._recording = op.success(lambda export_id: self._recorded(result, export_id)) \
            .failure(lambda exc: self._not_recorded(result, exc)).run(self.writer)

    def _not_recorded(self, result: ExportResult, exc: ClerkError) -> None:
        self._recording = None
        self.export_result = result
        self._finished()
        self._show_error(exc.clerk_message)
        self.exported.emit(result)

    def _recorded(self, result: ExportResult, export_id: int | None) -> None:
        self._recording = None
        result.export_id, result.record = export_id, None
        self.export_result = result
        self._finished()
        self.message.setStyleSheet("")
        self.message.setText(f"{result.summary()}\nManifest: {result.manifest_path}")
        self.exported.emit(result)

    def _failed(self, message: str) -> None:
        self._finished()
        self.progress.hide()
        self._show_error(message)

    def _cancelled(self) -> None:
        self._finished()
        self.progress.hide()
        self.message.setStyleSheet("")
        self.message.setText("The export was cancelled; nothing was written.")

    def _show_error(self, message: str) -> None:
        self.message.setStyleSheet("color: #b00020;")
        self.message.setText(message)

    def cancel_export(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.message.setText("Cancelling…")

    def _cancel_or_close(self) -> None:
        if self.job is not None:
            self.cancel_export()
        else:
            self.accept() if self.export_result is not None else self.reject()

    def done(self, r: int) -> None:
        """Closing the dialog while exporting cancels the export and waits for it to stop."""
        self._stop()
        self.cancel_button.setEnabled(True)
        super().done(r)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self._stop()
        super().closeEvent(event)

    def _stop(self) -> None:
        """Cancel a running export; an export already written is still recorded (the writer goes on)."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait(30)
            self.job = None
        if self._recording is not None:
            self._recording.forget()
            self._recording = None
        if self._own_writer:
            self.writer.close()
