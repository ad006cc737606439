"""The letter as the clerk sees it: real PDF pages (rendered with PDFium) or the text of a text letter.

Both views speak in offsets of the parser's text (`LetterText.text`), the same offsets the record's
`fields` provenance uses, so the form and the letter can point at each other.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen, QPixmap, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QPlainTextEdit,
    QStackedWidget,
    QTextEdit,
    QWidget,
)

from imr_desk.core import LetterText

if TYPE_CHECKING:
    import pypdfium2 as pdfium  # imported when a PDF is first shown, to keep start-up quick

    from imr_desk.core.ocr import ScanImage

log = logging.getLogger(__name__)

SECTION_COLOURS = {
    "case": QColor(52, 120, 230),
    "reviewer": QColor(150, 60, 190),
    "patient": QColor(40, 150, 70),
    "summary": QColor(40, 150, 70),
    "items": QColor(235, 120, 0),
}
FOCUS_COLOUR = QColor(21, 101, 192)  # the focused field: blue, not red, which means an error
FIND_COLOUR = QColor(255, 225, 0)  # find in the letter: every hit yellow, the current one orange
FIND_CURRENT_COLOUR = QColor(255, 140, 0)
ANNOTATION_COLOUR = QColor(255, 200, 0)
SELECTION_COLOUR = QColor(40, 110, 255)
PAGE_GAP = 12.0
KEPT_PAGES = 4
"""Rendered pages kept beyond those in view (so scrolling back is instant); farther ones are dropped."""
MAX_PAGE_RENDER_PIXELS = 16_000_000
"""A page is rendered at most this large (48 MB); zoomed in further, Qt enlarges that image."""
MAX_KEPT_PIXELS = 48_000_000
"""The rendered pages kept beyond those in view hold at most this many pixels together."""
MAX_SPANS = 2000  # more parsed fields than this (a letter of hundreds of items): only the first items' highlights
MAX_ITEM_SPANS = 40


def section_colour(path: str) -> QColor:
    return QColor(SECTION_COLOURS.get(path.split(".", 1)[0], QColor(120, 120, 120)))


@dataclass(frozen=True)
class Span:
    """A stretch of the letter's text, by offsets, with what it belongs to."""

    start: int
    end: int
    key: str  # a field path, or "annotation:<id>"


