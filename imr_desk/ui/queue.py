"""The queue of letters: a lazily fetched table with filters, sorting and the count left to review."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from imr_desk.core.verdicts import PARTIALLY_OVERTURNED
from imr_desk.store import OPEN_STATUSES, STATUSES, Database
from imr_desk.store.changes import Holder
from imr_desk.store.database import local_time
from imr_desk.ui import icons

log = logging.getLogger(__name__)

# (attribute of a queue row, header, sort key the store understands)
COLUMNS = [
    ("status", "Status", "status"),
    ("case_number", "Case", "case_number"),
    ("decision_date", "Decided", "decision_date"),
    ("item_count", "Items", "item_count"),
    ("outcome", "Outcome", "outcome"),
    ("warning_count", "⚠", "warning_count"),
    ("name", "File", "name"),
]
# The longest text each column can show (its header aside), so it is sized to show it whole at the font
# in use; the case number's column is sized to a typical one, the last column (the file name) stretches.
COLUMN_TEXTS: dict[str, tuple[str, ...]] = {
    "status": tuple(STATUSES),
    "case_number": ("CM00-0000000",),
    "decision_date": ("0000-00-00",),
    "item_count": ("000",),
    "outcome": ("upheld", "overturned", PARTIALLY_OVERTURNED),
    "warning_count": ("00",),
}
STATUS_COLOURS = {
    "to review": QColor(40, 90, 170),
    "in review": QColor(110, 60, 170),
    "reviewed": QColor(30, 130, 60),
    "postponed": QColor(170, 110, 0),
}
OPEN = "open"  # the status filter for letters still to finish: to review or in review

_Index = QModelIndex | QPersistentModelIndex


class QueueModel(QAbstractTableModel):
    """Letters in the queue, fetched a page at a time as the view scrolls (50,000 stay smooth)."""

    PAGE = 256
    countChanged = Signal(int)

    def __init__(self, db: Database, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.filter: dict[str, Any] = {}
        self.order_by = "id"
        self.descending = False
        self._rows: list[Any] = []
        self._total = 0
        self._same_case: dict[str, list[tuple[int, str, str]]] = {}  # case numbers other letters carry too
        self.holders: dict[int, Holder] = {}  # letters open for editing in another clerk's window

    # -- loading ---------------------------------------------------------------------------------
    def set_filter(self, **filter: Any) -> None:
        self.filter = {k: v for k, v in filter.items() if v not in (None, "")}
        self.reload()

    def reload(self) -> None:
        total = self.db.queue_count(self.filter)  # read first: a failure leaves the model as it was
        rows = list(self.db.queue(self.filter, self.order_by, self.descending, 0, self.PAGE))
        same_case = self.db.same_case(r.case_number for r in rows)
        self.beginResetModel()
        self._total, self._rows, self._same_case = total, rows, same_case
        self.endResetModel()
        self.countChanged.emit(self._total)

    def refresh_live(self, holders: dict[int, Holder]) -> bool:
        """Re-read the rows shown (another clerk changed letters, or opened or closed one). Rows that stay in
        place change where they stand (selection and scroll untouched); True when rows came, went or moved
        (the model was reset: the caller puts the selection and the scroll back)."""
        total = self.db.queue_count(self.filter)  # read first: a failure leaves the model as it was
        rows = list(self.db.queue(self.filter, self.order_by, self.descending, 0, max(len(self._rows), self.PAGE)))
        same_case = self.db.same_case(r.case_number for r in rows)
        before, self.holders = self.holders, dict(holders)
        if [r.id for r in rows] != [r.id for r in self._rows]:
            self.beginResetModel()
            self._total, self._rows, self._same_case = total, rows, same_case
            self.endResetModel()
            self.countChanged.emit(self._total)
            return True
        changed = [i for i, (old, new) in enumerate(zip(self._rows, rows, strict=True))
                   if old != new or before.get(old.id) != self.holders.get(old.id)
                   or self.others_of(old) != [o for o in same_case.get(new.case_number or "", []) if o[0] != new.id]]
        self._total, self._rows, self._same_case = total, rows, same_case
        for i in changed:
            self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
        self.countChanged.emit(self._total)
        return False

    def holder_of(self, letter_id: int) -> Holder | None:
        return self.holders.get(letter_id)

    def total(self) -> int:
        return self._total

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: N802,B008 - Qt's API
        return not parent.isValid() and len(self._rows) < self._total

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: N802,B008 - Qt's API
        if parent.isValid():
            return
        more = list(self.db.queue(self.filter, self.order_by, self.descending, len(self._rows), self.PAGE))
        if not more:
            self._total = len(self._rows)
            return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(more) - 1)
        self._rows.extend(more)
        self._same_case.update(self.db.same_case(r.case_number for r in more))
        self.endInsertRows()

    def fetch_until(self, row: int) -> None:
        while row >= len(self._rows) and self.canFetchMore():
            self.fetchMore()

    # -- the table -------------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802,B008 - Qt's API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802,B008 - Qt's API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return "Warnings (the red mark: errors)" if COLUMNS[section][0] == "warning_count" else None
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        attr = COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            value = getattr(row, attr, None)
            if attr == "warning_count":
                return "" if not value else f"{value}"
            if attr == "case_number" and not value:
                return row.name  # a letter without a case header: its file name stands in
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.DecorationRole:
            if attr == "status" and row.id in self.holders:
                return icons.held()
            if attr == "warning_count" and row.warning_count:
                return icons.severity("error" if row.error_count else "warning")
            if attr == "case_number" and self.others_of(row):
                return icons.duplicate()
        if role == Qt.ItemDataRole.FontRole and attr == "case_number" and not row.case_number:
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and attr in ("item_count", "warning_count"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and attr == "status":
            colour = STATUS_COLOURS.get(getattr(row, "status", ""))
            return QBrush(colour) if colour else None
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = f"{row.name} · {row.status}"
            holder = self.holders.get(row.id)
            if holder is not None:
                tip += f"\n{held_text(holder)}"
            if row.warning_count:
                tip += f" · {row.warning_count} warning(s), {row.error_count} error(s)"
            others = self.others_of(row)
            if others:
                tip += f"\nCase number {row.case_number} is also on: " + "; ".join(
                    f"{name} ({status})" for _id, name, status in others[:5]) + (" …" if len(others) > 5 else "")
            return tip
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        # -1: no column (Qt asks so when sorting is switched on): the queue's own order, by id
        order_by = COLUMNS[column][2] if 0 <= column < len(COLUMNS) else "id"
        descending = order == Qt.SortOrder.DescendingOrder and order_by != "id"
        if (order_by, descending) == (self.order_by, self.descending) and self._rows:
            return  # Qt asks twice for one click (the view, then the header's indicator)
        self.order_by, self.descending = order_by, descending
        self.reload()

    def others_of(self, row: Any) -> list[tuple[int, str, str]]:
        """The other letters (id, name, status) with this row's case number."""
        return [o for o in self._same_case.get(row.case_number or "", []) if o[0] != row.id]

    def duplicate(self, letter_id: int) -> bool:
        i = self.row_of(letter_id)
        return i is not None and bool(self.others_of(self._rows[i]))

    # -- rows by letter --------------------------------------------------------------------------
    def letter_id(self, row: int) -> int | None:
        return self._rows[row].id if 0 <= row < len(self._rows) else None

    def row_of(self, letter_id: int) -> int | None:
        for i, r in enumerate(self._rows):
            if r.id == letter_id:
                return i
        return None

    def refresh_letter(self, letter_id: int, row_data: Any) -> None:
        """Show a letter's new state (after a save or a status change) without reloading the queue."""
        i = self.row_of(letter_id)
        if i is None or row_data is None:
            return
        old_case = self._rows[i].case_number
        self._rows[i] = row_data
        if old_case != row_data.case_number:  # a corrected case number: both numbers' letters change
            cases = {old_case, row_data.case_number} - {None}
            for c in cases:
                self._same_case.pop(c or "", None)
            self._same_case.update(self.db.same_case(cases))
            for j, r in enumerate(self._rows):
                if r.case_number in cases:
                    self.dataChanged.emit(self.index(j, 1), self.index(j, 1))
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))


