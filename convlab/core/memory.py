"""What a model needs in memory, estimated from its shapes alone, and the budget it must fit.

    estimate = MemoryEstimate.of(input_shape, layers)   # no array is allocated
    estimate.forward_bytes()          # weights + one sample's activations and scratch space
    estimate.training_bytes(64)       # a training step on batches of 64
    estimate.training_problem(64)     # "" or why it does not fit MEMORY_BUDGET, with the numbers

Per layer and per sample, a layer reports (``Layer.output_bytes()`` and friends):

* its **output** (none for flatten, whose output is a view of its input),
* what it **keeps for the backward pass** (conv2d: the im2col columns, C x F x F values per
  output position; ReLU: a mask; dropout: the kept-units scale; max pooling: a padded copy),
* its **scratch** space, the largest temporaries of its forward or backward pass (conv2d: the
  column gradients, the padded input and its gradient).

A forward pass keeps every output and cache alive at once (the engine records the activations for
the views and for the backward pass), so for a batch of B samples it needs

    forward_bytes(B) = weights + B x (input + sum of outputs and caches + largest scratch)

and a training step adds the gradient flowing back (one layer's output and input at a time) and
TRAINING_PARAMETER_COPIES copies of the weights: their gradients, two optimiser buffers (Adam) and
the trainer's copy of the last good weights and optimiser state. These are estimates of the
engine's own arrays, slightly on the high side; NumPy's and BLAS's small buffers are not counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from .sizes import format_bytes

__all__ = ["MEMORY_BUDGET", "TRAINING_PARAMETER_COPIES", "LayerMemory", "MemoryEstimate", "budget_text"]

#: the most memory a spec may ask for: its forward pass at batch 1, or a training batch (bytes; a
#: module constant read at call time, so a test can lower it)
MEMORY_BUDGET = 1_000_000_000

#: weights, gradients, two optimiser buffers, the trainer's copies of the weights and the buffers
TRAINING_PARAMETER_COPIES = 7


def budget_text(budget: int | None = None) -> str:
    """'the 1 GB budget' (or the given budget)."""
    return f"the {format_bytes(MEMORY_BUDGET if budget is None else budget)} budget"


class _SizedLayer(Protocol):
    index: int
    type: str
    in_shape: tuple
    out_shape: tuple
    param_shapes: dict[str, tuple[int, ...]]

    def param_bytes(self) -> int: ...
    def output_bytes(self) -> int: ...
    def cache_bytes(self) -> int: ...
    def work_bytes(self) -> int: ...
    def itemsize(self) -> int: ...


@dataclass(frozen=True)
class LayerMemory:
    """One layer's share: its weights (bytes) and, per sample, its output, cache and scratch."""

    index: int
    type: str
    param_bytes: int
    output_bytes: int
    cache_bytes: int
    work_bytes: int
    gradient_bytes: int  # per sample: the gradient arriving (its output) and leaving (its input)

    @property
    def activation_bytes(self) -> int:
        """Per sample, kept for the whole pass: the output and what the backward pass needs."""
        return self.output_bytes + self.cache_bytes

    def forward_bytes(self, batch: int = 1) -> int:
        """This layer alone in a forward pass of ``batch`` samples: weights, activations, scratch."""
        return self.param_bytes + batch * (self.activation_bytes + self.work_bytes)

    def training_bytes(self, batch: int) -> int:
        """This layer's share of a training step on ``batch`` samples (weights with their copies,
        activations, scratch and the gradients passing through it)."""
        return (TRAINING_PARAMETER_COPIES * self.param_bytes
                + batch * (self.activation_bytes + self.work_bytes + self.gradient_bytes))

    @classmethod
    def of(cls, layer: _SizedLayer) -> LayerMemory:
        s = layer.itemsize()
        gradient = (math.prod(layer.out_shape) + math.prod(layer.in_shape)) * s
        return cls(layer.index, layer.type, layer.param_bytes(), layer.output_bytes(), layer.cache_bytes(),
                   layer.work_bytes(), gradient)


@dataclass(frozen=True)
class MemoryEstimate:
    """The memory of a whole model (see the module docstring for the rule)."""

    input_bytes: int  # one input sample
    layers: tuple[LayerMemory, ...]

    @classmethod
    def of(cls, input_shape, layers, itemsize: int = 4) -> MemoryEstimate:
        return cls(math.prod(input_shape) * itemsize, tuple(LayerMemory.of(layer) for layer in layers))

    @property
    def param_bytes(self) -> int:
        return sum(m.param_bytes for m in self.layers)

    @property
    def activation_bytes(self) -> int:
        """Per sample, all kept at once during a pass: the input and every output and cache."""
        return self.input_bytes + sum(m.activation_bytes for m in self.layers)

    @property
    def _work(self) -> int:
        return max((m.work_bytes for m in self.layers), default=0)

    @property
    def _training_work(self) -> int:
        return max((m.work_bytes + m.gradient_bytes for m in self.layers), default=0)

    def forward_bytes(self, batch: int = 1) -> int:
        """A forward pass of ``batch`` samples (the views run one sample at a time)."""
        return self.param_bytes + batch * (self.activation_bytes + self._work)

    def training_bytes(self, batch: int) -> int:
        """One training step on batches of ``batch`` samples: forward, backward and update."""
        return TRAINING_PARAMETER_COPIES * self.param_bytes + batch * (self.activation_bytes + self._training_work)

    def max_forward_batch(self, budget: int | None = None) -> int:
        """The largest batch whose forward pass fits the budget (0 if not even one sample does)."""
        budget = MEMORY_BUDGET if budget is None else budget
        per_sample = self.activation_bytes + self._work
        room = budget - self.param_bytes
        return max(room // per_sample, 0) if per_sample else (1 << 31 if room >= 0 else 0)

    def max_training_batch(self, budget: int | None = None) -> int:
        """The largest training batch that fits the budget (0 if not even one sample does)."""
        budget = MEMORY_BUDGET if budget is None else budget
        per_sample = self.activation_bytes + self._training_work
        room = budget - TRAINING_PARAMETER_COPIES * self.param_bytes
        return max(room // per_sample, 0) if per_sample else (1 << 31 if room >= 0 else 0)

    def training_problem(self, batch: int, budget: int | None = None) -> str:
        """Why training on batches of ``batch`` does not fit the budget, with the numbers ("" if it does)."""
        budget = MEMORY_BUDGET if budget is None else budget
        need = self.training_bytes(batch)
        if need <= budget:
            return ""
        fits = self.max_training_batch(budget)
        advice = (f"batches of at most {fits:,} fit" if fits >= 1
                  else "not even one sample fits: make the model smaller")
        return (f"training on batches of {batch:,} needs about {format_bytes(need)} ({format_bytes(self.param_bytes)} "
                f"of weights, {TRAINING_PARAMETER_COPIES} times over with gradients and optimiser state, and "
                f"{format_bytes(batch * self.activation_bytes)} of activations), more than {budget_text(budget)}; "
                f"{advice}")
