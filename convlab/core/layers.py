"""Layers: each a small forward/backward pair with a cache, built from one spec entry.

A layer is made from its spec dict (``{"type": "conv2d", "filters": 6, "kernel": 5}``),
its position in the model and the shape it receives, so it can check its settings and
say exactly what is wrong (``SpecError``) before any array is touched.

Shapes exclude the batch axis: spatial ``(C, H, W)`` or flat ``(F,)``. Shape arithmetic is done
in Python ints (nothing wraps around), every count is at most MAX_COUNT, and a layer whose
weights or whose output for one sample need more than the memory budget
(:data:`convlab.core.memory.MEMORY_BUDGET`) is a SpecError before its weights are allocated.
Each layer also reports the memory it needs per sample (output, cache, scratch) for
:mod:`convlab.core.memory`.
"""

from __future__ import annotations

import builtins
import math
import numbers
import reprlib
from typing import Any, NoReturn

import numpy as np

from . import functional as F
from . import memory
from .fastpath import engine
from .fastpath.plans import PlanCache
from .sizes import format_bytes

#: the largest value of any count in a spec (filters, units, kernel, stride, padding, dilation, sizes)
MAX_COUNT = 2**31 - 1

_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxstring, _SHOWN.maxother, _SHOWN.maxlong = 3, 40, 40, 40


def shown(v: Any) -> str:
    """A value as a message shows it: short, however long or deeply nested the value is."""
    return _SHOWN.repr(v)


class SpecError(ValueError):
    """A model spec that cannot work; the message names the layer, the field and the numbers.

    ``index`` is the layer at fault (None for the spec as a whole).
    """

    def __init__(self, message: str, index: int | None = None):
        super().__init__(message)
        self.index = index


# --------------------------------------------------------------------------- reading spec values


class _Fields:
    """Reads and checks one layer's spec entry, prefixing every error with the layer's name."""

    def __init__(self, where: str, entry: dict, allowed: tuple[str, ...]):
        self.where = where
        self.entry = entry
        unknown = sorted((k for k in entry if k not in allowed and k != "type"), key=repr)
        if unknown:
            takes = ", ".join(allowed) if allowed else "no settings"
            raise SpecError(f"{where}: unknown field {shown(unknown[0])} ({entry['type']} takes {takes})")

    def fail(self, field: str, text: str) -> NoReturn:
        raise SpecError(f"{self.where}: {field} {text}")

    def _whole(self, field: str, v: Any, minimum: int) -> int:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or (
            not isinstance(v, numbers.Integral) and (not math.isfinite(v) or v != math.floor(v))
        ):
            self.fail(field, f"must be a whole number, got {shown(v)}")
        v = int(v)  # type: ignore[call-overload]  # the stubs give numbers.Real no __int__
        if v < minimum:
            self.fail(field, f"must be at least {minimum}, got {shown(v)}")
        if v > MAX_COUNT:
            self.fail(field, f"must be at most {MAX_COUNT:,}, got {shown(v)}")
        return v

    def int(self, field: str, default=None, minimum: int = 1) -> int:
        v = self.entry.get(field, default)
        if v is None:
            self.fail(field, "is required")
        return self._whole(field, v, minimum)

    def pair(self, field: str, default=None, minimum: builtins.int = 1) -> tuple[builtins.int, builtins.int]:
        v = self.entry.get(field, default)
        if v is None:
            self.fail(field, "is required")
        if isinstance(v, (list, tuple)):
            if len(v) != 2:
                self.fail(field, f"must be one number or a pair [h, w], got {shown(list(v))}")
            return self._whole(field, v[0], minimum), self._whole(field, v[1], minimum)
        n = self._whole(field, v, minimum)
        return n, n

    def float(self, field: str, default: float, lo: float, hi: float, hi_open=False) -> float:
        v: Any = self.entry.get(field, default)
        try:
            fv = float(v) if isinstance(v, numbers.Real) and not isinstance(v, bool) else math.nan
        except OverflowError:  # an int beyond any float
            fv = math.inf
        if not math.isfinite(fv):
            self.fail(field, f"must be a finite number, got {shown(v)}")
        if fv < lo or fv > hi or (hi_open and fv == hi):
            bound = f"[{lo}, {hi})" if hi_open else f"[{lo}, {hi}]"
            self.fail(field, f"must lie in {bound}, got {shown(v)}")
        return fv

    def bool(self, field: str, default: bool) -> bool:
        v = self.entry.get(field, default)
        if not isinstance(v, bool):
            self.fail(field, f"must be true or false, got {shown(v)}")
        return v

    def choice(self, field: str, default: str, options: tuple[str, ...]) -> str:
        v = self.entry.get(field, default)
        if not isinstance(v, str) or v not in options:
            self.fail(field, f"must be one of {', '.join(options)}, got {shown(v)}")
        return v


