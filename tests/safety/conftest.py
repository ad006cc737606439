"""Hostile inputs, built on real files: the real letters of tests/data, bent the way an attacker would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imr_desk.core import parse_file

DATA = Path(__file__).resolve().parent.parent / "data"
REAL = sorted((DATA / "real").glob("*.pdf"))
SEEDS = sorted((DATA / "seeds").glob("*.txt"))


def letter_line(path: Path) -> dict[str, Any]:
    """The JSON Lines line `imr-desk parse --text` gives for a real letter."""
    return parse_file(path, include_text=True)


def write_jsonl(path: Path, lines: list[bytes | dict[str, Any]]) -> Path:
    with open(path, "wb") as f:
        for line in lines:
            raw = line if isinstance(line, bytes) else json.dumps(line, ensure_ascii=False).encode("utf-8")
            f.write(raw + b"\n")
    return path


@pytest.fixture
def good_lines() -> list[dict[str, Any]]:
    return [letter_line(p) for p in SEEDS[:3]]
