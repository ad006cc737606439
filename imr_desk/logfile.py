"""The log file: the window and the command line both log there (warnings and bugs with tracebacks),
so nothing unexpected is lost and nothing is printed onto a clerk's terminal as a traceback."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from imr_desk import paths


def setup_logging() -> Path:
    """Log to a rotating file in the log folder (readable by its owner only); returns the file."""
    folder = paths.log_dir()
    paths.private_dir(folder)
    path = folder / "imr-desk.log"
    root = logging.getLogger("imr_desk")
    if not any(isinstance(h, logging.handlers.RotatingFileHandler) for h in root.handlers):
        paths.private_file(path)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    return path
