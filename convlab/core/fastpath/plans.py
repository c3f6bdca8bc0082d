"""A layer's plans (buffers and blocks) for the last few batch shapes it saw."""

from __future__ import annotations

from collections import OrderedDict

from .settings import engine

KEEP = 3  # a training batch, the last short batch of an epoch, a single image


class PlanCache:
    """Plans keyed by (shape, dtype); made again when the engine's thread count changes.

    Copies of a layer (``Sequential.copy``) start with no plans: the buffers are scratch space.
    """

    def __init__(self):
        self._plans: OrderedDict = OrderedDict()

    def get(self, key, make):
        key = (key, engine.generation)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = make()
            while len(self._plans) > KEEP:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
        return plan

    def clear(self) -> None:
        self._plans.clear()

    def __deepcopy__(self, memo):
        return PlanCache()
