"""The engine's fast path: the same layers, computed by compiled loops, cache-sized GEMMs and threads.

The layers in ``convlab.core.layers`` call into this package when ``engine.active(...)``; the
readable reference implementation in ``convlab.core.functional`` gives the same numbers (the tests
compare the two in float64 for every layer option) and is what the playground's explanations and
the tests use. ``with engine.reference():`` runs the reference instead; ``engine.set_threads(n)``
sets how many threads a batch is split over (default: the cores, at most 2).

* ``settings``    the thread count, the reference switch, loading the loops, the BLAS cap
* ``allocator``   the C allocator keeps the memory a step frees (no page faults on the next step)
* ``blas``        the BLAS under NumPy: its thread count and its CBLAS GEMM, found through ctypes
* ``gemm``        that GEMM, callable from compiled loops
* ``atomics``     atomic counters for loops shared by threads
* ``workers``     helper threads that take parts of a batch
* ``patch_loops`` compiled im2col / col2im / padding loops (channel-major)
* ``conv_loops``  a thread's share of a conv layer's forward / backward as one compiled call
* ``conv``        ConvPlan: conv2d over a whole batch, its blocks and buffers
* ``pool_loops``  compiled pooling loops, max pooling with the ReLU fused
* ``pool``        max / average pooling over a whole batch, ReLU + max pooling in one pass
* ``linear``      a linear layer's GEMMs split over the threads
* ``optim_loops`` compiled SGD-momentum and Adam updates, bit for bit those of ``convlab.core.optim``
* ``plans``       per-layer caches of plans, keyed by batch shape

Why these choices (measured on the 2-core machine this was built on, LeNet-5, batch 16-256):
blocks of ~128 KB of columns beat one GEMM over the whole batch (the columns stay in L2, and
memory does not grow with the batch); gathering the columns again in backward beats keeping them;
two threads each running a one-thread BLAS beat one thread with a two-thread BLAS (2.3-8x under
load: the BLAS's own threads pay a hand-over for every small block GEMM and spin between them).
"""

from .settings import engine

__all__ = ["engine"]
