"""The window's writer runs a save again after its COMMIT landed: the save is in the database once.

On the real PostgreSQL server a proxy on localhost (tests/pgproxy.py) passes the save's COMMIT to the
server and drops the connection before the reply reaches the writer: the writer sees the connection
lost, waits, runs the save again on a fresh connection, and the letter is at one version more, with
one history row, and the save queued behind it lands next; the same for the review window's own
save (its session gives the save its operation id once, when it queues it). On SQLite the writer runs a write again
when the database reports itself busy outside taking the lock; SQLite in WAL mode does not report
busy once its COMMIT succeeded, so there a real SQLITE_BUSY error (made by a real second connection)
is raised right after a real COMMIT: the harder case, which a busy COMMIT (rolled back, so nothing
written) is a simpler form of.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from imr_desk.store import Database
from imr_desk.store.engine import SqliteConnection, close_pools
from imr_desk.ui.writer import DbWriter, WriteOp, operation_id
from tests.pgproxy import CommitDropper
from tests.store.conftest import REAL
from tests.ui.conftest import PDFS


class _Chain:
    """As the window's session queues a letter's saves: each expects the version the one before committed."""

    def __init__(self, writer: DbWriter, letter_id: int, version: int) -> None:
        self.writer, self.letter_id, self.version = writer, letter_id, version
        self.saved: list[int] = []
        self.failed: list[Any] = []

    def save(self, record: dict[str, Any]) -> None:
        op = operation_id()

        def write(db: Database) -> int:
            self.version = db.save_record(self.letter_id, record, self.version, op=op)
            return self.version

        WriteOp(write, "save the letter").success(self.saved.append).failure(self.failed.append).run(self.writer)


def _two_saves(chain: _Chain, letter: Any) -> None:
    first = dict(letter.record, summary="the first save")
    chain.save(first)
    chain.save(dict(first, case=dict(first["case"], case_number="CM-SECOND-SAVE")))


def _assert_once(db: Database, letter_id: int, version: int, chain: _Chain) -> None:
    assert not chain.failed, [getattr(f, "clerk_message", f) for f in chain.failed]
    assert chain.saved == [version + 1, version + 2]
    stored = db.letter(letter_id)
    assert stored.version == version + 2
    assert stored.record["summary"] == "the first save"
    assert stored.record["case"]["case_number"] == "CM-SECOND-SAVE"
    paths = [h.path for h in db.history(letter_id)]
    assert paths.count("summary") == 1 and paths.count("case.case_number") == 1 and "*rejected" not in paths
    assert db.conn.execute("SELECT count(*) FROM operations WHERE letter_id = ?", (letter_id,)).fetchone()[0] == 2


def test_a_save_whose_commit_reply_the_server_connection_lost_lands_once(qtbot, pg_url: str) -> None:
    with Database.open(pg_url, user="alice") as db:
        letter_id = db.import_paths([REAL[0]]).added_ids[0]
        letter = db.letter(letter_id)
    with CommitDropper(pg_url) as proxy:
        writer = DbWriter(lambda: Database.open(proxy.url, user="alice"))
        try:
            chain = _Chain(writer, letter_id, letter.version)
            proxy.drop_next_commit()
            _two_saves(chain, letter)
            qtbot.waitUntil(lambda: len(chain.saved) + len(chain.failed) == 2, timeout=30_000)
            assert proxy.dropped.is_set()  # the first save's COMMIT ran on the server, its reply was lost
        finally:
            writer.close()
            close_pools(proxy.url)
    with Database.open(pg_url) as db:
        _assert_once(db, letter_id, letter.version, chain)


def test_the_windows_save_whose_commit_reply_is_lost_lands_once_and_the_window_goes_on(qtbot, pg_url: str) -> None:
    from imr_desk.ui.app import build_window

    with Database.open(pg_url, user="alice") as db:
        letter_id = db.import_paths(PDFS[:1]).added_ids[0]
        before = db.letter(letter_id).version
    with CommitDropper(pg_url) as proxy:
        w = build_window(proxy.url, user="alice", seed_samples=False)
        qtbot.addWidget(w)
        try:
            w.show()
            w.open_letter(letter_id)
            qtbot.waitUntil(lambda: w.writer.idle, timeout=20_000)  # the lease is taken
            messages: list[str] = []
            w.session.message.connect(messages.append)
            proxy.drop_next_commit()
            w.session.set_value("summary", "saved through a lost reply")
            w.session.save_now()
            qtbot.waitUntil(lambda: proxy.dropped.is_set(), timeout=20_000)
            qtbot.waitUntil(lambda: w.writer.idle and not w.session.dirty, timeout=30_000)
            w.session.set_value("case.case_number", "CM-AFTER-THE-DROP")  # the next save expects the right version
            w.session.save_now()
            qtbot.waitUntil(lambda: w.writer.idle and not w.session.dirty, timeout=30_000)
            assert not messages and not w.session.read_only, messages
            assert w.session.version == before + 2
        finally:
            w.close()
            close_pools(proxy.url)
    with Database.open(pg_url) as db:
        letter = db.letter(letter_id)
        assert letter.version == before + 2
        assert letter.record["summary"] == "saved through a lost reply"
        assert letter.record["case"]["case_number"] == "CM-AFTER-THE-DROP"
        paths = [h.path for h in db.history(letter_id)]
        assert paths.count("summary") == 1 and "*rejected" not in paths


class _BusyAfterCommit(SqliteConnection):
    """Commits for real, then (once, when armed) raises the SQLITE_BUSY error `busy`."""

    def __init__(self, raw: sqlite3.Connection, busy: sqlite3.Error) -> None:
        super().__init__(raw)
        self.busy: sqlite3.Error | None = busy
        self.committed_then_busy = False

    def commit(self) -> None:
        super().commit()
        if self.busy is not None:
            busy, self.busy = self.busy, None
            self.committed_then_busy = True
            raise busy


def _real_busy_error(path: Path) -> sqlite3.Error:
    """The error SQLite raises when another connection holds the write lock (no waiting)."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    probe = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        assert exc.sqlite_errorname == "SQLITE_BUSY"
        return exc
    finally:
        probe.close()
        holder.execute("ROLLBACK")
        holder.close()
    raise AssertionError("the lock was not taken")


def test_a_save_reported_busy_after_its_commit_on_sqlite_lands_once(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "review.db"
    with Database.open(path, user="alice") as db:
        letter_id = db.import_paths([REAL[0]]).added_ids[0]
        letter = db.letter(letter_id)
    busy = _real_busy_error(tmp_path / "scratch.db")
    conns: list[_BusyAfterCommit] = []

    def open_db() -> Database:
        db = Database.open(path, user="alice")
        assert isinstance(db.conn, SqliteConnection)
        db.conn = _BusyAfterCommit(db.conn.raw, busy)
        conns.append(db.conn)
        return db

    writer = DbWriter(open_db)
    try:
        chain = _Chain(writer, letter_id, letter.version)
        _two_saves(chain, letter)
        qtbot.waitUntil(lambda: len(chain.saved) + len(chain.failed) == 2, timeout=30_000)
    finally:
        writer.close()
    assert conns[0].committed_then_busy
    with Database.open(path) as db:
        _assert_once(db, letter_id, letter.version, chain)
