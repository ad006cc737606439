"""The form beside the letter: case, reviewer, worker and the disputed items.

Every editor shows its value from the session and sends the clerk's edits back to it; a badge
beside it shows the field's state (confidence, uncertain, warning, changed by the clerk).
"""

from __future__ import annotations

import logging
from typing import Any, TypeAlias

from PySide6.QtCore import QDate, QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
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

from imr_desk.ui.session import FieldState, ReviewError, ReviewSession
from imr_desk.ui.wheel import WheelGuard

log = logging.getLogger(__name__)

# The editor widget of each kind of field: text and list are line edits, longtext a plain text edit,
# date a date edit, int a spin box, bool a check box, choice:... a combo box.
EditorWidget: TypeAlias = QLineEdit | QPlainTextEdit | QDateEdit | QSpinBox | QCheckBox | QComboBox

NULL_DATE = QDate(1900, 1, 1)

CASE_FIELDS = [
    ("case.case_number", "Case number", "text"),
    ("case.decision_date", "Decision date", "date"),
    ("case.date_assigned", "Date assigned", "date"),
    ("case.date_of_injury", "Date of injury", "date"),
    ("case.ur_denial_date", "UR denial date", "date"),
    ("case.application_received", "Application received", "date"),
    ("case.priority", "Priority", "choice:Standard,Expedited"),
]
REVIEWER_FIELDS = [
    ("reviewer.role", "Role", "text"),
    ("reviewer.licensure", "Licensure", "list"),
    ("reviewer.specialties", "Specialties", "list"),
]
WORKER_FIELDS = [
    ("patient.age", "Age", "int"),
    ("patient.sex", "Sex", "choice:male,female"),
    ("summary", "Case summary", "longtext"),
]
ITEM_FIELDS = [
    ("request", "Request", "text"),
    ("decision", "Decision", "choice:upheld,overturned"),
    ("decision_stated", "Decision stated", "bool"),
    ("original_request", "Original request", "text"),
    ("authorized", "Authorized", "text"),
    ("claims_administrator_guideline", "Claims admin. guideline", "longtext"),
    ("maximus_guideline", "MAXIMUS guideline", "longtext"),
    ("rationale", "Rationale", "longtext"),
]


