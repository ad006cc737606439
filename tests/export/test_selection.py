"""Choosing the export set: status, batch, review dates, reviewer, decision, ids, only new."""

from __future__ import annotations

from pathlib import Path

import pytest

from imr_desk.export import ExportError, ExportSet, NothingToExport, export_set
from imr_desk.export.selection import select_ids
from imr_desk.store import Database
from tests.export.conftest import REAL, review


def ids(db: Database, **kw: object) -> list[int]:
    return select_ids(db.conn, ExportSet(**kw))  # type: ignore[arg-type]


def test_reviewed_by_default(reviewed: Database) -> None:
    assert ids(reviewed) == [1, 2, 3, 4, 5]
    assert ids(reviewed, status=["postponed"]) == [6]
    assert ids(reviewed, status="to review") == [7, 8]
    assert ids(reviewed, status=[]) == list(range(1, 9))


def test_only_new_leaves_out_letters_exported_before(reviewed: Database, tmp_path: Path) -> None:
    first = export_set(reviewed, "jsonl", tmp_path / "a.jsonl", ExportSet(only_new=True))
    assert first.count == 5
    with pytest.raises(NothingToExport, match="not exported since their last review"):
        export_set(reviewed, "jsonl", tmp_path / "b.jsonl", ExportSet(only_new=True))
    assert not (tmp_path / "b.jsonl").exists()
    review(reviewed, 7)
    second = export_set(reviewed, "csv", tmp_path / "c", ExportSet(only_new=True))
    assert second.count == 1
    assert ids(reviewed, only_new=True) == []
    # a full export still carries everything, and records it again
    third = export_set(reviewed, "jsonl", tmp_path / "d.jsonl")
    assert third.count == 6
    rows = reviewed.conn.execute("SELECT export_id, count(*) FROM letter_exports GROUP BY export_id ORDER BY export_id").fetchall()
    assert rows == [(first.export_id, 5), (second.export_id, 1), (third.export_id, 6)]


def test_batch(reviewed: Database) -> None:
    report = reviewed.import_paths(REAL[8:10], batch="week2")
    for letter_id in report.added_ids:
        review(reviewed, letter_id)
    assert ids(reviewed, batch="week2") == report.added_ids
    assert ids(reviewed, batch="week1") == [1, 2, 3, 4, 5]
    assert ids(reviewed, batch="no such batch") == []


def test_review_dates_and_reviewer(reviewed: Database, db_path: Path) -> None:
    # review times as they would be after a week of work
    for letter_id, at in ((1, "2026-03-01T09:00:00.000Z"), (2, "2026-03-02T17:30:00.000Z"),
                          (3, "2026-03-03T08:00:00.000Z"), (4, "2026-03-04T23:59:59.999Z"),
                          (5, "2026-03-05T00:00:00.000Z")):
        reviewed.conn.execute("UPDATE letters SET reviewed_at = ? WHERE id = ?", (at, letter_id))
    assert ids(reviewed, since="2026-03-03") == [3, 4, 5]
    assert ids(reviewed, until="2026-03-02") == [1, 2]
    assert ids(reviewed, since="2026-03-02", until="2026-03-04") == [2, 3, 4]
    bob = Database.open(db_path, user="bob")
    try:
        review(bob, 8)
    finally:
        bob.close()
    assert ids(reviewed, reviewer="bob") == [8]
    assert ids(reviewed, reviewer="alice") == [1, 2, 3, 4, 5]
    with pytest.raises(ExportError, match="is not a date"):
        ExportSet(since="last week")


def test_decision(reviewed: Database) -> None:
    expected = {d: sorted({r[0] for r in reviewed.conn.execute(
        "SELECT letter_id FROM items WHERE decision = ? AND letter_id <= 5", (d,))}) for d in ("upheld", "overturned")}
    assert expected["upheld"]  # the real letters have both kinds
    assert ids(reviewed, decision="upheld") == expected["upheld"]
    assert ids(reviewed, decision="Overturned") == expected["overturned"]
    with pytest.raises(ExportError, match="Unknown decision"):
        ExportSet(decision="denied")


def test_explicit_ids(reviewed: Database, tmp_path: Path) -> None:
    assert ids(reviewed, ids=[4, 2, 7]) == [2, 4]  # still only reviewed ones
    assert ids(reviewed, ids=[4, 2, 7], status=[]) == [2, 4, 7]
    result = export_set(reviewed, "jsonl", tmp_path / "x.jsonl", ExportSet(ids=[3]))
    assert result.count == 1 and result.manifest["filter"] == {"status": ["reviewed"], "ids": [3]}


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ExportError, match="Unknown status 'done'"):
        ExportSet(status=["done"])
