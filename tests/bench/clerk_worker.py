"""One clerk of the team benchmark (tests/bench/test_team_bench.py), as a process of its own.

    python -m tests.bench.clerk_worker DB CLERK SECONDS SEED HOT_IDS OWN_IDS

For SECONDS the clerk opens letters and saves an edit with the version it read, as the window does:
half the time one of the HOT_IDS every clerk works on (so saves collide and must be refused), else
one of its OWN_IDS. Between reading and saving it "types" for a few milliseconds. It prints one JSON
object: the latency of every save attempt, and per letter how many saves landed and how many were
refused as conflicts.
"""

from __future__ import annotations

import json
import random
import sys
import time

from imr_desk.store import Database, VersionConflict


def main(db_target: str, clerk: str, seconds: float, seed: int, hot: list[int], own: list[int]) -> dict:
    rng = random.Random(seed)
    latencies: list[float] = []
    saved: dict[int, int] = {}
    refused: dict[int, int] = {}
    errors: list[str] = []
    n = 0
    with Database.open(db_target, user=clerk) as db:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            letter_id = rng.choice(hot) if rng.random() < 0.5 else rng.choice(own)
            letter = db.letter(letter_id)
            record = letter.record
            n += 1
            record["summary"] = f"{clerk} edit {n}"
            time.sleep(rng.uniform(0.001, 0.01))  # the clerk typing
            start = time.perf_counter()
            try:
                # a reason: each save is its own history row (no folding of a burst of typing)
                db.save_record(letter_id, record, letter.version, reason="bench")
                saved[letter_id] = saved.get(letter_id, 0) + 1
            except VersionConflict:
                refused[letter_id] = refused.get(letter_id, 0) + 1
            except Exception as exc:  # noqa: BLE001 - counted and reported: the benchmark fails on any
                errors.append(f"{type(exc).__name__}: {exc}")
            latencies.append(time.perf_counter() - start)
    return {"clerk": clerk, "latencies": latencies, "saved": saved, "refused": refused, "errors": errors}


if __name__ == "__main__":
    target, who, secs, seed_, hot_ids, own_ids = sys.argv[1:7]
    out = main(target, who, float(secs), int(seed_), json.loads(hot_ids), json.loads(own_ids))
    print(json.dumps(out))
