"""One letter filter type (store/filters.py) chooses the queue's letters and the export set's."""

from __future__ import annotations

import pytest

from imr_desk.export.selection import ExportSet, select_ids
from imr_desk.store import Database
from imr_desk.store.filters import LetterFilter


def test_the_queue_and_the_export_choose_through_one_filter(reviewed: Database) -> None:
    ids = [r.id for r in reviewed.queue({}, limit=100)]
    assert ids
    chosen = ExportSet(status=["reviewed"], ids=ids[:3])
    by_export = select_ids(reviewed.conn, chosen)
    assert by_export == reviewed.letter_ids(chosen.letter_filter())
    as_queue = [r.id for r in reviewed.queue(chosen.letter_filter(), limit=100)]
    assert as_queue == by_export == [r.id for r in reviewed.queue({"status": "reviewed", "ids": ids[:3]})]
    assert reviewed.queue_count(LetterFilter(status=["to review", "in review"])) == reviewed.queue_count(
        {"status": ["to review", "in review"]})
    everyone = reviewed.reviewers()
    assert everyone and reviewed.letter_ids(LetterFilter(reviewed_by=everyone[0])) == select_ids(
        reviewed.conn, ExportSet(status=[], reviewer=everyone[0]))


def test_an_unknown_filter_is_named(db) -> None:
    with pytest.raises(ValueError, match="unknown letter filter colour"):
        LetterFilter.of({"colour": "red"})
    assert LetterFilter().where(db.conn) == ("", [])
