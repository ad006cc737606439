"""Exporting a set of letters: choose, write into a staging folder, put in place, record.

The order is what makes an export safe:

1. check the destination: its folder exists and is writable; it does not exist yet unless `force`;
   it is never the database being exported, one of its -wal/-shm/-journal files or (CSV) a folder
   holding it, even with `force`; and `force` replaces a CSV folder only when it is an earlier IMR
   Desk CSV export (its manifest.json and nothing but letters.csv, items.csv, annotations.csv).
   With `force` a single-file export replaces the file (and, for SQLite, the old file's -wal/-shm/
   -journal, which SQLite would otherwise apply to the new one). Checked again just before step 4;
2. choose the set and read it in one read transaction (a consistent snapshot, even while clerks
   keep saving), writing every file into a staging folder beside the destination;
3. write the manifest (filter, count, who, when, application version, sha256 of every file);
4. move the files into place (atomic renames), data files first, manifest last;
5. record the export (at the time it started) and the letters it carried (exports, letter_exports)
   in one transaction, so the next "only new" export leaves them out until they are reviewed again.

A failure or a cancel before step 4 leaves nothing at the destination.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import stat
import sys
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imr_desk import __version__
from imr_desk.export.csv_format import FILES as CSV_FILES
from imr_desk.export.csv_format import CsvWriter
from imr_desk.export.jsonl_format import LINE_SCHEMA, JsonlWriter
from imr_desk.export.safety import (
    ExportCancelled,
    ExportError,
    Staging,
    check_destination,
    check_not_the_database,
    check_replaceable_folder,
    database_files,
    publish_file_mode,
    remove_sidecars,
    sha256_of,
)
from imr_desk.export.selection import ExportSet, iter_letters, select_ids
from imr_desk.export.sqlite_format import SqliteWriter
from imr_desk.store.database import LetterStore
from imr_desk.store.engine import db_errors
from imr_desk.store.errors import DiskFull, DiskIOError, NotWritable, StoreError, raise_known


class _NotLoaded(Exception):
    """Stands in for lxml's error while lxml is not loaded (never raised)."""


def _lxml_error() -> type[Exception]:
    """lxml's SerialisationError: openpyxl writes its sheets through lxml when it is installed, so a full disk is
    lxml's error then. Looked up, not imported: until an Excel export loads lxml, none can be raised."""
    etree = sys.modules.get("lxml.etree")
    return getattr(etree, "SerialisationError", _NotLoaded)


log = logging.getLogger(__name__)

FORMATS = ("csv", "jsonl", "xlsx", "sqlite")
FORMAT_NAMES = {"csv": "CSV (a folder of .csv files)", "jsonl": "JSON Lines (.jsonl)", "xlsx": "Excel (.xlsx)",
                "sqlite": "SQLite database (.db)"}
SUFFIXES = {"csv": "", "jsonl": ".jsonl", "xlsx": ".xlsx", "sqlite": ".db"}
MANIFEST_SCHEMA = "imr-desk/export-manifest/1"
CSV_MANIFEST = "manifest.json"

Progress = Callable[[int, int], Any]


class NothingToExport(ExportError):
    """No letter matches the set's filter."""


@dataclass
class ExportResult:
    format: str
    destination: Path  # the folder (CSV) or the data file
    manifest_path: Path
    files: list[Path]  # every file written, the manifest last
    count: int
    items: int
    annotations: int
    export_id: int | None  # None until the export is recorded (see `record`)
    manifest: dict[str, Any] = field(repr=False)
    record: ExportRecord | None = field(default=None, repr=False)  # the bookkeeping still to write, if any

    def summary(self) -> str:
        return (f"Exported {self.count} letter(s), {self.items} item(s) and {self.annotations} annotation(s) "
                f"to {self.destination}.")


@dataclass
class ExportRecord:
    """What an export writes into the database about itself: one `exports` row, a `letter_exports` row a letter."""

    format: str
    selection: ExportSet
    started: dt.datetime
    count: int
    manifest: dict[str, Any]
    destination: Path
    carried: array[int]  # the ids of the letters written, packed (8 bytes a letter)


def normalise_destination(fmt: str, destination: str | Path) -> Path:
    """The destination as it will be written: absolute, with the format's suffix when it has none."""
    path = Path(destination).expanduser()
    suffix = SUFFIXES[fmt]
    if suffix and not path.suffix:
        path = path.with_name(path.name + suffix)
    return path.absolute()


def manifest_path_for(fmt: str, destination: Path) -> Path:
    """Where the manifest goes: inside the CSV folder, else beside the file and named after it, format and all
    (out.jsonl -> out.jsonl.manifest.json), so exports of one set in two formats each keep their own."""
    if fmt == "csv":
        return destination / CSV_MANIFEST
    return destination.with_name(destination.name + ".manifest.json")


