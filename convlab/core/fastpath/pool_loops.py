"""Compiled pooling loops over planes, and the ReLU that max pooling can take in the same pass.

The maps are ``(P, H, W)`` C-contiguous, one plane per (channel, sample) of an activation. A
window is ``fh x fw`` at stride (sh, sw) with padding (ph, pw); max pooling never picks the
padding (it counts as -inf) and average pooling counts it as zeros (PyTorch's defaults). Max
pooling keeps, per output, the index ``i*fw + j`` of the winning tap in its window: the first
maximum in row-major order, as PyTorch. ``no_route`` marks an output whose gradient goes nowhere:
a NaN in its window (the reference finds no tap equal to NaN) or, with the ReLU fused, a maximum
that is not positive.

relu(max(window)) == max(relu(window)), and its gradient reaches the first maximum of x exactly
when that maximum is positive, which is where the unfused ReLU -> max pool sends it too (when the
maximum is not positive every relu(x) in the window is 0 and the ReLU's mask stops the gradient).

Threads share the planes through ``counter``: each takes the next ``chunk`` planes until none is
left (a thread the system runs late does fewer). Each output row is done in two parts: the
columns whose windows lie wholly inside the plane, without bounds checks (2x2 windows by four loads
and three selects), and the few columns at the edges, clipped window by window. ``zero`` is 0 in
the maps' dtype (so float32 stays float32).

A plane is first looked at for NaN (one vectorised pass while it comes into cache, fused with the
ReLU when there is one). On a plane without NaN, 2x2 windows at stride 2 are compared by ``v > m``
alone, which LLVM turns into vector selects; a plane with a NaN, and any other window, takes the
loop that also asks ``v != v`` at every tap. Asking it everywhere made LLVM emit a branch per tap:
on an AVX2 machine (AMD EPYC) LeNet-5's first pooling at batch 256 took 6.3 ms that way, 1.2 ms
with the look for NaN and the NaN-free windows (measured, one thread). The choice is passed down
as a literal ``exact`` (and so is ``relu``) into a function inlined into its caller, so that loop
is compiled with only the tests it needs; the other cases share one compiled function (every
inlined copy costs seconds of compiling on a machine's first run).
"""

from __future__ import annotations

import numba
import numpy as np

from .atomics import fetch_add

_U = np.uint64


