"""The "What it wants to see" panel: activation maximisation in a worker (to the end, on Stop, on a
failure), saliency and occlusion maps of the current input, and controls disabled with reasons."""

import numpy as np
import pytest
from conftest import WAIT
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QCheckBox, QComboBox, QProgressBar, QTabBar

from convlab.core.data.digits import synthetic_digits
from convlab.core.receptive_field import unit_box
from convlab.core.visualize import AscentSettings, Target, ascend, occlusion_map, saliency_map, target_values
from convlab.gui import visualize_worker
from convlab.gui.panels.inside_panel import InsidePanel
from convlab.gui.panels.visualize_panel import TARGETS, VisualizePanel

UNIT, CHANNEL, CLASS = (k for k, _ in TARGETS)


def digit_image(seed=3) -> np.ndarray:
    d = synthetic_digits(1, seed=seed)
    return np.kron((d.x[0, 0] * 255).astype(np.uint8), np.ones((3, 3), np.uint8))


@pytest.fixture
def net(new_net):
    state = new_net()
    state.set_image(digit_image())
    return state


@pytest.fixture
def panel(qtbot, net):
    p = VisualizePanel(net)
    qtbot.addWidget(p)
    p.resize(900, 760)
    p.show()
    qtbot.waitExposed(p)
    yield p
    p.shutdown()
    visualize_worker.stop_all()


def choose(panel, kind: str, cls: int = 0, steps: int = 40) -> None:
    panel.target_combo.setCurrentIndex([k for k, _ in TARGETS].index(kind))
    if kind == CLASS:
        panel.class_combo.setCurrentIndex(cls)
    panel.setting_widgets["steps"].setValue(steps)


def show_saliency(qtbot, panel) -> None:
    """Bring the saliency page into sight: its maps are computed only then."""
    with qtbot.waitSignal(panel.saliencyShown, timeout=WAIT):
        panel.pages.setCurrentIndex(1)


def run(qtbot, panel) -> str:
    with qtbot.waitSignal(panel.runFinished, timeout=WAIT) as sig:
        qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    return sig.args[0]


# ------------------------------------------------------------------------------ activation maximisation


def test_every_control_has_a_tooltip(panel):
    for cls in (QAbstractButton, QComboBox, QAbstractSpinBox, QCheckBox, QProgressBar):
        for w in panel.findChildren(cls):
            if w.parent() is not None and not isinstance(w.parent(), QTabBar) and not w.objectName().startswith("qt_"):
                assert w.toolTip(), f"{cls.__name__} {w!r} has no tooltip"


def test_a_run_paints_the_picture_to_the_end(qtbot, panel, net):
    choose(panel, CLASS, cls=3, steps=40)
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    assert run(qtbot, panel) == "done"
    r = panel.result
    assert not r.stopped and r.last.step == 40
    assert panel.progress_bar.value() == 40 and panel.progress_bar.maximum() == 40
    xs, ys = panel.curve.getData()
    assert list(xs) == list(range(1, 41))  # every step's objective reached the curve, throttled or not
    assert panel.picture_view.data.shape == (28, 28)
    assert panel.picture_view.title.text == f"step 40: {r.last.objective:.4g}"
    # every number is the engine's: the same seeded run, and the final picture's own objective
    direct = list(ascend(net.view_model.copy(), Target.class_score(3), panel.settings()))
    np.testing.assert_array_equal(r.last.image, direct[-1].image)
    np.testing.assert_allclose(ys, [s.objective for s in direct])
    objective, _ = target_values(net.view_model, r.last.image[None], Target.class_score(3))
    assert r.objective == pytest.approx(float(objective[0]))
    assert r.above_noise > 5
    text = panel.status_label.text()
    assert text.startswith("Done: 40 steps") and "class 3's score" in text and "20 noise pictures" in text
    assert panel.noise_line.isVisible() and panel.noise_line.value() == pytest.approx(r.baseline.mean)
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled() and panel.worker is None
    qtbot.waitUntil(lambda: not visualize_worker.running_workers(), timeout=WAIT)


def test_stop_ends_the_run_at_once(qtbot, panel):
    choose(panel, CLASS, steps=5000)
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    assert panel.stop_button.isEnabled() and not panel.start_button.isEnabled()
    assert not panel.setting_widgets["steps"].isEnabled() and not panel.target_combo.isEnabled()
    qtbot.waitUntil(lambda: panel.last_progress is not None, timeout=WAIT)
    with qtbot.waitSignal(panel.runFinished, timeout=WAIT) as sig:
        qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    assert sig.args == ["stopped"]
    r = panel.result
    assert r.stopped and 0 < r.last.step < 5000
    assert panel.progress_bar.value() == r.last.step
    assert panel.picture_view.data is not None
    assert panel.status_label.text().startswith(f"Stopped after {r.last.step} of 5000 steps")
    assert panel.start_button.isEnabled() and panel.setting_widgets["steps"].isEnabled()


