"""Named preset kernels and the pure helpers a kernel editor needs.

Conventions (the same as the rest of :mod:`convlab.core`):

* convolution is cross-correlation (PyTorch semantics): the kernel is laid on the
  image as written, *not* flipped, so ``sobel_x`` responds positively where the
  brightness increases to the right;
* every kernel array is float32;
* the weights of one output filter for a C-channel input have shape ``(C, F, F)``
  and a bank of K filters has shape ``(K, C, F, F)``;
* the centre (anchor) of an axis with F taps is index ``F // 2``, the default
  anchor of ``cv2.filter2D``; for odd F that is the middle element.

A :class:`KernelPreset` is either *spatial* (a 2-D ``F x F`` kernel such as a blur or
an edge detector) or a *channel mixer* (a 1x1 filter that combines the R, G and B
channels of one pixel, e.g. RGB -> luminance).  ``preset.filter(channels)`` turns
either kind into the weights of one output filter for a ``channels``-channel input.

Every helper is a pure function: it returns a new array and never modifies its input.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import cv2
import numpy as np

MAX_KERNEL_SIZE = 11
"""The largest kernel side the editor supports (sides run from 1 to 11)."""

_SUM_EPS = 1e-8


# --------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class KernelPreset:
    """One named kernel with a one-line explanation for a learner.

    ``kernel`` is a read-only float32 array:

    * spatial presets: the 2-D ``(F, F)`` kernel, applied by cross-correlation;
    * channel mixers (``mixes_channels=True``): the ``(3, 1, 1)`` 1x1 filter, i.e. one
      weight per input channel (R, G, B), also given as the tuple ``per_channel``.

    ``bias`` is the value added to every output pixel (0 for all built-in presets).
    """

    key: str
    name: str
    explanation: str
    kernel: np.ndarray = field(compare=False, repr=False)
    bias: float = 0.0
    mixes_channels: bool = False
    per_channel: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not self.key or not self.name:
            raise ValueError("a kernel preset needs a key and a name")
        text = self.explanation.strip()
        if not text or "\n" in text or "\r" in text:
            raise ValueError(f"preset {self.key!r}: the explanation must be one non-empty line")
        arr = np.array(self.kernel, dtype=np.float32)  # always a private copy
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"preset {self.key!r}: the kernel has non-finite values")
        if self.mixes_channels:
            if self.per_channel is None:
                raise ValueError(f"mixer preset {self.key!r} needs per_channel weights")
            weights = tuple(float(w) for w in self.per_channel)
            if arr.shape != (len(weights), 1, 1) or not np.allclose(arr.ravel(), weights):
                raise ValueError(f"mixer preset {self.key!r}: kernel must be per_channel as (C, 1, 1)")
            object.__setattr__(self, "per_channel", weights)
        else:
            if self.per_channel is not None:
                raise ValueError(f"spatial preset {self.key!r} must not have per_channel weights")
            if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or not 1 <= arr.shape[0] <= MAX_KERNEL_SIZE:
                raise ValueError(f"preset {self.key!r}: a spatial kernel must be F x F with F in 1..{MAX_KERNEL_SIZE}")
        arr.setflags(write=False)
        object.__setattr__(self, "kernel", arr)
        object.__setattr__(self, "explanation", text)
        object.__setattr__(self, "bias", float(self.bias))

    @property
    def size(self) -> int:
        """The kernel side F (1 for channel mixers)."""
        return int(self.kernel.shape[-1])

    @property
    def channels_needed(self) -> int | None:
        """The number of input channels a mixer needs, or None (any) for spatial presets."""
        return len(self.per_channel) if self.per_channel is not None else None

    def filter(self, channels: int) -> np.ndarray:
        """The weights of ONE output filter for a ``channels``-channel input: a new
        writable ``(channels, F, F)`` float32 array.

        Spatial presets put the 2-D kernel on every channel **divided by** ``channels``.
        The output pixel is a sum over channels, so this filters the per-pixel average
        of the channels (a luminance-like gray, each channel weighted equally): on an
        RGB image a box blur gives a blurred gray picture whose values stay in the same
        range as the same preset on a gray input (a red pixel of 255 averages to 85),
        instead of tripling the brightness.  For ``channels == 1`` it is the kernel.

        Channel mixers return their per-channel weights as ``(3, 1, 1)`` and raise
        ValueError for any other number of channels (there is no R, G and B to mix).
        """
        if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        channels = int(channels)
        if self.mixes_channels:
            needed = len(self.per_channel or ())
            if channels != needed:
                raise ValueError(
                    f"the {self.name} mixer needs a {needed}-channel (RGB) image, "
                    f"but the input has {channels} channel{'s' if channels != 1 else ''}; "
                    "switch the source to RGB"
                )
            return self.kernel.copy()
        out = np.repeat(self.kernel[None, :, :], channels, axis=0) / np.float32(channels)
        return out.astype(np.float32)


def _gaussian(n: int) -> np.ndarray:
    """Normalised n x n Gaussian: the outer product of cv2.getGaussianKernel(n, 0)
    (OpenCV picks sigma = 0.3*((n-1)*0.5 - 1) + 0.8; for n = 3 and 5 this is exactly
    the binomial row 1 2 1 / 4 and 1 4 6 4 1 / 16)."""
    g = cv2.getGaussianKernel(n, 0).astype(np.float64)  # (n, 1), sums to 1
    k = g @ g.T
    return k / k.sum()


def _spatial(key: str, name: str, explanation: str, kernel, bias: float = 0.0) -> KernelPreset:
    return KernelPreset(key, name, explanation, np.asarray(kernel, dtype=np.float64), bias=bias)


def _mixer(key: str, name: str, explanation: str, weights: tuple[float, float, float]) -> KernelPreset:
    k = np.asarray(weights, dtype=np.float64).reshape(3, 1, 1)
    return KernelPreset(key, name, explanation, k, mixes_channels=True, per_channel=tuple(weights))


def _build_presets() -> dict[str, KernelPreset]:
    delta5 = np.zeros((5, 5))
    delta5[2, 2] = 1.0
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
    prewitt_x = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], dtype=np.float64)
    scharr_x = np.array([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]], dtype=np.float64)
    presets = [
        _spatial("identity", "Identity",
                 "A single 1 in the centre copies each pixel unchanged: the do-nothing filter.",
                 [[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
        _spatial("box_blur", "Box blur 3x3",
                 "Replaces each pixel by the plain average of its 3x3 neighbourhood, smoothing detail.",
                 np.full((3, 3), 1.0 / 9.0)),
        _spatial("gaussian_3", "Gaussian blur 3x3",
                 "A weighted average that trusts the centre most (1 2 1 / 4 in each direction), a soft blur.",
                 _gaussian(3)),
        _spatial("gaussian_5", "Gaussian blur 5x5",
                 "A wider bell-shaped weighted average (1 4 6 4 1 / 16 per direction): a stronger, smooth blur.",
                 _gaussian(5)),
        _spatial("gaussian_7", "Gaussian blur 7x7",
                 "An even wider bell-shaped average that removes fine texture and noise.",
                 _gaussian(7)),
        _spatial("motion_blur", "Motion blur (diagonal)",
                 "Averages 5 pixels along the diagonal, like a photo of something moving diagonally.",
                 np.eye(5) / 5.0),
        _spatial("sharpen", "Sharpen",
                 "Adds the difference between a pixel and its 4 neighbours, making edges crisper.",
                 [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
        _spatial("unsharp_mask", "Unsharp mask 5x5",
                 "Twice the image minus a 5x5 Gaussian blur of it: boosts everything the blur would remove.",
                 2.0 * delta5 - _gaussian(5)),
        _spatial("outline", "Outline",
                 "8 times the centre minus all 8 neighbours: flat areas go to 0, edges in every direction light up.",
                 [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
        _spatial("sobel_x", "Sobel x (vertical edges)",
                 "Right column minus left column (centre row counted twice): "
                 "positive where it gets brighter to the right.",
                 sobel_x),
        _spatial("sobel_y", "Sobel y (horizontal edges)",
                 "Bottom row minus top row (centre column counted twice): positive where it gets brighter downwards.",
                 sobel_x.T),
        _spatial("prewitt_x", "Prewitt x",
                 "Right column minus left column with equal weights: a simpler cousin of Sobel x.",
                 prewitt_x),
        _spatial("prewitt_y", "Prewitt y",
                 "Bottom row minus top row with equal weights: a simpler cousin of Sobel y.",
                 prewitt_x.T),
        _spatial("scharr_x", "Scharr x",
                 "Like Sobel x with weights 3 10 3, tuned so edges at any angle are measured more evenly.",
                 scharr_x),
        _spatial("scharr_y", "Scharr y",
                 "Like Sobel y with weights 3 10 3, tuned so edges at any angle are measured more evenly.",
                 scharr_x.T),
        _spatial("laplacian", "Laplacian",
                 "The 4 neighbours minus 4 times the centre: measures curvature, zero on flat areas and even ramps.",
                 [[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
        _spatial("log_5", "Laplacian of Gaussian 5x5",
                 "Blur then Laplacian in one kernel (sign flipped): finds small blobs and edges with less noise.",
                 [[0, 0, -1, 0, 0],
                  [0, -1, -2, -1, 0],
                  [-1, -2, 16, -2, -1],
                  [0, -1, -2, -1, 0],
                  [0, 0, -1, 0, 0]]),
        _spatial("emboss", "Emboss",
                 "Bottom-right minus top-left plus the pixel itself: shapes look raised, lit from one side.",
                 [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
        _mixer("rgb_to_luma", "RGB -> luminance",
               "A 1x1 filter mixing the channels as 0.299 R + 0.587 G + 0.114 B: colour to gray.",
               (0.299, 0.587, 0.114)),
        _mixer("red_only", "Red channel only",
               "A 1x1 filter that keeps the red channel and ignores green and blue.",
               (1.0, 0.0, 0.0)),
        _mixer("red_minus_green", "Red minus green",
               "A 1x1 opponent-colour filter: positive on red, negative on green, near 0 on gray.",
               (1.0, -1.0, 0.0)),
        _mixer("blue_minus_yellow", "Blue minus yellow",
               "A 1x1 opponent-colour filter: blue minus the average of red and green (yellow).",
               (-0.5, -0.5, 1.0)),
    ]
    return {p.key: p for p in presets}


KERNEL_PRESETS: dict[str, KernelPreset] = _build_presets()
"""Every preset by key, in display order: identity, blurs, sharpening, edges, mixers."""


def preset(key: str) -> KernelPreset:
    """The preset called ``key``; ValueError listing the known keys otherwise."""
    try:
        return KERNEL_PRESETS[key]
    except (KeyError, TypeError):
        raise ValueError(f"no kernel preset {key!r} (known: {', '.join(KERNEL_PRESETS)})") from None


# --------------------------------------------------------------------------- names in a bank

CUSTOM = "custom"
"""The name of a filter the learner made or edited."""

_CROPPED = re.compile(r"^custom \(was (.+)\)$")


def filter_label(name: str) -> str:
    """How a filter's name in a bank (a preset key or a free name) is shown: "Sobel x (vertical edges)"."""
    p = KERNEL_PRESETS.get(name)
    return p.name if p is not None else name


