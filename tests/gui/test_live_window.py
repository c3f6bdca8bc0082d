"""Live mode in the main window: a generated video used as the camera drives the whole lab."""

import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from convlab.core.sources import CameraSource, VideoFileSource

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from test_sources import FakeCapture  # noqa: E402
from video_fixtures import frame_number, write_numbered_video  # noqa: E402


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_numbered_video(tmp_path_factory.mktemp("video"), frames=40)


def source_threads():
    return [t for t in threading.enumerate() if t.name.startswith("convlab-source") and t.is_alive()]


def test_video_as_camera_drives_the_playground_and_the_network(window, qtbot, video):
    live = window.live_panel
    cam = CameraSource(0, capture_factory=lambda *a, **k: cv2.VideoCapture(str(video)))
    with qtbot.waitSignal(live.frameProcessed, timeout=20000):
        assert live.open_source(cam)
    qtbot.waitUntil(lambda: window.state.image is not None and window.state.image.shape[:2] == (video_h(video),
                                                                                                video_w(video)),
                    timeout=20000)
    # the playground computes on the live frame and the network sees it too
    qtbot.waitUntil(lambda: window.state.result is not None and window.state.result.maps.shape[1] == video_h(video) - 2,
                    timeout=20000)
    assert window.net.current_input is not None and window.net.current_input.shape == (1, 28, 28)
    assert window.net.probabilities is not None
    qtbot.waitUntil(lambda: window.live_label.text() != "", timeout=20000)  # fps and stage times
    assert live.pipeline.stats.frames >= 1 and live.pipeline.stats.filters >= 0
    live.stop()
    assert not source_threads()


def video_h(path):
    cap = cv2.VideoCapture(str(path))
    h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    cap.release()
    return h


def video_w(path):
    cap = cv2.VideoCapture(str(path))
    w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    cap.release()
    return w


def test_the_end_of_a_video_is_a_message_and_the_app_stays(window, qtbot, video):
    live = window.live_panel
    live.loop_check.setChecked(False)
    with qtbot.waitSignal(live.liveChanged, timeout=30000, check_params_cb=lambda on: on is False):
        assert live.open_video(str(video), realtime=False)
    qtbot.waitUntil(lambda: "ended" in window.statusBar().currentMessage() or not live.running, timeout=10000)
    assert not source_threads()
    window.state.set_cell(0, 1, 1, 2.0)  # the lab still works
    assert window.state.bank.weights[0, 0, 1, 1] == 2.0


def test_a_camera_that_vanishes_stops_cleanly(window, qtbot):
    live = window.live_panel
    fake = FakeCapture(fail_after=5)
    cam = CameraSource(0, capture_factory=lambda *a, **k: fake, max_failures=3)
    messages = []
    live.message.connect(messages.append)
    with qtbot.waitSignal(live.liveChanged, timeout=30000, check_params_cb=lambda on: on is False):
        live.open_source(cam)
    qtbot.waitUntil(lambda: fake.release_count == 1, timeout=10000)
    assert any("camera" in m.lower() for m in messages)
    assert not source_threads()


def test_freeze_snapshot_and_mirror(window, qtbot, video, tmp_path):
    live = window.live_panel
    live.loop_check.setChecked(True)
    with qtbot.waitSignal(live.frameProcessed, timeout=20000):
        assert live.open_video(str(video), realtime=True)
    window.live_panel.freeze_action.setChecked(True)
    assert live.frozen
    frozen = live.live.latest()
    assert frozen is not None
    out = tmp_path / "schnappschuss_画像.png"
    assert live.snapshot_to(out) is not None
    img = cv2.imdecode(np.fromfile(str(out), np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(img[..., ::-1], frozen.image)
    assert frame_number(live.live.latest().image) == frame_number(frozen.image)  # still the same frame
    window.live_panel.freeze_action.setChecked(False)
    live.mirror_check.setChecked(True)
    assert live.live.mirror
    live.stop()


def test_switching_sources_again_and_again_leaves_no_thread(window, qtbot, video):
    live = window.live_panel
    for _ in range(15):
        live.open_source(VideoFileSource(video, loop=True, realtime=False))
    live.stop()
    assert not source_threads()


def test_captured_frames_record_while_live(window, qtbot, video):
    cap = window.capture_panel
    net = window.net
    assert net.add_class("left") == "" and net.add_class("right") == ""
    cap.set_recording(0)
    live = window.live_panel
    with qtbot.waitSignal(live.frameProcessed, timeout=20000):
        live.open_video(str(video), realtime=False)
    qtbot.waitUntil(lambda: net.captured_x is not None and len(net.captured_x) >= 1, timeout=20000)
    cap.set_recording(None)
    live.stop()
    assert net.captured_x.shape[1:] == (1, 28, 28)
