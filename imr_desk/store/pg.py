"""The PostgreSQL side of store/engine.py: `PgConnection` over psycopg 3 and the process's connection pools.

Imported only when a postgresql:// URL is opened, so a clerk working on a file never loads psycopg
(`engine.db_errors` and `engine.is_pg_error` tell psycopg's errors apart without importing it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import Any

import psycopg
import psycopg_pool

from imr_desk import urls
from imr_desk.store.engine import (
    CONNECT_TIMEOUT_S,
    POOL_MAX,
    POSTGRESQL,
    QUICK_CHECKOUT_S,
    Connection,
    Cursor,
    Params,
    display_name,
    to_pg,
)
from imr_desk.store.storable import clean_params

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
