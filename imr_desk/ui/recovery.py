"""Recovery files read back: edits kept when the window closed without saving them are offered again.

When the database refused the last edits (a full disk, a long lock) and the clerk closed anyway, the
session kept them in `recovery/` in the data folder (owner-only), naming the database, the letter
(id, name, sha256) and the version they started from. At the next start on that database the window
offers them: **Restore** saves each through the writer as an ordinary save from that version (when
someone changed the letter since, the store refuses it as a version conflict and keeps the edits in
the letter's history, so still nothing is lost); **Not now** asks again at the next start; **Discard**
deletes them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget

from imr_desk import paths
from imr_desk.store import ClerkError, Database, VersionConflict
from imr_desk.ui.writer import WriteOp, operation_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecoveryFile:
    path: Path
    letter_id: int
    name: str
    version: int
    saved_at: str
    record: dict[str, Any]


def _same_file(a: str, b: Path | str) -> bool:
    """Whether a recovery file's database is this one: the same file, or the same server database (its URL)."""
    from imr_desk.store.engine import display_name, is_server_url

    if is_server_url(a) or is_server_url(b):
        return display_name(a) == display_name(b)
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError):
        return False


def pending(db: Database, db_path: Path | str) -> list[RecoveryFile]:
    """The recovery files of letters in this database (same path, same letter file), oldest first."""
    folder = paths.data_dir() / "recovery"
    found = []
    for path in sorted(folder.glob("letter-*.json")) if folder.is_dir() else []:
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
            if not _same_file(str(kept["database"]), db_path):
                continue
            letter = db.letter(int(kept["letter_id"]))
            if letter.sha256 != kept["sha256"] or not isinstance(kept["record"], dict):
                continue  # another letter under that id now (a different database at the same path)
            found.append(RecoveryFile(path, letter.id, letter.name, int(kept["version"]),
                                      str(kept.get("saved_at") or ""), kept["record"]))
        except (OSError, ValueError, KeyError, TypeError, ClerkError):
            log.warning("recovery file %s could not be read", path, exc_info=True)
    return found


def offer(window: Any) -> QMessageBox | None:
    """Ask the clerk (a non-blocking box) what to do with this database's recovery files; None when none."""
    files = pending(window.db, window.db_path)
    if not files:
        return None
    listed = "\n".join(f"• {f.name} (kept {f.saved_at})" for f in files[:10])
    more = f"\n…and {len(files) - 10} more" if len(files) > 10 else ""
    box = QMessageBox(QMessageBox.Icon.Question, "IMR Desk: unsaved edits were kept",
                      f"When IMR Desk last closed, edits to {len(files)} letter(s) could not be saved and were "
                      f"kept in recovery files:\n\n{listed}{more}\n\nRestore them into the database now?",
                      QMessageBox.StandardButton.NoButton, _widget(window))
    box.setObjectName("recoveryBox")
    restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
    discard = box.addButton("Discard them", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(restore)

    def chosen(_result: int) -> None:
        if box.clickedButton() is restore:
            for f in files:
                _restore(window, f)
        elif box.clickedButton() is discard:
            for f in files:
                f.path.unlink(missing_ok=True)
                log.info("recovery file %s discarded by the clerk", f.path)

    box.finished.connect(chosen)
    box.open()
    return box


def _widget(window: Any) -> QWidget | None:
    return window if isinstance(window, QWidget) else None


def _restore(window: Any, kept: RecoveryFile) -> None:
    def done(_version: int) -> None:
        kept.path.unlink(missing_ok=True)
        window.show_message(f"Restored your kept edits to {kept.name}.")
        _reopen(window, kept.letter_id)

    def refused(exc: ClerkError) -> None:
        if isinstance(exc, VersionConflict):  # the store kept them in the letter's history
            kept.path.unlink(missing_ok=True)
            window.show_message(f"{kept.name} was changed after your edits were kept, so they were not saved "
                                "over those changes; they are in the letter's history (Ctrl+H).")
        else:  # the database still refuses: the file stays, to be offered again
            window.show_message(f"Could not restore the edits to {kept.name}: {exc.clerk_message} They stay "
                                "in their recovery file and are offered again at the next start.")

    op = operation_id()
    WriteOp(lambda db: db.save_record(kept.letter_id, kept.record, kept.version, reason="restored from a recovery "
                                      "file", op=op), "restore kept edits").success(done).failure(refused).run(window.writer)


def _reopen(window: Any, letter_id: int) -> None:
    """The window shows the letter as restored, not as it was before (its next save would conflict)."""
    session = window.session
    if session.letter_id == letter_id and not session.dirty:
        session.close_letter()
        window.open_letter(letter_id)
