"""The one thread that writes to the review database.

Every write (the clerk's edits, status changes, annotations, imports) is queued to this thread,
which owns its own connection, as Datasette's `_execute_writes` and Anki's task manager do. The
window reads through its own connection on the UI thread. Short writes are waited for (a few
milliseconds); an import runs one file per turn, so the clerk's saves slip in between its steps.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

_STOP = object()


class DbWriter(QObject):
    """Runs write operations, in order, on one thread with its own database connection."""

    stepped = Signal(object, object)  # (token, event) after each step of a stepped operation
    done = Signal(object, object, object)  # (token, result, exception or None)

    def __init__(self, open_db: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._open_db = open_db
        self._queue: queue.Queue[Any] = queue.Queue()
        self._ready: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, name="imr-desk-writer", daemon=True)
        self._thread.start()
        self._ready.result(timeout=30)  # re-raises an error opening the database

    def _run(self) -> None:
        try:
            db = self._open_db()
        except BaseException as exc:  # noqa: BLE001 - handed back to the UI thread
            self._ready.set_exception(exc)
            return
        self._ready.set_result(None)
        try:
            while True:
                job = self._queue.get()
                if job is _STOP:
                    break
                kind, fn, fut_or_token = job
                if kind == "call":
                    fut: Future[Any] = fut_or_token
                    if not fut.set_running_or_notify_cancel():
                        continue
                    try:
                        fut.set_result(fn(db))
                    except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                        fut.set_exception(exc)
                else:
                    self._step(db, fn, fut_or_token)
        finally:
            try:
                db.close()
            except Exception:  # noqa: BLE001 - closing at exit must not hide the real error
                log.exception("closing the writer's database connection")

    def _step(self, db: Any, state: list[Any], token: object) -> None:
        gen: Iterator[Any] | None = state[0]
        try:
            if gen is None:
                gen = state[0] = state[1](db)
            event = next(gen)
        except StopIteration as stop:
            self.done.emit(token, stop.value, None)
            return
        except BaseException as exc:  # noqa: BLE001 - reported to the UI thread
            log.exception("background operation failed")
            self.done.emit(token, None, exc)
            return
        self.stepped.emit(token, event)
        self._queue.put(("step", state, token))  # back of the queue: waiting saves go first

    def submit(self, fn: Callable[[Any], Any]) -> Future[Any]:
        fut: Future[Any] = Future()
        self._queue.put(("call", fn, fut))
        return fut

    def call(self, fn: Callable[[Any], Any], timeout: float = 60.0) -> Any:
        """Run fn(db) on the writer thread and wait for its result (or its exception)."""
        return self.submit(fn).result(timeout=timeout)

    def run_steps(self, token: object, make_steps: Callable[[Any], Iterator[Any]]) -> None:
        """Run a long operation one step per turn; `stepped` and `done` report back to the UI thread."""
        self._queue.put(("step", [None, make_steps], token))

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
