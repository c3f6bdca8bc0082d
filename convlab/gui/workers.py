"""Worker threads. The heavy work is plain engine code; these classes only move requests in and
results out with queued signals. Newest request wins: a request that arrives while one is being
computed replaces any waiting one, so the queue never grows."""

from __future__ import annotations

import threading
import time

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from convlab.core.playground import apply_bank


class BankWorker(QObject):
    """Computes the playground's filter bank off the GUI thread."""

    finished = Signal(int, object, str, float)  # job id, BankResult | None, error text, milliseconds
    _wake = Signal()

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self._pending = None
        self._thread = QThread()
        self._thread.setObjectName("convlab-bank")
        self.moveToThread(self._thread)
        self._wake.connect(self._run)
        self._thread.start()

    def submit(self, job: int, x, bank, settings, post) -> None:
        """Called from the GUI thread; the arrays given are never written to afterwards."""
        with self._lock:
            self._pending = (job, x, bank, settings, post)
        self._wake.emit()

    @Slot()
    def _run(self) -> None:
        with self._lock:
            req, self._pending = self._pending, None
        if req is None:
            return  # already handled by an earlier wake-up
        job, x, bank, settings, post = req
        t0 = time.perf_counter()
        try:
            result, error = apply_bank(x, bank, settings, post), ""
        except (ValueError, MemoryError) as e:
            result, error = None, str(e)
        except Exception as e:  # noqa: BLE001 - a failed job is reported, and the next one still runs
            result, error = None, f"the filters could not be computed ({type(e).__name__}: {e})"
        self.finished.emit(job, result, error, (time.perf_counter() - t0) * 1e3)

    def shutdown(self, ms: int = 30000) -> bool:
        """Let the thread end after the job it is on; False when it had not ended within ``ms``
        (the window closes anyway: like the other workers, never a wait without end)."""
        self._thread.quit()
        return self._thread.wait(ms)



class ThreadWorker(QObject):
    """A QObject living in a QThread of its own that runs ``_run`` once when started.

    Subclasses emit queued signals from ``_run``; their receivers (bound methods of GUI-thread
    objects) run in the GUI thread. The thread ends when ``_run`` returns.
    """

    thread_name = "convlab-worker"

    def __init__(self):
        super().__init__()
        self._thread = QThread()
        self._thread.setObjectName(self.thread_name)
        self.moveToThread(self._thread)
        self._thread.started.connect(self._run)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        raise NotImplementedError

    def wait(self, ms: int = 30000) -> bool:
        return self._thread.wait(ms)

    def is_running(self) -> bool:
        return self._thread.isRunning()


class TrainingWorker(ThreadWorker):
    """Runs a core Trainer's generator in a thread and forwards its results, throttled.

    Step results reach the GUI at most ``rate_hz`` times a second (always the newest);
    epoch results, divergence and the end are always delivered.
    """

    progress = Signal(object)  # StepResult (throttled)
    steps = Signal(object)  # [(step, loss, accuracy), ...] of every step since the last report
    snapshot = Signal(object)  # whatever snapshot() returns (a weights copy), with each progress
    epoch = Signal(object)  # EpochResult
    diverged = Signal(str)
    done = Signal(bool)  # stopped early?
    failed = Signal(str)

    thread_name = "convlab-training"

    def __init__(self, trainer, rate_hz: float = 5.0, snapshot=None):
        super().__init__()
        self.trainer = trainer
        self._snapshot = snapshot  # called in the training thread, between steps
        self.min_interval = 1.0 / rate_hz

    @Slot()
    def _run(self) -> None:
        from convlab.core.training import Diverged, EpochResult, Finished, StepResult

        last = 0.0
        pending = None
        self._since: list[tuple[int, float, float]] = []
        try:
            for r in self.trainer.run():
                if isinstance(r, StepResult):
                    self._since.append((r.step, r.loss, r.accuracy))
                    now = time.perf_counter()
                    if now - last >= self.min_interval or self.trainer.paused:
                        self._emit_progress(r)
                        last, pending = now, None
                    else:
                        pending = r
                    continue
                if pending is not None:
                    self._emit_progress(pending)
                    pending = None
                if isinstance(r, EpochResult):
                    self.epoch.emit(r)
                elif isinstance(r, Diverged):
                    self.diverged.emit(r.message)
                    self.done.emit(True)
                elif isinstance(r, Finished):
                    self.done.emit(r.stopped)
        except Exception as e:  # noqa: BLE001 - any engine failure must reach the user, not kill the thread
            self.failed.emit(f"training failed: {e}")
        finally:
            self._thread.quit()

    def _emit_progress(self, r) -> None:
        if self._since:
            self.steps.emit(self._since)
            self._since = []
        self.progress.emit(r)
        if self._snapshot is not None:
            self.snapshot.emit(self._snapshot())



