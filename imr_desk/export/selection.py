"""Which letters an export carries (the export set), and reading them from the review database.

The set is chosen by status (reviewed by default), batch, review dates, reviewer, decision, an
explicit list of ids, and "only new" (letters no export has carried since they were last marked
reviewed: a letter corrected and reviewed again after an export goes out again with the next one). Letters are read straight
from the database's tables in chunks, in id order, so memory stays flat however large the set is.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from imr_desk.core.confirmations import HISTORY_PATH, Confirmation, holding, merge
from imr_desk.core.record import STATUSES, Decision
from imr_desk.export.safety import ExportError
from imr_desk.store.engine import SQLITE, Connection
from imr_desk.store.filters import LetterFilter

DECISIONS = tuple(d.value for d in Decision)
CHUNK = 500


@dataclass
class ExportSet:
    """The filter that chooses an export set. Fields left unset (None, False, `status=[]`) do not filter; an
    empty or blank name ("", "  ": a script's empty variable) is refused, never read as "every letter"."""

    status: list[str] = field(default_factory=lambda: ["reviewed"])
    batch: str | None = None
    since: str | None = None  # ISO date: reviewed (or, for other statuses, status changed) on or after
    until: str | None = None  # ISO date: ... on or before
    reviewer: str | None = None  # who marked it reviewed
    decision: str | None = None  # letters with at least one item so decided
    ids: list[int] | None = None
    only_new: bool = False  # only letters no export carried since they were (last) marked reviewed

    def __post_init__(self) -> None:
        if isinstance(self.status, str):
            self.status = [self.status]
        if any(not s or not s.strip() for s in self.status):
            raise ExportError("A status to export is empty: name one (to review, in review, reviewed, postponed), "
                              "or leave the status out for reviewed letters. Nothing was exported.")
        self.status = [s.strip().lower() for s in self.status]
        for name, what in (("batch", "an import batch's name"), ("reviewer", "a reviewer's name"),
                           ("since", "a date"), ("until", "a date"), ("decision", "a decision")):
            value = getattr(self, name)
            if isinstance(value, str) and not value.strip():
                raise ExportError(f"The {name} filter is empty: it needs {what}, or leave it out to export "
                                  "without it. Nothing was exported.")
        for s in self.status:
            if s not in STATUSES:
                raise ExportError(f"Unknown status {s!r}; use one of: {', '.join(STATUSES)}.")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, _iso_date(value, name))
        if self.decision is not None:
            self.decision = self.decision.strip().lower()
            if self.decision not in DECISIONS:
                raise ExportError(f"Unknown decision {self.decision!r}; use 'upheld' or 'overturned'.")
        if self.ids is not None:
            self.ids = sorted({int(i) for i in self.ids})

    def letter_filter(self) -> LetterFilter:
        """The set as the store's letter filter (the queue's filter type)."""
        return LetterFilter(status=self.status, batch=self.batch, since=self.since, until=self.until,
                            reviewed_by=self.reviewer, decision=self.decision, ids=self.ids, only_new=self.only_new)

    def to_dict(self) -> dict[str, Any]:
        """The filter as the manifest and the exports table record it (unset fields left out)."""
        return {k: v for k, v in asdict(self).items() if v not in (None, False, [])}

    def describe(self) -> str:
        parts = [" or ".join(self.status) if self.status else "any status"]
        if self.batch:
            parts.append(f"batch {self.batch}")
        if self.since:
            parts.append(f"since {self.since}")
        if self.until:
            parts.append(f"until {self.until}")
        if self.reviewer:
            parts.append(f"reviewed by {self.reviewer}")
        if self.decision:
            parts.append(f"with an item {self.decision}")
        if self.ids is not None:
            parts.append(f"{len(self.ids)} chosen letters")
        if self.only_new:
            parts.append("not exported since their last review")
        return ", ".join(parts)


def _iso_date(value: Any, name: str) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise ExportError(f"{name}: {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-03-31.") from None


def select_ids(conn: Connection, s: ExportSet) -> list[int]:
    """The ids of the letters in the set, in id order (the store's one letter filter chooses them)."""
    where, params = s.letter_filter().where(conn)
    return [r[0] for r in conn.execute(f"SELECT l.id FROM letters l{where} ORDER BY l.id", params)]


