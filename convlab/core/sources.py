"""Frame sources for live mode: a camera, a video file, a folder of images, a still image.

Every source has the same :class:`FrameSource` interface, so the pipeline treats them alike::

    source = VideoFileSource("clip.mp4", loop=True)   # opening happens here: SourceError if it fails
    source.start()                                    # a daemon reader thread starts
    frame = source.wait_frame(timeout=1.0)            # Frame(image RGB uint8, index, ...)
    ...
    source.stop()                                     # joins the thread, releases the capture

Rules the sources keep (the GUI wraps them; nothing here imports Qt):

* **Opening is construction.**  A source that was created is open; every problem a user can
  cause (missing file, a folder without images, a camera that does not answer) raises
  :class:`SourceError` from the constructor, with the path or index in the message.  Opening a
  camera can take a second: the GUI may construct sources in a worker thread.
* **One use.**  ``start()`` once, ``stop()`` as often as you like.  To read again, or to change
  a camera's requested resolution, create a new source: switching is cheap and leaks nothing.
* **Newest frame wins.**  The reader thread keeps one frame (a slot of size 1); a frame nobody
  took before the next one arrived is counted in ``frames_dropped``.  Frames are read-only
  arrays shared by every consumer (``image.flags.writeable`` is False): copy before editing.
* **Always RGB.**  ``Frame.image`` is ``(H, W, 3)`` uint8 RGB; gray, BGRA and 16-bit frames from
  captures are converted.
* **Ending is not crashing.**  A camera that stops answering, a video that ends, a read that
  raises: the reader stops, ``ended`` is True, ``error`` says why, ``on_end(source)`` is called
  (from the reader thread).  Nothing propagates into the caller.
* **Handles are released once, never under a read.**  The reader thread releases its capture in
  its own ``finally``; a source that never started releases it in ``stop()``.  If ``stop()``'s
  join times out (a driver hanging in a read), the handle is released when that read returns.
* **Freeze parks the reader.**  While frozen, ``latest()`` returns the frozen frame and the
  reader waits on a condition (no CPU): a video keeps its position and continues from there on
  ``unfreeze()``; a camera may deliver a few frames its driver buffered before the freeze
  (about 0.1 s) and then is live again.  ``pause()`` (for a hidden window) parks it the same way.
* **Mirror applies to the next frame and to what is on screen.**  Switching ``mirror``
  re-publishes the current (or frozen) frame flipped, with a new index, so a frozen picture
  or a still image follows the switch too.

``on_frame(frame)`` is called for every frame that becomes visible: from the reader thread, or
from the thread that changed ``mirror``, called ``unfreeze()`` or ``ImageSource.repeat()``.
Callbacks must be quick (the GUI wrapper forwards them with queued signals); an exception in a
callback is logged and does not stop the source.

Non-ASCII video paths: some OpenCV builds (notably on Windows) cannot open them; the error then
says so.  Images of a folder are read through :func:`convlab.core.images.read_image`, which
handles any file name.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from convlab.core.images import IMAGE_SUFFIXES, ImageError, encode_png, read_image, to_rgb
from convlab.core.regular_files import FileRefused, check_regular

__all__ = [
    "SourceError",
    "Capture",
    "Frame",
    "FrameSource",
    "CameraSource",
    "VideoFileSource",
    "ImageFolderSource",
    "ImageSource",
    "list_cameras",
    "describe_no_camera",
    "live_sources",
    "live_source_threads",
    "stop_all_sources",
    "IMAGE_SUFFIXES",
    "THREAD_PREFIX",
]

log = logging.getLogger(__name__)

THREAD_PREFIX = "convlab-source-"
DEFAULT_VIDEO_FPS = 25.0  # pacing for files whose frame rate OpenCV cannot tell


class SourceError(ValueError):
    """A source could not be opened or used (the message names the camera, file or folder)."""


class _SourceEnded(Exception):
    """Raised inside the reader thread: the source has no more frames (the message says why)."""


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` the sources use (fakes in tests implement just this)."""

    def isOpened(self) -> bool: ...
    def read(self) -> tuple[bool, Any]: ...
    def set(self, prop: int, value: float) -> bool: ...
    def get(self, prop: int) -> float: ...
    def release(self) -> None: ...


CaptureFactory = Callable[[int], Capture]


