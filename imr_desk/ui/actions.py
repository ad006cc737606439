"""The window's actions and their keys, in one table: menus, shortcuts and the F1 help all come from it."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
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
    ActionSpec("import_files", "Import letters…", "Ctrl+O", "Import PDF or text letters, or zip archives.", "File"),
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
    """F1: every shortcut, listed from the same table that defines them."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("helpPanel")
        self.setWindowTitle("IMR Desk: keyboard shortcuts")
        layout = QVBoxLayout(self)
        table = QTableWidget(len(ACTIONS), 3, self)
        table.setObjectName("shortcutTable")
        table.setHorizontalHeaderLabels(["Key", "Action", "What it does"])
        for row, spec in enumerate(ACTIONS):
            key = QKeySequence(spec.shortcut).toString(QKeySequence.SequenceFormat.NativeText)
            for col, text in enumerate((key, spec.text.rstrip("…"), spec.help)):
                table.setItem(row, col, QTableWidgetItem(text))
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        table.resizeColumnsToContents()
        layout.addWidget(table)
        self.table = table
        self.resize(720, 560)
