"""Reading and changing a record by dotted path ('items.0.decision'), keeping `fields` in step.

Plain Python (no Qt): the review session uses these to apply the clerk's edits.
"""

from __future__ import annotations

import copy
from typing import Any

from imr_desk.core import fields
from imr_desk.core.record import empty_item, outcome_of

__all__ = ["LIST_FIELDS", "add_item", "confidence_of", "field_of", "get_path", "move_item", "outcome_of",
           "remove_item", "set_path", "set_provenance", "span_of"]

LIST_FIELDS = tuple(f.path for f in fields.FIELDS if f.kind is fields.Kind.LIST)
get_path = fields.value_at


def set_path(rec: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node: Any = rec
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node.setdefault(part, {})
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


field_of = fields.form_path


def span_of(rec: dict[str, Any], field: str) -> tuple[int, int, int | None] | None:
    """Where a form field's value was read: (start, end, page), covering all of a list's elements."""
    fields = rec.get("fields") or {}
    if field in LIST_FIELDS:
        provs = [p for k, p in fields.items() if k == field or k.startswith(field + ".")]
    else:
        provs = [fields[field]] if field in fields else []
    provs = [p for p in provs if isinstance(p.get("start"), int) and isinstance(p.get("end"), int)]
    if not provs:
        return None
    return min(p["start"] for p in provs), max(p["end"] for p in provs), provs[0].get("page")


def confidence_of(rec: dict[str, Any], field: str) -> float | None:
    fields = rec.get("fields") or {}
    if field not in LIST_FIELDS:  # one look-up: a letter with thousands of items has tens of thousands of fields
        found = fields.get(field)
        conf = found.get("confidence") if isinstance(found, dict) else None
        return conf if isinstance(conf, int | float) else None
    confs = [p.get("confidence") for k, p in fields.items() if k == field or k.startswith(field + ".")]
    confs = [c for c in confs if isinstance(c, int | float)]
    return min(confs) if confs else None


def set_provenance(rec: dict[str, Any], field: str, prov: dict[str, Any] | None) -> None:
    fields = rec.setdefault("fields", {})
    for k in [k for k in fields if k == field or (field in LIST_FIELDS and k.startswith(field + "."))]:
        del fields[k]
    if prov is not None:
        fields[field] = prov


def _renumber(rec: dict[str, Any], order: list[int | None]) -> None:
    """Move the items' provenance and warnings to their new positions; order[new] = old index (None: new)."""
    old_to_new = {old: new for new, old in enumerate(order) if old is not None}
    fields = rec.get("fields") or {}
    renumbered: dict[str, Any] = {}
    for k, prov in fields.items():
        if k.startswith("items."):
            _, idx, *rest = k.split(".")
            new = old_to_new.get(int(idx))
            if new is None:
                continue
            renumbered[".".join(["items", str(new), *rest])] = prov
        else:
            renumbered[k] = prov
    rec["fields"] = renumbered
    warnings = []
    for w in rec.get("warnings") or []:
        path = w.get("path") or ""
        if path.startswith("items."):
            _, idx, *rest = path.split(".")
            if not idx.isdigit():
                warnings.append(w)
                continue
            new = old_to_new.get(int(idx))
            if new is None:
                continue
            w = {**w, "path": ".".join(["items", str(new), *rest])}
        warnings.append(w)
    rec["warnings"] = warnings


def add_item(rec: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(rec)
    out.setdefault("items", []).append(empty_item())
    out["outcome"] = outcome_of(out["items"])
    return out


def remove_item(rec: dict[str, Any], index: int) -> dict[str, Any]:
    out = copy.deepcopy(rec)
    items = out.get("items") or []
    order: list[int | None] = [i for i in range(len(items)) if i != index]
    del items[index]
    _renumber(out, order)
    out["outcome"] = outcome_of(items)
    return out


def move_item(rec: dict[str, Any], index: int, to: int) -> dict[str, Any]:
    out = copy.deepcopy(rec)
    items = out.get("items") or []
    order: list[int | None] = list(range(len(items)))
    order.insert(to, order.pop(index))
    items.insert(to, items.pop(index))
    _renumber(out, order)
    return out
