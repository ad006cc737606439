"""Another process holds the database's write lock while the clerk works on: the edits wait and land once.

A real second process takes `BEGIN IMMEDIATE` on the window's database and keeps it until the test
releases it (after 30 s of work in the slow run, 4.5 s by default, and at least two rounds on each
letter whatever the machine's load). Meanwhile the test types into the form key by key, moves between
letters and scrolls. Nothing lands while the lock is held; after it is released every save the window
queued is in the database once, in order: each letter's version went up by exactly the saves the
window reported for it, each recorded once under its operation id, and the window shows the version
the database committed.

How long the event loop stalls meanwhile (no gap while typing or scrolling reaches 100 ms) is a
timing limit, measured by the same work in tests/bench/test_write_lock_bench.py; the `Heartbeat`
runs here too, only to print the figures.

Typing key by key can queue two saves in one round: the autosave fires SAVE_DELAY_MS (400 ms) after
the first unsaved edit, so when the ten keys take longer than that (20 ms apart, on a loaded
machine), part of the word is saved, then the rest. Counting one save per round (as this test once
did) then finds a version "too many" that is a save the clerk's typing asked for.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from imr_desk.store import Database
from tests.ui.conftest import TEXTS, letter_id

CTRL = Qt.KeyboardModifier.ControlModifier

HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()  # until the test says so (or ends: its end of the pipe closes)
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
    qtbot.waitUntil(lambda: window.session.focused_path == path, timeout=10_000)
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


@dataclass
class LockedWork:
    """What the clerk did while another process held the lock, and what the window reported."""

    ids: list[int]
    versions_before: dict[int, int]
    typed: dict[int, list[str]]
    stalls: dict[str, list[float]] = field(default_factory=dict)
    saves: dict[int, int] = field(default_factory=dict)  # saves reported committed, by letter
    messages: list[str] = field(default_factory=list)
    rounds: int = 0
    seen_waiting: bool = False


def work_under_the_lock(qtbot, w, db_path: Path, ids: list[int], lock_s: float) -> LockedWork:
    """Type, switch letters and scroll while a second process holds the write lock (for `lock_s` seconds of
    work and at least two rounds on each letter), then release it and wait for the writes to land."""
    w.open_letter(ids[0])
    qtbot.waitUntil(lambda: w.writer.idle)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    work = LockedWork(ids, {lid: w.db.letter(lid).version for lid in ids}, {lid: [] for lid in ids})
    w.session.letterWritten.connect(lambda lid: work.saves.__setitem__(lid, work.saves.get(lid, 0) + 1))
    w.session.message.connect(work.messages.append)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "locked"
        locked_at = time.monotonic()
        heart = Heartbeat()
        heart.start()
        while time.monotonic() - locked_at < lock_s or work.rounds < 2 * len(ids):
            lid = ids[work.rounds % len(ids)]
            heart.mark(f"opening letter {lid}")
            assert w.open_letter(lid), w.status.currentMessage()
            assert w.session.letter_id == lid and not w.session.read_only
            qtbot.wait(30)  # the clerk looks at the letter before typing: the event loop runs in between
            value = f"LOCKED-{work.rounds:03d}"
            type_into(qtbot, w, heart, "case.case_number", value)
            work.typed[lid].append(value)
            assert w.session.value("case.case_number") == value
            qtbot.wait(450)  # the autosave queues the edit; the writer waits for the lock
            work.seen_waiting = work.seen_waiting or w.save_label.text() == "waiting for the database…"
            heart.mark("scrolling")
            scroll_around(qtbot, w)
            heart.mark("waiting")
            work.rounds += 1
        work.stalls = heart.stop()
        qtbot.waitUntil(lambda: w.writer.waiting, timeout=10_000)  # the last save waits for the lock too
        with Database.open(db_path, readonly=True) as db:  # nothing landed while the lock was held
            assert {lid: db.letter(lid).version for lid in ids} == work.versions_before
        assert holder.poll() is None, "the lock was released before the test finished working under it"
        holder.stdin.write("release\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
        assert holder.wait(timeout=60) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()
        holder.stdin.close()
        holder.stdout.close()
    qtbot.waitUntil(lambda: w.writer.idle and not w.session.dirty, timeout=60_000)
    return work


def figures(work: LockedWork, lock_s: float) -> str:
    worst = {what: max(gaps) for what, gaps in work.stalls.items()}
    opening = sorted(work.stalls.get("opening", [0.0]))
    shown = ", ".join(f"{what} {gap * 1000:.0f} ms" for what, gap in sorted(worst.items()))
    return (f"lock held for {lock_s:.0f} s of work, {work.rounds} letter switches with typing and scrolling, "
            f"{sum(work.saves.values())} saves; longest event-loop stall while {shown}; opening a letter: "
            f"median {opening[len(opening) // 2] * 1000:.0f} ms")


@pytest.mark.parametrize("lock_s", [pytest.param(30.0, marks=pytest.mark.slow), 4.5], ids=["30s", "4s"])
def test_edits_made_while_another_process_holds_the_lock_land_once_each_in_order(qtbot, open_window, db_path,
                                                                                tmp_path, lock_s):
    names = text_letters(db_path, tmp_path, 2)
    w = open_window(db_path)
    ids = [letter_id(w, n) for n in names]
    work = work_under_the_lock(qtbot, w, db_path, ids, lock_s)
    print("\n" + figures(work, lock_s))
    assert work.seen_waiting
    assert not [m for m in work.messages if "saved" in m.lower()], work.messages  # no save refused
    with Database.open(db_path, user="reader") as db:
        for lid in ids:
            letter = db.letter(lid)
            assert letter.record["case"]["case_number"] == work.typed[lid][-1]
            clerk = [h for h in db.history(lid) if h.origin == "clerk"]
            assert not any(h.path == "*rejected" for h in clerk)  # no save conflicted with the window's own
            saved = [h.new for h in clerk if h.path.endswith("case_number")]
            # history folds a burst of edits of one field into one row; what it shows is in the order typed
            # (a save of part of a word, the autosave firing mid-typing, is folded into the word's row)
            positions = [work.typed[lid].index(v) for v in saved]
            assert saved and saved[-1] == work.typed[lid][-1] and positions == sorted(positions)
            # each queued save committed once: one version each, none refused, none repeated, none unasked
            saves = work.saves.get(lid, 0)
            assert saves >= len(work.typed[lid])  # every round queued at least one save
            assert letter.version == work.versions_before[lid] + saves
            recorded = db.conn.execute("SELECT count(*), count(DISTINCT id) FROM operations WHERE letter_id = ?",
                                       (lid,)).fetchone()
            assert tuple(recorded) == (saves, saves)  # every version is a save the window queued, recorded once
        assert w.session.version == db.letter(w.session.letter_id).version
    assert w.save_label.text() == f"saved (version {w.session.version})"
