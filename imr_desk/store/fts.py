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


SNIPPET_WORDS = 12  # the words a search hit's snippet shows around the first word found
SNIPPET_SCAN = 1_000_000
"""The characters of each column a snippet looks through for a searched word: a letter of thousands of items
is megabytes of text, and FTS5's own snippet() scores every place a word occurs (seconds on such a letter)."""
_TOKEN = re.compile(r"[^\W_]+")  # a word as FTS5's unicode61 tokenizer reads it: a run of letters and digits
_SPACE = re.compile(r"\s+")
_ENDINGS = ("ies", "es", "s", "ing", "ed")  # what the porter stemmer takes off, roughly: "therapies" finds "therapy"


def _prefixes(words: list[str]) -> list[str]:
    out: list[str] = []
    for word in words:
        for run in _TOKEN.findall(word.casefold()):
            out.append(run)
            for ending in _ENDINGS:
                if run.endswith(ending) and len(run) - len(ending) >= 4:
                    out.append(run[: -len(ending)])
                    break
    return sorted(set(out), key=len, reverse=True)


def snippet(columns: list[str | None], query: str, words: int = SNIPPET_WORDS) -> str:
    """The piece of a hit's text a search result shows: about `words` words around the first searched word
    found in the first column holding one (FTS5's column order), the searched words [marked], "…" where
    the text goes on. Bounded: each column is looked through for its first `SNIPPET_SCAN` characters only.
    Nothing found there (a word matched through its stem only, or further on): the first column's beginning.
    """
    prefixes = _prefixes(fts_words(query))
    if not prefixes:
        return ""
    found = re.compile(r"(?<![^\W_])(?:" + "|".join(re.escape(p) for p in prefixes) + r")[^\W_]*", re.IGNORECASE)
    for column in columns:
        if not column:
            continue
        match = found.search(column, 0, SNIPPET_SCAN)
        if match is None:
            continue
        before = words // 3
        start = max(0, match.start() - 40 * (before + 1))
        window = column[start: match.end() + 40 * words]
        tokens = list(_TOKEN.finditer(window))
        at = next(i for i, t in enumerate(tokens) if t.start() >= match.start() - start)
        first = max(0, at - before)
        shown = tokens[first: first + words]
        cut_before = start + shown[0].start() > 0 and (first > 0 or start > 0)
        cut_after = start + shown[-1].end() < len(column) and (first + words < len(tokens) or
                                                               start + len(window) < len(column))
        parts: list[str] = []
        for i, token in enumerate(shown):
            if i:
                parts.append(_SPACE.sub(" ", window[shown[i - 1].end(): token.start()]))
            text = token.group()
            parts.append(f"[{text}]" if found.fullmatch(text) else text)
        return ("…" if cut_before else "") + "".join(parts) + ("…" if cut_after else "")
    first_text = next((c for c in columns if c), "")
    head = first_text[:40 * words].split()[:words]
    return " ".join(head) + ("…" if len(head) == words else "")
