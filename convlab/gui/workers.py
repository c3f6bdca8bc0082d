"""Worker threads. The heavy work is plain engine code; these classes only move requests in and
results out with queued signals. Newest request wins: a request that arrives while one is being
computed replaces any waiting one, so the queue never grows."""

from __future__ import annotations

import threading
import time

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
        self.finished.emit(job, result, error, (time.perf_counter() - t0) * 1e3)

    def shutdown(self) -> None:
        self._thread.quit()
        self._thread.wait()


class TrainingWorker(QObject):
    """Runs a core Trainer's generator in a thread and forwards its results, throttled.

    Step results reach the GUI at most ``rate_hz`` times a second (always the newest);
    epoch results, divergence and the end are always delivered.
    """

    progress = Signal(object)  # StepResult (throttled)
    snapshot = Signal(object)  # whatever snapshot() returns (a weights copy), with each progress
    epoch = Signal(object)  # EpochResult
    diverged = Signal(str)
    done = Signal(bool)  # stopped early?
    failed = Signal(str)

    def __init__(self, trainer, rate_hz: float = 5.0, snapshot=None):
        super().__init__()
        self.trainer = trainer
        self._snapshot = snapshot  # called in the training thread, between steps
        self.min_interval = 1.0 / rate_hz
        self._thread = QThread()
        self._thread.setObjectName("convlab-training")
        self.moveToThread(self._thread)
        self._thread.started.connect(self._run)

    def start(self) -> None:
        self._thread.start()

    @Slot()
    def _run(self) -> None:
        from convlab.core.training import Diverged, EpochResult, Finished, StepResult

        last = 0.0
        pending = None
        try:
            for r in self.trainer.run():
                if isinstance(r, StepResult):
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
        self.progress.emit(r)
        if self._snapshot is not None:
            self.snapshot.emit(self._snapshot())

    def wait(self, ms: int = 30000) -> bool:
        return self._thread.wait(ms)

    def is_running(self) -> bool:
        return self._thread.isRunning()


class Task(QObject):
    """Run one function in a thread of its own; ``done`` carries its result, ``failed`` its error.

    For jobs that take long enough to stall the window (building a dataset, reading a folder).
    Keep a reference to the Task until it reports.
    """

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn, *args):
        super().__init__()
        self._fn, self._args = fn, args
        self._thread = QThread()
        self._thread.setObjectName("convlab-task")
        self.moveToThread(self._thread)
        self._thread.started.connect(self._run)

    def start(self) -> None:
        self._thread.start()

    @Slot()
    def _run(self) -> None:
        try:
            result = self._fn(*self._args)
        except (ValueError, OSError, MemoryError) as e:
            self.failed.emit(str(e))
        else:
            self.done.emit(result)
        finally:
            self._thread.quit()

    def wait(self, ms: int = 60000) -> bool:
        return self._thread.wait(ms)
