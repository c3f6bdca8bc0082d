"""Live mode: a small generated video plays the camera (or is opened as a video), its frames go
through the filter bank and the model, and the controls (freeze, mirror, snapshot, stop, switch)
do what a user expects.  No real camera, no sleeps: every wait is on a signal or a condition."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from video_fixtures import frame_number, numbered_frame, write_numbered_video  # noqa: E402

from convlab.core.playground import apply_bank  # noqa: E402
from convlab.core.sources import (  # noqa: E402
    THREAD_PREFIX,
    CameraSource,
    Frame,
    ImageFolderSource,
    VideoFileSource,
    describe_no_camera,
    live_sources,
)
from convlab.gui.live import STAGES, LivePipeline, LiveSource, format_stats  # noqa: E402
from convlab.gui.network_state import NetworkState  # noqa: E402
from convlab.gui.panels.live_panel import LivePanel  # noqa: E402
from convlab.gui.state import LabState  # noqa: E402
from convlab.gui.workers import BankWorker  # noqa: E402

WAIT = 10000  # ms; generous upper bound for things that take milliseconds
FRAMES = 40


@pytest.fixture
def video(tmp_path):
    return write_numbered_video(tmp_path, frames=FRAMES)


@pytest.fixture
def lab(qtbot):
    state = LabState()
    worker = BankWorker()
    state.attach_worker(worker)
    yield state
    worker.shutdown()


@pytest.fixture
def net(qtbot, lab):
    return NetworkState(lab.undo_stack)


@pytest.fixture
def panel(qtbot, lab, net):
    p = LivePanel(lab, net, probe_on_show=False)
    qtbot.addWidget(p)
    p.resize(420, 700)
    p.show()
    qtbot.waitExposed(p)
    yield p
    p.shutdown()


# --- helpers ---------------------------------------------------------------------------------

class FailingCapture:
    """A camera that gives ``frames`` pictures, then fails every read (or raises)."""

    def __init__(self, frames: int = 3, raises: bool = False):
        self.frames, self.raises = frames, raises
        self.reads = 0
        self.released = 0

    def isOpened(self):
        return not self.released

    def read(self):
        self.reads += 1
        if self.reads > self.frames:
            if self.raises:
                raise cv2.error("the driver fell over")
            return False, None
        return True, numbered_frame(self.reads)

    def set(self, prop, value):
        return True

    def get(self, prop):
        return 0.0

    def release(self):
        self.released += 1


class CountingCaptures:
    """A capture factory that opens the video and counts opened and released handles."""

    def __init__(self, video):
        self.video = video
        self.opened = 0
        self.released = 0
        self.lock = threading.Lock()

    def __call__(self, index):
        outer = self
        cap = cv2.VideoCapture(str(self.video))
        with self.lock:
            self.opened += 1

        class Counted:
            def isOpened(self):
                return cap.isOpened()

            def read(self):
                return cap.read()

            def set(self, prop, value):
                return cap.set(prop, value)

            def get(self, prop):
                return cap.get(prop)

            def release(self):
                cap.release()
                with outer.lock:
                    outer.released += 1

        return Counted()


def camera_from(video, **kw):
    """A CameraSource whose "camera" is the video file (read as fast as it decodes)."""
    kw.setdefault("retry_interval", 0.0)
    kw.setdefault("max_failures", 2)
    return CameraSource(0, capture_factory=lambda index: cv2.VideoCapture(str(video)), **kw)


def source_threads():
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX) and t.is_alive()]


def wait_frame(qtbot, panel, check=None):
    """Wait for the next processed frame (optionally one that passes ``check``)."""
    with qtbot.waitSignal(panel.pipeline.frameProcessed, timeout=WAIT, check_params_cb=check) as blocker:
        pass
    return blocker.args[0]


# --- the pipeline ----------------------------------------------------------------------------

def test_camera_frames_reach_the_filters_and_the_model(qtbot, panel, lab, net, video):
    messages = []
    lab.message.connect(messages.append)
    undo_steps = lab.undo_stack.count()
    stats = []
    panel.pipeline.statsChanged.connect(stats.append)
    with qtbot.waitSignal(panel.frameProcessed, timeout=WAIT) as blocker:
        assert panel.open_source(camera_from(video))
    assert blocker.args[0].shape == (64, 96, 3) and blocker.args[0].dtype == np.uint8
    # the 40 frames are read in a blink; once the "camera" stopped answering, the lab shows the last one
    qtbot.waitUntil(lambda: not panel.running and not panel.pipeline.busy, timeout=WAIT)
    image = panel.pipeline.last_frame.image
    assert 0 <= frame_number(image) < FRAMES
    assert lab.image_name == "live: camera 0"
    np.testing.assert_array_equal(lab.image, image)
    # the bank ran on this frame, the model saw it
    expected = apply_bank(lab.input, lab.bank, lab.settings, lab.post).maps
    np.testing.assert_allclose(lab.result.maps, expected, rtol=1e-5, atol=1e-3)
    assert net.current_input is not None and net.activations and net.probabilities is not None
    # what the model sees is shown small in the panel
    np.testing.assert_allclose(panel.model_image, net.current_input[0])
    assert panel.bars.values.shape == net.probabilities.shape
    # no status-bar message and no undo step per frame
    assert messages == [] and lab.undo_stack.count() == undo_steps
    # stage times are measured
    s = panel.pipeline.stats
    assert s.frames >= 1 and stats
    for key in STAGES:
        assert getattr(s, key) > 0, key
    assert s.filters == pytest.approx(lab.compute_ms)
    text = format_stats(s)
    assert "fps" in text and all(label in text for label in STAGES.values())


def test_video_that_ends_gives_a_message_and_the_lab_keeps_working(qtbot, panel, lab, video):
    panel.loop_check.setChecked(False)
    with qtbot.waitSignal(panel.message, timeout=WAIT, check_params_cb=lambda t: "ended" in t) as blocker:
        assert panel.open_video(video, realtime=False)
    assert "the video ended" in blocker.args[0] and "the video ended" in panel.status_label.text()
    assert not panel.running and source_threads() == []
    assert not panel.freeze_action.isEnabled()
    qtbot.waitUntil(lambda: not panel.pipeline.busy, timeout=WAIT)
    # the last frame stays and the playground still answers edits
    assert lab.image is not None
    with qtbot.waitSignal(lab.resultChanged, timeout=WAIT):
        lab.set_color("rgb")
    assert lab.result is not None and lab.result.maps.shape[0] == lab.bank.count and lab.input.shape[0] == 3
    with qtbot.waitSignal(panel.frameProcessed, timeout=WAIT):  # and it plays again
        assert panel.open_video(video, realtime=False)


@pytest.mark.parametrize("raises", [False, True])
def test_failing_camera_read_stops_the_source_with_a_message(qtbot, panel, raises):
    fake = FailingCapture(frames=3, raises=raises)
    source = CameraSource(0, capture_factory=lambda index: fake, retry_interval=0.0, max_failures=2)
    expected = "read failed" if raises else "stopped answering"
    with qtbot.waitSignal(panel.message, timeout=WAIT, check_params_cb=lambda t: expected in t):
        assert panel.open_source(source)
    assert not panel.running and not source.running and fake.released == 1
    assert panel.last_error.startswith("camera 0")
    assert source_threads() == []


def test_a_slow_consumer_gets_only_the_newest_frame(qtbot, video):
    live = LiveSource(camera_from(video))
    got = []
    live.frameReady.connect(got.append)
    live.start()
    # the GUI thread processes no events here: the reader keeps replacing its one-frame slot
    last = live.source.wait_frame(after_index=FRAMES - 2, timeout=WAIT / 1000)
    assert last is not None and last.index == FRAMES - 1
    assert live.frames_dropped > 0
    with qtbot.waitSignal(live.ended, timeout=WAIT):
        pass
    assert len(got) == 1 and got[0].index == FRAMES - 1  # one delivery, the newest frame
    assert frame_number(got[0].image) == FRAMES - 1
    assert not live.running and source_threads() == []


def test_the_pipeline_skips_frames_while_busy_and_never_queues(qtbot, lab, net):
    pipe = LivePipeline(lab, net)
    done = []
    pipe.frameProcessed.connect(done.append)
    frames = [Frame(numbered_frame(n), n, 0.0, 1.0) for n in range(4)]
    pipe.offer(frames[0])  # bank job submitted; the result waits in the event queue
    assert pipe.busy
    for f in frames[1:]:
        pipe.offer(f)  # 1 and 2 are replaced by 3
    qtbot.waitUntil(lambda: len(done) == 2 and not pipe.busy, timeout=WAIT)
    assert [f.index for f in done] == [0, 3]
    assert pipe.stats.skipped == 2 and pipe.stats.frames == 2
    assert frame_number(lab.image) == 3 and frame_number(net.image) == 3


# --- controls --------------------------------------------------------------------------------

def test_freeze_holds_the_frame_and_space_toggles_it(qtbot, panel, lab, video):
    assert panel.freeze_action.shortcut().toString() == "Space"
    panel.open_video(video, realtime=True)  # 30 fps, looping
    wait_frame(qtbot, panel)
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow, timeout=WAIT)
    qtbot.keyClick(panel, Qt.Key_Space)
    assert panel.frozen and panel.freeze_action.isChecked()
    held = panel.live.latest()
    assert panel.live.source.wait_parked(WAIT / 1000)  # the reader waits, using no CPU
    qtbot.waitUntil(lambda: panel.pipeline.last_frame is held and not panel.pipeline.busy, timeout=WAIT)
    shown = lab.image.copy()
    with qtbot.assertNotEmitted(panel.pipeline.frameProcessed, wait=250):
        pass
    np.testing.assert_array_equal(lab.image, shown)
    assert frame_number(shown) == frame_number(held.image)
    qtbot.keyClick(panel, Qt.Key_Space)  # live again: the video goes on from there
    assert not panel.frozen
    wait_frame(qtbot, panel, check=lambda f: f.index > held.index)


def test_mirror_flips_the_frame_even_when_frozen(qtbot, panel, lab, video):
    panel.open_video(video, realtime=True)
    wait_frame(qtbot, panel)
    panel.set_frozen(True)
    held = panel.live.latest().image.copy()
    with qtbot.waitSignal(panel.frameProcessed, timeout=WAIT,
                          check_params_cb=lambda img: np.array_equal(img, held[:, ::-1])):
        panel.mirror_check.setChecked(True)
    qtbot.waitUntil(lambda: not panel.pipeline.busy, timeout=WAIT)
    np.testing.assert_array_equal(lab.image, held[:, ::-1])
    assert panel.live.mirror


def test_snapshot_writes_the_current_frame_as_png(qtbot, panel, video, tmp_path):
    messages = []
    panel.message.connect(messages.append)
    assert panel.snapshot_to(tmp_path / "nothing.png") is None and "no frame" in messages[-1]
    panel.open_video(video, realtime=True)
    wait_frame(qtbot, panel)
    panel.set_frozen(True)
    frame = panel.live.latest().image
    for name in ("snap.png", "schnappschuss-ä.png"):
        path = panel.snapshot_to(tmp_path / name)
        assert path is not None and path.exists()
        saved = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
        np.testing.assert_array_equal(saved[:, :, ::-1], frame)  # PNG is lossless
    assert panel.snapshot_to(tmp_path / "missing" / "x.png") is None
    assert "could not save" in messages[-1]


def test_hidden_window_pauses_the_source(qtbot, panel, video):
    panel.open_video(video, realtime=True)
    wait_frame(qtbot, panel)
    panel.hide()  # the panel is its own top-level window here
    assert panel.live.paused and not panel.window_visible
    assert panel.live.source.wait_parked(WAIT / 1000)
    panel.show()
    qtbot.waitExposed(panel)
    assert not panel.live.paused
    wait_frame(qtbot, panel)
    panel.set_window_visible(False)  # what the main window may call from its own events
    assert panel.live.paused
    panel.set_window_visible(True)
    assert not panel.live.paused


def test_switching_sources_leaks_neither_threads_nor_captures(qtbot, panel, video, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for n in range(3):
        cv2.imwrite(str(folder / f"f{n}.png"), numbered_frame(n))
    captures = CountingCaptures(video)
    switch = sys.getswitchinterval()
    for i in range(20):
        kind = i % 3
        if kind == 0:
            source = CameraSource(0, capture_factory=captures)
        elif kind == 1:
            source = VideoFileSource(video, loop=True, realtime=False)
        else:
            source = ImageFolderSource(folder, fps=None, loop=True)
        with qtbot.waitSignal(panel.frameProcessed, timeout=WAIT):
            assert panel.open_source(source)
        assert len(source_threads()) <= 1  # the previous reader was joined
        assert sys.getswitchinterval() <= 0.0005  # the GIL changes hands often while live
    panel.stop()
    assert sys.getswitchinterval() == switch  # and as before once stopped
    assert source_threads() == [] and live_sources() == []
    assert captures.opened == captures.released == 7
    assert not panel.running and "Stopped" in panel.status_label.text()


# --- cameras ---------------------------------------------------------------------------------

class ClosedCapture(FailingCapture):
    def isOpened(self):
        return False


def test_no_camera_is_said_clearly(qtbot, panel):
    panel.capture_factory = lambda index: ClosedCapture()
    panel.refresh_cameras()
    qtbot.waitUntil(lambda: panel.cameras is not None, timeout=WAIT)
    assert panel.cameras == [] and panel.camera_combo.currentText() == "No camera"
    assert panel.status_label.text() == describe_no_camera(4)
    assert not panel.start_button.isEnabled()
    with qtbot.waitSignal(panel.message, timeout=WAIT):
        panel.start_camera()
    assert "No camera answered" in panel.last_error


def test_cameras_are_listed_and_opened_in_a_thread(qtbot, panel, video):
    panel.capture_factory = lambda index: cv2.VideoCapture(str(video)) if index == 1 else ClosedCapture()
    panel.refresh_cameras()
    qtbot.waitUntil(lambda: panel.cameras is not None, timeout=WAIT)
    assert panel.cameras == [1] and panel.camera_combo.currentText() == "Camera 1"
    assert panel.start_button.isEnabled()
    with qtbot.waitSignal(panel.frameProcessed, timeout=WAIT):
        panel.start_button.click()
    assert panel.live.description == "camera 1"
    assert panel.live.source.requested_size == (640, 480)


def test_every_control_has_a_tooltip(panel):
    from PySide6.QtWidgets import QAbstractButton, QComboBox

    for cls in (QAbstractButton, QComboBox):
        for w in panel.findChildren(cls):
            if w.isVisibleTo(panel) and not w.objectName().startswith("qt_"):
                assert w.toolTip(), f"{cls.__name__} {w.text() if hasattr(w, 'text') else w!r} has no tooltip"


# --- in the main window ----------------------------------------------------------------------

def test_live_frames_in_the_main_window(qtbot, tmp_path, video):
    from PySide6.QtWidgets import QDockWidget

    from convlab.gui.main_window import MainWindow

    w = MainWindow(QSettings(str(tmp_path / "convlab.ini"), QSettings.IniFormat))
    qtbot.addWidget(w)
    panel = getattr(w, "live_panel", None)
    if panel is None:
        panel = LivePanel(w.state, w.net)
        dock = QDockWidget("Live", w)
        dock.setWidget(panel)
        w.addDockWidget(Qt.LeftDockWidgetArea, dock)
    panel.probe_on_show = False
    w.show()
    qtbot.waitUntil(lambda: w.state.result is not None, timeout=WAIT)
    w.center.setCurrentIndex(1)  # inside the network
    net = w.net
    net.select_unit(1, 0, 3, 3)  # the receptive-field box follows the selected unit on every frame
    try:
        drawn, acts = [], []
        w.outputDrawn.connect(lambda: drawn.append(1))
        net.activationsChanged.connect(lambda: acts.append(1))
        with qtbot.waitSignal(panel.frameProcessed, timeout=WAIT):
            panel.open_video(video, realtime=True)
        assert drawn and acts
        assert w.state.image_name == "live: video numbers.avi"
        assert w.inside_panel.input_view.image_shape == net.current_input.shape[1:]
        assert w.inside_panel.rf_box_item is not None
        assert "live" not in w.statusBar().currentMessage()  # no message per frame
        with qtbot.waitSignal(panel.frameProcessed, timeout=WAIT):
            pass
        assert panel.pipeline.stats.frames >= 2
        w.setWindowState(Qt.WindowMinimized)  # a minimised window pauses the source
        qtbot.waitUntil(lambda: panel.live.paused, timeout=WAIT)
        w.setWindowState(Qt.WindowNoState)
        qtbot.waitUntil(lambda: not panel.live.paused, timeout=WAIT)
    finally:
        panel.shutdown()
        w.session.mark_clean()
        w.close()
    assert source_threads() == []