def test_a_failure_is_reported_and_the_slot_freed(qtbot, panel, monkeypatch):
    def broken(model, target, settings, value_range):
        yield from list(ascend(model, target, AscentSettings(steps=1)))
        raise RuntimeError("the engine broke")

    monkeypatch.setattr(visualize_worker, "ascend", broken)
    choose(panel, CLASS, steps=30)
    assert run(qtbot, panel) == "failed"
    assert panel.status_label.text() == "The run failed: RuntimeError: the engine broke"
    assert "b91c1c" in panel.status_label.label.styleSheet()
    assert panel.worker is None and panel.start_button.isEnabled()
    monkeypatch.undo()
    assert run(qtbot, panel) == "done"  # the next run goes
    assert panel.status_label.label.styleSheet() == ""


def test_a_selected_unit_and_its_channel(qtbot, panel, net):
    net.select_unit(4, 2, 3, 4)  # a tanh unit after the second convolution
    choose(panel, UNIT, steps=20)
    assert panel.target() == Target.unit(4, 2, 3, 4)
    assert panel.status_label.text() == "Ready: layer 4 (tanh) channel 2 at y 3, x 4."
    assert run(qtbot, panel) == "done"
    assert panel.run_info.optimised_layer == 3  # through the conv output the tanh only rises with
    box = unit_box(net.view_model.layers, 4, 3, 4)
    assert panel.field_box == box and len(panel.picture_view._overlays) == 1  # its field, drawn on the picture
    r = panel.picture_view._overlays[0].rect()
    assert (r.top(), r.left(), r.height(), r.width()) == (box.top, box.left, box.height, box.width)
    assert "layer 3's output; the unit's own value is" in panel.status_label.text()
    choose(panel, CHANNEL, steps=20)
    assert panel.target() == Target.whole_channel(4, 2)
    assert run(qtbot, panel) == "done"
    assert "layer 4 (tanh) channel 2, its mean over every position" in panel.status_label.text()
    assert panel.field_box is None and panel.picture_view._overlays == []  # a channel has no one field


def test_settings_reach_the_engine_and_come_back_to_their_defaults(panel):
    w = panel.setting_widgets
    w["decay"].setValue(0.2)
    w["jitter"].setValue(3)
    w["blur_every"].setValue(0)
    s = panel.settings()
    assert (s.decay, s.jitter, s.blur_every) == (0.2, 3, 0) and isinstance(s.jitter, int)
    assert w["steps"].maximum() == 5000 and w["decay"].maximum() == 0.5
    panel.defaults_button.click()
    assert panel.settings() == AscentSettings()


# ------------------------------------------------------------------------------ saliency


def test_saliency_and_occlusion_maps_of_the_current_input(qtbot, panel, net):
    assert panel.saliency_result is None and panel.saliency_worker is None  # its page is out of sight
    show_saliency(qtbot, panel)
    x = net.current_input
    r = panel.saliency_result
    assert panel.saliency_view.map.shape == panel.occlusion_view.map.shape == x.shape[1:]
    np.testing.assert_array_equal(r.input, x)
    want = saliency_map(net.view_model, x)
    np.testing.assert_allclose(panel.saliency_view.map, want.map, rtol=1e-5)
    np.testing.assert_allclose(panel.occlusion_view.map, occlusion_map(net.view_model, x).map, rtol=1e-4, atol=1e-6)
    assert r.saliency.class_index == int(np.argmax(net.probabilities))
    assert "(the predicted class)" in panel.saliency_label.text()
    assert panel.saliency_view.heat.isVisible()  # over the input by default

    with qtbot.waitSignal(panel.saliencyShown, timeout=WAIT):
        panel.saliency_class_combo.setCurrentIndex(3)  # class 2
    assert panel.saliency_result.saliency.class_index == panel.saliency_result.occlusion.class_index == 2
    panel.over_check.setChecked(False)
    assert not panel.saliency_view.heat.isVisible()
    assert panel.saliency_view.data.shape == x.shape[1:]  # the map alone

    with qtbot.waitSignal(panel.saliencyShown, timeout=WAIT):
        net.set_image(digit_image(seed=8))  # the maps follow the input
    qtbot.waitUntil(lambda: np.array_equal(panel.saliency_result.input, net.current_input), timeout=WAIT)


