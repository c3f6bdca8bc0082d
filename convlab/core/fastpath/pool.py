"""Max and average pooling over a whole batch, and ReLU + max pooling in one pass.

Pooling works plane by plane, so it takes its input in whichever layout it comes: NCHW memory or
channel-major memory (the NCHW view of a (C, N, H, W) array, as conv layers give), and gives its
output in the same layout. The window geometry is the layer's; the reference is
``functional.maxpool2d_forward`` / ``avgpool2d_forward``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import pool_loops as loops
from . import settings
from .settings import engine


@dataclass(frozen=True)
class PoolGeometry:
    fh: int
    fw: int
    sh: int
    sw: int
    ph: int
    pw: int
    ho: int
    wo: int

    def args(self):
        return self.fh, self.fw, self.sh, self.sw, self.ph, self.pw


@dataclass
class PoolCache:
    x_shape: tuple
    channel_major: bool
    geo: PoolGeometry
    idx: np.ndarray | None = None  # max pooling: the winner of each window
    no_route: int = 0


def _planes(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """x (N, C, H, W) as contiguous planes (P, H, W), and whether they are channel-major."""
    n, c, h, w = x.shape
    if x.flags.c_contiguous:
        return x.reshape(n * c, h, w), False
    cm = x.transpose(1, 0, 2, 3)
    return np.ascontiguousarray(cm).reshape(c * n, h, w), True


def _in_layout(d: np.ndarray, channel_major: bool) -> np.ndarray:
    """d (N, C, H, W) as contiguous planes in the given layout (a copy only when it differs)."""
    n, c, h, w = d.shape
    if channel_major:
        return np.ascontiguousarray(d.transpose(1, 0, 2, 3)).reshape(c * n, h, w)
    return np.ascontiguousarray(d).reshape(n * c, h, w)


def _as_nchw(planes: np.ndarray, n: int, c: int, channel_major: bool) -> np.ndarray:
    _, h, w = planes.shape
    if channel_major:
        return planes.reshape(c, n, h, w).transpose(1, 0, 2, 3)
    return planes.reshape(n, c, h, w)


CHUNKS_PER_THREAD = 8  # planes are handed out in this many chunks per thread


def _split(planes: int, n: int, work: int, fn) -> None:
    """Run fn(counter, chunk) on the engine's threads, which share the planes through the counter."""
    parts = engine.parts_for(n, work, least=settings.POOL_SPLIT_MIN)
    chunk = max(1, -(-planes // (parts * CHUNKS_PER_THREAD))) if parts > 1 else planes
    counter = np.zeros(1, np.int64)
    engine.workers.run(lambda t: fn(counter, chunk), parts)


def maxpool_forward(x: np.ndarray, geo: PoolGeometry, relu: bool = False):
    """(relu(x) or None, max pooling of x (of relu(x) with ``relu``), cache)."""
    n, c, h, w = x.shape
    planes, cm = _planes(x)
    p = planes.shape[0]
    dtype, no_route = loops.index_dtype(geo.fh, geo.fw)
    out = np.empty((p, geo.ho, geo.wo), x.dtype)
    idx = np.empty((p, geo.ho, geo.wo), dtype)
    relu_out = np.empty_like(planes) if relu else out  # (unused without relu)
    zero = x.dtype.type(0)

    def part(counter, chunk):
        loops.maxpool_forward(planes, out, idx, relu_out, relu, counter, chunk, *geo.args(), no_route, zero)

    _split(p, n, planes.size * 2, part)
    cache = PoolCache(x.shape, cm, geo, idx, no_route)
    y = _as_nchw(relu_out, n, c, cm) if relu else None
    return y, _as_nchw(out, n, c, cm), cache


def maxpool_backward(dout: np.ndarray, cache: PoolCache) -> np.ndarray:
    n, c, h, w = cache.x_shape
    d = _in_layout(dout, cache.channel_major)
    dx = np.empty((n * c, h, w), dout.dtype)

    def part(counter, chunk):
        loops.maxpool_backward(d, cache.idx, dx, counter, chunk, *cache.geo.args(), cache.no_route)

    _split(dx.shape[0], n, dx.size * 2, part)
    return _as_nchw(dx, n, c, cache.channel_major)


def avgpool_forward(x: np.ndarray, geo: PoolGeometry):
    n, c, h, w = x.shape
    planes, cm = _planes(x)
    out = np.empty((planes.shape[0], geo.ho, geo.wo), x.dtype)
    zero = x.dtype.type(0)

    def part(counter, chunk):
        loops.avgpool_forward(planes, out, counter, chunk, *geo.args(), zero)

    _split(planes.shape[0], n, planes.size * 2, part)
    return _as_nchw(out, n, c, cm), PoolCache(x.shape, cm, geo)


def avgpool_backward(dout: np.ndarray, cache: PoolCache) -> np.ndarray:
    n, c, h, w = cache.x_shape
    d = _in_layout(dout, cache.channel_major)
    dx = np.empty((n * c, h, w), dout.dtype)

    def part(counter, chunk):
        loops.avgpool_backward(d, dx, counter, chunk, *cache.geo.args())

    _split(dx.shape[0], n, dx.size * 2, part)
    return _as_nchw(dx, n, c, cache.channel_major)
