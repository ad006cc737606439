"""Who is who and which database: "Your name" in the preferences, and File → Open (a file or a server's URL)."""

from __future__ import annotations

import shutil
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt

from imr_desk.store import Database
from imr_desk.ui.open_dialog import OpenDatabaseDialog
from imr_desk.ui.preferences import PreferencesDialog
from imr_desk.ui.settings import Settings

from .conftest import PDFS, TEXTS, letter_id
from .test_review_window import CTRL, focus_field, open_by_click, press, wait_saved


def window_on(qtbot, path: Path | str):
    """The review window as `imr-desk` starts it: no name given, so "Your name" or the database's name."""
    from imr_desk.ui.app import build_window

    w = build_window(path, seed_samples=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_a_name_set_in_the_preferences_is_recorded_with_every_change(qtbot, db_path: Path) -> None:
    settings = Settings()
    settings.set_clerk_name("  Dana   Reyes ")
    settings.sync()
    w = window_on(qtbot, db_path)
    try:
        assert w.user == "Dana Reyes" and w.db.user == "Dana Reyes"
        lid = open_by_click(qtbot, w, "CM16-0221706.pdf")
        qtbot.waitUntil(lambda: w.writer.idle)
        with Database.open(db_path, user="supervisor") as db:
            assert db.conn.execute("SELECT who FROM leases WHERE letter_id = ?", (lid,)).fetchone()[0] == "Dana Reyes"
        combo = focus_field(qtbot, w, "items.0.decision")
        qtbot.keyClick(combo, Qt.Key.Key_Down)
        wait_saved(qtbot, w)
        press(qtbot, w, Qt.Key.Key_Return, CTRL)  # marked reviewed (a reason is asked: the decision's check)
        dialog = w.dialog
        if dialog is not None and dialog.isVisible() and hasattr(dialog, "reason"):
            qtbot.keyClicks(dialog.reason, "checked")
            dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
        qtbot.waitUntil(lambda: w.session.letter_id != lid)
        qtbot.waitUntil(lambda: w.writer.idle)
        with Database.open(db_path, user="supervisor") as db:
            letter = db.letter(lid)
            assert (letter.status, letter.status_by, letter.reviewed_by) == ("reviewed", "Dana Reyes", "Dana Reyes")
            clerk_rows = [h for h in db.history(lid) if h.origin == "clerk"]
            assert clerk_rows and {h.who for h in clerk_rows} == {"Dana Reyes"}
        # renamed in the preferences: the changes from now on are the new name's
        w.do_preferences()
        prefs = w.dialog
        assert isinstance(prefs, PreferencesDialog)
        assert prefs.name_edit.text() == "Dana Reyes" and prefs.name_edit.placeholderText() == w.default_user
        prefs.name_edit.setText("Dana R.")
        prefs.accept()
        assert Settings().clerk_name() == "Dana R."
        other = w.session.letter_id
        assert other is not None
        w.session.set_value("reviewer.role", "edited after the rename")
        wait_saved(qtbot, w)
        qtbot.waitUntil(lambda: w.writer.idle)
        with Database.open(db_path, user="supervisor") as db:
            assert [h.who for h in db.history(other) if h.path == "reviewer.role"] == ["Dana R."]
            assert db.conn.execute("SELECT who FROM leases WHERE letter_id = ?", (other,)).fetchone()[0] == "Dana R."
    finally:
        w.close()


def test_no_name_set_records_the_database_name_for_the_clerk(qtbot, db_path: Path) -> None:
    w = window_on(qtbot, db_path)
    try:
        assert w.user == w.default_user == w.db.user and w.user
    finally:
        w.close()


def test_file_open_opens_another_database_and_remembers_it(qtbot, db_path: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    shutil.copy(db_path, other)
    with Database.open(other, user="setup") as db:
        db.set_status(1, "postponed", "from the other database")
    w = window_on(qtbot, db_path)
    w.do_open_database()
    dialog = w.dialog
    assert isinstance(dialog, OpenDatabaseDialog)
    assert dialog.location.currentText() == str(db_path)  # the recent databases, the latest first
    dialog.location.setCurrentText(str(other))
    dialog.try_open()
    assert not dialog.isVisible()
    new = dialog.opened
    qtbot.addWidget(new)
    try:
        qtbot.waitUntil(lambda: not shiboken6.isValid(w) or not w.isVisible())
        assert new.db.path == other and new.isVisible()
        assert new.queue.model.data(new.queue.model.index(new.queue.model.row_of(1), 0)) == "postponed"
        assert Settings().recent_databases()[:2] == [str(other), str(db_path)]
    finally:
        new.close()


def test_file_open_says_why_a_database_cannot_be_opened_and_stays(qtbot, db_path: Path, tmp_path: Path) -> None:
    w = window_on(qtbot, db_path)
    try:
        w.do_open_database()
        dialog = w.dialog
        not_a_db = tmp_path / "notes.db"
        not_a_db.write_text("a shopping list", encoding="utf-8")
        dialog.location.setCurrentText(str(not_a_db))
        dialog.try_open()
        assert dialog.isVisible() and dialog.error.isVisible()
        assert "not" in dialog.error.text() and str(not_a_db) in dialog.error.text()
        dialog.location.setCurrentText("")
        dialog.try_open()
        assert "postgresql://" in dialog.error.text()
        assert w.isVisible() and w.db.path == db_path
        assert letter_id(w, "CM16-0221706.pdf")
        dialog.reject()
    finally:
        w.close()


def test_a_url_is_remembered_without_its_password(qtbot) -> None:
    settings = Settings()
    settings.add_recent_database("postgresql://clerk:s3cret@db.example:5432/imr?sslmode=require&password=x")
    assert settings.recent_databases() == ["postgresql://clerk@db.example:5432/imr?sslmode=require"]
    settings.sync()
    assert "s3cret" not in settings.path.read_text(encoding="utf-8")


CLERK_ROLE = "imr_clerk"


def clerk_url(pg_cluster, pg_url: str) -> str:
    """The test database prepared by its owner, and a clerk's role with only the rights daily work needs
    (as the README's team-mode section sets them): CONNECT, USAGE on the schema, SELECT/INSERT/UPDATE/DELETE."""
    dbname = pg_url.rsplit("/", 1)[1]
    with Database.open(pg_url, user="owner") as db:  # the owner's first start creates the tables
        assert len(db.import_paths([*PDFS, *TEXTS], batch="test").added) == 5
    pg_cluster.admin(f"DO $$ BEGIN CREATE ROLE {CLERK_ROLE} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    pg_cluster.admin(f"GRANT CONNECT ON DATABASE {dbname} TO {CLERK_ROLE}", f"GRANT USAGE ON SCHEMA public TO {CLERK_ROLE}",
                     f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {CLERK_ROLE}",
                     dbname=dbname)
    return pg_cluster.url(dbname, user=CLERK_ROLE)


def test_on_a_server_the_clerk_is_the_database_role_unless_named(qtbot, pg_cluster, pg_url: str) -> None:
    url = clerk_url(pg_cluster, pg_url)
    w = window_on(qtbot, url)
    try:
        assert w.user == w.default_user == CLERK_ROLE  # current_user, not the login on this computer
        lid = letter_id(w, "CM16-0230651.pdf")
        w.open_letter(lid)
        qtbot.waitUntil(lambda: w.writer.idle)
        w.session.set_value("reviewer.role", "the role's edit")
        wait_saved(qtbot, w)
        w.set_clerk_name("Dana Reyes")  # a team sharing one role: each window says who it is
        w.session.set_value("reviewer.role", "Dana's edit")
        wait_saved(qtbot, w)
        qtbot.waitUntil(lambda: w.writer.idle)
    finally:
        w.close()
    with Database.open(pg_url, user="supervisor") as db:
        assert [h.who for h in db.history(lid) if h.path == "reviewer.role"] == [CLERK_ROLE, "Dana Reyes"]
        imported = db.import_paths([Path(__file__).resolve().parent.parent / "data" / "seeds" /
                                    "000_ba1ac5b94717b163.txt"]).added_ids
        assert imported  # (the owner may still import)
    w2 = window_on(qtbot, url)  # the name is this computer's setting: the next window is Dana's too
    try:
        assert w2.user == "Dana Reyes" and w2.default_user == CLERK_ROLE
        w2.import_paths([Path(__file__).resolve().parent.parent / "data" / "seeds" / "001_0a1eae2b9c5340e3.txt"])
        qtbot.waitUntil(lambda: w2.db.queue_count({}) == 7, timeout=10_000)  # the clerk's role may import
    finally:
        w2.close()


def test_file_open_a_server_database_and_a_clear_message_when_it_cannot(qtbot, db_path: Path, pg_cluster,
                                                                       pg_url: str) -> None:
    from tests.pgserver import PASSWORD, PASSWORD_ROLE

    with Database.open(pg_url, user="owner") as db:
        db.import_paths([*PDFS[:1]])
    w = window_on(qtbot, db_path)
    w.do_open_database()
    dialog = w.dialog
    dialog.location.setCurrentText("postgresql://clerk@127.0.0.1:1/imr")  # nothing listens there
    dialog.try_open()
    assert dialog.isVisible() and "127.0.0.1" in dialog.error.text()
    assert "server" in dialog.error.text().lower()
    dbname = pg_url.rsplit("/", 1)[1]
    dialog.location.setCurrentText(pg_cluster.url(dbname, user=PASSWORD_ROLE, password="Xq7-not-it"))
    dialog.try_open()
    assert dialog.isVisible() and "password" in dialog.error.text().lower()
    assert "Xq7-not-it" not in dialog.error.text()  # the password is never shown
    with_password = pg_cluster.url(dbname, user=PASSWORD_ROLE, password=PASSWORD)
    dialog.location.setCurrentText(with_password)
    dialog.try_open()
    assert not dialog.isVisible(), dialog.error.text()
    new = dialog.opened
    qtbot.addWidget(new)
    try:
        assert new.db.engine == "postgresql" and new.db.queue_count({}) == 1
        assert new.user == PASSWORD_ROLE
        recent = Settings().recent_databases()
        assert recent[0] == pg_cluster.url(dbname, user=PASSWORD_ROLE) and PASSWORD not in " ".join(recent)
        assert PASSWORD not in Settings().path.read_text(encoding="utf-8")
    finally:
        new.close()
