"""The Qt binding itself: a clerk's window runs all day, so a reference leak in it is fatal.

PySide6 6.12.0 gives back None without counting the reference on every call of a void method;
on Python 3.11 (where None is not yet immortal) a few thousand repaints abort the process with
"Fatal Python error: none_dealloc". pyproject.toml keeps that release out; this test keeps it out.
"""

from __future__ import annotations

import gc
import sys

import pytest
from PySide6.QtWidgets import QApplication, QWidget


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None, True and False are immortal from Python 3.12")
def test_void_qt_calls_keep_the_reference_count_of_none(qtbot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.show()
    app = QApplication.instance()
    assert app is not None
    gc.collect()
    before = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(500):
        widget.update()
        widget.setEnabled(True)
        app.processEvents()
    gc.collect()
    after = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    assert [a - b for a, b in zip(after, before, strict=True)] == [pytest.approx(0, abs=50)] * 3
