"""`imr-desk stats --by-clerk`: who reviewed, changed and confirmed how much, today and in all."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from imr_desk.cli import cli
from imr_desk.store import Database, VersionConflict
from imr_desk.store.clerks import by_clerk, start_of_today

from .conftest import SEEDS


def work(path: Path) -> None:
    """alice and bob review letters of one database; one of alice's reviews was yesterday's."""
    with Database.open(path, user="alice") as alice:
        ids = alice.import_paths(SEEDS).added_ids
        for letter_id in ids[:3]:
            letter = alice.letter(letter_id)
            record = letter.record
            record["summary"] = f"checked {letter_id}"
            version = alice.save_record(letter_id, record, letter.version)
            alice.set_status(letter_id, "reviewed", "checked", expected_version=version)
        alice.confirm_fields(ids[0], {"case.case_number": "x", "case.decision_date": "y"})
        yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        alice.conn.execute("UPDATE history SET at = ? WHERE letter_id = ? AND who = 'alice'", (yesterday, ids[2]))
        alice.conn.execute("UPDATE letters SET reviewed_at = ? WHERE id = ?", (yesterday, ids[2]))
    with Database.open(path, user="bob") as bob:
        letter = bob.letter(ids[3])
        record = letter.record
        record["summary"] = "bob's"
        record["case"]["decision_date"] = "2016-01-02"
        bob.save_record(ids[3], record, letter.version)
        bob.set_status(ids[3], "reviewed", "fine")
        bob.set_status(ids[0], "reviewed", "again")  # a letter alice reviewed, marked again by bob
        try:
            bob.save_record(ids[4], record, letter.version - 1)
        except VersionConflict:
            pass


def test_by_clerk_counts_reviews_changes_and_confirmations(db_path: Path) -> None:
    work(db_path)
    with Database.open(db_path, readonly=True) as db:
        figures = by_clerk(db)
    assert figures["since"] == start_of_today()
    alice, bob = figures["clerks"]["alice"], figures["clerks"]["bob"]
    assert (alice["reviewed_today"], alice["reviewed"]) == (2, 3)
    assert (alice["changed_today"], alice["changed"]) == (2, 3)
    assert (alice["confirmed_today"], alice["confirmed"]) == (2, 2)
    assert (bob["reviewed_today"], bob["reviewed"]) == (2, 2)
    assert (bob["changed"], bob["confirmed"], bob["refused"]) == (2, 0, 1)
    assert alice["refused"] == 0 and set(figures["clerks"]) == {"alice", "bob"}


def test_stats_by_clerk_prints_a_table_and_json(db_path: Path) -> None:
    work(db_path)
    text = CliRunner().invoke(cli, ["stats", "--db", str(db_path), "--by-clerk"])
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert lines[0].split()[:3] == ["Clerk", "Reviewed", "today"]
    assert lines[1].split() == ["alice", "2", "3", "2", "3", "2", "2", "0", "0"]
    assert lines[2].split() == ["bob", "2", "2", "2", "2", "0", "0", "1", "1"]
    as_json = CliRunner().invoke(cli, ["stats", "--db", str(db_path), "--by-clerk", "--json"])
    assert json.loads(as_json.output)["clerks"]["bob"]["refused"] == 1


def test_by_clerk_on_an_untouched_database_says_so(db: Database) -> None:
    db.import_paths(SEEDS[:1])
    assert by_clerk(db)["clerks"] == {}
    out = CliRunner().invoke(cli, ["stats", "--db", db.target, "--by-clerk"])
    assert "no clerk has changed or reviewed a letter yet" in out.output
