"""The window's writer and a database server that goes away: the edit waits, says so, and lands when it is back.

A real server (the tests' throwaway cluster) is stopped while the writer has a save to do, and
started again a moment later; no mock stands in for the outage.
"""

from __future__ import annotations

import time

from imr_desk.store import Database
from imr_desk.ui.writer import DbWriter, WriteOp
from tests.pgserver import PgCluster
from tests.store.conftest import REAL


def test_a_save_while_the_server_is_down_waits_and_lands_when_it_is_back(qtbot, pg_cluster: PgCluster,
                                                                          pg_url: str) -> None:
    with Database.open(pg_url, user="alice") as db:
        letter_id = db.import_paths([REAL[0]]).added_ids[0]
        letter = db.letter(letter_id)
    writer = DbWriter(lambda: Database.open(pg_url, user="alice"))
    waits: list[tuple[bool, str]] = []
    writer.waitingChanged.connect(lambda waiting, doing: waits.append((waiting, doing)))
    record = letter.record
    record["summary"] = "typed while the server was down"
    saved: list[int] = []
    failed: list[object] = []
    pg_cluster.pause()
    try:
        WriteOp(lambda d: d.save_record(letter_id, record, letter.version), "save the letter") \
            .success(saved.append).failure(failed.append).run(writer)
        qtbot.waitUntil(lambda: writer.waiting, timeout=20000)
        assert writer.waiting_for_server and waits[0] == (True, "save the letter")
        time.sleep(1.5)  # a few attempts fail meanwhile
        assert not saved and not failed
    finally:
        pg_cluster.resume()
    qtbot.waitUntil(lambda: bool(saved or failed), timeout=30000)
    assert saved == [letter.version + 1] and not failed
    assert waits[-1] == (False, "") and not writer.waiting_for_server
    writer.close()
    with Database.open(pg_url) as db:
        assert db.letter(letter_id).record["summary"] == "typed while the server was down"


def test_a_window_that_gives_up_on_the_server_gets_the_failure_for_its_recovery_file(qtbot, pg_cluster: PgCluster,
                                                                                     pg_url: str) -> None:
    with Database.open(pg_url, user="alice") as db:
        letter_id = db.import_paths([REAL[0]]).added_ids[0]
        letter = db.letter(letter_id)
    writer = DbWriter(lambda: Database.open(pg_url, user="alice"))
    failed: list[object] = []
    pg_cluster.pause()
    try:
        WriteOp(lambda d: d.save_record(letter_id, letter.record, letter.version), "save the letter") \
            .failure(failed.append).run(writer)
        qtbot.waitUntil(lambda: writer.waiting, timeout=20000)
        writer.give_up()  # the window closes: the edit goes to the recovery file
        qtbot.waitUntil(lambda: bool(failed), timeout=20000)
    finally:
        pg_cluster.resume()
    assert type(failed[0]).__name__ in ("ConnectionLost", "ServerUnreachable")
    assert "nothing was" in failed[0].clerk_message.lower()  # type: ignore[attr-defined]
    writer.close()
