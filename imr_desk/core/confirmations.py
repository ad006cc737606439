"""Confirmed fields: which values a clerk checked against the letter, who and when.

A field is *read* by the parser, *confirmed* by a clerk (Enter in the form, or Ctrl+Return for the
rest), *changed* by a clerk, or *flagged* by a check or a low confidence. A confirmation is kept in the
letter's history as one row (path `*confirmed`, origin clerk) whose new value maps each confirmed
field's path to the value confirmed, so a supervisor can tell a checked value from an unvisited one.
A confirmation holds while the field keeps that value; a later edit makes the field changed instead.
Putting the parser's value back (Ctrl+R) drops the field's confirmation: a row of the same path whose
new value maps the field to `DROPPED` (and whose old value is what had been confirmed), so the field
reads unconfirmed again even when its value comes back to the one once confirmed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from imr_desk.core.fields import flatten
from imr_desk.core.text import same_value

__all__ = ["DROPPED", "HISTORY_PATH", "REQUIRE_ONE_BY_ONE", "Confirmation", "holding", "is_drop", "merge",
           "same_value"]

HISTORY_PATH = "*confirmed"  # the history rows that record confirmations
REQUIRE_ONE_BY_ONE = "require_confirm_one_by_one"  # the team setting: Ctrl+Return confirms nothing itself
DROPPED = {"dropped": True}  # a field's value in a confirmation row: its confirmation was dropped (no value is a dict)


@dataclass(frozen=True)
class Confirmation:
    value: Any
    by: str | None
    at: str


def merge(rows: Iterable[tuple[Any, str | None, str]]) -> dict[str, Confirmation]:
    """The confirmations from history rows (new value as stored or decoded, who, at), oldest first."""
    found: dict[str, Confirmation] = {}
    for new, by, at in rows:
        values = json.loads(new) if isinstance(new, str) else new
        if isinstance(values, dict):
            for path, value in values.items():
                if value == DROPPED:
                    found.pop(str(path), None)
                else:
                    found[str(path)] = Confirmation(value, by, at)
    return found


def is_drop(values: Any) -> bool:
    """A confirmation row's new value that drops confirmations rather than confirming."""
    return isinstance(values, dict) and bool(values) and all(v == DROPPED for v in values.values())


def holding(confirmations: Mapping[str, Confirmation], record: dict[str, Any]) -> dict[str, Confirmation]:
    """The confirmations whose field still has the value confirmed, in the record's field order."""
    values = flatten(record)
    return {path: c for path, value in values.items()
            if (c := confirmations.get(path)) is not None and same_value(c.value, value)}

