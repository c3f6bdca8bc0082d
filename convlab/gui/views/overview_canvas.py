"""OverviewCanvas: the network overview's picture - one column per stage, painted with one QPainter.

The canvas holds its columns (``OverviewColumn``, made once per spec), each with the picture of its
latest values (one QImage per column: the shown maps stacked, or a flat layer's cells), and paints
them at the places ``overview_layout.plan_overview`` gives for its size. A new frame replaces the
pictures and repaints; nothing is rebuilt. Outlines (``Mark``) and the hovered unit are drawn over
the tiles in map coordinates. The canvas computes no numbers: it is given colours and texts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from convlab.core.images import colorize

from .image_view import lut
from .overview_layout import COLUMN_GAP, ColumnPlace, ColumnSpec, OverviewPlan, cell_at, cell_rect, plan_overview

BACKGROUND = QColor("#ffffff")
TILE_BORDER = QColor("#b8b8b8")
TITLE_COLOR = QColor("#222222")
SHAPE_COLOR = QColor("#666666")
BAR_COLOR = QColor("#6b8fc7")
TOP_BAR_COLOR = QColor("#ff8c00")
HOVER_COLOR = QColor("#000000")
MIN_HEIGHT = 170  # px: below this the canvas scrolls


@dataclass
class OverviewColumn:
    """One stage of the network: its kind, the layer it shows (None for input and probabilities),
    its title lines, and the picture of its latest values."""

    kind: str  # "input" | "maps" | "cells" | "probs"
    layer: int | None
    title: tuple[str, str]
    count: int  # maps, values or classes
    map_hw: tuple[int, int] = (1, 1)
    image_hw: tuple[int, int] = (1, 1)  # one map in the picture: map_hw, or every f-th pixel of big maps
    tip: str = ""  # what the column is (its tooltip)
    image: QImage | None = None
    pixels: np.ndarray | None = None  # the colours drawn (gray or RGB uint8, as colorize gives them)
    native: np.ndarray | None = None  # the same as 32-bit pixels: the buffer behind ``image`` (not copied)
    probabilities: np.ndarray | None = None
    names: list[str] = field(default_factory=list)
    predicted: int = -1
    place: ColumnPlace | None = None


@dataclass(frozen=True)
class Hit:
    """What lies under a point: a unit of a layer, an input pixel, a class row or a column's title."""

    kind: str  # "unit" | "input" | "class" | "title"
    column: int
    layer: int | None = None
    channel: int = 0
    y: int = 0
    x: int = 0


@dataclass(frozen=True)
class Mark:
    """An outline in map coordinates: rows top..bottom-1, columns left..right-1 of the tiles
    ``tiles`` of column ``column`` (None: every tile shown), or flat cell ``cell``."""

    column: int
    box: tuple[int, int, int, int] = (0, 0, 1, 1)
    tiles: tuple[int, ...] | None = None
    cell: int | None = None
    color: str = "#ff8c00"
    dashed: bool = False
    width: float = 2.0
    frame: bool = False  # also draw the tile's border in this colour


@dataclass(frozen=True)
class Link:
    """Lines from a unit's box on one tile to a block on tiles of an earlier column (the way CNN
    Explainer joins a unit to the patches it reads): boxes in map coordinates."""

    column: int
    tile: int  # (a flat cell: its index)
    box: tuple[int, int, int, int]
    to_column: int
    to_tiles: tuple[int, ...] | None  # None: every tile shown
    to_box: tuple[int, int, int, int]
    color: str = "#00a0a0"


def _native(pixels: np.ndarray) -> np.ndarray:
    """Gray (H, W) or RGB (H, W, 3) uint8 as the raster painter's own 32-bit pixels (B, G, R, 255 in
    memory: QImage.Format_RGB32), so a paint scales them without converting the picture first (it
    would, for every tile drawn from it)."""
    code = cv2.COLOR_GRAY2BGRA if pixels.ndim == 2 else cv2.COLOR_RGB2BGRA
    return cv2.cvtColor(np.ascontiguousarray(pixels), code)


def _qimage(bgra: np.ndarray) -> QImage:
    h, w = bgra.shape[:2]
    return QImage(bgra.data, w, h, bgra.strides[0], QImage.Format_RGB32)


