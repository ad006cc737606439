"""Review window speed: start-up, moving to the next letter, and a queue of 50,000 letters.

Targets (issue 4): start-up to a usable window under 1.5 s; switching to the next letter with its
page drawn and its form filled under 100 ms; scrolling and filtering a 50,000-letter queue under
50 ms per step.

Run with: .venv/bin/python -m pytest tests/bench/test_ui_bench.py --benchmark-enable
IMR_BENCH_QUEUE sets the queue's size (default 50000).
"""

from __future__ import annotations

import os
import shutil
from itertools import cycle
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from imr_desk.store import Database

DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLES = [DATA / "real" / n for n in ("CM16-0221706.pdf", "CM16-0230651.pdf", "CM17-0011517.pdf",
                                        "CM16-0233794.pdf")]
SAMPLES += sorted((DATA / "seeds").glob("*.txt"))
QUEUE_SIZE = int(os.environ.get("IMR_BENCH_QUEUE", "50000"))
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support (propagateSizeHints|raise)")
STATUS_MIX = "CASE abs(random()) % 10 WHEN 0 THEN 'reviewed' WHEN 1 THEN 'postponed' WHEN 2 THEN 'in review' " \
             "ELSE 'to review' END"


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ui-bench") / "small.db"
    with Database.open(path, user="bench") as db:
        assert len(db.import_paths(SAMPLES, batch="bench").added) == len(SAMPLES)
    return path


@pytest.fixture(scope="module")
def big_db(small_db: Path, tmp_path_factory) -> Path:
    """QUEUE_SIZE letters: the sample letters, copied by SQL with new case numbers, names and statuses.

    The copies keep the first 2,000 characters of each letter's text (enough for search) and have no
    files of their own (the benchmarks open only the originals), so the corpus builds in seconds.
    """
    path = tmp_path_factory.mktemp("ui-bench-big") / "big.db"
    shutil.copy(small_db, path)
    with Database.open(path, user="bench") as db:
        conn = db.conn
        base = conn.execute("SELECT count(*) FROM letters").fetchone()[0]
        copies = max(0, QUEUE_SIZE - base)
        cols = [r[1] for r in conn.execute("PRAGMA table_info(letters)") if r[1] != "id"]
        override = {
            "sha256": "lower(hex(randomblob(32)))",
            "name": "printf('letter-%06d-', n) || l.name",
            "case_number": "printf('CM%02d-%07d', 15 + n % 4, n)",
            "status": STATUS_MIX,
            "decision_date": "date('2015-01-01', '+' || (n % 1500) || ' days')",
            "batch_id": "l.batch_id",
        }
        select = ", ".join(override.get(c, f"l.{c}") for c in cols)
        with db.transaction():
            conn.execute(
                f"""WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
                    INSERT INTO letters ({', '.join(cols)})
                    SELECT {select} FROM seq JOIN letters l ON l.id = 1 + (seq.n % ?)""",
                (copies, base),
            )
            # their searchable contents: the originals' records and the first 2,000 characters of text
            conn.execute(
                """INSERT INTO contents (letter_id, case_number, requests, rationales, text, page_starts, parsed,
                                         record)
                   SELECT n.id, n.case_number, c.requests, c.rationales, substr(c.text, 1, 2000), c.page_starts,
                          c.parsed, c.record
                   FROM letters n JOIN contents c ON c.letter_id = 1 + ((n.id - ?) % ?) WHERE n.id > ?""",
                (base, base, base),
            )
        assert db.queue_count({}) == QUEUE_SIZE
    return path


def _settle() -> None:
    QApplication.processEvents()


@pytest.mark.benchmark(group="ui-start")
def test_start_up_to_a_usable_window(benchmark, qapp, small_db, tmp_path) -> None:
    """Open the database and its writer, build the window, open the last letter, show it drawn."""
    from imr_desk.ui.app import build_window

    windows = []

    def start():
        w = build_window(small_db, user="bench", seed_samples=False)
        w.resize(1500, 900)
        w.show()
        _settle()
        w.grab()  # painted once
        windows.append(w)
        return w

    def stop():
        while windows:
            windows.pop().close()

    try:
        w = benchmark.pedantic(start, setup=stop, rounds=8, iterations=1, warmup_rounds=1)
        assert w.session.letter_id is not None and w.queue.model.rowCount() == len(SAMPLES)
    finally:
        stop()


