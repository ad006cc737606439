"""Known errors and bugs, told apart (qutebrowser's `KnownError`/`BugError` split).

A `ClerkError` is a condition the clerk can act on: the database busy, a full disk, a read-only
file, a database from a newer IMR Desk, a file that is not a database. Every one carries
`clerk_message`: what happened and what to do. The window shows it in its status bar or a message
box, the command line prints it as one line.

Anything else is a bug: it is never turned into a `ClerkError`. It keeps its own type and
traceback, goes to the log, and the window shows it as an internal error naming the log file.

SQLite errors are classified by their result code (`sqlite_errorname`, Python 3.11+), never by
the wording of their message, which changes between SQLite versions and locales. PostgreSQL errors
(psycopg) by their SQLSTATE and exception class; a failed connection, which carries no SQLSTATE, by
what a second look finds (is anything listening at the address? does the same login open the
server's `postgres` database?), never by the server's words either.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from imr_desk import urls
from imr_desk.store import engine

if TYPE_CHECKING:  # psycopg is imported only once a server's database is opened (store/pg.py)
    import psycopg


class ClerkError(Exception):
    """A known condition the clerk must hear about; `clerk_message` says what happened and what to do."""

    def __init__(self, clerk_message: str) -> None:
        super().__init__(clerk_message)
        self.clerk_message = clerk_message


class StoreError(ClerkError):
    """A problem with the review database that the clerk must hear about."""


class NewerDatabase(StoreError):
    """The database was written by a newer IMR Desk."""


class NotADatabase(StoreError):
    """The file is not an IMR Desk database (or not SQLite at all, or damaged)."""


class DatabaseLocked(StoreError):
    """Another program holds the write lock (longer than this connection waits)."""


class NotWritable(StoreError):
    """The database or its folder cannot be written (or the file cannot be opened at all)."""


class NotReadable(NotWritable):
    """The file cannot be read by this user (its permissions, or its folder's)."""


class DiskFull(StoreError):
    """The disk (or the database's size limit) is full."""


class DamagedDatabase(StoreError):
    """SQLite's integrity check finds the database damaged: it is not written into."""


class DiskIOError(StoreError):
    """The operating system could not read or write the database file."""


class LetterNotFound(StoreError):
    """No letter with that id (removed, or another database)."""


class LetterLeased(StoreError):
    """Another window holds the letter open for editing."""


class VersionConflict(StoreError):
    """The letter was saved by someone else since it was opened."""


class ServerBusy(DatabaseLocked):
    """The server undid a transaction that met another clerk's (a deadlock, or a serialization failure):
    nothing was written, and running it again is safe (the store does, a few times)."""


class ServerUnreachable(StoreError):
    """Nothing answers at the PostgreSQL server's address (down, wrong host or port, no network)."""


class ServerLoginRefused(StoreError):
    """The server refused the login: a wrong password, no such role, or no password given."""


class NoSuchServerDatabase(StoreError):
    """The server has no database of that name (or the role may not connect to it)."""


class BadServerUrl(StoreError):
    """The server URL cannot be used as it is written (a port that is not a port, an unknown parameter)."""


class SslUnavailable(StoreError):
    """The URL asks for an encrypted connection (sslmode=require...) and the server offers none."""


class ServerCancelled(StoreError):
    """The server cancelled a statement (SQLSTATE 57014): its statement_timeout ran out, or it was cancelled."""


class ConnectionLost(StoreError):
    """The connection to the server broke during the work: nothing was half-written.

    The server rolled the transaction back, or (the connection lost after COMMIT reached it) committed
    it whole. The window's writer runs the write again when the server is back, with the operation id
    the store recorded in the write's transaction, so a write that landed is not written twice."""


RETRYABLE: tuple[type[StoreError], ...] = (DatabaseLocked, ConnectionLost, ServerUnreachable)
"""Conditions that pass: the same write, run again later, lands (the window's writer waits and retries)."""


# The SQLite primary result codes that are conditions of the clerk's machine, not bugs. Extended codes
# (SQLITE_BUSY_SNAPSHOT, SQLITE_READONLY_DIRECTORY, SQLITE_IOERR_WRITE, ...) are read by their primary.
_BUSY = {"SQLITE_BUSY", "SQLITE_LOCKED"}
_FULL = {"SQLITE_FULL"}
_READONLY = {"SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH"}
_CANTOPEN = {"SQLITE_CANTOPEN"}
_NOT_A_DATABASE = {"SQLITE_NOTADB", "SQLITE_CORRUPT"}
_IO = {"SQLITE_IOERR"}


def sqlite_code(exc: sqlite3.Error) -> str | None:
    """The primary result code's name of an SQLite error ("SQLITE_BUSY" for SQLITE_BUSY_SNAPSHOT), if any."""
    name = getattr(exc, "sqlite_errorname", None)
    if not name:
        return None
    parts = str(name).split("_")
    return "_".join(parts[:2])


def classify(exc: sqlite3.Error, path: Path | str, doing: str) -> ClerkError | None:
    """The `ClerkError` an SQLite error is, with a message that says what to do; None for a bug."""
    code = sqlite_code(exc)
    where = str(path)
    if code in _BUSY:
        return DatabaseLocked(
            f"Could not {doing}: the database {where} is busy (another IMR Desk or program is writing "
            "to it). Try again in a moment; if it persists, close the other program."
        )
    if code in _FULL:
        return DiskFull(
            f"Could not {doing}: the disk holding {where} is full. Nothing was half-written; free some "
            "space (or move the database to a larger disk) and try again."
        )
    if code in _READONLY:
        return NotWritable(
            f"Could not {doing}: {where} is read-only for you. Copy the database to a folder you can "
            "write to, or ask for write permission."
        )
    if code in _CANTOPEN:
        return NotWritable(
            f"Could not {doing}: the database {where} or its folder cannot be opened or created. "
            "Check that the folder exists and that you may write to it."
        )
    if code in _NOT_A_DATABASE:
        return NotADatabase(
            f"{where} is not a readable IMR Desk database (SQLite says: {exc}). Open a different file, or "
            "restore the database from a backup or the last export."
        )
    if code in _IO:
        return DiskIOError(
            f"Could not {doing}: the system could not read or write {where} (a disk error, a removed drive "
            "or a network folder gone away). Check the disk, then try again; nothing was half-written."
        )
    if code is None and isinstance(exc, sqlite3.OperationalError) and str(exc).startswith("Could not decode to UTF-8"):
        return NotADatabase(  # Python's sqlite3 reading a text that is no UTF-8; its own text quotes the letter's
            f"{where} holds a text that is not UTF-8 (written by another program, or damage), so IMR Desk cannot "
            "read it; nothing was changed. A copy of the database into a new one (imr-desk copy --from "
            f"{where} --to NEW.db) keeps every letter that can be read and names the others."
        )
    return None


# SQLSTATE classes and codes (PostgreSQL's appendix A) that are conditions, not bugs
_PG_LOST = {"57P01", "57P02", "57P03"}  # admin_shutdown (a terminated backend), crash_shutdown, cannot_connect_now
_PG_RETRY = {"40001", "40P01", "55P03"}  # serialization_failure, deadlock_detected, lock_not_available
_PG_DENIED = {"42501"}  # insufficient_privilege
_PG_READONLY = {"25006"}  # read_only_sql_transaction
_PG_FULL = {"53100"}  # disk_full
_PG_CANCELLED = {"57014"}  # query_canceled: statement_timeout, or pg_cancel_backend


def classify_pg(exc: psycopg.Error, target: str, doing: str) -> ClerkError | None:
    """The `ClerkError` a psycopg error is; None for a bug (a syntax error, a violated constraint...)."""
    import psycopg  # loaded already: a psycopg error was raised

    from imr_desk.store.pg import CannotConnect

    if isinstance(exc, CannotConnect):
        return connect_failure(exc.cause, target)
    where = engine.display_name(target)
    host, port = engine.server_address(target)
    server = f"the database server at {host}:{port}" if urls.is_server_url(target) else "the database server"
    code = exc.sqlstate or ""
    if code in _PG_LOST or code.startswith("08") or (code == "" and isinstance(exc, psycopg.OperationalError)
                                                     and _connection_gone(exc)):
        return ConnectionLost(
            f"Could not {doing}: the connection to {server} was lost. A change "
            "lands whole or not at all, so nothing was half-written; IMR Desk tries again when the server is "
            "back (if it does not come back, check the network or ask whoever runs the server)."
        )
    if code in _PG_RETRY:
        return ServerBusy(
            f"Could not {doing}: another clerk was changing the same letters on {where} at the same moment. "
            "Nothing was saved; try again (the window does so by itself)."
        )
    if code in _PG_DENIED:
        role = _role_of(target)
        return NotWritable(
            f"Could not {doing}: the database role {role} may not do that on {where}. Ask whoever runs the server "
            f"to grant it, e.g. GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}; "
            f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}. Nothing was changed."
        )
    if code in _PG_READONLY:
        return NotWritable(f"Could not {doing}: {where} was opened for reading only. Nothing was changed.")
    if code in _PG_FULL:
        return DiskFull(
            f"Could not {doing}: the database server's disk is full. Nothing was half-written; ask whoever runs "
            "the server to free some space, then try again."
        )
    if code in _PG_CANCELLED:
        limit = "statement_timeout" in (urls.parse(target).param("options") or "")
        ask = ("remove statement_timeout from the URL's options (or raise it), or ask whoever runs the server"
               if limit else "ask whoever runs the server whether its statement_timeout can be raised")
        return ServerCancelled(
            f"Could not {doing}: {server} cancelled it: it ran longer than the server's "
            f"time limit for one statement (statement_timeout) allows, or someone cancelled it. Nothing was "
            f"half-written; try again, and if it happens again {ask}."
        )
    return None


