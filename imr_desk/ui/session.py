"""The review session: the state of the letter being reviewed, outside any widget.

The form and the letter view subscribe to its signals (napari's ViewerModel pattern). It holds the
clerk's current record, the undo stack of the letter's edits, the focused field, and saves the
record without being asked within a second of an edit.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from imr_desk.core import LetterText, fields, read_letter
from imr_desk.core.ocr import image_pages_pdf
from imr_desk.store import ClerkError, DatabaseLocked, LetterLeased, StoreError, VersionConflict
from imr_desk.store.ocr_layers import load_layer
from imr_desk.ui import record_ops as ops

log = logging.getLogger(__name__)

try:  # the window runs the parser's checks again on every edit (README: "Warnings")
    from imr_desk.core.checks import recheck as _recheck
except ImportError:  # pragma: no cover - an older core without checks
    def _recheck(rec: dict[str, Any]) -> list[dict[str, Any]]:
        return list(rec.get("warnings") or [])

UNCERTAIN_BELOW = 0.8
SAVE_DELAY_MS = 400  # from the first unsaved edit: a kill loses well under a second of typing
RETRY_DELAY_MS = 3000  # a save refused by a busy database is tried again after this
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
    """One edit of the record, kept as the record before and after (records are small)."""

    MERGE_ID = 4711

    def __init__(self, session: ReviewSession, before: dict[str, Any], after: dict[str, Any], text: str,
                 path: str | None = None, mergeable: bool = False) -> None:
        super().__init__(text)
        self.session = session
        self.before = before
        self.after = after
        self.path = path
        self.mergeable = mergeable

    def id(self) -> int:
        return self.MERGE_ID if self.mergeable else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if isinstance(other, _RecordCommand) and other.mergeable and other.path == self.path:
            self.after = other.after
            return True
        return False

    def redo(self) -> None:
        self.session._apply(copy.deepcopy(self.after), self.path)

    def undo(self) -> None:
        self.session._apply(copy.deepcopy(self.before), self.path)


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

    def __init__(self, db: Any, writer: Any, holder: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.writer = writer
        self.holder = holder
        self.undo_stack = QUndoStack(self)
        self.letter_id: int | None = None
        self.letter: Any = None
        self.text: LetterText | None = None
        self.data: bytes | None = None
        self.record: dict[str, Any] = {}
        self.parsed: dict[str, Any] = {}
        self.version: int = 0
        self.status: str = ""
        self.read_only = False
        self.read_only_reason = ""
        self.focused_path = ""
        self._duplicate_of: tuple[str | None, list[tuple[int, str, str]]] = (None, [])
        self.dirty = False
        self.last_saved_at = 0.0
        self.last_save_error: StoreError | None = None
        self._save_timer = QTimer(self, singleShot=True, interval=SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save_now)
        self._retry_timer = QTimer(self, singleShot=True, interval=RETRY_DELAY_MS)
        self._retry_timer.timeout.connect(self.save_now)
        self._lease_timer = QTimer(self, interval=60_000)
        self._lease_timer.timeout.connect(self._renew_lease)

    # -- opening and closing ---------------------------------------------------------------------
    def open_letter(self, letter_id: int) -> None:
        """Open a letter: its file, its record, and the right to edit it (unless another window holds it).

        Nothing changes until the new letter is read and its lease settled: when the database refuses
        (locked, full, the letter gone), `StoreError` is raised and the current letter stays open; when
        the current letter's last edits cannot be saved, `ReviewError` is raised and it stays open too.
        """
        if self.letter_id == letter_id:
            return
        letter = self.db.letter(letter_id)
        data = self.db.letter_file(letter_id)
        layer = load_layer(self.db, letter_id)  # a scan read by OCR: its pages with their text layer
        text = read_letter(data, letter.name, layer)
        if layer is not None:
            data = layer.pdf
        elif text.file_type != text.media_type and text.file_type.startswith("image/"):
            data = image_pages_pdf(data)  # a scan not read by OCR: its pages all the same
        if self.letter_id is not None and not self.save_now() and not self._edits_kept_elsewhere():
            raise ReviewError(self._unsaved_message())
        read_only, read_only_reason = False, ""
        try:
            self.writer.call(lambda db: db.acquire_lease(letter_id, self.holder))
        except LetterLeased as exc:  # another window holds the letter: show it, read only
            read_only, read_only_reason = True, getattr(exc, "clerk_message", str(exc))
        # saved above (or kept in the history); only the lease to release. No letterClosed: the views
        # go straight to the next letter instead of emptying themselves first.
        self.close_letter(discard=True, switching=True)
        self.letter_id = letter_id
        self.letter = letter
        self.data = data
        self.text = text
        self.parsed = letter.parsed or {}
        self.record = copy.deepcopy(letter.record or self.parsed)
        self.record["warnings"] = _recheck(self.record)
        self._duplicate_of = (None, [])
        self.version = letter.version
        self.status = letter.status
        self.read_only, self.read_only_reason = read_only, read_only_reason
        if not read_only:
            self._lease_timer.start()
        self.undo_stack.clear()
        self.focused_path = ""
        self.last_save_error = None
        self._set_dirty(False)
        self.letterOpened.emit()

    def close_letter(self, discard: bool = False, switching: bool = False) -> None:
        """Save the letter's last edits, give up its lease and close it.

        When the edits cannot be saved the letter stays open and dirty and `ReviewError` says why, so
        nothing is lost; `discard=True` closes it without saving (the clerk chose to lose the edits).
        A version conflict does not keep the letter open: the store kept the rejected edits in the
        letter's history, and reopening the letter is the way out of the conflict.
        """
        if self.letter_id is None:
            return
        if not discard and not self.save_now() and not self._edits_kept_elsewhere():
            raise ReviewError(self._unsaved_message())
        self._save_timer.stop()
        self._retry_timer.stop()
        if not self.read_only:
            letter_id = self.letter_id
            try:
                self.writer.call(lambda db: db.release_lease(letter_id, self.holder))
            except StoreError:  # an expired lease (or a busy database) is no reason to stop the clerk
                log.warning("could not release the lease on letter %s", letter_id, exc_info=True)
        self._lease_timer.stop()
        self.undo_stack.clear()
        self.letter_id = None
        self.letter = None
        self.text = None
        self.data = None
        self.record = {}
        self.parsed = {}
        self.read_only = False
        self.last_save_error = None
        self._set_dirty(False)
        if not switching:
            self.letterClosed.emit()

    def write_recovery(self) -> Path | None:
        """Keep the open letter's unsaved record in a recovery file (the database refuses it just now).

        Returns the file, or None when there is nothing unsaved. The file names the database, the
        letter (id, name, sha256) and the version the edits started from, so they can be put back.
        """
        if self.letter_id is None or not self.dirty or self.letter is None:
            return None
        from datetime import datetime

        from imr_desk import paths

        paths.private_dir(paths.data_dir())
        folder = paths.private_dir(paths.data_dir() / "recovery")
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = folder / f"letter-{self.letter_id}-{stamp}.json"
        content = {
            "database": str(getattr(self.db, "path", "")), "letter_id": self.letter_id,
            "name": self.letter.name, "sha256": self.letter.sha256, "version": self.version,
            "saved_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "why": self.last_save_error.clerk_message if isinstance(self.last_save_error, StoreError) else None,
            "record": self.record,
        }
        paths.write_private(target, json.dumps(content, ensure_ascii=False, indent=1))
        log.warning("unsaved edits of letter %s kept in %s", self.letter_id, target)
        return target

    def _edits_kept_elsewhere(self) -> bool:
        """After a failed save: True when the store kept the edits anyway (a version conflict)."""
        return isinstance(self.last_save_error, VersionConflict)

    def _unsaved_message(self) -> str:
        name = self.letter.name if self.letter is not None else "this letter"
        why = self.last_save_error.clerk_message if self.last_save_error is not None else "the database refused"
        return (f"Your edits to {name} could not be saved: {why} "
                "The letter stays open with your edits, so nothing is lost; try again in a moment.")

    def stop_timers(self) -> None:
        self._save_timer.stop()
        self._retry_timer.stop()
        self._lease_timer.stop()

    def _renew_lease(self) -> None:
        if self.letter_id is None or self.read_only:
            return
        letter_id = self.letter_id
        try:
            self.writer.call(lambda db: db.renew_lease(letter_id, self.holder))
        except LetterLeased as exc:  # lost to another window: shown to the clerk, the letter becomes read-only
            self.read_only = True
            self.read_only_reason = getattr(exc, "clerk_message", str(exc))
            self.message.emit(self.read_only_reason)
            self.letterOpened.emit()
        except StoreError as exc:  # a busy database: the next renewal tries again
            log.warning("could not renew the lease on letter %s: %s", letter_id, exc.clerk_message)

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

    def errors(self) -> list[dict[str, Any]]:
        return [w for w in self.warnings() if w.get("severity") == "error"]

    def field_state(self, path: str) -> FieldState:
        prov = (self.record.get("fields") or {}).get(path)
        conf = ops.confidence_of(self.record, path)
        warnings = [w for w in self.warnings() if w.get("path") and ops.field_of(w["path"]) == path]
        changed = self.parsed != {} and _norm(ops.get_path(self.parsed, path)) != _norm(self.value(path))
        if prov and prov.get("rule") == CLERK_RULE:
            changed = True
        return FieldState(
            confidence=conf,
            uncertain=conf is not None and conf < UNCERTAIN_BELOW,
            warnings=warnings,
            changed=changed,
            rule=(prov or {}).get("rule"),
        )

    def span_of(self, path: str) -> tuple[int, int, int | None] | None:
        return ops.span_of(self.record, path)

    # -- editing ---------------------------------------------------------------------------------
    def _check_editable(self) -> None:
        if self.letter_id is None:
            raise ReviewError("No letter is open: pick one in the queue first.")
        if self.read_only:
            raise ReviewError(self.read_only_reason or "This letter is open for editing in another window.")

    def set_value(self, path: str, value: Any, provenance: dict[str, Any] | None = None) -> None:
        """Set a field to what the clerk typed (or selected, with its new provenance)."""
        self._check_editable()
        if provenance is None and _norm(self.value(path)) == _norm(value):
            return
        before = self.record
        after = copy.deepcopy(before)
        ops.set_path(after, path, value)
        if provenance is not None:
            ops.set_provenance(after, path, provenance)
        if path.startswith("items."):
            after["outcome"] = ops.outcome_of(after.get("items") or [])
        label = path.replace("_", " ")
        self.undo_stack.push(_RecordCommand(self, before, after, f"edit {label}", path, mergeable=provenance is None))

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

    def add_item(self) -> int:
        self._check_editable()
        after = ops.add_item(self.record)
        self.undo_stack.push(_RecordCommand(self, self.record, after, "add item"))
        return len(after["items"]) - 1

    def remove_item(self, index: int) -> None:
        self._check_editable()
        after = ops.remove_item(self.record, index)
        self.undo_stack.push(_RecordCommand(self, self.record, after, f"remove item {index + 1}"))

    def move_item(self, index: int, to: int) -> None:
        self._check_editable()
        n = len(self.record.get("items") or [])
        if not (0 <= to < n) or index == to:
            return
        after = ops.move_item(self.record, index, to)
        self.undo_stack.push(_RecordCommand(self, self.record, after, f"move item {index + 1}"))

    def _apply(self, record: dict[str, Any], path: str | None) -> None:
        record["warnings"] = _recheck(record)
        self.record = record
        self._set_dirty(True)
        if not self._save_timer.isActive():
            self._save_timer.start()
        self.recordChanged.emit(path or "")

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            self.dirtyChanged.emit(dirty)

    # -- saving ----------------------------------------------------------------------------------
    def save_now(self) -> bool:
        """Save the clerk's record if it changed. Returns False when it could not be saved.

        The letter stays dirty after a failure (`last_save_error` says why); a database that was only
        busy is tried again a few seconds later.
        """
        self._save_timer.stop()
        self._retry_timer.stop()
        if not self.dirty or self.letter_id is None or self.read_only:
            return True
        letter_id, record, expected = self.letter_id, copy.deepcopy(self.record), self.version
        try:
            self.version = self.writer.call(lambda db: db.save_record(letter_id, record, expected))
        except StoreError as exc:  # a version conflict, a full disk, a locked database: the clerk is told
            self.last_save_error = exc
            self.message.emit(f"Not saved: {exc.clerk_message}")
            if isinstance(exc, DatabaseLocked):
                self._retry_timer.start()
            return False
        self.last_save_error = None
        self.last_saved_at = time.monotonic()
        self._set_dirty(False)
        self.saved.emit(self.version)
        self._read_status()  # the store moves a letter into review on a save, a reviewed one back too
        return True

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
        self._check_editable()
        if not self.save_now():
            why = self.last_save_error.clerk_message if self.last_save_error is not None else ""
            raise ReviewError(f"The letter's last edits could not be saved, so its status was not changed. {why}")
        letter_id, expected = self.letter_id, self.version
        try:
            self.version = self.writer.call(
                lambda db: db.set_status(letter_id, status, reason=reason, expected_version=expected))
        except StoreError as exc:
            raise ReviewError(f"The status was not changed: {exc.clerk_message}") from exc
        self.status = status
        self.statusChanged.emit(status)

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
        self._check_editable()
        letter_id = self.letter_id
        try:
            self.writer.call(lambda db: db.add_annotation(letter_id, start, end, label, note))
        except StoreError as exc:
            raise ReviewError(f"The annotation was not saved: {exc.clerk_message}") from exc
        self.annotationsChanged.emit()

    def remove_annotation(self, annotation_id: int) -> None:
        self._check_editable()
        try:
            self.writer.call(lambda db: db.remove_annotation(annotation_id))
        except StoreError as exc:
            raise ReviewError(f"The annotation was not removed: {exc.clerk_message}") from exc
        self.annotationsChanged.emit()


def _norm(value: Any) -> str:
    if value in (None, "", []):
        return "null"
    if isinstance(value, str):
        return json.dumps(" ".join(value.split()))
    return json.dumps(value, sort_keys=True)
