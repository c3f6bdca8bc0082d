"""CapturePanel: classes, recording from live frames (rate-limited), the sample gallery, training on
the captured samples, and captured samples saved with the session."""

import numpy as np
import pytest
from PySide6.QtCore import QItemSelectionModel, QSettings, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from convlab.core.data.catalog import load_dataset
from convlab.core.preprocess import model_input
from convlab.core.session import load, save
from convlab.gui.panels.capture_panel import CapturePanel


@pytest.fixture
def panel(qtbot, net):
    p = CapturePanel(net)
    qtbot.addWidget(p)
    p.show()
    yield p
    p.set_recording(None)


def square_frame(side: str, rng) -> np.ndarray:
    """64x64 RGB black frame with a white square in the left or right half."""
    img = np.zeros((64, 64, 3), np.uint8)
    size = int(rng.integers(12, 20))
    y = int(rng.integers(4, 60 - size))
    x = int(rng.integers(2, 30 - size)) + (0 if side == "left" else 32)
    img[y:y + size, x:x + size] = 255
    noise = rng.integers(0, 20, img.shape).astype(np.uint8)
    return np.maximum(img, noise)


def record(panel, cls: int, side: str, n: int, rng, t0: float = 0.0) -> float:
    """Record n samples of one class: frames 0.1 s apart (the rate limit lets each one through)."""
    panel.set_recording(cls)
    t = t0
    for _ in range(n):
        panel.on_frame(square_frame(side, rng), now=t)
        t += 0.1
    panel.set_recording(None)
    return t


def add(panel, name: str) -> str:
    panel.name_edit.setText(name)
    return panel.add_class()


def select_samples(gallery, rows):
    sm = gallery.selectionModel()
    for r in rows:
        sm.select(gallery.model().index(r, 0), QItemSelectionModel.Select)


# ------------------------------------------------------------------------- classes


def test_add_class_validates_names(panel, net):
    assert add(panel, "left") == ""
    assert panel.name_edit.text() == "" and panel.table.rowCount() == 1
    assert "needs a name" in add(panel, "   ")
    assert "already a class 'left'" in add(panel, "left")
    assert "already" in panel.status_label.text()
    assert "at most 32" in net.add_class("x" * 33)
    assert add(panel, "right") == ""
    assert net.captured_classes == ["left", "right"]
    assert panel.table.verticalHeaderItem(1).text() == "2"  # the key that records into it
    assert panel.selected_class() == 1
    assert panel.table.item(1, 0).text() == "right" and panel.table.item(1, 1).text() == "0"


def test_rename_in_place_and_refused_duplicate(panel, net):
    add(panel, "a")
    add(panel, "b")
    panel.table.item(0, 0).setText("thumbs up")
    assert net.captured_classes == ["thumbs up", "b"]
    panel.table.item(1, 0).setText("thumbs up")
    assert net.captured_classes == ["thumbs up", "b"] and panel.table.item(1, 0).text() == "b"
    assert "cannot rename 'b'" in panel.status_label.text()


# ------------------------------------------------------------------------- recording


def test_recording_is_rate_limited_and_shows_thumbnails(panel, net):
    rng = np.random.default_rng(0)
    add(panel, "left")
    add(panel, "right")
    panel.on_frame(square_frame("left", rng), now=0.0)  # not recording: nothing taken
    assert net.captured_x is None
    panel.set_recording(0)
    assert panel.record_buttons[0].text() == "Recording..."
    for i in range(60):  # two seconds of 30 fps frames
        panel.on_frame(square_frame("left", rng), now=i / 30)
    panel.set_recording(None)
    assert net.captured_counts().tolist() == [20, 0]  # at most 10 a second
    assert net.captured_x.shape == (20, 1, 28, 28) and net.captured_x.dtype == np.float32
    assert net.captured_y.dtype == np.int64
    assert panel.gallery.count() == 20 and panel.selected_class() == 0
    assert panel.samples_group.title() == "Samples of left (20)"
    assert panel.class_label(0) == "left (20)" and panel.table.item(0, 1).text() == "20"
    assert "took 20 sample(s) of 'left'" in panel.status_label.text()
    # exactly what the network sees
    frame = square_frame("right", rng)
    panel.set_recording(1)
    panel.on_frame(frame, now=5.0)
    panel.set_recording(None)
    np.testing.assert_array_equal(net.captured_x[-1], model_input(frame, (1, 28, 28), net.preprocess))
    assert panel.gallery.count() == 1  # the gallery follows the class being recorded
    assert panel.table.item(1, 1).text() == "1"


