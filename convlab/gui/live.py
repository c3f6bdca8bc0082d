"""Live mode: frames from a camera, a video or an image folder through the whole lab.

Two small Qt objects sit between a core :class:`~convlab.core.sources.FrameSource` (a reader
thread, newest frame wins) and the lab:

* :class:`LiveSource` forwards the reader thread's frames to the GUI thread.  The reader's
  ``on_frame`` only raises a flag and emits a private signal; the queued slot takes the newest
  frame and emits ``frameReady(frame)``.  While one delivery is on its way no other is queued, so
  a slow GUI makes the source drop stale frames (``frames_dropped``) instead of piling them up.
* :class:`LivePipeline` runs each frame through the lab: the playground's filter bank (in the
  BankWorker thread, with the lab's stride, padding, dilation, pooling and display choices) and the
  model (preprocessing, activations, class probabilities; the receptive-field overlay follows the
  selected unit because the views redraw on ``inputChanged``).  It holds at most one waiting frame:
  a frame that arrives while one is being processed replaces the waiting one (counted in
  ``skipped``), so it keeps up at camera speed and never queues.

Per-frame stage times (capture, preprocessing, filters, model, drawing) and the frame rate are in
``LivePipeline.stats``; ``statsChanged`` carries them about four times a second.

Data flows one way: source -> LiveSource -> LivePipeline -> LabState.show_frame / NetworkState.show_frame
-> views.  The pipeline only schedules: it never blocks, emits or filters the states' signals.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from convlab.core.sources import Frame, FrameSource, SourceError

__all__ = ["LiveSource", "LivePipeline", "LiveStats", "format_stats", "open_error_text", "STAGES"]

#: stage key -> label, in the order a frame passes them
STAGES = {
    "capture": "capture",
    "preprocess": "preprocessing",
    "filters": "filters",
    "model": "model",
    "draw": "drawing",
}
STALL_SECONDS = 3.0  # a frame whose bank result never came is given up after this long
# While a live source is attached, Python hands the GIL between threads every 0.5 ms instead of
# every 5 ms.  The BankWorker's filter2D calls each let go of the GIL, and each must take it back
# from a GUI thread that is busy running Python (drawing the previous frame): with the default
# interval every one of those ~26 returns may wait up to 5 ms (benchmarks/bench_bank.py measures
# the bank at 149 ms per frame against a busy thread, 26 ms with the short interval).
LIVE_SWITCH_INTERVAL = 0.0005


# ---------------------------------------------------------------------------------------------
# The source, forwarded to the GUI thread
# ---------------------------------------------------------------------------------------------

class LiveSource(QObject):
    """One started-or-not :class:`FrameSource`, its frames delivered in the GUI thread.

    ``frameReady(frame)``: a new :class:`~convlab.core.sources.Frame` (newest wins; frames read
    while a delivery was pending are dropped by the source).  ``ended(text)``: the source stopped
    by itself (the video ended, the camera stopped answering, a read failed); ``text`` is the
    source's own explanation.  The reader thread has been joined when ``ended`` arrives.

    Create it in the GUI thread.  Sources are single-use: to restart or to change a camera's
    resolution, stop this one and wrap a new source.
    """

    frameReady = Signal(object)
    ended = Signal(str)
    _arrived = Signal()  # emitted in the reader thread, queued to _deliver
    _finished = Signal()  # emitted in the reader thread, queued to _report_end

    def __init__(self, source: FrameSource, parent=None):
        super().__init__(parent)
        self.source = source
        self._lock = threading.Lock()
        self._signalled = False  # a delivery is queued and not taken yet
        self._stopped = False
        self._reported = False
        self._last_index = -1
        # Slots of this GUI-thread object: emitted from the reader thread, Qt queues the calls
        # into the GUI thread (a lambda would run in the reader thread).
        self._arrived.connect(self._deliver)
        self._finished.connect(self._report_end)
        source.on_frame = self._on_frame
        source.on_end = self._on_end

    def __repr__(self) -> str:
        return f"<LiveSource {self.source!r}>"

    # -- the reader thread's callbacks (keep them tiny) -----------------------------------

    def _on_frame(self, frame: Frame) -> None:
        with self._lock:
            if self._signalled or self._stopped:
                return  # the GUI has not taken the previous frame: it will take the newest
            self._signalled = True
        self._arrived.emit()

    def _on_end(self, source: FrameSource) -> None:
        self._finished.emit()

    # -- the GUI thread -------------------------------------------------------------------

    @Slot()
    def _deliver(self) -> None:
        with self._lock:
            self._signalled = False  # from here on a newer frame queues a new delivery
            if self._stopped:
                return
        frame = self.source.latest()
        if frame is None or frame.index <= self._last_index:
            return
        self._last_index = frame.index
        self.frameReady.emit(frame)

    @Slot()
    def _report_end(self) -> None:
        if self._reported or not self.source.ended:
            return
        self._reported = True
        self.stop()
        self.ended.emit(self.source.error or f"{self.source.description} stopped")

    # -- controls -------------------------------------------------------------------------

    @property
    def description(self) -> str:
        return self.source.description

    @property
    def running(self) -> bool:
        return self.source.running and not self._stopped

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def frozen(self) -> bool:
        return self.source.frozen

    @property
    def paused(self) -> bool:
        return self.source.paused

    @property
    def mirror(self) -> bool:
        return self.source.mirror

    @mirror.setter
    def mirror(self, on: bool) -> None:
        self.source.mirror = on  # re-publishes what is on screen, flipped

    def set_mirror(self, on: bool) -> None:
        self.mirror = on

    @property
    def error(self) -> str:
        return self.source.error

    @property
    def frames_read(self) -> int:
        return self.source.frames_read

    @property
    def frames_dropped(self) -> int:
        return self.source.frames_dropped

    @property
    def fps_measured(self) -> float:
        return self.source.fps_measured

    def latest(self) -> Frame | None:
        return self.source.latest()

    def start(self) -> None:
        """Start reading (raises SourceError for a source that was stopped or has ended)."""
        self.source.start()

    def stop(self, timeout: float | None = 2.0) -> bool:
        """Stop the source and join its reader thread; no signal follows.  Idempotent.
        True once the reader thread has finished."""
        with self._lock:
            self._stopped = True
        self.source.on_frame = None
        self.source.on_end = None
        return self.source.stop(timeout)

    def pause(self) -> None:
        self.source.pause()

    def resume(self) -> None:
        self.source.resume()

    def freeze(self) -> Frame | None:
        return self.source.freeze()

    def unfreeze(self) -> None:
        self.source.unfreeze()

    def snapshot(self, path: str | Path) -> Path:
        """Write the current (or frozen) frame as PNG; SourceError when there is none or the
        file cannot be written."""
        return self.source.snapshot(path)


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LiveStats:
    """Frames per second over the last second and the last frame's stage times (ms)."""

    fps: float = 0.0
    capture: float = 0.0
    preprocess: float = 0.0
    filters: float = 0.0
    model: float = 0.0
    draw: float = 0.0
    frames: int = 0  # frames processed since the last reset
    skipped: int = 0  # frames replaced by a newer one while the pipeline was busy
    dropped: int = 0  # frames the source dropped before the GUI took them

    def stage_ms(self) -> dict[str, float]:
        return {key: getattr(self, key) for key in STAGES}


