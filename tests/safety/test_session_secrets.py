"""A whole session, then a sweep of every file it wrote: modes (files 0600, folders 0700) and no password anywhere.

The session runs as a clerk's would, each step its own process under the common umask 022, with
IMR_DESK_HOME and TMPDIR pointed at fresh folders: an import on the command line; a copy to the team's
server with a URL whose password holds @ : / ? # (as it is, and percent-encoded); the window, offscreen,
on that URL, with an edit saved, a recovery file written and an export (File → Export); exports (CSV, Excel); the server URL
messages (SSL, an unknown parameter, a bad port); and an internal error (a column the store reads is gone).
Then every file and folder under the data home, the temporary folder and the export folder is looked at,
and they, the log and everything the processes printed are searched for the password.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.pgserver import PASSWORD, PASSWORD_ROLE, PgCluster
from tests.safety.conftest import REAL

SECRET = "Sess@ion:pw/d?x#z-91"
SEEDS = sorted((Path(__file__).resolve().parent.parent / "data" / "seeds").glob("*.txt"))

_WINDOW = textwrap.dedent("""
    import sys
    import psycopg
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from imr_desk.ui import app as ui_app
    from imr_desk.ui.main_window import MainWindow
    from imr_desk.urls import libpq_url

    url = sys.argv[1]
    qt = QApplication(sys.argv[:1])

    def steps():
        windows = []
        while not windows:
            windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
            yield
        w = windows[0]
        print("title", w.windowTitle(), flush=True)  # searched for the password with all that is printed
        lid = w.db.queue({}, limit=10)[0].id
        w.open_letter(lid)
        while not w.writer.idle:
            yield
        w.session.set_value("summary", "saved in the session test")
        while not w.writer.idle:
            yield
        other = psycopg.connect(libpq_url(url), autocommit=True)  # another clerk's long write holds the table
        other.execute("BEGIN")
        other.execute("LOCK TABLE letters IN ACCESS EXCLUSIVE MODE")
        w.session.set_value("summary", "kept in a recovery file")
        kept = w.session.write_recovery()
        print("recovery", kept, flush=True)
        other.execute("ROLLBACK")
        other.close()
        while not w.writer.idle:
            yield
        w.do_export()  # File → Export, as the clerk does: every letter to review, as Excel, into the exports folder
        dialog = w.dialog
        dialog.status_boxes["to review"].setChecked(True)
        dialog.status_boxes["in review"].setChecked(True)
        dialog.format.setCurrentIndex(dialog.format.findData("xlsx"))
        dialog.destination.setText(sys.argv[2])
        done = []
        dialog.exported.connect(done.append)
        dialog.export_button.click()
        while not done:
            yield
        print("exported", done[0].destination, flush=True)
        dialog.close()
        while not w.writer.idle:
            yield
        w.close()

    walk = steps()

    def tick():
        try:
            next(walk)
        except StopIteration:
            return
        QTimer.singleShot(50, tick)

    QTimer.singleShot(0, tick)
    QTimer.singleShot(60_000, qt.quit)  # never hang the suite
    sys.exit(ui_app.run(url))
