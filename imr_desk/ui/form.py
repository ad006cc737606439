"""The form beside the letter: case, reviewer, worker and the disputed items.

Every editor shows its value from the session and sends the clerk's edits back to it; a badge
beside it shows the field's state (confidence, uncertain, warning, changed by the clerk).
"""

from __future__ import annotations

import logging
from typing import Any, TypeAlias

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from imr_desk.core import dates
from imr_desk.core.confirmations import Confirmation
from imr_desk.core.fields import SECTIONS, Field, Kind, field_at, item_fields, letter_fields
from imr_desk.core.text import same_value
from imr_desk.ui.confirm import Confirmations
from imr_desk.ui.growing import GrowingText
from imr_desk.ui.session import FieldState, ReviewError, ReviewSession
from imr_desk.ui.wheel import WheelGuard

log = logging.getLogger(__name__)

# The editor widget of each kind of field (core/fields.py `Kind`): text, list and date are line edits,
# long text a plain text edit, number a spin box, yes/no a check box, choice a combo box.
EditorWidget: TypeAlias = QLineEdit | QPlainTextEdit | QSpinBox | QCheckBox | QComboBox


REVERT_REASON = "the parser's value put back (Ctrl+R)"
# The keys a field of the form answers itself (the window's own keys are its actions); the F1 help lists them.
FORM_KEYS = [
    ("Enter", "Confirm the field (its value checked against the letter) and go to the next field not confirmed"),
    ("Shift+Enter", "Go back to the previous field, confirming nothing (in a long text such as a rationale: "
                    "a new line)"),
    ("Tab, Shift+Tab", "Next or previous field, confirming nothing"),
    ("Esc", "In a date that was refused (a date that cannot exist): put back the date saved"),
]
ITEMS_AT_ONCE = 20  # item boxes built when a letter opens, and each time the clerk scrolls to the last ones
UNUSUAL_ITEMS = 40  # more disputed items than IMR letters have: the form says so