@dataclass
class LetterData:
    """One letter as an export needs it: the row, the clerk's and the parser's records, the review."""

    id: int
    name: str
    sha256: str
    media_type: str
    size: int
    batch: str | None
    status: str
    status_reason: str | None
    status_by: str | None
    status_at: str | None
    reviewed_at: str | None
    reviewed_by: str | None
    imported_at: str | None
    imported_by: str | None
    layout: str | None
    pages: int | None
    parser_version: str
    version: int
    record: dict[str, Any]
    parsed: dict[str, Any]
    text: str = ""
    page_starts: list[int] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)  # removed ones too (removed_at set)
    history: list[dict[str, Any]] = field(default_factory=list)
    history_json: str | None = None  # the history as a JSON array, when asked for it that way
    data: bytes | None = None  # the original file, when asked for
    record_json: str = ""  # the clerk's record as stored (compact JSON)
    confirmations: dict[str, Confirmation] = field(default_factory=dict)  # fields clerks confirmed

    @property
    def confirmed(self) -> dict[str, Confirmation]:
        """The confirmed fields that still have the value confirmed (core/confirmations.py)."""
        return holding(self.confirmations, self.record) if self.confirmations else {}

    @property
    def active_annotations(self) -> list[dict[str, Any]]:
        return [a for a in self.annotations if not a.get("removed_at")]


_LETTER_COLUMNS = ("id", "name", "sha256", "media_type", "size", "status", "status_reason", "status_by",
                   "status_at", "reviewed_at", "reviewed_by", "imported_at", "imported_by", "layout", "pages",
                   "parser_version", "version")
_CONTENT_COLUMNS = ("record", "parsed")  # then text, page_starts when asked


