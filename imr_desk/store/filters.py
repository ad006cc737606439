"""Which letters: one filter type for the queue, the export set and every other choice of letters.

`LetterFilter` holds every way letters are chosen (status, batch, words, decision, dates, reviewer,
ids, exported or not) and turns itself into one SQL `WHERE` over `letters l`. The queue builds one
from its controls, the export set (imr_desk.export.selection.ExportSet) from its options; the store's
`queue`, `queue_count`, `progress` and `letter_ids` read it. Empty fields do not filter.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeAlias

from imr_desk.store.fts import MAX_WORDS, fts_words

# "carried since it was last reviewed": an export recorded at or after the letter's reviewed_at. Both are
# ISO UTC strings; julianday() also orders them when one has whole seconds (exports recorded by earlier
# versions) and the other milliseconds; plain text order stands in if one of them is not a time.
ONLY_NEW = (
    "NOT EXISTS (SELECT 1 FROM letter_exports le JOIN exports x ON x.id = le.export_id WHERE le.letter_id = l.id "
    "AND (l.reviewed_at IS NULL OR coalesce(julianday(x.at) >= julianday(l.reviewed_at), x.at >= l.reviewed_at)))"
)
# when a letter last moved: reviewed, else its status changed, else it was imported
_LAST_MOVED = "COALESCE(l.reviewed_at, l.status_at, l.imported_at)"


@dataclass
class LetterFilter:
    """A choice of letters. Every field left empty (None, "", [], False) chooses all."""

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

    def where(self) -> tuple[str, list[Any]]:
        """The SQL `WHERE` (with its parameters) over `letters l`; "" when it chooses every letter."""
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
            query, fragment = match_query(str(self.search)), case_fragment(str(self.search))
            if query and fragment:
                add("(l.id IN (SELECT rowid FROM contents_fts WHERE contents_fts MATCH ?)"
                    " OR l.case_number LIKE ? ESCAPE '\\')", query, fragment)
            elif query:
                add("l.id IN (SELECT rowid FROM contents_fts WHERE contents_fts MATCH ?)", query)
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
            add("l.id IN (SELECT value FROM json_each(?))", json.dumps(sorted({int(i) for i in self.ids})))
        if self.exported is not None:
            clauses.append(("" if self.exported else "NOT ") +
                           "EXISTS (SELECT 1 FROM letter_exports e WHERE e.letter_id = l.id)")
        if self.only_new:
            clauses.append(ONLY_NEW)
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


def case_fragment(text: str) -> str | None:
    """A LIKE pattern (escape character \\) for a piece of a case number (one word with a digit), else None."""
    word = text.replace("\x00", "").strip()
    if not word or any(ch.isspace() for ch in word) or not any(ch.isdigit() for ch in word):
        return None
    escaped = word.upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
