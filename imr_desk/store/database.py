"""The review database: letters, the parser's and the clerk's records, history, annotations, leases.

One `LetterStore` wraps one engine connection (store/engine.py): an SQLite file (WAL, busy timeout,
foreign keys) or a PostgreSQL database on a server, named by a `postgresql://` URL. The store's rules
are written once, for both. Every write is one transaction (SQLite: `BEGIN IMMEDIATE`), so a kill at
any moment leaves either the whole change or none of it. Several processes (on a server: several
machines) may open the same database: leases keep two clerks off one letter, and saving with an
expected version turns a concurrent change into a `VersionConflict` instead of a silent overwrite. On
PostgreSQL a read-modify-write locks the letter's row (`SELECT ... FOR UPDATE`) for its transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import getpass
import json
import logging
import os
import random
import re
import sqlite3
import stat
import struct
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Self, TypeVar
from urllib.parse import quote

from imr_desk.core import confirmations
from imr_desk.core.checks import ItemChecks, recheck
from imr_desk.core.record import OPEN_STATUSES, STATUSES, Status
from imr_desk.store import engine, fts, integrity, schema, storable
from imr_desk.store import records as rec
from imr_desk.store.engine import POSTGRESQL, SQLITE, Connection, db_errors, wrap
from imr_desk.store.errors import (
    DatabaseLocked,
    LetterLeased,
    LetterNotFound,
    NewerDatabase,
    NotADatabase,
    NotWritable,
    ServerBusy,
    StoreError,
    VersionConflict,
    check_server_url,
    raise_known,
    sqlite_code,
)
from imr_desk.store.filters import Choice, LetterFilter, match_query, pg_match_query

if TYPE_CHECKING:
    import sqlite_utils

log = logging.getLogger(__name__)

TO_REVIEW, IN_REVIEW, REVIEWED, POSTPONED = (s.value for s in Status)
LEASE_SECONDS = 300
RANK_WITHIN = 2000  # search ranks at most this many (the most recent) matching letters
BUSY_TIMEOUT_S = 10.0
FILE_CHUNK = 1 << 20  # a letter's file is written a MiB at a time (`_write_file`)
BURST_SECONDS = 20.0  # edits of one field by one clerk closer together than this are one history entry
OPERATIONS_KEPT = timedelta(days=7)  # how long a queued write's operation id is remembered (a replay comes in seconds)
ORDERABLE = ("id", "name", "status", "case_number", "decision_date", "item_count", "outcome",
             "warning_count", "reviewed_at", "batch")


P = ParamSpec("P")
R = TypeVar("R")
SERVER_RETRIES = 4  # attempts at a write the server undid because it met another clerk's (`ServerBusy`)


def retried(write: Callable[Concatenate[LetterStore, P], R]) -> Callable[Concatenate[LetterStore, P], R]:
    """A write run again (a few times, after a short pause) when the server undid it for meeting another
    clerk's write (a deadlock): nothing of it was written. Inside an outer transaction the outer one decides."""

    @functools.wraps(write)
    def run(self: LetterStore, *args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(SERVER_RETRIES):
            try:
                return write(self, *args, **kwargs)
            except ServerBusy:
                if self._depth or attempt == SERVER_RETRIES - 1:
                    raise
                log.info("%s met another clerk's write; trying again", write.__name__)
                time.sleep(0.02 * 2 ** attempt + random.random() * 0.02)
        raise AssertionError("unreachable")

    return run


def local_time(at: str | None) -> str:
    """A stored UTC time as the clerk's local time: "14:05" today, "2026-11-30 14:05" on another day."""
    if not at:
        return "an unknown time"
    try:
        when = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone()
    except ValueError:
        return at
    today = datetime.now().astimezone().date()
    return when.strftime("%H:%M" if when.date() == today else "%Y-%m-%d %H:%M")


_HOLDER = re.compile(r"@([^@:]+):(\d+):[^:@]*$")


def holder_gone(holder: str) -> bool:
    """Whether a lease's holder ("user@host:pid:tag", a window) is a process on this host that no longer runs."""
    from imr_desk.core.processes import alive

    m = _HOLDER.search(holder or "")
    return m is not None and not alive(int(m.group(2)), m.group(1))


def now_iso(ago: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) - ago).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a container): still a usable label
        return "clerk"


@dataclass
class Letter:
    id: int
    name: str
    sha256: str
    media_type: str
    size: int
    batch: str | None
    status: str
    status_reason: str | None
    status_by: str | None
    status_at: str | None
    layout: str | None
    pages: int | None
    text: str
    page_starts: list[int]
    parser_version: str
    parsed: dict[str, Any]
    record: dict[str, Any]
    version: int
    imported_at: str
    imported_by: str | None
    reviewed_at: str | None
    reviewed_by: str | None
    error: str | None

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return list(self.record.get("warnings") or [])


@dataclass(frozen=True)
class QueueRow:
    id: int
    name: str
    status: str
    case_number: str | None
    decision_date: str | None
    item_count: int
    outcome: str | None
    warning_count: int
    error_count: int
    batch: str | None
    reviewed_at: str | None
    reviewed_by: str | None


@dataclass(frozen=True)
class HistoryRow:
    id: int
    letter_id: int
    path: str
    old: Any
    new: Any
    who: str | None
    at: str
    origin: str
    reason: str | None
    version: int | None


@dataclass(frozen=True)
class Annotation:
    id: int
    letter_id: int
    start: int
    end: int
    label: str
    note: str
    who: str | None
    at: str
    removed_at: str | None
    removed_by: str | None


@dataclass(frozen=True)
class SearchHit:
    id: int
    name: str
    case_number: str | None
    status: str
    snippet: str


@dataclass(frozen=True)
class Change:
    """One row of a letter's history to write: which field, from what to what, why."""

    path: str
    old: Any = None
    new: Any = None
    origin: str = "clerk"  # parser, clerk, reparse, import
    reason: str | None = None
    version: int | None = None
    who: str | None = None  # the database's user when not given
    at: str | None = None  # the time of the write when not given


@dataclass
class ReparseReport:
    replaced: list[int] = field(default_factory=list)  # not yet reviewed: the new output is the record
    recorded: list[int] = field(default_factory=list)  # reviewed: only the parser's output was kept
    unchanged: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    leased: list[tuple[int, str]] = field(default_factory=list)  # open in a window: left for the next re-parse


_QUEUE_COLUMNS = ("l.id, l.name, l.status, l.case_number, l.decision_date, l.item_count, l.outcome, "
                  "l.warning_count, l.error_count, b.name, l.reviewed_at, l.reviewed_by")


_WHOLE_ITEM = re.compile(r"items\.\d+")  # a history row of a whole item: added, removed or moved
SAVED_KEPT = 4  # the last records saved that a store keeps, to compare the next saves of those letters with