class FieldEditor(QObject):
    """One field of the record (an entry of the field catalogue) in one editor widget.

    `edited` carries a value the record can take; `refused` a message when what the clerk wrote is not
    one (a date that cannot exist): the record keeps its value, and the clerk is told why.
    """

    edited = Signal(str, object)
    focused = Signal(str)
    refused = Signal(str, str)  # path, the clerk message
    confirmRequested = Signal(str)  # Enter: the clerk has checked this field against the letter
    restoreRequested = Signal(str)  # Esc on a refused value: show the record's value again
    backRequested = Signal(str)  # Shift+Enter: back to the previous field

    def __init__(self, field: Field, path: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.field = field
        self.path = path
        self.label = field.label
        self.kind = field.kind
        self.widget: EditorWidget = self._make(field, parent)
        self.widget.setObjectName(f"field:{path}")
        self.widget.setProperty("fieldPath", path)
        self.widget.setToolTip(field.label)
        self.widget.installEventFilter(self)
        self.badge = QLabel(parent)
        self.badge.setObjectName(f"badge:{path}")
        self.badge.setMinimumWidth(58)
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.parser_label = QLabel(parent)  # a changed field: the parser's value beside the clerk's
        self.parser_label.setObjectName(f"parserValue:{path}")
        self.parser_label.setWordWrap(True)
        self.parser_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.parser_label.hide()
        # What the clerk typed that the field cannot take (a date that cannot exist): said under the field,
        # and the typed text stays there, not saved, until it is corrected or Esc puts the record's back.
        self.error_label = QLabel(parent)
        self.error_label.setObjectName(f"fieldError:{path}")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.refusal: str | None = None
        self._setting = False

    def _make(self, field: Field, parent: QWidget) -> EditorWidget:
        kind = field.kind
        if kind in (Kind.TEXT, Kind.LIST):  # grows to show a long request or specialty list whole
            line = GrowingText(parent, single_line=True, max_lines=12)
            line.textChanged.connect(self._emit)
            if kind is Kind.LIST:
                line.setPlaceholderText("comma-separated")
            return line
        if kind is Kind.DATE:  # any written form (10/16/2016, Oct 16, 2016), read by core/dates.py when done
            date = QLineEdit(parent)
            date.setPlaceholderText("YYYY-MM-DD or 10/16/2016")
            date.editingFinished.connect(self._commit_date)
            return date
        if kind is Kind.LONG_TEXT:  # a guideline, a rationale: shown whole (Shift+Enter starts a new line)
            plain = GrowingText(parent, single_line=False, max_lines=40)
            plain.textChanged.connect(self._emit)
            return plain
        if kind is Kind.NUMBER:
            low, high = field.bounds or (0, 999_999)
            spin = QSpinBox(parent)
            spin.setRange(low - 1, high)  # the one below the lowest stands for "no value"
            spin.setSpecialValueText("—")
            spin.valueChanged.connect(lambda _v: self._emit())
            return spin
        if kind is Kind.FLAG:
            check = QCheckBox(parent)
            check.toggled.connect(lambda _v: self._emit())
            return check
        if kind is Kind.CHOICE:
            combo = QComboBox(parent)
            combo.addItem("—", None)
            for option in field.vocabulary:
                combo.addItem(option, option)
            combo.currentIndexChanged.connect(lambda _i: self._emit())
            return combo
        raise ValueError(kind)

    def _commit_date(self) -> bool:
        """Read what was typed in a date field; False (and the clerk told why) when it is not a date."""
        if self._setting or not isinstance(self.widget, QLineEdit):
            return True
        text = self.widget.text().strip()
        if not text:
            self.drop_refusal()
            self._emit()
            return True
        try:
            iso = dates.parse_date(text).isoformat()
        except dates.DateError as exc:
            self._refuse(f"{exc} Correct it, or press Esc to put back the date saved.")
            self.refused.emit(self.path, f"{self.label}: {exc} Nothing was saved; correct it or press Esc.")
            return False
        self.drop_refusal()
        if iso != text:
            self._setting = True
            self.widget.setText(iso)
            self._setting = False
        self._emit()
        return True

    def _refuse(self, message: str) -> None:
        self.refusal = message
        self.error_label.setText(message)
        self.error_label.show()
        self._mark("refused")

    def drop_refusal(self) -> None:
        """Forget a refused value (corrected, Esc, another letter); the badge's state comes back with the next sync."""
        if self.refusal is None:
            return
        self.refusal = None
        self.error_label.hide()
        self._mark(self.badge.property("fieldState") or "")

    def _mark(self, kind: str) -> None:
        w = self.widget
        if w.property("fieldState") != kind:
            w.setProperty("fieldState", kind)
            w.style().unpolish(w)
            w.style().polish(w)

    def commit(self) -> bool:
        """Send what the field shows to the record (a date is read when it is done); False when refused."""
        return self._commit_date() if self.kind is Kind.DATE else True

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if obj is self.widget and event.type() == QEvent.Type.FocusIn:
            self.focused.emit(self.path)
        elif obj is self.widget and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            mods = event.modifiers()
            if event.key() == Qt.Key.Key_Escape and self.refusal is not None:
                self.drop_refusal()
                self.restoreRequested.emit(self.path)
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not mods & (
                    Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                    | Qt.KeyboardModifier.MetaModifier):
                if mods & Qt.KeyboardModifier.ShiftModifier and isinstance(self.widget, GrowingText) \
                        and not self.widget.single_line:
                    self.widget.insertPlainText("\n")  # a new line in a rationale
                elif mods & Qt.KeyboardModifier.ShiftModifier:
                    self.backRequested.emit(self.path)
                else:
                    self.confirmRequested.emit(self.path)
                return True
        return False

    def _emit(self) -> None:
        if not self._setting:
            self.edited.emit(self.path, self.value())

    def value(self) -> Any:
        # The widget's class follows from the kind (see _make); text, list and date share QLineEdit.
        w, kind = self.widget, self.kind
        if isinstance(w, QLineEdit | QPlainTextEdit):
            text = w.text() if isinstance(w, QLineEdit) else w.toPlainText()
            if kind is Kind.LIST:
                return [s.strip() for s in text.split(",") if s.strip()]
            if kind is Kind.DATE:
                return (dates.to_iso(text) or text.strip()) if text.strip() else None
            if kind is Kind.LONG_TEXT:
                return text if text.strip() else None
            return text if text.strip() else ("" if self.field.required else None)
        if isinstance(w, QSpinBox):
            return None if w.value() < w.minimum() + 1 else w.value()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        return w.currentData()

    def shows(self, value: object) -> bool:
        """The editor shows `value` already, as the clerk reads it (core/text.py); a check box has no
        'no value', unticked is false."""
        return same_value(self.value(), bool(value) if self.kind is Kind.FLAG else value)

    def set_value(self, value: Any) -> None:
        if self.refusal is not None or self.shows(value):
            return  # a refused value stays as typed until corrected or Esc
        self._setting = True
        try:
            w, kind = self.widget, self.kind
            if isinstance(w, QLineEdit):
                w.setText(", ".join(value or []) if kind is Kind.LIST else str(value or ""))
                w.setCursorPosition(0)  # a long request shows its beginning
            elif isinstance(w, QPlainTextEdit):
                w.setPlainText(", ".join(value or []) if kind is Kind.LIST else str(value or ""))
                w.moveCursor(QTextCursor.MoveOperation.Start)  # a long value shows its beginning
            elif isinstance(w, QSpinBox):
                w.setValue(value if isinstance(value, int) and not isinstance(value, bool) else w.minimum())
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            else:
                i = w.findData(value)
                if i < 0 and isinstance(value, str) and value:  # a word the letter has outside the vocabulary
                    w.addItem(value, value)
                    i = w.count() - 1
                w.setCurrentIndex(max(0, i))
        finally:
            self._setting = False

    def show_state(self, state: FieldState, confirmed: Confirmation | None = None,
                   parser_value: Any = None) -> None:
        """The badge: flagged (a check, or read uncertainly), changed, confirmed, or read by the parser.

        A changed field says "changed", not the parser's confidence, and shows the parser's value under it.
        """
        parts = []
        tip = []
        if state.warnings:
            parts.append("⚠")
            tip += [w["message"] for w in state.warnings]
        if state.changed:
            parts.append("changed")
            tip.append("changed by the clerk (Ctrl+R puts the parser's value back)")
        elif state.confidence is not None and confirmed is None:
            parts.append(f"{round(state.confidence * 100)}%")
            tip.append(f"read with confidence {state.confidence:.2f}" + (f" ({state.rule})" if state.rule else ""))
        elif confirmed is None:
            tip.append("not found in the letter")
        if confirmed is not None:
            parts.append("✓")
            when = _local(confirmed.at)
            tip.append(f"confirmed by {confirmed.by or 'a clerk'} at {when}")
        if state.warnings:
            kind = "warning"
        elif state.changed:
            kind = "changed"
        elif confirmed is not None:
            kind = "confirmed"
        elif state.uncertain:
            kind = "uncertain"
            parts.insert(0, "?")
            tip.insert(0, "uncertain: check it against the letter")
        elif state.confidence is not None:
            kind = "read"
        else:
            kind = "empty"
        self.badge.setText(" ".join(parts) or "–")
        self.badge.setToolTip("\n".join(tip))
        if state.changed:
            shown = _shown(parser_value)
            self.parser_label.setText(f"Parser: {shown}  ·  Ctrl+R: put it back")
            self.parser_label.setToolTip(f"What the parser read: {shown}")
        self.parser_label.setVisible(state.changed)
        for w in (self.widget, self.badge):
            if w is self.widget and self.refusal is not None:
                continue  # marked refused until corrected
            if w.property("fieldState") != kind:
                w.setProperty("fieldState", kind)
                w.style().unpolish(w)
                w.style().polish(w)

    def set_read_only(self, ro: bool) -> None:
        w = self.widget
        if isinstance(w, QLineEdit | QPlainTextEdit):
            w.setReadOnly(ro)
        else:
            w.setEnabled(not ro)


def _shown(value: object) -> str:
    if value in (None, "", []):
        return "(nothing)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"“{value}”"


def _local(at: str) -> str:
    from datetime import datetime

    try:
        return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone().strftime("%H:%M %Y-%m-%d")
    except ValueError:
        return at




class ItemBox(QGroupBox):
    """One disputed item with its buttons (up, down, remove)."""

    def __init__(self, index: int, parent: QWidget) -> None:
        super().__init__(f"Item {index + 1}", parent)
        self.index = index
        self.spare_editors: dict[str, FieldEditor] = {}  # its editors while it is hidden and unused
        self.setObjectName(f"item:{index}")
        outer = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.outcome_label = QLabel(self)
        bar.addWidget(self.outcome_label, 1)
        self.up = QPushButton("↑", self)
        self.up.setToolTip("Move the item up")
        self.down = QPushButton("↓", self)
        self.down.setToolTip("Move the item down")
        self.remove = QPushButton("Remove", self)
        self.remove.setToolTip("Remove the item")
        for b in (self.up, self.down, self.remove):
            b.setObjectName(f"item{index}:{b.text()}")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            bar.addWidget(b)
        outer.addLayout(bar)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        outer.addLayout(self.form)


class FormView(QScrollArea):
    """The record's form, bound to a review session."""

    def __init__(self, session: ReviewSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("form")
        self.session = session
        self.setWidgetResizable(True)
        self.wheel_guard = WheelGuard(self)  # the wheel over a field scrolls the form, never edits
        self.editors: dict[str, FieldEditor] = {}
        self._item_boxes: list[ItemBox] = []
        self._spare_boxes: dict[int, ItemBox] = {}  # boxes of items the current letter does not have
        self._shown_items = ITEMS_AT_ONCE  # item boxes built for the open letter, at least
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        body = QWidget(self)
        self.body = body
        self.layout_ = QVBoxLayout(body)
        self.title = QLabel(body)
        self.title.setObjectName("formTitle")
        self.title.setWordWrap(True)
        self.layout_.addWidget(self.title)
        self.banner = QLabel(body)
        self.banner.setObjectName("readOnlyBanner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.layout_.addWidget(self.banner)
        self.unusual = QLabel(body)  # a letter far from what IMR letters look like says so
        self.unusual.setObjectName("unusualNote")
        self.unusual.setWordWrap(True)
        self.unusual.hide()
        self.layout_.addWidget(self.unusual)
        self.confirm_count = QLabel(body)
        self.confirm_count.setObjectName("confirmCount")
        self.confirm_count.setWordWrap(True)  # never wider than the pane: the badges beside the fields stay in view
        self.layout_.addWidget(self.confirm_count)
        self.confirmations = Confirmations(session, self)
        self.confirmations.changed.connect(self._sync_values)
        for section in SECTIONS:
            self._section(section, [f for f in letter_fields() if f.section == section])
        items_header = QHBoxLayout()
        self.items_label = QLabel("<b>Disputed items</b>", body)
        items_header.addWidget(self.items_label, 1)
        self.add_button = QPushButton("Add item", body)
        self.add_button.setObjectName("addItem")
        self.add_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes from value to value
        self.add_button.clicked.connect(self._add_item)
        items_header.addWidget(self.add_button)
        self.layout_.addLayout(items_header)
        self.items_area = QVBoxLayout()
        self.layout_.addLayout(self.items_area)
        self.layout_.addStretch(1)
        self.setWidget(body)
        session.letterOpened.connect(self.refresh_all)
        session.letterClosed.connect(self.refresh_all)
        session.recordChanged.connect(self._record_changed)
        session.statusChanged.connect(lambda _s: self._update_title())
        session.focusChanged.connect(self._focus_changed)
        self.refresh_all()

    def _section(self, title: str, section_fields: list[Field]) -> None:
        box = QGroupBox(title, self.body)
        box.setObjectName(f"section:{title.lower()}")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for f in section_fields:
            self._add_editor(form, box, f, f.path)
        self.layout_.addWidget(box)

    def _add_editor(self, form: QFormLayout, parent: QWidget, field: Field, path: str) -> FieldEditor:
        """The editor of one catalogue field (at `path`: an item's field at its item's index)."""
        ed = FieldEditor(field, path, parent)
        ed.edited.connect(self._edited)
        ed.refused.connect(self._refused)
        ed.focused.connect(self.session.focus)
        ed.confirmRequested.connect(self.confirm_and_next)
        ed.backRequested.connect(self.focus_previous)
        ed.restoreRequested.connect(lambda p: self.editors[p].set_value(self.session.value(p)))
        self.wheel_guard.watch(ed.widget)
        row = QHBoxLayout()
        row.addWidget(ed.widget, 1)
        row.addWidget(ed.badge, 0, Qt.AlignmentFlag.AlignTop)
        cell = QVBoxLayout()
        cell.setSpacing(1)
        cell.addLayout(row)
        cell.addWidget(ed.error_label)
        cell.addWidget(ed.parser_label)
        lab = QLabel(field.label, parent)
        lab.setBuddy(ed.widget)
        form.addRow(lab, cell)
        self.editors[path] = ed
        return ed

    # -- from the session to the widgets ---------------------------------------------------------
    def _items_to_show(self) -> int:
        return min(len(self.session.record.get("items") or []), max(self._shown_items, ITEMS_AT_ONCE))

    def show_items_up_to(self, index: int) -> None:
        """Build the item boxes down to item `index` (a letter with thousands of items builds them as needed)."""
        if index >= len(self._item_boxes) and index < len(self.session.record.get("items") or []):
            self._shown_items = index + 1
            self._rebuild_items()
            self._sync_values()

    def _scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        items = len(self.session.record.get("items") or [])
        if len(self._item_boxes) < items and value >= bar.maximum() - 2 * bar.pageStep():
            self.show_items_up_to(len(self._item_boxes) + ITEMS_AT_ONCE - 1)

    def refused_fields(self) -> list[FieldEditor]:
        """The fields showing a value they refused (a mistyped date), in form order."""
        return [ed for ed in self.editors.values() if ed.refusal is not None]

    def refresh_all(self) -> None:
        for ed in self.editors.values():  # another letter (or none): a refused value belonged to the last one
            ed.drop_refusal()
        self._shown_items = ITEMS_AT_ONCE  # a new letter: its first items; more as the clerk scrolls down
        self._rebuild_items()
        self._sync_values()
        ro = self.session.read_only or self.session.letter_id is None
        for ed in self.editors.values():
            ed.set_read_only(ro)
        self.add_button.setEnabled(not ro)
        for box in self._item_boxes:
            for b in (box.up, box.down, box.remove):
                b.setEnabled(not ro)
        n = len(self.session.record.get("items") or []) if self.session.letter_id is not None else 0
        self.unusual.setVisible(n > UNUSUAL_ITEMS)
        if n > UNUSUAL_ITEMS:
            self.unusual.setText(f"Unusual letter: {n:,} disputed items (IMR letters have a handful). Check that "
                                 "it is one letter and not several run together; its items are shown "
                                 f"{ITEMS_AT_ONCE} at a time as you scroll down.")
        self.banner.setVisible(self.session.read_only)
        self.banner.setText(f"Read only: {self.session.read_only_reason}")
        self._update_title()

    def _update_title(self) -> None:
        s = self.session
        if s.letter is None:
            self.title.setText("<i>No letter open. Pick one in the queue, or import letters (Ctrl+O).</i>")
            return
        outcome = s.record.get("outcome") or "no outcome yet"
        self.title.setText(f"<b>{s.letter.name}</b> · {s.status} · outcome: {outcome}")

    def _record_changed(self, path: str) -> None:
        if len(self._item_boxes) != self._items_to_show():
            self._rebuild_items()
            path = ""
        self._sync_values(_editors_touched(path))
        self._update_title()

    def _sync_values(self, only: str | None = None) -> None:
        """Show the record's values and their states; `only`: the editors whose paths start so (an edit of
        one field changes the values and checks of its item, or of the letter's own fields, and no others)."""
        s = self.session
        confirmed = self.confirmations
        for path, ed in self.editors.items():
            if only is not None and not (path.startswith(only) if only else not path.startswith("items.")):
                continue
            ed.set_value(s.value(path))
            ed.show_state(s.field_state(path), confirmed.get(path), s.parser_value(path))
        n_items = len(s.record.get("items") or [])
        total = len(letter_fields()) + len(item_fields()) * n_items if s.letter_id is not None else 0
        if not total:
            self.confirm_count.setText("")
        else:
            done = confirmed.count()
            self.confirm_count.setText(f"{done:,} of {total:,} fields confirmed"
                                       + ("" if done == total else "  ·  Enter confirms a field and goes on"))
        items = s.record.get("items") or []
        for box in self._item_boxes:
            item_warnings = [w for w in s.warnings() if w.get("path") == f"items.{box.index}"]
            box.outcome_label.setText("⚠ " + item_warnings[0]["message"] if item_warnings else "")
            box.up.setEnabled(box.index > 0 and not s.read_only)
            box.down.setEnabled(box.index < len(items) - 1 and not s.read_only)

    def _rebuild_items(self) -> None:
        """One box per item. Boxes are bound to an index and kept (hidden, when fewer items are shown)
        for the next letter: switching letters creates no editors once the boxes exist."""
        wanted = min(len(self.session.record.get("items") or []), max(self._shown_items, ITEMS_AT_ONCE))
        built = False
        while len(self._item_boxes) > wanted:
            box = self._item_boxes.pop()
            box.hide()
            box.spare_editors = {k: self.editors.pop(k) for k in [f.path_in(box.index) for f in item_fields()]
                                 if k in self.editors}
            self._spare_boxes[box.index] = box
        for i in range(len(self._item_boxes), wanted):
            spare = self._spare_boxes.pop(i, None)
            if spare is not None:
                self.editors.update(spare.spare_editors)
                spare.spare_editors = {}
                spare.show()
                self._item_boxes.append(spare)
                continue
            built = True
            box = ItemBox(i, self.body)
            for f in item_fields():
                self._add_editor(box.form, box, f, f.path_in(i))
            box.up.clicked.connect(lambda _c=False, i=i: self._move(i, i - 1))
            box.down.clicked.connect(lambda _c=False, i=i: self._move(i, i + 1))
            box.remove.clicked.connect(lambda _c=False, i=i: self._remove(i))
            self.items_area.addWidget(box)
            self._item_boxes.append(box)
        ro = self.session.read_only or self.session.letter_id is None
        for box in self._item_boxes:
            for f in item_fields():
                self.editors[f.path_in(box.index)].set_read_only(ro)
        if built:  # Tab goes through the fields in form order, whenever their boxes were made
            widgets = [ed.widget for ed in self.editors.values()]
            for a, b in zip(widgets, widgets[1:], strict=False):
                QWidget.setTabOrder(a, b)

    def _focus_changed(self, path: str) -> None:
        for ed in self.editors.values():
            active = ed.path == path
            if bool(ed.widget.property("focusedField")) != active:
                ed.widget.setProperty("focusedField", active)
                ed.widget.style().unpolish(ed.widget)
                ed.widget.style().polish(ed.widget)

    # -- from the widgets to the session ---------------------------------------------------------
    def _edited(self, path: str, value: object) -> None:
        try:
            self.session.set_value(path, value)
        except ReviewError as exc:
            self.session.message.emit(exc.clerk_message)
            self.editors[path].set_value(self.session.value(path))

    def _refused(self, path: str, message: str) -> None:
        """What the clerk wrote is not a value the field can take: said (under the field too); the record
        keeps its value and the field what was typed, to be corrected."""
        self.session.message.emit(message)

    def _add_item(self) -> None:
        try:
            index = self.session.add_item()
        except ReviewError as exc:
            self.session.message.emit(exc.clerk_message)
            return
        self.focus_field(f"items.{index}.request")

    def _remove(self, index: int) -> None:
        try:
            self.session.remove_item(index)
        except ReviewError as exc:
            self.session.message.emit(exc.clerk_message)

    def _move(self, index: int, to: int) -> None:
        try:
            self.session.move_item(index, to)
        except ReviewError as exc:
            self.session.message.emit(exc.clerk_message)
            return
        self.focus_field(f"items.{to}.request")

    # -- confirming ------------------------------------------------------------------------------
    def confirm_and_next(self, path: str) -> str | None:
        """Enter: confirm the field and go to the next one not confirmed (form order, wrapping round).

        Returns the field focused next, or None when every field is confirmed now (the clerk is told
        that Ctrl+Return marks the letter reviewed).
        """
        ed = self.editors.get(path)
        if ed is None or not ed.commit():
            return None
        try:
            self.confirmations.confirm([path])
        except ReviewError as exc:
            self.session.message.emit(exc.clerk_message)
            return None
        nxt = self.next_unconfirmed(path)
        if nxt is None:
            self.session.message.emit(f"All {len(self.editors)} fields are confirmed: Ctrl+Return marks the letter "
                                      "reviewed and opens the next one.")
            return None
        self.focus_field(nxt)
        return nxt

    def focus_previous(self, path: str) -> str | None:
        """Shift+Enter: the field before this one in form order (none before the first)."""
        paths = self.field_paths()
        i = paths.index(path) if path in paths else 0
        if i == 0 or not self.focus_field(paths[i - 1]):
            return None
        return paths[i - 1]

    def next_unconfirmed(self, after: str | None = None) -> str | None:
        paths = self.field_paths()
        start = paths.index(after) + 1 if after in paths else 0
        for p in paths[start:] + paths[:start]:
            if not self.confirmations.is_confirmed(p):
                return p
        return None

    def revert_field(self, path: str) -> bool:
        """Put the parser's value (and where it read it) back into a changed field."""
        s = self.session
        if path not in self.editors or not s.field_state(path).changed:
            return False
        s.save_now()  # the edits before it are saved as they were made; the revert is its own history row
        # the parser's value of this item's field, in the parser's item it is (items may have moved)
        s.set_value(path, s.parser_value(path), provenance=s.parser_provenance(path))
        s.save_now(reason=REVERT_REASON)
        # checked with the clerk's value, or with the parser's before the clerk changed it: either way the
        # clerk has not checked the value as it is now
        confirmed = self.confirmations.found.get(path)
        if confirmed is not None:
            self.confirmations.drop([path], f"{REVERT_REASON}: the confirmation of {_shown(confirmed.value)} "
                                            f"by {confirmed.by or 'a clerk'} no longer holds")
        return True

    # -- navigation ------------------------------------------------------------------------------
    def field_paths(self) -> list[str]:
        """Every field of the open letter in form order (an item's too while its box is not built yet)."""
        if self.session.letter_id is None:
            return list(self.editors)
        n = len(self.session.record.get("items") or [])
        return [f.path for f in letter_fields()] + [f.path_in(i) for i in range(n) for f in item_fields()]

    def focus_field(self, path: str) -> bool:
        ed = self.editors.get(path)
        parts = path.split(".")
        if ed is None and parts[0] == "items" and len(parts) > 2 and parts[1].isdigit():
            self.show_items_up_to(int(parts[1]))  # an item further down than the boxes built so far
            ed = self.editors.get(path)
        if ed is None:
            return False
        ed.widget.setFocus(Qt.FocusReason.OtherFocusReason)
        self.ensureWidgetVisible(ed.widget, 20, 40)
        self.session.focus(path)
        return True

    def attention_paths(self) -> list[str]:
        """The fields needing attention among those shown (all of them but in a letter of thousands of items)."""
        return [p for p in self.editors if self.session.field_state(p).needs_attention]

    def focus_attention(self, step: int) -> str | None:
        """Go to the next (step 1) or previous (step -1) field needing attention; None when none does."""
        paths = self.field_paths()
        attention = set(self.attention_paths())
        if not attention:
            return None
        current = self.session.focused_path
        start = paths.index(current) if current in paths else (-1 if step > 0 else len(paths))
        n = len(paths)
        for k in range(1, n + 1):
            p = paths[(start + step * k) % n]
            if p in attention:
                self.focus_field(p)
                return p
        return None


def _editors_touched(path: str) -> str | None:
    """The editors an edit of `path` can change, by the start of their paths: an item field's edit those of
    its item ('items.3.'), a letter field's those of the letter's own fields (LETTER); None: all of them."""
    parts = path.split(".")
    if not path or field_at(path) is None:
        return None
    if parts[0] == "items" and len(parts) > 2 and parts[1].isdigit():
        return f"items.{parts[1]}."
    return LETTER


LETTER = ""  # `_sync_values(only=LETTER)`: the letter's own fields, not its items'
