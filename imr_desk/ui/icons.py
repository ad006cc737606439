"""The window's marks as real icons (the style's own), not characters a font may lack (⛔ drew as an empty box)."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

_SEVERITY = {
    "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
    "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
}


@cache
def severity(kind: str) -> QIcon:
    """The icon of a check's severity: error, warning or info."""
    return _standard(_SEVERITY.get(kind, QStyle.StandardPixmap.SP_MessageBoxInformation))


@cache
def duplicate() -> QIcon:
    """Another letter has this case number."""
    return _standard(QStyle.StandardPixmap.SP_FileLinkIcon)


@cache
def held() -> QIcon:
    """Another clerk has the letter open for editing."""
    return _standard(QStyle.StandardPixmap.SP_DialogNoButton)


def _standard(which: QStyle.StandardPixmap) -> QIcon:
    app = QApplication.instance()
    style = app.style() if isinstance(app, QApplication) else None
    return style.standardIcon(which) if style is not None else QIcon()
