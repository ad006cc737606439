"""Real reviewed records: real PDFs imported into a temporary database, corrected and marked reviewed
through the store's API, as a clerk's window would. On both engines: an SQLite file and a database on
the test PostgreSQL server (exports read the same from both); tests about the SQLite file are `sqlite_only`."""

from __future__ import annotations

from pathlib import Path

import pytest

from imr_desk.store import Database

DATA = Path(__file__).resolve().parent.parent / "data"
REAL = sorted((DATA / "real").glob("*.pdf"))

# text a spreadsheet would evaluate, typed by a clerk or found in a letter
FORMULA_SUMMARY = '=HYPERLINK("http://example.com","click")'
MINUS_REQUEST = "-1 session of physical therapy"


def review(db: Database, letter_id: int, reason: str | None = None) -> None:
    try:
        db.set_status(letter_id, "reviewed", reason)
    except Exception:  # errors in its checks: a reason is needed
        db.set_status(letter_id, "reviewed", reason or "checked by hand")


def damage(db: Database, letter_id: int) -> None:
    """Break a letter's stored record (as a bad disk or a stray program might)."""
    db.conn.execute("UPDATE contents SET record = '{not json' WHERE letter_id = ?", (letter_id,))


@pytest.fixture
def db_path(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """The export tests' database on both engines (tests/conftest.py): a file, or a database on the test server."""
    if engine == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return tmp_path / "review.db"


@pytest.fixture
def reviewed(db: Database) -> Database:
    """Eight real letters: five reviewed (two corrected, with annotations), one postponed, two to review.

    Letter ids 1..8 in file order. Letter 1: summary set to a formula and an item's request starting
    with '-', an annotation 'question' on its first 20 characters and one removed. Letter 2: the
    decision date corrected and the reviewer's specialties changed, an annotation with a '+' note.
    Letters 1-5 reviewed (batch "week1" is letters 1-8), 6 postponed, 7-8 to review.
    """
    report = db.import_paths(REAL[:8], batch="week1")
    assert len(report.added) == 8, report
    ids = report.added_ids
    one = db.letter(ids[0])
    rec = one.record
    rec["summary"] = FORMULA_SUMMARY
    rec["items"][0]["request"] = MINUS_REQUEST
    db.save_record(ids[0], rec, one.version)
    db.add_annotation(ids[0], 0, 20, "question", "is this the right header?")
    gone = db.add_annotation(ids[0], 30, 40, "typo")
    db.remove_annotation(gone)
    two = db.letter(ids[1])
    rec = two.record
    rec["case"]["decision_date"] = "2017-01-10"
    rec["reviewer"]["specialties"] = ["Physical Medicine & Rehabilitation"]
    db.save_record(ids[1], rec, two.version)
    db.add_annotation(ids[1], 5, 25, "extraction error", "+ see page 2")
    for letter_id in ids[:5]:
        review(db, letter_id)
    db.set_status(ids[5], "postponed", "waiting for page 3")
    return db