class Task(ThreadWorker):
    """Run one function in a thread of its own; ``done`` carries its result, ``failed`` its error.

    For jobs that take long enough to stall the window (building a dataset, reading a folder).
    Keep a reference to the Task until it reports.
    """

    done = Signal(object)
    failed = Signal(str)
    thread_name = "convlab-task"

    def __init__(self, fn, *args):
        super().__init__()
        self._fn, self._args = fn, args

    @Slot()
    def _run(self) -> None:
        try:
            result = self._fn(*self._args)
        except (ValueError, OSError, MemoryError) as e:
            self.failed.emit(str(e))
        except Exception as e:  # noqa: BLE001 - any failure is reported, so the slot it holds is freed
            self.failed.emit(f"{type(e).__name__}: {e}")
        else:
            self.done.emit(result)
        finally:
            self._thread.quit()

    def wait(self, ms: int = 60000) -> bool:
        return super().wait(ms)


# --------------------------------------------------------------------------- learning a filter



class FitProgress:
    """One report of a filter-fitting run: a summary made in the fitting thread, safe to keep.

    ``weight`` (K, C, F, F) is a copy on the inputs' own scale; the fit's callback does not carry
    the bias, so ``bias`` (K,) is the best bias for that weight (the mean of target - conv) and
    ``output`` (K, H', W') the first input through the current filter with it (both from
    ``convlab.core.filter_learning.best_bias``). All three are None for a two-layer run.
    ``losses`` holds (step, loss) of every step since the previous report.
    """

    __slots__ = ("step", "loss", "weight", "bias", "output", "losses", "steps_per_second", "elapsed", "paused")

    def __init__(self, step, loss, weight, bias, output, losses, steps_per_second, elapsed, paused):
        self.step, self.loss, self.weight, self.bias, self.output = step, loss, weight, bias, output
        self.losses, self.steps_per_second, self.elapsed, self.paused = losses, steps_per_second, elapsed, paused


