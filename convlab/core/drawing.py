"""The drawing pad's engine: strokes rendered as ink, a drawing centred and scaled like MNIST, and
the pad as a live frame source.

Ink is a gray uint8 image, **bright ink on a dark ground** (0 = no ink, 255 = full ink), the way
MNIST stores its digits; a pad that shows black ink on white paper inverts only what it shows.

    ink = np.zeros((280, 280), np.uint8)
    draw_stroke(ink, [(60, 50), (200, 60), (120, 240)], width=20)   # round caps, anti-aliased
    field = centre_like_mnist(ink)                                   # (28, 28) uint8, MNIST layout

"Centre and scale like MNIST" (LeCun et al.'s description of the MNIST digits): the ink's bounding
box is scaled, keeping its aspect ratio, to fit a 20 x 20 box; the result is put in a 28 x 28 field
and shifted so that its centre of mass lies on the field's centre, (13.5, 13.5) in pixel
coordinates.  The shift is sub-pixel (an affine warp with bilinear interpolation moves the centre of
mass exactly), so the ink may touch one more row or column than the box, faintly.  For another
model size the 20/28 ratio is kept (a 32 x 32 input gets a box of about 22.9 pixels).  A drawing
whose ink is very lopsided would be pushed partly out of the field; the shift is then limited so
the whole drawing stays inside (it ends as close to the centre as the field allows), because a
digit cut in half tells the network less than one slightly off centre.

:class:`DrawingSource` is a :class:`~convlab.core.sources.FrameSource` without a thread: every
``show(image)`` publishes a frame, so the pad goes through the same live pipeline as a camera.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .images import to_rgb
from .sources import Frame, FrameSource, SourceError

__all__ = [
    "MNIST_SIZE",
    "MNIST_BOX",
    "Stroke",
    "InkStats",
    "draw_dot",
    "draw_segment",
    "draw_stroke",
    "render_strokes",
    "ink_stats",
    "box_for",
    "centre_like_mnist",
    "DrawingSource",
]

MNIST_SIZE = 28  # the field
MNIST_BOX = 20  # the box the ink's bounding box is scaled to fit
_SHIFT = 4  # cv2 drawing: coordinates in 1/16 pixel
_ONE = 1 << _SHIFT


# ---------------------------------------------------------------------------------------------
# Strokes
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stroke:
    """One stroke: the pen's path in canvas pixels (x, y) and the brush width (a diameter, in
    pixels) at each point (a pen's pressure makes it vary)."""

    points: tuple[tuple[float, float], ...]
    widths: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.points) != len(self.widths):
            raise ValueError(f"a stroke needs one width per point: {len(self.points)} points, "
                             f"{len(self.widths)} widths")


def _fixed(x: float, y: float) -> tuple[int, int]:
    return int(round(x * _ONE)), int(round(y * _ONE))


def _check_ink(ink: np.ndarray) -> None:
    if not isinstance(ink, np.ndarray) or ink.dtype != np.uint8 or ink.ndim != 2:
        what = f"{ink.dtype} {ink.shape}" if isinstance(ink, np.ndarray) else type(ink).__name__
        raise ValueError(f"ink must be a gray uint8 image (H, W), got {what}")
    if ink.size == 0:
        raise ValueError(f"ink must have at least one pixel, got shape {ink.shape}")


def draw_dot(ink: np.ndarray, x: float, y: float, width: float, value: int = 255) -> None:
    """A round, anti-aliased dot of diameter ``width`` centred on (x, y), drawn into ``ink``."""
    _check_ink(ink)
    radius = max(0.5, float(width) / 2)
    cv2.circle(ink, _fixed(x, y), int(round(radius * _ONE)), int(value), -1, cv2.LINE_AA, _SHIFT)


