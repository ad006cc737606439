"""Start-up: a command loads only what it uses (psycopg for a server, openpyxl for Excel, Qt for the window,
the parser, PDF reading and OCR for parsing). The guard for the start-up benchmark (tests/bench/test_startup_bench.py):
no timing here, the modules each command leaves loaded, read from the command's own process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from imr_desk.store import Database

HEAVY = ("psycopg", "psycopg_pool", "openpyxl", "PySide6", "pypdfium2", "PIL", "ftfy", "sqlite_utils",
         "imr_desk.core.parser", "imr_desk.store.importing", "imr_desk.ui")

# runs `imr-desk ARGS` in this process as the console script does, then writes which of HEAVY it loaded
_WRAPPER = """
import json, sys
out, heavy, args = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
sys.argv = ["imr-desk", *args]
from imr_desk.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
with open(out, "w") as f:
    json.dump({"code": code, "loaded": sorted(m for m in heavy if m in sys.modules)}, f)
"""


def loaded_by(tmp_path: Path, *args: str) -> tuple[object, list[str], str]:
    """The exit code of `imr-desk ARGS`, which of HEAVY it left imported, and what it printed."""
    out = tmp_path / "loaded.json"
    run = subprocess.run([sys.executable, "-c", _WRAPPER, str(out), json.dumps(HEAVY), *args],
                         capture_output=True, text=True, timeout=120)
    facts = json.loads(out.read_text())
    return facts["code"], facts["loaded"], run.stdout + run.stderr


@pytest.fixture
def small_db(tmp_path: Path, data_dir: Path) -> Path:
    """A review database of two letters, made through the store (the parser ran in this process, not the command's)."""
    path = tmp_path / "small.db"
    with Database.open(path, user="alice") as db:
        report = db.import_paths(sorted((data_dir / "real").glob("*.pdf"))[:2])
    assert len(report.added) == 2
    return path


def test_help_loads_neither_a_driver_nor_the_parser(tmp_path: Path) -> None:
    code, loaded, printed = loaded_by(tmp_path, "--help")
    assert code == 0, printed
    assert "Commands:" in printed
    assert loaded == []


def test_stats_on_a_file_loads_neither_psycopg_nor_the_parser(tmp_path: Path, small_db: Path) -> None:
    code, loaded, printed = loaded_by(tmp_path, "stats", "--json", "--db", str(small_db))
    assert code == 0, printed
    assert json.loads(printed)["letters"] == 2
    assert loaded == []


def test_search_on_a_file_loads_neither_psycopg_nor_the_parser(tmp_path: Path, small_db: Path) -> None:
    code, loaded, printed = loaded_by(tmp_path, "search", "--json", "--db", str(small_db), "the")
    assert code == 0, printed
    assert loaded == []


def test_a_server_url_loads_psycopg(tmp_path: Path, pg_url: str) -> None:
    """The other side: the guard can tell, since a postgresql:// URL does load psycopg (and still not the parser)."""
    with Database.open(pg_url, user="alice"):
        pass  # IMR Desk's tables on the server, so stats has something to count
    code, loaded, printed = loaded_by(tmp_path, "stats", "--json", "--db", pg_url)
    assert code == 0, printed
    assert json.loads(printed)["letters"] == 0
    assert loaded == ["psycopg", "psycopg_pool"]


def test_parsing_loads_the_parser(tmp_path: Path, data_dir: Path) -> None:
    """And `parse` does load the parser and PDF reading (the names above are the ones that matter)."""
    letter = sorted((data_dir / "real").glob("*.pdf"))[0]
    code, loaded, printed = loaded_by(tmp_path, "parse", "--no-ocr", str(letter))
    assert code == 0, printed
    assert {"imr_desk.core.parser", "pypdfium2"} <= set(loaded)
    assert "psycopg" not in loaded


def test_only_the_excel_export_loads_openpyxl(tmp_path: Path, small_db: Path) -> None:
    export = ("export", "--db", str(small_db), "--status", "to review", "-q")
    code, loaded, printed = loaded_by(tmp_path, *export, "--format", "csv", "-o", str(tmp_path / "set"))
    assert code == 0, printed
    assert (tmp_path / "set" / "letters.csv").is_file()
    assert loaded == []
    code, loaded, printed = loaded_by(tmp_path, *export, "--format", "xlsx", "-o", str(tmp_path / "set.xlsx"))
    assert code == 0, printed
    assert "openpyxl" in loaded and "psycopg" not in loaded  # (openpyxl itself loads PIL)