def test_saliency_waits_until_the_tab_is_seen(qtbot, net):
    inside = InsidePanel(net)
    qtbot.addWidget(inside)
    inside.resize(1200, 800)
    inside.show()
    qtbot.waitExposed(inside)
    names = [inside.tabs.tabText(i) for i in range(inside.tabs.count())]
    assert names[:3] == ["Feature maps", "Weights", "What it wants to see"]
    panel = inside.visualize
    net.set_image(digit_image(seed=5))
    assert panel.saliency_result is None and panel.saliency_worker is None  # out of sight: nothing computed
    panel.pages.setCurrentIndex(1)
    assert panel.saliency_result is None and panel.saliency_worker is None  # the tab is still behind
    with qtbot.waitSignal(panel.saliencyShown, timeout=WAIT):
        inside.tabs.setCurrentWidget(panel)
    assert panel.saliency_result.saliency.map.shape == (28, 28)
    panel.shutdown()


# ------------------------------------------------------------------------------ reasons


def test_a_unit_target_without_a_selected_unit_says_what_to_do(panel, net):
    assert net.unit is None
    assert panel.target_combo.currentIndex() == 2  # a class works from the start
    choose(panel, UNIT)
    assert not panel.start_button.isEnabled()
    assert panel.status_label.text() == "no unit selected: click a unit in a feature map (Feature maps tab)"
    assert panel.start_button.toolTip().startswith("Cannot start: no unit selected")
    assert not panel.start()
    net.select_unit(0, 1, 10, 10)
    assert panel.start_button.isEnabled()
    assert panel.status_label.text() == "Ready: layer 0 (conv2d) channel 1 at y 10, x 10."


def test_a_model_without_convolutions_offers_classes_only(qtbot, panel, net):
    net.set_spec({"input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "linear", "units": 10}]}, "mlp")
    items = panel.target_combo.model()
    for i in (0, 1):
        assert not items.item(i).isEnabled()
        assert "no convolution layer" in items.item(i).toolTip()
    assert items.item(2).isEnabled()
    choose(panel, CHANNEL)
    assert "no convolution layer" in panel.status_label.text() and not panel.start_button.isEnabled()
    choose(panel, CLASS, cls=1, steps=10)
    assert run(qtbot, panel) == "done"
    show_saliency(qtbot, panel)
    assert panel.saliency_result is not None  # saliency works without convolutions


def test_a_model_without_class_scores_has_no_class_target_and_no_saliency(qtbot, panel, net):
    show_saliency(qtbot, panel)
    assert panel.saliency_result is not None
    with qtbot.waitSignal(panel.saliencyShown, timeout=WAIT):
        net.set_spec({"input": [1, 28, 28], "layers": [{"type": "conv2d", "filters": 4, "kernel": 3}]}, "maps")
    item = panel.target_combo.model().item(2)
    assert not item.isEnabled() and "not class scores" in item.toolTip()
    assert "not class scores" in panel.saliency_label.text()
    assert panel.saliency_view.map is None and panel.saliency_view.data is None
    assert not panel.saliency_class_combo.isEnabled() and not panel.fill_combo.isEnabled()
    assert "not class scores" in panel.status_label.text() and not panel.start_button.isEnabled()


def test_a_model_that_does_not_build_disables_everything(qtbot, panel, net):
    show_saliency(qtbot, panel)
    with qtbot.waitSignal(panel.saliencyShown, timeout=WAIT):
        net.set_spec({"input": [1, 28, 28], "layers": [{"type": "conv2d", "filters": 4, "kernel": 40}]}, "bad")
    assert net.view_model is None
    assert not panel.start_button.isEnabled()
    assert panel.status_label.text().startswith("the model does not work yet: layer 0 (conv2d)")
    assert panel.saliency_label.text() == "No saliency: the model does not work yet"
    assert not any(panel.target_combo.model().item(i).isEnabled() for i in range(3))


def test_a_run_outlives_its_panel_safely(qtbot, net):
    """The panel may go while a run is on (the window closed): the worker is kept until its thread ends,
    and stopping every run (the application quitting) waits for it."""
    held = [VisualizePanel(net)]
    p = held[0]
    choose(p, CLASS, steps=5000)
    assert p.start()
    worker = p.worker
    qtbot.waitUntil(lambda: held[0].last_progress is not None, timeout=WAIT)
    gone = []
    p.destroyed.connect(lambda *_: gone.append(True))
    p.deleteLater()
    del p
    held.clear()  # no Python reference to the panel (or through it, the worker) is left
    qtbot.waitUntil(lambda: bool(gone), timeout=WAIT)
    assert worker in visualize_worker.running_workers() and worker.is_running()
    visualize_worker.stop_all()
    assert not worker.is_running() and visualize_worker.running_workers() == []