def draw_segment(ink: np.ndarray, p0: Sequence[float], p1: Sequence[float], w0: float, w1: float | None = None,
                 value: int = 255, *, start_cap: bool = True) -> None:
    """A straight, anti-aliased piece of stroke from ``p0`` to ``p1`` with round caps: a dot of its
    own width at each end (``start_cap=False`` leaves out the first, already drawn by the piece
    before), the line between them; when the width changes (a pen's pressure), it tapers."""
    _check_ink(ink)
    w0, w1 = float(w0), float(w0 if w1 is None else w1)
    if start_cap:
        draw_dot(ink, p0[0], p0[1], w0, value)
    pieces = min(64, max(1, math.ceil(abs(w1 - w0))))  # a width that changes tapers, a pixel per piece
    (x0, y0), (x1, y1) = (float(p0[0]), float(p0[1])), (float(p1[0]), float(p1[1]))
    a, wa = (x0, y0), w0
    for i in range(1, pieces + 1):
        t = i / pieces
        b, wb = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t), w0 + (w1 - w0) * t
        thickness = max(1, int(round((wa + wb) / 2)))
        cv2.line(ink, _fixed(*a), _fixed(*b), int(value), thickness, cv2.LINE_AA, _SHIFT)
        draw_dot(ink, b[0], b[1], wb, value)
        a, wa = b, wb


def draw_stroke(ink: np.ndarray, points: Sequence[Sequence[float]], width: float | Sequence[float],
                value: int = 255) -> None:
    """A whole stroke (a dot when it has one point) drawn into ``ink``: a dot at the first point,
    then one piece per point, exactly as a pad draws it point by point (so a stroke rendered again,
    after an undo, gives the same pixels)."""
    _check_ink(ink)
    pts = [(float(p[0]), float(p[1])) for p in points]
    if not pts:
        return
    if isinstance(width, (int, float, np.number)):
        widths = [float(width)] * len(pts)
    else:
        widths = [float(w) for w in width]
    if len(widths) != len(pts):
        raise ValueError(f"a stroke needs one width per point: {len(pts)} points, {len(widths)} widths")
    draw_dot(ink, pts[0][0], pts[0][1], widths[0], value)
    for i in range(1, len(pts)):
        draw_segment(ink, pts[i - 1], pts[i], widths[i - 1], widths[i], value, start_cap=False)


def render_strokes(strokes: Sequence[Stroke], shape: tuple[int, int]) -> np.ndarray:
    """The ink of ``strokes`` on a fresh (H, W) canvas (undo renders the strokes that remain)."""
    h, w = (int(v) for v in shape)
    ink = np.zeros((max(1, h), max(1, w)), np.uint8)
    for stroke in strokes:
        draw_stroke(ink, stroke.points, stroke.widths)
    return ink


# ---------------------------------------------------------------------------------------------
# Where the ink is
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InkStats:
    """Where the ink of a gray image is: its bounding box (x, y, width, height) in pixels, its
    centre of mass (x, y) in pixel coordinates (weighted by ink), and its mass (the sum of the
    pixel values)."""

    box: tuple[int, int, int, int]
    centre: tuple[float, float]
    mass: float

    @property
    def empty(self) -> bool:
        return self.mass <= 0


def ink_stats(ink: np.ndarray, threshold: int = 0) -> InkStats:
    """The bounding box of the pixels brighter than ``threshold``, and the centre of mass of all ink.
    An image without ink has an empty box (0, 0, 0, 0), mass 0 and the image's centre."""
    _check_ink(ink)
    h, w = ink.shape
    ys, xs = np.nonzero(ink > threshold)
    mass = float(ink.sum(dtype=np.float64))
    if not len(xs) or mass <= 0:
        return InkStats((0, 0, 0, 0), ((w - 1) / 2, (h - 1) / 2), 0.0)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    values = ink.astype(np.float64)
    cx = float((values.sum(axis=0) * np.arange(w)).sum() / mass)
    cy = float((values.sum(axis=1) * np.arange(h)).sum() / mass)
    return InkStats((x0, y0, x1 - x0 + 1, y1 - y0 + 1), (cx, cy), mass)


