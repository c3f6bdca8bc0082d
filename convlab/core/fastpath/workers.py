"""Helper threads that take parts of a batch while the calling thread does the first part.

The parts run compiled loops (Numba, ``nogil``) and BLAS calls, which let go of the GIL, so they
run on separate cores. ``Workers.run(fn, parts)`` calls ``fn(0)`` in the caller and ``fn(1)`` ...
in helpers, and returns when all are done (re-raising the first error). When another thread is
already using the helpers, the caller runs every part itself.

Handing a part over must be cheap: a layer of a batch of 16 takes 50-300 us, while waking a
sleeping thread takes 20-90 us on this kind of machine (a virtual one). So each side first waits
for the other by polling a counter without the GIL (an atomic load in a compiled loop) for up to
``SPIN_SECONDS``, and only then sleeps on a semaphore: during training the next part always comes
within that time, and an idle helper costs nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

SPIN_SECONDS = 300e-6


@intrinsic
def _load_acquire(typingctx, counter):
    """counter[0] read as an atomic load: the compiler may not hoist it out of a polling loop."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.load_atomic(array.data, ordering="acquire", align=8)

    return types.int64(counter), codegen


@numba.njit(nogil=True, cache=True)
def _poll(counter, seen, rounds):  # pragma: no cover - compiled
    """Read counter[0] until it differs from ``seen`` or ``rounds`` reads passed; return it."""
    v = _load_acquire(counter)
    for _ in range(rounds):
        if v != seen:
            return v
        v = _load_acquire(counter)
    return v


_rounds: int | None = None


def _spin_rounds() -> int:
    """How many polls take about SPIN_SECONDS on this machine (measured once)."""
    global _rounds
    if _rounds is None:
        probe = np.zeros(1, np.int64)
        _poll(probe, 0, 10)
        t0 = time.perf_counter()
        _poll(probe, 0, 200_000)
        per_poll = max((time.perf_counter() - t0) / 200_000, 1e-10)
        _rounds = max(100, int(SPIN_SECONDS / per_poll))
    return _rounds


class _Signal:
    """A counter one thread raises and another waits on: polling first, then sleeping."""

    def __init__(self):
        self.count = np.zeros(1, np.int64)
        self._lock = threading.Lock()
        self._sleeper = threading.Semaphore(0)
        self._sleeping = False

    def raise_(self) -> None:
        with self._lock:
            self.count[0] += 1
            if self._sleeping:
                self._sleeping = False
                self._sleeper.release()

    def wait_past(self, seen: int) -> None:
        """Return once the count is above ``seen``."""
        if _poll(self.count, seen, _spin_rounds()) != seen:
            return
        with self._lock:
            if self.count[0] != seen:
                return
            self._sleeping = True
        self._sleeper.acquire()


class _Helper:
    def __init__(self, index: int):
        self.index = index
        self.job: Callable[[int], None] | None = None
        self.error: BaseException | None = None
        self.posted = _Signal()
        self.finished = _Signal()
        self.thread = threading.Thread(target=self._loop, name=f"convlab-engine-{index}", daemon=True)
        self.thread.start()

    def post(self, job) -> None:
        self.job = job
        self.error = None
        self.posted.raise_()

    def wait(self) -> None:
        self.finished.wait_past(int(self.posted.count[0]) - 1)

    def _loop(self) -> None:
        done = 0
        while True:
            self.posted.wait_past(done)
            done += 1
            try:
                assert self.job is not None
                self.job(self.index)
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                self.error = e
            self.finished.raise_()


class Workers:
    """A small pool: ``run(fn, parts)`` spreads fn(0), ..., fn(parts - 1) over the caller and helpers."""

    def __init__(self):
        self._helpers: list[_Helper] = []
        self._busy = threading.Lock()

    def run(self, fn, parts: int) -> None:
        if parts <= 1 or not self._busy.acquire(blocking=False):
            for i in range(parts):
                fn(i)
            return
        try:
            while len(self._helpers) < parts - 1:
                self._helpers.append(_Helper(len(self._helpers) + 1))
            helpers = self._helpers[: parts - 1]
            for h in helpers:
                h.post(fn)
            error = None
            try:
                fn(0)
            except BaseException as e:  # noqa: BLE001 - raised once the helpers are done
                error = e
            for h in helpers:
                h.wait()
                error = error or h.error
            if error is not None:
                raise error
        finally:
            self._busy.release()