def _connection_gone(exc: psycopg.OperationalError) -> bool:
    """Whether an error without SQLSTATE is the connection itself failing (it is closed or broken now)."""
    conn = getattr(exc, "pgconn", None)
    if conn is None:
        return True  # no connection was made at all
    return int(getattr(conn, "status", 0)) != 0  # libpq's CONNECTION_OK is 0


def _role_of(target: str) -> str:
    import os

    return urls.parse(target).user or os.environ.get("PGUSER") or "(your login name)"


def connect_failure(exc: psycopg.Error, target: str) -> StoreError:
    """Why a connection to the server `target` could not be made, in the clerk's words."""
    from imr_desk.store.pg import probe

    host, port = engine.server_address(target)
    where = engine.display_name(target)
    parts = urls.parse(target)
    dbname = parts.dbname or "(the default database)"
    if not engine.reachable(target):
        return ServerUnreachable(
            f"Cannot reach the database server at {host}:{port}: nothing answers there (the server is down, the "
            "address is wrong, or the network is out). Check the network or ask whoever runs the server; nothing "
            "was changed."
        )
    asked = parts.ssl_asked
    if asked is not None and engine.offers_ssl(target) is False:
        source = "the environment" if asked.startswith("PGSSLMODE") else "the URL"
        return SslUnavailable(
            f"The database server at {host}:{port} does not offer encrypted (SSL) connections, and {source} asks "
            f"for one ({asked}). Ask whoever runs the server to turn SSL on, or, on a network you trust, remove "
            f"{asked} from {source}; nothing was changed."
        )
    if probe(engine.maintenance_url(target)) is None:
        return NoSuchServerDatabase(
            f"The database server at {host}:{port} has no database “{dbname}” (or your role may not connect to "
            f"it). Check the name in {where}, or ask whoever runs the server to create it (CREATE DATABASE "
            f"{dbname}) and grant you CONNECT on it; nothing was changed."
        )
    reason = _refusal_reason(exc)
    if reason is not None:  # not the login: a parameter's value, or what the URL asks the server for
        return BadServerUrl(
            f"The database server at {host}:{port} did not accept the connection as {where} sets it up: {reason}. "
            "Correct the URL's parameters (or ask whoever runs the server what they must be); nothing was changed."
        )
    role = _role_of(target)
    pgconn = getattr(exc, "pgconn", None)
    if pgconn is not None and getattr(pgconn, "needs_password", False):
        hint = "It needs a password: put it in your password file (~/.pgpass) or the PGPASSWORD variable."
    else:
        hint = "Check the password (in the URL, ~/.pgpass or PGPASSWORD) and the role's name with whoever runs the server."
    return ServerLoginRefused(
        f"The database server at {host}:{port} refused the login as {role} (a wrong password, or no such role). "
        f"{hint} Nothing was changed."
    )


