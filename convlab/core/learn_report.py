"""What the learn-a-filter exercise says, in words: its training data, how a run ended, the
comparison with two layers, the revealed kernels and where a used filter went.

    run_text(outcome, run, reference_loss)   # "Done after 500 steps: loss 4.69e-04; best at step 435..."

Qt-free, so every sentence is tested without a window; LearnState shows them.
"""

from __future__ import annotations

import math

from . import kernels
from .filter_learning import TWO_LAYER_HIDDEN, FitOutcome, LearnRun

OPTIMIZER_NAMES = {"adam": "Adam", "sgd": "SGD", "momentum": "SGD with momentum (0.9)"}


def data_text(image_shape: tuple[int, int] | None, color: str, image_name: str, data: str, frames: int,
              photos: int) -> str:
    """What a run would learn from: ``image_shape`` is the (H, W) of the learning copy (None without an
    image), ``frames`` the recent camera frames of the image's size, ``photos`` the sample photos."""
    if image_shape is None:
        return "No image: open one in the playground first."
    h, w = image_shape
    if data == "frames":
        return (f"Learning on {w}x{h} {color} copies of the {frames} recent frame{'s' * (frames != 1)} of this "
                "size, values 0..1.")
    text = f"Learning on a {w}x{h} {color} copy of {image_name or 'the image'}"
    if data == "samples":
        text += f" and {photos} sample photos resized to {w}x{h}"
    return text + ", values 0..1."


def _loss(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else ("infinite" if v > 0 else "not a number")


def run_text(outcome: FitOutcome, run: LearnRun, reference_loss: float | None) -> str:
    """How a filter run ended: done, stopped or diverged; the loss; the best weights when they, not the
    last, are kept ("best at step N, loss L"); and the best a linear filter can do."""
    o = outcome
    ref = f"; the best linear filter reaches {_loss(reference_loss)}" if reference_loss is not None else ""
    start = " (the random start)" if o.kept_step == 0 else ""
    kept = f"best at step {o.kept_step}{start}, loss {_loss(o.kept_loss)} (those weights are kept)"
    if o.diverged:
        loss0 = run_first_loss(o)
        first = f" from {_loss(loss0)}" if loss0 is not None else ""
        name = OPTIMIZER_NAMES.get(run.optimizer, run.optimizer)
        return (f"Diverged at step {o.diverged_step}: the loss rose{first} to {_loss(o.last_loss)}, so the "
                f"run was stopped; {kept}. The learning rate {run.lr:g} is too large for {name} on a "
                f"{run.kernel}x{run.kernel} kernel: try {run.lr / 5:.2g}.")
    how = "Stopped" if getattr(o.result, "stopped", False) else "Done"
    text = f"{how} after {o.steps} step{'s' * (o.steps != 1)}: loss {_loss(o.last_loss)}"
    if o.kept_best:
        text += f"; {kept}"
    return text + ref + "."


def diverged_text(outcome: FitOutcome, run: LearnRun) -> str:
    """The short advice for a run that diverged (the status says the rest)."""
    return (f"The run diverged at step {outcome.diverged_step}: a learning rate of {run.lr:g} is too large here; "
            f"try {run.lr / 5:.2g}.")


def run_first_loss(outcome: FitOutcome) -> float | None:
    losses = getattr(outcome.result, "losses", None)
    return float(losses[0]) if losses else None


def compare_text(kernel: int, one: float, two: float) -> str:
    """One linear filter (the best possible) against conv - ReLU - conv on the same target."""
    verdict = "depth helps" if two < one else "no better yet: try more steps"
    return (f"one linear filter ({kernel}x{kernel}, the best possible): {one:.4g}, two layers (conv {kernel}x{kernel}"
            f" - ReLU - conv {kernel}x{kernel}, {TWO_LAYER_HIDDEN} hidden maps): {two:.4g} — {verdict}")


def reveal_text(keys: list[str]) -> str:
    """The hidden preset kernels of a run, named and explained."""
    ps = [kernels.preset(k) for k in keys]
    return (("The hidden kernel was " if len(ps) == 1 else "The hidden kernels were ")
            + "; ".join(f"{p.name}: {p.explanation}" for p in ps))


def used_text(filters: int, size: int, count: int, run_geometry: tuple[int, int] | None,
              lab_geometry: tuple[int, int]) -> str:
    """Where "Use this filter" put the learned filters (``count``: the bank's size after), and a word when
    the playground slides them with another stride or dilation than they were learned with."""
    text = (f"The learned {size}x{size} filter is filter {count} of the bank" if filters == 1 else
            f"The {filters} learned {size}x{size} filters are filters {count - filters + 1} to {count} of the bank")
    if run_geometry is not None and run_geometry != lab_geometry:
        (rs, rd), (ls, ld) = run_geometry, lab_geometry
        text += (f" (learned with stride {rs} and dilation {rd}; the playground uses its own stride {ls} and "
                 f"dilation {ld})")
    return text + "."
