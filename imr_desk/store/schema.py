"""The review database's schema and its migrations (`PRAGMA user_version`).

Each migration is a list of SQL statements run in one transaction with the version bump, so a
database is always at exactly one version. A database from an older IMR Desk is upgraded in place
when opened; one from a newer IMR Desk is refused (see `Database.open`).
"""

from __future__ import annotations

import sqlite3

APPLICATION_ID = 0x494D5244  # "IMRD": tells an IMR Desk database from any other SQLite file

_V1 = [
    """CREATE TABLE batches (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        created_by TEXT
    )""",
    # letters holds what the queue shows and filters on (small rows: 50,000 scroll and sort fast);
    # the bulky parts (text, records) are in `contents`, the original bytes in `files`
    """CREATE TABLE letters (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        batch_id INTEGER REFERENCES batches(id),
        status TEXT NOT NULL DEFAULT 'to review'
            CHECK (status IN ('to review', 'in review', 'reviewed', 'postponed')),
        status_reason TEXT,
        status_by TEXT,
        status_at TEXT,
        reviewed_at TEXT,
        reviewed_by TEXT,
        imported_at TEXT NOT NULL,
        imported_by TEXT,
        layout TEXT,
        pages INTEGER,
        parser_version TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        case_number TEXT,
        decision_date TEXT,
        date_of_injury TEXT,
        outcome TEXT,
        item_count INTEGER NOT NULL DEFAULT 0,
        warning_count INTEGER NOT NULL DEFAULT 0,
        error_count INTEGER NOT NULL DEFAULT 0,
        warning_codes TEXT NOT NULL DEFAULT '',
        specialties TEXT NOT NULL DEFAULT '',
        error TEXT
    )""",
    """CREATE TABLE contents (
        letter_id INTEGER PRIMARY KEY REFERENCES letters(id) ON DELETE CASCADE,
        case_number TEXT,
        requests TEXT NOT NULL DEFAULT '',
        rationales TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        page_starts TEXT NOT NULL DEFAULT '[]',
        parsed TEXT NOT NULL,
        record TEXT  -- the clerk's record; NULL while it is still the parser's (most letters: saves space)
    )""",
    "CREATE INDEX letters_status ON letters(status, id)",
    "CREATE INDEX letters_batch ON letters(batch_id, id)",
    # one index per sortable queue column, ending in id: pages of the queue come straight off them
    "CREATE INDEX letters_case ON letters(case_number, id)",
    "CREATE INDEX letters_decided ON letters(decision_date, id)",
    "CREATE INDEX letters_reviewed ON letters(reviewed_at, id)",
    "CREATE INDEX letters_name ON letters(name, id)",
    "CREATE INDEX letters_items ON letters(item_count, id)",
    "CREATE INDEX letters_outcome ON letters(outcome, id)",
    "CREATE INDEX letters_warnings ON letters(warning_count, id)",
    """CREATE TABLE files (
        letter_id INTEGER PRIMARY KEY REFERENCES letters(id) ON DELETE CASCADE,
        data BLOB NOT NULL
    )""",
    """CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        letter_id INTEGER NOT NULL REFERENCES letters(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        request TEXT,
        original_request TEXT,
        authorized TEXT,
        decision TEXT,
        decision_stated INTEGER,
        claims_administrator_guideline TEXT,
        maximus_guideline TEXT,
        rationale TEXT,
        UNIQUE (letter_id, position)
    )""",
    "CREATE INDEX items_decision ON items(decision, letter_id)",
    """CREATE TABLE history (
        id INTEGER PRIMARY KEY,
        letter_id INTEGER NOT NULL REFERENCES letters(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        old TEXT,
        new TEXT,
        who TEXT,
        at TEXT NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('parser', 'clerk', 'reparse', 'import')),
        reason TEXT,
        version INTEGER
    )""",
    "CREATE INDEX history_letter ON history(letter_id, id)",
    """CREATE TABLE annotations (
        id INTEGER PRIMARY KEY,
        letter_id INTEGER NOT NULL REFERENCES letters(id) ON DELETE CASCADE,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        label TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        who TEXT,
        at TEXT NOT NULL,
        removed_at TEXT,
        removed_by TEXT,
        CHECK (start >= 0 AND "end" > start)
    )""",
    "CREATE INDEX annotations_letter ON annotations(letter_id)",
    """CREATE TABLE leases (
        letter_id INTEGER PRIMARY KEY REFERENCES letters(id) ON DELETE CASCADE,
        holder TEXT NOT NULL,
        who TEXT,
        acquired_at TEXT NOT NULL,
        expires_at REAL NOT NULL
    )""",
    # full-text search over the letters' contents (external content: the text is stored once).
    # content="contents" in double quotes, as sqlite-utils and Datasette expect to find it.
    """CREATE VIRTUAL TABLE contents_fts USING fts5(
        case_number, requests, rationales, text, content="contents", content_rowid="letter_id",
        tokenize='porter unicode61'
    )""",
    """CREATE TRIGGER contents_ai AFTER INSERT ON contents BEGIN
        INSERT INTO contents_fts(rowid, case_number, requests, rationales, text)
        VALUES (new.letter_id, new.case_number, new.requests, new.rationales, new.text);
    END""",
    """CREATE TRIGGER contents_ad AFTER DELETE ON contents BEGIN
        INSERT INTO contents_fts(contents_fts, rowid, case_number, requests, rationales, text)
        VALUES ('delete', old.letter_id, old.case_number, old.requests, old.rationales, old.text);
    END""",
    """CREATE TRIGGER contents_au AFTER UPDATE OF case_number, requests, rationales, text ON contents BEGIN
        INSERT INTO contents_fts(contents_fts, rowid, case_number, requests, rationales, text)
        VALUES ('delete', old.letter_id, old.case_number, old.requests, old.rationales, old.text);
        INSERT INTO contents_fts(rowid, case_number, requests, rationales, text)
        VALUES (new.letter_id, new.case_number, new.requests, new.rationales, new.text);
    END""",
]