# what libpq or the server says when the login itself is refused (a wrong password, no such role, pg_hba.conf)
_LOGIN_REFUSED = re.compile(r"password|role .* does not exist|authentication failed|pg_hba\.conf|fe_sendauth", re.I)


def _refusal_reason(exc: psycopg.Error) -> str | None:
    """libpq's reason for a refused connection when it is not the login ("invalid sslmode value", "unrecognized
    configuration parameter", "session is not read-only"), as one short line; None for a refused login or no text.
    libpq's connection messages quote a parameter's value at most, never a password (and a URL is redacted)."""
    text = " ".join(str(exc).split())
    if not text or _LOGIN_REFUSED.search(text):
        return None
    reason = re.sub(r"^connection (?:failed|is bad): (?:connection to server (?:at|on) .*? failed: )?", "", text)
    reason = reason.removeprefix("FATAL: ").strip()
    return urls.redact_text(reason)[:200] or None


def check_server_url(url: str) -> None:
    """Refuse a server URL that cannot work as written (`BadServerUrl`, naming what is wrong), before connecting."""
    why = urls.problem(url)
    if why is not None:
        raise BadServerUrl(f"Cannot use the database {engine.display_name(url)}: {why}. Correct the URL; nothing "
                           "was changed.")


def raise_known(exc: Exception, path: Path | str, doing: str) -> NoReturn:
    """Raise the `ClerkError` this database error is; a bug's error is raised again as it is."""
    known = known_error(exc, path, doing)
    if known is None:
        raise exc
    raise known from exc


def known_error(exc: BaseException, path: Path | str = "the database", doing: str = "do that") -> ClerkError | None:
    """`exc` as a `ClerkError` when it is a known condition (itself, or a classified SQLite error); else None."""
    if isinstance(exc, ClerkError):
        return exc
    if isinstance(exc, sqlite3.Error):
        return classify(exc, path, doing)
    if engine.is_pg_error(exc):
        return classify_pg(exc, str(path), doing)
    return None
