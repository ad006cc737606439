"""Another process holds the database's write lock while the clerk works on: the window never stalls.

A real second process takes `BEGIN IMMEDIATE` on the window's database and keeps it (30 s in the
slow run, 3 s in the default suite). Meanwhile the test types into the form, moves between letters
and scrolls, with a QTimer heartbeat measuring the event loop: no gap while typing or scrolling
reaches 100 ms; opening a letter (the window drawing it, lock or no lock) has a median under 100 ms
and never comes near waiting for the lock. After the lock is released every edit is in the
database, once, in order, and the window shows the version the database committed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from imr_desk.store import Database
from tests.ui.conftest import TEXTS, letter_id

CTRL = Qt.KeyboardModifier.ControlModifier
STALL_LIMIT_S = 0.100
OPENING_WORST_S = 1.0  # far below the lock's seconds, far above drawing on a loaded machine

HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
conn.close()
print("released", flush=True)
"""


class Heartbeat:
    """A 10 ms timer on the UI thread; the longest gap between its beats is the longest stall."""

    def __init__(self) -> None:
        self.beats: list[float] = []
        self.marks: list[tuple[float, str]] = [(0.0, "starting")]
        self.timer = QTimer(interval=10)
        self.timer.timeout.connect(lambda: self.beats.append(time.perf_counter()))

    def start(self) -> None:
        self.beats = [time.perf_counter()]
        self.timer.start()

    def mark(self, what: str) -> None:
        """Say what the test does from now on: each gap is put down to the action it ended in."""
        self.marks.append((time.perf_counter(), what))

    def stop(self) -> dict[str, list[float]]:
        """The longest gap between beats in each action, by kind of action ("opening", "typing", ...)."""
        self.timer.stop()
        self.beats.append(time.perf_counter())
        worst: dict[int, float] = {}
        for a, b in zip(self.beats, self.beats[1:], strict=False):
            i = max(i for i, (t, _w) in enumerate(self.marks) if t <= b)
            worst[i] = max(worst.get(i, 0.0), b - a)
        by_kind: dict[str, list[float]] = {}
        for i, gap in worst.items():
            by_kind.setdefault(self.marks[i][1].split()[0], []).append(gap)
        return by_kind


def text_letters(db_path: Path, tmp_path: Path, n: int) -> list[str]:
    """n more text letters (copies of a real one, each with its own first line) in the database."""
    seed = TEXTS[0].read_text(encoding="utf-8")
    names = []
    for i in range(n):
        f = tmp_path / f"copy-{i}.txt"
        f.write_text(f"Copy {i} of a letter\n{seed}", encoding="utf-8")
        names.append(f.name)
    with Database.open(db_path) as db:
        assert len(db.import_paths([tmp_path / n for n in names], batch="copies").added) == n
    return [TEXTS[0].name, TEXTS[1].name, *names]


def type_into(qtbot, window, heart: Heartbeat, path: str, text: str) -> None:
    """Click into a field, select what it holds and type over it, as the clerk does."""
    heart.mark("focusing")
    editor = window.form.editors[path]
    window.form.ensureWidgetVisible(editor.widget)
    editor.widget.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(lambda: window.session.focused_path == path, timeout=2000)
    editor.widget.selectAll()
    heart.mark("typing")
    for ch in text:  # key by key, the event loop running between keys as it does for a typist
        qtbot.keyClick(editor.widget, ch)
        qtbot.wait(20)


