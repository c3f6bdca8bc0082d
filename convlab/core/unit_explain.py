"""How one unit of a model is made from the layer before it: the same idea as the playground's
"how this value is made" (``playground.explain_pixel``), for any layer of a Sequential model.

    e = explain_unit(model.layers, activations, layer, channel, y, x)
    e.value     # the unit's value, recomputed here in float64 (equal to the engine's activation)
    e.text()    # one line, e.g. "layer 3 conv2d, unit (ch 2, y 4, x 5): 6 channels x 5x5 patch
                #  . weights = 1.84, + bias -0.12 = 1.72"

``activations`` is ``[input, layer 0 output, layer 1 output, ...]`` for one sample (no batch
axis), as ``Sequential.forward`` keeps them; layer ``i`` reads ``activations[i]``.

The computations here are plain and written out on purpose (the patch is gathered tap by tap,
padding by its own index rule, pooling by ``max``/``mean`` of the window): they do not share
code with ``functional.py``, so the tests that compare them with the engine check both.

``feeding_channels`` says which channels of every earlier layer a spatial unit depends on
(all of them below a convolution, only its own channel through pooling and activations).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .number_text import format_value

__all__ = [
    "UnitExplanation", "ConvExplanation", "PoolExplanation", "ActivationExplanation", "LinearExplanation",
    "FlattenExplanation", "DropoutExplanation", "SoftmaxExplanation", "explain_unit", "feeding_channels",
    "source_index",
]

TOP_CONTRIBUTIONS = 5  # the largest products a linear unit's explanation lists

_v = format_value


def _size_text(hw) -> str:
    return f"{hw[0]}x{hw[1]}"


@dataclass(frozen=True)
class UnitExplanation:
    """What every explanation has: which unit, and its value as computed here (float64)."""

    layer: int
    type: str
    channel: int  # the channel (spatial layers) or the unit's index (flat layers)
    y: int
    x: int
    value: float
    spatial: bool

    def where(self) -> str:
        return f"unit (ch {self.channel}, y {self.y}, x {self.x})" if self.spatial else f"unit {self.channel}"

    def head(self) -> str:
        return f"layer {self.layer} {self.type}, {self.where()}"

    def body(self) -> str:
        return f"= {_v(self.value)}"

    def text(self) -> str:
        """One line for a hover label: which unit, and how its value is made."""
        return f"{self.head()}: {self.body()}"


@dataclass(frozen=True)
class ConvExplanation(UnitExplanation):
    """patch (all input channels) x weights, summed per channel, plus the bias."""

    rows: np.ndarray  # (Fh,) input rows of the taps (may be < 0 or >= H: in the padding)
    cols: np.ndarray  # (Fw,) input columns of the taps
    source_rows: np.ndarray  # (Fh,) the row each tap reads (reflect / replicate), -1 for zero padding
    source_cols: np.ndarray  # (Fw,)
    patch: np.ndarray  # (C, Fh, Fw) the values the weights meet, padding included
    weights: np.ndarray  # (C, Fh, Fw)
    channel_sums: np.ndarray  # (C,) sum(patch * weights) per channel
    bias: float
    outside: np.ndarray  # (Fh, Fw) True where a tap lies in the padding
    padding_mode: str
    dilation: tuple[int, int]

    @property
    def dot(self) -> float:
        """patch . weights over all channels, before the bias."""
        return float(self.channel_sums.sum())

    def body(self) -> str:
        c, fh, fw = self.patch.shape
        channels = f"{c} channel{'s' if c != 1 else ''}"
        dil = f" (dilation {_size_text(self.dilation)})" if self.dilation != (1, 1) else ""
        pad = int(self.outside.sum())
        in_pad = f", {pad} of {fh * fw} taps in the {self.padding_mode} padding" if pad else ""
        return (f"{channels} x {fh}x{fw} patch{dil} \u00b7 weights = {_v(self.dot)}, "
                f"+ bias {_v(self.bias)} = {_v(self.value)}{in_pad}")


@dataclass(frozen=True)
class PoolExplanation(UnitExplanation):
    """The window one pooled unit reads in its own channel: its maximum, or its mean."""

    rows: np.ndarray  # (Fh,) input rows of the window (may lie in the padding)
    cols: np.ndarray  # (Fw,)
    window: np.ndarray  # (Fh, Fw) the values: -inf (max) or 0 (average) in the padding
    outside: np.ndarray  # (Fh, Fw) True in the padding
    argmax: tuple[int, int] | None  # (i, j) in the window of the first maximum (max pooling)
    total: float  # the window's sum (average pooling; padding counts as 0)

    def body(self) -> str:
        fh, fw = self.window.shape
        r0, r1, c0, c1 = int(self.rows[0]), int(self.rows[-1]), int(self.cols[0]), int(self.cols[-1])
        where = f"the {fh}x{fw} window at rows {r0}..{r1}, cols {c0}..{c1} of channel {self.channel}"
        if self.argmax is not None:
            i, j = self.argmax
            return f"max of {where} = {_v(self.value)} (at row {int(self.rows[i])}, col {int(self.cols[j])})"
        return f"mean of {where} = {_v(self.total)} / {fh * fw} = {_v(self.value)}"


@dataclass(frozen=True)
class ActivationExplanation(UnitExplanation):
    """y = f(x), x the same unit of the layer before."""

    input: float
    formula: str  # e.g. "max(0, x)"

    def body(self) -> str:
        return f"{self.type}({_v(self.input)}) = {_v(self.value)}   [{self.formula}]"


@dataclass(frozen=True)
class LinearExplanation(UnitExplanation):
    """inputs . weights + bias, with the largest contributions listed."""

    inputs: np.ndarray  # (F,)
    weights: np.ndarray  # (F,) the unit's row of the weight matrix
    products: np.ndarray  # (F,) inputs * weights
    bias: float
    top: list[tuple[int, float, float, float]] = field(default_factory=list)  # (index, x, w, x*w)

    @property
    def dot(self) -> float:
        return float(self.products.sum())

    def body(self) -> str:
        n = self.inputs.size
        largest = ", ".join(f"#{i} {_v(x)}\u00d7{_v(w)}" for i, x, w, _ in self.top[:3])
        return (f"{n} input{'s' if n != 1 else ''} \u00b7 weights = {_v(self.dot)}, + bias {_v(self.bias)} "
                f"= {_v(self.value)}" + (f"; largest: {largest}" if largest else ""))


@dataclass(frozen=True)
class FlattenExplanation(UnitExplanation):
    """A flattened unit is one value of the map before, at (channel, y, x)."""

    source: tuple[int, ...]  # the index in the layer before (c, y, x) or (i,)

    def body(self) -> str:
        before = "the input" if self.layer == 0 else f"layer {self.layer - 1}"
        at = ", ".join(f"{k} {v}" for k, v in zip(("ch", "y", "x"), self.source, strict=False)) \
            if len(self.source) == 3 else f"unit {self.source[0]}"
        return f"{before} at ({at}) = {_v(self.value)}"


@dataclass(frozen=True)
class DropoutExplanation(UnitExplanation):
    """Outside training, dropout passes every value on unchanged."""

    input: float
    rate: float

    def body(self) -> str:
        return (f"passes {_v(self.input)} on unchanged = {_v(self.value)} (it drops a share {self.rate:g} "
                "of the values only while training)")


@dataclass(frozen=True)
class SoftmaxExplanation(UnitExplanation):
    """p_i = exp(z_i - max z) / sum_j exp(z_j - max z)."""

    scores: np.ndarray  # (K,) the scores z of the layer before
    shift: float  # max z (subtracted for stability; it cancels)
    numerator: float  # exp(z_i - max z)
    denominator: float  # sum_j exp(z_j - max z)

    def body(self) -> str:
        z = float(self.scores[self.channel])
        return (f"exp({_v(z)} - {_v(self.shift)}) / \u03a3 exp(z - {_v(self.shift)}) = {_v(self.numerator)} / "
                f"{_v(self.denominator)} = {_v(self.value)}")


# --------------------------------------------------------------------------- padding by hand


def source_index(i: int, n: int, mode: str) -> int:
    """The pixel a padded position ``i`` of an axis of ``n`` pixels reads: itself inside 0..n-1;
    outside, -1 for zero padding, the mirror image for reflect (the edge not repeated: -1 -> 1),
    the nearest edge pixel for replicate."""
    if 0 <= i < n:
        return i
    if mode == "zeros":
        return -1
    if mode == "replicate":
        return 0 if i < 0 else n - 1
    if mode == "reflect":
        if n == 1:
            return 0
        period = 2 * (n - 1)
        i = abs(i) % period
        return i if i < n else period - i
    raise ValueError(f"unknown padding mode {mode!r}")


# --------------------------------------------------------------------------- the kinds


def _conv(layer, x: np.ndarray, ch: int, y: int, xx: int) -> ConvExplanation:
    c, h, w = x.shape
    (fh, fw), (sh, sw), (ph, pw), (dh, dw) = layer.kernel, layer.stride, layer.padding, layer.dilation
    mode = layer.padding_mode
    rows = np.array([y * sh - ph + i * dh for i in range(fh)])
    cols = np.array([xx * sw - pw + j * dw for j in range(fw)])
    src_r = np.array([source_index(int(r), h, mode) for r in rows])
    src_c = np.array([source_index(int(q), w, mode) for q in cols])
    patch = np.zeros((c, fh, fw), np.float64)
    for i, r in enumerate(src_r):
        for j, q in enumerate(src_c):
            if r >= 0 and q >= 0:
                patch[:, i, j] = x[:, r, q]
    weights = np.asarray(layer.params["weight"][ch], np.float64)
    sums = (patch * weights).sum(axis=(1, 2))
    bias = float(layer.params["bias"][ch]) if "bias" in layer.params else 0.0
    outside = (rows[:, None] < 0) | (rows[:, None] >= h) | (cols[None, :] < 0) | (cols[None, :] >= w)
    return ConvExplanation(layer.index, layer.type, ch, y, xx, float(sums.sum()) + bias, True, rows, cols,
                           src_r, src_c, patch, weights.copy(), sums, bias, outside, mode, (dh, dw))


def _pool(layer, x: np.ndarray, ch: int, y: int, xx: int) -> PoolExplanation:
    _, h, w = x.shape
    (fh, fw), (sh, sw), (ph, pw) = layer.kernel, layer.stride, layer.padding
    is_max = layer.type == "maxpool2d"
    rows = np.array([y * sh - ph + i for i in range(fh)])
    cols = np.array([xx * sw - pw + j for j in range(fw)])
    outside = (rows[:, None] < 0) | (rows[:, None] >= h) | (cols[None, :] < 0) | (cols[None, :] >= w)
    window = np.full((fh, fw), -np.inf if is_max else 0.0)
    for i, r in enumerate(rows):
        for j, q in enumerate(cols):
            if not outside[i, j]:
                window[i, j] = x[ch, r, q]
    total = float(window[~outside].sum()) if not is_max else float("nan")
    if is_max:
        flat = int(np.argmax(window))  # the first maximum in reading order, as the engine routes it
        argmax: tuple[int, int] | None = (flat // fw, flat % fw)
        value = float(window.flat[flat])
    else:
        argmax, value = None, total / (fh * fw)  # padding counts as 0 (PyTorch's default)
    return PoolExplanation(layer.index, layer.type, ch, y, xx, value, True, rows, cols, window, outside,
                           argmax, total)


_FORMULAS = {
    "relu": "max(0, x)",
    "leaky_relu": "x if x > 0, else {slope} x",
    "tanh": "(e^x - e^-x) / (e^x + e^-x)",
    "sigmoid": "1 / (1 + e^-x)",
}


def _activation(layer, v: float) -> tuple[float, str]:
    kind = layer.type
    if kind == "relu":
        out = max(v, 0.0)
    elif kind == "leaky_relu":
        out = v if v > 0 else layer.slope * v
    elif kind == "tanh":
        out = float(np.tanh(v))
    else:  # sigmoid
        out = float(1.0 / (1.0 + np.exp(-v))) if v >= 0 else float(np.exp(v) / (1.0 + np.exp(v)))
    return out, _FORMULAS[kind].format(slope=f"{getattr(layer, 'slope', 0.0):g}")


def _linear(layer, x: np.ndarray, unit: int) -> LinearExplanation:
    inputs = np.asarray(x, np.float64)
    weights = np.asarray(layer.params["weight"][unit], np.float64)
    products = inputs * weights
    bias = float(layer.params["bias"][unit]) if "bias" in layer.params else 0.0
    order = np.argsort(-np.abs(products), kind="stable")[:TOP_CONTRIBUTIONS]
    top = [(int(i), float(inputs[i]), float(weights[i]), float(products[i])) for i in order]
    return LinearExplanation(layer.index, layer.type, unit, 0, 0, float(products.sum()) + bias, False,
                             inputs, weights.copy(), products, bias, top)


def explain_unit(layers, activations, layer: int, channel: int, y: int = 0, x: int = 0) -> UnitExplanation:
    """How unit (channel, y, x) of layer ``layer``'s output is made from ``activations[layer]``.

    ``layers`` are a model's layers (``Sequential.layers``), ``activations`` one sample's
    ``[input, layer 0 output, ...]`` (at least up to the layer's input). Flat layers ignore y, x.
    Raises ValueError naming the layer and the numbers when there is no such unit."""
    layers = list(layers)
    if not 0 <= layer < len(layers):
        raise ValueError(f"there is no layer {layer}: the model has layers 0 to {len(layers) - 1}")
    if layer >= len(activations):
        raise ValueError(f"layer {layer}: its input is not among the {len(activations)} activations given")
    lay = layers[layer]
    a = np.asarray(activations[layer])
    out = tuple(lay.out_shape)
    if len(out) == 3:
        k, ho, wo = out
        if not (0 <= channel < k and 0 <= y < ho and 0 <= x < wo):
            raise ValueError(f"layer {layer} ({lay.type}): unit (ch {channel}, y {y}, x {x}) is outside "
                             f"its {k}x{ho}x{wo} output")
    else:
        if not 0 <= channel < out[0]:
            raise ValueError(f"layer {layer} ({lay.type}): unit {channel} is outside its {out[0]} outputs")
        y = x = 0
    if tuple(a.shape) != tuple(lay.in_shape):
        raise ValueError(f"layer {layer} ({lay.type}) takes a {'x'.join(map(str, lay.in_shape))} input, "
                         f"the activation given is {'x'.join(map(str, a.shape))}")
    spatial = len(out) == 3
    kind = lay.type

    def one(v) -> float:
        return float(np.float64(v))

    if kind == "conv2d":
        return _conv(lay, a, channel, y, x)
    if kind in ("maxpool2d", "avgpool2d"):
        return _pool(lay, a, channel, y, x)
    here = (channel, y, x) if spatial else (channel,)
    if kind in _FORMULAS:
        v = one(a[here])
        value, formula = _activation(lay, v)
        return ActivationExplanation(layer, kind, channel, y, x, value, spatial, v, formula)
    if kind == "dropout":
        v = one(a[here])
        return DropoutExplanation(layer, kind, channel, y, x, v, spatial, v, lay.rate)
    if kind == "flatten":
        source = tuple(int(i) for i in np.unravel_index(channel, a.shape))
        return FlattenExplanation(layer, kind, channel, 0, 0, one(a[source]), False, source)
    if kind == "linear":
        return _linear(lay, a, channel)
    if kind == "softmax":
        z = np.asarray(a, np.float64)
        shift = float(z.max())
        e = np.exp(z - shift)
        num, den = float(e[channel]), float(e.sum())
        return SoftmaxExplanation(layer, kind, channel, 0, 0, num / den, False, z.copy(), shift, num, den)
    raise ValueError(f"layer {layer}: no explanation for a {kind!r} layer")


def feeding_channels(layers, layer: int, channel: int) -> list[frozenset[int] | None]:
    """Which channels of each stage a unit of channel ``channel`` of layer ``layer`` depends on:
    entry 0 is layer ``layer`` itself ({channel}), entry k the output of layer ``layer - k``, the
    last the input. None means every channel (below a convolution or a flat layer); pooling,
    activations and dropout keep to the channels they were given."""
    layers = list(layers)
    if not 0 <= layer < len(layers):
        raise ValueError(f"there is no layer {layer}: the model has layers 0 to {len(layers) - 1}")
    current: frozenset[int] | None = frozenset({int(channel)})
    out = [current]
    for lay in reversed(layers[: layer + 1]):
        channel_wise = lay.type not in ("conv2d", "linear", "flatten", "softmax") and len(lay.in_shape) == 3 \
            and len(lay.out_shape) == 3
        current = current if channel_wise else None
        out.append(current)
    return out
