"""One connection interface, two engines: an SQLite file, or a PostgreSQL server (no Qt).

The store calls `self.conn.execute(sql, params)` everywhere. The SQL is written once, in the common
dialect both engines speak (`?` and `:name` parameters, `INSERT ... RETURNING id`, `ON CONFLICT`,
`count(*) FILTER (WHERE ...)`), and `Connection` runs it on either engine:

- `SqliteConnection` passes it through to an `sqlite3.Connection` (autocommit mode; the store
  issues its own BEGIN/COMMIT);
- `PgConnection` runs it through psycopg 3 on a connection from the process's pool for that URL,
  with `?` -> `%s`, `:name` -> `%(name)s` and a literal `%` -> `%%` (outside quoted strings and
  identifiers), also in autocommit mode with explicit BEGIN/COMMIT.

Both return cursors with `fetchone`, `fetchall`, iteration, `description` and `rowcount`. What truly
differs is a small named fragment on the connection (`ids_in`, `time_of`, `for_update`,
`lock_letter`, `begin`/`begin_snapshot`), so a call site reads the same for both engines.

A database is named by a path (SQLite) or a URL `postgresql://user@host:port/dbname` (also
`postgres://`); libpq's environment variables (PGPASSWORD, PGHOST, ...) and ~/.pgpass apply, since
psycopg connects through libpq. `is_server_url` tells them apart; `display_name` is the name to show
(a URL without its password).

Every text parameter is cleaned of what PostgreSQL's `text` cannot hold (NUL, lone surrogates:
store/storable.py) on both engines, so nothing reaches either database that a server would refuse.
"""

from __future__ import annotations

import functools
import os
import re
import socket
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Protocol

import psycopg
import psycopg_pool

from imr_desk import urls
from imr_desk.store.storable import clean_params

Params = Sequence[Any] | Mapping[str, Any]

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
URL_SCHEMES = urls.SCHEMES
CONNECT_TIMEOUT_S = 5  # how long one attempt to reach the server waits
POOL_MAX = 8  # connections one process keeps to one server database at most
QUICK_CHECKOUT_S = 2.0  # a pooled connection not ready by then: the server is asked directly why
DB_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
"""The errors either engine raises (classified by store/errors.py)."""


class Cursor(Protocol):
    """What the store reads from a cursor of either engine."""

    @property
    def description(self) -> Any: ...

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int = ...) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


is_server_url = urls.is_server_url


def display_name(target: object) -> str:
    """The database's name as the clerk sees it (and as logs and settings may keep it): a path, or the URL
    without its password (`urls.redact`: neither `user:PASSWORD@` nor `?password=`)."""
    return urls.redact(target)


def server_address(target: str) -> tuple[str, int | str]:
    """(host, port) a URL names (its first host), with libpq's defaults (PGHOST, PGPORT, the local socket,
    5432); a port that is not a number is returned as written (`urls.problem` refuses it before any connection)."""
    hosts = urls.parse(target).hosts()
    host, port = hosts[0] if hosts else ("", None)
    host = host or os.environ.get("PGHOST") or "localhost"
    text = port or os.environ.get("PGPORT") or "5432"
    return host, int(text) if text.isdigit() else text


class Connection:
    """The engine-neutral connection the store uses as `self.conn` (see the module's docstring)."""

    engine: ClassVar[str]

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Params]) -> Cursor:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    @property
    def in_transaction(self) -> bool:
        raise NotImplementedError

    def begin(self) -> None:
        """Start a write transaction (SQLite: BEGIN IMMEDIATE, taking the file's write lock)."""
        raise NotImplementedError

    def begin_snapshot(self) -> None:
        """Start a read transaction that sees one snapshot of the database throughout (an export)."""
        raise NotImplementedError

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        self.execute("ROLLBACK")

    def set_busy_timeout(self, seconds: float) -> None:
        """How long a statement waits for another writer's lock before it fails as busy."""

    # -- the fragments that differ ------------------------------------------------------------------
    def ids_in(self, param: str = "?") -> str:
        """`IN (...)` over the ids in a JSON list parameter ("[1, 2, 3]"): the same parameter on both engines."""
        raise NotImplementedError

    def time_of(self, expr: str) -> str:
        """An ISO time text as something that orders as a time (NULL when the text is not a time)."""
        raise NotImplementedError

    def for_update(self, alias: str | None = None) -> str:
        """The clause that locks the rows a read-modify-write reads (nothing on SQLite: its write lock is whole)."""
        return ""

    def lock_letter(self, letter_id: int) -> None:
        """Inside a write transaction: hold the letter's row until commit, so two machines cannot both change it."""

    def nulls(self, descending: bool) -> str:
        """Where an ORDER BY puts NULLs: as SQLite does (NULL is the smallest value) on both engines."""
        return ""


