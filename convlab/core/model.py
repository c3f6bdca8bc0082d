"""Sequential: a model built from the JSON-able spec that the whole app shares.

    spec = {"input": [1, 28, 28], "layers": [{"type": "conv2d", "filters": 6, "kernel": 5}, ...]}

State-dict keys follow PyTorch's ``nn.Sequential`` ("0.weight", "3.bias"), so weights move
to PyTorch with one ``load_state_dict`` and back.

A spec is data a user typed or a file held: :func:`build_layers` raises only :class:`SpecError`
for anything wrong with it - at most MAX_LAYERS layers, whole and finite sizes, and a forward
pass of one sample within the memory budget (:mod:`convlab.core.memory`; checked from the shapes
before a weight is allocated) - and :func:`analyze_spec` never raises at all. The report and the
summary carry the memory estimate: per layer, and in total for a forward pass at batch 1 and for
a training batch of any size.
"""

from __future__ import annotations

import copy
import json
import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from . import memory
from .layers import LAYER_TYPES, MAX_COUNT, Layer, MaxPool2d, ReLU, SpecError, shown
from .memory import LayerMemory, MemoryEstimate
from .receptive_field import RFRecord, receptive_fields
from .sizes import format_bytes

#: the most layers a spec may have (a session holds no more either)
MAX_LAYERS = 500

_RELU_LIKE = ("relu", "leaky_relu")


def _input_shape(spec) -> tuple:
    if not isinstance(spec, dict):
        raise SpecError(f"a model spec must be a dict with 'input' and 'layers', got {type(spec).__name__}")
    unknown = sorted((k for k in spec if k not in ("input", "layers")), key=repr)
    if unknown:
        raise SpecError(f"model spec: unknown field {shown(unknown[0])} (a spec has 'input' and 'layers')")
    shape = spec.get("input")
    if not isinstance(shape, (list, tuple)) or len(shape) not in (1, 3):
        raise SpecError(f"model spec: input must be [channels, height, width] (or [features]), got {shown(shape)}")
    for v in shape:
        whole = not isinstance(v, bool) and isinstance(v, numbers.Real) and (
            isinstance(v, numbers.Integral) or (math.isfinite(v) and v == math.floor(v)))
        if not whole or not 1 <= v <= MAX_COUNT:
            raise SpecError(f"model spec: input sizes must be whole numbers from 1 to {MAX_COUNT:,}, "
                            f"got {shown(list(shape))}")
    layers = spec.get("layers")
    if not isinstance(layers, (list, tuple)):
        raise SpecError(f"model spec: layers must be a list, got {shown(layers)}")
    if len(layers) > MAX_LAYERS:
        raise SpecError(f"model spec: {len(layers):,} layers, more than the limit of {MAX_LAYERS}")
    return tuple(int(v) for v in shape)


def build_layers(spec, dtype=np.float32, allocate: bool = True) -> list[Layer]:
    """Check a spec and build its layers; raises SpecError naming the first layer that cannot work.

    Besides each layer's own checks, the forward pass of one sample - weights, activations and
    scratch up to each layer - must fit the memory budget (checked before anything is allocated).
    ``allocate=False`` builds the layers without their weight arrays (for analysis).
    """
    shape = _input_shape(spec)
    itemsize = np.dtype(dtype).itemsize
    budget = memory.MEMORY_BUDGET
    input_bytes = math.prod(shape) * itemsize
    if input_bytes > budget:
        raise SpecError(f"model spec: the {' x '.join(f'{v:,}' for v in shape)} input needs "
                        f"{format_bytes(input_bytes)} for one sample, more than {memory.budget_text()}")
    layers: list[Layer] = []
    entries = spec["layers"]
    weights = activations = work = 0
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "type" not in entry:
            raise SpecError(f"layer {i}: must be a dict with a 'type', got {shown(entry)}", index=i)
        kind = entry["type"]
        cls = LAYER_TYPES.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise SpecError(f"layer {i}: unknown layer type {shown(kind)} (known: {', '.join(LAYER_TYPES)})",
                            index=i)
        if kind == "softmax" and i != len(entries) - 1:
            raise SpecError(
                f"layer {i} (softmax): softmax gives the final probabilities and must be the last layer", index=i
            )
        try:
            layer = cls(entry, i, shape, dtype, allocate=False)
        except SpecError as e:
            e.index = i
            raise
        share = LayerMemory.of(layer)
        weights += share.param_bytes
        activations += share.activation_bytes
        work = max(work, share.work_bytes)
        total = weights + input_bytes + activations + work
        if total > budget:
            raise SpecError(
                f"{layer.where}: a forward pass of one sample needs {format_bytes(total)} up to this layer "
                f"({format_bytes(weights)} of weights, {format_bytes(input_bytes + activations + work)} of "
                f"activations and scratch), more than {memory.budget_text()}", index=i)
        layers.append(layer)
        shape = layer.out_shape
    if allocate:
        for layer in layers:
            layer.allocate()
    return layers


