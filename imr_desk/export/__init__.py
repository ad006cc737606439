"""Writers for reviewed sets (CSV, JSON Lines, Excel, SQLite). No Qt here.

    from imr_desk.export import ExportSet, export_set
    result = export_set(db, "xlsx", "reviewed.xlsx", ExportSet(status=["reviewed"], only_new=True))
"""

from imr_desk.export.exporter import (
    FORMAT_NAMES,
    FORMATS,
    ExportRecord,
    ExportResult,
    NothingToExport,
    export_history,
    export_set,
    manifest_path_for,
    normalise_destination,
    record_export,
)
from imr_desk.export.safety import ExportCancelled, ExportError, neutralise
from imr_desk.export.selection import ExportSet

__all__ = [
    "FORMATS", "FORMAT_NAMES", "ExportCancelled", "ExportError", "ExportRecord", "ExportResult", "ExportSet", "NothingToExport",
    "export_history", "export_set", "manifest_path_for", "neutralise", "normalise_destination", "record_export",
]
