"""The window's event loop while another process holds the database's write lock: never a stall.

The same work as tests/ui/test_write_lock.py (typing key by key, switching letters, scrolling, for
IMR_BENCH_LOCK_S seconds, default 30, under a real second process's `BEGIN IMMEDIATE`), measured by a
10 ms QTimer heartbeat. Limits: no gap while typing or scrolling reaches 100 ms; opening a letter (the
window drawing it, lock or no lock) has a median under 100 ms and never comes near waiting for the
lock (its worst under 1 s, the lock being held for many seconds).

Run with: .venv/bin/python -m pytest tests/bench/test_write_lock_bench.py --benchmark-only -s
"""

from __future__ import annotations

import os

import pytest

from tests.ui.conftest import db_path, letter_id, open_window, template_db  # noqa: F401 - the window's fixtures
from tests.ui.test_write_lock import figures, text_letters, work_under_the_lock

STALL_LIMIT_S = 0.100
OPENING_WORST_S = 1.0  # far below the lock's seconds, far above drawing on a loaded machine
LOCK_S = float(os.environ.get("IMR_BENCH_LOCK_S", "30"))
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support (propagateSizeHints|raise)")


def test_the_window_keeps_answering_while_another_process_holds_the_lock(benchmark, qtbot, open_window,  # noqa: F811
                                                                      db_path, tmp_path) -> None:  # noqa: F811
    names = text_letters(db_path, tmp_path, 2)
    w = open_window(db_path)
    ids = [letter_id(w, n) for n in names]
    work = benchmark.pedantic(work_under_the_lock, args=(qtbot, w, db_path, ids, LOCK_S), rounds=1, iterations=1)
    shown = figures(work, LOCK_S)
    print("\n" + shown)
    worst = {what: max(gaps) for what, gaps in work.stalls.items()}
    others = [gap for what, gap in worst.items() if what != "opening"]
    assert max(others) < STALL_LIMIT_S, f"the event loop stalled: {shown}"
    # Opening a letter is the window's own drawing (its text, form and highlights), the same with or
    # without a lock, and the only gap the machine's load can push past the limit now and then: its
    # median is held to the limit, and no opening may come near waiting for the lock (held for seconds;
    # a write on the window's thread would wait it out). On 2 busy cores an opening took 272 ms once.
    opening = sorted(work.stalls.get("opening", [0.0]))
    assert opening[len(opening) // 2] < STALL_LIMIT_S and opening[-1] < OPENING_WORST_S, shown