@dataclass
class LayerSummary:
    index: int
    type: str
    output_shape: tuple
    weights: int
    biases: int
    macs: int
    rf: RFRecord
    notes: list[str] = field(default_factory=list)
    memory: LayerMemory | None = None  # weights (bytes) and, per sample, output, cache and scratch

    @property
    def params(self) -> int:
        return self.weights + self.biases

    @property
    def forward_bytes(self) -> int:
        """This layer's weights and its activations and scratch for one sample."""
        return self.memory.forward_bytes(1) if self.memory is not None else 0

    def training_bytes(self, batch_size: int) -> int:
        """This layer's share of a training step on batches of ``batch_size``."""
        return self.memory.training_bytes(batch_size) if self.memory is not None else 0


class _Totals:
    """Totals over the summarised layers (``_rows``) and the memory they need."""

    _rows: list
    input_shape: tuple | None

    @property
    def memory(self) -> MemoryEstimate:
        """The memory estimate of the summarised layers (see convlab.core.memory)."""
        shares = tuple(r.memory for r in self._rows if r.memory is not None)
        itemsize = 4
        input_bytes = math.prod(self.input_shape) * itemsize if self.input_shape else 0
        return MemoryEstimate(input_bytes, shares)

    @property
    def forward_bytes(self) -> int:
        """A forward pass of one sample: weights, activations and scratch."""
        return self.memory.forward_bytes(1)

    def training_bytes(self, batch_size: int) -> int:
        """One training step on batches of ``batch_size``."""
        return self.memory.training_bytes(batch_size)

    def training_problem(self, batch_size: int) -> str:
        """Why training on batches of ``batch_size`` does not fit the memory budget ("" if it does)."""
        return self.memory.training_problem(batch_size)

    @property
    def total_weights(self) -> int:
        return sum(r.weights for r in self._rows)

    @property
    def total_biases(self) -> int:
        return sum(r.biases for r in self._rows)

    @property
    def total_params(self) -> int:
        return self.total_weights + self.total_biases

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self._rows)


@dataclass
class ModelSummary(_Totals):
    input_shape: tuple
    layers: list[LayerSummary]

    @property
    def _rows(self):
        return self.layers

    def __str__(self) -> str:
        head = (f"{'#':>3} {'layer':<11} {'output':<12} {'weights':>8} {'biases':>7} {'mult-adds':>11} "
                f"{'RF':>7} {'jump':>5}")
        rows = [head, f"    {'input':<11} {'x'.join(map(str, self.input_shape)):<12}"]
        for s in self.layers:
            shape = "x".join(map(str, s.output_shape))
            rf = "all" if s.rf.is_global else _pair_text(s.rf.size)
            rows.append(
                f"{s.index:>3} {s.type:<11} {shape:<12} {s.weights:>8,} {s.biases:>7,} {s.macs:>11,} "
                f"{rf:>7} {_pair_text(s.rf.jump):>5}"
            )
            rows += [f"      ! {n}" for n in s.notes]
        rows.append(
            f"    {'total':<11} {'':<12} {self.total_weights:>8,} {self.total_biases:>7,} {self.total_macs:>11,}"
        )
        rows.append(f"    {self.total_params:,} parameters")
        rows.append(f"    memory: {format_bytes(self.forward_bytes)} for a forward pass of one sample, "
                    f"{format_bytes(self.training_bytes(32))} to train on batches of 32")
        return "\n".join(rows)


def _pair_text(v) -> str:
    return f"{v[0]}x{v[1]}" if isinstance(v, tuple) else str(v)


@dataclass
class SpecReport(_Totals):
    """A spec checked layer by layer, for a panel that marks the first layer that cannot work.

    ``rows`` summarise the layers that work (with receptive fields); ``error_index`` is the
    first layer that does not (None when all do) and ``error`` says why; the layers after it
    have no shape to report.
    """

    input_shape: tuple | None
    rows: list[LayerSummary]
    error_index: int | None = None
    error: str = ""
    training_error: str = ""  # analyze_spec(spec, batch_size=N): why batches of N do not fit the budget

    @property
    def ok(self) -> bool:
        return self.error_index is None and not self.error

    @property
    def _rows(self):
        return self.rows


