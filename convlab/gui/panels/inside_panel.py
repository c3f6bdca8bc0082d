"""The Inside panel: what the network sees and computes for one input.

Left: the model input (the preprocessed image or a validation sample) with the selected unit's
receptive field drawn on it - the analytic box (dashed where it reaches into the padding, the
in-image part solid), the blocks of earlier layers it depends on, and optionally the effective
field as a heat map. Right: a layer chooser with that layer's feature maps, and the conv filters.

Every number comes from NetworkState and the engine (RF records, unit boxes, effective field);
the panel only maps them to screen items, reusing those items between updates.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from convlab.core.display import input_picture
from convlab.core.prediction import prediction
from convlab.core.receptive_field import block_on_input

from ..views.controls import SteadyLabel
from ..views.image_view import ImageView
from ..views.layer_maps import LayerMapsView, WeightsView
from .visualize_panel import VisualizePanel

BOX_COLOR = "#ff8c00"  # the unit's analytic field
CLIP_COLOR = "#2ca02c"  # the part of it inside the image
NESTED_COLORS = ["#1f77b4", "#9467bd", "#17becf", "#e377c2", "#8c564b", "#bcbd22"]
INVERT_OPTIONS = [("auto", "auto"), ("yes", "yes"), ("no", "no")]


def _pair_text(hw) -> str:
    return str(hw[0]) if hw[0] == hw[1] else f"{hw[0]}x{hw[1]}"


def heat_lut() -> np.ndarray:
    """A 'hot' RGBA table whose alpha rises with the value, so zero is transparent."""
    rgb = pg.colormap.get("CET-L3").getLookupTable(nPts=256, alpha=False)
    alpha = np.linspace(0, 230, 256).astype(np.uint8)
    return np.ascontiguousarray(np.column_stack([rgb, alpha]), dtype=np.uint8)


class InsidePanel(QWidget):
    def __init__(self, net, parent=None):
        super().__init__(parent)
        self.net = net
        self.rf_box_item = None  # the unit's full analytic field (may leave the image)
        self.rf_clip_item = None  # its part inside the image, when it reaches into the padding
        self.rf_nested_items: list = []  # earlier layers' blocks mapped to the input (deduplicated)
        self._range_key = None
        self._drawn_input = None  # the model input now on the input view

        split = QSplitter(Qt.Horizontal)
        split.addWidget(self._input_box())
        split.addWidget(self._tabs())
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([320, 680])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(split)

        net.inputChanged.connect(self._input_changed)
        net.activationsChanged.connect(self._activations_changed)
        net.specChanged.connect(self._spec_changed)
        net.unitChanged.connect(self._draw_rf)
        net.datasetChanged.connect(self._sync_controls)
        self._fill_layers()
        self._input_changed()
        self._draw_rf()

    # ------------------------------------------------------------------ building

    def _input_box(self) -> QWidget:
        box = QGroupBox("What the network sees")
        v = QVBoxLayout(box)
        self.input_view = ImageView("model input")
        self.input_view.setToolTip("The model input after preprocessing (resized, gray or RGB, scaled to 0..1, "
                                   "maybe inverted). The selected unit's receptive field is drawn on it.")
        self.input_view.setMinimumSize(200, 200)
        self.input_view.hovered.connect(self._input_hovered)
        self.heat_item = pg.ImageItem(axisOrder="row-major")
        self.heat_item.setLookupTable(heat_lut())
        self.heat_item.setZValue(5)
        self.heat_item.setVisible(False)
        self.input_view.vb.addItem(self.heat_item)
        v.addWidget(self.input_view, 1)

        row = QHBoxLayout()
        self.source_combo = QComboBox()
        self.source_combo.addItems(["Source image", "Validation sample"])
        self.source_combo.setToolTip("Feed the network the lab's source image, or one sample of the validation set")
        self.source_combo.currentIndexChanged.connect(self._source_chosen)
        self.sample_spin = QSpinBox()
        self.sample_spin.setPrefix("sample ")
        self.sample_spin.setKeyboardTracking(False)
        self.sample_spin.setToolTip("Which validation sample to feed the network")
        self.sample_spin.valueChanged.connect(self._sample_chosen)
        self.invert_combo = QComboBox()
        for text, _ in INVERT_OPTIONS:
            self.invert_combo.addItem(f"invert: {text}")
        self.invert_combo.setToolTip("Invert the source image? 'auto' inverts bright backgrounds, since the "
                                     "built-in digits are white on black")
        self.invert_combo.currentIndexChanged.connect(
            lambda i: self.net.set_preprocess(invert=INVERT_OPTIONS[i][1]))
        for w in (self.source_combo, self.sample_spin, self.invert_combo):
            row.addWidget(w)
        v.addLayout(row)
        self.input_label = SteadyLabel(" ")  # a new prediction with every live frame
        self.input_label.setToolTip("The sample's label, the network's prediction and the pixel under the mouse")
        v.addWidget(self.input_label)

        rf_row = QHBoxLayout()
        self.effective_check = QCheckBox("effective receptive field")
        self.effective_check.setToolTip(
            "Also show which input pixels actually move the unit for this input: |d unit / d input| as a heat map. "
            "It always lies inside the analytic box, and is usually concentrated near its centre.")
        self.effective_check.toggled.connect(
            lambda on: self.net.set_rf_mode("effective" if on else "analytic"))
        self.nested_check = QCheckBox("earlier layers")
        self.nested_check.setChecked(True)
        self.nested_check.setToolTip("Also draw the blocks of earlier layers the unit depends on, mapped to the input "
                                     "(they differ from the field only where the image edge clips them)")
        self.nested_check.toggled.connect(self._draw_rf)
        self.clear_button = QPushButton("Clear unit")
        self.clear_button.setToolTip("Forget the selected unit and remove its receptive field")
        self.clear_button.clicked.connect(self.net.clear_unit)
        for w in (self.effective_check, self.nested_check):
            rf_row.addWidget(w)
        rf_row.addStretch(1)
        rf_row.addWidget(self.clear_button)
        v.addLayout(rf_row)
        self.rf_label = QLabel()
        self.rf_label.setWordWrap(True)
        self.rf_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.rf_label.setToolTip(
            "Receptive field: the input pixels a unit can see. Size r, jump j (input distance between neighbouring "
            "units) and effective padding P give: unit u sees input pixels u*j - P .. u*j - P + r - 1. "
            f"<span style='color:{BOX_COLOR}'>orange</span>: the field (dashed where it reaches into the padding), "
            f"<span style='color:{CLIP_COLOR}'>green</span>: its part inside the image, thin colours: earlier layers.")
        v.addWidget(self.rf_label)
        return box

    def _tabs(self) -> QWidget:
        self.tabs = QTabWidget()
        maps_page = QWidget()
        h = QHBoxLayout(maps_page)
        h.setContentsMargins(2, 2, 2, 2)
        self.layer_list = QListWidget()
        self.layer_list.setToolTip("Choose a layer to see its output (feature maps) for this input")
        self.layer_list.setMaximumWidth(170)
        self.layer_list.currentRowChanged.connect(self._layer_chosen)
        self.maps = LayerMapsView(self.net)
        h.addWidget(self.layer_list)
        h.addWidget(self.maps, 1)
        self.tabs.addTab(maps_page, "Feature maps")
        self.weights = WeightsView(self.net)
        self.tabs.addTab(self.weights, "Weights")
        self.tabs.setTabToolTip(0, "Each layer's output for the current input")
        self.tabs.setTabToolTip(1, "The convolution filters the network has learned")
        self.visualize = VisualizePanel(self.net)
        self.tabs.addTab(self.visualize, "What it wants to see")
        self.tabs.setTabToolTip(2, "The picture a unit or class wants to see, and where a class looks in this input")
        return self.tabs

    # ------------------------------------------------------------------ state -> widgets

    def _fill_layers(self) -> None:
        rows = self.net.report.rows
        current = max(self.layer_list.currentRow(), 0)
        with QSignalBlocker(self.layer_list):
            self.layer_list.clear()
            for r in rows:
                self.layer_list.addItem(f"{r.index}: {r.type} {'x'.join(str(s) for s in r.output_shape)}")
            if rows:
                self.layer_list.setCurrentRow(min(current, len(rows) - 1))
        # the maps follow on activationsChanged, which comes right after every spec change
        self.maps.set_layer(max(self.layer_list.currentRow(), 0), draw=False)

    def _spec_changed(self) -> None:
        self._fill_layers()
        self._draw_rf()

    def _sync_controls(self) -> None:
        net = self.net
        n = len(net.val) if net.val is not None else 0
        with QSignalBlocker(self.source_combo), QSignalBlocker(self.sample_spin), QSignalBlocker(self.invert_combo):
            self.source_combo.setCurrentIndex(1 if net.input_source == "sample" else 0)
            self.sample_spin.setRange(0, max(n - 1, 0))
            self.sample_spin.setValue(net.sample_index)
            self.invert_combo.setCurrentIndex([o[1] for o in INVERT_OPTIONS].index(net.preprocess.invert))
        self.sample_spin.setEnabled(n > 0)
        self.invert_combo.setEnabled(net.input_source == "image")

    def _input_changed(self) -> None:
        self._sync_controls()
        self._draw_input()
        self._draw_rf()

    def _activations_changed(self) -> None:
        self._draw_input()
        self._draw_heat()
        self._update_input_label()

    def _draw_input(self) -> None:
        x = self.net.current_input
        view = self.input_view
        if x is not None and x is self._drawn_input:
            return  # inputChanged and activationsChanged both ask for the same frame
        self._drawn_input = x
        if x is None:
            view.clear_image()
            view.set_title(self._no_input_reason())
            return
        img, levels = input_picture(x)
        if view.image_shape != img.shape[:2]:
            self._range_key = None
        view.set_image(img, levels=levels)
        c, h, w = x.shape
        view.set_title(f"model input {c}x{h}x{w}")

    def _no_input_reason(self) -> str:
        net = self.net
        if net.view_model is None:
            return "the model does not work yet"
        if len(net.view_model.input_shape) != 3:
            return "the model takes a flat input, not an image"
        if net.input_source == "sample":
            if net.val is None:
                return "no validation set yet: load a dataset (Training)"
            shape = tuple(net.val.x.shape[1:])
            if shape != tuple(net.view_model.input_shape):
                return (f"the samples are {'x'.join(map(str, shape))}, the model takes "
                        f"{'x'.join(map(str, net.view_model.input_shape))}")
        return "no input yet: open an image"

    def _update_input_label(self) -> None:
        net = self.net
        parts = []
        val = net.val
        if net.input_source == "sample" and val is not None and len(val) and net.current_input is not None:
            i = min(net.sample_index, len(val) - 1)
            parts.append(f"label: {val.classes[int(val.y[i])]}")
        pred = prediction(net.probabilities, val.classes if val is not None else None)
        if pred is not None:
            parts.append(f"prediction: {pred.text()}")
        self.input_label.setText(", ".join(parts) or " ")

    def _input_hovered(self, r: int, c: int) -> None:
        x = self.net.current_input
        if x is None or r >= x.shape[1] or c >= x.shape[2]:
            return
        vals = ", ".join(f"{v:.3f}" for v in x[:, r, c])
        self.input_view.set_title(f"model input {'x'.join(map(str, x.shape))}: row {r}, col {c} = {vals}")

    # ------------------------------------------------------------------ widgets -> state

    def _source_chosen(self, index: int) -> None:
        if index == 1:
            self.net.use_sample(self.sample_spin.value())
        else:
            self.net.use_image()

    def _sample_chosen(self, value: int) -> None:
        if self.source_combo.currentIndex() == 1:
            self.net.use_sample(value)

    def _layer_chosen(self, row: int) -> None:
        if row >= 0:
            self.maps.set_layer(row)

    # ------------------------------------------------------------------ receptive field

    def _clear_rf_items(self) -> None:
        self.input_view.clear_overlay()
        self.rf_box_item = self.rf_clip_item = None
        self.rf_nested_items = []

    def _draw_rf(self) -> None:
        """The selected unit's analytic field and the nested blocks of earlier layers."""
        net = self.net
        with QSignalBlocker(self.effective_check):
            self.effective_check.setChecked(net.rf_mode == "effective")
        self._clear_rf_items()
        self._draw_heat()
        self.clear_button.setEnabled(net.unit is not None)
        if net.unit is None:
            self.rf_label.setText("Click a unit in a feature map to see which input pixels it sees.")
            self._fit_range(None)
            return
        layer, ch, y, x = net.unit
        try:
            box, nested = net.unit_boxes()
            rf = net.report.rows[layer].rf
        except (ValueError, IndexError):
            self.rf_label.setText(f"the selected unit (layer {layer}, ch {ch}, y {y}, x {x}) is not in this model")
            self._fit_range(None)
            return
        if box is None:
            self.rf_label.setText("")
            return
        if len(net.view_model.input_shape) != 3:
            self.rf_label.setText(f"layer {layer} ({rf.type}) unit {ch} sees all {box.width} input values "
                                  "(the model takes a flat input, not an image)")
            return
        view = self.input_view
        style = Qt.DashLine if box.reaches_padding else Qt.SolidLine
        self.rf_box_item = view.add_box(box.top, box.left, box.height, box.width, BOX_COLOR, style, z=12)
        seen = {(box.top, box.left, box.bottom, box.right)}
        if box.reaches_padding:
            t, l, b, r = box.clipped
            if b > t and r > l:
                self.rf_clip_item = view.add_box(t, l, b - t, r - l, CLIP_COLOR, Qt.SolidLine, z=13)
                seen.add((t, l, b, r))
        if self.nested_check.isChecked():
            self._draw_nested(nested, layer, seen)
        self.rf_label.setText(self._rf_text(rf, box))
        self._fit_range(box)

    def _draw_nested(self, nested, layer: int, seen: set) -> None:
        """Entry k of ``nested`` is a block of layer (layer - k)'s output; the last one is input pixels."""
        rows = self.net.report.rows
        for k, (a, c, b, d) in enumerate(nested[1:], start=1):
            src = layer - k
            if src >= 0:
                rect = block_on_input(rows[src].rf, (a, c, b, d))
            else:
                rect = (a, c, b, d)
            if rect in seen or rect[2] <= rect[0] or rect[3] <= rect[1]:
                continue
            seen.add(rect)
            color = NESTED_COLORS[(len(self.rf_nested_items)) % len(NESTED_COLORS)]
            item = self.input_view.add_box(rect[0], rect[1], rect[2] - rect[0], rect[3] - rect[1], color,
                                           Qt.SolidLine, z=11)
            pen = item.pen()
            pen.setWidthF(1.0)
            item.setPen(pen)
            item.setToolTip(f"the block of layer {src}'s output this unit depends on" if src >= 0
                            else "the input pixels this unit depends on")
            self.rf_nested_items.append(item)

    def _rf_text(self, rf, box) -> str:
        layer, ch, y, x = self.net.unit
        t, l, b, r = box.top, box.left, box.bottom, box.right
        where = (f"unit {ch}: every unit of a flat layer sees the whole field" if rf.is_global
                 else f"unit (ch {ch}, y {y}, x {x})")
        text = (f"layer {layer} ({rf.type}) {where}: receptive field {rf.size_hw[0]}x{rf.size_hw[1]}, "
                f"jump {_pair_text(rf.jump_hw)}, effective padding {_pair_text(rf.padding_hw)}, "
                f"input rows {t}..{b - 1}, cols {l}..{r - 1} "
                f"(reaches into padding: {'yes' if box.reaches_padding else 'no'})")
        if box.reaches_padding:
            ct, cl, cb, cr = box.clipped
            text += f"; inside the image: rows {ct}..{cb - 1}, cols {cl}..{cr - 1}"
        return text

    def _fit_range(self, box) -> None:
        """Show the whole image, widened to the unit's field when it reaches into the padding."""
        shape = self.input_view.image_shape
        if shape is None:
            return
        h, w = shape
        t, l, b, r = 0, 0, h, w
        if box is not None:
            t, l, b, r = min(t, box.top), min(l, box.left), max(b, box.bottom), max(r, box.right)
        key = (t, l, b, r)
        if key != self._range_key:
            self._range_key = key
            self.input_view.vb.setRange(QRectF(l, t, r - l, b - t), padding=0.02)

    def _draw_heat(self) -> None:
        """The effective receptive field as a heat map over the input (levels set once per update)."""
        net = self.net
        erf = net.effective_rf if (net.rf_mode == "effective" and net.unit is not None) else None
        if erf is None or net.current_input is None or erf.shape != net.current_input.shape[1:]:
            self.heat_item.setVisible(False)
            return
        top = float(np.nanmax(erf)) if erf.size else 0.0
        heat = np.nan_to_num(erf / top if top > 0 else erf).astype(np.float32)
        self.heat_item.setImage(heat, autoLevels=False, levels=(0.0, 1.0))
        self.heat_item.setVisible(True)

    @property
    def heat_image(self) -> np.ndarray | None:
        """The drawn effective-field heat map (None when hidden)."""
        return self.heat_item.image if self.heat_item.isVisible() else None
