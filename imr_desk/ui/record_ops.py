"""Reading and changing a record by dotted path ('items.0.decision'), keeping `fields` in step.

Plain Python (no Qt): the review session uses these to apply the clerk's edits. A record is never
changed in place: an edit makes a new record that shares every part it leaves alone with the old one
(the items it did not touch, their provenance), so a letter of thousands of items costs what the edit
changes, and a record handed to the writer thread stays as it was. An edit is kept as what it changed
(`Patch`, `ItemsOp`), never as copies of the record: undoing it puts back what it replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imr_desk.core import fields
from imr_desk.core.record import empty_item, outcome_of

__all__ = ["LIST_FIELDS", "MISSING", "ItemsOp", "Patch", "confidence_of", "field_of", "get_path", "outcome_of",
           "put", "setting", "span_of"]

LIST_FIELDS = tuple(f.path for f in fields.FIELDS if f.kind is fields.Kind.LIST)
get_path = fields.value_at
field_of = fields.form_path


class _Missing:
    """No value there at all (a key absent), as against a value None."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
Where = tuple[str | int, ...]  # a place in a record: keys of dicts, indices of lists ('fields' keys hold dots)


def get_at(rec: Any, where: Where) -> Any:
    node = rec
    for part in where:
        if isinstance(node, dict):
            if part not in node:
                return MISSING
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return MISSING
    return node


def put(rec: dict[str, Any], where: Where, value: Any) -> dict[str, Any]:
    """A new record with `value` at `where` (MISSING: the key removed); only the containers on the way are
    copied, everything else is shared with `rec`."""
    def into(node: Any, i: int) -> Any:
        part = where[i]
        copy: Any = list(node) if isinstance(node, list) else dict(node)
        if i == len(where) - 1:
            if value is MISSING:
                if isinstance(copy, dict):
                    copy.pop(part, None)
            else:
                copy[part] = value
        else:
            copy[part] = into(copy[part], i + 1)
        return copy

    out: dict[str, Any] = into(rec, 0)
    return out


def _path_where(path: str) -> Where:
    return tuple(int(p) if p.isdigit() else p for p in path.split("."))


def setting(rec: dict[str, Any], where: Where, value: Any) -> tuple[Where, Any, Any]:
    """The change that puts `value` at `where` (or MISSING: removes it): (where, before, after). Where a
    container on the way is missing, the change is that container's, so undoing it leaves no empty one."""
    node: Any = rec
    for i, part in enumerate(where[:-1]):
        nxt = node.get(part, MISSING) if isinstance(node, dict) else node[part]
        if nxt is MISSING or nxt is None:
            built: Any = value
            for key in reversed(where[i + 1:]):
                built = {key: built}
            return where[:i + 1], nxt, built
        node = nxt
    return where, get_at(rec, where), value


@dataclass
class Patch:
    """An edit as the values it replaced and put, in order: (where, before, after)."""

    changes: list[tuple[Where, Any, Any]] = field(default_factory=list)

    def forward(self, rec: dict[str, Any]) -> dict[str, Any]:
        for where, _before, after in self.changes:
            rec = put(rec, where, after)
        return rec

    def backward(self, rec: dict[str, Any]) -> dict[str, Any]:
        for where, before, _after in reversed(self.changes):
            rec = put(rec, where, before)
        return rec

    def then(self, later: Patch) -> None:
        """Take in a later edit (a burst of typing): each place keeps its first `before` and its last `after`."""
        index = {where: i for i, (where, _b, _a) in enumerate(self.changes)}
        for where, before, after in later.changes:
            if where in index:
                i = index[where]
                self.changes[i] = (where, self.changes[i][1], after)
            else:
                index[where] = len(self.changes)
                self.changes.append((where, before, after))


