"""The training panel drives NetworkState: dataset, settings, run / pause / step / stop, results."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from convlab.core.presets import model_preset
from convlab.core.training import EpochResult
from convlab.gui.panels.training_panel import LogSpinBox, TrainingPanel
from convlab.gui.views.training_views import (
    ClassBarsView,
    ConfusionMatrixView,
    CurvesView,
    DatasetPreview,
    SampleGallery,
    array_to_pixmap,
)

WAIT = 15000


@pytest.fixture
def net(new_net):
    n = new_net()
    n.set_settings(dataset="digits", samples=300, epochs=1, batch_size=32)
    return n


@pytest.fixture
def panel(qtbot, net):
    p = TrainingPanel(net)
    qtbot.addWidget(p)
    p.show()  # views out of sight draw only when they are seen (DrawWhenShown)
    return p


def click(qtbot, button):
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.LeftButton)


def load(qtbot, panel):
    with qtbot.waitSignal(panel.net.datasetChanged, timeout=WAIT):
        click(qtbot, panel.load_btn)


# ---------------------------------------------------------------------- the panel


def test_widgets_show_and_set_the_settings(panel, net):
    assert panel.samples_spin.value() == 300 and panel.epochs_spin.value() == 1
    assert panel.val_spin.value() == 15 and panel.optimizer_box.currentData() == net.settings.optimizer
    panel.batch_spin.setValue(16)
    panel.optimizer_box.setCurrentIndex(panel.optimizer_box.findData("adam"))
    panel.lr_spin.setValue(0.002)
    panel.wd_spin.setValue(0.0005)
    panel.val_spin.setValue(20)
    s = net.settings
    assert (s.batch_size, s.optimizer, s.lr, s.weight_decay, s.val_fraction) == (16, "adam", 0.002, 0.0005, 0.2)
    net.set_settings(epochs=4)  # the state changes: the widget follows
    assert panel.epochs_spin.value() == 4
    # every control explains itself
    for w in (panel.dataset_box, panel.path_edit, panel.browse_btn, panel.samples_spin, panel.val_spin,
              panel.load_btn, panel.batch_spin, panel.epochs_spin, panel.optimizer_box, panel.lr_spin,
              panel.wd_spin, panel.seed_spin, panel.train_btn, panel.pause_btn, panel.stop_btn, panel.step_btn,
              panel.reset_btn, panel.progress_bar, panel.status_label):
        assert w.toolTip(), w


def test_folder_datasets_ask_for_a_folder_and_report_errors(qtbot, panel, net):
    assert panel.path_row.isHidden() and not panel.samples_spin.isHidden()
    panel.dataset_box.setCurrentIndex(panel.dataset_box.findData("mnist"))
    assert net.settings.dataset == "mnist"
    assert not panel.path_row.isHidden() and panel.path_row.isEnabled() and panel.samples_spin.isHidden()
    with qtbot.waitSignal(net.message, timeout=WAIT, check_params_cb=lambda t: t.startswith("cannot load")):
        click(qtbot, panel.load_btn)
    assert "choose the folder" in panel.status_label.text() and "b91c1c" in panel.status_label.styleSheet()
    assert panel.load_btn.isEnabled() and panel.train_btn.isEnabled()


def test_a_training_run_fills_every_view(qtbot, panel, net):
    click(qtbot, panel.train_btn)  # loads the 300 digits, then trains one epoch
    qtbot.waitUntil(lambda: net.training == "idle" and net.evaluation is not None, timeout=WAIT)
    assert panel.progress_bar.value() == 100
    assert "classes" in panel.summary_label.text() and panel.preview.count() > 0
    x, y = panel.curves.train_loss.getData()
    assert len(x) > 0 and len(x) == len(net.history_steps) and np.all(np.isfinite(y))
    assert len(panel.curves.train_acc.getData()[0]) == len(net.history_steps)
    vx, vy = panel.curves.val_loss.getData()
    assert len(vx) == 1 and vy[0] == pytest.approx(net.history_epochs[0].val_loss)
    assert vx[0] == -(-len(net.train) // 32)  # at the end of the epoch
    assert panel.confusion_view.total() == len(net.val) == int(net.confusion.sum())
    assert panel.confusion_view.table.rowCount() == 10
    assert panel.confusion_view.table.verticalHeaderItem(3).text() == "3"
    np.testing.assert_allclose(np.nan_to_num(panel.class_accuracy.values), np.nan_to_num(net.per_class_accuracy()))
    wrong = net.misclassified()
    assert panel.misclassified_gallery.count() == len(wrong)
    assert "validation" in panel.accuracy_label.text().lower()
    if len(wrong):
        item = panel.misclassified_gallery.item(0)
        t, p = net.val.y[wrong[0]], net.evaluation.predictions[wrong[0]]
        assert item.text() == f"true {t} → predicted {p}"
        panel.misclassified_gallery.itemClicked.emit(item)  # look at that sample
        assert net.input_source == "sample" and net.sample_index == wrong[0]
        probs = panel.probability_bars.values
        assert len(probs) == 10 and probs.sum() == pytest.approx(1, abs=1e-4)
        assert f"true class {t}" in panel.probability_label.text()
    assert panel.train_btn.isEnabled() and not panel.stop_btn.isEnabled()


def test_pause_resume_and_stop_drive_the_run(qtbot, panel, net):
    net.set_settings(samples=1000, epochs=5, batch_size=8)
    with qtbot.waitSignal(net.progress, timeout=WAIT):
        click(qtbot, panel.train_btn)
    assert net.training == "running"
    for w in (panel.batch_spin, panel.lr_spin, panel.dataset_box, panel.seed_spin, panel.load_btn,
              panel.train_btn, panel.reset_btn):
        assert not w.isEnabled()
    assert panel.stop_btn.isEnabled() and panel.pause_btn.text() == "Pause"
    click(qtbot, panel.pause_btn)
    assert net.training == "paused" and panel.pause_btn.text() == "Resume" and panel.step_btn.isEnabled()
    assert not panel.epochs_spin.isEnabled()
    click(qtbot, panel.pause_btn)
    assert net.training == "running" and panel.pause_btn.text() == "Pause"
    click(qtbot, panel.stop_btn)
    qtbot.waitUntil(lambda: net.training == "idle", timeout=WAIT)
    assert panel.progress_bar.value() < 100
    assert panel.batch_spin.isEnabled() and panel.train_btn.isEnabled() and not panel.pause_btn.isEnabled()


def test_step_from_idle_takes_exactly_one_batch(qtbot, panel, net):
    click(qtbot, panel.step_btn)  # loads the dataset first, then one step
    qtbot.waitUntil(lambda: len(net.history_steps) == 1, timeout=WAIT)
    assert net.training == "paused" and panel.pause_btn.text() == "Resume"
    assert net.trainer.wait_blocked(10)  # parked again after its single batch
    QApplication.processEvents()
    assert len(net.history_steps) == 1 and net.history_steps[0][0] == 1
    click(qtbot, panel.step_btn)  # another one while paused
    qtbot.waitUntil(lambda: len(net.history_steps) == 2, timeout=WAIT)
    # the curves follow the progress report, which comes as its own queued signal right after the steps
    qtbot.waitUntil(lambda: len(panel.curves.train_loss.getData()[0] if panel.curves.train_loss.getData()[0]
                                is not None else []) == 2, timeout=WAIT)
    click(qtbot, panel.stop_btn)
    qtbot.waitUntil(lambda: net.training == "idle", timeout=WAIT)
    assert len(net.history_steps) == 2


def test_train_is_blocked_with_the_reason(qtbot, panel, net):
    spec = model_preset("lenet5")
    spec["layers"][-1]["units"] = 5
    net.set_spec(spec, "five scores")
    assert panel.train_btn.isEnabled()  # no dataset yet to compare with
    load(qtbot, panel)
    assert not panel.train_btn.isEnabled() and not panel.step_btn.isEnabled()
    tip = panel.train_btn.toolTip()
    assert "5 scores" in tip and "10 classes" in tip
    assert not panel.reason_label.isHidden() and "5 scores" in panel.reason_label.text()

    spec["layers"][0]["kernel"] = 40  # larger than the 28x28 input
    net.set_spec(spec, "huge kernel")
    assert net.report.error and not panel.train_btn.isEnabled()
    assert net.report.error in panel.train_btn.toolTip() and net.report.error in panel.reason_label.text()

    spec["layers"][0]["kernel"] = 5
    spec["layers"][-1]["units"] = 10
    net.set_spec(spec, "fixed")
    assert panel.train_btn.isEnabled() and panel.reason_label.isHidden()


def test_reset_weights_gives_fresh_weights_and_clears_the_curves(qtbot, panel, net):
    net.history_steps = [(1, 2.0, 0.1), (2, 1.5, 0.3)]
    panel._refresh_curves()
    assert len(panel.curves.train_loss.getData()[0]) == 2
    before = {k: v.copy() for k, v in net.view_model.state_dict().items()}
    panel.seed_spin.setValue(7)
    assert net.settings.seed == 7
    click(qtbot, panel.reset_btn)
    after = net.view_model.state_dict()
    assert any(not np.array_equal(before[k], after[k]) for k in before)
    assert "reset" in panel.status_label.text()
    assert panel.curves.train_loss.getData()[0] is None or len(panel.curves.train_loss.getData()[0]) == 0


# ---------------------------------------------------------------------- the views


def test_curves_place_validation_where_each_epoch_ended(qtbot):
    view = CurvesView()
    qtbot.addWidget(view)
    steps = [(1, 2.0, 0.1), (2, 1.0, 0.5), (3, 0.8, 0.6), (4, 0.7, 0.7), (6, 0.5, 0.8)]
    epochs = [EpochResult(1, 1.2, 0.4, 1.1, 0.45), EpochResult(1, 0.6, 0.75, 0.65, 0.7)]
    view.set_history(steps, epochs, [3, 6])
    assert list(view.train_loss.getData()[0]) == [1, 2, 3, 4, 6]
    assert list(view.train_acc.getData()[1]) == pytest.approx([10, 50, 60, 70, 80])
    vx, vy = view.val_acc.getData()
    assert list(vx) == [3, 6] and list(vy) == pytest.approx([45, 70])
    view.clear()
    assert not len(view.val_loss.getData()[0] if view.val_loss.getData()[0] is not None else [])


def test_confusion_bars_and_galleries(qtbot):
    cm = ConfusionMatrixView()
    qtbot.addWidget(cm)
    counts = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 4]])
    cm.set_matrix(counts, ["cat", "dog", "owl"])
    assert cm.total() == 20 and cm.table.item(1, 0).text() == "2"
    assert cm.table.horizontalHeaderItem(2).text() == "owl"
    assert "true dog, predicted cat" in cm.table.item(1, 0).toolTip()

    bars = ClassBarsView()
    qtbot.addWidget(bars)
    bars.set_values([0.2, np.nan, 0.7], ["a", "b", "c"], highlight=2)
    assert bars.bars is not None and len(bars.values) == 3
    assert [t.toPlainText() for t in bars._texts] == ["20%", "n/a", "70%"]

    gallery = SampleGallery()
    qtbot.addWidget(gallery)
    images = np.random.default_rng(0).random((4, 3, 10, 12), dtype=np.float32)
    gallery.set_samples(images, [f"s{i}" for i in range(4)], ids=[10, 11, 12, 13])
    assert gallery.count() == 4 and gallery.item(2).text() == "s2"
    with qtbot.waitSignal(gallery.sampleClicked) as sig:
        gallery.itemClicked.emit(gallery.item(2))
    assert sig.args == [12]
    pm = array_to_pixmap(np.ones((1, 8, 4), np.float32), 40)
    assert (pm.width(), pm.height()) == (20, 40)
    img = pm.toImage()
    assert img.pixelColor(5, 5).red() == 255

    preview = DatasetPreview()
    qtbot.addWidget(preview)
    y = np.array([0, 1, 0, 1, 0, 0], np.int64)
    preview.set_dataset(np.zeros((6, 1, 5, 5), np.float32), y, ["zero", "one"], per_class=2)
    assert preview.ids == [0, 2, 1, 3] and preview.item(2).text() == "one"


def test_learning_rate_arrows_walk_a_1_2_5_ladder(qtbot):
    spin = LogSpinBox()
    qtbot.addWidget(spin)
    spin.setDecimals(4)
    spin.setRange(0.0001, 10)
    spin.setValue(0.01)
    spin.stepBy(2)
    assert spin.value() == pytest.approx(0.05)
    spin.stepBy(-5)
    assert spin.value() == pytest.approx(0.001)
