"""The form beside the letter: case, reviewer, worker and the disputed items.

Every editor shows its value from the session and sends the clerk's edits back to it; a badge
beside it shows the field's state (confidence, uncertain, warning, changed by the clerk).
"""

from __future__ import annotations

import logging
from typing import Any

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

log = logging.getLogger(__name__)

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
        self.widget = self._make(kind, parent)
        self.widget.setObjectName(f"field:{path}")
        self.widget.setProperty("fieldPath", path)
        self.widget.installEventFilter(self)
        self.badge = QLabel(parent)
        self.badge.setObjectName(f"badge:{path}")
        self.badge.setMinimumWidth(58)
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._setting = False

    def _make(self, kind: str, parent: QWidget) -> QWidget:
        if kind == "text" or kind == "list":
            w: Any = QLineEdit(parent)
            w.textEdited.connect(lambda _t: self._emit())
            if kind == "list":
                w.setPlaceholderText("comma-separated")
        elif kind == "longtext":
            w = QPlainTextEdit(parent)
            w.setTabChangesFocus(True)
            w.setFixedHeight(74)
            w.textChanged.connect(self._emit)
        elif kind == "date":
            w = QDateEdit(parent)
            w.setCalendarPopup(True)
            w.setMinimumDate(NULL_DATE)
            w.setSpecialValueText("—")  # the minimum stands for "no date"
            w.setDisplayFormat("yyyy-MM-dd")
            w.dateChanged.connect(lambda _d: self._emit())
        elif kind == "int":
            w = QSpinBox(parent)
            w.setRange(-1, 120)
            w.setSpecialValueText("—")
            w.valueChanged.connect(lambda _v: self._emit())
        elif kind == "bool":
            w = QCheckBox(parent)
            w.toggled.connect(lambda _v: self._emit())
        elif kind.startswith("choice:"):
            w = QComboBox(parent)
            w.addItem("—", None)
            for option in kind.split(":", 1)[1].split(","):
                w.addItem(option, option)
            w.currentIndexChanged.connect(lambda _i: self._emit())
        else:
            raise ValueError(kind)
        return w

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if obj is self.widget and event.type() == QEvent.Type.FocusIn:
            self.focused.emit(self.path)
        return False

    def _emit(self) -> None:
        if not self._setting:
            self.edited.emit(self.path, self.value())

    def value(self) -> Any:
        w, kind = self.widget, self.kind
        if kind == "text":
            return w.text() if w.text().strip() else (None if not self.path.endswith("request") else "")
        if kind == "list":
            return [s.strip() for s in w.text().split(",") if s.strip()]
        if kind == "longtext":
            text = w.toPlainText()
            return text if text.strip() else None
        if kind == "date":
            d = w.date()
            return None if d == NULL_DATE else d.toString("yyyy-MM-dd")
        if kind == "int":
            return None if w.value() < 0 else w.value()
        if kind == "bool":
            return w.isChecked()
        return w.currentData()

    def set_value(self, value: Any) -> None:
        if _same(self.value(), value, self.kind):
            return
        self._setting = True
        try:
            w, kind = self.widget, self.kind
            if kind == "text":
                w.setText(value or "")
                w.setCursorPosition(0)  # a long request shows its beginning
            elif kind == "list":
                w.setText(", ".join(value or []))
                w.setCursorPosition(0)
            elif kind == "longtext":
                w.setPlainText(value or "")
            elif kind == "date":
                d = QDate.fromString(value, "yyyy-MM-dd") if value else NULL_DATE
                w.setDate(d if d.isValid() else NULL_DATE)
            elif kind == "int":
                w.setValue(value if isinstance(value, int) else -1)
            elif kind == "bool":
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
        self.setObjectName(f"item:{index}")
        outer = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.outcome_label = QLabel(self)
        bar.addWidget(self.outcome_label, 1)
        self.up = QPushButton("↑", self, toolTip="Move the item up")
        self.down = QPushButton("↓", self, toolTip="Move the item down")
        self.remove = QPushButton("Remove", self, toolTip="Remove the item")
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
        self.editors: dict[str, FieldEditor] = {}
        self._item_boxes: list[ItemBox] = []
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
        for box in self._item_boxes:
            for spec in ITEM_FIELDS:
                ed = self.editors.pop(f"items.{box.index}.{spec[0]}", None)
                if ed is not None:
                    ed.deleteLater()
            self.items_area.removeWidget(box)
            box.deleteLater()
        self._item_boxes = []
        for i, _item in enumerate(self.session.record.get("items") or []):
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
