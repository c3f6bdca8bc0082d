"""FeatureMapGrid: K small maps in one pyqtgraph layout, one per channel; click one to select it."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from .image_view import lut


class FeatureMapGrid(pg.GraphicsLayoutWidget):
    selected = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        self.ci.layout.setContentsMargins(2, 2, 2, 2)
        self.ci.layout.setSpacing(3)
        self._tiles: list[tuple[pg.ViewBox, pg.ImageItem, pg.LabelItem]] = []
        self._current = 0
        self._shape = None
        self.scene().sigMouseClicked.connect(self._clicked)

    def _rebuild(self, count: int, columns: int) -> None:
        self.clear()
        self._tiles = []
        for k in range(count):
            r, c = divmod(k, columns)
            label = self.addLabel("", row=2 * r, col=c, size="8pt", color="#333")
            vb = self.addViewBox(row=2 * r + 1, col=c, lockAspect=True, invertY=True, enableMenu=False)
            vb.setMouseEnabled(x=False, y=False)
            item = pg.ImageItem(axisOrder="row-major")
            vb.addItem(item)
            self._tiles.append((vb, item, label))
        self._shape = None

    def set_maps(self, maps: np.ndarray, levels, signed: bool, titles: list[str], current: int) -> None:
        """Draw K maps (K, H, W) with one shared scale; outline the current one."""
        k = maps.shape[0]
        columns = max(1, min(8, math.ceil(math.sqrt(k * 1.5))))
        if len(self._tiles) != k:
            self._rebuild(k, columns)
        table = lut(signed)
        for i, (vb, item, label) in enumerate(self._tiles):
            item.setImage(maps[i], autoLevels=False, levels=levels, lut=table)
            label.setText(titles[i] if i < len(titles) else str(i + 1))
        if self._shape != maps.shape[1:]:
            self._shape = maps.shape[1:]
            for vb, _, _ in self._tiles:
                vb.autoRange(padding=0.02)
        self.set_current(current)

    def set_current(self, index: int) -> None:
        self._current = index
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