class OverviewCanvas(QWidget):
    clicked = Signal(object)  # Hit
    hovered = Signal(object)  # Hit or None (the mouse left the units)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumHeight(MIN_HEIGHT)
        self.columns: list[OverviewColumn] = []
        self.plan: OverviewPlan | None = None
        self.marks: list[Mark] = []
        self.links: list[Link] = []
        self.hover: Hit | None = None
        self.message = ""
        self.most_maps = 16
        self.tip_for = lambda hit: ""  # the tooltip of what lies under the mouse (set by the overview)
        self.compact = False
        self._use_fonts(False)

    def _use_fonts(self, compact: bool) -> None:
        """The texts' fonts: small, the titles' first line bold; ``compact`` (for a narrow window) a
        point smaller and the titles not bold, so that many columns still fit."""
        self.compact = compact
        self.small = QFont(self.font())
        size = self.font().pointSizeF()
        self.small.setPointSizeF(max(7.0, size * 0.78) if compact else max(7.5, size * 0.85))
        self.bold = QFont(self.small)
        self.bold.setBold(not compact)
        self.metrics = QFontMetricsF(self.small)
        self.bold_metrics = QFontMetricsF(self.bold)
        self.line = math.ceil(self.metrics.height())

    # ------------------------------------------------------------------ columns and layout

    def set_columns(self, columns: list[OverviewColumn]) -> None:
        self.columns = columns
        self.hover = None
        self.relayout()

    def set_message(self, text: str) -> None:
        if text != self.message:
            self.message = text
            self.update()

    def _band(self, p: ColumnPlace, y: float) -> QRectF:
        """A line of text over a column, reaching half-way into the gaps beside it."""
        return QRectF(p.x - COLUMN_GAP / 2, y, p.width + COLUMN_GAP, self.line)

    def more_text(self, column: OverviewColumn) -> str:
        place = column.place
        if place is None or place.shown >= column.count:
            return ""
        return f"+{column.count - place.shown} more"

    def _spec(self, c: OverviewColumn) -> ColumnSpec:
        title = max(self.bold_metrics.horizontalAdvance(c.title[0]), self.metrics.horizontalAdvance(c.title[1]))
        more = self.metrics.horizontalAdvance(f"+{c.count} more")
        names = max((self.metrics.horizontalAdvance(n) for n in c.names), default=0.0)
        spill = COLUMN_GAP - 2  # a title may reach into the gaps beside its column, half of each
        return ColumnSpec(c.kind, c.count, c.map_hw, math.ceil(title) + 2 - spill, math.ceil(more) + 2 - spill,
                          min(names, 90.0),
                          self.metrics.horizontalAdvance("100%"))

    def relayout(self) -> None:
        """Place the columns for the canvas's size (on a new spec, a resize or a new map count)."""
        if not self.columns:
            self.plan = None
            self.setMinimumWidth(0)
            self.update()
            return
        # the room is what the scroll area shows (the canvas itself may be wider, scrolled)
        room = max(self.parentWidget().width() if self.parentWidget() is not None else self.width(), 1)
        for compact in (False, True):
            self._use_fonts(compact)
            specs = [self._spec(c) for c in self.columns]
            plan = plan_overview(specs, room, self.height(), 2 * self.line + 6, self.line + 2, self.most_maps)
            wider = plan.width_needed > room + 0.5
            if not wider:
                break
        if wider:  # even the smallest tiles do not fit: lay out at the width needed, and scroll
            plan = plan_overview(specs, math.ceil(plan.width_needed), self.height(), 2 * self.line + 6,
                                 self.line + 2, self.most_maps)
        self.plan = plan
        for column, place in zip(self.columns, plan.places, strict=True):
            column.place = place
        self.setMinimumWidth(math.ceil(plan.width_needed) if wider else 0)
        self.update()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        old = None if self.plan is None else [(p.shown, p.grid) for p in self.plan.places]
        self.relayout()
        new = None if self.plan is None else [(p.shown, p.grid) for p in self.plan.places]
        if old != new:
            self.layoutChanged()

    def layoutChanged(self) -> None:
        """Hook: the cells' grid or the shown counts changed (the overview recolours)."""

    # ------------------------------------------------------------------ pictures

    def step(self, column: OverviewColumn) -> int:
        """Every how many pixels a column's maps are drawn: the largest whole f that still leaves a map
        pixel per screen pixel of its tile (1 for maps smaller than their tiles). Qt would pick one
        value per screen pixel anyway; this spares the colouring of the rest."""
        place = column.place
        if place is None or not place.tiles:
            return 1
        _, _, tw, th = place.tiles[0]
        ratio = self.devicePixelRatioF()
        mh, mw = column.map_hw
        return max(1, int(min(mh / max(th * ratio, 1.0), mw / max(tw * ratio, 1.0))))

    def set_input(self, column: OverviewColumn, picture: np.ndarray, levels) -> None:
        """The input: RGB uint8 drawn as it is, or gray values through ``levels`` (maybe every f-th pixel)."""
        pixels = picture if picture.dtype == np.uint8 else colorize(picture, levels, lut(False))
        column.image_hw = pixels.shape[:2]
        self._set_pixels(column, np.ascontiguousarray(pixels))

    def set_maps(self, column: OverviewColumn, maps: np.ndarray, levels, signed: bool) -> None:
        """The first maps (n, H, W) of a layer (maybe every f-th pixel), coloured with the layer's levels,
        as one tall picture."""
        n, h, w = maps.shape
        column.image_hw = (h, w)
        self._set_pixels(column, colorize(np.ascontiguousarray(maps).reshape(n * h, w), levels, lut(signed)))

    def set_cells(self, column: OverviewColumn, values: np.ndarray, levels, signed: bool) -> None:
        """A flat layer's values in the grid of its place, filled downwards column by column."""
        place = column.place
        rows, cols = place.grid if place is not None else (1, 1)
        n = min(values.size, rows * cols, place.shown if place is not None else values.size)
        padded = np.zeros(rows * cols, np.float32)
        padded[:n] = values[:n]
        colours = colorize(padded.reshape(cols, rows).T.copy(), levels, lut(signed))
        empty = np.zeros(rows * cols, bool)
        empty[n:] = True
        colours[empty.reshape(cols, rows).T] = 255
        self._set_pixels(column, np.ascontiguousarray(colours))

    def set_probabilities(self, column: OverviewColumn, p: np.ndarray, names: list[str], predicted: int) -> None:
        column.probabilities, column.names, column.predicted = p, names, predicted

    def _set_pixels(self, column: OverviewColumn, pixels: np.ndarray) -> None:
        column.pixels = pixels
        column.native = _native(pixels)
        column.image = _qimage(column.native)

    def set_marks(self, marks: list[Mark], links: list[Link] | None = None) -> None:
        self.marks = marks
        self.links = links or []
        self.update()

    # ------------------------------------------------------------------ geometry

    def tile_rect(self, column: int, tile: int) -> QRectF:
        x, y, w, h = self.columns[column].place.tiles[tile]
        return QRectF(round(x), round(y), max(round(x + w) - round(x), 1), max(round(y + h) - round(y), 1))

    def _map_rect(self, column: int, tile: int, box) -> QRectF:
        r = self.tile_rect(column, tile)
        mh, mw = self.columns[column].map_hw
        t, l, b, rr = box
        sx, sy = r.width() / mw, r.height() / mh
        return QRectF(r.left() + l * sx, r.top() + t * sy, (rr - l) * sx, (b - t) * sy)

    def unit_point(self, column: int, channel: int, y: int = 0, x: int = 0) -> QPointF:
        """The centre of a unit (or a flat cell, or a class row) on the canvas (tests aim here)."""
        c = self.columns[column]
        if c.kind == "cells":
            cx, cy, w, h = cell_rect(c.place, channel)
            return QPointF(cx + w / 2, cy + h / 2)
        if c.kind == "probs":
            return QPointF(c.place.x + c.place.width / 2, c.place.origin[1] + (channel + 0.5) * c.place.cell)
        return self._map_rect(column, 0 if c.kind == "input" else channel, (y, x, y + 1, x + 1)).center()

    def hit_at(self, pos: QPointF) -> Hit | None:
        px, py = pos.x(), pos.y()
        for i, c in enumerate(self.columns):
            p = c.place
            if p is None or not p.x <= px < p.x + p.width:
                continue
            if py < (self.plan.body_top if self.plan else 0):
                return Hit("title", i, c.layer)
            if c.kind in ("input", "maps"):
                for k in range(p.shown):
                    r = self.tile_rect(i, k)
                    if r.contains(pos):
                        mh, mw = c.map_hw
                        y = min(int((py - r.top()) / r.height() * mh), mh - 1)
                        x = min(int((px - r.left()) / r.width() * mw), mw - 1)
                        if c.kind == "input":
                            return Hit("input", i, None, 0, y, x)
                        return Hit("unit", i, c.layer, k, y, x)
            elif c.kind == "cells":
                index = cell_at(p, px, py)
                if index is not None:
                    return Hit("unit", i, c.layer, index)
            elif p.cell > 0:
                row = math.floor((py - p.origin[1]) / p.cell)
                if 0 <= row < p.shown:
                    return Hit("class", i, None, row)
            return None
        return None

    # ------------------------------------------------------------------ mouse

    def mouseMoveEvent(self, event) -> None:
        hit = self.hit_at(event.position())
        hit = hit if hit is not None and hit.kind != "title" else None
        if hit != self.hover:
            self.hover = hit
            self.update()
            self.hovered.emit(hit)

    def leaveEvent(self, event) -> None:
        super().leaveEvent(event)
        if self.hover is not None:
            self.hover = None
            self.update()
            self.hovered.emit(None)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            hit = self.hit_at(event.position())
            if hit is not None and hit.kind != "title":
                self.clicked.emit(hit)

    def event(self, event) -> bool:
        if event.type() == event.Type.ToolTip:
            hit = self.hit_at(QPointF(event.pos()))
            text = self.tip_for(hit) if hit is not None else ""
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    # ------------------------------------------------------------------ painting

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        painter.setFont(self.small)
        if self.message or self.plan is None:
            painter.setPen(TITLE_COLOR)
            painter.drawText(QRectF(self.rect()).adjusted(20, 20, -20, -20), Qt.AlignCenter | Qt.TextWordWrap,
                             self.message)
            painter.end()
            return
        for i, c in enumerate(self.columns):
            self._paint_column(painter, i, c)
        for link in self.links:
            self._paint_link(painter, link)
        for mark in self.marks:
            self._paint_mark(painter, mark)
        if self.hover is not None:
            self._paint_hover(painter, self.hover)
        painter.end()

    def _paint_column(self, painter: QPainter, i: int, c: OverviewColumn) -> None:
        p = c.place
        top = 4.0
        painter.setFont(self.bold)
        painter.setPen(TITLE_COLOR)
        painter.drawText(self._band(p, top), Qt.AlignHCenter | Qt.AlignTop, c.title[0])
        painter.setFont(self.small)
        painter.setPen(SHAPE_COLOR)
        painter.drawText(self._band(p, top + self.line), Qt.AlignHCenter | Qt.AlignTop, c.title[1])
        if c.kind in ("input", "maps") and c.image is not None:
            mh, mw = c.image_hw
            painter.setPen(QPen(TILE_BORDER, 1))
            for k in range(min(p.shown, c.image.height() // max(mh, 1))):
                r = self.tile_rect(i, k)
                painter.drawImage(r, c.image, QRectF(0, k * mh, mw, mh))
                painter.drawRect(r.adjusted(-0.5, -0.5, 0.5, 0.5))
        elif c.kind == "cells" and c.image is not None:
            rows, cols = p.grid
            painter.drawImage(QRectF(p.origin[0], p.origin[1], cols * p.cell, rows * p.cell), c.image)
            painter.setPen(QPen(TILE_BORDER, 1))
            painter.drawRect(QRectF(p.origin[0] - 0.5, p.origin[1] - 0.5, cols * p.cell + 1, rows * p.cell + 1))
        elif c.kind == "probs" and c.probabilities is not None:
            self._paint_probabilities(painter, c)
        more = self.more_text(c)
        if more:
            painter.setPen(SHAPE_COLOR)
            painter.drawText(self._band(p, p.content_bottom + 2), Qt.AlignHCenter | Qt.AlignTop, more)

    def _paint_probabilities(self, painter: QPainter, c: OverviewColumn) -> None:
        p = c.place
        spec = self._spec(c)
        x0, y0 = p.origin
        name_w, pct_w = spec.name_width, spec.percent_width
        for k in range(min(p.shown, len(c.probabilities))):
            y = y0 + k * p.cell
            v = float(c.probabilities[k])
            top = k == c.predicted
            painter.setFont(self.bold if top else self.small)
            painter.setPen(TITLE_COLOR)
            name = c.names[k] if k < len(c.names) else str(k)
            painter.drawText(QRectF(x0, y, name_w, p.cell), Qt.AlignRight | Qt.AlignVCenter,
                             self.metrics.elidedText(name, Qt.ElideRight, name_w))
            bx = x0 + name_w + 4
            painter.fillRect(QRectF(bx, y + 2, p.bar, p.cell - 4), QColor("#eeeeee"))
            if np.isfinite(v) and v > 0:
                painter.fillRect(QRectF(bx, y + 2, p.bar * min(v, 1.0), p.cell - 4),
                                 TOP_BAR_COLOR if top else BAR_COLOR)
            painter.drawText(QRectF(bx + p.bar + 4, y, pct_w + 4, p.cell), Qt.AlignLeft | Qt.AlignVCenter,
                             f"{100 * v:.0f}%" if np.isfinite(v) else "?")
        painter.setFont(self.small)

    def _paint_mark(self, painter: QPainter, mark: Mark) -> None:
        if not 0 <= mark.column < len(self.columns):
            return
        c = self.columns[mark.column]
        p = c.place
        if p is None:
            return
        pen = QPen(QColor(mark.color), mark.width)
        pen.setStyle(Qt.DashLine if mark.dashed else Qt.SolidLine)
        pen.setJoinStyle(Qt.MiterJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.NoBrush)
        if mark.cell is not None:
            if c.kind == "cells" and 0 <= mark.cell < p.shown:
                painter.drawRect(QRectF(*cell_rect(p, mark.cell)))
            elif c.kind == "probs" and 0 <= mark.cell < p.shown:
                painter.drawRect(QRectF(p.x, p.origin[1] + mark.cell * p.cell, p.width, p.cell))
            return
        if c.kind not in ("input", "maps") or c.image is None:
            return
        tiles = range(p.shown) if mark.tiles is None else [t for t in mark.tiles if 0 <= t < p.shown]
        for k in tiles:
            if mark.frame:
                painter.drawRect(self.tile_rect(mark.column, k).adjusted(-1, -1, 1, 1))
            painter.drawRect(self._map_rect(mark.column, k, mark.box))

    def _shown_rect(self, column: int, tile: int, box) -> QRectF | None:
        """A box on a tile (or a flat cell) on screen, None when that tile or cell is not shown."""
        c = self.columns[column] if 0 <= column < len(self.columns) else None
        if c is None or c.place is None or not 0 <= tile < c.place.shown:
            return None
        if c.kind == "cells":
            return QRectF(*cell_rect(c.place, tile))
        return self._map_rect(column, tile, box) if c.kind in ("input", "maps") else None

    def _paint_link(self, painter: QPainter, link: Link) -> None:
        start = self._shown_rect(link.column, link.tile, link.box)
        target = self.columns[link.to_column] if 0 <= link.to_column < len(self.columns) else None
        if start is None or target is None or target.place is None:
            return
        colour = QColor(link.color)
        colour.setAlpha(110)
        painter.setPen(QPen(colour, 1))
        painter.setRenderHint(QPainter.Antialiasing, True)
        a = QPointF(start.left(), start.center().y())
        tiles = range(target.place.shown) if link.to_tiles is None else link.to_tiles
        for k in tiles:
            end = self._shown_rect(link.to_column, k, link.to_box)
            if end is not None:
                painter.drawLine(a, QPointF(end.right(), end.center().y()))
        painter.setRenderHint(QPainter.Antialiasing, False)

    def _paint_hover(self, painter: QPainter, hit: Hit) -> None:
        c = self.columns[hit.column] if 0 <= hit.column < len(self.columns) else None
        if c is None or c.place is None:
            return
        painter.setPen(QPen(HOVER_COLOR, 1))
        painter.setBrush(Qt.NoBrush)
        if c.kind == "cells":
            painter.drawRect(QRectF(*cell_rect(c.place, hit.channel)))
        elif c.kind in ("input", "maps"):
            painter.drawRect(self._map_rect(hit.column, 0 if c.kind == "input" else hit.channel,
                                            (hit.y, hit.x, hit.y + 1, hit.x + 1)))