class SourceIndex:
    """From PDFium character indices back to text offsets (the inverse of `LetterText.source_offset`)."""

    def __init__(self, letter: LetterText) -> None:
        self.letter = letter
        segs = sorted(letter.segments, key=lambda s: s[2])
        self._segs = segs
        self._src_starts = [s[2] for s in segs]

    def text_offset(self, page: int, char_index: int) -> int:
        letter = self.letter
        if not self._segs:
            return 0
        raw = letter.raw_page_starts[page] + char_index if page < len(letter.raw_page_starts) else char_index
        i = max(0, bisect_right(self._src_starts, raw) - 1)
        t0, tlen, s0, slen = self._segs[i]
        if raw >= s0 + slen:  # a dropped character: use the next kept one
            if i + 1 < len(self._segs):
                return self._segs[i + 1][0]
            return t0 + tlen
        k = raw - s0
        return t0 + (k if tlen == slen else (k * tlen) // max(1, slen))


class _PageItem(QGraphicsPixmapItem):
    def __init__(self, index: int, width: float, height: float, top: float) -> None:
        super().__init__()
        self.index = index
        self.width = width
        self.height = height
        self.top = top
        self.rendered_scale = 0.0
        self.setPos(0, top)
        self.setTransformationMode(Qt.TransformationMode.SmoothTransformation)


def _blank(width: float, height: float) -> QPixmap:
    """A page's white, shown until (and after) the page is rendered: a small image, scaled up 16 times."""
    blank = QPixmap(max(1, round(width / 16)), max(1, round(height / 16)))
    blank.fill(Qt.GlobalColor.white)
    return blank


class PdfLetterView(QGraphicsView):
    """The PDF's real pages (or a scanned image file's), zoomable, with highlights drawn on the glyphs' boxes.

    The scene is laid out in PDF points; only the pages in view are rendered (decoded, for a scan), at
    the zoom in use, and re-rendered when it changes, so text stays sharp; a few near ones are kept, the
    rest dropped, so a letter of any page count costs what its pages in view do.
    """

    spanClicked = Signal(str)
    selectionMade = Signal(int, int)
    boxDrawn = Signal(int)  # the page a box was drawn on

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pdfLetterView")
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self.setBackgroundBrush(QColor(90, 94, 100))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self._doc: pdfium.PdfDocument | None = None
        self._scan: ScanImage | None = None  # a scanned image file: its pages decoded as they show
        self._letter: LetterText | None = None
        self._index: SourceIndex | None = None
        self._pages: list[_PageItem] = []
        self._textpages: dict[int, pdfium.PdfTextPage] = {}
        self._span_items: dict[str, list[QGraphicsRectItem]] = {}
        self._focus_items: list[QGraphicsRectItem] = []
        self._find_items: list[QGraphicsRectItem] = []
        self._selection_items: list[QGraphicsRectItem] = []
        self._selection: tuple[int, int] | None = None
        self._press: QPointF | None = None
        self._press_box = False
        self._box: tuple[int, tuple[float, float, float, float]] | None = None
        self._box_items: list[QGraphicsRectItem] = []
        self.zoom = 1.0
        self.fitting = True  # the zoom follows the pane's width (Ctrl+0) until the clerk zooms
        self._render_timer = QTimer(self, singleShot=True, interval=120)
        self._render_timer.timeout.connect(self._render_visible)
        self.verticalScrollBar().valueChanged.connect(lambda _v: self._render_timer.start())

    # -- the document --------------------------------------------------------------------------
    def show_letter(self, letter: LetterText, data: bytes) -> None:
        """Show a PDF's pages, or a scanned image file's (`data` a PNG, JPEG or TIFF; its text, when OCR
        has read it, from the letter's text layer, `letter.text_pdf`): nothing is decoded here but the
        first page; the others as they come into view."""
        import pypdfium2 as pdfium

        from imr_desk.core.ocr import ScanImage, image_type_of

        self.clear()
        self._letter = letter
        self._index = SourceIndex(letter)
        sizes: list[tuple[float, float]]
        try:
            if image_type_of(data):
                self._scan = ScanImage(data)
                sizes = [self._scan.page_size(i) for i in range(len(self._scan))]
                if letter.text_pdf:  # read by OCR: the text under the highlights, the selection, the boxes
                    self._doc = pdfium.PdfDocument(letter.text_pdf)
            else:
                self._doc = pdfium.PdfDocument(data)
                sizes = [self._doc.get_page_size(i) for i in range(len(self._doc))]  # no page loaded
        except Exception as exc:  # noqa: BLE001 - a damaged file, a scan beyond the limits: nothing to show
            log.warning("could not open %s for display: %s", letter.name, exc)
            self.clear()
            return
        top = 0.0
        for i, (w, h) in enumerate(sizes):
            item = _PageItem(i, w, h, top)
            # The page's white shows at once; the rendered image replaces it a moment later.
            item.setPixmap(_blank(w, h))
            item.setScale(16)
            self._scene.addItem(item)
            self._pages.append(item)
            top += h + PAGE_GAP
        self._scene.setSceneRect(QRectF(-PAGE_GAP, -PAGE_GAP, self._max_width() + 2 * PAGE_GAP, top + PAGE_GAP))
        if self.fitting:
            self.zoom = self._fit_zoom()
        self._apply_zoom()
        self.go_to_start()
        if self._pages:
            self._render_page(self._pages[0])
        self._render_timer.start()

    def clear(self) -> None:
        self._scene.clear()
        self._pages = []
        self._span_items = {}
        self._focus_items = []
        self._find_items = []
        self._selection_items = []
        self._selection = None
        self._box = None
        self._box_items = []
        for tp in self._textpages.values():
            tp.close()
        self._textpages = {}
        if self._doc is not None:
            self._doc.close()
            self._doc = None
        if self._scan is not None:
            self._scan.close()
            self._scan = None
        self._letter = None

    def _max_width(self) -> float:
        return max((p.width for p in self._pages), default=612.0)

    def page_count(self) -> int:
        return len(self._pages)

    def rendered_pages(self) -> list[int]:
        return [p.index for p in self._pages if p.rendered_scale > 0]

    # -- zoom and rendering --------------------------------------------------------------------
    def set_zoom(self, zoom: float, fitting: bool = False) -> None:
        self.zoom = max(0.25, min(5.0, zoom))
        self.fitting = fitting
        self._apply_zoom()
        self._render_timer.start()

    def fit_width(self) -> None:
        self.set_zoom(self._fit_zoom(), fitting=True)

    def _fit_zoom(self) -> float:
        """The zoom at which the widest page, with its gaps, fills the pane's width.

        Measured on the width the viewport has WITH the vertical scroll bar, whether it shows or not:
        the zoom then depends on the pane's width alone. Measured on the viewport's current width it
        fed back into itself (the zoom sets the pages' height, the height shows or hides the scroll bar,
        the scroll bar changes the viewport's width, the width sets the zoom): at a width where the
        pages fit the pane's height without the bar but not with it, each resize showed the bar, each
        re-zoom hid it again, and the event loop never returned (CM16-0238035, three pages, froze the
        window at some pane sizes). Fitting the gaps too keeps the horizontal bar away.
        """
        bar = self.verticalScrollBar().sizeHint().width()
        avail = max(100, self.maximumViewportSize().width() - bar - 4)
        return max(0.25, min(5.0, avail / (self._max_width() + 2 * PAGE_GAP)))

    def go_to_start(self) -> None:
        """Page 1 at the top, its left edge in view."""
        self.verticalScrollBar().setValue(self.verticalScrollBar().minimum())
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().minimum())

    def at_start(self) -> bool:
        return self.verticalScrollBar().value() == self.verticalScrollBar().minimum()

    def _apply_zoom(self) -> None:
        self.resetTransform()
        self.scale(self.zoom, self.zoom)

    def _render_visible(self) -> None:
        """Render the pages in view (and a margin); drop the rendered pages beyond the few kept near them."""
        if self._doc is None and self._scan is None:
            return
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        near = set()
        for page in self._pages:
            if page.top <= visible.bottom() + 200 and page.top + page.height >= visible.top() - 200:
                near.add(page.index)
                self._render_page(page)
        middle = (visible.top() + visible.bottom()) / 2
        kept = sorted((p for p in self._pages if p.rendered_scale > 0 and p.index not in near),
                      key=lambda p: abs(p.top + p.height / 2 - middle))
        pixels = 0
        for n, page in enumerate(kept):
            pixels += page.pixmap().width() * page.pixmap().height()
            if n >= KEPT_PAGES or pixels > MAX_KEPT_PIXELS:
                self._drop_page(page)

    def _render_scale(self, page: _PageItem) -> float:
        """The zoom's pixels per point, lowered for a page that would be larger than MAX_PAGE_RENDER_PIXELS."""
        scale = self.zoom * self.devicePixelRatioF()
        area = max(1.0, page.width * page.height)
        return min(scale, (MAX_PAGE_RENDER_PIXELS / area) ** 0.5)

    def _render_page(self, page: _PageItem) -> None:
        scale = self._render_scale(page)
        if abs(page.rendered_scale - scale) < 1e-3:
            return
        if self._scan is not None:
            image = self._scan_image(page, scale)
        elif self._doc is not None:
            bitmap = self._doc[page.index].render(scale=scale, rev_byteorder=True)
            image = QImage(bytes(bitmap.buffer), bitmap.width, bitmap.height, bitmap.stride,
                           QImage.Format.Format_RGB888)
        else:
            return
        page.setPixmap(QPixmap.fromImage(image))
        page.setScale(1.0 / scale)
        page.rendered_scale = scale

    def _scan_image(self, page: _PageItem, scale: float) -> QImage:
        """A page of a scanned image file, decoded and scaled to `scale` pixels a point (grey)."""
        assert self._scan is not None
        from PIL import Image

        grey = self._scan.page(page.index)
        size = (max(1, round(page.width * scale)), max(1, round(page.height * scale)))
        if size != grey.size:
            grey = grey.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)
        raw = grey.tobytes()
        return QImage(raw, grey.width, grey.height, grey.width, QImage.Format.Format_Grayscale8).copy()

    def _drop_page(self, page: _PageItem) -> None:
        page.setPixmap(_blank(page.width, page.height))
        page.setScale(16)
        page.rendered_scale = 0.0

    # -- highlights ----------------------------------------------------------------------------
    def _textpage(self, page: int) -> pdfium.PdfTextPage | None:
        tp = self._textpages.get(page)
        if tp is None and self._doc is not None:
            tp = self._doc[page].get_textpage()
            self._textpages[page] = tp
        return tp

    def rects_for(self, start: int, end: int) -> list[QRectF]:
        """Scene rectangles (one per line of glyphs) covering text[start:end]."""
        if self._letter is None or self._doc is None:
            return []
        rects: list[QRectF] = []
        for page, first, last in self._letter.pdf_char_spans(start, end):
            if page >= len(self._pages):
                continue
            tp = self._textpage(page)
            if tp is None:  # not while a document is open (checked above)
                continue
            item = self._pages[page]
            try:
                # PDFium merges the characters' boxes into one rectangle per line itself (fast).
                n = tp.count_rects(first, last - first)
                boxes = [tp.get_rect(i) for i in range(n)]
            except Exception:  # noqa: BLE001 - fall back to the characters' own boxes
                boxes = []
            if boxes:
                for left, bottom, right, top in boxes:
                    if right - left > 0 and top - bottom > 0:
                        rects.append(QRectF(left, item.top + item.height - top, right - left, top - bottom))
                continue
            line: QRectF | None = None
            for ci in range(first, last):
                try:
                    left, bottom, right, top = tp.get_charbox(ci)
                except Exception:  # noqa: BLE001 - a char without a box (a generated space)
                    continue
                if right - left <= 0 or top - bottom <= 0:
                    continue
                r = QRectF(left, item.top + item.height - top, right - left, top - bottom)
                if line is not None and abs(r.center().y() - line.center().y()) < line.height() * 0.6:
                    line = line.united(r)
                else:
                    if line is not None:
                        rects.append(line)
                    line = r
            if line is not None:
                rects.append(line)
        return [r.adjusted(-1.5, -1.5, 1.5, 1.5) for r in rects]

    def set_spans(self, spans: list[Span], colours: dict[str, QColor]) -> None:
        """Faint highlights for the given spans (the parsed fields, annotations)."""
        for items in self._span_items.values():
            for it in items:
                self._scene.removeItem(it)
        self._span_items = {}
        for span in spans:
            colour = colours.get(span.key) or section_colour(span.key)
            fill = QColor(colour)
            fill.setAlpha(70 if span.key.startswith("annotation:") else 38)
            pen = QPen(colour, 0.8, Qt.PenStyle.DashLine if span.key.startswith("annotation:") else Qt.PenStyle.NoPen)
            items = []
            for r in self.rects_for(span.start, span.end):
                it = self._scene.addRect(r, pen, QBrush(fill))
                it.setZValue(1)
                items.append(it)
            self._span_items[span.key] = items

    def span_keys_at(self, scene_pos: QPointF) -> list[str]:
        keys = []
        for key, items in self._span_items.items():
            if any(it.rect().contains(scene_pos) for it in items):
                keys.append(key)
        return keys

    def set_focus_span(self, start: int | None, end: int | None) -> list[QRectF]:
        """Highlight the focused field's source strongly and scroll it into view."""
        for it in self._focus_items:
            self._scene.removeItem(it)
        self._focus_items = []
        if start is None or end is None:
            return []
        rects = self.rects_for(start, end)
        fill = QColor(FOCUS_COLOUR)
        fill.setAlpha(60)
        for r in rects:
            it = self._scene.addRect(r, QPen(FOCUS_COLOUR, 1.4), QBrush(fill))
            it.setZValue(3)
            self._focus_items.append(it)
        if rects:
            box = rects[0]
            for r in rects[1:4]:
                box = box.united(r)
            self.ensureVisible(box, 40, 60)
            self._render_visible()
        return rects

    def focus_rects(self) -> list[QRectF]:
        return [it.rect() for it in self._focus_items]

    def set_find(self, hits: list[tuple[int, int]], current: int | None) -> None:
        """Find in the letter: every hit marked, the current one strongly and scrolled into view."""
        for it in self._find_items:
            self._scene.removeItem(it)
        self._find_items = []
        for k, (start, end) in enumerate(hits):
            strong = k == current
            colour = FIND_CURRENT_COLOUR if strong else FIND_COLOUR
            fill = QColor(colour)
            fill.setAlpha(150 if strong else 110)
            rects = self.rects_for(start, end)
            for r in rects:
                it = self._scene.addRect(r, QPen(colour.darker(130), 1.0) if strong else QPen(Qt.PenStyle.NoPen),
                                         QBrush(fill))
                it.setZValue(5 if strong else 2)
                it.setData(0, k)
                self._find_items.append(it)
            if strong and rects:
                self.centerOn(rects[0].center())
                self._render_visible()

    def find_rects(self, current_only: bool = False) -> list[QRectF]:
        return [it.rect() for it in self._find_items if not current_only or it.zValue() == 5]

    # -- selection and clicks ------------------------------------------------------------------
    def selected_span(self) -> tuple[int, int] | None:
        return self._selection

    def select_span(self, start: int, end: int) -> None:
        """Select text[start:end] (as a drag over it would)."""
        self._set_selection(start, end)

    def _set_selection(self, start: int, end: int) -> None:
        for it in self._selection_items:
            self._scene.removeItem(it)
        self._selection_items = []
        self._clear_box()
        if end <= start:
            self._selection = None
            return
        self._selection = (start, end)
        fill = QColor(SELECTION_COLOUR)
        fill.setAlpha(70)
        for r in self.rects_for(start, end):
            it = self._scene.addRect(r, QPen(Qt.PenStyle.NoPen), QBrush(fill))
            it.setZValue(4)
            self._selection_items.append(it)
        self.selectionMade.emit(start, end)

    def _char_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        for page in self._pages:
            if page.top <= scene_pos.y() <= page.top + page.height:
                tp = self._textpage(page.index)
                if tp is None:  # pages exist only while a document is open
                    return None
                x, y = scene_pos.x(), page.top + page.height - scene_pos.y()
                idx = tp.get_index(x, y, 6, 6)
                if idx is None or idx < 0:
                    return None
                return page.index, idx
        return None

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = self.mapToScene(event.position().toPoint())
            self._press_box = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton and self._press is not None:
            end_pos = self.mapToScene(event.position().toPoint())
            press, self._press = self._press, None
            if (end_pos - press).manhattanLength() >= 3 and (self._press_box or not self._page_has_text(press)):
                self.draw_box(press, end_pos)  # Shift+drag, or any drag on a page without text
            elif (end_pos - press).manhattanLength() < 3:
                self._set_selection(0, 0)
                keys = [k for k in self.span_keys_at(end_pos) if not k.startswith("annotation:")]
                if keys and self._letter is not None:
                    self.spanClicked.emit(keys[0])
            else:
                self._select_between(press, end_pos)
        super().mouseReleaseEvent(event)

    def _select_between(self, a: QPointF, b: QPointF) -> None:
        if self._index is None:
            return
        ca, cb = self._char_at(a), self._char_at(b)
        if ca is None or cb is None:
            return
        ta = self._index.text_offset(*ca)
        tb = self._index.text_offset(*cb)
        lo, hi = min(ta, tb), max(ta, tb) + 1
        self._set_selection(lo, min(hi, len(self._letter.text) if self._letter else hi))

    # -- a box drawn on the page (Shift+drag; any drag on a scan without text) -----------------------
    def _page_at(self, scene_pos: QPointF) -> _PageItem | None:
        for page in self._pages:
            if page.top <= scene_pos.y() <= page.top + page.height:
                return page
        return None

    def _page_has_text(self, scene_pos: QPointF) -> bool:
        page = self._page_at(scene_pos)
        tp = self._textpage(page.index) if page is not None else None
        return tp is not None and tp.count_chars() > 0

    def draw_box(self, a: QPointF, b: QPointF) -> None:
        """The box between two scene points, on the page of the first: drawn, and kept for the fill key."""
        page = self._page_at(a)
        for it in self._selection_items:
            self._scene.removeItem(it)
        self._selection_items = []
        self._selection = None
        self._clear_box()
        if page is None:
            return
        x0, x1 = sorted((max(0.0, min(a.x(), b.x())), min(page.width, max(a.x(), b.x()))))
        y0 = max(0.0, min(a.y(), b.y()) - page.top)
        y1 = min(page.height, max(a.y(), b.y()) - page.top)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        self._box = (page.index, (x0, y0, x1, y1))
        pen = QPen(SELECTION_COLOUR, 1.2, Qt.PenStyle.DashLine)
        fill = QColor(SELECTION_COLOUR)
        fill.setAlpha(30)
        it = self._scene.addRect(QRectF(x0, page.top + y0, x1 - x0, y1 - y0), pen, QBrush(fill))
        it.setZValue(5)
        self._box_items = [it]
        self.boxDrawn.emit(page.index)

    def _clear_box(self) -> None:
        for it in self._box_items:
            self._scene.removeItem(it)
        self._box_items = []
        self._box = None

    def selected_box(self) -> tuple[int, tuple[float, float, float, float]] | None:
        """The box drawn: (0-based page, (left, top, right, bottom) in PDF points from the page's top left)."""
        return self._box

    def box_words(self, page: int, box: tuple[float, float, float, float]) -> tuple[str, int, int] | None:
        """The words of the page's text layer inside `box`, in reading order, and the span of text they cover.

        None when the page has no text there (a scan not read by OCR: the region is read by OCR instead).
        """
        tp = self._textpage(page)
        if tp is None or self._index is None or self._letter is None or page >= len(self._pages):
            return None
        height = self._pages[page].height
        x0, y0, x1, y1 = box
        offsets = []
        for ci in range(tp.count_chars()):
            try:
                left, bottom, right, top = tp.get_charbox(ci)
            except Exception:  # noqa: BLE001 - a generated character without a box
                continue
            cx, cy = (left + right) / 2, height - (bottom + top) / 2
            if right > left and x0 <= cx <= x1 and y0 <= cy <= y1:
                offsets.append(self._index.text_offset(page, ci))
        if not offsets:
            return None
        offsets = sorted(set(offsets))
        text = self._letter.text
        words, run = [], [offsets[0]]
        for off in offsets[1:]:
            if off == run[-1] + 1:
                run.append(off)
            else:
                words.append(text[run[0]:run[-1] + 1])
                run = [off]
        words.append(text[run[0]:run[-1] + 1])
        value = " ".join(" ".join(words).split())
        start, end = offsets[0], offsets[-1] + 1
        while start < end and text[start].isspace():  # a line break PDFium put beside the words
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        return (value, start, end) if value else None

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.set_zoom(self.zoom * (1.15 if event.angleDelta().y() > 0 else 1 / 1.15))
            event.accept()
            return
        super().wheelEvent(event)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self.fitting and self._pages and abs(self._fit_zoom() - self.zoom) > 1e-3:
            self.zoom = self._fit_zoom()
            self._apply_zoom()
        self._render_timer.start()


