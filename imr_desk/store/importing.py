"""Importing letters: files, folders (recursive) and .zip archives of PDF and text letters.

`import_iter` is a generator (one event per letter) so the window can run it a step at a time on its
writer thread, with a progress bar and a cancel button; `import_paths` runs it to the end. Each letter
is stored in its own transaction: a kill in the middle loses at most the letter being stored, never
half of one. A bad file is reported and the import goes on with the others.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from imr_desk.core import parse_letter, read_letter
from imr_desk.core.api import MAX_LETTER_BYTES
from imr_desk.core.reading import sha256_of
from imr_desk.store.database import LetterStore
from imr_desk.store.errors import DiskFull, NotWritable, StoreError
from imr_desk.store.roundtrip import import_jsonl

log = logging.getLogger(__name__)

LETTER_SUFFIXES = (".pdf", ".txt")
ARCHIVE_SUFFIXES = (".zip",)
EXPORT_SUFFIXES = (".jsonl",)


@dataclass(frozen=True)
class ImportEvent:
    done: int
    total: int
    name: str
    outcome: str  # 'added' | 'duplicate' | 'failed'
    message: str | None = None
    letter_id: int | None = None


@dataclass
class ImportReport:
    batch: str
    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    warned: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
    added_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"{len(self.added)} letter(s) added, {len(self.duplicates)} already in the database, "
                f"{len(self.failed)} failed")
        if self.ignored:
            text += f", {len(self.ignored)} other file(s) ignored"
        if self.cancelled:
            text = "Cancelled: " + text
        return text + "."


@dataclass(frozen=True)
class _Source:
    label: str  # what the clerk recognises: a path, or archive.zip:member
    name: str  # the letter's file name
    load: Callable[[], bytes]
    kind: str = "letter"  # 'letter' | 'jsonl' | 'failed'
    problem: str | None = None
    weight: int = 1  # steps of progress: one per letter (a JSON Lines export: one per line)


def _file_source(p: Path) -> _Source:
    try:
        size = p.stat().st_size
    except OSError as exc:
        return _Source(str(p), p.name, bytes, "failed", f"could not read the file ({exc.strerror or exc})")
    if size > MAX_LETTER_BYTES:  # said before reading it, not after
        return _Source(str(p), p.name, bytes, "failed", "the file is larger than 200 MB; it is not an IMR letter")
    return _Source(str(p), p.name, p.read_bytes)


def _jsonl_source(p: Path) -> _Source:
    """A JSON Lines export, weighed by its lines so that progress moves letter by letter."""
    lines = 0
    try:
        with open(p, "rb") as f:
            for raw in f:
                lines += bool(raw.strip())
    except OSError:
        lines = 1  # the import itself reports why it cannot be read
    return _Source(str(p), p.name, p.read_bytes, "jsonl", weight=max(1, lines))


def _zip_sources(p: Path) -> list[_Source]:
    try:
        zf = zipfile.ZipFile(p)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return [_Source(str(p), p.name, bytes, "failed", f"not a readable .zip archive ({exc})")]
    out = []
    for info in sorted(infos, key=lambda i: i.filename):
        member = info.filename
        base = Path(member).name
        if info.is_dir() or base.startswith((".", "__MACOSX")) or "__MACOSX/" in member:
            continue
        label = f"{p}:{member}"
        if base.lower().endswith(ARCHIVE_SUFFIXES + EXPORT_SUFFIXES):
            out.append(_Source(label, base, bytes, "failed", "an archive or export inside an archive is not read; "
                                                              "extract it and import it on its own"))
            continue
        if not base.lower().endswith(LETTER_SUFFIXES):
            continue
        if info.file_size > MAX_LETTER_BYTES:
            out.append(_Source(label, base, bytes, "failed", "larger than 200 MB inside the archive; not a letter"))
            continue

        def load(zf: zipfile.ZipFile = zf, info: zipfile.ZipInfo = info) -> bytes:
            return zf.read(info)

        out.append(_Source(label, base, load))
    return out


def expand(paths: Iterable[str | Path], ignored: list[str]) -> list[_Source]:
    """Everything to import, in a stable order; folders are walked, archives listed (not read yet)."""
    out: list[_Source] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                rel = child.relative_to(p)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                if child.is_symlink() and child.is_dir():  # not walked: a link may loop back
                    ignored.append(f"{child} (a link to a folder: import that folder itself)")
                    continue
                if not child.is_file():
                    continue
                suffix = child.suffix.lower()
                if suffix in LETTER_SUFFIXES:
                    out.append(_file_source(child))
                elif suffix in ARCHIVE_SUFFIXES:
                    out.extend(_zip_sources(child))
                elif suffix in EXPORT_SUFFIXES:
                    out.append(_jsonl_source(child))
                else:
                    ignored.append(str(child))
        elif p.is_file():
            suffix = p.suffix.lower()
            if suffix in ARCHIVE_SUFFIXES:
                out.extend(_zip_sources(p))
            elif suffix in EXPORT_SUFFIXES:
                out.append(_jsonl_source(p))
            else:  # named by the clerk: try it whatever its name says
                out.append(_file_source(p))
        elif p.exists():
            out.append(_Source(str(p), p.name, bytes, "failed", "not a regular file (a pipe or a device?)"))
        else:
            out.append(_Source(str(p), p.name, bytes, "failed", "no such file or folder"))
    return out


def default_batch_name() -> str:
    return "import " + datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def add_letter(db: LetterStore, data: bytes, name: str, batch: str | None) -> tuple[str, str | None, int | None]:
    """Read, parse and store one letter. Returns (outcome, message, letter id)."""
    if not data:
        return "failed", "the file is empty (0 bytes)", None
    if len(data) > MAX_LETTER_BYTES:
        return "failed", "the file is larger than 200 MB; it is not an IMR letter", None
    sha = sha256_of(data)
    existing = db.letter_id_by_sha256(sha)
    if existing is not None:
        return "duplicate", f"already in the database as letter {existing}", existing
    letter = read_letter(data, name)
    if letter.error:
        return "failed", letter.error, None
    try:
        parsed = parse_letter(letter, include_text=True)
    except Exception as exc:  # the parser never raises on bad input; if it does, keep the letter anyway
        log.exception("the parser failed on %s", name)
        return "failed", f"the parser failed on this letter ({exc}); please report it", None
    parsed.pop("text", None)  # the text is stored once, in the letters table
    letter_id = db.insert_letter(
        data=data, name=name, media_type=letter.media_type, text=letter.text, page_starts=letter.page_starts,
        parsed=parsed, sha256=sha, batch=batch, layout=parsed.get("layout"),
    )
    if letter_id is None:  # another process stored it a moment ago
        return "duplicate", "already in the database", db.letter_id_by_sha256(sha)
    problems = [p.message for p in letter.problems if p.severity == "error"]
    return "added", ("; ".join(problems) or None), letter_id


def import_iter(db: LetterStore, paths: Iterable[str | Path], batch: str | None = None,
                cancel: Any = None) -> Generator[ImportEvent, None, ImportReport]:
    """Import letters one at a time, yielding an `ImportEvent` after each; returns the `ImportReport`."""
    report = ImportReport(batch=batch or default_batch_name())
    sources = expand(paths, report.ignored)
    total = sum(src.weight for src in sources)
    done = 0
    for src in sources:
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            break
        if src.kind == "jsonl":
            yield from _import_jsonl(db, src, report, done, total, cancel)
            done += src.weight
            if report.cancelled:
                break
            continue
        done += 1
        outcome, message, letter_id = _one(db, src, report.batch)
        if outcome == "added":
            report.added.append(src.label)
            report.added_ids.append(letter_id or 0)
            if message:
                report.warned.append((src.label, message))
        elif outcome == "duplicate":
            report.duplicates.append(src.label)
        else:
            report.failed.append((src.label, message or "could not be imported"))
        yield ImportEvent(done, total, src.label, outcome, message, letter_id)
    return report


def _one(db: LetterStore, src: _Source, batch: str) -> tuple[str, str | None, int | None]:
    if src.kind == "failed":
        return "failed", src.problem, None
    try:
        data = src.load()
    except (OSError, zipfile.BadZipFile, ValueError, RuntimeError) as exc:
        return "failed", f"could not read the file ({getattr(exc, 'strerror', None) or exc})", None
    try:
        return add_letter(db, data, src.name, batch)
    except (DiskFull, NotWritable):
        raise  # nothing else can be stored either: stop and tell the clerk
    except StoreError as exc:
        return "failed", exc.clerk_message, None


def _import_jsonl(db: LetterStore, src: _Source, report: ImportReport, done: int, total: int,
                  cancel: Any = None) -> Generator[ImportEvent, None, None]:
    lines = import_jsonl(db, Path(src.label), report.batch)
    while True:
        if cancel is not None and cancel.is_set():  # a large export file: stop between its letters
            report.cancelled = True
            return
        step = next(lines, None)
        if step is None:
            return
        name, outcome, message, letter_id = step
        done = min(done + 1, total)
        label = f"{src.label}:{name}"
        if outcome == "added":
            report.added.append(label)
            report.added_ids.append(letter_id or 0)
        elif outcome == "duplicate":
            report.duplicates.append(label)
        else:
            report.failed.append((label, message or "could not be imported"))
        yield ImportEvent(done, total, label, outcome, message, letter_id)


def import_paths(db: LetterStore, paths: Iterable[str | Path], batch: str | None = None,
                 progress: Callable[[ImportEvent], Any] | None = None, cancel: Any = None) -> ImportReport:
    gen = import_iter(db, paths, batch=batch, cancel=cancel)
    while True:
        try:
            event = next(gen)
        except StopIteration as stop:
            return stop.value
        if progress is not None:
            progress(event)
