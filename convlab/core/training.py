"""Training: a plain generator of step results, with stop / pause / single-step and a divergence guard.

    trainer = Trainer(model, train, val, epochs=3, batch_size=64, optimizer="momentum", lr=0.05)
    for result in trainer.run():
        ...   # StepResult after every batch, EpochResult after every epoch, Diverged / Finished last

A run that diverges - a loss or a weight that is no longer finite, or a loss that explodes while
staying finite (the rule of :mod:`convlab.core.divergence`: the smoothed loss four times worse
than its best) - ends with ``Diverged``, and the model and the optimiser get back the state that
gave the lowest smoothed loss. The Trainer refuses, at construction, a batch size whose training
step would not fit the memory budget (:mod:`convlab.core.memory`).

The generator knows nothing of Qt: a GUI worker iterates it in a thread and forwards
(throttled) copies of the results. ``pause()``/``resume()``/``stop()``/``step_once()`` may be
called from any thread; while paused, ``run()`` blocks its own thread until told to go on.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from . import optim
from .divergence import DivergenceGuard
from .losses import softmax_cross_entropy
from .model import Sequential
from .optim import Optimizer, make_optimizer


@dataclass
class StepResult:
    step: int  # 1-based count of optimiser steps in this run
    epoch: int  # 1-based
    batch: int  # 1-based within the epoch
    batches_per_epoch: int
    loss: float
    accuracy: float
    samples_per_s: float
    samples_seen: int
    samples_total: int

    @property
    def progress(self) -> float:
        return self.samples_seen / self.samples_total if self.samples_total else 1.0


@dataclass
class EpochResult:
    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None


@dataclass
class Diverged:
    step: int  # the step at which the run diverged
    epoch: int
    message: str
    kept_step: int = 0  # the model holds the weights it had after this many steps (0: the initial ones)


@dataclass
class Finished:
    steps: int
    stopped: bool  # True when stop() ended the run early


@dataclass
class Evaluation:
    loss: float
    accuracy: float
    predictions: np.ndarray  # (N,) predicted class
    probabilities: np.ndarray  # (N, K)


def class_scores(model: Sequential, x: np.ndarray, training: bool = False) -> np.ndarray:
    """The model's class scores before any final softmax (the logits the loss needs)."""
    upto = len(model.layers) - 1 if model.ends_with_softmax else None
    return model.forward(x, training=training, upto=upto)


def warm_up(model: Sequential, own: bool = False) -> None:
    """One training step's forward, backward and update, and one inference, on two blank samples through a
    copy of ``model`` (``own``: through the model itself, whose weights this leaves alone but whose
    gradients it overwrites): the engine's compiled loops that this model
    uses are compiled now (the first time on a machine, several seconds; Numba keeps them on disk)
    or loaded from the cache, rather than in the first batch of a run."""
    m = model if own else model.copy()
    x = np.zeros((2, *m.input_shape), np.float32)
    start = len(m.layers) - 1 if m.ends_with_softmax else None
    with np.errstate(all="ignore"):
        logits = m.forward(x, training=True, upto=start)
        _, dlogits = softmax_cross_entropy(logits, np.zeros(2, np.int64))
        m.backward(dlogits, start=start, need_input_grad=False)
        class_scores(m, x[:1])
    optim.warm_up(x.dtype)


def evaluate(model: Sequential, data, batch_size: int = 256) -> Evaluation:
    """Loss, accuracy and per-sample predictions of a model on a dataset.

    Batches are made smaller when ``batch_size`` samples would not fit the memory budget."""
    if len(data) == 0:
        raise ValueError("cannot evaluate on an empty dataset")
    batch_size = max(1, min(batch_size, model.memory().max_forward_batch()))
    losses, probs = [], []
    for start in range(0, len(data), batch_size):
        xb = data.x[start : start + batch_size]
        yb = data.y[start : start + batch_size]
        logits = class_scores(model, xb)
        loss, _ = softmax_cross_entropy(logits.astype(np.float64), yb)
        losses.append(loss * len(xb))
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        probs.append(e / e.sum(axis=1, keepdims=True))
    p = np.concatenate(probs)
    pred = p.argmax(axis=1)
    return Evaluation(float(sum(losses) / len(data)), float((pred == data.y).mean()), pred, p)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int) -> np.ndarray:
    """counts[true, predicted]."""
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (labels, predictions), 1)
    return m


def check_model_fits(model: Sequential, data) -> None:
    """A ValueError saying why a model cannot be trained on a dataset, if it cannot."""
    if tuple(data.x.shape[1:]) != model.input_shape:
        got = "x".join(map(str, data.x.shape[1:]))
        want = "x".join(map(str, model.input_shape))
        raise ValueError(f"the dataset's samples are {got} but the model takes {want} inputs")
    out = model.output_shape
    k = len(data.classes)
    if len(out) != 1:
        raise ValueError(
            f"the model ends in {'x'.join(map(str, out))} maps, but classifying needs a vector of {k} "
            f"class scores: end it with flatten and linear ({k} units)"
        )
    if out[0] != k:
        raise ValueError(f"the model gives {out[0]} class scores but the dataset has {k} classes")


