"""The filter playground's engine: a bank of K filters on one image, the filter math, the
arithmetic behind any output pixel, pooling and a 1x1 mix after the bank, and display scaling.

Pixel values stay on the 0-255 scale of the image, so "clamp to [0, 255]" means what it says.
The bank runs on ``cv2.filter2D`` (one call per filter and channel, or one per filter when its
channels share a kernel; see ``_bank_maps``), which tests prove equal to ``functional.conv2d_forward``;
pooling and the 1x1 mix run on the engine's layers. Shapes, parameter counts and formulas come from
the same ``OutputSize`` the layers use.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from . import functional as F
from .images import to_gray, to_rgb
from .settings import ConvSettings

DISPLAY_MODES = ("raw", "abs", "clamp", "minmax")
DISPLAY_LABELS = {
    "raw": "Raw (signed, diverging colours)",
    "abs": "Absolute value",
    "clamp": "Clamp to [0, 255]",
    "minmax": "Min-max normalise",
}


@dataclass(frozen=True, eq=False)
class PostSettings:
    """What follows the bank: optional pooling, then an optional 1x1 convolution."""

    pool: str = "none"  # none | max | avg
    pool_kernel: int = 2
    pool_stride: int = 2
    mix: np.ndarray | None = None  # (M, K) weights of the 1x1 convolution
    mix_bias: np.ndarray | None = None  # (M,)

    def __eq__(self, other):
        if not isinstance(other, PostSettings):
            return NotImplemented
        same_pool = (self.pool, self.pool_kernel, self.pool_stride) == (other.pool, other.pool_kernel,
                                                                        other.pool_stride)
        return same_pool and all(
            (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))
            for a, b in ((self.mix, other.mix), (self.mix_bias, other.mix_bias))
        )

    __hash__ = None  # type: ignore[assignment]  # mutable: compared by value, never hashed


@dataclass(eq=False)
class FilterBank:
    """K filters for a C-channel input: weights (K, C, F, F), biases (K,), a name for each.

    Equality is by value (same weights, biases and names).
    """

    weights: np.ndarray
    biases: np.ndarray
    names: list[str] = field(default_factory=list)

    def __post_init__(self):
        w = np.asarray(self.weights, dtype=np.float32)
        if w.ndim != 4 or w.shape[2] != w.shape[3] or w.shape[0] < 1:
            raise ValueError(f"a filter bank is K x C x F x F, got shape {w.shape}")
        if not np.isfinite(w).all():
            raise ValueError("filter weights must be finite numbers")
        self.weights = w
        b = np.zeros(w.shape[0], np.float32) if self.biases is None else np.asarray(self.biases, np.float32)
        if b.shape != (w.shape[0],):
            raise ValueError(f"the bank has {w.shape[0]} filters but {b.shape} biases")
        self.biases = b
        self.names = list(self.names) + ["custom"] * (w.shape[0] - len(self.names))

    def __eq__(self, other):
        if not isinstance(other, FilterBank):
            return NotImplemented
        return (
            self.names == other.names
            and np.array_equal(self.weights, other.weights)
            and np.array_equal(self.biases, other.biases)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable: compared by value, never hashed

    @property
    def count(self) -> int:
        return self.weights.shape[0]

    @property
    def channels(self) -> int:
        return self.weights.shape[1]

    @property
    def size(self) -> int:
        return self.weights.shape[2]

    def copy(self) -> FilterBank:
        return FilterBank(self.weights.copy(), self.biases.copy(), list(self.names))


def image_to_input(image: np.ndarray, color: str) -> np.ndarray:
    """A uint8 image as the bank's (C, H, W) float32 input on the 0-255 scale, gray or RGB."""
    if color == "gray":
        return to_gray(image).astype(np.float32)[None]
    if color == "rgb":
        return np.ascontiguousarray(to_rgb(image).transpose(2, 0, 1), dtype=np.float32)
    raise ValueError(f"colour must be 'gray' or 'rgb', got {color!r}")


# --------------------------------------------------------------------------- the bank


