"""No formula injection, no half-written files, no silent overwrites, clear messages about paths."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import openpyxl
import pytest

from imr_desk.export import ExportCancelled, ExportError, export_set, neutralise
from imr_desk.store import Database
from tests.export.conftest import damage

FORMATS = ["csv", "jsonl", "xlsx", "sqlite"]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty folder to export into (the database lives beside it)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("text", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")'])
def test_formula_looking_text_gets_an_apostrophe(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["Lumbar MRI", "a=b", "", " a=1", "'=1", 5, -5, None, 2.5, True])
def test_other_values_are_left_alone(value: object) -> None:
    assert neutralise(value) == value


def test_formulas_from_a_letter_are_neutralised_in_csv_and_excel(reviewed: Database, out: Path) -> None:
    one = reviewed.letter(3)
    rec = one.record
    bad = ["=cmd|' /C calc'!A0", "+SUM(1,2)", "@import", "\t=1", "-2+3"]
    rec["summary"] = bad[0]
    rec["reviewer"]["specialties"] = [bad[1], "Pain Management"]
    rec["items"][0]["rationale"] = bad[2]
    rec["items"][0]["maximus_guideline"] = bad[3]
    rec["case"]["priority"] = bad[4]
    reviewed.save_record(3, rec, one.version)
    reviewed.set_status(3, "reviewed", reason="checked")  # a record changed after review is reviewed again
    export_set(reviewed, "csv", out / "set")
    export_set(reviewed, "xlsx", out / "set.xlsx")
    with open(out / "set" / "letters.csv", encoding="utf-8-sig", newline="") as f:
        row = [r for r in csv.DictReader(f) if r["letter_id"] == "3"][0]
    assert row["summary"] == "'" + bad[0]
    assert row["reviewer_specialties"] == "'" + bad[1] + "; Pain Management"
    assert row["priority"] == "'" + bad[4]
    with open(out / "set" / "items.csv", encoding="utf-8-sig", newline="") as f:
        item = [r for r in csv.DictReader(f) if r["letter_id"] == "3"][0]
    assert item["rationale"] == "'" + bad[2] and item["maximus_guideline"] == "'" + bad[3]
    wb = openpyxl.load_workbook(out / "set.xlsx")
    cells = [c for row in wb["Letters"].iter_rows() for c in row] + [c for row in wb["Items"].iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # no formula anywhere
    values = {c.value for c in cells}
    assert {"'" + b for b in bad[:3]} | {"'" + bad[3], "'" + bad[4]} <= values | {"'" + bad[1]}
    assert "'" + bad[0] in values and "'" + bad[2] in values


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name or p.name.endswith(".old"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_failure_midway_leaves_nothing_at_the_destination(reviewed: Database, out: Path, fmt: str) -> None:
    # a damaged record in the middle of the set: the writer has already written letters 1 and 2
    damage(reviewed, 3)
    with pytest.raises(ExportError) as err:
        export_set(reviewed, fmt, out / "out")
    assert "Letter 3" in err.value.clerk_message and "damaged" in err.value.clerk_message
    assert sorted(p.name for p in out.iterdir()) == []
    assert reviewed.conn.execute("SELECT count(*) FROM exports").fetchone()[0] == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_failed_forced_export_leaves_the_old_one_intact(reviewed: Database, out: Path, fmt: str) -> None:
    first = export_set(reviewed, fmt, out / "out")
    before = {p: p.read_bytes() for p in first.files}
    damage(reviewed, 4)
    with pytest.raises(ExportError):
        export_set(reviewed, fmt, out / "out", force=True)
    assert {p: p.read_bytes() for p in first.files} == before
    assert _leftovers(out) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_cancel_leaves_nothing(reviewed: Database, out: Path, fmt: str) -> None:
    cancel = threading.Event()
    seen = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if done >= 2:
            cancel.set()

    with pytest.raises(ExportCancelled):
        export_set(reviewed, fmt, out / "out", progress=progress, cancel=cancel)
    assert seen[0] == (0, 5) and seen[-1][0] == 2
    assert list(out.iterdir()) == []
    assert reviewed.queue_count({"exported": True}) == 0  # not recorded: the next only-new export has them


@pytest.mark.parametrize("fmt", FORMATS)
def test_existing_destination_needs_force(reviewed: Database, out: Path, fmt: str) -> None:
    first = export_set(reviewed, fmt, out / "out")
    stamp = first.files[0].stat().st_mtime_ns
    with pytest.raises(ExportError) as err:
        export_set(reviewed, fmt, out / "out")
    assert "already exists" in err.value.clerk_message and "--force" in err.value.clerk_message
    assert first.files[0].stat().st_mtime_ns == stamp
    reviewed.set_status(7, "reviewed")
    second = export_set(reviewed, fmt, out / "out", force=True)
    assert second.count == 6
    manifest = json.loads(second.manifest_path.read_text(encoding="utf-8"))
    assert manifest["count"] == 6
    assert _leftovers(out) == []


def test_a_lone_manifest_in_the_way_is_an_existing_destination(reviewed: Database, out: Path) -> None:
    (out / "out.jsonl.manifest.json").write_text("{}")
    with pytest.raises(ExportError, match="out.jsonl.manifest.json already exists"):
        export_set(reviewed, "jsonl", out / "out.jsonl")
    assert not (out / "out.jsonl").exists()


def test_forced_csv_export_replaces_an_earlier_export_folder(reviewed: Database, out: Path) -> None:
    export_set(reviewed, "csv", out / "set")
    reviewed.set_status(7, "reviewed")
    export_set(reviewed, "csv", out / "set", force=True)
    assert sorted(p.name for p in (out / "set").iterdir()) == [
        "annotations.csv", "items.csv", "letters.csv", "manifest.json"]
    assert json.loads((out / "set" / "manifest.json").read_text(encoding="utf-8"))["count"] == 6
    assert sorted(p.name for p in out.iterdir()) == ["set"]


def test_paths_are_checked_with_clear_messages(reviewed: Database, out: Path) -> None:
    with pytest.raises(ExportError, match="does not exist. Create it first"):
        export_set(reviewed, "jsonl", out / "missing" / "out.jsonl")
    (out / "afile").write_text("x")
    with pytest.raises(ExportError, match="is not a folder"):
        export_set(reviewed, "jsonl", out / "afile" / "out.jsonl")
    (out / "adir.jsonl").mkdir()
    with pytest.raises(ExportError, match="is a folder. Give the name of a file"):
        export_set(reviewed, "jsonl", out / "adir.jsonl", force=True)
    with pytest.raises(ExportError, match="A CSV export is a folder"):
        export_set(reviewed, "csv", out / "afile", force=True)
    with pytest.raises(ExportError, match="Unknown export format"):
        export_set(reviewed, "pdf", out / "x")
    assert reviewed.conn.execute("SELECT count(*) FROM exports").fetchone()[0] == 0


def test_exported_files_have_ordinary_permissions(reviewed: Database, out: Path) -> None:
    result = export_set(reviewed, "jsonl", out / "out.jsonl")
    for p in result.files:
        assert p.stat().st_mode & 0o044 == 0o044  # readable by others, as a normal new file (umask 022)


def test_staging_left_by_a_killed_export_is_swept_by_the_next(reviewed: Database, out: Path) -> None:
    import os
    import time

    target = out / "set.jsonl"
    stale = out / ".set.jsonl.abc123.partial"
    stale.mkdir()
    (stale / "set.jsonl").write_text("half a line")
    old = time.time() - 7 * 3600
    os.utime(stale, (old, old))
    running = out / ".set.jsonl.xyz789.partial"  # another export writing right now: left alone
    running.mkdir()
    export_set(reviewed, "jsonl", target)
    assert not stale.exists() and running.exists()
    assert target.exists()
