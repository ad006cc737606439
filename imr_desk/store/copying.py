"""Copying a whole review database to another one, on either engine (`imr-desk copy --from DB --to DB`).

Everything a review database holds is copied: the letters with their original files, the parser's
and the clerk's records, statuses, the whole history (confirmations are history rows), the
annotations (removed ones too), the OCR layers, the import batches, the team's settings and the
exports' bookkeeping (`exports`, `letter_exports`). Leases are not: they belong to the windows open
on the source.

Each letter is stored with all of its parts in one transaction of the target, so a copy killed at
any moment leaves every letter there whole or not at all; run again, it skips the letters already
there (same sha256) and finishes the job. The source is read in chunks of letters, so a copy of
50,000 letters holds a few hundred at most in memory.

A copy into a new database (or one that holds only letters copied from the source before) keeps
the ids, so it is the same set down to the letter and annotation ids that exports and history name.
Into a database that holds other letters, every letter copied gets a new id (the source's ids would
collide with the target's, one after another); an annotation whose id is taken gets a new one too,
and its letter's history follows it.

Only plain SQL with `?` placeholders is used here: both engines run it through the store's `conn`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from imr_desk.logs import describe_error
from imr_desk.store import records as rec
from imr_desk.store.database import LetterStore
from imr_desk.store.engine import POSTGRESQL
from imr_desk.store.errors import DiskFull, NotWritable, StoreError

log = logging.getLogger(__name__)

CHUNK = 200  # letters read from the source at a time

_HISTORY = "SELECT path, old, new, who, at, origin, reason, version FROM history WHERE letter_id = ? ORDER BY id"
_ANNOTATIONS = ('SELECT id, start, "end", label, note, who, at, removed_at, removed_by FROM annotations '
                "WHERE letter_id = ? ORDER BY id")
_OCR_COLUMNS = ("engine", "engine_version", "dpi", "pages", "words", "pdf", "seconds", "created_at")
_EXPORT_COLUMNS = ("at", "who", "format", "filter", "count", "destination", "manifest")


@dataclass(frozen=True)
class CopyEvent:
    """One letter done: its place in the run, its name, and what became of it."""

    done: int
    total: int
    name: str
    outcome: str  # 'copied' | 'already there' | 'failed'
    message: str | None = None


@dataclass
class CopyReport:
    copied: list[int] = field(default_factory=list)  # the source's letter ids
    already: list[int] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (letter, reason)
    renumbered: int = 0  # letters copied under a new id (the target held other letters)
    batches: int = 0
    exports: int = 0
    settings: int = 0

    def summary(self) -> str:
        text = (f"{len(self.copied)} letter(s) copied, {len(self.already)} already there, "
                f"{len(self.failed)} failed")
        if self.renumbered:
            text += f" ({self.renumbered} under a new id: the target holds other letters)"
        extra = [f"{n} {what}" for n, what in ((self.batches, "batch(es)"), (self.exports, "export record(s)"),
                                               (self.settings, "team setting(s)")) if n]
        if extra:
            text += "; also " + ", ".join(extra)
        return text + "."


def copy_database(source: LetterStore, target: LetterStore,
                  progress: Callable[[CopyEvent], Any] | None = None, chunk: int = CHUNK) -> CopyReport:
    """Copy every letter and everything kept about it from `source` into `target` (see the module's text).

    A letter that cannot be copied is reported with the reason and the others are copied all the
    same; a full disk or a read-only target stops the run (`DiskFull`, `NotWritable`).
    """
    report = CopyReport()
    report.batches = _copy_batches(source, target)
    report.settings = _copy_settings(source, target)
    exports = _copy_exports(source, target, report)
    total = int(source.conn.execute("SELECT count(*) FROM letters").fetchone()[0])
    keep_ids = _ids_match(source, target, chunk)
    done = 0
    for letter_id, sha256, name in _letters(source, chunk):
        done += 1
        outcome, message = "copied", None
        try:
            if target.letter_id_by_sha256(sha256) is not None:
                outcome = "already there"
                report.already.append(letter_id)
            else:
                new_id = _copy_letter(source, target, letter_id, exports, keep_ids)
                report.copied.append(letter_id)
                if new_id != letter_id:
                    report.renumbered += 1
                    message = f"letter {letter_id} copied as letter {new_id}"
        except (DiskFull, NotWritable):
            raise  # nothing else can be stored either: the copy stops and says why
        except StoreError as exc:
            outcome, message = "failed", exc.clerk_message
        except Exception as exc:  # noqa: BLE001 - one letter we did not foresee must not stop the others
            log.exception("could not copy letter %s", letter_id)
            outcome, message = "failed", f"could not be copied ({describe_error(exc)})"
        if outcome == "failed":
            report.failed.append((f"letter {letter_id} ({name})", message or "could not be copied"))
        if progress is not None:
            progress(CopyEvent(done, total, name, outcome, message))
    return report


def _letters(source: LetterStore, chunk: int) -> Iterator[tuple[int, str, str]]:
    """The source's letters (id, sha256, name) in id order, read `chunk` at a time."""
    after = 0
    while True:
        rows = source.conn.execute("SELECT id, sha256, name FROM letters WHERE id > ? ORDER BY id LIMIT ?",
                                   (after, chunk)).fetchall()
        if not rows:
            return
        for r in rows:
            yield int(r[0]), str(r[1]), str(r[2])
        after = int(rows[-1][0])


def _ids_match(source: LetterStore, target: LetterStore, chunk: int) -> bool:
    """Whether every letter at the target is the source's letter of the same id (a new database, or a copy
    interrupted before): then the letters keep their ids."""
    after = 0
    while True:
        rows = target.conn.execute("SELECT id, sha256 FROM letters WHERE id > ? ORDER BY id LIMIT ?",
                                   (after, chunk)).fetchall()
        if not rows:
            return True
        marks = ", ".join("?" * len(rows))
        theirs = {(int(r[0]), str(r[1])) for r in source.conn.execute(
            f"SELECT id, sha256 FROM letters WHERE id IN ({marks})", [int(r[0]) for r in rows]).fetchall()}
        if any((int(r[0]), str(r[1])) not in theirs for r in rows):
            return False
        after = int(rows[-1][0])


def _copy_batches(source: LetterStore, target: LetterStore) -> int:
    """The import batches (with who made them and when), also those without letters; returns how many were new."""
    have = set(target.batches())
    rows = [r for r in source.conn.execute("SELECT name, created_at, created_by FROM batches ORDER BY id").fetchall()
            if r[0] not in have]
    if rows:
        with target.transaction("copy the import batches"):
            target.conn.executemany("INSERT INTO batches(name, created_at, created_by) VALUES (?, ?, ?)",
                                    [tuple(r) for r in rows])
    return len(rows)


def _copy_settings(source: LetterStore, target: LetterStore) -> int:
    """The team's settings; one the target already has stays as the target's team set it."""
    rows = source.conn.execute("SELECT key, value, who, at FROM team_settings ORDER BY key").fetchall()
    added = 0
    with target.transaction("copy the team's settings"):
        for row in rows:
            if target.conn.execute("SELECT 1 FROM team_settings WHERE key = ?", (row[0],)).fetchone() is None:
                target.conn.execute("INSERT INTO team_settings(key, value, who, at) VALUES (?, ?, ?, ?)", tuple(row))
                added += 1
    return added


def _copy_exports(source: LetterStore, target: LetterStore, report: CopyReport) -> dict[int, int]:
    """The exports' records (not the letters they carried: those go with each letter). Returns source id ->
    target id. An export already copied (a resumed copy) is found by its time, format, destination and count."""
    cols = ", ".join(_EXPORT_COLUMNS)
    marks = ", ".join("?" * len(_EXPORT_COLUMNS))
    found = ("SELECT id FROM exports WHERE at = ? AND format = ? AND count = ? AND "
             "coalesce(destination, '') = coalesce(?, '') AND coalesce(who, '') = coalesce(?, '')")
    mapping: dict[int, int] = {}
    with target.transaction("copy the exports' records"):
        for row in source.conn.execute(f"SELECT id, {cols} FROM exports ORDER BY id").fetchall():
            old_id, values = int(row[0]), tuple(row[1:])
            at, who, fmt, _filter, count, destination, _manifest = values
            same = target.conn.execute(found, (at, fmt, count, destination, who)).fetchone()
            if same is not None:
                mapping[old_id] = int(same[0])
                continue
            free = target.conn.execute("SELECT 1 FROM exports WHERE id = ?", (old_id,)).fetchone() is None
            if free:
                target.conn.execute(f"INSERT INTO exports(id, {cols}) VALUES (?, {marks})", (old_id, *values))
                mapping[old_id] = old_id
            else:
                new = target.conn.execute(f"INSERT INTO exports({cols}) VALUES ({marks}) RETURNING id",
                                          values).fetchone()
                mapping[old_id] = int(new[0])
            report.exports += 1
        _sync_ids(target, "exports")
    return mapping


def _copy_letter(source: LetterStore, target: LetterStore, letter_id: int, exports: dict[int, int],
                 keep_id: bool) -> int:
    """One letter with all its parts, in one transaction of the target. Returns its id there."""
    letter = source.letter(letter_id)
    data = source.letter_file(letter_id)
    history = [{"path": r[0], "old": rec.loads(r[1]), "new": rec.loads(r[2]), "who": r[3], "at": r[4],
                "origin": r[5], "reason": r[6], "version": r[7]}
               for r in source.conn.execute(_HISTORY, (letter_id,)).fetchall()]
    notes = [tuple(r) for r in source.conn.execute(_ANNOTATIONS, (letter_id,)).fetchall()]
    pages = source.conn.execute("SELECT pages FROM letters WHERE id = ?", (letter_id,)).fetchone()[0]
    layer = source.conn.execute(f"SELECT {', '.join(_OCR_COLUMNS)} FROM ocr_layers WHERE letter_id = ?",
                                (letter_id,)).fetchone()
    carried = [int(r[0]) for r in source.conn.execute(
        "SELECT export_id FROM letter_exports WHERE letter_id = ? ORDER BY export_id", (letter_id,)).fetchall()]
    with target.transaction("copy the letter"):
        new_id = target.insert_letter(
            data=data, name=letter.name, media_type=letter.media_type, text=letter.text,
            page_starts=letter.page_starts, parsed=letter.parsed, record=letter.record, sha256=letter.sha256,
            batch=letter.batch, status=letter.status, status_reason=letter.status_reason,
            status_by=letter.status_by, status_at=letter.status_at, reviewed_at=letter.reviewed_at,
            reviewed_by=letter.reviewed_by, imported_at=letter.imported_at, imported_by=letter.imported_by,
            layout=letter.layout, error=letter.error, parser_version=letter.parser_version,
            history=history, letter_id=letter_id if keep_id else None,
        )
        if new_id is None:  # stored meanwhile by someone else (same sha256): it is there
            existing = target.letter_id_by_sha256(letter.sha256)
            return existing if existing is not None else letter_id
        # what the record does not say: the version it reached, and the pages the reader counted
        target.conn.execute("UPDATE letters SET version = ?, pages = ? WHERE id = ?", (letter.version, pages, new_id))
        renamed = _copy_annotations(target, new_id, notes)
        for hid, path in target.conn.execute(
                "SELECT id, path FROM history WHERE letter_id = ? AND path LIKE 'annotations.%'", (new_id,)).fetchall():
            old = path.split(".", 1)[1]
            if old.isdigit() and int(old) in renamed:
                target.conn.execute("UPDATE history SET path = ? WHERE id = ?", (f"annotations.{renamed[int(old)]}", hid))
        if layer is not None:
            target.conn.execute(
                f"INSERT INTO ocr_layers(letter_id, {', '.join(_OCR_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (new_id, *layer[:5], bytes(layer[5]), *layer[6:]))
        target.conn.executemany("INSERT INTO letter_exports(letter_id, export_id) VALUES (?, ?)",
                                [(new_id, exports[e]) for e in carried if e in exports])
        _sync_ids(target, "letters")
    return new_id


def _copy_annotations(target: LetterStore, letter_id: int, notes: list[tuple[Any, ...]]) -> dict[int, int]:
    """The letter's annotations (removed ones too), under their ids where free; returns old id -> new id
    for those that got another."""
    renamed: dict[int, int] = {}
    cols = 'letter_id, start, "end", label, note, who, at, removed_at, removed_by'
    for old_id, *rest in notes:
        if target.conn.execute("SELECT 1 FROM annotations WHERE id = ?", (old_id,)).fetchone() is None:
            target.conn.execute(f"INSERT INTO annotations(id, {cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                (old_id, letter_id, *rest))
        else:
            new = target.conn.execute(f"INSERT INTO annotations({cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                                      "RETURNING id", (letter_id, *rest)).fetchone()
            renamed[int(old_id)] = int(new[0])
    if notes:
        _sync_ids(target, "annotations")
    return renamed


def _sync_ids(target: LetterStore, table: str) -> None:
    """After rows stored under given ids: the engine's next id follows them. SQLite's rowids do by
    themselves; a PostgreSQL identity column's sequence is moved past the largest id (`setval`)."""
    if target.engine == POSTGRESQL:
        target.conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {table}))")
