"""Writing an export safely: no formula injection, no half-written files, no silent overwrites.

A spreadsheet treats a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a
formula (OWASP "CSV injection"); letter text can start that way ("- Lumbar MRI", "+/- 2 weeks"), so
such cells get a leading apostrophe, which Excel and LibreOffice show as text and do not evaluate.
The same holds behind leading whitespace or invisible characters and for full-width look-alikes.

Every file of an export is written into a staging folder beside the destination (the same file
system, so the final `os.replace` is an atomic rename) and moved into place only when all of them are
complete. A failure or a cancel removes the staging folder and leaves the destination as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from imr_desk.core.limits import first_visible
from imr_desk.store.errors import ClerkError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)
_FORMULA_VISIBLE = frozenset("=+-@\u2212")  # and U+2212 MINUS SIGN, which spreadsheets take for "-"


def is_formula(text: str) -> bool:
    """Whether a spreadsheet could take `text` for a formula.

    Besides the plain starts, the same sign behind leading spaces, no-break spaces, zero-width or
    other invisible characters (a BOM), or written full-width (＝, ＋, ﹣: NFKC folds them to the
    plain sign), since spreadsheets and their import filters trim or fold those too.
    """
    first = text[:1]
    if not first:
        return False
    if first in _FORMULA_FIRST:
        return True
    if first.isascii() and first != " " and first.isprintable():  # the common case: a letter or digit
        return False
    return first_visible(text) in _FORMULA_VISIBLE


class ExportError(ClerkError):
    """An export could not be made; `clerk_message` says what happened and what to do."""


class ExportCancelled(ExportError):
    """The clerk cancelled the export; nothing was written at the destination."""

    def __init__(self) -> None:
        super().__init__("The export was cancelled; nothing was written.")


def neutralise(value: Any) -> Any:
    """The value, with a leading apostrophe if it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and is_formula(value):
        return "'" + value
    return value


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_destination(targets: list[Path], force: bool, folder: bool = False) -> None:
    """Refuse a destination whose folder is missing or read-only, or that exists (unless `force`).

    `targets` are the paths the export will put in place (the first is the one the clerk chose);
    `folder` says the first is a folder (CSV) rather than a file.
    """
    chosen = targets[0]
    parent = chosen.parent
    if not parent.exists():
        raise ExportError(f"The folder {parent} does not exist. Create it first, or choose another place "
                          "for the export.")
    if not parent.is_dir():
        raise ExportError(f"{parent} is not a folder. Choose a folder to export into.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"The folder {parent} cannot be written to. Choose a folder you may write to.")
    for target in targets:
        if target.is_dir() and not folder:
            raise ExportError(f"{target} is a folder. Give the name of a file to export to.")
        if target == chosen and folder and target.exists() and not target.is_dir():
            raise ExportError(f"{target} is a file. A CSV export is a folder: give a folder name.")
        if (target.exists() or target.is_symlink()) and not force:
            raise ExportError(f"{target} already exists. Choose another name, or replace it (“Replace it if "
                              "it exists” in the export dialog, --force on the command line).")


SIDECARS = ("-wal", "-shm", "-journal")  # SQLite's files beside a database


def database_files(db_path: Path) -> list[Path]:
    """A SQLite database's file and the files SQLite keeps beside it (-wal, -shm, -journal)."""
    return [db_path, *(db_path.with_name(db_path.name + s) for s in SIDECARS)]


def _same(a: Path, b: Path) -> bool:
    """The same file: the same path once links are resolved, or the same inode (a hard link)."""
    try:
        if a.resolve() == b.resolve():
            return True
    except (OSError, RuntimeError):  # a symlink loop: compare what the names give
        if os.path.abspath(a) == os.path.abspath(b):
            return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist: not the same file
        return False


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):
        return False