def _compact(p: tuple[int, int]):
    """An int where the pair is square, else a [h, w] list (the spec's own form)."""
    return p[0] if p[0] == p[1] else [p[0], p[1]]


def _shape_text(shape) -> str:
    return "x".join(str(s) for s in shape)


def _count_text(shape) -> str:
    return " x ".join(f"{s:,}" for s in shape)


# --------------------------------------------------------------------------- base


class Layer:
    """One step of a Sequential model."""

    type = "layer"
    fields: tuple[str, ...] = ()

    def __init__(self, entry: dict, index: int, in_shape: tuple, dtype=np.float32, allocate: bool = True):
        self.index = index
        self.where = f"layer {index} ({self.type})"
        self.in_shape = tuple(int(v) for v in in_shape)
        self.dtype = np.dtype(dtype)
        self.param_shapes: dict[str, tuple[int, ...]] = {}  # set by configure(), before any allocation
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._cache = None
        self.configure(_Fields(self.where, entry, self.fields))
        self.out_shape = tuple(int(v) for v in self.infer_shape())
        self._check_budget()
        if allocate:
            self.allocate()

    def allocate(self) -> None:
        """Create the (zero) parameter arrays; init_params() fills them."""
        self.params = {k: np.zeros(shape, dtype=self.dtype) for k, shape in self.param_shapes.items()}

    def _check_budget(self) -> None:
        budget = memory.MEMORY_BUDGET
        weights = self.param_bytes()
        if weights > budget:
            shape = self.param_shapes.get("weight") or next(iter(self.param_shapes.values()))
            raise SpecError(f"{self.where}: {_count_text(shape)} weights need {format_bytes(weights)}, "
                            f"more than {memory.budget_text()}")
        output = math.prod(self.out_shape) * self.itemsize()
        if output > budget:
            raise SpecError(f"{self.where}: its {_count_text(self.out_shape)} output needs {format_bytes(output)} "
                            f"for one sample, more than {memory.budget_text()}")
        one = weights + self.output_bytes() + self.cache_bytes() + self.work_bytes()
        if one > budget:
            raise SpecError(f"{self.where}: one sample needs {format_bytes(one)} in this layer (its weights, "
                            f"output, what it keeps for the backward pass and its scratch space), more than "
                            f"{memory.budget_text()}")

    # memory, per sample (bytes): see convlab.core.memory
    def itemsize(self) -> int:
        return self.dtype.itemsize

    def param_bytes(self) -> int:
        return sum(math.prod(shape) for shape in self.param_shapes.values()) * self.itemsize()

    def output_bytes(self) -> int:
        """The output of one sample (a view of the input counts nothing)."""
        return math.prod(self.out_shape) * self.itemsize()

    def cache_bytes(self) -> int:
        """What forward keeps for backward, per sample, besides the output."""
        return 0

    def work_bytes(self) -> int:
        """The largest temporaries of forward or backward, per sample."""
        return 2 * math.prod(self.out_shape) * self.itemsize()

    # subclasses override these
    def configure(self, f: _Fields) -> None:
        pass

    def infer_shape(self) -> tuple:
        return self.in_shape

    def config(self) -> dict:
        """The full spec entry, every optional key filled in."""
        return {"type": self.type}

    def forward(self, x: np.ndarray, training: bool = False, rng=None) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray, need_input_grad: bool = True):
        raise NotImplementedError

    # shared facts for the summary
    @property
    def macs(self) -> int:
        return 0

    def axis_math(self) -> list[F.OutputSize]:
        """The per-axis filter math of a windowed layer (height, width); empty otherwise."""
        return []

    def init_params(self, rng: np.random.Generator, gain_kind: str) -> None:
        pass

    def _need_spatial(self):
        if len(self.in_shape) != 3:
            raise SpecError(
                f"{self.where}: needs a spatial input (channels x height x width) "
                f"but receives a flat vector of {self.in_shape[0]} values"
            )


