"""Worker threads for "What it wants to see": activation maximisation and the saliency maps.

The work is plain engine code (``convlab.core.visualize``); these classes only run it on a model
copy of their own and forward summaries with queued signals, like ``workers.ThreadWorker``:

    AscentWorker     runs ``ascend`` step by step: progress at most ``rate_hz`` times a second (always
                     the newest step and every objective since the last report), ``stop()`` ends it
                     after the current step, ``done`` carries the last picture and how it compares
                     with noise, ``failed`` any error as text (nothing is raised into Qt's event loop).
    SaliencyWorker   one saliency map and one occlusion map of one input: ``done`` or ``failed``.

Both are started with ``launch(worker)``, which keeps the worker alive until its thread has ended
(even when the panel that asked for it is gone) and stops every run still going when the
application quits.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from convlab.core.visualize import (
    AscentSettings,
    Baseline,
    ClassMap,
    Target,
    ascend,
    jitter_for,
    noise_baseline,
    occlusion_map,
    optimised_layer,
    saliency_map,
    target_values,
)

from .workers import ThreadWorker


@dataclass(frozen=True)
class AscentProgress:
    """One report of a run, made in the worker thread and safe to keep (the image is a copy)."""

    step: int
    steps: int
    objective: float
    value: float
    image: np.ndarray = field(repr=False)  # (C, H, W) in the input range
    objectives: list = field(repr=False)  # [(step, objective)] of every step since the last report
    elapsed: float
    steps_per_second: float


@dataclass(frozen=True)
class AscentResult:
    """The end of a run: the last report, whether Stop ended it, and the final picture against noise."""

    last: AscentProgress | None  # None when no step was made
    stopped: bool
    objective: float | None  # of the final picture itself (not jittered)
    value: float | None
    baseline: Baseline

    @property
    def above_noise(self) -> float | None:
        """How many noise standard deviations the final picture's objective lies above the noise mean."""
        return None if self.objective is None else self.baseline.above(self.objective)


@dataclass(frozen=True)
class RunInfo:
    """What the run does, sent before the first step: the layer it raises, the jitter it uses and the
    noise baseline to compare with."""

    optimised_layer: int
    optimised_type: str  # that layer's type ("conv2d", ...)
    jitter: int
    baseline: Baseline


class AscentWorker(ThreadWorker):
    started_run = Signal(object)  # RunInfo
    progress = Signal(object)  # AscentProgress (throttled)
    done = Signal(object)  # AscentResult
    failed = Signal(str)

    thread_name = "convlab-ascent"

    def __init__(self, model, target: Target, settings: AscentSettings, value_range=(0.0, 1.0),
                 rate_hz: float = 10.0):
        super().__init__()
        self.model = model  # a copy of its own: the worker thread is its only user
        self.target = target
        self.settings = settings
        self.value_range = value_range
        self.min_interval = 1.0 / rate_hz
        self._stop = threading.Event()

    def stop(self) -> None:
        """End the run after the current step (any thread)."""
        self._stop.set()

    @Slot()
    def _run(self) -> None:
        try:
            self.done.emit(self._ascend())
        except Exception as e:  # noqa: BLE001 - any engine failure must reach the user, not kill the thread
            self.failed.emit(f"{type(e).__name__}: {e}" if not isinstance(e, ValueError) else str(e))
        finally:
            self._thread.quit()

    def _ascend(self) -> AscentResult:
        m, t = self.model, self.target
        baseline = noise_baseline(m, t, seed=self.settings.seed, value_range=self.value_range)
        layer = optimised_layer(m, t)
        self.started_run.emit(RunInfo(layer, m.layers[layer].type, jitter_for(m, t, self.settings.jitter), baseline))
        last_report, since, report = float("-inf"), [], None
        mark_t, mark_step = time.perf_counter(), 0
        step = None
        for step in ascend(m, t, self.settings, self.value_range):
            since.append((step.step, step.objective))
            stopping = self._stop.is_set()
            now = time.perf_counter()
            if now - last_report >= self.min_interval or step.step == step.steps or stopping:
                rate = (step.step - mark_step) / (now - mark_t) if now > mark_t else 0.0
                report = AscentProgress(step.step, step.steps, step.objective, step.value, step.image, since,
                                        step.elapsed, rate)
                self.progress.emit(report)
                last_report, since, mark_t, mark_step = now, [], now, step.step
            if stopping:
                break
        objective = value = None
        if step is not None:
            o, v = target_values(m, step.image[None], t)
            objective, value = float(o[0]), float(v[0])
        stopped = self._stop.is_set() and (step is None or step.step < step.steps)
        return AscentResult(report, stopped, objective, value, baseline)


@dataclass(frozen=True)
class SaliencyResult:
    saliency: ClassMap
    occlusion: ClassMap
    input: np.ndarray = field(repr=False)  # the input both maps are of (C, H, W)
    ms: float  # time both took


class SaliencyWorker(ThreadWorker):
    """Both maps of one input for one class (None: the predicted class)."""

    done = Signal(int, object)  # job number, SaliencyResult
    failed = Signal(int, str)

    thread_name = "convlab-saliency"

    def __init__(self, job: int, model, x: np.ndarray, class_index: int | None, fill: str = "mean"):
        super().__init__()
        self.job, self.model, self.x = job, model, x
        self.class_index, self.fill = class_index, fill

    @Slot()
    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            sal = saliency_map(self.model, self.x, self.class_index)
            occ = occlusion_map(self.model, self.x, sal.class_index, fill=self.fill)
        except Exception as e:  # noqa: BLE001 - any engine failure must reach the user, not kill the thread
            self.failed.emit(self.job, f"{type(e).__name__}: {e}" if not isinstance(e, ValueError) else str(e))
        else:
            self.done.emit(self.job, SaliencyResult(sal, occ, self.x, (time.perf_counter() - t0) * 1e3))
        finally:
            self._thread.quit()


# --------------------------------------------------------------------------- keeping workers alive


class _Keeper(QObject):
    """Holds every launched worker until its thread has ended; stops the runs when the app quits."""

    def __init__(self):
        super().__init__()
        self.workers: list[ThreadWorker] = []
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop_all)

    def add(self, worker: ThreadWorker) -> None:
        self.workers.append(worker)
        # queued into this (GUI-thread) object: the thread is told to quit just before it ends
        worker._thread.finished.connect(self.collect)

    @Slot()
    def collect(self) -> None:
        """A thread said it is ending (it may still be unwinding: wait for it, briefly)."""
        ending = self.sender()
        for w in list(self.workers):
            if w._thread is ending or w._thread.isFinished():
                w.wait()
                self.workers.remove(w)

    @Slot()
    def stop_all(self) -> None:
        for w in list(self.workers):
            stop = getattr(w, "stop", None)
            if stop is not None:
                stop()
        for w in list(self.workers):
            w.wait()
        self.workers.clear()


_keeper: _Keeper | None = None


def launch(worker: ThreadWorker) -> None:
    """Start a worker and keep it until its thread ends (call in the GUI thread)."""
    global _keeper
    if _keeper is None:
        _keeper = _Keeper()
    _keeper.add(worker)
    worker.start()


def running_workers() -> list[ThreadWorker]:
    """The launched workers whose threads have not been collected yet."""
    return list(_keeper.workers) if _keeper is not None else []


def stop_all() -> None:
    """Stop every run and wait for every thread (the app quitting, a test's end)."""
    if _keeper is not None:
        _keeper.stop_all()