_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


class Utf16Map:
    """Between the letter's offsets (Python str indices: code points) and Qt's text positions (UTF-16 units).

    A character outside the Basic Multilingual Plane (an emoji, some CJK, mathematical letters) is one
    str index but two QTextCursor positions. Built once per letter; the identity when it has none.
    """

    def __init__(self, text: str) -> None:
        self._astral = [m.start() for m in _ASTRAL.finditer(text)]
        # the Qt position of each such character's second (low surrogate) unit
        self._low = [a + k + 1 for k, a in enumerate(self._astral)]

    @property
    def identity(self) -> bool:
        return not self._astral

    def to_qt(self, offset: int) -> int:
        return offset + bisect_left(self._astral, offset) if self._astral else offset

    def from_qt(self, position: int) -> int:
        """The str offset at a Qt position (one inside a surrogate pair counts as the pair's character)."""
        return position - bisect_right(self._low, position) if self._low else position


class TextLetterView(QPlainTextEdit):
    """A text letter as text, with the same highlights as the PDF view (extra selections)."""

    spanClicked = Signal(str)
    selectionMade = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("textLetterView")
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self._spans: list[Span] = []
        self._colours: dict[str, QColor] = {}
        self._focus: tuple[int, int] | None = None
        self._find: list[tuple[int, int]] = []
        self._find_current: int | None = None
        self._map = Utf16Map("")
        self.zoom = 1.0
        self._base_point_size = self.font().pointSizeF()
        self.selectionChanged.connect(self._selection_changed)

    def show_letter(self, letter: LetterText) -> None:
        self._spans = []
        self._focus = None
        self._find, self._find_current = [], None
        self._map = Utf16Map(letter.text)
        self.setPlainText(letter.text)
        self._refresh()
        self.go_to_start()

    def go_to_start(self) -> None:
        """The letter's first line at the top."""
        self.moveCursor(QTextCursor.MoveOperation.Start)
        self.verticalScrollBar().setValue(self.verticalScrollBar().minimum())
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().minimum())

    def at_start(self) -> bool:
        return self.verticalScrollBar().value() == self.verticalScrollBar().minimum()

    def clear_letter(self) -> None:
        self._spans = []
        self._focus = None
        self._find, self._find_current = [], None
        self._map = Utf16Map("")
        self.setPlainText("")

    def _qt_position(self, offset: int) -> int:
        """A text offset as a cursor position, inside the document."""
        return max(0, min(self._map.to_qt(offset), self.document().characterCount() - 1))

    def set_zoom(self, zoom: float, fitting: bool = False) -> None:
        self.zoom = max(0.5, min(4.0, zoom))
        font = self.font()
        font.setPointSizeF(max(4.0, self._base_point_size * self.zoom))
        self.setFont(font)

    def fit_width(self) -> None:
        self.set_zoom(1.0)

    def set_spans(self, spans: list[Span], colours: dict[str, QColor]) -> None:
        self._spans = spans
        self._colours = colours
        self._refresh()

    def set_focus_span(self, start: int | None, end: int | None) -> None:
        self._focus = (start, end) if start is not None and end is not None else None
        self._refresh()
        if self._focus:
            cursor = QTextCursor(self.document())
            cursor.setPosition(self._qt_position(end or 0))
            self.setTextCursor(cursor)
            cursor.setPosition(self._qt_position(start or 0))
            self.setTextCursor(cursor)
            self.ensureCursorVisible()

    def focus_span(self) -> tuple[int, int] | None:
        return self._focus

    def set_find(self, hits: list[tuple[int, int]], current: int | None) -> None:
        """Find in the letter: every hit marked, the current one strongly and scrolled into view."""
        self._find, self._find_current = list(hits), current
        self._refresh()
        if current is not None and 0 <= current < len(hits):
            cursor = QTextCursor(self.document())
            cursor.setPosition(self._qt_position(hits[current][0]))
            self.setTextCursor(cursor)
            self.centerCursor()

    def find_count(self) -> int:
        return len(self._find)

    def _selection_for(self, start: int, end: int, fmt: QTextCharFormat) -> QTextEdit.ExtraSelection:
        sel = QTextEdit.ExtraSelection()
        cursor = QTextCursor(self.document())
        cursor.setPosition(self._qt_position(start))
        cursor.setPosition(self._qt_position(end), QTextCursor.MoveMode.KeepAnchor)
        sel.cursor = cursor
        sel.format = fmt
        return sel

    def _refresh(self) -> None:
        selections = []
        for span in self._spans:
            colour = QColor(self._colours.get(span.key) or section_colour(span.key))
            fmt = QTextCharFormat()
            colour.setAlpha(80 if span.key.startswith("annotation:") else 38)
            fmt.setBackground(colour)
            if span.key.startswith("annotation:"):
                fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DashUnderline)
            selections.append(self._selection_for(span.start, span.end, fmt))
        if self._focus:
            fmt = QTextCharFormat()
            fill = QColor(FOCUS_COLOUR)
            fill.setAlpha(70)
            fmt.setBackground(fill)
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.SingleUnderline)
            fmt.setUnderlineColor(FOCUS_COLOUR)
            selections.append(self._selection_for(self._focus[0], self._focus[1], fmt))
        for k, (start, end) in enumerate(self._find):
            fmt = QTextCharFormat()
            fmt.setBackground(FIND_CURRENT_COLOUR if k == self._find_current else FIND_COLOUR)
            selections.append(self._selection_for(start, end, fmt))
        self.setExtraSelections(selections)

    def selected_span(self) -> tuple[int, int] | None:
        """The selection as text offsets (str indices, as the record's provenance uses)."""
        c = self.textCursor()
        if not c.hasSelection():
            return None
        return self._map.from_qt(c.selectionStart()), self._map.from_qt(c.selectionEnd())

    def select_span(self, start: int, end: int) -> None:
        cursor = QTextCursor(self.document())
        cursor.setPosition(self._qt_position(start))
        cursor.setPosition(self._qt_position(end), QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)

    def _selection_changed(self) -> None:
        span = self.selected_span()
        if span:
            self.selectionMade.emit(*span)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and not self.textCursor().hasSelection():
            pos = self._map.from_qt(self.cursorForPosition(event.position().toPoint()).position())
            hits = [s for s in self._spans if s.start <= pos < s.end and not s.key.startswith("annotation:")]
            if hits:
                best = min(hits, key=lambda s: s.end - s.start)
                self.spanClicked.emit(best.key)