@dataclass(frozen=True, eq=False)
class Frame:
    """One captured picture.

    ``image``: ``(H, W, 3)`` uint8 RGB, read-only.  ``index``: increases by one for every frame
    the source publishes (a consumer passes the last index it saw to :meth:`FrameSource.wait_frame`).
    ``timestamp``: ``time.monotonic()`` when the read returned.  ``capture_ms``: how long the read
    took.  ``position``: the frame's place in its file or folder (0-based), -1 for a live camera.
    """

    image: np.ndarray
    index: int
    timestamp: float
    capture_ms: float
    position: int = -1

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.image.shape[1], self.image.shape[0]


# ---------------------------------------------------------------------------
# Registry of live sources (for tests and for a clean application exit)
# ---------------------------------------------------------------------------

_LIVE: weakref.WeakSet[FrameSource] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()


def live_sources() -> list[FrameSource]:
    """Sources whose reader thread has started and not finished yet."""
    with _LIVE_LOCK:
        return list(_LIVE)


def live_source_threads() -> list[threading.Thread]:
    """Every running thread started by this module (readers and camera probes)."""
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX) and t.is_alive()]


def stop_all_sources(timeout: float = 2.0) -> bool:
    """Stop every live source (application exit).  True if all reader threads finished."""
    return all([source.stop(timeout) for source in live_sources()])


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def _capture_to_rgb(image: Any, what: str) -> np.ndarray:
    """A frame from a capture (BGR, BGRA, gray, maybe 16-bit) as a new (H, W, 3) uint8 RGB array."""
    if not isinstance(image, np.ndarray):
        raise SourceError(f"{what} returned {type(image).__name__} instead of an image")
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise SourceError(f"{what} returned {image.dtype} pixels; ConvLab reads 8- or 16-bit frames")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    raise SourceError(f"{what} returned a frame of shape {image.shape}, not a picture")


def _call_back(callback: Callable | None, *args: Any) -> None:
    if callback is None:
        return
    try:
        callback(*args)
    except Exception:  # a broken listener must not kill the reader
        log.exception("frame source callback %r failed", callback)


def _prop_int(cap: Capture, prop: int) -> int:
    """An integer capture property (sizes, frame counts); 0 when unknown or nonsense."""
    value = cap.get(prop)
    return int(value) if value is not None and math.isfinite(value) and value > 0 else 0


def _usable_fps(value: float) -> float | None:
    """A frame rate reported by OpenCV, or None when it is missing or absurd."""
    if value is None or not math.isfinite(value) or value <= 0 or value > 1000:
        return None
    return float(value)


# ---------------------------------------------------------------------------
# The common interface
# ---------------------------------------------------------------------------

