"""Atomic operations on ``int64`` counters, for compiled loops shared by threads.

``load(c)`` reads ``c[0]`` so the compiler re-reads it in a polling loop; ``fetch_add(c, v)`` and
``exchange(c, v)`` change it and return what was there, as one step no other thread can split.
"""

from __future__ import annotations

import numba
from numba import types
from numba.extending import intrinsic


def _counter(c) -> bool:
    return isinstance(c, types.Array) and c.dtype == types.int64


@intrinsic
def load(typingctx, counter):
    if not _counter(counter):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.load_atomic(array.data, ordering="acquire", align=8)

    return types.int64(counter), codegen


def _rmw(op: str):
    @intrinsic
    def rmw(typingctx, counter, value):
        if not _counter(counter) or not isinstance(value, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            array = context.make_array(signature.args[0])(context, builder, args[0])
            v = context.cast(builder, args[1], signature.args[1], types.int64)
            return builder.atomic_rmw(op, array.data, v, "seq_cst")

        return types.int64(counter, value), codegen

    return rmw


fetch_add = _rmw("add")
exchange = _rmw("xchg")


@numba.njit(nogil=True, cache=True)
def fetch_add_now(counter, value):  # pragma: no cover - compiled
    """fetch_add from Python (for the threads' hand-over)."""
    return fetch_add(counter, value)


@numba.njit(nogil=True, cache=True)
def exchange_now(counter, value):  # pragma: no cover - compiled
    """exchange from Python."""
    return exchange(counter, value)


@numba.njit(nogil=True, cache=True)
def poll(counter, seen, rounds):  # pragma: no cover - compiled
    """Read counter[0] until it differs from ``seen`` or ``rounds`` reads passed; return it."""
    v = load(counter)
    for _ in range(rounds):
        if v != seen:
            return v
        v = load(counter)
    return v