# --------------------------------------------------------------------------- windowed layers


class Conv2d(Layer):
    type = "conv2d"
    fields = ("filters", "kernel", "stride", "padding", "dilation", "padding_mode", "bias")

    def configure(self, f):
        self.filters = f.int("filters")
        self.kernel = f.pair("kernel")
        self.stride = f.pair("stride", 1)
        self.padding = f.pair("padding", 0, minimum=0)
        self.dilation = f.pair("dilation", 1)
        self.padding_mode = f.choice("padding_mode", "zeros", F.PADDING_MODES)
        self.use_bias = f.bool("bias", True)
        self._need_spatial()
        self._plans = PlanCache()
        c = self.in_shape[0]
        self.param_shapes["weight"] = (self.filters, c) + self.kernel
        if self.use_bias:
            self.param_shapes["bias"] = (self.filters,)

    def axis_math(self):
        _, h, w = self.in_shape
        return [
            F.OutputSize(h, self.kernel[0], self.stride[0], self.padding[0], self.dilation[0]),
            F.OutputSize(w, self.kernel[1], self.stride[1], self.padding[1], self.dilation[1]),
        ]

    def _columns(self) -> int:
        """im2col values per sample: C x Fh x Fw for every output position."""
        _, ho, wo = self.out_shape
        return self.in_shape[0] * self.kernel[0] * self.kernel[1] * ho * wo

    def _padded_input(self) -> int:
        c, h, w = self.in_shape
        return c * (h + 2 * self.padding[0]) * (w + 2 * self.padding[1])

    def _explicit_padding(self) -> bool:
        return self.padding_mode != "zeros" and any(self.padding)

    def cache_bytes(self):
        if engine.available:
            # the fast path keeps its input (counted as the layer before's output) and, for reflect /
            # replicate padding, a padded copy; its columns live in fixed blocks of a few hundred KB
            return self._padded_input() * self.itemsize() if self._explicit_padding() else 0
        return self._columns() * self.itemsize()  # the reference keeps the im2col columns

    def work_bytes(self):
        if engine.available:  # backward: the input's gradient (and the padded one's)
            padded = self._padded_input() if self._explicit_padding() else 0
            return (padded + math.prod(self.in_shape)) * self.itemsize()
        # backward: the column gradients, the padded input's gradient and the input's
        return (self._columns() + self._padded_input() + math.prod(self.in_shape)) * self.itemsize()

    def infer_shape(self):
        out = (self.filters,) + _check_axes(self, self.axis_math())
        _, h, w = self.in_shape
        if self.padding_mode == "reflect" and (self.padding[0] >= h or self.padding[1] >= w):
            raise SpecError(
                f"{self.where}: reflect padding {_compact(self.padding)} must be smaller than its "
                f"{h}x{w} input (a mirror needs pixels to mirror)"
            )
        return out

    def config(self):
        return {
            "type": self.type,
            "filters": self.filters,
            "kernel": _compact(self.kernel),
            "stride": _compact(self.stride),
            "padding": _compact(self.padding),
            "dilation": _compact(self.dilation),
            "padding_mode": self.padding_mode,
            "bias": self.use_bias,
        }

    @property
    def macs(self):
        c = self.in_shape[0]
        _, ho, wo = self.out_shape
        return self.filters * c * self.kernel[0] * self.kernel[1] * ho * wo

    def init_params(self, rng, gain_kind):
        fan_in = self.in_shape[0] * self.kernel[0] * self.kernel[1]
        fan_out = self.filters * self.kernel[0] * self.kernel[1]
        _init(rng, self.params["weight"], fan_in, fan_out, gain_kind)
        if self.use_bias:
            self.params["bias"][...] = 0

    def forward(self, x, training=False, rng=None):
        weight, bias = self.params["weight"], self.params.get("bias")
        if engine.active(training, self.macs * x.shape[0]):
            plan = self._plans.get((x.shape, x.dtype), lambda: self._make_plan(x))
            out, state = plan.forward(x, weight, bias)
            self._cache = (plan, state)
            return out
        out, self._cache = F.conv2d_forward(
            x, weight, bias, self.stride, self.padding, self.dilation, self.padding_mode,
        )
        return out

    def _make_plan(self, x):
        from .fastpath.conv import ConvGeometry, ConvPlan

        m = self.axis_math()
        geo = ConvGeometry(
            self.in_shape[0], self.in_shape[1], self.in_shape[2], self.filters, *self.kernel, *self.stride,
            *self.padding, *self.dilation, self.padding_mode, m[0].size, m[1].size,
        )
        return ConvPlan(geo, x.shape[0], x.dtype)

    def backward(self, dout, need_input_grad=True):
        if isinstance(self._cache, F.ConvCache):
            dx, dw, db = F.conv2d_backward(dout, self.params["weight"], self._cache, need_input_grad)
        else:  # the fast path's (plan, state)
            plan, state = self._cache
            dx, dw, db = plan.backward(dout, self.params["weight"], state, need_input_grad)
        self.grads["weight"] = dw
        if self.use_bias:
            self.grads["bias"] = db
        return dx


