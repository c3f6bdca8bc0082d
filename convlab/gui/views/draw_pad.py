"""The drawing pad: draw a digit with the mouse or a pen and watch the network follow every stroke.

:class:`DrawCanvas` is the square the learner draws on (white ink on black like MNIST, or black on
white); it keeps the strokes, so Ctrl+Z takes back the last one and Delete clears.  Its ink is
rendered by the engine (``convlab.core.drawing``) at a fixed resolution and shown scaled.

:class:`DrawPad` is the Draw dock: the canvas, the brush, the colours, "centre and scale like
MNIST", Undo stroke, Clear, "Add to class...", and a small picture of exactly what is fed.  The pad
is a live source like a camera: the first stroke makes a :class:`~convlab.core.drawing.DrawingSource`
the Live panel's source (``LivePanel.open_source``, which stops a running camera or video), and
the drawing then goes down the live pipeline while it is drawn (at most ``FEED_RATE`` pictures a
second, the newest one) and once more at the end of every stroke.  The playground, the network's
maps and its prediction follow.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from convlab.core.drawing import MNIST_SIZE, DrawingSource, Stroke, centre_like_mnist, draw_dot, draw_segment
from convlab.core.drawing import render_strokes as _render
from convlab.core.prediction import prediction
from convlab.core.sources import SourceError

from .controls import DrawWhenShown, spin_box

log = logging.getLogger(__name__)

CANVAS_SIDE = 280  # px of ink: ten times MNIST's 28
DEFAULT_BRUSH = 22  # px on the canvas: about two MNIST pixels once a digit is scaled to 20 px
BRUSH_RANGE = (4, 60)
FEED_RATE = 30.0  # pictures a second at most while a stroke is drawn
PREVIEW_SIDE = 84  # px: MNIST's 28 three times
MIN_PRESSURE = 0.35  # a pen's lightest touch draws this share of the brush
COLOURS = [("White on black", False), ("Black on white", True)]
_BORDER = QColor("#9aa4b2")
_ERROR = "color: #b91c1c;"


def _gray_qimage(gray: np.ndarray) -> QImage:
    gray = np.ascontiguousarray(gray, dtype=np.uint8)
    h, w = gray.shape
    return QImage(gray.data, w, h, w, QImage.Format_Grayscale8).copy()


class DrawCanvas(QWidget):
    """The square the learner draws on; ``ink`` is bright ink on black (whatever the colours shown).

    Signals: ``inkChanged`` while a stroke is drawn (every move), ``strokeFinished`` when the pen
    is lifted, ``erased`` after Undo stroke or Clear."""

    inkChanged = Signal()
    strokeFinished = Signal()
    erased = Signal()

    def __init__(self, side: int = CANVAS_SIDE, parent=None):
        super().__init__(parent)
        self.side = int(side)
        self.brush = float(DEFAULT_BRUSH)
        self.dark_ink = False  # True: black ink on white paper (only what is shown changes)
        self.ink = np.zeros((self.side, self.side), np.uint8)
        self.strokes: list[Stroke] = []
        self._points: list[tuple[float, float]] | None = None  # the stroke being drawn
        self._widths: list[float] = []
        self._image: QImage | None = None
        self.setFocusPolicy(Qt.StrongFocus)
        self.setCursor(Qt.CrossCursor)
        self.setMinimumSize(150, 150)
        policy = QSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setToolTip("Draw here with the mouse or a pen (a pen's pressure thins the stroke). While the pad "
                        "has the keyboard focus, Ctrl+Z takes back the last stroke and Delete or Backspace "
                        "clears it; elsewhere Ctrl+Z undoes the lab's last edit.")

    # ------------------------------------------------------------------ state

    @property
    def drawing(self) -> bool:
        """A stroke is being drawn (the button or the pen is down)."""
        return self._points is not None

    @property
    def has_ink(self) -> bool:
        return bool(self.strokes) or self.drawing

    def set_dark_ink(self, on: bool) -> None:
        self.dark_ink = bool(on)
        self._changed()

    # ------------------------------------------------------------------ strokes (canvas pixels)

    def begin_stroke(self, x: float, y: float, width: float | None = None) -> None:
        if self.drawing:
            self.end_stroke()
        w = self.brush if width is None else float(width)
        self._points, self._widths = [(x, y)], [w]
        draw_dot(self.ink, x, y, w)
        self._changed()
        self.inkChanged.emit()

    def extend_stroke(self, x: float, y: float, width: float | None = None) -> None:
        if self._points is None:
            return
        w = self.brush if width is None else float(width)
        last = self._points[-1]
        if math.hypot(x - last[0], y - last[1]) < 0.5:
            return  # the pen has not moved a visible amount
        draw_segment(self.ink, last, (x, y), self._widths[-1], w, start_cap=False)
        self._points.append((x, y))
        self._widths.append(w)
        self._changed()
        self.inkChanged.emit()

    def end_stroke(self) -> None:
        if self._points is None:
            return
        self.strokes.append(Stroke(tuple(self._points), tuple(self._widths)))
        self._points, self._widths = None, []
        self.strokeFinished.emit()

    def undo_stroke(self) -> bool:
        """Take back the last stroke (the one being drawn, if any); False when there is none."""
        if self.drawing:
            self.end_stroke()
        if not self.strokes:
            return False
        self.strokes.pop()
        self.ink = _render(self.strokes, (self.side, self.side))
        self._changed()
        self.erased.emit()
        return True

    def clear(self) -> bool:
        """Remove every stroke; False when the pad was empty already."""
        if not self.has_ink:
            return False
        self._points, self._widths = None, []
        self.strokes.clear()
        self.ink = np.zeros((self.side, self.side), np.uint8)
        self._changed()
        self.erased.emit()
        return True

    def _changed(self) -> None:
        self._image = None
        self.update()

    # ------------------------------------------------------------------ geometry

    def square(self) -> QRectF:
        """Where the canvas is drawn: the largest centred square that fits the widget."""
        s = max(1.0, float(min(self.width(), self.height())) - 2)
        return QRectF((self.width() - s) / 2, (self.height() - s) / 2, s, s)

    def to_canvas(self, pos: QPointF) -> tuple[float, float]:
        sq = self.square()
        k = self.side / sq.width()
        return (pos.x() - sq.left()) * k - 0.5, (pos.y() - sq.top()) * k - 0.5

    def to_widget(self, x: float, y: float) -> QPointF:
        """A canvas pixel's centre in widget coordinates (tests use it to aim)."""
        sq = self.square()
        k = sq.width() / self.side
        return QPointF(sq.left() + (x + 0.5) * k, sq.top() + (y + 0.5) * k)

    def sizeHint(self) -> QSize:
        return QSize(self.side, self.side)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    # ------------------------------------------------------------------ painting

    def paintEvent(self, event) -> None:
        if self._image is None:
            self._image = _gray_qimage(255 - self.ink if self.dark_ink else self.ink)
        p = QPainter(self)
        p.setRenderHint(QPainter.SmoothPixmapTransform)
        sq = self.square()
        p.drawImage(sq, self._image)
        p.setPen(QPen(self.palette().highlight().color() if self.hasFocus() else _BORDER, 1))
        p.drawRect(sq.adjusted(-0.5, -0.5, 0.5, 0.5))
        p.end()

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.update()

    # ------------------------------------------------------------------ the mouse and the pen

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            self.begin_stroke(*self.to_canvas(event.position()))
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self.drawing and event.buttons() & Qt.LeftButton:
            self.extend_stroke(*self.to_canvas(event.position()))
            event.accept()
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and self.drawing:
            self.extend_stroke(*self.to_canvas(event.position()))
            self.end_stroke()
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def tabletEvent(self, event) -> None:
        """A pen: its pressure thins the stroke (MIN_PRESSURE of the brush at the lightest touch)."""
        x, y = self.to_canvas(event.position())
        pressure = float(event.pressure()) if event.pressure() > 0 else 1.0
        width = self.brush * (MIN_PRESSURE + (1 - MIN_PRESSURE) * min(1.0, pressure))
        kind = event.type()
        if kind == QEvent.TabletPress:
            self.setFocus(Qt.MouseFocusReason)
            self.begin_stroke(x, y, width)
        elif kind == QEvent.TabletMove:
            self.extend_stroke(x, y, width)
        elif kind == QEvent.TabletRelease:
            self.end_stroke()
        event.accept()  # no mouse events are made up from it

    # ------------------------------------------------------------------ keys (only while focused)

    def _own_key(self, event) -> str:
        if event.matches(QKeySequence.Undo):
            return "undo"
        if event.key() in (Qt.Key_Delete, Qt.Key_Backspace) and not event.modifiers() & ~Qt.KeypadModifier:
            return "clear"
        return ""

    def event(self, event) -> bool:
        # The window's Ctrl+Z (the lab's undo) is a shortcut; accepting the override while the pad has
        # the focus makes the key a key press of the pad instead, so it takes back a stroke.
        if event.type() == QEvent.ShortcutOverride and self._own_key(event):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        what = self._own_key(event)
        if what == "undo":
            self.undo_stroke()
        elif what == "clear":
            self.clear()
        else:
            super().keyPressEvent(event)
            return
        event.accept()


