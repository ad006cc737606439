"""Where IMR Desk keeps its files. One place, so tests can point it at a temporary folder.

Set IMR_DESK_HOME to move everything (database, settings, logs) under one folder.
"""

from __future__ import annotations

import os
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
