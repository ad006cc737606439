"""Render resources/icons/imr-desk.svg to the 256x256 PNG beside it (run after editing the SVG).

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/render_icon.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"


def main() -> int:
    app = QGuiApplication(sys.argv[:1])  # noqa: F841 - QPainter needs the application object
    renderer = QSvgRenderer(str(ICONS / "imr-desk.svg"))
    if not renderer.isValid():
        print("render_icon: error: imr-desk.svg is not a valid SVG", file=sys.stderr)
        return 1
    image = QImage(256, 256, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    if not image.save(str(ICONS / "imr-desk.png")):
        print("render_icon: error: could not write imr-desk.png", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
