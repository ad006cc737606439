"""A field added to the catalogue (core/fields.py) reaches every place that lists the record's fields:
the form, the difference the store records, the history's wording, every export format, and the
JSON Lines import's validation. Nothing else is changed for it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from imr_desk.core import fields
from imr_desk.core.fields import Field, Kind
from imr_desk.export import export_set
from imr_desk.export.selection import ExportSet
from imr_desk.store import Database
from tests.ui.conftest import letter_id

CLAIM = Field("case.claim_number", "Claim number", Kind.TEXT, "Case", "claim_number")
RETURN_TO_WORK = Field("items.*.return_to_work", "Return to work", Kind.DATE, "Item", "return_to_work")


@pytest.fixture
def catalogue(monkeypatch) -> None:
    """The catalogue with two new fields: one of the letter's, one of each item's."""
    monkeypatch.setattr(fields, "FIELDS", (fields.FIELDS[0], CLAIM, *fields.FIELDS[1:], RETURN_TO_WORK))


def type_into(qtbot, window, path: str, text: str) -> None:
    editor = window.form.editors[path]
    window.form.ensureWidgetVisible(editor.widget)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    editor.widget.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.keyClicks(editor.widget, text)
    qtbot.keyClick(editor.widget, Qt.Key.Key_Tab)  # done with the field


def test_a_new_field_reaches_the_form_diff_history_exports_and_import(catalogue, qtbot, open_window, db_path,
                                                                     tmp_path: Path) -> None:
    w = open_window(db_path)
    lid = letter_id(w, "CM16-0221706.pdf")
    assert w.open_letter(lid)
    # the form: an editor with its label, in the catalogue's place (after the case number)
    paths = w.form.field_paths()
    assert paths.index("case.claim_number") == paths.index("case.case_number") + 1
    assert "items.0.return_to_work" in paths
    labels = {lab.text() for lab in w.form.findChildren(QLabel)}
    assert {"Claim number", "Return to work"} <= labels
    type_into(qtbot, w, "case.claim_number", "WC 1234567")
    type_into(qtbot, w, "items.0.return_to_work", "3/4/17")  # read by core/dates.py
    assert w.session.value("items.0.return_to_work") == "2017-03-04"
    qtbot.waitUntil(lambda: not w.session.dirty, timeout=5000)
    # the diff the store records, and the history's wording
    with Database.open(db_path, user="reader") as db:
        changed = db.changed_fields(lid)
        assert {"case.claim_number", "items.0.return_to_work"} <= set(changed)
        paths_in_history = [h.path for h in db.history(lid)]
        assert {"case.claim_number", "items.0.return_to_work"} <= set(paths_in_history)
    w.do_history()
    table = w.dialog.table
    shown = {table.item(r, 2).text() for r in range(table.rowCount())}
    assert any(t.startswith("Case · Claim number ") for t in shown), shown
    assert any(t.startswith("Item 1 · Return to work ") for t in shown), shown
    w.dialog.close()
    w.session.mark_reviewed("a test letter")
    qtbot.waitUntil(lambda: w.writer.idle, timeout=5000)  # the status change is queued to the writer
    # every export format carries it
    with Database.open(db_path, user="reader") as db:
        chosen = ExportSet(ids=[lid])
        export_set(db, "csv", tmp_path / "csv", chosen)
        export_set(db, "xlsx", tmp_path / "book.xlsx", chosen)
        export_set(db, "jsonl", tmp_path / "set.jsonl", chosen)
        export_set(db, "sqlite", tmp_path / "copy.db", chosen)
    with open(tmp_path / "csv" / "letters.csv", encoding="utf-8-sig", newline="") as f:
        assert next(csv.DictReader(f))["claim_number"] == "WC 1234567"
    with open(tmp_path / "csv" / "items.csv", encoding="utf-8-sig", newline="") as f:
        assert next(csv.DictReader(f))["return_to_work"] == "2017-03-04"
    book = openpyxl.load_workbook(tmp_path / "book.xlsx", read_only=True)
    rows = list(book["Letters"].iter_rows(values_only=True))
    assert dict(zip(rows[0], rows[1], strict=True))["claim_number"] == "WC 1234567"
    items = list(book["Items"].iter_rows(values_only=True))
    assert str(dict(zip(items[0], items[1], strict=True))["return_to_work"])[:10] == "2017-03-04"  # an Excel date
    book.close()
    line = json.loads((tmp_path / "set.jsonl").read_text(encoding="utf-8"))
    assert line["case"]["claim_number"] == "WC 1234567"
    assert line["review"]["parser_values"]["case.claim_number"] is None
    with Database.open(tmp_path / "copy.db", user="reader") as copy:
        assert copy.letter(copy.queue({})[0].id).record["case"]["claim_number"] == "WC 1234567"
    # the import validates it: a line whose new field has the wrong type is refused, the good one imports
    bad = json.loads(json.dumps(line))
    bad["case"]["claim_number"] = 1234567
    bad["source"]["sha256"] = "f" * 64
    (tmp_path / "two.jsonl").write_text(json.dumps(bad) + "\n" + json.dumps(line) + "\n", encoding="utf-8")
    with Database.open(tmp_path / "other.db", user="bob") as other:
        events = list(other.import_iter([tmp_path / "two.jsonl"]))
        assert events[0].outcome == "failed"
        assert "case.claim_number should be text or null, not 1234567" in (events[0].message or "")
        assert events[1].outcome == "added"
        imported = other.letter(events[1].letter_id or 0)
        assert imported.record["case"]["claim_number"] == "WC 1234567"
        assert "case.claim_number" in other.changed_fields(imported.id)  # the parser's value came along too