class FieldEditor(QObject):
    """One field of the record in one editor widget."""

    edited = Signal(str, object)
    focused = Signal(str)

    def __init__(self, path: str, label: str, kind: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.path = path
        self.label = label
        self.kind = kind
        self.widget: EditorWidget = self._make(kind, parent)
        self.widget.setObjectName(f"field:{path}")
        self.widget.setProperty("fieldPath", path)
        self.widget.installEventFilter(self)
        self.badge = QLabel(parent)
        self.badge.setObjectName(f"badge:{path}")
        self.badge.setMinimumWidth(58)
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._setting = False

    def _make(self, kind: str, parent: QWidget) -> EditorWidget:
        if kind == "text" or kind == "list":
            line = QLineEdit(parent)
            line.textEdited.connect(lambda _t: self._emit())
            if kind == "list":
                line.setPlaceholderText("comma-separated")
            return line
        if kind == "longtext":
            plain = QPlainTextEdit(parent)
            plain.setTabChangesFocus(True)
            plain.setFixedHeight(74)
            plain.textChanged.connect(self._emit)
            return plain
        if kind == "date":
            date = QDateEdit(parent)
            date.setCalendarPopup(True)
            date.setMinimumDate(NULL_DATE)
            date.setSpecialValueText("—")  # the minimum stands for "no date"
            date.setDisplayFormat("yyyy-MM-dd")
            date.dateChanged.connect(lambda _d: self._emit())
            return date
        if kind == "int":
            spin = QSpinBox(parent)
            spin.setRange(-1, 120)
            spin.setSpecialValueText("—")
            spin.valueChanged.connect(lambda _v: self._emit())
            return spin
        if kind == "bool":
            check = QCheckBox(parent)
            check.toggled.connect(lambda _v: self._emit())
            return check
        if kind.startswith("choice:"):
            combo = QComboBox(parent)
            combo.addItem("—", None)
            for option in kind.split(":", 1)[1].split(","):
                combo.addItem(option, option)
            combo.currentIndexChanged.connect(lambda _i: self._emit())
            return combo
        raise ValueError(kind)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if obj is self.widget and event.type() == QEvent.Type.FocusIn:
            self.focused.emit(self.path)
        return False

    def _emit(self) -> None:
        if not self._setting:
            self.edited.emit(self.path, self.value())

    def value(self) -> Any:
        # The widget's class follows from the kind (see _make); text and list share QLineEdit.
        w, kind = self.widget, self.kind
        if isinstance(w, QLineEdit):
            if kind == "list":
                return [s.strip() for s in w.text().split(",") if s.strip()]
            return w.text() if w.text().strip() else (None if not self.path.endswith("request") else "")
        if isinstance(w, QPlainTextEdit):
            text = w.toPlainText()
            return text if text.strip() else None
        if isinstance(w, QDateEdit):
            d = w.date()
            return None if d == NULL_DATE else d.toString("yyyy-MM-dd")
        if isinstance(w, QSpinBox):
            return None if w.value() < 0 else w.value()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        return w.currentData()

    def set_value(self, value: Any) -> None:
        if _same(self.value(), value, self.kind):
            return
        self._setting = True
        try:
            w, kind = self.widget, self.kind
            if isinstance(w, QLineEdit):
                w.setText(", ".join(value or []) if kind == "list" else (value or ""))
                w.setCursorPosition(0)  # a long request shows its beginning
            elif isinstance(w, QPlainTextEdit):
                w.setPlainText(value or "")
            elif isinstance(w, QDateEdit):
                d = QDate.fromString(value, "yyyy-MM-dd") if value else NULL_DATE
                w.setDate(d if d.isValid() else NULL_DATE)
            elif isinstance(w, QSpinBox):
                w.setValue(value if isinstance(value, int) else -1)
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            else:
                i = w.findData(value)
                w.setCurrentIndex(max(0, i))
        finally:
            self._setting = False

    def show_state(self, state: FieldState) -> None:
        parts = []
        tip = []
        if state.warnings:
            parts.append("⚠")
            tip += [w["message"] for w in state.warnings]
        if state.changed:
            parts.append("✎")
            tip.append("changed by the clerk")
        if state.confidence is not None:
            parts.append(f"{round(state.confidence * 100)}%")
            tip.append(f"read with confidence {state.confidence:.2f}" + (f" ({state.rule})" if state.rule else ""))
        elif not state.changed:
            tip.append("not found in the letter")
        if state.warnings:
            kind = "warning"
        elif state.changed:
            kind = "changed"
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
        for w in (self.widget, self.badge):
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


def _same(a: Any, b: Any, kind: str) -> bool:
    if kind in ("text", "longtext"):
        return (a or "") == (b or "")
    if kind == "list":
        return list(a or []) == list(b or [])
    if kind == "bool":
        return bool(a) == bool(b)
    return a == b


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
        self._section("Case", CASE_FIELDS)
        self._section("Reviewer", REVIEWER_FIELDS)
        self._section("Worker", WORKER_FIELDS)
        items_header = QHBoxLayout()
        self.items_label = QLabel("<b>Disputed items</b>", body)
        items_header.addWidget(self.items_label, 1)
        self.add_button = QPushButton("Add item", body)
        self.add_button.setObjectName("addItem")
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

    def _section(self, title: str, specs: list[tuple[str, str, str]]) -> None:
        box = QGroupBox(title, self.body)
        box.setObjectName(f"section:{title.lower()}")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for path, label, kind in specs:
            self._add_editor(form, box, path, label, kind)
        self.layout_.addWidget(box)

    def _add_editor(self, form: QFormLayout, parent: QWidget, path: str, label: str, kind: str) -> FieldEditor:
        ed = FieldEditor(path, label, kind, parent)
        ed.edited.connect(self._edited)
        ed.focused.connect(self.session.focus)
        self.wheel_guard.watch(ed.widget)
        row = QHBoxLayout()
        row.addWidget(ed.widget, 1)
        row.addWidget(ed.badge)
        lab = QLabel(label, parent)
        lab.setBuddy(ed.widget)
        form.addRow(lab, row)
        self.editors[path] = ed
        return ed

    # -- from the session to the widgets ---------------------------------------------------------
    def refresh_all(self) -> None:
        self._rebuild_items()
        self._sync_values()
        ro = self.session.read_only or self.session.letter_id is None
        for ed in self.editors.values():
            ed.set_read_only(ro)
        self.add_button.setEnabled(not ro)
        for box in self._item_boxes:
            for b in (box.up, box.down, box.remove):
                b.setEnabled(not ro)
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

    def _record_changed(self, _path: str) -> None:
        if len(self._item_boxes) != len(self.session.record.get("items") or []):
            self._rebuild_items()
        self._sync_values()
        self._update_title()

    def _sync_values(self) -> None:
        s = self.session
        for path, ed in self.editors.items():
            ed.set_value(s.value(path))
            ed.show_state(s.field_state(path))
        items = s.record.get("items") or []
        for box in self._item_boxes:
            item_warnings = [w for w in s.warnings() if w.get("path") == f"items.{box.index}"]
            box.outcome_label.setText("⚠ " + item_warnings[0]["message"] if item_warnings else "")
            box.up.setEnabled(box.index > 0 and not s.read_only)
            box.down.setEnabled(box.index < len(items) - 1 and not s.read_only)

    def _rebuild_items(self) -> None:
        """One box per item. Boxes are bound to an index and kept (hidden, when fewer items are shown)
        for the next letter: switching letters creates no editors once the boxes exist."""
        wanted = len(self.session.record.get("items") or [])
        while len(self._item_boxes) > wanted:
            box = self._item_boxes.pop()
            box.hide()
            box.spare_editors = {k: self.editors.pop(k) for k in [f"items.{box.index}.{f[0]}" for f in ITEM_FIELDS]
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
            box = ItemBox(i, self.body)
            for key, label, kind in ITEM_FIELDS:
                self._add_editor(box.form, box, f"items.{i}.{key}", label, kind)
            box.up.clicked.connect(lambda _c=False, i=i: self._move(i, i - 1))
            box.down.clicked.connect(lambda _c=False, i=i: self._move(i, i + 1))
            box.remove.clicked.connect(lambda _c=False, i=i: self._remove(i))
            self.items_area.addWidget(box)
            self._item_boxes.append(box)
        ro = self.session.read_only or self.session.letter_id is None
        for box in self._item_boxes:
            for spec in ITEM_FIELDS:
                self.editors[f"items.{box.index}.{spec[0]}"].set_read_only(ro)

    def _focus_changed(self, path: str) -> None:
        for ed in self.editors.values():
            active = ed.path == path
            if bool(ed.widget.property("focusedField")) != active:
                ed.widget.setProperty("focusedField", active)
                ed.widget.style().unpolish(ed.widget)
                ed.widget.style().polish(ed.widget)

    # -- from the widgets to the session ---------------------------------------------------------
    def _edited(self, path: str, value: Any) -> None:
        try:
            self.session.set_value(path, value)
        except ReviewError as exc:
            self.session.message.emit(exc.clerk_message)
            self.editors[path].set_value(self.session.value(path))

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

    # -- navigation ------------------------------------------------------------------------------
    def field_paths(self) -> list[str]:
        """The fields in form order."""
        return list(self.editors)

    def focus_field(self, path: str) -> bool:
        ed = self.editors.get(path)
        if ed is None:
            return False
        ed.widget.setFocus(Qt.FocusReason.OtherFocusReason)
        self.ensureWidgetVisible(ed.widget, 20, 40)
        self.session.focus(path)
        return True

    def attention_paths(self) -> list[str]:
        return [p for p in self.field_paths() if self.session.field_state(p).needs_attention]

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
