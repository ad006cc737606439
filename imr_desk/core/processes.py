"""Whether a process that left something behind (a lease, an export's staging folder) still runs.

A lease or a staging folder names its host and process id. On the same host, a process id that no
longer exists means the program was killed or crashed: what it left can be cleared at once instead
of waiting for a timeout. Another host's processes cannot be seen, so they count as alive.
"""

from __future__ import annotations

import os
import socket


def this_host() -> str:
    return socket.gethostname()


def alive(pid: int, host: str | None = None) -> bool:
    """False only when `pid` certainly does not run (on this host); True when it runs or cannot be known."""
    if host is not None and host != this_host():
        return True
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # runs, as another user
        return True
    except OSError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A killed child its parent has not reaped yet still has its pid; it runs no code any more."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False