class LetterView(QStackedWidget):
    """Shows whichever kind of letter is open, with one interface for both kinds."""

    spanClicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pdf_view = PdfLetterView(self)
        self.text_view = TextLetterView(self)
        self.addWidget(self.text_view)
        self.addWidget(self.pdf_view)
        self.pdf_view.spanClicked.connect(self.spanClicked)
        self.text_view.spanClicked.connect(self.spanClicked)
        self.letter: LetterText | None = None
        self.show_all = True
        self._field_spans: list[Span] = []
        self._annotation_spans: list[Span] = []
        self._annotation_colours: dict[str, QColor] = {}

    @property
    def current(self) -> PdfLetterView | TextLetterView:
        return self.pdf_view if self.currentWidget() is self.pdf_view else self.text_view

    def show_letter(self, letter: LetterText | None, data: bytes | None) -> None:
        self.letter = letter
        self._field_spans = []
        self._annotation_spans = []
        if letter is None:
            self.pdf_view.clear()
            self.text_view.clear_letter()
            self.setCurrentWidget(self.text_view)
            return
        if letter.media_type == "application/pdf" and data is not None and not letter.error:
            self.text_view.clear_letter()
            self.setCurrentWidget(self.pdf_view)
            self.pdf_view.show_letter(letter, data)
        else:
            self.pdf_view.clear()
            self.setCurrentWidget(self.text_view)
            self.text_view.show_letter(letter)

    def set_field_spans(self, fields: dict[str, dict], push: bool = True) -> None:
        """The parsed fields' spans; `push=False` when set_annotations follows and draws both at once.

        A letter with thousands of items shows the highlights of its first MAX_ITEM_SPANS items only
        (the focused field is outlined wherever it is): tens of thousands of highlights cost seconds.
        """
        spans = []
        for path, prov in fields.items():
            if path.startswith("items.") and len(fields) > MAX_SPANS:
                index = path.split(".", 2)[1]
                if not index.isdigit() or int(index) >= MAX_ITEM_SPANS:
                    continue
            start, end = prov.get("start"), prov.get("end")
            if isinstance(start, int) and isinstance(end, int) and end > start:
                spans.append(Span(start, end, path))
        self._field_spans = spans
        if push:
            self._push_spans()

    def set_annotations(self, annotations: list[tuple[int, int, int, str]], colours: dict[str, QColor]) -> None:
        """Annotations as (id, start, end, label)."""
        self._annotation_spans = [Span(s, e, f"annotation:{aid}") for aid, s, e, _label in annotations if e > s]
        self._annotation_colours = {f"annotation:{aid}": colours.get(label, ANNOTATION_COLOUR)
                                    for aid, _s, _e, label in annotations}
        self._push_spans()

    def set_show_all(self, show: bool) -> None:
        self.show_all = show
        self._push_spans()

    def _push_spans(self) -> None:
        spans = (self._field_spans if self.show_all else []) + self._annotation_spans
        self.current.set_spans(spans, self._annotation_colours)

    def set_focus_span(self, start: int | None, end: int | None) -> None:
        self.current.set_focus_span(start, end)

    def selected_span(self) -> tuple[int, int] | None:
        return self.current.selected_span()

    def selected_box(self) -> tuple[int, tuple[float, float, float, float]] | None:
        """A box drawn on a page (PDF letters, scans), which the fill key reads instead of a selection."""
        return self.pdf_view.selected_box() if self.current is self.pdf_view else None

    def select_span(self, start: int, end: int) -> None:
        self.current.select_span(start, end)

    def zoom_by(self, factor: float) -> None:
        view = self.current
        view.set_zoom(view.zoom * factor)

    def fit_width(self) -> None:
        self.current.fit_width()

    def go_to_start(self) -> None:
        self.current.go_to_start()

    def set_find(self, hits: list[tuple[int, int]], current: int | None) -> None:
        self.current.set_find(hits, current)

    def zoom_state(self) -> dict[str, str]:
        """The zoom to remember: "fit" (the page's width) or a factor, for PDF pages and for text."""
        pdf = self.pdf_view
        return {"pdf": "fit" if pdf.fitting else f"{pdf.zoom:.3f}", "text": f"{self.text_view.zoom:.3f}"}

    def restore_zoom(self, state: dict[str, str | None]) -> None:
        pdf = state.get("pdf")
        try:
            if pdf and pdf != "fit":
                self.pdf_view.set_zoom(float(pdf))
            if state.get("text"):
                self.text_view.set_zoom(float(state["text"] or 1.0))
        except ValueError:  # a hand-edited settings file: the defaults stay
            log.warning("ignoring the saved zoom %r", state)

    def at_start(self) -> bool:
        return self.current.at_start()