class FrameSource:
    """Base class: a reader thread filling a one-frame slot.  See the module docstring.

    Subclasses implement ``_read()`` (one frame as RGB and its position, ``None`` for a failed
    read worth retrying, or raise ``_SourceEnded``), ``_close()`` (release the handle) and may
    set ``_interval`` (seconds between frames; 0 = as fast as reads return).
    """

    kind = "source"
    _threaded = True
    _retry_interval = 0.0

    def __init__(self, description: str, *, mirror: bool = False):
        self.description = description
        #: ``on_frame(frame)`` for every frame that becomes visible; ``on_end(source)`` when the
        #: source stopped by itself (not after ``stop()``).  Both may be set or changed any time.
        self.on_frame: Callable[[Frame], Any] | None = None
        self.on_end: Callable[[FrameSource], Any] | None = None
        self._interval = 0.0
        self._cond = threading.Condition(threading.Lock())
        self._mirror = bool(mirror)
        self._slot: Frame | None = None
        self._slot_taken = True
        self._frozen = False
        self._frozen_frame: Frame | None = None
        self._paused = False
        self._parked = False
        self._started = False
        self._stop_requested = False
        self._finished = False
        self._released = False
        self._thread: threading.Thread | None = None
        self._next_index = 0
        self._frames_read = 0
        self._frames_dropped = 0
        self._recent: deque[float] = deque(maxlen=30)
        self._error = ""
        self._ended = False

    # -- status ---------------------------------------------------------------

    def __repr__(self) -> str:
        state = ("ended" if self._ended else "stopped" if self._finished
                 else "running" if self._started else "not started")
        return f"<{type(self).__name__} {self.description!r} {state}>"

    @property
    def running(self) -> bool:
        """Started and not finished (a paused or frozen source is still running)."""
        return self._started and not self._finished

    @property
    def ended(self) -> bool:
        """True when the source stopped by itself (``error`` says why)."""
        return self._ended

    @property
    def error(self) -> str:
        """Why the source stopped by itself, or "" (still running, or stopped by ``stop()``)."""
        return self._error

    @property
    def frames_read(self) -> int:
        """Frames read successfully so far."""
        return self._frames_read

    @property
    def frames_dropped(self) -> int:
        """Frames replaced by a newer one before any consumer took them."""
        return self._frames_dropped

    @property
    def fps_measured(self) -> float:
        """Frames read per second over the last 30 reads (0.0 while paused or before 2 frames)."""
        with self._cond:
            if len(self._recent) < 2:
                return 0.0
            span = self._recent[-1] - self._recent[0]
            return (len(self._recent) - 1) / span if span > 0 else 0.0

    # -- lifecycle ------------------------------------------------------------

    def __enter__(self) -> FrameSource:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def start(self) -> None:
        """Start reading.  Calling it again while running does nothing; after ``stop()`` or an
        end it raises :class:`SourceError` (create a new source instead)."""
        start_error: RuntimeError | None = None
        with self._cond:
            if self._stop_requested or self._finished:
                how = "has ended" if self._ended else "was stopped"
                raise SourceError(f"{self.description} {how}; open it again to restart")
            if self._started:
                return
            self._started = True
            if self._threaded:
                thread = threading.Thread(
                    target=self._run, name=f"{THREAD_PREFIX}{self.kind}", daemon=True)
                self._thread = thread
                with _LIVE_LOCK:
                    _LIVE.add(self)
                try:
                    thread.start()  # safe under our lock: the reader takes it only later
                except RuntimeError as exc:
                    self._thread = None
                    self._finished = True
                    with _LIVE_LOCK:
                        _LIVE.discard(self)
                    start_error = exc
        if not self._threaded:
            self._publish_still()
            return
        if start_error is not None:
            self._release_capture()
            raise SourceError(f"{self.description}: could not start a reader thread ({start_error})")

    def stop(self, timeout: float | None = 2.0) -> bool:
        """Stop reading and release the capture.  Idempotent; safe before ``start()`` and from
        the callbacks.  Returns True once the reader thread has finished (False if it is still
        stuck in a read after ``timeout`` seconds; it then releases the handle itself)."""
        with self._cond:
            self._stop_requested = True
            thread = self._thread
            if thread is None:
                self._finished = True  # never started, or a still image: nothing reads
            self._cond.notify_all()
        if thread is None:
            self._release_capture()
            return True
        if thread is threading.current_thread():
            return False  # called from on_frame / on_end: the reader exits when that returns
        thread.join(timeout)
        return not thread.is_alive()

    # -- consuming frames -----------------------------------------------------

    def _visible(self) -> Frame | None:
        if self._frozen and self._frozen_frame is not None:
            return self._frozen_frame
        return self._slot

    def _take(self) -> Frame | None:
        frame = self._visible()
        if frame is not None and frame is self._slot:
            self._slot_taken = True
        return frame

    def latest(self) -> Frame | None:
        """The newest frame (the frozen one while frozen), or None before the first.  Never blocks
        for long; after the source ended it keeps returning the last frame."""
        with self._cond:
            return self._take()

    def wait_frame(self, after_index: int = -1, timeout: float | None = None) -> Frame | None:
        """Block until a frame with ``index > after_index`` is visible and return it.

        Returns None when the timeout passes or the source has stopped or ended without such a
        frame.  Waiting before ``start()`` is allowed.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                frame = self._visible()
                if frame is not None and frame.index > after_index:
                    return self._take()
                if self._finished or self._stop_requested:
                    return None
                if deadline is None:
                    self._cond.wait()
                else:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return None
                    self._cond.wait(remaining)

    # -- controls -------------------------------------------------------------

    @property
    def mirror(self) -> bool:
        """Flip frames horizontally (a selfie view)."""
        return self._mirror

    @mirror.setter
    def mirror(self, value: bool) -> None:
        value = bool(value)
        with self._cond:
            if value == self._mirror:
                return
            self._mirror = value
            # Re-publish what is on screen, flipped, oldest first so indexes keep increasing.
            old_slot, old_frozen = self._slot, self._frozen_frame
            new_frozen = None if old_frozen is None else self._flipped(old_frozen)
            if old_slot is None:
                new_slot = None
            elif old_slot is old_frozen:
                new_slot = new_frozen
            else:
                new_slot = self._flipped(old_slot)
            self._slot, self._frozen_frame = new_slot, new_frozen
            visible = self._visible()
            self._cond.notify_all()
        if visible is not None:
            _call_back(self.on_frame, visible)

    def _flipped(self, frame: Frame) -> Frame:
        image = cv2.flip(frame.image, 1)
        image.flags.writeable = False
        flipped = Frame(image, self._next_index, frame.timestamp, frame.capture_ms, frame.position)
        self._next_index += 1
        return flipped

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> Frame | None:
        """Hold the current frame: ``latest()`` returns it until ``unfreeze()``; the reader parks.
        Frozen before the first frame, the first frame that arrives is held.  Returns the frozen
        frame (None if there is none yet)."""
        with self._cond:
            if not self._frozen:
                self._frozen = True
                self._frozen_frame = self._slot
                self._slot_taken = True
                self._cond.notify_all()
            return self._frozen_frame

    def unfreeze(self) -> None:
        """Go live again: the reader continues (a video from where it was frozen)."""
        with self._cond:
            if not self._frozen:
                return
            held = self._frozen_frame
            self._frozen, self._frozen_frame = False, None
            newer = self._slot if self._slot is not held else None
            self._cond.notify_all()
        if newer is not None:
            _call_back(self.on_frame, newer)

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Stop reading until ``resume()`` (for a hidden window): the reader thread parks on a
        condition and uses no CPU; ``latest()`` keeps returning the last frame."""
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def wait_parked(self, timeout: float | None = None) -> bool:
        """Wait until the reader is parked (paused or frozen, no read in progress) or finished.
        True if it is; False when the timeout passed first."""
        if not self._threaded:
            return True
        with self._cond:
            return self._cond.wait_for(lambda: self._parked or self._finished, timeout)

    def snapshot(self, path: str | Path) -> Path:
        """Write the current (or frozen) frame to ``path`` as PNG (whatever the suffix says).
        Any file name works, including non-ASCII ones."""
        path = Path(path)
        frame = self.latest()
        if frame is None:
            raise SourceError(f"{self.description} has no frame yet to save as {path.name}")
        try:
            data = encode_png(frame.image)
        except ImageError as exc:
            raise SourceError(f"could not encode the snapshot for {path}: {exc}") from exc
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError as exc:
            raise SourceError(f"could not save the snapshot to {path}: {exc.strerror or exc}") from exc
        return path

    # -- the reader thread ----------------------------------------------------

    def _read(self) -> tuple[np.ndarray, int] | None:
        raise NotImplementedError

    def _close(self) -> None:
        """Release the capture handle (called exactly once, never during a read)."""

    def _release_capture(self) -> None:
        with self._cond:
            if self._released:
                return
            self._released = True
        try:
            self._close()
        except Exception:
            log.exception("releasing %s failed", self.description)

    def _must_park(self) -> bool:
        return self._paused or (self._frozen and self._frozen_frame is not None)

    def _run(self) -> None:
        end_message: str | None = None
        try:
            self._read_loop()
        except _SourceEnded as exc:
            end_message = str(exc)
        except Exception as exc:
            log.debug("%s: read failed", self.description, exc_info=True)
            end_message = f"{self.description}: read failed ({type(exc).__name__}: {exc})"
        finally:
            self._release_capture()
            with self._cond:
                by_itself = end_message is not None and not self._stop_requested
                if end_message is not None and by_itself:
                    self._ended, self._error = True, end_message
                self._finished, self._parked = True, False
                self._recent.clear()
                self._cond.notify_all()
            with _LIVE_LOCK:
                _LIVE.discard(self)
        if by_itself:
            _call_back(self.on_end, self)

    def _read_loop(self) -> None:
        cond = self._cond
        due: float | None = None  # when the next read is due (paced sources)
        while True:
            with cond:
                while not self._stop_requested and self._must_park():
                    if not self._parked:
                        self._parked = True
                        self._recent.clear()
                        cond.notify_all()
                    cond.wait()
                    due = None
                self._parked = False
                if self._stop_requested:
                    return
                if due is not None:
                    delay = due - time.monotonic()
                    if delay > 0:
                        cond.wait(delay)  # woken early by stop / pause / freeze
                        continue
                mirror = self._mirror
            t0 = time.monotonic()
            result = self._read()
            t1 = time.monotonic()
            if result is None:  # a failed read the source tolerates: retry shortly
                with cond:
                    if not self._stop_requested and self._retry_interval > 0:
                        cond.wait(self._retry_interval)
                continue
            image, position = result
            if mirror:
                image = cv2.flip(image, 1)
            self._publish(image, mirror, t1, (t1 - t0) * 1e3, position)
            if self._interval > 0:
                due = t0 + self._interval if due is None else due + self._interval
                if due < t1 - self._interval:
                    due = t1  # fell far behind (slow disk, suspended machine): no burst
            else:
                due = None

    def _publish(self, image: np.ndarray, mirrored: bool, timestamp: float,
                 capture_ms: float, position: int) -> Frame:
        with self._cond:
            if mirrored != self._mirror:  # mirror was switched during the read
                image = cv2.flip(image, 1)
            image.flags.writeable = False
            frame = Frame(image, self._next_index, timestamp, capture_ms, position)
            self._next_index += 1
            self._frames_read += 1
            self._recent.append(timestamp)
            if self._slot is not None and not self._slot_taken:
                self._frames_dropped += 1
            self._slot, self._slot_taken = frame, False
            visible = True
            if self._frozen:
                if self._frozen_frame is None:
                    self._frozen_frame = frame  # frozen before the first frame: hold this one
                else:
                    visible = False  # read while freezing: kept for unfreeze()
            self._cond.notify_all()
        if visible:
            _call_back(self.on_frame, frame)
        return frame

    def _publish_still(self) -> Frame:
        raise NotImplementedError