def format_stats(stats: LiveStats) -> str:
    """One line for the status bar: "30.1 fps | capture 2.1 ms, preprocessing 0.3 ms, ..."."""
    stages = ", ".join(f"{label} {getattr(stats, key):.1f} ms" for key, label in STAGES.items())
    return f"{stats.fps:.1f} fps | {stages}"


# ---------------------------------------------------------------------------------------------
# The pipeline
# ---------------------------------------------------------------------------------------------

class LivePipeline(QObject):
    """A scheduler: the newest frame through the lab's LabState (filter bank) and NetworkState (model).

    One frame at a time: ``offer(frame)`` keeps the newest waiting frame (an older waiting one is
    replaced and counted in ``skipped``). A frame goes in through each state's own entry for
    frames: ``LabState.show_frame`` submits the bank job to the BankWorker and draws the input,
    then ``NetworkState.show_frame`` runs the model here while the bank computes. The frame is
    finished when the lab announces that the result of its job (or of a newer one) has been drawn
    (``LabState.resultShown``); the waiting frame then starts at once, so its bank computes while
    Qt paints the finished one.

    ``bank_max_side``: when set, frames larger than that are downscaled (INTER_AREA) before they
    become the lab's image (the model sees the same downscaled image).
    """

    frameProcessed = Signal(object)  # the Frame that has just been shown everywhere
    statsChanged = Signal(object)  # LiveStats, at most ~4 times a second

    def __init__(self, lab, net, parent=None, *, stats_interval: float = 0.25,
                 bank_max_side: int | None = None):
        super().__init__(parent)
        self.lab = lab
        self.net = net
        self.stats_interval = stats_interval
        self.bank_max_side = bank_max_side
        self.name = "live"
        self._live: LiveSource | None = None
        self._counted: LiveSource | None = None  # the source whose dropped frames the stats show
        self._saved_switch: float | None = None  # sys.getswitchinterval() before live mode
        self._pending: Frame | None = None
        self._frame: Frame | None = None  # the frame being processed
        self._job = -1  # the bank job of that frame
        self._shown: tuple[int, float] = (-1, 0.0)  # the newest (job, draw ms) the lab has drawn
        self._started_at = 0.0
        self._bank_done = True
        self._times: dict[str, float] = {}
        self._done_times: deque[float] = deque()
        self._frames = 0
        self._skipped = 0
        self._stats = LiveStats()
        self._last_stats_emit = 0.0
        self.last_frame: Frame | None = None  # the newest frame shown
        lab.resultShown.connect(self._result_shown)

    # -- wiring ---------------------------------------------------------------------------

    def attach(self, live: LiveSource | None) -> None:
        """Take frames from ``live`` (None: from nobody).  The waiting frame is forgotten."""
        if self._live is not None:
            try:
                self._live.frameReady.disconnect(self.offer)
            except (RuntimeError, TypeError):
                pass
        self._live = live
        self._pending = None
        self._set_switch_interval(live is not None)
        if live is not None:
            self._counted = live
            self.name = f"live: {live.description}"
            live.frameReady.connect(self.offer)

    def _set_switch_interval(self, live: bool) -> None:
        """The short GIL switch interval while a source is attached (process-wide; the previous
        value comes back when the source is detached)."""
        if live and self._saved_switch is None:
            self._saved_switch = sys.getswitchinterval()
            sys.setswitchinterval(min(self._saved_switch, LIVE_SWITCH_INTERVAL))
        elif not live and self._saved_switch is not None:
            sys.setswitchinterval(self._saved_switch)
            self._saved_switch = None

    @property
    def busy(self) -> bool:
        """A frame is on its way through the pipeline."""
        return self._frame is not None

    @property
    def stats(self) -> LiveStats:
        dropped = self._counted.frames_dropped if self._counted is not None else 0
        return replace(self._stats, fps=self._fps(), frames=self._frames, skipped=self._skipped,
                       dropped=dropped)

    def reset_stats(self) -> None:
        self._done_times.clear()
        self._frames = self._skipped = 0
        self._stats = LiveStats()

    # -- frames in ------------------------------------------------------------------------

    @Slot(object)
    def offer(self, frame: Frame) -> None:
        """A new frame: processed now, or kept as the one waiting (replacing an older one)."""
        if self._frame is not None and time.perf_counter() - self._started_at > STALL_SECONDS:
            self._frame = None  # a bank result that never came must not stop live mode for good
        if self._pending is not None:
            self._skipped += 1
        self._pending = frame
        if self._frame is None:
            self._next()

    def _next(self) -> None:
        frame, self._pending = self._pending, None
        if frame is None:
            return
        self._frame = frame
        self._started_at = time.perf_counter()
        times = self._times = dict.fromkeys(STAGES, 0.0)
        times["capture"] = frame.capture_ms
        self._bank_done = False
        self._job = -1
        t0 = time.perf_counter()
        job = self.lab.show_frame(self._bank_image(frame.image), self.name)  # bank submitted, input drawn
        times["draw"] += (time.perf_counter() - t0) * 1e3
        for stage, ms in self.net.show_frame(self.lab.image).items():  # the model, here, meanwhile
            times[stage] += ms
        self._job = job
        if self._shown[0] >= job:  # computed here (no worker) or refused (geometry): already drawn
            self._bank_finished(self._shown[1])

    def _bank_image(self, image: np.ndarray) -> np.ndarray:
        side = self.bank_max_side
        h, w = image.shape[:2]
        if side is None or max(h, w) <= side:
            return image
        scale = side / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)

    # -- the bank's result ----------------------------------------------------------------

    @Slot(int, float)
    def _result_shown(self, job: int, draw_ms: float) -> None:
        self._shown = (job, draw_ms)
        if self._frame is not None and 0 <= self._job <= job:  # this frame's result, or a newer one
            self._bank_finished(draw_ms)

    def _bank_finished(self, draw_ms: float) -> None:
        if self._frame is None or self._bank_done:
            return
        self._times["draw"] += draw_ms
        self._times["filters"] = float(self.lab.compute_ms)
        self._bank_done = True
        self._finished()

    # -- frames out -----------------------------------------------------------------------

    def _finished(self) -> None:
        frame = self._frame
        now = time.perf_counter()
        self._frame = None
        self._frames += 1
        self.last_frame = frame
        self._stats = LiveStats(**{k: float(v) for k, v in self._times.items()})
        self._done_times.append(now)
        while self._done_times and now - self._done_times[0] > 1.0:
            self._done_times.popleft()
        self.frameProcessed.emit(frame)
        if now - self._last_stats_emit >= self.stats_interval:
            self._last_stats_emit = now
            self.statsChanged.emit(self.stats)
        self._next()  # the bank starts on the waiting frame while Qt paints this one

    def _fps(self) -> float:
        t = self._done_times
        if len(t) < 2:
            return 0.0
        if time.perf_counter() - t[-1] > 1.0:
            return 0.0  # nothing for a second: frozen, paused or stopped
        span = t[-1] - t[0]
        return (len(t) - 1) / span if span > 0 else 0.0


def open_error_text(exc: Exception) -> str:
    """A SourceError (or another error raised while opening) as one line for the user."""
    return str(exc) if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"
