"""Headless pictures of the window: ``python main.py --screenshot PNG --size WxH --workspace NAME``.

Each workspace is first given a short scripted setup so that it shows real content, the way a
learner would see it after a minute of use: the playground with a pixel explained; a model
trained for a few hundred steps with a unit selected; a filter learned from a hidden preset and
revealed; live frames from a generated video (no camera is needed).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

SETUP_SECONDS = 60.0  # the longest a setup waits for the work it started


def _wait(condition, seconds: float = SETUP_SECONDS) -> bool:
    """Run the event loop until ``condition()`` holds (or the time is up)."""
    app = QApplication.instance()
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            return False
        loop = QEventLoop()
        QTimer.singleShot(20, loop.quit)
        loop.exec()
    app.processEvents()
    return True


def _video(folder: Path, frames: int = 90, size=(640, 480)) -> Path:
    """A small moving picture (a drifting gradient, a bright disc, a dark bar) as an MJPG video."""
    import cv2

    w, h = size
    path = folder / "screenshot.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (w, h))
    yy, xx = np.mgrid[0:h, 0:w]
    for n in range(frames):
        img = np.empty((h, w, 3), np.uint8)
        img[..., 0] = (xx + 3 * n) % 256
        img[..., 1] = (yy + 2 * n) % 256
        img[..., 2] = 128
        cv2.circle(img, (int(w / 2 + w / 4 * np.sin(n / 12)), int(h / 2)), 70, (255, 255, 255), -1)
        cv2.rectangle(img, (40 + 2 * n, 60), (100 + 2 * n, 400), (0, 0, 0), -1)
        writer.write(img)
    writer.release()
    return path


def setup_filters(window) -> None:
    st = window.state
    if st.result is not None:
        _, h, w = st.result.maps.shape
        window.playground.pin(h // 2, w // 2)


def setup_network(window) -> None:
    net = window.net
    net.set_settings(samples=2000, epochs=1, batch_size=32)
    if net.start_training():
        _wait(lambda: net.training == "idle" and net.evaluation is not None)
    if net.report.ok and len(net.report.rows) > 3:
        shape = net.report.rows[3].output_shape
        if len(shape) == 3:
            net.select_unit(3, 0, shape[1] // 2, shape[2] // 2)
            window.inside_panel.layer_list.setCurrentRow(3)


def setup_learn(window) -> None:
    learn = window.learn_state
    learn.set(steps=300, pace="fast")
    if learn.start():
        _wait(lambda: not learn.is_running() and learn.result is not None)
        learn.reveal()


def setup_live(window) -> None:
    folder = Path(tempfile.mkdtemp(prefix="convlab-shot-"))
    window.live_panel.open_video(_video(folder), realtime=True)
    pipeline = window.live_panel.pipeline
    _wait(lambda: pipeline.stats.frames >= 20, 20.0)
    window.live_panel.set_frozen(True)


SETUPS = {"filters": setup_filters, "network": setup_network, "learn": setup_learn, "live": setup_live}


def prepare(window, workspace: str) -> None:
    """Switch to ``workspace`` and give it its scripted setup; the window is shown and sized."""
    window.show_workspace(workspace)
    _wait(lambda: window.state.result is not None or bool(window.state.error), 20.0)
    SETUPS[workspace](window)
    _wait(lambda: not window.live_panel.pipeline.busy, 5.0)


def prepare_lesson(window, number: int) -> None:
    """Lesson ``number`` set up, as the learner sees it right after choosing it."""
    window.lessons.open(number)
    _wait(lambda: window.state.result is not None or bool(window.state.error), 20.0)
    _wait(lambda: window.lessons.current is not None and not window.live_panel.pipeline.busy, 5.0)


def _draw_a_seven(canvas) -> None:
    """A hand-drawn-looking 7 on the pad: a top bar and a slanted stroke."""
    side = canvas.side
    canvas.begin_stroke(0.28 * side, 0.25 * side)
    for t in range(1, 11):
        canvas.extend_stroke((0.28 + 0.44 * t / 10) * side, (0.25 + 0.01 * t / 10) * side)
    for t in range(1, 16):
        canvas.extend_stroke((0.72 - 0.25 * t / 15) * side, (0.26 + 0.52 * t / 15) * side)
    canvas.end_stroke()


def scene_draw(window) -> None:
    """The drawing pad in the Live workspace, a digit drawn and the network's answer, after a short training."""
    net = window.net
    net.set_settings(samples=3000, epochs=1, batch_size=32)
    if net.start_training():
        _wait(lambda: net.training == "idle")
    window.show_workspace("live")
    window.show_draw_pad()
    _draw_a_seven(window.draw_pad.canvas)
    _wait(lambda: window.draw_pad.frames_fed > 0 and not window.live_panel.pipeline.busy, 10.0)


def scene_wants(window) -> None:
    """What a unit wants to see: the network trained briefly, a unit selected and its picture painted."""
    window.show_workspace("network")
    setup_network(window)
    window.network_tabs.setCurrentIndex(1)
    panel = window.inside_panel
    panel.tabs.setCurrentWidget(panel.visualize)
    vis = panel.visualize
    if vis.start():
        _wait(lambda: vis.worker is None, 60.0)


SCENES = {"draw": scene_draw, "wants": scene_wants}


def prepare_scene(window, scene: str) -> None:
    _wait(lambda: window.state.result is not None or bool(window.state.error), 20.0)
    SCENES[scene](window)
    QApplication.instance().processEvents()
