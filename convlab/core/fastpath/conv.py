"""conv2d over a whole batch: the patches of a block of output rows gathered by compiled loops
into columns ``(C*Fh*Fw, rows*Wo)``, one GEMM per block, activations channel-major.

A layer's ``ConvPlan`` holds, for one batch size and dtype, the blocks (whole samples, or rows of
one sample for large images), which thread takes which samples, and the scratch buffers, made
once and reused by every call. Blocks are sized so that a block's columns stay in the core's L2
cache between their gathering and their GEMM (``BLOCK_BYTES``): one GEMM over the whole batch's
columns measured slower (it streams them through memory twice) and needs memory in proportion to
the batch (the columns of LeNet-5's second layer at 112x112, batch 256, are 415 MB). The
backward pass gathers each block's columns again instead of keeping them.

The output is channel-major ``(K, N, Ho, Wo)``, returned as its NCHW view
``out.transpose(1, 0, 2, 3)``: the next channel-major layer reads it without a copy, anything else
sees an ordinary NCHW array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import functional as F
from . import patch_loops as loops
from .settings import engine

BLOCK_BYTES = 256 << 10


@dataclass(frozen=True)
class ConvGeometry:
    c: int
    h: int
    w: int
    k: int
    fh: int
    fw: int
    sh: int
    sw: int
    ph: int
    pw: int
    dh: int
    dw: int
    mode: str
    ho: int
    wo: int

    @property
    def rows(self) -> int:  # rows of the columns: taps of one output pixel
        return self.c * self.fh * self.fw

    @property
    def zeros(self) -> bool:
        return self.mode == "zeros" or (self.ph == 0 and self.pw == 0)


def channel_major(x: np.ndarray) -> np.ndarray:
    """The (C, N, H, W) C-contiguous form of an NCHW array (no copy when it already is one)."""
    return np.ascontiguousarray(x.transpose(1, 0, 2, 3))


class ConvPlan:
    """Blocks, thread shares and scratch buffers for one conv layer at one batch size and dtype."""

    def __init__(self, geo: ConvGeometry, n: int, dtype):
        self.geo, self.n, self.dtype = geo, n, np.dtype(dtype)
        g = geo
        row_bytes = g.rows * g.wo * self.dtype.itemsize
        rows_per_block = max(1, BLOCK_BYTES // row_bytes)
        self.parts = engine.parts_for(n, g.k * g.rows * g.ho * g.wo * n)
        bounds = [n * t // self.parts for t in range(self.parts + 1)]
        self.shards = []  # per part: (first sample, last sample + 1, blocks)
        for t in range(self.parts):
            s0, s1 = bounds[t], bounds[t + 1]
            blocks = []
            if rows_per_block >= g.ho:
                per = rows_per_block // g.ho
                for n0 in range(s0, s1, per):
                    blocks.append((n0, min(s1, n0 + per), 0, g.ho))
            else:
                for n0 in range(s0, s1):
                    for y0 in range(0, g.ho, rows_per_block):
                        blocks.append((n0, n0 + 1, y0, min(g.ho, y0 + rows_per_block)))
            self.shards.append((s0, s1, blocks))
        most = max((b[1] - b[0]) * (b[3] - b[2]) * g.wo for _, _, bl in self.shards for b in bl)
        self._most = most
        self._cols = [None] * self.parts
        self._dcols = [None] * self.parts
        self._padded = None
        self._dpadded = None
        if not g.zeros:
            self.rmap = F._pad_index(g.h, g.ph, g.mode)
            self.cmap = F._pad_index(g.w, g.pw, g.mode)

    # ---------------------------------------------------------------- buffers

    def _block(self, store: list, t: int, m: int) -> np.ndarray:
        if store[t] is None:
            store[t] = np.empty(self.geo.rows * self._most, self.dtype)
        return store[t][: self.geo.rows * m].reshape(self.geo.rows, m)

    def _padded_source(self, xc: np.ndarray) -> np.ndarray:
        g = self.geo
        if self._padded is None:
            self._padded = np.empty((g.c, self.n, g.h + 2 * g.ph, g.w + 2 * g.pw), self.dtype)
        return self._padded

    # ---------------------------------------------------------------- the passes

    def _gather(self, src, cols, block):
        g = self.geo
        n0, n1, y0, y1 = block
        ph, pw = (g.ph, g.pw) if g.zeros else (0, 0)
        loops.im2col(src, cols, n0, n1, y0, y1, g.fh, g.fw, g.sh, g.sw, g.dh, g.dw, ph, pw, g.wo)

    def forward(self, x: np.ndarray, weight: np.ndarray, bias):
        """out (N, K, Ho, Wo) as a view of channel-major memory, and the state backward needs."""
        g = self.geo
        xc = channel_major(x)
        src = xc if g.zeros else self._padded_source(xc)
        out = np.empty((g.k, self.n, g.ho, g.wo), self.dtype)
        out2 = out.reshape(g.k, -1)
        w2 = weight.reshape(g.k, -1)
        b2 = None if bias is None else bias.reshape(g.k, 1)
        per_sample = g.ho * g.wo

        def part(t):
            s0, s1, blocks = self.shards[t]
            if not g.zeros:
                loops.pad_gather(xc, src, s0, s1, self.rmap, self.cmap)
            for block in blocks:
                n0, n1, y0, y1 = block
                m = (n1 - n0) * (y1 - y0) * g.wo
                cols = self._block(self._cols, t, m)
                self._gather(src, cols, block)
                start = n0 * per_sample + y0 * g.wo
                dst = out2[:, start : start + m]
                np.matmul(w2, cols, out=dst)
                if b2 is not None:
                    dst += b2

        engine.workers.run(part, self.parts)
        return out.transpose(1, 0, 2, 3), src

    def backward(self, dout: np.ndarray, weight: np.ndarray, src: np.ndarray, need_input_grad: bool):
        """(dx or None, dweight, dbias) for the forward pass that gave ``src``."""
        g = self.geo
        dc = channel_major(dout.astype(self.dtype, copy=False))
        d2 = dc.reshape(g.k, -1)
        w2 = weight.reshape(g.k, -1)
        per_sample = g.ho * g.wo
        dws = [np.zeros((g.k, g.rows), self.dtype) for _ in range(self.parts)]
        dbs = [np.zeros(g.k, self.dtype) for _ in range(self.parts)]
        dx = np.empty((g.c, self.n, g.h, g.w), self.dtype) if need_input_grad else None
        if need_input_grad and not g.zeros and self._dpadded is None:
            self._dpadded = np.empty(src.shape, self.dtype)
        dtarget = None if dx is None else (dx if g.zeros else self._dpadded)
        ph, pw = (g.ph, g.pw) if g.zeros else (0, 0)

        def part(t):
            s0, s1, blocks = self.shards[t]
            part_dw = np.empty((g.k, g.rows), self.dtype)
            for block in blocks:
                n0, n1, y0, y1 = block
                m = (n1 - n0) * (y1 - y0) * g.wo
                cols = self._block(self._cols, t, m)
                self._gather(src, cols, block)
                start = n0 * per_sample + y0 * g.wo
                d = d2[:, start : start + m]
                np.matmul(d, cols.T, out=part_dw)
                dws[t] += part_dw
                dbs[t] += d.sum(axis=1)
                if dtarget is not None:
                    dcols = self._block(self._dcols, t, m)
                    np.matmul(w2.T, d, out=dcols)
                    if y0 == 0:
                        loops.zero_samples(dtarget, n0, n1)
                    loops.col2im(dcols, dtarget, n0, n1, y0, y1, g.fh, g.fw, g.sh, g.sw, g.dh, g.dw, ph, pw, g.wo)
            if dtarget is not None and not g.zeros:
                loops.pad_fold(dtarget, dx, s0, s1, self.rmap, self.cmap)

        engine.workers.run(part, self.parts)
        dweight = dws[0]
        dbias = dbs[0]
        for t in range(1, self.parts):
            dweight += dws[t]
            dbias += dbs[t]
        return (None if dx is None else dx.transpose(1, 0, 2, 3)), dweight.reshape(weight.shape), dbias
