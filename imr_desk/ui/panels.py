"""Side panels beside the form: the letter's checks and its annotations."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from imr_desk.core.fields import label_of
from imr_desk.ui import icons
from imr_desk.ui.record_ops import field_of
from imr_desk.ui.session import ReviewError, ReviewSession

SEVERITY_COLOUR = {"error": QColor(190, 30, 30), "warning": QColor(170, 110, 0), "info": QColor(70, 90, 120)}


class ChecksPanel(QWidget):
    """The letter's warnings, kept up to date as the clerk edits; clicking one goes to its field."""

    fieldRequested = Signal(str)

    def __init__(self, session: ReviewSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("checksPanel")
        self.session = session
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel(self)
        layout.addWidget(self.summary)
        self.list = QListWidget(self)
        self.list.setObjectName("checksList")
        self.list.setWordWrap(True)
        self.list.itemActivated.connect(self._go)
        self.list.itemClicked.connect(self._go)
        layout.addWidget(self.list)
        self._shown: list[dict[str, Any]] | None = None  # the warnings the list shows
        session.letterOpened.connect(self.refresh)
        session.letterClosed.connect(self.refresh)
        session.recordChanged.connect(lambda _p: self.refresh())

    def refresh(self) -> None:
        warnings = self.session.warnings() if self.session.letter_id is not None else []
        if warnings == self._shown and self.list.count() == len(warnings):
            return  # most edits change no check: the list stays as it is
        self._shown = warnings
        self.list.clear()
        order = {"error": 0, "warning": 1, "info": 2}
        for w in sorted(warnings, key=lambda w: order.get(w.get("severity", "info"), 3)):
            sev = w.get("severity", "info")
            where = f"  [{label_of(w['path'])}]" if w.get("path") else ""
            item = QListWidgetItem(icons.severity(sev), f"{w.get('message', '')}{where}")
            item.setData(Qt.ItemDataRole.UserRole, w.get("path") or "")
            item.setData(Qt.ItemDataRole.UserRole + 1, w.get("code"))
            item.setForeground(QBrush(SEVERITY_COLOUR.get(sev, QColor(0, 0, 0))))
            item.setToolTip(w.get("code", ""))
            self.list.addItem(item)
        errors = sum(1 for w in warnings if w.get("severity") == "error")
        self.summary.setText(
            "No checks failed." if not warnings else f"{len(warnings)} check(s), {errors} error(s)"
        )

    def codes(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole + 1) for i in range(self.list.count())]

    def _go(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        if path:
            target = field_of(path)
            if target.startswith("items.") and target.count(".") == 1:
                target += ".request"  # a warning on the whole item goes to its request
            self.fieldRequested.emit(target)


class AnnotationsPanel(QWidget):
    """The clerk's annotations on the letter: listed, shown in the letter when clicked, removable."""

    spanRequested = Signal(int, int)

    def __init__(self, session: ReviewSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("annotationsPanel")
        self.session = session
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget(self)
        self.list.setObjectName("annotationsList")
        self.list.setWordWrap(True)
        self.list.itemClicked.connect(self._go)
        self.list.itemActivated.connect(self._go)
        layout.addWidget(self.list)
        row = QHBoxLayout()
        self.hint = QLabel("Select text in the letter and press Ctrl+M to annotate.", self)
        self.hint.setWordWrap(True)
        row.addWidget(self.hint, 1)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setObjectName("removeAnnotation")
        self.remove_button.clicked.connect(self._remove)
        row.addWidget(self.remove_button)
        layout.addLayout(row)
        self.items: list[Any] = []

    def show_annotations(self, annotations: list[Any], text: str) -> None:
        self.list.clear()
        self.items = list(annotations)
        for a in self.items:
            excerpt = " ".join(text[a.start:a.end].split())
            if len(excerpt) > 60:
                excerpt = excerpt[:57] + "…"
            note = f": {a.note}" if a.note else ""
            item = QListWidgetItem(f"{a.label}{note}\n“{excerpt}”")
            item.setData(Qt.ItemDataRole.UserRole, a.id)
            item.setToolTip(f"by {a.who} at {a.at}")
            self.list.addItem(item)
        self.remove_button.setEnabled(bool(self.items) and not self.session.read_only)

    def _go(self, item: QListWidgetItem) -> None:
        aid = item.data(Qt.ItemDataRole.UserRole)
        for a in self.items:
            if a.id == aid:
                self.spanRequested.emit(a.start, a.end)

    def _remove(self) -> None:
        item = self.list.currentItem()
        if item is None:
            self.session.message.emit("Pick the annotation to remove in the list first.")
            return
        try:
            self.session.remove_annotation(item.data(Qt.ItemDataRole.UserRole))
        except ReviewError as exc:
            self.session.message.emit(exc.clerk_message)
