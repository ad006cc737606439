"""A library's warning goes to the log file, not onto the terminal under the one-line error.

When the server stopped mid-import, `imr-desk import` printed its one-line error and then psycopg's pool
warning "discarding closed connection: <psycopg.Connection [BAD] ...>" (a logger without a handler is
printed by Python's last-resort handler).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import logging
from imr_desk.logs import setup_logging
setup_logging()
logging.getLogger("psycopg.pool").warning("discarding closed connection: %s", "<psycopg.Connection [BAD]>")
"""


def test_psycopgs_pool_warning_goes_to_the_log_not_the_terminal(tmp_path: Path) -> None:
    env = {**os.environ, "IMR_DESK_HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    log = (tmp_path / "logs" / "imr-desk.log").read_text(encoding="utf-8")
    assert "WARNING psycopg.pool: discarding closed connection" in log
