"""Synthetic colour shapes: a built-in RGB dataset at 3 x 32 x 32, CIFAR-10's size and class count.

Ten classes, five shapes in two colours: a red or a blue disc, square, triangle, cross or ring.
Telling red from blue needs the colour channels and telling a square from a cross needs the
spatial pattern, so an RGB model must use both. Each image has a random background (a dim colour
with a gentle gradient), the shape at a random size, position and rotation, filled or outlined
(a disc is always filled, a ring always outlined), its hue, saturation and brightness varied
within its colour, and a little noise. Values in [0, 1].

The shapes are drawn as masks on a 2x canvas with OpenCV and area-averaged down; the colouring is
done for all images at once, so several thousand images take well under a second.
"""

from __future__ import annotations

import cv2
import numpy as np

from .dataset import Dataset

__all__ = ["COLOUR_SHAPE_CLASSES", "synthetic_colour_shapes"]

_SHAPES = ["disc", "square", "triangle", "cross", "ring"]
_COLOURS = {"red": (-0.04, 0.04), "blue": (0.56, 0.67)}  # hue ranges (turns of the colour wheel)
COLOUR_SHAPE_CLASSES = [f"{colour} {shape}" for shape in _SHAPES for colour in _COLOURS]

_SHIFT = 3  # sub-pixel bits for the cv2 drawing calls
_ONE = 1 << _SHIFT


def _polygon(kind: str, radius: float, angle: float, arm: float) -> np.ndarray:
    if kind == "square":
        t = angle + np.arange(4) * (np.pi / 2) + np.pi / 4
        return radius * np.stack([np.cos(t), np.sin(t)], axis=1)
    if kind == "triangle":
        t = angle + np.arange(3) * (2 * np.pi / 3)
        return radius * np.stack([np.cos(t), np.sin(t)], axis=1)
    a, r = radius * arm, radius  # a plus sign of half-width a, turned by angle
    plus = np.array([[a, r], [a, a], [r, a], [r, -a], [a, -a], [a, -r],
                     [-a, -r], [-a, -a], [-r, -a], [-r, a], [-a, a], [-a, r]])
    cos, sin = np.cos(angle), np.sin(angle)
    return plus @ np.array([[cos, sin], [-sin, cos]])


def _mask(kind: str, canvas: int, rng: np.random.Generator) -> np.ndarray:
    """One shape as a uint8 mask on a ``canvas`` square."""
    m = np.zeros((canvas, canvas), np.uint8)
    radius = canvas * rng.uniform(0.2, 0.4)
    centre = rng.uniform(radius + 2, canvas - radius - 2, 2)
    stroke = max(2, int(round(canvas * rng.uniform(0.06, 0.11))))
    if kind in ("disc", "ring"):
        c = tuple(int(v) for v in np.round(centre * _ONE))
        r = int(round(radius * _ONE))
        cv2.circle(m, c, r, 255, -1 if kind == "disc" else stroke, cv2.LINE_AA, _SHIFT)
        return m
    points = _polygon(kind, radius, rng.uniform(0, 2 * np.pi), rng.uniform(0.25, 0.38)) + centre
    fixed = [np.round(points * _ONE).astype(np.int32)]
    if rng.random() < 0.5:
        cv2.fillPoly(m, fixed, 255, cv2.LINE_AA, _SHIFT)
    else:
        cv2.polylines(m, fixed, True, 255, stroke, cv2.LINE_AA, _SHIFT)
    return m


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(N,) hue in turns, saturation and value in [0, 1] -> (N, 3) RGB in [0, 1]."""
    h6 = (h % 1.0) * 6.0
    k = (np.array([5.0, 3.0, 1.0])[None, :] + h6[:, None]) % 6.0
    return v[:, None] - v[:, None] * s[:, None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def synthetic_colour_shapes(n: int = 6000, seed: int = 0, size: int = 32) -> Dataset:
    """``n`` balanced RGB images (3, size, size) of :data:`COLOUR_SHAPE_CLASSES`.

    Deterministic: the same ``seed`` always gives identical arrays.
    """
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    if size < 8:
        raise ValueError(f"size must be at least 8, got {size}")
    rng = np.random.default_rng(seed)
    k = len(COLOUR_SHAPE_CLASSES)
    labels = rng.permutation(np.arange(n) % k).astype(np.int64)
    canvas = 2 * size
    alpha = np.empty((n, size, size), np.float32)
    for i, label in enumerate(labels):
        shape = _SHAPES[label // len(_COLOURS)]
        alpha[i] = cv2.resize(_mask(shape, canvas, rng), (size, size), interpolation=cv2.INTER_AREA)
    alpha *= np.float32(1 / 255)

    # foreground: a hue within the class's colour, strong saturation, varied brightness
    hue_ranges = np.array(list(_COLOURS.values()))[labels % len(_COLOURS)]
    hue = rng.uniform(hue_ranges[:, 0], hue_ranges[:, 1])
    fg = _hsv_to_rgb(hue, rng.uniform(0.65, 1.0, n), rng.uniform(0.6, 1.0, n)).astype(np.float32)
    # background: any hue, weak and dim, with a gradient across the image
    bg = _hsv_to_rgb(rng.uniform(0, 1, n), rng.uniform(0.0, 0.5, n), rng.uniform(0.05, 0.45, n))
    direction = rng.uniform(0, 2 * np.pi, n)
    ramp = np.linspace(-0.5, 0.5, size, dtype=np.float32)
    gradient = (np.cos(direction)[:, None, None] * ramp[None, None, :]
                + np.sin(direction)[:, None, None] * ramp[None, :, None]).astype(np.float32)
    strength = rng.uniform(0.0, 0.25, n).astype(np.float32)[:, None, None]

    x = np.empty((n, 3, size, size), np.float32)
    for c in range(3):  # background, then the shape blended over it by its anti-aliased mask
        plane = x[:, c]
        np.multiply(strength, gradient, out=plane)
        plane += bg[:, c].astype(np.float32)[:, None, None]
        plane += alpha * (fg[:, c][:, None, None] - plane)
    noise = rng.standard_normal(x.shape, dtype=np.float32)
    noise *= rng.uniform(0.0, 0.05, (n, 1, 1, 1)).astype(np.float32)
    x += noise
    np.clip(x, 0.0, 1.0, out=x)
    return Dataset(x, labels, list(COLOUR_SHAPE_CLASSES), name="synthetic colour shapes")
