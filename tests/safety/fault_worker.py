"""A process that imports, saves, exports and re-parses on a review database until it is killed.

`python -m tests.safety.fault_worker DB WORK_DIR MODE SEED` prints "ready", then one line per finished
operation (flushed at once, after the commit): what the parent may then expect to find stored.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from imr_desk.export import ExportSet, export_set
from imr_desk.store import Database, VersionConflict

SEEDS = sorted((Path(__file__).resolve().parent.parent / "data" / "seeds").glob("*.txt"))
ALL = ExportSet(status=["to review", "in review", "reviewed", "postponed"])


def say(*words: object) -> None:
    print(*words, flush=True)


def main() -> None:
    db_path, work, mode, seed = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    rng = random.Random(seed)
    db = Database.open(db_path, user=f"worker{seed}")
    say("ready")
    n = 0
    while True:
        n += 1
        step = rng.choice(["import", "save", "export", "reparse"]) if mode == "mixed" else mode
        if step == "import":
            path = work / f"new-{seed}-{n}.txt"
            path.write_bytes(rng.choice(SEEDS).read_bytes() + f"\nCopy {seed}.{n}\n".encode())
            report = db.import_paths([path], batch=f"sweep {seed}")
            for letter_id in report.added_ids:
                say("added", letter_id, db.letter(letter_id).sha256)
        elif step == "save":
            ids = [r.id for r in db.queue({}, limit=500)]
            letter = db.letter(rng.choice(ids))
            record = letter.record
            record["summary"] = f"summary {seed}.{n}"
            if record.get("items"):
                record["items"][0]["request"] = f"request {seed}.{n}"
            try:
                version = db.save_record(letter.id, record, letter.version)
            except VersionConflict:
                continue
            say("saved", letter.id, version, record["summary"])
        elif step == "export":
            fmt = rng.choice(["csv", "jsonl", "xlsx", "sqlite"])
            name = {"csv": "", "jsonl": ".jsonl", "xlsx": ".xlsx", "sqlite": ".db"}[fmt]
            result = export_set(db, fmt, work / f"export-{seed}-{n}{name}", ALL)
            say("exported", result.manifest_path)
        else:
            with db.transaction("mark letters for re-parsing"):
                db.conn.execute("UPDATE letters SET parser_version = 'old' WHERE id % 3 = ?", (n % 3,))
            report = db.reparse()
            say("reparsed", len(report.replaced) + len(report.recorded) + report.unchanged)


if __name__ == "__main__":
    main()