def scroll_around(qtbot, window) -> None:
    for bar in (window.letter_view.current.verticalScrollBar(), window.form.verticalScrollBar(),
                window.queue.view.verticalScrollBar()):
        bar.setValue(bar.maximum() // 2)
        qtbot.wait(5)
        bar.setValue(0)


@pytest.mark.parametrize("lock_s", [pytest.param(30.0, marks=pytest.mark.slow), 4.5], ids=["30s", "4s"])
def test_the_window_keeps_answering_while_another_process_holds_the_lock(qtbot, open_window, db_path, tmp_path,
                                                                      lock_s):
    names = text_letters(db_path, tmp_path, 2)
    w = open_window(db_path)
    ids = [letter_id(w, n) for n in names]
    w.open_letter(ids[0])
    qtbot.waitUntil(lambda: w.writer.idle)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    versions_before = {lid: w.db.letter(lid).version for lid in ids}

    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db_path), str(lock_s)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        locked_at = time.monotonic()
        heart = Heartbeat()
        heart.start()
        typed: dict[int, list[str]] = {lid: [] for lid in ids}
        seen_waiting = False
        round_ = 0
        while time.monotonic() - locked_at < lock_s - 1.5:  # everything below happens under the lock
            lid = ids[round_ % len(ids)]
            heart.mark(f"opening letter {lid}")
            assert w.open_letter(lid), w.status.currentMessage()
            assert w.session.letter_id == lid and not w.session.read_only
            qtbot.wait(30)  # the clerk looks at the letter before typing: the event loop runs in between
            value = f"LOCKED-{round_:03d}"
            type_into(qtbot, w, heart, "case.case_number", value)
            typed[lid].append(value)
            assert w.session.value("case.case_number") == value
            qtbot.wait(450)  # the autosave queues the edit; the writer waits for the lock
            seen_waiting = seen_waiting or w.save_label.text() == "waiting for the database…"
            heart.mark("scrolling")
            scroll_around(qtbot, w)
            heart.mark("waiting")
            round_ += 1
        assert holder.poll() is None, "the lock was released before the test finished working under it"
        stalls = heart.stop()
        assert seen_waiting and w.writer.waiting
        with Database.open(db_path, readonly=True) as db:  # nothing landed while the lock was held
            assert {lid: db.letter(lid).version for lid in ids} == versions_before
        assert holder.wait(timeout=lock_s + 30) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()

    qtbot.waitUntil(lambda: w.writer.idle and not w.session.dirty, timeout=30_000)
    worst = {what: max(gaps) for what, gaps in stalls.items()}
    opening = sorted(stalls.get("opening", [0.0]))
    shown = ", ".join(f"{what} {gap * 1000:.0f} ms" for what, gap in sorted(worst.items()))
    print(f"\nlock held {lock_s:.0f} s, {round_} letter switches with typing and scrolling; longest event-loop "
          f"stall while {shown}; opening a letter: median {opening[len(opening) // 2] * 1000:.0f} ms")
    others = [gap for what, gap in worst.items() if what != "opening"]
    assert max(others) < STALL_LIMIT_S, f"the event loop stalled: {shown}"
    # Opening a letter is the window's own drawing (its text, form and highlights), the same with or
    # without a lock, and the only gap the machine's load can push past the limit now and then: its
    # median is held to the limit, and no opening may come near waiting for the lock (held for seconds;
    # a write on the window's thread would wait it out). On 2 busy cores an opening took 272 ms once.
    assert opening[len(opening) // 2] < STALL_LIMIT_S and opening[-1] < OPENING_WORST_S, shown
    assert round_ >= len(ids)
    with Database.open(db_path, user="reader") as db:
        for lid in ids:
            letter = db.letter(lid)
            assert letter.record["case"]["case_number"] == typed[lid][-1]
            clerk = [h for h in db.history(lid) if h.origin == "clerk"]
            assert not any(h.path == "*rejected" for h in clerk)  # no save conflicted with the window's own
            saved = [h.new for h in clerk if h.path.endswith("case_number")]
            # history folds a burst of edits of one field into one row; what it shows is in the order typed
            positions = [typed[lid].index(v) for v in saved]
            assert saved and saved[-1] == typed[lid][-1] and positions == sorted(positions)
            # each queued save committed once: one version each, none refused, none repeated
            assert letter.version == versions_before[lid] + len(typed[lid])
        assert w.session.version == db.letter(w.session.letter_id).version
    assert w.save_label.text() == f"saved (version {w.session.version})"
