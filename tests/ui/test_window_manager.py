"""The window under a real X server and window manager (Xvfb and openbox), where the frame is real.

The offscreen platform draws no frame, so a window that fits there can still stick out of a real
screen by its title bar: these tests run the window as a clerk's desktop does, in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.conftest import x_server

pytestmark = pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("openbox")),
                                reason="needs Xvfb and openbox (packaging/bootstrap.sh --dev installs them)")

_SHOW = r"""
import json, sys
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from imr_desk.ui.app import build_window

app = QApplication(sys.argv)
w = build_window(Path(sys.argv[1]), user="alice", seed_samples=False)
if sys.argv[2] == "huge":  # a saved geometry from a far larger monitor
    w.resize(3000, 2000)
w.show()
waited = [0]

def report():
    frame, inner = w.frameGeometry(), w.geometry()
    waited[0] += 100
    if frame == inner and waited[0] < 5000:  # the window manager has not framed it yet
        QTimer.singleShot(100, report)
        return
    QTimer.singleShot(700, lambda: done())

def done():
    frame, inner, avail = w.frameGeometry(), w.geometry(), w.screen().availableGeometry()
    print(json.dumps({"frame": frame.getRect(), "inner": inner.getRect(), "avail": avail.getRect()}))
    w.close()
    app.quit()

QTimer.singleShot(100, report)
app.exec()
"""


@pytest.fixture(scope="module")
def x_display() -> Iterator[str]:
    """A 1280x720 X server with openbox managing its windows."""
    with x_server("1280x720x24") as display:
        yield display


@pytest.mark.parametrize("size", ["default", "huge"])
def test_the_window_and_its_frame_fit_a_1280x720_screen(x_display: str, db_path: Path, tmp_path: Path,
                                                        size: str) -> None:
    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb", "IMR_DESK_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", _SHOW, str(db_path), size], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    fx, fy, fw, fh = seen["frame"]
    ax, ay, aw, ah = seen["avail"]
    assert (aw, ah) == (1280, 720)
    assert seen["frame"] != seen["inner"], "openbox drew no frame: the test proves nothing"
    # the whole frame, title bar and bottom border included, is on the screen
    assert ax <= fx and ay <= fy and fx + fw <= ax + aw and fy + fh <= ay + ah, seen
