"""The clerk's record, history, statuses, annotations and leases; two clerks on one database."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from imr_desk.store import Database, LetterLeased, StoreError, VersionConflict


def _first(db: Database) -> int:
    return db.queue({}, limit=1)[0].id


def test_saving_keeps_the_parser_record_and_writes_history_per_field(filled: Database) -> None:
    letter_id = _first(filled)
    letter = filled.letter(letter_id)
    record = copy.deepcopy(letter.record)
    record["patient"]["age"] = 77
    record["items"][0]["decision"] = "overturned"
    version = filled.save_record(letter_id, record, letter.version, reason="read the letter again")
    assert version == letter.version + 1
    after = filled.letter(letter_id)
    assert after.parsed == letter.parsed  # the parser's output is untouched
    assert after.record["patient"]["age"] == 77 and after.status == "in review"
    assert filled.items(letter_id)[0]["decision"] == "overturned"
    changes = {h.path: h for h in filled.history(letter_id) if h.origin == "clerk"}
    assert changes["patient.age"].old == letter.record["patient"]["age"] and changes["patient.age"].new == 77
    assert changes["items.0.decision"].reason == "read the letter again"
    assert changes["items.0.decision"].who == "alice" and changes["status"].new == "in review"
    assert set(filled.changed_fields(letter_id)) == {"patient.age", "items.0.decision"}


def test_saving_an_unchanged_record_adds_nothing(filled: Database) -> None:
    letter = filled.letter(_first(filled))
    n = len(filled.history(letter.id))
    assert filled.save_record(letter.id, letter.record, letter.version) == letter.version
    assert len(filled.history(letter.id)) == n


def test_two_connections_saving_the_same_letter_second_is_told_nothing_lost(filled: Database,
                                                                            db_path: Path) -> None:
    letter_id = _first(filled)
    other = Database.open(db_path, user="bob")
    mine, theirs = filled.letter(letter_id), other.letter(letter_id)
    theirs.record["summary"] = "Bob's summary."
    other.save_record(letter_id, theirs.record, theirs.version)
    mine.record["summary"] = "Alice's summary."
    with pytest.raises(VersionConflict) as err:
        filled.save_record(letter_id, mine.record, mine.version)
    assert "bob saved this letter" in err.value.clerk_message
    assert filled.letter(letter_id).record["summary"] == "Bob's summary."
    rejected = [h for h in filled.history(letter_id) if h.path == "*rejected"]
    assert rejected and rejected[0].new["summary"] == "Alice's summary." and rejected[0].who == "alice"
    other.close()


def test_statuses_postpone_needs_a_reason_errors_need_a_reason_to_review(filled: Database) -> None:
    letter_id = _first(filled)
    with pytest.raises(StoreError, match="Say why"):
        filled.set_status(letter_id, "postponed")
    filled.set_status(letter_id, "postponed", reason="waiting for page 3")
    letter = filled.letter(letter_id)
    assert letter.status == "postponed" and letter.status_reason == "waiting for page 3"
    with pytest.raises(StoreError, match="not a status"):
        filled.set_status(letter_id, "done")
    # make an error: an overturned decision whose rationale says "not medically necessary"
    record = letter.record
    item = record["items"][0]
    item["decision"] = "overturned"
    item["rationale"] = "The request is not medically necessary."
    filled.save_record(letter_id, record, letter.version)
    with pytest.raises(StoreError, match="error"):
        filled.set_status(letter_id, "reviewed")
    filled.set_status(letter_id, "reviewed", reason="the rationale quotes the UR reviewer")
    letter = filled.letter(letter_id)
    assert letter.status == "reviewed" and letter.reviewed_by == "alice" and letter.reviewed_at
    last = filled.history(letter_id)[-1]
    assert (last.path, last.old, last.new, last.reason) == ("status", "postponed", "reviewed",
                                                            "the rationale quotes the UR reviewer")


def test_annotations_are_added_listed_and_removed_without_losing_history(filled: Database) -> None:
    letter_id = _first(filled)
    text = filled.letter(letter_id).text
    start = text.index("Decision rationale")
    aid = filled.add_annotation(letter_id, start, start + 18, "question", "is this the UR text?")
    other = filled.add_annotation(letter_id, 0, 5, "note")
    notes = filled.annotations(letter_id)
    assert [(a.id, a.label, a.who) for a in notes] == [(other, "note", "alice"), (aid, "question", "alice")]
    assert text[notes[1].start:notes[1].end] == "Decision rationale"
    filled.remove_annotation(aid)
    assert [a.id for a in filled.annotations(letter_id)] == [other]
    removed = [a for a in filled.annotations(letter_id, include_removed=True) if a.id == aid][0]
    assert removed.removed_by == "alice" and removed.removed_at
    trail = [h for h in filled.history(letter_id) if h.path == f"annotations.{aid}"]
    assert trail[0].new["note"] == "is this the UR text?" and trail[1].old["label"] == "question"
    with pytest.raises(StoreError):
        filled.add_annotation(letter_id, 10, 5, "note")
    with pytest.raises(StoreError):
        filled.add_annotation(letter_id, 0, len(text) + 10, "note")


def test_leases_keep_a_second_clerk_off_and_expire(filled: Database, db_path: Path) -> None:
    letter_id = _first(filled)
    bob = Database.open(db_path, user="bob")
    filled.acquire_lease(letter_id, "alice-window")
    filled.acquire_lease(letter_id, "alice-window")  # the same window again: fine
    with pytest.raises(LetterLeased) as err:
        bob.acquire_lease(letter_id, "bob-window")
    assert "alice has this letter open" in err.value.clerk_message
    assert bob.lease_holder(letter_id) == "alice"
    filled.release_lease(letter_id, "alice-window")
    bob.acquire_lease(letter_id, "bob-window", ttl=-1)  # a lease that has already gone stale
    filled.acquire_lease(letter_id, "alice-window")  # a stale lease is taken over
    with pytest.raises(LetterLeased, match="took this letter over"):
        bob.renew_lease(letter_id, "bob-window")
    bob.close()


def test_a_save_from_before_the_review_is_refused_and_an_edit_reopens_the_review(filled: Database,
                                                                                 db_path: Path) -> None:
    letter_id = _first(filled)
    bob = Database.open(db_path, user="bob")
    stale = bob.letter(letter_id)
    version = filled.set_status(letter_id, "reviewed")
    assert version == stale.version + 1 == filled.letter(letter_id).version
    stale.record["summary"] = "Bob's late change."
    with pytest.raises(VersionConflict):
        bob.save_record(letter_id, stale.record, stale.version)
    with pytest.raises(VersionConflict):
        bob.set_status(letter_id, "postponed", reason="x", expected_version=stale.version)
    fresh = bob.letter(letter_id)
    assert fresh.status == "reviewed" and fresh.reviewed_by == "alice"
    fresh.record["summary"] = "Bob's correction."
    bob.save_record(letter_id, fresh.record, fresh.version)
    after = filled.letter(letter_id)
    assert after.status == "in review" and after.reviewed_by == "alice"  # the last review, kept
    reopened = filled.history(letter_id)[-1]
    assert (reopened.path, reopened.old, reopened.new, reopened.reason) == (
        "status", "reviewed", "in review", "changed after review")
    bob.close()


def test_a_record_still_the_parsers_is_stored_once(filled: Database) -> None:
    letter_id = _first(filled)
    raw = "SELECT record IS NULL FROM contents WHERE letter_id = ?"
    assert filled.conn.execute(raw, (letter_id,)).fetchone()[0] == 1  # as imported
    letter = filled.letter(letter_id)
    assert letter.record == letter.parsed
    original = letter.record["summary"]
    letter.record["summary"] = "Changed."
    version = filled.save_record(letter_id, letter.record, letter.version)
    assert filled.conn.execute(raw, (letter_id,)).fetchone()[0] == 0
    assert filled.letter(letter_id).record["summary"] == "Changed."
    back = filled.letter(letter_id)
    back.record["summary"] = original
    back.record["warnings"] = letter.parsed["warnings"]
    filled.save_record(letter_id, back.record, version)
    assert filled.letter(letter_id).record["summary"] == original
    assert filled.changed_fields(letter_id) == []


def test_a_leased_letter_names_who_where_and_since_when_in_local_time(filled: Database, db_path: Path,
                                                                     monkeypatch) -> None:
    import time as clock
    from datetime import datetime

    monkeypatch.setenv("TZ", "America/Los_Angeles")
    clock.tzset()
    try:
        letter_id = _first(filled)
        filled.acquire_lease(letter_id, "alice@desk-7:4242:0badcafe")
        bob = Database.open(db_path, user="bob")
        with pytest.raises(LetterLeased) as err:
            bob.acquire_lease(letter_id, "bob@desk-9:77:12345678")
        bob.close()
        local = datetime.now().astimezone().strftime("%H:%M")
        message = err.value.clerk_message
        assert "alice on desk-7 has this letter open" in message
        assert f"since {local}" in message or f"since {datetime.now().astimezone():%H}" in message
        assert "Z" not in message.split("since", 1)[1].split(")")[0]
    finally:
        monkeypatch.delenv("TZ")
        clock.tzset()


def test_confirmed_fields_are_kept_in_the_history_with_who_and_when(filled: Database, db_path: Path) -> None:
    from imr_desk.core import confirmations

    letter_id = _first(filled)
    record = filled.letter(letter_id).record
    case = record["case"]["case_number"]
    filled.confirm_fields(letter_id, {"case.case_number": case, "items.0.decision": record["items"][0]["decision"]})
    bob = Database.open(db_path, user="bob")
    bob.confirm_fields(letter_id, {"items.0.decision": record["items"][0]["decision"]})
    found = bob.confirmations(letter_id)
    bob.close()
    assert set(found) == {"case.case_number", "items.0.decision"}
    assert found["case.case_number"].by == "alice" and found["items.0.decision"].by == "bob"
    assert found["case.case_number"].at.endswith("Z")
    rows = [h for h in filled.history(letter_id) if h.path == confirmations.HISTORY_PATH]
    assert len(rows) == 2 and rows[0].origin == "clerk" and rows[0].new["case.case_number"] == case
    # a confirmation holds while the field keeps its value
    assert set(confirmations.holding(found, record)) == {"case.case_number", "items.0.decision"}
    record["case"]["case_number"] = "CM00-0000000"
    assert set(confirmations.holding(found, record)) == {"items.0.decision"}


def test_a_team_setting_is_shared_by_every_window_on_the_database(filled: Database, db_path: Path) -> None:
    assert filled.team_setting("require_confirm_one_by_one") is None
    filled.set_team_setting("require_confirm_one_by_one", "1")
    with Database.open(db_path, user="bob") as bob:
        assert bob.team_setting("require_confirm_one_by_one") == "1"
        bob.set_team_setting("require_confirm_one_by_one", "0")
    assert filled.team_setting("require_confirm_one_by_one") == "0"


def test_a_burst_of_typing_in_one_field_is_one_history_entry(filled: Database, monkeypatch) -> None:
    import imr_desk.store.database as store_db

    letter_id = _first(filled)
    letter = filled.letter(letter_id)
    record, version = letter.record, letter.version
    original = record["items"][0]["request"]
    for typed in ("A", "Acu", "Acupuncture", "Acupuncture x6"):  # what autosave saw as the clerk typed
        record["items"][0]["request"] = typed
        version = filled.save_record(letter_id, record, version)
    rows = [h for h in filled.history(letter_id) if h.path == "items.0.request"]
    assert [(h.old, h.new) for h in rows] == [(original, "Acupuncture x6")]
    record["patient"]["age"] = 44  # another field: its own entry, and the request's burst is over
    version = filled.save_record(letter_id, record, version)
    record["items"][0]["request"] = "Acupuncture x8"
    version = filled.save_record(letter_id, record, version)
    paths = [h.path for h in filled.history(letter_id) if h.origin == "clerk" and h.path != "status"]
    assert paths == ["items.0.request", "patient.age", "items.0.request"]
    # typed back to what it was: the burst leaves no entry; and after a pause, a new entry
    record["items"][0]["request"] = "Acupuncture x6"
    version = filled.save_record(letter_id, record, version)
    assert [h.path for h in filled.history(letter_id) if h.origin == "clerk" and h.path != "status"] == [
        "items.0.request", "patient.age"]
    monkeypatch.setattr(store_db, "BURST_SECONDS", 0.0)
    for typed in ("B", "Bo"):
        record["items"][0]["request"] = typed
        version = filled.save_record(letter_id, record, version)
    assert len([h for h in filled.history(letter_id) if h.path == "items.0.request"]) == 3
