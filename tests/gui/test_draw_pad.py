"""The drawing pad: strokes drawn with the mouse (QTest press / move / release) or a pen land on the
canvas, Undo stroke and Clear work, and what is drawn goes through the live pipeline into the
playground and the network (centred like MNIST, throttled while drawing, the final picture always
arriving). Drawings can become captured samples. No sleeps: every wait is on a condition."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QPointingDevice, QTabletEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QLabel, QSpinBox, QWidget

from convlab.core.drawing import MNIST_SIZE, DrawingSource, centre_like_mnist, ink_stats, render_strokes
from convlab.core.preprocess import model_input
from convlab.core.sources import VideoFileSource
from convlab.gui.panels.live_panel import LivePanel
from convlab.gui.state import LabState
from convlab.gui.views.controls import out_of_sight
from convlab.gui.views.draw_pad import DEFAULT_BRUSH, MIN_PRESSURE, DrawPad
from convlab.gui.workspaces import WIDE

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_workspaces import sideways_scroll_bars, whole  # noqa: E402

WAIT = 30000
SEVEN = [(60, 50), (120, 52), (210, 55), (180, 100), (150, 150), (130, 200), (110, 250)]
BAR = [(40, 140), (240, 140)]


class FakeClock:
    def __init__(self, now: float = 100.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pad(qtbot, net):
    """A drawing pad wired to a Live panel of its own lab (no bank thread: the bank computes here)."""
    lab = LabState()
    live = LivePanel(lab, net, probe_on_show=False)
    p = DrawPad(live)
    qtbot.addWidget(live)
    qtbot.addWidget(p)
    p.resize(360, 560)
    p.show()
    qtbot.waitExposed(p)
    yield p
    live.shutdown()


def points_along(points, step: float = 6.0):
    """The path through ``points`` every ``step`` canvas pixels (a mouse reports about so often)."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        n = max(1, int(np.hypot(x1 - x0, y1 - y0) / step))
        out += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1)]
    return out


def press(canvas, x, y):
    QTest.mousePress(canvas, Qt.LeftButton, Qt.NoModifier, canvas.to_widget(x, y).toPoint())


def move(canvas, x, y):
    QTest.mouseMove(canvas, canvas.to_widget(x, y).toPoint())


def release(canvas, x, y):
    QTest.mouseRelease(canvas, Qt.LeftButton, Qt.NoModifier, canvas.to_widget(x, y).toPoint())


def stroke(canvas, points, step: float = 6.0) -> int:
    """Press, move along, release; returns the number of moves."""
    path = points_along(points, step)
    press(canvas, *path[0])
    for x, y in path[1:]:
        move(canvas, x, y)
    release(canvas, *path[-1])
    return len(path) - 1


def fed_gray(pad) -> np.ndarray:
    assert pad.fed is not None
    return pad.fed[..., 0]


def lab_has(pad, picture: np.ndarray) -> bool:
    image = pad.live_panel.lab.image
    return image is not None and image.shape == picture.shape and np.array_equal(image, picture)


# ---------------------------------------------------------------------------------------------
# drawing
# ---------------------------------------------------------------------------------------------

def test_a_mouse_stroke_leaves_ink_where_it_went(pad):
    c = pad.canvas
    stroke(c, BAR)
    assert len(c.strokes) == 1 and not c.drawing
    assert c.ink[140, 40:241].min() == 255  # along the whole path
    assert not c.ink[:100].any() and not c.ink[180:].any()  # and nowhere else
    assert c.strokes[0].widths[0] == DEFAULT_BRUSH
    moves = stroke(c, SEVEN)
    assert len(c.strokes[-1].points) >= moves - 2  # every move is a point of the stroke
    assert c.undo_stroke()
    pad.brush_spin.setValue(8)
    stroke(c, [(140, 20), (140, 60)])
    assert len(c.strokes) == 2 and c.ink[20:61, 140].min() == 255 and c.strokes[1].widths[0] == 8
    assert not c.ink[20:61, 150].any()  # a thin brush: 4 px either side


