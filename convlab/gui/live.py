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

Data flows one way: source -> LiveSource -> LivePipeline -> LabState / NetworkState -> views.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QObject, Signal, Slot

from convlab.core.preprocess import model_input
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
    """Runs the newest frame through a LabState (filter bank) and a NetworkState (model).

    One frame at a time: ``offer(frame)`` keeps the newest waiting frame.  A frame becomes the
    lab's image and its bank job goes to the BankWorker first; the model then runs here and its
    views draw (``inputChanged``, ``activationsChanged``) while the bank computes.  The frame is
    finished when the BankWorker's result has been drawn by every ``resultChanged`` handler; the
    waiting frame then starts at once, so its bank computes while Qt paints the finished one.

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
        self._started_at = 0.0
        self._bank_done = self._model_done = True
        self._times: dict[str, float] = {}
        self._done_times: deque[float] = deque()
        self._frames = 0
        self._skipped = 0
        self._stats = LiveStats()
        self._last_stats_emit = 0.0
        self.last_frame: Frame | None = None  # the newest frame shown
        self._in_meta = self._result_seen = False
        lab.resultChanged.connect(self._result_changed)
        lab.installEventFilter(self)  # the queued BankWorker result arrives as a MetaCall event

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
        self._times = dict.fromkeys(STAGES, 0.0)
        self._times["capture"] = frame.capture_ms
        self._bank_done = self._model_done = False
        try:
            image = self._bank_image(frame.image)
            self._show_on_lab(image)
            self._feed_model(self.lab.image if self.lab.image is not None else image)
        finally:
            self._model_done = True
        self._maybe_finished()

    def _bank_image(self, image: np.ndarray) -> np.ndarray:
        side = self.bank_max_side
        h, w = image.shape[:2]
        if side is None or max(h, w) <= side:
            return image
        scale = side / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)

    # -- the playground -------------------------------------------------------------------

    def _show_on_lab(self, image: np.ndarray) -> None:
        """The frame becomes the lab's image and the bank job is submitted first (the BankWorker
        computes while the model runs here).  No status-bar message per frame.

        LabState.set_image announces every image in the status bar and emits imageChanged
        before it submits the job; its signals are held back for the call and imageChanged is
        emitted afterwards.  (A LabState.set_live_frame would make this one call.)
        """
        lab = self.lab
        blocked = lab.blockSignals(True)
        try:
            lab.set_image(image, self.name)
        finally:
            lab.blockSignals(blocked)
        # without a worker, or when the geometry does not fit, the result (or the error) is
        # already there: its resultChanged was held back too
        synchronous = lab.worker is None or bool(lab.geometry_error())
        t0 = time.perf_counter()
        with self._model_fed_here():
            lab.imageChanged.emit()  # the input view, the source panel, ...
        self._times["draw"] += (time.perf_counter() - t0) * 1e3
        if synchronous:
            t0 = time.perf_counter()
            lab.resultChanged.emit()  # the views, and _result_changed
            self._times["draw"] += (time.perf_counter() - t0) * 1e3

    @contextmanager
    def _model_fed_here(self):
        """While the lab announces the frame, a window that forwards every lab image to the
        network (MainWindow: imageChanged -> net.set_image) only stores it: the pipeline feeds
        the model itself right after, timing preprocessing, model and drawing apart."""
        net = self.net
        source = net.input_source
        if source != "image":
            yield
            return
        net.input_source = "live"  # NetworkState.set_image then stores the image, nothing more
        try:
            yield
        finally:
            net.input_source = source

    def eventFilter(self, obj, event) -> bool:
        """The BankWorker's result reaches the lab as a queued call (a MetaCall event).  It is
        delivered here, so the time its handlers take (the views drawing the new maps) is known,
        and the frame is finished after all of them, whatever order they were connected in."""
        if (self._frame is None or obj is not self.lab or event.type() != QEvent.MetaCall
                or self._in_meta):
            return False  # not live, or not a queued call: Qt delivers it as usual
        self._in_meta, self._result_seen = True, False
        t0 = time.perf_counter()
        try:
            obj.event(event)  # LabState._on_result -> resultChanged -> the views
        finally:
            self._in_meta = False
        if self._result_seen:
            self._bank_finished((time.perf_counter() - t0) * 1e3)
        return True

    @Slot()
    def _result_changed(self) -> None:
        if self._in_meta:
            self._result_seen = True  # finished when the queued call returns
        else:  # computed here (no worker), refused (geometry), or redrawn after an edit
            self._bank_finished(0.0)

    def _bank_finished(self, draw_ms: float) -> None:
        if self._frame is None or self._bank_done:
            return
        self._times["draw"] += draw_ms
        self._times["filters"] = float(self.lab.compute_ms)
        self._bank_done = True
        if self._model_done:
            self._maybe_finished()

    # -- the model ------------------------------------------------------------------------

    def _feed_model(self, image: np.ndarray) -> None:
        """What NetworkState.set_image does for an image input, with each stage timed: the
        preprocessing, the forward pass (views held back), then the views."""
        net = self.net
        net.image = image
        if net.input_source != "image":
            return  # the network looks at a validation sample: nothing to recompute
        m = net.view_model
        t0 = time.perf_counter()
        x = None
        if m is not None and len(m.input_shape) == 3:
            try:
                x = model_input(image, m.input_shape, net.preprocess)
            except ValueError:
                x = None
        if x is None:  # no model, a flat input, or an input it refuses: its own path and message
            net.refresh_input()
            self._times["model"] += (time.perf_counter() - t0) * 1e3
            return
        t1 = time.perf_counter()
        net.current_input = x
        blocked = net.blockSignals(True)
        try:
            net.refresh_activations()
        finally:
            net.blockSignals(blocked)
        t2 = time.perf_counter()
        net.inputChanged.emit()
        net.activationsChanged.emit()
        t3 = time.perf_counter()
        self._times["preprocess"] += (t1 - t0) * 1e3
        self._times["model"] += (t2 - t1) * 1e3
        self._times["draw"] += (t3 - t2) * 1e3

    # -- frames out -----------------------------------------------------------------------

    def _maybe_finished(self) -> None:
        frame = self._frame
        if frame is None or not (self._bank_done and self._model_done):
            return
        now = time.perf_counter()
        self._frame = None
        self._frames += 1
        self.last_frame = frame
        times = self._times
        self._stats = LiveStats(**{k: float(v) for k, v in times.items()})
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