def value_patch(rec: dict[str, Any], path: str, value: Any, provenance: dict[str, Any] | None = None) -> Patch:
    """Set a field (an item's too: the outcome follows), with where its value was read when it is given."""
    patch = Patch([setting(rec, _path_where(path), value)])
    if provenance is not None:
        provs = rec.get("fields")
        provs = provs if isinstance(provs, dict) else {}
        if path in LIST_FIELDS:
            for k in _list_keys(provs, path):
                if k != path:
                    patch.changes.append((("fields", k), provs[k], MISSING))
        patch.changes.append(setting(rec, ("fields", path), provenance))
    if path.startswith("items."):  # the outcome follows the items
        after = patch.forward(rec)
        outcome = outcome_of(after.get("items") or [])
        if outcome != rec.get("outcome"):
            patch.changes.append((("outcome",), rec.get("outcome", MISSING), outcome))
    return patch


def _list_keys(provs: dict[str, Any], field: str) -> list[str]:
    """The provenance keys of a list field: the field's own and its elements' ('reviewer.specialties.0')."""
    index = _list_index(provs)
    return index.get(field, [])


_indexed: tuple[Any, int, dict[str, list[str]]] = (None, -1, {})


def _list_index(provs: dict[str, Any]) -> dict[str, list[str]]:
    """The list fields' provenance keys, found once per `fields` dict (a letter of thousands of items has
    tens of thousands of keys: every field state would otherwise go through them all)."""
    global _indexed
    if _indexed[0] is not provs or _indexed[1] != len(provs):
        found: dict[str, list[str]] = {f: [] for f in LIST_FIELDS}
        for k in provs:
            if k.startswith("items."):
                continue
            for f in LIST_FIELDS:
                if k == f or k.startswith(f + "."):
                    found[f].append(k)
        _indexed = (provs, len(provs), found)
    return _indexed[2]


def span_of(rec: dict[str, Any], field: str) -> tuple[int, int, int | None] | None:
    """Where a form field's value was read: (start, end, page), covering all of a list's elements."""
    provs_of = rec.get("fields") or {}
    if field in LIST_FIELDS:
        provs = [provs_of[k] for k in _list_keys(provs_of, field)]
    else:
        provs = [provs_of[field]] if field in provs_of else []
    provs = [p for p in provs if isinstance(p.get("start"), int) and isinstance(p.get("end"), int)]
    if not provs:
        return None
    return min(p["start"] for p in provs), max(p["end"] for p in provs), provs[0].get("page")


def confidence_of(rec: dict[str, Any], field: str) -> float | None:
    provs = rec.get("fields") or {}
    if field not in LIST_FIELDS:  # one look-up: a letter with thousands of items has tens of thousands of fields
        found = provs.get(field)
        conf = found.get("confidence") if isinstance(found, dict) else None
        return conf if isinstance(conf, int | float) else None
    confs = [provs[k].get("confidence") for k in _list_keys(provs, field)]
    confs = [c for c in confs if isinstance(c, int | float)]
    return min(confs) if confs else None


def _item_key(key: str) -> tuple[int, str] | None:
    """('items.3.request') -> (3, '.request'); None for a key of no item."""
    if not key.startswith("items."):
        return None
    idx, dot, rest = key[6:].partition(".")
    if not idx.isdigit():
        return None
    return int(idx), dot + rest


