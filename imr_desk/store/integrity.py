"""Is this file a sound review database? SQLite's integrity checks, and the tables the schema expects.

A database with damaged pages (a bad disk, a copy cut short, a stray program writing into it) must
not be written into: every write could spread the damage over letters that are still sound. So a
database opened for writing gets SQLite's `quick_check` first (every page read once: about half a
second for 600 MB), once per process; `imr-desk check` runs the full `integrity_check` and the
foreign-key check. A file whose tables are not those its schema version says (a pre-release layout
that claims the current version) is refused by its shape before anything reads a missing table.
"""

from __future__ import annotations

import os
import sqlite3
import time
from functools import cache
from pathlib import Path

from imr_desk.store import schema
from imr_desk.store.errors import DamagedDatabase

_CHECKED: dict[tuple[str, int], float] = {}
_RECHECK_AFTER_S = 600.0


@cache
def expected_shape(version: int) -> dict[str, frozenset[str]]:
    """The tables (and their columns) a database at `version` has, as the migrations make them."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        schema.migrate(conn, upto=version)
        return shape_of(conn)
    finally:
        conn.close()


def shape_of(conn: sqlite3.Connection) -> dict[str, frozenset[str]]:
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {t: frozenset(r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')) for t in tables}


def shape_problems(conn: sqlite3.Connection) -> list[str]:
    """What a database lacks of the tables and columns its schema version promises ([] when none)."""
    version = schema.version_of(conn)
    if version == 0 or version > schema.SCHEMA_VERSION:
        return []
    have = shape_of(conn)
    problems = []
    for table, columns in sorted(expected_shape(version).items()):
        if table not in have:
            problems.append(f"it has no table {table}")
        elif missing := sorted(columns - have[table]):
            problems.append(f"its table {table} has no column {', '.join(missing)}")
    return problems


def refuse_prerelease(conn: sqlite3.Connection, path: Path) -> None:
    problems = shape_problems(conn)
    if problems:
        from imr_desk.store.errors import NotADatabase

        raise NotADatabase(
            f"{path} says it is an IMR Desk database of schema {schema.version_of(conn)}, but {problems[0]}"
            f"{f' (and {len(problems) - 1} more differences)' if len(problems) > 1 else ''}: it was made by a "
            "pre-release IMR Desk whose layout never shipped. It was not changed. Export its letters with the "
            "version that made it and import that export here, or start a new database.")


def quick_check(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse (`DamagedDatabase`) a database whose pages SQLite's quick check finds damaged; once per process."""
    try:
        st = os.stat(path)
        key = (str(Path(path).resolve()), st.st_ino)
    except OSError:
        key = (str(path), 0)
    if time.monotonic() - _CHECKED.get(key, -_RECHECK_AFTER_S) < _RECHECK_AFTER_S:
        return
    try:
        found = [line for r in conn.execute("PRAGMA quick_check(5)") for line in str(r[0]).splitlines()
                 if not line.startswith("***")]
    except sqlite3.DatabaseError as exc:  # too damaged to even be checked
        found = [str(exc)]
    if found != ["ok"]:
        raise DamagedDatabase(damaged_message(conn, path, found))
    _CHECKED[key] = time.monotonic()


def damaged_message(conn: sqlite3.Connection | None, path: Path, found: list[str], listed: bool = False) -> str:
    """What is wrong and how to recover; `listed`: the problems were just listed (by `imr-desk check`)."""
    last = _last_export(conn) if conn is not None else None
    where = (f" The last export recorded in it: {last[0]} ({last[1]}, {last[2]})." if last else "")
    if listed:
        what = f"{len(found)} problem{'s' if len(found) != 1 else ''}, listed above"
        then = ""
    else:
        first = found[0] if found else "damaged"
        what = f"SQLite's integrity check: {first.removeprefix('integrity check: ')[:160]}"
        then = f" `imr-desk check --db {path}` lists the damage."
    return (f"{path} is damaged ({what}), so IMR Desk will not write into it: "
            "every write could spread the damage. To recover, keep this file as it is and import your last "
            f"JSON Lines export into a new database (imr-desk import LAST.jsonl --db NEW.db), or open your last "
            f"SQLite export (imr-desk --db EXPORT.db), or a backup.{where}{then}")


def _last_export(conn: sqlite3.Connection) -> tuple[str, str, str] | None:
    try:
        row = conn.execute("SELECT destination, format, at FROM exports ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return None
    return (str(row[0]), str(row[1]), str(row[2])) if row else None


def full_check(path: Path) -> tuple[list[str], dict[str, int]]:
    """Everything wrong with the database at `path` (SQLite's integrity and foreign-key checks, its
    shape), read-only; and what it holds (schema version, letters) when it could be read."""
    from urllib.parse import quote

    problems: list[str] = []
    facts: dict[str, int] = {}
    try:
        conn = sqlite3.connect(f"file:{quote(str(Path(path).resolve()))}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        return [f"it cannot be opened ({exc})"], facts
    try:
        try:
            facts["schema"] = schema.version_of(conn)
            if schema.application_id_of(conn) != schema.APPLICATION_ID:
                problems.append("it is not an IMR Desk database (its application id is not IMR Desk's)")
            problems += [f"integrity check: {line}" for r in conn.execute("PRAGMA integrity_check(100)")
                         if r[0] != "ok" for line in str(r[0]).splitlines() if not line.startswith("***")]
            problems += [f"foreign key check: a row of {r[0]} (rowid {r[1]}) names a missing row of {r[2]}"
                         for r in conn.execute("PRAGMA foreign_key_check").fetchmany(20)]
            problems += shape_problems(conn)
            if not problems:
                facts["letters"] = int(conn.execute("SELECT count(*) FROM letters").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            problems.append(f"it cannot be read ({exc})")
    finally:
        conn.close()
    return problems, facts
