"""Compiled loops that gather convolution patches into columns and scatter them back.

Activations here are channel-major, ``(C, N, H, W)`` C-contiguous; the columns of a block of
output rows are ``(C*Fh*Fw, rows*Wo)`` C-contiguous, row ``(c*Fh + i)*Fw + j`` holding tap
``(i, j)`` of channel ``c`` (the order of ``weight.reshape(K, -1)``).

A block is the output rows ``y0 <= y < y1`` of the samples ``n0 <= n < n1`` (several whole
samples, or some rows of one sample); its column ``((n - n0)*(y1 - y0) + (y - y0))*Wo + x`` is
output pixel (n, y, x). Zero padding is implicit: taps that fall outside the input read 0 and
their gradients are dropped, so no padded copy is made. Reflect and replicate padding are made
explicit by ``pad_gather`` first (and folded back by ``pad_fold``), then padding 0 is used here.

Indices are unsigned (``np.uint64``) in the inner loops: Numba's negative-index wraparound on
signed indices keeps LLVM from turning the copies into vector moves (3x slower, measured).
"""

from __future__ import annotations

import numba
import numpy as np

_U = np.uint64


@numba.njit(nogil=True, cache=True)
def _valid_columns(off, sw, w, wo):
    """Output columns lo <= x < hi whose tap column x*sw + off lies inside 0..w-1."""
    lo = 0 if off >= 0 else (-off + sw - 1) // sw
    hi = (w - 1 - off) // sw + 1 if w - 1 - off >= 0 else 0
    lo = min(lo, wo)
    hi = max(lo, min(hi, wo))
    return lo, hi


@numba.njit(nogil=True, cache=True, inline="always")
def _im2col(x, cf, length, col0, n0, n1, y0, y1, fh, fw, sh, sw, dh, dw, ph, pw, wo, step):
    """The loops of im2col; ``step`` is sw, passed as the literal 1 where it is 1 (see below)."""
    c_, n_, h, w = x.shape
    xf = x.reshape(-1)
    rows = y1 - y0
    ustep = _U(step)
    uwo = _U(wo)
    for c in range(c_):
        for i in range(fh):
            for j in range(fw):
                r = (c * fh + i) * fw + j
                off = j * dw - pw
                lo, hi = _valid_columns(off, sw, w, wo)
                ulo, uhi = _U(lo), _U(hi)
                for n in range(n0, n1):
                    for y in range(y0, y1):
                        o = _U(r * length + col0 + ((n - n0) * rows + (y - y0)) * wo)
                        row = y * sh + i * dh - ph
                        if row < 0 or row >= h:
                            for k in range(uwo):
                                cf[o + k] = 0.0
                            continue
                        for k in range(ulo):
                            cf[o + k] = 0.0
                        s = _U(((c * n_ + n) * h + row) * w + lo * sw + off)
                        dst = o + ulo
                        for k in range(uhi - ulo):
                            cf[dst + k] = xf[s + k * ustep]
                        for k in range(uhi, uwo):
                            cf[o + k] = 0.0


@numba.njit(nogil=True, cache=True, inline="always")
def _col2im(cf, length, col0, dx, n0, n1, y0, y1, fh, fw, sh, sw, dh, dw, ph, pw, wo, step):
    c_, n_, h, w = dx.shape
    df = dx.reshape(-1)
    rows = y1 - y0
    ustep = _U(step)
    for c in range(c_):
        for i in range(fh):
            for j in range(fw):
                r = (c * fh + i) * fw + j
                off = j * dw - pw
                lo, hi = _valid_columns(off, sw, w, wo)
                cnt = _U(hi - lo)
                for n in range(n0, n1):
                    for y in range(y0, y1):
                        row = y * sh + i * dh - ph
                        if row < 0 or row >= h:
                            continue
                        src = _U(r * length + col0 + ((n - n0) * rows + (y - y0)) * wo + lo)
                        s = _U(((c * n_ + n) * h + row) * w + lo * sw + off)
                        for k in range(cnt):
                            df[s + k * ustep] += cf[src + k]


# Each loop is compiled twice: with the column stride a literal 1 (rows copied with vector moves,
# 1.5x faster) and with any stride.
@numba.njit(nogil=True, cache=True)
def im2col(x, cf, length, col0, n0, n1, y0, y1, fh, fw, sh, sw, dh, dw, ph, pw, wo):
    """Write the patches of x (C, N, H, W) for the block's output pixels into the flat columns
    cf: tap row r, block column q at cf[r*length + col0 + q]."""
    if sw == 1:
        _im2col(x, cf, length, col0, n0, n1, y0, y1, fh, fw, sh, 1, dh, dw, ph, pw, wo, 1)
    else:
        _im2col(x, cf, length, col0, n0, n1, y0, y1, fh, fw, sh, sw, dh, dw, ph, pw, wo, sw)


@numba.njit(nogil=True, cache=True)
def col2im(cf, length, col0, dx, n0, n1, y0, y1, fh, fw, sh, sw, dh, dw, ph, pw, wo):
    """Add the column gradients (laid out as im2col writes them) back onto dx: its adjoint."""
    if sw == 1:
        _col2im(cf, length, col0, dx, n0, n1, y0, y1, fh, fw, sh, 1, dh, dw, ph, pw, wo, 1)
    else:
        _col2im(cf, length, col0, dx, n0, n1, y0, y1, fh, fw, sh, sw, dh, dw, ph, pw, wo, sw)


@numba.njit(nogil=True, cache=True)
def zero_samples(x, n0, n1):
    """x[:, n0:n1] = 0 for x (C, N, H, W)."""
    c_, n_, h, w = x.shape
    xf = x.reshape(-1)
    plane = h * w
    for c in range(c_):
        start = _U((c * n_ + n0) * plane)
        for k in range(_U((n1 - n0) * plane)):
            xf[start + k] = 0.0


@numba.njit(nogil=True, cache=True)
def pad_gather(x, xp, n0, n1, rmap, cmap):
    """xp[c, n, i, j] = x[c, n, rmap[i], cmap[j]] for the samples n0..n1-1 (reflect / replicate)."""
    c_, _, hp, wp = xp.shape
    for c in range(c_):
        for n in range(n0, n1):
            for i in range(hp):
                src = x[c, n, rmap[i]]
                dst = xp[c, n, i]
                for j in range(wp):
                    dst[j] = src[cmap[j]]


@numba.njit(nogil=True, cache=True)
def pad_fold(dxp, dx, n0, n1, rmap, cmap):
    """dx[c, n] = the padded gradient dxp[c, n] folded back through pad_gather (its adjoint)."""
    c_, _, hp, wp = dxp.shape
    for c in range(c_):
        for n in range(n0, n1):
            dst = dx[c, n]
            dst[:, :] = 0.0
            for i in range(hp):
                src = dxp[c, n, i]
                row = dst[rmap[i]]
                for j in range(wp):
                    row[cmap[j]] += src[j]