def test_appending_keeps_the_existing_thumbnails(panel, net):
    rng = np.random.default_rng(1)
    add(panel, "a")
    record(panel, 0, "left", 3, rng)
    first = panel.gallery.item(0)
    t = record(panel, 0, "left", 2, rng, t0=10.0)
    assert t and panel.gallery.count() == 5 and panel.gallery.item(0) is first
    assert [panel.gallery.item(i).text() for i in range(5)] == ["1", "2", "3", "4", "5"]


def test_record_button_press_and_number_keys(qtbot, panel, net):
    rng = np.random.default_rng(2)
    add(panel, "a")
    add(panel, "b")
    panel.record_buttons[1].pressed.emit()
    assert panel.recording == 1
    panel.on_frame(square_frame("left", rng), now=1.0)
    panel.record_buttons[1].released.emit()
    assert panel.recording is None and net.captured_counts().tolist() == [0, 1]

    with qtbot.waitSignal(panel.recordingChanged):
        qtbot.keyPress(panel, Qt.Key_1)
    assert panel.recording == 0
    qtbot.keyRelease(panel, Qt.Key_1)
    assert panel.recording is None
    qtbot.keyPress(panel.table, Qt.Key_2)  # the class table passes number keys on
    assert panel.recording == 1
    qtbot.keyRelease(panel.table, Qt.Key_2)
    assert panel.recording is None
    qtbot.keyPress(panel, Qt.Key_5)  # no class 5
    assert panel.recording is None

    window = QWidget()  # the main window: held keys there record too
    qtbot.addWidget(window)
    panel.watch_keys(window)
    qtbot.keyPress(window, Qt.Key_2)
    assert panel.recording == 1
    qtbot.keyRelease(window, Qt.Key_2)
    assert panel.recording is None


def test_recording_refused_for_a_flat_model_or_no_model(panel, net):
    rng = np.random.default_rng(3)
    add(panel, "a")
    assert net.set_spec({"input": [784], "layers": [{"type": "linear", "units": 2}]}, "flat")
    panel.set_recording(0)
    panel.on_frame(square_frame("left", rng), now=0.0)
    assert panel.recording is None and net.captured_x is None
    assert "flat input of 784 values" in panel.status_label.text()
    assert net.set_spec({"input": [1, 8, 8], "layers": [{"type": "conv2d", "filters": 2, "kernel": 20}]}, "bad")
    assert net.view_model is None
    assert "no working model" in net.add_captured(square_frame("left", rng), 0)
    assert "no class 3" in net.add_captured(square_frame("left", rng), 2)


# ------------------------------------------------------------------------- deleting


def test_delete_selected_samples_with_the_key_and_the_button(qtbot, panel, net):
    rng = np.random.default_rng(4)
    add(panel, "a")
    add(panel, "b")
    record(panel, 0, "left", 6, rng)
    record(panel, 1, "right", 3, rng, t0=10.0)
    panel.select_class(0)
    assert panel.gallery.count() == 6
    kept = net.captured_x[[0, 2, 4, 5]].copy()
    select_samples(panel.gallery, [1, 3])
    assert panel.delete_btn.isEnabled()
    qtbot.keyClick(panel.gallery, Qt.Key_Delete)
    assert net.captured_counts().tolist() == [4, 3] and panel.gallery.count() == 4
    np.testing.assert_array_equal(net.captured_x[net.captured_y == 0], kept)
    select_samples(panel.gallery, [0])
    panel.delete_btn.click()
    assert net.captured_counts().tolist() == [3, 3] and panel.table.item(0, 1).text() == "3"
    assert not panel.delete_btn.isEnabled()  # nothing selected


def test_remove_class_relabels_the_later_classes(panel, net):
    rng = np.random.default_rng(5)
    for name in ("a", "b", "c"):
        add(panel, name)
    t = record(panel, 0, "left", 2, rng)
    t = record(panel, 1, "right", 3, rng, t0=t + 1)
    record(panel, 2, "left", 4, rng, t0=t + 1)
    c_samples = net.captured_x[net.captured_y == 2].copy()
    panel.select_class(1)
    asked = []
    panel.ask_remove = lambda name, n: asked.append((name, n)) or True
    panel.remove_btn.click()
    assert asked == [("b", 3)]
    assert net.captured_classes == ["a", "c"] and net.captured_counts().tolist() == [2, 4]
    assert set(net.captured_y.tolist()) == {0, 1}
    np.testing.assert_array_equal(net.captured_x[net.captured_y == 1], c_samples)
    assert panel.table.rowCount() == 2 and panel.table.item(1, 0).text() == "c"
    assert panel.table.item(1, 1).text() == "4" and len(panel.record_buttons) == 2


