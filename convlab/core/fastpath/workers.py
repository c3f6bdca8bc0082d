"""Helper threads that take parts of a batch while the calling thread does the first part.

The parts run compiled loops (Numba, ``nogil``) and BLAS calls, which let go of the GIL, so they
run on separate cores. ``Workers.run(fn, parts)`` calls ``fn(0)`` in the caller and offers
``fn(1)`` ... to helpers; it returns when every part is done, re-raising the first error.

A helper joins a part only if it gets to it before the caller has finished its own: the caller
then takes back every part no helper has claimed (an atomic exchange decides who runs it), so a
helper that the system has not scheduled (other programs busy on the cores) delays nothing. Parts
that share their work through a counter (the conv loops take blocks one at a time) are simply
found empty by whoever comes late.

Handing a part over must be cheap: a layer of a batch of 16 takes 50-300 us, while waking a
sleeping thread takes 20-90 us on this kind of machine (a virtual one). So a helper first waits
for the next part by polling a counter without the GIL for up to ``SPIN_SECONDS``, and only then
sleeps: during training the next part comes within that time, and an idle helper costs nothing.
When another thread is already using the helpers, the caller runs every part itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from .atomics import exchange_now, poll

SPIN_SECONDS = 300e-6
OPEN, CLAIMED, TAKEN_BACK = 0, 1, 2

_rounds: int | None = None


def _spin_rounds() -> int:
    """How many polls take about SPIN_SECONDS on this machine (measured once)."""
    global _rounds
    if _rounds is None:
        probe = np.zeros(1, np.int64)
        poll(probe, 0, 10)
        t0 = time.perf_counter()
        poll(probe, 0, 200_000)
        per_poll = max((time.perf_counter() - t0) / 200_000, 1e-10)
        _rounds = max(100, int(SPIN_SECONDS / per_poll))
    return _rounds


class _Part:
    """Part ``index`` of one run: who runs it (``claim``), whether it is done, its error."""

    def __init__(self, fn: Callable[[int], None], index: int):
        self.fn = fn
        self.index = index
        self.claim = np.full(1, OPEN, np.int64)
        self.done = np.zeros(1, np.int64)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.fn(self.index)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            self.error = e
        self.done[0] = 1


class _Helper:
    def __init__(self, index: int):
        self.part: _Part | None = None
        self.posted = np.zeros(1, np.int64)  # count of parts offered to this helper
        self._lock = threading.Lock()
        self._wake = threading.Semaphore(0)
        self._sleeping = False
        self.thread = threading.Thread(target=self._loop, name=f"convlab-engine-{index}", daemon=True)
        self.thread.start()

    def offer(self, part: _Part) -> None:
        with self._lock:
            self.part = part
            self.posted[0] += 1
            if self._sleeping:
                self._sleeping = False
                self._wake.release()

    def _loop(self) -> None:
        seen = 0
        while True:
            if poll(self.posted, seen, _spin_rounds()) == seen:
                with self._lock:
                    self._sleeping = self.posted[0] == seen
                if self._sleeping:
                    self._wake.acquire()
            with self._lock:
                seen = int(self.posted[0])
                part = self.part
            if part is not None and exchange_now(part.claim, CLAIMED) == OPEN:
                part.run()


def _wait_done(part: _Part) -> None:
    while poll(part.done, 0, _spin_rounds()) == 0:
        time.sleep(20e-6)  # the helper was descheduled mid-part: let go of the core meanwhile


class Workers:
    """A small pool: ``run(fn, parts)`` spreads fn(0), ..., fn(parts - 1) over the caller and helpers."""

    def __init__(self):
        self._helpers: list[_Helper] = []
        self._busy = threading.Lock()

    def run(self, fn: Callable[[int], None], parts: int) -> None:
        if parts <= 1 or not self._busy.acquire(blocking=False):
            for i in range(parts):
                fn(i)
            return
        try:
            while len(self._helpers) < parts - 1:
                self._helpers.append(_Helper(len(self._helpers) + 1))
            offered = [_Part(fn, i) for i in range(1, parts)]
            for helper, part in zip(self._helpers, offered, strict=False):
                helper.offer(part)
            error = None
            try:
                fn(0)
            except BaseException as e:  # noqa: BLE001 - raised once every part is done
                error = e
            for part in offered:
                if exchange_now(part.claim, TAKEN_BACK) == OPEN:
                    part.run()  # no helper came for it: the caller does it
                else:
                    _wait_done(part)
                error = error or part.error
            if error is not None:
                raise error
        finally:
            self._busy.release()