class _Pool2d(Layer):
    fields = ("kernel", "stride", "padding")

    def configure(self, f):
        self.kernel = f.pair("kernel")
        self.stride = f.pair("stride", list(self.kernel)) if f.entry.get("stride") is not None else self.kernel
        self.padding = f.pair("padding", 0, minimum=0)
        self._need_spatial()
        for axis, p, k in zip(("height", "width"), self.padding, self.kernel, strict=True):
            if 2 * p > k:
                f.fail("padding", f"{p} is more than half the {axis} of the {k}-wide window (at most {k // 2})")

    def axis_math(self):
        _, h, w = self.in_shape
        return [
            F.OutputSize(h, self.kernel[0], self.stride[0], self.padding[0], 1),
            F.OutputSize(w, self.kernel[1], self.stride[1], self.padding[1], 1),
        ]

    def infer_shape(self):
        return (self.in_shape[0],) + _check_axes(self, self.axis_math())

    def config(self):
        return {
            "type": self.type,
            "kernel": _compact(self.kernel),
            "stride": _compact(self.stride),
            "padding": _compact(self.padding),
        }

    def _padded_input(self) -> int:
        c, h, w = self.in_shape
        return c * (h + 2 * self.padding[0]) * (w + 2 * self.padding[1])

    def work_bytes(self):
        # the padded input (or its gradient) and window temporaries of the output's size
        return (self._padded_input() + 3 * math.prod(self.out_shape)) * self.itemsize()


    def _geometry(self):
        from .fastpath.pool import PoolGeometry

        m = self.axis_math()
        return PoolGeometry(*self.kernel, *self.stride, *self.padding, m[0].size, m[1].size)


class MaxPool2d(_Pool2d):
    type = "maxpool2d"
    relu_fused = False  # True after forward_after_relu: backward then gives the gradient before the ReLU

    def cache_bytes(self):
        if engine.available:  # the fast path keeps the winner of each window (one byte each)
            return math.prod(self.out_shape) * (1 if self.kernel[0] * self.kernel[1] < 255 else 4)
        # the padded input is kept for backward (without padding it is the input itself)
        return self._padded_input() * self.itemsize() if any(self.padding) else 0

    def forward(self, x, training=False, rng=None):
        self.relu_fused = False
        if engine.active(training, x.size):
            from .fastpath import pool

            _, out, self._cache = pool.maxpool_forward(x, self._geometry())
            return out
        out, self._cache = F.maxpool2d_forward(x, self.kernel, self.stride, self.padding)
        return out

    def forward_after_relu(self, relu: ReLU, x, training: bool = False):
        """ReLU then this pooling in one pass: (the ReLU's output, the pooled output), or None when
        the fast path is off. The ReLU layer is left as if it had run; this layer's backward then
        returns the gradient with respect to the ReLU's input (the ReLU's mask applied)."""
        if not engine.active(training, x.size):
            return None
        from .fastpath import pool

        y, out, self._cache = pool.maxpool_forward(x, self._geometry(), relu=True)
        relu._cache = y
        self.relu_fused = True
        return y, out

    def backward(self, dout, need_input_grad=True):
        if not need_input_grad:
            return None
        if isinstance(self._cache, tuple):
            return F.maxpool2d_backward(dout, self._cache)
        from .fastpath import pool

        return pool.maxpool_backward(dout, self._cache)