def check_not_the_database(db_path: Path | None, targets: list[Path], folder: Path | None = None) -> None:
    """Refuse an export whose files (`targets`, written or removed) would replace the database being
    exported or one of its -wal/-shm/-journal files, or whose folder (`folder`, CSV) holds that database.

    Done whether or not the clerk asked to replace: replacing the review database with its own
    export would lose every letter not in the set, and all the work in progress.
    """
    if db_path is None or not str(db_path) or str(db_path) == ":memory:":
        return
    db_path = Path(db_path)
    guarded = database_files(db_path)
    for target in targets:
        if any(_same(target, g) for g in guarded):
            raise ExportError(f"{target} is the review database being exported (or one of its files). "
                              "Choose another name for the export; the database was left as it was.")
    if folder is not None and any(_inside(g, folder) for g in guarded if g.exists()):
        raise ExportError(f"The folder {folder} holds the review database being exported ({db_path}); a CSV "
                          "export would replace the whole folder. Choose a new folder for the export.")


def check_replaceable_folder(folder: Path, manifest_name: str, expected: set[str],
                             is_manifest: Callable[[Any], bool]) -> None:
    """Refuse to replace an existing folder that is not an earlier export of the same kind.

    It must hold `manifest_name` (a manifest that `is_manifest(decoded JSON)` accepts) and nothing
    but the files in `expected` (plain files, no sub-folders): anything else might be the clerk's
    own, and replacing the folder would delete it.
    """
    if folder.is_symlink():
        raise ExportError(f"{folder} is a symbolic link, not an earlier export folder; it was left as it was. "
                          "Choose a new folder name for the export.")
    if not folder.is_dir():
        return
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise ExportError(f"Could not look into {folder} ({exc.strerror or exc}); it was left as it was. "
                          "Choose a new folder name for the export.") from exc
    manifest = folder / manifest_name
    decoded: Any = None
    try:
        if manifest.is_file() and not manifest.is_symlink() and manifest.stat().st_size < (1 << 24):
            decoded = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        decoded = None
    if decoded is None or not is_manifest(decoded):
        raise ExportError(f"{folder} already exists and is not an earlier IMR Desk CSV export (it has no IMR Desk "
                          f"{manifest_name}), so it was not replaced, even though replacing was asked for. "
                          "Choose a new folder name for the export.")
    others = [p.name for p in entries
              if p.name not in expected or p.is_symlink() or not p.is_file()]
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise ExportError(f"{folder} is an earlier export, but it now also holds {shown}, which replacing it "
                          "would delete; it was left as it was. Move those files out (or close the program "
                          "that has them open), or choose a new folder name for the export.")


def remove_sidecars(path: Path) -> None:
    """Remove the -wal/-shm/-journal files of a SQLite database about to be replaced: left beside the new
    database, SQLite would apply the old one's journal to it."""
    for sidecar in database_files(path)[1:]:
        if sidecar.is_symlink() or sidecar.is_file():
            sidecar.unlink()


def sweep_stale(destination: Path, older_than_s: float) -> list[Path]:
    """Remove the staging folders that a killed export left beside `destination` (hidden, *.partial/*.old)."""
    import time

    removed = []
    cutoff = time.time() - older_than_s
    for pattern in (f".{destination.name}.*.partial", f".{destination.name}.*.old"):
        for leftover in destination.parent.glob(pattern):
            try:
                if leftover.is_dir() and not leftover.is_symlink() and leftover.stat().st_mtime < cutoff:
                    shutil.rmtree(leftover, ignore_errors=True)
                    removed.append(leftover)
            except OSError:
                continue  # another export may be removing it at the same moment
    return removed


def _registry() -> Path:
    from imr_desk import paths

    paths.private_dir(paths.data_dir())
    return paths.private_dir(paths.data_dir() / "staging")


def _register(folder: Path) -> Path | None:
    """Note a staging folder in the data folder, so whatever a killed export leaves is found again."""
    from imr_desk.core.processes import this_host

    try:
        from imr_desk import paths

        entry = _registry() / f"{folder.name.strip('.')}.{os.getpid()}.json"
        paths.write_private(entry, json.dumps({"folder": str(folder.resolve()), "pid": os.getpid(),
                                               "host": this_host()}))
        return entry
    except OSError:  # no data folder to note it in: the folder is still removed by its own export
        return None


def _unregister(entry: Path | None) -> None:
    if entry is not None:
        entry.unlink(missing_ok=True)


