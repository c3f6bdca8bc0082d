"""The "Learn a filter" panel driven like a learner would (pytest-qt, offscreen)."""

import re

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from convlab.core.kernels import preset
from convlab.gui.learn_state import LearnState
from convlab.gui.panels.learn_panel import LearnPanel
from convlab.gui.state import LabState

SOBEL_X = preset("sobel_x").kernel


@pytest.fixture
def lab():
    st = LabState()
    img = np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)
    st.set_image(img, "noise")
    return st


@pytest.fixture
def panel(qtbot, lab):
    p = LearnPanel(LearnState(lab))
    qtbot.addWidget(p)
    p.pace_combo.setCurrentIndex(p.pace_combo.findData("fast"))
    p.show()
    yield p
    p.shutdown()


def choose(combo, key):
    i = combo.findData(key)
    assert i >= 0, key
    combo.setCurrentIndex(i)


def run(qtbot, panel, kind="filter", button=None, timeout=20000):
    with qtbot.waitSignal(panel.finished, timeout=timeout) as blocker:
        qtbot.mouseClick(button or panel.start_btn, Qt.LeftButton)
    assert blocker.args == [kind], panel.error_label.text()


def learn_sobel(qtbot, panel, steps=300):
    panel.target_preset_radio.setChecked(True)
    choose(panel.preset_combo, "sobel_x")
    panel.steps_spin.setValue(steps)
    panel.lr_spin.setValue(0.05)
    run(qtbot, panel)


def test_every_control_has_a_tooltip(panel):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit

    controls = [w for cls in (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit) for w in panel.findChildren(cls)
                if not w.objectName().startswith("qt_")]  # not the line edit inside each spin box
    assert len(controls) > 20
    assert [w for w in controls if not w.toolTip()] == []


def test_hidden_sobel_x_is_learned_and_revealed_on_demand(qtbot, panel):
    learn_sobel(qtbot, panel)
    r = panel.result
    assert r.weight.shape == (1, 1, 3, 3) and not r.stopped
    assert np.abs(r.weight[0, 0] - SOBEL_X).max() < 0.05
    # the whole loss curve is drawn at the end: one point per step, on a log axis
    xs, _ = panel.loss_curve.getData()
    assert len(panel.losses) == 300 and len(xs) == 300 and panel.loss_plot.getPlotItem().ctrl.logYCheck.isChecked()
    assert panel.progress_bar.value() == 300 and "steps/s" in panel.rate_label.text()
    assert len(panel.reference_curve.getData()[0]) == 2  # the least-squares loss as a line
    for view in (panel.learned_view, panel.output_view, panel.target_view):
        assert view.item.image is not None
    assert panel.output_view.image_shape == panel.target_view.image_shape == (48, 48)
    # the true kernel and the exact answer stay hidden until Reveal
    assert panel.true_view.item.image is None and panel.best_view.item.image is None
    assert "hidden" in panel.true_view.title.text
    assert panel.reveal_btn.isEnabled()
    qtbot.mouseClick(panel.reveal_btn, Qt.LeftButton)
    assert panel.true_view.item.image is not None and panel.best_view.item.image is not None
    np.testing.assert_allclose(panel.true_view.data, SOBEL_X)
    levels = [v.levels for v in (panel.learned_view, panel.true_view, panel.best_view)]
    assert levels[0] == levels[1] == levels[2] and levels[0][0] == -levels[0][1]  # one shared diverging scale
    assert "Sobel x" in panel.true_view.title.text and not panel.reveal_btn.isEnabled()


def test_stop_ends_early_and_pause_holds(qtbot, panel):
    panel.steps_spin.setValue(100000)
    qtbot.mouseClick(panel.start_btn, Qt.LeftButton)
    assert panel.is_running() and not panel.start_btn.isEnabled() and not panel.kernel_spin.isEnabled()
    qtbot.waitUntil(lambda: panel.progress_bar.value() > 0, timeout=10000)
    qtbot.mouseClick(panel.pause_btn, Qt.LeftButton)
    assert panel.pause_btn.text() == "Continue"
    qtbot.waitUntil(lambda: "paused" in panel.rate_label.text(), timeout=10000)
    held = panel.progress_bar.value()
    qtbot.mouseClick(panel.pause_btn, Qt.LeftButton)
    assert panel.pause_btn.text() == "Pause"
    qtbot.waitUntil(lambda: panel.progress_bar.value() > held and "paused" not in panel.rate_label.text(),
                    timeout=10000)
    with qtbot.waitSignal(panel.finished, timeout=10000):
        qtbot.mouseClick(panel.stop_btn, Qt.LeftButton)
    assert panel.result.stopped and 0 < len(panel.result.losses) < 100000
    assert panel.status_label.text().startswith("Stopped") and panel.start_btn.isEnabled()
    assert not panel.is_running()