def test_undo_stroke_and_clear_by_keys_and_buttons(pad, qtbot):
    c = pad.canvas
    stroke(c, BAR)
    first = c.ink.copy()
    stroke(c, SEVEN)
    assert len(c.strokes) == 2 and not np.array_equal(c.ink, first)
    c.setFocus()
    qtbot.waitUntil(c.hasFocus, timeout=WAIT)
    qtbot.keyClick(c, Qt.Key_Z, Qt.ControlModifier)
    assert len(c.strokes) == 1 and np.array_equal(c.ink, first)  # exactly the first stroke's pixels
    pad.undo_button.click()
    assert not c.strokes and not c.ink.any()
    assert not c.undo_stroke()  # nothing left to take back
    stroke(c, SEVEN)
    qtbot.keyClick(c, Qt.Key_Delete)
    assert not c.strokes and not c.ink.any()
    stroke(c, BAR)
    qtbot.keyClick(c, Qt.Key_Backspace)
    assert not c.has_ink
    stroke(c, BAR)
    pad.clear_button.click()
    assert not c.has_ink and not c.clear()


def test_a_pen_stroke_is_thinner_where_it_presses_lightly(pad):
    c = pad.canvas
    device = QPointingDevice.primaryPointingDevice()

    def pen(kind, x, y, pressure):
        pos = c.to_widget(x, y)
        ev = QTabletEvent(kind, device, pos, c.mapToGlobal(pos), pressure, 0.0, 0.0, 0.0, 0.0, 0.0,
                          Qt.NoModifier, Qt.LeftButton, Qt.LeftButton if kind != QTabletEvent.TabletRelease
                          else Qt.NoButton)
        QApplication.sendEvent(c, ev)
        assert ev.isAccepted()

    pen(QTabletEvent.TabletPress, 40, 140, 0.0)  # no pressure reported: the full brush
    pen(QTabletEvent.TabletMove, 140, 140, 1.0)
    pen(QTabletEvent.TabletMove, 240, 140, 0.2)
    pen(QTabletEvent.TabletRelease, 240, 140, 0.0)
    assert len(c.strokes) == 1
    widths = c.strokes[0].widths
    assert widths[:2] == (DEFAULT_BRUSH, DEFAULT_BRUSH)
    assert widths[2] == pytest.approx(DEFAULT_BRUSH * (MIN_PRESSURE + (1 - MIN_PRESSURE) * 0.2))
    column = c.ink[:, 236]  # near the light end
    assert 0 < np.count_nonzero(column) < DEFAULT_BRUSH * 0.7


def test_black_ink_on_white_is_only_what_is_shown(pad):
    c = pad.canvas
    stroke(c, SEVEN)
    ink = c.ink.copy()
    pad.colour_combo.setCurrentIndex(1)
    assert c.dark_ink and np.array_equal(c.ink, ink)  # the ink is the same, bright on dark
    assert np.array_equal(pad.picture(), 255 - centre_like_mnist(ink, MNIST_SIZE))
    corner = c.square().topLeft().toPoint() + QPoint(4, 4)
    assert c.grab().toImage().pixelColor(corner).lightness() > 200  # the paper is white


# ---------------------------------------------------------------------------------------------
# feeding the lab
# ---------------------------------------------------------------------------------------------

def test_a_stroke_goes_through_the_pipeline_into_the_lab_and_the_network(pad, qtbot):
    live, net = pad.live_panel, pad.net
    before = None if net.current_input is None else net.current_input.copy()
    processed = []
    live.pipeline.frameProcessed.connect(processed.append)
    stroke(pad.canvas, SEVEN)
    assert pad.active and isinstance(live.live.source, DrawingSource) and live.running
    picture = cv2.cvtColor(centre_like_mnist(pad.canvas.ink), cv2.COLOR_GRAY2RGB)
    assert np.array_equal(pad.fed, picture)  # the last picture fed is the whole stroke, centred
    qtbot.waitUntil(lambda: lab_has(pad, picture), timeout=WAIT)
    qtbot.waitUntil(lambda: processed and np.array_equal(processed[-1].image, picture), timeout=WAIT)
    # the network looked at it through its own preprocessing, and recomputed its answer
    expected = model_input(picture, net.view_model.input_shape, net.preprocess)
    np.testing.assert_array_equal(net.current_input, expected)
    assert before is None or not np.array_equal(before, net.current_input)
    assert net.probabilities is not None and net.probabilities.shape == (10,)
    p = net.probabilities.copy()
    stroke(pad.canvas, BAR)  # another stroke: another answer
    qtbot.waitUntil(lambda: not np.array_equal(net.probabilities, p), timeout=WAIT)
    assert pad.live_panel.lab.result is not None  # the playground filtered it too
    assert pad.live_panel.lab.image.shape == (MNIST_SIZE, MNIST_SIZE, 3)


