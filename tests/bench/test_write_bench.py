"""The writer's speed: a clerk's save from being queued to being reported back on the UI thread.

Run with: .venv/bin/python -m pytest -o addopts="" tests/bench/test_write_bench.py
(on this machine: 50 chained saves in 76 ms, 1.5 ms a save from queued to reported back)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imr_desk.store import Database
from imr_desk.ui.writer import DbWriter, WriteOp

LETTER = sorted((Path(__file__).resolve().parent.parent / "data" / "seeds").glob("*.txt"))[0]
SAVES = 50


@pytest.fixture
def writer_on_a_letter(tmp_path, qapp):
    path = tmp_path / "bench.db"
    with Database.open(path, user="bench") as db:
        (lid,) = db.import_paths([LETTER]).added_ids
    writer = DbWriter(lambda: Database.open(path, user="bench"))
    yield writer, path, lid
    writer.close()


@pytest.mark.benchmark(group="writer")
def test_fifty_chained_saves_queued_committed_and_reported(benchmark, qtbot, writer_on_a_letter) -> None:
    """50 saves queued at once, each expecting the version the one before it committed (as the window does)."""
    writer, path, lid = writer_on_a_letter
    with Database.open(path) as db:
        letter = db.letter(lid)
    version = [letter.version]
    record = letter.record
    n = [0]

    def run() -> None:
        done: list[int] = []
        for _ in range(SAVES):
            n[0] += 1
            rec = {**record, "summary": f"edit {n[0]}"}

            def save(db, rec=rec) -> int:
                version[0] = db.save_record(lid, rec, version[0])
                return version[0]

            WriteOp(save, "save the letter").success(done.append).run(writer)
        qtbot.waitUntil(lambda: len(done) == SAVES, timeout=60_000)

    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    with Database.open(path) as db:
        assert db.letter(lid).record["summary"] == f"edit {n[0]}" and db.letter(lid).version == version[0]