def _size_hw(size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        h = w = int(size)
    else:
        if len(size) != 2:
            raise ValueError(f"the field size is a side or (height, width), got {size!r}")
        h, w = (int(v) for v in size)
    if h < 1 or w < 1:
        raise ValueError(f"the field must be at least 1 x 1 pixels, got {w} x {h}")
    return h, w


def box_for(size: int | tuple[int, int]) -> tuple[float, float]:
    """The (height, width) of the box a drawing is scaled into for a field of ``size``: 20/28 of it
    (20 x 20 for MNIST's 28 x 28)."""
    h, w = _size_hw(size)
    return h * MNIST_BOX / MNIST_SIZE, w * MNIST_BOX / MNIST_SIZE


# ---------------------------------------------------------------------------------------------
# Centre and scale like MNIST
# ---------------------------------------------------------------------------------------------

def centre_like_mnist(ink: np.ndarray, size: int | tuple[int, int] = MNIST_SIZE, *,
                      subpixel: bool = True, threshold: int = 0) -> np.ndarray:
    """``ink`` (gray uint8, bright ink on dark, any size) laid out like an MNIST digit.

    The bounding box of the ink is scaled, keeping its aspect ratio, so its longer side fills the
    box (20 of 28 pixels, see :func:`box_for`); that picture is placed in a field of ``size``
    (a side, or (height, width)) with its centre of mass on the field's centre.  ``subpixel``
    shifts by fractions of a pixel (bilinear); False shifts by whole pixels (the box then stays
    exactly 20 pixels, the centre of mass within half a pixel).  The shift never pushes ink out of
    the field (see the module's note).  Pixels not brighter than ``threshold`` count as no ink
    (a scanned or noisy picture: its specks would widen the box).  No ink gives an empty
    (all-zero) field.
    """
    _check_ink(ink)
    h, w = _size_hw(size)
    if threshold > 0:
        ink = np.where(ink > threshold, ink, 0).astype(np.uint8)
    out = np.zeros((h, w), np.uint8)
    stats = ink_stats(ink)
    if stats.empty:
        return out
    x0, y0, bw, bh = stats.box
    crop = np.ascontiguousarray(ink[y0:y0 + bh, x0:x0 + bw])
    box_h, box_w = box_for((h, w))
    scale = min(box_w / bw, box_h / bh)
    nw = min(w, max(1, int(round(bw * scale))))
    nh = min(h, max(1, int(round(bh * scale))))
    shrink = nw <= bw and nh <= bh
    small = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    inside = ink_stats(small)
    if inside.empty:  # ink so faint that shrinking rounded it away
        return out
    cx, cy = inside.centre
    tx = _clamp((w - 1) / 2 - cx, 0.0, float(w - nw))
    ty = _clamp((h - 1) / 2 - cy, 0.0, float(h - nh))
    if not subpixel:
        tx, ty = float(round(tx)), float(round(ty))
    if tx == int(tx) and ty == int(ty):
        out[int(ty):int(ty) + nh, int(tx):int(tx) + nw] = small
        return out
    shift = np.array([[1.0, 0.0, tx], [0.0, 1.0, ty]], np.float64)
    return cv2.warpAffine(small, shift, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=0)


def _clamp(v: float, lo: float, hi: float) -> float:
    return min(max(v, lo), hi)


# ---------------------------------------------------------------------------------------------
# The pad as a frame source
# ---------------------------------------------------------------------------------------------

class DrawingSource(FrameSource):
    """The drawing pad as a live source: each ``show(image)`` publishes one frame (RGB uint8).

    No thread: a frame is published in the thread that calls ``show`` (the GUI's), so the live
    pipeline sees the pad like any camera.  ``start()`` publishes the picture shown last (an empty
    28 x 28 field before the first).  A drawing is never mirrored: ``mirror`` stays False.
    """

    kind = "drawing"
    _threaded = False

    def __init__(self, description: str = "the drawing pad"):
        super().__init__(description)
        self._image = np.zeros((MNIST_SIZE, MNIST_SIZE, 3), np.uint8)
        self._image.flags.writeable = False

    @property
    def mirror(self) -> bool:
        return False

    @mirror.setter
    def mirror(self, value: bool) -> None:
        pass  # a drawing is shown as drawn

    def show(self, image: np.ndarray) -> Frame | None:
        """Make ``image`` (gray or RGB uint8) the pad's picture: published at once while running
        (the frame is returned), kept for ``start()`` before.  After ``stop()`` nothing happens."""
        try:
            rgb = np.array(to_rgb(image), copy=True)
        except ValueError as exc:
            raise SourceError(f"{self.description} cannot show that picture: {exc}") from exc
        rgb.flags.writeable = False
        self._image = rgb
        if not self.running:
            return None
        return self._publish_still()

    def _publish_still(self) -> Frame:
        return self._publish(self._image, False, time.monotonic(), 0.0, -1)
