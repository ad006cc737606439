"""Letters for the parser's tests: the real PDFs and seed texts, and small hand-made bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data"


def real_pdfs() -> list[Path]:
    return sorted((DATA / "real").glob("*.pdf"))


def seed_texts() -> list[Path]:
    return sorted((DATA / "seeds").glob("*.txt"))


def gold(stem: str) -> dict:
    return json.loads((DATA / "gold" / f"{stem}.json").read_text())


@pytest.fixture(scope="session")
def schema() -> dict:
    return json.loads((DATA / "record.schema.json").read_text())