_V2 = [
    # exports of reviewed sets, and which letters each one carried ("only new" exports)
    """CREATE TABLE exports (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        who TEXT,
        format TEXT NOT NULL,
        filter TEXT NOT NULL DEFAULT '{}',
        count INTEGER NOT NULL,
        destination TEXT,
        manifest TEXT
    )""",
    """CREATE TABLE letter_exports (
        letter_id INTEGER NOT NULL REFERENCES letters(id) ON DELETE CASCADE,
        export_id INTEGER NOT NULL REFERENCES exports(id) ON DELETE CASCADE,
        PRIMARY KEY (letter_id, export_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX letter_exports_export ON letter_exports(export_id)",
]

_V3 = [
    # the OCR text layer of a scanned letter (a PDF page without text, an image file), kept beside the
    # original bytes (`files`), which stay the letter's identity: `pdf` is the letter's pages with an
    # invisible text layer on each page that was read by OCR (the pages shown and read), `words` the
    # engine's words as JSON (page, box in PDF points, confidence), `pages` the 0-based pages OCR read
    """CREATE TABLE ocr_layers (
        letter_id INTEGER PRIMARY KEY REFERENCES letters(id) ON DELETE CASCADE,
        engine TEXT NOT NULL,
        engine_version TEXT NOT NULL,
        dpi INTEGER NOT NULL,
        pages TEXT NOT NULL DEFAULT '[]',
        words TEXT NOT NULL DEFAULT '[]',
        pdf BLOB NOT NULL,
        seconds REAL,
        created_at TEXT NOT NULL
    )""",
]

_V4 = [
    # settings the whole team shares, kept with its letters (e.g. whether every field must be confirmed
    # one by one before a letter can be marked reviewed)
    """CREATE TABLE team_settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        who TEXT,
        at TEXT NOT NULL
    )""",
]

MIGRATIONS: list[list[str]] = [_V1, _V2, _V3, _V4]
SCHEMA_VERSION = len(MIGRATIONS)


def version_of(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def application_id_of(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA application_id").fetchone()[0])


def migrate(conn: sqlite3.Connection, upto: int = SCHEMA_VERSION) -> list[int]:
    """Bring the database up to `upto`, one migration per transaction. Returns the versions applied.

    The connection must be in autocommit mode (isolation_level=None): each step is its own
    BEGIN IMMEDIATE ... COMMIT, so a crash leaves the database at the last finished version.
    """
    applied = []
    while (current := version_of(conn)) < upto:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if version_of(conn) != current:  # another process migrated meanwhile
                conn.execute("ROLLBACK")
                continue
            if current == 0:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            for statement in MIGRATIONS[current]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {current + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(current + 1)
    return applied
