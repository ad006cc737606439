"""`imr-desk parse` as the contract describes it: JSON Lines out, one line per file, errors said plainly."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from imr_desk.cli import cli

from .conftest import real_pdfs, seed_texts


def test_parse_prints_one_record_per_file():
    files = [str(real_pdfs()[0]), str(seed_texts()[0])]
    result = CliRunner().invoke(cli, ["parse", *files])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    assert [r["source"]["name"] for r in records] == [real_pdfs()[0].name, seed_texts()[0].name]
    assert all("text" not in r for r in records)
    assert records[0]["case"]["case_number"] == real_pdfs()[0].stem


def test_parse_text_flag_adds_the_text():
    result = CliRunner().invoke(cli, ["parse", "--text", str(seed_texts()[1])])
    rec = json.loads(result.stdout)
    assert "MAXIMUS guideline" in rec["text"]
    f = rec["fields"]["items.0.request"]
    assert rec["text"][f["start"] : f["end"]].startswith("Physical Therapy x 6")


def test_unreadable_file_gives_a_line_and_exit_1(tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\nnot really")
    missing = tmp_path / "missing.pdf"
    result = CliRunner().invoke(cli, ["parse", str(bad), str(real_pdfs()[1]), str(missing)])
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["source"]["name"] for r in records] == ["broken.pdf", real_pdfs()[1].name, "missing.pdf"]
    assert records[0]["error"] and records[2]["error"]
    assert "error" not in records[1]
    assert "Traceback" not in result.stderr


def test_python_dash_m_entry_point(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "imr_desk", "parse", str(seed_texts()[2])],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rec = json.loads(proc.stdout)
    assert len(rec["items"]) == 3


def test_parse_help():
    result = CliRunner().invoke(cli, ["parse", "--help"])
    assert result.exit_code == 0
    assert "JSON" in result.output


def test_pipes_and_oversized_files_are_refused_without_reading_them(tmp_path) -> None:
    import os

    from imr_desk.core import parse_file

    fifo = tmp_path / "letter.txt"
    os.mkfifo(fifo)  # reading it would block for ever
    rec = parse_file(fifo)
    assert rec["error"] == "not a regular file (a pipe or a device?)"
    huge = tmp_path / "huge.pdf"
    with open(huge, "wb") as f:  # sparse: 300 MB on paper, nothing on disk
        f.truncate(300 * 1024 * 1024)
    rec = parse_file(huge)
    assert "no IMR letter is near that size" in rec["error"] and rec["source"]["name"] == "huge.pdf"
