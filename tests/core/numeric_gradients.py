"""Centred differences for the gradient checks of the tests beside this file."""

from __future__ import annotations

import numpy as np


def numerical_input_gradient(f, x, h=1e-6):
    """d f(x) / dx for a scalar f by centred differences (x is perturbed in place and restored)."""
    g = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        fp = f(x)
        x[ix] = old - h
        fm = f(x)
        x[ix] = old
        g[ix] = (fp - fm) / (2 * h)
    return g
