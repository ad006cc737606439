"""File → Open database: a review database file, or a server database (a postgresql:// URL).

The password of a server database is never kept in the settings (recent databases are remembered
without it, `engine.display_name`): libpq's password file (~/.pgpass) or PGPASSWORD supply it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from imr_desk.store import ClerkError


class OpenDatabaseDialog(QDialog):
    """Which database to open: one of the recent ones, a file chosen, or a postgresql:// URL typed.

    `opener(name)` opens it (and raises a `ClerkError` saying why it cannot); the dialog shows that
    message and stays open, so the clerk can correct the name.
    """

    def __init__(self, recent: list[str], opener: Callable[[str], Any], start_folder: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("openDatabase")
        self.setWindowTitle("Open a review database")
        self.opener = opener
        self.start_folder = start_folder
        self.opened: Any = None
        layout = QVBoxLayout(self)
        intro = QLabel("A review database file (.db) on this computer, or a team's database on a server: "
                       "postgresql://USER@HOST:5432/DATABASE. The password is not kept: put it in your "
                       "password file (~/.pgpass) or PGPASSWORD, or you are asked by the server's rules.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        self.location = QComboBox(self)
        self.location.setObjectName("databaseLocation")
        self.location.setEditable(True)
        self.location.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.location.addItems(recent)
        self.location.setCurrentText(recent[0] if recent else "")
        line = self.location.lineEdit()
        if line is not None:
            line.setPlaceholderText("postgresql://clerk@server/imr or /path/to/review.db")
        row.addWidget(self.location, 1)
        browse = QPushButton("Choose a file…", self)
        browse.setObjectName("chooseFile")
        browse.clicked.connect(self._choose_file)
        row.addWidget(browse)
        layout.addLayout(row)
        self.error = QLabel(self)
        self.error.setObjectName("openError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setStyleSheet("color: #a01010")
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel,
                                   self)
        buttons.accepted.connect(self.try_open)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, self.sizeHint().height())

    def name(self) -> str:
        return self.location.currentText().strip()

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a review database", str(self.start_folder or Path.home()),
                                              "Review databases (*.db *.sqlite);;All files (*)")
        if path:
            self.location.setCurrentText(path)

    def try_open(self) -> None:
        """Open the database named; on failure say why here and stay open."""
        name = self.name()
        if not name:
            self._fail("Give a database file, or a postgresql:// URL.")
            return
        try:
            self.opened = self.opener(name)
        except ClerkError as exc:
            self._fail(exc.clerk_message)
            return
        self.accept()

    def _fail(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
