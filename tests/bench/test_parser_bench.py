"""Parser speed. Target: parsing every shared PDF costs at most 1.5x bare PDFium text extraction.

Run with: .venv/bin/python -m pytest tests/bench/test_parser_bench.py --benchmark-only
"""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest

from imr_desk.core import parse_bytes

DATA = Path(__file__).resolve().parent.parent / "data"
PDFS = [(p.name, p.read_bytes()) for p in sorted((DATA / "real").glob("*.pdf"))]
TEXTS = [(p.name, p.read_bytes()) for p in sorted((DATA / "seeds").glob("*.txt"))]


def bare_extraction() -> int:
    chars = 0
    for _name, data in PDFS:
        doc = pdfium.PdfDocument(data)
        for i in range(len(doc)):
            page = doc[i]
            textpage = page.get_textpage()
            chars += len(textpage.get_text_range())
            textpage.close()
            page.close()
        doc.close()
    return chars


def parse_all(letters) -> int:
    return sum(len(parse_bytes(data, name)["items"]) for name, data in letters)


@pytest.mark.benchmark(group="pdf")
def test_bare_pdfium_extraction(benchmark):
    assert benchmark(bare_extraction) > 100_000


@pytest.mark.benchmark(group="pdf")
def test_parse_all_pdfs(benchmark):
    items = benchmark(parse_all, PDFS)
    assert items == 73
    benchmark.extra_info["letters"] = len(PDFS)


@pytest.mark.benchmark(group="text")
def test_parse_seed_texts(benchmark):
    assert benchmark(parse_all, TEXTS) == 10
    benchmark.extra_info["letters"] = len(TEXTS)
