"""NetworkOverview: the whole network at a glance, in the spirit of CNN Explainer, for any model the
layer panel builds.

The input, then one column per layer with its feature maps (small tiles, one colour scale per layer
from ``display_levels``) or, for flat layers, a grid of cells, then the class probabilities. Click a
unit to select it (``net.select_unit``): its receptive field is outlined on the input and, at every
earlier layer, the block of units that feed it (``unit_boxes``; only the channels that feed it, from
``feeding_channels``). Hover a unit: the line below says how its value is made (``explain_unit``),
and keeps saying it as live frames or training snapshots arrive.

Every number comes from the NetworkState and the engine. The columns are made once per spec; a new
frame only recolours their pictures (``DrawWhenShown``: not while the overview is out of sight).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from convlab.core.display import display_levels, input_picture
from convlab.core.number_text import format_value
from convlab.core.prediction import prediction
from convlab.core.unit_explain import explain_unit, feeding_channels

from .controls import DrawWhenShown, SteadyLabel, spin_box
from .overview_canvas import Hit, Link, Mark, OverviewCanvas, OverviewColumn

UNIT_COLOR = "#ff8c00"  # the selected unit, and its receptive field on the input
CLIP_COLOR = "#2ca02c"  # the part of the field inside the image
FEED_COLOR = "#00a0a0"  # the units of earlier layers that feed it
HINT = "Hover a unit to see how its value is made; click one to see what feeds it."


def _shape_text(shape) -> str:
    return "x".join(str(int(s)) for s in shape)


def _span(a: int, b: int) -> str:
    return f"{a}..{b - 1}"


class NetworkOverview(QWidget):
    def __init__(self, net, parent=None):
        super().__init__(parent)
        self.net = net
        self.rebuilds = 0  # how often the columns were made (once per spec): tests check frames do not
        self.draws = 0
        self._hover: Hit | None = None

        self.maps_spin = spin_box(2, 64, 16, "Show at most this many feature maps per layer (wide layers then "
                                  "say how many more they have). Fewer maps get bigger tiles.", tracking=True)
        self.maps_spin.setPrefix("up to ")
        self.maps_spin.setSuffix(" maps a layer")
        self.maps_spin.valueChanged.connect(self._most_changed)
        self.clear_button = QPushButton("Clear unit")
        self.clear_button.setToolTip("Forget the selected unit and its outlines")
        self.clear_button.clicked.connect(net.clear_unit)
        self.legend = QLabel(
            f"<span style='color:{UNIT_COLOR}'>&#9632;</span> selected unit and its receptive field &nbsp; "
            f"<span style='color:{FEED_COLOR}'>&#9632;</span> the units that feed it")
        self.legend.setToolTip(
            "Each column is one layer's output for the current input, on the layer's own colour scale (gray 0 to "
            "max, or blue-white-red around 0 when it has negative values). Orange: the selected unit and, on "
            "the input, its receptive field (dashed where it reaches into the padding, green: its part inside "
            "the image). Teal: at every earlier layer, the block of units it depends on - only in the channels "
            "that feed it (pooling and activations keep to one channel, a convolution reads them all).")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.legend, 1)
        top.addWidget(self.maps_spin)
        top.addWidget(self.clear_button)

        self.canvas = OverviewCanvas()
        self.canvas.setToolTip("")  # tooltips come per column and unit (tip_for)
        self.canvas.tip_for = self._tip_for
        self.canvas.clicked.connect(self._clicked)
        self.canvas.hovered.connect(self._hovered)
        self.canvas.layoutChanged = self._layout_changed
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.NoFrame)
        self.scroll.setWidget(self.canvas)
        self.hover_label = SteadyLabel(HINT)
        self.hover_label.setToolTip("How the value under the mouse is made from the layer before it (the selected "
                                    "unit's when the mouse is elsewhere); it follows every new frame")
        self.unit_label = SteadyLabel(" ")
        self.unit_label.setToolTip("The selected unit and the input pixels it sees (its receptive field)")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(self.scroll, 1)
        lay.addWidget(self.hover_label)
        lay.addWidget(self.unit_label)

        self.drawing = DrawWhenShown(self, self._draw, stale=True)
        net.specChanged.connect(self._rebuild)
        net.activationsChanged.connect(self.refresh)
        net.unitChanged.connect(self._unit_changed)
        net.datasetChanged.connect(self.refresh)
        self._rebuild()
        self.refresh()

    # ------------------------------------------------------------------ the columns (once per spec)

    def _rebuild(self) -> None:
        self.rebuilds += 1
        net = self.net
        columns: list[OverviewColumn] = []
        vm = net.view_model
        if net.report.ok and vm is not None and len(vm.input_shape) == 3:
            c, h, w = vm.input_shape
            columns.append(OverviewColumn("input", None, ("input", _shape_text(vm.input_shape)), 1, (h, w),
                                          "The model input after preprocessing; the selected unit's receptive "
                                          "field is drawn on it"))
            for r in net.report.rows:
                shape = tuple(r.output_shape)
                kind = "maps" if len(shape) == 3 else "cells"
                hw = (shape[1], shape[2]) if kind == "maps" else (1, 1)
                columns.append(OverviewColumn(kind, r.index, (f"{r.index} {r.type}", _shape_text(shape)), shape[0],
                                              hw))
            out = tuple(vm.output_shape)
            if len(out) == 1:
                columns.append(OverviewColumn("probs", None, ("prediction", f"{out[0]} classes"), out[0],
                                              tip="The class probabilities (softmax of the last layer's scores)"))
        self.canvas.set_columns(columns)
        self._hover = None
        self._unit_changed()

    def column_of(self, layer: int) -> int | None:
        """The canvas column showing layer ``layer`` (None when it is not shown)."""
        for i, c in enumerate(self.canvas.columns):
            if c.layer == layer:
                return i
        return None

    @property
    def columns(self) -> list[OverviewColumn]:
        return self.canvas.columns

    def _most_changed(self, value: int) -> None:
        self.canvas.most_maps = int(value)
        self.canvas.relayout()
        self._layout_changed()

    def _layout_changed(self) -> None:
        self.refresh()
        self._unit_changed()

    # ------------------------------------------------------------------ drawing (per frame)

    def refresh(self) -> None:
        """Draw the newest activations now, or when the overview is seen again."""
        self.drawing.request()

    @property
    def stale(self) -> bool:
        return self.drawing.stale

    def _reason(self) -> str:
        """Why there is nothing to draw ("" when there is)."""
        net = self.net
        if not net.report.ok:
            return f"the model does not work yet: {net.report.error}"
        vm = net.view_model
        if vm is None:
            return "the model does not work yet"
        if len(vm.input_shape) != 3:
            return "the model takes a flat input, not an image: there are no maps to show"
        if net.current_input is None:
            if net.input_source == "sample":
                if net.val is None:
                    return "no validation set yet: load a dataset (Training)"
                return (f"the samples are {_shape_text(net.val.x.shape[1:])}, the model takes "
                        f"{_shape_text(vm.input_shape)}")
            return "no input yet: open an image or choose a validation sample"
        if len(net.activations) != len(net.report.rows) + 1:
            return "no activations yet"
        return ""

    def _draw(self) -> None:
        self.draws += 1
        try:
            reason = self._reason()
            if not reason:
                self._colour()
        except Exception as e:  # noqa: BLE001 - the GUI edge: say why, never raise into Qt's event loop
            reason = f"the overview cannot be drawn: {type(e).__name__}: {e}"
        self.canvas.set_message(reason)
        self.canvas.update()
        self._show_hover_text()

    def _colour(self) -> None:
        net, canvas = self.net, self.canvas
        acts = net.activations
        for c in canvas.columns:
            if c.kind == "input":
                f = canvas.step(c)
                picture, levels = input_picture(net.current_input[:, ::f, ::f])
                canvas.set_input(c, picture, levels)
            elif c.kind == "maps":
                a = acts[c.layer + 1]
                levels, signed = display_levels(a)
                n = min(a.shape[0], max(canvas.most_maps, c.place.shown if c.place else 0))
                f = canvas.step(c)
                maps = np.nan_to_num(a[:n, ::f, ::f].astype(np.float32, copy=False))
                canvas.set_maps(c, maps, levels, signed)
                c.tip = self._scale_tip(c, levels, signed)
            elif c.kind == "cells":
                a = acts[c.layer + 1].ravel()
                levels, signed = display_levels(a)
                canvas.set_cells(c, np.nan_to_num(a.astype(np.float32, copy=False)), levels, signed)
                c.tip = self._scale_tip(c, levels, signed)
            elif c.kind == "probs" and net.probabilities is not None:
                val = net.val
                pred = prediction(net.probabilities, val.classes if val is not None else None)
                p = np.asarray(net.probabilities, np.float64)
                names = pred.names if pred is not None else [str(i) for i in range(p.size)]
                canvas.set_probabilities(c, p, names, pred.index if pred is not None else -1)

    def _scale_tip(self, c: OverviewColumn, levels, signed: bool) -> str:
        r = self.net.report.rows[c.layer]
        what = f"{c.count} maps" if c.kind == "maps" else f"{c.count} values"
        colours = ("blue (negative) - white (0) - red (positive)" if signed else "black (0) - white (max)")
        return (f"layer {r.index} ({r.type}), output {_shape_text(r.output_shape)}: {what} on one scale, "
                f"{format_value(levels[0])} .. {format_value(levels[1])}, {colours}. Click a unit to select it.")

    # ------------------------------------------------------------------ the selected unit

    def _unit_changed(self) -> None:
        net = self.net
        self.clear_button.setEnabled(net.unit is not None)
        marks: list[Mark] = []
        links: list[Link] = []
        text = " "
        try:
            if net.unit is not None and self.canvas.columns:
                marks, links, text = self._unit_marks()
        except (ValueError, IndexError) as e:
            marks, links, text = [], [], f"the selected unit cannot be shown: {e}"
        self.canvas.set_marks(marks, links)
        self.unit_label.setText(text)
        self._show_hover_text()

    def _unit_marks(self) -> tuple[list[Mark], list[Link], str]:
        net = self.net
        layer, ch, y, x = net.unit
        box, nested = net.unit_boxes()
        rf = net.report.rows[layer].rf
        marks: list[Mark] = []
        links: list[Link] = []
        own = self.column_of(layer)
        if own is not None:
            c = self.canvas.columns[own]
            if c.kind == "maps":
                marks.append(Mark(own, (y, x, y + 1, x + 1), (ch,), color=UNIT_COLOR, frame=True))
            else:
                marks.append(Mark(own, cell=ch, color=UNIT_COLOR))
        if nested:
            feeds = feeding_channels(net.view_model.layers, layer, ch)
            for k in range(1, len(nested) - 1):  # the blocks of layers layer-1 .. 0
                col = self.column_of(layer - k)
                if col is not None:
                    chans = None if feeds[k] is None else tuple(sorted(feeds[k]))
                    marks.append(Mark(col, tuple(nested[k]), chans, color=FEED_COLOR, width=1.5))
                    if k == 1 and own is not None:  # the unit joined to the blocks it reads
                        links.append(Link(own, ch, (y, x, y + 1, x + 1), col, chans, tuple(nested[1]), FEED_COLOR))
            if layer == 0 and own is not None and self.canvas.columns[0].kind == "input":
                links.append(Link(own, ch, (y, x, y + 1, x + 1), 0, None, tuple(nested[1]), FEED_COLOR))
            if self.canvas.columns[0].kind == "input" and box is not None and tuple(nested[-1]) != box.clipped:
                # the input pixels it depends on, where an image edge inside the network clipped them
                marks.append(Mark(0, tuple(nested[-1]), color=FEED_COLOR, width=1.5))
        if box is not None and self.canvas.columns[0].kind == "input":
            marks.append(Mark(0, (box.top, box.left, box.bottom, box.right), color=UNIT_COLOR,
                              dashed=box.reaches_padding))
            if box.reaches_padding:
                t, l, b, r = box.clipped
                if b > t and r > l:
                    marks.append(Mark(0, (t, l, b, r), color=CLIP_COLOR))
        where = f"unit {ch}" if rf.is_global else f"unit (ch {ch}, y {y}, x {x})"
        text = f"Selected: layer {layer} ({rf.type}) {where}"
        if box is not None:
            if rf.is_global:
                text += f" sees the whole input (rows {_span(box.top, box.bottom)}, cols {_span(box.left, box.right)})"
            else:
                text += (f" sees input rows {_span(box.top, box.bottom)}, cols {_span(box.left, box.right)} "
                         f"(receptive field {rf.size_hw[0]}x{rf.size_hw[1]}"
                         f"{', reaching into the padding' if box.reaches_padding else ''})")
        if own is not None and self.canvas.columns[own].place is not None:
            shown = self.canvas.columns[own].place.shown
            if ch >= shown:
                text += f"; its {'channel' if not rf.is_global else 'value'} {ch} is not among the {shown} shown"
        return marks, links, text

    # ------------------------------------------------------------------ mouse

    def _clicked(self, hit: Hit) -> None:
        if hit.kind == "unit" and hit.layer is not None:
            self.net.select_unit(hit.layer, hit.channel, hit.y, hit.x)

    def _hovered(self, hit: Hit | None) -> None:
        self._hover = hit
        self._show_hover_text()

    def hover_text(self, hit: Hit | None) -> str:
        """The line for what lies under the mouse (None: the selected unit's, or a hint)."""
        net = self.net
        if hit is None:
            if net.unit is None:
                return HINT
            layer, ch, y, x = net.unit
            text = self._explain(layer, ch, y, x)
            return f"Selected: {text}"
        if hit.kind == "unit" and hit.layer is not None:
            return self._explain(hit.layer, hit.channel, hit.y, hit.x)
        if hit.kind == "input" and net.current_input is not None:
            xin = net.current_input
            if hit.y < xin.shape[1] and hit.x < xin.shape[2]:
                values = ", ".join(format_value(float(v)) for v in xin[:, hit.y, hit.x])
                return f"input {_shape_text(xin.shape)}, row {hit.y}, col {hit.x}: {values}"
        if hit.kind == "class" and net.probabilities is not None:
            c = self.canvas.columns[hit.column]
            if hit.channel < len(net.probabilities):
                name = c.names[hit.channel] if hit.channel < len(c.names) else str(hit.channel)
                last = len(net.report.rows) - 1
                how = "the model's own softmax" if net.view_model.ends_with_softmax else \
                    f"softmax of layer {last}'s {len(net.probabilities)} scores"
                return f"class {name}: probability {100 * float(net.probabilities[hit.channel]):.2f}% ({how})"
        return HINT

    def _explain(self, layer: int, ch: int, y: int, x: int) -> str:
        net = self.net
        if net.view_model is None or len(net.activations) <= layer:
            return "no activations yet"
        try:
            return explain_unit(net.view_model.layers, net.activations, layer, ch, y, x).text()
        except (ValueError, IndexError) as e:
            return str(e)

    def _show_hover_text(self) -> None:
        self.hover_label.setText(self.hover_text(self._hover) if not self.canvas.message else " ")

    def _tip_for(self, hit: Hit) -> str:
        """A column's tooltip: what it shows and, for a layer, its colour scale."""
        return self.canvas.columns[hit.column].tip if 0 <= hit.column < len(self.canvas.columns) else ""
