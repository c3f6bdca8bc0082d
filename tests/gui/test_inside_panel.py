"""The Inside panel: model input, feature maps with statistics, filters and receptive fields."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QAbstractButton, QComboBox, QListWidget, QSpinBox

from convlab.core.data import Dataset
from convlab.gui.panels.inside_panel import InsidePanel


@pytest.fixture
def net(new_net):
    state = new_net()
    state.set_image(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    return state


@pytest.fixture
def panel(qtbot, net):
    p = InsidePanel(net)
    qtbot.addWidget(p)
    p.resize(1100, 700)
    p.show()
    qtbot.waitExposed(p)
    return p


def rect_of(item):
    r = item.rect()
    return (r.top(), r.left(), r.height(), r.width())


# ------------------------------------------------------------------------------ pure helpers

# ------------------------------------------------------------------------------ the panel

def test_every_control_has_a_tooltip(panel):
    for cls in (QAbstractButton, QComboBox, QSpinBox, QListWidget):
        for w in panel.findChildren(cls):
            if w.parent() is not None and w.isVisibleTo(panel) and not w.objectName().startswith("qt_"):
                assert w.toolTip(), f"{cls.__name__} {w!r} has no tooltip"


def test_layers_maps_and_stats(qtbot, panel, net):
    assert panel.layer_list.count() == 12
    assert panel.layer_list.item(5).text() == "5: avgpool2d 16x5x5"
    panel.layer_list.setCurrentRow(0)
    assert panel.maps.grid.count == 6
    a = net.activations[1]
    s = panel.maps.stats
    assert s["min"] == pytest.approx(float(a.min()))
    assert s["max"] == pytest.approx(float(a.max()))
    assert s["mean"] == pytest.approx(float(a.mean()), rel=1e-5)
    assert s["dead"] is None  # LeNet-5 has no ReLU
    np.testing.assert_array_equal(panel.maps.enlarged.data, a[0])
    with qtbot.waitSignal(panel.maps.channelChanged, timeout=1000):
        panel.maps.grid.selected.emit(3)
    np.testing.assert_array_equal(panel.maps.enlarged.data, a[3])
    panel.layer_list.setCurrentRow(7)  # linear 120: a bar plot
    assert panel.maps.stack.currentWidget() is panel.maps.bars
    np.testing.assert_allclose(panel.maps.pos_bars.opts["height"], np.maximum(net.activations[8], 0))


def test_dead_share_of_a_relu_model(qtbot, panel, net):
    with qtbot.waitSignal(net.activationsChanged, timeout=5000):
        net.load_preset("lenet_relu")
    assert panel.layer_list.count() == 12
    panel.layer_list.setCurrentRow(1)
    a = net.activations[2]
    assert panel.maps.stats["dead"] == pytest.approx(float((a == 0).mean()))
    assert "dead (exactly 0)" in panel.maps.stats_label.text()
    panel.layer_list.setCurrentRow(2)  # max pooling after the ReLU
    a = net.activations[3]
    assert panel.maps.stats["dead"] == pytest.approx(float((a == 0).mean()))
    panel.layer_list.setCurrentRow(3)  # a convolution: no dead share
    assert panel.maps.stats["dead"] is None


def test_clicking_a_unit_selects_it_and_draws_its_field(qtbot, panel, net):
    panel.layer_list.setCurrentRow(5)
    with qtbot.waitSignal(net.unitChanged, timeout=2000):
        panel.maps.enlarged.clicked.emit(1, 2)
    assert net.unit == (5, 0, 1, 2)
    assert rect_of(panel.rf_box_item) == (2, 6, 16, 16)
    assert panel.rf_clip_item is None and panel.rf_nested_items == []  # the blocks coincide with the field
    text = panel.rf_label.text()
    assert "16x16" in text and "jump 4" in text and "effective padding 2" in text
    assert "input rows 2..17, cols 6..21" in text and "reaches into padding: no" in text
    # the unit is marked in its own enlarged map
    assert [rect_of(i) for i in panel.maps.enlarged._overlays] == [(1, 2, 1, 1)]
    # an earlier layer shows the block the unit depends on
    panel.layer_list.setCurrentRow(0)
    _, nested = net.unit_boxes()
    t, l, b, r = nested[5]
    assert [rect_of(i) for i in panel.maps.enlarged._overlays] == [(t, l, b - t, r - l)]
    with qtbot.waitSignal(net.unitChanged, timeout=2000):
        panel.clear_button.click()
    assert net.unit is None and panel.rf_box_item is None and panel.input_view._overlays == []


def test_a_corner_unit_reaches_into_the_padding(qtbot, panel, net):
    panel.layer_list.setCurrentRow(0)
    with qtbot.waitSignal(net.unitChanged, timeout=2000):
        panel.maps.enlarged.clicked.emit(0, 0)
    assert rect_of(panel.rf_box_item) == (-2, -2, 5, 5)
    assert rect_of(panel.rf_clip_item) == (0, 0, 3, 3)
    assert "reaches into padding: yes" in panel.rf_label.text()
    # with padding in a later layer, an earlier layer's block is clipped at its own edge: nested box
    conv = {"type": "conv2d", "filters": 4, "kernel": 3, "padding": 1}
    with qtbot.waitSignal(net.activationsChanged, timeout=5000):
        net.set_spec({"input": [1, 28, 28], "layers": [conv, {"type": "relu"}, conv]}, "two 3x3")
    net.select_unit(2, 0, 0, 0)
    assert rect_of(panel.rf_box_item) == (-2, -2, 5, 5)
    assert rect_of(panel.rf_clip_item) == (0, 0, 3, 3)
    assert [rect_of(i) for i in panel.rf_nested_items] == [(-1, -1, 4, 4)]  # rows -1..2


def test_effective_field_heat_map(qtbot, panel, net):
    net.select_unit(5, 0, 1, 2)
    with qtbot.waitSignal(net.unitChanged, timeout=2000):
        panel.effective_check.setChecked(True)
    assert net.rf_mode == "effective"
    heat = panel.heat_image
    assert heat is not None and heat.shape == net.current_input.shape[1:]
    outside = np.ones(heat.shape, bool)
    outside[2:18, 6:22] = False
    assert heat.max() > 0 and np.all(heat[outside] == 0)
    assert rect_of(panel.rf_box_item) == (2, 6, 16, 16)  # the analytic box stays as reference
    panel.effective_check.setChecked(False)
    assert net.rf_mode == "analytic" and panel.heat_image is None


def test_weights_view(qtbot, panel, net):
    panel.tabs.setCurrentWidget(panel.weights)
    qtbot.waitUntil(lambda: panel.weights.layers == [0, 3], timeout=2000)
    assert panel.weights.shown(0) == (6, 1)
    assert panel.weights.shown(3) == (16, 6)
    img = panel.weights.block(3).item.image
    assert img.shape == (6 * 6 - 1, 16 * 6 - 1, 3)
    before = img.copy()
    with qtbot.waitSignal(net.weightsChanged, timeout=2000):
        net.reset_weights(seed=7)
    assert not np.array_equal(panel.weights.block(3).item.image, before)


def test_validation_sample_and_invert(qtbot, panel, net):
    rng = np.random.default_rng(1)
    net.val = Dataset(rng.random((5, 1, 28, 28)).astype(np.float32), np.arange(5, dtype=np.int64) % 2,
                      ["even", "odd"], "tiny")
    net.datasetChanged.emit()
    assert panel.sample_spin.maximum() == 4
    with qtbot.waitSignal(net.inputChanged, timeout=2000):
        panel.source_combo.setCurrentIndex(1)
    np.testing.assert_array_equal(net.current_input, net.val.x[0])
    with qtbot.waitSignal(net.inputChanged, timeout=2000):
        panel.sample_spin.setValue(3)
    np.testing.assert_array_equal(net.current_input, net.val.x[3])
    np.testing.assert_array_equal(panel.input_view.data, net.val.x[3][0])
    assert "label: odd" in panel.input_label.text() and "prediction" in panel.input_label.text()
    assert not panel.invert_combo.isEnabled()
    with qtbot.waitSignal(net.inputChanged, timeout=2000):
        panel.source_combo.setCurrentIndex(0)
    image_input = net.current_input.copy()
    with qtbot.waitSignal(net.inputChanged, timeout=2000):
        panel.invert_combo.setCurrentIndex(1 if net.preprocess.invert != "yes" else 2)
    assert net.preprocess.invert in ("yes", "no")
    np.testing.assert_array_equal(panel.input_view.data, net.current_input[0])
    assert net.current_input.shape == image_input.shape


def test_a_hidden_panel_redraws_when_shown(qtbot, net):
    p = InsidePanel(net)
    qtbot.addWidget(p)
    net.set_image(np.full((40, 40), 30, np.uint8))
    assert p.maps.stale
    p.show()
    qtbot.waitExposed(p)
    assert not p.maps.stale and p.maps.grid.count == 6


def test_a_unit_selected_elsewhere_shows_its_channel(panel, net):
    panel.layer_list.setCurrentRow(3)
    net.select_unit(3, 7, 4, 5)
    assert panel.maps.channel == 7
    np.testing.assert_array_equal(panel.maps.enlarged.data, net.activations[4][7])
    assert [rect_of(i) for i in panel.maps.enlarged._overlays] == [(4, 5, 1, 1)]


def test_the_value_under_the_mouse_follows_the_layer(qtbot, panel, net):
    """Issue 13.11: the label kept "channel 0, y 2, x 5" of the last layer hovered after another
    layer (a pooling layer of another size, or a flat one) was shown."""
    maps = panel.maps
    panel.layer_list.setCurrentRow(0)  # conv2d 6x28x28
    view = maps.enlarged
    pos = view.mapFromScene(view.scene_pos_of(2, 5))
    with qtbot.waitSignal(view.hovered, timeout=5000):
        qtbot.mouseMove(view.viewport(), QPoint(int(pos.x()), int(pos.y())))
    a = net.activations[1]
    assert maps.value_label.text() == f"layer 0 (conv2d), channel 0, y 2, x 5: {float(a[0, 2, 5]):.4g}"
    panel.layer_list.setCurrentRow(2)  # avgpool2d 6x14x14: the same spot is another unit
    under = view.pixel_under_mouse()
    assert under is not None and under != (2, 5)
    y, x = under
    b = net.activations[3]
    assert maps.value_label.text() == f"layer 2 (avgpool2d), channel 0, y {y}, x {x}: {float(b[0, y, x]):.4g}"
    panel.layer_list.setCurrentRow(7)  # linear: no map under the mouse
    assert maps.value_label.text().strip() == ""