@pytest.mark.benchmark(group="ui-next-letter")
def test_switch_to_the_next_letter(benchmark, qapp, small_db) -> None:
    """Open the next letter: its file read, page 1 rendered, highlights drawn, form filled, row selected."""
    from imr_desk.ui.app import build_window

    w = build_window(small_db, user="bench", seed_samples=False)
    try:
        w.resize(1500, 900)
        w.show()
        _settle()
        ids = cycle([w.queue.model.letter_id(r) for r in range(w.queue.model.rowCount())])

        def switch():
            target = next(ids)
            if target == w.session.letter_id:
                target = next(ids)
            w.open_letter(target)
            w.form.focus_field("case.case_number")
            _settle()
            return target

        target = benchmark.pedantic(switch, rounds=40, iterations=1, warmup_rounds=2)
        assert w.session.letter_id == target
        view = w.letter_view.current
        if view is w.letter_view.pdf_view:
            assert 0 in view.rendered_pages()
    finally:
        w.close()


@pytest.fixture(scope="module")
def big_window(qapp, big_db):
    from imr_desk.ui.app import build_window

    w = build_window(big_db, user="bench", seed_samples=False)
    w.resize(1500, 900)
    w.show()
    _settle()
    yield w
    w.close()


@pytest.mark.benchmark(group="ui-queue-50k")
def test_queue_scroll_a_page(benchmark, big_window) -> None:
    """One step of scrolling down the queue (a screenful of rows, fetching more as Qt asks)."""
    w = big_window
    w.queue.status.setCurrentIndex(0)
    w.queue.apply_filter()
    view = w.queue.view
    bar = view.verticalScrollBar()
    bar.setValue(0)
    _settle()

    def scroll():
        bar.setValue(bar.value() + bar.pageStep())
        if bar.value() >= bar.maximum() - bar.pageStep():
            w.queue.model.fetchMore()
        _settle()
        view.viewport().repaint()
        return bar.value()

    benchmark.pedantic(scroll, rounds=300, iterations=1)
    assert w.queue.model.rowCount() > 256


@pytest.mark.benchmark(group="ui-queue-50k")
def test_queue_jump_deep_into_the_queue(benchmark, big_window) -> None:
    """A deep jump: fetch the pages down to row 10,000 and show it (Ctrl+End-like scrolling)."""
    w = big_window

    def jump():
        w.queue.apply_filter()
        w.queue.model.fetch_until(10_000)
        w.queue.view.scrollTo(w.queue.model.index(10_000, 0))
        _settle()
        return w.queue.model.rowCount()

    rows = benchmark.pedantic(jump, rounds=5, iterations=1)
    assert rows > 10_000
    benchmark.extra_info["pages_fetched"] = rows // w.queue.model.PAGE


@pytest.mark.benchmark(group="ui-queue-50k")
def test_queue_filter_step(benchmark, big_window) -> None:
    """One filter change: by status, by batch, or by searched words; the count and first page shown."""
    w = big_window
    q = w.queue
    steps = cycle([
        lambda: q.status.setCurrentIndex(q.status.findData("reviewed")),
        lambda: q.status.setCurrentIndex(q.status.findData("open")),
        lambda: q.search.setText("Viagra"),
        lambda: q.search.setText("psychology evaluation"),
        lambda: q.search.setText(""),
        lambda: q.status.setCurrentIndex(0),
    ])

    def step():
        next(steps)()
        q.apply_filter()
        _settle()
        return q.model.total()

    benchmark.pedantic(step, rounds=40, iterations=1)
    assert q.model.total() > 0


@pytest.mark.benchmark(group="ui-queue-50k")
def test_queue_sort_step(benchmark, big_window) -> None:
    """One click on a column header: the queue sorted by case number or decision date, first page shown."""
    w = big_window
    q = w.queue
    steps = cycle([(1, Qt.SortOrder.DescendingOrder), (2, Qt.SortOrder.AscendingOrder),
                   (1, Qt.SortOrder.AscendingOrder)])

    def step():
        column, order = next(steps)
        q.view.sortByColumn(column, order)
        _settle()
        return q.model.order_by

    try:
        benchmark.pedantic(step, rounds=9, iterations=1)
    finally:
        q.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
    assert q.model.order_by == "id"