def short_label(name: str) -> str:
    """The label without its trailing remark in parentheses: "Sobel x", "Gaussian blur 5x5"."""
    label = filter_label(name)
    if label.endswith(")") and " (" in label:
        label = label[: label.rindex(" (")]
    return label


def cropped_name(name: str) -> str:
    """The name of a filter after a crop cut off some of its weights: "custom (was Sobel x)".
    A custom filter stays what it is called."""
    if name == CUSTOM or _CROPPED.match(name):
        return name
    return f"{CUSTOM} (was {short_label(name)})"


def filter_help(name: str) -> str:
    """A one-line explanation of a filter with this name (a tooltip)."""
    p = KERNEL_PRESETS.get(name)
    if p is not None:
        return p.explanation
    m = _CROPPED.match(name)
    if m:
        return (f"Made from {m.group(1)}: a smaller kernel size cut off some of its weights, so it no longer "
                "computes the same thing. Edit the numbers below, or pick a preset.")
    return "Custom: a kernel you made or edited. Edit the numbers below, or pick a preset."


# --------------------------------------------------------------------------- editor helpers


def _as_float_array(k, what: str = "kernel") -> np.ndarray:
    try:
        arr = np.array(k, dtype=np.float64)  # a copy: the input is never touched
    except (TypeError, ValueError):
        raise ValueError(f"the {what} must be an array of numbers") from None
    if arr.ndim == 0 or arr.size == 0:
        raise ValueError(f"the {what} must be a non-empty array")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"the {what} contains NaN or infinite values")
    return arr


