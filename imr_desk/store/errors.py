"""Known errors and bugs, told apart (qutebrowser's `KnownError`/`BugError` split).

A `ClerkError` is a condition the clerk can act on: the database busy, a full disk, a read-only
file, a database from a newer IMR Desk, a file that is not a database. Every one carries
`clerk_message`: what happened and what to do. The window shows it in its status bar or a message
box, the command line prints it as one line.

Anything else is a bug: it is never turned into a `ClerkError`. It keeps its own type and
traceback, goes to the log, and the window shows it as an internal error naming the log file.

SQLite errors are classified by their result code (`sqlite_errorname`, Python 3.11+), never by
the wording of their message, which changes between SQLite versions and locales.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import NoReturn


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
    return None


def raise_known(exc: sqlite3.Error, path: Path | str, doing: str) -> NoReturn:
    """Raise the `ClerkError` this SQLite error is; a bug's error is raised again as it is."""
    known = classify(exc, path, doing)
    if known is None:
        raise exc
    raise known from exc


def known_error(exc: BaseException, path: Path | str = "the database", doing: str = "do that") -> ClerkError | None:
    """`exc` as a `ClerkError` when it is a known condition (itself, or a classified SQLite error); else None."""
    if isinstance(exc, ClerkError):
        return exc
    if isinstance(exc, sqlite3.Error):
        return classify(exc, path, doing)
    return None
