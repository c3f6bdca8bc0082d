"""The engine's fast path: the same layers, computed by compiled loops, cache-sized GEMMs and threads.

The layers in ``convlab.core.layers`` call into this package when ``engine.active()``; the
readable reference implementation in ``convlab.core.functional`` gives the same numbers (the tests
compare the two in float64 for every layer option) and is what the playground's explanations and
the tests use. ``with engine.reference():`` runs the reference instead.

* ``settings``    the thread count, the reference switch and the BLAS cap
* ``blas``        reading and setting the thread count of the BLAS under NumPy
* ``workers``     helper threads that take parts of a batch
* ``patch_loops`` compiled im2col / col2im / padding loops (channel-major)
* ``pool_loops``  compiled pooling loops, max pooling with the ReLU fused
* ``conv``        ConvPlan: conv2d forward/backward over a whole batch
* ``pool``        max / average pooling over a whole batch, ReLU + max pooling in one pass
* ``plans``       per-layer caches of plans, keyed by batch shape
"""

from .settings import engine

__all__ = ["engine"]
