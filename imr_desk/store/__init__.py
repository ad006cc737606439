"""The review database (an SQLite file through sqlite-utils, or PostgreSQL through psycopg; no Qt): letters,
records, history, search."""

from typing import TYPE_CHECKING, Any

from imr_desk.store.api import Database
from imr_desk.store.database import (
    IN_REVIEW,
    LEASE_SECONDS,
    OPEN_STATUSES,
    POSTPONED,
    REVIEWED,
    STATUSES,
    TO_REVIEW,
    Annotation,
    HistoryRow,
    Letter,
    LetterStore,
    QueueRow,
    ReparseReport,
    SearchHit,
)
from imr_desk.store.engine import display_name, is_server_url
from imr_desk.store.errors import (
    ClerkError,
    ConnectionLost,
    DamagedDatabase,
    DatabaseLocked,
    DiskFull,
    DiskIOError,
    LetterLeased,
    LetterNotFound,
    NewerDatabase,
    NoSuchServerDatabase,
    NotADatabase,
    NotWritable,
    ServerBusy,
    ServerLoginRefused,
    ServerUnreachable,
    StoreError,
    VersionConflict,
)
from imr_desk.store.schema import SCHEMA_VERSION

if TYPE_CHECKING:  # imported on first use (`__getattr__`): importing loads the parser and OCR
    from imr_desk.store.importing import ImportEvent, ImportReport

__all__ = [
    "IN_REVIEW", "LEASE_SECONDS", "OPEN_STATUSES", "POSTPONED", "REVIEWED", "SCHEMA_VERSION", "STATUSES",
    "TO_REVIEW", "Annotation", "ClerkError", "DamagedDatabase", "Database", "DatabaseLocked", "DiskFull", "DiskIOError", "HistoryRow", "ImportEvent",
    "ImportReport", "Letter", "LetterLeased", "LetterStore", "LetterNotFound", "NewerDatabase", "NotADatabase", "NotWritable",
    "QueueRow", "ReparseReport", "SearchHit", "StoreError", "VersionConflict",
    "ConnectionLost", "NoSuchServerDatabase", "ServerBusy", "ServerLoginRefused", "ServerUnreachable", "display_name", "is_server_url",
]


def __getattr__(name: str) -> Any:
    """`ImportEvent` and `ImportReport`, imported when first asked for: only an import needs the parser."""
    if name in ("ImportEvent", "ImportReport"):
        from imr_desk.store import importing

        return getattr(importing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