def export_set(db: LetterStore, fmt: str, destination: str | Path, selection: ExportSet | None = None, *,
               force: bool = False, progress: Progress | None = None, cancel: Any = None,
               record: bool = True) -> ExportResult:
    """Export the letters `selection` chooses from `db` (an imr_desk.store.Database) as `fmt` to `destination`.

    `progress(done, total)` is called as letters are written; `cancel` (a threading.Event or anything
    with `is_set()`) stops the export, leaving nothing at the destination. Raises ExportError (with
    `clerk_message`) when the export cannot be made.

    With `record=False` the export writes nothing into the database (`db` may be opened read-only):
    `result.record` is the bookkeeping for `record_export`, which the window runs on its writer.
    """
    if fmt not in FORMATS:
        raise ExportError(f"Unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}.")
    selection = selection if selection is not None else ExportSet()
    dest = normalise_destination(fmt, destination)
    manifest_path = manifest_path_for(fmt, dest)
    _check(fmt, dest, manifest_path, getattr(db, "path", None), force)

    started = dt.datetime.now(dt.UTC)
    conn = db.conn
    own_read = not conn.in_transaction
    try:
        if own_read:
            conn.begin_snapshot()  # one snapshot for choosing and reading the set
        try:
            ids = select_ids(conn, selection)
            if not ids:
                raise NothingToExport(f"No letters match this set ({selection.describe()}). Nothing was written.")
            with Staging(dest) as staging:
                written, counts, carried = _write(db, fmt, dest, staging, ids, progress, cancel)
                manifest = _manifest(db, fmt, selection, started, counts, [staging.path(n) for n in written])
                _write_json(staging.path(manifest_path.name), manifest)
                for name in [*written, manifest_path.name]:
                    publish_file_mode(staging.path(name))
                if cancel is not None and cancel.is_set():
                    raise ExportCancelled()
                _check(fmt, dest, manifest_path, getattr(db, "path", None), force)  # again: the export took a while
                if fmt == "csv":
                    staging.commit_folder(dest)
                    files = [dest / n for n in written] + [manifest_path]
                else:
                    moves = [(n, dest.with_name(n) if n != dest.name else dest) for n in written]
                    moves.append((manifest_path.name, manifest_path))
                    if fmt == "sqlite":
                        remove_sidecars(dest)
                    staging.commit_files(moves)
                    files = [final for _n, final in moves]
        finally:
            if own_read and conn.in_transaction:
                conn.commit()
    except db_errors() as exc:
        raise_known(exc, db.target, "read the letters to export")
    except (OSError, DiskFull, NotWritable, DiskIOError, _lxml_error()) as exc:
        raise _write_failure(exc, dest) from exc

    bookkeeping = ExportRecord(fmt, selection, started, counts["letters"], manifest, dest, carried)
    result = ExportResult(format=fmt, destination=dest, manifest_path=manifest_path, files=files,
                          count=counts["letters"], items=counts["items"], annotations=counts["annotations"],
                          export_id=None, manifest=manifest, record=bookkeeping)
    if record:
        result.export_id = record_export(db, bookkeeping)
        result.record = None
    return result


_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _write_failure(exc: BaseException, dest: Path) -> Exception:
    """What went wrong writing the export's files, as one known error naming the destination (never the
    staging folder): a full disk in every format alike, whatever raised it (the system, SQLite, lxml)."""
    serialisation_error = _lxml_error()
    if isinstance(exc, serialisation_error) and not str(exc).startswith("IO_"):
        return exc  # lxml refusing what it was given is a bug, not a condition of the disk
    full = (isinstance(exc, DiskFull) or (isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS)
            or (isinstance(exc, serialisation_error) and "ENOSPC" in str(exc)))
    if full:
        return ExportError(f"Could not write the export to {dest}: the disk is full. Nothing was written; free some "
                           "space there (or choose a folder on another disk) and try again.")
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else (
        "the system could not write the file" if not isinstance(exc, OSError) else str(exc))
    return ExportError(f"Could not write the export to {dest}: {why}. Nothing was written; check the "
                       "destination (space, permissions) and try again.")


_SYSTEM_FOLDERS = (Path("/dev"), Path("/proc"), Path("/sys"))


def _refuse_device(targets: list[Path]) -> None:
    """An export is files in a folder: never a device, a pipe or a socket, nor anything in /dev, /proc or /sys
    (`-o /dev/null` would write /dev/null.jsonl and a manifest into /dev)."""
    for target in targets:
        folder = target.parent.resolve()
        if any(folder == f or f in folder.parents for f in _SYSTEM_FOLDERS):
            raise ExportError(f"{target} is in {folder}, a folder of the system's devices or processes, not one for "
                              "files: an export is written as files. Choose a file name in a folder of yours.")
        try:
            mode = target.stat().st_mode
        except OSError:
            continue
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise ExportError(f"{target} is a device, a pipe or a socket, not a file: an export is written as files "
                              "(with a manifest beside them). Choose a file name in a folder of yours.")


def _check(fmt: str, dest: Path, manifest_path: Path, db_path: Path | None, force: bool) -> None:
    """Refuse a destination the export must not write to or replace (see the module's docstring)."""
    _refuse_device([dest, manifest_path])
    if fmt == "csv":
        check_not_the_database(db_path, [dest], folder=dest)
        check_destination([dest], force, folder=True)
        if force:
            check_replaceable_folder(dest, CSV_MANIFEST, {*CSV_FILES, CSV_MANIFEST}, _is_csv_manifest)
    else:
        # a replaced SQLite set's -wal/-shm/-journal go too: SQLite would apply them to the new file
        sidecars = database_files(dest)[1:] if fmt == "sqlite" else []
        check_not_the_database(db_path, [dest, manifest_path, *sidecars])
        check_destination([dest, manifest_path, *sidecars], force)