@dataclass
class ItemsOp:
    """Adding, removing or moving an item: kept as the operation (and what a removal took away), so undoing
    it on a letter of thousands of items holds no copy of them. Provenance and warnings move with their items."""

    kind: str  # "add", "remove", "move"
    index: int
    to: int = 0
    item: dict[str, Any] | None = None  # the item removed
    provs: list[tuple[int, str, Any]] = field(default_factory=list)  # its provenance: (position in `fields`, key, value)
    warnings: list[dict[str, Any]] | None = None  # the record's warnings before the removal
    outcome: Any = MISSING  # the outcome before

    def forward(self, rec: dict[str, Any]) -> dict[str, Any]:
        out = dict(rec)
        items = list(rec.get("items") or [])
        self.outcome = rec.get("outcome", MISSING)
        if self.kind == "add":
            items.append(empty_item())
            self.index = len(items) - 1
        elif self.kind == "remove":
            self.item = items.pop(self.index)
            self.warnings = rec.get("warnings")
            out["fields"], self.provs = self._renumbered(rec.get("fields") or {}, lambda i: None if i == self.index
                                                         else i - 1 if i > self.index else i)
            out["warnings"] = self._renumber_warnings(rec.get("warnings") or [], lambda i: None if i == self.index
                                                      else i - 1 if i > self.index else i)
        else:
            items.insert(self.to, items.pop(self.index))
            order = _moved(self.index, self.to)
            out["fields"], _ = self._renumbered(rec.get("fields") or {}, order)
            out["warnings"] = self._renumber_warnings(rec.get("warnings") or [], order)
        out["items"] = items
        if self.kind != "move":
            out["outcome"] = outcome_of(items)
        return out

    def backward(self, rec: dict[str, Any]) -> dict[str, Any]:
        out = dict(rec)
        items = list(rec.get("items") or [])
        if self.kind == "add":
            items.pop(self.index)
        elif self.kind == "remove":
            assert self.item is not None
            items.insert(self.index, self.item)
            provs, _ = self._renumbered(rec.get("fields") or {}, lambda i: i + 1 if i >= self.index else i)
            pairs = list(provs.items())
            for pos, key, value in self.provs:  # back where they were: the record is as it was, key order too
                pairs.insert(pos, (key, value))
            out["fields"] = dict(pairs)
            out["warnings"] = self.warnings if self.warnings is not None else rec.get("warnings") or []
        else:
            items.insert(self.index, items.pop(self.to))
            order = _moved(self.to, self.index)
            out["fields"], _ = self._renumbered(rec.get("fields") or {}, order)
            out["warnings"] = self._renumber_warnings(rec.get("warnings") or [], order)
        out["items"] = items
        if self.outcome is MISSING:
            out.pop("outcome", None)
        else:
            out["outcome"] = self.outcome
        return out

    @staticmethod
    def _renumbered(provs: dict[str, Any], new_index: Any) -> tuple[dict[str, Any], list[tuple[int, str, Any]]]:
        """The provenance with item keys renumbered by `new_index(old) -> new | None` (None: dropped, returned
        with its position). Keys of items that keep their index keep their string. (Tens of thousands of
        keys in a letter of thousands of items: the loop is kept plain.)"""
        out: dict[str, Any] = {}
        dropped: list[tuple[int, str, Any]] = []
        moved: dict[int, int | None] = {}
        for pos, (k, prov) in enumerate(provs.items()):
            if not k.startswith("items."):
                out[k] = prov
                continue
            dot = k.find(".", 6)
            idx = k[6:dot] if dot > 0 else k[6:]
            if not idx.isdigit():
                out[k] = prov
                continue
            old = int(idx)
            new = moved[old] if old in moved else moved.setdefault(old, new_index(old))
            if new is None:
                dropped.append((pos, k, prov))
            elif new == old:
                out[k] = prov
            else:
                out[f"items.{new}{k[dot:] if dot > 0 else ''}"] = prov
        return out, dropped

    @staticmethod
    def _renumber_warnings(warnings: list[dict[str, Any]], new_index: Any) -> list[dict[str, Any]]:
        out = []
        for w in warnings:
            found = _item_key(w.get("path") or "")
            if found is not None:
                new = new_index(found[0])
                if new is None:
                    continue
                if new != found[0]:
                    w = {**w, "path": f"items.{new}{found[1]}"}
            out.append(w)
        return out


def _moved(index: int, to: int) -> Any:
    """The new index of each old one when the item at `index` moves to `to`."""
    def new_index(i: int) -> int:
        if i == index:
            return to
        if index < to and index < i <= to:
            return i - 1
        if to < index and to <= i < index:
            return i + 1
        return i
    return new_index
