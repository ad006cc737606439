"""The open letter's confirmed fields (core/confirmations.py), kept beside the review session.

Loaded when a letter opens; a confirmation is written to the letter's history at once (one row for
every Enter, one for the fields Ctrl+Return confirms together) and shown in the form right away.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QObject, Signal

from imr_desk.core.confirmations import DROPPED, HISTORY_PATH, Confirmation, same_value
from imr_desk.store import ClerkError, StoreError
from imr_desk.ui.session import ReviewError, ReviewSession
from imr_desk.ui.writer import operation_id

log = logging.getLogger(__name__)


class Confirmations(QObject):
    """Which fields of the open letter a clerk has confirmed, and confirming more of them."""

    changed = Signal()

    def __init__(self, session: ReviewSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.found: dict[str, Confirmation] = {}
        session.letterOpened.connect(self.load)
        session.letterClosed.connect(self.load)

    def load(self) -> None:
        s = self.session
        self.found = {}
        if s.letter_id is not None:
            try:
                self.found = s.db.confirmations(s.letter_id)
            except StoreError as exc:  # shown as unconfirmed; confirming again records them anew
                log.warning("could not read the confirmations of letter %s: %s", s.letter_id, exc.clerk_message)
        self.changed.emit()

    def get(self, path: str) -> Confirmation | None:
        """The confirmation of the field's current value, if it has one."""
        c = self.found.get(path)
        return c if c is not None and same_value(c.value, self.session.value(path)) else None

    def is_confirmed(self, path: str) -> bool:
        return self.get(path) is not None

    def count(self) -> int:
        """How many fields of the open letter have a confirmed value."""
        return sum(1 for path in self.found if self.is_confirmed(path))

    def unconfirmed(self, paths: list[str]) -> list[str]:
        return [p for p in paths if not self.is_confirmed(p)]

    def confirm(self, paths: list[str]) -> int:
        """Confirm these fields' current values (those not confirmed already); returns how many were."""
        s = self.session
        if s.letter_id is None:
            raise ReviewError("No letter is open: pick one in the queue first.")
        if s.read_only:
            raise ReviewError(s.read_only_reason or "This letter is open for editing in another window.")
        values: dict[str, Any] = {p: s.value(p) for p in paths if not self.is_confirmed(p)}
        if not values:
            return 0
        letter_id = s.letter_id
        at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        who = getattr(s.db, "user", None)
        for path, value in values.items():  # shown at once; the history row follows the letter's edits
            self.found[path] = Confirmation(value, who, at)

        def refused(exc: ClerkError) -> None:
            if self.session.letter_id == letter_id:
                for path in values:
                    self.found.pop(path, None)
                self.changed.emit()
            self.session.message.emit(f"Not confirmed: {exc.clerk_message}")

        s.save_now()  # the value just typed is saved first: the history says it was changed, then confirmed
        op = operation_id()
        s.queue_write(lambda db: db.confirm_fields(letter_id, values, op=op), "record the confirmed fields",
                      failed=refused)
        self.changed.emit()
        return len(values)

    def drop(self, paths: list[str], reason: str) -> int:
        """Drop these fields' confirmations (whatever value they confirmed), recorded in the history with
        `reason` and what had been confirmed; returns how many there were."""
        s = self.session
        dropped = {p: self.found.pop(p) for p in paths if p in self.found}
        if not dropped or s.letter_id is None:
            return 0
        from imr_desk.store.database import Change

        letter_id = s.letter_id
        old = {p: c.value for p, c in dropped.items()}

        def write(db: Any) -> None:
            with db.transaction("drop the field's confirmation"):
                db.add_history(letter_id, [Change(HISTORY_PATH, old, {p: DROPPED for p in old}, reason=reason)])

        def refused(exc: ClerkError) -> None:
            self.session.message.emit(f"The confirmation was not dropped in the database: {exc.clerk_message}")

        s.queue_write(write, "drop the field's confirmation", failed=refused)
        self.changed.emit()
        return len(dropped)
