"""A record (contract/record.schema.json) as the database keeps it: columns, item rows, field paths.

Plain functions, no database: the queue's columns and the items table are derived from the clerk's
current record, and history is the difference of two records by field path (`diff`, from the field
catalogue in imr_desk.core.fields).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from imr_desk.core.fields import diff, flatten, item_fields, letter_fields, path_order, value_at
from imr_desk.core.text import as_read, same_value
from imr_desk.store.storable import Cleaned, clean, needs_cleaning

# the items table's columns (store/schema.py): the database's shape, which a new catalogue field leaves alone
ITEM_COLUMNS = ("request", "original_request", "authorized", "decision", "decision_stated",
                "claims_administrator_guideline", "maximus_guideline", "rationale")
# the parts of a record that are the clerk's to correct (not provenance, warnings or the text)
REVIEWED_PARTS = ("case", "reviewer", "patient", "summary", "items")


def dumps(value: object) -> str:
    """`value` as the store's JSON text, cleaned of what neither engine can store (store/storable.py)."""
    return dumps_counted(value)[0]


def dumps_counted(value: object) -> tuple[str, int]:
    """`dumps`, and how many characters the cleaning replaced (0 on the quick path: a clean value is dumped once)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if "\\u0000" not in text and not needs_cleaning(text):  # json escapes NUL as \u0000, keeps a lone surrogate
        return Cleaned(text), 0
    cleaned, count = clean(value)
    return Cleaned(json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")) if count else text), count


def record_json(record: dict[str, Any]) -> str:
    """A whole record as the contents table keeps it: `dumps`'s text, written by msgspec (a letter of
    thousands of items is megabytes of JSON, which the standard encoder takes a tenth of a second for)."""
    return record_json_counted(record)[0]


def record_json_counted(record: dict[str, Any]) -> tuple[str, int]:
    """`record_json`, cleaned of what neither engine can store as `dumps_counted` cleans, and the count."""
    try:
        text = msgspec.json.encode(record).decode()
    except UnicodeEncodeError:  # a lone surrogate, which UTF-8 cannot hold: cleaned below
        text = None
    if text is not None and "\\u0000" not in text and not needs_cleaning(text):
        return Cleaned(text), 0
    cleaned, count = clean(record)
    return Cleaned(msgspec.json.encode(cleaned).decode()), count


def digest(record_json: str) -> bytes:
    """A short digest of a record's JSON: whether a record is the one stored, without keeping megabytes."""
    import hashlib

    return hashlib.blake2b(record_json.encode(), digest_size=16).digest()