class Trainer:
    def __init__(
        self,
        model: Sequential,
        train,
        val=None,
        *,
        epochs: int = 1,
        batch_size: int = 64,
        optimizer: str | Optimizer = "momentum",
        lr: float = 0.05,
        weight_decay: float = 0.0,
        seed: int | None = 0,
        **optimizer_settings,
    ):
        if len(train) == 0:
            raise ValueError("the training set is empty")
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a whole number >= 1, got {epochs!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch size must be a whole number >= 1, got {batch_size!r}")
        check_model_fits(model, train)
        if val is not None and len(val):
            check_model_fits(model, val)
        too_much = model.memory().training_problem(min(batch_size, len(train)))
        if too_much:
            raise ValueError(too_much)
        self.model = model
        self.train = train
        self.val = val if val is not None and len(val) else None
        self.epochs = epochs
        self.batch_size = batch_size
        if isinstance(optimizer, Optimizer):
            self.optimizer = optimizer
        else:
            self.optimizer = make_optimizer(
                optimizer, model.parameters(), lr=lr, weight_decay=weight_decay, **optimizer_settings
            )
        self.rng = np.random.default_rng(seed)
        self._cond = threading.Condition()
        self._paused = False
        self._stop = False
        self._single_steps = 0
        self._blocked = threading.Event()  # set while run() waits in pause

    # ------------------------------------------------------------------ control, from any thread

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def step_once(self) -> None:
        """While paused, let exactly one more batch run."""
        with self._cond:
            self._single_steps += 1
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    def wait_blocked(self, timeout: float | None = None) -> bool:
        """Wait until run() is parked by a pause (True) or the timeout passes (False)."""
        return self._blocked.wait(timeout)

    def _may_go_on(self) -> bool:
        """Block while paused (unless a single step was asked for); False once stopped."""
        with self._cond:
            while self._paused and not self._stop and self._single_steps == 0:
                self._blocked.set()
                self._cond.wait()
            self._blocked.clear()
            if self._paused and self._single_steps:
                self._single_steps -= 1
            return not self._stop

    # ------------------------------------------------------------------ the run

    def run(self):
        model, opt = self.model, self.optimizer
        params = model.parameters()
        n = len(self.train)
        per_epoch = -(-n // self.batch_size)
        total = n * self.epochs
        step = seen = 0
        t_window, n_window = time.perf_counter(), 0
        rate = 0.0
        softmax_end = model.ends_with_softmax
        start = len(model.layers) - 1 if softmax_end else None
        guard = DivergenceGuard()
        best: tuple[dict, dict] | None = None  # weights and optimiser state that gave the lowest smoothed loss
        for epoch in range(1, self.epochs + 1):
            loss_sum = correct = count = 0.0
            for b, (xb, yb) in enumerate(self.train.batches(self.batch_size, shuffle=True, rng=self.rng), 1):
                if not self._may_go_on():
                    yield Finished(step, stopped=True)
                    return
                good = {k: v.copy() for k, v in params.items()}
                good_opt = opt.state_dict()
                with np.errstate(over="ignore", invalid="ignore"):  # divergence is handled below
                    logits = model.forward(xb, training=True, upto=start)
                    loss, dlogits = softmax_cross_entropy(logits, yb)
                    model.backward(dlogits, start=start, need_input_grad=False)
                    if np.isfinite(loss):
                        opt.step(model.gradients())
                reason = guard.observe(loss, params.values())
                if guard.improved:
                    best = (good, good_opt)  # the weights that gave this loss
                if reason:
                    kept, kept_opt = best if best is not None else (good, good_opt)
                    for k, v in kept.items():
                        params[k][...] = v
                    opt.load_state_dict(kept_opt)
                    kept_step = guard.best_step - 1 if best is not None else step
                    yield Diverged(
                        step + 1, epoch,
                        f"training diverged at step {step + 1}: {reason}. The weights after step {kept_step} "
                        f"(the lowest smoothed loss) are kept. Try a smaller learning rate (now {opt.lr:g}).",
                        kept_step,
                    )
                    return
                step += 1
                seen += len(xb)
                n_window += len(xb)
                now = time.perf_counter()
                if now - t_window >= 0.25 or rate == 0.0:
                    rate = n_window / max(now - t_window, 1e-9)
                    t_window, n_window = now, 0
                acc = float((logits.argmax(axis=1) == yb).mean())
                loss_sum += loss * len(xb)
                correct += acc * len(xb)
                count += len(xb)
                yield StepResult(step, epoch, b, per_epoch, float(loss), acc, rate, seen, total)
            val_loss = val_acc = None
            if self.val is not None:
                ev = evaluate(model, self.val)
                val_loss, val_acc = ev.loss, ev.accuracy
            yield EpochResult(epoch, loss_sum / count, correct / count, val_loss, val_acc)
        yield Finished(step, stopped=False)