# ---------------------------------------------------------------------------
# Camera
# ---------------------------------------------------------------------------

def _release_quietly(cap: Capture | None) -> None:
    if cap is not None:
        try:
            cap.release()
        except Exception:
            log.debug("releasing a capture that did not open failed", exc_info=True)


def _default_camera_factory(backend: int) -> CaptureFactory:
    return lambda index: cv2.VideoCapture(index, backend)


class CameraSource(FrameSource):
    """A camera by index.

    ``width``/``height``/``fps`` are requests; ``actual_size`` ((width, height), updated from the
    first frame) and ``actual_fps`` (None if the driver does not say) report what the camera
    gave.  After ``max_failures`` failed reads in a row (``retry_interval`` seconds apart), or when
    the capture reports it is no longer open, the source ends with
    "camera N stopped answering ... (unplugged?)".

    ``capture_factory(index)`` returns the capture (default ``cv2.VideoCapture(index, backend)``);
    tests pass one that opens a video file or a fake.
    """

    kind = "camera"

    def __init__(self, index: int = 0, width: int | None = None, height: int | None = None,
                 fps: float | None = None, *, backend: int = cv2.CAP_ANY,
                 capture_factory: CaptureFactory | None = None, max_failures: int = 10,
                 retry_interval: float = 0.05, mirror: bool = False):
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise SourceError(f"a camera index is a whole number from 0, got {index!r}")
        for name, value in (("width", width), ("height", height)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise SourceError(f"camera {index}: the requested {name} must be a positive whole number, "
                                  f"got {value!r}")
        if fps is not None and not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
            raise SourceError(f"camera {index}: the requested frame rate must be positive, got {fps!r}")
        if max_failures < 1:
            raise SourceError(f"max_failures must be at least 1, got {max_failures}")
        super().__init__(f"camera {index}", mirror=mirror)
        self.index = index
        self.requested_size = (width, height)
        self.requested_fps = fps
        self.max_failures = max_failures
        self._retry_interval = max(0.0, float(retry_interval))
        self._failures = 0
        factory = capture_factory or _default_camera_factory(backend)
        try:
            cap = factory(index)
        except Exception as exc:
            raise SourceError(f"camera {index} could not be opened: {exc}") from exc
        try:
            opened = cap is not None and bool(cap.isOpened())
        except Exception as exc:  # a driver (or a wrapper) that raises instead of answering
            _release_quietly(cap)
            self._released = True
            raise SourceError(f"camera {index} could not be opened: asking whether it is open failed "
                              f"({type(exc).__name__}: {exc})") from exc
        if not opened:
            _release_quietly(cap)
            self._released = True
            raise SourceError(
                f"camera {index} did not open: no camera at that index, "
                "or another program is using it")
        self._cap = cap
        try:
            if width is not None:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            if height is not None:
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            if fps is not None:
                cap.set(cv2.CAP_PROP_FPS, fps)
            w, h = _prop_int(cap, cv2.CAP_PROP_FRAME_WIDTH), _prop_int(cap, cv2.CAP_PROP_FRAME_HEIGHT)
            self.actual_size: tuple[int, int] | None = (w, h) if w > 0 and h > 0 else None
            self.actual_fps: float | None = _usable_fps(cap.get(cv2.CAP_PROP_FPS))
        except Exception as exc:
            self._release_capture()
            raise SourceError(f"camera {index} refused the settings: {exc}") from exc
        self._sized_from_frame = False

    def _lost(self, why: str) -> _SourceEnded:
        return _SourceEnded(f"{self.description} stopped answering {why} (unplugged?)")

    def _read(self) -> tuple[np.ndarray, int] | None:
        cap = self._cap
        if not cap.isOpened():
            raise self._lost("(the capture closed)")
        ok, image = cap.read()
        if not ok or image is None or getattr(image, "size", 0) == 0:
            self._failures += 1
            if self._failures >= self.max_failures:
                raise self._lost(f"after {self._failures} failed reads in a row")
            return None
        self._failures = 0
        rgb = _capture_to_rgb(image, self.description)
        if not self._sized_from_frame:  # the frame is the truth, whatever the driver said
            self.actual_size = (rgb.shape[1], rgb.shape[0])
            self._sized_from_frame = True
        return rgb, -1

    def _close(self) -> None:
        self._cap.release()


@contextlib.contextmanager
def _quiet_opencv():
    """Silence OpenCV's "can't open camera by index" warnings while probing (process-wide)."""
    logging_module = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_module is None or not hasattr(logging_module, "getLogLevel"):
        yield
        return
    previous = logging_module.getLogLevel()
    logging_module.setLogLevel(min(previous, logging_module.LOG_LEVEL_ERROR))
    try:
        yield
    finally:
        logging_module.setLogLevel(previous)


def list_cameras(max_index: int = 4, *, timeout_per_index: float = 2.0,
                 capture_factory: CaptureFactory | None = None,
                 backend: int = cv2.CAP_ANY) -> list[int]:
    """Indexes ``0 .. max_index - 1`` of the cameras that open *and* deliver a frame.

    All indexes are probed at once, each in its own daemon thread (open, read one frame,
    release); an index that has not answered after ``timeout_per_index`` seconds counts as
    absent (its probe thread releases the capture whenever the driver returns).
    """
    factory = capture_factory or _default_camera_factory(backend)
    answers: dict[int, bool] = {}
    lock = threading.Lock()

    def probe(index: int) -> None:
        cap = None
        ok = False
        try:
            cap = factory(index)
            if cap is not None and cap.isOpened():
                got, image = cap.read()
                ok = bool(got) and image is not None and getattr(image, "size", 0) > 0
        except Exception:
            ok = False
        finally:
            if cap is not None:
                with contextlib.suppress(Exception):
                    cap.release()
        with lock:
            answers[index] = ok

    threads = [threading.Thread(target=probe, args=(i,), name=f"{THREAD_PREFIX}probe-{i}", daemon=True)
               for i in range(max_index)]
    with _quiet_opencv():
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + timeout_per_index
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        return sorted(i for i, ok in answers.items() if ok)


def describe_no_camera(max_index: int = 4) -> str:
    """What to tell the user when :func:`list_cameras` found nothing."""
    checked = "index 0" if max_index <= 1 else f"indexes 0-{max_index - 1}"
    return (f"No camera answered (checked {checked}). Connect a camera, close other programs "
            "that use it, or open a video file instead.")


# ---------------------------------------------------------------------------
# Video file
# ---------------------------------------------------------------------------

class VideoFileSource(FrameSource):
    """A video file (anything OpenCV's FFmpeg backend reads: mp4, avi, mkv, mov, webm, ...).

    ``realtime=True`` paces frames at the file's frame rate (``fps``; 25 when the file does not
    say); ``realtime=False`` reads as fast as possible (tests, benchmarks).  At the end the video
    starts again when ``loop`` is True, otherwise the source ends with "the video ended ...".
    ``Frame.position`` is the frame number in the file.

    A damaged file is reported once and not looped: when a pass ends well before the frame count
    the file announces (before 90% of it), or gives fewer frames than the first pass did, the
    source ends with a message saying where the video stopped - instead of replaying its readable
    start for ever. The path must be a regular file (a FIFO named ``clip.mp4`` would make FFmpeg
    wait for a writer).
    """

    kind = "video"

    def __init__(self, path: str | Path, *, loop: bool = False, realtime: bool = True,
                 mirror: bool = False):
        path = Path(path)
        super().__init__(f"video {path.name}", mirror=mirror)
        self.path = path
        self.loop = bool(loop)
        self.loops = 0
        if not path.exists():
            raise SourceError(f"cannot open video {path}: not found")
        if path.is_dir():
            raise SourceError(f"cannot open video {path}: it is a folder (open it as an image folder)")
        try:
            check_regular(path)
        except FileRefused as exc:
            raise SourceError(f"cannot open video {path}: it {exc}") from exc
        except OSError as exc:
            raise SourceError(f"cannot open video {path}: {exc.strerror or exc}") from exc
        self._cap = self._open_capture()
        cap = self._cap
        try:
            self.fps: float | None = _usable_fps(cap.get(cv2.CAP_PROP_FPS))
            count = _prop_int(cap, cv2.CAP_PROP_FRAME_COUNT)
            w, h = _prop_int(cap, cv2.CAP_PROP_FRAME_WIDTH), _prop_int(cap, cv2.CAP_PROP_FRAME_HEIGHT)
        except Exception as exc:
            self._release_capture()
            raise SourceError(f"cannot open video {path}: reading its properties failed ({exc})") from exc
        self.frame_count: int | None = count if count > 0 else None  # an estimate for some formats
        self.size: tuple[int, int] | None = (w, h) if w > 0 and h > 0 else None
        self.realtime = realtime
        self._position = 0
        self._first_pass: int | None = None  # frames the first pass gave

    def _open_capture(self) -> Capture:
        try:
            cap = cv2.VideoCapture(str(self.path))
        except cv2.error as exc:
            raise SourceError(f"cannot open video {self.path}: {exc}") from exc
        try:
            opened = bool(cap.isOpened())
        except Exception as exc:
            _release_quietly(cap)
            raise SourceError(f"cannot open video {self.path}: {type(exc).__name__}: {exc}") from exc
        if not opened:
            cap.release()
            hint = ""
            if not str(self.path).isascii():
                hint = (" (its path has non-ASCII characters, which some OpenCV builds cannot "
                        "open: try renaming the file or moving it to another folder)")
            raise SourceError(f"cannot open video {self.path}: not a video OpenCV can read{hint}")
        return cap

    @property
    def realtime(self) -> bool:
        return self._interval > 0

    @realtime.setter
    def realtime(self, value: bool) -> None:
        self._interval = 1.0 / (self.fps or DEFAULT_VIDEO_FPS) if value else 0.0

    def _damaged(self) -> bool:
        """The pass that just ended stopped well before the announced frame count."""
        return self.frame_count is not None and self._position < 0.9 * self.frame_count - 1

    def _end_message(self) -> str:
        n = self._position
        if self._damaged():
            return (f"the video stopped at frame {n} of {self.frame_count}: the rest of "
                    f"{self.path.name} could not be read (damaged file?)"
                    + ("; it is not played again" if self.loop else ""))
        return f"the video ended ({self.path.name}, {n} frames)"

    def _rewind(self) -> None:
        """Back to the first frame: seek, or reopen the file when seeking is not supported."""
        if self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0):
            return
        self._cap.release()
        try:
            self._cap = self._open_capture()
        except SourceError as exc:
            self._cap = _ClosedCapture()
            raise _SourceEnded(f"could not start {self.path.name} again: {exc}") from exc

    def _read(self) -> tuple[np.ndarray, int] | None:
        ok, image = self._cap.read()
        if not ok or image is None:
            if self._position == 0:
                raise _SourceEnded(f"no frame of {self.path.name} could be read "
                                   "(damaged file or unsupported codec?)")
            if not self.loop or self._damaged():
                raise _SourceEnded(self._end_message())
            if self._first_pass is None:
                self._first_pass = self._position
            elif self._position < self._first_pass:
                raise _SourceEnded(f"the video gave {self._position} frames this time but {self._first_pass} "
                                   f"the first time: {self.path.name} cannot be read reliably (damaged file?); "
                                   "it is not played again")
            self._rewind()
            self._position = 0
            self.loops += 1
            ok, image = self._cap.read()
            if not ok or image is None:
                raise _SourceEnded(f"could not read {self.path.name} again from the start")
        position = self._position
        self._position += 1
        return _capture_to_rgb(image, self.description), position

    def _close(self) -> None:
        self._cap.release()


