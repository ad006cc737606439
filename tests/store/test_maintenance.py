"""Re-parsing with a newer parser, and the parser's accuracy measured by the clerks' corrections."""

from __future__ import annotations

import json

from imr_desk.core import PARSER_VERSION
from imr_desk.store import Database


def _pretend_older_parser(db: Database, letter_id: int, age: int) -> None:
    """Make a letter look as if an older parser had read its age wrong."""
    row = db.conn.execute("SELECT parsed, coalesce(record, parsed) FROM contents WHERE letter_id = ?",
                          (letter_id,)).fetchone()
    parsed, record = json.loads(row[0]), json.loads(row[1])
    parsed["patient"]["age"] = age
    record["patient"]["age"] = age if record["patient"]["age"] == json.loads(row[0])["patient"]["age"] else \
        record["patient"]["age"]
    db.conn.execute("UPDATE contents SET parsed = ?, record = ? WHERE letter_id = ?",
                    (json.dumps(parsed), json.dumps(record), letter_id))
    db.conn.execute("UPDATE letters SET parser_version = '0.9' WHERE id = ?", (letter_id,))


def test_reparse_updates_letters_not_yet_reviewed_and_keeps_reviewed_ones(filled: Database) -> None:
    ids = [r.id for r in filled.queue({}, limit=3)]
    fresh, reviewed, current = ids
    true_age = filled.letter(fresh).record["patient"]["age"]
    _pretend_older_parser(filled, fresh, 5)
    letter = filled.letter(reviewed)
    letter.record["summary"] = "The clerk's own summary."
    filled.save_record(reviewed, letter.record, letter.version)
    filled.set_status(reviewed, "reviewed", reason="checked")
    _pretend_older_parser(filled, reviewed, 6)
    kept = filled.letter(reviewed).record

    report = filled.reparse()
    assert report.replaced == [fresh] and report.recorded == [reviewed] and report.failed == []
    assert current not in report.replaced + report.recorded  # read by this parser already
    after = filled.letter(fresh)
    assert after.record["patient"]["age"] == true_age == after.parsed["patient"]["age"]
    assert after.parser_version == PARSER_VERSION
    change = [h for h in filled.history(fresh) if h.origin == "reparse"]
    assert [(h.path, h.old, h.new) for h in change] == [("patient.age", 5, true_age)]
    rev = filled.letter(reviewed)
    assert rev.record == kept and rev.status == "reviewed"
    assert rev.parsed["patient"]["age"] != 6
    note = [h for h in filled.history(reviewed) if h.origin == "reparse"][0]
    assert note.new["parser_version"] == PARSER_VERSION and "patient.age" in note.new["changed"]
    assert filled.reparse().replaced == []  # nothing left to do


def test_accuracy_counts_values_kept_through_review(filled: Database) -> None:
    a, b = [r.id for r in filled.queue({}, limit=2)]
    for letter_id in (a, b):
        letter = filled.letter(letter_id)
        if letter_id == b:
            letter.record["patient"]["age"] = (letter.record["patient"]["age"] or 0) + 1
            filled.save_record(letter_id, letter.record, letter.version)
        filled.set_status(letter_id, "reviewed", reason="ok")
    acc = filled.accuracy()
    assert acc["patient.age"] == {"kept": 1, "total": 2, "rate": 0.5}
    assert acc["case.case_number"]["rate"] == 1.0
    assert acc["items.decision"]["total"] >= 2
    stats = filled.stats()
    assert stats["by_status"]["reviewed"] == 2 and stats["letters"] == 11
    assert stats["by_batch"] == {"first": 11}
    assert stats["by_layout"] == {"fdl": 5, "fdl-header": 6}  # the seed texts have no header table
    assert sum(stats["items_by_decision"].values()) == filled.conn.execute("SELECT count(*) FROM items").fetchone()[0]


def test_reparse_keeps_a_clerks_edits_whatever_the_status_and_updates_untouched_postponed_letters(
        filled: Database) -> None:
    edited, postponed = [r.id for r in filled.queue({}, limit=2)]
    letter = filled.letter(edited)
    letter.record["case"]["case_number"] = "CLERK-1"
    version = filled.save_record(edited, letter.record, letter.version)
    filled.set_status(edited, "to review", reason="back to the pile")
    filled.set_status(postponed, "postponed", reason="page missing")
    true_age = filled.letter(postponed).record["patient"]["age"]
    for letter_id in (edited, postponed):
        _pretend_older_parser(filled, letter_id, 3)
    report = filled.reparse()
    assert report.recorded == [edited] and report.replaced == [postponed]
    assert filled.letter(edited).record["case"]["case_number"] == "CLERK-1" and version
    again = filled.letter(postponed)
    assert again.record["patient"]["age"] == true_age and again.status == "postponed"


def test_accuracy_is_not_fooled_by_reordered_or_removed_items(filled: Database) -> None:
    letter_id = next(r.id for r in filled.queue({}, limit=20) if r.item_count >= 3)
    letter = filled.letter(letter_id)
    items = letter.record["items"]
    n = len(items)
    letter.record["items"] = [items[2], items[0]] + items[3:]  # item 2 struck out, the rest reordered
    letter.record["items"][1]["request"] = items[0]["request"] + " (corrected)"
    filled.save_record(letter_id, letter.record, letter.version)
    filled.set_status(letter_id, "reviewed", reason="checked")
    acc = filled.accuracy()
    assert acc["items.request"] == {"kept": n - 2, "total": n, "rate": round((n - 2) / n, 4)}
    assert acc["items.decision"]["kept"] == n - 1 and acc["items.decision"]["total"] == n


def test_reparse_keeps_a_reviewed_record_that_was_still_the_parsers(filled: Database) -> None:
    letter_id = filled.queue({}, limit=1)[0].id
    filled.set_status(letter_id, "reviewed", reason="all correct")  # reviewed without a single change
    approved = filled.letter(letter_id).record
    # an older parser had read another age; the clerk approved the record as it was
    filled.conn.execute("UPDATE letters SET parser_version = '0.9' WHERE id = ?", (letter_id,))
    parsed = dict(approved, patient=dict(approved["patient"], age=99))
    filled.conn.execute("UPDATE contents SET parsed = ?, record = NULL WHERE letter_id = ?",
                        (json.dumps(parsed), letter_id))
    report = filled.reparse()
    assert report.recorded == [letter_id]
    after = filled.letter(letter_id)
    assert after.record["patient"]["age"] == 99  # what the clerk approved, not the new parser's value
    assert after.parsed["patient"]["age"] == approved["patient"]["age"]


def test_stats_count_a_letter_in_an_unseen_template_as_unseen(db: Database, tmp_path) -> None:
    from tests.core.letters import MAXIMUS_2013, UNSEEN

    (tmp_path / "unseen.txt").write_text(UNSEEN, encoding="utf-8")
    (tmp_path / "notice.txt").write_text(MAXIMUS_2013, encoding="utf-8")
    db.import_paths([tmp_path / "unseen.txt", tmp_path / "notice.txt"], batch="b")
    assert db.stats()["by_layout"] == {"(unseen)": 1, "maximus-2013": 1}
