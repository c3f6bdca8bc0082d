"""A linear layer's GEMMs with the batch split over the engine's threads (rows of x per thread).

NumPy lets go of the GIL inside its BLAS calls, so the parts run side by side; a part is a
``np.matmul`` into its rows of a shared output. Weight gradients are summed over the parts.
"""

from __future__ import annotations

import numpy as np

from . import settings
from .settings import engine


def _bounds(n: int, macs: int) -> list[int]:
    parts = engine.parts_for(n, macs, least=settings.LINEAR_SPLIT_MIN_MACS)
    return [n * t // parts for t in range(parts + 1)]


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    n = x.shape[0]
    units = weight.shape[0]
    bounds = _bounds(n, n * x.shape[1] * units)
    out = np.empty((n, units), x.dtype)

    def part(t):
        a, b = bounds[t], bounds[t + 1]
        np.matmul(x[a:b], weight.T, out=out[a:b])
        if bias is not None:
            out[a:b] += bias

    engine.workers.run(part, len(bounds) - 1)
    return out


def backward(dout: np.ndarray, x: np.ndarray, weight: np.ndarray, need_input_grad: bool):
    """(dx or None, dweight, dbias)."""
    n = x.shape[0]
    bounds = _bounds(n, 2 * n * x.shape[1] * weight.shape[0])
    parts = len(bounds) - 1
    dws = [np.empty(weight.shape, weight.dtype) for _ in range(parts)]
    dx = np.empty(x.shape, dout.dtype) if need_input_grad else None

    def part(t):
        a, b = bounds[t], bounds[t + 1]
        np.matmul(dout[a:b].T, x[a:b], out=dws[t])
        if dx is not None:
            np.matmul(dout[a:b], weight, out=dx[a:b])

    engine.workers.run(part, parts)
    for t in range(1, parts):
        dws[0] += dws[t]
    return dx, dws[0], dout.sum(axis=0)
