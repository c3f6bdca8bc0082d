"""ImageView: one image in an aspect-locked pyqtgraph ViewBox, with hover/click in pixel
coordinates, an optional colour bar and an overlay of the patch a kernel reads.

Every view can be fitted to its window and shown at actual size (one image pixel per screen
pixel): with the small buttons that appear while the mouse is over it, a double-click (fit), its
right-click menu (which also saves and copies the image as drawn), and shortcuts while it has the
focus: Ctrl+0 fit, Ctrl+Alt+0 actual size, Ctrl+C copy. The window uses Ctrl+1..4 (workspaces)
and Alt+1..4 (display modes); these keys are not among them.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFontMetrics, QGuiApplication, QImage, QKeySequence, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QHBoxLayout, QMenu, QMessageBox, QToolButton, QWidget

from convlab.core.images import ImageError, colorize, encode_png

from ..file_dialogs import dialogs

FIT_KEYS = "Ctrl+0"
ACTUAL_SIZE_KEYS = "Ctrl+Alt+0"
VIEW_HINT = ("Double-click or Ctrl+0: fit to the window; Ctrl+Alt+0: actual size (1:1); "
             "right-click: save or copy the image")
OUTLINE_PX = 2.0  # the width of an overlay box on screen, whatever the zoom
HALO_PX = 1.5  # a contrasting border on each side of it, so it shows on any image

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


def _halo_color(color: QColor) -> QColor:
    """Black around light colours, white around dark ones."""
    lum = 0.299 * color.red() + 0.587 * color.green() + 0.114 * color.blue()
    return QColor(0, 0, 0, 200) if lum >= 110 else QColor(255, 255, 255, 220)


class OutlineBox(QGraphicsRectItem):
    """A rectangle drawn with a cosmetic pen (the same width on screen at any zoom) over a wider
    border of a contrasting colour, so a 3 x 3 patch on a scaled-down 384 x 384 image still shows."""

    def __init__(self, rect: QRectF, color: QColor, style=Qt.SolidLine):
        super().__init__(rect)
        pen = QPen(color)
        pen.setCosmetic(True)
        pen.setWidthF(OUTLINE_PX)
        pen.setStyle(style)
        pen.setJoinStyle(Qt.MiterJoin)
        self.setPen(pen)
        halo = QPen(_halo_color(color))
        halo.setCosmetic(True)
        halo.setWidthF(OUTLINE_PX + 2 * HALO_PX)
        halo.setJoinStyle(Qt.MiterJoin)
        self.halo = halo

    def _units_per_pixel(self) -> float:
        views = self.scene().views() if self.scene() is not None else []
        if not views:
            return 1.0
        t = self.deviceTransform(views[0].viewportTransform())
        scale = math.hypot(t.m11(), t.m12())
        return 1.0 / scale if scale > 0 else 1.0

    def boundingRect(self) -> QRectF:
        pad = (OUTLINE_PX / 2 + HALO_PX + 1) * self._units_per_pixel()  # cosmetic widths, in item units
        return self.rect().adjusted(-pad, -pad, pad, pad)

    def paint(self, painter, option, widget=None) -> None:
        painter.setBrush(Qt.NoBrush)
        painter.setPen(self.halo)
        painter.drawRect(self.rect())
        painter.setPen(self.pen())
        painter.drawRect(self.rect())


class _TitleLabel(pg.LabelItem):
    """A view's title, which may be cut but never makes the view's layout wider than the view:
    pyqtgraph's LabelItem makes its text's width its minimum again on every resize (updateMin), so
    a long title ("Filter 1: 382 x 382, values -933 to 834") kept the layout 240 px wide in a 200 px
    view and the colour bar's numbers were cut ("5" for 500)."""

    def updateMin(self):
        super().updateMin()
        self.setMinimumWidth(1)
        self._sizeHint[Qt.SizeHint.MinimumSize] = (1, self._sizeHint[Qt.SizeHint.MinimumSize][1])


