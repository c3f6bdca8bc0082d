"""Compiled pooling loops over planes, and the ReLU that max pooling can take in the same pass.

The maps are ``(P, H, W)`` C-contiguous, one plane per (channel, sample) of a channel-major
activation. A window is ``fh x fw`` at stride (sh, sw) with padding (ph, pw); max pooling never
picks the padding (it counts as -inf) and average pooling counts it as zeros (PyTorch's
defaults). Max pooling keeps, per output, the index ``a*fw + b`` of the winning tap in its
window: the first maximum in row-major order, as PyTorch. ``NO_ROUTE`` marks an output whose
gradient goes nowhere: a NaN in its window (the reference finds no tap equal to NaN) or, with the
ReLU fused, a maximum that is not positive.

relu(max(window)) == max(relu(window)), and its gradient reaches the first maximum of x exactly
when that maximum is positive, which is where the unfused ReLU -> max pool sends it too (when the
maximum is not positive every relu(x) in the window is 0 and the mask stops the gradient).
"""

from __future__ import annotations

import numba
import numpy as np

NO_ROUTE = 255  # in uint8 window indices (windows up to 15x15 = 225 taps)
NO_ROUTE_WIDE = -1  # in int32 window indices, for larger windows


@numba.njit(nogil=True, cache=True)
def _relu(v):
    # as np.maximum(v, 0): NaN stays NaN, -0.0 stays -0.0
    return v if (v >= 0 or v != v) else 0.0


@numba.njit(nogil=True, cache=True)
def maxpool_forward(x, out, idx, relu_out, relu, p0, p1, fh, fw, sh, sw, ph, pw, no_route):
    """Planes p0..p1-1: out = max over each window (of relu(x) when ``relu``), idx = winner.

    With ``relu`` the whole of relu(x) is written to relu_out as well (the ReLU layer's output).
    """
    _, h, w = x.shape
    _, ho, wo = out.shape
    for p in range(p0, p1):
        plane = x[p]
        if relu:
            dst = relu_out[p]
            for r in range(h):
                for c in range(w):
                    dst[r, c] = _relu(plane[r, c])
        for a in range(ho):
            r0 = a * sh - ph
            ra, rb = max(r0, 0), min(r0 + fh, h)
            for b in range(wo):
                c0 = b * sw - pw
                ca, cb = max(c0, 0), min(c0 + fw, w)
                best = plane[ra, ca]
                win = (ra - r0) * fw + (ca - c0)
                for r in range(ra, rb):
                    for c in range(ca, cb):
                        v = plane[r, c]
                        if v > best or v != v:
                            best = v
                            win = (r - r0) * fw + (c - c0)
                if best != best:
                    win = no_route
                if relu:
                    if not best > 0:
                        win = no_route
                    best = _relu(best)
                out[p, a, b] = best
                idx[p, a, b] = win


@numba.njit(nogil=True, cache=True)
def maxpool_backward(dout, idx, dx, p0, p1, fh, fw, sh, sw, ph, pw, no_route):
    """Planes p0..p1-1 of dx: zero, then each output's gradient added at its window's winner."""
    _, ho, wo = dout.shape
    for p in range(p0, p1):
        dst = dx[p]
        dst[:, :] = 0.0
        for a in range(ho):
            r0 = a * sh - ph
            for b in range(wo):
                win = idx[p, a, b]
                if win != no_route:
                    dst[r0 + win // fw, b * sw - pw + win % fw] += dout[p, a, b]


@numba.njit(nogil=True, cache=True)
def avgpool_forward(x, out, p0, p1, fh, fw, sh, sw, ph, pw):
    """Planes p0..p1-1: out = the sum over each window / (fh*fw), padding counted as zeros."""
    _, h, w = x.shape
    _, ho, wo = out.shape
    scale = 1.0 / (fh * fw)
    for p in range(p0, p1):
        plane = x[p]
        for a in range(ho):
            r0 = a * sh - ph
            ra, rb = max(r0, 0), min(r0 + fh, h)
            for b in range(wo):
                c0 = b * sw - pw
                ca, cb = max(c0, 0), min(c0 + fw, w)
                acc = 0.0
                for r in range(ra, rb):
                    for c in range(ca, cb):
                        acc += plane[r, c]
                out[p, a, b] = acc * scale


@numba.njit(nogil=True, cache=True)
def avgpool_backward(dout, dx, p0, p1, fh, fw, sh, sw, ph, pw):
    """Planes p0..p1-1 of dx: zero, then dout / (fh*fw) added over every window."""
    _, h, w = dx.shape
    _, ho, wo = dout.shape
    scale = 1.0 / (fh * fw)
    for p in range(p0, p1):
        dst = dx[p]
        dst[:, :] = 0.0
        for a in range(ho):
            r0 = a * sh - ph
            ra, rb = max(r0, 0), min(r0 + fh, h)
            for b in range(wo):
                c0 = b * sw - pw
                ca, cb = max(c0, 0), min(c0 + fw, w)
                g = dout[p, a, b] * scale
                for r in range(ra, rb):
                    for c in range(ca, cb):
                        dst[r, c] += g


def index_dtype(fh: int, fw: int):
    """The window-index type and its NO_ROUTE value for an fh x fw window."""
    if fh * fw < NO_ROUTE:
        return np.uint8, NO_ROUTE
    return np.int32, NO_ROUTE_WIDE
