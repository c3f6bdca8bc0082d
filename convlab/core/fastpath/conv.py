"""conv2d over a whole batch: the patches of a block of output rows gathered by compiled loops
into columns ``(C*Fh*Fw, rows*Wo)``, one GEMM per block, activations channel-major.

A layer's ``ConvPlan`` holds, for one batch size and dtype, the blocks (whole samples, or rows of
one sample for large images), grouped in units the threads take one at a time, and the scratch
buffers, made once and reused by every call. Blocks are sized so that a block's columns stay in the core's L2
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
from . import conv_loops as loops
from .settings import engine

BLOCK_BYTES = 128 << 10  # 128 KB measured 1-5% quicker than 256 KB and 512 KB (LeNet-5, batch 16-256)
# The backward pass sums the weight gradient per group of units, then the groups in order: the
# result does not depend on which thread took which group (with one sum per thread, a seeded
# LeNet-5 run reached 84-97 % after an epoch, differently each time). Up to GROUPS groups, fewer
# when their gradient copies would pass GROUP_BYTES, never fewer than the threads.
GROUPS = 8
GROUP_BYTES = 4 << 20


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
    """Blocks, units and scratch buffers for one conv layer at one batch size and dtype."""

    def __init__(self, geo: ConvGeometry, n: int, dtype):
        self.geo, self.n, self.dtype = geo, n, np.dtype(dtype)
        g = geo
        row_bytes = g.rows * g.wo * self.dtype.itemsize
        rows_per_block = max(1, BLOCK_BYTES // row_bytes)
        self.parts = engine.parts_for(n, g.k * g.rows * g.ho * g.wo * n, now=False)
        blocks: list[tuple[int, int, int, int]] = []
        units: list[tuple[int, int]] = []  # (first block, last block + 1), never sharing a sample
        if rows_per_block >= g.ho:
            per = rows_per_block // g.ho
            for n0 in range(0, n, per):
                units.append((len(blocks), len(blocks) + 1))
                blocks.append((n0, min(n, n0 + per), 0, g.ho))
        else:
            for n0 in range(n):
                first = len(blocks)
                blocks += [(n0, n0 + 1, y0, min(g.ho, y0 + rows_per_block)) for y0 in range(0, g.ho, rows_per_block)]
                units.append((first, len(blocks)))
        self.blocks = np.array(blocks, np.int64).reshape(-1, 4)
        self.units = np.array(units, np.int64).reshape(-1, 2)
        copies = max(1, GROUP_BYTES // (g.rows * g.k * self.dtype.itemsize))
        count = min(len(units), max(self.parts, min(GROUPS, copies)))
        edges = [len(units) * i // count for i in range(count + 1)]
        self.groups = np.array([(edges[i], edges[i + 1]) for i in range(count)], np.int64).reshape(-1, 2)
        most = max((b[1] - b[0]) * (b[3] - b[2]) * g.wo for b in blocks)
        self._scratch = [np.empty(g.rows * most, self.dtype) for _ in range(self.parts)]
        self._dcols: list[np.ndarray | None] = [None] * self.parts
        explicit = not g.zeros
        self.explicit = explicit
        hp, wp = (g.h + 2 * g.ph, g.w + 2 * g.pw) if explicit else (g.h, g.w)
        self._padded = np.empty((g.c, n, hp, wp), self.dtype) if explicit else None
        self._dpadded: np.ndarray | None = None
        self.rmap = F._pad_index(g.h, g.ph, g.mode) if explicit else np.zeros(1, np.int64)
        self.cmap = F._pad_index(g.w, g.pw, g.mode) if explicit else np.zeros(1, np.int64)
        self.pads = (0, 0) if explicit else (g.ph, g.pw)

    def _loop_geometry(self):
        g = self.geo
        return g.fh, g.fw, g.sh, g.sw, g.dh, g.dw, self.pads[0], self.pads[1], g.ho, g.wo

    def forward(self, x: np.ndarray, weight: np.ndarray, bias):
        """out (N, K, Ho, Wo) as a view of channel-major memory, and the source backward needs."""
        g = self.geo
        xc = channel_major(x)
        src = self._padded if self.explicit else xc
        out = np.empty((g.k, self.n, g.ho, g.wo), self.dtype)
        out2 = out.reshape(g.k, -1)
        w2 = weight.reshape(g.k, -1)
        b = bias if bias is not None else w2[0]
        geo = self._loop_geometry()

        counter = np.zeros(1, np.int64)

        def part(t):
            loops.forward_part(xc, src, self.explicit, self.rmap, self.cmap, w2, b, bias is not None, out2,
                               self._scratch[t], self.blocks, self.units, counter, *geo)

        engine.workers.run(part, 1 if engine.contended() else self.parts)
        return out.transpose(1, 0, 2, 3), src

    def backward(self, dout: np.ndarray, weight: np.ndarray, src: np.ndarray, need_input_grad: bool):
        """(dx or None, dweight, dbias) for the forward pass whose source was ``src``."""
        g = self.geo
        d2 = channel_major(dout.astype(self.dtype, copy=False)).reshape(g.k, -1)
        w2 = weight.reshape(g.k, -1)
        groups = len(self.groups)
        dws = np.zeros((groups, g.rows, g.k), self.dtype)
        dbs = np.zeros((groups, g.k), np.float64)
        dx = np.empty((g.c, self.n, g.h, g.w), self.dtype) if need_input_grad else None
        if need_input_grad and self.explicit and self._dpadded is None:
            self._dpadded = np.empty(src.shape, self.dtype)
        dsrc = self._dpadded if (need_input_grad and self.explicit) else src
        geo = self._loop_geometry()

        counter = np.zeros(1, np.int64)

        def part(t):
            if need_input_grad and self._dcols[t] is None:
                self._dcols[t] = np.empty_like(self._scratch[t])
            dcols = self._dcols[t] if need_input_grad else self._scratch[t]
            loops.backward_part(src, self.explicit, self.rmap, self.cmap, d2, w2, self._scratch[t], dcols, dws,
                                dbs, need_input_grad, src if dx is None else dx, dsrc, self.blocks, self.units,
                                self.groups, counter, *geo)

        engine.workers.run(part, 1 if engine.contended() else self.parts)
        dw_t, db = dws[0], dbs[0]
        for i in range(1, groups):  # in group order, whoever computed them
            dw_t += dws[i]
            db += dbs[i]
        dweight = np.ascontiguousarray(dw_t.T).reshape(weight.shape)
        return (None if dx is None else dx.transpose(1, 0, 2, 3)), dweight, db.astype(self.dtype)
