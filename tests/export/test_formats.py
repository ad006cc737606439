"""Every format, read back with the tools a user would use: csv, json, openpyxl, sqlite3."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path

import openpyxl
import pytest
import sqlite_utils

from imr_desk.export import ExportSet, export_set
from imr_desk.store import Database
from tests.export.conftest import FORMULA_SUMMARY, MINUS_REQUEST


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_manifest(manifest_path: Path, fmt: str, count: int, files: list[Path], db: Database) -> dict:
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest["format"] == fmt
    assert manifest["count"] == count
    assert manifest["who"] == "alice"
    assert manifest["application"]["name"] == "IMR Desk"
    from imr_desk import __version__

    assert manifest["application"]["version"] == __version__
    assert manifest["filter"] == {"status": ["reviewed"]}
    when = dt.datetime.fromisoformat(manifest["at"])
    assert abs((dt.datetime.now(dt.UTC) - when).total_seconds()) < 120
    assert [f["name"] for f in manifest["files"]] == [p.name for p in files]
    for entry, path in zip(manifest["files"], files, strict=True):
        assert entry["sha256"] == sha256(path), path
        assert entry["bytes"] == path.stat().st_size
    # recorded in the store, with the letters it carried
    row = db.conn.execute("SELECT format, count, who, destination, manifest FROM exports ORDER BY id DESC").fetchone()
    assert row[:3] == (fmt, count, "alice")
    assert json.loads(row[4]) == manifest
    return manifest


def test_csv_letters_items_annotations_and_manifest(reviewed: Database, tmp_path: Path) -> None:
    out = tmp_path / "set"
    result = export_set(reviewed, "csv", out)
    assert result.destination == out and out.is_dir()
    assert sorted(p.name for p in out.iterdir()) == ["annotations.csv", "items.csv", "letters.csv", "manifest.json"]
    # UTF-8 with a BOM (Excel), read back with the csv module
    assert (out / "letters.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    with open(out / "letters.csv", encoding="utf-8-sig", newline="") as f:
        letters = list(csv.DictReader(f))
    assert [r["letter_id"] for r in letters] == ["1", "2", "3", "4", "5"]
    assert {r["status"] for r in letters} == {"reviewed"}
    first, second = letters[0], letters[1]
    stored = reviewed.letter(1)
    assert first["case_number"] == stored.record["case"]["case_number"] == "CM16-0221706"
    assert first["sha256"] == stored.sha256
    assert first["file_name"] == "CM16-0221706.pdf"
    assert first["batch"] == "week1"
    assert first["reviewed_by"] == "alice" and first["reviewed_at"] == stored.reviewed_at
    assert first["summary"] == "'" + FORMULA_SUMMARY  # neutralised
    assert first["changed_fields"] == "items.0.request; summary"
    assert first["annotation_count"] == "1"  # the removed one is not counted
    assert second["decision_date"] == "2017-01-10"
    assert second["reviewer_specialties"] == "Physical Medicine & Rehabilitation"
    assert second["item_count"] == "10"
    assert int(second["upheld_count"]) + int(second["overturned_count"]) <= 10
    assert first["patient_age"] == str(stored.record["patient"]["age"])

    with open(out / "items.csv", encoding="utf-8-sig", newline="") as f:
        items = list(csv.DictReader(f))
    assert len(items) == sum(len(reviewed.letter(i).record["items"]) for i in range(1, 6))
    assert items[0]["letter_id"] == "1" and items[0]["item"] == "1"
    assert items[0]["request"] == "'" + MINUS_REQUEST
    assert items[0]["case_number"] == "CM16-0221706"
    rationale = reviewed.letter(1).record["items"][0]["rationale"]
    assert items[0]["rationale"] == rationale  # long text with commas and quotes survives
    assert items[0]["decision_stated"] in ("true", "false")
    second_items = [r for r in items if r["letter_id"] == "2"]
    assert [r["item"] for r in second_items] == [str(i) for i in range(1, 11)]
    assert all(r["decision_date"] == "2017-01-10" for r in second_items)

    with open(out / "annotations.csv", encoding="utf-8-sig", newline="") as f:
        notes = list(csv.DictReader(f))
    assert [(n["letter_id"], n["label"]) for n in notes] == [("1", "question"), ("2", "extraction error")]
    assert notes[0]["quote"] == stored.text[0:20]
    assert notes[1]["note"] == "'+ see page 2"

    check_manifest(out / "manifest.json", "csv", 5, [out / "letters.csv", out / "items.csv",
                                                      out / "annotations.csv"], reviewed)


def test_jsonl_records_with_review_history_and_annotations(reviewed: Database, tmp_path: Path) -> None:
    from jsonschema import Draft202012Validator

    result = export_set(reviewed, "jsonl", tmp_path / "set.jsonl")
    assert result.files == [tmp_path / "set.jsonl", tmp_path / "set.jsonl.manifest.json"]
    lines = [json.loads(x) for x in (tmp_path / "set.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 5
    schema = json.loads((Path(__file__).resolve().parent.parent / "data" / "record.schema.json").read_text())
    validator = Draft202012Validator(schema)
    for line in lines:
        errors = list(validator.iter_errors(line))
        assert not errors, errors[0].message
    first = lines[0]
    stored = reviewed.letter(1)
    assert {k: v for k, v in first.items() if k not in ("text", "page_starts", "review", "history",
                                                       "annotations")} == stored.record
    assert first["summary"] == FORMULA_SUMMARY  # JSON is data, not a spreadsheet: kept as is
    assert first["text"] == stored.text and first["page_starts"] == stored.page_starts
    assert first["review"]["status"] == "reviewed"
    assert first["review"]["reviewed_by"] == "alice"
    assert first["review"]["reviewed_at"] == stored.reviewed_at
    assert first["review"]["changed_fields"] == reviewed.changed_fields(1) == ["items.0.request", "summary"]
    assert first["review"]["parser_values"]["summary"] == stored.parsed["summary"]
    assert [h["path"] for h in first["history"]] == [h.path for h in reviewed.history(1)]
    assert {"status", "summary"} <= {h["path"] for h in first["history"]}
    labels = [(a["label"], a["removed_at"] is not None) for a in first["annotations"]]
    assert labels == [("question", False), ("typo", True)]
    assert first["annotations"][0]["quote"] == stored.text[:20]
    assert lines[1]["case"]["decision_date"] == "2017-01-10"
    check_manifest(tmp_path / "set.jsonl.manifest.json", "jsonl", 5, [tmp_path / "set.jsonl"], reviewed)


def test_xlsx_sheets_typed_columns_frozen_headers(reviewed: Database, tmp_path: Path) -> None:
    result = export_set(reviewed, "xlsx", tmp_path / "set")  # the suffix is added
    path = tmp_path / "set.xlsx"
    assert result.destination == path
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Letters", "Items", "Annotations"]
    letters = wb["Letters"]
    assert letters.freeze_panes == "A2"
    assert wb["Items"].freeze_panes == "A2" and wb["Annotations"].freeze_panes == "A2"
    header = [c.value for c in letters[1]]
    assert header[:3] == ["letter_id", "file_name", "sha256"]
    assert "reviewed_at (UTC)" in header
    rows = [dict(zip(header, [c.value for c in r], strict=True)) for r in letters.iter_rows(min_row=2)]
    assert [r["letter_id"] for r in rows] == [1, 2, 3, 4, 5]
    first, second = rows[0], rows[1]
    assert first["decision_date"] == dt.datetime(2016, 12, 21)  # a real date cell
    assert letters.cell(row=2, column=header.index("decision_date") + 1).is_date
    assert isinstance(first["reviewed_at (UTC)"], dt.datetime)
    stored_at = dt.datetime.fromisoformat(reviewed.letter(1).reviewed_at).astimezone(dt.UTC).replace(tzinfo=None)
    assert abs((first["reviewed_at (UTC)"] - stored_at).total_seconds()) < 0.01
    assert isinstance(first["patient_age"], int) and isinstance(second["item_count"], int)
    assert second["item_count"] == 10
    assert first["summary"] == "'" + FORMULA_SUMMARY
    assert letters.cell(row=2, column=header.index("summary") + 1).data_type == "s"  # text, not a formula
    assert second["decision_date"] == dt.datetime(2017, 1, 10)
    items = wb["Items"]
    item_header = [c.value for c in items[1]]
    item_rows = [dict(zip(item_header, [c.value for c in r], strict=True)) for r in items.iter_rows(min_row=2)]
    assert item_rows[0]["request"] == "'" + MINUS_REQUEST
    assert isinstance(item_rows[0]["decision_stated"], bool)
    assert isinstance(item_rows[0]["item"], int)
    assert len(item_rows) == sum(len(reviewed.letter(i).record["items"]) for i in range(1, 6))
    notes = wb["Annotations"]
    note_rows = [[c.value for c in r] for r in notes.iter_rows(min_row=2)]
    assert [(r[0], r[3]) for r in note_rows] == [(1, "question"), (2, "extraction error")]
    check_manifest(tmp_path / "set.xlsx.manifest.json", "xlsx", 5, [path], reviewed)


def test_sqlite_self_contained_for_datasette_and_imr_desk(reviewed: Database, tmp_path: Path) -> None:
    path = tmp_path / "set.db"
    export_set(reviewed, "sqlite", path)
    check_manifest(tmp_path / "set.db.manifest.json", "sqlite", 5, [path], reviewed)  # before anyone opens it
    assert not Path(str(path) + "-wal").exists()  # one file
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("SELECT count(*) FROM letters").fetchone()[0] == 5
        assert conn.execute("SELECT count(*) FROM files").fetchone()[0] == 5
        # the original files, byte for byte
        for _letter_id, sha, data in conn.execute("SELECT l.id, l.sha256, f.data FROM letters l JOIN files f "
                                                 "ON f.letter_id = l.id"):
            assert hashlib.sha256(data).hexdigest() == sha
        # full-text search, found the way Datasette and sqlite-utils look for it
        sdb = sqlite_utils.Database(conn)
        fts = sdb.table("letters").detect_fts() or sdb.table("contents").detect_fts()
        assert fts in ("letters_fts", "contents_fts")
        assert sdb.table("items").detect_fts() == "items_fts"
        hits = conn.execute(f"SELECT rowid FROM {fts} WHERE {fts} MATCH ?", ('"CM16-0221706"',)).fetchall()
        assert hits == [(1,)]
        assert conn.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH 'therapy'").fetchone()[0] >= 1
    finally:
        conn.close()
    # IMR Desk opens it with the review as it was
    copy = Database.open(path, user="bob")
    try:
        for letter_id in range(1, 6):
            a, b = reviewed.letter(letter_id), copy.letter(copy.letter_id_by_sha256(reviewed.letter(letter_id).sha256))
            assert b.record == a.record and b.parsed == a.parsed and b.text == a.text
            assert (b.status, b.reviewed_by, b.reviewed_at) == (a.status, a.reviewed_by, a.reviewed_at)
        assert copy.changed_fields(1) == ["items.0.request", "summary"]
        assert [x.label for x in copy.annotations(1)] == ["question"]
        assert len(copy.annotations(1, include_removed=True)) == 2
        assert [h.path for h in copy.history(1)] == [h.path for h in reviewed.history(1)]
        assert [h.id for h in copy.search("CM16-0230651")] == [2]
        # editing in the copy keeps its search index right
        two = copy.letter(2)
        rec = two.record
        rec["items"][0]["request"] = "zyxwvu acupuncture"
        copy.save_record(2, rec, two.version)
        assert copy.conn.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH 'zyxwvu'").fetchone()[0] == 1
    finally:
        copy.close()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xlsx", "sqlite"])
def test_every_format_marks_the_letters_exported(reviewed: Database, tmp_path: Path, fmt: str) -> None:
    result = export_set(reviewed, fmt, tmp_path / "out")
    assert result.count == 5
    exported = [r[0] for r in reviewed.conn.execute(
        "SELECT letter_id FROM letter_exports WHERE export_id = ? ORDER BY letter_id", (result.export_id,))]
    assert exported == [1, 2, 3, 4, 5]
    assert reviewed.queue_count({"status": "reviewed", "exported": False}) == 0


def test_other_statuses_and_filters(reviewed: Database, tmp_path: Path) -> None:
    result = export_set(reviewed, "jsonl", tmp_path / "open.jsonl", ExportSet(status=["postponed", "to review"]))
    lines = [json.loads(x) for x in (tmp_path / "open.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(ln["review"]["letter_id"], ln["review"]["status"]) for ln in lines] == [
        (6, "postponed"), (7, "to review"), (8, "to review")]
    assert lines[0]["review"]["status_reason"] == "waiting for page 3"
    assert result.manifest["filter"] == {"status": ["postponed", "to review"]}


def test_jsonl_lines_equal_the_records_decoded_and_encoded_again(reviewed: Database, tmp_path: Path) -> None:
    """The writer splices the stored record and history in as JSON; the result must be what encoding
    the decoded letter gives."""
    from imr_desk.export.jsonl_format import line_of
    from imr_desk.export.selection import iter_letters

    export_set(reviewed, "jsonl", tmp_path / "set.jsonl", ExportSet(status=[]))
    lines = [json.loads(x) for x in (tmp_path / "set.jsonl").read_text(encoding="utf-8").splitlines()]
    letters = list(iter_letters(reviewed.conn, list(range(1, 9)), text=True, history=True))
    assert len(lines) == len(letters) == 8
    for line, letter in zip(lines, letters, strict=True):
        assert line == json.loads(json.dumps(line_of(letter)))


def test_excel_drops_control_characters_and_cuts_overlong_cells(reviewed: Database, tmp_path: Path) -> None:
    one = reviewed.letter(4)
    rec = one.record
    rec["summary"] = "page\x0cbreak\x00 and \x07bell"
    rec["items"][0]["rationale"] = "x" * 40_000
    reviewed.save_record(4, rec, one.version)
    reviewed.set_status(4, "reviewed", reason="checked")  # a record changed after review is reviewed again
    export_set(reviewed, "xlsx", tmp_path / "set.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "set.xlsx")
    header = [c.value for c in wb["Letters"][1]]
    row = [c.value for c in wb["Letters"][5]]
    assert row[header.index("letter_id")] == 4
    # the NUL never reached the database (store/storable.py replaced it); Excel's other control characters go here
    assert row[header.index("summary")] == "pagebreak\ufffd and bell"
    item_header = [c.value for c in wb["Items"][1]]
    rationale = [r[item_header.index("rationale")].value for r in wb["Items"].iter_rows(min_row=2)
                 if r[0].value == 4][0]
    assert len(rationale) == 32_767 and rationale.endswith("…")


def test_two_formats_to_one_name_each_keep_their_own_manifest(reviewed: Database, tmp_path: Path) -> None:
    jsonl = export_set(reviewed, "jsonl", tmp_path / "set.jsonl")
    xlsx = export_set(reviewed, "xlsx", tmp_path / "set.xlsx")
    assert jsonl.manifest_path != xlsx.manifest_path
    assert json.loads(jsonl.manifest_path.read_text(encoding="utf-8"))["format"] == "jsonl"
    assert json.loads(xlsx.manifest_path.read_text(encoding="utf-8"))["format"] == "xlsx"


def test_confirmed_fields_are_in_every_format(reviewed: Database, tmp_path: Path) -> None:
    record = reviewed.letter(1).record
    reviewed.confirm_fields(1, {"case.case_number": record["case"]["case_number"],
                                "items.0.decision": record["items"][0]["decision"],
                                "summary": "a value since changed"})  # no longer holds: not exported
    export_set(reviewed, "jsonl", tmp_path / "set.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "set.jsonl").read_text(encoding="utf-8").splitlines()]
    first = next(x for x in lines if x["review"]["letter_id"] == 1)
    confirmed = first["review"]["confirmed_fields"]
    assert list(confirmed) == ["case.case_number", "items.0.decision"]
    assert confirmed["case.case_number"]["by"] == reviewed.user and confirmed["case.case_number"]["at"].endswith("Z")
    assert all(x["review"]["confirmed_fields"] == {} for x in lines if x["review"]["letter_id"] != 1)
    export_set(reviewed, "csv", tmp_path / "set")
    with open(tmp_path / "set" / "letters.csv", encoding="utf-8-sig", newline="") as f:
        rows = {int(r["letter_id"]): r for r in csv.DictReader(f)}
    assert rows[1]["confirmed_fields"] == "case.case_number; items.0.decision" and rows[2]["confirmed_fields"] == ""
    export_set(reviewed, "xlsx", tmp_path / "set.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "set.xlsx")["Letters"]
    header = [c.value for c in sheet[1]]
    values = {r[0].value: r[header.index("confirmed_fields")].value for r in sheet.iter_rows(min_row=2)}
    assert values[1] == "case.case_number; items.0.decision" and values[2] is None
    export_set(reviewed, "sqlite", tmp_path / "set.db")
    with Database.open(tmp_path / "set.db", user="reader") as copy:
        assert set(copy.confirmations(1)) == {"case.case_number", "items.0.decision", "summary"}