# ------------------------------------------------------------------------- training


def test_not_enough_samples_gives_a_clear_message(panel, net):
    rng = np.random.default_rng(6)
    add(panel, "a")
    assert panel.train() is False
    assert "at least 2 classes" in panel.status_label.text() and net.training == "idle"
    add(panel, "b")
    record(panel, 0, "left", 3, rng)
    record(panel, 1, "right", 1, rng, t0=10.0)
    assert panel.train() is False
    assert "'b' has 1" in panel.status_label.text() and "at least 2 samples" in panel.status_label.text()
    assert net.model.output_shape == (10,)  # the model is left alone while the samples are too few
    assert "Not ready" in panel.ready_label.text()
    with pytest.raises(ValueError, match="at least 2 samples"):
        load_dataset(net.settings, (1, 28, 28), (net.captured_x, net.captured_y, net.captured_classes))


def test_input_shape_change_blocks_training_on_old_samples(panel, net):
    rng = np.random.default_rng(7)
    add(panel, "a")
    add(panel, "b")
    record(panel, 0, "left", 3, rng)
    record(panel, 1, "right", 3, rng, t0=10.0)
    assert net.set_input_shape([1, 32, 32]) and net.report.ok
    net.set_settings(dataset="captured")
    assert "captured samples are 1x28x28 but the model takes 1x32x32" in net.train_block_reason
    assert panel.train() is False and "1x32x32" in panel.status_label.text()
    assert "clear them to capture at the new size" in net.add_captured(square_frame("left", rng), 0)
    net.clear_captured()
    assert net.add_captured(square_frame("left", rng), 0) == "" and net.captured_x.shape[1:] == (1, 32, 32)


def test_train_on_captured_samples_then_predict_new_frames(qtbot, panel, net):
    rng = np.random.default_rng(8)
    add(panel, "left")
    add(panel, "right")
    t = record(panel, 0, "left", 30, rng)
    record(panel, 1, "right", 30, rng, t0=t + 1)
    net.set_settings(epochs=8, batch_size=8, optimizer="momentum", lr=0.05)
    assert panel.train() is True
    assert net.settings.dataset == "captured" and net.model.output_shape == (2,)  # one unit per class
    qtbot.waitUntil(lambda: net.training == "idle" and len(net.history_epochs) == 8, timeout=25000)
    assert net.dataset.classes == ["left", "right"] and len(net.dataset) == 60
    assert net.dataset_is_current()
    assert "trained:" in panel.status_label.text()
    frames = [(square_frame(side, rng), k) for k in (0, 1) for side in [("left", "right")[k]] * 20]
    x = np.stack([model_input(f, net.view_model.input_shape, net.preprocess) for f, _ in frames])
    pred = net.view_model.forward(x).argmax(axis=1)
    accuracy = float((pred == np.array([k for _, k in frames])).mean())
    assert accuracy >= 0.8, accuracy  # chance is 0.5
    # a changed capture set is a different dataset
    assert net.add_captured(square_frame("left", rng), 0) == ""
    assert not net.dataset_is_current()


# ------------------------------------------------------------------------- sessions


def test_captured_samples_round_trip_through_a_session(qtbot, tmp_path):
    from convlab.gui import lab_session
    from convlab.gui.main_window import MainWindow

    w = MainWindow(QSettings(str(tmp_path / "a.ini"), QSettings.IniFormat))
    qtbot.addWidget(w)
    w.session.ask = lambda *a: QMessageBox.StandardButton.Discard
    net = w.net
    rng = np.random.default_rng(9)
    for name in ("left", "right", "empty"):
        assert net.add_class(name) == ""
    for k, side in ((0, "left"), (1, "right"), (0, "left")):
        assert net.add_captured(square_frame(side, rng), k) == ""
    assert w.session.dirty  # captured samples are unsaved work
    x, y = net.captured_x.copy(), net.captured_y.copy()
    path = tmp_path / "lab.convlab"
    save(path, lab_session.capture(w))

    net.set_captured(None, None, [])
    assert net.captured_classes == [] and net.captured_x is None
    with qtbot.waitSignal(net.capturedChanged):
        lab_session.restore(w, load(path))
    assert net.captured_classes == ["left", "right", "empty"]
    np.testing.assert_array_equal(net.captured_x, x)
    np.testing.assert_array_equal(net.captured_y, y)
    assert net.captured_y.dtype == np.int64 and net.captured_x.dtype == np.float32

    panel = CapturePanel(net)  # a panel made after the restore shows it too
    qtbot.addWidget(panel)
    assert panel.table.rowCount() == 3 and panel.table.item(0, 1).text() == "2"
    w.close()