@numba.njit(nogil=True, cache=True)
def _inner_columns(w, wo, fw, sw, pw):
    """Output columns lo <= b < hi whose windows lie wholly inside a plane of width w."""
    lo = min(wo, (pw + sw - 1) // sw)
    hi = (w - fw + pw) // sw + 1 if w - fw + pw >= 0 else 0
    return lo, max(lo, min(wo, hi))


@numba.njit(nogil=True, cache=True)
def relu_planes(x, y, p0, p1, zero):
    """y = np.maximum(x, 0) on planes p0..p1-1 (NaN stays NaN, as NumPy); True when a NaN was met."""
    _, h, w = x.shape
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    nan = False
    for k in range(_U(p0 * h * w), _U(p1 * h * w)):
        v = xf[k]
        odd = v != v
        nan |= odd
        yf[k] = v if (v >= zero) | odd else zero
    return nan


@numba.njit(nogil=True, cache=True)
def has_nan(x, p):
    """Whether plane p of x holds a NaN (a vectorised pass: no early exit)."""
    _, h, w = x.shape
    xf = x.reshape(-1)
    nan = False
    for k in range(_U(p * h * w), _U((p + 1) * h * w)):
        v = xf[k]
        nan |= v != v
    return nan


@numba.njit(nogil=True, cache=True, inline="always")
def _store(of, jf, o, m, k, relu, no_route, zero, exact):
    nan = exact & (m != m)
    if relu:  # (not ~relu: ~True is -2 in Numba as in Python)
        k = k if m > zero else no_route
        m = m if (m >= zero) | nan else zero
    elif nan:
        k = no_route
    of[o] = m
    jf[o] = k


@numba.njit(nogil=True, cache=True, inline="always")
def _clipped(xf, of, jf, o, p, h, w, r0, ra, rb, b, fw, sw, pw, relu, no_route, zero):
    """One window that reaches past the plane's edge: clipped to it."""
    c0 = b * sw - pw
    ca, cb = max(c0, 0), min(c0 + fw, w)
    m = xf[_U((p * h + ra) * w + ca)]
    k = (ra - r0) * fw + (ca - c0)
    for r in range(ra, rb):
        line = _U((p * h + r) * w)
        for c in range(ca, cb):
            v = xf[line + _U(c)]
            if (v > m) | (v != v):
                m = v
                k = (r - r0) * fw + (c - c0)
    _store(of, jf, o + _U(b), m, k, relu, no_route, zero, True)


@numba.njit(nogil=True, cache=True, inline="always")
def _max2x2(xf, of, jf, row, o, count, step, uw, relu, no_route, zero, exact):
    """count 2x2 windows whose top-left taps are xf[row], xf[row + step], ...: 4 loads, 3 selects
    (``exact``: a NaN tap wins, and the output is NaN)."""
    ustep = _U(step)
    for b in range(_U(count)):
        q = row + b * ustep
        m = xf[q]
        v = xf[q + _U(1)]
        t = (v > m) | (exact & (v != v))  # | not `or`: no branch
        m = v if t else m
        k = 1 if t else 0
        v = xf[q + uw]
        t = (v > m) | (exact & (v != v))
        m = v if t else m
        k = 2 if t else k
        v = xf[q + uw + _U(1)]
        t = (v > m) | (exact & (v != v))
        m = v if t else m
        k = 3 if t else k
        _store(of, jf, o + b, m, k, relu, no_route, zero, exact)


@numba.njit(nogil=True, cache=True)
def _max_inner(xf, of, jf, row, o, count, fh, fw, sw, w, relu, no_route, zero):
    """count windows wholly inside the plane, the first with its top-left tap at xf[row], a NaN tap
    winning (a call of its own: compiling it inline once per case cost ~10 s on a first run)."""
    if fh == 2 and fw == 2:
        _max2x2(xf, of, jf, row, o, count, sw, _U(w), relu, no_route, zero, True)
    else:
        usw = _U(sw)
        for b in range(_U(0), _U(count)):
            q = row + b * usw
            m = xf[q]
            k = 0
            for i in range(fh):
                for j in range(fw):
                    v = xf[q + _U(i * w + j)]
                    t = (v > m) | (v != v)
                    m = v if t else m
                    k = i * fw + j if t else k
            _store(of, jf, o + b, m, k, relu, no_route, zero, True)


@numba.njit(nogil=True, cache=True)
def maxpool_forward(x, out, idx, relu_out, relu, counter, chunk, fh, fw, sh, sw, ph, pw, no_route, zero):
    """out = max over each window (relu of it with ``relu``), idx = the winner, for the planes taken.

    With ``relu`` all of relu(x) goes to relu_out too (the ReLU layer's output), plane by plane
    while the plane is in cache. Windows wholly inside the plane take a loop without bounds
    checks (for 2x2 windows, four loads and three selects: 3.5x faster than the general loop),
    without NaN tests unless the plane holds a NaN; the others are clipped to the plane.
    """
    _, h, w = x.shape
    _, ho, wo = out.shape
    lo, hi = _inner_columns(w, wo, fw, sw, pw)
    xf = x.reshape(-1)
    of = out.reshape(-1)
    jf = idx.reshape(-1)
    planes = x.shape[0]
    while True:  # chunks of planes taken from the shared counter until none is left
        p0 = fetch_add(counter, 1) * chunk
        if p0 >= planes:
            return
        for p in range(p0, min(planes, p0 + chunk)):
            nan = relu_planes(x, relu_out, p, p + 1, zero) if relu else has_nan(x, p)
            for a in range(ho):
                r0 = a * sh - ph
                ra, rb = max(r0, 0), min(r0 + fh, h)
                o = _U((p * ho + a) * wo)
                inner_lo, inner_hi = (lo, hi) if (ra == r0 and rb == r0 + fh) else (0, 0)
                if inner_hi > inner_lo:
                    row = _U((p * h + r0) * w + lo * sw - pw)
                    first, count = o + _U(inner_lo), inner_hi - inner_lo
                    if fh == 2 and fw == 2 and sw == 2 and not nan:  # the usual 2x2 / 2, no NaN: vector code
                        if relu:  # relu and exact as literals: only the tests this loop needs
                            _max2x2(xf, of, jf, row, first, count, 2, _U(w), True, no_route, zero, False)
                        else:
                            _max2x2(xf, of, jf, row, first, count, 2, _U(w), False, no_route, zero, False)
                    else:
                        _max_inner(xf, of, jf, row, first, count, fh, fw, sw, w, relu, no_route, zero)
                for b in range(inner_lo):
                    _clipped(xf, of, jf, o, p, h, w, r0, ra, rb, b, fw, sw, pw, relu, no_route, zero)
                for b in range(inner_hi if inner_hi > inner_lo else 0, wo):
                    _clipped(xf, of, jf, o, p, h, w, r0, ra, rb, b, fw, sw, pw, relu, no_route, zero)


@numba.njit(nogil=True, cache=True)
def maxpool_backward(dout, idx, dx, counter, chunk, fh, fw, sh, sw, ph, pw, no_route):
    """dx of the planes taken: zero, then each output's gradient added at its window's winner."""
    _, ho, wo = dout.shape
    _, h, w = dx.shape
    di = np.empty(fh * fw, np.int64)
    dj = np.empty(fh * fw, np.int64)
    for i in range(fh):
        for j in range(fw):
            di[i * fw + j] = i
            dj[i * fw + j] = j
    planes = dout.shape[0]
    while True:  # chunks of planes taken from the shared counter until none is left
        p0 = fetch_add(counter, 1) * chunk
        if p0 >= planes:
            return
        for p in range(p0, min(planes, p0 + chunk)):
            dst = dx[p].reshape(-1)
            for k in range(_U(h * w)):
                dst[k] = 0.0
            for a in range(ho):
                r0 = a * sh - ph
                g = dout[p, a]
                ids = idx[p, a]
                for b in range(wo):
                    k = ids[b]
                    if k != no_route:
                        dst[_U((r0 + di[k]) * w + b * sw - pw + dj[k])] += g[b]


@numba.njit(nogil=True, cache=True)
def avgpool_forward(x, out, counter, chunk, fh, fw, sh, sw, ph, pw, zero):
    """out = the sum over each window / (fh*fw), padding counted as zeros, for the planes taken."""
    _, h, w = x.shape
    _, ho, wo = out.shape
    lo, hi = _inner_columns(w, wo, fw, sw, pw)
    scale = 1.0 / (fh * fw)
    acc = np.empty(wo, x.dtype)
    usw = _U(sw)
    planes = x.shape[0]
    while True:  # chunks of planes taken from the shared counter until none is left
        p0 = fetch_add(counter, 1) * chunk
        if p0 >= planes:
            return
        for p in range(p0, min(planes, p0 + chunk)):
            plane = x[p]
            for a in range(ho):
                r0 = a * sh - ph
                ra, rb = max(r0, 0), min(r0 + fh, h)
                for b in range(wo):
                    acc[b] = zero
                # the same order of additions as the reference: window row by row, tap by tap
                for r in range(ra, rb):
                    row = plane[r]
                    for j in range(fw):
                        base = _U(lo * sw - pw + j)
                        for b in range(_U(lo), _U(hi)):
                            acc[b] += row[base + (b - _U(lo)) * usw]
                        for b in range(wo):
                            if lo <= b < hi:
                                continue
                            c = b * sw - pw + j
                            if 0 <= c < w:
                                acc[b] += row[c]
                dst = out[p, a]
                for b in range(wo):
                    dst[b] = acc[b] * scale


@numba.njit(nogil=True, cache=True)
def avgpool_backward(dout, dx, counter, chunk, fh, fw, sh, sw, ph, pw):
    """dx of the planes taken: zero, then dout / (fh*fw) added over every window."""
    _, h, w = dx.shape
    _, ho, wo = dout.shape
    lo, hi = _inner_columns(w, wo, fw, sw, pw)
    scale = 1.0 / (fh * fw)
    usw = _U(sw)
    planes = dout.shape[0]
    while True:  # chunks of planes taken from the shared counter until none is left
        p0 = fetch_add(counter, 1) * chunk
        if p0 >= planes:
            return
        for p in range(p0, min(planes, p0 + chunk)):
            dst = dx[p]
            dst[:, :] = 0.0
            for a in range(ho):
                r0 = a * sh - ph
                ra, rb = max(r0, 0), min(r0 + fh, h)
                g = dout[p, a]
                for r in range(ra, rb):
                    row = dst[r]
                    for j in range(fw):
                        base = _U(lo * sw - pw + j)
                        for b in range(_U(lo), _U(hi)):
                            row[base + (b - _U(lo)) * usw] += g[b] * scale
                        for b in range(wo):
                            if lo <= b < hi:
                                continue
                            c = b * sw - pw + j
                            if 0 <= c < w:
                                row[c] += g[b] * scale


def index_dtype(fh: int, fw: int):
    """The window-index type and its no-route value for an fh x fw window."""
    if fh * fw < 255:
        return np.uint8, 255
    return np.int32, -1
