"""Formula look-alikes in exports; whatever is typed into a search box or the CLI search."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from imr_desk.export import ExportSet, export_set, neutralise
from imr_desk.store import Database
from imr_desk.store.database import match_query
from imr_desk.store.fts import MAX_WORDS
from tests.safety.conftest import REAL

LOOKALIKES = ["\uff1dHYPERLINK(\"http://x\")", " =1+2", "\u00a0=1+2", "\u200b=1+2", "\ufeff=1+2", "\u3000+1",
              "\ufe63 1", "\uff20SUM(A1)", "\u2212 1", "\u2060\u200d=1", "\n=1"]


@pytest.mark.parametrize("text", LOOKALIKES)
def test_formula_look_alikes_get_an_apostrophe(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["Lumbar MRI", "\u00e9=1", " Lumbar", "\u200bLumbar", "\uff21 = B"])
def test_text_that_only_has_a_sign_later_is_left_alone(text: str) -> None:
    assert neutralise(text) == text


def test_look_alikes_from_a_letter_are_neutralised_in_csv_and_excel(db: Database, tmp_path: Path) -> None:
    db.import_paths(REAL[:1])
    letter = db.letter(1)
    record = letter.record
    record["summary"] = "\ufeff=HYPERLINK(\"http://evil\",\"x\")"
    record["items"][0]["request"] = "\uff1dcmd|' /C calc'!A0"
    db.save_record(1, record, letter.version)
    chosen = ExportSet(status=["in review"])
    export_set(db, "csv", tmp_path / "out", chosen)
    with open(tmp_path / "out" / "letters.csv", encoding="utf-8-sig", newline="") as f:
        letters = list(csv.DictReader(f))
    with open(tmp_path / "out" / "items.csv", encoding="utf-8-sig", newline="") as f:
        items = list(csv.DictReader(f))
    assert letters[0]["summary"] == "'" + record["summary"]
    assert items[0]["request"] == "'" + record["items"][0]["request"]
    export_set(db, "xlsx", tmp_path / "out.xlsx", chosen)
    book = openpyxl.load_workbook(tmp_path / "out.xlsx", read_only=True)
    cells = [c for row in book["Items"].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert "'" + record["items"][0]["request"] in cells
    book.close()


HOSTILE = ['"', 'a"b', '"unbalanced', "x\x00y", "\x00", "'", "-", "*", "^", "NEAR(a b)", "(", ")", ":",
           "case_number:1", "pain OR", "AND", "NOT pain", '""', "\\", "{a b}", "-pain", "pain*", "\u202e"]


@pytest.mark.parametrize("text", HOSTILE)
def test_any_text_is_a_valid_search(db: Database, text: str) -> None:
    db.import_paths(REAL[:3])
    db.search(text)
    db.queue_count({"search": text})
    assert db.queue({"search": text}) is not None


def test_words_keep_their_meaning_and_operators_are_words(db: Database) -> None:
    db.import_paths(REAL[:3])
    assert len(db.search("pain")) == len(db.search('"pain"')) == len(db.search("PAIN pain Pain")) > 0
    assert db.search("NOT") == db.search("not")  # a word, not the operator


def test_cli_search_asks_each_word_once(tmp_path: Path) -> None:
    """800 words (57 s before): FTS5 pays for every phrase squared, so repeated words are asked once
    and a pasted paragraph is cut to its first MAX_WORDS words."""
    many = " ".join(["pain", "therapy"] * 400)
    assert match_query(many) == '"pain"* "therapy"*'
    assert match_query(" ".join(f"w{n}" for n in range(800))).count('"') == 2 * MAX_WORDS
    path = tmp_path / "r.db"
    with Database.open(path) as db:
        db.import_paths(REAL[:3])
        expected = [h.id for h in db.search("pain therapy")]
    run = subprocess.run([sys.executable, "-m", "imr_desk", "search", "--db", str(path), "--json", *many.split()],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert [int(line.split(",")[0].split(":")[1]) for line in run.stdout.splitlines()] == expected