def test_use_this_filter_is_one_undo_step(qtbot, panel, lab):
    learn_sobel(qtbot, panel, steps=200)
    before = lab.bank.count
    assert lab.bank.names[0] == "sobel_x"
    qtbot.mouseClick(panel.use_btn, Qt.LeftButton)
    assert lab.bank.count == before + 1 and lab.bank.names[-1] == "learned" and lab.selected == before
    assert abs(lab.bank.biases[-1] - 255 * panel.result.bias[0]) < 1e-3
    # on the lab's 0..255 pixels the learned filter makes the same map as the Sobel x already in the bank
    maps = lab.result.maps
    assert np.abs(maps[-1] - maps[0]).max() < 0.01 * np.abs(maps[0]).max()
    lab.undo_stack.undo()
    assert lab.bank.count == before and "learned" not in lab.bank.names


def test_rgb_image_and_sample_photos(qtbot, panel, lab):
    lab.set_color("rgb")
    panel.data_samples_radio.setChecked(True)
    assert "sample photos" in panel.data_info.text()
    panel.steps_spin.setValue(30)
    run(qtbot, panel)
    assert panel.run.inputs.shape == (4, 3, 48, 48) and panel.result.weight.shape == (1, 3, 3, 3)
    assert panel.learned_view.image_shape == (3, 11)  # R | G | B side by side
    count = lab.bank.count
    assert panel.use_filter() and lab.bank.weights.shape[1:] == (3, 3, 3) and lab.bank.count == count + 1


def test_canny_shows_why_not_linear_and_two_layers_compare(qtbot, panel):
    panel.target_opencv_radio.setChecked(True)
    choose(panel.opencv_combo, "canny")
    assert "Canny" in panel.opencv_help.text()
    panel.steps_spin.setValue(40)
    run(qtbot, panel)
    assert panel.nonlinear_box.isVisibleTo(panel) and "yes/no" in panel.nonlinear_note.text()
    assert panel.best_view.item.image is not None  # the best linear approximation, after the run
    assert panel.true_view.item.image is None and "not one linear filter" in panel.true_view.title.text
    run(qtbot, panel, "two_layer", button=panel.two_layer_btn)
    text = panel.compare_label.text()
    assert re.search(r"one linear filter .*: \d\.\d+.*two layers .*: \d\.\d+", text), text
    assert len(panel.two_layer_curve.getData()[0]) == 40 and panel.two_layer_result is not None
    assert panel.result is not None  # the one-filter result stays for "Use this filter"


def test_linear_opencv_target_shows_its_kernel_from_the_start(qtbot, panel):
    panel.target_opencv_radio.setChecked(True)
    choose(panel.opencv_combo, "gaussian_blur")
    panel.kernel_spin.setValue(5)
    assert panel.padding_spin.value() == 2  # 'same' follows the kernel size
    panel.steps_spin.setValue(50)
    run(qtbot, panel)
    assert panel.true_view.image_shape == (5, 5) and not panel.nonlinear_box.isVisibleTo(panel)
    assert panel.reference_result.final_loss < 1e-12  # the least-squares answer is exact


def write_png(path, img):
    ok, buf = cv2.imencode(".png", img)
    assert ok
    path.write_bytes(buf.tobytes())
    return str(path)


