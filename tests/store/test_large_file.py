"""A large letter file goes into the database in chunks (store/database.py `_write_file`) and comes back
byte for byte, on both engines: the original bytes are the letter's identity (its sha256).

The scan is a real letter's pages rendered at 150 dpi and saved as an uncompressed multi-page TIFF of
some 10 MB, so its bytes span many of the store's 1 MiB chunks and end in a partial one. OCR is
switched off (an engine path that does not exist): the file's storing is what is tested, and quickly.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from imr_desk.store import Database
from imr_desk.store.database import FILE_CHUNK
from tests.make_scans import render_pages
from tests.store.conftest import REAL, assert_sound

# An import killed (SIGKILL) in the middle of writing the file: after its first chunks went into the
# database (SQLite's blob handle, the server's COPY), as the third chunk is taken from the file's bytes.
_KILLED_MID_FILE = """
import os, signal, sys
import imr_desk.store.database as database
from imr_desk.store import Database

class KilledAtThirdChunk:
    def __init__(self, data):
        self.view, self.taken = memoryview(data), 0
    def __len__(self):
        return len(self.view)
    def __getitem__(self, key):
        self.taken += 1
        if self.taken == 3:
            print("killed", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return self.view[key]

database.memoryview = KilledAtThirdChunk  # what `_write_file` slices its chunks from
db = Database.open(sys.argv[1], user="worker")
db.import_paths([sys.argv[2]])
print("finished", flush=True)
"""


@pytest.fixture
def big_tiff(tmp_path: Path) -> Path:
    pages = render_pages(REAL[0].read_bytes(), 150)
    pages = [*pages, *pages, *pages][:5]
    path = tmp_path / "big scan.tiff"
    pages[0].save(path, "TIFF", dpi=(150, 150), save_all=True, append_images=pages[1:])  # uncompressed
    return path


def test_a_large_scan_is_stored_and_read_back_byte_for_byte(db_path: Path | str, big_tiff: Path,
                                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IMR_DESK_TESSERACT", str(tmp_path / "no-tesseract"))
    original = big_tiff.read_bytes()
    assert len(original) > 5 * FILE_CHUNK and len(original) % FILE_CHUNK  # many chunks, the last one partial
    with Database.open(db_path, user="alice") as db:
        report = db.import_paths([big_tiff], batch="scans")
        assert len(report.added) == 1 and not report.failed, report
        letter_id = report.added_ids[0]
        stored = db.letter_file(letter_id)
        assert stored == original
        letter = db.letter(letter_id)
        assert letter.sha256 == hashlib.sha256(original).hexdigest() and letter.size == len(original)
        assert db.conn.execute("SELECT length(data) FROM files WHERE letter_id = ?",
                               (letter_id,)).fetchone()[0] == len(original)
        again = db.import_paths([big_tiff], batch="scans again")  # the same bytes: the same letter
        assert again.duplicates and again.duplicate_ids == [letter_id] and not again.added
        assert_sound(db)
    with Database.open(db_path, user="bob") as reopened:  # committed, as written
        assert reopened.letter_file(letter_id) == original


def test_letters_of_every_size_round_a_chunk_are_whole(db_path: Path | str) -> None:
    """Text letters of a chunk's size, one byte less and one more: each stored whole (no lost or extra tail)."""
    line = b"Final Determination Letter. The reviewer upheld the denial of the requested treatment.\n"
    with Database.open(db_path, user="alice") as db:
        for size in (FILE_CHUNK - 1, FILE_CHUNK, FILE_CHUNK + 1, 1):
            data = (line * (size // len(line) + 1))[:size]
            letter_id = db.insert_letter(data=data, name=f"letter-{size}.txt", media_type="text/plain",
                                         text=data.decode(), page_starts=[0], parsed={"source": {"pages": 1}})
            assert letter_id is not None
            assert db.letter_file(letter_id) == data


def test_an_import_killed_while_writing_the_file_leaves_no_half_letter(db_path: Path | str, big_tiff: Path,
                                                                      tmp_path: Path) -> None:
    Database.open(db_path).close()
    env = dict(os.environ, IMR_DESK_TESSERACT=str(tmp_path / "no-tesseract"))
    proc = subprocess.run([sys.executable, "-c", _KILLED_MID_FILE, str(db_path), str(big_tiff)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == -signal.SIGKILL and proc.stdout.split() == ["killed"], proc.stdout + proc.stderr
    original = big_tiff.read_bytes()
    with Database.open(db_path, user="alice") as db:
        assert_sound(db)
        assert db.queue_count() == 0  # neither the letter nor any part of it
        for table in ("letters", "contents", "files", "items", "history"):
            assert db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
        report = db.import_paths([big_tiff])  # the import can simply be run again
        assert len(report.added) == 1, report
        assert db.letter_file(report.added_ids[0]) == original