class DrawPad(QWidget):
    """The Draw dock: the canvas, its controls, and what it feeds into the lab (see the module).

    ``live_panel``: the Live panel whose source the pad becomes.  ``selected_class``: a callable
    giving the capture panel's selected class (the one "Add to class..." offers first), or None.
    ``clock``: seconds, monotonic (tests may replace it to control the throttle)."""

    message = Signal(str)  # for the status bar
    pictureFed = Signal(object)  # the RGB uint8 picture just given to the live pipeline

    def __init__(self, live_panel, parent=None, *, clock: Callable[[], float] = time.monotonic):
        super().__init__(parent)
        self.live_panel = live_panel
        self.net = live_panel.net
        self.clock = clock
        self.feed_interval = 1.0 / FEED_RATE
        self.selected_class: Callable[[], int | None] | None = None
        self.source: DrawingSource | None = None
        self.fed: np.ndarray | None = None  # the picture fed last (RGB uint8)
        self.frames_fed = 0  # pictures given to the pipeline
        self._last_feed = -math.inf
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._due)
        self._refeed = QTimer(self)  # after a model change, once its signals are done
        self._refeed.setSingleShot(True)
        self._refeed.setInterval(0)
        self._refeed.timeout.connect(self._model_changed)
        self._fed_size = (MNIST_SIZE, MNIST_SIZE)  # (width, height) of the picture the preview shows
        self._answer_draw = DrawWhenShown(self, self._draw_answer)
        self._build()
        self.canvas.inkChanged.connect(self._ink_changed)
        self.canvas.strokeFinished.connect(self._stroke_finished)
        self.canvas.erased.connect(self._erased)
        self.net.activationsChanged.connect(self._answer_draw.request)
        self.net.specChanged.connect(self._refeed.start)
        live_panel.liveChanged.connect(self._live_changed)  # bound methods: gone with the pad
        self._show_preview(self.picture())

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        self.canvas = DrawCanvas()
        self.brush_spin = spin_box(*BRUSH_RANGE, DEFAULT_BRUSH, "The brush's width on the pad (280 pixels "
                                   "across; a digit drawn large ends about ten times thinner)", suffix=" px",
                                   tracking=True)
        self.brush_spin.valueChanged.connect(lambda v: setattr(self.canvas, "brush", float(v)))
        self.colour_combo = QComboBox()
        for text, dark in COLOURS:
            self.colour_combo.addItem(text, dark)
        self.colour_combo.setToolTip("White ink on black like the MNIST digits, or black ink on white paper (the "
                                     "model's preprocessing inverts a bright picture for digit models)")
        self.colour_combo.currentIndexChanged.connect(self._colours_changed)
        self.centre_check = QCheckBox("Centre and scale like MNIST")
        self.centre_check.setChecked(True)
        self.centre_check.setToolTip("Scale the drawing's bounding box to fit 20 x 20 pixels in a 28 x 28 field "
                                     "(20/28 of the model's input) and put its centre of mass in the middle, as "
                                     "the MNIST digits were made. Off: the whole pad is fed as drawn")
        self.centre_check.toggled.connect(lambda _on: self._settings_changed())
        self.undo_button = QPushButton("Undo stroke")
        self.undo_button.setToolTip("Take back the last stroke (Ctrl+Z while the pad has the keyboard focus; "
                                    "elsewhere Ctrl+Z undoes the lab's last edit)")
        self.undo_button.clicked.connect(self.canvas.undo_stroke)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Wipe the pad (Delete or Backspace while the pad has the focus)")
        self.clear_button.clicked.connect(self.canvas.clear)
        self.add_button = QPushButton("Add to class...")
        self.add_button.setToolTip("Keep what is fed as a sample of one of your captured classes, like a webcam "
                                   "sample (make classes in the Capture panel)")
        self.class_menu = QMenu(self.add_button)
        self.class_menu.setToolTipsVisible(True)
        self.class_menu.aboutToShow.connect(self._fill_class_menu)
        self.add_button.setMenu(self.class_menu)
        for b in (self.undo_button, self.clear_button, self.add_button):
            b.setFocusPolicy(Qt.NoFocus)  # the keys stay with the pad

        self.preview = QLabel()
        self.preview.setFixedSize(PREVIEW_SIDE, PREVIEW_SIDE)
        self.preview.setAlignment(Qt.AlignCenter)
        self.preview.setStyleSheet("border: 1px solid #9aa4b2;")
        self.preview.setToolTip("Exactly the picture given to the lab (after centring): the playground filters "
                                "it, the network sees it through its own preprocessing")
        self.fed_label = QLabel()
        self.fed_label.setWordWrap(True)
        self.fed_label.setToolTip("The size of the picture fed, and the network's answer for it")
        self.status_label = QLabel("Draw a digit: the first stroke makes the pad the live source.")
        self.status_label.setWordWrap(True)
        self.status_label.setToolTip("What the pad did last")

        options = QGridLayout()
        options.setContentsMargins(0, 0, 0, 0)
        brush_label = QLabel("Brush")
        brush_label.setToolTip(self.brush_spin.toolTip())
        options.addWidget(brush_label, 0, 0)
        options.addWidget(self.brush_spin, 0, 1)
        options.addWidget(self.colour_combo, 0, 2)
        options.addWidget(self.centre_check, 1, 0, 1, 3)
        options.setColumnStretch(2, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.undo_button)
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.add_button)
        fed = QHBoxLayout()
        fed.addWidget(self.preview)
        fed.addWidget(self.fed_label, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.canvas, 1)
        lay.addLayout(options)
        lay.addLayout(buttons)
        lay.addLayout(fed)
        lay.addWidget(self.status_label)

    # ------------------------------------------------------------------ what is fed

    def field_size(self) -> tuple[int, int]:
        """(height, width) of the centred picture: the model's input, or MNIST's 28 x 28."""
        m = self.net.view_model
        shape = getattr(m, "input_shape", None)
        if shape is not None and len(shape) == 3 and shape[1] >= 8 and shape[2] >= 8:
            return int(shape[1]), int(shape[2])
        return MNIST_SIZE, MNIST_SIZE

    def picture(self) -> np.ndarray:
        """What the pad feeds now, gray uint8 in the colours shown: the drawing centred and scaled
        like MNIST (the whole pad when that is off)."""
        ink = self.canvas.ink
        if self.centre_check.isChecked():
            ink = centre_like_mnist(ink, self.field_size())
        return 255 - ink if self.canvas.dark_ink else ink.copy()

    @property
    def active(self) -> bool:
        """The pad is the Live panel's source now."""
        live = self.live_panel.live
        return self.source is not None and live is not None and live.source is self.source and live.running

    def activate(self) -> bool:
        """Make the pad the live source (a running camera or video stops) and feed the drawing."""
        if self.active:
            self._feed_now(activate=False)
            return True
        self._timer.stop()
        picture = cv2.cvtColor(self.picture(), cv2.COLOR_GRAY2RGB)
        source = DrawingSource()
        source.show(picture)
        self.source = source
        if not self.live_panel.open_source(source):  # started: the picture is on its way
            self.source = None
            return False
        self._fed(picture)
        self._say("The drawing pad is the live source now.")
        return True

    def _ink_changed(self) -> None:
        """A stroke is being drawn: feed now, or when the interval since the last picture is over
        (what the pad shows then: the newest drawing wins)."""
        self._show_preview(self.picture())
        if self._timer.isActive():
            return
        wait = self._last_feed + self.feed_interval - self.clock()
        if wait <= 0:
            self._feed(activate=True)
        else:
            self._timer.start(max(1, math.ceil(wait * 1000)))

    def _due(self) -> None:  # the interval is over: the newest drawing goes
        self._feed(activate=False)

    def _stroke_finished(self) -> None:
        self._feed_now(activate=True)

    def _erased(self) -> None:
        self._feed_now(activate=False)

    def _live_changed(self, _on: bool) -> None:
        self._answer_draw.request()

    def _feed_now(self, activate: bool) -> None:
        self._timer.stop()
        self._feed(activate)

    def _feed(self, activate: bool) -> None:
        """The current picture into the lab (when the pad is the source, or becomes it)."""
        try:
            picture = self.picture()
            self._show_preview(picture)
            if not self.active:
                if activate and self.canvas.has_ink:
                    self.activate()
                return
            rgb = cv2.cvtColor(picture, cv2.COLOR_GRAY2RGB)
            if self.source is not None:
                self.source.show(rgb)
            self._fed(rgb)
        except (SourceError, ValueError, cv2.error) as e:  # nothing the learner did should end here
            log.exception("the drawing pad could not feed its picture")
            self._say(f"the drawing could not be fed: {e}", error=True)

    def _fed(self, rgb: np.ndarray) -> None:
        self._last_feed = self.clock()
        self.fed = rgb
        self.frames_fed += 1
        self.pictureFed.emit(rgb)

    def _settings_changed(self) -> None:
        if self.active:
            self._feed_now(activate=False)
        else:
            self._show_preview(self.picture())

    def _colours_changed(self, _index: int) -> None:
        self.canvas.set_dark_ink(bool(self.colour_combo.currentData()))
        self._settings_changed()

    def _model_changed(self) -> None:
        """A new model may take another input size: feed the picture at its size."""
        if self.fed is not None and self.centre_check.isChecked() and self.fed.shape[:2] != self.field_size():
            self._settings_changed()

    # ------------------------------------------------------------------ captured classes

    def _fill_class_menu(self) -> None:
        menu = self.class_menu
        menu.clear()
        names = list(self.net.captured_classes)
        if not names:
            a = menu.addAction("No classes yet: add one in the Capture panel")
            a.setEnabled(False)
            return
        counts = self.net.captured_counts()
        chosen = self.selected_class() if self.selected_class is not None else None
        for k, name in enumerate(names):
            a = menu.addAction(f"{k + 1}. {name} ({int(counts[k])})")
            a.setToolTip(f"Add what is fed to {name!r}")
            a.triggered.connect(lambda _=False, k=k: self.add_to_class(k))
            if k == chosen:
                menu.setActiveAction(a)

    def add_to_class(self, k: int) -> str:
        """Keep the picture fed now as a sample of captured class ``k``; "" or why not."""
        if not self.canvas.has_ink:
            reason = "draw something first"
        else:
            rgb = cv2.cvtColor(self.picture(), cv2.COLOR_GRAY2RGB)
            reason = self.net.add_captured(rgb, k)
        if reason:
            self._say(f"not added: {reason}", error=True)
            return reason
        name = self.net.captured_classes[k]
        self._say(f"added the drawing to {name!r} ({int(self.net.captured_counts()[k])} samples)")
        return ""

    # ------------------------------------------------------------------ showing

    def _show_preview(self, gray: np.ndarray) -> None:
        h, w = gray.shape
        img = _gray_qimage(gray)
        side = PREVIEW_SIDE - 2
        how = Qt.FastTransformation if max(h, w) <= side else Qt.SmoothTransformation
        self.preview.setPixmap(QPixmap.fromImage(img).scaled(side, side, Qt.KeepAspectRatio, how))
        self._fed_size = (w, h)
        self._answer_draw.request()

    def _draw_answer(self) -> None:
        w, h = self._fed_size
        text = f"Fed: {w} x {h}"
        if self.active:
            p = self.net.probabilities
            data = self.net.dataset
            pred = prediction(p, data.classes if data is not None else None)
            text += ("<br>The network says <b>?</b> (no class scores)" if pred is None else
                     f"<br>The network says <b>{pred.name}</b> ({100 * pred.probability:.0f}%)")
        else:
            text += "<br>Draw to feed the lab."
        self.fed_label.setText(text)

    def _say(self, text: str, error: bool = False) -> None:
        self.status_label.setStyleSheet(_ERROR if error else "")
        self.status_label.setText(text)
        self.message.emit(text)