def held_text(holder: Holder) -> str:
    """"Open for editing by bob (on desk-3) since 14:05": a letter another clerk holds, as the queue says it."""
    where = f" (on {holder.host})" if holder.host else ""
    return f"Open for editing by {holder.who}{where} since {local_time(holder.since)}"


class QueuePanel(QWidget):
    """The queue with its filters (status, batch, text search) and the count left to review."""

    letterChosen = Signal(int)

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queuePanel")
        self.db = db
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        filters = QHBoxLayout()
        self.status = QComboBox(self)
        self.status.setObjectName("statusFilter")
        self.status.addItem("All", None)
        self.status.addItem("Open (to review, in review)", OPEN)
        for s in STATUSES:
            self.status.addItem(s.capitalize(), s)
        self.batch = QComboBox(self)
        self.batch.setObjectName("batchFilter")
        # Sized to their longest entry ("Open (to review, in review)", a batch's name) the two boxes held
        # the queue at some 400 px, and a narrow window squeezed the letter into a sliver with a sideways
        # scroll bar: they shrink with the pane instead (the list that drops down still shows whole names).
        for box in (self.status, self.batch):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(6)
        filters.addWidget(self.status)
        filters.addWidget(self.batch, 1)
        layout.addLayout(filters)
        self.search = QLineEdit(self)
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search letters (Ctrl+F): case number, request, any words…")
        self.search.setClearButtonEnabled(True)
        layout.addWidget(self.search)
        self.model = QueueModel(db, self)
        self.view = QTableView(self)
        self.view.setObjectName("queueView")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSortingEnabled(True)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.setWordWrap(False)
        header = self.view.horizontalHeader()
        self._user_widths: dict[str, int] = {}  # columns the clerk resized: kept over the fitted widths
        self.fit_columns()
        header.sectionResized.connect(self._resized)
        # The file name is in each row's tooltip and stands in for a missing case number; its column
        # would only push the others out of a narrow pane.
        self.view.setColumnHidden(len(COLUMNS) - 1, True)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        layout.addWidget(self.view, 1)
        self.empty_label = QLabel(self)  # stands in for the table when nothing matches
        self.empty_label.setObjectName("noMatch")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.hide()
        layout.addWidget(self.empty_label, 1)
        self.count_label = QLabel(self)
        self.count_label.setObjectName("toReviewCount")
        self.count_label.setWordWrap(True)  # "0 of 330 reviewed · … shown" wraps in a narrow pane rather than widen it
        layout.addWidget(self.count_label)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self.apply_filter)
        self.status.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.batch.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)
        self.model.modelReset.connect(self._reselect)
        self._selected_id: int | None = None
        self._quiet = False
        self.refresh_batches()
        self.apply_filter()
        self.fit_columns()  # again, now that the rows are there (a duplicate case number's mark)

    def fitted_width(self, column: int) -> int:
        """The width that shows the column's header and its longest text whole at the view's font now."""
        key, title = COLUMNS[column][0], COLUMNS[column][1]
        cell = self.view.fontMetrics()
        head = self.view.horizontalHeader().fontMetrics()
        margin = 2 * (self.view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self.view) + 1)
        widest = max([cell.horizontalAdvance(t) for t in COLUMN_TEXTS.get(key, ())] or [0]) + margin + 2
        if key == "warning_count":
            widest += 18  # its mark
        # the rows in view (a duplicate case's mark), and the header with room for the sort arrow
        return max(widest, self.view.sizeHintForColumn(column), head.horizontalAdvance(title) + 14)

    def fit_columns(self) -> None:
        """Size each column to its longest text at the current font, but those the clerk resized."""
        header = self.view.horizontalHeader()
        header.blockSignals(True)
        try:
            for column in range(len(COLUMNS) - 1):
                key = COLUMNS[column][0]
                header.resizeSection(column, self._user_widths.get(key) or self.fitted_width(column))
        finally:
            header.blockSignals(False)

    def _resized(self, column: int, _old: int, new: int) -> None:
        if 0 <= column < len(COLUMNS) - 1 and new > 0:  # the clerk dragged a column's edge
            self._user_widths[COLUMNS[column][0]] = new

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self.fit_columns()

    def widths_state(self) -> str:
        """The columns the clerk resized, as `key=width,…` (settings keep it for the next start)."""
        return ",".join(f"{k}={v}" for k, v in self._user_widths.items())

    def restore_widths(self, state: str | None) -> None:
        keys = {c[0] for c in COLUMNS[:-1]}
        self._user_widths = {}
        for part in (state or "").split(","):
            key, _, width = part.partition("=")
            if key in keys and width.isdigit() and int(width) > 0:
                self._user_widths[key] = int(width)
        self.fit_columns()

    def state(self) -> dict[str, str]:
        """The filters and sort to remember for the next start (the searched words are not kept)."""
        return {"status": self.status.currentData() or "", "batch": self.batch.currentData() or "",
                "sort": self.model.order_by, "descending": "1" if self.model.descending else ""}

    def restore_state(self, state: dict[str, str | None]) -> None:
        """Put back the filters and sort of `state()`; a batch or status that is gone leaves its filter at All."""
        for combo, key in ((self.status, "status"), (self.batch, "batch")):
            i = combo.findData(state.get(key)) if state.get(key) else 0
            combo.blockSignals(True)
            combo.setCurrentIndex(max(0, i))
            combo.blockSignals(False)
        columns = [c[2] for c in COLUMNS]
        sort = state.get("sort") or "id"
        order = Qt.SortOrder.DescendingOrder if state.get("descending") else Qt.SortOrder.AscendingOrder
        if sort in columns and sort != "id":
            self.model.order_by, self.model.descending = sort, bool(state.get("descending"))
            self.view.horizontalHeader().blockSignals(True)
            self.view.horizontalHeader().setSortIndicator(columns.index(sort), order)
            self.view.horizontalHeader().blockSignals(False)
        self.apply_filter()

    def refresh_live(self, holders: dict[int, Holder]) -> None:
        """Show what other clerks changed, keeping the selection and the scroll position."""
        bar = self.view.verticalScrollBar()
        scrolled = bar.value()
        if self.model.refresh_live(holders):  # reset: the selection came back with it (`_reselect`)
            bar.setValue(min(scrolled, bar.maximum()))
        self.update_count()

    def stop_timers(self) -> None:
        """The window is closing: no search may run on its closed database."""
        self._search_timer.stop()

    def refresh_batches(self) -> None:
        current = self.batch.currentData()
        self.batch.blockSignals(True)
        self.batch.clear()
        self.batch.addItem("All batches", None)
        for b in self.db.batches():
            self.batch.addItem(str(b), b)
        i = self.batch.findData(current)
        self.batch.setCurrentIndex(max(0, i))
        self.batch.blockSignals(False)

    def apply_filter(self) -> None:
        self._search_timer.stop()
        status = self.status.currentData()
        self.model.set_filter(status=list(OPEN_STATUSES) if status == OPEN else status,
                              batch=self.batch.currentData(),
                              search=self.search.text().strip())
        self.update_count()

    def update_count(self) -> None:
        """The progress of the letters in view (the batch and search in force, any status) and what is shown."""
        total, reviewed, left = self.db.progress(self.model.filter)
        shown = self.model.total()
        self.count_label.setText(f"{reviewed:,} of {total:,} reviewed · {left:,} left to review · {shown:,} shown")
        self._show_empty(shown == 0)

    def _show_empty(self, empty: bool) -> None:
        if empty:
            words = self.search.text().strip()
            narrowed = self.status.currentData() is not None or self.batch.currentData() is not None
            if words:
                where = " with this status and batch" if narrowed else ""
                text = f"No letters match “{words}”{where}."
            elif narrowed:
                text = "No letters with this status and batch."
            else:
                text = "No letters yet: import some with Ctrl+O, or drop them on the window."
            self.empty_label.setText(text)
        self.empty_label.setVisible(empty)
        self.view.setVisible(not empty)

    def select_letter(self, letter_id: int, quiet: bool = True) -> bool:
        """Select a letter's row (fetching pages until it shows) without reopening it."""
        row = self.model.row_of(letter_id)
        while row is None and self.model.canFetchMore():
            self.model.fetchMore()
            row = self.model.row_of(letter_id)
        if row is None:
            self.view.clearSelection()
            return False
        self._quiet = quiet
        try:
            self.view.selectRow(row)
            self.view.scrollTo(self.model.index(row, 0))
        finally:
            self._quiet = False
        self._selected_id = letter_id
        return True

    def neighbour(self, letter_id: int | None, step: int) -> int | None:
        row = self.model.row_of(letter_id) if letter_id is not None else None
        target = 0 if row is None else row + step
        if step > 0:
            self.model.fetch_until(target)
        return self.model.letter_id(target) if target >= 0 else None

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        letter_id = self.model.letter_id(current.row()) if current.isValid() else None
        if letter_id is None or letter_id == self._selected_id:
            return
        self._selected_id = letter_id
        if not self._quiet:
            self.letterChosen.emit(letter_id)

    def _reselect(self) -> None:
        if self._selected_id is not None:
            row = self.model.row_of(self._selected_id)
            if row is not None:
                self._quiet = True
                try:
                    self.view.selectRow(row)
                finally:
                    self._quiet = False
