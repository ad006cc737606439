"""An empty filter is an error, never "every letter"; a filter that matches nothing exports nothing and says so.

A script whose variable came out empty (`imr-desk export --batch "$BATCH"`) must not ship the whole
database: every filter option refuses an empty or blank value, and so do the export set and the
store's one letter filter (store/filters.py) beneath them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from imr_desk.cli import cli
from imr_desk.export import ExportError, ExportSet, export_set
from imr_desk.store import Database
from imr_desk.store.filters import EmptyFilter, LetterFilter


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("option", ["--batch", "--reviewer", "--since", "--until"])
def test_an_empty_export_filter_is_refused(reviewed: Database, db_path: Path, tmp_path: Path, option: str) -> None:
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "set.jsonl"
    for value in ("", "   "):
        r = run("export", "--db", str(db_path), "--format", "jsonl", "-o", str(out), option, value, "--status",
                "reviewed", "--status", "to review", "--status", "postponed")
        assert r.exit_code == 2, r.output
        assert f"{option} needs a" in r.stderr and "Nothing was done" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert list((tmp_path / "out").iterdir()) == []  # no export, no manifest
    assert reviewed.conn.execute("SELECT count(*) FROM exports").fetchone()[0] == 0


def test_a_filter_that_matches_nothing_exports_nothing(reviewed: Database, db_path: Path, tmp_path: Path) -> None:
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    for option, value in (("--batch", "no such batch"), ("--reviewer", "nobody")):
        r = run("export", "--db", str(db_path), "--format", "csv", "-o", str(tmp_path / "set"), option, value)
        assert r.exit_code == 1, r.output
        assert r.stderr.strip().splitlines() == [
            f"imr-desk: error: No letters match this set (reviewed, {'batch' if option == '--batch' else 'reviewed by'} "
            f"{value}). Nothing was written."]
        assert r.stdout == ""
    assert list(tmp_path.iterdir()) == []
    assert reviewed.conn.execute("SELECT count(*) FROM exports").fetchone()[0] == 0


@pytest.mark.parametrize("field", ["batch", "reviewer", "since", "until", "decision"])
def test_the_export_set_refuses_an_empty_name(field: str) -> None:
    with pytest.raises(ExportError, match=f"The {field} filter is empty"):
        ExportSet(**{field: " "})
    with pytest.raises(ExportError, match="A status to export is empty"):
        ExportSet(status=["reviewed", ""])


@pytest.mark.parametrize("field", ["batch", "search", "decision", "outcome", "specialty", "decided_from",
                                   "decided_to", "reviewed_from", "reviewed_to", "since", "until",
                                   "reviewed_by", "warning_code"])
def test_the_store_filter_never_reads_empty_as_everything(reviewed: Database, field: str) -> None:
    for value in ("", " \t"):
        with pytest.raises(EmptyFilter, match="filter is empty"):
            LetterFilter(**{field: value})
        with pytest.raises(EmptyFilter):
            reviewed.letter_ids({field: value})  # the dict the queue passes goes through the same check
    with pytest.raises(EmptyFilter, match="empty status"):
        reviewed.queue_count({"status": ""})
    with pytest.raises(EmptyFilter, match="empty status"):
        LetterFilter(status=["reviewed", " "])
    # unset still means "no filter", an empty list of ids means "no letter"
    assert len(reviewed.letter_ids(LetterFilter())) == 8
    assert reviewed.letter_ids(LetterFilter(ids=[])) == []


def test_export_set_with_no_match_writes_nothing(reviewed: Database, tmp_path: Path) -> None:
    from imr_desk.export import NothingToExport

    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    with pytest.raises(NothingToExport, match="Nothing was written"):
        export_set(reviewed, "xlsx", tmp_path / "set.xlsx", ExportSet(batch="week2"))
    assert list(tmp_path.iterdir()) == []


def test_import_and_search_refuse_empty_values(db: Database, db_path: Path, tmp_path: Path, data_dir: Path) -> None:
    letter = sorted((data_dir / "real").glob("*.pdf"))[0]
    r = run("import", "--db", str(db_path), "--batch", "", str(letter))
    assert r.exit_code == 2 and "--batch needs a name" in r.stderr
    assert db.queue_count() == 0
    r = run("search", "--db", str(db_path), "  ")
    assert r.exit_code == 2 and "search needs words" in r.stderr


def test_an_empty_output_or_database_name_is_refused(reviewed: Database, db_path: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`-o ''` was the current folder (a JSON Lines export: an internal error, `PosixPath('.') has an empty
    name`); `-o '   '` made a file named three spaces; `--db ''` was "  is a folder"."""
    monkeypatch.chdir(tmp_path)
    for fmt in ("csv", "jsonl", "xlsx", "sqlite"):
        for value in ("", "   "):
            r = run("export", "--db", str(db_path), "--format", fmt, "-o", value)
            assert r.exit_code == 2, r.output
            assert "-o needs the name of the file or folder to write" in r.stderr, r.stderr
            assert len(r.stderr.strip().splitlines()) == 1
        r = run("export", "--db", str(db_path), "--format", fmt, "-o", "-")  # was a file named "-.jsonl"
        assert r.exit_code == 2 and "never to standard output" in r.stderr, r.output
    for args in (["--db", "", "stats"], ["stats", "--db", "   "], ["copy", "--from", "", "--to", "x.db"],
                 ["copy", "--from", str(db_path), "--to", " "]):
        r = run(*args)
        assert r.exit_code == 2, r.output
        assert "needs a database file's path or a postgresql:// URL" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "review.db" and not p.name.startswith("review.db-")) == []
    assert reviewed.conn.execute("SELECT count(*) FROM exports").fetchone()[0] == 0


def test_a_search_limit_that_is_no_limit_is_refused(reviewed: Database, db_path: Path) -> None:
    """`--limit -1` listed every letter on SQLite (a negative LIMIT is none) and was an internal error on a
    server; `--limit 0` said "0 letter(s) found"; a limit past 64 bits was an internal error on both."""
    for limit in ("0", "-1", "99999999999999999999"):
        r = run("search", "--db", str(db_path), "--limit", limit, "knee")
        assert r.exit_code == 2, r.output
        assert f"Invalid value for '--limit': {limit} is not in the range 1<=x<=1000000" in r.stderr, r.stderr
        assert "internal error" not in r.stderr and r.stdout == ""
    r = run("search", "--db", str(db_path), "--limit", "1", "--json", "the")
    assert r.exit_code == 0 and len(r.stdout.strip().splitlines()) == 1, r.output


def test_a_letter_id_that_no_letter_can_have_is_refused(reviewed: Database, db_path: Path, tmp_path: Path) -> None:
    """`--id 99999999999999999999` was an internal error (NumericValueOutOfRange) on a server."""
    for value in ("0", "-1", "99999999999999999999"):
        r = run("export", "--db", str(db_path), "--format", "jsonl", "-o", str(tmp_path / "x.jsonl"), "--id", value)
        assert r.exit_code == 2, r.output
        assert f"Invalid value for '--id': {value} is not in the range 1<=x<=9223372036854775807" in r.stderr, r.stderr
    assert not (tmp_path / "x.jsonl").exists()
    r = run("export", "--db", str(db_path), "--format", "jsonl", "-o", str(tmp_path / "x.jsonl"), "--id", "1")
    assert r.exit_code == 0 and "Exported 1 letter(s)" in r.stdout, r.output
