"""A value as the clerk reads it: white space collapsed, and a blank as no value.

One definition for everything that asks "did this value change?" or "is this the value confirmed?":
the parser collapses the text it reads with `collapse`, and `same_value` compares two values of a
record field (text, a date, a choice, a number, yes/no, a list of words) the way a clerk reading the
form would. Text that differs only in white space is the same; an empty text, a blank text and an
empty list are no value; a list of words is the same when its words are; `True` is not `1`.
"""

from __future__ import annotations

import re

_WS = re.compile(r"\s+")


def collapse(s: str) -> str:
    """White-space runs to one space, ends trimmed: a text as the clerk reads it."""
    return _WS.sub(" ", s).strip()


def as_read(value: object) -> object:
    """The value as the clerk reads it, comparable with `==`: None for no value (None, blank text, an
    empty list), text collapsed, a list's words collapsed, a yes/no kept apart from the numbers 0 and 1."""
    if isinstance(value, str):
        text = collapse(value)
        return text or None
    if isinstance(value, list | tuple):
        words = [as_read(v) for v in value]
        return tuple(words) if words else None
    if isinstance(value, dict):
        return tuple(sorted((str(k), repr(as_read(v))) for k, v in value.items())) or None
    if isinstance(value, bool):
        return ("yes/no", value)
    return value


def same_value(a: object, b: object) -> bool:
    """Two values of a field equal as the clerk reads them (`as_read`)."""
    return as_read(a) == as_read(b)


__all__ = ["as_read", "collapse", "same_value"]
