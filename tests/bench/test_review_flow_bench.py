"""The review flow's cost to a clerk: keys to check and mark reviewed a letter, and the time to the next one.

Targets (issue 10): a keyboard-only clerk checks every field of a clean two-item PDF letter one by one
and marks it reviewed in one key per field plus one (Enter on each field, then Ctrl+Return); from
Ctrl+Return to the next letter ready for input (page 1 drawn, its first field focused) under 100 ms;
a letter of 5,000 disputed items opens in under a second.

Run with: .venv/bin/python -m pytest tests/bench/test_review_flow_bench.py --benchmark-enable
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from imr_desk.store import Database
from tests.ui.huge import huge_letter

DATA = Path(__file__).resolve().parent.parent / "data"
REAL = sorted((DATA / "real").glob("*.pdf"))
TWO_ITEMS = DATA / "real" / "CM17-0011517.pdf"  # a clean letter: two items, no warnings
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support (propagateSizeHints|raise)")


@pytest.fixture(scope="module")
def real_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("flow-bench") / "real.db"
    with Database.open(path, user="bench") as db:
        assert len(db.import_paths(REAL, batch="bench").added) == len(REAL)
    return path


def _window(path: Path):
    from imr_desk.ui.app import build_window

    w = build_window(path, user="clerk", seed_samples=False)
    w.resize(1600, 1000)
    w.show()
    w.activateWindow()
    QApplication.processEvents()
    return w


def _ready(w, previous: int | None) -> bool:
    """The next letter is ready for input: open, page 1 drawn, the keyboard in its first field to check."""
    s = w.session
    if s.letter_id is None or s.letter_id == previous:
        return False
    view = w.letter_view.current
    if view is w.letter_view.pdf_view and 0 not in view.rendered_pages():
        return False
    ed = w.form.editors.get(s.focused_path)
    return ed is not None and QApplication.focusWidget() is ed.widget


def _settle_until(done, limit: int = 2000) -> None:
    for _ in range(limit):
        if done():
            return
        QApplication.processEvents()
    raise AssertionError("not ready")


@pytest.mark.benchmark(group="review-flow")
def test_keys_to_check_every_field_and_mark_a_two_item_letter_reviewed(benchmark, qapp, qtbot, real_db) -> None:
    w = _window(real_db)
    try:
        lid = next(r.id for r in w.db.queue({}, limit=100) if r.name == TWO_ITEMS.name)

        def check_and_mark() -> int:
            w.open_letter(lid)
            _settle_until(lambda: _ready(w, None))
            keys = 0
            while not w.form.confirmations.is_confirmed(w.session.focused_path):
                qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
                keys += 1
            qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
            keys += 1
            _settle_until(lambda: _ready(w, lid))
            return keys

        keys = benchmark.pedantic(check_and_mark, rounds=1, iterations=1)
        fields = 13 + 2 * 8
        benchmark.extra_info["fields"] = fields
        benchmark.extra_info["keys"] = keys
        assert keys == fields + 1, "one key per field, plus Ctrl+Return"
        w.writer.wait_idle(30)
        assert w.db.letter(lid).status == "reviewed"
        assert len(w.db.confirmations(lid)) == fields
    finally:
        w.close()


@pytest.mark.benchmark(group="review-flow")
def test_ctrl_return_to_the_next_letter_ready(benchmark, qapp, qtbot, real_db) -> None:
    """From Ctrl+Return (every field confirmed by it) to the next letter open at page 1, its first field focused."""
    w = _window(real_db)
    try:
        _settle_until(lambda: _ready(w, None))

        def mark() -> int:
            current = w.session.letter_id
            qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
            _settle_until(lambda: _ready(w, current))
            return w.session.letter_id

        benchmark.pedantic(mark, rounds=20, iterations=1, warmup_rounds=2)
        assert w.letter_view.at_start()
    finally:
        w.close()


@pytest.mark.benchmark(group="review-flow")
def test_open_a_letter_of_5000_items(benchmark, qapp, tmp_path) -> None:
    path = tmp_path / "huge.db"
    with Database.open(path, user="bench") as db:
        db.import_paths([TWO_ITEMS, huge_letter(tmp_path, 5000)], batch="bench")
        small, huge = (r.id for r in db.queue({}, limit=2))
    w = _window(path)
    try:
        def setup() -> None:
            w.open_letter(small)
            QApplication.processEvents()

        def open_huge() -> None:
            w.open_letter(huge)
            QApplication.processEvents()

        benchmark.pedantic(open_huge, setup=setup, rounds=5, iterations=1, warmup_rounds=1)
        assert len(w.session.record["items"]) == 5000
        assert len(w.form._item_boxes) < 100 and w.form.unusual.isVisible()
    finally:
        w.close()
