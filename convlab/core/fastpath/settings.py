"""The engine's thread count, the switch to the reference path, and the BLAS cap and allocator
setting that go with them.

Nothing here imports Numba: ``convlab.core`` stays quick to import, and Numba is loaded with the
compiled loops the first time a layer takes the fast path.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from contextlib import contextmanager

from . import allocator, blas

# Work (multiply-adds) below which a layer is not split over threads: handing a part to a helper
# costs about 30 us, the time of ~1 M multiply-adds in these loops.
SPLIT_MIN_MACS = 2_000_000
# The same for one GEMM of a linear layer, split by rows of the batch: each part reads all of the
# weights, and a part's rows of a channel-major flatten are copied before BLAS takes them. Measured
# (fwd + bwd, 2 threads, whole vs split): 64x400x120 0.18 vs 0.34 ms, 256x400x120 0.56 vs 0.54 ms,
# 256x2048x256 5.6 vs 3.6 ms; LeNet-5 at batch 64 trained 14.3-15.2k samples/s with its first
# linear layer split, 16.1-17.3k with it whole.
LINEAR_SPLIT_MIN_MACS = 32_000_000
# Work (2 x the values read) above which a pooling layer is split over threads. Its loops move data
# rather than multiply, so a part pays for its hand-over sooner than a conv's does. Measured on
# LeNet-5 training steps, interleaved in one process on 2 threads: splitting above 200k instead of
# 2M gained 2.3 / 7.5 / 2.7 % at batch 16 / 64 / 256; above 60k instead of 200k another 3.7 % at
# batch 16 and 1.6 % at batch 64.
POOL_SPLIT_MIN = 64_000
# Work of an inference call above which the compiled loops are loaded for it (see Engine.active)
LOAD_MIN_MACS = 10_000_000


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _default_threads() -> int:
    return max(1, min(_cores(), 2))  # measured on 2 cores only


class Engine:
    """Process-wide settings of the fast path (one instance: ``engine``)."""

    def __init__(self):
        self.threads = _default_threads()
        self.generation = 0  # bumped by every change: plans made before are made again
        self._reference = 0
        self._lock = threading.Lock()
        self._available: bool | None = None
        self._workers = None
        self._loaded = False
        self._capped = False
        self._cores = _cores()
        self._load_read = -1e9
        self._contended = False
        self._load_lock = threading.Lock()

    # ------------------------------------------------------------------ which path

    @property
    def available(self) -> bool:
        """Whether the fast path can run here: Numba is installed and NumPy's BLAS has a CBLAS
        GEMM (found without importing Numba)."""
        if self._available is None:
            self._available = importlib.util.find_spec("numba") is not None and blas.gemm_addresses() is not None
        return self._available

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> bool:
        """Import the compiled loops (from Numba's cache on disk, or compiling them: ~20 s the first
        time); True when the fast path is ready."""
        if self._loaded or not self.available:
            return self._loaded
        with self._load_lock:
            if not self._loaded:
                from . import conv, optim_loops, pool  # noqa: F401 - importing them loads the loops

                self._cap_blas()
                self._loaded = True
        return True

    def active(self, training: bool = False, macs: int = 0) -> bool:
        """Whether a layer takes the fast path for this call.

        Until the compiled loops are loaded, small inference calls (one image through a small
        model: the live view, the first picture at start-up) stay on the reference path, which is
        about as quick for them, rather than wait for Numba (~0.5 s); a training call or a large
        one loads them.
        """
        if not self._capped:
            self._cap_blas()
        if self._reference or not self.available:
            return False
        if not self._loaded:
            if not (training or macs >= LOAD_MIN_MACS):
                return False
            self.load()
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
        # Every part of a split batch runs its own one-thread GEMMs; a BLAS with threads of its own
        # would put two threads on each core (and spin them between calls). The reference path's
        # GEMMs are small too: one small-VGG image took 0.5-0.8 ms with a one-thread BLAS against
        # 1.3-25 ms with two threads while other programs used the cores (measured interleaved).
        blas.set(1)
        # and the memory a step frees stays for the next step (see allocator: page faults cost a
        # LeNet-5 step at batch 256 about 15 % of its time)
        allocator.keep_freed_memory()
        self._capped = True

    def parts_for(self, n: int, macs: int, now: bool = True, least: int | None = None) -> int:
        """Into how many parts to split a batch of n samples needing ``macs`` multiply-adds
        (``now``: for a call made now, one part while the cores are contended; ``least``: the
        work below which it stays whole, SPLIT_MIN_MACS unless said)."""
        least = SPLIT_MIN_MACS if least is None else least
        if self.threads == 1 or n < 2 or macs < least or (now and self.contended()):
            return 1
        return min(self.threads, n)

    def contended(self) -> bool:
        """True while other programs keep the cores busy (the 1-minute load average, read at most
        once a second, above the cores + 1): a helper thread is then often not run for a whole time
        slice while the batch waits for its part, and one thread measured 10-25% quicker than two
        (LeNet-5, batch 16-256, 2 cores under a load of 5-7)."""
        now = time.monotonic()
        if now - self._load_read > 1.0:
            self._load_read = now
            try:
                load = os.getloadavg()[0]
            except (AttributeError, OSError):  # not available on this system
                load = 0.0
            self._contended = load > self._cores + 1.0
        return self._contended

    @property
    def workers(self):
        if self._workers is None:
            with self._lock:
                if self._workers is None:
                    from .workers import Workers

                    self._workers = Workers()
        return self._workers


engine = Engine()