class SqliteConnection(Connection):
    """An `sqlite3.Connection` in autocommit mode, passed through."""

    engine = SQLITE

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        return self.raw.execute(sql, clean_params(params))

    def executemany(self, sql: str, rows: Iterable[Params]) -> Cursor:
        return self.raw.executemany(sql, (clean_params(r) for r in rows))

    def close(self) -> None:
        self.raw.close()

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    def begin(self) -> None:
        self.raw.execute("BEGIN IMMEDIATE")

    def begin_snapshot(self) -> None:
        self.raw.execute("BEGIN")

    def set_busy_timeout(self, seconds: float) -> None:
        self.raw.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    def ids_in(self, param: str = "?") -> str:
        return f"IN (SELECT value FROM json_each({param}))"

    def time_of(self, expr: str) -> str:
        return f"julianday({expr})"


# -- PostgreSQL ---------------------------------------------------------------------------------------
_TOKENS = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|::|%|\?|(?<![:\w]):([A-Za-z_]\w*)""")


@functools.lru_cache(maxsize=2048)
def to_pg(sql: str) -> str:
    """The store's SQL in psycopg's parameter style: `?` -> `%s`, `:name` -> `%(name)s`, `%` -> `%%`.

    Quoted strings and identifiers keep their `?` and `:`; a `%` anywhere is doubled (psycopg reads
    `%` everywhere, quotes or not); `::` (a PostgreSQL cast) stays as it is.
    """

    def one(m: re.Match[str]) -> str:
        token = m.group(0)
        if token[0] in "'\"":
            return token.replace("%", "%%")
        if token == "::":
            return token
        if token == "%":
            return "%%"
        if token == "?":
            return "%s"
        return f"%({m.group(1)})s"

    return _TOKENS.sub(one, sql)


_POOLS: dict[tuple[int, str], psycopg_pool.ConnectionPool[Any]] = {}
_POOLS_LOCK = threading.Lock()


def _reset(conn: psycopg.Connection[Any]) -> None:
    """A connection back in the pool forgets what its last user set (read-only, timeouts)."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.rollback()
    conn.execute("RESET ALL")


def pool_for(url: str) -> psycopg_pool.ConnectionPool[Any]:
    """The process's pool for `url` (one per URL per process); connections are checked on checkout."""
    key = (os.getpid(), url)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = psycopg_pool.ConnectionPool(
                urls.libpq_url(url), min_size=0, max_size=POOL_MAX, open=True, timeout=CONNECT_TIMEOUT_S * 2,
                check=psycopg_pool.ConnectionPool.check_connection, reset=_reset, max_idle=60,
                kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S,
                        "application_name": "IMR Desk"},
                name=display_name(url))
            _POOLS[key] = pool
        return pool


def close_pools(url: str | None = None) -> None:
    """Close the process's pools (for `url` only, if given): their idle connections are closed."""
    with _POOLS_LOCK:
        keys = [k for k in _POOLS if url is None or k[1] == url]
        pools = [_POOLS.pop(k) for k in keys]
    for pool in pools:
        pool.close(timeout=5)


def probe(url: str) -> psycopg.Error | None:
    """Connect once, directly (not through the pool), to learn why the server cannot be used; None if it can."""
    try:
        psycopg.connect(urls.libpq_url(url), connect_timeout=CONNECT_TIMEOUT_S, autocommit=True).close()
    except psycopg.Error as exc:
        return exc
    return None


def reachable(url: str) -> bool:
    """Whether anything answers at the server's address (TCP, or the local socket): told apart from a refused login."""
    host, port = server_address(url)
    if not isinstance(port, int):
        return False
    try:
        if host.startswith("/"):
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(CONNECT_TIMEOUT_S)
                s.connect(os.path.join(host, f".s.PGSQL.{port}"))
        else:
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError:
        return False
    return True


_SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")  # the protocol's SSLRequest message


def offers_ssl(url: str) -> bool | None:
    """Whether the server at the URL's address offers SSL (asked with the protocol's SSLRequest, before any
    login); None when that cannot be asked (a local socket, which never uses SSL, or nothing answers)."""
    host, port = server_address(url)
    if host.startswith("/") or not isinstance(port, int):
        return None
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S) as s:
            s.sendall(_SSL_REQUEST)
            answer = s.recv(1)
    except OSError:
        return None
    return {b"S": True, b"N": False}.get(answer)


