"""Turning whatever a clerk types into a full-text query that SQLite's FTS5 accepts.

FTS5 has its own syntax (quotes, `AND`/`OR`/`NOT`, `NEAR`, `*`, `^`, column filters), and a stray
quote or NUL in the search box used to be a syntax error. Here every word becomes a quoted string
(its own quotes doubled), so the query means "letters with all these words" and nothing typed can
be read as an operator. Repeated words are asked once: FTS5's cost grows with the square of the
phrases in a query, and the same word twice finds the same letters.
"""

from __future__ import annotations

import re

_UNSEARCHABLE = re.compile(r"[\x00-\x1f\x7f]")
MAX_WORDS = 32
"""More words than this are not a search but a pasted paragraph; the first ones decide already."""


def fts_words(text: str) -> list[str]:
    """The distinct words of `text`, in order (case does not count), without control characters; a "word"
    of punctuation only (a lone quote or dash) is left out, since it would match no letter at all."""
    seen: set[str] = set()
    words = []
    for word in _UNSEARCHABLE.sub(" ", text).split():
        key = word.casefold()
        if key not in seen and any(ch.isalnum() for ch in word):  # punctuation alone is no word to FTS5
            seen.add(key)
            words.append(word)
    return words
