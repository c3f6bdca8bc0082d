"""Probe: what the network is looking at - the input, its activations and class probabilities,
the selected unit and its receptive field.

The input is the lab's image (a still image, or the newest live frame) preprocessed for the
model (``convlab.core.preprocess.model_input``), or one sample of the validation set. Every
activation comes from the design's ``view_model``; the receptive fields from the engine.

    probe.set_image(image)          # a new still image: inputChanged, activationsChanged
    times = probe.show_frame(frame) # a live frame: the same signals, and the stage times in ms

Signals: ``inputChanged`` (the input array), ``activationsChanged`` (activations and
probabilities of that input), ``unitChanged`` (the selected unit or the receptive-field mode).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QObject, Signal

from convlab.core.functional import softmax
from convlab.core.preprocess import Preprocess, model_input
from convlab.core.reasons import Notice
from convlab.core.receptive_field import effective_receptive_field, unit_box, unit_footprints

from .model_design import ModelDesign


class Probe(QObject):
    inputChanged = Signal()
    activationsChanged = Signal()
    unitChanged = Signal()
    message = Signal(object)  # Notice

    def __init__(self, design: ModelDesign, validation: Callable[[], object], parent=None):
        super().__init__(parent)
        self.design = design
        self._validation = validation  # the validation Dataset (or None)
        self.image: np.ndarray | None = None  # the lab's source image (uint8)
        self.input_source = "image"  # "image" or "sample"
        self.sample_index = 0
        self.preprocess = Preprocess()
        self.current_input: np.ndarray | None = None  # (C, H, W) float32 in [0, 1]
        self.activations: list[np.ndarray] = []  # [input, layer 0 output, ...] for current_input
        self.probabilities: np.ndarray | None = None
        self.unit: tuple[int, int, int, int] | None = None  # (layer, channel, y, x)
        self.rf_mode = "analytic"  # or "effective"
        self.effective_rf: np.ndarray | None = None  # (H, W) |d unit / d input| summed over channels

    # ------------------------------------------------------------------ choosing the input

    def set_image(self, image: np.ndarray | None) -> None:
        """A new still image from the lab."""
        self.image = image
        if self.input_source == "image":
            self.refresh_input()

    def show_frame(self, image: np.ndarray) -> dict[str, float]:
        """A live frame: image -> model input -> activations, the views told, each stage timed
        (ms: "preprocess", "model", "draw")."""
        t0 = time.perf_counter()
        self.image = image
        if self.input_source != "image":  # the network looks at a validation sample: nothing changes
            return {"preprocess": 0.0, "model": 0.0, "draw": 0.0}
        self.current_input = self._input()
        t1 = time.perf_counter()
        self._compute()
        t2 = time.perf_counter()
        self.inputChanged.emit()
        self.activationsChanged.emit()
        t3 = time.perf_counter()
        return {"preprocess": (t1 - t0) * 1e3, "model": (t2 - t1) * 1e3, "draw": (t3 - t2) * 1e3}

    def use_image(self) -> None:
        self.input_source = "image"
        self.refresh_input()

    def use_sample(self, index: int) -> None:
        self.input_source = "sample"
        self.sample_index = int(index)
        self.refresh_input()

    def set_preprocess(self, **changes) -> None:
        self.preprocess = replace(self.preprocess, **changes)
        self.refresh_input()

    # ------------------------------------------------------------------ computing

    def _input(self) -> np.ndarray | None:
        m = self.design.view_model
        if m is None or len(m.input_shape) != 3:
            return None
        shape = m.input_shape
        if self.input_source == "sample":
            val = self._validation()
            if val is not None and len(val):
                i = min(self.sample_index, len(val) - 1)
                if tuple(val.x.shape[1:]) == shape:
                    return val.x[i]
            return None
        if self.image is None:
            return None
        try:
            return model_input(self.image, shape, self.preprocess)
        except ValueError as e:
            self.message.emit(Notice.error(str(e)))
            return None

    def _compute(self) -> None:
        m = self.design.view_model
        if m is None or self.current_input is None:
            self.activations, self.probabilities = [], None
        else:
            with np.errstate(all="ignore"):
                out = m.forward(self.current_input[None])
                self.activations = [a[0].copy() for a in m.activations]
                self.probabilities = None
                if len(m.output_shape) == 1:
                    self.probabilities = out[0] if m.ends_with_softmax else softmax(out, axis=1)[0]
        if self.unit is not None and self.rf_mode == "effective":
            self._compute_effective_rf()

    def refresh_input(self) -> None:
        self.current_input = self._input()
        self._compute()
        self.inputChanged.emit()
        self.activationsChanged.emit()

    def refresh_activations(self) -> None:
        """New weights, same input."""
        self._compute()
        self.activationsChanged.emit()

    def rebuilt(self) -> None:
        """The models were rebuilt (a spec edit or a restore): bring everything up to date without
        telling the views, which redraw on the design's specChanged that follows."""
        if self.unit is not None and not self._unit_exists(self.unit):
            self.unit, self.effective_rf = None, None
        self.current_input = self._input()
        self._compute()

    # ------------------------------------------------------------------ receptive fields

    def _unit_exists(self, unit) -> bool:
        layer, ch, y, x = unit
        rows = self.design.report.rows
        if self.design.view_model is None or not 0 <= layer < len(rows):
            return False
        shape = rows[layer].output_shape
        if len(shape) == 1:
            return 0 <= ch < shape[0]
        return 0 <= ch < shape[0] and 0 <= y < shape[1] and 0 <= x < shape[2]

    def select_unit(self, layer: int, channel: int, y: int, x: int) -> None:
        if not self._unit_exists((layer, channel, y, x)):
            self.message.emit(Notice.error(f"layer {layer} has no unit (channel {channel}, y {y}, x {x})"))
            return
        self.unit = (layer, channel, y, x)
        if self.rf_mode == "effective":
            self._compute_effective_rf()
        self.unitChanged.emit()

    def clear_unit(self) -> None:
        self.unit = None
        self.effective_rf = None
        self.unitChanged.emit()

    def set_rf_mode(self, mode: str) -> None:
        self.rf_mode = mode
        if mode == "effective":
            self._compute_effective_rf()
        self.unitChanged.emit()

    def unit_boxes(self):
        """The selected unit's field on the input and its nested blocks at every earlier layer."""
        m = self.design.view_model
        if self.unit is None or m is None:
            return None, []
        layer, _, y, x = self.unit
        box = unit_box(m.layers, layer, y, x)
        rf = self.design.report.rows[layer].rf
        nested = [] if rf.is_global else unit_footprints(m.layers, layer, y, x)
        return box, nested

    def _compute_effective_rf(self) -> None:
        self.effective_rf = None
        m = self.design.view_model
        if self.unit is None or m is None or self.current_input is None:
            return
        layer, ch, y, x = self.unit
        try:
            g = effective_receptive_field(m, self.current_input, layer, ch, y, x)
        except ValueError as e:
            self.message.emit(Notice.error(str(e)))
            return
        self.effective_rf = np.abs(g).sum(axis=0) if g.ndim == 3 else np.abs(g)