def normalize_kernel(k) -> np.ndarray:
    """A new float32 kernel scaled so its weights sum to 1.

    If the sum is (near) zero, as for Sobel, Laplacian and other edge kernels, it is
    divided by the sum of absolute values instead, keeping the shape with L1 norm 1.
    An all-zero kernel stays zero.  The whole array counts as one kernel, so for a
    ``(C, F, F)`` filter the sum runs over all channels.
    """
    arr = _as_float_array(k)
    total = arr.sum()
    if abs(total) > _SUM_EPS:
        arr = arr / total
    else:
        l1 = np.abs(arr).sum()
        if l1 > 0.0:
            arr = arr / l1
    return arr.astype(np.float32)


def _shape_tuple(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape), int(shape))
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"shape must be an int or a tuple of ints, got {shape!r}") from None
    if not dims or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in dims):
        raise ValueError(f"shape must be positive integers, got {shape!r}")
    return tuple(int(d) for d in dims)


def random_kernel(shape, seed: int | None = None) -> np.ndarray:
    """Random float32 weights drawn from N(0, 1) / sqrt(fan_in).

    ``shape`` is an int F (meaning ``(F, F)``), ``(F, F)``, a filter ``(C, F, F)`` or a
    bank ``(K, C, F, F)``; fan_in is the number of weights of one output filter, the
    product of the last three axes (``F*F`` for a 2-D kernel, ``C*F*F`` otherwise).
    The same ``seed`` always gives the same kernel; ``None`` gives a fresh one.
    """
    dims = _shape_tuple(shape)
    fan_in = math.prod(dims[-3:])
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(dims) / math.sqrt(fan_in)).astype(np.float32)


