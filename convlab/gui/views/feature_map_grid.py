"""FeatureMapGrid: K small maps in one pyqtgraph layout, one per channel; click one to select it."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal

from convlab.core.images import colorize

from .image_view import lut


def shrink_for_tile(image: np.ndarray, tile_px: tuple[float, float]) -> tuple[np.ndarray, int]:
    """Every f-th row and column of the image, f the largest whole factor that still leaves at
    least one image pixel per screen pixel of the tile (f = 1: the image itself).

    A 640 x 480 map in a 150-pixel tile is coloured from 160 x 120 values: Qt would pick one
    value per screen pixel anyway when it scales the picture down, so the tile looks the same
    for a sixteenth of the colouring work.  The sample of block (i, j) is pixel (f*i, f*j); the
    last (H mod f) rows and (W mod f) columns are left out.
    """
    h, w = image.shape[:2]
    tw, th = tile_px
    if tw < 1 or th < 1:
        return image, 1
    f = int(min(w / tw, h / th))
    if f < 2:
        return image, 1
    return image[: (h // f) * f : f, : (w // f) * f : f], f


LABEL_PX = 16  # the height of a tile's title


def best_columns(count: int, width: float, height: float, map_hw: tuple[int, int], most: int = 12) -> int:
    """The number of columns that gives ``count`` maps of shape ``map_hw`` the largest tiles in a
    ``width`` x ``height`` area (each tile has a title above it)."""
    mh, mw = max(map_hw[0], 1), max(map_hw[1], 1)
    best, best_side = 1, -1.0
    for c in range(1, max(1, min(count, most)) + 1):
        rows = math.ceil(count / c)
        scale = min(width / c / mw, max(height / rows - LABEL_PX, 1.0) / mh)
        if scale > best_side * (1 + 1e-9):
            best, best_side = c, scale
    return best


class FeatureMapGrid(pg.GraphicsLayoutWidget):
    """Maps larger than their tile on screen are drawn from every f-th pixel (shrink_for_tile),
    placed so that the tile's coordinates stay the map's pixel coordinates."""

    selected = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        self.ci.layout.setContentsMargins(2, 2, 2, 2)
        self.ci.layout.setSpacing(3)
        self._tiles: list[tuple[pg.ViewBox, pg.ImageItem, pg.LabelItem]] = []
        self._current = 0
        self._bordered: int | None = None  # the tile whose border is drawn orange now
        self._shape = None
        self._shown: tuple | None = None  # (maps, levels, table) last drawn, redrawn on resize
        self._rects: list[tuple[int, int, int, int] | None] = []  # per tile: span and image size last set
        self._columns = 0
        self.tile_data: list[np.ndarray] = []  # per tile: the values it shows (maybe every f-th)
        self.scene().sigMouseClicked.connect(self._clicked)

    def _rebuild(self, count: int, columns: int) -> None:
        self.clear()
        self._columns = columns
        self._tiles = []
        for k in range(count):
            r, c = divmod(k, columns)
            label = self.addLabel("", row=2 * r, col=c, size="8pt", color="#333")
            vb = self.addViewBox(row=2 * r + 1, col=c, lockAspect=True, invertY=True, enableMenu=False)
            vb.setMouseEnabled(x=False, y=False)
            item = pg.ImageItem(axisOrder="row-major")
            vb.addItem(item)
            if k == 0:  # the tiles share one size
                vb.sigResized.connect(self._tiles_resized)
            self._tiles.append((vb, item, label))
        self._rects = [None] * count
        self.tile_data = []
        self._shape = self._bordered = None

    def set_maps(self, maps: np.ndarray, levels, signed: bool, titles: list[str], current: int) -> None:
        """Draw K maps (K, H, W) with one shared scale; outline the current one."""
        k = maps.shape[0]
        columns = self._columns_for(k, maps.shape[1:])
        if len(self._tiles) != k or columns != self._columns:
            self._rebuild(k, columns)
        table = lut(signed)
        self._shown = (maps, levels, table)
        self._draw_images()
        for i, (_vb, _item, label) in enumerate(self._tiles):
            title = titles[i] if i < len(titles) else str(i + 1)
            if title != label.text:  # (a label's layout pass costs more than drawing its map)
                label.setText(title)
        if self._shape != maps.shape[1:]:
            self._shape = maps.shape[1:]
            for vb, _, _ in self._tiles:
                vb.autoRange(padding=0.02)
        self.set_current(current)

    def _columns_for(self, count: int, map_hw) -> int:
        if self.width() < 40 or self.height() < 40:  # not laid out yet: a square-ish grid
            return max(1, min(8, math.ceil(math.sqrt(count * 1.5))))
        return best_columns(count, self.width() - 6, self.height() - 6, map_hw)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if getattr(self, "_shown", None) is not None and self._tiles:  # (pyqtgraph resizes during __init__)
            maps = self._shown[0]
            if self._columns_for(len(self._tiles), maps.shape[1:]) != self._columns:
                maps, levels, table = self._shown
                titles = [label.text for _, _, label in self._tiles]
                self.set_maps(maps, levels, table is lut(True), titles, self._current)

    def _draw_images(self) -> None:
        maps, levels, table = self._shown
        ratio = self.devicePixelRatioF()
        self.tile_data = []
        for i, (vb, item, _) in enumerate(self._tiles):
            image, f = shrink_for_tile(maps[i], (vb.width() * ratio, vb.height() * ratio))
            self.tile_data.append(image)
            item.setImage(colorize(image, levels, table), autoLevels=False)
            span = (image.shape[0] * f, image.shape[1] * f)
            # the item's scale is span / image size: a new factor with the same span (a grid
            # drawn behind a tab at f = 1, then shown at f = 2) needs it set again too
            key = (span[0], span[1], image.shape[0], image.shape[1])
            if self._rects[i] != key:
                self._rects[i] = key
                item.setRect(QRectF(0, 0, span[1], span[0]))

    def _tiles_resized(self) -> None:
        if self._shown is not None and len(self._shown[0]) == len(self._tiles):
            self._draw_images()  # bigger tiles may show more of each map's detail

    def set_current(self, index: int) -> None:
        self._current = index
        if index == self._bordered:
            return
        self._bordered = index
        for i, (vb, _, _) in enumerate(self._tiles):
            vb.setBorder(pg.mkPen("#ff8c00", width=3) if i == index else pg.mkPen("#bbb", width=1))

    @property
    def count(self) -> int:
        return len(self._tiles)

    def tile_center(self, index: int):
        """Scene position of a tile's centre (tests click there)."""
        return self._tiles[index][0].sceneBoundingRect().center()

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        for i, (vb, _, _) in enumerate(self._tiles):
            if vb.sceneBoundingRect().contains(event.scenePos()):
                self.selected.emit(i)
                return
