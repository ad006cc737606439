"""Writes that never block the window: one writer thread, and operations that report back.

Every write (the clerk's saves, leases, status changes, annotations, imports, the export's
bookkeeping) is a `WriteOp`: a function of the writer's `Database`, run on the one thread that owns
the write connection (Datasette's `_execute_writes`), with its success, failure and progress
delivered on the UI thread (Anki's `CollectionOp`):

    WriteOp(lambda db: db.save_record(letter_id, record, version), "save the letter") \\
        .success(on_saved).failure(on_refused).run(writer)

Operations run in the order they were queued. A write whose function returns a generator (an
import) runs one step per turn and goes to the back of the queue between steps, so the clerk's saves
slip in between its files; each yielded value is delivered to `progress`.

When another program holds the database's write lock, the writer waits for it, as long as it takes:
`waitingChanged(True, doing)` tells the window ("waiting for the database"), the queued writes keep
their order, and they land when the lock is released. Nothing waits on the UI thread. A window that
closes with writes still waiting calls `give_up()`: the waiting writes then fail with
`DatabaseLocked`, and the window keeps the clerk's edits in a recovery file.

A database on a server behaves the same when the server cannot be reached or the connection drops
(`ConnectionLost`, `ServerUnreachable`): the writer waits (`waiting_for_server` is True while it
does), tries the same write again every `SERVER_RETRY_S` on a fresh connection, and the edits land,
in order, when the server is back. A connection can drop after the server committed a write but
before its reply arrived, so a write the writer may run again carries an `operation_id()`, made once
when it is queued: the store records it in the write's own transaction, and a run with a known id
returns what the first run returned and writes nothing (a save lands once, at one version).

A known condition (`ClerkError`) reaches `failure` as it is; anything else is a bug: logged with
its traceback and delivered to `failure` as an `InternalError` naming the log file.
"""

from __future__ import annotations

import inspect
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Generator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Signal

from imr_desk.logs import describe_error, log_path
from imr_desk.store import ClerkError, ConnectionLost, DatabaseLocked, ServerUnreachable

if TYPE_CHECKING:
    from imr_desk.store import Database

log = logging.getLogger(__name__)

T = TypeVar("T")

LOCK_POLL_S = 0.2  # how long one attempt at the write lock waits inside SQLite before the writer looks again
SERVER_RETRY_S = 1.0  # between attempts at a write while the database server cannot be reached
_STOP = object()


def operation_id() -> str:
    """A new id for one queued write, given to the store with it (`save_record(..., op=...)`): however often
    the writer runs the write (after a lost connection, a busy database), it is written once."""
    return uuid.uuid4().hex


class InternalError(ClerkError):
    """A bug met while writing: its traceback is in the log; the clerk is told so, and where the log is."""

    def __init__(self, doing: str, error: BaseException) -> None:
        super().__init__(
            f"IMR Desk met an internal error while trying to {doing} ({describe_error(error)}). "
            f"This is a bug, not something you did; the details are in the log file {log_path()}. "
            "Your edits are still in the window."
        )
        self.error = error


class WriteOp(Generic[T]):
    """One write for the writer thread; what became of it is delivered on the UI thread."""

    def __init__(self, write: Callable[[Database], T], doing: str) -> None:
        self.write = write
        self.doing = doing  # in the clerk's words, after "trying to": "save the letter"
        self._success: Callable[[T], Any] | None = None
        self._failure: Callable[[ClerkError], Any] | None = None
        self._progress: Callable[[Any], Any] | None = None
        self._steps: Generator[Any, Any, Any] | None = None
        self.forgotten = False
        self.finished = False

    def success(self, fn: Callable[[T], Any]) -> WriteOp[T]:
        self._success = fn
        return self

    def failure(self, fn: Callable[[ClerkError], Any]) -> WriteOp[T]:
        self._failure = fn
        return self

    def progress(self, fn: Callable[[Any], Any]) -> WriteOp[T]:
        self._progress = fn
        return self

    def run(self, writer: DbWriter) -> WriteOp[T]:
        writer.queue(self)
        return self

    def forget(self) -> None:
        """Deliver nothing more (the window or dialog that asked is going away); the write itself goes on."""
        self.forgotten = True