def _resize_axis(arr: np.ndarray, axis: int, size: int) -> np.ndarray:
    old = arr.shape[axis]
    shift = size // 2 - old // 2  # where the old anchor lands so it stays the anchor
    if size >= old:
        pad = [(0, 0)] * arr.ndim
        pad[axis] = (shift, size - old - shift)
        return np.pad(arr, pad)
    start = -shift
    index = [slice(None)] * arr.ndim
    index[axis] = slice(start, start + size)
    return arr[tuple(index)]


def resize_kernel(k, size: int) -> np.ndarray:
    """A new float32 kernel of side ``size`` with the same centre.

    ``k`` is ``(F, F)`` or ``(C, F, F)`` (any leading axes work; the last two are
    resized).  Growing pads zeros around it, shrinking crops the centre.  The anchor,
    index ``F // 2`` of each axis (the middle for odd F, as ``cv2.filter2D``), stays
    the anchor, so e.g. 3 -> 4 pads one zero row/column before and none after, and
    growing then shrinking back gives the original kernel.  ``size`` must be 1..11.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise ValueError(f"the kernel size must be an integer from 1 to {MAX_KERNEL_SIZE}, got {size!r}")
    size = int(size)
    if not 1 <= size <= MAX_KERNEL_SIZE:
        raise ValueError(f"the kernel size must be from 1 to {MAX_KERNEL_SIZE}, got {size}")
    arr = _as_float_array(k)
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"expected an F x F or (C, F, F) kernel, got shape {arr.shape}")
    arr = _resize_axis(arr, arr.ndim - 2, size)
    arr = _resize_axis(arr, arr.ndim - 1, size)
    return np.ascontiguousarray(arr, dtype=np.float32)


# --------------------------------------------------------------------------- text


def _format_number(v: np.float32) -> str:
    v = np.float32(v) + np.float32(0.0)  # turns -0 into 0
    a = abs(float(v))
    if a == 0.0:
        return "0"
    if 1e-4 <= a < 1e7:
        return np.format_float_positional(v, unique=True, trim="-")
    return np.format_float_scientific(v, unique=True, trim="-")


def kernel_to_text(k) -> str:
    """The 2-D kernel as text: one row per line, numbers right-aligned in columns.

    Numbers are written as the shortest decimal that reads back to the same float32,
    so ``kernel_from_text(kernel_to_text(k))`` returns ``k`` exactly.
    """
    arr = _as_float_array(k)
    if arr.ndim != 2:
        raise ValueError(f"kernel_to_text needs a 2-D kernel, got shape {arr.shape}")
    cells = [[_format_number(v) for v in row] for row in arr.astype(np.float32)]
    width = max(len(c) for row in cells for c in row)
    return "\n".join("  ".join(c.rjust(width) for c in row) for row in cells)


_SEPARATORS = re.compile(r"[\s,;]+")
_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2013": "-"})


def _parse_number(token: str) -> float:
    """A float, or a fraction ``a/b`` such as ``1/16`` or ``-2/8``."""
    if token.count("/") == 1:
        num, den = token.split("/")
        value = float(num) / float(den)  # ZeroDivisionError / ValueError handled by caller
    else:
        value = float(token)
    if not math.isfinite(value):
        raise ValueError("not finite")
    return value


def kernel_from_text(text: str, max_size: int | None = MAX_KERNEL_SIZE) -> np.ndarray:
    """Parse a square kernel written one row per line into a float32 ``(F, F)`` array.

    Numbers are separated by spaces, commas or semicolons; fractions such as ``1/16``
    and scientific notation work; blank lines, ``#`` comments and square brackets (as
    printed by NumPy) are ignored.  Errors raise ValueError naming the line (counted
    from 1) and the bad token.  The kernel must be square, with a side of at most
    ``max_size`` (``None`` for no limit).
    """
    if not isinstance(text, str):
        raise ValueError("the kernel text must be a string")
    rows: list[list[float]] = []
    first_line = 0
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].translate(_MINUS_SIGNS)
        content = content.replace("[", " ").replace("]", " ")
        tokens = [t for t in _SEPARATORS.split(content) if t]
        if not tokens:
            continue
        row = []
        for token in tokens:
            try:
                row.append(_parse_number(token))
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"line {number}: {token!r} is not a number (write e.g. 0.5, -2 or 1/16)") from None
        if rows and len(row) != len(rows[0]):
            raise ValueError(
                f"line {number}: found {len(row)} numbers but line {first_line} has {len(rows[0])}; "
                "every row needs the same count"
            )
        if not rows:
            first_line = number
        rows.append(row)
    if not rows:
        raise ValueError("the kernel text contains no numbers")
    height, width = len(rows), len(rows[0])
    if height != width:
        raise ValueError(f"the kernel must be square, but it has {height} rows of {width} numbers")
    if max_size is not None and height > max_size:
        raise ValueError(f"the kernel is {height} x {width}; the largest allowed is {max_size} x {max_size}")
    return np.array(rows, dtype=np.float32)
