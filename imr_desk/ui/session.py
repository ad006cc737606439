"""The review session: the state of the letter being reviewed, outside any widget.

The form and the letter view subscribe to its signals (napari's ViewerModel pattern). It holds the
clerk's current record, the undo stack of the letter's edits, the focused field, and saves the
record without being asked within a second of an edit.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from imr_desk.core import LetterText, fields, read_letter
from imr_desk.core.checks import ItemChecks
from imr_desk.core.checks import recheck as _recheck  # run again on every edit (README: "Warnings")
from imr_desk.core.text import same_value
from imr_desk.store import ClerkError, Database, Letter, LetterLeased, StoreError, VersionConflict
from imr_desk.store.ocr_layers import load_layer
from imr_desk.store.records import match_items
from imr_desk.ui import record_ops as ops
from imr_desk.ui.writer import DbWriter, WriteOp, operation_id

log = logging.getLogger(__name__)


UNCERTAIN_BELOW = 0.8
SAVE_DELAY_MS = 400  # from the first unsaved edit: a kill loses well under a second of typing
CLERK_RULE = "clerk-selection"


class ReviewError(ClerkError):
    """Something the clerk must know about; `clerk_message` says what happened and what to do."""


@dataclass
class FieldState:
    """What the form shows beside a field."""

    confidence: float | None
    uncertain: bool
    warnings: list[dict[str, Any]]
    changed: bool
    rule: str | None

    @property
    def needs_attention(self) -> bool:
        return bool(self.warnings) or (self.uncertain and not self.changed)


class _RecordCommand(QUndoCommand):
    """One edit of the record, kept as what it changed (`record_ops.Patch`, `record_ops.ItemsOp`), never as
    copies of the record: an edit of a letter of thousands of items holds only the values it replaced."""

    MERGE_ID = 4711

    def __init__(self, session: ReviewSession, op: ops.Patch | ops.ItemsOp, text: str,
                 path: str | None = None, mergeable: bool = False) -> None:
        super().__init__(text)
        self.session = session
        self.op = op
        self.path = path
        self.mergeable = mergeable
        self.removed_origin: int | None = None  # a removed item's link to the parser's item, for its undo

    def id(self) -> int:
        return self.MERGE_ID if self.mergeable else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if (isinstance(other, _RecordCommand) and other.mergeable and other.path == self.path
                and isinstance(self.op, ops.Patch) and isinstance(other.op, ops.Patch)):
            self.op.then(other.op)
            return True
        return False

    def redo(self) -> None:
        record = self.op.forward(self.session.record)
        if isinstance(self.op, ops.ItemsOp):
            self._follow(self.op, forward=True)
        self.session._apply(record, self.path)

    def undo(self) -> None:
        record = self.op.backward(self.session.record)
        if isinstance(self.op, ops.ItemsOp):
            self._follow(self.op, forward=False)
        self.session._apply(record, self.path)

    def _follow(self, op: ops.ItemsOp, forward: bool) -> None:
        """Keep each item's link to the parser's item it is (`ReviewSession.item_origin`) through the op."""
        origin = self.session.item_origin
        if op.kind == "add":
            if forward:
                origin.append(None)
            else:
                origin.pop(op.index)
        elif op.kind == "remove":
            if forward:
                self.removed_origin = origin.pop(op.index)
            else:
                origin.insert(op.index, self.removed_origin)
        else:
            start, end = (op.index, op.to) if forward else (op.to, op.index)
            origin.insert(end, origin.pop(start))


class _LetterWrites:
    """The writes this window queued for one letter, in order, and what they left behind.

    The writer thread reads and moves `version` (each save expects the version the write before it
    committed, so a queue of saves never conflicts with itself) and `refused` (the lease was refused:
    the letter's later writes are too); the UI thread keeps the rest.
    """

    def __init__(self, letter: Letter) -> None:
        self.letter = letter  # as it was opened: id, name, sha256 (for recovery files and messages)
        self.letter_id: int = letter.id
        self.version: int = letter.version  # writer thread: the version its last write committed
        self.refused: ClerkError | None = None  # writer thread
        self.committed: int = letter.version  # UI thread: the last version reported committed
        self.pending = 0  # UI thread: writes queued and not yet reported back
        self.saves = 0  # UI thread: saves among them
        self.record: dict[str, Any] | None = None  # UI thread: the last record queued for saving
        self.status: str | None = None  # UI thread: a status change queued


class ReviewSession(QObject):
    """The open letter and the clerk's work on it."""

    letterOpened = Signal()
    letterClosed = Signal()
    recordChanged = Signal(str)  # the changed field's path, or "" when the whole record changed
    focusChanged = Signal(str)
    dirtyChanged = Signal(bool)
    saved = Signal(int)
    statusChanged = Signal(str)
    annotationsChanged = Signal()
    message = Signal(str)
    saveStateChanged = Signal(str)  # what the status bar says of the edits: saved, editing, waiting for the database
    letterWritten = Signal(int)  # a write of this window reached the letter's stored row (refresh its queue row)

    def __init__(self, db: Database, writer: DbWriter, holder: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.writer = writer
        self.holder = holder
        self.undo_stack = QUndoStack(self)
        self.letter_id: int | None = None
        self.letter: Letter | None = None
        self.text: LetterText | None = None
        self.data: bytes | None = None
        self.record: dict[str, Any] = {}
        self._items_checked = ItemChecks()
        self._by_field: tuple[object, dict[str, list[dict[str, Any]]]] = (None, {})  # the record's warnings by field
        self.parsed: dict[str, Any] = {}
        # for each of the record's items, the index of the parser's item it is (None: one the clerk added):
        # after a move or a removal the item at a position is not the parser's item at that position
        self.item_origin: list[int | None] = []
        self.version: int = 0
        self.status: str = ""
        self.read_only = False
        self.read_only_reason = ""
        self.focused_path = ""
        self._duplicate_of: tuple[str | None, list[tuple[int, str, str]]] = (None, [])
        self.dirty = False  # edits the database has not committed yet (typed, or queued)
        self._unqueued = False  # edits not yet queued for saving (the save timer runs)
        self.last_saved_at = 0.0
        self.last_save_error: ClerkError | None = None
        self._writes: _LetterWrites | None = None  # the open letter's queued writes
        self._parked: dict[int, _LetterWrites] = {}  # letters left while their writes were still queued
        self._kept = False  # the unsaved edits went to recovery files: later refusals add none
        self._save_timer = QTimer(self, singleShot=True, interval=SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save_now)
        self._lease_timer = QTimer(self, interval=60_000)
        self._lease_timer.timeout.connect(self._renew_lease)
        writer.waitingChanged.connect(lambda *_: self._show_state())

    # -- opening and closing ---------------------------------------------------------------------
    def open_letter(self, letter_id: int) -> None:
        """Open a letter: its file, its record, and the right to edit it (unless another window holds it).

        Never waits for the database's write lock: the current letter's last edits and the new
        letter's lease are queued to the writer, in that order. When the letter cannot be read (the
        letter gone, the file unreadable), `StoreError` is raised and the current letter stays open.
        When the lease is refused (another window has the letter, or the database cannot take it),
        the letter turns read-only and the clerk is told.
        """
        if self.letter_id == letter_id:
            return
        letter = self.db.letter(letter_id)
        data = self.db.letter_file(letter_id)
        layer = load_layer(self.db, letter_id)  # a scan read by OCR: its pages with their text layer
        text = read_letter(data, letter.name, layer)
        if layer is not None and not text.file_type.startswith("image/"):
            data = layer.pdf  # a scanned PDF: its pages with their text. An image file stays itself: the view
            # decodes the pages it shows and lays the layer's text (text.text_pdf) over them
        # No letterClosed: the views go straight to the next letter instead of emptying themselves first.
        self.close_letter(switching=True)
        writes = self._parked.pop(letter_id, None)
        record = letter.record or letter.parsed or {}
        version, status = letter.version, letter.status
        if writes is None or writes.pending == 0:
            writes = _LetterWrites(letter)
        else:  # back to a letter whose writes have not all landed: go on from them, not from the database
            record = writes.record if writes.record is not None else record
            version = writes.committed
            status = writes.status or status
        self._writes = writes
        self.letter_id = letter_id
        self.letter = letter
        self.data = data
        self.text = text
        self.parsed = letter.parsed or {}
        self._items_checked = ItemChecks()  # each item's checks, kept while the item is not edited
        self.record = dict(record)  # never changed in place (record_ops): shared with the writes queued
        self.item_origin = match_items(self.parsed.get("items") or [], self.record.get("items") or [])
        self.record["warnings"] = _recheck(self.record, self._items_checked)
        self._duplicate_of = (None, [])
        self.version = version
        self.status = status
        held = self.db.lease_refusal(letter_id, self.holder)  # another window has it: read-only at once
        self.read_only, self.read_only_reason = held is not None, held.clerk_message if held is not None else ""
        self._take_lease(writes)
        self._lease_timer.start()
        self.undo_stack.clear()
        self.focused_path = ""
        self.last_save_error = None
        self._unqueued = False
        self._set_dirty(writes.saves > 0)
        self.letterOpened.emit()
        self._show_state()

    def close_letter(self, discard: bool = False, switching: bool = False) -> None:
        """Queue the letter's last edits and the release of its lease, and close it. Never waits.

        `discard=True` closes it without queueing edits not yet queued (the clerk chose to keep them
        in a recovery file instead). Writes already queued land all the same, in order.
        """
        if self.letter_id is None or self._writes is None:
            return
        writes = self._writes
        if not discard:
            self.save_now()
        self._save_timer.stop()
        self._lease_timer.stop()
        # read-only or not: a lease taken meanwhile is given back (only this window's own is removed)
        letter_id, holder = writes.letter_id, self.holder
        self._queue(writes, WriteOp(lambda db: db.release_lease(letter_id, holder), "close the letter"),
                    failed=lambda exc: log.warning("could not release the lease on letter %s: %s", letter_id,
                                                   exc.clerk_message))
        if writes.pending:
            self._parked[writes.letter_id] = writes
        self._writes = None
        self.undo_stack.clear()
        self.letter_id = None
        self.letter = None
        self.text = None
        self.data = None
        self.record = {}
        self.parsed = {}
        self.item_origin = []
        self.read_only = False
        self.last_save_error = None
        self._unqueued = False
        self._set_dirty(False)
        if not switching:
            self.letterClosed.emit()
            self._show_state()

    def writes_pending(self) -> bool:
        """Whether any write this session queued (edits, statuses, leases, annotations) is still to land."""
        return bool((self._writes is not None and self._writes.pending) or self._parked)

    def unsaved_letters(self) -> int:
        """How many letters have edits the database has not committed (the open one and those left)."""
        parked = sum(1 for w in self._parked.values() if w.saves)
        return parked + (1 if self.dirty else 0)

    def write_recovery(self) -> Path | None:
        """Keep every edit the database has not committed in recovery files (the window is closing).

        The open letter's record and the last record queued for each letter left meanwhile. Returns
        the open letter's file, or None. Each file names the database, the letter (id, name,
        sha256) and the version the edits started from, so they can be put back.
        """
        self._kept = True
        for writes in list(self._parked.values()):
            if writes.saves and writes.record is not None:
                self._keep(writes.letter, writes.committed, writes.record, self.last_save_error)
        if self.letter_id is None or not self.dirty or self.letter is None:
            return None
        return self._keep(self.letter, self.version, self.record, self.last_save_error)

    def _keep(self, letter: Letter, version: int, record: dict[str, Any], why: ClerkError | None) -> Path:
        from datetime import datetime

        from imr_desk import paths

        paths.private_dir(paths.data_dir())
        folder = paths.private_dir(paths.data_dir() / "recovery")
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = folder / f"letter-{letter.id}-{stamp}.json"
        content = {
            "database": self.db.where, "letter_id": letter.id,
            "name": letter.name, "sha256": letter.sha256, "version": version,
            "saved_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "why": why.clerk_message if why is not None else None,
            "record": record,
        }
        paths.write_private(target, json.dumps(content, ensure_ascii=False, indent=1))
        log.warning("unsaved edits of letter %s kept in %s", letter.id, target)
        return target

    def unsaved_message(self) -> str:
        """Why the open letter's edits are not in the database yet, for the clerk."""
        name = self.letter.name if self.letter is not None else "this letter"
        if self.writer.waiting_for_server:
            return (f"Your last edits to {name} are waiting for the database server, which cannot be reached. "
                    "They are kept in this window and saved, in order, as soon as it is back.")
        if self.writer.waiting or self.last_save_error is None:
            return (f"Your last edits to {name} are waiting for the database: another program is writing to it. "
                    "They are kept in this window and saved, in order, as soon as it is free.")
        return (f"Your edits to {name} could not be saved: {self.last_save_error.clerk_message} "
                "The letter stays open with your edits, so nothing is lost; try again in a moment.")

    def stop_timers(self) -> None:
        self._save_timer.stop()
        self._lease_timer.stop()

    # -- the writes ------------------------------------------------------------------------------
    def _queue(self, writes: _LetterWrites, op: WriteOp[Any], done: Callable[[Any], object] | None = None,
               failed: Callable[[ClerkError], object] | None = None) -> None:
        """Queue one of a letter's writes; `done` or `failed` is called on the UI thread when it is over."""
        writes.pending += 1

        def settle() -> None:
            writes.pending -= 1
            if writes.pending == 0 and self._parked.get(writes.letter_id) is writes:
                del self._parked[writes.letter_id]

        def ok(value: Any) -> None:
            settle()
            if done is not None:
                done(value)

        def refused(exc: ClerkError) -> None:
            settle()
            if failed is not None:
                failed(exc)
            else:
                self.message.emit(exc.clerk_message)

        op.success(ok).failure(refused).run(self.writer)

    def queue_write(self, write: Callable[[Database], Any], doing: str, done: Callable[[Any], object] | None = None,
                    failed: Callable[[ClerkError], object] | None = None) -> None:
        """Queue another write of the open letter (its confirmed fields), in order after its edits."""
        self._check_editable()
        writes = self._writes
        assert writes is not None
        self._queue(writes, WriteOp(write, doing), done, failed)

    def _take_lease(self, writes: _LetterWrites) -> None:
        letter_id, holder = writes.letter_id, self.holder

        def take(db: Database) -> None:
            try:
                db.acquire_lease(letter_id, holder)
            except ClerkError as exc:  # the letter's later writes are refused too: its edits go to recovery
                writes.refused = exc
                raise
            writes.refused = None

        self._queue(writes, WriteOp(take, "open the letter for editing"), lambda _none: self._lease_taken(writes),
                    lambda exc: self._lease_refused(writes, exc))

    def _lease_taken(self, writes: _LetterWrites) -> None:
        """The letter is this window's to edit (the other window's lease had lapsed meanwhile, say)."""
        if writes is self._writes and self.read_only and not isinstance(self.last_save_error, VersionConflict):
            self.read_only, self.read_only_reason = False, ""
            self._lease_timer.start()
            self.letterOpened.emit()
            self._show_state()

    def _lease_refused(self, writes: _LetterWrites, exc: ClerkError) -> None:
        if writes is not self._writes:
            log.info("the lease on letter %s was refused after it was left: %s", writes.letter_id, exc.clerk_message)
            return
        if self.read_only and self.read_only_reason == exc.clerk_message:
            return  # opened read-only already, for this reason
        self.read_only = True
        if isinstance(exc, LetterLeased):
            self.read_only_reason = exc.clerk_message
        else:
            self.read_only_reason = f"The letter could not be taken for editing, so it is read-only: {exc.clerk_message}"
        self._lease_timer.stop()
        self.message.emit(self.read_only_reason)
        self.letterOpened.emit()
        self._show_state()

    def _renew_lease(self) -> None:
        writes = self._writes
        if writes is None or self.read_only:
            return
        letter_id, holder = writes.letter_id, self.holder

        def lost(exc: ClerkError) -> None:
            if isinstance(exc, LetterLeased) and writes is self._writes:  # lost to another window: now read-only
                self._lease_refused(writes, exc)
            else:  # a full disk, say: the next renewal tries again
                log.warning("could not renew the lease on letter %s: %s", letter_id, exc.clerk_message)

        self._queue(writes, WriteOp(lambda db: db.renew_lease(letter_id, holder), "keep the letter open"),
                    failed=lost)

    # -- reading the state -----------------------------------------------------------------------
    def value(self, path: str) -> Any:
        return ops.get_path(self.record, path)

    def warnings(self) -> list[dict[str, Any]]:
        """The record's checks, and the one only the database can tell: another letter with this case number."""
        found = list(self.record.get("warnings") or [])
        duplicate = self._duplicate_warning()
        if duplicate is not None:
            found.append(duplicate)
        return found

    def _duplicate_warning(self) -> dict[str, Any] | None:
        case = ops.get_path(self.record, "case.case_number") if self.letter_id is not None else None
        if not case or not isinstance(case, str):
            return None
        if case != self._duplicate_of[0]:  # looked up once per case number (the form asks for every field)
            try:
                others = [o for o in self.db.same_case([case]).get(case, []) if o[0] != self.letter_id]
            except StoreError as exc:
                log.warning("could not look for other letters of case %s: %s", case, exc.clerk_message)
                others = []
            self._duplicate_of = (case, others)
        others = self._duplicate_of[1]
        if not others:
            return None
        named = "; ".join(f"{name} ({status})" for _id, name, status in others[:3])
        more = f" and {len(others) - 3} more" if len(others) > 3 else ""
        return {"code": "duplicate_case", "severity": "warning", "path": "case.case_number",
                "message": f"Case number {case} is also on {named}{more}."}

    def _warnings_of(self, field: str) -> list[dict[str, Any]]:
        """The warnings on one form field: sorted out once per record (the form asks for every field it shows)."""
        record, by_field = self._by_field
        if record is not self.record:
            by_field = {}
            for w in self.warnings():
                if w.get("path"):
                    by_field.setdefault(ops.field_of(w["path"]), []).append(w)
            self._by_field = (self.record, by_field)
        return list(by_field.get(field, []))

    def errors(self) -> list[dict[str, Any]]:
        return [w for w in self.warnings() if w.get("severity") == "error"]

    def field_state(self, path: str) -> FieldState:
        prov = (self.record.get("fields") or {}).get(path)
        conf = ops.confidence_of(self.record, path)
        warnings = self._warnings_of(path)
        changed = self.parsed != {} and not same_value(self.parser_value(path), self.value(path))
        if prov and prov.get("rule") == CLERK_RULE:
            changed = True
        return FieldState(
            confidence=conf,
            uncertain=conf is not None and conf < UNCERTAIN_BELOW,
            warnings=warnings,
            changed=changed,
            rule=(prov or {}).get("rule"),
        )

    def _parser_path(self, path: str) -> str | None:
        """Where the parser's record holds this field: an item's field in the parser's item it is
        (`item_origin`), None for an item the clerk added."""
        if not path.startswith("items."):
            return path
        idx, dot, rest = path[6:].partition(".")
        if not idx.isdigit():
            return path
        n = int(idx)
        origin = self.item_origin[n] if n < len(self.item_origin) else None
        return None if origin is None else f"items.{origin}{dot}{rest}"

    def parser_value(self, path: str) -> Any:
        """What the parser read for this field (for an item: in the parser's item it is, wherever it moved)."""
        where = self._parser_path(path)
        return None if where is None else ops.get_path(self.parsed, where)

    def parser_provenance(self, path: str) -> dict[str, Any] | None:
        """Where the parser read this field's value (None: nowhere, or an item the clerk added)."""
        where = self._parser_path(path)
        found = (self.parsed.get("fields") or {}).get(where) if where is not None else None
        return dict(found) if found else None

    def span_of(self, path: str) -> tuple[int, int, int | None] | None:
        return ops.span_of(self.record, path)

    # -- editing ---------------------------------------------------------------------------------
    def _check_editable(self) -> None:
        if self.letter_id is None:
            raise ReviewError("No letter is open: pick one in the queue first.")
        if self.read_only:
            raise ReviewError(self.read_only_reason or "This letter is open for editing in another window.")

    def set_value(self, path: str, value: object, provenance: dict[str, Any] | None = None) -> None:
        """Set a field to what the clerk typed (or selected, with its new provenance)."""
        self._check_editable()
        if provenance is None and same_value(self.value(path), value):
            return
        patch = ops.value_patch(self.record, path, value, provenance)
        label = path.replace("_", " ")
        self.undo_stack.push(_RecordCommand(self, patch, f"edit {label}", path, mergeable=provenance is None))

    def fill_from_selection(self, start: int, end: int) -> str:
        """Fill the focused field with text[start:end] and record where it came from."""
        self._check_editable()
        path = self.focused_path
        if not path:
            raise ReviewError("Click the field to fill first, then select its text in the letter.")
        if self.text is None or end <= start:
            raise ReviewError("Select the text for the field in the letter first.")
        raw = " ".join(self.text.text[start:end].split())
        field = fields.field_at(path)
        try:
            value: Any = raw if field is None else fields.value_from_text(field, raw)
        except fields.NotAValue as exc:
            raise ReviewError(str(exc)) from None
        prov = {"start": start, "end": end, "page": self.text.page_of(start), "confidence": 1.0, "rule": CLERK_RULE}
        self.set_value(path, value, provenance=prov)
        return path

    def fill_from_box(self, page: int, box: tuple[float, float, float, float], text: str,
                      start: int | None, end: int | None) -> str:
        """Fill the focused field with the words read inside a box drawn on a page (0-based), recording the
        box as the value's source: `start`/`end` the words' span of the text, None when OCR read the box."""
        self._check_editable()
        path = self.focused_path
        if not path:
            raise ReviewError("Click the field to fill first, then draw a box around its words in the letter.")
        raw = " ".join(text.split())
        if self.text is None or not raw:
            raise ReviewError("Draw the box around the field's words in the letter first.")
        field = fields.field_at(path)
        try:
            value: Any = raw if field is None else fields.value_from_text(field, raw)
        except fields.NotAValue as exc:
            raise ReviewError(str(exc)) from None
        if start is None or end is None:  # read by OCR from the page image: no span of the text holds it
            starts = self.text.page_starts
            start = end = starts[page] if page < len(starts) else 0
        prov = {"start": start, "end": end, "page": page + 1, "confidence": 1.0,
                "rule": "clerk-box" if end > start else "clerk-box-ocr",
                "box": [round(v, 1) for v in box]}
        self.set_value(path, value, provenance=prov)
        return path

    def add_item(self) -> int:
        self._check_editable()
        self.undo_stack.push(_RecordCommand(self, ops.ItemsOp("add", len(self.record.get("items") or [])), "add item"))
        return len(self.record["items"]) - 1

    def remove_item(self, index: int) -> None:
        self._check_editable()
        if not 0 <= index < len(self.record.get("items") or []):
            return
        self.undo_stack.push(_RecordCommand(self, ops.ItemsOp("remove", index), f"remove item {index + 1}"))

    def move_item(self, index: int, to: int) -> None:
        self._check_editable()
        n = len(self.record.get("items") or [])
        if not (0 <= to < n) or index == to:
            return
        self.undo_stack.push(_RecordCommand(self, ops.ItemsOp("move", index, to), f"move item {index + 1}"))

    def _apply(self, record: dict[str, Any], path: str | None) -> None:
        record = dict(record)  # a record of its own (an edit that changed nothing gives back the one it had)
        record["warnings"] = _recheck(record, self._items_checked)  # only the items edited are checked anew
        self.record = record
        self._unqueued = True
        self._set_dirty(True)
        if not self._save_timer.isActive():
            self._save_timer.start()
        self.recordChanged.emit(path or "")

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            self.dirtyChanged.emit(dirty)

    # -- saving ----------------------------------------------------------------------------------
    def save_now(self, reason: str | None = None) -> bool:
        """Queue the clerk's record for saving if it changed since the last queued save. Never waits.

        Each save expects the version the save before it committed, so saves queued behind another
        program's lock land in order, once each. A refusal comes back later: a version conflict (the
        store keeps the edits in the letter's history) makes the letter read-only; any other leaves
        it dirty (`last_save_error` says why) and the next save tries again. `reason`: why these edits
        were made (kept with each in the history, never folded into a burst of typing).
        """
        self._save_timer.stop()
        writes = self._writes
        if not self._unqueued or writes is None or self.read_only:
            return True
        record = self.record  # never changed in place: the writer thread reads it as it is now
        writes.record = record
        writes.saves += 1
        self._unqueued = False
        letter_id, op = writes.letter_id, operation_id()

        def save(db: Database) -> int:
            if writes.refused is not None:
                raise writes.refused
            version = db.save_record(letter_id, record, writes.version, reason=reason, op=op)
            writes.version = version
            return version

        self._queue(writes, WriteOp(save, "save the letter"), lambda v: self._saved(writes, v),
                    lambda exc: self._save_refused(writes, record, exc))
        self._show_state()
        return True

    def _saved(self, writes: _LetterWrites, version: int) -> None:
        writes.saves -= 1
        writes.committed = version
        self.letterWritten.emit(writes.letter_id)
        if writes is not self._writes:
            return
        self.version = version
        self.last_save_error = None
        self.last_saved_at = time.monotonic()
        if writes.saves == 0 and not self._unqueued:
            self._set_dirty(False)
        self.saved.emit(version)
        self._read_status()  # the store moves a letter into review on a save, a reviewed one back too
        self._show_state()

    def _save_refused(self, writes: _LetterWrites, record: dict[str, Any], exc: ClerkError) -> None:
        writes.saves -= 1
        if self._kept:
            return
        current = writes is self._writes
        name = writes.letter.name
        if isinstance(exc, VersionConflict):  # the store kept the rejected edits in the letter's history
            if current and not self.read_only:
                self.last_save_error = exc
                self.message.emit(f"Not saved: {exc.clerk_message}")
                self.read_only, self.read_only_reason = True, exc.clerk_message
                self._unqueued = False
                self._set_dirty(False)
                self._lease_timer.stop()
                self.letterOpened.emit()
            elif not current:
                self.message.emit(f"{name} was not saved: {exc.clerk_message}")
            self._show_state()
            return
        if current and writes.refused is None:  # the edits are still in the window: the next save tries again
            self.last_save_error = exc
            self._unqueued = True
            self.message.emit(f"Not saved: {exc.clerk_message}")
            self._show_state()
            return
        try:  # the window no longer holds these edits (another letter is open, or this one went read-only)
            kept = self._keep(writes.letter, writes.committed, record, exc)
        except OSError as os_exc:
            log.error("edits to letter %s lost: %s; no recovery file either: %s", writes.letter_id, exc, os_exc)
            self.message.emit(f"The edits to {name} could not be saved ({exc.clerk_message}) nor kept in a "
                              f"recovery file ({os_exc.strerror or os_exc}).")
            return
        self.message.emit(f"The edits to {name} could not be saved: {exc.clerk_message} They are kept in {kept}.")

    def save_state(self) -> str:
        """What the status bar says of the open letter's edits."""
        if self.letter_id is None:
            return ""
        if not self.dirty:
            return f"saved (version {self.version})" if self.version else ""
        if self.writer.waiting:
            return "waiting for the database server…" if self.writer.waiting_for_server else "waiting for the database…"
        return "editing…" if self._unqueued else "saving…"

    def _show_state(self) -> None:
        self.saveStateChanged.emit(self.save_state())

    def _read_status(self) -> None:
        """Show the status the store holds for the open letter (it changes it on a save)."""
        if self.letter_id is None:
            return
        try:
            rows = self.db.queue({"ids": [self.letter_id]}, "id", False, 0, 1)
        except StoreError as exc:  # the save went through; only the status shown may be stale
            log.warning("could not read letter %s's status: %s", self.letter_id, exc.clerk_message)
            return
        if rows and rows[0].status != self.status:
            self.status = rows[0].status
            self.statusChanged.emit(self.status)

    def set_status(self, status: str, reason: str | None = None) -> None:
        """Change the letter's status: shown at once, queued after its last edits; a refusal comes back later."""
        self._check_editable()
        self.save_now()
        writes = self._writes
        assert writes is not None
        letter_id, previous, op = writes.letter_id, self.status, operation_id()

        def change(db: Database) -> int:
            if writes.refused is not None:
                raise writes.refused
            version = db.set_status(letter_id, status, reason=reason, expected_version=writes.version, op=op)
            writes.version = version
            return version

        writes.status = status
        self._queue(writes, WriteOp(change, "change the letter's status"), lambda v: self._status_set(writes, v),
                    lambda exc: self._status_refused(writes, status, previous, exc))
        self.status = status
        self.statusChanged.emit(status)

    def _status_set(self, writes: _LetterWrites, version: int) -> None:
        writes.committed = version
        if writes.pending == 0:
            writes.status = None
        self.letterWritten.emit(writes.letter_id)
        if writes is self._writes:
            self.version = version
            self._show_state()

    def _status_refused(self, writes: _LetterWrites, status: str, previous: str, exc: ClerkError) -> None:
        writes.status = None
        self.message.emit(f"{writes.letter.name} was not marked {status}: {exc.clerk_message}")
        self.letterWritten.emit(writes.letter_id)
        if writes is self._writes and self.status == status:
            self.status = previous
            self.statusChanged.emit(previous)
            self._read_status()

    def mark_reviewed(self, reason: str | None = None) -> None:
        """Mark the letter reviewed; errors in its checks need the clerk's reason, which is recorded."""
        errors = self.errors()
        if errors and not (reason and reason.strip()):
            raise ReviewError(
                f"The letter has {len(errors)} error(s) (first: {errors[0]['message']}). "
                "Fix them, or give a reason to mark it reviewed anyway."
            )
        self.set_status("reviewed", reason=reason.strip() if reason else None)

    # -- focus -----------------------------------------------------------------------------------
    def focus(self, path: str) -> None:
        if path != self.focused_path:
            self.focused_path = path
            self.focusChanged.emit(path)

    # -- annotations -----------------------------------------------------------------------------
    def annotations(self) -> list[Any]:
        return list(self.db.annotations(self.letter_id)) if self.letter_id is not None else []

    def add_annotation(self, start: int, end: int, label: str, note: str) -> None:
        """Queue an annotation; `annotationsChanged` follows once it is stored (a refusal is told)."""
        self._check_editable()
        writes = self._writes
        assert writes is not None
        letter_id, op = writes.letter_id, operation_id()

        def add(db: Database) -> int:
            if writes.refused is not None:
                raise writes.refused
            return db.add_annotation(letter_id, start, end, label, note, op=op)

        self._queue(writes, WriteOp(add, "save the annotation"), lambda _id: self._annotated(writes),
                    lambda exc: self.message.emit(f"The annotation was not saved: {exc.clerk_message}"))

    def remove_annotation(self, annotation_id: int) -> None:
        self._check_editable()
        writes = self._writes
        assert writes is not None
        self._queue(writes, WriteOp(lambda db: db.remove_annotation(annotation_id), "remove the annotation"),
                    lambda _none: self._annotated(writes),
                    lambda exc: self.message.emit(f"The annotation was not removed: {exc.clerk_message}"))

    def _annotated(self, writes: _LetterWrites) -> None:
        if writes is self._writes:
            self.annotationsChanged.emit()

