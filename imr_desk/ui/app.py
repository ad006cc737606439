"""Starting the review window: the application, logging, the error hook, the database and first run.

`run(db_path)` is what `imr-desk` (no command) calls; `build_window(db_path)` builds the same window
without an event loop, for the tests and benchmarks.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from imr_desk import __version__, paths
from imr_desk.logs import describe_error, private_traceback, setup_logging
from imr_desk.store import Database, StoreError, is_server_url
from imr_desk.store.clerks import database_user
from imr_desk.store.engine import display_name
from imr_desk.ui.main_window import MainWindow
from imr_desk.ui.settings import Settings
from imr_desk.ui.style import STYLE_SHEET
from imr_desk.ui.writer import DbWriter

log = logging.getLogger("imr_desk.ui")


def _qt_message(mode: QtMsgType, _context: Any, message: str) -> None:
    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }.get(mode, logging.WARNING)
    logging.getLogger("imr_desk.qt").log(level, "%s", message)


class ErrorHook:
    """sys.excepthook: an error nobody caught (in a slot, a timer) is logged and shown, never lost."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.box: QMessageBox | None = None

    def __call__(self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        log.error("unexpected error", exc_info=(kind, exc, tb))
        clerk = getattr(exc, "clerk_message", None)
        if QApplication.instance() is None:
            traceback.print_exception(kind, exc, tb)
            return
        if clerk:
            text = clerk
        else:
            text = (f"Something went wrong in IMR Desk: {describe_error(exc)}\n\n"
                    f"Your saved work is safe. The details are in the log file {self.log_path}; "
                    "please send it with a note of what you were doing.")
        parent = QApplication.activeWindow()
        box = QMessageBox(QMessageBox.Icon.Critical, "IMR Desk: unexpected error", text,
                          QMessageBox.StandardButton.Ok, parent)
        box.setObjectName("errorBox")
        box.setDetailedText(private_traceback(exc.with_traceback(tb)))
        self.box = box
        box.open()


def _icon() -> QIcon | None:
    folder = paths.resources_dir() / "icons"
    for name in ("imr-desk.svg", "imr-desk.png"):
        if (folder / name).is_file():
            return QIcon(str(folder / name))
    return None


def build_window(db_path: Path | str | None = None, user: str | None = None,
                 seed_samples: bool | None = None) -> MainWindow:
    """Open the database (and its writer thread) and build the review window on it.

    With no path, the default database in the data folder is used; when it is new and empty, the
    bundled sample letters are imported into it (`seed_samples` forces or prevents that).
    Raises StoreError (with its clerk_message) when the database cannot be opened.
    """
    default = db_path is None
    path: Path | str
    if is_server_url(db_path):  # a PostgreSQL server's database: the URL as it is
        path = str(db_path)
    else:
        path = Path(db_path) if db_path is not None else paths.default_db_path()
        if default:
            paths.private_dir(path.parent)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    _sweep_killed_exports()
    # who the changes are recorded as: the name given, else "Your name" (preferences), else the database's
    # own name for the clerk (the login on this computer; on a server, the database role)
    db = Database.open(path, user=user or settings.clerk_name() or None)  # the UI thread's (reading) connection
    who = db.user
    try:
        if (seed_samples if seed_samples is not None else default) and db.queue_count({}) == 0:
            samples = paths.sample_letters()
            if samples:  # before the window exists: nothing to keep answering yet
                log.info("first run: importing %d sample letters into %s", len(samples), display_name(path))
                db.import_paths(samples, batch="samples")
        writer = DbWriter(lambda: Database.open(path, user=who))
    except BaseException:
        db.close()
        raise
    try:
        window = MainWindow(db, writer, path, settings=settings, user=who)
    except BaseException:
        writer.close()
        db.close()
        raise
    window.owns_database = True
    window.default_user = database_user(db)
    window.opener = lambda name: _open_instead(window, name, user)
    settings.add_recent_database(str(path))
    window.setStyleSheet(STYLE_SHEET)
    icon = _icon()
    if icon is not None:
        window.setWindowIcon(icon)
    return window


def _open_instead(old: MainWindow, name: str, user: str | None) -> MainWindow:
    """File → Open: a window on the database `name` in place of `old` (which closes as Quit closes it).

    Raises StoreError (what happened, what to do) when the database cannot be opened; `old` stays then.
    """
    window = build_window(name, user=user, seed_samples=False)
    _WINDOWS.append(window)  # kept alive without a parent
    window.destroyed.connect(lambda *_a: _WINDOWS.remove(window) if window in _WINDOWS else None)
    window.show()
    old.replacedBy.emit(window)
    QTimer.singleShot(0, old.close)
    return window


_WINDOWS: list[MainWindow] = []


def _sweep_killed_exports() -> None:
    """Remove what exports killed mid-way left behind (partial patient data), wherever they wrote."""
    from imr_desk.export.safety import sweep_killed_exports

    for folder in sweep_killed_exports():
        log.info("removed %s, left by an export that was killed", folder)


def _make_app() -> QApplication:
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName("IMR Desk")  # no display name: Qt would add it to the title ("IMR Desk — FILE — IMR Desk")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("IMR Desk")
    app.setDesktopFileName("io.github.imrdesk.ImrDesk")  # packaging/<id>.desktop
    icon = _icon()
    if icon is not None:
        app.setWindowIcon(icon)
    return app


def run(db_path: Path | str | None = None) -> int:
    """The review application: returns the exit code."""
    paths.use_private_umask()  # what the window writes (settings, exports, temporaries) is the clerk's only
    log_path = setup_logging()
    app = _make_app()
    qInstallMessageHandler(_qt_message)
    hook = ErrorHook(log_path)
    previous_hook = sys.excepthook
    sys.excepthook = hook
    log.info("IMR Desk %s starting on %s", __version__, display_name(db_path or paths.default_db_path()))
    closer: _SignalCloser | None = None
    try:
        closer = _SignalCloser(app)  # before the window takes its first lease
        try:
            window = build_window(db_path)
        except StoreError as exc:
            log.warning("could not open the database: %s", exc.clerk_message)
            QMessageBox.critical(_no_parent(), "IMR Desk cannot open the database", exc.clerk_message)
            return 1
        window.show()
        closer.attach(window)
        from imr_desk.ui.recovery import offer

        QTimer.singleShot(0, lambda: offer(window))  # edits kept when it last closed unsaved
        return int(app.exec())
    finally:
        sys.excepthook = previous_hook
        if closer is not None:
            closer.close()


class _SignalCloser:
    """SIGTERM and SIGINT close the window as Quit does: edits saved (or kept in a recovery file), leases
    released, the database closed. Python runs a signal handler only between its own bytecodes, so the
    signal also writes to a socket that Qt's event loop watches, which wakes it."""

    def __init__(self, app: QApplication) -> None:
        import signal
        import socket

        from PySide6.QtCore import QSocketNotifier

        self.window: MainWindow | None = None
        self.pending = False
        self.reader, self.writer = socket.socketpair()
        self.reader.setblocking(False)
        self.writer.setblocking(False)
        signal.set_wakeup_fd(self.writer.fileno())
        self.notifier = QSocketNotifier(self.reader.fileno(), QSocketNotifier.Type.Read, app)
        self.notifier.activated.connect(self._woken)
        self.previous = signal.signal(signal.SIGTERM, self._handler), signal.signal(signal.SIGINT, self._handler)

    def close(self) -> None:
        """Put back the handlers there were before, and close the sockets."""
        import signal

        signal.signal(signal.SIGTERM, self.previous[0])
        signal.signal(signal.SIGINT, self.previous[1])
        signal.set_wakeup_fd(-1)
        self.notifier.setEnabled(False)
        self.reader.close()
        self.writer.close()

    def attach(self, window: MainWindow) -> None:
        from PySide6.QtCore import QTimer

        self.window = window
        window.replacedBy.connect(self.attach)  # File → Open: the signal closes the window in its place
        if self.pending:  # a signal came while the window was being built: close once the loop runs
            QTimer.singleShot(0, self._close)

    def _woken(self) -> None:
        try:
            self.reader.recv(64)
        except OSError:
            pass

    def _handler(self, signum: int, _frame: Any) -> None:
        import signal

        log.info("%s received: closing the window", signal.Signals(signum).name)
        self.pending = True
        if self.window is not None:
            from PySide6.QtCore import QTimer

            QTimer.singleShot(0, self._close)

    def _close(self) -> None:
        if self.window is not None:
            self.window.terminate()


def _no_parent() -> QWidget | None:
    return None
