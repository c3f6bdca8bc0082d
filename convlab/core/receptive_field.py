"""Receptive fields: which input pixels a unit of any layer can see.

Analytic fields follow the recurrences of Araujo, Norris and Sim, "Computing Receptive Fields
of Convolutional Neural Networks" (Distill, 2019), per axis, dilation included:

    r_l = r_{l-1} + D_l (F_l - 1) j_{l-1}      size of the field on the input
    j_l = j_{l-1} S_l                          jump: input distance between neighbouring units
    P_l = P_{l-1} + P_l' j_{l-1}               effective padding: how far the first field starts
                                               before pixel 0

so unit u of layer l sees input pixels u j_l - P_l ... u j_l - P_l + r_l - 1.
The *effective* field is the gradient of that unit with respect to an actual input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RFRecord:
    """The receptive field of the units of one layer's output, on the model input."""

    index: int
    type: str
    size_hw: tuple[int, int]
    jump_hw: tuple[int, int]
    padding_hw: tuple[int, int]
    grid_hw: tuple[int, int] | None  # output height, width (None for flat layers)
    is_global: bool = False  # flat layers: every unit sees the whole covered area

    @staticmethod
    def _square(p):
        return p[0] if p[0] == p[1] else p

    @property
    def size(self):
        """An int where the geometry is square, else an (h, w) pair."""
        return self._square(self.size_hw)

    @property
    def jump(self):
        return self._square(self.jump_hw)

    @property
    def padding(self):
        return self._square(self.padding_hw)


@dataclass(frozen=True)
class UnitBox:
    """A unit's field on the input: rows top..bottom-1, columns left..right-1 (may leave the image)."""

    top: int
    left: int
    bottom: int
    right: int
    image_hw: tuple[int, int]

    @property
    def clipped(self) -> tuple[int, int, int, int]:
        h, w = self.image_hw
        return max(self.top, 0), max(self.left, 0), min(self.bottom, h), min(self.right, w)

    @property
    def reaches_padding(self) -> bool:
        """True when part of the field lies outside the image (in the padding)."""
        return self.clipped != (self.top, self.left, self.bottom, self.right)

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left


def _layers(spec_or_layers):
    if isinstance(spec_or_layers, dict):
        from .model import build_layers

        return build_layers(spec_or_layers)
    return list(spec_or_layers)


def _geometry(layer):
    """(kernel, stride, padding, dilation) pairs of a windowed layer, or None for point-wise ones."""
    kernel = getattr(layer, "kernel", None)
    if kernel is None:
        return None
    return kernel, layer.stride, layer.padding, getattr(layer, "dilation", (1, 1))


def receptive_fields(spec_or_layers) -> list[RFRecord]:
    """One RFRecord per layer of a spec (or of already built layers)."""
    layers = _layers(spec_or_layers)
    r, j, p = [1, 1], [1, 1], [0, 0]
    spatial = not layers or len(layers[0].in_shape) == 3
    if not spatial:  # a flat input: every unit sees all of it
        r = [1, layers[0].in_shape[0]]
    records = []
    for layer in layers:
        geo = _geometry(layer)
        if geo is not None and spatial:
            k, s, pad, d = geo
            for a in range(2):
                r[a] += d[a] * (k[a] - 1) * j[a]
                p[a] += pad[a] * j[a]
                j[a] *= s[a]
        out = layer.out_shape
        if spatial and len(out) != 3:
            # first flat layer: each unit sees everything its input map covered
            _, h, w = layer.in_shape
            r = [r[0] + (h - 1) * j[0], r[1] + (w - 1) * j[1]]
            spatial = False
        grid = (out[1], out[2]) if len(out) == 3 else None
        records.append(RFRecord(layer.index, layer.type, (r[0], r[1]), (j[0], j[1]), (p[0], p[1]), grid, not spatial))
    return records


def unit_box(spec_or_layers, layer: int, y: int = 0, x: int = 0) -> UnitBox:
    """The input box seen by unit (y, x) of layer ``layer``'s output (any unit for flat layers)."""
    layers = _layers(spec_or_layers)
    rf = receptive_fields(layers)[_check_layer(layers, layer)]
    image_hw = _image_hw(layers)
    if rf.is_global:
        y = x = 0
    else:
        _check_unit(rf, y, x)
    top = y * rf.jump_hw[0] - rf.padding_hw[0]
    left = x * rf.jump_hw[1] - rf.padding_hw[1]
    return UnitBox(top, left, top + rf.size_hw[0], left + rf.size_hw[1], image_hw)