class FitWorker(ThreadWorker):
    """Runs ``fit_filter`` (or ``fit_two_layer``) in a thread of its own, like TrainingWorker.

    ``progress`` carries a FitProgress at most ``rate_hz`` times a second, always the newest step
    (and on pausing); ``reference`` the least-squares FitResult (the best linear filter) before the
    first step when ``reference`` options are given; ``done`` a ``core.filter_learning.FitOutcome``:
    the FitResult of the weights kept (the best seen when the last are worse, see ``keep_best``,
    which a ``BestSeen`` following every step makes possible) or the TwoLayerResult, and whether
    the fit's divergence guard stopped the run; ``failed`` the error text, e.g. fit_filter's
    ValueError about a target of the wrong shape.

    pause() / resume() hold the run between two steps (the step callback waits on a
    threading.Event); stop() ends it after the current step (the callback returns False), paused
    or not. ``max_rate`` caps the steps per second so a learner can watch the kernel grow (the
    wait is on the stop event, so Stop is immediate); None runs flat out.
    """

    progress = Signal(object)  # FitProgress (throttled)
    reference = Signal(object)  # FitResult of least_squares_filter
    done = Signal(object)  # FitOutcome
    failed = Signal(str)

    def __init__(self, inputs, targets, *, two_layer: bool = False, reference: dict | None = None,
                 rate_hz: float = 10.0, max_rate: float | None = None, **options):
        super().__init__()
        self.inputs = np.ascontiguousarray(inputs, dtype=np.float64)
        self.targets = np.ascontiguousarray(targets, dtype=np.float64)
        self.two_layer = two_layer
        self.options = options  # fit_filter / fit_two_layer keyword arguments (not callback)
        self.reference_options = reference
        self.min_interval = 1.0 / rate_hz
        self.max_rate = max_rate
        self._go = threading.Event()  # set: running; clear: paused
        self._go.set()
        self._stop = threading.Event()
        from convlab.core.filter_learning import BestSeen

        self.seen = BestSeen()  # used in the fitting thread only

    thread_name = "convlab-fit"

    # ------------------------------------------------------------------ control (any thread)

    def pause(self) -> None:
        self._go.clear()

    def resume(self) -> None:
        self._go.set()

    @property
    def paused(self) -> bool:
        return not self._go.is_set()

    def stop(self) -> None:
        self._stop.set()
        self._go.set()  # a paused run wakes up to stop

    # ------------------------------------------------------------------ the fitting thread

    @Slot()
    def _run(self) -> None:
        from convlab.core.filter_fit import fit_filter, fit_two_layer, least_squares_filter
        from convlab.core.filter_learning import FitOutcome, keep_best

        try:
            if self.reference_options is not None:
                self.reference.emit(least_squares_filter(self.inputs, self.targets, **self.reference_options))
            self._t0 = self._mark_t = self._pace_t = time.perf_counter()
            self._mark_step = self._pace_step = 0
            self._last = float("-inf")
            self._since: list[tuple[int, float]] = []
            fit = fit_two_layer if self.two_layer else fit_filter
            result = fit(self.inputs, self.targets, callback=self._on_step, **self.options)
            if self.two_layer:
                outcome = FitOutcome.of_run(result)
            else:
                o = self.options
                outcome = keep_best(result, self.seen, self.inputs, self.targets, o.get("stride", 1),
                                    o.get("padding", 0), o.get("dilation", 1))
        except (ValueError, MemoryError, FloatingPointError) as e:
            self.failed.emit(str(e))
        except Exception as e:  # noqa: BLE001 - any engine failure must reach the user, not kill the thread
            self.failed.emit(f"learning failed: {e}")
        else:
            self.done.emit(outcome)
        finally:
            self._thread.quit()

    def _on_step(self, step: int, loss: float, weight) -> bool:
        self._since.append((step, float(loss)))
        self.seen.see(step, loss, weight)
        if self._stop.is_set():
            return False
        now = time.perf_counter()
        if now - self._last >= self.min_interval or not self._go.is_set():
            self._report(step, loss, weight, now)
        if not self._go.is_set():
            self._go.wait()
            now = time.perf_counter()  # time spent paused counts neither for pace nor speed
            self._mark_t = self._pace_t = now
            self._mark_step = self._pace_step = step
            if self._stop.is_set():
                return False
        if self.max_rate:
            ahead = self._pace_t + (step - self._pace_step) / self.max_rate - time.perf_counter()
            if ahead > 0 and self._stop.wait(ahead):
                return False
        return True

    def _report(self, step, loss, weight, now) -> None:
        from convlab.core.filter_learning import best_bias

        rate = (step - self._mark_step) / (now - self._mark_t) if now > self._mark_t else 0.0
        self._mark_t, self._mark_step, self._last = now, step, now
        bias = output = None
        if weight is not None:
            o = self.options
            b, out = best_bias(self.inputs, self.targets, weight, o.get("stride", 1), o.get("padding", 0),
                               o.get("dilation", 1))
            bias = b.astype(np.float32)
            output = out[0].astype(np.float32)
            weight = np.array(weight, dtype=np.float32)  # a copy of its own
        since, self._since = self._since, []
        self.progress.emit(FitProgress(step, float(loss), weight, bias, output, since, rate,
                                       now - self._t0, not self._go.is_set()))
