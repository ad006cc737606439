"""Small dialogs: a reason, an annotation, the letter's history, the import report.

They open window-modal with `open()`, never a blocking `exec()`, and report through `accepted`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


class ReasonDialog(QDialog):
    """Asks the clerk for a reason (to postpone, or to mark reviewed despite errors)."""

    def __init__(self, title: str, prompt: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("reasonDialog")
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        label = QLabel(prompt, self)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.reason = QLineEdit(self)
        self.reason.setObjectName("reason")
        layout.addWidget(self.reason)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(480, 140)

    def _accept(self) -> None:
        if self.reason.text().strip():
            self.accept()
        else:
            self.reason.setPlaceholderText("A reason is needed.")
            self.reason.setFocus()

    def text(self) -> str:
        return self.reason.text().strip()


class AnnotationDialog(QDialog):
    """Pick a label for the selected text and add a note."""

    def __init__(self, excerpt: str, labels: list[str], parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("annotationDialog")
        self.setWindowTitle("Annotate the selection")
        layout = QFormLayout(self)
        shown = " ".join(excerpt.split())
        quote = QLabel(f"“{shown[:200]}{'…' if len(shown) > 200 else ''}”", self)
        quote.setWordWrap(True)
        layout.addRow("Text", quote)
        self.label = QComboBox(self)
        self.label.setObjectName("annotationLabel")
        self.label.addItems(labels)
        self.label.setEditable(True)  # a label not in the list is typed once and offered from then on
        self.label.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.label.setToolTip("Pick a label, or type a new one: it is added to the list.")
        layout.addRow("Label", self.label)
        self.note = QLineEdit(self)
        self.note.setObjectName("annotationNote")
        layout.addRow("Note", self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addRow(buttons)
        self.resize(480, 180)


class HistoryDialog(QDialog):
    """The letter's history: who did what, when, how (by hand, parser, re-parse, import) and why; each row one
    sentence in plain words (ui/history.py).

    A page of rows at a time, oldest first (`load(offset, limit)` gives them, `total` says how many there
    are): the next page is read when the clerk scrolls to the end or presses "Show more", so a letter
    whose history holds tens of thousands of rows opens its history at once.
    """

    COLUMNS = ("When", "Who", "What happened", "How", "Why")
    PAGE = 200

    def __init__(self, title: str, load: Callable[[int, int], list[dict[str, Any]]], total: int,
                 parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("historyDialog")
        self.setWindowTitle(f"History of {title}")
        self._load = load
        self.total = total
        layout = QVBoxLayout(self)
        table = QTableWidget(0, len(self.COLUMNS), self)
        table.setObjectName("historyTable")
        table.setHorizontalHeaderLabels(list(self.COLUMNS))
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        table.setWordWrap(True)
        self.table = table
        layout.addWidget(table)
        footer = QHBoxLayout()
        self.shown_label = QLabel(self)
        self.shown_label.setObjectName("historyShown")
        footer.addWidget(self.shown_label, 1)
        self.more_button = QPushButton("Show more", self)
        self.more_button.setObjectName("historyMore")
        self.more_button.clicked.connect(self.show_more)
        footer.addWidget(self.more_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        footer.addWidget(buttons)
        layout.addLayout(footer)
        self.show_more()
        table.resizeColumnsToContents()
        table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Interactive)
        table.setColumnWidth(4, min(table.columnWidth(4), 220))
        table.verticalScrollBar().valueChanged.connect(self._scrolled)
        # Row heights follow the "What happened" column's width: measured while the columns still had
        # their first widths, the first page's one-line rows came out two or three lines tall. They are
        # measured again once the dialog is shown and whenever that column's width changes.
        self._rows_timer = QTimer(self, singleShot=True, interval=0)
        self._rows_timer.timeout.connect(table.resizeRowsToContents)
        table.horizontalHeader().sectionResized.connect(
            lambda index, _old, _new: self._rows_timer.start() if index == 2 else None)
        self.resize(900, 480)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._rows_timer.start()

    def show_more(self) -> int:
        """Add the next page of rows; returns how many were added."""
        table = self.table
        first = table.rowCount()
        rows = self._load(first, self.PAGE) if first < self.total else []
        table.setRowCount(first + len(rows))
        for r, row in enumerate(rows, start=first):
            for c, key in enumerate(("when", "who", "what", "how", "reason")):
                value = row.get(key)
                text = "" if value is None else str(value)
                item = QTableWidgetItem(text)
                item.setToolTip(str(row.get("tip") or text)[:2000] if key == "what" else text[:2000])
                table.setItem(r, c, item)
            table.resizeRowToContents(r)
        shown = table.rowCount()
        self.total = max(self.total, shown)
        self.shown_label.setText(f"{shown:,} of {self.total:,} entries" if shown < self.total else
                                 f"{shown:,} entr{'y' if shown == 1 else 'ies'}")
        self.more_button.setVisible(shown < self.total)
        return len(rows)

    def _scrolled(self, value: int) -> None:
        bar = self.table.verticalScrollBar()
        if value >= bar.maximum() and self.table.rowCount() < self.total:
            self.show_more()
