"""Saving a letter of hundreds of items: history rows per item changed (not per item shifted), the items table and
search in step with the record, the history read a page at a time, search bounded on a huge letter. Both engines.

The timings of the same on 8,000 items are benchmarks: tests/bench/test_edit_bench.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imr_desk.store import Database
from imr_desk.ui.history import sentence
from imr_desk.ui.record_ops import ItemsOp, value_patch
from tests.ui.huge import huge_letter

ITEMS = 300


@pytest.fixture
def many(db: Database, tmp_path: Path) -> int:
    """A letter of ITEMS items in the database; its id."""
    assert len(db.import_paths([huge_letter(tmp_path, ITEMS)], batch="many").added) == 1
    return db.queue({}, limit=1)[0].id


def _record(db: Database, letter_id: int) -> tuple[dict, int]:
    letter = db.letter(letter_id)
    return (letter.record or letter.parsed), letter.version


def _clerk_rows(db: Database, letter_id: int, since: int) -> list:
    return [h for h in db.history(letter_id)[since:] if h.origin == "clerk" and h.path != "status"]


def _items_table_is_the_record(db: Database, letter_id: int) -> None:
    record = db.letter(letter_id).record
    rows = db.items(letter_id)
    assert [(r["position"], r["request"], r["decision"]) for r in rows] == [
        (i, item.get("request"), item.get("decision")) for i, item in enumerate(record["items"])]


def test_removing_moving_and_adding_an_item_write_one_history_row_each(db: Database, many: int) -> None:
    record, version = _record(db, many)
    requests = [i["request"] for i in record["items"]]

    before = db.history_count(many)
    record = ItemsOp("remove", 10).forward(record)  # the review window's own operation
    version = db.save_record(many, record, version)
    rows = _clerk_rows(db, many, before)
    assert [(h.path, h.old["request"], h.new) for h in rows] == [("items.10", requests[10], None)]
    assert sentence(rows[0].path, rows[0].old, rows[0].new) == f"Item 11 removed (it was “{requests[10]}”)"
    _items_table_is_the_record(db, many)

    before = db.history_count(many)
    record = ItemsOp("move", 20, 5).forward(record)
    version = db.save_record(many, record, version)
    rows = _clerk_rows(db, many, before)
    assert [(h.path, h.old, h.new) for h in rows] == [
        ("items.5", {"position": 21, "request": requests[21]}, {"position": 6, "request": requests[21]})]
    assert sentence(rows[0].path, rows[0].old, rows[0].new) == f"Item 21 (“{requests[21]}”) moved to position 6"
    _items_table_is_the_record(db, many)

    before = db.history_count(many)
    record = ItemsOp("add", 0).forward(record)
    version = db.save_record(many, record, version)
    rows = _clerk_rows(db, many, before)
    assert [(h.path, h.old) for h in rows] == [(f"items.{ITEMS - 1}", None)]
    assert sentence(rows[0].path, rows[0].old, rows[0].new) == f"Item {ITEMS} added"
    _items_table_is_the_record(db, many)

    before = db.history_count(many)  # one field of one item: one row, as ever
    record = value_patch(record, "items.150.request", "Zylofaxin 20 mg").forward(record)
    version = db.save_record(many, record, version)
    assert [(h.path, h.new) for h in _clerk_rows(db, many, before)] == [("items.150.request", "Zylofaxin 20 mg")]
    _items_table_is_the_record(db, many)
    assert db.letter(many).record["items"] == record["items"]
    hits = db.search("zylofaxin")  # the searched columns follow the record
    assert [h.id for h in hits] == [many] and "[Zylofaxin]" in hits[0].snippet


def test_a_save_after_another_program_saved_compares_with_what_that_program_stored(db: Database, many: int,
                                                                                    db_path) -> None:
    record, version = _record(db, many)
    record = value_patch(record, "items.3.request", "first").forward(record)
    version = db.save_record(many, record, version)  # this store now knows the letter as it saved it
    with Database.open(db_path, user="bob") as bob:
        theirs = bob.letter(many)
        bob.save_record(many, value_patch(theirs.record, "items.3.request", "bob's").forward(theirs.record),
                        theirs.version)
        bob_removed = ItemsOp("remove", 0).forward(bob.letter(many).record)
        bob.save_record(many, bob_removed, bob.letter(many).version)
    mine = db.letter(many)
    before = db.history_count(many)
    db.save_record(many, value_patch(mine.record, "items.2.request", "mine").forward(mine.record), mine.version)
    rows = _clerk_rows(db, many, before)
    assert [(h.path, h.old, h.new) for h in rows] == [("items.2.request", "bob's", "mine")]
    _items_table_is_the_record(db, many)


def test_a_record_changed_in_place_after_it_was_saved_is_saved_with_the_change(db: Database, many: int) -> None:
    """The store keeps what it saved, not the caller's record: a caller that changes its record afterwards
    (as scripts do) has the change found and saved."""
    record, version = _record(db, many)
    record["items"][7]["decision"] = "overturned"
    version = db.save_record(many, record, version)
    record["items"][7]["decision"] = "upheld"  # the same dict, changed again
    before = db.history_count(many)
    version = db.save_record(many, record, version, reason="checked again")  # (a reason: not a burst of typing)
    assert [(h.path, h.old, h.new) for h in _clerk_rows(db, many, before)] == [
        ("items.7.decision", "overturned", "upheld")]
    assert db.items(many)[7]["decision"] == "upheld"


def test_the_history_reads_a_page_at_a_time_and_the_pages_hold_every_row(db: Database, many: int) -> None:
    record, version = _record(db, many)
    for i in range(ITEMS):  # one save changing every item's request: ITEMS rows at once
        record = value_patch(record, f"items.{i}.request", f"Request {i} corrected").forward(record)
    db.save_record(many, record, version)
    everything = db.history(many)
    assert db.history_count(many) == len(everything) > ITEMS
    pages, offset = [], 0
    while page := db.history(many, offset=offset, limit=200):
        assert len(page) <= 200
        pages.extend(page)
        offset += len(page)
    assert pages == everything
    assert db.history(many, offset=len(everything)) == []
    assert db.history(many, offset=5) == everything[5:]


def test_search_on_a_letter_of_hundreds_of_items_finds_it_and_marks_the_words(db: Database, many: int) -> None:
    hits = db.search("guidelines recommend limited course")
    assert [h.id for h in hits] == [many]
    snippet = hits[0].snippet
    for word in ("guidelines", "recommend", "limited", "course"):
        assert f"[{word}]" in snippet, snippet
    assert len(snippet) < 200
    assert db.search("session 299")[0].id == many
    assert db.search("zzznothing") == []


def test_a_save_run_again_after_it_landed_is_recognised_on_a_letter_of_many_items(db: Database, many: int) -> None:
    """The window runs a save again, with its operation id, when its connection dropped after COMMIT: the save
    is recognised (nothing written again, no conflict) on a letter of many items too."""
    record, version = _record(db, many)
    record = value_patch(record, "items.42.request", "Acupuncture x6 — “6 sessions”, ½ hour").forward(record)
    landed = db.save_record(many, record, version, op="op-many-1")
    rows = len(db.history(many))
    assert db.save_record(many, record, version, op="op-many-1") == landed  # the same save again
    assert len(db.history(many)) == rows
    assert not any(h.path == "*rejected" for h in db.history(many))