@dataclass
class BankResult:
    maps: np.ndarray  # (K, H', W') the bank's output
    math: tuple[F.OutputSize, F.OutputSize]  # height, width
    pooled: np.ndarray | None = None  # (K, Hp, Wp)
    pool_math: tuple[F.OutputSize, F.OutputSize] | None = None
    mixed: np.ndarray | None = None  # (M, ., .)


def bank_math(shape_hw: tuple[int, int], kernel: int, settings: ConvSettings) -> tuple[F.OutputSize, F.OutputSize]:
    h, w = shape_hw
    s = settings
    return (
        F.OutputSize(h, kernel, s.stride, s.padding, s.dilation),
        F.OutputSize(w, kernel, s.stride, s.padding, s.dilation),
    )


def check_geometry(shape_hw, kernel: int, settings: ConvSettings) -> tuple[F.OutputSize, F.OutputSize]:
    """The per-axis math, or a ValueError naming the axis and the numbers when it cannot work."""
    settings.check(kernel)
    math = bank_math(shape_hw, kernel, settings)
    for axis, m in zip(("height", "width"), math, strict=True):
        if m.problem(axis):
            raise ValueError(m.problem(axis))
    if settings.padding_mode == "reflect" and settings.padding >= min(shape_hw):
        raise ValueError(f"reflect padding {settings.padding} must be smaller than the image "
                         f"({shape_hw[0]}x{shape_hw[1]})")
    return math


def dilate_kernel(k: np.ndarray, d: int) -> np.ndarray:
    """Insert d-1 zeros between the taps of a 2-D kernel: the kernel cv2 sees for dilation d."""
    if d == 1:
        return k
    f = k.shape[-1]
    out = np.zeros(k.shape[:-2] + (d * (f - 1) + 1,) * 2, dtype=k.dtype)
    out[..., ::d, ::d] = k
    return out


def apply_bank(x: np.ndarray, bank: FilterBank, settings: ConvSettings, post: PostSettings | None = None) -> BankResult:
    """Run the bank on x (C, H, W): K output maps, and pooling / 1x1 mix after them if asked."""
    c, h, w = x.shape
    if bank.channels != c:
        raise ValueError(f"the filters have {bank.channels} channel(s) but the image has {c}")
    math = check_geometry((h, w), bank.size, settings)
    result = BankResult(_bank_maps(np.ascontiguousarray(x, dtype=np.float32), bank, settings, math), math)
    if post is not None:
        _apply_post(result, post)
    return result


# Live video runs the bank on every frame in a worker thread while the GUI thread runs Python:
# each return from an OpenCV / NumPy call that let go of the GIL may wait up to the switch interval
# (5 ms) to get it back, so the bank is built to make few large native calls, not many small ones.
#   * one cv2.filter2D per (filter, channel): channel 0 straight into the output maps with the bias
#     as its delta, the other channels into scratch planes, then added by one cv2.add per channel
#     for all the filters at once (the maps are one (K*H, W) image); 8 filters of 3 channels are
#     24 + 2 calls, where adding per filter would be 24 + 16;
#   * a filter whose channels all hold one kernel up to a scale (a spatial preset on an RGB image
#     puts kernel / C on every channel) is that kernel on the scaled sum of the channels: one call,
#     not C; the sums are made once per call by one einsum, shared by the filters that need them;
#   * the padding is the border cv2 invents (anchor at (p, p)) when it is at most "same" padding
#     (2p <= the dilated kernel's span - 1), so no padded copy of the image is made;
#   * the filter2D plan (kernels dilated, sums found) is cached on the weights' values.
# cv2.dnn (one Conv layer from a tiny ONNX model: one call for the whole bank) was measured and
# not taken: it needs about twice filter2D's CPU time for these shapes (OpenCV 5.0, 8x3x5x5 on
# 640x480), so it only wins when the other thread holds the GIL nearly all the time, and then it
# takes a core from that thread. benchmarks/bench_bank.py --dnn prints both.