def maintenance_url(url: str) -> str:
    """The same server and login, on the `postgres` database every cluster has."""
    parts = urls.parse(url)
    userinfo = "" if parts.raw_user is None else parts.raw_user + (
        "" if parts.raw_password is None else ":" + parts.raw_password) + "@"
    query = "&".join(pair for pair, (key, _) in zip(parts.query.split("&"), parts.params, strict=False)
                     if key != "dbname") if parts.query else ""
    return f"{parts.scheme}://{userinfo}{parts.hostspec}/postgres" + (f"?{query}" if query else "")


class CannotConnect(psycopg.OperationalError):
    """No connection to the server could be made (`cause`: the attempt's own error), before any statement ran."""

    def __init__(self, cause: psycopg.Error) -> None:
        super().__init__(str(cause))
        self.cause = cause


class PgConnection(Connection):
    """A PostgreSQL connection from the process's pool, held while the store is open.

    A connection found broken (the server restarted, the network dropped, the backend was
    terminated) goes back to the pool, which discards it; the next statement takes a fresh one.
    """

    engine = POSTGRESQL

    def __init__(self, url: str, readonly: bool = False) -> None:
        self.url = url
        self.readonly = readonly
        self.pool = pool_for(url)
        self._conn: psycopg.Connection[Any] | None = None
        self._checkout()

    @property
    def raw(self) -> psycopg.Connection[Any]:
        return self._conn if self._conn is not None else self._checkout()

    def _checkout(self) -> psycopg.Connection[Any]:
        stats = self.pool.get_stats()
        if not stats.get("pool_size"):  # nothing connected yet (or every connection dropped): is the server there?
            why = probe(self.url)
            if why is not None:
                raise CannotConnect(why)
        try:
            conn = self.pool.getconn(timeout=QUICK_CHECKOUT_S)
        except psycopg_pool.PoolTimeout:
            # every connection busy, or the pooled ones dead and no new one made: a direct attempt says which
            why = probe(self.url)
            if why is not None:
                raise CannotConnect(why) from None
            conn = self.pool.getconn()  # the server answers: every connection is busy, wait for one
        if self.readonly:
            conn.execute("SET default_transaction_read_only = on")
        self._conn = conn
        return conn

    def _broken(self) -> None:
        """After an error: hand a dead connection back to the pool (which drops it)."""
        conn = self._conn
        if conn is not None and (conn.closed or conn.broken):
            self._conn = None
            try:
                self.pool.putconn(conn)
            except Exception:  # noqa: BLE001 - the pool may be closed already; the connection is dead anyway
                pass

    @property
    def backend_pid(self) -> int:
        return int(self.raw.info.backend_pid)

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        conn = self.raw
        try:
            return conn.execute(to_pg(sql), clean_params(params))
        except psycopg.Error:
            self._broken()
            raise

    def executemany(self, sql: str, rows: Iterable[Params]) -> Cursor:
        conn = self.raw
        cur = conn.cursor()
        try:
            cur.executemany(to_pg(sql), (clean_params(r) for r in rows))
        except psycopg.Error:
            self._broken()
            raise
        return cur

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                self.pool.putconn(conn)
            except Exception:  # noqa: BLE001 - a closed pool (the process is ending): close it ourselves
                conn.close()

    @property
    def in_transaction(self) -> bool:
        conn = self._conn
        return conn is not None and not conn.closed and \
            conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def begin(self) -> None:
        self.execute("BEGIN")

    def begin_snapshot(self) -> None:
        self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def rollback(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self.execute("ROLLBACK")

    def ids_in(self, param: str = "?") -> str:
        return f"IN (SELECT json_array_elements_text(CAST({param} AS json))::bigint)"

    def time_of(self, expr: str) -> str:
        return f"imr_time({expr})"

    def for_update(self, alias: str | None = None) -> str:
        return f" FOR UPDATE OF {alias}" if alias else " FOR UPDATE"

    def lock_letter(self, letter_id: int) -> None:
        self.execute("SELECT 1 FROM letters WHERE id = ? FOR UPDATE", (letter_id,))

    def nulls(self, descending: bool) -> str:
        return " NULLS LAST" if descending else " NULLS FIRST"


def wrap(conn: Connection | sqlite3.Connection) -> Connection:
    """An engine connection for `conn` (an `sqlite3.Connection` is wrapped as it is)."""
    return SqliteConnection(conn) if isinstance(conn, sqlite3.Connection) else conn
