"""Text the server refuses (NUL, lone surrogates) is cleaned at the store's boundary, on both engines, and
the cleaning is recorded in the letter's history (store/storable.py)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from imr_desk.store import Database
from imr_desk.store.copying import copy_database
from imr_desk.store.storable import CLEANED_PATH, REPLACEMENT, clean, clean_text
from tests.safety.conftest import SEEDS, letter_line, write_jsonl


def cleaned_rows(db: Database, letter_id: int) -> list[int]:
    return [h.new["replaced"] for h in db.history(letter_id) if h.path == CLEANED_PATH]


def test_clean_replaces_what_no_engine_stores_and_keeps_lengths() -> None:
    assert clean_text("a\x00b\x00") == (f"a{REPLACEMENT}b{REPLACEMENT}", 2)
    assert clean_text("x\ud800y\udfff") == (f"x{REPLACEMENT}y{REPLACEMENT}", 2)
    plain = "Norco “10/325” é 😀"
    assert clean_text(plain) == (plain, 0)
    value = {"k\x00": ["\x00", ("t\ud83d",), 3, None], "ok": "fine"}
    assert clean(value) == ({f"k{REPLACEMENT}": [REPLACEMENT, (f"t{REPLACEMENT}",), 3, None], "ok": "fine"}, 3)
    same = {"a": ["b"]}
    assert clean(same)[0] is same


def test_reason_label_and_note_with_nul(filled: Database) -> None:
    letter_id = filled.queue({}, limit=1)[0].id
    filled.set_status(letter_id, "postponed", "waiting\x00 for page 3")
    letter = filled.letter(letter_id)
    assert letter.status_reason == f"waiting{REPLACEMENT} for page 3"
    aid = filled.add_annotation(letter_id, 0, 10, "typo\x00", "a\x00b\x00")
    (note,) = [a for a in filled.annotations(letter_id) if a.id == aid]
    assert (note.label, note.note) == (f"typo{REPLACEMENT}", f"a{REPLACEMENT}b{REPLACEMENT}")
    assert cleaned_rows(filled, letter_id) == [1, 3]
    reasons = [h.reason for h in filled.history(letter_id) if h.path == CLEANED_PATH]
    assert reasons[0].startswith("replaced 1 character the database cannot store")


def test_a_saved_record_with_nul_and_a_lone_surrogate(filled: Database) -> None:
    letter_id = filled.queue({}, limit=1)[0].id
    letter = filled.letter(letter_id)
    record = letter.record
    record["summary"] = "Norco\x00 10/325 \ud800"
    record["items"][0]["request"] = "one\x00zyxwv"
    filled.save_record(letter_id, record, letter.version)
    stored = filled.letter(letter_id)
    assert stored.record["summary"] == f"Norco{REPLACEMENT} 10/325 {REPLACEMENT}"
    assert filled.items(letter_id)[0]["request"] == f"one{REPLACEMENT}zyxwv"
    assert cleaned_rows(filled, letter_id) == [3]
    # the history's values are cleaned too, and the search finds the letter by the words either side
    assert all("\x00" not in json.dumps(h.new, ensure_ascii=False) for h in filled.history(letter_id))
    assert letter_id in [h.id for h in filled.search("zyxwv")]


def test_a_json_lines_letter_holding_nul_imports_and_keeps_its_offsets(db: Database, tmp_path: Path) -> None:
    line = letter_line(SEEDS[0])
    text = line["text"]
    line["text"] = "\x00" + text[1:]  # same length: every span into the text still points where it did
    line["summary"] = "sum\x00mary"
    line.setdefault("annotations", []).append({"start": 0, "end": 5, "label": "odd\x00", "note": "\x00"})
    path = write_jsonl(tmp_path / "nul.jsonl", [line])
    assert b"\\u0000" in path.read_bytes()
    report = db.import_paths([path])
    assert len(report.added_ids) == 1, report
    letter = db.letter(report.added_ids[0])
    assert letter.text == REPLACEMENT + text[1:] and len(letter.text) == len(text)
    assert letter.record["summary"] == f"sum{REPLACEMENT}mary"
    assert [a.label for a in db.annotations(letter.id)] == [f"odd{REPLACEMENT}"]
    assert cleaned_rows(db, letter.id) and cleaned_rows(db, letter.id)[0] >= 4


def _older_database_with_nul(path: Path) -> int:
    """An SQLite review database as an earlier IMR Desk left it: NUL written straight into its texts."""
    with Database.open(path, user="alice") as db:
        letter_id = db.import_paths([SEEDS[0]]).added_ids[0]
        db.set_status(letter_id, "postponed", "placeholder")
        db.add_annotation(letter_id, 0, 5, "label", "note")
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("UPDATE letters SET status_reason = 'wait' || char(0) || 'ing', name = name || char(0)")
        raw.execute("UPDATE annotations SET label = 'la' || char(0) || 'bel', note = char(0)")
        raw.execute("UPDATE contents SET text = char(0) || substr(text, 2), "
                    "record = replace(coalesce(record, parsed), '\"summary\":\"', '\"summary\":\"\\u0000')")
        raw.execute("UPDATE history SET reason = 'why' || char(0) WHERE path = 'status'")
        raw.execute("INSERT INTO team_settings(key, value, who, at) VALUES ('motto', 'a' || char(0), 'alice', 'now')")
    assert raw.execute("SELECT instr(text, char(0)) FROM contents").fetchone()[0] == 1
    raw.close()
    return letter_id


def test_an_older_sqlite_database_with_nul_copies_to_the_server(tmp_path: Path, pg_url: str) -> None:
    source_path = tmp_path / "old.db"
    letter_id = _older_database_with_nul(source_path)
    with Database.open(source_path, readonly=True) as src, Database.open(pg_url) as dst:
        report = copy_database(src, dst)
        assert not report.failed, report.failed
        letter = dst.letter(letter_id)
        assert letter.status_reason == f"wait{REPLACEMENT}ing"
        assert letter.text.startswith(REPLACEMENT)
        assert letter.record["summary"].startswith(REPLACEMENT)
        assert letter.name.endswith(REPLACEMENT)
        assert [(a.label, a.note) for a in dst.annotations(letter_id)] == [(f"la{REPLACEMENT}bel", REPLACEMENT)]
        assert f"why{REPLACEMENT}" in [h.reason for h in dst.history(letter_id)]
        assert dst.team_setting("motto") == f"a{REPLACEMENT}"
        assert cleaned_rows(dst, letter_id) and cleaned_rows(dst, letter_id)[0] >= 4
        assert dst.conn.execute("SELECT count(*) FROM contents WHERE strpos(text, chr(65533)) = 1").fetchone()[0] == 1


@pytest.mark.sqlite_only
def test_the_sqlite_file_holds_no_nul_either(filled: Database, db_path: Path) -> None:
    letter_id = filled.queue({}, limit=1)[0].id
    filled.set_status(letter_id, "postponed", "x\x00")
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("SELECT count(*) FROM letters WHERE instr(status_reason, char(0))").fetchone()[0] == 0
        assert raw.execute("SELECT count(*) FROM history WHERE instr(reason, char(0))").fetchone()[0] == 0
    finally:
        raw.close()
