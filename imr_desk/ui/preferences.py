"""The window's preferences: the clerk's name ("Your name"), recorded with every change the window makes."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

MAX_NAME = 80


class PreferencesDialog(QDialog):
    """"Your name": who the window's changes are recorded as (history, statuses, reviews, the letters it holds).

    Empty: the name the database knows the clerk by (the login on this computer, or the database role
    on a server), which is right unless the team shares one role.
    """

    def __init__(self, name: str, default: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferences")
        self.setWindowTitle("Preferences")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name_edit = QLineEdit(name, self)
        self.name_edit.setObjectName("yourName")
        self.name_edit.setMaxLength(MAX_NAME)
        self.name_edit.setPlaceholderText(default)
        form.addRow("Your name:", self.name_edit)
        layout.addLayout(form)
        note = QLabel(f"Recorded with every change you make: each edit in a letter's history, the statuses you "
                      f"set, the letters you mark reviewed, and the letters you have open (other clerks see it "
                      f"in their queue). Leave it empty to be recorded as “{default}”, the name the database "
                      "knows you by; set it when your team shares one database login.", self)
        note.setWordWrap(True)
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def name(self) -> str:
        """The name typed, its spaces tidied ("" for the database's name)."""
        return " ".join(self.name_edit.text().split())