def test_bad_target_image_keeps_the_old_target(qtbot, panel, tmp_path):
    good = np.zeros((96, 48), np.uint8)
    good[:, 24:] = 255
    path = write_png(tmp_path / "edge.png", good)
    assert panel.load_target_image(path)
    assert panel.target_image_radio.isChecked() and "resized" in panel.target_note.text()
    kept = panel.target_image
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    assert not panel.load_target_image(str(bad))
    assert panel.error_label.text().startswith("target image not loaded")
    assert panel.target_image is kept and panel.image_path.text() == path
    panel.steps_spin.setValue(30)
    run(qtbot, panel)
    assert panel.error_label.text() == "" and panel.run.targets.shape == (1, 1, 48, 48)
    assert panel.nonlinear_box.isVisibleTo(panel)


def test_impossible_settings_are_explained_and_the_last_run_stays(qtbot, panel):
    learn_sobel(qtbot, panel, steps=50)
    result = panel.result
    panel.padding_spin.setValue(3)  # more than 'same': output pixels with no target
    qtbot.mouseClick(panel.start_btn, Qt.LeftButton)
    assert "padding 1 fits" in panel.error_label.text()
    assert panel.result is result and panel.learned_view.item.image is not None and not panel.is_running()
    panel.padding_spin.setValue(1)
    panel.target_image_radio.setChecked(True)
    qtbot.mouseClick(panel.start_btn, Qt.LeftButton)
    assert "no target image" in panel.error_label.text() and panel.result is result


def test_reset_clears_the_run(qtbot, panel):
    learn_sobel(qtbot, panel, steps=50)
    qtbot.mouseClick(panel.reset_btn, Qt.LeftButton)
    assert panel.result is None and panel.losses == [] and panel.learned_view.item.image is None
    assert len(panel.loss_curve.getData()[0] if panel.loss_curve.getData()[0] is not None else []) == 0
    assert not panel.use_btn.isEnabled() and panel.start_btn.isEnabled()


def test_reset_during_a_run_stops_it_and_ignores_its_late_reports(qtbot, panel):
    panel.steps_spin.setValue(100000)
    qtbot.mouseClick(panel.start_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(panel.losses) > 0, timeout=10000)
    qtbot.mouseClick(panel.reset_btn, Qt.LeftButton)
    assert not panel.is_running() and panel.start_btn.isEnabled()
    # the stopped thread has ended, so its last 'done' is already queued: deliver it, it must be dropped
    with qtbot.assertNotEmitted(panel.finished):
        QApplication.processEvents()
    assert panel.result is None and panel.losses == []


def test_a_bank_of_hidden_presets_is_learned_at_once_and_used(panel, lab, qtbot):
    panel.target_preset_radio.setChecked(True)
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("sobel_x"))
    panel.filters_spin.setValue(2)
    assert panel.extra_preset_combos[0].isVisibleTo(panel) and not panel.extra_preset_combos[1].isVisibleTo(panel)
    panel.extra_preset_combos[0].setCurrentIndex(panel.extra_preset_combos[0].findData("sobel_y"))
    panel.steps_spin.setValue(400)
    panel.lr_spin.setValue(0.05)
    with qtbot.waitSignal(panel.finished, timeout=60000):
        assert panel.start()
    from convlab.core.kernels import preset

    w = panel.result.weight
    assert w.shape[0] == 2
    assert np.abs(w[0] - preset("sobel_x").filter(w.shape[1])).max() < 0.05
    assert np.abs(w[1] - preset("sobel_y").filter(w.shape[1])).max() < 0.05
    k = lab.bank.count
    assert panel.use_filter() and lab.bank.count == k + 2 and lab.bank.names[-2:] == ["learned", "learned"]
    lab.undo_stack.undo()
    assert lab.bank.count == k


def test_recent_frames_are_training_data(panel, lab):
    base = lab.image.copy()
    state = panel.state
    state.forget_frames()
    state.frame_gap_s = 0.0  # four "camera frames", as if far enough apart to be kept
    for t in range(4):
        lab.set_image(np.roll(base, 5 * t, axis=1), f"frame {t}")
    panel.data_frames_radio.setChecked(True)
    run = panel.prepare_run()
    assert run.inputs.shape[0] == 4
    assert not np.array_equal(run.inputs[0], run.inputs[1])
    state.forget_frames()
    state.remember_frame(now=1e9)
    import pytest

    with pytest.raises(ValueError, match="fewer than 2 recent frames"):
        panel.prepare_run()
