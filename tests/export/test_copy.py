"""`imr-desk copy`: a whole review database copied to another one gives the same exports, resumably."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from imr_desk.cli import cli
from imr_desk.core.ocr import OcrLayer, OcrWord
from imr_desk.export import export_set
from imr_desk.store import Database
from imr_desk.store.copying import copy_database
from imr_desk.store.ocr_layers import load_layer, save_layer
from tests.export.conftest import REAL

SEEDS = sorted((Path(__file__).resolve().parent.parent / "data" / "seeds").glob("*.txt"))


def enrich(db: Database) -> None:
    """What the `reviewed` set lacks: confirmations, a team setting, an OCR layer, an empty batch, and an
    export recorded (the exports' bookkeeping)."""
    one = db.letter(1)
    db.confirm_fields(1, {"case.case_number": one.record["case"]["case_number"]})
    db.set_team_setting("confirm_every_field", "1")
    save_layer(db, 3, OcrLayer("tesseract", "5.3.0", 300, [0], [OcrWord(0, "Maximus", (1.0, 2.0, 3.0, 4.0), 0.9, 1)],
                               REAL[2].read_bytes(), 1.5))
    db.batch_id("empty batch")


def exports_of(db: Database, folder: Path) -> dict[str, str]:
    """The JSON Lines export and the CSV tables of every letter, whatever its status, as text."""
    folder.mkdir()
    everything = {"status": ["to review", "in review", "reviewed", "postponed"]}
    from imr_desk.export import ExportSet

    export_set(db, "jsonl", folder / "set.jsonl", ExportSet(**everything))
    export_set(db, "csv", folder / "csv", ExportSet(**everything))
    out = {"set.jsonl": (folder / "set.jsonl").read_text(encoding="utf-8")}
    for table in sorted((folder / "csv").glob("*.csv")):
        out[table.name] = table.read_text(encoding="utf-8")
    return out


def test_copy_gives_identical_exports_and_everything_kept(reviewed: Database, tmp_path: Path) -> None:
    enrich(reviewed)
    before = exports_of(reviewed, tmp_path / "before")  # also an export recorded: its bookkeeping is copied
    result = CliRunner().invoke(cli, ["copy", "--from", reviewed.target, "--to", str(tmp_path / "copy.db"), "-q"])
    assert result.exit_code == 0, result.output
    assert "8 letter(s) copied, 0 already there, 0 failed" in result.output
    with Database.open(tmp_path / "copy.db", user="carol") as copy:
        for letter_id in range(1, 9):
            a, b = reviewed.letter(letter_id), copy.letter(letter_id)
            assert b == a
            assert copy.letter_file(letter_id) == reviewed.letter_file(letter_id)
            # history rows are numbered across letters in the order they were written: only they differ
            assert [dataclasses.replace(h, id=0) for h in copy.history(letter_id)] == [
                dataclasses.replace(h, id=0) for h in reviewed.history(letter_id)]
            assert copy.annotations(letter_id, include_removed=True) == reviewed.annotations(
                letter_id, include_removed=True)
            assert copy.confirmations(letter_id) == reviewed.confirmations(letter_id)
            assert [{**i, "id": 0} for i in copy.items(letter_id)] == [{**i, "id": 0} for i in reviewed.items(letter_id)]
        assert load_layer(copy, 3) == load_layer(reviewed, 3) and load_layer(copy, 2) is None
        assert copy.team_setting("confirm_every_field") == "1"
        assert copy.batches() == reviewed.batches() == ["week1", "empty batch"]
        table = "SELECT {} FROM {} ORDER BY 1, 2"
        for cols, name in (("id, at, who, format, filter, count, destination, manifest", "exports"),
                           ("letter_id, export_id", "letter_exports"),
                           ("key, value, who, at", "team_settings"),
                           ("name, created_at, created_by", "batches")):
            assert copy.conn.execute(table.format(cols, name)).fetchall() == reviewed.conn.execute(
                table.format(cols, name)).fetchall()
        assert exports_of(copy, tmp_path / "after") == before  # nothing normalised: ids are kept too
        # a copy works on: a new letter gets an id of its own
        added = copy.import_paths([SEEDS[0]]).added_ids
        assert added == [9]
    again = CliRunner().invoke(cli, ["copy", "--from", reviewed.target, "--to", str(tmp_path / "copy.db")])
    assert again.exit_code == 0
    assert "0 letter(s) copied, 8 already there, 0 failed" in again.output
    assert "already there" in again.output  # the progress names each letter


@pytest.mark.sqlite_only  # the original is a file here: it goes to the server and back
def test_copy_to_postgresql_and_back_gives_identical_exports(reviewed: Database, tmp_path: Path, pg_url: str) -> None:
    """SQLite -> PostgreSQL -> SQLite: the JSON Lines and CSV exports of the original, of the server's copy
    and of the copy back are the same, with nothing normalised (ids, times, names all kept)."""
    enrich(reviewed)
    before = exports_of(reviewed, tmp_path / "before")
    there = CliRunner().invoke(cli, ["copy", "--from", reviewed.target, "--to", pg_url, "-q"])
    assert there.exit_code == 0, there.output
    assert "8 letter(s) copied, 0 already there, 0 failed" in there.output
    back = tmp_path / "back.db"
    again = CliRunner().invoke(cli, ["copy", "--from", pg_url, "--to", str(back), "-q"])
    assert again.exit_code == 0, again.output
    assert "8 letter(s) copied, 0 already there, 0 failed" in again.output
    with Database.open(pg_url, user="carol") as server:
        assert load_layer(server, 3) == load_layer(reviewed, 3)
        assert server.team_setting("confirm_every_field") == "1"
        assert server.import_paths([SEEDS[0]]).added_ids == [9]  # the server's ids go on after the copied ones
        server.conn.execute("DELETE FROM letters WHERE id = 9")
        assert exports_of(server, tmp_path / "server") == before
    with Database.open(back, user="carol") as copy:
        assert exports_of(copy, tmp_path / "after") == before
        for letter_id in range(1, 9):
            assert copy.letter(letter_id) == reviewed.letter(letter_id)
            assert copy.letter_file(letter_id) == reviewed.letter_file(letter_id)
            assert [dataclasses.replace(h, id=0) for h in copy.history(letter_id)] == [
                dataclasses.replace(h, id=0) for h in reviewed.history(letter_id)]
            assert copy.annotations(letter_id, include_removed=True) == reviewed.annotations(
                letter_id, include_removed=True)
        # the exports recorded before the copy went there and back (the copies' own exports came after)
        rows = "SELECT letter_id, export_id FROM letter_exports WHERE export_id <= 2 ORDER BY 1, 2"
        assert copy.conn.execute(rows).fetchall() == reviewed.conn.execute(rows).fetchall()
        assert len(copy.conn.execute(rows).fetchall()) == 16


def test_copy_into_a_database_with_other_letters_renumbers_and_keeps_annotation_paths(
        reviewed: Database, tmp_path: Path) -> None:
    with Database.open(tmp_path / "busy.db", user="bob") as busy:
        busy.import_paths([*SEEDS[:2]])
        busy.add_annotation(1, 0, 5, "note")  # annotation id 1 is taken there
        report = copy_database(reviewed, busy)
        assert len(report.copied) == 8 and report.renumbered == 8 and not report.failed
        assert "(8 under a new id: the target holds other letters)" in report.summary()
        new_id = busy.letter_id_by_sha256(reviewed.letter(1).sha256)
        assert new_id == 3
        notes = busy.annotations(new_id, include_removed=True)
        assert [(n.label, n.removed_at is not None) for n in notes] == [("question", False), ("typo", True)]
        paths = {h.path for h in busy.history(new_id) if h.path.startswith("annotations.")}
        assert paths == {f"annotations.{n.id}" for n in notes}
        assert busy.letter(new_id).record == reviewed.letter(1).record


def test_copy_refuses_the_same_database_and_a_missing_source(tmp_path: Path) -> None:
    same = CliRunner().invoke(cli, ["copy", "--from", str(tmp_path / "a.db"), "--to", str(tmp_path / "a.db")])
    assert same.exit_code == 1 and "the same database" in same.output
    missing = subprocess.run([sys.executable, "-m", "imr_desk", "copy", "--from", str(tmp_path / "none.db"),
                              "--to", str(tmp_path / "b.db")], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "There is no database at" in missing.stderr
    assert "Traceback" not in missing.stderr and not (tmp_path / "b.db").exists()


def make_many(path: Path, tmp_path: Path, n: int) -> None:
    """n distinct text letters (the seeds with another case number each)."""
    folder = tmp_path / "many"
    folder.mkdir()
    bases = [p.read_text(encoding="utf-8") for p in SEEDS]
    for i in range(n):
        (folder / f"letter{i:04d}.txt").write_text(f"{bases[i % len(bases)]}\nCopy test letter {i}\n",
                                                    encoding="utf-8")
    with Database.open(path, user="alice") as db:
        assert len(db.import_paths([folder]).added) == n


@pytest.mark.parametrize("to", ["sqlite", "postgresql"])
def test_a_killed_copy_run_again_finishes_with_every_letter_once(tmp_path: Path, to: str,
                                                                 request: pytest.FixtureRequest) -> None:
    source, n = tmp_path / "source.db", 120
    target = str(request.getfixturevalue("pg_url")) if to == "postgresql" else str(tmp_path / "target.db")
    make_many(source, tmp_path, n)
    cmd = [sys.executable, "-m", "imr_desk", "copy", "--from", str(source), "--to", str(target)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("[30/"):
            os.kill(proc.pid, signal.SIGKILL)  # mid-copy, as a power cut would
            break
    proc.wait(timeout=60)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    with Database.open(target) as half:
        done = half.queue_count()
    assert 30 <= done < n
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{n - done} letter(s) copied, {done} already there, 0 failed" in rerun.stdout
    with Database.open(source) as a, Database.open(target) as b:
        rows = "SELECT id, sha256 FROM letters ORDER BY id"
        assert b.conn.execute(rows).fetchall() == a.conn.execute(rows).fetchall()
        hist = "SELECT letter_id, count(*) FROM history GROUP BY letter_id ORDER BY letter_id"
        assert b.conn.execute(hist).fetchall() == a.conn.execute(hist).fetchall()
        assert json.dumps(b.stats(), sort_keys=True) == json.dumps(a.stats(), sort_keys=True)
