"""The log file: where the window and the command line write what went wrong (no Qt here).

A bug's traceback goes here, from the window and from the command line alike; what the clerk sees
names this file.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from imr_desk import paths

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
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    return path
