"""Synthetic handwritten-style digits, MNIST conventions.

Each digit is drawn with one of OpenCV's Hershey vector fonts (plain,
italic and script variants) at a random stroke width on a large canvas,
bent by a random affine warp (rotation, shear, scale) and a smooth
random wobble, then cropped,
scaled into a box of about 20/28 of the output size, centred by its centre
of mass like MNIST, shrunk with ``INTER_AREA``, lightly blurred and given a
little noise.  White digit on black background, values in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np

from .dataset import Dataset

__all__ = ["DIGIT_CLASSES", "synthetic_digits"]

DIGIT_CLASSES = [str(d) for d in range(10)]

_FONTS = [
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
]
_FONTS += [f | cv2.FONT_ITALIC for f in _FONTS]

_CANVAS = 96        # drawing canvas (pixels); digits are ~50 px tall on it
_GLYPH_HEIGHT = 50


def _glyph_scales() -> dict[tuple[int, str], float]:
    """fontScale giving each (font, digit) a height of ``_GLYPH_HEIGHT`` px."""
    scales = {}
    for font in _FONTS:
        for digit in DIGIT_CLASSES:
            (_, height), _ = cv2.getTextSize(digit, font, 1.0, 1)
            scales[font, digit] = _GLYPH_HEIGHT / max(height, 1)
    return scales


_SCALES = _glyph_scales()


def _draw_digit(digit: str, rng: np.random.Generator) -> np.ndarray:
    """One warped digit on a uint8 ``_CANVAS`` square canvas."""
    font = _FONTS[rng.integers(len(_FONTS))]
    scale = _SCALES[font, digit] * rng.uniform(0.85, 1.1)
    thickness = int(rng.integers(3, 8))
    (w, h), _ = cv2.getTextSize(digit, font, scale, thickness)
    canvas = np.zeros((_CANVAS, _CANVAS), np.uint8)
    origin = ((_CANVAS - w) // 2, (_CANVAS + h) // 2)
    cv2.putText(canvas, digit, origin, font, scale, 255, thickness, cv2.LINE_AA)
    return _distort(canvas, rng)


# Identity sampling map: _GRID[r, c] = (c, r), as cv2.remap expects.
_GRID = np.dstack(np.meshgrid(np.arange(_CANVAS, dtype=np.float32),
                              np.arange(_CANVAS, dtype=np.float32)))


def _distort(canvas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random affine warp about the centre (rotation, shear, uneven scale)
    plus a smooth random wobble of a few pixels, applied in one remap."""
    angle = np.deg2rad(rng.uniform(-15, 15))
    shear = rng.uniform(-0.25, 0.25)
    sx, sy = rng.uniform(0.8, 1.15), rng.uniform(0.9, 1.1)
    cos, sin = np.cos(angle), np.sin(angle)
    forward = np.array([[cos, -sin], [sin, cos]]) @ np.array([[sx, shear], [0, sy]])
    inverse = np.linalg.inv(forward)
    centre = np.full(2, _CANVAS / 2)
    # For each output pixel p, sample the drawing at inverse @ (p + wobble - c) + c.
    sampling = np.hstack([inverse, (centre - inverse @ centre)[:, None]]).astype(np.float32)

    amplitude = rng.uniform(0.0, 4.0)
    coarse = rng.uniform(-amplitude, amplitude, (4, 4, 2)).astype(np.float32)
    wobble = cv2.resize(coarse, (_CANVAS, _CANVAS), interpolation=cv2.INTER_CUBIC)

    sample_at = cv2.transform(_GRID + wobble, sampling)
    # x and y as two maps: OpenCV 4's stubs refuse map2=None, OpenCV 5's accept it
    map_x = np.ascontiguousarray(sample_at[..., 0])
    map_y = np.ascontiguousarray(sample_at[..., 1])
    return cv2.remap(canvas, map_x, map_y, cv2.INTER_LINEAR)


def _fit_to_output(drawing: np.ndarray, size: int, box: float,
                   rng: np.random.Generator, jitter: float) -> np.ndarray:
    """Crop ``drawing`` so its longer side fills ``box`` of ``size`` pixels,
    centred on its centre of mass (± ``jitter`` output pixels), and shrink
    it to ``size`` x ``size`` with ``INTER_AREA``.
    """
    x, y, w, h = cv2.boundingRect(drawing)
    if w == 0 or h == 0:
        return np.zeros((size, size), np.uint8)
    moments = cv2.moments(drawing)
    cx = moments["m10"] / moments["m00"]
    cy = moments["m01"] / moments["m00"]
    side = max(w, h) * size / box  # canvas pixels mapped onto the output
    cx, cy = np.array([cx, cy]) + rng.uniform(-jitter, jitter, 2) * side / size
    side_px = max(size, int(round(side)))
    x0 = int(round(cx - side_px / 2)) + side_px
    y0 = int(round(cy - side_px / 2)) + side_px
    padded = cv2.copyMakeBorder(drawing, side_px, side_px, side_px, side_px,
                                cv2.BORDER_CONSTANT, value=0)
    crop = padded[y0:y0 + side_px, x0:x0 + side_px]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def _finish(images: np.ndarray, rng: np.random.Generator,
            max_blur: float, max_noise: float) -> np.ndarray:
    """Slight random blur, brightness and noise; uint8 (N, H, W) ->
    float32 (N, 1, H, W) in [0, 1]."""
    n = len(images)
    sigmas = rng.uniform(0.0, max_blur, n)
    for i in np.flatnonzero(sigmas >= 0.25):
        images[i] = cv2.GaussianBlur(images[i], (0, 0), sigmas[i])
    x = images.astype(np.float32)
    x *= (rng.uniform(0.85, 1.0, n) / 255.0).astype(np.float32)[:, None, None]
    noise = rng.standard_normal(x.shape, dtype=np.float32)
    x += noise * rng.uniform(0.0, max_noise, n).astype(np.float32)[:, None, None]
    np.clip(x, 0.0, 1.0, out=x)
    return x[:, None]


def synthetic_digits(n: int = 10000, seed: int = 0, size: int = 28) -> Dataset:
    """``n`` balanced, varied digit images 0-9 of shape (1, size, size).

    Deterministic: the same ``seed`` always gives identical arrays.
    """
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    if size < 8:
        raise ValueError(f"size must be at least 8, got {size}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10).astype(np.int64)
    images = np.empty((n, size, size), np.uint8)
    for i, label in enumerate(labels):
        drawing = _draw_digit(DIGIT_CLASSES[label], rng)
        box = size * rng.uniform(0.64, 0.75)  # MNIST: 20 px of 28
        images[i] = _fit_to_output(drawing, size, box, rng, jitter=size / 28)
    x = _finish(images, rng, max_blur=0.5, max_noise=0.04)
    return Dataset(x, labels, list(DIGIT_CLASSES), name="synthetic digits")
