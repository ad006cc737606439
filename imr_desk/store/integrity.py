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


NOT_UTF8 = "is not UTF-8 text"


def not_utf8_problems(conn: sqlite3.Connection, most: int = 20) -> list[str]:
    """The texts (up to `most`) that are not UTF-8: SQLite stores what it is given, and Python's sqlite3 cannot
    read such a row back (search, export and copy fail on it). Names the table, column and row, never the text."""
    found: list[str] = []
    tables = conn.execute("SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'table' "
                          "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").fetchall()
    virtual = [name for name, sql in tables if sql.upper().startswith("CREATE VIRTUAL")]
    for table, _sql in tables:  # a full-text index's tables hold its own encoding: not texts of ours
        if table in virtual or any(table.startswith(f"{v}_") for v in virtual):
            continue
        for column in [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]:
            text = f'CAST("{column}" AS BLOB) FROM "{table}" WHERE typeof("{column}") = \'text\''
            try:
                rows = conn.execute(f"SELECT 'row ' || rowid, {text}").fetchall()
            except sqlite3.OperationalError:  # a table WITHOUT ROWID
                rows = conn.execute(f"SELECT 'a row', {text}").fetchall()
            for row, value in rows:
                try:
                    bytes(value).decode("utf-8")
                except UnicodeDecodeError:
                    found.append(f"{table}.{column} of {row} {NOT_UTF8} (written by another program, or damage)")
                    if len(found) >= most:
                        return found
    return found


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
    if found and all(NOT_UTF8 in problem for problem in found):  # sound pages: no damage to spread by writing
        return (f"{path} holds text that is not UTF-8 ({what}): the letters it belongs to cannot be read, searched, "
                f"exported or copied. A copy into a new database (imr-desk copy --from {path} --to NEW.db) keeps "
                "every letter that can be read and names the others; or import your last JSON Lines export into a "
                f"new database (imr-desk import LAST.jsonl --db NEW.db).{where}{then}")
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


SQLITE_HEADER = b"SQLite format 3\x00"


def full_check(path: Path) -> tuple[list[str], dict[str, int]]:
    """Everything wrong with the database at `path` (SQLite's integrity and foreign-key checks, its
    shape), read-only; and what it holds (schema version, letters) when it could be read.

    What is not damage is not called damage: a file this user may not read raises `NotReadable`, a
    file that is no IMR Desk database (text, zeros, another program's SQLite file) `NotADatabase`,
    each with its own message; a sound database in a folder this user cannot write is read as it is.
    """
    from urllib.parse import quote

    path = Path(path)
    _refuse_what_is_not_damage(path)
    problems: list[str] = []
    facts: dict[str, int] = {}
    base = f"file:{quote(str(path.resolve()))}?mode=ro"
    # a WAL database needs its shared-memory file even to be read; where that cannot be made (a read-only
    # folder) SQLite reads the file as it is ("immutable"), as the store's read-only opening does
    uris = [base, base + "&immutable=1"] if not os.access(path.parent, os.W_OK) else [base]
    for uri in uris:
        problems, facts = [], {}
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None)
        except sqlite3.Error as exc:
            problems = [f"it cannot be opened ({exc})"]
            continue
        try:
            _full_check(conn, path, problems, facts)
        finally:
            conn.close()
        if not (problems and problems[0].startswith("it cannot be read (")):
            break
    return problems, facts


def _refuse_what_is_not_damage(path: Path) -> None:
    """Raise `NotReadable` or `NotADatabase` for a file whose trouble is not damage (see `full_check`)."""
    from imr_desk.store.errors import NotADatabase, NotReadable

    if not os.access(path, os.R_OK) or (path.parent != path and not os.access(path.parent, os.X_OK)):
        raise NotReadable(f"{path} cannot be read here (permissions): this user may not read the file. Nothing "
                          "was checked; run the check as a user who may read it, or ask for read permission.")
    try:
        with open(path, "rb") as f:
            head = f.read(100)
            zeros = not head.strip(b"\x00") and _all_zero(f)
    except PermissionError as exc:
        raise NotReadable(f"{path} cannot be read here (permissions: {exc.strerror}). Nothing was checked.") from exc
    if head.startswith(SQLITE_HEADER):
        try:
            conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro&immutable=1", uri=True, isolation_level=None)
            try:
                app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
                tables = [r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name LIMIT 6")]
            finally:
                conn.close()
        except sqlite3.Error:
            return  # the header says SQLite, the file cannot be read as it: damage, which the check lists
        if app_id != schema.APPLICATION_ID and (app_id != 0 or "letters" not in tables):
            listed = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "") if tables else "none"
            raise NotADatabase(f"{path} is not an IMR Desk database: it is an SQLite database of another program "
                               f"(application id {app_id}, tables: {listed}). Nothing was checked; give the path of "
                               "an IMR Desk database.")
        return
    what = "it is an empty file (0 bytes)" if not head else ("it begins with nothing but zero bytes, not an SQLite file's header (a preallocated or sparse file, or "
            "one whose start was wiped)" if zeros else "it is not an SQLite file at all (it does not start as one does)")
    raise NotADatabase(f"{path} is not an IMR Desk database: {what}. Nothing was checked; give the path of an IMR "
                       "Desk database. If this was your database, recover from your last export or a backup.")


def _all_zero(f: object, chunk: int = 1 << 20, limit: int = 64 << 20) -> bool:
    """Whether the rest of an open file (its first `limit` bytes) is zero bytes."""
    read = 0
    while read < limit and (block := f.read(chunk)):  # type: ignore[attr-defined]
        if block.strip(b"\x00"):
            return False
        read += len(block)
    return True


def _full_check(conn: sqlite3.Connection, path: Path, problems: list[str], facts: dict[str, int]) -> None:
    try:
        facts["schema"] = schema.version_of(conn)
        if schema.application_id_of(conn) != schema.APPLICATION_ID:
            problems.append("it is not an IMR Desk database (its application id is not IMR Desk's)")
        problems += [f"integrity check: {line}" for r in conn.execute("PRAGMA integrity_check(100)")
                     if r[0] != "ok" for line in str(r[0]).splitlines() if not line.startswith("***")]
        problems += [f"foreign key check: a row of {r[0]} (rowid {r[1]}) names a missing row of {r[2]}"
                     for r in conn.execute("PRAGMA foreign_key_check").fetchmany(20)]
        problems += shape_problems(conn)
        if not problems:  # sound pages can still hold a text that is no UTF-8, which no read of it survives
            problems += not_utf8_problems(conn)
        if not problems:
            facts["letters"] = int(conn.execute("SELECT count(*) FROM letters").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        problems.append(f"it cannot be read ({exc})")
