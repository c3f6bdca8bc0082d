"""One thread's share of a conv layer's forward or backward pass, as one compiled call.

The batch is a list of blocks ``(n0, n1, y0, y1)`` (output rows y0..y1-1 of samples n0..n1-1;
see ``patch_loops``) grouped in units that never share a sample (one block of whole samples, or
the row blocks of one sample); each thread takes the next unit from a shared counter until none is
left, so a thread the system runs late simply does fewer. Per block: gather the patches into
columns, then GEMM (``gemm``):

    forward   out[:, block]   = W (K, R) @ cols (R, m)            (+ bias)
    backward  dW.T (R, K)    += cols (R, m) @ dout[:, block].T     (this orientation is 2x faster
                                                                   than dout @ cols.T for small K)
              dcols (R, m)    = W.T @ dout[:, block],  then scattered back by col2im

``out`` and ``dout`` are channel-major ``(K, N*Ho*Wo)``; R = C*Fh*Fw; m the block's pixels.
The columns go to a per-thread scratch block that stays in the core's cache, and backward
gathers them again: keeping the whole batch's columns from forward to backward measured slower
(LeNet-5, batch 16 to 256: 4-14% more time a step, the columns streaming through memory).

Reflect / replicate padding: a unit's samples are padded into ``src`` first (``explicit``), and
their gradient is folded back from ``dsrc`` after it; zero padding is implicit in the loops.
"""

from __future__ import annotations

import numba
import numpy as np

from .atomics import fetch_add
from .gemm import gemm
from .patch_loops import col2im, im2col, pad_fold, pad_gather, zero_samples

_U = np.uint64


@numba.njit(nogil=True, cache=True)
def forward_part(x, src, explicit, rmap, cmap, w2, bias, has_bias, out2, cols, blocks, units, counter,
                 fh, fw, sh, sw, dh, dw, ph, pw, ho, wo):  # pragma: no cover - compiled
    k_, r_ = w2.shape
    total = out2.shape[1]
    wf = w2.reshape(-1)
    of = out2.reshape(-1)
    while True:
        u = fetch_add(counter, 1)
        if u >= units.shape[0]:
            return
        first, last = units[u, 0], units[u, 1]
        if explicit:
            pad_gather(x, src, blocks[first, 0], blocks[last - 1, 1], rmap, cmap)
        for b in range(first, last):
            n0, n1, y0, y1 = blocks[b, 0], blocks[b, 1], blocks[b, 2], blocks[b, 3]
            m = (n1 - n0) * (y1 - y0) * wo
            col0 = (n0 * ho + y0) * wo
            im2col(src, cols, m, 0, n0, n1, y0, y1, fh, fw, sh, sw, dh, dw, ph, pw, wo)
            gemm(False, False, k_, m, r_, wf, 0, r_, cols, 0, m, 0.0, of, col0, total)
            if has_bias:
                for k in range(k_):
                    base = _U(k * total + col0)
                    v = bias[k]
                    for j in range(_U(m)):  # unsigned: no wraparound check, vector adds
                        of[base + j] += v


@numba.njit(nogil=True, cache=True)
def backward_part(src, explicit, rmap, cmap, d2, w2, cols, dcols, dw_groups, db_groups, need_dx, dx, dsrc, blocks,
                  units, groups, counter, fh, fw, sh, sw, dh, dw, ph, pw, ho, wo):  # pragma: no cover - compiled
    """Take groups of units from the counter; a group's weight and bias gradients go to its own
    rows of ``dw_groups`` (G, R, K) and ``db_groups`` (G, K), summed in group order afterwards, so
    the sums do not depend on which thread took which group (a seeded run gives the same numbers
    every time)."""
    k_, r_ = w2.shape
    total = d2.shape[1]
    wf = w2.reshape(-1)
    df = d2.reshape(-1)
    target = dsrc if explicit else dx
    while True:
        g = fetch_add(counter, 1)
        if g >= groups.shape[0]:
            return
        dwf = dw_groups[g].reshape(-1)
        db = db_groups[g]
        for u in range(groups[g, 0], groups[g, 1]):
            first, last = units[u, 0], units[u, 1]
            for b in range(first, last):
                n0, n1, y0, y1 = blocks[b, 0], blocks[b, 1], blocks[b, 2], blocks[b, 3]
                m = (n1 - n0) * (y1 - y0) * wo
                col0 = (n0 * ho + y0) * wo
                im2col(src, cols, m, 0, n0, n1, y0, y1, fh, fw, sh, sw, dh, dw, ph, pw, wo)
                gemm(False, True, r_, k_, m, cols, 0, m, df, col0, total, 1.0, dwf, 0, k_)
                for k in range(k_):
                    base = _U(k * total + col0)
                    acc = 0.0
                    for j in range(_U(m)):
                        acc += df[base + j]
                    db[k] += acc
                if need_dx:
                    gemm(True, False, r_, m, k_, wf, 0, r_, df, col0, total, 0.0, dcols, 0, m)
                    if y0 == 0:
                        zero_samples(target, n0, n1)
                    col2im(dcols, m, 0, target, n0, n1, y0, y1, fh, fw, sh, sw, dh, dw, ph, pw, wo)
            if need_dx and explicit:
                pad_fold(dsrc, dx, blocks[first, 0], blocks[last - 1, 1], rmap, cmap)
