"""Importing letters: files, folders (recursive) and .zip archives of PDF and text letters.

`import_iter` is a generator (one event per letter) so the window can run it a step at a time on its
writer thread, with a progress bar and a cancel button; `import_paths` runs it to the end. Each letter
is stored in its own transaction: a kill in the middle loses at most the letter being stored, never
half of one. A bad file is reported and the import goes on with the others.
"""

from __future__ import annotations

import logging
import re
import stat
import zipfile
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from imr_desk.core import letter_record, limits, read_letter
from imr_desk.core.limits import shown_name
from imr_desk.core.ocr import OcrCancelled, OcrLayer, OcrUnavailable, ScanTooLarge
from imr_desk.core.reading import TEXT, ReadProblem, media_type_of, sha256_of
from imr_desk.core.record import to_dict
from imr_desk.store.database import LetterStore
from imr_desk.store.errors import StoreError
from imr_desk.store.jsonl import count_lines
from imr_desk.store.ocr_layers import run_ocr, save_layer
from imr_desk.store.roundtrip import STOPS_THE_IMPORT, import_jsonl

log = logging.getLogger(__name__)

LETTER_SUFFIXES = (".pdf", ".txt", ".png", ".jpg", ".jpeg", ".tif", ".tiff")  # images: scans, read by OCR
ARCHIVE_SUFFIXES = (".zip",)
EXPORT_SUFFIXES = (".jsonl",)
NOT_A_LETTER = ("not a letter file: IMR Desk reads .pdf, .txt, .png, .jpg, .tif letters, .zip archives of them and "
                ".jsonl exports")
MACOS_NOTES = "macOS's own notes about the files, not letters"
_NOTHING_CHANGED = re.compile(r"nothing was (changed|half-written)", re.IGNORECASE)


@dataclass(frozen=True)
class ImportEvent:
    done: int
    total: int
    name: str
    outcome: str  # 'added' | 'duplicate' | 'failed', or 'ocr' while a scan's pages are read
    message: str | None = None
    letter_id: int | None = None
    pages: tuple[int, int] | None = None
    """While OCR reads a scan ('ocr'): pages done, pages to do."""


@dataclass
class ImportReport:
    batch: str
    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    duplicate_ids: list[int] = field(default_factory=list)  # the letter each duplicate already is (0: unknown)
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
    path: Path | None = None  # a JSON Lines export's own path (the label is for showing)


def _file_source(p: Path) -> _Source:
    label = shown_name(str(p))
    try:
        size = p.stat().st_size
    except OSError as exc:
        return _Source(label, shown_name(p.name), bytes, "failed", f"could not read the file ({exc.strerror or exc})")
    problem = limits.too_big(size, is_pdf=True)
    if problem is None and size > limits.MAX_TEXT_FILE_BYTES:  # said before reading it, not after
        problem = limits.too_big(size, is_pdf=_starts_as_pdf(p))
    if problem:
        return _Source(label, shown_name(p.name), bytes, "failed", problem)
    return _Source(label, shown_name(p.name), p.read_bytes)


def _starts_as_pdf(p: Path) -> bool:
    try:
        with open(p, "rb") as f:
            return media_type_of(f.read(1024), p.name) != TEXT  # a PDF or a scanned image
    except OSError:
        return False


def _jsonl_source(p: Path) -> _Source:
    """A JSON Lines export, weighed by its lines so that progress moves letter by letter."""
    try:
        lines = count_lines(p)
    except OSError:
        lines = 1  # the import itself reports why it cannot be read
    return _Source(shown_name(str(p)), shown_name(p.name), p.read_bytes, "jsonl", weight=max(1, lines), path=p)


