"""ImageView: one image in an aspect-locked pyqtgraph ViewBox, with hover/click in pixel
coordinates, an optional colour bar and an overlay of the patch a kernel reads."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from convlab.core.images import colorize

DIVERGING = pg.colormap.get("CET-D1")  # blue - white - red, centred on 0
GRAY = pg.ColorMap(pos=[0.0, 1.0], color=[(0, 0, 0), (255, 255, 255)])


_LUTS: dict[bool, np.ndarray] = {}


def lut(signed: bool) -> np.ndarray:
    """The 256-entry colour table (read-only, one object per kind): an ImageItem given the same
    table again keeps its prepared colours instead of rebuilding them on every frame."""
    table = _LUTS.get(signed)
    if table is None:
        table = (DIVERGING if signed else GRAY).getLookupTable(nPts=256, alpha=False)
        table.setflags(write=False)
        table = _LUTS.setdefault(signed, table)
    return table


class ImageView(pg.GraphicsLayoutWidget):
    """Draws a row-major image (H, W) or (H, W, 3); reports the pixel under the mouse."""

    hovered = Signal(int, int)  # row, column (only inside the image)
    clicked = Signal(int, int)
    left = Signal()  # the mouse left the image

    def __init__(self, title: str = "", colorbar: bool = False, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        self.ci.layout.setContentsMargins(2, 2, 2, 2)
        self.title = self.addLabel(title, row=0, col=0, colspan=2, color="#333")
        self._relax_title()
        self.vb = self.addViewBox(row=1, col=0, lockAspect=True, invertY=True, enableMenu=False)
        self.vb.setMouseEnabled(x=True, y=True)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.vb.addItem(self.item)
        self.bar = None
        if colorbar:
            # not linked to the image item: the image arrives coloured (core.images.colorize)
            self.bar = pg.ColorBarItem(values=(0, 1), colorMap=GRAY, interactive=False, width=14)
            self.addItem(self.bar, row=1, col=1)
        self._bar_signed = False  # the bar starts with the GRAY map
        self._bar_levels = (0.0, 1.0)
        self.data: np.ndarray | None = None  # the image last drawn, in its own values
        self.levels: tuple[float, float] | None = None  # its levels (None: uint8 RGB drawn as it is)
        self._shape = None
        self._inside = False
        self.scene().sigMouseMoved.connect(self._moved)
        self.scene().sigMouseClicked.connect(self._clicked)
        self._overlays: list = []
        self._auto_fit = True  # fit the image on resize until the user zooms or pans
        self.vb.sigRangeChangedManually.connect(self._user_moved)

    # ------------------------------------------------------------------ drawing

    def set_title(self, text: str) -> None:
        if text == self.title.text:
            return  # live frames set the same title again and again: a new layout pass is costly
        self.title.setText(text)
        self._relax_title()

    def _relax_title(self) -> None:
        """A long title may be cut, but must never make the layout wider than the view (the image
        would then be cut instead)."""
        self.title.setMinimumWidth(1)
        self.title.setMaximumWidth(16777215)

    def set_image(self, image: np.ndarray, levels=None, signed: bool = False) -> None:
        """Draw an image: uint8 RGB as it is; values (H, W) through ``levels`` (default: their
        min and max) and a gray or, when ``signed``, a blue-white-red colour table; float RGB
        with levels 0..255.  ``data`` and ``levels`` keep what was drawn."""
        first = self._shape is None or self._shape != image.shape[:2]
        self._shape = image.shape[:2]
        self.data = image
        if image.ndim == 3:
            self.levels = None if image.dtype == np.uint8 else (0.0, 255.0)
            # uint8 RGB is drawn as it is (no levels: pyqtgraph then skips its rescaling pass)
            self.item.setImage(image, autoLevels=False)
        else:
            if levels is None:
                levels = (float(image.min()), float(image.max()) or 1.0) if image.size else (0.0, 1.0)
            self.levels = (float(levels[0]), float(levels[1]))
            self.item.setImage(colorize(image, self.levels, lut(signed)), autoLevels=False)
            if self.bar is not None:
                self._set_bar(self.levels, signed)
        self.item.setLevels(self.levels if image.ndim == 3 else None)  # after any deferred levels
        if first:
            self._auto_fit = True
            self.vb.autoRange(padding=0.02)

    def _set_bar(self, levels: tuple[float, float], signed: bool) -> None:
        """The colour bar's map and range, touched only when they change: a new range makes
        pyqtgraph lay out and draw the bar's axis again, a new map recolours the whole bar."""
        if signed != self._bar_signed:
            self._bar_signed = signed
            self.bar.setColorMap(DIVERGING if signed else GRAY)
        if levels != self._bar_levels:
            self._bar_levels = levels
            self.bar.setLevels(levels)

    def _user_moved(self, *_) -> None:
        self._auto_fit = False

    def fit(self) -> None:
        """Show the whole image again (and keep fitting it when the view is resized)."""
        self._auto_fit = True
        if self._shape is not None:
            self.vb.autoRange(padding=0.02)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if getattr(self, "_auto_fit", False) and getattr(self, "_shape", None) is not None:
            self.vb.autoRange(padding=0.02)

    def mouseDoubleClickEvent(self, event) -> None:
        self.fit()  # a double click shows the whole image again
        super().mouseDoubleClickEvent(event)

    def clear_image(self) -> None:
        self.item.clear()
        self._shape = None
        self.data = self.levels = None

    @property
    def image_shape(self):
        return self._shape

    # ------------------------------------------------------------------ overlays

    def clear_overlay(self) -> None:
        for it in self._overlays:
            self.vb.removeItem(it)
        self._overlays = []

    def add_box(self, top: float, left: float, height: float, width: float, color="#ff8c00", style=Qt.SolidLine, z=10):
        """A rectangle around pixels top..top+height-1, left..left+width-1."""
        rect = QGraphicsRectItem(QRectF(left, top, width, height))
        pen = QPen(QColor(color))
        pen.setCosmetic(True)
        pen.setWidthF(2.0)
        pen.setStyle(style)
        rect.setPen(pen)
        rect.setZValue(z)
        self.vb.addItem(rect)
        self._overlays.append(rect)
        return rect

    def add_pixels(self, rows, cols, color="#ff8c00", z=11):
        """Outline single pixels (the taps of a kernel: dilation's skipped pixels stay unmarked)."""
        spots = [{"pos": (c + 0.5, r + 0.5)} for r, c in zip(rows, cols, strict=True)]
        scatter = pg.ScatterPlotItem(
            spots, symbol="s", size=0.8, pxMode=False, pen=pg.mkPen(color, width=1.5), brush=pg.mkBrush(None)
        )
        scatter.setZValue(z)
        self.vb.addItem(scatter)
        self._overlays.append(scatter)
        return scatter

    # ------------------------------------------------------------------ mouse

    def pixel_at(self, scene_pos) -> tuple[int, int] | None:
        if self._shape is None or not self.vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.vb.mapSceneToView(scene_pos)
        r, c = int(np.floor(p.y())), int(np.floor(p.x()))
        h, w = self._shape
        return (r, c) if 0 <= r < h and 0 <= c < w else None

    def scene_pos_of(self, row: int, col: int) -> QPointF:
        """The scene position of a pixel's centre (used by tests to aim the mouse)."""
        return self.vb.mapViewToScene(QPointF(col + 0.5, row + 0.5))

    def _moved(self, pos) -> None:
        hit = self.pixel_at(pos)
        if hit is None:
            if self._inside:
                self._inside = False
                self.left.emit()
            return
        self._inside = True
        self.hovered.emit(*hit)

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        hit = self.pixel_at(event.scenePos())
        if hit is not None:
            self.clicked.emit(*hit)
