"""A role that may only read fails once, with one message, before any work: `reparse`, `ocr`, `import`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from imr_desk.cli import cli
from imr_desk.core import ocr, parse_file
from imr_desk.store import Database, NotWritable
from imr_desk.store.engine import close_pools
from tests.make_scans import make_scan
from tests.pgserver import LIMITED_ROLE, PgCluster

from .conftest import REAL


@pytest.fixture
def reader_url(pg_cluster: PgCluster, pg_url: str, tmp_path: Path) -> str:
    """Three real letters and a scan never read by OCR, on a server database the role imr_reader may only read."""
    scan = make_scan(REAL[0].read_bytes(), tmp_path / "scan.png", dpi=100, pages=[0])
    with Database.open(pg_url) as db:
        db.import_paths(REAL[1:4])
        db.insert_letter(data=scan.read_bytes(), name=scan.name, media_type="image/png", text="", page_starts=[0],
                         parsed=parse_file(scan, ocr=False))
    name = pg_url.rsplit("/", 1)[1]
    pg_cluster.admin(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {LIMITED_ROLE}", dbname=name)
    url = pg_cluster.url(name, user=LIMITED_ROLE)
    yield url
    close_pools(url)


def _history(pg_url: str) -> int:
    with Database.open(pg_url) as db:
        return int(db.conn.execute("SELECT count(*) FROM history").fetchone()[0])


def one_error(result: object) -> str:
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert result.exit_code == 1, result.output  # type: ignore[attr-defined]
    assert len(lines) == 1, lines
    assert lines[0].startswith("imr-desk: error: Could not ")
    assert f"role {LIMITED_ROLE} may not write letters" in lines[0] and f"TO {LIMITED_ROLE}" in lines[0]
    return lines[0]


def test_reparse_by_a_reader_fails_once_before_any_letter(reader_url: str, pg_url: str) -> None:
    before = _history(pg_url)
    line = one_error(CliRunner().invoke(cli, ["reparse", "--all", "--db", reader_url]))
    assert "re-parse the letters" in line
    assert _history(pg_url) == before


@pytest.mark.skipif(not ocr.available(), reason="Tesseract is not installed (packaging/bootstrap.sh)")
def test_ocr_by_a_reader_fails_before_reading_a_page(reader_url: str, pg_url: str) -> None:
    for args in (["ocr"], ["ocr", "--all"]):
        result = CliRunner().invoke(cli, [*args, "--db", reader_url])
        line = one_error(result)
        assert "store what OCR reads" in line and "page 1 of" not in result.stderr
    with Database.open(pg_url) as db:
        assert db.conn.execute("SELECT count(*) FROM ocr_layers").fetchone()[0] == 0


def test_import_by_a_reader_fails_before_reading_a_file(reader_url: str, pg_url: str) -> None:
    result = CliRunner().invoke(cli, ["import", "--db", reader_url, *map(str, REAL[4:9])])
    line = one_error(result)
    assert "import the letters" in line and "[1/" not in result.stderr


def test_the_store_asks_the_server_for_the_rights(reader_url: str, pg_url: str) -> None:
    with Database.open(reader_url) as reader, pytest.raises(NotWritable, match="lacks INSERT on letters"):
        reader.require_write("do it")
    with Database.open(pg_url) as owner:
        owner.require_write("do it")  # the owner may: nothing raised
    with Database.open(pg_url, readonly=True) as read_only, pytest.raises(NotWritable, match="for reading only"):
        read_only.require_write("do it")
