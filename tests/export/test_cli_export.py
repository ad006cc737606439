"""`imr-desk export`: every format, --only-new, --force, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from imr_desk.cli import cli
from imr_desk.store import Database


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("fmt,name", [("csv", "set"), ("jsonl", "set.jsonl"), ("xlsx", "set.xlsx"),
                                      ("sqlite", "set.db")])
def test_export_each_format(reviewed: Database, db_path: Path, tmp_path: Path, fmt: str, name: str) -> None:
    result = run("export", "--db", str(db_path), "--format", fmt, "-o", str(tmp_path / name), "-q")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Exported 5 letter(s)")
    manifest = tmp_path / "set" / "manifest.json" if fmt == "csv" else tmp_path / f"{name}.manifest.json"
    assert f"Manifest: {manifest}" in result.stdout
    assert json.loads(manifest.read_text(encoding="utf-8"))["count"] == 5


def test_filters_only_new_and_force(reviewed: Database, db_path: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "x.jsonl")
    r = run("export", "--db", str(db_path), "--format", "jsonl", "-o", out, "--batch", "week1", "--only-new",
            "--since", "2000-01-01", "--status", "reviewed", "--status", "postponed")
    assert r.exit_code == 0, r.output
    assert "Exported 6 letter(s)" in r.stdout
    assert "exporting: 6/6 letters" in r.stderr
    r = run("export", "--db", str(db_path), "--format", "jsonl", "-o", str(tmp_path / "y.jsonl"), "--only-new")
    assert r.exit_code == 1 and not (tmp_path / "y.jsonl").exists()
    assert r.stderr.strip().splitlines() == [
        "imr-desk: error: No letters match this set (reviewed, not exported since their last review). Nothing was written."]
    r = run("export", "--db", str(db_path), "--format", "jsonl", "-o", out)
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines() == [
        f"imr-desk: error: {out} already exists. Choose another name, or replace it (“Replace it if it exists” "
        "in the export dialog, --force on the command line)."]
    r = run("export", "--db", str(db_path), "--format", "jsonl", "-o", out, "--force", "--id", "2", "--id", "3")
    assert r.exit_code == 0, r.output
    assert len((tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()) == 2


@pytest.mark.parametrize("args,message", [
    (["--format", "csv", "-o", "{tmp}/no/such/folder"], "does not exist. Create it first"),
    (["--format", "csv", "-o", "{tmp}/x", "--since", "yesterday"], "is not a date"),
    (["--format", "jsonl", "-o", "{tmp}/x", "--reviewer", "nobody"], "No letters match this set"),
])
def test_errors_are_one_line(reviewed: Database, db_path: Path, tmp_path: Path, args: list[str],
                             message: str) -> None:
    r = run("export", "--db", str(db_path), *[a.format(tmp=tmp_path) for a in args])
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imr-desk: error: ") and message in lines[0], r.stderr
    assert "Traceback" not in r.output


def test_no_database(tmp_path: Path) -> None:
    r = run("export", "--db", str(tmp_path / "none.db"), "--format", "csv", "-o", str(tmp_path / "x"))
    assert r.exit_code == 1 and r.stderr.startswith("imr-desk: error: There is no database")
    assert not (tmp_path / "none.db").exists()


def test_usage_errors_and_help() -> None:
    r = run("export", "-o", "x")
    assert r.exit_code == 2 and "--format" in r.stderr
    r = run("export", "--help")
    assert r.exit_code == 0
    for option in ("--status", "--batch", "--since", "--only-new", "--force", "--format", "--output"):
        assert option in r.stdout