def iter_letters(conn: Connection, ids: list[int], *, text: bool = False, history: bool | str = False,
                 files: bool = False, slim: bool = False, chunk: int = CHUNK) -> Iterator[LetterData]:
    """The letters with these ids, in the given order, read `chunk` at a time.

    Annotations always come along; the text, the history and the original file only when asked.
    `history="json"` gives the history as one JSON array (`history_json`), built by SQLite without
    decoding every old and new value in Python. `slim` leaves the provenance (`fields`) out of the
    decoded records, and the warnings and source out of the parser's (SQLite drops them, faster than
    Python decodes them); `record_json` is always the whole stored record.

    On PostgreSQL the stored JSON texts are read as they are (the server's JSON functions would
    re-spell them) and the slimming and the history's JSON array are done here, to the same result.
    """
    sqlite = conn.engine == SQLITE
    ids_in = conn.ids_in()
    join, c = " JOIN contents c ON c.letter_id = l.id", "c"  # the letters' bulky columns
    # the store keeps the clerk's record as NULL while it is still the parser's
    record_of = f"coalesce({c}.record, {c}.parsed)"
    cols = ", ".join([*(f"l.{name}" for name in _LETTER_COLUMNS),
                      *(record_of if name == "record" else f"{c}.{name}" for name in _CONTENT_COLUMNS)])
    extra = f", {c}.text, {c}.page_starts" if text else ""
    if slim and sqlite:
        extra += (f", json_remove({record_of}, '$.fields'), "
                  f"json_remove({c}.parsed, '$.fields', '$.warnings', '$.source')")
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        key = json.dumps(part)
        try:
            rows = {r[0]: r for r in conn.execute(
                f"SELECT {cols}, b.name{extra} FROM letters l{join} LEFT JOIN batches b ON b.id = l.batch_id "
                f"WHERE l.id {ids_in}", (key,))}
        except sqlite3.OperationalError as exc:
            if "json" not in str(exc).lower():
                raise
            bad = conn.execute(f"SELECT l.id, l.name FROM letters l{join} WHERE l.id IN (SELECT value FROM "
                               f"json_each(?)) AND NOT (json_valid({record_of}) AND json_valid({c}.parsed)) "
                               "ORDER BY l.id LIMIT 1", (key,)).fetchone()
            if bad is None:
                raise
            raise _damaged(bad[0], bad[1], exc) from exc
        notes: dict[int, list[dict[str, Any]]] = {}
        for a in conn.execute(
                'SELECT a.id, a.letter_id, a.start, a."end", a.label, a.note, a.who, a.at, a.removed_at, '
                f'a.removed_by, substr({c}.text, a.start + 1, a."end" - a.start) '
                f"FROM annotations a JOIN letters l ON l.id = a.letter_id{join} "
                f"WHERE a.letter_id {ids_in} ORDER BY a.letter_id, a.start, a.id",
                (key,)):
            notes.setdefault(a[1], []).append({
                "id": a[0], "start": a[2], "end": a[3], "label": a[4], "note": a[5], "who": a[6], "at": a[7],
                "removed_at": a[8], "removed_by": a[9], "quote": a[10]})
        hist: dict[int, list[dict[str, Any]]] = {}
        hist_json: dict[int, list[str]] = {}
        if history == "json" and not sqlite:
            for h in conn.execute(
                    "SELECT letter_id, path, old, new, who, at, origin, reason, version FROM history "
                    f"WHERE letter_id {ids_in} ORDER BY letter_id, id", (key,)):
                hist_json.setdefault(h[0], []).append(_history_object(*h[1:]))
        elif history == "json":
            for letter_id, obj in conn.execute(
                    "SELECT letter_id, json_object('path', path, 'old', json(old), 'new', json(new), 'who', who, "
                    "'at', at, 'origin', origin, 'reason', reason, 'version', version) FROM history "
                    f"WHERE letter_id {ids_in} ORDER BY letter_id, id", (key,)):
                hist_json.setdefault(letter_id, []).append(obj)
        elif history:
            for h in conn.execute(
                    "SELECT letter_id, path, old, new, who, at, origin, reason, version FROM history "
                    f"WHERE letter_id {ids_in} ORDER BY letter_id, id", (key,)):
                hist.setdefault(h[0], []).append({
                    "path": h[1], "old": _loads(h[2]), "new": _loads(h[3]), "who": h[4], "at": h[5],
                    "origin": h[6], "reason": h[7], "version": h[8]})
        confirmed_rows: dict[int, list[tuple[str, str | None, str]]] = {}
        for letter_id, new, who, at in conn.execute(
                f"SELECT letter_id, new, who, at FROM history WHERE letter_id {ids_in} "
                "AND path = ? ORDER BY letter_id, id", (key, HISTORY_PATH)):
            confirmed_rows.setdefault(letter_id, []).append((new, who, at))
        blobs: dict[int, bytes] = {}
        if files:
            blobs = {r[0]: r[1] for r in conn.execute(
                f"SELECT letter_id, data FROM files WHERE letter_id {ids_in}", (key,))}
        for letter_id in part:
            r = rows.get(letter_id)
            if r is None:  # removed since the set was chosen
                continue
            n = len(_LETTER_COLUMNS) + len(_CONTENT_COLUMNS)
            try:
                if slim and sqlite:
                    record, parsed = json.loads(r[-2]), json.loads(r[-1])
                elif slim:
                    record, parsed = json.loads(r[n - 2]), json.loads(r[n - 1])
                    record.pop("fields", None)
                    for key_ in ("fields", "warnings", "source"):
                        parsed.pop(key_, None)
                else:
                    record, parsed = json.loads(r[n - 2]), json.loads(r[n - 1])
            except (TypeError, ValueError) as exc:
                raise _damaged(letter_id, r[1], exc) from exc
            letter = LetterData(
                id=r[0], name=r[1], sha256=r[2], media_type=r[3], size=r[4], status=r[5], status_reason=r[6],
                status_by=r[7], status_at=r[8], reviewed_at=r[9], reviewed_by=r[10], imported_at=r[11],
                imported_by=r[12], layout=r[13], pages=r[14], parser_version=r[15], version=r[16],
                record=record, parsed=parsed, batch=r[n],
                annotations=notes.get(letter_id, []), history=hist.get(letter_id, []),
                data=bytes(blobs[letter_id]) if letter_id in blobs else None, record_json=r[n - 2],
                confirmations=merge(confirmed_rows[letter_id]) if letter_id in confirmed_rows else {})
            if history == "json":
                letter.history_json = "[" + ",".join(hist_json.get(letter_id, ())) + "]"
            if text:
                letter.text = r[n + 1] or ""
                letter.page_starts = json.loads(r[n + 2] or "[]")
            yield letter


def _damaged(letter_id: int, name: str, exc: Exception) -> ExportError:
    return ExportError(f"Letter {letter_id} ({name}) has a damaged record in the database ({exc}); nothing was "
                       "exported. Re-import or re-parse that letter, or leave it out of the set.")


def _history_object(path: str, old: str | None, new: str | None, who: str | None, at: str, origin: str,
                    reason: str | None, version: int | None) -> str:
    """One history row as SQLite's json_object() spells it (compact; old and new as the stored JSON)."""

    def text(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    return (f'{{"path":{text(path)},"old":{old if old is not None else "null"},'
            f'"new":{new if new is not None else "null"},"who":{text(who)},"at":{text(at)},'
            f'"origin":{text(origin)},"reason":{text(reason)},"version":{text(version)}}}')


def _loads(value: str | None) -> Any:
    return None if value is None else json.loads(value)
