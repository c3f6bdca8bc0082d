"""Compiled optimiser updates: one pass over a parameter, its gradient and its buffers.

They do what ``convlab.core.optim`` does with NumPy, in the same order and in the parameter's
dtype (no fused multiply-adds, no reassociation), so the weights come out bit for bit the same; the
NumPy form reads and writes each array two to four times and makes temporaries for the products.
Every array is 1-D, C-contiguous and of one dtype; the scalars come in that dtype.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def sgd_momentum(p, g, buf, lr, momentum, nesterov):
    """buf = momentum * buf + g; p -= lr * buf (Nesterov: p -= lr * (g + momentum * buf))."""
    for i in range(p.size):
        b = buf[i] * momentum
        b += g[i]
        buf[i] = b
        if nesterov:
            p[i] -= lr * (g[i] + momentum * b)
        else:
            p[i] -= lr * b


@numba.njit(nogil=True, cache=True)
def adam(p, g, m, v, b1, one_minus_b1, b2, one_minus_b2, step, correction2, eps):
    """m, v = the moving averages of g and g^2; p -= step * m / (sqrt(v / correction2) + eps)."""
    for i in range(p.size):
        gi = g[i]
        mi = m[i] * b1
        mi += one_minus_b1 * gi
        m[i] = mi
        vi = v[i] * b2
        vi += one_minus_b2 * (gi * gi)
        v[i] = vi
        p[i] -= step * mi / (np.sqrt(vi / correction2) + eps)