def analyze_spec(spec, batch_size: int | None = None) -> SpecReport:
    """Check a spec and summarise every layer up to the first that cannot work (never raises).

    Nothing is allocated: shapes, parameter counts, receptive fields and the memory estimate come
    from the shapes alone. With ``batch_size``, ``training_error`` says why training on batches of
    that size would not fit the memory budget ("" when it would, or when the spec does not build).
    """
    return _report(spec, batch_size, allocate=False)[0]


def design_model(spec, seed=None, batch_size: int | None = None) -> tuple[SpecReport, Sequential | None]:
    """One build of a spec: its report and, when every layer works, the model made of those same
    layers with fresh weights from ``seed`` (None when a layer cannot work). Never raises; a spec
    beyond the memory budget is a report with its reason and no model (nothing was allocated)."""
    report, layers = _report(spec, batch_size, allocate=True)
    if not report.ok or report.input_shape is None:
        return report, None
    model = Sequential(layers, report.input_shape, seed)
    model.reset_parameters(seed)
    return report, model


def _report(spec, batch_size: int | None, allocate: bool) -> tuple[SpecReport, list[Layer]]:
    try:
        report, layers = _analyze(spec, allocate)
    except MemoryError:  # the budget keeps specs far below this; the machine may still run short
        return SpecReport(None, [], None, "not enough memory to build this model"), []
    except Exception as e:  # a last resort: every problem a spec can have is a SpecError above
        return SpecReport(None, [], None, f"the spec cannot be checked ({type(e).__name__}: {shown(e)})"), []
    if batch_size is not None and report.ok:
        report.training_error = report.training_problem(batch_size)
    return report, layers


def _analyze(spec, allocate: bool) -> tuple[SpecReport, list[Layer]]:
    try:
        shape = _input_shape(spec)
    except SpecError as e:
        return SpecReport(None, [], None, str(e)), []
    try:
        layers = build_layers(spec, allocate=allocate)
        return SpecReport(shape, _summarise(layers)), layers
    except SpecError as e:
        if e.index is None:
            return SpecReport(shape, [], None, str(e)), []
        # every layer before the failing one was built: summarise them
        before = build_layers({"input": list(shape), "layers": list(spec["layers"][: e.index])}, allocate=False)
        return SpecReport(shape, _summarise(before), e.index, str(e)), []


def _summarise(layers) -> list[LayerSummary]:
    rows = []
    for layer, rf in zip(layers, receptive_fields(layers), strict=True):
        w = layer.param_shapes.get("weight")
        b = layer.param_shapes.get("bias")
        notes = []
        for axis, m in zip(("height", "width"), layer.axis_math(), strict=False):  # none for flat layers
            if not m.whole:
                notes.append(
                    f"output {axis} {m.formula()}: the division is not whole, the engine floors it "
                    f"and the last {m.numerator % m.stride} row(s)/column(s) of the padded input are never used"
                )
        rows.append(
            LayerSummary(
                layer.index, layer.type, layer.out_shape,
                0 if w is None else math.prod(w), 0 if b is None else math.prod(b), layer.macs, rf, notes,
                LayerMemory.of(layer),
            )
        )
    return rows


