"""Which letters: one filter type for the queue, the export set and every other choice of letters.

`LetterFilter` holds every way letters are chosen (status, batch, words, decision, dates, reviewer,
ids, exported or not) and turns itself into one SQL `WHERE` over `letters l`, in the dialect of the
connection it is given (store/engine.py: the few fragments that differ between SQLite and PostgreSQL). The queue builds one
from its controls, the export set (imr_desk.export.selection.ExportSet) from its options; the store's
`queue`, `queue_count`, `progress` and `letter_ids` read it. Fields left unset (None, False) do not
filter; an empty or blank text ("", "  ") is refused (`EmptyFilter`), never read as "every letter": a
script whose variable came out empty must not ship the whole database.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeAlias

from imr_desk.store.engine import POSTGRESQL, Connection
from imr_desk.store.errors import StoreError
from imr_desk.store.fts import MAX_WORDS, fts_words


def only_new(conn: Connection) -> str:
    """"Not carried since it was last reviewed": no export recorded at or after the letter's reviewed_at.

    Both are ISO UTC strings; compared as times (`time_of`), they also order when one has whole seconds
    (exports recorded by earlier versions) and the other milliseconds; plain text order stands in if
    one of them is not a time."""
    return ("NOT EXISTS (SELECT 1 FROM letter_exports le JOIN exports x ON x.id = le.export_id "
            f"WHERE le.letter_id = l.id AND (l.reviewed_at IS NULL OR coalesce({conn.time_of('x.at')} >= "
            f"{conn.time_of('l.reviewed_at')}, x.at >= l.reviewed_at)))")


def matching(conn: Connection) -> str:
    """The ids of the letters whose searched text matches the full-text query parameter (`search_query`)."""
    if conn.engine == POSTGRESQL:
        return "SELECT letter_id FROM contents WHERE search @@ to_tsquery('imr_search', ?)"
    return "SELECT rowid FROM contents_fts WHERE contents_fts MATCH ?"


def search_query(conn: Connection, text: str) -> str:
    """What a clerk typed as the engine's full-text query: FTS5's (`match_query`), or a tsquery (`pg_match_query`)."""
    return pg_match_query(text) if conn.engine == POSTGRESQL else match_query(text)


class EmptyFilter(StoreError, ValueError):
    """A filter given as an empty (or blank) text: it would choose nothing or everything, so it is refused."""


# the filter's text fields, and what to call each in a message
_TEXT_FIELDS = {"batch": "batch", "search": "search", "decision": "decision", "outcome": "outcome",
                "specialty": "specialty", "decided_from": "decided-from date", "decided_to": "decided-to date",
                "reviewed_from": "reviewed-from date", "reviewed_to": "reviewed-to date", "since": "since date",
                "until": "until date", "reviewed_by": "reviewer", "warning_code": "warning code"}


# when a letter last moved: reviewed, else its status changed, else it was imported
_LAST_MOVED = "COALESCE(l.reviewed_at, l.status_at, l.imported_at)"


@dataclass
class LetterFilter:
    """A choice of letters. Every field left unset (None, False; `status` also []) chooses all; an empty text
    ("" or blanks, also as one of `status`'s) is refused with `EmptyFilter`; `ids=[]` chooses no letter."""

    status: Sequence[str] | str | None = None  # one status or several
    batch: str | None = None  # the import batch's name
    search: str | None = None  # words in the text, requests, rationales, or a piece of a case number
    decision: str | None = None  # letters with at least one item so decided
    outcome: str | None = None
    specialty: str | None = None  # part of a reviewer's specialty
    decided_from: str | None = None  # decision date (ISO) on or after
    decided_to: str | None = None  # ... on or before
    reviewed_from: str | None = None  # reviewed at (ISO time) on or after
    reviewed_to: str | None = None  # reviewed on or before this day
    since: str | None = None  # ISO date: reviewed (or, for other statuses, status changed) on or after
    until: str | None = None  # ISO date: ... on or before
    reviewed_by: str | None = None
    has_warnings: bool | None = None
    warning_code: str | None = None
    ids: Iterable[int] | None = None
    exported: bool | None = None  # carried by any export, or by none
    only_new: bool = False  # no export carried it since it was (last) marked reviewed

    def __post_init__(self) -> None:
        for name, what in _TEXT_FIELDS.items():
            value = getattr(self, name)
            if isinstance(value, str) and not value.strip():
                raise EmptyFilter(f"The {what} filter is empty: give a {what}, or leave the filter out to "
                                  "choose letters without it. Nothing was chosen.")
        statuses = [self.status] if isinstance(self.status, str) else list(self.status or [])
        if any(not isinstance(s, str) or not s.strip() for s in statuses):
            raise EmptyFilter("The status filter holds an empty status: name a status (to review, in review, "
                              "reviewed, postponed). Nothing was chosen.")

    @classmethod
    def of(cls, value: LetterFilter | Mapping[str, Any] | None) -> LetterFilter:
        """A filter from a filter, or from a dict of its fields (the queue's controls)."""
        if isinstance(value, LetterFilter):
            return value
        known = {f.name for f in fields(cls)}
        given = dict(value or {})
        unknown = sorted(set(given) - known)
        if unknown:
            raise ValueError(f"unknown letter filter {', '.join(unknown)}; use: {', '.join(sorted(known))}")
        return cls(**given)

    def where(self, conn: Connection) -> tuple[str, list[Any]]:
        """The SQL `WHERE` (with its parameters) over `letters l` for `conn`'s engine; "" when it chooses every letter."""
        clauses: list[str] = []
        params: list[Any] = []

        def add(clause: str, *values: Any) -> None:
            clauses.append(clause)
            params.extend(values)

        if self.status:
            statuses = [self.status] if isinstance(self.status, str) else list(self.status)
            add(f"l.status IN ({', '.join('?' * len(statuses))})", *statuses)
        if self.batch:
            add("l.batch_id = (SELECT id FROM batches WHERE name = ?)", self.batch)
        if self.search:
            query, fragment = search_query(conn, str(self.search)), case_fragment(str(self.search))
            if query and fragment:
                add(f"(l.id IN ({matching(conn)}) OR l.case_number LIKE ? ESCAPE '\\')", query, fragment)
            elif query:
                add(f"l.id IN ({matching(conn)})", query)
        if self.decision:
            add("EXISTS (SELECT 1 FROM items i WHERE i.letter_id = l.id AND i.decision = ?)", str(self.decision).lower())
        if self.outcome:
            add("l.outcome = ?", self.outcome)
        if self.specialty:
            add("l.specialties LIKE ?", f"%{self.specialty}%")
        if self.decided_from:
            add("l.decision_date >= ?", str(self.decided_from))
        if self.decided_to:
            add("l.decision_date <= ?", str(self.decided_to))
        if self.reviewed_from:
            add("l.reviewed_at >= ?", str(self.reviewed_from))
        if self.reviewed_to:  # a date: the whole day counts
            add("substr(l.reviewed_at, 1, 10) <= ?", str(self.reviewed_to)[:10])
        if self.since:
            add(f"{_LAST_MOVED} >= ?", str(self.since))
        if self.until:
            add(f"{_LAST_MOVED} < ?", (dt.date.fromisoformat(str(self.until)) + dt.timedelta(days=1)).isoformat())
        if self.reviewed_by:
            add("l.reviewed_by = ?", self.reviewed_by)
        if self.has_warnings is not None:
            clauses.append("l.warning_count > 0" if self.has_warnings else "l.warning_count = 0")
        if self.warning_code:
            add("(' ' || l.warning_codes || ' ') LIKE ?", f"% {self.warning_code} %")
        if self.ids is not None:
            add(f"l.id {conn.ids_in()}", json.dumps(sorted({int(i) for i in self.ids})))
        if self.exported is not None:
            clauses.append(("" if self.exported else "NOT ") +
                           "EXISTS (SELECT 1 FROM letter_exports e WHERE e.letter_id = l.id)")
        if self.only_new:
            clauses.append(only_new(conn))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


Choice: TypeAlias = LetterFilter | Mapping[str, Any] | None  # which letters: a filter, or a dict of its fields


def match_query(text: str) -> str:
    """The full-text query for what a clerk typed (the queue's search box, `imr-desk search`).

    Every word must appear, and each matches as the start of a word: "Norc" finds Norco, "CM17-0005"
    finds CM17-0005123, "acupunct" finds acupuncture. Quotes, NUL and FTS5's own syntax (AND, NEAR, *,
    :, parentheses) are plain text. A word with no letter or digit matches nothing, so it is dropped;
    "" means no words at all. A word typed twice is asked once (see `store/fts.py`).
    """
    return " ".join('"' + w.replace('"', '""') + '"*' for w in fts_words(text)[:MAX_WORDS])


_RUNS = re.compile(r"[^\W_]+")


def pg_match_query(text: str) -> str:
    """`match_query` for PostgreSQL: the same words, as a `tsquery` of the `imr_search` configuration.

    The letters' text is indexed as FTS5's unicode61 tokenizer splits it (every run of letters and
    digits a word, store/schema.py), so a typed word is the phrase of its runs (`<->`), the last one
    matching as the start of a word (`:*`), exactly as FTS5 reads `"CM17-0005"*`; every word must
    appear (`&`). Only letters and digits reach the query, so nothing typed is tsquery syntax.
    """
    words = []
    for word in fts_words(text)[:MAX_WORDS]:
        runs = _RUNS.findall(word.lower())
        if runs:
            words.append(" <-> ".join(runs[:-1] + [runs[-1] + ":*"]))
    return " & ".join(f"({w})" for w in words)


def case_fragment(text: str) -> str | None:
    """A LIKE pattern (escape character \\) for a piece of a case number (one word with a digit), else None."""
    word = text.replace("\x00", "").strip()
    if not word or any(ch.isspace() for ch in word) or not any(ch.isdigit() for ch in word):
        return None
    escaped = word.upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