class AvgPool2d(_Pool2d):
    type = "avgpool2d"

    def forward(self, x, training=False, rng=None):
        if engine.active(training, x.size):
            from .fastpath import pool

            out, self._cache = pool.avgpool_forward(x, self._geometry())
            return out
        out, self._cache = F.avgpool2d_forward(x, self.kernel, self.stride, self.padding)
        return out

    def backward(self, dout, need_input_grad=True):
        if not need_input_grad:
            return None
        if isinstance(self._cache, tuple):
            return F.avgpool2d_backward(dout, self._cache)
        from .fastpath import pool

        return pool.avgpool_backward(dout, self._cache)


def _check_axes(layer: Layer, math: list[F.OutputSize]) -> tuple[int, int]:
    what = "kernel" if layer.type == "conv2d" else "window"
    for axis, m in zip(("height", "width"), math, strict=True):
        if m.problem(axis, what):
            raise SpecError(f"{layer.where}: {m.problem(axis, what)}")
    return math[0].size, math[1].size


# --------------------------------------------------------------------------- element-wise


class ReLU(Layer):
    type = "relu"

    def cache_bytes(self):
        return 0  # it keeps its output (counted already): > 0 exactly where the input was

    def forward(self, x, training=False, rng=None):
        self._cache = np.maximum(x, 0)  # the output: > 0 exactly where x > 0
        return self._cache

    def backward(self, dout, need_input_grad=True):
        return np.where(self._cache > 0, dout, 0).astype(dout.dtype, copy=False) if need_input_grad else None


class LeakyReLU(Layer):
    type = "leaky_relu"
    fields = ("slope",)

    def cache_bytes(self):
        return math.prod(self.out_shape)  # a boolean mask

    def configure(self, f):
        self.slope = f.float("slope", 0.01, 0.0, 1.0)

    def config(self):
        return {"type": self.type, "slope": self.slope}

    def forward(self, x, training=False, rng=None):
        self._cache = x > 0
        return np.where(self._cache, x, x * self.dtype.type(self.slope)).astype(x.dtype, copy=False)

    def backward(self, dout, need_input_grad=True):
        if not need_input_grad:
            return None
        return np.where(self._cache, dout, dout * self.dtype.type(self.slope)).astype(dout.dtype, copy=False)


class Tanh(Layer):
    type = "tanh"

    def forward(self, x, training=False, rng=None):
        self._cache = np.tanh(x)
        return self._cache

    def backward(self, dout, need_input_grad=True):
        return dout * (1 - self._cache * self._cache) if need_input_grad else None


class Sigmoid(Layer):
    type = "sigmoid"

    def forward(self, x, training=False, rng=None):
        # tanh form: stable for large |x| in both directions
        self._cache = 0.5 * (np.tanh(0.5 * x) + 1)
        return self._cache

    def backward(self, dout, need_input_grad=True):
        return dout * self._cache * (1 - self._cache) if need_input_grad else None


class Dropout(Layer):
    type = "dropout"
    fields = ("rate",)

    def cache_bytes(self):
        return math.prod(self.out_shape) * self.itemsize()  # the scale of the kept units

    def work_bytes(self):
        return math.prod(self.out_shape) * (8 + 1 + self.itemsize())  # float64 random draws, a mask

    def configure(self, f):
        self.rate = f.float("rate", 0.5, 0.0, 1.0, hi_open=True)

    def config(self):
        return {"type": self.type, "rate": self.rate}

    def forward(self, x, training=False, rng=None):
        if not training or self.rate == 0:
            self._cache = None
            return x
        rng = rng if rng is not None else np.random.default_rng()
        keep = 1.0 - self.rate
        self._cache = (rng.random(x.shape) < keep).astype(x.dtype) / x.dtype.type(keep)
        return x * self._cache

    def backward(self, dout, need_input_grad=True):
        if not need_input_grad:
            return None
        return dout if self._cache is None else dout * self._cache