class LetterStore:
    """An open review database: letters, records, history, annotations, leases, the queue and search.

    Not shared between threads: open one per thread. `imr_desk.store.Database` adds importing,
    re-parsing and statistics (store/importing.py, store/maintenance.py), which build on this.
    """

    def __init__(self, conn: Connection | sqlite3.Connection, target: Path | str, user: str) -> None:
        self.conn = wrap(conn)
        self.engine = self.conn.engine
        self.target = str(target)  # what opens this database again: the file's path, or the server's URL
        self.path: Path | None = Path(target) if self.engine == SQLITE else None  # the SQLite file
        self.where = engine.display_name(target)  # the database as messages name it (no password)
        self.user = user
        self._depth = 0
        # Asked when a write finds the lock taken by another program (after the busy timeout), with what
        # the write is for and the seconds waited: True waits on, False gives up (`DatabaseLocked`). The
        # window's writer thread waits as long as the window is open, saying so; the CLI gives up.
        self.lock_waiter: Callable[[str, float], bool] | None = None
        # What this store saved last of a few letters (letter id -> version, sha256, the reviewed parts as
        # saved, the digest of the record's JSON), so the next save of a letter of thousands of items compares
        # with what it left instead of reading and parsing megabytes of JSON; a version or file the store did
        # not write is read from the database.
        self._saved: dict[int, tuple[int, str, dict[str, Any], bytes]] = {}
        self._items_checked = ItemChecks()

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over an SQLite store's connection (an SQLite export file uses it for its own FTS)."""
        if not isinstance(self.conn, engine.SqliteConnection):
            raise TypeError("sqlite-utils works on SQLite databases only")
        import sqlite_utils  # imported late: only an SQLite export uses it

        return sqlite_utils.Database(self.conn.raw)

    # -- opening -----------------------------------------------------------------------------------
    @classmethod
    def open(cls, target: str | Path, user: str | None = None, *, create: bool = True,
             busy_timeout: float = BUSY_TIMEOUT_S, readonly: bool = False) -> Self:
        """Open (creating and upgrading as needed) the review database `target`: a path, or a server's URL.

        `readonly` opens an existing database for reading only (search, statistics), which works on
        a read-only file or folder too; every write then fails with `NotWritable`. A URL
        (`postgresql://user@host:port/dbname`) opens the database on a PostgreSQL server, creating
        IMR Desk's tables in it when it is empty (`create`).
        """
        if engine.is_server_url(target):
            check_server_url(str(target))
            return cls._open_server(str(target), user, create, readonly)
        if "://" in str(target):  # a misspelt scheme: never taken for a file name (nor shown, password and all)
            scheme = str(target).split("://", 1)[0][:20]
            raise StoreError(f"“{scheme}://…” is not a database IMR Desk can open: a server's database is named "
                             "postgresql://USER@HOST/DBNAME (or postgres://), a file by its path.")
        path = Path(target)
        refused = not_a_file(path)  # /dev/null, a FIFO: SQLite would make a journal beside it and call it a disk error
        if refused:
            raise NotADatabase(refused)
        if path.is_symlink():
            raise NotWritable(_refused_link(path))
        try:
            if readonly:
                return cls._open_readonly(path, user, busy_timeout)
            return cls._open(path, user, create, busy_timeout)
        except PermissionError as exc:
            raise NotWritable(f"IMR Desk may not open {path}: {exc.strerror}. Ask for access to the folder, or "
                              "copy the database to a folder of your own.") from exc

    @classmethod
    def _open_server(cls, url: str, user: str | None, create: bool, readonly: bool) -> Self:
        from imr_desk.store.pg import PgConnection  # imported late: psycopg only for a server's database

        try:
            conn = PgConnection(url, readonly=readonly)
        except db_errors() as exc:
            raise_known(exc, url, "open the database")
        where = engine.display_name(url)
        try:
            _check_identity(conn, where)
            version = schema.version_of(conn)
            if version == 0 and not create:
                raise StoreError(f"The database {where} holds no IMR Desk letters yet. Check the URL, or import "
                                 "letters to set it up.")
            if version < schema.SCHEMA_VERSION:
                if readonly:
                    raise NotWritable(f"{where} was made by an older IMR Desk and must be upgraded before it can be "
                                      "read, which needs write access. Open it once with a role that may write.")
                applied = schema.migrate(conn)
                if applied:
                    log.info("database %s migrated to schema %s", where, applied[-1])
        except StoreError:
            conn.close()
            raise
        except db_errors() as exc:
            conn.close()
            raise_known(exc, url, "open the database")
        # on a server the clerk is, unless named otherwise, the database role the server knows them by
        return cls(conn, url, user or str(conn.execute("SELECT current_user").fetchone()[0]))

    @classmethod
    def _open_readonly(cls, path: Path, user: str | None, busy_timeout: float) -> Self:
        if path.is_dir():
            raise NotADatabase(f"{path} is a folder, not a database file. Give the path of a .db file.")
        if not path.exists() or path.stat().st_size == 0:
            raise StoreError(_nothing_at(path))
        _owner_only(path)
        base = f"file:{quote(str(path.resolve()))}?mode=ro"
        # A WAL database needs its shared-memory file even to be read; where that cannot be created
        # (a read-only folder, nobody writing), SQLite reads the file as it is ("immutable").
        conn: sqlite3.Connection | None = None
        for uri in (base, base + "&immutable=1"):
            if conn is not None:
                conn.close()
            try:
                conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=busy_timeout,
                                       check_same_thread=False)
                conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
                _check_identity(wrap(conn), str(path))
                version = schema.version_of(conn)
                break
            except StoreError:
                raise
            except sqlite3.Error as exc:
                if uri.endswith("immutable=1"):
                    raise_known(exc, path, "open the database for reading")
        assert conn is not None
        if version < schema.SCHEMA_VERSION:
            conn.close()
            raise NotWritable(f"{path} was made by an older IMR Desk and must be upgraded before it can be read, "
                              "which needs write access. Open it once where you may write to it.")
        return cls(conn, path, user or default_user())

    @classmethod
    def _open(cls, path: Path, user: str | None, create: bool, busy_timeout: float) -> Self:
        if path.is_dir():
            raise NotADatabase(f"{path} is a folder, not a database file. Give the path of a .db file.")
        exists = path.exists() and path.stat().st_size > 0
        if not exists and not create:
            raise StoreError(_nothing_at(path))
        if not path.parent.is_dir():
            raise NotWritable(f"The folder {path.parent} does not exist. Create it, or choose another place "
                              "for the database.")
        if exists and not os.access(path, os.W_OK):
            raise NotWritable(f"The database {path} is read-only for you. Copy it to a folder you can write to, "
                              "or ask for write permission.")
        if not os.access(path.parent, os.W_OK):
            raise NotWritable(f"The folder {path.parent} is read-only for you, so the database cannot keep its "
                              "journal there. Move the database to a folder you can write to.")
        if not exists:  # a new database holds patient data: its owner's only (SQLite gives -wal/-shm its mode)
            from imr_desk.paths import private_file

            private_file(path)
        else:
            _owner_only(path)
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout, check_same_thread=False)
        except sqlite3.Error as exc:
            raise_known(exc, path, "open the database")
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            _check_identity(wrap(conn), str(path))
            if exists:  # never write into damaged pages, nor into a layout that never shipped
                integrity.quick_check(conn, path)
                integrity.refuse_prerelease(conn, path)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a kill or crash of the app loses nothing
            conn.execute("PRAGMA foreign_keys = ON")
            applied = schema.migrate(conn)
            if applied:
                log.info("database %s migrated to schema %s", path, applied[-1])
                integrity.refuse_prerelease(conn, path)
        except StoreError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise_known(exc, path, "open the database")
        return cls(conn, path, user or default_user())

    def close(self) -> None:
        self.conn.close()

    # the rights a command that writes letters needs: (table, privilege)
    WRITE_RIGHTS = (("letters", "INSERT"), ("letters", "UPDATE"), ("contents", "INSERT"), ("contents", "UPDATE"),
                    ("items", "INSERT"), ("items", "DELETE"), ("history", "INSERT"), ("history", "UPDATE"),
                    ("history", "DELETE"), ("files", "INSERT"), ("annotations", "INSERT"), ("batches", "INSERT"),
                    ("ocr_layers", "INSERT"), ("ocr_layers", "UPDATE"))

    def require_write(self, doing: str) -> None:
        """Before a command's work (re-parse, OCR, import): fail once, with one message, when the database
        cannot be written, rather than once a letter after the work is done. On a server the role's
        rights are asked (`has_table_privilege`) and a read-only session or server is refused; an SQLite
        file opened for writing was checked when it was opened."""
        if self.engine != POSTGRESQL:
            return
        try:
            read_only = str(self.conn.execute("SELECT current_setting('transaction_read_only')").fetchone()[0])
            checks = ", ".join(f"has_table_privilege('{t}', '{p}')" for t, p in self.WRITE_RIGHTS)
            granted = self.conn.execute(f"SELECT {checks}").fetchone()
        except db_errors() as exc:
            raise_known(exc, self.target, doing)
        if read_only == "on":
            raise NotWritable(f"Could not {doing}: {self.where} is open for reading only (a read-only session or a "
                              "standby server). Nothing was changed.")
        missing = [f"{p} on {t}" for (t, p), ok in zip(self.WRITE_RIGHTS, granted, strict=True) if not ok]
        if missing:
            from imr_desk.store.errors import _role_of

            role = _role_of(self.target)
            raise NotWritable(
                f"Could not {doing}: the database role {role} may not write letters on {self.where} (it lacks "
                f"{', '.join(missing[:3])}{' and more' if len(missing) > 3 else ''}). Nothing was read or changed. "
                f"Ask whoever runs the server to grant it, e.g. GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES "
                f"IN SCHEMA public TO {role}.")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return schema.version_of(self.conn)

    # -- transactions ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, doing: str = "save the change") -> Iterator[Connection]:
        """BEGIN (SQLite: IMMEDIATE) ... COMMIT; an inner `transaction()` joins the outer one.

        On PostgreSQL (READ COMMITTED) each read-modify-write locks the rows it changes (`for_update`,
        `lock_letter`); a connection lost meanwhile is `ConnectionLost` (the server rolled it back).
        """
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        self._begin(doing)
        self._depth = 1
        try:
            yield self.conn
            self.conn.commit()
        except db_errors() as exc:
            self._rollback()
            raise_known(exc, self.target, doing)
        except BaseException:
            self._rollback()
            raise
        finally:
            self._depth = 0

    def _begin(self, doing: str) -> None:
        """BEGIN IMMEDIATE: take the write lock, waiting for it as `lock_waiter` says."""
        started = time.monotonic()
        while True:
            try:
                self.conn.begin()
                return
            except sqlite3.Error as exc:
                waiter = self.lock_waiter
                if (sqlite_code(exc) in ("SQLITE_BUSY", "SQLITE_LOCKED") and waiter is not None
                        and waiter(doing, time.monotonic() - started)):
                    continue
                raise_known(exc, self.target, doing)
            except db_errors() as exc:  # a server's error (SQLite's were caught above)
                raise_known(exc, self.target, doing)

    def _rollback(self) -> None:
        try:
            if self.conn.in_transaction:
                self.conn.rollback()
        except db_errors():  # the connection is already broken: the error being raised says why
            log.warning("rollback failed", exc_info=True)

    def _read(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except db_errors() as exc:
            raise_known(exc, self.target, "read the database")

    # -- letters -----------------------------------------------------------------------------------
    def letter(self, letter_id: int) -> Letter:
        try:
            cur = self.conn.execute(
                "SELECT l.*, c.text, c.page_starts, c.parsed, coalesce(c.record, c.parsed) AS record, "
                "b.name AS batch FROM letters l "
                "JOIN contents c ON c.letter_id = l.id LEFT JOIN batches b ON b.id = l.batch_id WHERE l.id = ?",
                (letter_id,),
            )
            row = cur.fetchone()
        except db_errors() as exc:  # a busy or damaged file is the clerk's to hear about; anything else a bug
            raise_known(exc, self.target, "read the letter")
        if row is None:
            raise LetterNotFound(f"Letter {letter_id} is not in this database (removed, or another database?).")
        d = dict(zip([c[0] for c in cur.description], row, strict=True))
        return Letter(
            id=d["id"], name=d["name"], sha256=d["sha256"], media_type=d["media_type"], size=d["size"],
            batch=d["batch"], status=d["status"], status_reason=d["status_reason"], status_by=d["status_by"],
            status_at=d["status_at"], layout=d["layout"], pages=d["pages"], text=d["text"],
            page_starts=json.loads(d["page_starts"]), parser_version=d["parser_version"],
            parsed=json.loads(d["parsed"]), record=json.loads(d["record"]), version=d["version"],
            imported_at=d["imported_at"], imported_by=d["imported_by"], reviewed_at=d["reviewed_at"],
            reviewed_by=d["reviewed_by"], error=d["error"],
        )

    def letter_file(self, letter_id: int) -> bytes:
        rows = self._read("SELECT data FROM files WHERE letter_id = ?", (letter_id,))
        if not rows:
            raise LetterNotFound(f"Letter {letter_id} is not in this database (removed, or another database?).")
        return bytes(rows[0][0])

    def letter_id_by_sha256(self, sha256: str) -> int | None:
        rows = self._read("SELECT id FROM letters WHERE sha256 = ?", (sha256,))
        return rows[0][0] if rows else None

    def items(self, letter_id: int) -> list[dict[str, Any]]:
        try:
            cur = self.conn.execute("SELECT * FROM items WHERE letter_id = ? ORDER BY position", (letter_id,))
            names = [c[0] for c in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        except db_errors() as exc:
            raise_known(exc, self.target, "read the letter's items")

    def batch_id(self, name: str, create: bool = True) -> int | None:
        rows = self._read("SELECT id FROM batches WHERE name = ?", (name,))
        if rows:
            return int(rows[0][0])
        if not create:
            return None
        with self.transaction("create the import batch"):
            # another process may create the same batch at the same moment: its row is the one
            self.conn.execute("INSERT INTO batches(name, created_at, created_by) VALUES (?, ?, ?) "
                              "ON CONFLICT(name) DO NOTHING", (name, now_iso(), self.user))
            rows = self._read("SELECT id FROM batches WHERE name = ?", (name,))
        return int(rows[0][0])

    @retried
    def insert_letter(
        self,
        *,
        data: bytes,
        name: str,
        media_type: str,
        text: str,
        page_starts: Sequence[int],
        parsed: dict[str, Any],
        record: dict[str, Any] | None = None,
        sha256: str | None = None,
        batch: str | None = None,
        status: str = TO_REVIEW,
        status_reason: str | None = None,
        status_by: str | None = None,
        status_at: str | None = None,
        reviewed_at: str | None = None,
        reviewed_by: str | None = None,
        imported_at: str | None = None,
        imported_by: str | None = None,
        layout: str | None = None,
        error: str | None = None,
        parser_version: str | None = None,
        history: Iterable[dict[str, Any]] = (),
        annotations: Iterable[dict[str, Any]] = (),
        letter_id: int | None = None,
    ) -> int | None:
        """Store one letter with everything known about it, in one transaction.

        Returns the new letter's id, or None when a letter with the same sha256 is already stored.
        `letter_id`: store it under this id (a copy keeping its ids; store/copying.py), which must be free.
        """
        from imr_desk.core.parser import PARSER_VERSION  # late: reading never loads the parser
        from imr_desk.core.reading import sha256_of

        sha = sha256 or sha256_of(data)
        if status not in STATUSES:
            raise StoreError(f"“{status}” is not a status; use one of: {', '.join(STATUSES)}.")
        # what neither engine can store (NUL, lone surrogates) is replaced, and the letter's history says so
        (name, status_reason, history, annotations), cleaned = storable.clean(
            (name, status_reason, list(history), list(annotations)))
        record = record if record is not None else parsed
        cols = rec.columns_of(record)
        cols["layout"] = layout if layout is not None else cols["layout"]
        at = now_iso()
        with self.transaction("store the letter"):
            if self.letter_id_by_sha256(sha) is not None:
                return None
            batch_id = self.batch_id(batch) if batch else None
            values = {
                "sha256": sha, "name": name, "media_type": media_type, "size": len(data), "batch_id": batch_id,
                "status": status, "status_reason": status_reason, "status_by": status_by, "status_at": status_at,
                "reviewed_at": reviewed_at, "reviewed_by": reviewed_by,
                "imported_at": imported_at or at, "imported_by": imported_by or self.user,
                "pages": (parsed.get("source") or {}).get("pages"),
                "parser_version": parser_version or PARSER_VERSION, "version": 1, "error": error, **cols,
            }
            if letter_id is not None:
                values = {"id": letter_id, **values}
            names = ", ".join(values)
            marks = ", ".join(f":{k}" for k in values)
            # another process importing the same letter at the same moment: the first one stores it
            row = self.conn.execute(f"INSERT INTO letters ({names}) VALUES ({marks}) "
                                    "ON CONFLICT(sha256) DO NOTHING RETURNING id", values).fetchone()
            if row is None:
                return None
            letter_id = int(row[0])
            cleaned += self._write_contents(letter_id, record, insert=True, text=text, page_starts=page_starts,
                                            parsed=parsed)
            self._write_file(letter_id, data)
            self._write_items(letter_id, record)
            changes = [Change(h["path"], h.get("old"), h.get("new"), h.get("origin") or "import", h.get("reason"),
                              h.get("version"), h.get("who"), h.get("at")) for h in history]
            if not changes:
                changes = [Change("*", None, {"parser_version": values["parser_version"]}, "parser",
                                  who=values["imported_by"], at=values["imported_at"])]
            if cleaned:
                changes.append(Change(storable.CLEANED_PATH, None, {"replaced": cleaned}, "import",
                                      storable.note(cleaned), who=values["imported_by"], at=at))
            self.add_history(letter_id, changes, at=at, own=False)  # an imported row keeps its who, even none
            self.conn.executemany(
                'INSERT INTO annotations(letter_id, start, "end", label, note, who, at, removed_at, removed_by) '
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(letter_id, a["start"], a["end"], a["label"], a.get("note") or "", a.get("who"), a.get("at") or at,
                  a.get("removed_at"), a.get("removed_by")) for a in annotations],
            )
        return letter_id

    def _write_file(self, letter_id: int, data: bytes) -> None:
        """The letter's original bytes into `files`, in chunks of `FILE_CHUNK`: neither engine's driver
        makes a copy of the whole file (a 139 MB scan bound as one parameter cost two more copies on
        SQLite: the driver's and the row's record). In the caller's transaction, so all or nothing.

        SQLite: a row of `zeroblob(n)` (not built in memory), filled through an incremental blob
        handle; PostgreSQL: a binary `COPY` of the one row, its bytes sent a chunk at a time."""
        view = memoryview(data)
        if isinstance(self.conn, engine.SqliteConnection):
            self.conn.execute("INSERT INTO files(letter_id, data) VALUES (?, zeroblob(?))", (letter_id, len(data)))
            if data:
                with self.conn.raw.blobopen("files", "data", letter_id) as blob:  # letter_id is the table's rowid
                    for start in range(0, len(view), FILE_CHUNK):
                        blob.write(view[start:start + FILE_CHUNK])
            return
        # PostgreSQL's binary COPY format (its manual, "COPY: Binary Format"): the signature, flags and
        # header extension; one row of 2 fields (an int8, the bytea), each its length then its bytes;
        # the trailer (-1 fields)
        from imr_desk.store.pg import PgConnection  # a server's database: psycopg is loaded already

        assert isinstance(self.conn, PgConnection)
        with self.conn.raw.cursor().copy("COPY files(letter_id, data) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(b"PGCOPY\n\xff\r\n\0" + struct.pack("!iihiq", 0, 0, 2, 8, letter_id)
                       + struct.pack("!i", len(data)))
            for start in range(0, len(view), FILE_CHUNK):
                copy.write(view[start:start + FILE_CHUNK])
            copy.write(struct.pack("!h", -1))

    def _write_contents(self, letter_id: int, record: dict[str, Any], *, insert: bool = False,
                        text: str | None = None, page_starts: Sequence[int] | None = None,
                        parsed: dict[str, Any] | None = None, before: dict[str, Any] | None = None,
                        record_json: tuple[str, int] | None = None) -> int:
        """The letter's bulky parts: the clerk's record (and on import the text and the parser's record).

        `before`: the record stored until now; the searched columns it already has are not written again
        (writing one makes the full-text index read the whole letter again). `record_json`: the record's
        JSON and its cleaning count, when the caller has them already (`records.record_json_counted`).
        Returns how many characters neither engine can store were replaced (store/storable.py); the
        caller records it in the letter's history.
        """
        record_text, cleaned = record_json if record_json is not None else rec.record_json_counted(record)
        searched = rec.search_columns_of(record, rec.searched_changed(before, record) if before is not None else None)
        values: dict[str, Any] = {"letter_id": letter_id, "record": record_text, **searched}
        if text is not None:
            clean_text, in_text = storable.clean_text(text)
            values["text"] = storable.Cleaned(clean_text)
            cleaned += in_text
        if page_starts is not None:
            values["page_starts"] = rec.dumps(list(page_starts))
        if parsed is not None:
            values["parsed"], in_parsed = rec.dumps_counted(parsed)
            cleaned += in_parsed if parsed is not record else 0
            if values["parsed"] == record_text:
                values["record"] = None  # still the parser's record: kept once
        if insert:
            names = ", ".join(values)
            self.conn.execute(f"INSERT INTO contents ({names}) VALUES ({', '.join(':' + k for k in values)})", values)
        else:
            sets = ", ".join(f"{k} = :{k}" for k in values if k not in ("letter_id", "record"))
            # with a new parser record, `values` already says whether they are equal; else compare with
            # the stored one (SQLite reads the row's values as they were before this update)
            same = "CAST(:record AS TEXT) IS NULL" if parsed is not None else ":record = parsed"
            self.conn.execute(
                f"UPDATE contents SET {sets}{', ' if sets else ''}"
                f"record = CASE WHEN {same} THEN NULL ELSE :record END WHERE letter_id = :letter_id", values)
        return cleaned

    def _write_items(self, letter_id: int, record: dict[str, Any], before: dict[str, Any] | None = None) -> None:
        """The items table's rows of the record; with `before` (the record stored until now), only the rows
        of the items that changed, and from the first item added or removed on."""
        items = record.get("items") or []
        if before is None:
            self.conn.execute("DELETE FROM items WHERE letter_id = ?", (letter_id,))
            start = 0
        else:
            old = before.get("items") or []
            if len(old) == len(items):
                changed = [row for i, (a, b) in enumerate(zip(old, items, strict=True))
                           if a != b and (row := rec.item_row(letter_id, i, b)) != rec.item_row(letter_id, i, a)]
                sets = ", ".join(f"{k} = ?" for k in rec.ITEM_COLUMNS)
                self.conn.executemany(f"UPDATE items SET {sets} WHERE letter_id = ? AND position = ?",
                                      [(*r[2:], r[0], r[1]) for r in changed])
                return
            start = next((i for i, (a, b) in enumerate(zip(old, items, strict=False))
                          if a != b and rec.item_row(letter_id, i, a) != rec.item_row(letter_id, i, b)),
                         min(len(items), len(old)))
            self.conn.execute("DELETE FROM items WHERE letter_id = ? AND position >= ?", (letter_id, start))
        self.conn.executemany(
            "INSERT INTO items(letter_id, position, " + ", ".join(rec.ITEM_COLUMNS) + ") "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [rec.item_row(letter_id, i, item) for i, item in enumerate(items) if i >= start],
        )

    # -- the queue and search ----------------------------------------------------------------------
    def queue(self, filter: Choice = None, order_by: str = "id", descending: bool = False,
              offset: int = 0, limit: int = 100) -> list[QueueRow]:
        """One page of the letters `filter` chooses (a `LetterFilter`, or a dict of its fields), in the given
        order (ties by id)."""
        if order_by not in ORDERABLE:
            raise StoreError(f"Cannot sort the queue by “{order_by}”; use one of: {', '.join(ORDERABLE)}.")
        where, params = LetterFilter.of(filter).where(self.conn)
        col = "b.name" if order_by == "batch" else f"l.{order_by}"
        direction = "DESC" if descending else "ASC"
        nulls = self.conn.nulls(descending)
        order = f"l.id {direction}" if order_by == "id" else f"{col} {direction}{nulls}, l.id {direction}"
        sql = (f"SELECT {_QUEUE_COLUMNS} FROM letters l LEFT JOIN batches b ON b.id = l.batch_id{where} "
               f"ORDER BY {order} LIMIT ? OFFSET ?")
        return [QueueRow(*r) for r in self._read(sql, [*params, int(limit), int(offset)])]

    def queue_count(self, filter: Choice = None) -> int:
        where, params = LetterFilter.of(filter).where(self.conn)
        return int(self._read(f"SELECT count(*) FROM letters l{where}", params)[0][0])

    def letter_ids(self, filter: Choice = None) -> list[int]:
        """The ids of the letters `filter` chooses, in id order (an export set, a batch of work)."""
        where, params = LetterFilter.of(filter).where(self.conn)
        return [int(r[0]) for r in self._read(f"SELECT l.id FROM letters l{where} ORDER BY l.id", params)]

    def progress(self, filter: Choice = None) -> tuple[int, int, int]:
        """(letters, reviewed, still open) among the letters matching `filter`, whatever their status."""
        where, params = dataclasses.replace(LetterFilter.of(filter), status=None).where(self.conn)
        marks = ", ".join("?" * len(OPEN_STATUSES))
        row = self._read(f"SELECT count(*), count(*) FILTER (WHERE l.status = ?), "
                         f"count(*) FILTER (WHERE l.status IN ({marks})) "
                         f"FROM letters l{where}", [REVIEWED, *OPEN_STATUSES, *params])[0]
        return int(row[0]), int(row[1]), int(row[2])

    def reviewers(self) -> list[str]:
        """Everyone who has marked a letter reviewed, by name."""
        return [r[0] for r in self._read(
            "SELECT DISTINCT reviewed_by FROM letters WHERE reviewed_by IS NOT NULL ORDER BY reviewed_by")]

    def same_case(self, case_numbers: Iterable[str | None]) -> dict[str, list[tuple[int, str, str]]]:
        """The case numbers among these that more than one letter carries, each with its letters (id, name, status)."""
        wanted = sorted({c for c in case_numbers if c})
        found: dict[str, list[tuple[int, str, str]]] = {}
        for i in range(0, len(wanted), 400):
            chunk = wanted[i:i + 400]
            marks = ", ".join("?" * len(chunk))
            rows = self._read(
                f"SELECT case_number, id, name, status FROM letters WHERE case_number IN ("
                f"SELECT case_number FROM letters WHERE case_number IN ({marks}) GROUP BY case_number "
                f"HAVING count(*) > 1) ORDER BY case_number, id", chunk)
            for case, lid, name, status in rows:
                found.setdefault(case, []).append((int(lid), name, status))
        return found

    def batches(self) -> list[str]:
        return [r[0] for r in self._read("SELECT name FROM batches ORDER BY id")]

    def next_letter(self, after_id: int | None, status: str | Sequence[str] = OPEN_STATUSES) -> int | None:
        """The next letter (by id) with one of the statuses, wrapping round; None when there is none."""
        statuses = [status] if isinstance(status, str) else list(status)
        marks = ", ".join("?" * len(statuses))
        after = after_id if after_id is not None else 0
        rows = self._read(f"SELECT id FROM letters WHERE status IN ({marks}) AND id > ? ORDER BY id LIMIT 1",
                          [*statuses, after])
        if not rows:
            rows = self._read(f"SELECT id FROM letters WHERE status IN ({marks}) AND id != ? ORDER BY id LIMIT 1",
                              [*statuses, after])
        return int(rows[0][0]) if rows else None

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        """Letters whose text, requests, rationales or case number match the words of `query`, best first."""
        if self.engine == POSTGRESQL:
            return self._search_pg(query, limit)
        q = match_query(query)
        if not q:
            return []
        # Ranking costs time for every match: a common phrase matches nearly every letter, so only the
        # RANK_WITHIN most recent matches are ranked (found in rowid order, which FTS5 walks cheaply).
        floor = self._read("SELECT rowid FROM contents_fts WHERE contents_fts MATCH ? ORDER BY rowid DESC "
                           "LIMIT 1 OFFSET ?", (q, RANK_WITHIN - 1))
        lowest = int(floor[0][0]) if floor else 0
        sql = ("SELECT l.id, l.name, l.case_number, l.status FROM contents_fts JOIN letters l ON l.id = contents_fts.rowid "
               "WHERE contents_fts MATCH ? AND contents_fts.rowid >= ? ORDER BY rank LIMIT ?")
        return self._with_snippets(self._read(sql, (q, lowest, int(limit))), query)

    def _with_snippets(self, hits: Sequence[Sequence[Any]], query: str) -> list[SearchHit]:
        """The hits (id, name, case number, status) with their snippets (store/fts.py `snippet`: bounded work
        however long a letter is, where the engines' own snippets read the whole of it)."""
        out = []
        scan = fts.SNIPPET_SCAN
        for hit in hits:
            rows = self._read("SELECT case_number, substr(requests, 1, ?), substr(rationales, 1, ?), substr(text, 1, ?) "
                              "FROM contents WHERE letter_id = ?", (scan, scan, scan, hit[0]))
            columns = list(rows[0]) if rows else []
            out.append(SearchHit(int(hit[0]), hit[1], hit[2], hit[3], fts.snippet(columns, query)))
        return out

    def _search_pg(self, query: str, limit: int) -> list[SearchHit]:
        """`search` on PostgreSQL: the `tsvector` column, ranked by `ts_rank`, a `ts_headline` snippet."""
        q = pg_match_query(query)
        if not q:
            return []
        floor = self._read("SELECT letter_id FROM contents WHERE search @@ to_tsquery('imr_search', ?) "
                           "ORDER BY letter_id DESC LIMIT 1 OFFSET ?", (q, RANK_WITHIN - 1))
        lowest = int(floor[0][0]) if floor else 0
        sql = ("WITH hits AS (SELECT c.letter_id, ts_rank(c.search, to_tsquery('imr_search', :q)) AS score "
               "FROM contents c WHERE c.search @@ to_tsquery('imr_search', :q) AND c.letter_id >= :lowest "
               "ORDER BY score DESC, c.letter_id LIMIT :limit) "
               "SELECT l.id, l.name, l.case_number, l.status "
               "FROM hits h JOIN letters l ON l.id = h.letter_id ORDER BY h.score DESC, h.letter_id")
        return self._with_snippets(self._read(sql, {"q": q, "lowest": lowest, "limit": int(limit)}), query)

    # -- the clerk's record ------------------------------------------------------------------------
    @retried
    def save_record(self, letter_id: int, record: dict[str, Any], expected_version: int,
                    reason: str | None = None, *, op: str | None = None) -> int:
        """Save the clerk's record if the stored version is still `expected_version`; returns the new version.

        Each changed field becomes a history row. A concurrent change raises `VersionConflict`; the
        rejected record is kept in the history (path "*rejected"), so nothing the clerk typed is lost.
        `op`: the operation id the window gave this save (ui/writer.py `operation_id`); the same save run
        again (its connection dropped at COMMIT, so it may have landed) returns what it did then and
        writes nothing.
        """
        record = dict(record)
        record["warnings"] = recheck(record, self._items_checked)
        conflict: VersionConflict | None = None
        saved: tuple[int, str, dict[str, Any], bytes] | None = None
        with self.transaction("save the letter"):
            at = now_iso()  # taken under the write lock: times in history follow the order of the writes
            rows = self._read(f"SELECT l.version, l.sha256, l.status FROM letters l WHERE l.id = ?"
                              f"{self.conn.for_update('l')}", (letter_id,))
            if not rows:
                raise LetterNotFound(f"Letter {letter_id} is not in this database any more; it cannot be saved.")
            version, sha256, status = rows[0]
            done, earlier = self._done_before(op)
            if done:  # this very save committed before its connection dropped: what it did, again
                if isinstance(earlier, dict):
                    raise VersionConflict(str(earlier["refused"]))
                return int(earlier)
            if version != expected_version:
                last = self._read("SELECT who, at FROM history WHERE letter_id = ? AND version = ? ORDER BY id DESC "
                                  "LIMIT 1", (letter_id, version))
                who, when = last[0] if last else ("someone", "meanwhile")
                self.add_history(letter_id, [Change("*rejected", None, record, reason="not saved: the letter was "
                                                    "changed meanwhile", version=expected_version)], at=at)
                conflict = VersionConflict(
                    f"{who} saved this letter at {when} after you opened it, so your edits were not saved over "
                    "theirs (they are kept in the letter's history). Reopen the letter to see the current "
                    "version, then make your changes again."
                )
                self._remember(op, letter_id, {"refused": conflict.clerk_message})
            else:
                cached = self._saved.get(letter_id)
                if cached is not None and cached[:2] == (version, sha256):
                    stored, stored_digest = cached[2], cached[3]
                else:
                    stored_json = self._stored_json(letter_id)
                    stored, stored_digest = json.loads(stored_json), rec.digest(stored_json)
                changes = rec.changes(stored, record)
                record_json = rec.record_json_counted(record)
                digest = rec.digest(record_json[0])
                if not changes and digest == stored_digest:
                    self._remember(op, letter_id, int(version))
                    return int(version)
                new_version = int(version) + 1
                cols = rec.columns_of(record)
                sets = ", ".join(f"{k} = :{k}" for k in cols)
                self.conn.execute(
                    f"UPDATE letters SET version = :version, {sets}, "
                    "status = CASE WHEN status IN ('to review', 'reviewed') THEN 'in review' ELSE status END "
                    "WHERE id = :id",
                    {**cols, "version": new_version, "id": letter_id},
                )
                cleaned = self._write_contents(letter_id, record, before=stored, record_json=record_json)
                self._write_items(letter_id, record, before=stored)
                written = [Change(p, o, n, reason=reason, version=new_version) for p, o, n in changes] or [
                    Change("fields", reason=reason, version=new_version)]
                if cleaned:
                    written.append(Change(storable.CLEANED_PATH, None, {"replaced": cleaned},
                                          reason=storable.note(cleaned), version=new_version))
                if status in (TO_REVIEW, REVIEWED):  # a record changed after review must be reviewed again
                    written.append(Change("status", status, IN_REVIEW, version=new_version,
                                          reason="changed after review" if status == REVIEWED else None))
                if not (len(written) == 1 and self._continue_burst(letter_id, written[0], at)):
                    self.add_history(letter_id, written, at=at)
                self._remember(op, letter_id, new_version)
                saved = (new_version, sha256, rec.reviewed_copy(record), digest)
        if saved is not None:
            if self._depth == 0:  # committed (inside a caller's transaction it may still be rolled back)
                self._saved.pop(letter_id, None)
                self._saved[letter_id] = saved
                while len(self._saved) > SAVED_KEPT:
                    del self._saved[next(iter(self._saved))]
            return saved[0]
        assert conflict is not None
        raise conflict

    def _stored_json(self, letter_id: int) -> str:
        """The letter's stored record as the database holds it (the clerk's, else the parser's)."""
        rows = self._read("SELECT coalesce(record, parsed) FROM contents WHERE letter_id = ?", (letter_id,))
        if not rows:
            raise LetterNotFound(f"Letter {letter_id} is not in this database any more; it cannot be saved.")
        return str(rows[0][0])

    def _continue_burst(self, letter_id: int, change: Change, at: str) -> bool:
        """A burst of typing is one history entry: when the letter's last history row is this clerk's edit of
        the same field, made less than BURST_SECONDS ago, it takes the new value (and time) instead of a new
        row following it; typed back to where it started, the row goes. True when the row was folded in."""
        if _WHOLE_ITEM.fullmatch(change.path):  # an item added, removed or moved is never typing
            return False
        last = self._read("SELECT id, path, old, who, at, origin, reason, new FROM history WHERE letter_id = ? "
                          "ORDER BY id DESC LIMIT 2", (letter_id,))
        if len(last) == 2 and last[0][1] == "status" and last[0][7] == rec.dumps(IN_REVIEW) \
                and last[0][3] == self.user and last[0][6] in (None, "changed after review"):
            last = last[1:]  # the letter went into review with that edit: the edit is the one to continue
        if not last or change.reason is not None:
            return False
        row_id, path, old, who, when, origin, reason, _new = last[0]
        if (path, who, origin, reason) != (change.path, self.user, "clerk", None):
            return False
        try:
            age = (datetime.fromisoformat(at.replace("Z", "+00:00"))
                   - datetime.fromisoformat(when.replace("Z", "+00:00"))).total_seconds()
        except ValueError:
            return False
        if not 0 <= age < BURST_SECONDS:
            return False
        if _json_or_null(change.new) == old:
            self.conn.execute("DELETE FROM history WHERE id = ?", (row_id,))
        else:
            self.conn.execute("UPDATE history SET new = ?, at = ?, version = ? WHERE id = ?",
                              (_json_or_null(change.new), at, change.version, row_id))
        return True

    def _done_before(self, op: str | None) -> tuple[bool, Any]:
        """Whether the queued write `op` committed already (True, and what it returned then), inside its
        transaction; on PostgreSQL after the letter's row is locked, so a first run still finishing is seen."""
        if op is None:
            return False, None
        rows = self._read("SELECT result FROM operations WHERE id = ?", (op,))
        if not rows:
            return False, None
        log.info("operation %s was committed before its connection dropped; not written again", op)
        return True, rec.loads(rows[0][0])

    def _remember(self, op: str | None, letter_id: int | None, result: Any) -> None:
        """Record that the queued write `op` commits, with its result, in its transaction (see `_done_before`)."""
        if op is None:
            return
        self.conn.execute("DELETE FROM operations WHERE at < ?", (now_iso(OPERATIONS_KEPT),))
        self.conn.execute("INSERT INTO operations(id, letter_id, result, at) VALUES (?, ?, ?, ?)",
                          (op, letter_id, rec.dumps(result), now_iso()))

    @retried
    def set_status(self, letter_id: int, status: str, reason: str | None = None,
                   expected_version: int | None = None, *, op: str | None = None) -> int:
        """Change a letter's status; returns the letter's new version.

        Postponing needs a reason; so does marking reviewed despite errors. The version goes up, so a
        save made from an older copy of the letter (before it was marked reviewed) is refused. With
        `expected_version`, a letter changed by someone else since is refused too (`VersionConflict`).
        `op`: as for `save_record`, a change run again returns the version it committed.
        """
        if status not in STATUSES:
            raise StoreError(f"“{status}” is not a status; use one of: {', '.join(STATUSES)}.")
        reason, cleaned = storable.clean_text((reason or "").strip())
        reason = reason or None
        if status == POSTPONED and not reason:
            raise StoreError("Say why the letter is postponed: the reason is kept with it.")
        with self.transaction("change the letter's status"):
            at = now_iso()  # under the write lock, so an export started meanwhile sees a later review time
            rows = self._read(f"SELECT status, error_count, version FROM letters WHERE id = ?{self.conn.for_update()}",
                              (letter_id,))
            if not rows:
                raise LetterNotFound(f"Letter {letter_id} is not in this database any more.")
            old, errors, version = rows[0]
            done, earlier = self._done_before(op)
            if done:
                return int(earlier)
            if expected_version is not None and version != expected_version:
                raise VersionConflict(
                    "Someone else changed this letter after you opened it, so its status was not changed. "
                    "Reopen the letter to see their changes, then try again."
                )
            if status == REVIEWED and errors and not reason:
                raise StoreError(f"The letter has {errors} error(s) in its checks. Fix them, or give a reason to "
                                 "mark it reviewed anyway (the reason is recorded).")
            reviewed = (at, self.user) if status == REVIEWED else (None, None)
            self.conn.execute(
                "UPDATE letters SET status = ?, status_reason = ?, status_by = ?, status_at = ?, "
                "reviewed_at = coalesce(?, reviewed_at), reviewed_by = coalesce(?, reviewed_by), "
                "version = version + 1 WHERE id = ?",
                (status, reason, self.user, at, *reviewed, letter_id),
            )
            changes = [Change("status", old, status, reason=reason, version=version + 1)]
            if cleaned:
                changes.append(Change(storable.CLEANED_PATH, None, {"replaced": cleaned, "in": "reason"},
                                      reason=storable.note(cleaned), version=version + 1))
            self.add_history(letter_id, changes, at=at)
            self._remember(op, letter_id, int(version) + 1)
        return int(version) + 1

    def add_history(self, letter_id: int, changes: Iterable[Change], *, at: str | None = None,
                    own: bool = True) -> None:
        """Write history rows for a letter: the one place history is written (inside the caller's transaction).

        A change without `who` is this database user's (`own`), or nobody's (rows carried in by an import).
        """
        when = at or now_iso()
        me = self.user if own else None
        self.conn.executemany(
            "INSERT INTO history(letter_id, path, old, new, who, at, origin, reason, version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(letter_id, c.path, _json_or_null(c.old), _json_or_null(c.new), c.who or me, c.at or when,
              c.origin, c.reason, c.version) for c in changes],
        )

    # -- re-parsing --------------------------------------------------------------------------------
    @retried
    def set_parser_version(self, letter_id: int, parser_version: str) -> None:
        with self.transaction("re-parse the letter"):
            self.conn.execute("UPDATE letters SET parser_version = ? WHERE id = ?", (parser_version, letter_id))

    @retried
    def apply_reparse(self, letter_id: int, new: dict[str, Any], text: str, page_starts: Sequence[int], *,
                      seen: tuple[int, str], old_parser_version: str, old_parsed: dict[str, Any]) -> str | None:
        """Store a newer parser's record of a letter, as it was when read (`seen`: version, status).

        A letter no clerk has changed, and that is not reviewed, takes the new record ("replaced", each
        change in history); any other keeps the clerk's record and records the parser's ("recorded").
        None when a clerk saved the letter meanwhile, "leased" when a window has it open: the next
        re-parse picks it up.
        """
        from imr_desk.core.parser import PARSER_VERSION

        with self.transaction("re-parse the letter"):
            at = now_iso()
            current = self._read(f"SELECT version, status FROM letters WHERE id = ?{self.conn.for_update()}",
                                 (letter_id,))
            if not current or tuple(current[0]) != tuple(seen):
                return None
            if letter_id in self.live_leases():  # opened in a window while it was being parsed
                return "leased"
            version, status = seen
            if status != REVIEWED and not self._edited_by_a_clerk(letter_id):
                rows = self._read("SELECT coalesce(record, parsed) FROM contents WHERE letter_id = ?", (letter_id,))
                changes = list(rec.diff(json.loads(rows[0][0]), new))
                cols = rec.columns_of(new)
                sets = ", ".join(f"{k} = :{k}" for k in cols)
                self.conn.execute(
                    f"UPDATE letters SET parser_version = :pv, version = version + 1, {sets} WHERE id = :id",
                    {**cols, "pv": PARSER_VERSION, "id": letter_id},
                )
                cleaned = self._write_contents(letter_id, new, text=text, page_starts=page_starts, parsed=new)
                self._write_items(letter_id, new)
                written = [Change(p, o, v, "reparse", version=version + 1) for p, o, v in changes]
                if cleaned:
                    written.append(Change(storable.CLEANED_PATH, None, {"replaced": cleaned}, "reparse",
                                          storable.note(cleaned), version=version + 1))
                self.add_history(letter_id, written, at=at)
                return "replaced"
            self.conn.execute("UPDATE letters SET parser_version = ? WHERE id = ?", (PARSER_VERSION, letter_id))
            # the clerk's record stays as it is, even where it was still the old parser's (NULL)
            self.conn.execute("UPDATE contents SET record = coalesce(record, parsed), parsed = ? WHERE letter_id = ?",
                              (rec.dumps(new), letter_id))
            self.add_history(letter_id, [Change(
                "*parser", {"parser_version": old_parser_version},
                {"parser_version": PARSER_VERSION, "changed": [p for p, _o, _v in rec.diff(old_parsed, new)]},
                "reparse", "the clerk's record was kept", version)], at=at)
            return "recorded"

    def _edited_by_a_clerk(self, letter_id: int) -> bool:
        """Whether any value of the letter's record was set by a clerk (or came with an imported review)."""
        return bool(self._read(
            "SELECT 1 FROM history WHERE letter_id = ? AND origin IN ('clerk', 'import') AND path NOT IN "
            "('status', '*', '*rejected', '*cleaned') AND path NOT LIKE 'annotations.%' LIMIT 1", (letter_id,)))

    # -- confirmed fields and team settings ------------------------------------------------------------
    @retried
    def confirm_fields(self, letter_id: int, values: dict[str, Any], *, op: str | None = None) -> None:
        """Record that the clerk checked these fields (path -> the value confirmed): one history row.
        `op`: as for `save_record` (a confirmation run again is not recorded twice)."""
        if not values:
            return
        with self.transaction("record the confirmed fields"):
            rows = self._read(f"SELECT version FROM letters WHERE id = ?{self.conn.for_update()}", (letter_id,))
            if not rows:
                raise LetterNotFound(f"Letter {letter_id} is not in this database any more.")
            if self._done_before(op)[0]:
                return
            self.add_history(letter_id, [Change(confirmations.HISTORY_PATH, None, values, version=int(rows[0][0]))])
            self._remember(op, letter_id, None)

    def confirmations(self, letter_id: int) -> dict[str, confirmations.Confirmation]:
        """Every field confirmed in the letter, with the value confirmed, who and when (the latest of each)."""
        return confirmations.merge(self._read(
            "SELECT new, who, at FROM history WHERE letter_id = ? AND path = ? ORDER BY id",
            (letter_id, confirmations.HISTORY_PATH)))

    def team_setting(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM team_settings WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    @retried
    def set_team_setting(self, key: str, value: str) -> None:
        """A setting every window on this database follows (who set it and when is kept)."""
        with self.transaction("change the team's setting"):
            self.conn.execute(
                "INSERT INTO team_settings(key, value, who, at) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE "
                "SET value = excluded.value, who = excluded.who, at = excluded.at", (key, value, self.user, now_iso()))

    def history(self, letter_id: int, *, offset: int = 0, limit: int | None = None) -> list[HistoryRow]:
        """The letter's history, oldest first; `offset` and `limit` give one page of it (the history dialog)."""
        page = "" if limit is None and not offset else " LIMIT ? OFFSET ?"
        params: list[Any] = [letter_id] + ([-1 if limit is None else int(limit), int(offset)] if page else [])
        if page and self.engine == POSTGRESQL and limit is None:
            page, params = " OFFSET ?", [letter_id, int(offset)]
        rows = self._read("SELECT id, letter_id, path, old, new, who, at, origin, reason, version FROM history "
                          f"WHERE letter_id = ? ORDER BY id{page}", params)
        return [HistoryRow(r[0], r[1], r[2], rec.loads(r[3]), rec.loads(r[4]), *r[5:]) for r in rows]

    def history_count(self, letter_id: int) -> int:
        """How many rows the letter's history holds."""
        return int(self._read("SELECT count(*) FROM history WHERE letter_id = ?", (letter_id,))[0][0])

    def changed_fields(self, letter_id: int) -> list[str]:
        """The field paths where the clerk's record differs from the parser's."""
        rows = self._read("SELECT parsed, coalesce(record, parsed) FROM contents WHERE letter_id = ?", (letter_id,))
        if not rows:
            raise LetterNotFound(f"Letter {letter_id} is not in this database.")
        return [p for p, _o, _n in rec.diff(json.loads(rows[0][0]), json.loads(rows[0][1]))]

    # -- annotations -------------------------------------------------------------------------------
    @retried
    def add_annotation(self, letter_id: int, start: int, end: int, label: str, note: str = "", *,
                       op: str | None = None) -> int:
        """Annotate text[start:end]; returns the annotation's id. `op`: as for `save_record` (run again, the
        same annotation's id, not a second one)."""
        (label, note), cleaned = storable.clean(((label or "").strip(), note or ""))
        label = label.strip()
        if not label:
            raise StoreError("Give the annotation a label (for example: extraction error, question, note).")
        if not (0 <= start < end):
            raise StoreError("Select the text to annotate first.")
        at = now_iso()
        with self.transaction("save the annotation"):
            self.conn.lock_letter(letter_id)
            done, earlier = self._done_before(op)
            if done:
                return int(earlier)
            rows = self._read("SELECT length(text) FROM contents WHERE letter_id = ?", (letter_id,))
            if not rows:
                raise LetterNotFound(f"Letter {letter_id} is not in this database any more.")
            if end > rows[0][0]:
                raise StoreError("The annotation runs past the end of the letter's text.")
            aid = int(self.conn.execute(
                'INSERT INTO annotations(letter_id, start, "end", label, note, who, at) VALUES (?, ?, ?, ?, ?, ?, ?) '
                "RETURNING id", (letter_id, start, end, label, note or "", self.user, at),
            ).fetchone()[0])
            changes = [Change(f"annotations.{aid}", None, {"start": start, "end": end, "label": label,
                                                          "note": note or ""})]
            if cleaned:
                changes.append(Change(storable.CLEANED_PATH, None, {"replaced": cleaned, "in": f"annotations.{aid}"},
                                      reason=storable.note(cleaned)))
            self.add_history(letter_id, changes, at=at)
            self._remember(op, letter_id, aid)
        return aid

    @retried
    def remove_annotation(self, annotation_id: int) -> None:
        """Remove an annotation from view; the row stays (removed_at, removed_by) and history says so."""
        at = now_iso()
        with self.transaction("remove the annotation"):
            rows = self._read('SELECT letter_id, start, "end", label, note FROM annotations WHERE id = ? '
                              f"AND removed_at IS NULL{self.conn.for_update()}", (annotation_id,))
            if not rows:
                return
            letter_id, start, end, label, note = rows[0]
            self.conn.execute("UPDATE annotations SET removed_at = ?, removed_by = ? WHERE id = ?",
                              (at, self.user, annotation_id))
            self.add_history(letter_id, [Change(f"annotations.{annotation_id}",
                                                {"start": start, "end": end, "label": label, "note": note})], at=at)

    def annotations(self, letter_id: int, include_removed: bool = False) -> list[Annotation]:
        extra = "" if include_removed else " AND removed_at IS NULL"
        rows = self._read('SELECT id, letter_id, start, "end", label, note, who, at, removed_at, removed_by '
                          f"FROM annotations WHERE letter_id = ?{extra} ORDER BY start, id", (letter_id,))
        return [Annotation(*r) for r in rows]

    # -- leases ------------------------------------------------------------------------------------
    @retried
    def acquire_lease(self, letter_id: int, holder: str, ttl: float = LEASE_SECONDS) -> None:
        """Take the right to edit a letter; raises `LetterLeased` when another holder has it."""
        now = time.time()
        with self.transaction("open the letter for editing"):
            self.conn.lock_letter(letter_id)  # two machines asking at once: one after the other
            self.conn.execute("DELETE FROM leases WHERE expires_at < ?", (now,))
            rows = self._read("SELECT holder FROM leases WHERE letter_id = ?", (letter_id,))
            if rows and rows[0][0] != holder and holder_gone(rows[0][0]):
                # the window that held it was killed or crashed (on this machine): free at once, not in 5 minutes
                log.info("letter %s: released the lease of %s, whose process is gone", letter_id, rows[0][0])
                self.conn.execute("DELETE FROM leases WHERE letter_id = ?", (letter_id,))
            refused = self.lease_refusal(letter_id, holder, ttl)
            if refused is not None:
                raise refused
            if not self._read("SELECT 1 FROM letters WHERE id = ?", (letter_id,)):
                raise LetterNotFound(f"Letter {letter_id} is not in this database any more.")
            self.conn.execute(
                "INSERT INTO leases(letter_id, holder, who, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(letter_id) DO UPDATE SET expires_at = excluded.expires_at",
                (letter_id, holder, self.user, now_iso(), now + ttl),
            )

    def lease_refusal(self, letter_id: int, holder: str, ttl: float = LEASE_SECONDS) -> LetterLeased | None:
        """The `LetterLeased` that `acquire_lease` would raise now (another holder's live lease), by reading only.

        The window asks before its (queued) `acquire_lease`, so a letter another window holds opens
        read-only at once, even while the database's write lock is taken.
        """
        rows = self._read("SELECT holder, who, acquired_at FROM leases WHERE letter_id = ? AND expires_at >= ?",
                          (letter_id, time.time()))
        if not rows or rows[0][0] == holder or holder_gone(rows[0][0]):
            return None  # free, this window's own, or its window's process is gone: `acquire_lease` takes it
        other, who, since = rows[0]
        host = other.split("@", 1)[1].split(":", 1)[0] if "@" in other else ""
        return LetterLeased(
            f"{who or 'Another clerk'}{f' on {host}' if host else ''} has this letter open for editing "
            f"(since {local_time(since)}), so it opens "
            f"read-only here. It frees up when they move on, or after {int(ttl // 60)} minutes without "
            "activity from them."
        )

    @retried
    def renew_lease(self, letter_id: int, holder: str, ttl: float = LEASE_SECONDS) -> None:
        with self.transaction("keep the letter open"):
            self.conn.lock_letter(letter_id)
            cur = self.conn.execute("UPDATE leases SET expires_at = ? WHERE letter_id = ? AND holder = ?",
                                    (time.time() + ttl, letter_id, holder))
            if cur.rowcount == 0:
                rows = self._read("SELECT who FROM leases WHERE letter_id = ?", (letter_id,))
                if rows:
                    raise LetterLeased(f"{rows[0][0] or 'Another clerk'} took this letter over after your window "
                                       "was idle; it is read-only here now. Reopen it when they are done.")
                self.conn.execute(
                    "INSERT INTO leases(letter_id, holder, who, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                    (letter_id, holder, self.user, now_iso(), time.time() + ttl),
                )

    def live_leases(self) -> dict[int, str]:
        """The letters open for editing in a window that still runs: letter id -> who has it."""
        rows = self._read("SELECT letter_id, holder, who FROM leases WHERE expires_at >= ?", (time.time(),))
        return {int(r[0]): r[2] or "another clerk" for r in rows if not holder_gone(r[1])}

    @retried
    def release_lease(self, letter_id: int, holder: str) -> None:
        with self.transaction("close the letter"):
            self.conn.execute("DELETE FROM leases WHERE letter_id = ? AND holder = ?", (letter_id, holder))

    def lease_holder(self, letter_id: int) -> str | None:
        rows = self._read("SELECT who FROM leases WHERE letter_id = ? AND expires_at >= ?", (letter_id, time.time()))
        return rows[0][0] if rows else None


def _json_or_null(value: Any) -> str | None:
    return None if value is None else rec.dumps(value)


def _refused_link(path: Path) -> str:
    """Why a database named by a symbolic link is not opened (what the clerk reads)."""
    try:
        target = Path(os.path.join(path.parent, os.readlink(path)))
    except OSError:
        target = None
    points = f" to {os.path.normpath(target)}" if target is not None else ""
    missing = "" if path.exists() else ", which does not exist"
    better = f" (e.g. --db {os.path.normpath(target)})" if target is not None else ""
    return (f"{path} is a symbolic link{points}{missing}. IMR Desk does not open a database through a link (its "
            "journal files would be made beside the link's target, and a link to nothing would make a new "
            f"database wherever it points): name the database file itself{better}, or remove the link.")


def not_a_file(path: Path) -> str | None:
    """Why `path` cannot hold a database when it is a device, a pipe or a socket (what the clerk reads), else None."""
    try:
        mode = path.stat().st_mode
    except OSError:  # nothing there (a new database), or not ours to look at: opening it says so
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return (f"{path} is a device, a pipe or a socket, not a database file: a review database is a file, with its "
            "journal files made beside it. Give the path of a .db file in a folder of yours; nothing was changed.")


def _owner_only(path: Path) -> None:
    """Make an existing database file (and its -wal/-shm) its owner's only when this user owns it: SQLite gives
    the -wal and -shm it creates the database file's mode, so a 0644 database would spread its letters in
    world-readable side files. A file of another owner (a shared folder) is left as it is."""
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            st = p.stat()
            if st.st_uid == os.geteuid() and st.st_mode & 0o077:
                p.chmod(0o600)
                log.info("%s made its owner's only (it was %o): it holds patient data", p, st.st_mode & 0o777)
        except OSError:  # missing (no -wal yet), or not ours to change
            continue


def _nothing_at(path: Path) -> str:
    if path.exists():
        return f"{path} is an empty file, not a review database yet. Import letters into it to create one."
    return f"There is no database at {path}. Check the path, or import letters to create it."


def _check_identity(conn: Connection, path: str) -> None:
    """Refuse databases that are not IMR Desk's, and databases from a newer IMR Desk."""
    app_id = schema.application_id_of(conn)  # also fails early on a file that is not SQLite
    version = schema.version_of(conn)
    tables = schema.table_count(conn)
    if app_id not in (0, schema.APPLICATION_ID) or (app_id == 0 and tables):
        if conn.engine == POSTGRESQL:
            raise NotADatabase(f"The database {path} on the server holds other tables, not IMR Desk's. Give the URL "
                               "of an empty database (or one IMR Desk set up), or ask for one to be created.")
        raise NotADatabase(f"{path} is an SQLite database, but not one made by IMR Desk. Open an IMR Desk "
                           "database, or give a new file name to create one.")
    if version > schema.SCHEMA_VERSION:
        raise NewerDatabase(
            f"{path} was made by a newer IMR Desk (database schema {version}; this version reads up to "
            f"{schema.SCHEMA_VERSION}). Update IMR Desk to open it; the database was not changed."
        )


__all__ = ["DatabaseLocked", "Letter", "LetterStore", "QueueRow"]
