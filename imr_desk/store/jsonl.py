"""Reading JSON Lines safely: every line becomes a JSON object or a reason, never an exception.

This is the layer under the round trip (`store/roundtrip.py`), which checks what a line *means*;
here is what a line may *be*. A line is refused, with a reason naming its number, when it is:

- longer than `MAX_LINE_BYTES` (a real letter's line is some 50 KB: its text, record and history;
  a line of hundreds of megabytes is not a letter, and reading it whole would take gigabytes). Such a
  line is skipped in chunks without ever being held in memory;
- nested deeper than `MAX_DEPTH` (a record is 6 levels deep, a history value a few more; 200,000
  levels would overflow Python's recursion before `json.loads` could say anything);
- not UTF-8, not JSON, or not an object;
- carrying a number that is not finite (`NaN`, `Infinity`, `1e999`) or an integer beyond 64 bits:
  SQLite and every export format would fail on it later, for every export that includes the letter.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path
from typing import Any

MAX_LINE_BYTES = 64_000_000
MAX_DEPTH = 64
_INT_LIMIT = 2**63
_CHUNK = 1 << 20


class BadLine(ValueError):
    """A line that cannot be imported; the message says why (and names the part of the line)."""


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def depth_of(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets inside strings do not count)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return raw.count(b"[") + raw.count(b"{")  # cannot be deeper than the brackets it has
    bare = _STRING.sub(b"", raw)
    steps = (1 if b in b"[{" else -1 for b in _BRACKETS.findall(bare))
    return max(accumulate(steps, initial=0))


def _constant(name: str) -> Any:
    raise BadLine(f"holds the number {name}, which is not a finite number (JSON has no {name}); "
                  "exports could not write it")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadLine(f"holds the number {text[:20]}, too large to be a finite number")
    return value


def _int(text: str) -> int:
    if len(text) > 20:
        raise BadLine(f"holds the whole number {text[:20]}…, larger than any value a letter has")
    value = int(text)
    if not -_INT_LIMIT <= value < _INT_LIMIT:
        raise BadLine(f"holds the whole number {text}, larger than any value a letter has")
    return value


def decode_line(raw: bytes) -> dict[str, Any]:
    """One line of JSON Lines as an object; `BadLine` says why it is not one."""
    if len(raw) > MAX_LINE_BYTES:
        raise BadLine(f"is {len(raw) // 1_000_000} MB long; a letter's line is far smaller "
                      f"(at most {MAX_LINE_BYTES // 1_000_000} MB are read)")
    if depth_of(raw) > MAX_DEPTH:
        raise BadLine(f"is nested more than {MAX_DEPTH} levels deep; a letter's record is not")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadLine(f"is not UTF-8 text (byte {exc.start})") from exc
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except json.JSONDecodeError as exc:
        raise BadLine(f"is not JSON ({exc.msg})") from exc
    except RecursionError as exc:  # deeper than Python allows, whatever depth_of counted
        raise BadLine(f"is nested more than {MAX_DEPTH} levels deep; a letter's record is not") from exc
    except ValueError as exc:  # BadLine from a number, or a number Python will not convert
        raise BadLine(str(exc) if isinstance(exc, BadLine) else f"holds a number that cannot be read ({exc})") from exc
    if not isinstance(value, dict):
        raise BadLine("is not a JSON object")
    if _SURROGATE.search(raw):  # "\\ud800" alone is valid JSON but no text: SQLite and files refuse it
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BadLine("holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text") from exc
    return value


def read_lines(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, object, None) for each good line, (line number, None, reason) for each bad one.

    Blank lines are skipped. A line longer than `MAX_LINE_BYTES` is passed over in chunks (reported,
    never read whole). A file that cannot be opened or read gives one (0 or the line, None, reason).
    """
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, after the last line
    except OSError as exc:
        yield 0, None, f"could not read the file ({exc.strerror or exc})"
        return
    with f:
        number = 0
        while True:
            try:
                raw = f.readline(MAX_LINE_BYTES + 1)
            except OSError as exc:
                yield number + 1, None, f"could not read the file past line {number} ({exc.strerror or exc})"
                return
            if not raw:
                return
            number += 1
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                size = len(raw)
                while (rest := f.readline(_CHUNK)) and not rest.endswith(b"\n"):
                    size += len(rest)
                size += len(rest)
                yield number, None, (f"line {number} is {size // 1_000_000} MB long; a letter's line is far "
                                     f"smaller (at most {MAX_LINE_BYTES // 1_000_000} MB are read)")
                continue
            if not raw.strip():
                continue
            try:
                yield number, decode_line(raw), None
            except BadLine as exc:
                yield number, None, f"line {number} {exc}"


def count_lines(path: Path) -> int:
    """How many lines a JSON Lines file has (for progress), read in chunks whatever their length."""
    lines = 0
    last = b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")