class DbWriter(QObject):
    """The one thread that writes to the review database, with its own connection."""

    waitingChanged = Signal(bool, str)  # True while a write waits for another program's lock; what it is for
    pendingChanged = Signal(int)  # writes queued and not yet reported back
    message = Signal(str)  # a failure nobody handled, for the status bar

    _delivered = Signal(object, str, object)  # (op, "success" | "failure" | "progress", value): to the UI thread

    def __init__(self, open_db: Callable[[], Database], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._open_db = open_db
        self._jobs: queue.Queue[Any] = queue.Queue()
        self._ready: Future[None] = Future()
        self._give_up = threading.Event()
        self._waiting = False
        self.pending = 0
        self.waiting = False  # on the UI thread: a write is waiting for the lock (or the server)
        self.waiting_for_server = False  # ... and it waits for a database server to be reachable again
        self._ops: set[WriteOp[Any]] = set()
        self._delivered.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._thread = threading.Thread(target=self._run, name="imr-desk-writer", daemon=True)
        self._thread.start()
        self._ready.result(timeout=60)  # re-raises an error opening the database

    # -- the UI thread's side ----------------------------------------------------------------------
    def queue(self, op: WriteOp[Any]) -> None:
        if not self._thread.is_alive():
            op.forgotten = True
            log.warning("write after the writer stopped (%s) ignored", op.doing)
            return
        self.pending += 1
        self._ops.add(op)
        self._jobs.put(op)
        self.pendingChanged.emit(self.pending)

    @property
    def idle(self) -> bool:
        return self.pending == 0

    def wait_idle(self, timeout: float, until: Callable[[], bool] | None = None) -> bool:
        """Let the event loop run until every queued write has reported back (or `until()` holds).

        The window keeps answering meanwhile; for closing, where the window must know whether its last
        edits landed. Returns False when they had not after `timeout` seconds.
        """
        done = until or (lambda: self.pending == 0)
        if done():
            return True
        loop = QEventLoop()
        poll = QTimer(interval=20)
        deadline = time.monotonic() + timeout

        def check() -> None:
            if done() or time.monotonic() >= deadline:
                loop.quit()

        poll.timeout.connect(check)
        poll.start()
        loop.exec()
        poll.stop()
        return done()

    def give_up(self) -> None:
        """Stop waiting for another program's lock: waiting and queued writes fail with `DatabaseLocked`."""
        self._give_up.set()

    def wait_on(self) -> None:
        """Wait for the lock again after `give_up` (the window did not close after all)."""
        self._give_up.clear()

    def close(self, timeout: float = 30.0) -> None:
        """Stop the thread once the writes queued so far are done (a waiting one gives up); deliver nothing more."""
        for op in self._ops:
            op.forgotten = True
        if self._thread.is_alive():
            self.give_up()
            self._jobs.put(_STOP)
            self._thread.join(timeout=timeout)

    def _deliver(self, op: WriteOp[Any], kind: str, value: Any) -> None:
        if kind == "waiting":
            self.waiting = bool(value)
            self.waiting_for_server = bool(value) and bool(getattr(op, "server", False))
            self.waitingChanged.emit(self.waiting, op.doing if value else "")
            return
        if kind != "progress":
            op.finished = True
            self._ops.discard(op)
            self.pending -= 1
            self.pendingChanged.emit(self.pending)
        if op.forgotten:
            return
        if kind == "progress":
            if op._progress is not None:
                op._progress(value)
        elif kind == "success":
            if op._success is not None:
                op._success(value)
        elif op._failure is not None:
            op._failure(value)
        else:
            self.message.emit(value.clerk_message)

    # -- the writer thread -------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            db = self._open_db()
            db.conn.set_busy_timeout(LOCK_POLL_S)
            db.lock_waiter = self._wait_for_lock
        except BaseException as exc:  # noqa: BLE001 - handed back to the UI thread
            self._ready.set_exception(exc)
            return
        self._ready.set_result(None)
        try:
            while True:
                op = self._jobs.get()
                if op is _STOP:
                    break
                self._turn(db, op)
        finally:
            try:
                db.close()
            except Exception:  # noqa: BLE001 - closing at exit must not hide the real error
                log.exception("closing the writer's database connection")

    def _wait_for_lock(self, doing: str, waited: float, server: bool = False) -> bool:
        """Database.lock_waiter: wait on (saying so) unless the window gave up. `server`: for the server."""
        if self._give_up.is_set():
            return False
        if not self._waiting:
            self._waiting = True
            log.info("waiting for the database %s to %s", "server" if server else "write lock", doing)
            self._delivered.emit(_Waiting(doing, server), "waiting", True)
        return True

    def _turn(self, db: Database, op: WriteOp[Any]) -> None:
        """One turn of the queue: the whole of a write, or one step of a stepped one."""
        try:
            while True:
                try:
                    value = self._attempt(db, op)
                    break
                except DatabaseLocked:  # busy outside taking the lock (rare): the same write (its `op`) again, in order
                    if self._give_up.is_set() or op._steps is not None:  # a generator cannot be run again
                        raise
                    self._wait_for_lock(op.doing, 0.0)
                    time.sleep(LOCK_POLL_S)
                except (ConnectionLost, ServerUnreachable) as exc:  # rolled back, or committed and its `op` recorded
                    if self._give_up.is_set() or op._steps is not None:
                        raise
                    log.warning("%s; the writer waits for the server", type(exc).__name__)
                    self._wait_for_lock(op.doing, 0.0, server=True)
                    self._give_up.wait(SERVER_RETRY_S)
        except ClerkError as exc:
            self._delivered.emit(op, "failure", exc)
        except Exception as exc:  # noqa: BLE001 - a bug: logged with its traceback, reported to the UI thread
            log.exception("internal error while trying to %s", op.doing)
            self._delivered.emit(op, "failure", InternalError(op.doing, exc))
        else:
            if value is not _MORE:
                self._delivered.emit(op, "success", value)
        finally:
            if self._waiting:
                self._waiting = False
                log.info("the database is free (or reachable) again")
                self._delivered.emit(_Waiting(""), "waiting", False)

    def _attempt(self, db: Database, op: WriteOp[Any]) -> Any:
        steps = op._steps
        if steps is None:
            result = op.write(db)
            if not inspect.isgenerator(result):
                return result
            steps = op._steps = result
        try:
            event = next(steps)
        except StopIteration as stop:
            return stop.value
        self._delivered.emit(op, "progress", event)
        self._jobs.put(op)  # the back of the queue: saves queued meanwhile go first
        return _MORE


_MORE = object()


class _Waiting:
    """Stands in for an operation in a "waiting" report."""

    def __init__(self, doing: str, server: bool = False) -> None:
        self.doing = doing
        self.server = server