def _zip_sources(p: Path, ignored: list[str]) -> list[_Source]:
    shown = shown_name(str(p))
    try:
        zf = zipfile.ZipFile(p)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return [_Source(shown, shown_name(p.name), bytes, "failed", f"not a readable .zip archive ({exc})")]
    out = []
    total = 0
    macos = False
    for info in sorted(infos, key=lambda i: i.filename):
        member = info.filename
        base = Path(member).name
        label = f"{shown}:{shown_name(member)}"
        if info.is_dir():
            continue
        if "__MACOSX/" in member or member.startswith("__MACOSX"):
            macos = True
            continue
        wanted = base.lower().endswith(LETTER_SUFFIXES + ARCHIVE_SUFFIXES + EXPORT_SUFFIXES)
        parts = Path(member).parts
        if ".." in parts or member.startswith(("/", "\\")):
            ignored.append(f"{label} (its name leads out of the archive, by ../ or a leading /: it is neither "
                           "extracted nor read)")
            continue
        if any(part.startswith(".") for part in parts):
            ignored.append(f"{label} (a hidden file in the archive"
                           f"{': extract it and import it by its name' if wanted else ''})")
            continue
        if base.lower().endswith(ARCHIVE_SUFFIXES + EXPORT_SUFFIXES):
            out.append(_Source(label, shown_name(base), bytes, "failed", "an archive or export inside an archive "
                                                                        "is not read; extract it and import it on its own"))
            continue
        if not wanted:
            ignored.append(f"{label} ({NOT_A_LETTER})")
            continue
        problem = limits.too_big(info.file_size, is_pdf=True) or limits.archive_member_problem(
            info.file_size, info.compress_size, total)
        if problem:
            out.append(_Source(label, shown_name(base), bytes, "failed", problem))
            continue
        total += info.file_size

        def load(zf: zipfile.ZipFile = zf, info: zipfile.ZipInfo = info) -> bytes:
            return _read_member(zf, info)

        out.append(_Source(label, shown_name(base), load))
    if macos:
        ignored.append(f"{shown}:__MACOSX/ ({MACOS_NOTES})")
    return out


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, never more than it declared (an archive may lie about a member's size)."""
    chunks = []
    left = info.file_size
    with zf.open(info) as f:
        while chunk := f.read(min(1 << 20, left + 1)):
            chunks.append(chunk)
            left -= len(chunk)
            if left < 0:
                raise ValueError("the member is larger than the archive says; the archive is damaged or hostile")
    return b"".join(chunks)


def _special(child: Path) -> str | None:
    """Why a folder entry that is neither a folder nor a regular file is not read, or None when it is one."""
    try:
        mode = child.stat().st_mode
    except FileNotFoundError:
        return "a link to a file that does not exist (a dangling link)"
    except OSError as exc:
        return f"could not be looked at ({exc.strerror or exc})"
    if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a pipe, not a file: not read"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file: not read"
    return "a device, not a file: not read"


def expand(paths: Iterable[str | Path], ignored: list[str]) -> list[_Source]:
    """Everything to import, in a stable order; folders are walked, archives listed (not read yet).

    Nothing is passed over without a word: a hidden letter file, a link to nothing, a pipe or a
    device goes into `ignored` with the reason (or fails, when it bears a letter's name).
    """
    out: list[_Source] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                rel = child.relative_to(p)
                suffix = child.suffix.lower()
                wanted = suffix in LETTER_SUFFIXES + ARCHIVE_SUFFIXES + EXPORT_SUFFIXES
                if "__MACOSX" in rel.parts:  # named once, as in an archive
                    if rel.parts[-1] == "__MACOSX":
                        ignored.append(f"{shown_name(str(child))}/ ({MACOS_NOTES})")
                    continue
                if any(part.startswith(".") for part in rel.parts):
                    if rel.parts[-1].startswith(".") and not any(part.startswith(".") for part in rel.parts[:-1]):
                        # named once: the files inside a hidden folder are that folder's
                        if child.is_dir() and not child.is_symlink():
                            ignored.append(f"{shown_name(str(child))} (a hidden folder: the files in it are not read)")
                        else:
                            ignored.append(f"{shown_name(str(child))} (a hidden file"
                                           f"{': import it by its name to read it' if wanted else ''})")
                    continue
                if child.is_symlink() and child.is_dir():  # not walked: a link may loop back
                    ignored.append(f"{shown_name(str(child))} (a link to a folder: import that folder itself)")
                    continue
                special = _special(child)
                if special is not None:
                    if wanted:
                        out.append(_Source(shown_name(str(child)), shown_name(child.name), bytes, "failed", special))
                    else:
                        ignored.append(f"{shown_name(str(child))} ({special})")
                    continue
                if child.is_dir():
                    continue
                if suffix in LETTER_SUFFIXES:
                    out.append(_file_source(child))
                elif suffix in ARCHIVE_SUFFIXES:
                    out.extend(_zip_sources(child, ignored))
                elif suffix in EXPORT_SUFFIXES:
                    out.append(_jsonl_source(child))
                else:
                    ignored.append(f"{shown_name(str(child))} ({NOT_A_LETTER})")
        elif p.is_file():
            suffix = p.suffix.lower()
            if suffix in ARCHIVE_SUFFIXES:
                out.extend(_zip_sources(p, ignored))
            elif suffix in EXPORT_SUFFIXES:
                out.append(_jsonl_source(p))
            else:  # named by the clerk: try it whatever its name says
                out.append(_file_source(p))
        elif p.exists():
            out.append(_Source(shown_name(str(p)), shown_name(p.name), bytes, "failed",
                               _special(p) or "not a regular file (a pipe or a device?)"))
        elif p.is_symlink():
            out.append(_Source(shown_name(str(p)), shown_name(p.name), bytes, "failed",
                               "a link to a file that does not exist (a dangling link)"))
        else:
            out.append(_Source(shown_name(str(p)), shown_name(p.name), bytes, "failed", "no such file or folder"))
    return out


def default_batch_name() -> str:
    return "import " + datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def add_letter(db: LetterStore, data: bytes, name: str, batch: str | None,
               ocr_layer: OcrLayer | None = None, ocr_problem: str | None = None, *,
               sha256: str | None = None) -> tuple[str, str | None, int | None]:
    """Read, parse and store one letter (with its OCR layer, for a scan). Returns (outcome, message, letter id).

    `ocr_problem`: why a scan could not be read by OCR (no engine, a failure); it is stored for review by hand.
    `sha256`: the file's, when the caller has it already (a large scan is not hashed twice).
    """
    if not data:
        return "failed", "the file is empty (0 bytes)", None
    media_type = media_type_of(data, name)
    too_big = limits.too_big(len(data), is_pdf=media_type != TEXT)  # a PDF or a scanned image
    if too_big:
        return "failed", too_big, None
    sha = sha256 or sha256_of(data)
    existing = db.letter_id_by_sha256(sha)
    if existing is not None:
        return "duplicate", f"already in the database as letter {existing}", existing
    letter = read_letter(data, name, ocr_layer)
    if ocr_problem:
        letter.problems.append(ReadProblem("ocr-unavailable" if "install" in ocr_problem else "ocr-failed",
                                           ocr_problem))
    if letter.error:
        return "failed", letter.error, None
    too_long = limits.too_much_text(len(letter.text))
    if too_long:
        return "failed", too_long, None
    try:
        record = letter_record(letter)  # without its text: the text is stored once, in the letters table
    except Exception as exc:  # the parser never raises on bad input; if it does, keep the letter anyway
        log.exception("the parser failed on %s", name)
        return "failed", f"the parser failed on this letter ({exc}); please report it", None
    too_many = limits.too_many_items(len(record.items))
    if too_many:
        return "failed", too_many, None
    parsed = to_dict(record)  # the store takes the contract's dict until it takes a Record
    unusual = limits.unusual(parsed)
    if unusual:
        parsed["warnings"] = [*(parsed.get("warnings") or []), *unusual]
    with db.transaction("store the letter"):  # the letter and its OCR layer together, or neither
        letter_id = db.insert_letter(
            data=data, name=name, media_type=letter.file_type or letter.media_type, text=letter.text,
            page_starts=letter.page_starts, parsed=parsed, sha256=sha, batch=batch, layout=parsed.get("layout"),
        )
        if letter_id is not None and ocr_layer is not None:
            save_layer(db, letter_id, ocr_layer)
    if letter_id is None:  # another process stored it a moment ago
        return "duplicate", "already in the database", db.letter_id_by_sha256(sha)
    problems = [p.message for p in letter.problems if p.severity == "error"] + [w["message"] for w in unusual]
    if ocr_problem:
        problems.insert(0, ocr_problem)
    return "added", ("; ".join(problems) or None), letter_id


def import_iter(db: LetterStore, paths: Iterable[str | Path], batch: str | None = None,
                cancel: Any = None) -> Generator[ImportEvent, None, ImportReport]:
    """Import letters one at a time, yielding an `ImportEvent` after each; returns the `ImportReport`."""
    report = ImportReport(batch=batch or default_batch_name())
    db.require_write("import the letters")  # a role that may only read: one message before any file is read
    try:
        return (yield from _import_sources(db, paths, report, cancel))
    except StoreError as exc:  # the disk is full, the server went away...: say how far the import got
        raise stopped(exc, report) from (exc.__cause__ or exc)  # the database's own error stays the cause


def stopped(exc: StoreError, report: ImportReport) -> StoreError:
    """`exc` (the condition that stopped an import) told with what the import stored before it: the same
    class (a full disk stays `DiskFull`), its message led by the count, and `report` attached (`.report`).

    Once anything was done, the condition's own "nothing was changed" is left out: the letters stored are kept."""
    kept = len(report.added)
    if not (kept or report.duplicates or report.failed):  # then "nothing was changed" is the truth
        done, cause = "The import stopped before storing any letter", exc.clerk_message
    else:
        parts = [part for part in re.split(r"(?<=[.;])\s+", exc.clerk_message) if not _NOTHING_CHANGED.search(part)]
        cause = " ".join((part[:1].upper() + part[1:]).removesuffix(";") + ("." if part.endswith(";") else "")
                         for part in parts)
        done = (f"The import stopped after storing {kept} letter(s), which are kept ({len(report.duplicates)} "
                f"already in the database, {len(report.failed)} failed)")
    told = type(exc)(f"{done}: {cause} Run the same import again once that is put right: the letters already "
                     "stored are skipped.")
    told.report = report  # type: ignore[attr-defined]
    return told


def _import_sources(db: LetterStore, paths: Iterable[str | Path], report: ImportReport,
                    cancel: Any) -> Generator[ImportEvent, None, ImportReport]:
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
        if src.kind == "failed":
            outcome, message, letter_id = _one(db, src, report.batch)
        else:
            try:
                outcome, message, letter_id = yield from _one_with_ocr(db, src, report.batch, done, total, cancel)
            except OcrCancelled:
                report.cancelled = True
                break
        if outcome == "added":
            report.added.append(src.label)
            report.added_ids.append(letter_id or 0)
            if message:
                report.warned.append((src.label, message))
        elif outcome == "duplicate":
            report.duplicates.append(src.label)
            report.duplicate_ids.append(letter_id or 0)
        else:
            report.failed.append((src.label, message or "could not be imported"))
        yield ImportEvent(done, total, src.label, outcome, message, letter_id)
    return report


def _one_with_ocr(db: LetterStore, src: _Source, batch: str, done: int, total: int,
                  cancel: Any) -> Generator[ImportEvent, None, tuple[str, str | None, int | None]]:
    """One letter; a scan is read by OCR first (in a pool on other threads), with a step per heartbeat
    so that the clerk's saves get in between, and its pages' progress."""
    try:
        data = src.load()
    except (OSError, zipfile.BadZipFile, ValueError, RuntimeError) as exc:
        return "failed", f"could not read the file ({getattr(exc, 'strerror', None) or exc})", None
    layer = None
    problem = None
    sha = sha256_of(data) if data and len(data) <= limits.MAX_LETTER_BYTES else None
    if sha is not None and db.letter_id_by_sha256(sha) is None:
        try:
            steps = run_ocr(data, src.name, cancel)
            while True:
                try:
                    state = next(steps)
                except StopIteration as stop:
                    layer = stop.value
                    break
                yield ImportEvent(done - 1, total, src.label, "ocr",
                                  f"reading page {min(state.done + 1, state.total)} of {state.total} (OCR)",
                                  pages=(state.done, state.total))
        except ScanTooLarge as exc:  # more pages or pixels than a letter has: refused, nothing decoded
            return "failed", exc.clerk_message, None
        except OcrUnavailable as exc:
            problem = exc.clerk_message
        except OcrCancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - the engine failed: the scan is kept for review by hand
            log.warning("OCR of %s failed: %s", src.label, exc, exc_info=True)
            problem = f"OCR could not read the scanned pages: {exc}"
    return _one(db, src, batch, data, layer, problem, sha)


def _one(db: LetterStore, src: _Source, batch: str, data: bytes | None = None, layer: OcrLayer | None = None,
         problem: str | None = None, sha: str | None = None) -> tuple[str, str | None, int | None]:
    if src.kind == "failed":
        return "failed", src.problem, None
    if data is None:
        try:
            data = src.load()
        except (OSError, zipfile.BadZipFile, ValueError, RuntimeError) as exc:
            return "failed", f"could not read the file ({getattr(exc, 'strerror', None) or exc})", None
    try:
        return add_letter(db, data, src.name, batch, layer, problem, sha256=sha)
    except STOPS_THE_IMPORT:
        raise  # nothing else can be stored either: stop and tell the clerk (with the count stored so far)
    except StoreError as exc:
        return "failed", exc.clerk_message, None


def _import_jsonl(db: LetterStore, src: _Source, report: ImportReport, done: int, total: int,
                  cancel: Any = None) -> Generator[ImportEvent, None, None]:
    lines = import_jsonl(db, src.path or Path(src.label), report.batch)
    while True:
        if cancel is not None and cancel.is_set():  # a large export file: stop between its letters
            report.cancelled = True
            return
        step = next(lines, None)
        if step is None:
            return
        name, outcome, message, letter_id = step
        done = min(done + 1, total)
        label = f"{src.label}:{shown_name(name)}"
        if outcome == "added":
            report.added.append(label)
            report.added_ids.append(letter_id or 0)
            if message:
                report.warned.append((label, message))
        elif outcome == "duplicate":
            report.duplicates.append(label)
            report.duplicate_ids.append(letter_id or 0)
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
