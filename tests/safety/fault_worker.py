"""A process that imports, saves, exports and re-parses on a review database until it is killed.

`python -m tests.safety.fault_worker DB WORK_DIR MODE SEED` prints "ready", then one line per finished
operation (flushed at once, after the commit): what the parent may then expect to find stored, each
followed by "step N": the checkpoints passed so far.

Checkpoints: every SQL statement (a COMMIT named "commit"), and every folder made, file renamed or
removed, folder tree removed and staging folder noted (`imr_desk.export.safety._register`), counted
just before it happens. With IMR_FAULT_KILL_AT=N the worker kills itself (SIGKILL) at its Nth
checkpoint, after printing "kill N NAME K" (the Kth checkpoint of that name); with NAME:K, at the Kth
checkpoint of that name. The work is the same for the same seed and database, so the same N kills at
the same step: a sweep that fails can be run again to the step.
"""

from __future__ import annotations

import functools
import os
import random
import shutil
import signal
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from imr_desk.export import ExportSet, export_set, safety
from imr_desk.store import Database, VersionConflict
from imr_desk.store.engine import SqliteConnection

SEEDS = sorted((Path(__file__).resolve().parent.parent / "data" / "seeds").glob("*.txt"))
ALL = ExportSet(status=["to review", "in review", "reviewed", "postponed"])


def say(*words: object) -> None:
    print(*words, flush=True)


class Checkpoints:
    """Counts the worker's checkpoints; kills the process at the one IMR_FAULT_KILL_AT names."""

    def __init__(self, spec: str | None) -> None:
        self.count = 0
        self.by_name: Counter[str] = Counter()
        self.name: str | None = None
        self.at: int | None = None
        if spec:
            name, _, at = spec.rpartition(":")
            self.name, self.at = name or None, int(at)

    def reached(self, name: str) -> None:
        self.count += 1
        self.by_name[name] += 1
        n = self.count if self.name is None else self.by_name[name] if name == self.name else None
        if n is not None and n == self.at:
            say("kill", self.count, name, self.by_name[name])
            os.kill(os.getpid(), signal.SIGKILL)

    def wrap(self, owner: Any, attr: str, name: str | Callable[..., str]) -> None:
        original = getattr(owner, attr)

        @functools.wraps(original)
        def checked(*args: Any, **kwargs: Any) -> Any:
            self.reached(name if isinstance(name, str) else name(*args))
            return original(*args, **kwargs)

        setattr(owner, attr, checked)

    def install(self) -> None:
        def statement(_conn: Any, sql: str, *_rest: Any) -> str:
            return "commit" if sql.strip().upper() == "COMMIT" else "statement"

        self.wrap(SqliteConnection, "execute", statement)
        self.wrap(SqliteConnection, "executemany", "statement")
        self.wrap(SqliteConnection, "begin", "begin")
        for attr in ("mkdir", "replace", "rename", "unlink", "rmdir"):
            self.wrap(os, attr, attr)
        self.wrap(shutil, "rmtree", "rmtree")
        self.wrap(safety, "_register", "note")


def main() -> None:
    db_path, work, mode, seed = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    rng = random.Random(seed)
    db = Database.open(db_path, user=f"worker{seed}")
    checkpoints = Checkpoints(os.environ.get("IMR_FAULT_KILL_AT"))
    checkpoints.install()
    say("ready")
    n = 0
    while True:
        if n:
            say("step", checkpoints.count)
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