class ImageView(pg.GraphicsLayoutWidget):
    """Draws a row-major image (H, W) or (H, W, 3); reports the pixel under the mouse."""

    hovered = Signal(int, int)  # row, column (only inside the image)
    clicked = Signal(int, int)
    left = Signal()  # the mouse left the image

    def __init__(self, title: str = "", colorbar: bool = False, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        self.ci.layout.setContentsMargins(2, 2, 2, 2)
        self._title_text = title  # the whole title (the label may show it shortened)
        self.title = _TitleLabel(title, color="#333")
        self.addItem(self.title, row=0, col=0, colspan=2)
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
        self._mouse = None  # the scene position of the mouse over the view (None: elsewhere)
        self.scene().sigMouseMoved.connect(self._moved)
        self.scene().sigMouseClicked.connect(self._clicked)
        self._overlays: list = []
        self._auto_fit = True  # fit the image on resize until the user zooms or pans
        self._one_to_one = False  # actual size, kept on resize
        self.vb.sigRangeChangedManually.connect(self._user_moved)
        self._make_actions()
        self.setToolTip("")

    # ------------------------------------------------------------------ zoom, copy, save

    def setToolTip(self, text: str) -> None:
        """The panel's words about the view, then how to zoom, save and copy it."""
        super().setToolTip(f"{text}\n{VIEW_HINT}" if text else VIEW_HINT)

    def _action(self, text: str, keys, tip: str, slot) -> QAction:
        a = QAction(text, self)
        if keys is not None:
            a.setShortcut(QKeySequence(keys))
            a.setShortcutContext(Qt.WidgetWithChildrenShortcut)  # only while this view has the focus
            tip = f"{tip} ({a.shortcut().toString(QKeySequence.NativeText)} while the view has the focus)"
        a.setToolTip(tip)
        a.setStatusTip(tip)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _make_actions(self) -> None:
        self.fit_action = self._action("Fit to Window", FIT_KEYS, "Show the whole image, as large as the view "
                                       "allows; a double-click does the same", self.fit)
        self.actual_size_action = self._action("Actual Size (1:1)", ACTUAL_SIZE_KEYS, "One image pixel per "
                                               "screen pixel (drag to move, wheel to zoom)", self.actual_size)
        self.copy_action = self._action("Copy Image", QKeySequence.Copy, "Copy the image as drawn (its colours, "
                                        "every pixel) to the clipboard", self.copy_image)
        self.save_action = self._action("Save Image...", None, "Save the image as drawn (its colours, every "
                                        "pixel) as a PNG file", self.save_image_dialog)
        self.menu = QMenu(self)
        self.menu.setToolTipsVisible(True)
        for a in (self.save_action, self.copy_action, None, self.fit_action, self.actual_size_action):
            if a is None:
                self.menu.addSeparator()
            else:
                self.menu.addAction(a)
        self.zoom_buttons = QWidget(self)
        self.zoom_buttons.setAutoFillBackground(False)
        row = QHBoxLayout(self.zoom_buttons)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        self.fit_button = self._button("Fit", self.fit_action)
        self.actual_size_button = self._button("1:1", self.actual_size_action)
        row.addWidget(self.fit_button)
        row.addWidget(self.actual_size_button)
        self.zoom_buttons.adjustSize()
        self.zoom_buttons.hide()
        self._sync_tools()

    def _button(self, text: str, action: QAction) -> QToolButton:
        b = QToolButton(self.zoom_buttons)
        b.setText(text)
        b.setToolTip(action.toolTip())
        b.setFocusPolicy(Qt.NoFocus)  # the focus stays on the view (its shortcuts keep working)
        b.setAutoRaise(False)
        b.setStyleSheet("QToolButton { background: rgba(255, 255, 255, 210); border: 1px solid #999; "
                        "border-radius: 3px; padding: 0px 4px; color: #222; }"
                        "QToolButton:hover { background: white; border-color: #555; }")
        b.clicked.connect(action.trigger)
        return b

    def _sync_tools(self) -> None:
        has = self._shape is not None
        for a in (self.fit_action, self.actual_size_action, self.copy_action, self.save_action):
            a.setEnabled(has)
        self.zoom_buttons.setVisible(has and (self.underMouse() or self.hasFocus()))
        if self.zoom_buttons.isVisible():
            self._place_buttons()

    def _place_buttons(self) -> None:
        bar = self.zoom_buttons
        bar.adjustSize()
        bar.move(max(0, self.width() - bar.width() - 4), 3)
        bar.raise_()

    def actual_size(self) -> None:
        """One image pixel per screen pixel, centred where the view looks (the image's centre when
        it is fitted); the view no longer follows resizes."""
        if self._shape is None:
            return
        box = self.vb.boundingRect()
        w, h = box.width(), box.height()
        if w <= 0 or h <= 0:
            return
        if self._auto_fit:
            cy, cx = self._shape[0] / 2, self._shape[1] / 2
        else:
            c = self.vb.viewRect().center()
            cx, cy = c.x(), c.y()
        self._auto_fit = False
        self._one_to_one = True  # kept at 1:1 when the view is resized, until the user zooms
        self.vb.setRange(QRectF(cx - w / 2, cy - h / 2, w, h), padding=0)

    def zoom(self) -> float:
        """Screen pixels per image pixel now (1.0 at actual size)."""
        px = self.vb.viewPixelSize()[0]
        return 1.0 / px if px > 0 else 1.0

    def shown_image(self) -> np.ndarray | None:
        """The image in the colours drawn, full resolution: uint8 (H, W) gray or (H, W, 3) RGB."""
        img = self.item.image
        if img is None or self._shape is None:
            return None
        if img.dtype != np.uint8:
            img = np.clip(np.rint(img), 0, 255).astype(np.uint8)  # float RGB is drawn with levels 0..255
        return np.ascontiguousarray(img)

    def copy_image(self) -> bool:
        img = self.shown_image()
        if img is None:
            return False
        h, w = img.shape[:2]
        fmt = QImage.Format_Grayscale8 if img.ndim == 2 else QImage.Format_RGB888
        q = QImage(img.data, w, h, img.strides[0], fmt).copy()  # a copy: the array may be redrawn
        QGuiApplication.clipboard().setImage(q)
        return True

    def save_image(self, path: str) -> str:
        """Write the image as drawn to a PNG file; "" or what went wrong, in words."""
        img = self.shown_image()
        if img is None:
            return "there is no image to save"
        try:
            Path(path).write_bytes(encode_png(img))
        except (OSError, ImageError) as e:
            return f"{path}: {getattr(e, 'strerror', None) or e}"
        return ""

    def default_file_name(self) -> str:
        words = re.sub(r"[^A-Za-z0-9]+", "-", self._title_text or "").strip("-").lower()
        return f"{words[:40] or 'image'}.png"

    def save_image_dialog(self) -> None:
        if self._shape is None:
            return
        path = dialogs().save_file(self, "Save image", self.default_file_name(), "PNG image (*.png)")
        if not path:
            return
        if not path.lower().endswith(".png"):
            path += ".png"
        error = self.save_image(path)
        if error:
            QMessageBox.warning(self, "Cannot save the image", error)

    def show_menu(self, pos) -> QMenu:
        """The right-click menu at a global position (shown without waiting; returned for tests)."""
        self._sync_tools()
        self.menu.popup(pos)
        return self.menu

    def contextMenuEvent(self, event) -> None:
        if event.reason() == event.Reason.Keyboard:  # the Menu key; mouse clicks open it in _clicked
            self.show_menu(self.mapToGlobal(self.rect().center()))
        event.accept()

    def enterEvent(self, event) -> None:
        super().enterEvent(event)
        self._sync_tools()

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self._sync_tools()

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self._sync_tools()

    # ------------------------------------------------------------------ drawing

    def set_title(self, text: str) -> None:
        if text == self._title_text:
            return  # live frames set the same title again and again: a new layout pass is costly
        self._title_text = text
        self._show_title()

    def _show_title(self) -> None:
        """The title, a plain one-line one ending in "..." when the view is narrower than it."""
        text = self._title_text
        if text and "<" not in text and "\n" not in text:
            room = max(self.width() - 12, 20)  # the layout's margins and the label's own
            text = QFontMetrics(self.title.item.font()).elidedText(text, Qt.ElideRight, room)
        if text != self.title.text:
            self.title.setText(text)  # (a _TitleLabel: never wider than the view)

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
            self._auto_fit, self._one_to_one = True, False
            self.vb.autoRange(padding=0.02)
            self._sync_tools()

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
        self._one_to_one = self._one_to_one and abs(self.zoom() - 1.0) < 1e-3  # a pan keeps 1:1, a zoom not

    def fit(self) -> None:
        """Show the whole image again (and keep fitting it when the view is resized)."""
        self._auto_fit = True
        self._one_to_one = False
        if self._shape is not None:
            self.vb.autoRange(padding=0.02)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if getattr(self, "closed", False):  # close() has emptied the scene: the view box is gone
            return
        if getattr(self, "_title_text", ""):
            self._show_title()
        if getattr(self, "_shape", None) is not None:
            if getattr(self, "_auto_fit", False):
                self.vb.autoRange(padding=0.02)
            elif getattr(self, "_one_to_one", False):
                self.actual_size()
        if hasattr(self, "zoom_buttons"):
            self._place_buttons()

    def mouseDoubleClickEvent(self, event) -> None:
        self.fit()  # a double click shows the whole image again
        super().mouseDoubleClickEvent(event)

    def clear_image(self) -> None:
        self.item.clear()
        self._shape = None
        self.data = self.levels = None
        self._sync_tools()

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
        rect = OutlineBox(QRectF(left, top, width, height), QColor(color), style)
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

    def pixel_under_mouse(self) -> tuple[int, int] | None:
        """The pixel the mouse is over now (after a new image or zoom too), or None."""
        return None if self._mouse is None else self.pixel_at(self._mouse)

    def leaveEvent(self, event) -> None:
        self._mouse = None
        if self._inside:
            self._inside = False
            self.left.emit()
        super().leaveEvent(event)
        self._sync_tools()

    def _moved(self, pos) -> None:
        self._mouse = QPointF(pos)
        hit = self.pixel_at(pos)
        if hit is None:
            if self._inside:
                self._inside = False
                self.left.emit()
            return
        self._inside = True
        self.hovered.emit(*hit)

    def _clicked(self, event) -> None:
        if event.button() == Qt.RightButton:  # a click, not a right-drag (which zooms)
            self.show_menu(event.screenPos().toPoint())
            return
        if event.button() != Qt.LeftButton:
            return
        hit = self.pixel_at(event.scenePos())
        if hit is not None:
            self.clicked.emit(*hit)
