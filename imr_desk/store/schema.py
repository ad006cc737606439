"""The review database's schema and its migrations, per engine.

Each migration is a list of SQL statements run in one transaction with the version bump, so a
database is always at exactly one version. A database from an older IMR Desk is upgraded in place
when opened; one from a newer IMR Desk is refused (see `Database.open`).

SQLite keeps the version in `PRAGMA user_version` and IMR Desk's mark in `PRAGMA application_id`.
PostgreSQL keeps both in the table `meta`, and runs each migration holding the advisory lock
`MIGRATION_LOCK` (`pg_advisory_xact_lock`), so two clerks starting a new IMR Desk at once do not
both migrate: the second waits, then finds the work done. The PostgreSQL DDL (`PG_MIGRATIONS`) is
the same tables and columns as the SQLite DDL, in the server's types (BIGINT identity ids, BYTEA,
DOUBLE PRECISION), with full-text search as a `tsvector` column GENERATED from the searched columns
and a GIN index on it instead of an FTS5 table.
"""

from __future__ import annotations

import sqlite3

from imr_desk.store.engine import SQLITE, Connection, wrap

APPLICATION_ID = 0x494D5244  # "IMRD": tells an IMR Desk database from any other SQLite file
APPLICATION = "IMR Desk"  # the same mark in a PostgreSQL database's `meta` table
MIGRATION_LOCK = 0x494D52444D4947  # "IMRDMIG": the advisory lock a PostgreSQL migration holds

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

_V5 = [
    # the window's queued writes that committed, by the operation id the window gave each: a write run
    # again after its connection dropped at COMMIT (it may have landed) finds its id and returns what it
    # returned then (`result`, JSON) instead of writing twice; rows older than a week are dropped
    """CREATE TABLE operations (
        id TEXT PRIMARY KEY,
        letter_id INTEGER REFERENCES letters(id) ON DELETE CASCADE,
        result TEXT,
        at TEXT NOT NULL
    )""",
    "CREATE INDEX operations_at ON operations(at)",
]

MIGRATIONS: list[list[str]] = [_V1, _V2, _V3, _V4, _V5]
SCHEMA_VERSION = len(MIGRATIONS)

# -- PostgreSQL ---------------------------------------------------------------------------------------
_PG_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
# The searched text, as FTS5's unicode61 tokenizer splits it: every run of letters and digits is a word
# (so "CM17-0005123" is "cm17" then "0005123", and a phrase query finds it). Stemmed like FTS5's porter
# tokenizer, with no stop words (FTS5 has none: "of" and "the" are found too).
_PG_SEARCHED = ("regexp_replace(coalesce(case_number, '') || ' ' || requests || ' ' || rationales || ' ' || text, "
                "'[^[:alnum:]]+', ' ', 'g')")
