"""What a unit wants to see, and where a class looks: activation maximisation, saliency, occlusion.

    target = Target.unit(3, 5, 2, 2)            # layer 3, channel 5, position (2, 2); or
    target = Target.whole_channel(3, 5)         # the mean of that channel; or Target.class_score(7)
    for s in ascend(model, target, AscentSettings(steps=200)):
        ...                                     # s.step, s.objective, s.value, s.image (C, H, W), a copy
    base = noise_baseline(model, target)        # the same target for 20 noise images, to compare with
    sal = saliency_map(model, x)                # |d score / d input|, the largest over the channels, (H, W)
    occ = occlusion_map(model, x)               # how much the score drops when a patch is covered, (H, W)

Every gradient is the model's own backward pass (``Sequential.forward`` then ``backward``), the same
mechanics as the effective receptive field: one unit's output gets a gradient of 1 (or 1/n for
each of a channel's n positions), everything else 0, and backward carries it to the input.

Activation maximisation is gradient *ascent on the input*: start from gray noise and move the
picture a little along the gradient, again and again. Left alone the picture fills with
high-frequency noise that excites the unit but looks like nothing, so three simple regularisers
keep it looking like an image: L2 decay pulls every pixel back towards the middle gray, a small
blur every few steps removes the finest noise, and random jitter (rolling the picture by a pixel
or two before each step) makes it work wherever it sits. The picture stays in the input range.

An element-wise activation (ReLU, tanh, ...) only rises with its input, so a unit of such a layer
is maximised through its input (the conv output before it): a ReLU gives no gradient where its
input is negative, and a saturated tanh almost none. ``objective`` is that quantity; ``value`` is
the chosen layer's own output.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from .model import Sequential
from .receptive_field import receptive_fields
from .settings import MAX_SEED, Range, check_value

__all__ = [
    "Target", "AscentSettings", "AscentStep", "Baseline", "ClassMap", "MONOTONIC_ACTIVATIONS", "check_target",
    "target_problem", "unit_problem", "optimised_layer", "score_layers", "objective_gradient", "target_values",
    "field_size", "jitter_for", "start_image", "blur", "ascend", "noise_baseline", "class_gradient", "saliency_map",
    "occlusion_geometry", "patch_positions", "occlusion_map", "quadrant_share",
]

#: element-wise activations that only rise with their input: maximising their input maximises them
MONOTONIC_ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")
TARGET_KINDS = ("unit", "channel", "class")


# --------------------------------------------------------------------------- what to maximise


@dataclass(frozen=True)
class Target:
    """A quantity of the model to look at: one unit, the mean of one channel, or one class score.

    ``layer`` is the index of the layer whose output holds the unit (unused for a class);
    ``channel`` is the channel (the unit's index in a flat layer; the class for a class score).
    """

    kind: str
    layer: int = 0
    channel: int = 0
    y: int = 0
    x: int = 0

    @classmethod
    def unit(cls, layer: int, channel: int, y: int = 0, x: int = 0) -> Target:
        return cls("unit", int(layer), int(channel), int(y), int(x))

    @classmethod
    def whole_channel(cls, layer: int, channel: int) -> Target:
        return cls("channel", int(layer), int(channel))

    @classmethod
    def class_score(cls, index: int) -> Target:
        return cls("class", 0, int(index))

    def text(self, model: Sequential | None = None) -> str:
        """In words: "layer 3 (conv2d) channel 5 at y 2, x 2", "class 7's score"."""
        if self.kind == "class":
            return f"class {self.channel}'s score"
        name = f"layer {self.layer}"
        if model is not None and 0 <= self.layer < len(model.layers):
            name += f" ({model.layers[self.layer].type})"
        if self.kind == "channel":
            return f"{name} channel {self.channel}, its mean over every position"
        if model is not None and 0 <= self.layer < len(model.layers) and len(model.layers[self.layer].out_shape) == 1:
            return f"{name} unit {self.channel}"
        return f"{name} channel {self.channel} at y {self.y}, x {self.x}"


def score_layers(model: Sequential) -> int:
    """How many layers give the class scores: all of them, or all but a final softmax (scores are
    taken before it, since a probability can rise by lowering the other classes)."""
    return len(model.layers) - 1 if model.ends_with_softmax else len(model.layers)


def _shape_text(shape) -> str:
    return "x".join(str(int(s)) for s in shape)


def check_target(model: Sequential, target: Target) -> None:
    """A ValueError naming the numbers when the model cannot look at this target."""
    if target.kind not in TARGET_KINDS:
        raise ValueError(f"unknown target kind {target.kind!r} (known: {', '.join(TARGET_KINDS)})")
    if len(model.input_shape) != 3:
        raise ValueError(f"the model takes a flat input of {model.input_shape[0]} values, not an image")
    if not model.layers:
        raise ValueError("the model has no layers")
    if target.kind == "class":
        n = score_layers(model)
        shape = model.layers[n - 1].out_shape if n > 0 else model.input_shape
        if n == 0 or len(shape) != 1:
            raise ValueError(f"the model ends in {_shape_text(shape)} maps, not class scores: end it with "
                             "flatten and a linear layer with one unit per class")
        if not 0 <= target.channel < shape[0]:
            raise ValueError(f"there is no class {target.channel}: the model gives {shape[0]} class scores")
        return
    if not 0 <= target.layer < len(model.layers):
        raise ValueError(f"there is no layer {target.layer}: the model has layers 0 to {len(model.layers) - 1}")
    layer = model.layers[target.layer]
    shape = layer.out_shape
    where = f"layer {target.layer} ({layer.type})"
    if not 0 <= target.channel < shape[0]:
        raise ValueError(f"{where} has no channel {target.channel}: it has {shape[0]}")
    if len(shape) == 1:
        if target.kind == "channel":
            raise ValueError(f"{where} is flat: its {shape[0]} units have no channel of positions to average")
        return
    if target.kind == "unit" and not (0 <= target.y < shape[1] and 0 <= target.x < shape[2]):
        raise ValueError(f"{where}: unit (y {target.y}, x {target.x}) is outside its {shape[1]}x{shape[2]} maps")


def target_problem(model: Sequential | None, target: Target) -> str:
    """Why this target cannot be looked at ("" when it can), for a panel to show."""
    if model is None:
        return "the model does not work yet"
    try:
        check_target(model, target)
    except ValueError as e:
        return str(e)
    return ""


def unit_problem(model: Sequential | None) -> str:
    """Why the model has no filter units to look at ("" when it has): no model, a flat input, no conv layer."""
    if model is None:
        return "the model does not work yet"
    if len(model.input_shape) != 3:
        return f"the model takes a flat input of {model.input_shape[0]} values, not an image"
    if not any(layer.type == "conv2d" for layer in model.layers):
        return "the model has no convolution layer, so no filter to look at: add one in the layer table"
    return ""


def optimised_layer(model: Sequential, target: Target) -> int:
    """The layer whose output the ascent raises: the target's own layer, or - for a unit of an
    element-wise rising activation - the layer feeding it (repeatedly); the score layer for a class."""
    if target.kind == "class":
        return score_layers(model) - 1
    i = target.layer
    while i > 0 and model.layers[i].type in MONOTONIC_ACTIVATIONS:
        i -= 1
    return i


def _pick(out: np.ndarray, target: Target) -> tuple[np.ndarray, np.ndarray]:
    """The target's values (N,) in a layer output and d(sum of them) / d output (its one-hot mask)."""
    mask = np.zeros_like(out)
    if target.kind == "channel":
        h, w = out.shape[2:]
        mask[:, target.channel] = 1.0 / (h * w)
        return out[:, target.channel].mean(axis=(1, 2)), mask
    if out.ndim == 4:
        mask[:, target.channel, target.y, target.x] = 1
        return out[:, target.channel, target.y, target.x].copy(), mask
    mask[:, target.channel] = 1
    return out[:, target.channel].copy(), mask


def _run(model: Sequential, x: np.ndarray, target: Target) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Forward far enough for the target: (optimised layer, objective (N,), value (N,), its mask)."""
    check_target(model, target)
    opt = optimised_layer(model, target)
    own = opt if target.kind == "class" else target.layer
    model.forward(x, upto=max(opt, own) + 1)
    objective, mask = _pick(model.activations[opt + 1], target)
    value = objective if own == opt else _pick(model.activations[own + 1], target)[0]
    return opt, objective.astype(np.float64), value.astype(np.float64), mask


def target_values(model: Sequential, x: np.ndarray, target: Target) -> tuple[np.ndarray, np.ndarray]:
    """For a batch x (N, C, H, W): the objective (N,) and the target layer's own value (N,)."""
    _, objective, value, _ = _run(model, x, target)
    return objective, value


def objective_gradient(model: Sequential, x: np.ndarray, target: Target) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a batch x (N, C, H, W): the objective (N,), the target's value (N,) and d objective / d x."""
    opt, objective, value, mask = _run(model, x, target)
    grad = model.backward(mask, start=opt + 1)
    return objective, value, grad


# --------------------------------------------------------------------------- activation maximisation


def _setting(default, lo, hi):
    return field(default=default, metadata={"range": Range(lo, hi)})


@dataclass(frozen=True)
class AscentSettings:
    """How gradient ascent paints the picture (limits as in convlab.core.settings: ``limits(AscentSettings, name)``).

    ``step_size`` is how far each step moves the picture, as a share of the input range: the gradient is
    scaled to a root-mean-square of 1 first, so the same step suits a fresh model and a trained one.
    ``decay`` is the share of every pixel's distance to the middle gray taken away each step (L2 decay);
    ``blur_every`` steps (0: never) the picture is blurred with a Gaussian of ``blur_sigma`` pixels;
    ``jitter`` is the largest random shift, in pixels, before each step (never more than an eighth of the
    target's receptive field: see ``jitter_for``).
    """

    steps: int = _setting(200, 1, 5000)
    step_size: float = _setting(0.05, 0.001, 1.0)
    decay: float = _setting(0.01, 0.0, 0.5)
    blur_every: int = _setting(4, 0, 100)
    blur_sigma: float = _setting(0.5, 0.1, 5.0)
    jitter: int = _setting(1, 0, 16)
    seed: int = _setting(0, 0, MAX_SEED)

    def check(self) -> None:
        """A SettingsError (a ValueError) naming the setting outside its range."""
        for name in ("steps", "step_size", "decay", "blur_every", "blur_sigma", "jitter", "seed"):
            check_value(AscentSettings, name, getattr(self, name), name.replace("_", " "))


@dataclass(frozen=True)
class AscentStep:
    """One step of the ascent: the picture after the step (a copy, C x H x W in the input range), its
    objective and the target's own value, and the objective of the shifted picture the step's gradient
    was taken at (jitter makes the two differ)."""

    step: int
    steps: int
    objective: float
    value: float
    image: np.ndarray = field(repr=False)
    elapsed: float  # seconds since the first step began
    shifted_objective: float = float("nan")


def field_size(model: Sequential, target: Target) -> int:
    """The shorter side of the target's receptive field on the input (the whole input for a flat layer)."""
    h, w = model.input_shape[1:]
    layer = optimised_layer(model, target)
    rf = receptive_fields(model.layers)[layer]
    if rf.is_global or rf.grid_hw is None:
        return min(h, w)
    return min(rf.size_hw[0], rf.size_hw[1], h, w)


def jitter_for(model: Sequential, target: Target, jitter: int) -> int:
    """The jitter the ascent uses: at most ``jitter`` pixels and at most an eighth of the target's
    receptive field, since a shift of 1 pixel is already a fifth of a 5x5 field and undoes every step."""
    return max(0, min(int(jitter), field_size(model, target) // 8))


def start_image(shape, rng: np.random.Generator, value_range=(0.0, 1.0), spread: float = 0.1) -> np.ndarray:
    """Gray noise: the middle of the range plus Gaussian noise of ``spread`` times its width, clipped."""
    lo, hi = value_range
    x = (lo + hi) / 2 + spread * (hi - lo) * rng.standard_normal(tuple(shape))
    return np.clip(x, lo, hi).astype(np.float32)


def blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Each channel of x (C, H, W) blurred with a Gaussian of ``sigma`` pixels (edges mirrored)."""
    out = np.empty_like(x)
    for c in range(x.shape[0]):
        out[c] = cv2.GaussianBlur(x[c], (0, 0), sigmaX=float(sigma), borderType=cv2.BORDER_REFLECT_101)
    return out


def ascend(model: Sequential, target: Target, settings: AscentSettings | None = None,
           value_range=(0.0, 1.0)) -> Iterator[AscentStep]:
    """Gradient ascent on the input from gray noise, one AscentStep per step (stop by not asking for more).

    Each step: roll the picture by a random shift of up to ``jitter_for(...)`` pixels, take the objective's
    gradient there and roll it back, move the picture ``step_size`` along the gradient (scaled to a
    root-mean-square of 1), pull it towards the middle gray (``decay``), blur it every ``blur_every``
    steps and clip it to ``value_range``; then one more forward pass gives the new picture's own
    objective. Seeded: the same settings give the same pictures. A ValueError names what cannot work
    before the first step; a FloatingPointError a gradient that stops being finite.
    """
    s = settings or AscentSettings()
    s.check()
    check_target(model, target)
    lo, hi = float(value_range[0]), float(value_range[1])
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"the input range must run from a lower to a higher number, got {lo} .. {hi}")
    jitter = jitter_for(model, target, s.jitter)
    rng = np.random.default_rng(s.seed)
    x = start_image(model.input_shape, rng, (lo, hi)).astype(model.dtype)
    middle, width = (lo + hi) / 2, hi - lo
    t0 = time.perf_counter()
    for step in range(1, s.steps + 1):
        dy, dx = (int(v) for v in rng.integers(-jitter, jitter + 1, size=2)) if jitter else (0, 0)
        shifted = np.roll(x, (dy, dx), axis=(1, 2))
        shifted_objective, _, grad = objective_gradient(model, shifted[None], target)
        g = np.roll(grad[0], (-dy, -dx), axis=(1, 2)).astype(np.float64)
        if not np.isfinite(g).all():
            raise FloatingPointError(f"step {step}: the gradient of {target.text(model)} is not finite")
        rms = float(np.sqrt(np.mean(g * g)))
        y = x.astype(np.float64)
        if rms > 0:
            y += s.step_size * width * g / rms
        y = middle + (y - middle) * (1.0 - s.decay)
        x = y.astype(model.dtype)
        if s.blur_every and step % s.blur_every == 0:
            x = blur(x, s.blur_sigma)
        np.clip(x, lo, hi, out=x)
        objective, value = target_values(model, x[None], target)  # of the picture itself, as shown
        yield AscentStep(step, s.steps, float(objective[0]), float(value[0]), x.copy(), time.perf_counter() - t0,
                         float(shifted_objective[0]))


@dataclass(frozen=True)
class Baseline:
    """The target for ``count`` pictures of uniform noise over the input range: what "excited" is measured against."""

    objective: np.ndarray = field(repr=False)  # (count,)
    value: np.ndarray = field(repr=False)

    @property
    def mean(self) -> float:
        return float(self.objective.mean())

    @property
    def std(self) -> float:
        return float(self.objective.std())

    def above(self, objective: float) -> float:
        """How many noise standard deviations ``objective`` lies above the noise mean (inf for a flat response)."""
        d = objective - self.mean
        if self.std > 0:
            return d / self.std
        return 0.0 if d == 0 else float(np.copysign(np.inf, d))


def noise_baseline(model: Sequential, target: Target, count: int = 20, seed: int = 0,
                   value_range=(0.0, 1.0)) -> Baseline:
    """The target's objective and value for ``count`` uniform-noise pictures (one batched forward pass)."""
    lo, hi = value_range
    x = np.random.default_rng(seed).uniform(lo, hi, (count,) + tuple(model.input_shape)).astype(model.dtype)
    objective, value = target_values(model, x, target)
    return Baseline(objective, value)


# --------------------------------------------------------------------------- where a class looks


@dataclass(frozen=True)
class ClassMap:
    """A map (H, W) over one input of how much each pixel matters for one class's score."""

    map: np.ndarray = field(repr=False)
    class_index: int
    score: float  # the class score of the input itself (before any softmax)
    predicted: int  # the class with the highest score
    patch: int = 0  # occlusion only: the patch side and stride, in pixels
    stride: int = 0


def _scores(model: Sequential, x: np.ndarray) -> np.ndarray:
    out = model.forward(x, upto=score_layers(model))
    return out.astype(np.float64)


def _class_of(model: Sequential, x: np.ndarray, class_index: int | None) -> tuple[int, np.ndarray]:
    if x.ndim != 3 or tuple(x.shape) != tuple(model.input_shape):
        raise ValueError(f"the input must be one {_shape_text(model.input_shape)} image, got {_shape_text(x.shape)}")
    check_target(model, Target.class_score(0 if class_index is None else class_index))
    scores = _scores(model, x[None])[0]
    return (int(np.argmax(scores)) if class_index is None else int(class_index)), scores


def class_gradient(model: Sequential, x: np.ndarray, class_index: int) -> np.ndarray:
    """d (class score) / d input for one input x (C, H, W)."""
    target = Target.class_score(class_index)
    _, _, grad = objective_gradient(model, np.asarray(x)[None], target)
    return grad[0]


def saliency_map(model: Sequential, x: np.ndarray, class_index: int | None = None) -> ClassMap:
    """|d score / d input|, the largest over the channels (H, W), for ``class_index`` (default: the
    predicted class): the pixels where a small change moves the score most."""
    x = np.asarray(x)
    k, scores = _class_of(model, x, class_index)
    g = np.abs(class_gradient(model, x, k).astype(np.float64)).max(axis=0)
    return ClassMap(g, k, float(scores[k]), int(np.argmax(scores)))


def occlusion_geometry(h: int, w: int) -> tuple[int, int]:
    """Patch side and stride for an h x w input: a patch a seventh of the shorter side (at least 1
    pixel), moved by half of it, so about 13 x 13 positions whatever the size."""
    patch = max(1, int(round(min(h, w) / 7)))
    return patch, max(1, patch // 2)


def patch_positions(size: int, patch: int, stride: int) -> list[int]:
    """Where patches start along an axis of ``size`` pixels, the last one flush with the far edge."""
    if patch > size:
        return [0]
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


def occlusion_map(model: Sequential, x: np.ndarray, class_index: int | None = None, patch: int | None = None,
                  stride: int | None = None, fill: str = "mean", batch: int = 16) -> ClassMap:
    """How much the class score drops when a square patch of the input is covered (gradient-free).

    The patch (``fill`` "mean": each channel's mean of x, or "zero") slides over the input; each pixel's
    value is the mean drop (score of x - score with the patch) over the patches covering it, so a
    positive value means covering it lowers the score. Patches go through the model ``batch`` at a time.
    """
    x = np.asarray(x)
    k, scores = _class_of(model, x, class_index)
    c, h, w = x.shape
    p0, s0 = occlusion_geometry(h, w)
    p, s = int(patch or p0), int(stride or s0)
    if p < 1 or s < 1:
        raise ValueError(f"the occlusion patch and stride must be at least 1 pixel, got {p} and {s}")
    if fill not in ("mean", "zero"):
        raise ValueError(f"the occlusion fill must be 'mean' or 'zero', got {fill!r}")
    value = x.mean(axis=(1, 2), keepdims=True) if fill == "mean" else np.zeros((c, 1, 1))
    boxes = [(t, left) for t in patch_positions(h, p, s) for left in patch_positions(w, p, s)]
    drop = np.zeros((h, w))
    count = np.zeros((h, w))
    for i in range(0, len(boxes), max(1, batch)):
        chunk = boxes[i:i + max(1, batch)]
        xs = np.repeat(x[None], len(chunk), axis=0).astype(model.dtype)
        for j, (t, left) in enumerate(chunk):
            xs[j, :, t:t + p, left:left + p] = value
        covered = _scores(model, xs)[:, k]
        for (t, left), sc in zip(chunk, covered, strict=True):
            drop[t:t + p, left:left + p] += scores[k] - sc
            count[t:t + p, left:left + p] += 1
    return ClassMap(drop / np.maximum(count, 1), k, float(scores[k]), int(np.argmax(scores)), p, s)


def quadrant_share(heat: np.ndarray, quadrant: str = "top-left") -> float:
    """The share of a map's positive mass inside one quadrant ("top-left", "top-right", ...)."""
    m = np.clip(np.asarray(heat, dtype=np.float64), 0, None)
    total = m.sum()
    if total <= 0:
        return 0.0
    h, w = m.shape
    vertical, horizontal = quadrant.split("-")
    rows = slice(0, h // 2) if vertical == "top" else slice(h - h // 2, h)
    cols = slice(0, w // 2) if horizontal == "left" else slice(w - w // 2, w)
    return float(m[rows, cols].sum() / total)