""")


@pytest.fixture
def secret_role(pg_cluster: PgCluster):
    pg_cluster.admin(f"ALTER ROLE {PASSWORD_ROLE} PASSWORD '{SECRET}'")
    yield
    pg_cluster.admin(f"ALTER ROLE {PASSWORD_ROLE} PASSWORD '{PASSWORD}'")


def test_a_whole_session_writes_nothing_readable_by_others_and_no_password(tmp_path: Path, pg_cluster: PgCluster,
                                                                         pg_url: str, secret_role: None) -> None:
    home, temp, out = (tmp_path / n for n in ("home", "tmp", "exports"))
    for folder in (home, temp, out):
        folder.mkdir(mode=0o700)
    dbname = pg_url.rsplit("/", 1)[1]
    server = f"{pg_cluster.host}:{pg_cluster.port}"
    plain = f"postgresql://{PASSWORD_ROLE}:{SECRET}@{server}/{dbname}"
    encoded = f"postgresql://{PASSWORD_ROLE}:{quote(SECRET, safe='')}@{server}/{dbname}"
    env = {**os.environ, "IMR_DESK_HOME": str(home), "TMPDIR": str(temp), "QT_QPA_PLATFORM": "offscreen"}
    printed: list[str] = []

    def imr(*args: str, script: str | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", script, *args] if script else [sys.executable, "-m", "imr_desk", *args]
        run = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path,
                             preexec_fn=lambda: os.umask(0o022))  # the usual umask: 0644 files unless the app sees to it
        printed.extend((run.stdout, run.stderr))
        assert (run.returncode == 0) == ok, (args, run.stdout, run.stderr)
        return run

    imr("import", "-q", str(REAL[0]), str(REAL[1]), str(SEEDS[0]))
    default_db = home / "data" / "imr-desk.db"
    imr("copy", "-q", "--from", str(default_db), "--to", plain)
    window = imr(encoded, str(out / "from-window.xlsx"), script=_WINDOW)
    assert "recovery " in window.stdout and "recovery None" not in window.stdout, window.stdout + window.stderr
    assert f"title IMR Desk — postgresql://{PASSWORD_ROLE}@{server}/{dbname}" in window.stdout
    recovery = Path(window.stdout.split("recovery ", 1)[1].split()[0])
    assert recovery.is_file() and recovery.is_relative_to(home)
    imr("export", "-q", "--db", plain, "--status", "to review", "--status", "in review", "--format", "csv",
        "-o", str(out / "set"))
    imr("export", "-q", "--db", encoded, "--status", "to review", "--status", "in review", "--format", "xlsx",
        "-o", str(out / "set.xlsx"))
    assert "SSL" in imr("stats", "--db", plain + "?sslmode=require", ok=False).stderr
    assert "“colour”" in imr("stats", "--db", plain + "?colour=blue", ok=False).stderr
    bad_port = f"postgresql://{PASSWORD_ROLE}:{SECRET}@{pg_cluster.host}:99999/{dbname}"
    assert "“99999”" in imr("stats", "--db", bad_port, ok=False).stderr
    pg_cluster.admin("ALTER TABLE items RENAME COLUMN decision TO decision_gone", dbname=dbname)
    bug = imr("stats", "--db", plain, ok=False)
    assert "internal error: UndefinedColumn (SQLSTATE 42703)" in bug.stderr, bug.stderr

    log = home / "logs" / "imr-desk.log"
    logged = log.read_text(encoding="utf-8")
    assert "internal error in `imr-desk stats --db`" in logged and "Traceback" in logged
    assert f"starting on postgresql://{PASSWORD_ROLE}@{server}/{dbname}" in logged

    written = [p for root in (home, temp, out) for p in root.rglob("*")]
    assert recovery in written and (home / "config" / "imr-desk.ini") in written and default_db in written
    assert (out / "set" / "letters.csv") in written and (out / "set.xlsx") in written
    assert f"exported {out / 'from-window.xlsx'}" in window.stdout and (out / "from-window.xlsx") in written
    wrong = {str(p): oct(stat.S_IMODE(p.lstat().st_mode)) for p in written
             if stat.S_IMODE(p.lstat().st_mode) != (0o700 if p.is_dir() else 0o600)}
    assert not wrong, wrong
    assert not [p for p in written if p.is_symlink() or not (p.is_dir() or p.is_file())]
    secrets = [SECRET, quote(SECRET, safe=""), "pw/d?x#z", "ion:pw"]
    for p in written:
        if p.is_file():
            contents = [p.read_bytes()]
            if zipfile.is_zipfile(p):  # an Excel file: its sheets are compressed
                with zipfile.ZipFile(p) as z:
                    contents += [z.read(name) for name in z.namelist()]
            assert not [s for s in secrets for data in contents if s.encode() in data], p
    for text in printed:
        assert not [s for s in secrets if s in text], text
