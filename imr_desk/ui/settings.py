"""The window's settings (geometry, splitter sizes, last letter, annotation labels), kept under config_dir()."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from imr_desk import paths

DEFAULT_LABELS = ["extraction error", "illegible", "question", "note"]
RECENT_DATABASES = 8


class Settings:
    """A thin typed layer over an INI-format QSettings file, so tests get their own."""

    def __init__(self) -> None:
        folder = paths.private_dir(paths.config_dir())
        self.path = paths.private_file(folder / "imr-desk.ini")  # Qt keeps an existing file's mode when it saves
        self.qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def bytes(self, key: str) -> QByteArray | None:
        value = self.qs.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set(self, key: str, value: Any) -> None:
        self.qs.setValue(key, value)

    def ints(self, key: str) -> list[int] | None:
        value = self.qs.value(key)
        if isinstance(value, list | tuple):
            try:
                return [int(v) for v in value]
            except (TypeError, ValueError):
                return None
        return None

    def flag(self, key: str, default: bool) -> bool:
        value = self.qs.value(key)
        if value is None:
            return default
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes")
        return bool(value)

    def folder(self, key: str) -> Path | None:
        """The folder a file dialog was last used in (`folders/<key>`), while it still exists."""
        value = self.qs.value(f"folders/{key}")
        path = Path(str(value)) if value else None
        return path if path is not None and path.is_dir() else None

    def set_folder(self, key: str, path: Path) -> None:
        self.qs.setValue(f"folders/{key}", str(path if path.is_dir() else path.parent))

    def text(self, key: str) -> str | None:
        value = self.qs.value(key)
        return str(value) if value is not None else None

    def last_letter(self, db_path: str) -> int | None:
        self.qs.beginGroup("lastLetter")
        try:
            value = self.qs.value(_key(db_path))
        finally:
            self.qs.endGroup()
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    def set_last_letter(self, db_path: str, letter_id: int | None) -> None:
        self.qs.beginGroup("lastLetter")
        try:
            if letter_id is None:
                self.qs.remove(_key(db_path))
            else:
                self.qs.setValue(_key(db_path), letter_id)
        finally:
            self.qs.endGroup()

    def annotation_labels(self) -> list[str]:
        value = self.qs.value("annotations/labels")
        if isinstance(value, str):
            value = [value]
        labels = [str(v).strip() for v in value or [] if str(v).strip()]
        return labels or list(DEFAULT_LABELS)

    def add_annotation_label(self, label: str) -> None:
        """Remember a label the clerk typed, so the list offers it next time."""
        label = " ".join(label.split())
        labels = self.annotation_labels()
        if label and label.lower() not in (x.lower() for x in labels):
            self.qs.setValue("annotations/labels", [*labels, label])

    def clerk_name(self) -> str:
        """"Your name" (preferences): who this window's changes are recorded as; "" for the database's name."""
        return " ".join((self.text("clerk/name") or "").split())

    def set_clerk_name(self, name: str) -> None:
        self.qs.setValue("clerk/name", " ".join(name.split()))

    def recent_databases(self) -> list[str]:
        """The databases opened last (files, and server URLs without their passwords), the latest first."""
        value = self.qs.value("databases/recent")
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or [] if str(v).strip()]

    def add_recent_database(self, name: str) -> None:
        """Remember a database opened (a URL's password is never kept: ~/.pgpass or PGPASSWORD give it)."""
        from imr_desk.store.engine import display_name

        name = display_name(name)
        recent = [name, *(r for r in self.recent_databases() if r != name)][:RECENT_DATABASES]
        self.qs.setValue("databases/recent", recent)

    def sync(self) -> None:
        self.qs.sync()


def _key(db_path: str) -> str:
    """The settings key of a database: a hash of its name without a password (no hash of one is kept either)."""
    import hashlib

    from imr_desk.store.engine import display_name

    return hashlib.sha1(display_name(db_path).encode()).hexdigest()[:16]
