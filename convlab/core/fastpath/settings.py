"""The engine's thread count, the switch to the reference path, and the BLAS cap that goes with them.

Nothing here imports Numba: ``convlab.core`` stays quick to import, and Numba is loaded with the
compiled loops the first time a layer takes the fast path.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

from . import blas

# Work (multiply-adds) below which a layer is not split over threads: handing a part to a helper
# costs about 30 us, the time of ~1 M multiply-adds in these loops.
SPLIT_MIN_MACS = 2_000_000


def _default_threads() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 2))


class Engine:
    """Process-wide settings of the fast path (one instance: ``engine``)."""

    def __init__(self):
        self.threads = _default_threads()
        self.generation = 0  # bumped by every change: plans made before are made again
        self._reference = 0
        self._lock = threading.Lock()
        self._available: bool | None = None
        self._workers = None
        self._blas_done = False

    # ------------------------------------------------------------------ which path

    @property
    def available(self) -> bool:
        """True when the compiled loops can be had: Numba imports and NumPy's BLAS has a CBLAS GEMM."""
        if self._available is None:
            try:
                from . import gemm
            except ImportError:
                self._available = False
            else:
                self._available = gemm.available()
        return self._available

    def active(self) -> bool:
        """Whether layers take the fast path now (Numba there, not switched to the reference)."""
        if self._reference or not self.available:
            return False
        if not self._blas_done:
            self._cap_blas()
        return True

    @contextmanager
    def reference(self):
        """Within the block every layer runs the plain reference implementation (``functional``)."""
        with self._lock:
            self._reference += 1
        try:
            yield
        finally:
            with self._lock:
                self._reference -= 1

    # ------------------------------------------------------------------ threads

    def set_threads(self, threads: int) -> None:
        """Use ``threads`` threads for a batch (the batch is split; the BLAS runs one thread each)."""
        threads = int(threads)
        if threads < 1:
            raise ValueError(f"the engine needs at least 1 thread, got {threads}")
        with self._lock:
            self.threads = threads
            self.generation += 1
        self._cap_blas()

    def _cap_blas(self) -> None:
        # every part of a split batch runs its own one-thread GEMMs; a BLAS with threads of its
        # own would put two threads on each core (and spin them between calls)
        blas.set(1)
        self._blas_done = True

    def parts_for(self, n: int, macs: int) -> int:
        """Into how many parts to split a batch of n samples needing ``macs`` multiply-adds."""
        if self.threads == 1 or n < 2 or macs < SPLIT_MIN_MACS:
            return 1
        return min(self.threads, n)

    @property
    def workers(self):
        if self._workers is None:
            with self._lock:
                if self._workers is None:
                    from .workers import Workers

                    self._workers = Workers()
        return self._workers


engine = Engine()
