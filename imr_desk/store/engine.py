"""One connection interface, two engines: an SQLite file, or a PostgreSQL server (no Qt).

The store calls `self.conn.execute(sql, params)` everywhere. The SQL is written once, in the common
dialect both engines speak (`?` and `:name` parameters, `INSERT ... RETURNING id`, `ON CONFLICT`,
`count(*) FILTER (WHERE ...)`), and `Connection` runs it on either engine:

- `SqliteConnection` passes it through to an `sqlite3.Connection` (autocommit mode; the store
  issues its own BEGIN/COMMIT);
- `PgConnection` (store/pg.py, imported only for a URL) runs it through psycopg 3 on a connection from the process's pool for that URL,
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
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeGuard

from imr_desk import urls
from imr_desk.store.storable import clean_params

if TYPE_CHECKING:  # psycopg is imported by store/pg.py, once a server's database is opened
    import psycopg

Params = Sequence[Any] | Mapping[str, Any]

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
URL_SCHEMES = urls.SCHEMES
CONNECT_TIMEOUT_S = 5  # how long one attempt to reach the server waits
POOL_MAX = 8  # connections one process keeps to one server database at most
QUICK_CHECKOUT_S = 2.0  # a pooled connection not ready by then: the server is asked directly why


def db_errors() -> tuple[type[Exception], ...]:
    """The errors either engine raises (classified by store/errors.py), for an `except` clause.

    psycopg is imported only when a server's database is opened (store/pg.py): until then no psycopg
    error can be raised, so SQLite's errors are all there is to catch."""
    pg = sys.modules.get("psycopg")
    return (sqlite3.Error,) if pg is None else (sqlite3.Error, pg.Error)


def is_pg_error(exc: BaseException) -> TypeGuard[psycopg.Error]:
    """Whether `exc` is a psycopg error (without importing psycopg for a process that never used it)."""
    pg = sys.modules.get("psycopg")
    return pg is not None and isinstance(exc, pg.Error)


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


def close_pools(url: str | None = None) -> None:
    """Close the process's PostgreSQL pools (for `url` only, if given): none exists unless a server was opened."""
    pg = sys.modules.get("imr_desk.store.pg")
    if pg is not None:
        pg.close_pools(url)


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


def wrap(conn: Connection | sqlite3.Connection) -> Connection:
    """An engine connection for `conn` (an `sqlite3.Connection` is wrapped as it is)."""
    return SqliteConnection(conn) if isinstance(conn, sqlite3.Connection) else conn