class Sequential:
    """A stack of layers with forward/backward, parameters and a PyTorch-shaped state dict."""

    def __init__(self, layers: list[Layer], input_shape: tuple, seed=None):
        self.layers = layers
        self.input_shape = tuple(input_shape)
        self.rng = np.random.default_rng(seed)
        self.activations: list[np.ndarray] = []

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_spec(cls, spec, seed=None, dtype=np.float32) -> Sequential:
        layers = build_layers(spec, dtype)
        model = cls(layers, _input_shape(spec), seed)
        model.reset_parameters(seed)
        return model

    def reset_parameters(self, seed=None) -> None:
        """Fresh weights: He before ReLU-like activations, Xavier otherwise; biases zero."""
        rng = np.random.default_rng(seed)
        for i, layer in enumerate(self.layers):
            nxt = self.layers[i + 1].type if i + 1 < len(self.layers) else None
            layer.init_params(rng, "he" if nxt in _RELU_LIKE else "xavier")

    def spec(self) -> dict:
        """The full spec, every optional key filled in (a JSON-able dict)."""
        return {"input": list(self.input_shape), "layers": [layer.config() for layer in self.layers]}

    @property
    def output_shape(self) -> tuple:
        return self.layers[-1].out_shape if self.layers else self.input_shape

    @property
    def dtype(self):
        for layer in self.layers:
            return layer.dtype
        return np.dtype(np.float32)

    # ------------------------------------------------------------------ compute

    def check_input(self, x) -> np.ndarray:
        """The batch as the model's dtype, or a ValueError saying what is wrong with it."""
        if not isinstance(x, np.ndarray):
            raise ValueError(f"the input must be a NumPy array, got {type(x).__name__}")
        if x.dtype.kind not in "fiu":
            raise ValueError(f"the input must hold real numbers, got dtype {x.dtype}")
        want = self.input_shape
        if x.ndim != len(want) + 1 or tuple(x.shape[1:]) != want:
            got = "x".join(map(str, x.shape)) or "a scalar"
            raise ValueError(
                f"the model takes a batch of N x {'x'.join(map(str, want))} inputs, got {got}"
                + (" (add a batch axis: x[None])" if tuple(x.shape) == want else "")
            )
        if x.shape[0] == 0:
            raise ValueError("the input batch is empty")
        x = x.astype(self.dtype, copy=False)
        if not np.isfinite(x).all():
            raise ValueError("the input holds NaN or infinite values")
        return x

    def forward(self, x, training: bool = False, upto: int | None = None) -> np.ndarray:
        """Run the layers (all, or layers[:upto]) keeping every activation: activations[0] is the input."""
        x = self.check_input(x)
        self.activations = [x]
        layers = self.layers[:upto]
        i = 0
        while i < len(layers):
            layer = layers[i]
            fused = None
            if layer.type == "relu" and i + 1 < len(layers) and layers[i + 1].type == "maxpool2d":
                pool = layers[i + 1]
                assert isinstance(pool, MaxPool2d) and isinstance(layer, ReLU)
                fused = pool.forward_after_relu(layer, x, training)  # None on the reference path
            if fused is not None:
                self.activations += fused
                x = fused[1]
                i += 2
                continue
            x = layer.forward(x, training, self.rng)
            self.activations.append(x)
            i += 1
        return x

    def backward(self, dout, start: int | None = None, need_input_grad: bool = True):
        """Back-propagate dout from the output of layers[start - 1] (default: the last layer).

        Fills every layer's ``grads`` and returns the gradient with respect to the input (or
        None with ``need_input_grad=False``, which skips the costly first-layer col2im).
        """
        start = len(self.layers) if start is None else start
        i = start - 1
        while i >= 0:
            layer = self.layers[i]
            dout = layer.backward(dout, need_input_grad or i > 0)
            if getattr(layer, "relu_fused", False):
                i -= 1  # the ReLU before it: its mask is already applied
                if i == 0 and not need_input_grad:
                    dout = None
            i -= 1
        return dout

    def predict_proba(self, x) -> np.ndarray:
        """Class probabilities: softmax of the output (unless the model already ends with one)."""
        from .functional import softmax

        out = self.forward(x)
        return out if self.ends_with_softmax else softmax(out, axis=1)

    @property
    def ends_with_softmax(self) -> bool:
        return bool(self.layers) and self.layers[-1].type == "softmax"

    # ------------------------------------------------------------------ parameters

    def parameters(self) -> dict[str, np.ndarray]:
        """Name -> the live parameter array ("0.weight", ...)."""
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    def gradients(self) -> dict[str, np.ndarray]:
        """Name -> gradient of the last backward pass (same keys as parameters())."""
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()}

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters under PyTorch nn.Sequential's keys."""
        return {k: v.copy() for k, v in self.parameters().items()}

    def load_state_dict(self, state: dict) -> None:
        """Load weights; checks every key and shape first, so a bad dict changes nothing."""
        own = self.parameters()
        missing = sorted(set(own) - set(state))
        extra = sorted(set(state) - set(own))
        if missing or extra:
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                [f"unexpected {', '.join(extra)}"] if extra else []
            )
            raise ValueError(f"state dict does not fit this model: {'; '.join(parts)}")
        arrays = {}
        for k, target in own.items():
            a = np.asarray(state[k])
            if a.shape != target.shape:
                raise ValueError(f"state dict: {k} has shape {a.shape}, the model needs {target.shape}")
            if a.dtype.kind not in "fiu" or not np.isfinite(a).all():
                raise ValueError(f"state dict: {k} must hold finite real numbers")
            arrays[k] = a
        for k, a in arrays.items():
            own[k][...] = a

    def num_parameters(self) -> int:
        return sum(v.size for v in self.parameters().values())

    def memory(self) -> MemoryEstimate:
        """What this model needs in memory (see convlab.core.memory)."""
        return MemoryEstimate.of(self.input_shape, self.layers, np.dtype(self.dtype).itemsize)

    # ------------------------------------------------------------------ facts for the UI

    def summary(self) -> ModelSummary:
        return ModelSummary(self.input_shape, _summarise(self.layers))

    def copy(self) -> Sequential:
        return copy.deepcopy(self)


def spec_to_json(spec) -> str:
    return json.dumps(spec, indent=2)
