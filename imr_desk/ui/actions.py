"""The window's actions and their keys, in one table: menus and shortcuts come from it, and the F1 help
from the actions the window really has (so it lists every key, wherever an action was added)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


@dataclass(frozen=True)
class ActionSpec:
    name: str  # the window's slot is do_<name>
    text: str
    shortcut: str
    help: str
    menu: str
    checkable: bool = False


ACTIONS: list[ActionSpec] = [
    ActionSpec("mark_reviewed_next", "Mark reviewed and open next", "Ctrl+Return",
               "Mark this letter reviewed and open the next letter to review.", "Review"),
    ActionSpec("next_letter", "Next letter", "Ctrl+PgDown", "Open the next letter in the queue.", "Review"),
    ActionSpec("previous_letter", "Previous letter", "Ctrl+PgUp", "Open the previous letter in the queue.", "Review"),
    ActionSpec("next_attention", "Next field needing attention", "F8",
               "Go to the next field with a warning or read with low confidence.", "Review"),
    ActionSpec("previous_attention", "Previous field needing attention", "Shift+F8",
               "Go to the previous field with a warning or read with low confidence.", "Review"),
    ActionSpec("revert_field", "Put the parser's value back", "Ctrl+R",
               "Undo the clerk's change to the focused field: the value the parser read comes back.", "Review"),
    ActionSpec("require_confirm", "Require every field confirmed one by one (whole team)", "",
               "A team setting kept in the database: Ctrl+Return then marks a letter reviewed only when each "
               "of its fields was confirmed with Enter.", "Review", checkable=True),
    ActionSpec("fill_from_selection", "Fill field from selection", "Ctrl+D",
               "Fill the focused field with the text selected in the letter.", "Review"),
    ActionSpec("annotate", "Annotate selection…", "Ctrl+M",
               "Label the text selected in the letter (extraction error, illegible, question, note).", "Review"),
    ActionSpec("postpone", "Postpone…", "Ctrl+P", "Put the letter aside with a reason.", "Review"),
    ActionSpec("history", "Letter history…", "Ctrl+H", "Who changed what in this letter, from what, and when.",
               "Review"),
    ActionSpec("find_in_letter", "Find in the letter", "Ctrl+Shift+F",
               "Find words in the open letter: every hit is marked; Enter goes to the next.", "Edit"),
    ActionSpec("find_next", "Find next", "F3", "Go to the next hit in the letter.", "Edit"),
    ActionSpec("find_previous", "Find previous", "Shift+F3", "Go to the previous hit in the letter.", "Edit"),
    ActionSpec("undo", "Undo", "Ctrl+Z", "Undo the last edit of this letter.", "Edit"),
    ActionSpec("redo", "Redo", "Ctrl+Shift+Z", "Redo the edit just undone.", "Edit"),
    ActionSpec("preferences", "Preferences…", "Ctrl+,",
               "Your name, as it is recorded with every change you make.", "Edit"),
    ActionSpec("search", "Search letters", "Ctrl+F", "Search the letters' text and fields.", "Edit"),
    ActionSpec("open_database", "Open a database…", "Ctrl+Shift+D",
               "Open another review database: a file, or the team's database on a server (postgresql://).", "File"),
    ActionSpec("import_files", "Import letters…", "Ctrl+O",
               "Import PDF, text or scanned (PNG, JPEG, TIFF) letters, zip archives or JSON Lines exports.", "File"),
    ActionSpec("import_folder", "Import a folder…", "Ctrl+Shift+O", "Import every letter in a folder.", "File"),
    ActionSpec("export", "Export…", "Ctrl+E", "Export a reviewed set (CSV, JSON Lines, Excel, SQLite).", "File"),
    ActionSpec("quit", "Quit", "Ctrl+Q", "Save and close IMR Desk.", "File"),
    ActionSpec("toggle_highlights", "Show all parsed fields", "Ctrl+L",
               "Show every parsed field as a faint highlight, coloured by section.", "View", checkable=True),
    ActionSpec("zoom_in", "Zoom in", "Ctrl+=", "Enlarge the letter.", "View"),
    ActionSpec("zoom_out", "Zoom out", "Ctrl+-", "Shrink the letter.", "View"),
    ActionSpec("fit_width", "Fit width", "Ctrl+0", "Fit the letter's page to the pane.", "View"),
    ActionSpec("focus_queue", "Go to the queue", "Ctrl+1", "Move the keyboard to the queue of letters.", "View"),
    ActionSpec("focus_letter", "Go to the letter", "Ctrl+2",
               "Move the keyboard to the letter (arrows and Page Down scroll it).", "View"),
    ActionSpec("focus_form", "Go to the form", "Ctrl+3", "Move the keyboard back to the form's current field.",
               "View"),
    ActionSpec("toggle_queue", "Show the queue", "Ctrl+B", "Hide the queue to give the letter room, or show it.",
               "View", checkable=True),
    ActionSpec("help", "Keyboard shortcuts", "F1", "This list.", "Help"),
]


def build_actions(window: QWidget) -> dict[str, QAction]:
    """Create the window's actions from the table, connected to its do_<name> slots."""
    actions: dict[str, QAction] = {}
    for spec in ACTIONS:
        action = QAction(spec.text, window)
        action.setObjectName(f"action:{spec.name}")
        action.setShortcut(QKeySequence(spec.shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(f"{spec.help} ({spec.shortcut})" if spec.shortcut else spec.help)
        action.setStatusTip(spec.help)
        action.setCheckable(spec.checkable)
        slot = getattr(window, f"do_{spec.name}")
        if spec.checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
        window.addAction(action)
        actions[spec.name] = action
    return actions


class ShortcutGuard(QObject):
    """Keeps the window's keys from being claimed by the editor that has focus.

    A line edit claims Ctrl+Z for its own undo; here Ctrl+Z must undo the letter's edit (the
    session's undo stack), and Ctrl+D must fill from the selection, wherever the focus is.
    """

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        # PySide6 indexes a QKeySequence (C++ operator[]), but its stubs leave __getitem__ out.
        self.keys = {QKeySequence(spec.shortcut)[0].toCombined()  # type: ignore[index]
                     for spec in ACTIONS if spec.shortcut}

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.ShortcutOverride and QApplication.activeWindow() is self.window:
            combined = event.keyCombination().toCombined()  # type: ignore[attr-defined]
            if combined in self.keys:
                event.ignore()
                return True
        return False


class HelpPanel(QDialog):
    """F1: every key the window has, read from the window's own actions (so an action added anywhere is
    listed with the key it really has), then the keys of the form's fields and of the find bar
    (`extra`: a title and its (key, what it does) rows). Long descriptions wrap; the list scrolls."""

    def __init__(self, parent: QWidget, extra: Sequence[tuple[str, Sequence[tuple[str, str]]]] = ()) -> None:
        super().__init__(parent)
        self.setObjectName("helpPanel")
        self.setWindowTitle("IMR Desk: keyboard shortcuts")
        layout = QVBoxLayout(self)
        sections = [*window_keys(parent), *extra]
        rows = sum(1 + len(keys) for _title, keys in sections)
        table = QTableWidget(rows, 2, self)
        table.setObjectName("shortcutTable")
        table.setHorizontalHeaderLabels(["Key", "What it does"])
        bold = QFont(table.font())
        bold.setBold(True)
        r = 0
        self.keys: list[str] = []  # every key listed, as shown
        for title, keys in sections:
            head = QTableWidgetItem(title)
            head.setFont(bold)
            head.setFlags(Qt.ItemFlag.ItemIsEnabled)
            table.setItem(r, 0, head)
            table.setSpan(r, 0, 1, 2)
            r += 1
            for key, what in keys:
                table.setItem(r, 0, QTableWidgetItem(key))
                table.setItem(r, 1, QTableWidgetItem(what))
                self.keys.append(key)
                r += 1
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setWordWrap(True)
        table.setTextElideMode(Qt.TextElideMode.ElideNone)
        table.setVerticalScrollMode(QTableWidget.ScrollMode.ScrollPerPixel)
        table.resizeColumnToContents(0)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(table)
        self.table = table
        self._fit_to_screen()

    def _fit_to_screen(self) -> None:
        """As large as the list needs, but never larger than the screen (the list scrolls then)."""
        owner = self.parentWidget()
        screen = owner.screen() if owner is not None else self.screen()
        avail = screen.availableGeometry() if screen is not None else None
        width, height = 760, 40 + sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        if avail is not None:
            width = min(width, avail.width() - 40)
            height = min(height, avail.height() - 80)  # the window manager's title bar and borders
        self.resize(width, max(200, height))


def window_keys(window: QWidget) -> list[tuple[str, list[tuple[str, str]]]]:
    """The keys of the window's actions, by menu in the menu bar's order (then those in no menu)."""
    from PySide6.QtWidgets import QMainWindow

    seen: set[int] = set()
    sections: list[tuple[str, list[tuple[str, str]]]] = []

    def rows(actions: Sequence[QAction]) -> list[tuple[str, str]]:
        found = []
        for action in actions:
            keys = [k for k in action.shortcuts() if not k.isEmpty()]
            if not keys or id(action) in seen:
                continue
            seen.add(id(action))
            what = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()
            tip = action.statusTip() or ""
            found.append((", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys),
                          f"{what}: {tip}" if tip and tip != what else what))
        return found

    if isinstance(window, QMainWindow):
        for menu_action in window.menuBar().actions():
            menu = menu_action.menu()
            if menu is not None:
                found = rows(_menu_actions(menu))
                if found:
                    sections.append((menu_action.text().replace("&", ""), found))
    rest = rows(window.actions())
    if rest:
        sections.append(("Elsewhere", rest))
    return sections


def _menu_actions(menu: Any) -> list[QAction]:
    out: list[QAction] = []
    for action in menu.actions():
        sub = action.menu()
        out += _menu_actions(sub) if sub is not None else [action]
    return out
