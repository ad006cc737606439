"""A queued write run again with its operation id writes nothing: a save lands once, at one version.

The window's writer runs a write again after a lost connection (or a busy database). The connection
can drop after the server committed, so each queued write carries an operation id the store records
in the write's own transaction. Here on both engines the same operation is run twice by hand, and on
the real PostgreSQL server a proxy loses the reply to a save's COMMIT (tests/pgproxy.py): the save is
in the database once.
"""

from __future__ import annotations

import uuid

import pytest

from imr_desk.store import ConnectionLost, Database, VersionConflict
from imr_desk.store.engine import close_pools
from tests.pgproxy import CommitDropper
from tests.store.conftest import REAL


def _history(db: Database, letter_id: int) -> list[tuple[str, object]]:
    return [(h.path, h.new) for h in db.history(letter_id)]


def test_a_save_run_again_with_its_operation_id_writes_nothing(db: Database) -> None:
    letter_id = db.import_paths([REAL[0]]).added_ids[0]
    letter = db.letter(letter_id)
    record = letter.record
    record["summary"] = "saved once"
    op = uuid.uuid4().hex
    assert db.save_record(letter_id, record, letter.version, op=op) == letter.version + 1
    history = _history(db, letter_id)
    # run again, as the writer does after losing the connection at COMMIT: same id, same expected version
    assert db.save_record(letter_id, record, letter.version, op=op) == letter.version + 1
    assert db.letter(letter_id).version == letter.version + 1
    assert _history(db, letter_id) == history  # no second row, no "*rejected" row
    assert db.conn.execute("SELECT count(*) FROM operations WHERE id = ?", (op,)).fetchone()[0] == 1
    # without its id the same save is a second writer's: refused (the version moved), kept as rejected
    with pytest.raises(VersionConflict):
        db.save_record(letter_id, record, letter.version, op=uuid.uuid4().hex)
    assert _history(db, letter_id)[-1][0] == "*rejected"


def test_a_refused_save_run_again_is_refused_again_without_a_second_rejected_row(db: Database) -> None:
    letter_id = db.import_paths([REAL[0]]).added_ids[0]
    letter = db.letter(letter_id)
    db.set_status(letter_id, "in review")  # someone else moved the letter on
    op = uuid.uuid4().hex
    with pytest.raises(VersionConflict):
        db.save_record(letter_id, letter.record, letter.version, op=op)
    rows = len(db.history(letter_id))
    with pytest.raises(VersionConflict):
        db.save_record(letter_id, letter.record, letter.version, op=op)
    assert len(db.history(letter_id)) == rows


def test_status_annotation_and_confirmation_run_again_are_written_once(db: Database) -> None:
    letter_id = db.import_paths([REAL[0]]).added_ids[0]
    version = db.letter(letter_id).version
    op = uuid.uuid4().hex
    assert db.set_status(letter_id, "postponed", reason="ask the lead", expected_version=version, op=op) == version + 1
    # without the id, the second run would be refused: the version it expects has moved on
    assert db.set_status(letter_id, "postponed", reason="ask the lead", expected_version=version, op=op) == version + 1
    assert db.letter(letter_id).version == version + 1
    op = uuid.uuid4().hex
    first = db.add_annotation(letter_id, 0, 5, "question", op=op)
    assert db.add_annotation(letter_id, 0, 5, "question", op=op) == first
    assert [a.id for a in db.annotations(letter_id)] == [first]
    op = uuid.uuid4().hex
    db.confirm_fields(letter_id, {"summary": "x"}, op=op)
    db.confirm_fields(letter_id, {"summary": "x"}, op=op)
    assert [h.new for h in db.history(letter_id) if h.path == "*confirmed"] == [{"summary": "x"}]
    assert [h.path for h in db.history(letter_id)].count("status") == 1


def test_operation_ids_older_than_a_week_are_forgotten(db: Database) -> None:
    letter_id = db.import_paths([REAL[0]]).added_ids[0]
    with db.transaction():
        db.conn.execute("INSERT INTO operations(id, letter_id, result, at) VALUES ('old', ?, '1', "
                        "'2020-01-01T00:00:00.000Z')", (letter_id,))
    letter = db.letter(letter_id)
    db.save_record(letter_id, letter.record | {"summary": "later"}, letter.version, op="new")
    assert [r[0] for r in db.conn.execute("SELECT id FROM operations ORDER BY id")] == ["new"]


def test_a_save_whose_commit_reply_is_lost_is_in_the_database_once(pg_url: str) -> None:
    with Database.open(pg_url, user="alice") as db:
        letter_id = db.import_paths([REAL[0]]).added_ids[0]
        letter = db.letter(letter_id)
    record = letter.record
    record["summary"] = "committed, reply lost"
    op = uuid.uuid4().hex
    with CommitDropper(pg_url) as proxy:
        try:
            with Database.open(proxy.url, user="alice") as db:
                proxy.drop_next_commit()
                with pytest.raises(ConnectionLost):
                    db.save_record(letter_id, record, letter.version, op=op)
                assert proxy.dropped.is_set()
                with Database.open(pg_url) as other:  # the server did commit it
                    assert other.letter(letter_id).version == letter.version + 1
                # the writer's retry: the same save, on a fresh connection through the same proxy
                assert db.save_record(letter_id, record, letter.version, op=op) == letter.version + 1
        finally:
            close_pools(proxy.url)
    with Database.open(pg_url) as db:
        stored = db.letter(letter_id)
        assert stored.version == letter.version + 1 and stored.record["summary"] == "committed, reply lost"
        assert [h.path for h in db.history(letter_id)].count("summary") == 1
        assert not any(h.path == "*rejected" for h in db.history(letter_id))