class Softmax(Layer):
    type = "softmax"

    def configure(self, f):
        if len(self.in_shape) != 1:
            raise SpecError(
                f"{self.where}: softmax turns a vector of class scores into probabilities, but "
                f"receives a {_shape_text(self.in_shape)} map; put flatten and linear layers before it"
            )

    def forward(self, x, training=False, rng=None):
        self._cache = F.softmax(x, axis=1)
        return self._cache

    def backward(self, dout, need_input_grad=True):
        if not need_input_grad:
            return None
        p = self._cache
        return p * (dout - (dout * p).sum(axis=1, keepdims=True))


# --------------------------------------------------------------------------- flat layers


class Flatten(Layer):
    type = "flatten"

    def infer_shape(self):
        return (math.prod(self.in_shape),)

    def output_bytes(self):
        return 0  # a view of the input

    def work_bytes(self):
        return 0

    def forward(self, x, training=False, rng=None):
        return x.reshape(x.shape[0], -1)

    def backward(self, dout, need_input_grad=True):
        return dout.reshape((dout.shape[0],) + self.in_shape) if need_input_grad else None


class Linear(Layer):
    type = "linear"
    fields = ("units", "bias")

    def configure(self, f):
        self.units = f.int("units")
        self.use_bias = f.bool("bias", True)
        if len(self.in_shape) != 1:
            raise SpecError(
                f"{self.where}: receives a {_shape_text(self.in_shape)} map but a linear layer needs a "
                f"flat vector; add a flatten layer before it (it would give {math.prod(self.in_shape)} values)"
            )
        self.param_shapes["weight"] = (self.units, self.in_shape[0])
        if self.use_bias:
            self.param_shapes["bias"] = (self.units,)

    def infer_shape(self):
        return (self.units,)

    def config(self):
        return {"type": self.type, "units": self.units, "bias": self.use_bias}

    @property
    def macs(self):
        return self.units * self.in_shape[0]

    def work_bytes(self):
        return (math.prod(self.out_shape) + self.in_shape[0]) * self.itemsize()  # the product, dx

    def init_params(self, rng, gain_kind):
        w = self.params["weight"]
        _init(rng, w, self.in_shape[0], self.units, gain_kind)
        if self.use_bias:
            self.params["bias"][...] = 0

    def forward(self, x, training=False, rng=None):
        self._cache = x
        w, bias = self.params["weight"], self.params.get("bias")
        macs = self.macs * x.shape[0]
        if engine.parts_for(x.shape[0], macs) > 1 and engine.active(training, macs):
            from .fastpath import linear

            return linear.forward(x, w, bias)
        # for a few samples, BLAS is ~1.7x quicker at W @ x.T than at x @ W.T (measured, OpenBLAS)
        out = np.ascontiguousarray((w @ x.T).T) if x.shape[0] <= 32 else x @ w.T
        if bias is not None:
            out += bias
        return out

    def backward(self, dout, need_input_grad=True):
        x, w = self._cache, self.params["weight"]
        macs = 2 * self.macs * x.shape[0]
        if engine.parts_for(x.shape[0], macs) > 1 and engine.active(False, macs):
            from .fastpath import linear

            dx, self.grads["weight"], db = linear.backward(dout, x, w, need_input_grad)
        else:
            self.grads["weight"] = dout.T @ x
            db = dout.sum(axis=0)
            dx = dout @ w if need_input_grad else None
        if self.use_bias:
            self.grads["bias"] = db
        return dx


def _init(rng, out: np.ndarray, fan_in, fan_out, kind, chunk: int = 1 << 20) -> None:
    """Fill ``out``: He (normal, fan-in) before ReLU-like activations, Xavier (uniform) otherwise.

    Drawn a million values at a time (the same values as one draw), so a large layer never needs
    a float64 copy of itself.
    """
    flat = out.reshape(-1)
    for start in range(0, flat.size, chunk):
        n = min(chunk, flat.size - start)
        if kind == "he":
            flat[start:start + n] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=n)
        else:
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            flat[start:start + n] = rng.uniform(-limit, limit, size=n)


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.type: cls
    for cls in (Conv2d, MaxPool2d, AvgPool2d, ReLU, LeakyReLU, Tanh, Sigmoid, Dropout, Softmax, Flatten, Linear)
}
