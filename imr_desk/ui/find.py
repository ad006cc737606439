"""Find in the letter: a bar above the letter; every hit highlighted, the current one scrolled into view.

Words match whatever the case, and the spaces between them match any run of white space (a phrase can
wrap onto the next line of the letter). Enter or F3 goes to the next hit, Shift+Enter or Shift+F3 to the
previous one, Escape closes the bar.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from imr_desk.ui.letter_view import LetterView

MAX_HITS = 2000  # a one-letter search in a long letter: marked up to this many


def find_all(text: str, query: str, limit: int = MAX_HITS) -> list[tuple[int, int]]:
    """The (start, end) offsets of every match of the query's words in the text, in order."""
    words = query.split()
    if not words:
        return []
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    hits = []
    for m in pattern.finditer(text):
        hits.append((m.start(), m.end()))
        if len(hits) >= limit:
            break
    return hits


class FindBar(QWidget):
    """The find bar: a box for the words, the count of hits, previous and next."""

    closed = Signal()

    def __init__(self, view: LetterView, text_of: Callable[[], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("findBar")
        self.view = view
        self.text_of = text_of
        self.hits: list[tuple[int, int]] = []
        self.current: int | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        self.edit = QLineEdit(self)
        self.edit.setObjectName("findText")
        self.edit.setPlaceholderText("Find in the letter (Enter: next, Shift+Enter: previous, Esc: close)")
        self.edit.setClearButtonEnabled(True)
        self.edit.installEventFilter(self)
        layout.addWidget(self.edit, 1)
        self.count = QLabel(self)
        self.count.setObjectName("findCount")
        self.count.setMinimumWidth(90)
        layout.addWidget(self.count)
        self.previous_button = QPushButton("Previous", self)
        self.next_button = QPushButton("Next", self)
        self.close_button = QPushButton("Close", self)
        for b in (self.previous_button, self.next_button, self.close_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            layout.addWidget(b)
        self.previous_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(+1))
        self.close_button.clicked.connect(self.close_bar)
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self.search)
        self.edit.textChanged.connect(lambda _t: self._timer.start())
        self.hide()

    def open_bar(self) -> None:
        self.show()
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.edit.selectAll()
        if self.edit.text().strip():
            self.search()

    def close_bar(self) -> None:
        self._timer.stop()
        self.hits, self.current = [], None
        self.view.set_find([], None)
        self.hide()
        self.closed.emit()

    def search(self) -> None:
        """Find the words again (typed, or another letter opened) and go to the first hit."""
        self._timer.stop()
        self.hits = find_all(self.text_of(), self.edit.text())
        self.current = 0 if self.hits else None
        self._show()

    def letter_changed(self) -> None:
        if self.isVisible():
            self.search()

    def step(self, by: int) -> None:
        if self._timer.isActive():  # typed just now: find first
            self.search()
            return
        if not self.hits:
            self._show()
            return
        self.current = ((self.current or 0) + by) % len(self.hits) if self.current is not None else 0
        self._show()

    def _show(self) -> None:
        words = self.edit.text().strip()
        if not words:
            self.count.setText("")
        elif not self.hits:
            self.count.setText("not found")
        else:
            more = "+" if len(self.hits) >= MAX_HITS else ""
            self.count.setText(f"{(self.current or 0) + 1} of {len(self.hits)}{more}")
        self.count.setProperty("notFound", bool(words) and not self.hits)
        self.count.style().unpolish(self.count)
        self.count.style().polish(self.count)
        self.view.set_find(self.hits, self.current)

    KEYS = [("Enter", "Go to the next hit"), ("Shift+Enter", "Go to the previous hit"), ("Esc", "Close the find bar")]

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if obj is self.edit and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key, mods = event.key(), event.modifiers()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not mods & Qt.KeyboardModifier.ControlModifier:
                self.step(-1 if mods & Qt.KeyboardModifier.ShiftModifier else +1)
                return True
            if key == Qt.Key.Key_Escape:
                self.close_bar()
                return True
        return False
