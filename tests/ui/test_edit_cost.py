"""Edits of a letter of hundreds of items in the real window: undo and redo put back exactly what was there,
from edits kept as what they changed; removing and moving an item is one history row; the history dialog
reads a page at a time. (Their cost on 8,000 items: tests/bench/test_edit_bench.py.)"""

from __future__ import annotations

import json

from PySide6.QtWidgets import QApplication

from imr_desk.core.checks import RECORD_CODES, check_record
from imr_desk.store import Database
from imr_desk.ui.dialogs import HistoryDialog
from imr_desk.ui.record_ops import ItemsOp, Patch
from tests.ui.conftest import letter_id
from tests.ui.huge import huge_letter

ITEMS = 300


def _open_many(qtbot, open_window, db_path, tmp_path):
    with Database.open(db_path, user="importer") as db:
        assert len(db.import_paths([huge_letter(tmp_path, ITEMS)], batch="many").added) == 1
    w = open_window(db_path)
    assert w.open_letter(letter_id(w, f"huge-{ITEMS}-items.txt"))
    return w


def _as_json(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False)  # key order too: undo gives back the very record


def test_undo_and_redo_put_back_exactly_what_edits_of_many_items_changed(qtbot, open_window, db_path, tmp_path):
    w = _open_many(qtbot, open_window, db_path, tmp_path)
    s = w.session
    states = [_as_json(s.record)]
    s.set_value("items.4.request", "Acupuncture x6")
    states.append(_as_json(s.record))
    s.focus("items.9.rationale")
    start = s.text.text.index("The guidelines recommend")
    s.fill_from_selection(start, start + len("The guidelines recommend"))  # a value with where it was read
    states.append(_as_json(s.record))
    s.set_value("items.5.decision", None)  # an error on item 6, which the moves below renumber
    states.append(_as_json(s.record))
    assert any(w["message"] == "Item 6 has no decision." for w in s.record["warnings"])
    s.move_item(4, 1)
    states.append(_as_json(s.record))
    s.remove_item(2)
    states.append(_as_json(s.record))
    s.add_item()
    states.append(_as_json(s.record))
    record = s.record
    assert len(record["items"]) == ITEMS and record["items"][1]["request"] == "Acupuncture x6"
    assert record["fields"]["items.8.rationale"]["rule"] == "clerk-selection"  # item 10 is the 9th since item 3 went
    assert [w["path"] for w in record["warnings"] if w["code"] == "decision-missing"] == [
        "items.4.decision", f"items.{ITEMS - 1}.decision"]  # and the item added
    # each edit holds what it changed, never a copy of the record
    for i in range(s.undo_stack.count()):
        op = s.undo_stack.command(i).op
        assert isinstance(op, Patch | ItemsOp)
        if isinstance(op, Patch):
            assert len(op.changes) <= 3
            assert all(not (isinstance(v, dict) and "items" in v) for c in op.changes for v in c[1:])
    for expected in reversed(states[:-1]):
        s.undo_stack.undo()
        assert _as_json(s.record) == expected
        assert _checked(s.record) == check_record(s.record)  # the items' kept checks are those checked afresh
    for expected in states[1:]:
        s.undo_stack.redo()
        assert _as_json(s.record) == expected
        assert _checked(s.record) == check_record(s.record)


def _checked(record: dict) -> list[dict]:
    return [w for w in record["warnings"] if w["code"] in RECORD_CODES]


def test_removing_an_item_in_the_window_is_one_history_row_shown_in_words(qtbot, open_window, db_path, tmp_path):
    w = _open_many(qtbot, open_window, db_path, tmp_path)
    s = w.session
    lid = s.letter_id
    qtbot.waitUntil(lambda: w.writer.idle, timeout=5000)
    before = w.db.history_count(lid)
    request = s.value("items.6.request")
    w.form._remove(6)  # the item's "remove" button
    qtbot.waitUntil(lambda: not s.dirty, timeout=10_000)
    rows = [h for h in w.db.history(lid)[before:] if h.path != "status"]
    assert [(h.path, h.old["request"], h.new) for h in rows] == [("items.6", request, None)]
    w.do_history()
    dialog = w.dialog
    shown = [dialog.table.item(r, 2).text() for r in range(dialog.table.rowCount())]
    assert f"Item 7 removed (it was “{request}”)" in shown
    dialog.close()


