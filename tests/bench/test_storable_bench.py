"""What cleaning text for the database (store/storable.py) costs a save of a large record.

Target: writing the JSON of an 8,000-item record (about 2 MB) costs at most 10 ms more with the cleaning
than `json.dumps` alone, and the connection does not scan that JSON again.

Run with: .venv/bin/python -m pytest tests/bench/test_storable_bench.py --benchmark-only -s
"""

from __future__ import annotations

import json
import time

import pytest

from imr_desk.store import records as rec
from imr_desk.store.storable import clean_params

RECORD = {"items": [{"request": f"Norco 10/325 mg #60 “item {i}”", "rationale": "é" * 200, "decision": "upheld"}
                    for i in range(8000)]}


def _best(fn, n: int = 5) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


@pytest.mark.benchmark(group="storable")
def test_cleaning_a_large_records_json(benchmark) -> None:
    plain = _best(lambda: json.dumps(RECORD, ensure_ascii=False, separators=(",", ":")))
    text = benchmark(rec.dumps, RECORD)
    counted = _best(lambda: rec.dumps_counted(RECORD))
    again = _best(lambda: clean_params((text, 1)))
    print(f"\njson.dumps {plain * 1000:.1f} ms, with the cleaning {counted * 1000:.1f} ms, "
          f"the connection's look at the cleaned JSON {again * 1e6:.0f} µs ({len(text) / 1e6:.1f} MB)")
    assert counted - plain < 0.010
    assert again < 0.001
