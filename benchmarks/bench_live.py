"""Live-mode speed: a generated 640x480 video through the whole live pipeline, offscreen.

The real MainWindow with a LivePanel docked on it: the lab in RGB with a bank of 8 random
5x5x3 filters (computed in the BankWorker thread), the default LeNet-5 (untrained), the
"Inside the network" tab showing (its input view and feature maps redraw every frame), and the
Live panel showing the model's input and its class bars.  A frame counts as done when its bank
output has been drawn (MainWindow.outputDrawn) and the network's views have been drawn
(NetworkState.activationsChanged).

The video (a moving pattern, MJPG in AVI) loops.  By default it is paced at its own frame rate,
60 fps - twice a camera's 30, so the source is never what limits the pipeline; --flat-out reads it
as fast as it decodes (the reader thread then keeps one core busy, as no camera does).

Target on a 2-core machine: fps >= 30, p95 frame time <= 33 ms, RSS growth <= 20 MB
(from frame 500 to the end).  The last line is ``fps=<F> p95_ms=<P> rss_growth_mb=<R>``.

Run: python benchmarks/bench_live.py [--frames 3000] [--flat-out] [--bank-max-side N] [--profile]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

WIDTH, HEIGHT = 640, 480
WARMUP = 500  # frames before the memory baseline and the timing window


def write_video(folder: Path, frames: int, fps: float) -> Path:
    """A moving picture: a drifting gradient, a bouncing disc and noise (so edges move)."""
    path = folder / "live_bench.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise SystemExit("cannot write an MJPG video with this OpenCV build")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    for n in range(frames):
        frame = np.empty((HEIGHT, WIDTH, 3), np.uint8)
        frame[..., 0] = (xx + 4 * n) % 256
        frame[..., 1] = (yy + 2 * n) % 256
        frame[..., 2] = ((xx + yy) // 2 + 3 * n) % 256
        cx = int(WIDTH / 2 + WIDTH / 3 * np.sin(n / 15))
        cy = int(HEIGHT / 2 + HEIGHT / 3 * np.cos(n / 11))
        cv2.circle(frame, (cx, cy), 60, (255, 255, 255), -1)
        cv2.rectangle(frame, (cy, cx // 2), (cy + 80, cx // 2 + 50), (0, 0, 0), -1)
        frame = cv2.add(frame, rng.integers(0, 24, frame.shape, dtype=np.uint8))
        writer.write(frame)
    writer.release()
    return path


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def thread_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) used so far by each thread of this process: {tid: (name, s)}
    (Linux /proc; empty elsewhere).  Qt names its threads after their objectName."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        name = raw[raw.index("(") + 1: raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        out[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / tick)
    return out


def pct(values, q) -> float:
    v = np.sort(np.asarray(values, dtype=float))
    return float(v[min(len(v) - 1, int(round(q * (len(v) - 1))))]) if len(v) else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=3000, help="frames to process (at least 3000 for the figure)")
    ap.add_argument("--video-frames", type=int, default=300, help="length of the generated video (it loops)")
    ap.add_argument("--video-fps", type=float, default=60.0, help="the video's frame rate (its pace)")
    ap.add_argument("--flat-out", action="store_true", help="read the video as fast as it decodes")
    ap.add_argument("--bank-max-side", type=int, default=None, help="downscale frames for the bank to this side")
    ap.add_argument("--tab", choices=["both", "inside", "overview", "playground"], default="both",
                    help="what is on screen: 'both' (default) moves the Inside-the-network panel into a dock "
                         "beside the Filter playground so the bank's maps and the layer's feature maps are "
                         "painted for every frame; 'inside' / 'playground' show one central tab; 'overview' "
                         "shows the whole network at a glance (the Network page's first tab)")
    ap.add_argument("--profile", action="store_true", help="cProfile the run and print the top functions")
    ap.add_argument("--screenshot", default=None, help="save the window as a PNG at the end of the run")
    ap.add_argument("--profile-out", default=None, help="with --profile: also write the stats to this file")
    args = ap.parse_args()

    import pyqtgraph as pg
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication, QDockWidget

    from convlab.core.playground import FilterBank
    from convlab.core.sources import VideoFileSource, live_source_threads
    from convlab.gui.live import STAGES
    from convlab.gui.main_window import MainWindow
    from convlab.gui.panels.live_panel import LivePanel

    pg.setConfigOptions(imageAxisOrder="row-major")
    _app = QApplication.instance() or QApplication([])  # kept alive for the whole run
    tmp = Path(tempfile.mkdtemp(prefix="convlab-bench-live-"))
    t0 = time.perf_counter()
    video = write_video(tmp, args.video_frames, args.video_fps)
    print(f"video: {WIDTH}x{HEIGHT} MJPG, {args.video_frames} frames at {args.video_fps:g} fps, looped "
          f"({'read flat out' if args.flat_out else 'paced at its frame rate'}); written in "
          f"{time.perf_counter() - t0:.1f} s")

    w = MainWindow(QSettings(str(tmp / "bench.ini"), QSettings.IniFormat))
    panel = getattr(w, "live_panel", None)
    if panel is None:  # a window without the live dock: put one on it
        panel = LivePanel(w.state, w.net, probe_on_show=False)
        dock = QDockWidget("Live", w)
        dock.setObjectName("dock-live")
        dock.setWidget(panel)
        w.addDockWidget(Qt.LeftDockWidgetArea, dock)
        w.live_dock = dock
    panel.probe_on_show = False  # no real camera is looked for
    panel.pipeline.bank_max_side = args.bank_max_side
    w.resize(1400, 900)
    w.show()
    w.live_dock.show()
    w.live_dock.raise_()  # the Live panel on screen: its model image and class bars redraw too

    def wait_for(predicate, timeout_s: float) -> bool:
        deadline = time.perf_counter() + timeout_s
        while not predicate() and time.perf_counter() < deadline:
            loop = QEventLoop()
            QTimer.singleShot(5, loop.quit)
            loop.exec()
        return predicate()

    st, net = w.state, w.net
    st.set_color("rgb")
    rng = np.random.default_rng(0)
    bank = FilterBank(rng.standard_normal((8, 3, 5, 5)).astype(np.float32) / 10, np.zeros(8, np.float32),
                      [f"random {i + 1}" for i in range(8)])
    st.edit("bench bank", bank=bank)
    if args.tab == "both":
        tabs = getattr(w, "network_tabs", None)  # the Network page: Whole network / One layer
        if tabs is not None:
            inside = tabs.widget(1)  # the scroll area holding the one-layer Inside-the-network panel
            tabs.removeTab(1)
        else:  # a window from before the overview: the page is that scroll area
            inside = w.center.widget(1)
            w.center.removeTab(1)
        dock = QDockWidget("Inside the network", w)
        dock.setObjectName("dock-bench-inside")
        dock.setWidget(inside)
        w.addDockWidget(Qt.BottomDockWidgetArea, dock)
        w.tabifyDockWidget(w.math_dock, dock)  # in front of Filter math / Training
        w.resize(1600, 1200)
        dock.show()
        dock.raise_()
        w.resizeDocks([dock], [560], Qt.Vertical)
        w.center.setCurrentIndex(0)
    else:
        w.center.setCurrentIndex(0 if args.tab == "playground" else 1)
        if getattr(w, "network_tabs", None) is not None:
            w.network_tabs.setCurrentIndex(0 if args.tab == "overview" else 1)
    wait_for(lambda: st.result is not None and st.result.maps.shape[0] == 8, 10)
    shown = "Filter playground + Inside the network (docked)" if args.tab == "both" else \
        w.center.tabText(w.center.currentIndex())
    if args.tab in ("inside", "overview") and getattr(w, "network_tabs", None) is not None:
        shown += f": {w.network_tabs.tabText(w.network_tabs.currentIndex())}"
    print(f"model: {net.preset_key}, input {net.view_model.input_shape}; bank {bank.weights.shape}; on screen: {shown}")

    class PaintCounter(QObject):
        """Counts the paint events of the map grids: proof that they were drawn, not just fed."""

        def __init__(self):
            super().__init__()
            self.counts = {"bank grid": 0, "layer grid": 0}
            self.widgets = {w.playground.grid.viewport(): "bank grid",
                            w.inside_panel.maps.grid.viewport(): "layer grid"}
            if getattr(w, "overview", None) is not None:
                self.counts["overview"] = 0
                self.widgets[w.overview.canvas] = "overview"

        def eventFilter(self, obj, event) -> bool:
            if event.type() == QEvent.Paint and obj in self.widgets:
                self.counts[self.widgets[obj]] += 1
            return False

    painter = PaintCounter()
    for viewport in painter.widgets:
        viewport.installEventFilter(painter)

    # a frame is done when both the bank output and the network's views were drawn
    done_t: list[float] = []
    latency: list[float] = []
    stages: list[dict] = []
    rss: dict[int, float] = {}
    cpu: dict[str, tuple] = {}
    seen = {"bank": False, "model": False}
    target = args.frames
    finished = QEventLoop()

    def mark(which: str) -> None:
        seen[which] = True
        if seen["bank"] and seen["model"]:
            seen["bank"] = seen["model"] = False
            done_t.append(time.perf_counter())
            n = len(done_t)
            if n == WARMUP:
                rss["start"] = rss_mb()
                cpu["start"] = (thread_cpu(), time.process_time())
            if n == target:
                finished.quit()

    def processed(frame) -> None:
        latency.append((time.monotonic() - frame.timestamp) * 1e3)
        stages.append(panel.pipeline.stats.stage_ms())

    w.outputDrawn.connect(lambda: mark("bank"))
    net.activationsChanged.connect(lambda: mark("model"))
    panel.pipeline.frameProcessed.connect(processed)

    source = VideoFileSource(video, loop=True, realtime=not args.flat_out)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    panel.open_source(source)
    wall0 = time.perf_counter()
    QTimer.singleShot(int(1000 * (target / 5 + 60)), finished.quit)  # a guard, never normally reached
    finished.exec()
    wall = time.perf_counter() - wall0
    if profiler is not None:
        profiler.disable()
    rss["end"] = rss_mb()
    cpu["end"] = (thread_cpu(), time.process_time())
    if args.screenshot:
        w.grab().save(args.screenshot)
    live = panel.live
    read, dropped = live.frames_read, live.frames_dropped
    skipped = panel.pipeline.stats.skipped
    panel.shutdown()
    left = live_source_threads()
    w.session.mark_clean()  # no "save changes?" question on close
    w.close()
    _app.processEvents()

    n = len(done_t)
    if n < WARMUP + 10:
        raise SystemExit(f"only {n} frames were done in {wall:.0f} s")
    window = np.asarray(done_t[WARMUP - 1:])
    intervals = np.diff(window) * 1e3
    fps = (len(window) - 1) / (window[-1] - window[0])
    p95 = pct(intervals, 0.95)
    growth = rss["end"] - rss["start"]
    print(f"frames done: {n} in {wall:.1f} s; source read {read}, dropped {dropped} (never taken), "
          f"pipeline skipped {skipped} (replaced while busy); reader threads left: {len(left)}")
    print(f"frame time (frames {WARMUP}..{n}): median {np.median(intervals):.1f} ms, p95 {p95:.1f} ms, "
          f"p99 {pct(intervals, 0.99):.1f} ms, max {intervals.max():.1f} ms")
    blocks = [f"{np.median(intervals[i:i + 500]):.1f}" for i in range(0, len(intervals), 500)]
    print(f"median frame time per 500 frames: {', '.join(blocks)} ms")
    lat = latency[WARMUP:]
    print(f"latency capture -> drawn: median {np.median(lat):.1f} ms, p95 {pct(lat, 0.95):.1f} ms")
    print("stage times per frame (median / p95):")
    for key, label in STAGES.items():
        v = [s[key] for s in stages[WARMUP:]]
        print(f"  {label:<14} {np.median(v):6.1f} / {pct(v, 0.95):6.1f} ms")
    if "start" in cpu:
        frames = max(1, n - WARMUP)
        (t0s, p0), (t1s, p1) = cpu["start"], cpu["end"]
        main_tid = os.getpid()
        rows = []
        for tid, (name, sec) in t1s.items():
            used = sec - t0s.get(tid, (name, 0.0))[1]
            if used * 1e3 / frames >= 0.2:
                rows.append((used, "GUI thread" if tid == main_tid else name))
        rows.sort(reverse=True)
        print(f"CPU per frame (frames {WARMUP}..{n}): process {(p1 - p0) * 1e3 / frames:.1f} ms = "
              + ", ".join(f"{name} {used * 1e3 / frames:.1f}" for used, name in rows)
              + f"; {100 * (p1 - p0) / (window[-1] - window[0]):.0f}% of one core")
    print("paint events over the run: " + ", ".join(f"{k} {v}" for k, v in painter.counts.items()))
    print(f"resident memory: {rss['start']:.1f} MB at frame {WARMUP}, {rss['end']:.1f} MB at the end")
    if profiler is not None:
        import pstats

        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        if args.profile_out:
            profiler.dump_stats(args.profile_out)
    print(f"fps={fps:.1f} p95_ms={p95:.1f} rss_growth_mb={growth:.1f}")


if __name__ == "__main__":
    main()
