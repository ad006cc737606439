"""A letter's history as the clerk reads it: one plain sentence a row, fields named by their labels.

Every origin reads in words: the parser's first reading, a clerk's edit, a re-parse, an import from an
export, the fields confirmed (and confirmations dropped), status changes and annotations. Paths such as
`items.0.request` never show; the field catalogue (core/fields.py) names them ("Item 1 · Request").
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from imr_desk.core.confirmations import DROPPED, HISTORY_PATH
from imr_desk.core.fields import label_of

_WHOLE_ITEM = re.compile(r"items\.\d+")  # a row of a whole item (added, removed, moved), not of one field
SHOWN_CHARS = 80  # a long value (a rationale) is shown by its beginning; the whole of it is in the tooltip

HOW = {
    "parser": "parser",
    "clerk": "by hand",
    "reparse": "re-parse",
    "import": "import",
}


def label(path: str) -> str:
    """A field's label in a history row: 'Item 1 · Request', 'Reviewer · Role', 'Case number'."""
    return label_of(path).replace(": ", " · ", 1)


def quoted(value: Any, limit: int = SHOWN_CHARS) -> str:
    """A value as a history row quotes it: “text”, a list's items, yes/no, (nothing)."""
    if value in (None, "", []):
        return "(nothing)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(quoted(v, limit) for v in value)
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"“{text}”"


def when(at: str | None) -> str:
    """An ISO UTC time as local time, to the second."""
    if not at:
        return ""
    try:
        return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return at


def _clock(at: str | None) -> str:
    try:
        return datetime.fromisoformat((at or "").replace("Z", "+00:00")).astimezone().strftime("%H:%M")
    except ValueError:
        return at or ""


def _fields(values: dict[str, Any]) -> str:
    return "; ".join(f"{label(p)} {quoted(v)}" for p, v in values.items())


def _change(path: str, old: Any, new: Any) -> str:
    name = label(path)
    if isinstance(old, list) or isinstance(new, list):
        before, after = list(old or []), list(new or [])
        added = [v for v in after if v not in before]
        removed = [v for v in before if v not in after]
        if (added or removed) and len(added) + len(removed) <= 3:
            parts = ([f"added {quoted(added)}"] if added else []) + ([f"removed {quoted(removed)}"] if removed else [])
            return f"{name}: {' and '.join(parts)}"
    if old in (None, "", []):
        return f"{name} filled in: {quoted(new)}"
    if new in (None, "", []):
        return f"{name} emptied (it was {quoted(old)})"
    return f"{name} changed from {quoted(old)} to {quoted(new)}"


def _annotation(old: Any, new: Any, text: str | None) -> str:
    note = new if isinstance(new, dict) else old if isinstance(old, dict) else {}
    what = "Annotation added" if old is None else "Annotation removed" if new is None else "Annotation changed"
    start, end = note.get("start"), note.get("end")
    span = ""
    if text and isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
        span = f" on {quoted(text[start:end], 60)}"
    said = f" (note: {quoted(note.get('note'), 60)})" if note.get("note") else ""
    return f"{what}: {quoted(note.get('label'))}{span}{said}"


def _whole(origin: str, new: Any) -> str:
    """A row about the whole letter (path '*'): read by the parser, or imported from an export."""
    new = new if isinstance(new, dict) else {}
    if origin == "import" or "imported_from" in new:
        source = str(new.get("imported_from") or "an export")
        file, _, line = source.rpartition(":")
        where = f"{file}, line {line}" if file and line.isdigit() else source
        was = f" (letter {new['letter_id']} there)" if new.get("letter_id") else ""
        return f"Imported with its history from {where}{was}"
    version = new.get("parser_version")
    return f"Letter read by the parser{f' (version {version})' if version else ''}"


def _reparsed(old: Any, new: Any) -> str:
    old, new = (old if isinstance(old, dict) else {}), (new if isinstance(new, dict) else {})
    changed = [label(p) for p in new.get("changed") or []]
    then = f" (it was read by version {old['parser_version']})" if old.get("parser_version") else ""
    says = (f"; the parser now reads differently: {', '.join(changed[:6])}{' …' if len(changed) > 6 else ''}"
            if changed else "; it reads every value as before")
    return f"Read again by parser version {new.get('parser_version', '?')}{then}{says}"


def sentence(path: str, old: Any, new: Any, origin: str = "clerk", text: str | None = None) -> str:
    """What a history row says, in words."""
    if path == HISTORY_PATH:
        values = new if isinstance(new, dict) else {}
        dropped = [p for p, v in values.items() if v == DROPPED]
        if dropped:
            was = old if isinstance(old, dict) else {}
            return "Confirmation dropped: " + "; ".join(
                f"{label(p)} (it had been confirmed as {quoted(was.get(p))})" for p in dropped)
        n = len(values)
        return f"Confirmed {n} field{'s' if n != 1 else ''}: {_fields(values)}" if n else "Confirmed"
    if path == "status":
        return f"Status changed from “{old}” to “{new}”" if old else f"Status set to “{new}”"
    if path.startswith("annotations."):
        return _annotation(old, new, text)
    if path == "*":
        return _whole(origin, new)
    if path == "*parser":
        return _reparsed(old, new)
    if path == "*cleaned":  # store/storable.py: NUL or a lone surrogate, which no database can hold
        n = new.get("replaced", 0) if isinstance(new, dict) else 0
        return f"{n} character{'s' if n != 1 else ''} the database cannot store (NUL) replaced with �"
    if path == "*rejected":
        return "Edits not saved (someone saved the letter first); they are kept here"
    if path == "fields":
        return "Where the values were read in the letter changed (no value changed)"
    if path == "items.count":
        return f"Number of disputed items changed from {old} to {new}"
    if _WHOLE_ITEM.fullmatch(path):
        return _whole_item(path, old, new)
    return _change(path, old, new)


def _whole_item(path: str, old: Any, new: Any) -> str:
    """A row of a whole item (store/records.py `changes`): added, removed, or moved to another position."""
    old, new = (old if isinstance(old, dict) else None), (new if isinstance(new, dict) else None)
    if old is not None and new is not None and "position" in old and "position" in new:
        request = f" ({quoted(new.get('request'))})" if new.get("request") else ""
        return f"Item {old['position']}{request} moved to position {new['position']}"
    if new is None:
        was = f" (it was {quoted((old or {}).get('request'))})" if (old or {}).get("request") else ""
        return f"{label(path)} removed{was}"
    request = f": {quoted(new.get('request'))}" if new.get("request") else ""
    return f"{label(path)} added{request}"


def row(h: Any, text: str | None = None) -> dict[str, Any]:
    """A history row (store.HistoryRow) as the history dialog shows it."""
    what = sentence(h.path, h.old, h.new, h.origin, text)
    if h.path == HISTORY_PATH and h.who:
        what += f" — by {h.who} at {_clock(h.at)}"
    return {"when": when(h.at), "who": h.who or "", "what": what, "how": HOW.get(h.origin, h.origin),
            "reason": h.reason or ""}
