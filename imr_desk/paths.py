"""Where IMR Desk keeps its files. One place, so tests can point it at a temporary folder.

Set IMR_DESK_HOME to move everything (database, settings, logs) under one folder.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import platformdirs

APP_NAME = "imr-desk"


def _home() -> Path | None:
    value = os.environ.get("IMR_DESK_HOME")
    return Path(value) if value else None


def data_dir() -> Path:
    home = _home()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    home = _home()
    return home / "logs" if home else Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077
"""The umask the command line and the window run under (set once at start-up, `cli.main`, `ui.app.run`):
every file the process writes is its owner's only, whoever writes it (Qt's settings file, a rotated log,
openpyxl's and Tesseract's temporary files, the exports the clerk asks for, which hold patient data too:
a clerk who shares one gives it wider permissions on purpose). Files the app makes itself are also
created 0600 explicitly (`private_file`, `write_private`), so a library caller's umask cannot widen them."""
_umask_set: int | None = None


def use_private_umask() -> None:
    """Run the process under PRIVATE_UMASK from now on (the command line's and the window's start-up)."""
    global _umask_set
    os.umask(PRIVATE_UMASK)
    _umask_set = PRIVATE_UMASK


def umask_set() -> int | None:
    """The umask `use_private_umask` set, or None (reading the umask means setting it: not thread-safe)."""
    return _umask_set


def private_dir(folder: Path) -> Path:
    """Create `folder` (and its missing parents) readable by its owner only, whatever the umask.

    For the app's own folders (data, logs, settings, recovery): they hold patient data. A folder
    that already exists is made private too when it is one of those (the app owns it).
    """
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    try:
        if folder.stat().st_mode & 0o077:
            folder.chmod(PRIVATE_DIR)
    except OSError:  # not ours (a shared folder named by IMR_DESK_HOME): leave it as it is
        pass
    return folder


def private_file(path: Path) -> Path:
    """Create `path` empty (if missing) readable and writable by its owner only, whatever the umask; an
    existing one of this user's that others may read (an older version's, a 022 umask's) is made so too."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        try:
            st = path.lstat()
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and st.st_mode & 0o077:
                path.chmod(PRIVATE_FILE)
        except OSError:
            pass
        return path
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


def write_private(path: Path, text: str) -> None:
    """Write `path` atomically (a temporary file, then a rename) readable by its owner only."""
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            fd = -1
            f.write(text)
    finally:
        if fd >= 0:
            os.close(fd)
    os.replace(tmp, path)


def ocr_temp_dir(create: bool = True) -> Path:
    """Where OCR runs keep their page images and the engine's output while a page is read (0700):
    each run in a folder of its own named by its process id (`core.ocr`), swept when that process is gone."""
    folder = data_dir() / "ocr-temp"
    if create:
        private_dir(data_dir())
        private_dir(folder)
    return folder


def default_db_path() -> Path:
    return data_dir() / "imr-desk.db"


def resources_dir() -> Path:
    """The bundled resources (samples, icons, style sheet): beside the package, or inside a bundle."""
    import sys

    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def sample_letters() -> list[Path]:
    folder = resources_dir() / "samples"
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".pdf", ".txt")) if folder.is_dir() else []