_BORDERS = {"zeros": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101, "replicate": cv2.BORDER_REPLICATE}
_SHARED_TOLERANCE = 1e-6  # relative residual under which a filter's channels count as one kernel
_PLAN_CACHE_SIZE = 8
_SCRATCH_BYTES = 32 << 20  # planes held at once for the second and later terms of the filters


@dataclass(frozen=True)
class _BankPlan:
    """The bank as filter2D calls. Sources 0..C-1 are the input channels, C + m the m-th row of
    ``mixes`` applied to them; each filter is a sum of (source, dilated kernel) terms plus its bias."""

    mixes: np.ndarray  # (M, C) float32
    terms: tuple[tuple[tuple[int, np.ndarray], ...], ...]  # per filter
    biases: tuple[float, ...]


_plans: dict[tuple, _BankPlan] = {}
_plans_lock = threading.Lock()


def _channel_scales(wk: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(scales (C,), kernel (F, F)) when channel c of wk (C, F, F) is scales[c] * kernel; else None.

    The kernel is the channel with the largest tap (scale 1 exactly), so replicated channels are
    found exactly; wk must not be all zeros.
    """
    flat = wk.reshape(wk.shape[0], -1).astype(np.float64)
    r = int(np.abs(flat).max(axis=1).argmax())
    scales = flat @ flat[r] / (flat[r] @ flat[r])
    if np.abs(flat - scales[:, None] * flat[r]).max() > _SHARED_TOLERANCE * np.abs(flat[r]).max():
        return None
    return scales.astype(np.float32), wk[r]


def _build_plan(weights: np.ndarray, biases: np.ndarray, dilation: int) -> _BankPlan:
    c = weights.shape[1]
    mixes: dict[bytes, int] = {}  # scales -> source index
    terms = []
    for wk in weights:
        used = [ch for ch in range(c) if wk[ch].any()]  # an all-zero channel adds nothing
        shared = _channel_scales(wk[used]) if len(used) > 1 else None
        if shared is None:
            filt = [(ch, wk[ch]) for ch in used]
        else:
            scales = np.zeros(c, np.float32)
            scales[used] = shared[0]
            filt = [(mixes.setdefault(scales.tobytes(), c + len(mixes)), shared[1])]
        terms.append(tuple((src, np.ascontiguousarray(dilate_kernel(k, dilation), np.float32)) for src, k in filt))
    rows = [np.frombuffer(key, np.float32) for key in mixes]  # dicts keep insertion order: index c + i
    return _BankPlan(np.array(rows, np.float32).reshape(len(rows), c), tuple(terms), tuple(float(b) for b in biases))


def _plan(bank: FilterBank, dilation: int) -> _BankPlan:
    w = bank.weights
    key = (w.shape, w.tobytes(), bank.biases.tobytes(), dilation)
    with _plans_lock:
        plan = _plans.get(key)
    if plan is None:
        plan = _build_plan(w, bank.biases, dilation)
        with _plans_lock:
            while len(_plans) >= _PLAN_CACHE_SIZE:
                del _plans[next(iter(_plans))]  # oldest first
            _plans[key] = plan
    return plan


_scratch = threading.local()  # per thread: name -> the last scratch array of that name


def _scratch_planes(name: str, shape: tuple) -> np.ndarray:
    """A float32 scratch array kept between calls (per thread, one per name and shape in use).

    Fresh planes of a 640x480 bank are tens of MB a call, every page of them faulted in and zeroed
    by the kernel on first touch: reusing them took a 32-filter 3x3x3 bank from 22.2 to 16.6 ms.
    """
    planes = getattr(_scratch, "planes", None)
    if planes is None:
        planes = _scratch.planes = {}
    a = planes.get(name)
    if a is None or a.shape != shape:
        a = planes[name] = np.empty(shape, np.float32)
    return a


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """Sorted indices as (start, stop) runs of consecutive numbers: [0, 1, 2, 5] -> [(0, 3), (5, 6)]."""
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


def _bank_maps(x: np.ndarray, bank: FilterBank, settings: ConvSettings, math) -> np.ndarray:
    """The K maps of the bank on x (C, H, W) float32, as conv2d_forward computes them."""
    ho, wo = math[0].size, math[1].size
    s, p = int(settings.stride), int(settings.padding)
    reach = int(settings.dilation) * (bank.size - 1)  # the dilated kernel spans reach + 1 pixels
    plan = _plan(bank, int(settings.dilation))
    if 2 * p <= reach:
        # anchor (p, p): out[y, x] = sum K[i, j] src[y + i - p, x + j - p], a cross-correlation whose
        # taps past the edge read the border cv2 invents (0, reflect-101 or replicate), i.e. the
        # padding; out[y*s, x*s] for the kept pixels never reads further than p past the edge
        src, anchor, border = x, (p, p), _BORDERS[settings.padding_mode]
    else:
        # more padding than the kernel reaches: pad first, anchor (0, 0); the border cv2 invents
        # past the bottom/right is only read by pixels cropped away below
        src, anchor, border = F.pad2d(x[None], p, p, settings.padding_mode)[0], (0, 0), cv2.BORDER_CONSTANT
    sources = list(src)
    if len(plan.mixes):
        mixed = _scratch_planes("mixed", (len(plan.mixes),) + src.shape[1:])
        sources += list(np.einsum("mc,chw->mhw", plan.mixes, src, out=mixed))
    hs, ws = src.shape[1:]
    direct = s == 1 and (hs, ws) == (ho, wo)  # filter2D's output is the map itself
    keep = (slice(None), slice(None, s * (ho - 1) + 1, s), slice(None, s * (wo - 1) + 1, s))
    count, depth = len(plan.terms), max(len(t) for t in plan.terms)
    maps = np.empty((count, ho, wo), np.float32)
    # filters in groups whose scratch planes stay under _SCRATCH_BYTES (all 8 of a 640x480 bank)
    group = max(1, min(count, _SCRATCH_BYTES // (4 * hs * ws * max(1, depth - direct))))
    for k0 in range(0, count, group):
        ks = range(k0, min(count, k0 + group))
        # scratch for a whole group, so a short last group does not ask for other shapes
        acc = maps[ks.start : ks.stop] if direct else _scratch_planes("acc", (group, hs, ws))[: len(ks)]
        extra = _scratch_planes("extra", (max(depth - 1, 0), group, hs, ws))[:, : len(ks)]
        for j, k in enumerate(ks):
            bias = plan.biases[k]
            if not plan.terms[k]:
                acc[j].fill(bias)
            for i, (si, kern) in enumerate(plan.terms[k]):
                dst = acc[j] if i == 0 else extra[i - 1, j]
                cv2.filter2D(sources[si], cv2.CV_32F, kern, dst=dst, anchor=anchor, delta=bias if i == 0 else 0.0,
                             borderType=border)
        for i in range(1, depth):  # the i-th terms of the group's filters: one cv2.add per run of filters
            for a, b in _runs([j for j, k in enumerate(ks) if len(plan.terms[k]) > i]):
                rows = acc[a:b].reshape(-1, ws)
                cv2.add(rows, extra[i - 1, a:b].reshape(-1, ws), dst=rows)
        if not direct:
            maps[ks.start : ks.stop] = acc[keep]
    return maps


def _apply_post(result: BankResult, post: PostSettings) -> None:
    out = result.maps
    if post.pool != "none":
        if post.pool not in ("max", "avg"):
            raise ValueError(f"pooling must be none, max or avg, got {post.pool!r}")
        _, h, w = out.shape
        pm = (F.OutputSize(h, post.pool_kernel, post.pool_stride, 0, 1), F.OutputSize(w, post.pool_kernel,
                                                                                      post.pool_stride, 0, 1))
        if pm[0].size <= 0 or pm[1].size <= 0 or post.pool_kernel < 1 or post.pool_stride < 1:
            raise ValueError(f"a {post.pool_kernel}x{post.pool_kernel} pool does not fit the {h}x{w} maps")
        if post.pool_kernel == post.pool_stride and h % post.pool_kernel == 0:
            out = _pool_tiles(out, post.pool, post.pool_kernel, pm[1].size)
        else:
            fn = F.maxpool2d_forward if post.pool == "max" else F.avgpool2d_forward
            out = fn(out[None], post.pool_kernel, post.pool_stride)[0][0]
        result.pooled, result.pool_math = out, pm
    if post.mix is not None:
        mix = np.asarray(post.mix, np.float32)
        if mix.ndim != 2 or mix.shape[1] != out.shape[0]:
            raise ValueError(f"the 1x1 mix needs M x {out.shape[0]} weights, got {mix.shape}")
        bias = np.zeros(mix.shape[0], np.float32) if post.mix_bias is None else np.asarray(post.mix_bias, np.float32)
        mixed, _ = F.conv2d_forward(out[None], mix[:, :, None, None], bias)
        result.mixed = mixed[0]


def _pool_tiles(maps: np.ndarray, kind: str, k: int, wo: int) -> np.ndarray:
    """Pooling over k x k tiles (stride k) of (K, H, W) maps with H a multiple of k, in 1 to 2(k-1)
    large calls where the engine's pooling makes k*k: the maps are one (K*H, W) image whose rows
    k*i .. k*i + k-1 belong to the same map. Max: the row maxima of each tile, then their column
    maxima; average: cv2's area resize, which averages whole tiles for a whole-number scale."""
    n, h, _ = maps.shape
    rows = maps.reshape(n * h, -1)[:, : wo * k]
    if k == 1:
        return np.ascontiguousarray(rows).reshape(n, h, wo)
    if kind == "avg":
        return cv2.resize(rows, (wo, n * h // k), interpolation=cv2.INTER_AREA).reshape(n, h // k, wo)
    tall = cv2.max(rows[0::k], rows[1::k])
    for i in range(2, k):
        cv2.max(tall, rows[i::k], dst=tall)
    out = np.maximum(tall[:, 0::k], tall[:, 1::k])
    for j in range(2, k):
        np.maximum(out, tall[:, j::k], out=out)
    return out.reshape(n, h // k, wo)


def mix_weights(kind: str, m: int, k: int, seed: int = 0) -> np.ndarray:
    """1x1 weights (M, K): 'groups' averages the maps k with k % M == m; 'random' is seeded noise."""
    if kind == "random":
        return (np.random.default_rng(seed).standard_normal((m, k)) / np.sqrt(k)).astype(np.float32)
    w = np.zeros((m, k), np.float32)
    for j in range(k):
        w[j % m, j] = 1.0
    return w / np.maximum(w.sum(axis=1, keepdims=True), 1)


def weight_count(bank: FilterBank) -> tuple[int, int]:
    """(weights, biases) of the bank: K*F*F*C and K."""
    return int(bank.weights.size), int(bank.biases.size)


# --------------------------------------------------------------------------- one output pixel


@dataclass
class PixelExplanation:
    """How output pixel (y, x) of filter k is made: patch x kernel, per channel, plus the bias."""

    filter: int
    y: int
    x: int
    rows: np.ndarray  # (F,) input rows of the taps (may be < 0 or >= H: padding)
    cols: np.ndarray  # (F,) input columns of the taps
    patch: np.ndarray  # (C, F, F) the values the kernel meets, padding included
    kernel: np.ndarray  # (C, F, F)
    channel_sums: np.ndarray  # (C,) sum(patch * kernel) per channel
    bias: float
    value: float  # sum of channel_sums + bias: the output pixel
    outside: np.ndarray  # (F, F) True where a tap falls outside the image (in the padding)


def explain_pixel(x: np.ndarray, bank: FilterBank, settings: ConvSettings, k: int, y: int, xx: int) -> PixelExplanation:
    c, h, w = x.shape
    math = check_geometry((h, w), bank.size, settings)
    if not (0 <= k < bank.count and 0 <= y < math[0].size and 0 <= xx < math[1].size):
        raise ValueError(f"no output pixel ({y}, {xx}) of filter {k}: "
                         f"the output is {bank.count}x{math[0].size}x{math[1].size}")
    f, s, p, d = bank.size, settings.stride, settings.padding, settings.dilation
    xp = F.pad2d(x[None], p, p, settings.padding_mode)[0]
    taps = np.arange(f) * d
    py, px = y * s + taps, xx * s + taps  # padded coordinates
    patch = xp[:, py[:, None], px[None, :]].astype(np.float32)
    kernel = bank.weights[k]
    sums = (patch.astype(np.float64) * kernel).sum(axis=(1, 2))
    rows, cols = py - p, px - p
    outside = (rows[:, None] < 0) | (rows[:, None] >= h) | (cols[None, :] < 0) | (cols[None, :] >= w)
    bias = float(bank.biases[k])
    return PixelExplanation(k, y, xx, rows, cols, patch, kernel.copy(), sums, bias, float(sums.sum() + bias), outside)


# --------------------------------------------------------------------------- display


@dataclass(frozen=True)
class DisplayImage:
    image: np.ndarray  # float32 to draw
    levels: tuple[float, float]
    signed: bool  # True: draw with a diverging colour map centred on 0
    value_range: tuple[float, float]  # min and max of the raw values


def display(maps: np.ndarray, mode: str) -> DisplayImage:
    """Scale output maps for drawing; one shared range for the whole stack."""
    if mode not in DISPLAY_MODES:
        raise ValueError(f"display mode must be one of {', '.join(DISPLAY_MODES)}, got {mode!r}")
    m = np.asarray(maps, np.float32)
    lo, hi = (float(m.min()), float(m.max())) if m.size else (0.0, 0.0)
    if mode == "raw":
        bound = max(abs(lo), abs(hi), 1e-6)
        return DisplayImage(m, (-bound, bound), True, (lo, hi))
    if mode == "abs":
        a = np.abs(m)
        return DisplayImage(a, (0.0, max(float(a.max()) if a.size else 0.0, 1e-6)), False, (lo, hi))
    if mode == "clamp":
        return DisplayImage(np.clip(m, 0, 255), (0.0, 255.0), False, (lo, hi))
    span = hi - lo
    norm = (m - lo) / span if span > 0 else np.zeros_like(m)
    return DisplayImage(norm.astype(np.float32), (0.0, 1.0), False, (lo, hi))


ROUND_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
STEADY_HEADROOM = 1.1  # a new bound leaves the values this much room to grow
STEADY_FILL = 0.6  # the levels are kept while the values reach at least this share of them


def round_up(x: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten that is >= x > 0."""
    if not (x > 0 and math.isfinite(x)):
        raise ValueError(f"expected a finite positive number, got {x}")
    power = 10.0 ** math.floor(math.log10(x))
    for step in ROUND_STEPS:
        if step * power >= x * (1 - 1e-12):
            return step * power
    return 10.0 * power  # (not reached: log10 rounding at most puts x at 10 * power)


def steady_levels(mode: str, levels: tuple[float, float], shown: tuple[float, float] | None) -> tuple[float, float]:
    """Levels for one map of a stream of frames (live video), given its own ``levels`` from
    :func:`display` and the levels ``shown`` for the frame before (None: none).

    In the modes whose levels follow the values ("raw": (-b, b), "abs": (0, b)) the shown
    levels are kept while they still hold the values and the values reach at least
    STEADY_FILL of them; otherwise the bound becomes ``round_up(STEADY_HEADROOM * b)``.  The
    colours then stop pumping from frame to frame and the colour bar keeps its numbers (and
    pyqtgraph does not lay its axis out again 30 times a second).  Other modes have fixed
    levels: returned as they are.
    """
    if mode not in ("raw", "abs"):
        return levels
    bound = float(levels[1])
    shape = (lambda b: (-b, b)) if mode == "raw" else (lambda b: (0.0, b))
    if shown is not None:
        kept = float(shown[1])
        if tuple(map(float, shown)) == shape(kept) and STEADY_FILL * kept <= bound <= kept:
            return shape(kept)
    return shape(round_up(STEADY_HEADROOM * max(bound, 1e-6)))


def with_settings(settings: ConvSettings, **changes) -> ConvSettings:
    return replace(settings, **changes)
