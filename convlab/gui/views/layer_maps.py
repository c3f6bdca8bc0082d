"""Views of one model's insides: a layer's activations (LayerMapsView) and the conv filters
(WeightsView). Both are bound to a NetworkState: they read its arrays and turn clicks into
``select_unit`` calls; they keep no numbers of their own.

Redraws are cheap and lazy: items are reused, levels are computed once per update, and a view
that is hidden (another tab, a closed dock) only marks itself stale and redraws when shown.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from convlab.core.activations import activation_stats, follows_rectifier
from convlab.core.display import display_levels, weight_mosaic

from .controls import DrawWhenShown, SteadyLabel
from .feature_map_grid import FeatureMapGrid
from .image_view import ImageView, lut

UNIT_COLOR = "#ff8c00"
FOOTPRINT_COLOR = "#00a0a0"


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _shape_text(shape) -> str:
    return "x".join(str(int(s)) for s in shape)


# ---------------------------------------------------------------------------------- activations

class LayerMapsView(QWidget):
    """One layer's output for the current input: statistics, a grid of its channels (a bar plot
    for flat layers), and the chosen channel enlarged - click a unit there to select it."""

    channelChanged = Signal(int)

    def __init__(self, net, parent=None):
        super().__init__(parent)
        self.net = net
        self.layer = 0
        self.channel = 0
        self.stats: dict | None = None
        self._array: np.ndarray | None = None
        self._levels = ((0.0, 1.0), False)

        self.stats_label = SteadyLabel()  # new numbers with every live frame
        self.stats_label.label.setTextFormat(Qt.RichText)
        self.stats_label.setToolTip(
            "Statistics of this layer's output for the current input. 'Dead' units are exactly 0 "
            "(a ReLU turned them off for this input); channels that are 0 everywhere see nothing here.")
        self.value_label = QLabel(" ")
        self.value_label.setToolTip("The value under the mouse in the enlarged channel")

        self.grid = FeatureMapGrid()
        self.grid.setToolTip("Every channel of this layer on one shared scale (gray: 0..max; blue-white-red: "
                             "negative-0-positive). Click a channel to enlarge it.")
        self.grid.selected.connect(self.set_channel)
        self.enlarged = ImageView()
        self.enlarged.setToolTip("The chosen channel, enlarged. Click a unit to see the input pixels it sees "
                                 "(its receptive field) on the model input.")
        self.enlarged.clicked.connect(self._unit_clicked)
        self.enlarged.hovered.connect(self._hovered)
        self.enlarged.left.connect(self._show_value)
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.grid)
        split.addWidget(self.enlarged)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)

        self.bars = pg.PlotWidget(background="w")
        self.bars.setToolTip("A flat layer: one bar per unit (red positive, blue negative). Click a bar to "
                             "select that unit.")
        self.bars.setMenuEnabled(False)
        self.bars.setMouseEnabled(x=False, y=False)
        self.bars.showGrid(y=True, alpha=0.3)
        self.bars.getAxis("bottom").setLabel("unit")
        self.pos_bars = pg.BarGraphItem(x=[0], height=[0], width=0.8, brush="#d7301f", pen=None)
        self.neg_bars = pg.BarGraphItem(x=[0], height=[0], width=0.8, brush="#2c7fb8", pen=None)
        self.bars.addItem(self.pos_bars)
        self.bars.addItem(self.neg_bars)
        self.unit_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(UNIT_COLOR, width=2))
        self.unit_line.setVisible(False)
        self.bars.addItem(self.unit_line)
        self.bars.scene().sigMouseClicked.connect(self._bars_clicked)
        self._bars_n = None

        self.empty = QLabel()
        self.empty.setAlignment(Qt.AlignCenter)
        self.empty.setWordWrap(True)
        self.stack = QStackedWidget()
        for page in (split, self.bars, self.empty):
            self.stack.addWidget(page)
        self.stack.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.stats_label)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.value_label)

        self.drawing = DrawWhenShown(self, self._draw, stale=True)
        net.activationsChanged.connect(self.refresh)
        net.unitChanged.connect(self._unit_changed)

    # ------------------------------------------------------------------ choosing

    def set_layer(self, index: int, draw: bool = True) -> None:
        """Show another layer (``draw=False``: choose it only, the next refresh draws it)."""
        if index != self.layer:
            self.layer = index
            self.channel = 0
        if draw:
            self.refresh()

    def set_channel(self, channel: int) -> None:
        self.channel = int(channel)
        self.grid.set_current(self.channel)
        self._draw_enlarged()
        self._draw_unit_marks()
        self._show_value()
        self.channelChanged.emit(self.channel)

    # ------------------------------------------------------------------ drawing

    def refresh(self) -> None:
        """Draw the layer now, or when the view is seen again."""
        self.drawing.request()

    @property
    def stale(self) -> bool:
        return self.drawing.stale

    def _draw(self) -> None:
        net = self.net
        rows = net.report.rows
        acts = net.activations
        if not (0 <= self.layer < len(rows)) or self.layer + 1 >= len(acts):
            self._array, self.stats = None, None
            self.stats_label.setText("")
            if not net.report.ok:
                why = f"the model does not work yet: {net.report.error}"
            elif net.current_input is None:
                why = "no input yet: open an image or choose a validation sample"
            else:
                why = "choose a layer"
            self.empty.setText(why)
            self.stack.setCurrentWidget(self.empty)
            self._show_value()
            return
        a = acts[self.layer + 1]
        row = rows[self.layer]
        types = [r.type for r in rows]
        self._array = a
        self.stats = activation_stats(a, row.type, follows_rectifier(types, self.layer))
        self.stats_label.setText(self._stats_text(row, a))
        self._levels = display_levels(a)
        (levels, signed) = self._levels
        if a.ndim == 3:
            maps = np.nan_to_num(a.astype(np.float32, copy=False))
            k = maps.shape[0]
            if self.channel >= k:
                self.channel = 0
            self.grid.set_maps(maps, levels, signed, [str(i) for i in range(k)], self.channel)
            self.stack.setCurrentIndex(0)
            self._draw_enlarged()
        else:
            v = np.nan_to_num(a.ravel().astype(np.float64))
            x = np.arange(v.size)
            self.pos_bars.setOpts(x=x, height=np.maximum(v, 0))
            self.neg_bars.setOpts(x=x, height=np.minimum(v, 0))
            lo, hi = min(0.0, float(v.min(initial=0))), max(0.0, float(v.max(initial=0)))
            pad = 0.05 * ((hi - lo) or 1.0)
            self.bars.setYRange(lo - pad, hi + pad, padding=0)
            if self._bars_n != v.size:
                self._bars_n = v.size
                self.bars.setXRange(-0.6, v.size - 0.4, padding=0)
            self.stack.setCurrentIndex(1)
        self._draw_unit_marks()
        self._show_value()  # the value under the mouse follows the layer (and each new input)

    def _stats_text(self, row, a) -> str:
        s = self.stats
        parts = [f"<b>layer {row.index} ({row.type})</b> {_shape_text(a.shape)} = {s['size']:,} values",
                 f"min {_fmt(s['min'])}", f"max {_fmt(s['max'])}", f"mean {_fmt(s['mean'])}"]
        if s["dead"] is not None:
            dead = f"dead (exactly 0): {100 * s['dead']:.1f}%"
            if s["dead_channels"]:
                dead += f", {s['dead_channels']} of {s['channels']} channels all 0"
            parts.append(dead)
        if s["nonfinite"]:
            parts.append(f"<span style='color:#c00'>{s['nonfinite']:,} values are NaN or infinite</span>")
        return " &nbsp; ".join(parts)

    def _draw_enlarged(self) -> None:
        a = self._array
        if a is None or a.ndim != 3 or not 0 <= self.channel < a.shape[0]:
            return
        levels, signed = self._levels
        self.enlarged.set_image(np.nan_to_num(a[self.channel].astype(np.float32, copy=False)), levels, signed)
        row = self.net.report.rows[self.layer]
        self.enlarged.set_title(f"channel {self.channel} of layer {self.layer} ({row.type})")

    def _unit_changed(self) -> None:
        """A unit of this layer selected elsewhere: show its channel."""
        a, u = self._array, self.net.unit
        if (u is not None and a is not None and a.ndim == 3 and u[0] == self.layer
                and u[1] != self.channel and 0 <= u[1] < a.shape[0]):
            self.set_channel(u[1])
        else:
            self._draw_unit_marks()

    def _draw_unit_marks(self) -> None:
        """The selected unit in this layer, or the block of this layer it depends on."""
        self.enlarged.clear_overlay()
        self.unit_line.setVisible(False)
        a, u = self._array, self.net.unit
        if a is None or u is None:
            return
        ul, uc, uy, ux = u
        if a.ndim != 3:
            if ul == self.layer and 0 <= uc < a.size:
                self.unit_line.setValue(uc)
                self.unit_line.setVisible(True)
            return
        if ul == self.layer and uc == self.channel:
            self.enlarged.add_box(uy, ux, 1, 1, UNIT_COLOR)
        elif ul > self.layer:
            try:
                _, nested = self.net.unit_boxes()
            except (ValueError, IndexError):
                return
            k = ul - self.layer
            if k < len(nested):
                t, l, b, r = nested[k]
                self.enlarged.add_box(t, l, b - t, r - l, FOOTPRINT_COLOR, Qt.DashLine)

    # ------------------------------------------------------------------ mouse

    def _unit_clicked(self, y: int, x: int) -> None:
        if self._array is not None and self._array.ndim == 3:
            self.net.select_unit(self.layer, self.channel, y, x)

    def select_bar(self, index: int) -> None:
        if self._array is not None and self._array.ndim == 1 and 0 <= index < self._array.size:
            self.net.select_unit(self.layer, int(index), 0, 0)

    def _bars_clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        vb = self.bars.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        self.select_bar(int(round(vb.mapSceneToView(event.scenePos()).x())))

    def _hovered(self, y: int, x: int) -> None:
        self._show_value((y, x))

    def _show_value(self, pixel: tuple[int, int] | None = None) -> None:
        """The value under the mouse (``pixel``, else what the enlarged view has under it now) in the
        layer and channel shown now; blank when the mouse is not over the map."""
        a = self._array
        if pixel is None:
            pixel = self.enlarged.pixel_under_mouse()
        text = " "
        inside = (pixel is not None and a is not None and a.ndim == 3 and 0 <= self.channel < a.shape[0]
                  and 0 <= pixel[0] < a.shape[1] and 0 <= pixel[1] < a.shape[2])
        if inside and self.layer < len(self.net.report.rows):
            y, x = pixel
            kind = self.net.report.rows[self.layer].type
            text = (f"layer {self.layer} ({kind}), channel {self.channel}, y {y}, x {x}: "
                    f"{_fmt(float(a[self.channel, y, x]))}")
        self.value_label.setText(text)


# ---------------------------------------------------------------------------------- weights

class WeightsView(QWidget):
    """Every conv layer's filters: one column per filter, one row per input channel (the first
    few when there are many), blue - white - red on a symmetric scale."""

    MAX_CHANNELS = 8

    def __init__(self, net, parent=None):
        super().__init__(parent)
        self.net = net
        self.drawing = DrawWhenShown(self, self._draw, stale=True)
        self._blocks: dict[int, ImageView] = {}
        self._shown: dict[int, tuple[int, int]] = {}
        self._weights: dict[int, np.ndarray] = {}
        self.scales: dict[int, float] = {}

        self.global_check = QCheckBox("one scale for all layers")
        self.global_check.setToolTip(
            "Off: each layer's filters share one scale (the largest |weight| of that layer). On: one scale for "
            "the whole model - layers with small weights then look pale.")
        self.global_check.toggled.connect(self.refresh)
        self.hover_label = QLabel(" ")
        self.hover_label.setToolTip("The weight under the mouse")
        self.empty = QLabel("")
        self.empty.setWordWrap(True)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        self.body_layout.addWidget(self.empty)
        self.body_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.body)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.global_check)
        lay.addWidget(scroll, 1)
        lay.addWidget(self.hover_label)

        net.weightsChanged.connect(self.refresh)
        net.specChanged.connect(self.refresh)

    @property
    def layers(self) -> list[int]:
        """The conv layers shown, in order."""
        return list(self._blocks)

    def shown(self, layer: int) -> tuple[int, int]:
        """(filters, channels) drawn for a conv layer."""
        return self._shown[layer]

    def block(self, layer: int) -> ImageView:
        return self._blocks[layer]

    def _conv_weights(self) -> dict[int, np.ndarray]:
        m = self.net.view_model
        if m is None:
            return {}
        return {i: lay.params["weight"] for i, lay in enumerate(m.layers)
                if lay.type == "conv2d" and "weight" in lay.params}

    def refresh(self) -> None:
        """Draw the filters now, or when the view is seen again."""
        self.drawing.request()

    def _draw(self) -> None:
        weights = self._conv_weights()
        if [(i, w.shape) for i, w in weights.items()] != [(i, w.shape) for i, w in self._weights.items()]:
            self._rebuild(weights)
        self._weights = weights
        if not weights:
            self.empty.setText("no convolution layers" if self.net.view_model is not None
                               else f"the model does not work yet: {self.net.report.error}")
            self.empty.show()
            return
        self.empty.hide()
        glob = None
        if self.global_check.isChecked():
            glob = max(float(np.nanmax(np.abs(w))) if w.size else 0.0 for w in weights.values()) or 1.0
        for i, w in weights.items():
            scale = glob or (float(np.nanmax(np.abs(w))) if w.size else 0.0) or 1.0
            self.scales[i] = scale
            k, c = w.shape[:2]
            view = self._blocks[i]
            view.set_image(weight_mosaic(w, scale, lut(True), self.MAX_CHANNELS))
            more = f" (the first {self.MAX_CHANNELS} of {c} channels)" if c > self.MAX_CHANNELS else ""
            view.set_title(f"layer {i}: {k} filters x {c} input channel{'s' if c > 1 else ''}{more}, "
                           f"{w.shape[2]}x{w.shape[3]}, scale \u00b1{scale:.3g}")

    def _rebuild(self, weights: dict[int, np.ndarray]) -> None:
        for view in self._blocks.values():
            self.body_layout.removeWidget(view)
            view.deleteLater()
        self._blocks, self._shown = {}, {}
        for n, (i, w) in enumerate(weights.items()):
            k, c, fh, fw = w.shape
            cs = min(c, self.MAX_CHANNELS)
            view = ImageView()
            view.vb.setMouseEnabled(x=False, y=False)
            view.setToolTip(f"Layer {i}: each column is one filter, each row the part of it that reads one input "
                            "channel. Blue negative, white 0, red positive.")
            view.setMinimumHeight(int(np.clip(cs * (fh + 1) * 7, 80, 420)))
            view.hovered.connect(lambda r, col, i=i: self._hovered(i, r, col))
            view.left.connect(lambda: self.hover_label.setText(" "))
            self.body_layout.insertWidget(n + 1, view)
            self._blocks[i] = view
            self._shown[i] = (k, cs)

    def _hovered(self, layer: int, r: int, c: int) -> None:
        w = self._weights.get(layer)
        if w is None:
            return
        fh, fw = w.shape[2:]
        ch, dr = divmod(r, fh + 1)
        k, dc = divmod(c, fw + 1)
        if dr < fh and dc < fw and k < w.shape[0] and ch < w.shape[1]:
            self.hover_label.setText(f"layer {layer}, filter {k}, channel {ch}, row {dr}, col {dc}: "
                                     f"w = {_fmt(float(w[k, ch, dr, dc]))}")
        else:
            self.hover_label.setText(" ")
