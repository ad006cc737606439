"""What can go wrong with a review database, in words a clerk can act on.

Every error carries `clerk_message`: what happened and what to do. The window shows it in a message
box, the command line prints it as one line.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class StoreError(Exception):
    """A problem with the review database that the clerk must hear about."""

    def __init__(self, clerk_message: str) -> None:
        super().__init__(clerk_message)
        self.clerk_message = clerk_message


class NewerDatabase(StoreError):
    """The database was written by a newer IMR Desk."""


class NotADatabase(StoreError):
    """The file is not an IMR Desk database (or not SQLite at all)."""


class DatabaseLocked(StoreError):
    """Another program holds a write lock for longer than the busy timeout."""


class NotWritable(StoreError):
    """The database or its folder cannot be written."""


class DiskFull(StoreError):
    """The disk (or the database's size limit) is full."""


class LetterNotFound(StoreError):
    """No letter with that id (removed, or another database)."""


class LetterLeased(StoreError):
    """Another window holds the letter open for editing."""


class VersionConflict(StoreError):
    """The letter was saved by someone else since it was opened."""


def translate(exc: sqlite3.Error, path: Path | str, doing: str) -> StoreError:
    """Turn an SQLite error into a StoreError with a message that says what to do."""
    text = str(exc).lower()
    where = str(path)
    if "database or disk is full" in text or "disk i/o error" in text and "full" in text:
        return DiskFull(
            f"Could not {doing}: the disk holding {where} is full. Nothing was half-written; free some "
            "space (or move the database to a larger disk) and try again."
        )
    if "readonly" in text or "read-only" in text or "attempt to write a readonly database" in text:
        return NotWritable(
            f"Could not {doing}: {where} is read-only for you. Copy the database to a folder you can "
            "write to, or ask for write permission."
        )
    if "unable to open database" in text:
        return NotWritable(
            f"Could not open the database {where}: the file or its folder cannot be opened or created. "
            "Check that the folder exists and that you may write to it."
        )
    if "locked" in text or "busy" in text:
        return DatabaseLocked(
            f"Could not {doing}: the database {where} is busy (another IMR Desk or program is writing "
            "to it). Try again in a moment; if it persists, close the other program."
        )
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return NotADatabase(
            f"{where} is not a readable IMR Desk database ({exc}). Open a different file, or restore "
            "the database from a backup."
        )
    return StoreError(f"Could not {doing} in {where}: {exc}.")