def test_while_drawing_pictures_are_throttled_and_the_final_one_arrives(pad, qtbot):
    clock = FakeClock()
    pad.clock = clock
    pad.feed_interval = 3600.0  # no second picture before the pen is lifted
    moves = stroke(pad.canvas, SEVEN, step=3.0)
    assert moves > 40
    assert pad.frames_fed == 2  # the first touch, and the end of the stroke: the moves in between dropped
    final = cv2.cvtColor(centre_like_mnist(pad.canvas.ink), cv2.COLOR_GRAY2RGB)
    assert np.array_equal(pad.fed, final)
    qtbot.waitUntil(lambda: lab_has(pad, final), timeout=WAIT)
    assert pad.live_panel.pipeline.last_frame is not None
    assert np.array_equal(pad.live_panel.pipeline.last_frame.image, final)


def test_a_picture_is_fed_while_the_pen_is_still_down(pad, qtbot):
    clock = FakeClock()
    pad.clock = clock
    c = pad.canvas
    path = points_along(SEVEN)
    press(c, *path[0])
    assert pad.frames_fed == 1  # the first touch goes at once
    for x, y in path[1:10]:
        move(c, x, y)  # within the interval: kept back, one picture is due
    assert pad.frames_fed == 1 and pad._timer.isActive()
    qtbot.waitUntil(lambda: pad.frames_fed == 2, timeout=WAIT)  # the due picture: the newest drawing
    assert c.drawing and np.array_equal(fed_gray(pad), centre_like_mnist(c.ink))
    qtbot.waitUntil(lambda: lab_has(pad, pad.fed), timeout=WAIT)
    clock.now += 1.0
    move(c, *path[10])  # the interval is over: at once
    assert pad.frames_fed == 3
    for x, y in path[11:]:
        move(c, x, y)
    release(c, *path[-1])
    final = cv2.cvtColor(centre_like_mnist(c.ink), cv2.COLOR_GRAY2RGB)
    qtbot.waitUntil(lambda: lab_has(pad, final), timeout=WAIT)
    assert not pad._timer.isActive()


def test_what_is_fed_is_centred_like_mnist_and_the_preview_shows_it(pad, qtbot):
    stroke(pad.canvas, [(230, 230), (260, 235), (250, 270)], step=3.0)  # small, in a corner
    s = ink_stats(fed_gray(pad))
    assert pad.fed.shape == (28, 28, 3)
    assert s.centre == pytest.approx((13.5, 13.5), abs=0.05) and 20 <= max(s.box[2:]) <= 21
    preview = pad.preview.pixmap().toImage()
    assert preview.width() >= 3 * 28 - 6  # the 28 x 28 picture, enlarged
    assert "28 x 28" in pad.fed_label.text()
    pad.centre_check.setChecked(False)  # off: the whole pad as drawn
    assert pad.fed.shape == (280, 280, 3) and np.array_equal(fed_gray(pad), pad.canvas.ink)
    qtbot.waitUntil(lambda: lab_has(pad, pad.fed), timeout=WAIT)
    pad.centre_check.setChecked(True)
    pad.colour_combo.setCurrentIndex(1)  # black on white: fed inverted, the model's "auto" inverts it back
    assert np.array_equal(fed_gray(pad), 255 - centre_like_mnist(pad.canvas.ink)) and fed_gray(pad)[0, 0] == 255
    qtbot.waitUntil(lambda: lab_has(pad, pad.fed), timeout=WAIT)
    white_on_black = cv2.cvtColor(255 - fed_gray(pad), cv2.COLOR_GRAY2RGB)
    expected = model_input(white_on_black, pad.net.view_model.input_shape, pad.net.preprocess)
    np.testing.assert_allclose(pad.net.current_input, expected, atol=1e-6)


