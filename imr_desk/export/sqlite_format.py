"""SQLite: a self-contained database of the set, with the original letter files and full-text search.

It is an IMR Desk review database (`imr-desk --db set.db` opens it: records, review status, history
and annotations as they were) built with the store's own `insert_letter`, and plain tables that
Datasette opens as they are: letters, items, annotations, history, files, batches. Full-text search
is the store's own `contents_fts` over the letters' text, case number, requests and rationales (which
Datasette and sqlite-utils detect), and items_fts over the items' request and rationale, set up with
sqlite-utils' `enable_fts`. The journal is switched back
from WAL to a plain rollback journal at the end, so the set is one file.
"""

from __future__ import annotations

from pathlib import Path

from imr_desk.export.selection import LetterData
from imr_desk.store import Database

ITEM_FTS = ["request", "rationale"]


class SqliteWriter:
    """Writes the set into a new IMR Desk database."""

    needs_text = True
    needs_history = True
    needs_files = True
    slim = False
    chunk = 100

    def __init__(self, path: Path, user: str) -> None:
        self.path = path
        self.files = [path.name]
        self.db = Database.open(path, user=user)
        conn = self.db.conn
        conn.execute("PRAGMA synchronous = OFF")  # a staging file: a crash discards it anyway
        self._pending: list[LetterData] = []
        self.counts = {"letters": 0, "items": 0, "annotations": 0}

    def write(self, letter: LetterData) -> None:
        self._pending.append(letter)
        self.counts["letters"] += 1
        self.counts["items"] += len(letter.record.get("items") or [])
        self.counts["annotations"] += len(letter.active_annotations)
        if len(self._pending) >= self.chunk:
            self._flush()

    def _flush(self) -> None:
        with self.db.transaction("write the exported set"):  # one transaction per chunk of letters
            for letter in self._pending:
                self._insert(letter)
        self._pending = []

    def _insert(self, letter: LetterData) -> None:
        assert letter.data is not None, "the sqlite export reads the original files"
        self.db.insert_letter(
            data=letter.data, name=letter.name, media_type=letter.media_type, text=letter.text,
            page_starts=letter.page_starts, parsed=letter.parsed, record=letter.record, sha256=letter.sha256,
            batch=letter.batch, status=letter.status, status_reason=letter.status_reason,
            status_by=letter.status_by, status_at=letter.status_at, reviewed_at=letter.reviewed_at,
            reviewed_by=letter.reviewed_by, imported_at=letter.imported_at, imported_by=letter.imported_by,
            layout=letter.layout, parser_version=letter.parser_version, history=letter.history,
            annotations=letter.annotations,
        )

    def close(self) -> None:
        if self._pending:
            self._flush()
        conn = self.db.conn
        self.db.db.table("items").enable_fts(ITEM_FTS, fts_version="FTS5", tokenize="porter", create_triggers=True)
        conn.execute("PRAGMA journal_mode = DELETE")
        self.db.close()

    def abort(self) -> None:
        self._pending = []
        self.db.close()  # an open transaction is rolled back; the staging folder goes anyway
