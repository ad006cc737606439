"""`imr-desk import`, `search`, `stats` and `reparse` as a clerk runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REAL, SEEDS


def imr(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imr_desk", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


@pytest.mark.parametrize("verb", ["import", "search", "stats", "reparse"])
def test_every_verb_has_help(verb: str) -> None:
    out = imr(verb, "--help")
    assert out.returncode == 0 and "--db" in out.stdout


def test_import_search_stats_on_the_default_database(imr_home: Path, letters_dir: Path) -> None:
    out = imr("import", str(letters_dir), "--batch", "week 1")
    assert out.returncode == 0, out.stderr
    assert "6 letter(s) added, 0 already in the database, 0 failed" in out.stdout
    assert (imr_home / "data" / "imr-desk.db").exists()
    again = imr("import", "-q", str(letters_dir))
    assert "0 letter(s) added, 6 already in the database" in again.stdout
    found = imr("search", "--json", "lumbar")
    hits = [json.loads(line) for line in found.stdout.splitlines()]
    assert found.returncode == 0 and hits and all(h["id"] for h in hits)
    stats = imr("stats", "--json")
    figures = json.loads(stats.stdout)
    assert figures["letters"] == 6 and figures["by_batch"] == {"week 1": 6}
    assert sum(figures["by_layout"].values()) == 6 and "fdl-header" in figures["by_layout"]
    text = imr("stats")
    assert "By layout:" in text.stdout and "fdl-header" in text.stdout
    assert "to review" in text.stdout and "no reviewed letters yet" in text.stdout


def test_import_reports_bad_files_in_one_line_each_and_exit_status(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    out = imr("import", "--db", str(db), "-q", str(REAL[0]), str(empty), str(SEEDS[0]))
    assert out.returncode == 1
    assert "2 letter(s) added" in out.stdout
    assert f"imr-desk: {empty}: the file is empty (0 bytes)" in out.stderr
    assert "Traceback" not in out.stderr


def test_errors_are_one_line_never_a_traceback(tmp_path: Path) -> None:
    newer = tmp_path / "newer.db"
    import sqlite3

    from imr_desk.store import Database

    Database.open(newer).close()
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 42")
    conn.close()
    for args in (["search", "--db", str(tmp_path / "none.db"), "x"], ["stats", "--db", str(newer)],
                 ["import", "--db", str(tmp_path / "no/dir/x.db"), str(REAL[0])]):
        out = imr(*args)
        assert out.returncode != 0
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("imr-desk: error: "), out.stderr
    assert "newer IMR Desk" in imr("stats", "--db", str(newer)).stderr


def test_usage_mistakes_and_missing_paths_are_one_line_and_touch_nothing(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    for args, expected in (
        (["import", "--db", str(db), str(tmp_path / "nope.pdf")], "nothing to import: no such file or folder"),
        (["search"], "Missing argument 'QUERY...'. (see: imr-desk search --help)"),
        (["bogus"], "No such command 'bogus'. (see: imr-desk --help)"),
    ):
        out = imr(*args)
        assert out.returncode != 0
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("imr-desk: error: ") and expected in lines[0], out.stderr
    assert not db.exists()
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    out = imr("stats", "--db", str(empty))
    assert out.returncode == 1 and "is an empty file, not a review database yet" in out.stderr


def test_reparse_with_nothing_to_do_says_so_plainly(tmp_path: Path) -> None:
    from imr_desk.core import PARSER_VERSION

    db = tmp_path / "x.db"
    empty = imr("reparse", "--db", str(db))
    assert empty.returncode == 1 and "imr-desk: error: " in empty.stderr  # no database: the common error
    assert imr("import", "-q", "--db", str(db), str(SEEDS[0]), str(SEEDS[1])).returncode == 0
    out = imr("reparse", "--db", str(db))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (f"All 2 letters are already read by this parser version ({PARSER_VERSION}); "
                                  "nothing to do. Use --all to read them again.")
    assert "0 letter(s)" not in out.stdout and out.stderr == ""
    again = imr("reparse", "--db", str(db), "--all")  # --all still reads them: the counts tell what happened
    assert again.returncode == 0 and "2 unchanged" in again.stdout