def test_a_model_of_another_input_size_gets_the_picture_at_its_size(pad, qtbot):
    stroke(pad.canvas, SEVEN)
    assert pad.net.set_input_shape([1, 32, 32])
    qtbot.waitUntil(lambda: pad.fed.shape == (32, 32, 3), timeout=WAIT)
    s = ink_stats(fed_gray(pad))
    assert s.centre == pytest.approx((15.5, 15.5), abs=0.05) and 23 <= max(s.box[2:]) <= 24
    qtbot.waitUntil(lambda: lab_has(pad, pad.fed), timeout=WAIT)
    assert pad.net.current_input.shape == (1, 32, 32)


def test_the_pad_stops_a_running_video_and_a_stopped_pad_starts_again(pad, qtbot, tmp_path):
    live = pad.live_panel
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    for i in range(10):
        writer.write(np.full((48, 64, 3), 20 * i, np.uint8))
    writer.release()
    with qtbot.waitSignal(live.frameProcessed, timeout=WAIT):
        assert live.open_source(VideoFileSource(path, loop=True, realtime=False))
    video = live.live
    stroke(pad.canvas, SEVEN)
    assert pad.active and not video.running  # the pad took over
    assert not [t for t in threading.enumerate() if t.name.startswith("convlab-source") and t.is_alive()]
    qtbot.waitUntil(lambda: lab_has(pad, pad.fed), timeout=WAIT)
    live.stop()  # the Live panel's Stop
    assert not pad.active
    stroke(pad.canvas, BAR)  # the next stroke makes the pad the source again
    assert pad.active
    qtbot.waitUntil(lambda: lab_has(pad, pad.fed), timeout=WAIT)


def test_undo_and_clear_feed_the_pad_only_while_it_is_the_source(pad, qtbot):
    stroke(pad.canvas, SEVEN)
    stroke(pad.canvas, BAR)
    pad.canvas.undo_stroke()
    assert np.array_equal(fed_gray(pad), centre_like_mnist(render_strokes(pad.canvas.strokes, (280, 280))))
    pad.canvas.clear()
    assert not pad.fed.any()  # an empty pad feeds an empty field
    qtbot.waitUntil(lambda: lab_has(pad, pad.fed), timeout=WAIT)
    pad.live_panel.stop()
    n = pad.frames_fed
    stroke(pad.canvas, SEVEN)
    pad.live_panel.stop()
    pad.canvas.clear()  # not the source: nothing fed, the camera (or nothing) keeps the lab
    assert pad.frames_fed == n + 1 and not pad.active


# ---------------------------------------------------------------------------------------------
# captured classes, tooltips
# ---------------------------------------------------------------------------------------------

def test_a_drawing_can_be_added_to_a_captured_class(pad):
    net = pad.net
    pad._fill_class_menu()
    only = pad.class_menu.actions()
    assert len(only) == 1 and not only[0].isEnabled() and "Capture" in only[0].text()
    assert net.add_class("seven") == "" and net.add_class("bar") == ""
    assert "draw something" in pad.add_to_class(0)
    assert int(net.captured_counts()[0]) == 0
    stroke(pad.canvas, SEVEN)
    assert pad.add_to_class(0) == ""
    assert list(net.captured_counts()) == [1, 0]
    expected = model_input(pad.fed, net.view_model.input_shape, net.preprocess)
    np.testing.assert_array_equal(net.captured_x[0], expected)  # the sample is what is fed, as the network sees it
    pad.selected_class = lambda: 1
    pad._fill_class_menu()
    actions = pad.class_menu.actions()
    assert [a.text() for a in actions] == ["1. seven (1)", "2. bar (0)"]
    assert pad.class_menu.activeAction() is actions[1]  # the capture panel's class first
    pad.canvas.clear()
    stroke(pad.canvas, BAR)
    actions[1].trigger()
    assert list(net.captured_counts()) == [1, 1]
    assert "bar" in pad.status_label.text()
    assert "there is no class" in pad.add_to_class(5)


