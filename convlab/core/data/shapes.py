"""Synthetic geometric shapes: a second toy dataset next to the digits.

Six classes drawn with OpenCV at a random size, position, rotation and
stroke width on a large canvas, then shrunk with ``INTER_AREA``.  Squares,
triangles, crosses and stars are either filled or outlined; a *circle* is
always a filled disc and a *ring* is always an outlined circle, so the two
stay distinguishable.  White shape on black, values in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np

from .dataset import Dataset

__all__ = ["SHAPE_CLASSES", "synthetic_shapes"]

SHAPE_CLASSES = ["circle", "square", "triangle", "cross", "star", "ring"]

_CANVAS = 112
_SHIFT = 4  # sub-pixel bits for cv2 drawing calls
_ONE = 1 << _SHIFT


def _fixed(points: np.ndarray) -> np.ndarray:
    """Float (x, y) points -> int32 fixed-point for cv2 with ``_SHIFT``."""
    return np.round(points * _ONE).astype(np.int32)


def _regular_points(n: int, radius: float, angle: float) -> np.ndarray:
    """Vertices of a regular n-gon centred on the origin."""
    t = angle + np.arange(n) * (2 * np.pi / n)
    return radius * np.stack([np.cos(t), np.sin(t)], axis=1)


def _star_points(radius: float, angle: float, rng: np.random.Generator) -> np.ndarray:
    points = _regular_points(10, radius, angle)
    points[1::2] *= rng.uniform(0.38, 0.5)  # inner corners
    return points


def _cross_points(radius: float, angle: float, rng: np.random.Generator) -> np.ndarray:
    a, r = radius * rng.uniform(0.2, 0.35), radius  # arm half-width, arm length
    plus = np.array([
        [a, r], [a, a], [r, a], [r, -a], [a, -a], [a, -r],
        [-a, -r], [-a, -a], [-r, -a], [-r, a], [-a, a], [-a, r],
    ])
    cos, sin = np.cos(angle), np.sin(angle)
    return plus @ np.array([[cos, sin], [-sin, cos]])


def _draw_shape(kind: str, rng: np.random.Generator) -> np.ndarray:
    canvas = np.zeros((_CANVAS, _CANVAS), np.uint8)
    radius = _CANVAS * rng.uniform(0.22, 0.42)
    margin = radius + 0.04 * _CANVAS
    centre = rng.uniform(margin, _CANVAS - margin, 2)
    angle = rng.uniform(0, 2 * np.pi)
    stroke = int(round(_CANVAS * rng.uniform(0.035, 0.08)))
    filled = rng.random() < 0.5

    if kind in ("circle", "ring"):
        if kind == "circle":
            thickness = cv2.FILLED
        else:
            thickness = int(round(radius * rng.uniform(0.12, 0.4)))
            radius -= thickness / 2  # keep the outer edge at `radius`
        cv2.circle(canvas, tuple(_fixed(centre)), int(round(radius * _ONE)), 255,
                   thickness, cv2.LINE_AA, _SHIFT)
        return canvas

    if kind == "square":
        points = _regular_points(4, radius, angle)
    elif kind == "triangle":
        points = _regular_points(3, radius, angle)
    elif kind == "cross":
        points = _cross_points(radius, angle, rng)
    elif kind == "star":
        points = _star_points(radius, angle, rng)
    else:
        raise ValueError(f"unknown shape {kind!r}")
    polygon = [_fixed(points + centre)]
    if filled:
        cv2.fillPoly(canvas, polygon, 255, cv2.LINE_AA, _SHIFT)
    else:
        cv2.polylines(canvas, polygon, True, 255, stroke, cv2.LINE_AA, _SHIFT)
    return canvas


def synthetic_shapes(n: int = 6000, seed: int = 0, size: int = 28) -> Dataset:
    """``n`` balanced shape images of shape (1, size, size), classes
    :data:`SHAPE_CLASSES`.  The same ``seed`` always gives identical arrays.
    """
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    if size < 8:
        raise ValueError(f"size must be at least 8, got {size}")
    rng = np.random.default_rng(seed)
    k = len(SHAPE_CLASSES)
    labels = rng.permutation(np.arange(n) % k).astype(np.int64)
    images = np.empty((n, size, size), np.uint8)
    for i, label in enumerate(labels):
        drawing = _draw_shape(SHAPE_CLASSES[label], rng)
        images[i] = cv2.resize(drawing, (size, size), interpolation=cv2.INTER_AREA)

    x = images.astype(np.float32) / 255.0
    x *= rng.uniform(0.8, 1.0, (n, 1, 1)).astype(np.float32)  # brightness
    noise_level = rng.uniform(0.0, 0.04, (n, 1, 1)).astype(np.float32)
    x += rng.standard_normal(x.shape, dtype=np.float32) * noise_level
    np.clip(x, 0.0, 1.0, out=x)
    return Dataset(x[:, None], labels, list(SHAPE_CLASSES), name="synthetic shapes")
