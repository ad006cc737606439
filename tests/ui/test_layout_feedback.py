"""Widgets whose size follows their width settle at every width: no scroll bar that comes and goes.

The PDF view fits the page to its width, a growing text box wraps its text to its width; each has a
vertical scroll bar that narrows it. Either used to be able to feed back into itself (the bar shows,
the content changes, the bar hides, and so on for ever: CM16-0238035 froze the window). These sweep
each widget alone through widths and heights, with a watchdog: a loop inside Qt never returns to
Python, so faulthandler dumps the stack and ends the run rather than leaving it stuck.
"""

from __future__ import annotations

import faulthandler
import time
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from imr_desk.core import read_letter
from imr_desk.ui.growing import GrowingText
from imr_desk.ui.letter_view import PdfLetterView
from tests.ui.conftest import DATA

HANGER = DATA / "layout" / "CM16-0238035.pdf"


@pytest.fixture
def watchdog() -> Iterator[None]:
    faulthandler.dump_traceback_later(60, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def _settled(widget, size: tuple[int, int]) -> float:
    """Resize and run the event loop until nothing is left; how long that took."""
    start = time.perf_counter()
    widget.resize(*size)
    for _ in range(3):
        QApplication.processEvents()
    return time.perf_counter() - start


def test_the_pdf_fit_to_width_does_not_depend_on_its_scroll_bar(qtbot, watchdog) -> None:
    data = HANGER.read_bytes()
    view = PdfLetterView()
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    view.show_letter(read_letter(data, HANGER.name), data)
    bar = view.verticalScrollBar()
    seen_with, seen_without = False, False
    for height in range(300, 1001, 100):
        for width in range(150, 701, 3):
            took = _settled(view, (width, height))
            assert took < 5, f"{width}x{height}: the view took {took:.1f} s to settle"
            zoom, shown = view.zoom, bar.isVisible()
            seen_with, seen_without = seen_with or shown, seen_without or not shown
            QApplication.processEvents()
            assert (view.zoom, bar.isVisible()) == (zoom, shown), f"{width}x{height} is still changing"
            # the zoom is the one for this width, whether the bar shows or not
            view.verticalScrollBar().setVisible(not shown)
            assert abs(view._fit_zoom() - zoom) < 1e-9, f"{width}x{height}"
            view.verticalScrollBar().setVisible(shown)
            across = view.horizontalScrollBar()
            assert across.maximum() <= across.minimum() or zoom == 0.25, f"{width}x{height}: wider than the view"
    assert seen_with and seen_without, "the sweep never reached the sizes where the bar comes and goes"


@pytest.mark.parametrize("max_lines", [2, 12])
def test_a_growing_box_settles_at_every_width(qtbot, watchdog, max_lines: int) -> None:
    box = GrowingText(single_line=False, max_lines=max_lines)
    qtbot.addWidget(box)
    box.setPlainText(" ".join(f"word{i}" for i in range(60)))
    box.show()
    qtbot.waitExposed(box)
    for width in range(80, 900, 2):
        took = _settled(box, (width, box.height()))
        assert took < 5, f"width {width}: {took:.1f} s"
        lines, height, shown = box.lines(), box.height(), box.verticalScrollBar().isVisible()
        QApplication.processEvents()
        assert (box.lines(), box.height(), box.verticalScrollBar().isVisible()) == (lines, height, shown)
        # the bar shows exactly when the text is longer than the box shows, and the box shows it whole otherwise
        assert shown == (lines > max_lines), f"width {width}: {lines} lines, bar {shown}"
        if not shown:
            assert box.verticalScrollBar().maximum() == 0, f"width {width}: {lines} lines not all shown"
