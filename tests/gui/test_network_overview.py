"""The whole network at a glance: one column per layer as the engine reports it, wide layers
saying how many maps they hide, a click selecting a unit and outlining what feeds it at every
earlier layer, the hover line equal to the engine's explanation, frames redrawn without
rebuilding, nothing drawn while hidden, and a bad spec explained instead of raised."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractButton, QSpinBox, QTabWidget, QWidget

from convlab.core.display import display_levels
from convlab.core.images import colorize
from convlab.core.unit_explain import explain_unit, feeding_channels
from convlab.gui.views.image_view import lut
from convlab.gui.views.network_overview import CLIP_COLOR, FEED_COLOR, UNIT_COLOR, NetworkOverview

WAIT = 30000


def image(seed: int = 0, size: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (size, size), dtype=np.uint8)


@pytest.fixture
def net(new_net):
    state = new_net()
    state.set_image(image())
    return state


@pytest.fixture
def overview(qtbot, net):
    ov = NetworkOverview(net)
    qtbot.addWidget(ov)
    ov.resize(1400, 420)
    ov.show()
    qtbot.waitExposed(ov)
    qtbot.waitUntil(lambda: ov.canvas.plan is not None and not ov.stale, timeout=WAIT)
    return ov


def point(ov, layer, ch, y=0, x=0) -> QPoint:
    p = ov.canvas.unit_point(ov.column_of(layer), ch, y, x)
    return QPoint(int(p.x()), int(p.y()))


def shape_text(shape) -> str:
    return "x".join(str(s) for s in shape)


# ------------------------------------------------------------------------------ columns

def test_every_control_has_a_tooltip(overview):
    for cls in (QAbstractButton, QSpinBox):
        for w in overview.findChildren(cls):
            assert w.toolTip(), f"{cls.__name__} {w!r} has no tooltip"
    assert overview.hover_label.toolTip() and overview.legend.toolTip()


def test_columns_follow_the_engines_report(overview, net):
    rows = net.report.rows
    cols = overview.columns
    assert [c.kind for c in cols] == ["input"] + ["maps" if len(r.output_shape) == 3 else "cells"
                                                  for r in rows] + ["probs"]
    assert cols[0].title == ("input", shape_text(net.view_model.input_shape))
    for c, r in zip(cols[1:-1], rows, strict=True):
        assert c.layer == r.index
        assert c.title == (f"{r.index} {r.type}", shape_text(r.output_shape))
        assert c.count == r.output_shape[0]
    assert cols[-1].title == ("prediction", "10 classes")
    # LeNet-5 stays readable: its 6 and 16 maps all shown, on tiles of a readable size
    assert [c.place.shown for c in cols if c.kind == "maps"] == [6, 6, 6, 16, 16, 16]
    assert overview.canvas.plan.side >= 30
    assert overview.canvas.minimumWidth() == 0  # no sideways scrolling


def test_a_wide_layer_shows_its_first_maps_and_says_how_many_more(qtbot, overview, net):
    overview.maps_spin.setValue(4)
    conv = overview.columns[overview.column_of(3)]
    assert conv.place.shown == 4 and overview.canvas.more_text(conv) == "+12 more"
    assert overview.canvas.more_text(overview.columns[overview.column_of(0)]) == "+2 more"
    overview.maps_spin.setValue(16)
    with qtbot.waitSignal(net.activationsChanged, timeout=WAIT):
        net.load_preset("small_vgg_rgb")
    wide = overview.columns[overview.column_of(5)]  # 32 maps
    assert wide.count == 32 and wide.place.shown <= 16
    assert overview.canvas.more_text(wide) == f"+{32 - wide.place.shown} more"
    assert overview.canvas.plan.side >= 14


@pytest.mark.parametrize("width", [1024, 1400, 1920])
def test_lenet_and_the_small_vgg_fit_without_overlaps(qtbot, overview, net, width):
    for preset in ("lenet5", "small_vgg_rgb"):
        if net.preset_key != preset:
            with qtbot.waitSignal(net.activationsChanged, timeout=WAIT):
                net.load_preset(preset)
        overview.resize(width, 300 if width == 1024 else 420)
        qtbot.waitUntil(lambda: overview.canvas.width() >= width - 20, timeout=WAIT)
        plan = overview.canvas.plan
        assert plan.width_needed <= overview.scroll.viewport().width() + 0.5, (preset, width)
        spans = [(c.place.x, c.place.x + c.place.width) for c in overview.columns]
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))  # columns do not overlap
        for c in overview.columns:
            for x, y, w, h in c.place.tiles:
                assert c.place.x - 0.5 <= x and x + w <= c.place.x + c.place.width + 0.5
                assert y >= plan.body_top - 0.5 and y + h <= plan.body_top + plan.body_height + 0.5
            metrics = overview.canvas.bold_metrics
            assert metrics.horizontalAdvance(c.title[0]) <= c.place.width + 10  # the title is not cut


# ------------------------------------------------------------------------------ units

def test_clicking_a_tile_or_a_cell_selects_that_unit(qtbot, overview, net):
    with qtbot.waitSignal(net.unitChanged, timeout=WAIT):
        qtbot.mouseClick(overview.canvas, Qt.LeftButton, pos=point(overview, 3, 2, 4, 5))
    assert net.unit == (3, 2, 4, 5)
    with qtbot.waitSignal(net.unitChanged, timeout=WAIT):
        qtbot.mouseClick(overview.canvas, Qt.LeftButton, pos=point(overview, 7, 5))
    assert net.unit == (7, 5, 0, 0)
    assert "sees the whole input" in overview.unit_label.text()
    with qtbot.waitSignal(net.unitChanged, timeout=WAIT):
        overview.clear_button.click()
    assert net.unit is None and overview.canvas.marks == []


def test_the_units_that_feed_a_selected_unit_are_outlined_at_every_earlier_layer(qtbot, overview, net):
    net.select_unit(4, 3, 2, 7)  # tanh after the second convolution
    box, nested = net.unit_boxes()
    feeds = feeding_channels(net.view_model.layers, 4, 3)
    marks = overview.canvas.marks
    own = [m for m in marks if m.color == UNIT_COLOR and m.column == overview.column_of(4)]
    assert len(own) == 1 and own[0].box == (2, 7, 3, 8) and own[0].tiles == (3,)
    for k in range(1, 5):  # layers 3, 2, 1, 0
        found = [m for m in marks if m.column == overview.column_of(4 - k) and m.color == FEED_COLOR]
        assert len(found) == 1, k
        assert found[0].box == tuple(nested[k])
        assert found[0].tiles == (None if feeds[k] is None else tuple(sorted(feeds[k])))
    assert [m.tiles for m in marks if m.column == overview.column_of(3)] == [(3,)]  # only its own channel
    assert [m.tiles for m in marks if m.column == overview.column_of(2)] == [None]  # every map feeds conv 3
    on_input = {m.box: m for m in marks if m.column == 0}
    assert on_input[(box.top, box.left, box.bottom, box.right)].color == UNIT_COLOR
    assert tuple(nested[-1]) == box.clipped  # the input pixels it depends on: the field itself here
    assert f"input rows {box.top}..{box.bottom - 1}, cols {box.left}..{box.right - 1}" in overview.unit_label.text()
    # and they are painted: the outline's colour on the picture, at the block's top left corner in layer 1
    picture = overview.canvas.grab().toImage()
    col = overview.column_of(1)
    rect = overview.canvas._map_rect(col, 0, nested[3])
    ratio = picture.devicePixelRatio()
    colour = picture.pixelColor(int(rect.left() * ratio) + 1, int(rect.top() * ratio))
    assert colour == QColor(FEED_COLOR)


def test_a_unit_reaching_into_the_padding_gets_a_dashed_field_and_its_part_inside(overview, net):
    net.select_unit(0, 0, 0, 0)  # LeNet's first convolution pads by 2
    marks = [m for m in overview.canvas.marks if m.column == 0]
    boxes = {m.box: m for m in marks}
    assert boxes[(-2, -2, 3, 3)].dashed and boxes[(0, 0, 3, 3)].color == CLIP_COLOR
    assert len(marks) == 2
    # padding inside the network clips an earlier block at its own edge: the input pixels it depends on
    conv = {"type": "conv2d", "filters": 4, "kernel": 3, "padding": 1}
    net.set_spec({"input": [1, 28, 28], "layers": [conv, {"type": "relu"}, conv]}, "two 3x3")
    net.select_unit(2, 0, 0, 0)
    _, nested = net.unit_boxes()
    boxes = {m.box: m for m in overview.canvas.marks if m.column == 0}
    assert set(boxes) == {(-2, -2, 3, 3), (0, 0, 3, 3)} and boxes[(0, 0, 3, 3)].color == CLIP_COLOR
    assert tuple(nested[-1]) == (0, 0, 3, 3)


def test_the_hover_line_says_how_the_value_is_made_as_the_engine_does(qtbot, overview, net):
    qtbot.mouseMove(overview.canvas, point(overview, 3, 2, 4, 5))
    qtbot.waitUntil(lambda: overview.canvas.hover is not None, timeout=WAIT)
    e = explain_unit(net.view_model.layers, net.activations, 3, 2, 4, 5)
    assert overview.hover_label.text() == e.text()
    assert e.value == pytest.approx(float(net.activations[4][2, 4, 5]), rel=1e-5, abs=1e-6)
    assert "6 channels x 5x5 patch" in e.text()
    # a new input: the line follows it, with the mouse still there
    with qtbot.waitSignal(net.activationsChanged, timeout=WAIT):
        net.set_image(image(5))
    e2 = explain_unit(net.view_model.layers, net.activations, 3, 2, 4, 5)
    assert overview.hover_label.text() == e2.text() != e.text()
    # a pooling unit and a class row
    qtbot.mouseMove(overview.canvas, point(overview, 5, 1, 2, 3))
    qtbot.waitUntil(lambda: "avgpool2d" in overview.hover_label.text(), timeout=WAIT)
    assert overview.hover_label.text() == explain_unit(net.view_model.layers, net.activations, 5, 1, 2, 3).text()
    row = overview.canvas.unit_point(len(overview.columns) - 1, 7)  # the class probabilities' row 7
    qtbot.mouseMove(overview.canvas, QPoint(int(row.x()), int(row.y())))
    qtbot.waitUntil(lambda: overview.hover_label.text().startswith("class 7"), timeout=WAIT)
    assert f"{100 * float(net.probabilities[7]):.2f}%" in overview.hover_label.text()


# ------------------------------------------------------------------------------ frames

def test_new_activations_recolour_the_same_columns(qtbot, overview, net):
    columns = list(overview.columns)
    rebuilds, draws = overview.rebuilds, overview.draws
    with qtbot.waitSignal(net.activationsChanged, timeout=WAIT):
        net.set_image(image(7))
    assert overview.rebuilds == rebuilds and overview.draws == draws + 1
    assert all(a is b for a, b in zip(overview.columns, columns, strict=True))
    conv = overview.columns[overview.column_of(3)]
    a = net.activations[4]
    levels, signed = display_levels(a)
    want = colorize(a[: conv.place.shown].reshape(-1, a.shape[2]), levels, lut(signed))
    np.testing.assert_array_equal(conv.pixels[: want.shape[0]], want)
    probs = overview.columns[-1]
    np.testing.assert_allclose(probs.probabilities, net.probabilities)
    assert probs.predicted == int(np.argmax(net.probabilities))
    with qtbot.waitSignal(net.activationsChanged, timeout=WAIT):
        net.load_preset("lenet_relu")
    assert overview.rebuilds == rebuilds + 1  # a new spec: new columns


def test_maps_bigger_than_their_tiles_are_coloured_from_every_fth_pixel(qtbot, overview, net):
    conv = {"type": "conv2d", "filters": 3, "kernel": 3, "padding": 1}
    with qtbot.waitSignal(net.activationsChanged, timeout=WAIT):
        net.set_spec({"input": [1, 240, 240], "layers": [conv, {"type": "relu"}]}, "a big input")
    qtbot.waitUntil(lambda: not overview.stale and overview.columns[1].pixels is not None, timeout=WAIT)
    col = overview.columns[1]
    f = overview.canvas.step(col)
    assert f >= 2 and col.map_hw == (240, 240)
    a = net.activations[1]
    levels, signed = display_levels(a)  # the scale of the whole layer, not of the pixels drawn
    np.testing.assert_array_equal(col.pixels, colorize(a[:, ::f, ::f].reshape(-1, a[:, ::f, ::f].shape[2]),
                                                       levels, lut(signed)))
    net.select_unit(1, 2, 200, 17)  # units keep their own coordinates
    own = [m for m in overview.canvas.marks if m.column == 2 and m.color == UNIT_COLOR]
    assert own[0].box == (200, 17, 201, 18)
    hit = overview.canvas.hit_at(overview.canvas.unit_point(2, 2, 200, 17))
    assert (hit.layer, hit.channel, hit.y, hit.x) == (1, 2, 200, 17)


def test_it_stays_out_of_the_way_while_hidden_and_catches_up(qtbot, net):
    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    ov = NetworkOverview(net)
    tabs.addTab(ov, "overview")
    tabs.addTab(QWidget(), "other")
    tabs.resize(1200, 420)
    tabs.show()
    qtbot.waitExposed(tabs)
    qtbot.waitUntil(lambda: not ov.stale, timeout=WAIT)
    tabs.setCurrentIndex(1)
    draws = ov.draws
    before = ov.columns[1].pixels
    for seed in (1, 2, 3):
        with qtbot.waitSignal(net.activationsChanged, timeout=WAIT):
            net.set_image(image(seed))
    assert ov.draws == draws and ov.stale and ov.columns[1].pixels is before
    tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: not ov.stale, timeout=WAIT)
    assert ov.draws == draws + 1
    a = net.activations[1]
    levels, signed = display_levels(a)
    np.testing.assert_array_equal(ov.columns[1].pixels, colorize(a.reshape(-1, a.shape[2]), levels, lut(signed)))


def test_a_spec_that_cannot_work_is_explained_not_raised(qtbot, overview, net):
    bad = {"input": [1, 28, 28], "layers": [{"type": "conv2d", "filters": 4, "kernel": 40}]}
    with qtbot.waitSignal(net.specChanged, timeout=WAIT):
        net.set_spec(bad, "too big a kernel")
    qtbot.waitUntil(lambda: "does not work" in overview.canvas.message, timeout=WAIT)
    assert net.report.error in overview.canvas.message
    assert overview.columns == []
    overview.canvas.grab()  # paints the message
    net.undo_stack.undo()
    qtbot.waitUntil(lambda: overview.canvas.message == "" and len(overview.columns) == 14, timeout=WAIT)


def test_no_input_yet(qtbot, new_net):
    net = new_net()
    ov = NetworkOverview(net)
    qtbot.addWidget(ov)
    ov.resize(900, 400)
    ov.show()
    qtbot.waitUntil(lambda: not ov.stale, timeout=WAIT)
    assert ov.canvas.message == "no input yet: open an image or choose a validation sample"


# ------------------------------------------------------------------------------ the window

def test_the_network_page_shows_the_whole_network_first_and_one_layer_second(qtbot, window):
    w = window
    w.show_workspace("network")
    page = w.center.widget(1)
    assert page is w.network_tabs and w.center.currentWidget() is page
    assert [page.tabText(i) for i in range(page.count())] == ["Whole network", "One layer"]
    assert page.widget(0) is w.overview and page.widget(1).widget() is w.inside_panel
    assert all(page.tabToolTip(i) for i in range(page.count()))
    assert page.currentIndex() == 0
    qtbot.waitUntil(lambda: not w.overview.stale and w.overview.canvas.plan is not None, timeout=WAIT)
    assert len(w.overview.columns) == len(w.net.report.rows) + 2
    w.net.select_unit(3, 1, 2, 2)  # a unit chosen in one view is the unit of both
    assert any(m.color == UNIT_COLOR for m in w.overview.canvas.marks)
    page.setCurrentIndex(1)
    assert w.inside_panel.isVisible() and not w.overview.isVisible()
    assert w.inside_panel.rf_box_item is not None
    draws = w.overview.draws
    with qtbot.waitSignal(w.net.activationsChanged, timeout=WAIT):
        w.net.set_image(image(9))
    assert w.overview.draws == draws and w.overview.stale  # behind the One layer tab: not drawn