def _writer(fmt: str, dest: Path, staging: Staging, user: str) -> Any:
    if fmt == "csv":
        return CsvWriter(staging.folder)
    if fmt == "jsonl":
        return JsonlWriter(staging.path(dest.name))
    if fmt == "xlsx":
        from imr_desk.export.xlsx_format import XlsxWriter  # late: openpyxl for Excel only

        return XlsxWriter(staging.path(dest.name))
    return SqliteWriter(staging.path(dest.name), user)


def _write(db: LetterStore, fmt: str, dest: Path, staging: Staging, ids: list[int], progress: Progress | None,
           cancel: Any) -> tuple[list[str], dict[str, int], array[int]]:
    """Write the letters; returns the files, the counts and the ids of the letters written.

    The ids are kept as a packed array (8 bytes a letter), so memory stays flat as the set grows.
    """
    writer = _writer(fmt, dest, staging, db.user)
    carried: array[int] = array("q")
    total = len(ids)
    step = max(1, total // 200)
    if progress is not None:
        progress(0, total)
    try:
        letters = iter_letters(db.conn, ids, text=writer.needs_text, history=writer.needs_history,
                               files=writer.needs_files, slim=writer.slim)
        for done, letter in enumerate(letters, 1):
            if cancel is not None and cancel.is_set():
                raise ExportCancelled()
            writer.write(letter)
            carried.append(letter.id)
            if progress is not None and (done % step == 0 or done == total):
                progress(done, total)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return list(writer.files), dict(writer.counts), carried


def _manifest(db: LetterStore, fmt: str, selection: ExportSet, started: dt.datetime, counts: dict[str, int],
              files: list[Path]) -> dict[str, Any]:
    manifest = {
        "manifest": MANIFEST_SCHEMA,
        "application": {"name": "IMR Desk", "version": __version__},
        "format": fmt,
        "filter": selection.to_dict(),
        "set": selection.describe(),
        "count": counts["letters"],
        "items": counts["items"],
        "annotations": counts["annotations"],
        "who": db.user,
        "at": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "database": db.where,
        "record_schema": "imr-desk/record/1",
        "line_schema": LINE_SCHEMA if fmt == "jsonl" else None,
        "files": [{"name": p.name, "bytes": p.stat().st_size, "sha256": sha256_of(p)} for p in files],
    }
    return {k: v for k, v in manifest.items() if v is not None}


def _write_json(path: Path, value: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=2)
        f.write("\n")


def _is_csv_manifest(value: Any) -> bool:
    """An IMR Desk CSV export's manifest (decoded)."""
    return isinstance(value, dict) and value.get("manifest") == MANIFEST_SCHEMA and value.get("format") == "csv"


def record_export(db: LetterStore, export: ExportRecord) -> int:
    """Record the export and the letters it carried (their ids), in one transaction.

    "Only new" compares `exports.at` with each letter's `reviewed_at`. The export's time is when it
    started, before its snapshot of the database was taken: a letter reviewed after that is either
    in the snapshot (and goes out once more with the next only-new export, a harmless repeat) or
    not (and goes out with the next one, as it must). A letter reviewed after the export started is
    not recorded as carried: what was written may be its earlier review.
    """
    fmt, selection, count, manifest, dest = export.format, export.selection, export.count, export.manifest, export.destination
    at = export.started.isoformat(timespec="milliseconds").replace("+00:00", "Z")  # as imr_desk.store's now_iso()

    try:
        with db.transaction("record the export"):
            export_id = int(db.conn.execute(
                "INSERT INTO exports(at, who, format, filter, count, destination, manifest) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "RETURNING id", (at, db.user, fmt, json.dumps(selection.to_dict()), count, str(dest),
                                 json.dumps(manifest, ensure_ascii=False)),
            ).fetchone()[0])
            db.conn.executemany("INSERT INTO letter_exports(letter_id, export_id) "
                                "SELECT id, ? FROM letters WHERE id = ? AND (reviewed_at IS NULL OR reviewed_at <= ?) "
                                "ON CONFLICT DO NOTHING", ((export_id, i, at) for i in export.carried))
        return export_id
    except StoreError as exc:
        raise ExportError(f"The export was written to {dest}, but it could not be recorded in the database: "
                          f"{exc.clerk_message} A later “only new” export will include these letters again.") from exc


def export_history(db: LetterStore, limit: int = 20) -> list[dict[str, Any]]:
    """The latest exports, newest first (id, at, who, format, count, destination)."""
    rows = db.conn.execute("SELECT id, at, who, format, count, destination FROM exports ORDER BY id DESC LIMIT ?",
                           (limit,)).fetchall()
    return [dict(zip(("id", "at", "who", "format", "count", "destination"), r, strict=True)) for r in rows]