def test_every_control_has_a_tooltip(pad):
    kinds = (QAbstractButton, QComboBox, QSpinBox, QLabel)
    controls = [w for w in pad.findChildren(QWidget) if isinstance(w, kinds)] + [pad.canvas]
    assert len(controls) >= 9
    missing = [type(w).__name__ + ":" + (w.text() if hasattr(w, "text") else "") for w in controls
               if not w.toolTip()]
    assert missing == []
    assert "Ctrl+Z" in pad.undo_button.toolTip() and "lab" in pad.undo_button.toolTip()
    assert "Ctrl+Z" in pad.canvas.toolTip()
    assert pad.live_panel.draw_button.toolTip()


# ---------------------------------------------------------------------------------------------
# in the window
# ---------------------------------------------------------------------------------------------

def test_the_live_panels_draw_button_brings_the_pad_which_becomes_the_source(window, qtbot):
    window.show_workspace("live")
    assert "dock-draw" in {d.objectName() for d in window._docks()}
    window.live_panel.draw_button.click()
    pad = window.draw_pad
    assert window.draw_dock.isVisible() and not out_of_sight(pad.canvas)
    assert pad.active and window.live_panel.running
    qtbot.waitUntil(lambda: lab_has(pad, pad.fed), timeout=WAIT)  # the empty pad: an empty field
    assert not pad.fed.any()
    stroke(pad.canvas, SEVEN)
    qtbot.waitUntil(lambda: lab_has(pad, pad.fed) and pad.fed.any(), timeout=WAIT)
    qtbot.waitUntil(lambda: "The network says" in pad.fed_label.text(), timeout=WAIT)
    qtbot.waitUntil(lambda: window.state.result is not None and window.state.result.maps.shape[1] == 26,
                    timeout=WAIT)  # the playground filters the 28 x 28 picture (3 x 3 filters)
    assert window.net.current_input.shape == (1, 28, 28)


def test_ctrl_z_on_the_pad_takes_back_a_stroke_and_elsewhere_undoes_the_lab(window, qtbot):
    window.show_workspace("live")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)
    window.state.set_cell(0, 1, 1, 2.0)  # a lab edit: one undo step
    stack = window.state.undo_stack
    steps = stack.index()
    window.show_draw_pad()
    c = window.draw_pad.canvas
    stroke(c, BAR)
    stroke(c, SEVEN)
    qtbot.waitUntil(c.hasFocus, timeout=WAIT)
    qtbot.keyClick(c, Qt.Key_Z, Qt.ControlModifier)
    assert len(c.strokes) == 1 and stack.index() == steps  # the pad's stroke, not the lab's edit
    window.playground.setFocus()
    qtbot.waitUntil(lambda: not c.hasFocus(), timeout=WAIT)
    qtbot.keyClick(window.playground, Qt.Key_Z, Qt.ControlModifier)
    assert stack.index() == steps - 1 and len(c.strokes) == 1  # the lab's undo, the stroke stays


def test_drawings_record_into_a_class_like_camera_frames(window, qtbot):
    net = window.net
    assert net.add_class("seven") == ""
    window.capture_panel.set_recording(0)
    stroke(window.draw_pad.canvas, SEVEN)
    qtbot.waitUntil(lambda: net.captured_x is not None and len(net.captured_x) >= 1, timeout=WAIT)
    window.capture_panel.set_recording(None)


@pytest.mark.parametrize("size", [(1024, 700), (1400, 900), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_pad_shows_whole_in_the_live_workspace(new_window, qtbot, size):
    w = new_window(size=size)
    w.show_workspace("live")
    w.live_panel.draw_button.click()
    QApplication.processEvents()
    pad = w.draw_pad
    parts = {"canvas": pad.canvas, "undo": pad.undo_button, "clear": pad.clear_button, "add": pad.add_button,
             "centre": pad.centre_check, "brush": pad.brush_spin, "preview": pad.preview,
             "input": w.playground.input_view}
    assert [name for name, widget in parts.items() if not whole(widget)] == []
    assert pad.canvas.width() >= 200 and pad.canvas.height() >= 200, pad.canvas.size()
    assert sideways_scroll_bars(w) == []
    if size[0] >= WIDE:  # the pad beside the live controls, the prediction and the capture panel
        assert not out_of_sight(w.live_panel.bars) and not out_of_sight(w.capture_panel)
