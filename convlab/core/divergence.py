"""Telling a run that diverges from one that learns, step by step: one rule for training a model
and for learning a filter.

    guard = DivergenceGuard()
    for step ...:
        reason = guard.observe(loss, params.values())   # "" while the run is healthy
        if reason: stop, restore guard's best weights, report reason
        if guard.improved: keep a copy of the weights that gave this loss

**The rule.** ``S`` is the smoothed loss, an exponential moving average of the step losses
(``S_1 = L_1``, then ``S_t = (1 - SMOOTHING) S_(t-1) + SMOOTHING L_t`` with SMOOTHING = 0.1, about
the last ten steps), ``best`` the lowest ``S`` so far and ``L_1`` the first loss. The run has
diverged at step ``t`` when

* the loss or any weight is not finite (NaN or infinity), at any step; or
* after a warm-up of WARMUP = 5 steps, ``S_t > FACTOR x max(best, FLOOR x L_1, 1e-12)`` with
  FACTOR = 4 and FLOOR = 0.5: the smoothed loss has become four times worse than the best it
  reached, and at least twice as bad as where it started.

Smoothing keeps a single bad batch from stopping a healthy run; the floor keeps a run whose loss
has fallen close to zero (a filter that fits exactly, a network near 100%) from being stopped by
the noise of small batches: with batches of one sample, a classifier's smoothed loss wanders
between 0.05 and 1 in a healthy run, never past twice the 2.3 it starts at. At learning rate 10
a LeNet's loss goes 2.3 -> 3 -> 21 -> 150 -> 260 -> 525: diverged at step 6, its first step after
the warm-up, and the weights before the first step are what the run gave at its best.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

__all__ = ["DivergenceGuard", "SMOOTHING", "WARMUP", "FACTOR", "FLOOR"]

SMOOTHING = 0.1
WARMUP = 5
FACTOR = 4.0
FLOOR = 0.5
_TINY = 1e-12  # a loss that reached exactly 0 is not "exploding" at 1e-13


class DivergenceGuard:
    """Watches a run's losses (and weights) and says when it has diverged (see the module rule).

    ``improved`` is True after an ``observe`` that set a new lowest smoothed loss: the caller
    keeps a copy of the weights that gave that loss (the weights *before* that step's update),
    which are the ones to restore when the run diverges; ``best_step`` is that step (1-based).
    """

    def __init__(self, *, factor: float = FACTOR, warmup: int = WARMUP, smoothing: float = SMOOTHING,
                 floor: float = FLOOR):
        if not (factor > 1 and warmup >= 0 and 0 < smoothing <= 1 and 0 <= floor):
            raise ValueError(f"divergence guard: factor > 1, warmup >= 0, 0 < smoothing <= 1 and floor >= 0, got "
                             f"{factor}, {warmup}, {smoothing}, {floor}")
        self.factor, self.warmup, self.smoothing, self.floor = factor, warmup, smoothing, floor
        self.steps = 0
        self.first: float | None = None
        self.smoothed: float | None = None
        self.best: float | None = None
        self.best_step = 0
        self.improved = False

    def observe(self, loss: float, weights: Iterable[np.ndarray] = ()) -> str:
        """Record one step's loss (and check its weights); "" while healthy, else why it diverged."""
        self.steps += 1
        self.improved = False
        loss = float(loss)
        if not math.isfinite(loss):
            return f"the loss became {loss:g}"
        if not all(np.isfinite(w).all() for w in weights):
            return "a weight became NaN or infinite"
        if self.first is None or self.smoothed is None:
            self.first = self.smoothed = loss
        else:
            self.smoothed = (1 - self.smoothing) * self.smoothed + self.smoothing * loss
        if self.best is None or self.smoothed < self.best:
            self.best, self.best_step, self.improved = self.smoothed, self.steps, True
        if self.steps <= self.warmup:
            return ""
        start = self.floor * abs(self.first)
        reference = max(self.best, start, _TINY)
        if self.smoothed > self.factor * reference:
            what = f"its best of {self.best:.4g}" if reference == self.best else \
                f"{reference:.4g} ({self.floor:g} times its first loss)"
            return (f"the loss rose to {loss:.4g} (smoothed {self.smoothed:.4g}), more than {self.factor:g} times "
                    f"{what}")
        return ""
