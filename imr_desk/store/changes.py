"""Noticing what other clerks change: the live queue's feed of changed letters, and who holds which letter.

A `ChangeFeed` says, each time it is asked (`poll`), whether letters changed since it was last asked:
`None` when nothing did, else a `Changed` naming the letters (or `ids=None`: some letters, which is not
known). Every window polls its feed about once a second and refreshes its queue when it says so.

- SQLite (`DataVersionFeed`): `PRAGMA data_version` on the window's own reading connection goes up
  whenever another connection (another window's writer, `imr-desk import`, another process) commits
  a change to the file. It does not say which letters: the queue re-reads what it shows.
- PostgreSQL (`NotifyFeed`): the store's writes send `NOTIFY imr_desk_letters, '<letter id>'`; a
  thread with a connection of its own LISTENs and collects the ids (and wakes the window at once
  through `on_notify`, so it need not wait for its next poll).

`holders` lists the letters open for editing in another window, with who and since when.
No Qt here: the window's side is imr_desk/ui/live.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from imr_desk.store.database import LetterStore, holder_gone
from imr_desk.store.engine import CONNECT_TIMEOUT_S, POSTGRESQL

log = logging.getLogger(__name__)

WAIT_S = 1.0  # the listening thread looks whether it should stop this often
CHANNEL = "imr_desk_letters"  # the PostgreSQL notification channel; the payload is the letter's id


@dataclass(frozen=True)
class Changed:
    """Letters changed since the last poll: these ids, or (None) some letters, which is not known."""

    ids: frozenset[int] | None = None


@dataclass(frozen=True)
class Holder:
    """Who has a letter open for editing, on which computer, since when (the store's UTC time)."""

    who: str
    host: str
    since: str


class ChangeFeed(Protocol):
    def poll(self) -> Changed | None: ...

    def close(self) -> None: ...


class DataVersionFeed:
    """SQLite: another connection committed a change when the reading connection's `data_version` moves."""

    def __init__(self, db: LetterStore) -> None:
        self.db = db
        self._seen = self._version()

    def _version(self) -> int:
        return int(self.db.conn.execute("PRAGMA data_version").fetchone()[0])

    def poll(self) -> Changed | None:
        version = self._version()
        if version == self._seen:
            return None
        self._seen = version
        return Changed()

    def close(self) -> None:
        """Nothing of its own to close: it reads through the window's connection."""


def feed_for(db: LetterStore, on_notify: Callable[[], Any] | None = None) -> ChangeFeed:
    """The feed that suits the database's engine."""
    if db.engine == POSTGRESQL:
        import psycopg

        from imr_desk.urls import libpq_url

        target = db.target
        return NotifyFeed(lambda: psycopg.connect(libpq_url(target), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                                                  application_name="IMR Desk (live queue)"), on_notify)
    return DataVersionFeed(db)


class NotifyFeed:
    """Letter ids as notifications bring them, collected by a thread that waits on a connection of its own.

    `connect()` gives that connection (an engine's; it must have `execute` and `notifies`, as psycopg's
    has). A lost connection is opened again, and then every letter counts as changed (what came in
    meanwhile was not heard).
    """

    def __init__(self, connect: Callable[[], Any], on_notify: Callable[[], Any] | None = None) -> None:
        self._connect = connect
        self._on_notify = on_notify
        self._lock = threading.Lock()
        self._ids: set[int] = set()
        self._unknown = False
        self._stop = threading.Event()
        self._conn: Any = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="imr-desk-listen", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def poll(self) -> Changed | None:
        with self._lock:
            if not self._ids and not self._unknown:
                return None
            changed = Changed(None if self._unknown else frozenset(self._ids))
            self._ids.clear()
            self._unknown = False
        return changed

    def close(self) -> None:
        """Stop listening: the thread sees it within its wait's timeout and closes its connection."""
        self._stop.set()
        self._thread.join(WAIT_S * 3)

    def _heard(self, payload: str | None) -> None:
        with self._lock:
            first = not self._ids and not self._unknown  # the window is woken once until it polls
            if payload and payload.isdigit():
                self._ids.add(int(payload))
            else:
                self._unknown = True
        if first and self._on_notify is not None:
            self._on_notify()

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                self._conn = self._connect()
                self._conn.execute(f"LISTEN {CHANNEL}")
                if not first:  # what was sent while the connection was down was not heard
                    self._heard(None)
                first = False
                self._ready.set()
                while not self._stop.is_set():
                    for note in self._conn.notifies(timeout=WAIT_S):
                        self._heard(note.payload)
            except Exception:  # noqa: BLE001 - a dropped connection: listen again shortly
                if self._stop.is_set():
                    break
                log.info("the change notifications' connection was lost; listening again", exc_info=True)
                self._ready.set()
                time.sleep(2.0)
            finally:
                conn, self._conn = self._conn, None
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # noqa: BLE001
                        pass


def holders(db: LetterStore, own: str | None = None) -> dict[int, Holder]:
    """The letters open for editing in another window that still runs (not the window `own`)."""
    rows = db.conn.execute("SELECT letter_id, holder, who, acquired_at FROM leases WHERE expires_at >= ?",
                           (time.time(),)).fetchall()
    out: dict[int, Holder] = {}
    for letter_id, holder, who, since in rows:
        if holder == own or holder_gone(holder):
            continue
        host = holder.split("@", 1)[1].split(":", 1)[0] if "@" in (holder or "") else ""
        out[int(letter_id)] = Holder(who or "another clerk", host, since)
    return out
