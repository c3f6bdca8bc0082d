"""How long a training run has left, from how many samples it has done and when.

    left = TimeLeft()
    left.start(now)
    left.update(now, done, total)      # seconds left, or None while the run warms up
    left.pause(now); left.resume(now)  # time paused does not count

The first batches of a run are slow (arrays are allocated, caches and the BLAS threads warm up),
so a speed measured over them is far too pessimistic: a 3 s run started at a tenth of its later
speed would promise a minute and a half. The estimate waits until the run has gone WARMUP_S seconds,
then divides the samples left by the steady speed measured from there on (over at least MEASURE_S
seconds), the validation passes at the end of each epoch included, as the epochs left have them too.

Times are plain numbers in seconds (``time.monotonic()`` in the app), so tests give synthetic ones.
"""

from __future__ import annotations

__all__ = ["TimeLeft", "WARMUP_S", "MEASURE_S", "duration_text"]

WARMUP_S = 0.5  # seconds of a run not used for its speed
MEASURE_S = 0.3  # the least time the steady speed is measured over before it is trusted


class TimeLeft:
    """The time left of one run at a time (``start`` begins the next)."""

    def __init__(self, warmup_s: float = WARMUP_S, measure_s: float = MEASURE_S):
        self.warmup_s = warmup_s
        self.measure_s = measure_s
        self.start(0.0)

    def start(self, now: float) -> None:
        self._t0 = now
        self._paused_at: float | None = None
        self._paused = 0.0  # seconds paused so far
        self._anchor: tuple[float, int] | None = None  # (active seconds, samples done) when warm-up ended
        self.rate: float | None = None  # steady samples per second, once measured

    def _active(self, now: float) -> float:
        paused = self._paused + (now - self._paused_at if self._paused_at is not None else 0.0)
        return now - self._t0 - paused

    def pause(self, now: float) -> None:
        if self._paused_at is None:
            self._paused_at = now

    def resume(self, now: float) -> None:
        if self._paused_at is not None:
            self._paused += now - self._paused_at
            self._paused_at = None

    def update(self, now: float, done: int, total: int) -> float | None:
        """Seconds left after ``done`` of ``total`` samples; None until the steady speed is known."""
        active = self._active(now)
        if self._anchor is None:
            if active >= self.warmup_s:
                self._anchor = (active, done)
            return None
        t, d = self._anchor
        if active - t >= self.measure_s and done > d:
            self.rate = (done - d) / (active - t)
        if self.rate is None:
            return None
        return max(total - done, 0) / self.rate


def duration_text(seconds: float) -> str:
    """42 s, 3 min 05 s, 1 h 02 min."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    m, s = divmod(seconds, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"
