"""The review window when things go wrong: a busy database, a closing window, odd characters, a held letter.

Each test drives the real window on a real temporary database; the database is made busy the way it
is in the field, by another connection holding a write transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCharFormat, QTextDocument
from PySide6.QtWidgets import QApplication

from imr_desk.store import Database, DiskFull, StoreError, VersionConflict
from imr_desk.ui.letter_view import Utf16Map
from imr_desk.ui.session import ReviewError
from tests.ui.conftest import PDFS, SEEDS, TEXTS, letter_id


def stored(window, lid: int):
    with Database.open(window.db_path, user="reader") as db:
        return db.letter(lid)


@contextmanager
def database_busy(window) -> Iterator[sqlite3.Connection]:
    """Another program holds the write lock on the window's database, as long as the block runs."""
    other = sqlite3.connect(str(window.db_path), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


def shown_case_number(window) -> object:
    return window.form.editors["case.case_number"].value()


def landed(qtbot, window, timeout: int = 10_000) -> None:
    """Wait (the event loop running) until every write the window queued has been reported back."""
    qtbot.waitUntil(lambda: window.writer.idle, timeout=timeout)


# -- A: while another program writes, the edits queue and land in order --------------------------------
def test_switching_letters_while_the_database_is_busy_queues_the_edit(qtbot, open_window, db_path):
    w = open_window(db_path)
    a, b = letter_id(w, PDFS[0].name), letter_id(w, PDFS[1].name)
    w.open_letter(a)
    landed(qtbot, w)
    before = stored(w, a)
    w.session.set_value("case.case_number", "TYPED-BY-CLERK")
    with database_busy(w):
        assert w.open_letter(b) is True  # the window does not wait for the lock
        assert w.session.letter_id == b and not w.session.read_only
        qtbot.waitUntil(lambda: w.writer.waiting, timeout=5000)
        assert "Waiting for the database" in w.status.currentMessage()
        assert stored(w, a).record["case"]["case_number"] != "TYPED-BY-CLERK"
        # back to the first letter before its edit landed: the window shows the edit, not the database
        assert w.open_letter(a) is True
        assert w.session.value("case.case_number") == "TYPED-BY-CLERK" == shown_case_number(w)
        assert w.session.dirty and w.save_label.text() == "waiting for the database…"
        w.session.set_value("case.case_number", "TYPED-AGAIN")
        w.session.save_now()
        # a letter that cannot be read still leaves the current one open
        assert w.open_letter(999_999) is False and w.session.letter_id == a
    landed(qtbot, w)
    letter = stored(w, a)
    assert letter.record["case"]["case_number"] == "TYPED-AGAIN"
    assert not w.session.dirty and w.session.version == letter.version
    assert w.save_label.text() == f"saved (version {letter.version})"
    saves = [h for h in w.db.history(a) if h.origin == "clerk" and h.path.endswith("case_number")]
    # each edit landed once, in order (two saves: two versions), as one burst of typing in the history
    assert letter.version == before.version + 2
    assert [(h.old, h.new, h.version) for h in saves] == [
        (before.record["case"]["case_number"], "TYPED-AGAIN", letter.version)]
    assert not any(h.path == "*rejected" for h in w.db.history(a))


def test_a_save_waiting_for_the_database_lands_when_it_is_free(qtbot, open_window, db_path):
    w = open_window(db_path)
    lid = letter_id(w, TEXTS[0].name)
    w.open_letter(lid)
    landed(qtbot, w)
    with database_busy(w):
        w.session.set_value("summary", "typed while busy")
        qtbot.waitUntil(lambda: w.save_label.text() == "waiting for the database…", timeout=5000)
        qtbot.wait(1500)  # it waits as long as it takes, and nothing is refused meanwhile
        assert w.session.dirty and w.session.last_save_error is None and not w.writer.idle
    qtbot.waitUntil(lambda: not w.session.dirty, timeout=10_000)
    assert stored(w, lid).record["summary"] == "typed while busy"
    assert w.session.version == stored(w, lid).version


def test_a_conflict_with_another_program_still_reaches_the_clerk(qtbot, open_window, db_path):
    w = open_window(db_path)
    lid = letter_id(w, TEXTS[0].name)
    w.open_letter(lid)
    landed(qtbot, w)
    with Database.open(db_path, user="bob") as other:  # another program changes the letter meanwhile
        theirs = other.letter(lid)
        record = theirs.record
        record["summary"] = "bob's summary"
        other.save_record(lid, record, theirs.version)
    w.session.set_value("summary", "alice's summary")
    qtbot.waitUntil(lambda: w.session.read_only, timeout=10_000)
    assert "saved this letter" in w.status.currentMessage() and "bob" in w.status.currentMessage()
    assert isinstance(w.session.last_save_error, VersionConflict)
    assert stored(w, lid).record["summary"] == "bob's summary"
    rejected = [h for h in w.db.history(lid) if h.path == "*rejected"]
    assert len(rejected) == 1 and rejected[0].new["summary"] == "alice's summary"  # kept, not lost
    with pytest.raises(ReviewError):
        w.session.set_value("summary", "more typing")


def test_closing_with_edits_waiting_for_the_database_asks_first(qtbot, open_window, db_path):
    w = open_window(db_path)
    lid = letter_id(w, TEXTS[0].name)
    w.open_letter(lid)
    w.session.set_value("summary", "the last words typed")
    with database_busy(w):
        w.close()
        # the window stays open with the edit, and asks; keeping it open is the default
        assert w.isVisible() and w.session.letter_id == lid and w.session.dirty
        box = w.close_box
        assert box is not None and box.isVisible()
        assert "waiting for the database" in box.informativeText()
        assert box.defaultButton().text() == "Keep the window open"
        box.defaultButton().click()
        assert w.isVisible() and w.session.value("summary") == "the last words typed"
    w.close()  # the database is free again: the edit lands and the window closes
    assert not w.isVisible()
    assert stored(w, lid).record["summary"] == "the last words typed"


def test_closing_waits_for_edits_queued_behind_a_lock_that_is_released(qtbot, open_window, db_path):
    import subprocess
    import sys

    w = open_window(db_path)
    lid = letter_id(w, TEXTS[0].name)
    w.open_letter(lid)
    landed(qtbot, w)
    w.session.set_value("summary", "typed just before closing")
    script = ("import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
              "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(1.0); c.execute('ROLLBACK')")
    # another process holds the lock for a second, then lets go
    proc = subprocess.Popen([sys.executable, "-c", script, str(db_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        w.close()  # waits (the window answering) until the edit has landed, then closes without asking
        assert not w.isVisible() and w.close_box is None
    finally:
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert stored(w, lid).record["summary"] == "typed just before closing"
    with Database.open(db_path) as db:
        assert db.lease_holder(lid) is None  # and its lease was given back


def test_closing_anyway_keeps_the_unsaved_edits_in_a_recovery_file(qtbot, open_window, db_path, imr_home):
    import json

    w = open_window(db_path)
    lid = letter_id(w, TEXTS[0].name)
    w.open_letter(lid)
    landed(qtbot, w)
    saved_summary = stored(w, lid).record["summary"]
    w.session.set_value("summary", "typed while the disk was busy")
    with database_busy(w):
        w.close()
        close = [b for b in w.close_box.buttons() if b.text().startswith("Close, keeping the edits")]
        close[0].click()
        qtbot.waitUntil(lambda: not w.isVisible())
        assert not w.writer._thread.is_alive()  # the waiting save gave up: nothing lands later
    assert stored(w, lid).record["summary"] == saved_summary  # the database did not take them
    kept = sorted((imr_home / "data" / "recovery").glob(f"letter-{lid}-*.json"))
    assert len(kept) == 1
    content = json.loads(kept[0].read_text(encoding="utf-8"))
    assert content["record"]["summary"] == "typed while the disk was busy"
    assert (content["letter_id"], content["name"], content["database"]) == (lid, TEXTS[0].name, str(db_path))
    assert content["sha256"] == stored(w, lid).sha256


def test_a_refused_save_stays_in_the_window_and_is_tried_again(qtbot, open_window, db_path):
    """A full disk: the clerk hears it, the edit stays, and the next save tries again."""
    w = open_window(db_path)
    lid = letter_id(w, TEXTS[0].name)
    w.open_letter(lid)
    landed(qtbot, w)
    with sqlite3.connect(db_path) as c:
        pages = c.execute("PRAGMA page_count").fetchone()[0]

    def limit(db) -> None:
        db.conn.execute(f"PRAGMA max_page_count = {pages}")

    from imr_desk.ui.writer import WriteOp

    WriteOp(limit, "limit the database").run(w.writer)
    landed(qtbot, w)
    w.session.set_value("summary", "x" * 30_000)  # more than the pages left
    qtbot.waitUntil(lambda: w.session.last_save_error is not None, timeout=10_000)
    assert isinstance(w.session.last_save_error, DiskFull) and "full" in w.status.currentMessage()
    assert w.session.dirty and w.session.value("summary") == "x" * 30_000
    WriteOp(lambda db: db.conn.execute("PRAGMA max_page_count = 1073741823"), "free the space").run(w.writer)
    w.session.set_value("summary", "y" * 10)
    qtbot.waitUntil(lambda: not w.session.dirty, timeout=10_000)
    assert stored(w, lid).record["summary"] == "y" * 10


def test_an_import_waits_for_the_lock_instead_of_failing_its_files(qtbot, open_window, db_path, tmp_path):
    import subprocess
    import sys

    folder = tmp_path / "new"
    folder.mkdir()
    seed = TEXTS[0].read_text(encoding="utf-8")
    for i in range(3):
        (folder / f"n{i}.txt").write_text(f"New {i}\n{seed}", encoding="utf-8")
    w = open_window(db_path)
    script = ("import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
              "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(1.5); c.execute('ROLLBACK')")
    proc = subprocess.Popen([sys.executable, "-c", script, str(db_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with qtbot.waitSignal(w.importer.finished, timeout=30_000) as done:
            w.import_paths([folder])
            qtbot.waitUntil(lambda: w.writer.waiting, timeout=5000)  # its first letter waits for the lock
    finally:
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    report = done.args[0]
    assert len(report.added) == 3 and not report.failed


def test_a_save_slips_in_between_the_files_of_a_running_import(qtbot, open_window, db_path, tmp_path):
    """The window's own long import never makes a save wait for it (nor time out): the save lands between
    two of its files, and the window's version is the one the database committed."""
    folder = tmp_path / "many"
    folder.mkdir()
    seed = TEXTS[1].read_text(encoding="utf-8")
    for i in range(200):
        (folder / f"m{i:03d}.txt").write_text(f"Many {i}\n{seed}", encoding="utf-8")
    w = open_window(db_path)
    lid = letter_id(w, TEXTS[0].name)
    w.open_letter(lid)
    landed(qtbot, w)
    w.import_paths([folder])
    qtbot.waitUntil(lambda: w.importer.progress.value() >= 3, timeout=60_000)
    w.session.set_value("summary", "typed during the import")
    w.session.save_now()  # as switching letters does, without the half-second pause
    qtbot.waitUntil(lambda: not w.session.dirty, timeout=10_000)
    assert w.importer.running  # landed while the import was still going
    assert w.session.version == stored(w, lid).version
    assert stored(w, lid).record["summary"] == "typed during the import"
    qtbot.waitUntil(lambda: not w.importer.running, timeout=120_000)
    assert len(w.importer.last_report.added) == 200


# -- B: the status and version the store reports ------------------------------------------------------
def test_after_marking_reviewed_an_edit_saves_and_shows_the_letter_back_in_review(qtbot, open_window, db_path):
    w = open_window(db_path)
    lid = letter_id(w, TEXTS[0].name)
    w.open_letter(lid)
    w.session.set_status("reviewed", "checked by hand")
    landed(qtbot, w)
    assert w.session.version == stored(w, lid).version
    assert w.save_label.text() == f"saved (version {w.session.version})"
    w.session.set_value("summary", "changed after review")
    qtbot.waitUntil(lambda: not w.session.dirty, timeout=5000)
    assert w.session.last_save_error is None
    letter = stored(w, lid)
    assert letter.record["summary"] == "changed after review"
    assert letter.status == "in review" == w.session.status
    assert w.queue.model._rows[w.queue.model.row_of(lid)].status == "in review"
    assert "in review" in w.form.title.text()


def test_a_status_the_store_refuses_is_told_and_undone(qtbot, open_window, db_path):
    w = open_window(db_path)
    lid = letter_id(w, TEXTS[0].name)
    w.open_letter(lid)
    landed(qtbot, w)
    before = stored(w, lid)
    with Database.open(db_path, user="bob") as other:  # another program changes the letter meanwhile
        other.set_status(lid, "in review")
    w.session.set_status("postponed", "later")
    assert w.session.status == "postponed"  # shown at once
    landed(qtbot, w)
    assert "was not marked postponed" in w.status.currentMessage()
    assert "Someone else changed this letter" in w.status.currentMessage()
    assert w.session.status == stored(w, lid).status == "in review" != before.status


def test_a_status_queued_behind_the_lock_lands_after_the_edit_before_it(qtbot, open_window, db_path):
    w = open_window(db_path)
    lid = letter_id(w, TEXTS[0].name)
    w.open_letter(lid)
    landed(qtbot, w)
    with database_busy(w):
        w.session.set_value("summary", "edited, then postponed")
        w.session.set_status("postponed", "waiting for records")
        qtbot.waitUntil(lambda: w.writer.waiting, timeout=5000)
    landed(qtbot, w)
    letter = stored(w, lid)
    assert letter.record["summary"] == "edited, then postponed" and letter.status == "postponed"
    assert w.session.version == letter.version and w.session.last_save_error is None


# -- C: characters outside the Basic Multilingual Plane in a text letter ------------------------------
def emoji_letter(db_path: Path, tmp_path: Path, first_line: str) -> str:
    letter = tmp_path / "astral.txt"
    letter.write_text(first_line + "\n" + TEXTS[0].read_text(encoding="utf-8"), encoding="utf-8")
    with Database.open(db_path) as db:
        db.import_paths([letter])
    return letter.name


def test_utf16_map_agrees_with_qt_positions():
    text = "a😀b\n𝐍𝐨c 中文 🇺🇸 end"
    doc = QTextDocument()
    doc.setPlainText(text)
    m = Utf16Map(text)
    assert Utf16Map("plain ascii and § é").identity and not m.identity
    for i in range(len(text) + 1):
        units = len(text[:i].encode("utf-16-le")) // 2
        assert m.to_qt(i) == units
        assert m.from_qt(units) == i
    assert m.from_qt(2) == 1  # inside the emoji's surrogate pair: the emoji
    assert doc.characterCount() - 1 == m.to_qt(len(text))


def test_fill_from_a_selection_after_an_emoji(qtbot, open_window, db_path, tmp_path):
    name = emoji_letter(db_path, tmp_path, "Note from sender 😀😀😀")
    w = open_window(db_path)
    w.open_letter(letter_id(w, name))
    view = w.letter_view.current
    assert view is w.letter_view.text_view
    target = "Chronic pain psychology evaluation"
    w.form.focus_field("items.0.request")
    view.setTextCursor(view.document().find(target))  # the clerk drags over these words
    start, end = w.letter_view.selected_span()
    assert w.session.text.text[start:end] == target
    w.do_fill_from_selection()
    assert w.session.value("items.0.request") == target
    prov = w.session.record["fields"]["items.0.request"]
    assert w.session.text.text[prov["start"]:prov["end"]] == target
    # the focused field's highlight sits on those words in the view
    selections = view.extraSelections()
    assert selections[-1].cursor.selectedText() == target


def test_annotations_and_highlights_after_astral_characters(qtbot, open_window, db_path, tmp_path):
    name = emoji_letter(db_path, tmp_path, "𝐍𝐨𝐭𝐞 from sender")
    w = open_window(db_path)
    lid = letter_id(w, name)
    w.open_letter(lid)
    view = w.letter_view.text_view
    text = w.session.text.text
    target = "Chronic pain psychology evaluation"
    view.setTextCursor(view.document().find(target))
    start, end = w.letter_view.selected_span()
    assert text[start:end] == target
    w.session.add_annotation(start, end, "note", "")
    landed(qtbot, w)
    spans = {s.key: s for s in view._spans}
    (key,) = [k for k in spans if k.startswith("annotation:")]
    selections = view.extraSelections()
    # annotations are dash-underlined (the focused field, focused when the letter opens, has a plain line)
    underlined = [x for x in selections if x.format.underlineStyle() == QTextCharFormat.UnderlineStyle.DashUnderline]
    assert [x.cursor.selectedText() for x in underlined] == [target]
    # every parsed field's highlight covers the same words in the view as in the letter's text
    checked = 0
    for span, sel in zip(view._spans, selections, strict=False):
        if span.key != key and "\n" not in text[span.start:span.end]:
            assert sel.cursor.selectedText() == text[span.start:span.end], span.key
            checked += 1
    assert checked > 5
    # a click on a highlighted field's words focuses that field
    path = "items.0.request"
    fs, fe = w.session.span_of(path)[:2]
    cursor = view.textCursor()
    cursor.setPosition(view._map.to_qt((fs + fe) // 2))
    view.setTextCursor(cursor)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    w.session.focus("case.case_number")
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.cursorRect(cursor).center())
    qtbot.waitUntil(lambda: w.session.focused_path != "case.case_number")
    clicked = w.session.span_of(w.session.focused_path)
    assert clicked is not None and clicked[0] <= (fs + fe) // 2 < clicked[1]


# -- D: closing the window during an import -----------------------------------------------------------
def test_closing_the_window_during_an_import_stops_it_cleanly(qtbot, open_window, db_path, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    seed = (SEEDS / "003_bb4913a5b984f6c8.txt").read_text(encoding="utf-8")
    for i in range(400):
        (folder / f"l{i:04d}.txt").write_text(f"Copy {i}\n{seed}", encoding="utf-8")
    w = open_window(db_path)
    w.import_paths([folder])
    qtbot.waitUntil(lambda: w.importer.progress.value() >= 5, timeout=60_000)
    w.close()  # cancels the import and waits for the writer to stop it
    assert not w.writer._thread.is_alive()
    qtbot.wait(300)  # whatever the writer reported meanwhile arrives now: nothing may touch the closed database
    assert w.importer.report_box is None
    with sqlite3.connect(db_path) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        n = c.execute("SELECT count(*) FROM letters").fetchone()[0]
        assert n == c.execute("SELECT count(*) FROM contents").fetchone()[0]
        assert len(TEXTS) + len(PDFS) < n < len(TEXTS) + len(PDFS) + 400


# -- E: a letter held by another window is read only, annotations too ---------------------------------
def test_a_read_only_window_cannot_add_or_remove_annotations(qtbot, open_window, db_path):
    a = open_window(db_path, user="alice")
    b = open_window(db_path, user="bob")
    lid = letter_id(a, PDFS[0].name)
    a.open_letter(lid)
    a.session.add_annotation(0, 5, "note", "alice's")
    landed(qtbot, a)
    b.open_letter(letter_id(b, TEXTS[0].name))
    b.open_letter(lid)
    assert b.session.read_only and b.annotations.list.count() == 1
    with pytest.raises(ReviewError, match="alice"):
        b.session.add_annotation(10, 20, "note", "from the read-only window")
    (note,) = stored_annotations(a, lid)
    with pytest.raises(ReviewError, match="alice"):
        b.session.remove_annotation(note.id)
    # the panel's remove button (disabled there anyway) says so instead of failing
    b.annotations.list.setCurrentRow(0)
    b.annotations._remove()
    assert "alice" in b.status.currentMessage()
    assert [(x.id, x.note) for x in stored_annotations(a, lid)] == [(note.id, "alice's")]


def stored_annotations(window, lid: int):
    with Database.open(window.db_path) as db:
        return db.annotations(lid)


def test_store_error_is_what_opening_raises(qtbot, open_window, db_path):
    """The session lets the store's error through (the window catches it); nothing is half-opened."""
    w = open_window(db_path)
    a = letter_id(w, PDFS[0].name)
    w.open_letter(a)
    with pytest.raises(StoreError):
        w.session.open_letter(999_999)
    assert w.session.letter_id == a and w.session.text is not None
