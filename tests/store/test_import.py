"""Importing files, folders and archives: what is added, skipped and refused, and why."""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import pypdfium2 as pdfium

from imr_desk.store import Database, ImportEvent

from .conftest import REAL, SEEDS


def test_letters_are_stored_with_their_bytes_text_pages_and_items(db: Database) -> None:
    report = db.import_paths([REAL[0], SEEDS[0]], batch="monday")
    assert len(report.added) == 2 and report.batch == "monday"
    pdf_id, txt_id = report.added_ids
    pdf = db.letter(pdf_id)
    assert db.letter_file(pdf_id) == REAL[0].read_bytes()
    assert pdf.media_type == "application/pdf" and pdf.batch == "monday" and pdf.status == "to review"
    assert pdf.pages == len(pdf.page_starts) >= 2 and pdf.page_starts[0] == 0
    assert pdf.record["case"]["case_number"] == REAL[0].stem
    assert pdf.parsed == pdf.record and pdf.version == 1
    assert pdf.text.count("Decision rationale") >= 1
    rows = db.items(pdf_id)
    assert [r["request"] for r in rows] == [i["request"] for i in pdf.record["items"]]
    assert {r["decision"] for r in rows} <= {"upheld", "overturned"}
    txt = db.letter(txt_id)
    assert txt.media_type == "text/plain" and txt.layout
    assert db.history(pdf_id)[0].origin == "parser"


def test_importing_the_same_letter_twice_adds_nothing_and_says_so(db: Database, tmp_path: Path) -> None:
    db.import_paths([REAL[0]])
    copy = tmp_path / "renamed.pdf"
    copy.write_bytes(REAL[0].read_bytes())
    report = db.import_paths([REAL[0], copy])
    assert report.added == [] and len(report.duplicates) == 2
    assert db.queue_count() == 1
    assert "already in the database" in report.summary()


def test_folders_are_walked_recursively_and_other_files_ignored(db: Database, letters_dir: Path) -> None:
    events: list[ImportEvent] = []
    report = db.import_paths([letters_dir], progress=events.append)
    assert len(report.added) == 6 and report.failed == []
    assert [Path(i.split(" (", 1)[0]).name for i in report.ignored] == ["notes.docx"]
    assert report.ignored[0].endswith("(not a letter file: IMR Desk reads .pdf, .txt, .png, .jpg, .tif letters, "
                                      ".zip archives of them and .jsonl exports)")
    assert [e.done for e in events] == list(range(1, 7)) and {e.total for e in events} == {6}
    assert any("week2" in e.name for e in events)


def test_zip_archives_are_read_member_by_member(db: Database, tmp_path: Path) -> None:
    archive = tmp_path / "letters.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(REAL[0], f"2017/{REAL[0].name}")
        zf.write(SEEDS[1], SEEDS[1].name)
        zf.writestr("__MACOSX/._x.pdf", b"junk")
        zf.writestr("readme.md", "not a letter")
    report = db.import_paths([archive])
    assert len(report.added) == 2, report
    added = dict(zip(report.added, report.added_ids, strict=True))
    pdf_id = added[f"{archive}:2017/{REAL[0].name}"]
    assert db.letter(pdf_id).name == REAL[0].name
    assert db.letter_file(pdf_id) == REAL[0].read_bytes()


def _scanned_pdf() -> bytes:
    """A real PDF whose page has no text layer, like a scanned letter."""
    import io

    doc = pdfium.PdfDocument.new()
    doc.new_page(612, 792)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def test_bad_files_are_reported_and_do_not_stop_the_others(db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a_empty.txt").write_bytes(b"")
    (bad / "b_binary.txt").write_bytes(bytes(range(256)) * 40)
    (bad / "c_corrupt.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 500)
    (bad / "d_broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    (bad / "e_scanned.pdf").write_bytes(_scanned_pdf())
    (bad / "f_good.pdf").write_bytes(REAL[1].read_bytes())
    report = db.import_paths([bad, tmp_path / "missing.pdf"])
    failed = dict((Path(n.split(":")[0]).name, r) for n, r in report.failed)
    assert set(failed) == {"a_empty.txt", "b_binary.txt", "c_corrupt.pdf", "d_broken.zip", "missing.pdf"}
    assert "empty" in failed["a_empty.txt"]
    assert "not a readable .zip" in failed["d_broken.zip"]
    assert "no such file" in failed["missing.pdf"]
    assert len(report.added) == 2  # the good letter, and the scanned one kept for review by hand
    scanned = next(i for n, i in zip(report.added, report.added_ids, strict=True) if "scanned" in n)
    letter = db.letter(scanned)
    assert letter.status == "to review" and letter.text.strip() == ""
    assert any(w["code"] for w in letter.warnings)
    assert report.warned and "no text layer" in report.warned[0][1]


def test_cancel_stops_after_the_current_letter_and_keeps_what_was_read(db: Database, letters_dir: Path) -> None:
    cancel = threading.Event()
    gen = db.import_iter([letters_dir], cancel=cancel)
    first = next(gen)
    second = next(gen)
    cancel.set()
    try:
        next(gen)
        raise AssertionError("the import went on after cancel")
    except StopIteration as stop:
        report = stop.value
    assert report.cancelled and len(report.added) == 2
    assert {first.outcome, second.outcome} == {"added"}
    assert db.queue_count() == 2


def test_archives_inside_archives_and_linked_folders_are_reported_not_skipped_silently(
        db: Database, tmp_path: Path) -> None:
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.write(REAL[0], REAL[0].name)
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, "inner.zip")
        zf.write(SEEDS[0], SEEDS[0].name)
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "elsewhere").symlink_to(tmp_path / "other", target_is_directory=True)
    (tmp_path / "other").mkdir()
    report = db.import_paths([outer, folder])
    assert len(report.added) == 1
    assert report.failed == [(f"{outer}:inner.zip",
                              "an archive or export inside an archive is not read; extract it and import it on its own")]
    assert any("a link to a folder" in i for i in report.ignored)
