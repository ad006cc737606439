"""One bad name, file or line never stops an import: it is reported, escaped, and the rest imported."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from imr_desk.export import export_set
from imr_desk.store import Database
from tests.safety.conftest import REAL, SEEDS, write_jsonl


def test_a_name_that_is_not_utf8_is_shown_escaped_and_the_folder_goes_on(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    bad = Path(os.fsdecode(b"letter-\xff\xfe.txt"))
    shutil.copy(SEEDS[0], folder / bad)
    shutil.copy(SEEDS[1], folder / "zz-after.txt")  # sorted after the bad name
    shutil.copy(REAL[0], folder / "aa-before.pdf")
    report = db.import_paths([folder])
    assert not report.failed, report.failed
    assert len(report.added) == 3
    assert any("letter-\\xff\\xfe.txt" in label for label in report.added), report.added
    names = {row.name for row in db.queue({}, limit=10)}
    assert "letter-\\xff\\xfe.txt" in names and "zz-after.txt" in names


def test_a_newline_in_a_name_cannot_forge_a_progress_line(tmp_path: Path, db_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SEEDS[0], folder / "x.txt\nimr-desk: FORGED.pdf: stored\n.txt")
    run = subprocess.run([sys.executable, "-m", "imr_desk", "import", "--db", str(db_path), str(folder)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("[1/1] added"), run.stderr
    assert "\\nimr-desk: FORGED.pdf" in lines[0]


def test_links_to_nothing_pipes_and_devices_in_a_folder_are_reported(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SEEDS[0], folder / "real.txt")
    (folder / "gone.pdf").symlink_to(tmp_path / "no-such-file.pdf")
    os.mkfifo(folder / "pipe.txt")
    (folder / "device.pdf").symlink_to("/dev/zero")
    (folder / "other-link").symlink_to(tmp_path / "nothing")
    report = db.import_paths([folder])  # would hang forever reading the pipe or the device
    assert len(report.added) == 1
    reasons = dict(report.failed)
    assert "dangling link" in reasons[str(folder / "gone.pdf")]
    assert "pipe" in reasons[str(folder / "pipe.txt")]
    assert "device" in reasons[str(folder / "device.pdf")]
    assert any("other-link" in entry and "dangling" in entry for entry in report.ignored), report.ignored


def test_hidden_files_and_hidden_zip_members_are_reported(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SEEDS[0], folder / ".hidden.txt")
    archive = folder / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(REAL[0], ".dot-letter.pdf")
        zf.write(REAL[1], "sub/.also-hidden.pdf")
        zf.write(REAL[2], "visible.pdf")
        zf.writestr("__MACOSX/._visible.pdf", b"\x00\x05\x16\x07")
    report = db.import_paths([folder])
    assert [label.rsplit(":", 1)[1] for label in report.added] == ["visible.pdf"]
    ignored = " | ".join(report.ignored)
    assert ".hidden.txt (a hidden file" in ignored
    assert "set.zip:.dot-letter.pdf (a hidden file in the archive" in ignored
    assert "set.zip:sub/.also-hidden.pdf (a hidden file in the archive" in ignored
    assert "__MACOSX" in ignored


def test_a_line_nested_200000_deep_is_refused_and_the_next_lines_imported(db: Database, tmp_path: Path,
                                                                          good_lines) -> None:
    deep = b'{"source": {"name": "deep", "sha256": "' + b"0" * 64 + b'"}, "x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    path = write_jsonl(tmp_path / "set.jsonl", [good_lines[0], deep, good_lines[1], good_lines[2]])
    report = db.import_paths([path])
    assert len(report.added) == 3, report
    [(label, reason)] = report.failed
    assert label.endswith("line 2") and "nested more than" in reason


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_line_with_a_number_that_is_not_finite_is_refused_and_exports_work(
        db: Database, tmp_path: Path, good_lines, number: str) -> None:
    poisoned = json.dumps(good_lines[0]).replace('"confidence": 0.98', f'"confidence": {number}', 1).encode()
    assert number.encode() in poisoned
    path = write_jsonl(tmp_path / "set.jsonl", [poisoned, good_lines[1]])
    report = db.import_paths([path])
    assert len(report.added) == 1
    [(label, reason)] = report.failed
    assert label.endswith("line 1") and "finite" in reason
    for fmt, out in (("csv", "out-csv"), ("jsonl", "j.jsonl"), ("xlsx", "x.xlsx")):
        result = export_set(db, fmt, tmp_path / out, _all())
        assert result.count == 1


def _all():
    from imr_desk.export import ExportSet

    return ExportSet(status=["to review", "in review", "reviewed", "postponed"])


def test_a_line_too_long_is_passed_over_in_chunks(db: Database, tmp_path: Path, good_lines, monkeypatch) -> None:
    from imr_desk.store import jsonl

    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 1 << 20)
    huge = json.dumps({**good_lines[0], "text": "x" * (5 << 20)}).encode()
    path = write_jsonl(tmp_path / "set.jsonl", [huge, good_lines[1]])
    report = db.import_paths([path])
    assert len(report.added) == 1
    [(label, reason)] = report.failed
    assert label.endswith("line 1") and "5 MB long" in reason


def test_an_unforeseen_line_error_is_one_line_not_a_traceback(tmp_path: Path, db_path: Path, good_lines) -> None:
    lone = json.dumps({**good_lines[0], "summary": "x"}).replace('"summary": "x"', '"summary": "\\ud800"').encode()
    path = write_jsonl(tmp_path / "set.jsonl", [lone, good_lines[1]])
    run = subprocess.run([sys.executable, "-m", "imr_desk", "import", "-q", "--db", str(db_path), str(path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr, run.stderr
    assert "line 1" in run.stderr and "surrogate" in run.stderr
    assert "1 letter(s) added" in run.stdout
