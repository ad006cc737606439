"""Small dialogs: a reason, an annotation, the letter's history, the import report.

They open window-modal with `open()`, never a blocking `exec()`, and report through `accepted`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
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
    sentence in plain words (ui/history.py)."""

    COLUMNS = ("When", "Who", "What happened", "How", "Why")

    def __init__(self, title: str, rows: list[dict[str, Any]], parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("historyDialog")
        self.setWindowTitle(f"History of {title}")
        layout = QVBoxLayout(self)
        table = QTableWidget(len(rows), len(self.COLUMNS), self)
        table.setObjectName("historyTable")
        table.setHorizontalHeaderLabels(list(self.COLUMNS))
        for r, row in enumerate(rows):
            for c, key in enumerate(("when", "who", "what", "how", "reason")):
                value = row.get(key)
                text = "" if value is None else str(value)
                item = QTableWidgetItem(text)
                item.setToolTip(str(row.get("tip") or text)[:2000] if key == "what" else text[:2000])
                table.setItem(r, c, item)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        table.setWordWrap(True)
        table.resizeColumnsToContents()
        table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Interactive)
        table.setColumnWidth(4, min(table.columnWidth(4), 220))
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(table)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(900, 480)
