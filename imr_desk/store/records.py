"""A record (contract/record.schema.json) as the database keeps it: columns, item rows, field paths.

Plain functions, no database: the queue's columns and the items table are derived from the clerk's
current record, and history is the difference of two records by field path (`diff`, from the field
catalogue in imr_desk.core.fields).
"""

from __future__ import annotations

import json
from typing import Any

from imr_desk.core.fields import diff, flatten
from imr_desk.store.storable import Cleaned, clean, needs_cleaning

# the items table's columns (store/schema.py): the database's shape, which a new catalogue field leaves alone
ITEM_COLUMNS = ("request", "original_request", "authorized", "decision", "decision_stated",
                "claims_administrator_guideline", "maximus_guideline", "rationale")
# the parts of a record that are the clerk's to correct (not provenance, warnings or the text)
REVIEWED_PARTS = ("case", "reviewer", "patient", "summary", "items")


def dumps(value: Any) -> str:
    """`value` as the store's JSON text, cleaned of what neither engine can store (store/storable.py)."""
    return dumps_counted(value)[0]


def dumps_counted(value: Any) -> tuple[str, int]:
    """`dumps`, and how many characters the cleaning replaced (0 on the quick path: a clean value is dumped once)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if "\\u0000" not in text and not needs_cleaning(text):  # json escapes NUL as \u0000, keeps a lone surrogate
        return Cleaned(text), 0
    cleaned, count = clean(value)
    return Cleaned(json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")) if count else text), count


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


def search_columns_of(record: dict[str, Any]) -> dict[str, Any]:
    """The contents table's searchable columns for a record (besides the letter's text)."""
    items = record.get("items") or []
    return {
        "case_number": (record.get("case") or {}).get("case_number"),
        "requests": "\n".join(str(i.get("request") or "") for i in items),
        "rationales": "\n".join(str(i.get("rationale") or "") for i in items),
    }


def item_rows(letter_id: int, record: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows = []
    for pos, item in enumerate(record.get("items") or []):
        values = [item.get(k) for k in ITEM_COLUMNS]
        stated = values[4]
        values[4] = None if stated is None else int(bool(stated))
        rows.append((letter_id, pos, *values))
    return rows


def align_items(parsed: list[dict[str, Any]], reviewed: list[dict[str, Any]]
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The parser's items in the order of the clerk's, matched by request; and those the clerk removed.

    A clerk who reorders items, or removes a wrong one, has not changed the others: comparing by
    position would count every item after it as a parser error. An item the clerk added has no
    match (an empty item stands in for it).
    """
    import difflib

    def key(item: dict[str, Any]) -> str:
        return " ".join(str(item.get("request") or "").lower().split())

    unused = list(range(len(parsed)))
    matched: list[int | None] = [None] * len(reviewed)
    for j, item in enumerate(reviewed):  # same request first
        for i in unused:
            if key(parsed[i]) and key(parsed[i]) == key(item):
                matched[j] = i
                unused.remove(i)
                break
    for j, item in enumerate(reviewed):  # then the most alike of what is left (a corrected request)
        if matched[j] is not None or not unused:
            continue
        best = max(unused, key=lambda i: difflib.SequenceMatcher(None, key(parsed[i]), key(item)).ratio())
        alike = difflib.SequenceMatcher(None, key(parsed[best]), key(item)).ratio() >= 0.5
        last_pair = len(unused) == 1 and matched.count(None) == 1  # one left on each side: the same item
        if alike or last_pair:
            matched[j] = best
            unused.remove(best)
    aligned = [parsed[i] if i is not None else {} for i in matched]
    return aligned, [parsed[i] for i in unused]


__all__ = ["ITEM_COLUMNS", "REVIEWED_PARTS", "align_items", "columns_of", "diff", "dumps", "flatten", "item_rows",
           "loads", "search_columns_of"]
