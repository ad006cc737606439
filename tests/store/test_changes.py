"""The live queue's feed: another connection's changes are noticed (SQLite: data_version; PostgreSQL: NOTIFY)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from imr_desk.store import Database
from imr_desk.store.changes import Changed, feed_for, holders

from .conftest import SEEDS


def poll_until(feed, seconds: float = 5.0) -> Changed | None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        change = feed.poll()
        if change is not None:
            return change
        time.sleep(0.05)
    return None


def test_another_connections_change_is_noticed(db: Database, db_path: Path | str) -> None:
    ids = db.import_paths(SEEDS[:3]).added_ids
    woken: list[int] = []
    feed = feed_for(db, on_notify=lambda: woken.append(1))
    try:
        time.sleep(0.3)
        assert feed.poll() is None  # nothing changed yet
        with Database.open(db_path, user="bob") as bob:
            bob.set_status(ids[1], "postponed", "page 2 missing")
        change = poll_until(feed)
        assert change is not None
        if db.engine == "postgresql":  # the notification names the letter, and woke the window at once
            assert change.ids == frozenset({ids[1]}) and woken
        else:
            assert change.ids is None  # data_version says only that something changed
        assert feed.poll() is None  # told once
        with Database.open(db_path, user="bob") as bob:  # a letter opened elsewhere is a change too
            bob.acquire_lease(ids[2], f"bob@{socket.gethostname()}:{os.getpid()}:w2")
            assert poll_until(feed) is not None
            held = holders(db, own="this window")
            assert set(held) == {ids[2]} and held[ids[2]].who == "bob"
            assert held[ids[2]].host == socket.gethostname() and held[ids[2]].since
            assert holders(db, own=f"bob@{socket.gethostname()}:{os.getpid()}:w2") == {}
    finally:
        feed.close()


def test_a_lost_listening_connection_listens_again_and_says_something_changed(pg_url: str) -> None:
    db = Database.open(pg_url, user="alice")
    db_path = pg_url
    ids = db.import_paths(SEEDS[:1]).added_ids
    feed = feed_for(db)
    try:
        time.sleep(0.3)
        killed = db.conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                 "WHERE application_name = 'IMR Desk (live queue)' AND datname = current_database()"
                                 ).fetchone()[0]
        assert killed == 1
        change = poll_until(feed, 10)
        assert change is not None and change.ids is None  # what came meanwhile was not heard: all changed
        time.sleep(0.5)
        with Database.open(db_path, user="bob") as bob:
            bob.set_status(ids[0], "postponed", "later")
        assert poll_until(feed) == Changed(frozenset(ids))  # and it hears again
    finally:
        feed.close()
        db.close()
