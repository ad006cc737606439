"""The log file: where the window and the command line write what went wrong (no Qt here).

A bug's traceback goes here, from the window and from the command line alike; what the clerk sees
names this file. Nothing secret is written here (`PrivateFormatter`): every server URL loses its
password, and a database error's text, which can quote a letter's data, is replaced by its class and
code, wherever the line got them from.
"""

from __future__ import annotations

import logging
import logging.handlers
import sqlite3
from pathlib import Path

from imr_desk import paths, urls

LOG_NAME = "imr-desk.log"


def log_path() -> Path:
    """The log file (it may not exist yet)."""
    return paths.log_dir() / LOG_NAME


def setup_logging() -> Path:
    """Log to a rotating file in the log folder (its owner's only: it names letters); returns the file."""
    path = log_path()
    paths.private_dir(path.parent)
    root = logging.getLogger("imr_desk")
    if not any(isinstance(h, logging.handlers.RotatingFileHandler) and Path(h.baseFilename) == path
               for h in root.handlers):
        paths.private_file(path)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(PrivateFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        # psycopg's pool warns of a connection it drops (a server that stopped): into the log, never onto the
        # terminal under the one-line error (a logger with no handler is printed by Python's last resort)
        libraries = logging.getLogger("psycopg")
        libraries.addHandler(handler)
        libraries.setLevel(logging.WARNING)
    return path


class PrivateFormatter(logging.Formatter):
    """A log line without secrets or letter data: a server URL anywhere in it is redacted (`urls.redact_text`),
    and a database error given to it (as an argument, or in the exception's chain) shows as its class and
    code (`errors.describe_error`), not as its text."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for exc in _database_errors(record):
            for said in (repr(exc), str(exc), repr(str(exc))[1:-1]):  # as %r, %s, or inside a repr
                if said:
                    text = text.replace(said, describe_error(exc))
        return urls.redact_text(text)


def private_traceback(exc: BaseException) -> str:
    """An error's traceback as the log has it (no password, no database error's text): for showing or sending."""
    record = logging.LogRecord("imr_desk", logging.ERROR, "", 0, "", None, (type(exc), exc, exc.__traceback__))
    return PrivateFormatter("%(message)s").format(record).strip("\n")


def _database_errors(record: logging.LogRecord) -> list[BaseException]:
    """The database errors a log record carries: in its arguments and in its exception's chain."""
    found: list[BaseException] = []
    args = record.args.values() if isinstance(record.args, dict) else (record.args or ())
    todo = [a for a in args if isinstance(a, BaseException)]
    if record.exc_info and record.exc_info[1] is not None:
        todo.append(record.exc_info[1])
    seen: set[int] = set()
    while todo:
        exc = todo.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        if is_database_error(exc):
            found.append(exc)
        todo.extend(e for e in (exc.__cause__, exc.__context__, getattr(exc, "cause", None), getattr(exc, "error", None))
                    if isinstance(e, BaseException))
    return found


def is_database_error(exc: BaseException) -> bool:
    """Whether `exc` is SQLite's or PostgreSQL's (psycopg's) error: one whose text can quote the data.

    psycopg's are told by the module their classes come from, so logging never imports the server's
    driver (a clerk on a file never loads it)."""
    if isinstance(exc, sqlite3.Error):
        return True
    return any(cls.__module__.partition(".")[0] == "psycopg" for cls in type(exc).__mro__)


def describe_error(exc: BaseException) -> str:
    """What an error may say in a log line or a message: for a database error its class and code only (its
    text can quote the data: SQLite's "Could not decode ... with text '...'", PostgreSQL's DETAIL with a
    row's values); for any other error its class and text, with any server URL's password removed."""
    name = type(exc).__name__
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorname", None)
        if code:
            return f"{name} ({code})"
        return f"{name} (raised by Python's sqlite3 module, e.g. a text in the database that is not UTF-8)"
    if is_database_error(exc):
        code = getattr(exc, "sqlstate", None)
        return f"{name} (SQLSTATE {code})" if code else f"{name} (no SQLSTATE: the connection failed)"
    text = urls.redact_text(str(exc))
    return f"{name}: {text}" if text else name
