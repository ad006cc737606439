"""Oversized letters, archives and lines: refused before they cost minutes and gigabytes, or stored
with an "unusual letter" warning; every real letter passes."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pypdfium2 as pdfium

from imr_desk.core import limits
from imr_desk.store import Database
from tests.safety.conftest import REAL, SEEDS, letter_line, write_jsonl


def _repeated(times: int) -> bytes:
    return SEEDS[0].read_bytes() * times


def test_every_real_letter_is_well_within_the_limits(db: Database) -> None:
    report = db.import_paths([*REAL, *SEEDS])
    assert len(report.added) == len(REAL) + len(SEEDS) and not report.failed
    assert not [w for w in report.warned if "Unusual" in w[1]]
    for row in db.queue({}, limit=100):
        letter = db.letter(row.id)
        assert len(letter.text) * 50 < limits.MAX_TEXT_CHARS
        assert len(letter.record.get("items") or []) * 3 < limits.UNUSUAL_ITEMS
        assert (letter.pages or 1) * 4 < limits.UNUSUAL_PAGES


def test_a_21_mb_text_letter_is_refused_before_it_is_read(db: Database, tmp_path: Path) -> None:
    big = tmp_path / "huge.txt"
    big.write_bytes(_repeated(21_000_000 // len(SEEDS[0].read_bytes()) + 1))
    report = db.import_paths([big, SEEDS[1]])
    assert len(report.added) == 1
    [(label, reason)] = report.failed
    assert label == str(big) and "not one letter" in reason and "21 MB" in reason
    assert db.queue_count({}) == 1


def test_many_items_store_the_letter_with_an_unusual_letter_warning(db: Database, tmp_path: Path) -> None:
    many = tmp_path / "many.txt"
    many.write_bytes(_repeated(limits.UNUSUAL_ITEMS + 10))
    report = db.import_paths([many])
    assert len(report.added) == 1
    [(label, warning)] = report.warned
    assert "Unusual letter" in warning and f"{limits.UNUSUAL_ITEMS + 10} disputed items" in warning
    record = db.letter(report.added_ids[0]).record
    assert [w["code"] for w in record["warnings"]].count("unusual-letter") == 1


def test_more_items_than_the_limit_are_refused(db: Database, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_ITEMS", 30)
    many = tmp_path / "many.txt"
    many.write_bytes(_repeated(40))
    report = db.import_paths([many])
    [(_label, reason)] = report.failed
    assert "40 disputed items" in reason and "not one letter" in reason


def test_a_pdf_of_too_many_pages_is_refused_before_its_text_is_read(db: Database, tmp_path: Path) -> None:
    pdf = pdfium.PdfDocument.new()
    for _ in range(limits.MAX_PAGES + 1):
        pdf.new_page(612, 792)
    path = tmp_path / "pages.pdf"
    pdf.save(path)
    pdf.close()
    report = db.import_paths([path])
    [(_label, reason)] = report.failed
    assert f"{limits.MAX_PAGES + 1:,} pages" in reason


def test_a_zip_bomb_is_not_extracted(db: Database, tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.txt", b"A" * (30 << 20))  # 30 MB in some 30 KB
        zf.write(REAL[0], "real.pdf")
    assert archive.stat().st_size < 200_000
    report = db.import_paths([archive])
    assert [label.rsplit(":", 1)[1] for label in report.added] == ["real.pdf"]
    [(label, reason)] = report.failed
    assert label.endswith(":bomb.txt") and "times over" in reason


def test_an_archive_expanding_beyond_its_total_stops_there(db: Database, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_ARCHIVE_BYTES", REAL[0].stat().st_size + REAL[1].stat().st_size)
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in REAL[:4]:
            zf.write(p, p.name)
    report = db.import_paths([archive])
    assert len(report.added) == 2 and len(report.failed) == 2
    assert all("expand to more than" in reason for _label, reason in report.failed)


def test_a_jsonl_letter_beyond_the_text_limit_is_refused(db: Database, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_TEXT_CHARS", 50_000)
    line = letter_line(SEEDS[0])
    big = {**line, "text": line["text"] * 20}
    report = db.import_paths([write_jsonl(tmp_path / "set.jsonl", [big, letter_line(SEEDS[1])])])
    assert len(report.added) == 1
    [(_label, reason)] = report.failed
    assert "not one letter" in reason


def test_a_forged_sha256_does_not_shadow_the_real_pdf(db: Database, tmp_path: Path) -> None:
    real = REAL[0]
    real_sha = hashlib.sha256(real.read_bytes()).hexdigest()
    forged = {**letter_line(SEEDS[0]), "source": {"name": real.name, "sha256": real_sha, "media_type": "application/pdf"}}
    forged["text"] = "Anything at all, reviewed by nobody."
    forged.pop("fields", None)
    report = db.import_paths([write_jsonl(tmp_path / "forged.jsonl", [forged])])
    assert len(report.added) == 1, report
    [(_label, note)] = report.warned
    assert real_sha[:12] in note and "not in the line" in note
    later = db.import_paths([real])
    assert len(later.added) == 1 and not later.duplicates  # the real PDF is not "already in the database"
    for row in db.queue({}, limit=10):  # every stored file hashes to its letter's sha256
        letter = db.letter(row.id)
        assert hashlib.sha256(db.letter_file(row.id)).hexdigest() == letter.sha256
    again = db.import_paths([tmp_path / "forged.jsonl"])
    assert len(again.duplicates) == 1 and not again.added
    assert json.loads(json.dumps(db.history(report.added_ids[0])[-1].new))["original_sha256"] == real_sha
