"""The reader every section reader writes through: the text, the typed record being built, provenance."""

from __future__ import annotations

import re
from dataclasses import dataclass

from imr_desk.core.parser.rules import Rule
from imr_desk.core.reading import LetterText
from imr_desk.core.record import Provenance, Record, Severity, Warning
from imr_desk.core.text import collapse

__all__ = ["Reader", "Span", "collapse"]


@dataclass
class Span:
    start: int
    end: int


class Reader:
    """Holds the text and the record being built, and records provenance for each value."""

    def __init__(self, letter: LetterText, record: Record) -> None:
        self.letter = letter
        self.text = letter.text
        self.record = record
        self.fields: dict[str, Provenance] = record.fields
        self.warnings: list[Warning] = record.warnings
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
        self.fields[path] = Provenance(start=start, end=end, page=self.letter.page_of(start),
                                       confidence=round(min(conf, self.confidence_cap), 2),
                                       rule=rule.name + (f"+{variant}" if variant else ""))

    def warn(self, code: str, severity: Severity | str, message: str, path: str | None = None) -> None:
        self.warnings.append(Warning(path=path, code=code, severity=Severity(severity), message=message))

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