def unit_footprints(spec_or_layers, layer: int, y: int, x: int) -> list[tuple[int, int, int, int]]:
    """For a unit of a spatial layer, the block of units it depends on at every earlier stage.

    Returns (top, left, bottom, right) index ranges (end exclusive), one per layer output
    from ``layer`` down to the input: entry 0 is the unit itself, the last is its block of
    input pixels (clipped to the image) - the nested boxes of the same unit's field.
    """
    layers = _layers(spec_or_layers)
    idx = _check_layer(layers, layer)
    rf = receptive_fields(layers)[idx]
    if rf.is_global:
        raise ValueError(f"layer {layer} ({rf.type}) is flat: its units see the whole input")
    _check_unit(rf, y, x)
    box = [y, x, y + 1, x + 1]
    out = [(box[0], box[1], box[2], box[3])]
    for lay in reversed(layers[: idx + 1]):
        geo = _geometry(lay)
        if geo is not None:
            k, s, pad, d = geo
            _, h, w = lay.in_shape
            lo = [box[0] * s[0] - pad[0], box[1] * s[1] - pad[1]]
            hi = [(box[2] - 1) * s[0] - pad[0] + d[0] * (k[0] - 1) + 1,
                  (box[3] - 1) * s[1] - pad[1] + d[1] * (k[1] - 1) + 1]
            box = [max(lo[0], 0), max(lo[1], 0), min(hi[0], h), min(hi[1], w)]
        out.append((box[0], box[1], box[2], box[3]))
    return out


def block_on_input(rf: RFRecord, block) -> tuple[int, int, int, int]:
    """Units a..b-1 (rows) x c..d-1 (columns) of a layer's output as the input box they see:
    rows a*j - P .. (b-1)*j - P + r - 1, end exclusive, as (top, left, bottom, right)."""
    a, c, b, d = block
    (jh, jw), (ph, pw), (sh, sw) = rf.jump_hw, rf.padding_hw, rf.size_hw
    return a * jh - ph, c * jw - pw, (b - 1) * jh - ph + sh, (d - 1) * jw - pw + sw


def effective_receptive_field(model, x: np.ndarray, layer: int, channel: int, y: int = 0, xx: int = 0) -> np.ndarray:
    """d unit / d input for one input sample x (C, H, W): the field the unit actually uses."""
    idx = _check_layer(model.layers, layer)
    model.forward(np.asarray(x)[None], upto=idx + 1)
    act = model.activations[-1]
    dout = np.zeros_like(act)
    if act.ndim == 4:
        _, c, h, w = act.shape
        if not (0 <= channel < c and 0 <= y < h and 0 <= xx < w):
            raise ValueError(f"layer {layer}: unit (channel {channel}, y {y}, x {xx}) "
                             f"is outside its {c}x{h}x{w} output")
        dout[0, channel, y, xx] = 1
    else:
        if not 0 <= channel < act.shape[1]:
            raise ValueError(f"layer {layer}: unit {channel} is outside its {act.shape[1]} outputs")
        dout[0, channel] = 1
    return model.backward(dout, start=idx + 1)[0]


def _check_layer(layers, layer: int) -> int:
    if not 0 <= layer < len(layers):
        raise ValueError(f"there is no layer {layer}: the model has layers 0 to {len(layers) - 1}")
    return layer


def _check_unit(rf: RFRecord, y: int, x: int) -> None:
    if rf.grid_hw is None:
        raise ValueError(f"layer {rf.index} ({rf.type}) is flat: its units have no (y, x) position")
    h, w = rf.grid_hw
    if not (0 <= y < h and 0 <= x < w):
        raise ValueError(f"layer {rf.index} ({rf.type}): unit ({y}, {x}) is outside its {h}x{w} output")


def _image_hw(layers) -> tuple[int, int]:
    shape = layers[0].in_shape
    return (shape[1], shape[2]) if len(shape) == 3 else (1, shape[0])