_STAGED = (".partial", ".old")


def _noted_folder(parent: Path, name: str, suffix: str) -> tuple[Path, Path | None]:
    """A new private folder `parent/.NAME.PID-RANDOM.SUFFIX`, noted in the registry before it is made: a kill
    between the two leaves a note without a folder (which the sweep drops), never a folder nothing notes."""
    while True:
        folder = parent / f".{name}.{os.getpid()}-{secrets.token_hex(4)}{suffix}"
        entry = _register(folder)
        try:
            folder.mkdir(mode=0o700)
        except BaseException as exc:
            _unregister(entry)
            if isinstance(exc, FileExistsError):
                continue
            raise
        return folder, entry


def sweep_killed_exports() -> list[Path]:
    """Remove every staging folder an export left when it was killed, wherever it was, whatever its name.

    Run at the start of every export and of the window: a folder noted by a process that no longer
    runs (on this host) holds nothing anyone will finish, only partial patient data.
    """
    from imr_desk.core.processes import alive

    removed: list[Path] = []
    try:
        entries = sorted(_registry().glob("*.json"))
    except OSError:
        return removed
    for entry in entries:
        try:
            noted = json.loads(entry.read_text(encoding="utf-8"))
            folder, pid, host = Path(noted["folder"]), int(noted["pid"]), str(noted["host"])
        except (OSError, ValueError, KeyError, TypeError):
            entry.unlink(missing_ok=True)  # half-written by a killed export: nothing to go on
            continue
        if alive(pid, host):
            continue
        if folder.name.startswith(".") and folder.name.endswith(_STAGED) and folder.is_dir() \
                and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        entry.unlink(missing_ok=True)
    return removed


class Staging:
    """A folder beside the destination where an export's files are written before they go in place.

    Use as a context manager: on an exception (or without `commit()`), the folder and everything in
    it are removed, and the destination is untouched. The folder is noted in the data folder while it
    exists, so one that a kill left behind is removed at the next start of any export or of the app.
    """

    STALE_AFTER_S = 6 * 3600  # older than any export: left by a process that was killed

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        sweep_killed_exports()
        sweep_stale(destination, self.STALE_AFTER_S)
        self.folder, self._entry = _noted_folder(destination.parent, destination.name, ".partial")
        self._committed = False

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._committed:
            self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        _unregister(self._entry)
        self._entry = None

    def path(self, name: str) -> Path:
        return self.folder / name

    def commit_files(self, moves: list[tuple[str, Path]]) -> None:
        """Move staged files (name in the staging folder, final path) into place, data before manifest.

        Each move is an atomic rename that replaces an existing file (the caller checked `force`).
        """
        for name, final in moves:
            if final.is_dir():
                raise ExportError(f"{final} is a folder; the export was not put in place.")
            os.replace(self.folder / name, final)
        self._committed = True
        self.discard()

    def commit_folder(self, final: Path) -> None:
        """Make the staging folder itself the destination folder, replacing an existing one."""
        self.folder.chmod(0o777 & ~_umask())
        if final.exists() or final.is_symlink():
            old, old_entry = _noted_folder(final.parent, final.name, ".old")  # a kill leaves the previous export in it
            os.replace(final, old / "previous")
            try:
                os.replace(self.folder, final)
            except BaseException:
                os.replace(old / "previous", final)
                shutil.rmtree(old, ignore_errors=True)
                raise
            if (old / "previous").is_dir() and not (old / "previous").is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                (old / "previous").unlink()
                old.rmdir()
            _unregister(old_entry)
        else:
            os.replace(self.folder, final)
        _unregister(self._entry)
        self._committed = True


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once, at import: os.umask is process-wide and not thread-safe


def _umask() -> int:
    from imr_desk import paths

    chosen = paths.umask_set()  # the app's own (set after this module was imported, as the window does)
    return chosen if chosen is not None else _UMASK


def publish_file_mode(path: Path) -> None:
    """Give a staged file the permissions an ordinary new file would have (mkstemp makes them 0600)."""
    path.chmod(0o666 & ~_umask())
