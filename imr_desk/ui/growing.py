"""A text box that grows with its text: a request, a guideline, a specialty list is shown whole.

One Tab stop, wrapped at the form's width, as tall as its text (up to `max_lines`, then it scrolls).
A one-paragraph box (`single_line`) keeps its text on one paragraph: pasted line breaks become
spaces, and Enter is left to the form (it confirms the field).
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QSize, Qt
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import QFrame, QPlainTextEdit, QSizePolicy, QWidget


class GrowingText(QPlainTextEdit):
    """A plain text box whose height follows its wrapped text."""

    def __init__(self, parent: QWidget | None = None, single_line: bool = True, max_lines: int = 40) -> None:
        super().__init__(parent)
        self.single_line = single_line
        self.max_lines = max_lines
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # see _fit
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.document().setDocumentMargin(2)
        self._lines = 1
        self.document().documentLayout().documentSizeChanged.connect(lambda _s: self._fit())
        self._fit()

    def text(self) -> str:
        return self.toPlainText()

    def setText(self, text: str) -> None:  # noqa: N802 - QLineEdit's name, for the form
        self.setPlainText(" ".join(text.split("\n")) if self.single_line else text)

    def lines(self) -> int:
        """Lines of wrapped text (what the box's height shows, up to max_lines)."""
        return self._lines

    def _wrapped_lines(self) -> int:
        # QPlainTextDocumentLayout counts the document's size in lines
        return max(1, int(self.document().documentLayout().documentSize().height()))

    def _fit(self) -> None:
        lines = self._wrapped_lines()
        # The box's own scroll bar is chosen by the line count, never "as needed": shown or hidden by
        # the viewport's height, a bar that narrows the text (more lines, a taller box, no bar: fewer
        # lines again) could come and go for ever at some widths. Chosen this way it cannot: the bar
        # goes on when the text is over max_lines without it, and with it (narrower) it still is; it
        # goes off when the text fits max_lines with it, and without it (wider) it still does.
        policy = (Qt.ScrollBarPolicy.ScrollBarAlwaysOn if lines > self.max_lines
                  else Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        if self.verticalScrollBarPolicy() != policy:
            self.setVerticalScrollBarPolicy(policy)
            lines = self._wrapped_lines()  # wrapped anew at the width the bar leaves
        self._lines = lines
        shown = min(lines, self.max_lines)
        margins = self.contentsMargins()
        doc_margin = int(self.document().documentMargin())
        height = shown * self.fontMetrics().lineSpacing() + margins.top() + margins.bottom() + 2 * doc_margin + 2
        if self.height() != height or self.minimumHeight() != height:
            self.setFixedHeight(height)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(super().sizeHint().width(), self.height())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()  # a new width wraps the text anew

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802 - Qt's name
        if self.single_line and source.hasText():
            self.insertPlainText(" ".join(source.text().split()))
            return
        super().insertFromMimeData(source)
