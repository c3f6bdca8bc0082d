"""The training panel without dead ends: a mismatch comes with its fix as a button, a chosen
dataset loads in the background (so nothing stale blocks Train), readable curves with a bigger view,
a time-left estimate from the steady speed, a Stop that says so, and no old error left standing."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QScrollArea

from convlab.core.presets import model_preset
from convlab.core.reasons import Block
from convlab.gui.panels.training_panel import TrainingPanel

WAIT = 30000


@pytest.fixture
def net(new_net):
    n = new_net()
    n.set_settings(dataset="digits", samples=300, epochs=1, batch_size=32)
    return n


@pytest.fixture
def panel(qtbot, net):
    p = TrainingPanel(net)
    qtbot.addWidget(p)
    p.show()
    return p


def click(qtbot, button):
    assert button.isEnabled() and button.isVisible(), button.text()
    qtbot.mouseClick(button, Qt.LeftButton)


def choose(qtbot, panel, kind, wait=True):
    """Pick a dataset in the combo as the learner does; it loads in the background."""
    if not wait:
        panel.dataset_box.setCurrentIndex(panel.dataset_box.findData(kind))
        return
    with qtbot.waitSignal(panel.net.datasetChanged, timeout=WAIT):
        panel.dataset_box.setCurrentIndex(panel.dataset_box.findData(kind))
    qtbot.waitUntil(lambda: not panel.net.loading, timeout=WAIT)


# ---------------------------------------------------------------------- item 2: the fix as a button


def test_a_class_count_mismatch_offers_set_the_last_layer_to_6_classes(qtbot, panel, net):
    choose(qtbot, panel, "shapes")
    assert net.train_block.kind is Block.CLASS_COUNT and not panel.train_btn.isEnabled()
    assert panel.fix_btn.isVisible() and panel.fix_btn.text() == "Set the last layer to 6 classes"
    assert panel.fix_btn.toolTip()
    click(qtbot, panel.fix_btn)
    assert net.model.output_shape == (6,) and net.train_block is None
    assert panel.train_btn.isEnabled() and panel.fix_btn.isHidden() and panel.reason_label.isHidden()
    net.undo_stack.undo()  # one undo step
    assert net.model.output_shape == (10,) and panel.fix_btn.isVisible()


def test_the_rgb_preset_brings_the_built_in_colour_shapes_and_trains_out_of_the_box(qtbot, panel, net):
    said = []
    net.message.connect(said.append)
    with qtbot.waitSignal(net.datasetChanged, timeout=WAIT):
        assert net.load_preset("small_vgg_rgb")  # 3x32x32 colour images, 10 classes
    qtbot.waitUntil(lambda: not net.loading, timeout=WAIT)
    assert net.settings.dataset == "colour_shapes" and panel.dataset_box.currentData() == "colour_shapes"
    assert net.dataset.x.shape[1:] == (3, 32, 32) and net.train_block is None and panel.train_btn.isEnabled()
    assert any("takes 3x32x32 images: the dataset is now Synthetic colour shapes" in m for m in said), said


@pytest.fixture
def wide_rgb_preset(monkeypatch):
    """A preset whose 3x64x64 input no built-in dataset has."""
    import convlab.gui.model_design as model_design
    import convlab.gui.network_state as network_state
    from convlab.core.presets import ModelPreset, model_presets

    spec = {"input": [3, 64, 64], "layers": [{"type": "conv2d", "filters": 4, "kernel": 3, "padding": 1},
                                             {"type": "maxpool2d", "kernel": 4}, {"type": "flatten"},
                                             {"type": "linear", "units": 10}]}
    presets = {**model_presets(), "wide_rgb": ModelPreset("wide_rgb", "Wide RGB", "64x64 colour", spec)}
    monkeypatch.setattr(model_design, "model_presets", lambda: presets)
    monkeypatch.setattr(model_design, "model_preset", lambda key: dict(presets[key].spec))
    monkeypatch.setattr(network_state, "model_presets", lambda: presets)
    return "wide_rgb"


def test_a_preset_no_built_in_data_fits_says_so_and_offers_to_resize_the_input(qtbot, panel, net,
                                                                                wide_rgb_preset):
    with qtbot.waitSignal(net.message, timeout=WAIT, check_params_cb=lambda m: "no built-in dataset" in m):
        assert net.load_preset(wide_rgb_preset)
    qtbot.waitUntil(lambda: net.dataset is not None and not net.loading, timeout=WAIT)  # the data, loaded by itself
    block = net.train_block
    assert block.kind is Block.INPUT_SHAPE and block.shape == (1, 28, 28)
    assert panel.fix_btn.isVisible() and panel.fix_btn.text() == "Resize the input to 1x28x28"
    click(qtbot, panel.fix_btn)
    assert net.model.input_shape == (1, 28, 28) and net.train_block is None and panel.train_btn.isEnabled()


def test_a_preset_brings_the_built_in_dataset_it_trains_on(qtbot, panel, net):
    net.set_settings(dataset="shapes")  # 6 classes: LeNet's 10 scores do not fit it
    with qtbot.waitSignal(net.datasetChanged, timeout=WAIT):
        assert net.load_preset("lenet_relu")
    assert net.settings.dataset == "digits" and net.dataset_is_current() and net.train_block is None
    assert panel.dataset_box.currentData() == "digits" and panel.train_btn.isEnabled()


def test_a_model_that_ends_in_maps_offers_to_end_it_in_class_scores(qtbot, panel, net):
    spec = model_preset("lenet5")
    spec["layers"] = spec["layers"][:3]  # conv - tanh - pool: 6x14x14 maps
    net.set_spec(spec, "maps")
    assert net.train_block.kind is Block.NOT_CLASSES
    assert panel.fix_btn.text() == "End the model with 10 class scores"  # digits has 10 classes
    click(qtbot, panel.fix_btn)
    assert [layer["type"] for layer in net.layers()[-2:]] == ["flatten", "linear"]
    assert net.model.output_shape == (10,) and net.train_block is None


# ---------------------------------------------------------------------- item 3: datasets load when chosen


def test_choosing_a_dataset_loads_it_so_nothing_stale_blocks_train(qtbot, panel, net):
    choose(qtbot, panel, "shapes")
    assert not panel.train_btn.isEnabled()  # LeNet's 10 scores, 6 shape classes
    choose(qtbot, panel, "digits")  # loads by itself
    assert net.dataset.name and len(net.dataset.classes) == 10 and net.dataset_is_current()
    assert panel.train_btn.isEnabled() and panel.reason_label.isHidden() and panel.fix_btn.isHidden()
    assert "(the dataset settings changed since" not in panel.summary_label.text()


def test_the_dataset_chosen_last_is_the_one_loaded(qtbot, panel, net):
    choose(qtbot, panel, "shapes", wait=False)
    assert net.loading
    choose(qtbot, panel, "digits", wait=False)  # while shapes are still being made
    qtbot.waitUntil(lambda: not net.loading and net.dataset is not None, timeout=2 * WAIT)
    assert net.dataset_settings.dataset == "digits" and net.dataset_is_current()
    assert len(net.dataset.classes) == 10 and panel.train_btn.isEnabled()


def test_train_while_a_dataset_loads_waits_for_it_and_starts(qtbot, panel, net):
    choose(qtbot, panel, "shapes", wait=False)
    net.set_spec({**net.spec, "layers": [*net.layers()[:-1], {"type": "linear", "units": 6}]}, "six")
    assert net.loading and panel.train_btn.isEnabled()
    click(qtbot, panel.train_btn)
    qtbot.waitUntil(lambda: bool(net.history_steps) and net.training == "idle", timeout=2 * WAIT)
    assert net.dataset_settings.dataset == "shapes"


# ---------------------------------------------------------------------- item 5: curves, time left, stop


def test_the_curves_are_readable_in_a_short_dock_and_a_click_makes_them_bigger(qtbot, net):
    dock = QScrollArea()  # the training dock scrolls its panel, like this
    dock.setWidgetResizable(True)
    panel = TrainingPanel(net)
    dock.setWidget(panel)
    qtbot.addWidget(dock)
    dock.resize(1000, 320)
    dock.show()
    panel.tabs.setCurrentIndex(panel.tabs.indexOf(panel.curves.parentWidget()))
    click(qtbot, panel.train_btn)
    qtbot.waitUntil(lambda: net.training == "idle" and net.evaluation is not None, timeout=WAIT)
    QApplication.processEvents()
    c = panel.curves
    for plot in (c.loss_plot, c.acc_plot):  # both plots wholly in sight, none below the fold
        seen = plot.viewport()  # what draws the plot (it covers the view)
        assert seen.visibleRegion().boundingRect() == seen.rect(), seen.visibleRegion().boundingRect()
        assert plot.height() >= 90
        assert len(plot.getPlotItem().legend.items) == 2  # training and validation, named
    steps = [s for s, _, _ in net.history_steps]
    x0, x1 = c.x_range()
    assert x0 <= steps[0] and x1 >= steps[-1]  # the whole run along the x axis
    # one click: the same curves in a window of their own
    click(qtbot, panel.bigger_btn)
    big = panel.curves_dialog
    assert big.isVisible() and big.isSizeGripEnabled() and not big.isModal()
    np.testing.assert_array_equal(big.curves.train_loss.getData()[0], c.train_loss.getData()[0])
    big.resize(1300, 900)
    # it follows the next run live
    with qtbot.waitSignal(net.progress, timeout=WAIT):
        click(qtbot, panel.train_btn)
    qtbot.waitUntil(lambda: net.training == "idle", timeout=WAIT)
    QApplication.processEvents()
    assert len(big.curves.train_loss.getData()[0]) == len(net.history_steps) > len(steps)
    big.close()


class SteadyEstimate:
    """A stand-in for the state's time-left estimator: it knows the run's steady speed."""

    rate = 1234.0

    def start(self, now):
        pass

    def pause(self, now):
        pass

    def resume(self, now):
        pass

    def update(self, now, done, total):
        return 3.0


def test_time_left_comes_from_the_steady_speed_not_the_warm_up(qtbot, panel, net, monkeypatch):
    monkeypatch.setattr(net.trainer_state, "time_left", SteadyEstimate())
    net.set_settings(samples=1000, epochs=3, batch_size=8)
    seen = []
    net.progress.connect(lambda r: seen.append(panel.rate_label.text()))
    with qtbot.waitSignal(net.progress, timeout=WAIT):
        click(qtbot, panel.train_btn)
    qtbot.waitUntil(lambda: bool(seen), timeout=WAIT)
    QApplication.processEvents()
    text = panel.rate_label.text()
    assert "1,234 samples/s" in text and "left 3 s" in text, text
    click(qtbot, panel.stop_btn)
    qtbot.waitUntil(lambda: net.training == "idle", timeout=WAIT)


def test_stop_says_that_it_stopped_and_after_how_many_steps(qtbot, panel, net):
    net.set_settings(samples=1000, epochs=5, batch_size=8)
    with qtbot.waitSignal(net.progress, timeout=WAIT):
        click(qtbot, panel.train_btn)
    with qtbot.waitSignal(net.message, timeout=WAIT, check_params_cb=lambda m: m.startswith("Stopped")):
        click(qtbot, panel.stop_btn)
    qtbot.waitUntil(lambda: net.training == "idle", timeout=WAIT)
    n = len(net.history_steps)
    assert panel.status_label.text().startswith(f"Stopped after {n:,} step")
    assert "epoch 1 of 5" in panel.status_label.text() and "b91c1c" not in panel.status_label.styleSheet()


# ---------------------------------------------------------------------- item 11: no stale error


def test_an_old_error_goes_when_a_setting_changes_or_a_run_starts(qtbot, panel, net):
    choose(qtbot, panel, "mnist", wait=False)  # no folder: nothing to load yet
    assert not net.loading
    with qtbot.waitSignal(net.message, timeout=WAIT, check_params_cb=lambda m: m.startswith("cannot load")):
        click(qtbot, panel.load_btn)
    assert "choose the folder" in panel.status_label.text()
    panel.batch_spin.setValue(16)  # the learner moved on
    assert panel.status_label.text() == "" and "b91c1c" not in panel.status_label.styleSheet()
    with qtbot.waitSignal(net.message, timeout=WAIT, check_params_cb=lambda m: m.startswith("cannot load")):
        click(qtbot, panel.load_btn)
    choose(qtbot, panel, "digits")
    assert "cannot load" not in panel.status_label.text()


def test_loading_the_data_warms_the_engine_up_for_this_model(qtbot, net, monkeypatch):
    import convlab.gui.training_state as training_state

    warmed = []
    monkeypatch.setattr(training_state, "warm_up", lambda model, own=False: warmed.append((model.input_shape, own)))
    with qtbot.waitSignal(net.datasetChanged, timeout=WAIT):
        net.load_dataset()
    assert warmed == [((1, 28, 28), True)]  # a model of its own, built in the loading thread
    boom = []

    def broken(model, own=False):
        boom.append(1)
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(training_state, "warm_up", broken)
    net.set_settings(samples=200)
    with qtbot.waitSignal(net.datasetChanged, timeout=WAIT):  # a warm-up that fails is only no head start
        net.load_dataset()
    assert boom and net.dataset is not None and len(net.dataset.x) == 200
