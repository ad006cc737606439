"""The reader every section reader writes through: the text, the record being built, provenance."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from imr_desk.core.parser.rules import Rule
from imr_desk.core.reading import LetterText

_WS = re.compile(r"\s+")


def collapse(s: str) -> str:
    """Whitespace runs to one space, ends trimmed: a value as the clerk reads it."""
    return _WS.sub(" ", s).strip()


@dataclass
class Span:
    start: int
    end: int


class Reader:
    """Holds the text and the record being built, and records provenance for each value."""

    def __init__(self, letter: LetterText, record: dict[str, Any]) -> None:
        self.letter = letter
        self.text = letter.text
        self.record = record
        self.fields: dict[str, dict[str, Any]] = record["fields"]
        self.warnings: list[dict[str, Any]] = record["warnings"]
        self.confidence_cap = 1.0  # lowered for an unseen or partly matched layout

    def trim(self, start: int, end: int) -> tuple[int, int]:
        """Shrink a span so it starts and ends on non-space characters."""
        t = self.text
        while start < end and t[start].isspace():
            start += 1
        while end > start and t[end - 1].isspace():
            end -= 1
        return start, end

    def note(self, path: str, start: int, end: int, rule: Rule, confidence: float | None = None,
             variant: str = "") -> None:
        """Record where the value at `path` was read, by which rule, how surely."""
        start, end = self.trim(start, end)
        conf = rule.confidence if confidence is None else confidence
        self.fields[path] = {
            "start": start,
            "end": end,
            "page": self.letter.page_of(start),
            "confidence": round(min(conf, self.confidence_cap), 2),
            "rule": rule.name + (f"+{variant}" if variant else ""),
        }

    def warn(self, code: str, severity: str, message: str, path: str | None = None) -> None:
        self.warnings.append({"path": path, "code": code, "severity": severity, "message": message})

    def split_list(self, start: int, end: int) -> list[tuple[str, int, int]]:
        """Split text[start:end] on commas and semicolons; each piece with its own span, whitespace collapsed."""
        out = []
        pos = start
        text = self.text
        for piece in re.split(r"([,;])", text[start:end]):
            if piece in (",", ";"):
                pos += 1
                continue
            ps, pe = self.trim(pos, pos + len(piece))
            value = collapse(text[ps:pe]).rstrip(".")
            if value:
                out.append((value, ps, pe))
            pos += len(piece)
        return out
