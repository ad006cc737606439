"""The wheel never edits: over a field of the form, it scrolls the form.

Qt lets the wheel change a combo box, a spin box or a date under the pointer, even one without
keyboard focus; a clerk scrolling the form would change values without noticing. `WheelGuard` is an
event filter on every editor of the form (and the editor's inner widgets, such as a spin box's line
edit or a text box's viewport): a wheel event over a value editor (choice, number, date, yes/no)
always goes to the form's scroll bar; over a text box it scrolls the text box only while the clerk
is typing in it (it has focus), and the form otherwise. No value changes without a click or a key.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QPlainTextEdit, QTextEdit, QWidget


class WheelGuard(QObject):
    """Sends the wheel from the form's editors to the form's scroll bars."""

    def __init__(self, area: QAbstractScrollArea) -> None:
        super().__init__(area)
        self.area = area
        self._editors: dict[QObject, QWidget] = {}  # a watched widget -> the editor it belongs to

    def watch(self, editor: QWidget) -> None:
        """Guard an editor and the widgets inside it (the wheel reaches the innermost one first)."""
        editor.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # no focus by the wheel either
        top = editor.window()
        for w in [editor, *editor.findChildren(QWidget)]:
            # a combo box's open list is a window of its own: the wheel scrolls that list as usual
            if w not in self._editors and w.window() is top:
                self._editors[w] = editor
                w.installEventFilter(self)
                w.destroyed.connect(self._forget)

    def _forget(self, obj: QObject) -> None:
        self._editors.pop(obj, None)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() != QEvent.Type.Wheel:
            return False
        editor = self._editors.get(obj)
        if editor is None:
            return False
        if isinstance(editor, QPlainTextEdit | QTextEdit) and editor.hasFocus():
            return False  # scrolling the text the clerk is in: that edits nothing
        angle = event.angleDelta()  # type: ignore[attr-defined]
        horizontal = abs(angle.x()) > abs(angle.y())
        bar = self.area.horizontalScrollBar() if horizontal else self.area.verticalScrollBar()
        QApplication.sendEvent(bar, event)
        event.accept()
        return True