def reviewed_copy(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of the reviewed parts of a record (`REVIEWED_PARTS`: what history, the items table and the
    searched columns are made of), deep enough that changing the record afterwards leaves it as it was:
    their dicts and lists are copied, the texts (which cannot change) shared."""
    def copy(value: Any) -> Any:
        if isinstance(value, dict):
            out = dict(value)
            for k, v in out.items():
                if isinstance(v, dict | list):
                    out[k] = json.loads(dumps(v))
            return out
        if isinstance(value, list):
            return [copy(v) for v in value]
        return value

    return {k: copy(record[k]) for k in REVIEWED_PARTS if k in record}


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def columns_of(record: dict[str, Any]) -> dict[str, Any]:
    """The letters table's derived columns (queue, filters, search) for a record."""
    case = record.get("case") or {}
    items = record.get("items") or []
    warnings = record.get("warnings") or []
    reviewer = record.get("reviewer") or {}
    return {
        "case_number": case.get("case_number"),
        "decision_date": case.get("decision_date"),
        "date_of_injury": case.get("date_of_injury"),
        "outcome": record.get("outcome"),
        "item_count": len(items),
        "warning_count": len(warnings),
        "error_count": sum(1 for w in warnings if w.get("severity") == "error"),
        "warning_codes": " ".join(sorted({str(w.get("code")) for w in warnings if w.get("code")})),
        "specialties": "; ".join(str(s) for s in reviewer.get("specialties") or []),
        "layout": record.get("layout"),
    }


SEARCHED = ("case_number", "requests", "rationales")  # the contents table's searched columns besides the text


def search_columns_of(record: dict[str, Any], only: set[str] | None = None) -> dict[str, Any]:
    """The contents table's searchable columns for a record (besides the letter's text); `only` those."""
    items = record.get("items") or []
    out = {
        "case_number": lambda: (record.get("case") or {}).get("case_number"),
        "requests": lambda: "\n".join(str(i.get("request") or "") for i in items),
        "rationales": lambda: "\n".join(str(i.get("rationale") or "") for i in items),
    }
    return {k: make() for k, make in out.items() if only is None or k in only}


def searched_changed(before: dict[str, Any], record: dict[str, Any]) -> set[str]:
    """The searched columns whose text differs between two records (items shared by identity cost nothing)."""
    changed = set()
    if (before.get("case") or {}).get("case_number") != (record.get("case") or {}).get("case_number"):
        changed.add("case_number")
    old, new = before.get("items") or [], record.get("items") or []
    for key, column in (("request", "requests"), ("rationale", "rationales")):
        if len(old) != len(new) or any(a != b and str(a.get(key) or "") != str(b.get(key) or "")
                                       for a, b in zip(old, new, strict=True)):
            changed.add(column)
    return changed


def item_row(letter_id: int, position: int, item: dict[str, Any]) -> tuple[Any, ...]:
    """An item's row of the items table."""
    values = [item.get(k) for k in ITEM_COLUMNS]
    stated = values[4]
    values[4] = None if stated is None else int(bool(stated))
    return (letter_id, position, *values)


def item_rows(letter_id: int, record: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [item_row(letter_id, pos, item) for pos, item in enumerate(record.get("items") or [])]


def align_items(parsed: list[dict[str, Any]], reviewed: list[dict[str, Any]]
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The parser's items in the order of the clerk's, matched by request; and those the clerk removed.

    A clerk who reorders items, or removes a wrong one, has not changed the others: comparing by
    position would count every item after it as a parser error. An item the clerk added has no
    match (an empty item stands in for it).
    """
    matched = match_items(parsed, reviewed)
    used = {i for i in matched if i is not None}
    return [parsed[i] if i is not None else {} for i in matched], [p for i, p in enumerate(parsed) if i not in used]


def match_items(parsed: list[dict[str, Any]], reviewed: list[dict[str, Any]]) -> list[int | None]:
    """For each of the clerk's items, the index of the parser's item it is (None: one the clerk added).

    The same request first, in order (so an untouched letter is matched position for position, and
    repeated requests keep their order); then, for what is left, the most alike request (a corrected
    one), at least half alike, or the last one left on each side."""
    import difflib

    def key(item: dict[str, Any]) -> str:
        return " ".join(str(item.get("request") or "").lower().split())

    by_key: dict[str, list[int]] = {}
    for i in range(len(parsed) - 1, -1, -1):  # reversed, so that pop() gives the first
        k = key(parsed[i])
        if k:
            by_key.setdefault(k, []).append(i)
    matched: list[int | None] = [None] * len(reviewed)
    keys = [key(item) for item in reviewed]
    for j, k in enumerate(keys):
        same = by_key.get(k)
        if same:
            matched[j] = same.pop()
    used = {i for i in matched if i is not None}
    unused = [i for i in range(len(parsed)) if i not in used]
    parsed_keys = {i: key(parsed[i]) for i in unused}
    for j, k in enumerate(keys):
        if matched[j] is not None or not unused:
            continue
        ratio = {i: difflib.SequenceMatcher(None, parsed_keys[i], k).ratio() for i in unused}
        best = max(unused, key=ratio.__getitem__)
        last_pair = len(unused) == 1 and matched.count(None) == 1  # one left on each side: the same item
        if ratio[best] >= 0.5 or last_pair:
            matched[j] = best
            unused.remove(best)
    return matched


def item_values(item: object, keys: list[str] | None = None) -> dict[str, Any]:
    """An item's reviewable values by the catalogue's keys (what a history row of a whole item holds)."""
    item = item if isinstance(item, dict) else {}
    return {k: item.get(k) for k in (keys if keys is not None else [f.key for f in item_fields()])}


def _same_item(a: object, b: object, keys: list[str]) -> bool:
    if a is b or a == b:  # most items of a save are as they were: compared in C, at once
        return True
    a, b = (a if isinstance(a, dict) else {}), (b if isinstance(b, dict) else {})
    return all(same_value(a.get(k), b.get(k)) for k in keys)


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """The history rows of a save: (path, old value, new value), in `diff`'s order of paths.

    Like `diff`, one row per changed value; but items are matched by their values, not their positions: an
    item removed is one row (path `items.N`, its values, None), an item added one row (None, its values),
    an item moved one row ({"position": from, "request": ...}, {"position": to, ...}, positions from 1), and
    the items after them, whose positions shifted, none. Costs what changed for items shared by identity.
    """
    out: list[tuple[str, Any, Any]] = []
    for f in letter_fields():
        a, b = value_at(old, f.path), value_at(new, f.path)
        if not same_value(a, b):
            out.append((f.path, a, b))
    fields = item_fields()
    keys = [f.key for f in fields]
    a_items, b_items = old.get("items"), new.get("items")
    a_items = a_items if isinstance(a_items, list) else []
    b_items = b_items if isinstance(b_items, list) else []

    def edited(i: int, j: int) -> None:
        a = a_items[i] if isinstance(a_items[i], dict) else {}
        b = b_items[j] if isinstance(b_items[j], dict) else {}
        for f in fields:
            if not same_value(a.get(f.key), b.get(f.key)):
                out.append((f.path_in(j), a.get(f.key), b.get(f.key)))

    differing = ([i for i in range(len(a_items)) if not _same_item(a_items[i], b_items[i], keys)]
                 if len(a_items) == len(b_items) else None)
    if differing is not None and len(differing) <= 1:  # the usual save: one item edited, or none
        for i in differing:
            edited(i, i)
    else:
        import difflib

        def key(item: object) -> str:
            item = item if isinstance(item, dict) else {}
            return repr([as_read(item.get(k)) for k in keys])

        ka, kb = [key(i) for i in a_items], [key(i) for i in b_items]
        removed: list[int] = []
        added: list[int] = []
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ka, kb, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            if tag == "replace" and i2 - i1 == j2 - j1:  # items edited where they are
                for k in range(i2 - i1):
                    edited(i1 + k, j1 + k)
            else:
                removed.extend(range(i1, i2))
                added.extend(range(j1, j2))
        unmatched: dict[str, list[int]] = {}
        for i in removed:
            unmatched.setdefault(ka[i], []).append(i)
        for j in added:
            same = unmatched.get(kb[j])
            if same:  # the same item, elsewhere: moved
                i = same.pop(0)
                request = item_values(b_items[j], keys).get("request")
                out.append((f"items.{j}", {"position": i + 1, "request": request},
                            {"position": j + 1, "request": request}))
            else:
                out.append((f"items.{j}", None, item_values(b_items[j], keys)))
        for left in unmatched.values():
            for i in left:
                out.append((f"items.{i}", item_values(a_items[i], keys), None))
    out.sort(key=lambda c: path_order(c[0]))
    return out


__all__ = ["ITEM_COLUMNS", "REVIEWED_PARTS", "align_items", "changes", "columns_of", "diff", "dumps", "flatten",
           "digest", "item_row", "item_rows", "item_values", "loads", "reviewed_copy", "record_json", "search_columns_of", "searched_changed"]
