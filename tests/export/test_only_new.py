""""Only new" carries a letter corrected and reviewed again after its last export.

Regression from the QA sweep: only-new left out every letter any earlier export had carried, so a
correction made after an export never reached the next only-new export.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from imr_desk.cli import cli
from imr_desk.export import ExportSet, NothingToExport, export_set
from imr_desk.export.selection import select_ids
from imr_desk.store import Database
from tests.export.conftest import review


def only_new(db: Database) -> list[int]:
    return select_ids(db.conn, ExportSet(only_new=True))


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_a_correction_reviewed_after_the_export_goes_out_with_the_next_only_new(reviewed: Database,
                                                                                 tmp_path: Path) -> None:
    first = export_set(reviewed, "jsonl", tmp_path / "1.jsonl", ExportSet(only_new=True))
    assert first.count == 5 and only_new(reviewed) == []
    # the clerk corrects letter 3 after it went out, and marks it reviewed again
    three = reviewed.letter(3)
    rec = three.record
    old = rec["items"][0]["decision"]
    rec["items"][0]["decision"] = "overturned" if old == "upheld" else "upheld"
    reviewed.save_record(3, rec, three.version, reason="decision misread")
    review(reviewed, 3)
    assert only_new(reviewed) == [3]
    second = export_set(reviewed, "jsonl", tmp_path / "2.jsonl", ExportSet(only_new=True))
    assert second.count == 1
    [line] = _lines(tmp_path / "2.jsonl")
    assert line["review"]["letter_id"] == 3 and line["items"][0]["decision"] == rec["items"][0]["decision"]
    assert only_new(reviewed) == []  # carried now: not again
    try:
        export_set(reviewed, "jsonl", tmp_path / "3.jsonl", ExportSet(only_new=True))
        raise AssertionError("an only-new export with nothing new wrote a file")
    except NothingToExport:
        pass


def test_the_cli_only_new_export_carries_the_correction(reviewed: Database, db_path: Path, tmp_path: Path) -> None:
    run = CliRunner().invoke
    assert run(cli, ["export", "--db", str(db_path), "--only-new", "--format", "jsonl", "-o",
                     str(tmp_path / "e1"), "-q"]).exit_code == 0
    two = reviewed.letter(2)
    rec = two.record
    rec["summary"] = "corrected after the export"
    reviewed.save_record(2, rec, two.version)
    review(reviewed, 2)
    result = run(cli, ["export", "--db", str(db_path), "--only-new", "--format", "jsonl", "-o", str(tmp_path / "e2"),
                       "-q"])
    assert result.exit_code == 0, result.output
    assert [x["summary"] for x in _lines(tmp_path / "e2.jsonl")] == ["corrected after the export"]


def test_a_letter_reviewed_again_without_a_change_also_goes_out_again(reviewed: Database, tmp_path: Path) -> None:
    export_set(reviewed, "csv", tmp_path / "a", ExportSet(only_new=True))
    reviewed.set_status(4, "in review")
    review(reviewed, 4)
    assert only_new(reviewed) == [4]


def test_exports_recorded_in_whole_seconds_are_compared_as_times(reviewed: Database, tmp_path: Path) -> None:
    # an export recorded by an earlier version (exports.at in whole seconds) and a letter reviewed half a
    # second later: as text "…00Z" sorts after "…00.500Z", as times it is before
    export_set(reviewed, "jsonl", tmp_path / "a.jsonl", ExportSet(only_new=True))
    reviewed.conn.execute("UPDATE exports SET at = '2026-03-02T10:00:00Z'")
    reviewed.conn.execute("UPDATE letters SET reviewed_at = '2026-03-01T12:00:00.000Z' WHERE id <= 5")
    reviewed.conn.execute("UPDATE letters SET reviewed_at = '2026-03-02T10:00:00.500Z' WHERE id = 2")
    reviewed.conn.execute("UPDATE letters SET reviewed_at = '2026-03-02T09:59:59.999Z' WHERE id = 5")
    assert only_new(reviewed) == [2]


def test_other_statuses_and_unreviewed_letters_count_as_carried_once_exported(reviewed: Database,
                                                                              tmp_path: Path) -> None:
    both = ExportSet(status=["postponed", "to review"], only_new=True)
    assert select_ids(reviewed.conn, both) == [6, 7, 8]
    export_set(reviewed, "jsonl", tmp_path / "a.jsonl", both)
    assert select_ids(reviewed.conn, both) == []


def test_the_export_time_is_when_it_started(reviewed: Database, tmp_path: Path) -> None:
    result = export_set(reviewed, "jsonl", tmp_path / "a.jsonl")
    at = reviewed.conn.execute("SELECT at FROM exports WHERE id = ?", (result.export_id,)).fetchone()[0]
    assert at.startswith(result.manifest["at"][:-1]) and at.endswith("Z") and len(at) == len("2026-03-02T10:00:00.000Z")