_PG_V1 = [
    "CREATE TEXT SEARCH DICTIONARY imr_stem (TEMPLATE = snowball, Language = english)",
    "CREATE TEXT SEARCH CONFIGURATION imr_search (COPY = simple)",
    "ALTER TEXT SEARCH CONFIGURATION imr_search ALTER MAPPING FOR asciiword, word WITH imr_stem",
    # an ISO time text as a time, NULL when it is none (julianday() on SQLite): "only new" exports compare them
    """CREATE FUNCTION imr_time(t TEXT) RETURNS TIMESTAMPTZ LANGUAGE plpgsql STABLE AS $$
        BEGIN RETURN t::timestamptz; EXCEPTION WHEN others THEN RETURN NULL; END $$""",
    """CREATE TABLE batches (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        created_by TEXT
    )""",
    """CREATE TABLE letters (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        batch_id BIGINT REFERENCES batches(id),
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
    f"""CREATE TABLE contents (
        letter_id BIGINT PRIMARY KEY REFERENCES letters(id) ON DELETE CASCADE,
        case_number TEXT,
        requests TEXT NOT NULL DEFAULT '',
        rationales TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        page_starts TEXT NOT NULL DEFAULT '[]',
        parsed TEXT NOT NULL,
        record TEXT,
        search TSVECTOR GENERATED ALWAYS AS (to_tsvector('imr_search'::regconfig, {_PG_SEARCHED})) STORED
    )""",
    "CREATE INDEX contents_search ON contents USING gin(search)",
    # NULLS FIRST: the queue orders NULLs as SQLite does (smallest), straight off these indexes either way
    "CREATE INDEX letters_status ON letters(status NULLS FIRST, id)",
    "CREATE INDEX letters_batch ON letters(batch_id NULLS FIRST, id)",
    "CREATE INDEX letters_case ON letters(case_number NULLS FIRST, id)",
    "CREATE INDEX letters_decided ON letters(decision_date NULLS FIRST, id)",
    "CREATE INDEX letters_reviewed ON letters(reviewed_at NULLS FIRST, id)",
    "CREATE INDEX letters_name ON letters(name NULLS FIRST, id)",
    "CREATE INDEX letters_items ON letters(item_count NULLS FIRST, id)",
    "CREATE INDEX letters_outcome ON letters(outcome NULLS FIRST, id)",
    "CREATE INDEX letters_warnings ON letters(warning_count NULLS FIRST, id)",
    """CREATE TABLE files (
        letter_id BIGINT PRIMARY KEY REFERENCES letters(id) ON DELETE CASCADE,
        data BYTEA NOT NULL
    )""",
    """CREATE TABLE items (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        letter_id BIGINT NOT NULL REFERENCES letters(id) ON DELETE CASCADE,
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
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        letter_id BIGINT NOT NULL REFERENCES letters(id) ON DELETE CASCADE,
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
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        letter_id BIGINT NOT NULL REFERENCES letters(id) ON DELETE CASCADE,
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
        letter_id BIGINT PRIMARY KEY REFERENCES letters(id) ON DELETE CASCADE,
        holder TEXT NOT NULL,
        who TEXT,
        acquired_at TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL
    )""",
    # the live queue (store/changes.py): every change to a letter's row or its lease (opened, closed,
    # taken over) is announced on the channel imr_desk_letters with the letter's id; every window LISTENs
    """CREATE FUNCTION imr_notify_letter() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('imr_desk_letters', coalesce(to_jsonb(NEW), to_jsonb(OLD)) ->> TG_ARGV[0]);
            RETURN NULL;
        END $$""",
    "CREATE TRIGGER letters_notify AFTER INSERT OR UPDATE OR DELETE ON letters FOR EACH ROW "
    "EXECUTE FUNCTION imr_notify_letter('id')",
    "CREATE TRIGGER leases_notify AFTER INSERT OR DELETE OR UPDATE OF holder, who ON leases FOR EACH ROW "
    "EXECUTE FUNCTION imr_notify_letter('letter_id')",
]
_PG_V2 = [
    """CREATE TABLE exports (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        at TEXT NOT NULL,
        who TEXT,
        format TEXT NOT NULL,
        filter TEXT NOT NULL DEFAULT '{}',
        count INTEGER NOT NULL,
        destination TEXT,
        manifest TEXT
    )""",
    """CREATE TABLE letter_exports (
        letter_id BIGINT NOT NULL REFERENCES letters(id) ON DELETE CASCADE,
        export_id BIGINT NOT NULL REFERENCES exports(id) ON DELETE CASCADE,
        PRIMARY KEY (letter_id, export_id)
    )""",
    "CREATE INDEX letter_exports_export ON letter_exports(export_id)",
]
_PG_V3 = [
    """CREATE TABLE ocr_layers (
        letter_id BIGINT PRIMARY KEY REFERENCES letters(id) ON DELETE CASCADE,
        engine TEXT NOT NULL,
        engine_version TEXT NOT NULL,
        dpi INTEGER NOT NULL,
        pages TEXT NOT NULL DEFAULT '[]',
        words TEXT NOT NULL DEFAULT '[]',
        pdf BYTEA NOT NULL,
        seconds DOUBLE PRECISION,
        created_at TEXT NOT NULL
    )""",
]
_PG_V4 = [
    """CREATE TABLE team_settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        who TEXT,
        at TEXT NOT NULL
    )""",
]
_PG_V5 = [
    """CREATE TABLE operations (
        id TEXT PRIMARY KEY,
        letter_id BIGINT REFERENCES letters(id) ON DELETE CASCADE,
        result TEXT,
        at TEXT NOT NULL
    )""",
    "CREATE INDEX operations_at ON operations(at)",
]
PG_MIGRATIONS: list[list[str]] = [_PG_V1, _PG_V2, _PG_V3, _PG_V4, _PG_V5]
assert len(PG_MIGRATIONS) == SCHEMA_VERSION, "every migration has its PostgreSQL form"


def version_of(conn: Connection | sqlite3.Connection) -> int:
    conn = wrap(conn)
    if conn.engine == SQLITE:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    if not has_meta(conn):
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def application_id_of(conn: Connection | sqlite3.Connection) -> int:
    """IMR Desk's mark (`APPLICATION_ID`) in the database, 0 when it has none (new, or another program's)."""
    conn = wrap(conn)
    if conn.engine == SQLITE:
        return int(conn.execute("PRAGMA application_id").fetchone()[0])
    if not has_meta(conn):
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'application'").fetchone()
    return APPLICATION_ID if row and row[0] == APPLICATION else -1


def has_meta(conn: Connection) -> bool:
    """Whether a PostgreSQL database has the table `meta` (in the schema the connection works in)."""
    return conn.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()[0] is True


def table_count(conn: Connection | sqlite3.Connection) -> int:
    """How many tables the database holds (an empty database is a new one)."""
    conn = wrap(conn)
    if conn.engine == SQLITE:
        return int(conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
    return int(conn.execute("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_schema = current_schema()").fetchone()[0])


def migrate(conn: Connection | sqlite3.Connection, upto: int = SCHEMA_VERSION) -> list[int]:
    """Bring the database up to `upto`, one migration per transaction. Returns the versions applied.

    The connection must be in autocommit mode (isolation_level=None): each step is its own
    transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: under `MIGRATION_LOCK`), so a crash leaves
    the database at the last finished version.
    """
    conn = wrap(conn)
    applied = []
    while (current := version_of(conn)) < upto:
        conn.begin()
        try:
            if conn.engine == SQLITE:
                if version_of(conn) != current:  # another process migrated meanwhile
                    conn.rollback()
                    continue
                if current == 0:
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                for statement in MIGRATIONS[current]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {current + 1}")
            else:
                conn.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
                conn.execute(_PG_META)
                if version_of(conn) != current:  # another clerk's IMR Desk migrated while this one waited
                    conn.rollback()
                    continue
                for statement in PG_MIGRATIONS[current]:
                    conn.execute(statement)
                conn.execute("INSERT INTO meta(key, value) VALUES ('application', ?), ('schema_version', ?) "
                             "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (APPLICATION, str(current + 1)))
            conn.commit()
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        applied.append(current + 1)
    return applied