class _ClosedCapture:
    """Stands in for a capture that could not be reopened (release() stays harmless)."""

    def isOpened(self) -> bool:
        return False

    def read(self) -> tuple[bool, None]:
        return False, None

    def set(self, prop: int, value: float) -> bool:
        return False

    def get(self, prop: int) -> float:
        return 0.0

    def release(self) -> None:
        pass


# ---------------------------------------------------------------------------
# Folder of images
# ---------------------------------------------------------------------------

def _natural_key(path: Path) -> list:
    """frame2.png before frame10.png."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


class ImageFolderSource(FrameSource):
    """The images of a folder (png, jpg, jpeg, bmp, tif, tiff, webp; natural order: 2 before 10)
    shown as a sequence at ``fps`` frames per second (None: as fast as possible).

    Images are read lazily, one per frame.  Files that cannot be decoded are skipped and left
    out of later loops: ``skipped`` counts them, ``skipped_files`` lists (path, reason).
    Frames may differ in size when the images do.  ``Frame.position`` is the image's place in
    the sorted list of candidates.
    """

    kind = "folder"

    def __init__(self, folder: str | Path, fps: float | None = 10, loop: bool = True, *,
                 mirror: bool = False):
        folder = Path(folder)
        super().__init__(f"folder {folder.name or folder}", mirror=mirror)
        if fps is not None and not (math.isfinite(fps) and fps > 0):
            raise SourceError(f"{self.description}: fps must be positive (or None), got {fps!r}")
        self.folder = folder
        self.loop = bool(loop)
        self.fps = fps
        self._interval = 0.0 if fps is None else 1.0 / fps
        self.skipped_files: list[tuple[Path, str]] = []
        if not folder.is_dir():
            raise SourceError(f"cannot open image folder {folder}: "
                              + ("not a folder" if folder.exists() else "not found"))
        try:
            candidates = sorted((p for p in folder.iterdir()
                                 if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
                                key=_natural_key)
        except OSError as exc:
            raise SourceError(f"cannot list image folder {folder}: {exc.strerror or exc}") from exc
        if not candidates:
            raise SourceError(f"the folder {folder} has no images "
                              f"({', '.join(s[1:] for s in IMAGE_SUFFIXES)})")
        self._playlist: list[tuple[int, Path]] = list(enumerate(candidates))
        # Check that at least one image is readable (skipping broken ones on the way).
        while self._playlist:
            position, path = self._playlist[0]
            try:
                read_image(path)
                break
            except ImageError as exc:
                self._skip(0, path, exc)
        if not self._playlist:
            raise SourceError(f"the folder {folder} has no readable images "
                              f"({len(candidates)} files could not be decoded)")
        self._cursor = 0

    @property
    def skipped(self) -> int:
        return len(self.skipped_files)

    @property
    def files(self) -> list[Path]:
        """The images still in the sequence."""
        return [path for _, path in list(self._playlist)]

    def _skip(self, slot: int, path: Path, exc: Exception) -> None:
        del self._playlist[slot]
        self.skipped_files.append((path, str(exc)))

    def _read(self) -> tuple[np.ndarray, int] | None:
        if self._cursor >= len(self._playlist):
            if not self._playlist:
                raise _SourceEnded(f"no readable image is left in {self.folder}")
            if not self.loop:
                raise _SourceEnded(f"the image folder ended ({self.folder.name}, "
                                   f"{len(self._playlist)} images)")
            self._cursor = 0
        position, path = self._playlist[self._cursor]
        try:
            image = to_rgb(read_image(path))
        except ImageError as exc:
            self._skip(self._cursor, path, exc)  # the cursor now points at the next image
            return None
        self._cursor += 1
        return image, position  # a fresh array: read_image decodes into new memory


# ---------------------------------------------------------------------------
# Still image
# ---------------------------------------------------------------------------

class ImageSource(FrameSource):
    """A still picture as a source: one frame at ``start()``, again on ``repeat()``.

    No thread: nothing to read.  Accepts gray, RGB or RGBA uint8 arrays (copied).
    """

    kind = "image"
    _threaded = False

    def __init__(self, image: np.ndarray, *, name: str = "image", mirror: bool = False):
        super().__init__(name, mirror=mirror)
        try:
            rgb = to_rgb(image)
        except ValueError as exc:
            raise SourceError(f"{name} cannot be a frame source: {exc}") from exc
        self._image = np.array(rgb, copy=True)
        self._image.flags.writeable = False

    def _publish_still(self) -> Frame:
        mirror = self._mirror
        image = cv2.flip(self._image, 1) if mirror else self._image
        return self._publish(image, mirror, time.monotonic(), 0.0, 0)

    def repeat(self) -> Frame:
        """Publish the picture again with a new index (to run the pipeline once more)."""
        if not self.running:
            raise SourceError(f"{self.description} is not running")
        return self._publish_still()
