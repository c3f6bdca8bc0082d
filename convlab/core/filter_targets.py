"""Targets to learn a filter from: what a hidden preset kernel, an OpenCV operation or a loaded
picture makes of an input image.

Every input here is ``x`` of shape ``(C, H, W)``, float in [0, 1] (gray C = 1 or RGB C = 3), and
every target is ``(1, H', W')`` float64: one map, so one filter (K = 1) is learned from it.

* :func:`preset_target` runs the engine's own conv2d with a preset's ``filter(C)``: the exact
  answer is that preset, which the learner does not see until asked.
* :func:`opencv_target` runs an OpenCV function on the **gray mean of the channels**
  (``x.mean(axis=0)``). For a linear operation that equals filtering each channel and averaging
  the results, and it is exactly what ``KernelPreset.filter(C)`` does (the 2-D kernel divided by
  C on every channel), so :func:`opencv_kernel` gives the exact filter in the same convention.
  Linear operations use ``cv2.BORDER_CONSTANT`` (zeros outside the image), so the 'same'-size
  result equals conv2d with zero padding ``F // 2``. Canny and morphology are not linear; there
  the border hardly matters (morphology ignores pixels outside the image).
* :func:`image_target` turns a picture the learner loads into a gray [0, 1] map of a given size.
* :func:`sample_target` picks, from a 'same'-size target, the pixels the output of a kernel with a
  given stride, padding and dilation lands on (a crop for little padding, every s-th pixel for
  stride s), so one target serves every kernel size.

NumPy and OpenCV only; never Qt.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from . import functional as F
from .kernels import preset
from .playground import image_to_input

__all__ = [
    "OpenCVTarget", "OPENCV_TARGETS", "opencv_target", "opencv_kernel", "why_not_linear",
    "preset_target", "image_target", "resize_note", "sample_target", "same_padding",
    "learning_shape", "learning_input", "CANNY_THRESHOLDS",
]

CANNY_THRESHOLDS = (50, 150)  # on the 0..255 gray image


class OpenCVTarget(NamedTuple):
    """One OpenCV operation to learn: unpacks as ``name, explanation, linear``."""

    name: str
    explanation: str
    linear: bool


OPENCV_TARGETS: dict[str, OpenCVTarget] = {
    "gaussian_blur": OpenCVTarget(
        "Gaussian blur 5x5 (sigma 1)",
        "cv2.GaussianBlur(5x5, sigma 1): a bell-shaped weighted average; exact with a 5x5 kernel.", True),
    "sobel_x": OpenCVTarget(
        "Sobel x", "cv2.Sobel(dx=1, ksize=3): right minus left, centre row twice; exact with a 3x3 kernel.", True),
    "sobel_y": OpenCVTarget(
        "Sobel y", "cv2.Sobel(dy=1, ksize=3): bottom minus top, centre column twice; exact with a 3x3 kernel.", True),
    "laplacian": OpenCVTarget(
        "Laplacian", "cv2.Laplacian(ksize=1): the 4 neighbours minus 4 times the centre; exact with a 3x3 kernel.",
        True),
    "box_blur": OpenCVTarget(
        "Box blur 3x3", "cv2.blur(3x3): the plain average of the 3x3 neighbourhood; exact with a 3x3 kernel.", True),
    "canny": OpenCVTarget(
        "Canny edges", "cv2.Canny(50, 150): thin white edge lines on black, after thresholds (not linear).", False),
    "morph_gradient": OpenCVTarget(
        "Morphological gradient", "cv2.morphologyEx(MORPH_GRADIENT, 3x3): 3x3 max minus 3x3 min (not linear).",
        False),
    "dilate": OpenCVTarget(
        "Dilate 3x3", "cv2.dilate(3x3): each pixel becomes the brightest of its 3x3 neighbourhood (not linear).",
        False),
}
"""Every OpenCV target by key: (name, one-line explanation, linear)."""

_WHY_NOT_LINEAR = {
    "canny": (
        "Canny thresholds and thins edges: a single weighted sum of pixels cannot make a yes/no decision "
        "(edge or not) or keep only the strongest pixel across an edge, so the best one filter can do is a "
        "blurry edge strength map."
    ),
    "morph_gradient": (
        "Morphology takes a max/min over a window: a max is not a weighted sum, because which pixel wins "
        "changes from place to place. One linear filter can only approximate it with a fixed edge detector."
    ),
    "dilate": (
        "Dilation takes the max over a 3x3 window: a max is not a weighted sum, because which pixel wins "
        "changes from place to place. One linear filter can only approximate it with a fixed blur."
    ),
}


def _key(key: str) -> OpenCVTarget:
    try:
        return OPENCV_TARGETS[key]
    except (KeyError, TypeError):
        raise ValueError(f"no OpenCV target {key!r} (known: {', '.join(OPENCV_TARGETS)})") from None


def why_not_linear(key: str) -> str:
    """Why no single linear filter makes target ``key``: a short note, "" for linear targets."""
    _key(key)
    return _WHY_NOT_LINEAR.get(key, "")


def _check_input(x) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 3 or a.shape[0] < 1 or a.shape[1] < 1 or a.shape[2] < 1:
        raise ValueError(f"the input must be C x H x W, got shape {a.shape}")
    if a.dtype.kind not in "fiu" or not np.isfinite(a).all():
        raise ValueError("the input must hold finite real numbers")
    return a.astype(np.float64)


def opencv_kernel(key: str, channels: int = 1) -> np.ndarray | None:
    """The exact ``(channels, F, F)`` float32 filter behind a linear OpenCV target (None if not linear).

    Like ``KernelPreset.filter``: the 2-D kernel divided by ``channels`` on every channel, because
    the target is computed on the channels' mean. Apply it with zero padding ``F // 2``.
    """
    if not _key(key).linear:
        return None
    if key == "gaussian_blur":
        g = cv2.getGaussianKernel(5, 1.0)
        k = g @ g.T
    elif key == "box_blur":
        k = np.full((3, 3), 1.0 / 9.0)
    elif key == "laplacian":
        k = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float64)
    else:
        k = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float64)
        if key == "sobel_y":
            k = k.T
    return (np.repeat(k[None], channels, axis=0) / channels).astype(np.float32)


def opencv_target(x, key: str) -> np.ndarray:
    """OpenCV operation ``key`` on the gray mean of x (C, H, W) in [0, 1]: a (1, H, W) float64 map.

    Linear operations are exact on float64 with zeros outside the image; Canny runs on the
    0..255 uint8 gray image and gives 0 or 1; morphology uses a 3x3 square window.
    """
    _key(key)
    gray = _check_input(x).mean(axis=0)
    zeros = cv2.BORDER_CONSTANT
    if key == "gaussian_blur":
        out = cv2.GaussianBlur(gray, (5, 5), 1.0, sigmaY=1.0, borderType=zeros)
    elif key == "sobel_x":
        out = cv2.Sobel(gray, cv2.CV_64F, 1, 0, ksize=3, borderType=zeros)
    elif key == "sobel_y":
        out = cv2.Sobel(gray, cv2.CV_64F, 0, 1, ksize=3, borderType=zeros)
    elif key == "laplacian":
        out = cv2.Laplacian(gray, cv2.CV_64F, ksize=1, borderType=zeros)
    elif key == "box_blur":
        out = cv2.blur(gray, (3, 3), borderType=zeros)
    elif key == "canny":
        u8 = np.clip(np.rint(gray * 255.0), 0, 255).astype(np.uint8)
        out = cv2.Canny(u8, *CANNY_THRESHOLDS).astype(np.float64) / 255.0
    elif key == "morph_gradient":
        out = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    else:
        out = cv2.dilate(gray, np.ones((3, 3), np.uint8))
    return np.ascontiguousarray(out, dtype=np.float64)[None]


def preset_target(x, key: str, padding: int | None = None, stride: int = 1, dilation: int = 1) -> np.ndarray:
    """conv2d of x (C, H, W) with preset ``key``'s ``filter(C)`` and its bias: a (1, H', W') map.

    ``padding=None`` means 'same' (``F // 2`` zeros for the preset's F x F kernel). Channel mixers
    work on RGB only (ValueError otherwise, as ``KernelPreset.filter`` says).
    """
    a = _check_input(x)
    p = preset(key)
    w = p.filter(a.shape[0]).astype(np.float64)[None]
    pad = p.size // 2 if padding is None else padding
    for name, v, lo in (("padding", pad, 0), ("stride", stride, 1), ("dilation", dilation, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be a whole number >= {lo}, got {v!r}")
    for axis, n in (("height", a.shape[1]), ("width", a.shape[2])):
        problem = F.OutputSize(n, p.size, stride, pad, dilation).problem(axis)
        if problem:
            raise ValueError(problem)
    out, _ = F.conv2d_forward(a[None], w, np.array([p.bias]), stride, pad, dilation)
    return out[0]


def _shape2(shape) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise ValueError(f"the target size must be (height, width), got {shape!r}") from None
    if h < 1 or w < 1:
        raise ValueError(f"the target size must be positive, got {h} x {w}")
    return h, w


def image_target(target_image, shape) -> np.ndarray:
    """A loaded target picture as a (1, H', W') float64 gray map in [0, 1] of size ``shape``.

    Colour pictures become luminance (0.299 R + 0.587 G + 0.114 B); a picture of another size is
    resized (area averaging when shrinking), stretched if its aspect ratio differs: see
    :func:`resize_note` for the sentence to show. ValueError for anything that is not a uint8
    gray, RGB or RGBA image.
    """
    from .images import to_gray

    h, w = _shape2(shape)
    img = target_image
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
        raise ValueError("the target image must be a uint8 picture (as read from a file)")
    if img.size == 0 or not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (1, 3, 4))):
        raise ValueError(f"the target image must be H x W gray or H x W x 3/4 colour, got shape {img.shape}")
    gray = to_gray(img)
    if gray.shape != (h, w):
        shrink = gray.shape[0] * gray.shape[1] > h * w
        gray = cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return (gray.astype(np.float64) / 255.0)[None]


def resize_note(image_shape, shape) -> str:
    """What :func:`image_target` did to a picture of ``image_shape`` for ``shape`` ("" if nothing)."""
    ih, iw = _shape2(tuple(image_shape)[:2])
    h, w = _shape2(shape)
    if (ih, iw) == (h, w):
        return ""
    note = f"the target image ({iw}x{ih}) was resized to {w}x{h} to match the input"
    if abs(iw / ih - w / h) > 0.01 * (w / h):
        note += f"; its aspect ratio {iw / ih:.3g} differs from the input's {w / h:.3g}, so it is stretched"
    return note


def same_padding(kernel: int, dilation: int = 1) -> int:
    """The padding that keeps the output centred on the input: ``dilation * (F // 2)`` for odd F.

    An even F has no middle tap; its anchor is index F // 2 (as kernels.resize_kernel keeps it),
    and the largest symmetric padding that stays inside a 'same'-size target is one tap less.
    """
    half = kernel // 2
    return dilation * (half if kernel % 2 else max(half - 1, 0))


def sample_target(full, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> np.ndarray:
    """The pixels of a 'same'-size target ``full`` (K, H, W) that a conv with these settings makes.

    Output pixel y of an F-tap kernel (anchor tap F // 2, dilation d, padding P, stride s) is centred
    on input row ``y*s + d*(F//2) - P``; those rows and columns are picked. ValueError (with the
    numbers) when the output has pixels centred outside the image, i.e. more padding than 'same'.
    """
    t = np.asarray(full)
    if t.ndim != 3:
        raise ValueError(f"a target is K x H x W, got shape {t.shape}")
    for name, v, lo in (("kernel", kernel, 1), ("stride", stride, 1), ("padding", padding, 0),
                        ("dilation", dilation, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be a whole number >= {lo}, got {v!r}")
    offset = dilation * (kernel // 2) - padding
    index = []
    for axis, n in (("height", t.shape[1]), ("width", t.shape[2])):
        m = F.OutputSize(n, kernel, stride, padding, dilation)
        if m.problem(axis):
            raise ValueError(m.problem(axis))
        first, last = offset, (m.size - 1) * stride + offset
        if first < 0 or last > n - 1:
            fits = [p for p in range(padding, -1, -1)
                    if dilation * (kernel // 2) - p >= 0
                    and (F.OutputSize(n, kernel, stride, p, dilation).size - 1) * stride + dilation * (kernel // 2) - p
                    <= n - 1]
            hint = f"; padding {fits[0]} fits" if fits else ""
            raise ValueError(
                f"output {axis} {m.formula()} is centred on input pixels {first}..{last}, but the target only "
                f"covers 0..{n - 1}: there is no target for output pixels that lie in the padding{hint}"
            )
        index.append(slice(first, last + 1, stride))
    return np.ascontiguousarray(t[:, index[0], index[1]])


def learning_shape(height: int, width: int, max_side: int) -> tuple[int, int]:
    """(H, W) scaled down, keeping the aspect ratio, so neither side exceeds ``max_side``."""
    if max(height, width) <= max_side:
        return int(height), int(width)
    scale = max_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def learning_input(image: np.ndarray, color: str, shape=None) -> np.ndarray:
    """A uint8 picture as a (C, H, W) float64 input in [0, 1], gray or RGB like the lab, resized
    (area averaging) to ``shape`` (H, W) when given."""
    if shape is not None:
        h, w = _shape2(shape)
        if image.shape[:2] != (h, w):
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return image_to_input(image, color).astype(np.float64) / 255.0
