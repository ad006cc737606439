"""Text as both engines can store it: the one cleaning every text the store writes goes through.

PostgreSQL's `text` cannot hold NUL (U+0000): a postpone reason, an annotation's label or a letter
whose JSON Lines text held `\\u0000` would raise "invalid byte sequence" on a server, and a letter
stored in an SQLite file with one could never be copied to a server. A lone surrogate (U+D800..U+DFFF,
which a JSON `\\ud800` escape or a decoding with `surrogateescape` can put in a Python string) is no
character at all: it cannot be encoded as UTF-8 by either engine's driver.

Each such code point is replaced by U+FFFD (the replacement character) rather than dropped, so a
letter's text keeps its length and every offset into it (items' sources, annotations) stays right.
The cleaning is the same on both engines, so a letter reads the same from a file and from a server.

`clean` is applied twice: by the store's writing methods (store/database.py), which record how many
characters were replaced in the letter's history (`CLEANED_PATH`), and by the connection itself
(store/engine.py) on every text parameter, so nothing written any other way (a copy from an older
database, a batch's name, a team setting) can reach the server uncleaned.
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
# NUL, and the lone halves of surrogate pairs (a Python str never holds a proper pair: it holds the code point)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
CLEANED_PATH = "*cleaned"  # the history row that says how many characters a write replaced


class Cleaned(str):
    """A text this module has cleaned already (a record's JSON, a letter's text): the connection does not
    scan it again (a 2 MB record would cost another 10 ms a save)."""

    __slots__ = ()


def clean_text(text: str) -> tuple[str, int]:
    """`text` with every character neither engine can store replaced by U+FFFD, and how many were."""
    if not needs_cleaning(text):
        return text, 0
    return _UNSTORABLE.subn(REPLACEMENT, text)


def clean(value: Any) -> tuple[Any, int]:
    """`value` (a text, or a record: dicts, lists and tuples of texts and other values) cleaned as `clean_text`
    cleans a text, keys included; the same object when nothing needed cleaning. Returns it and the count."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        total = 0
        out: dict[Any, Any] = {}
        for k, v in value.items():
            k2, n1 = clean(k)
            v2, n2 = clean(v)
            out[k2] = v2
            total += n1 + n2
        return (out, total) if total else (value, 0)
    if isinstance(value, list | tuple):
        total = 0
        items = []
        for v in value:
            v2, n = clean(v)
            items.append(v2)
            total += n
        if not total:
            return value, 0
        return (type(value)(items) if isinstance(value, tuple) else items), total
    return value, 0


def clean_params(params: Any) -> Any:
    """A statement's parameters (a sequence or a mapping) with every text cleaned (`clean_text`); the same
    object when none needed it. Bytes (a letter's file) are left as they are: they are stored as bytes."""
    if isinstance(params, dict):
        if not any(_unclean(v) for v in params.values()):
            return params
        return {k: clean_text(v)[0] if isinstance(v, str) else v for k, v in params.items()}
    if isinstance(params, list | tuple):
        if not any(_unclean(v) for v in params):
            return params
        return tuple(clean_text(v)[0] if isinstance(v, str) else v for v in params)
    return params


def _unclean(value: Any) -> bool:
    return isinstance(value, str) and type(value) is not Cleaned and needs_cleaning(value)


def needs_cleaning(text: str) -> bool:
    """Whether `text` holds a character to clean; quick (a C-speed scan) for the texts that do not."""
    if "\x00" in text:
        return True
    if text.isascii():
        return False
    try:
        text.encode("utf-16-le")  # a lone surrogate cannot be encoded (UTF-16: some 6 times quicker than UTF-8)
    except UnicodeEncodeError:
        return True
    return False


def note(count: int) -> str:
    """What the history row of a cleaning says."""
    return (f"replaced {count} character{'s' if count != 1 else ''} the database cannot store (NUL or a broken "
            f"surrogate) with {REPLACEMENT}")
