"""Re-parsing letters with a newer parser, and what the clerks' corrections say about the parser."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from imr_desk.core.record import to_dict
from imr_desk.logs import describe_error
from imr_desk.store import records as rec
from imr_desk.store.database import LetterStore, ReparseReport

log = logging.getLogger(__name__)


def reparse(db: LetterStore, progress: Callable[[int, int], object] | None = None, force: bool = False,
            ids: list[int] | None = None) -> ReparseReport:
    """Parse letters again with this parser.

    A letter whose record no clerk has changed, and that is not reviewed, gets the new output as its
    record, each change in history (origin 're-parse'). For every other letter the clerk's record stays
    as it is and only the parser's output is replaced (and noted in history), so accuracy compares
    against the newest parser. A letter open in a window (a lease whose process still runs) is left as
    it is and reported in `leased`; the next re-parse takes it.
    """
    from imr_desk.core import PARSER_VERSION, letter_record, read_letter  # the parser: re-parse only
    from imr_desk.store.ocr_layers import load_layer

    report = ReparseReport()
    where = "" if force else " WHERE parser_version != ?"
    params = () if force else (PARSER_VERSION,)
    if ids is None:  # `ids`: only these letters (those OCR has just read), whatever their parser version
        ids = [r[0] for r in db.conn.execute(f"SELECT id FROM letters{where} ORDER BY id", params)]
    if ids:
        db.require_write("re-parse the letters")  # one message before any work, not one a letter
    for n, letter_id in enumerate(ids, 1):
        holder = db.live_leases().get(letter_id)
        if holder is not None:  # a clerk has it open: replacing it under them would refuse their next save
            report.leased.append((letter_id, holder))
            if progress is not None:
                progress(n, len(ids))
            continue
        try:
            row = db.conn.execute(
                "SELECT l.name, l.status, c.parsed, coalesce(c.record, c.parsed), l.version, l.parser_version, f.data FROM letters l "
                "JOIN contents c ON c.letter_id = l.id JOIN files f ON f.letter_id = l.id WHERE l.id = ?",
                (letter_id,)).fetchone()
            if row is None:
                continue
            name, status, parsed_json, record_json, version, old_pv, data = row
            letter = read_letter(bytes(data), name, load_layer(db, letter_id))
            new = to_dict(letter_record(letter))  # the store takes the contract's dict until it takes a Record
            old_parsed = json.loads(parsed_json)
            if rec.dumps(new) == parsed_json and old_pv == PARSER_VERSION:
                report.unchanged += 1
                db.set_parser_version(letter_id, PARSER_VERSION)
                continue
            outcome = db.apply_reparse(letter_id, new, letter.text, letter.page_starts, seen=(version, status),
                                       old_parser_version=old_pv, old_parsed=old_parsed)
            if outcome == "replaced":
                report.replaced.append(letter_id)
            elif outcome == "recorded":
                report.recorded.append(letter_id)
            elif outcome == "leased":
                report.leased.append((letter_id, db.live_leases().get(letter_id) or "another clerk"))
        except Exception as exc:  # noqa: BLE001 - one letter must not stop the others
            log.exception("re-parsing letter %s failed", letter_id)
            report.failed.append((letter_id, getattr(exc, "clerk_message", None) or describe_error(exc)))
        if progress is not None:
            progress(n, len(ids))
    return report


_ITEM_INDEX = re.compile(r"^items\.\d+\.")


def accuracy(db: LetterStore) -> dict[str, dict[str, Any]]:
    """For reviewed letters: per field, how often the parser's value survived the clerk's review."""
    kept: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for parsed_json, record_json in db.conn.execute("SELECT c.parsed, coalesce(c.record, c.parsed) FROM letters l JOIN contents c ON c.letter_id = l.id "
                                                   "WHERE l.status = 'reviewed'"):
        parsed, record = json.loads(parsed_json), json.loads(record_json)
        aligned, removed = rec.align_items(parsed.get("items") or [], record.get("items") or [])
        parsed = {**parsed, "items": aligned}
        a, b = rec.flatten(parsed), rec.flatten(record)
        changed = {p for p, _o, _n in rec.diff(parsed, record)}
        for item in removed:  # an item the clerk struck out: everything the parser read there was wrong
            for k in rec.ITEM_COLUMNS:
                if item.get(k) not in (None, "", []) and k != "decision_stated":
                    total[f"items.{k}"] += 1
        for path in set(a) | set(b):
            key = _ITEM_INDEX.sub("items.", path)
            if a.get(path) in (None, "", []) and b.get(path) in (None, "", []):
                continue  # nothing to read and nothing read: says nothing about the parser
            total[key] += 1
            if path not in changed:
                kept[key] += 1
    return {k: {"kept": kept[k], "total": total[k], "rate": round(kept[k] / total[k], 4)}
            for k in sorted(total)}


def stats(db: LetterStore) -> dict[str, Any]:
    first = db.conn.nulls(False)  # "(none)" first on both engines, as SQLite orders NULL

    def counts(sql: str) -> dict[str, int]:
        return {str(k) if k is not None else "(none)": int(v) for k, v in db.conn.execute(sql)}

    return {
        "letters": int(db.conn.execute("SELECT count(*) FROM letters").fetchone()[0]),
        "by_status": counts(f"SELECT status, count(*) FROM letters GROUP BY status ORDER BY status{first}"),
        "by_outcome": counts(f"SELECT outcome, count(*) FROM letters GROUP BY outcome ORDER BY outcome{first}"),
        "items_by_decision": counts(f"SELECT decision, count(*) FROM items GROUP BY decision ORDER BY decision{first}"),
        "by_batch": counts("SELECT b.name, count(*) FROM letters l LEFT JOIN batches b ON b.id = l.batch_id "
                           f"GROUP BY l.batch_id, b.name ORDER BY l.batch_id{first}"),
        # the template each letter was recognised as; "(unseen)" for a template the parser does not know
        "by_layout": {k if k != "(none)" else "(unseen)": v for k, v in counts(
            f"SELECT layout, count(*) FROM letters GROUP BY layout ORDER BY layout{first}").items()},
        "with_warnings": int(db.conn.execute("SELECT count(*) FROM letters WHERE warning_count > 0").fetchone()[0]),
        "parser_accuracy": accuracy(db),
    }
