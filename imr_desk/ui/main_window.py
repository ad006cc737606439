"""The review window: the queue, the letter and its form, side by side.

The window wires services together (session, queue, letter view, form, panels, import); the state
lives in the session, the actions in actions.py.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStatusBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from imr_desk.core.confirmations import REQUIRE_ONE_BY_ONE
from imr_desk.core.fields import label_of
from imr_desk.store import OPEN_STATUSES, ClerkError, Database, StoreError, is_server_url
from imr_desk.store.importing import ARCHIVE_SUFFIXES, EXPORT_SUFFIXES
from imr_desk.store.importing import LETTER_SUFFIXES as LETTER_FILE_SUFFIXES
from imr_desk.ui import history
from imr_desk.ui.actions import ACTIONS, HelpPanel, ShortcutGuard, build_actions
from imr_desk.ui.dialogs import AnnotationDialog, HistoryDialog, ReasonDialog
from imr_desk.ui.export_dialog import ExportDialog
from imr_desk.ui.find import FindBar
from imr_desk.ui.form import FORM_KEYS, FormView
from imr_desk.ui.importer import ImportController
from imr_desk.ui.letter_view import LetterView
from imr_desk.ui.live import LiveQueue
from imr_desk.ui.panels import AnnotationsPanel, ChecksPanel
from imr_desk.ui.queue import QueuePanel
from imr_desk.ui.record_ops import field_of
from imr_desk.ui.session import ReviewError, ReviewSession
from imr_desk.ui.settings import Settings
from imr_desk.ui.writer import DbWriter, WriteOp

log = logging.getLogger(__name__)

LABEL_COLOURS = {
    "extraction error": QColor(230, 60, 60),
    "illegible": QColor(120, 120, 120),
    "question": QColor(60, 140, 230),
    "note": QColor(255, 190, 0),
}
# What an import reads (the store's list: PDF, text, scans), for the file dialog and for a drop; the scans
# were left out once, so a .tif neither showed in "Import letters…" nor imported when dropped.
LETTER_SUFFIXES = LETTER_FILE_SUFFIXES + ARCHIVE_SUFFIXES + EXPORT_SUFFIXES
SCAN_SUFFIXES = tuple(s for s in LETTER_FILE_SUFFIXES if s not in (".pdf", ".txt"))
IMPORT_FILTER = ";;".join((
    f"Letters and exports ({' '.join('*' + s for s in LETTER_SUFFIXES)})", "PDF letters (*.pdf)",
    f"Scans ({' '.join('*' + s for s in SCAN_SUFFIXES)})", "Text letters (*.txt)", "Zip archives (*.zip)",
    "JSON Lines exports (*.jsonl)", "All files (*)"))
MENU_ORDER = ("File", "Edit", "Review", "View", "Help")
CLOSE_WAIT_S = 3.0  # closing waits this long (the window answering) for the last edits to land, then asks


class MainWindow(QMainWindow):
    """The queue | the letter | the form (with checks and annotations below it)."""

    letterShown = Signal(int)
    replacedBy = Signal(object)  # File → Open: the window that took this one's place

    def __init__(self, db: Database, writer: DbWriter, db_path: Path | str, settings: Settings | None = None,
                 user: str | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.db = db
        self.writer = writer
        # a file's path, or a server database's URL (kept as the string it is: a Path would mangle it)
        self.db_path: Path | str = db_path if is_server_url(db_path) else Path(db_path)
        self.settings = settings or Settings()
        self.user = user or _user()
        self.default_user = self.user  # who the window's changes are recorded as when no name is set
        # opens another database in a window of its own and closes this one (set by app.build_window)
        self.opener: Callable[[str], Any] | None = None
        self.holder = f"{self.user}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.setWindowTitle(f"IMR Desk — {self.db_path.name if isinstance(self.db_path, Path) else db.where}")
        self.setAcceptDrops(True)
        self.session = ReviewSession(db, writer, self.holder, self)
        self.session.message.connect(self.show_message)
        writer.message.connect(self.show_message)
        writer.waitingChanged.connect(self._waiting_changed)

        self.queue = QueuePanel(db, self)
        self.live = LiveQueue(db, self.holder, self)  # other clerks' changes and the letters they hold
        self.queue.model.holders = dict(self.live.holders)
        self.live.changed.connect(self._others_changed)
        self.letter_view = LetterView(self)
        self.form = FormView(self.session, self)
        self.checks = ChecksPanel(self.session, self)
        self.annotations = AnnotationsPanel(self.session, self)
        side = QTabWidget(self)
        side.setObjectName("sideTabs")
        side.addTab(self.checks, "Checks")
        side.addTab(self.annotations, "Annotations")
        self.side_tabs = side
        self.right = QSplitter(Qt.Orientation.Vertical, self)
        self.right.setObjectName("rightSplitter")
        self.right.addWidget(self.form)
        self.right.addWidget(side)
        self.right.setStretchFactor(0, 3)
        self.right.setStretchFactor(1, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.find_bar = FindBar(self.letter_view, lambda: self.session.text.text if self.session.text else "", self)
        self.find_bar.closed.connect(self.do_focus_letter)
        letter_pane = QWidget(self)
        letter_pane.setObjectName("letterPane")
        pane_layout = QVBoxLayout(letter_pane)
        pane_layout.setContentsMargins(0, 0, 0, 0)
        pane_layout.setSpacing(0)
        pane_layout.addWidget(self.find_bar)
        pane_layout.addWidget(self.letter_view, 1)
        self.splitter.addWidget(self.queue)
        self.splitter.addWidget(letter_pane)
        self.splitter.addWidget(self.right)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setStretchFactor(2, 3)
        self.setCentralWidget(self.splitter)

        self.status = QStatusBar(self)
        self.setStatusBar(self.status)
        self.save_label = QLabel("", self)
        self.save_label.setObjectName("saveState")
        self.status.addPermanentWidget(self.save_label)
        self.importer = ImportController(writer, self)
        self.status.addPermanentWidget(self.importer.progress)
        self.status.addPermanentWidget(self.importer.cancel_button)

        self.actions_ = build_actions(self)
        self._build_menus()
        self.guard = ShortcutGuard(self)
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.guard)
        self.help_panel: HelpPanel | None = None
        self.owns_database = False
        self._shut_down = False
        self._closing = False
        self._splitters_restored = False
        self._clamped_margins = (0, 0, 0, 0)  # the frame the window was last clamped with
        self._discard_unsaved = False
        self.close_box: QMessageBox | None = None
        self._shown_fields: dict[str, Any] = {}  # the provenance whose highlights the letter shows
        self.dialog: Any = None
        self._browsing_queue = False  # the keyboard was in the queue when the open letter was chosen

        self.queue.letterChosen.connect(self.open_letter)
        self.session.letterOpened.connect(self._letter_opened)
        self.session.letterClosed.connect(self._letter_closed)
        self.session.recordChanged.connect(self._record_changed)
        self.session.focusChanged.connect(self._focus_changed)
        self.session.dirtyChanged.connect(self._dirty_changed)
        self.session.saved.connect(self._saved)
        self.session.saveStateChanged.connect(self.save_label.setText)
        self.session.letterWritten.connect(self._letter_written)
        self.session.statusChanged.connect(self._status_changed)
        self.session.annotationsChanged.connect(self._show_annotations)
        self.session.undo_stack.canUndoChanged.connect(self.actions_["undo"].setEnabled)
        self.session.undo_stack.canRedoChanged.connect(self.actions_["redo"].setEnabled)
        self.actions_["undo"].setEnabled(False)
        self.actions_["redo"].setEnabled(False)
        self.letter_view.spanClicked.connect(self._span_clicked)
        self.checks.fieldRequested.connect(self.form.focus_field)
        self.annotations.spanRequested.connect(self.letter_view.set_focus_span)
        self.importer.finished.connect(self._import_finished)
        self.importer.openRequested.connect(self._open_from_import)
        self.actions_["toggle_highlights"].setChecked(True)
        self._read_team_settings()
        self.actions_["toggle_queue"].setChecked(self.settings.flag("window/queueShown", True))
        self.queue.setVisible(self.actions_["toggle_queue"].isChecked())
        self._restore()

    # -- layout and settings ---------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        menus: dict[str, Any] = {}
        for name in MENU_ORDER:
            menus[name] = bar.addMenu(f"&{name}")
        for spec in ACTIONS:
            if spec.menu not in menus:
                menus[spec.menu] = bar.addMenu(f"&{spec.menu}")
            if spec.name == "quit":
                menus[spec.menu].addSeparator()
            menus[spec.menu].addAction(self.actions_[spec.name])

    def _restore(self) -> None:
        s = self.settings
        geometry = s.bytes("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1500, 920)
        self.clamp_to_screen()
        state = s.bytes("window/state")
        if state is not None:
            self.restoreState(state)
        self._splitters_restored = False
        self.queue.restore_state({k: s.text(f"queue/{k}") for k in ("status", "batch", "sort", "descending")})
        self.queue.restore_widths(s.text("queue/widths"))
        self.letter_view.restore_zoom({k: s.text(f"zoom/{k}") for k in ("pdf", "text")})
        last = s.last_letter(str(self.db_path))
        target = last if last is not None and self._exists(last) else self._first_to_review()
        if target is not None:
            self.open_letter(target)

    def clamp_to_screen(self) -> None:
        """Keep the window on a screen there is now: no larger than it, and inside it (a saved size can be
        from a bigger monitor, a position from one unplugged since)."""
        from PySide6.QtGui import QGuiApplication

        frame, inner = self.frameGeometry(), self.geometry()
        self._clamped_margins = _margins(frame, inner)
        screen = QGuiApplication.screenAt(frame.center()) or self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        avail = screen.availableGeometry()
        extra_w, extra_h = max(0, frame.width() - inner.width()), max(0, frame.height() - inner.height())
        if self.isMaximized() or self.isFullScreen():
            return
        width = min(inner.width(), avail.width() - extra_w)
        height = min(inner.height(), avail.height() - extra_h)
        if (width, height) != (inner.width(), inner.height()):
            self.resize(width, height)
        x = min(max(frame.x(), avail.x()), avail.x() + avail.width() - (width + extra_w))
        y = min(max(frame.y(), avail.y()), avail.y() + avail.height() - (height + extra_h))
        if (x, y) != (frame.x(), frame.y()):
            self.move(x, y)

    def _reclamp_on_new_frame(self) -> None:
        """The window manager's frame (title bar, borders) is known only some time after the window is
        shown, and it can change (another theme): a window clamped before it knew the frame would stick
        out of the screen by the title bar's height, so clamp again whenever the frame's size changes."""
        if (self.isVisible() and self._splitters_restored
                and _margins(self.frameGeometry(), self.geometry()) != self._clamped_margins):
            self.clamp_to_screen()

    def moveEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().moveEvent(event)
        self._reclamp_on_new_frame()

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._reclamp_on_new_frame()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not self._splitters_restored:
            # Only now do the splitters have their real width; sizes set earlier would be re-spread.
            self._splitters_restored = True
            self.clamp_to_screen()  # again, now that the window manager's frame is known
            QTimer.singleShot(0, self.clamp_to_screen)
            _restore_sizes(self.splitter, self.settings.ints("window/splitter"), [0.28, 0.40, 0.32])
            _restore_sizes(self.right, self.settings.ints("window/rightSplitter"), [0.8, 0.2])
            # The letter the window starts on was opened before the panes had their size: the fit to
            # width and the form's layout since moved both away from the top; open it ready once more,
            # now that they have it (before the clerk can do anything).
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
            if self.session.letter_id is not None:
                self._make_ready()

    def save_settings(self) -> None:
        s = self.settings
        s.set("window/geometry", self.saveGeometry())
        s.set("window/state", self.saveState())
        if self._splitters_restored:  # never shown: keep what was saved before
            s.set("window/splitter", self.splitter.sizes())
            s.set("window/rightSplitter", self.right.sizes())
        s.set_last_letter(str(self.db_path), self.session.letter_id)
        for key, value in self.queue.state().items():
            s.set(f"queue/{key}", value)
        s.set("queue/widths", self.queue.widths_state())
        for key, value in self.letter_view.zoom_state().items():
            s.set(f"zoom/{key}", value)
        s.sync()

    def _exists(self, letter_id: int) -> bool:
        try:
            self.db.letter(letter_id)
        except Exception:  # noqa: BLE001 - a letter removed since: start from the queue instead
            return False
        return True

    def _first_to_review(self) -> int | None:
        rows = self.db.queue({"status": list(OPEN_STATUSES)}, "id", False, 0, 1)
        if rows:
            return rows[0].id
        rows = self.db.queue({}, "id", False, 0, 1)
        return rows[0].id if rows else None

    # -- opening letters -------------------------------------------------------------------------
    def open_letter(self, letter_id: int) -> bool:
        """Open a letter; when it cannot be opened (or the current one's edits not saved), stay put and say why."""
        refused = self.form.refused_fields()
        if refused and self.session.letter_id is not None:  # leaving would lose what the clerk typed
            self.form.focus_field(refused[0].path)
            self._stay_on_current(f"Stayed on this letter: {refused[0].label}: {refused[0].refusal}")
            return False
        # asked before the form changes: hiding the old letter's extra items moves Qt's focus elsewhere
        self._browsing_queue = self._focus_in(self.queue)
        try:
            self.session.open_letter(letter_id)
        except ReviewError as exc:
            self._stay_on_current(exc.clerk_message)
            return False
        except StoreError as exc:  # a locked or full database, a letter removed meanwhile
            current = self.session.letter
            stay = f" {current.name} stays open." if current is not None else ""
            self._stay_on_current(f"Could not open the letter: {exc.clerk_message}{stay}")
            return False
        self.queue.select_letter(letter_id)
        self.letterShown.emit(letter_id)
        return True

    def _stay_on_current(self, message: str) -> None:
        self.show_message(message)
        if self.session.letter_id is not None:  # the queue's selection goes back to the open letter
            self.queue.select_letter(self.session.letter_id)

    def _letter_opened(self) -> None:
        s = self.session
        self.letter_view.show_letter(s.text, s.data)
        self._shown_fields = s.record.get("fields") or {}
        self.letter_view.set_field_spans(self._shown_fields, push=False)
        self._show_annotations()  # draws the fields' and the annotations' highlights in one pass
        self._count_checks()
        self.side_tabs.setCurrentWidget(self.checks)  # each letter starts on its checks
        self.find_bar.letter_changed()
        if s.read_only:
            self.show_message(f"Read only: {s.read_only_reason}")
        self.save_label.setText(f"saved (version {s.version})" if s.version else "")
        self._status_changed(s.status)
        self._read_team_settings()
        self._make_ready()

    def _make_ready(self) -> None:
        """A letter opens ready: page 1 at the top, the form at the top, the first field to check focused.

        The field is the first needing attention (a warning, a low confidence), else the first field.
        While the clerk is moving through the queue, the queue keeps the keyboard; the field is still
        the current one (outlined in the letter), so Ctrl+3 or a click goes on from there.
        """
        self.letter_view.go_to_start()
        self.form.verticalScrollBar().setValue(0)
        self.form.horizontalScrollBar().setValue(0)
        target = self.first_field_to_check()
        if target is None:
            return
        if self._browsing_queue:
            self.session.focus(target)
        else:
            self.form.focus_field(target)

    def first_field_to_check(self) -> str | None:
        """The first field needing attention and not confirmed yet, else the first not confirmed, else the first."""
        paths = self.form.field_paths()
        attention = set(self.form.attention_paths())
        unconfirmed = self.form.confirmations.unconfirmed(paths)
        for p in unconfirmed:
            if p in attention:
                return p
        if unconfirmed:
            return unconfirmed[0]
        return paths[0] if paths else None

    def _focus_in(self, widget: QWidget) -> bool:
        from PySide6.QtWidgets import QApplication

        focus = QApplication.focusWidget()
        return focus is not None and (focus is widget or widget.isAncestorOf(focus))

    def _letter_closed(self) -> None:
        self.letter_view.show_letter(None, None)
        self.annotations.show_annotations([], "")

    def _show_annotations(self) -> None:
        s = self.session
        notes = s.annotations()
        self.annotations.show_annotations(notes, s.text.text if s.text else "")
        self.letter_view.set_annotations([(a.id, a.start, a.end, a.label) for a in notes], LABEL_COLOURS)
        self.side_tabs.setTabText(1, f"Annotations ({len(notes)})" if notes else "Annotations")

    def _record_changed(self, _path: str) -> None:
        s = self.session
        fields = s.record.get("fields") or {}
        # most edits change a value, not where values came from (and share the provenance: identity first)
        if fields is not self._shown_fields:
            if fields != self._shown_fields:
                self.letter_view.set_field_spans(fields)
            self._shown_fields = fields
            self._focus_changed(s.focused_path)  # the focused value's place in the letter may be another
        self._count_checks()

    def _count_checks(self) -> None:
        n = len(self.session.warnings()) if self.session.letter_id is not None else 0
        self.side_tabs.setTabText(0, f"Checks ({n})" if n else "Checks")

    def _focus_changed(self, path: str) -> None:
        span = self.session.span_of(path) if path else None
        if span is None:
            self.letter_view.set_focus_span(None, None)
        else:
            self.letter_view.set_focus_span(span[0], span[1])

    def _span_clicked(self, path: str) -> None:
        self.form.focus_field(field_of(path))

    def _dirty_changed(self, dirty: bool) -> None:
        self.save_label.setText(self.session.save_state())

    def _saved(self, version: int) -> None:
        self.save_label.setText(self.session.save_state())

    def _letter_written(self, letter_id: int) -> None:
        """One of this window's writes landed (or was refused): the letter's queue row shows what is stored."""
        if self._closing:
            return
        rows = self.db.queue({"ids": [letter_id]}, "id", False, 0, 1)
        self.queue.model.refresh_letter(letter_id, rows[0] if rows else None)
        self.queue.update_count()

    def _others_changed(self) -> None:
        """Another clerk (another window, another process) changed letters, or opened or closed one."""
        if self._closing:
            return
        self.queue.refresh_live(self.live.holders)

    def _waiting_changed(self, waiting: bool, doing: str) -> None:
        """Another program holds the database's write lock: the edits queue, in order, and say so."""
        if self._closing:
            return
        self.save_label.setText(self.session.save_state())
        if waiting and self.writer.waiting_for_server:
            self.show_message(f"Waiting for the database server (it cannot be reached) to {doing}. Keep working: "
                              "your edits are kept and saved in order as soon as the server is back.")
        elif waiting:
            self.show_message(f"Waiting for the database (another program is writing to it) to {doing}. "
                              "Keep working: your edits are kept and saved in order as soon as it is free.")
        else:
            self.show_message("The database is free again; your edits are being saved.")

    def _status_changed(self, status: str) -> None:
        if not self.session.dirty and self.session.letter_id is not None:
            self.save_label.setText(f"saved (version {self.session.version})")
        self._refresh_row()
        self.queue.update_count()

    def _refresh_row(self) -> None:
        letter_id = self.session.letter_id
        if letter_id is None:
            return
        rows = self.db.queue({"ids": [letter_id]}, "id", False, 0, 1)
        self.queue.model.refresh_letter(letter_id, rows[0] if rows else None)

    def show_message(self, text: str) -> None:
        log.info("clerk message: %s", text)
        self.status.showMessage(text, 10_000)

    # -- actions (named do_<name> in the action table) -------------------------------------------
    def _guard(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except ReviewError as exc:
            self.show_message(exc.clerk_message)
            return None

    def do_mark_reviewed_next(self) -> None:
        s = self.session
        if s.letter_id is None:
            self.show_message("No letter is open: pick one in the queue first.")
            return
        if s.read_only:
            self.show_message(s.read_only_reason)
            return
        unconfirmed = self.form.confirmations.unconfirmed(self.form.field_paths())
        if unconfirmed and self.confirm_one_by_one():
            self.form.focus_field(unconfirmed[0])
            self.show_message(f"Not marked reviewed: {len(unconfirmed)} field(s) are not confirmed yet, and the team "
                              "requires each one confirmed with Enter. The first of them is focused.")
            return
        errors = s.errors()
        if errors:
            self._ask_reason(
                "Mark reviewed despite errors",
                f"This letter has {len(errors)} error(s), first: {errors[0]['message']}\n"
                "Give the reason to mark it reviewed anyway (it is recorded).",
                lambda reason: self._reviewed_then_next(reason),
            )
            return
        self._reviewed_then_next(None)

    def _reviewed_then_next(self, reason: str | None) -> None:
        current = self.session.letter_id
        for path in self.form.field_paths():  # what Enter would leave as typed goes to the record first
            if not self.form.editors[path].commit():
                self.form.focus_field(path)
                self.show_message(f"Not marked reviewed: {self.form.editors[path].refusal}")
                return
        if self._guard(self.form.confirmations.confirm, self.form.field_paths()) is None:  # the rest, at once
            return
        if self._guard(self.session.mark_reviewed, reason) is None and self.session.status != "reviewed":
            return
        self._open_next_to_review(current, "Marked reviewed.")

    def _open_next_to_review(self, current: int | None, done: str) -> None:
        nxt = self.db.next_letter(current, status=OPEN_STATUSES)
        if nxt is None:
            self.show_message(f"{done} No letters are left to review.")
            return
        if self.open_letter(nxt):
            self.show_message(f"{done} Opened the next letter to review.")

    def do_next_letter(self) -> None:
        target = self.queue.neighbour(self.session.letter_id, +1)
        if target is None:
            self.show_message("This is the last letter in the queue.")
        else:
            self.open_letter(target)

    def do_previous_letter(self) -> None:
        target = self.queue.neighbour(self.session.letter_id, -1)
        if target is None:
            self.show_message("This is the first letter in the queue.")
        else:
            self.open_letter(target)

    def do_next_attention(self) -> None:
        if self.form.focus_attention(+1) is None:
            self.show_message("No field needs attention.")

    def do_previous_attention(self) -> None:
        if self.form.focus_attention(-1) is None:
            self.show_message("No field needs attention.")

    def do_revert_field(self) -> None:
        path = self.session.focused_path
        if not path:
            self.show_message("Click the field to put back first.")
        elif self._guard(self.form.revert_field, path) is False:
            self.show_message("This field has the parser's value already.")

    def confirm_one_by_one(self) -> bool:
        """The team's setting, as this window last read or set it (read again as each letter opens)."""
        return self.actions_["require_confirm"].isChecked()

    def _read_team_settings(self) -> None:
        try:
            on = self.db.team_setting(REQUIRE_ONE_BY_ONE) == "1"
        except StoreError:
            return
        action = self.actions_["require_confirm"]
        if action.isChecked() != on:
            action.blockSignals(True)
            action.setChecked(on)
            action.blockSignals(False)

    def do_require_confirm(self, on: bool) -> None:
        def refused(exc: ClerkError) -> None:
            self.show_message(f"The team setting was not changed: {exc.clerk_message}")
            action = self.actions_["require_confirm"]
            action.blockSignals(True)
            action.setChecked(not on)
            action.blockSignals(False)

        WriteOp(lambda db: db.set_team_setting(REQUIRE_ONE_BY_ONE, "1" if on else "0"),
                "change the team's setting").failure(refused).run(self.writer)
        self.show_message("Every field must now be confirmed one by one before a letter is marked reviewed "
                          "(for everyone on this database)." if on else
                          "Ctrl+Return confirms the fields left and marks the letter reviewed again.")

    def do_fill_from_selection(self) -> None:
        box = self.letter_view.selected_box()
        if box is not None:
            self._fill_from_box(*box)
            return
        span = self.letter_view.selected_span()
        if span is None:
            self.show_message("Select the field's text in the letter (or draw a box around it with Shift+drag) "
                              "first, then press Ctrl+D.")
            return
        path = self._guard(self.session.fill_from_selection, *span)
        if path:
            self.form.focus_field(path)
            self.show_message(f"Filled {label_of(path)} from the letter.")

    def _fill_from_box(self, page: int, box: tuple[float, float, float, float]) -> None:
        """Fill the focused field from the words inside a box drawn on the page; a page without text there
        is read by OCR (the region only, a second or less)."""
        hit = self.letter_view.pdf_view.box_words(page, box)
        if hit is not None:
            text, start, end = hit
            path = self._guard(self.session.fill_from_box, page, box, text, start, end)
        else:
            from PySide6.QtWidgets import QApplication

            from imr_desk.core import ocr

            if self.session.data is None:
                return
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                text = ocr.ocr_region(self.session.data, page, box)
            except ocr.OcrUnavailable as exc:
                self.show_message(exc.clerk_message)
                return
            except Exception as exc:  # noqa: BLE001 - the engine failed on the region: say so, keep the field
                log.warning("OCR of a region failed: %s", exc, exc_info=True)
                self.show_message(f"The box could not be read by OCR: {exc}")
                return
            finally:
                QApplication.restoreOverrideCursor()
            if not text:
                self.show_message("No words were found inside the box; draw it around the value's words.")
                return
            path = self._guard(self.session.fill_from_box, page, box, text, None, None)
        if path:
            self.form.focus_field(path)
            self.show_message(f"Filled {label_of(path)} from the box drawn on page {page + 1}.")

    def do_annotate(self) -> None:
        s = self.session
        span = self.letter_view.selected_span()
        if s.text is None or span is None:
            self.show_message("Select text in the letter first, then press Ctrl+M to annotate it.")
            return
        dialog = AnnotationDialog(s.text.text[span[0]:span[1]], self.settings.annotation_labels(), self)
        self.dialog = dialog

        def done() -> None:
            label = " ".join(dialog.label.currentText().split())
            if not label:
                self.show_message("Not annotated: give the annotation a label.")
                return
            self._guard(s.add_annotation, span[0], span[1], label, dialog.note.text().strip())
            self.settings.add_annotation_label(label)
            self.side_tabs.setCurrentWidget(self.annotations)

        dialog.accepted.connect(done)
        dialog.open()

    def do_postpone(self) -> None:
        if self.session.letter_id is None:
            self.show_message("No letter is open: pick one in the queue first.")
            return

        def postpone(reason: str) -> None:
            current = self.session.letter_id
            if self._guard(self.session.set_status, "postponed", reason) is None and self.session.status == "postponed":
                self._open_next_to_review(current, f"Postponed: {reason}.")

        self._ask_reason("Postpone the letter", "Why is this letter put aside?", postpone)

    def do_history(self) -> None:
        s = self.session
        if s.letter_id is None or s.letter is None:
            self.show_message("No letter is open: pick one in the queue first.")
            return
        text = s.text.text if s.text is not None else None
        letter_id = s.letter_id

        def load(offset: int, limit: int) -> list[dict[str, Any]]:
            return [history.row(h, text) for h in self.db.history(letter_id, offset=offset, limit=limit)]

        dialog = HistoryDialog(s.letter.name, load, self.db.history_count(letter_id), self)
        self.dialog = dialog
        dialog.open()

    def do_find_in_letter(self) -> None:
        if self.session.text is None:
            self.show_message("No letter is open: pick one in the queue first.")
            return
        selected = self.letter_view.selected_span()
        if selected is not None and 0 < selected[1] - selected[0] <= 80:  # find what is selected, as editors do
            self.find_bar.edit.setText(" ".join(self.session.text.text[selected[0]:selected[1]].split()))
        self.find_bar.open_bar()

    def do_find_next(self) -> None:
        if not self.find_bar.isVisible():
            self.do_find_in_letter()
        else:
            self.find_bar.step(+1)

    def do_find_previous(self) -> None:
        if not self.find_bar.isVisible():
            self.do_find_in_letter()
        else:
            self.find_bar.step(-1)

    def do_undo(self) -> None:
        self._guard(self.session.undo_stack.undo)

    def do_redo(self) -> None:
        self._guard(self.session.undo_stack.redo)

    def do_search(self) -> None:
        self.queue.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.queue.search.selectAll()

    def do_import_files(self) -> None:
        start = self.settings.folder("import") or Path.home()
        files, _ = QFileDialog.getOpenFileNames(self, "Import letters", str(start), IMPORT_FILTER)
        if files:
            self.settings.set_folder("import", Path(files[0]).parent)
            self.import_paths([Path(f) for f in files])

    def do_import_folder(self) -> None:
        start = self.settings.folder("importFolder") or self.settings.folder("import") or Path.home()
        folder = QFileDialog.getExistingDirectory(self, "Import a folder of letters", str(start))
        if folder:
            self.settings.set_folder("importFolder", Path(folder).parent)
            self.import_paths([Path(folder)])

    def import_paths(self, paths: list[Path]) -> None:
        if not self.importer.start(paths):
            self.show_message("An import is already running; wait for it or cancel it first.")
            return
        self.show_message(f"Importing {len(paths)} item(s)…")

    def _import_finished(self, report: Any) -> None:
        if self._closing:  # the window is closing: its database is (about to be) closed
            return
        self.status.clearMessage()  # "Importing 3 item(s)…" stayed up after the import's report
        self.queue.refresh_batches()
        self.queue.apply_filter()
        if self.session.letter_id is None:
            first = self._first_to_review()
            if first is not None:
                self.open_letter(first)
        elif self.session.letter_id is not None:
            self.queue.select_letter(self.session.letter_id)

    def _open_from_import(self, letter_id: int) -> None:
        if not self._closing:
            self.open_letter(letter_id)

    def do_export(self) -> None:
        self.save_now_or_warn()
        dialog = ExportDialog(self.db, self, folder=self.settings.folder("export"), writer=self.writer)
        dialog.exported.connect(lambda result: self.settings.set_folder("export", Path(result.destination).parent))
        self.dialog = dialog
        dialog.open()

    def save_now_or_warn(self) -> bool:
        """Save the open letter's last edits now (before an export or a status change)."""
        return bool(self.session.save_now())

    def do_open_database(self) -> None:
        """File → Open: another review database (a file, or a server's postgresql:// URL) in place of this one."""
        from imr_desk.ui.open_dialog import OpenDatabaseDialog

        dialog = OpenDatabaseDialog(self.settings.recent_databases(), self._open_other,
                                    self.settings.folder("databases"), self)
        self.dialog = dialog
        dialog.open()

    def _open_other(self, name: str) -> Any:
        if self.opener is None:
            raise StoreError("This window cannot open another database (it was not started as the review window).")
        return self.opener(name)

    def do_preferences(self) -> None:
        """Your name, as it is recorded with every change this window makes."""
        from imr_desk.ui.preferences import PreferencesDialog

        dialog = PreferencesDialog(self.settings.clerk_name(), self.default_user, self)
        dialog.accepted.connect(lambda: self.set_clerk_name(dialog.name()))
        self.dialog = dialog
        dialog.open()

    def set_clerk_name(self, name: str) -> None:
        """From now on this window's changes are recorded as `name` ("" for the database's name for the clerk)."""
        self.settings.set_clerk_name(name)
        self.settings.sync()
        who = name or self.default_user
        self.user = self.db.user = who
        holder = self.holder

        def rename(db: Database) -> None:  # on the writer thread, in order with the writes queued before
            db.user = who
            with db.transaction("record your name"):  # the letter this window holds shows the new name
                db.conn.execute("UPDATE leases SET who = ? WHERE holder = ?", (who, holder))

        WriteOp(rename, "record your name").run(self.writer)
        self.show_message(f"Your changes are recorded as “{who}” from now on.")

    def do_quit(self) -> None:
        self.close()

    def do_toggle_highlights(self, on: bool) -> None:
        self.letter_view.set_show_all(on)

    def do_zoom_in(self) -> None:
        self.letter_view.zoom_by(1.2)

    def do_zoom_out(self) -> None:
        self.letter_view.zoom_by(1 / 1.2)

    def do_fit_width(self) -> None:
        self.letter_view.fit_width()

    def do_focus_queue(self) -> None:
        if not self.queue.isVisible():
            self.actions_["toggle_queue"].setChecked(True)
        self.queue.view.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def do_focus_letter(self) -> None:
        self.letter_view.current.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def do_focus_form(self) -> None:
        path = self.session.focused_path
        if not path or path not in self.form.editors:
            path = self.first_field_to_check() or ""
        if not path or not self.form.focus_field(path):
            self.form.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def do_toggle_queue(self, shown: bool) -> None:
        if not shown and self._focus_in(self.queue):
            self.do_focus_letter()
        self.queue.setVisible(shown)
        self.settings.set("window/queueShown", shown)

    def do_help(self) -> None:
        if self.help_panel is None:
            self.help_panel = HelpPanel(self, [("In a field of the form", FORM_KEYS),
                                               ("In the find bar (Ctrl+Shift+F)", FindBar.KEYS)])
        self.help_panel.show()
        self.help_panel.raise_()

    def _ask_reason(self, title: str, prompt: str, then: Any) -> None:
        dialog = ReasonDialog(title, prompt, self)
        self.dialog = dialog
        dialog.accepted.connect(lambda: then(dialog.text()))
        dialog.open()

    # -- drag and drop ---------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        paths = [p for p in paths if p.is_dir() or p.suffix.lower() in LETTER_SUFFIXES]
        if not paths:
            self.show_message("Drop PDF, text or scanned letters, zip archives or folders to import them.")
            return
        event.acceptProposedAction()
        self.import_paths(paths)

    # -- closing ---------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self._shut_down:
            event.accept()
            return
        self.save_settings()
        if not self._discard_unsaved:
            self.session.save_now()
            # the event loop runs meanwhile: the window answers while its last writes land
            landed = self.writer.wait_idle(CLOSE_WAIT_S, until=lambda: not self.session.writes_pending())
            if not landed or self.session.unsaved_letters():
                event.ignore()  # the edits are not in the database yet: the clerk decides, the window stays
                message = self.session.unsaved_message()
                self.show_message(message)
                self.ask_close_unsaved(message)
                return
        self.session.close_letter(discard=self._discard_unsaved)
        if not self._discard_unsaved:  # the lease's release
            self.writer.wait_idle(CLOSE_WAIT_S, until=lambda: not self.session.writes_pending())
        self._closing = True
        if self.close_box is not None:
            self.close_box.close()
        self.importer.shutdown()
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.guard)
        if self.help_panel is not None:
            self.help_panel.close()
        super().closeEvent(event)
        self.shutdown()

    def terminate(self) -> None:
        """Close now, without asking (SIGTERM, SIGINT): edits that cannot be saved go to a recovery file."""
        if self._shut_down:
            return
        self.close()
        if not self._closing:  # the last edits could not be saved: keep them, then close for good
            try:
                kept = self.session.write_recovery()
                if kept is not None:
                    log.warning("closing on a signal: unsaved edits kept in %s", kept)
            except OSError:
                log.exception("closing on a signal: the unsaved edits could not be kept")
            self._discard_unsaved = True
            self.close()
        from PySide6.QtWidgets import QApplication

        QApplication.quit()

    def ask_close_unsaved(self, message: str) -> None:
        """Ask whether to close and lose edits that could not be saved (keeping the window open is the default).

        The box does not block: `close_box` is open until the clerk answers; "close" closes the window
        again without saving.
        """
        if self.close_box is not None and self.close_box.isVisible():
            self.close_box.setInformativeText(message)
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "Edits not saved",
                          "The letter's last edits are not saved yet.", QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("closeUnsaved")
        box.setInformativeText(message)
        keep = box.addButton("Keep the window open", QMessageBox.ButtonRole.RejectRole)
        lose = box.addButton("Close, keeping the edits in a recovery file", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        self.close_box = box

        def answered() -> None:
            if box.clickedButton() is lose:
                self.writer.give_up()  # the writes still waiting fail now; the edits go to the recovery file
                try:
                    kept = self.session.write_recovery()
                except OSError as exc:  # not even a file could be written: the window stays open
                    self.writer.wait_on()
                    self.show_message(f"Not closed: the edits could not be kept in a recovery file either "
                                      f"({exc.strerror or exc}). Free some disk space, then try again.")
                    return
                if kept is not None:
                    self.show_message(f"The unsaved edits are kept in {kept}.")
                self._discard_unsaved = True
                QTimer.singleShot(0, self.close)

        box.finished.connect(answered)
        box.open()

    def shutdown(self) -> None:
        """Stop the writer thread and close the database, when this window opened them (app.build_window)."""
        self._closing = True
        self.session.stop_timers()
        self.queue.stop_timers()
        self.live.stop()
        if not self.owns_database or self._shut_down:
            return
        self._shut_down = True
        self.writer.close()
        self.db.close()


def _margins(frame: Any, inner: Any) -> tuple[int, int, int, int]:
    """The window manager's frame around the window's inside: left, top, right and bottom, in pixels."""
    return (inner.x() - frame.x(), inner.y() - frame.y(), frame.right() - inner.right(),
            frame.bottom() - inner.bottom())


def _restore_sizes(splitter: QSplitter, saved: list[int] | None, default: list[float]) -> None:
    """The saved pane sizes, scaled to the splitter's size now (the screen may be smaller than last time)."""
    horizontal = splitter.orientation() == Qt.Orientation.Horizontal
    total = max(200, splitter.width() if horizontal else splitter.height())
    if saved and len(saved) == len(default) and min(saved) > 0:  # a hidden pane saves as 0: use the default
        parts = [v / sum(saved) for v in saved]
    else:
        parts = default
    sizes = [int(total * p) for p in parts]
    if sum(saved or []) == total:
        sizes = list(saved or [])
    splitter.setSizes(sizes)


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a container): still a usable label
        return "clerk"


def delayed(ms: int, fn: Any) -> None:
    QTimer.singleShot(ms, fn)


__all__ = ["MainWindow", "QWidget"]
