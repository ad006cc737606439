"""A process killed in the middle of an import or a save leaves no half-written letter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from imr_desk.store import Database

from .conftest import REAL, assert_sound

_IMPORT = """
import sys
from imr_desk.store import Database
db = Database.open(sys.argv[1], user="worker")
def progress(event):
    print(event.done, flush=True)
db.import_paths(sys.argv[2:], progress=progress)
print("finished", flush=True)
"""

_SAVE = """
import sys
from imr_desk.store import Database
db = Database.open(sys.argv[1], user="worker")
letter = db.letter(int(sys.argv[2]))
version, record = letter.version, letter.record
for n in range(100000):
    record["summary"] = f"edit {n}"
    version = db.save_record(letter.id, record, version)
    print(version, flush=True)
"""


def _run_then_kill(args: list[str], after_lines: int) -> list[str]:
    lines = []
    with subprocess.Popen([sys.executable, "-c", *args], stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.strip())
            if len(lines) >= after_lines:
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the process finished before it could be killed"
    return lines


def test_killed_import_keeps_every_finished_letter_whole(db_path: Path) -> None:
    Database.open(db_path).close()
    lines = _run_then_kill([_IMPORT, str(db_path), *map(str, REAL)], after_lines=8)
    db = Database.open(db_path)
    assert_sound(db)
    n = db.queue_count()
    assert int(lines[-1]) <= n < len(REAL)  # every reported letter is there; the kill stopped the rest
    for row in db.queue({}, limit=100):
        letter = db.letter(row.id)
        assert db.letter_file(row.id)
        assert len(db.items(row.id)) == len(letter.record["items"]) == row.item_count
        assert db.history(row.id)[0].origin == "parser"
    again = db.import_paths(REAL)  # the import can simply be run again
    assert len(again.duplicates) == n and len(again.added) == len(REAL) - n
    db.close()


def test_killed_saves_keep_every_finished_save(db_path: Path) -> None:
    db = Database.open(db_path)
    letter_id = db.import_paths([REAL[0]]).added_ids[0]
    db.close()
    lines = _run_then_kill([_SAVE, str(db_path), str(letter_id)], after_lines=40)
    db = Database.open(db_path)
    assert_sound(db)
    letter = db.letter(letter_id)
    assert letter.version >= int(lines[-1])  # every save the process reported is there
    summaries = [h for h in db.history(letter_id) if h.path == "summary"]
    assert summaries[-1].new == letter.record["summary"] and summaries[-1].version == letter.version
    # every save added a row or, a burst of edits of one field, folded into the last one: none half-written
    versions = [h.version for h in summaries]
    assert versions == sorted(set(versions)) and 1 <= len(summaries) <= letter.version - 1
    db.close()
