"""Review database speed: importing, searching and opening letters.

Targets (issue 3): importing the shared real PDFs costs at most 2.5x bare PDFium text extraction;
a corpus of 50,000 letters imports at 200 letters a second or more from text and answers searches
in under 100 ms; opening one letter's record with its items and history takes under 5 ms.

Run with: .venv/bin/python -m pytest tests/bench/test_store_bench.py --benchmark-enable -s
IMR_BENCH_LETTERS sets the corpus size (default 50000).
"""

from __future__ import annotations

import datetime
import os
import random
import re
import time
from pathlib import Path

import pytest

from imr_desk.core import read_letter
from imr_desk.store import Database

from .test_parser_bench import PDFS, bare_extraction

DATA = Path(__file__).resolve().parent.parent / "data"
CORPUS_SIZE = int(os.environ.get("IMR_BENCH_LETTERS", "50000"))
_K = CORPUS_SIZE // 3  # a case number in the corpus
_CASE = re.compile(r"CM\d{2}-\d{7}")
_AGE = re.compile(r"\b(\d{2})([- ]year[- ]old)")
_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b[A-Z][a-z]+ \d{1,2}, \d{4}\b")


def _import_all(path: Path) -> int:
    with Database.open(path, user="bench") as db:
        return len(db.import_paths([DATA / "real"]).added)


@pytest.mark.benchmark(group="import-pdf")
def test_bare_extraction_of_the_shared_pdfs(benchmark) -> None:
    assert benchmark(bare_extraction) > 100_000


@pytest.mark.benchmark(group="import-pdf")
def test_import_the_shared_pdfs(benchmark, tmp_path: Path) -> None:
    paths = iter(tmp_path / f"db{i}.db" for i in range(1000))
    added = benchmark.pedantic(lambda: _import_all(next(paths)), rounds=8, iterations=1, warmup_rounds=1)
    assert added == len(PDFS)
    start = time.perf_counter()
    for _ in range(5):
        bare_extraction()
    bare = (time.perf_counter() - start) / 5
    benchmark.extra_info["bare_extraction_s"] = round(bare, 4)
    benchmark.extra_info["ratio_to_bare"] = round(benchmark.stats.stats.mean / bare, 2)


def _variants(n: int) -> list[tuple[str, bytes]]:
    """n distinct letters made from the sample letters' text: other case numbers, ages and names."""
    bases = [read_letter(data, name).text for name, data in PDFS]
    bases += [p.read_text(encoding="utf-8", errors="replace") for p in sorted((DATA / "seeds").glob("*.txt"))]
    rng = random.Random(7)
    out: list[tuple[str, bytes]] = []
    for i in range(n):
        text = bases[i % len(bases)]
        case = f"CM{15 + i % 4}-{i:07d}"
        text = _CASE.sub(case, text)
        text = _AGE.sub(lambda m: f"{rng.randint(20, 79)}{m.group(2)}", text, count=1)
        day = datetime.date(2000, 1, 1) + datetime.timedelta(days=i // len(bases))
        text = _DATE.sub(lambda m, d=day: d.strftime("%m/%d/%Y" if "/" in m.group() else "%B %d, %Y"), text,
                         count=1)
        out.append((f"{case}.txt", text.encode("utf-8")))
    assert len({data for _n, data in out}) == n, "the variants must all differ"
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    """The corpus imported once from a folder of text letters; the import's own figures are kept."""
    root = tmp_path_factory.mktemp("corpus")
    folder = root / "letters"
    for i, (name, data) in enumerate(_variants(CORPUS_SIZE)):
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / name).write_bytes(data)
    path = root / "corpus.db"
    start = time.perf_counter()
    with Database.open(path, user="bench") as db:
        report = db.import_paths([folder])
    seconds = time.perf_counter() - start
    assert len(report.added) == CORPUS_SIZE, report.summary()
    return {"path": path, "seconds": seconds, "rate": CORPUS_SIZE / seconds,
            "size_mb": sum(p.stat().st_size for p in root.glob("corpus.db*")) / 1e6}


@pytest.mark.benchmark(group="corpus")
def test_corpus_import_rate(benchmark, corpus: dict) -> None:
    benchmark.extra_info.update({"letters": CORPUS_SIZE, "import_s": round(corpus["seconds"], 1),
                                 "letters_per_s": round(corpus["rate"], 1), "db_mb": round(corpus["size_mb"], 1)})
    print(f"\nimported {CORPUS_SIZE} letters in {corpus['seconds']:.1f} s = {corpus['rate']:.0f}/s; "
          f"database {corpus['size_mb']:.0f} MB")
    with Database.open(corpus["path"]) as db:
        assert benchmark(db.queue_count) == CORPUS_SIZE


@pytest.mark.benchmark(group="corpus-search")
@pytest.mark.parametrize("query", [f"CM{15 + _K % 4}-{_K:07d}", "lumbar MRI", "acupuncture", "medically necessary",
                                   "Official Disability Guidelines"])
def test_corpus_search(benchmark, corpus: dict, query: str) -> None:
    with Database.open(corpus["path"]) as db:
        hits = benchmark(db.search, query, 50)
    assert hits


@pytest.mark.benchmark(group="corpus-search")
@pytest.mark.parametrize("query", ["lumbar", "medically necessary"])
def test_corpus_queue_search_filter_count(benchmark, corpus: dict, query: str) -> None:
    with Database.open(corpus["path"]) as db:
        def page_and_count() -> int:
            db.queue({"search": query, "status": ["to review", "in review"]}, "decision_date", True, 0, 256)
            return db.queue_count({"search": query})
        assert benchmark(page_and_count) > 0


@pytest.mark.benchmark(group="open-letter")
def test_open_one_letter_with_items_and_history(benchmark, corpus: dict) -> None:
    with Database.open(corpus["path"]) as db:
        letter_id = CORPUS_SIZE // 2
        letter = db.letter(letter_id)
        letter.record["summary"] = "edited"
        db.save_record(letter_id, letter.record, letter.version)

        def open_letter() -> int:
            return len(db.letter(letter_id).record["items"]) + len(db.items(letter_id)) + len(db.history(letter_id))
        assert benchmark(open_letter) >= 3