def test_the_history_dialog_shows_a_page_and_the_rest_on_asking(qtbot, open_window, db_path, tmp_path):
    with Database.open(db_path, user="importer") as db:
        assert len(db.import_paths([huge_letter(tmp_path, ITEMS)], batch="many").added) == 1
        lid = next(r.id for r in db.queue({}, limit=100) if r.name == f"huge-{ITEMS}-items.txt")
        letter = db.letter(lid)
        record = letter.record or letter.parsed
        for i in range(ITEMS):
            record["items"][i]["request"] = f"Request {i} corrected"
        db.save_record(lid, record, letter.version)  # ITEMS history rows at once
        total = db.history_count(lid)
    assert total > ITEMS > HistoryDialog.PAGE
    w = open_window(db_path)
    assert w.open_letter(lid)
    w.do_history()
    dialog = w.dialog
    assert isinstance(dialog, HistoryDialog)
    table = dialog.table
    assert table.rowCount() == HistoryDialog.PAGE
    assert dialog.shown_label.text() == f"{HistoryDialog.PAGE} of {total} entries" and dialog.more_button.isVisible()
    assert table.item(0, 2).text().startswith("Letter read by the parser")
    bar = table.verticalScrollBar()
    bar.setValue(bar.maximum())  # scrolled to the end: the next page comes
    QApplication.processEvents()
    assert table.rowCount() == min(total, 2 * HistoryDialog.PAGE)
    while dialog.more_button.isVisible():
        dialog.more_button.click()
    assert table.rowCount() == total and dialog.shown_label.text() == f"{total} entries"
    shown = [table.item(r, 2).text() for r in range(total)]
    assert shown[-1] == f"Item {ITEMS} · Request changed from “Physical therapy session {ITEMS}” to " \
                        f"“Request {ITEMS - 1} corrected”" or "Status" in shown[-1]
    assert len(set(shown)) >= ITEMS  # every row once, none twice
    dialog.close()


def test_after_a_move_or_a_removal_each_item_is_compared_with_and_put_back_to_its_own_parser_item(
        qtbot, open_window, db_path, tmp_path):
    """Found by hand on a 3,000-item letter: after a move, both swapped items were marked "changed" with each
    other's parser value under them; after a removal every later item was; and Ctrl+R on one of them put in
    the value the parser read for another item. The items are the parser's items they were, wherever they move."""
    w = _open_many(qtbot, open_window, db_path, tmp_path)
    s, form = w.session, w.form
    s.move_item(1, 3)  # session 2 now third
    s.remove_item(0)  # session 1 gone: session 3, 4, 2, 5, ...
    requests = [it["request"] for it in s.record["items"][:4]]
    assert requests == ["Physical therapy session 3", "Physical therapy session 4", "Physical therapy session 2",
                        "Physical therapy session 5"]
    for n in (0, 1, 2, 3, ITEMS - 2):
        assert not s.field_state(f"items.{n}.request").changed, n
        assert not s.field_state(f"items.{n}.rationale").changed, n
    assert s.parser_value("items.2.request") == "Physical therapy session 2"
    # the clerk corrects the moved item, then puts the parser's value back: its own, not position 3's
    s.focus("items.2.request")
    s.set_value("items.2.request", "Physical therapy, second session")
    assert s.field_state("items.2.request").changed
    assert form.revert_field("items.2.request")
    qtbot.waitUntil(lambda: not s.dirty and not s.writes_pending(), timeout=10_000)
    assert s.value("items.2.request") == "Physical therapy session 2"
    assert s.record["fields"]["items.2.request"] == s.parser_provenance("items.2.request")
    assert s.text.text[slice(*ops_span(s, "items.2.request"))] == "Physical therapy session 2"
    # undo the removal and the move: positions and links as the parser read them again
    while s.undo_stack.canUndo():
        s.undo_stack.undo()
    assert s.item_origin[:4] == [0, 1, 2, 3]
    added = s.add_item()
    assert s.parser_value(f"items.{added}.request") is None and s.parser_provenance(f"items.{added}.request") is None
    w.session.close_letter(discard=True)


def ops_span(s, path: str) -> tuple[int, int]:
    span = s.span_of(path)
    assert span is not None, path
    return span[0], span[1]
