"""How values become pictures: one rule for the levels of a stack of maps, and filters laid out
as one mosaic. The colours themselves come from a 256-entry table the caller gives (the GUI's
diverging or gray map), through :func:`convlab.core.images.colorize`.
"""

from __future__ import annotations

import numpy as np

from .images import colorize

__all__ = ["display_levels", "weight_mosaic", "input_picture", "GAP_RGB"]

GAP_RGB = (200, 200, 200)  # the 1-pixel gap between the tiles of a mosaic


def display_levels(values: np.ndarray, *, from_zero: bool = True) -> tuple[tuple[float, float], bool]:
    """One scale for a whole stack of maps, and whether it is signed.

    With negative values the scale is symmetric, -m .. +m with m the largest magnitude, drawn
    with diverging colours (0 is the middle). Otherwise it runs from 0 (``from_zero``) or from
    the smallest value up to the largest. NaN and infinite values are ignored; an empty or
    constant stack still gets a scale that is not empty.
    """
    a = np.asarray(values)
    finite = a[np.isfinite(a)] if a.size else a
    if finite.size == 0:
        return (0.0, 1.0), False
    lo, hi = float(finite.min()), float(finite.max())
    if lo < 0:
        m = max(-lo, hi) or 1.0
        return (-m, m), True
    base = 0.0 if from_zero else lo
    return (base, hi if hi > base else base + 1.0), False


def weight_mosaic(w: np.ndarray, scale: float, table: np.ndarray, max_channels: int = 8) -> np.ndarray:
    """Filters (K, C, Fh, Fw) as one RGB uint8 image: one column of tiles per filter, one row per
    input channel (the first ``max_channels``), a gray 1-pixel gap between tiles, the colours of
    ``table`` for -scale .. +scale. (Filters run across, so a bank fits a wide panel.)"""
    k, c, fh, fw = w.shape
    cs = min(c, max_channels)
    height, width = cs * (fh + 1) - 1, k * (fw + 1) - 1
    v = np.nan_to_num(np.asarray(w[:, :cs], dtype=np.float64))
    rgb = colorize(v.reshape(-1, fw), (-scale, scale), table).reshape(k, cs, fh, fw, 3)
    out = np.empty((height + 1, width + 1, 3), np.uint8)
    out[...] = GAP_RGB
    tiles = out.reshape(cs, fh + 1, k, fw + 1, 3)
    tiles[:, :fh, :, :fw] = rgb.transpose(1, 2, 0, 3, 4)
    return np.ascontiguousarray(out[:height, :width])


def input_picture(x: np.ndarray) -> tuple[np.ndarray, tuple[float, float] | None]:
    """A model input (C, H, W) in [0, 1] as a picture and its levels: RGB uint8 (drawn as it is,
    levels None) for 3 channels, the single channel as float32 on 0..1 otherwise."""
    if x.shape[0] == 3:
        return np.ascontiguousarray((np.clip(x, 0, 1).transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8)), None
    return np.ascontiguousarray(x[0], dtype=np.float32), (0.0, 1.0)
