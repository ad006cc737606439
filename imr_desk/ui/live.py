"""The live queue: the window sees other clerks' changes (statuses, edits, letters opened) within a second or two.

A `LiveQueue` asks the store's change feed (imr_desk/store/changes.py) once a second whether letters
changed, and reads who holds which letter; when either moved, the queue re-reads the rows it shows,
keeping the selection and the scroll position. On PostgreSQL the feed's listening thread also wakes it
at once (a Qt signal, delivered on the window's thread).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from imr_desk.store import ClerkError, Database
from imr_desk.store.changes import ChangeFeed, Holder, feed_for, holders
from imr_desk.store.errors import known_error

log = logging.getLogger(__name__)

POLL_MS = 1000
HOLDERS_EVERY = 15  # ticks between looks at the leases when nothing changed (expired leases, dead windows)


class LiveQueue(QObject):
    """Polls the change feed and the leases; `changed` says the queue should re-read what it shows."""

    changed = Signal()
    _woken = Signal()  # from the feed's thread: a notification came

    def __init__(self, db: Database, own_holder: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.own_holder = own_holder
        self.holders: dict[int, Holder] = {}
        self._ticks = 0
        self._woken.connect(self.tick, Qt.ConnectionType.QueuedConnection)
        self.feed: ChangeFeed | None = None
        try:
            self.feed = feed_for(db, on_notify=self._woken.emit)
            self.holders = holders(db, own_holder)
        except Exception as exc:  # noqa: BLE001 - sorted below: a known condition, or a bug raised on
            known = _known(exc)  # the queue still works, only not live: say so in the log
            log.warning("the queue will not follow other clerks' changes: %s", known.clerk_message)
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.tick)
        if self.feed is not None:
            self.timer.start()

    def tick(self) -> None:
        """Look once: emit `changed` when letters changed or their holders did."""
        if self.feed is None:
            return
        self._ticks += 1
        try:
            change = self.feed.poll()
            # taking or giving back a letter is itself a change the feed reports; between changes the
            # holders are only looked at now and then, for leases that ran out or whose window died
            if change is None and self._ticks % HOLDERS_EVERY:
                return
            now = holders(self.db, self.own_holder)
        except Exception as exc:  # noqa: BLE001 - sorted below: a known condition, or a bug raised on
            log.info("live queue: %s", _known(exc).clerk_message)  # busy for a moment: look again next tick
            return
        if change is None and now == self.holders:
            return
        self.holders = now
        self.changed.emit()

    def stop(self) -> None:
        self.timer.stop()
        if self.feed is not None:
            feed, self.feed = self.feed, None
            feed.close()


def _known(exc: Exception) -> ClerkError:
    """The known condition `exc` is (the database busy, gone, ...); anything else is a bug: raised on."""
    known = known_error(exc)
    if known is None:
        raise exc
    return known
