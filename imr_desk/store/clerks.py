"""Who did what: per clerk, the letters reviewed and the fields changed and confirmed, today and in all
(`imr-desk stats --by-clerk`, for a supervisor).

A clerk is the name the store records with each change (history.who, letters.reviewed_by): the
database user, or the name set in the window ("Your name"). "Reviewed" counts the letters a clerk
marked reviewed (each letter once, however often); "changed" the fields of records a clerk changed
(one history row per field edit, a burst of typing in one field being one); "confirmed" the fields a
clerk confirmed one by one; "refused" the saves refused because another clerk had saved the letter
first (the clerk's record is kept in the history). "Today" is the day on this computer's clock.

Plain SQL with `?` placeholders: it runs on either engine.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from imr_desk.core.confirmations import HISTORY_PATH as CONFIRMED
from imr_desk.core.record import Status
from imr_desk.store import records as rec
from imr_desk.store.database import LetterStore

UNKNOWN = "(unknown)"
FIGURES = ("reviewed_today", "reviewed", "changed_today", "changed", "confirmed_today", "confirmed",
           "refused_today", "refused")
# history rows that are not a field's value changed by a clerk
_NOT_FIELDS = ("status", "*", "*rejected", "*cleaned", "fields", CONFIRMED)


def database_user(db: LetterStore) -> str:
    """The name the database knows the clerk by: on a server the database role, else the login here."""
    from imr_desk.store.database import default_user

    if getattr(db, "engine", "sqlite") == "postgresql":
        return str(db.conn.execute("SELECT current_user").fetchone()[0])
    return default_user()


def start_of_today(now: datetime | None = None) -> str:
    """The local midnight that began today, as the store writes times (UTC, ISO 8601, 'Z')."""
    local = (now or datetime.now()).astimezone()
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def by_clerk(db: LetterStore, now: datetime | None = None) -> dict[str, Any]:
    """{"since": today's start, "clerks": {name: {figure: count}}}, clerks by name, figures as `FIGURES`."""
    since = start_of_today(now)
    figures: dict[str, Counter[str]] = {}

    def add(who: str | None, figure: str, n: int, today: int) -> None:
        counts = figures.setdefault(who or UNKNOWN, Counter())
        counts[figure] += int(n)
        counts[f"{figure}_today"] += int(today or 0)

    reviewed = rec.dumps(Status.REVIEWED.value)
    # marked reviewed: by history, and by letters.reviewed_by for letters whose history came without it
    for who, n, today in db.conn.execute(
            "SELECT who, count(DISTINCT letter_id), count(DISTINCT CASE WHEN at >= ? THEN letter_id END) FROM ("
            "SELECT who, letter_id, at FROM history WHERE path = 'status' AND new = ? "
            "UNION SELECT reviewed_by, id, reviewed_at FROM letters WHERE reviewed_by IS NOT NULL) marked "
            "GROUP BY who", (since, reviewed)).fetchall():
        add(who, "reviewed", n, today)
    marks = ", ".join("?" * len(_NOT_FIELDS))
    for who, n, today in db.conn.execute(
            "SELECT who, count(*), sum(CASE WHEN at >= ? THEN 1 ELSE 0 END) FROM history WHERE origin = 'clerk' "
            f"AND path NOT IN ({marks}) AND path NOT LIKE 'annotations.%' GROUP BY who",
            (since, *_NOT_FIELDS)).fetchall():
        add(who, "changed", n, today)
    for who, n, today in db.conn.execute(
            "SELECT who, count(*), sum(CASE WHEN at >= ? THEN 1 ELSE 0 END) FROM history WHERE path = '*rejected' "
            "GROUP BY who", (since,)).fetchall():
        add(who, "refused", n, today)
    cur = db.conn.execute("SELECT who, at, new FROM history WHERE path = ?", (CONFIRMED,))
    while rows := cur.fetchmany(500):
        for who, at, new in rows:
            try:
                values = json.loads(new) if new else {}
            except ValueError:
                continue
            n = len(values) if isinstance(values, dict) else 0
            add(who, "confirmed", n, n if at >= since else 0)
    return {"since": since,
            "clerks": {who: {f: int(figures[who][f]) for f in FIGURES} for who in sorted(figures)}}


def table(figures: dict[str, Any]) -> list[str]:
    """The figures as the lines of a plain-text table, a clerk a line."""
    head = ("Clerk", "Reviewed today", "in all", "Fields changed today", "in all", "Fields confirmed today",
            "in all", "Saves refused today", "in all")
    clerks = figures["clerks"]
    width = max([len(head[0]), *(len(c) for c in clerks)])
    lines = [f"{head[0]:{width}}  " + "  ".join(head[1:])]
    sizes = [len(h) for h in head[1:]]
    for who, counts in clerks.items():
        cells = [counts[f] for f in FIGURES]
        lines.append(f"{who:{width}}  " + "  ".join(f"{v:>{s}}" for v, s in zip(cells, sizes, strict=True)))
    if not clerks:
        lines.append("no clerk has changed or reviewed a letter yet")
    return lines
