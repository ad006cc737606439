"""What a QA session found trying the window as a clerk (each test failed before its fix)."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from tests.ui.conftest import letter_id


def test_the_letter_the_window_starts_on_opens_at_page_one_with_the_form_at_the_top(qtbot, open_window, db_path):
    w = open_window(db_path)  # starts on the first letter to review, opened before the window is shown
    assert w.session.letter_id == letter_id(w, "CM16-0221706.pdf")
    pdf = w.letter_view.pdf_view
    qtbot.waitUntil(lambda: 0 in pdf.rendered_pages())
    qtbot.wait(100)
    assert w.letter_view.at_start(), f"page 1 at the top, not scrolled to {pdf.verticalScrollBar().value()}"
    assert w.form.verticalScrollBar().value() == 0, "the form at the top"
    expected = w.first_field_to_check()
    assert expected is not None and QApplication.focusWidget() is w.form.editors[expected].widget
