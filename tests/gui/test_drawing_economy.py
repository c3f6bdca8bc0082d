"""Views draw what is on screen and nothing more: the work live video does 30 times a second.

Maps larger than their tile are drawn from every f-th pixel, labels and tab titles are only
touched when their text changes, views out of sight (another central tab, a dock tabbed behind
another one) skip frames and catch up when they come back, and what they then show is the newest
state, exactly.
"""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QLabel, QTabWidget, QVBoxLayout, QWidget

from convlab.core.images import colorize
from convlab.core.playground import FilterBank, display, steady_levels
from convlab.gui.views.controls import SteadyLabel, out_of_sight
from convlab.gui.views.feature_map_grid import FeatureMapGrid, shrink_for_tile
from convlab.gui.views.image_view import DIVERGING, GRAY, ImageView, lut
from convlab.gui.views.training_views import ClassBarsView

WAIT = 10000


@pytest.fixture
def window(new_window):
    return new_window(size=(1400, 950))


def frame(seed: int, h: int = 120, w: int = 160) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# ------------------------------------------------------------------ shrinking maps for tiles


def test_shrink_for_tile_keeps_every_fth_pixel_and_at_least_one_per_screen_pixel():
    img = np.arange(480 * 640, dtype=np.float32).reshape(480, 640)
    small, f = shrink_for_tile(img, (150.0, 110.0))
    assert f == 4  # 640 / 150 = 4.3 and 480 / 110 = 4.4: a factor of 5 would leave too few pixels
    assert small.shape == (120, 160) and small.shape[1] >= 150
    np.testing.assert_array_equal(small, img[::4, ::4])
    # a factor that does not divide the size: the last incomplete block is left out
    small, f = shrink_for_tile(img[:479, :638], (150.0, 110.0))
    assert f == 4 and small.shape == (119, 159)
    np.testing.assert_array_equal(small, img[:476:4, :636:4])


@pytest.mark.parametrize("tile", [(400.0, 300.0), (700.0, 700.0), (0.0, 0.0), (-1.0, 50.0)])
def test_shrink_for_tile_leaves_maps_that_fit_or_unknown_tiles_alone(tile):
    img = np.ones((480, 640), np.float32)
    small, f = shrink_for_tile(img, tile)
    assert f == 1 and small is img


def test_grid_draws_big_maps_shrunk_in_map_coordinates_and_finer_when_bigger(qtbot):
    grid = FeatureMapGrid()
    qtbot.addWidget(grid)
    grid.resize(700, 300)
    grid.show()
    qtbot.waitExposed(grid)
    maps = np.random.default_rng(0).standard_normal((8, 476, 636)).astype(np.float32)
    grid.set_maps(maps, (-3, 3), True, [str(i) for i in range(8)], 0)
    qtbot.waitUntil(lambda: grid._tiles[0][0].width() > 0, timeout=WAIT)
    grid.set_maps(maps, (-3, 3), True, [str(i) for i in range(8)], 0)  # with the tiles laid out
    vb, item, _ = grid._tiles[2]
    f = 636 // item.image.shape[1]
    assert f >= 2 and item.image.shape[1] >= vb.width()  # one value per screen pixel at least
    np.testing.assert_array_equal(grid.tile_data[2], maps[2][: (476 // f) * f: f, : (636 // f) * f: f])
    np.testing.assert_array_equal(item.image, colorize(grid.tile_data[2], (-3, 3), lut(True)))  # coloured
    rect = item.mapRectToParent(item.boundingRect())  # the tile's coordinates are the map's pixels
    assert rect.left() == 0 and rect.top() == 0
    assert rect.width() == pytest.approx((636 // f) * f) and rect.height() == pytest.approx((476 // f) * f)
    small_width = item.image.shape[1]
    grid.resize(2600, 1400)  # bigger tiles: the maps are drawn again from more of their pixels
    qtbot.waitUntil(lambda: grid._tiles[2][1].image.shape[1] > small_width, timeout=WAIT)
    rect = item.mapRectToParent(item.boundingRect())
    assert rect.width() == pytest.approx(636 // (636 // item.image.shape[1]) * (636 // item.image.shape[1]), abs=8)


def test_maps_drawn_behind_a_tab_keep_map_coordinates_once_shown_smaller(qtbot):
    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(QWidget(), "front")
    grid = FeatureMapGrid()
    tabs.addTab(grid, "behind")  # behind the front tab at its default 640 x 480: big tiles, maps drawn whole
    tabs.resize(240, 240)
    tabs.show()
    qtbot.waitExposed(tabs)
    maps = np.random.default_rng(1).standard_normal((2, 480, 480)).astype(np.float32)
    grid.set_maps(maps, (-3, 3), True, ["1", "2"], 0)
    _, item, _ = grid._tiles[0]
    tabs.setCurrentWidget(grid)  # now ~110 px tiles: every 2nd pixel is enough, the span stays 480
    qtbot.waitUntil(lambda: item.image.shape[0] < 480, timeout=WAIT)
    f = 480 // item.image.shape[0]
    assert f >= 2
    rect = item.mapRectToParent(item.boundingRect())  # still the map's pixel coordinates
    assert (rect.width(), rect.height()) == (pytest.approx(480 // f * f), pytest.approx(480 // f * f))


def test_grid_touches_labels_and_borders_only_when_they_change(qtbot, monkeypatch):
    grid = FeatureMapGrid()
    qtbot.addWidget(grid)
    maps = np.zeros((3, 10, 10), np.float32)
    grid.set_maps(maps, (0, 1), False, ["a", "b", "c"], 1)
    calls = []
    for _, _, label in grid._tiles:
        monkeypatch.setattr(label, "setText", lambda text, calls=calls: calls.append(text))
    borders = []
    for vb, _, _ in grid._tiles:
        monkeypatch.setattr(vb, "setBorder", lambda *a, borders=borders: borders.append(a))
    grid.set_maps(maps + 1, (0, 1), False, ["a", "b", "c"], 1)
    assert calls == [] and borders == []
    grid.set_maps(maps, (0, 1), False, ["a", "B", "c"], 2)
    assert calls == ["B"] and len(borders) == 3


# ------------------------------------------------------------------ image views


def test_lookup_tables_are_shared_and_read_only():
    assert lut(True) is lut(True) and lut(False) is lut(False) and lut(True) is not lut(False)
    with pytest.raises(ValueError):
        lut(True)[0, 0] = 1


def test_uint8_rgb_is_drawn_as_it_is_and_the_colour_bar_follows_the_sign(qtbot):
    view = ImageView("t", colorbar=True)
    qtbot.addWidget(view)
    rgb = frame(1)
    view.set_image(rgb, levels=(0, 255))
    assert view.item.levels is None and view.item.image is not None
    np.testing.assert_array_equal(view.item.image, rgb)
    m = np.linspace(-1, 1, 100, dtype=np.float32).reshape(10, 10)
    view.set_image(m, (-1, 1), signed=True)
    assert view.bar.colorMap() is DIVERGING
    view.set_image(m, (-1, 1), signed=True)
    assert view.bar.colorMap() is DIVERGING and tuple(view.bar.levels()) == (-1, 1)
    view.set_image(m + 1, (0, 2), signed=False)
    assert view.bar.colorMap() is GRAY and tuple(view.bar.levels()) == (0, 2)


@pytest.mark.parametrize("signed", [False, True])
def test_views_colour_values_as_pyqtgraph_would(qtbot, signed):
    """The view colours values itself (core.images.colorize) and hands pyqtgraph finished pixels:
    they must be the colours pyqtgraph's own levels + lookup table give, give or take one
    table row for values exactly on a row boundary."""
    values = np.random.default_rng(3).standard_normal((60, 80)).astype(np.float32) * 2
    view = ImageView("t", colorbar=True)
    qtbot.addWidget(view)
    view.set_image(values, (-2.5, 3.0), signed=signed)
    assert view.data is values and view.levels == (-2.5, 3.0) and view.item.levels is None
    drawn = view.item.image if view.item.image.ndim == 3 else np.dstack([view.item.image] * 3)
    argb, _ = pg.makeARGB(values, lut=lut(signed), levels=(-2.5, 3.0))
    expected = argb[..., [2, 1, 0]].astype(int)  # BGRA -> RGB
    table = lut(signed).astype(int)
    step = np.abs(np.diff(table, axis=0)).max()
    assert np.abs(drawn.astype(int) - expected).max() <= step
    assert (np.abs(drawn.astype(int) - expected).max(axis=2) > 0).mean() < 0.001


def test_colour_bar_range_is_touched_only_when_it_changes(qtbot, monkeypatch):
    """A new range makes pyqtgraph lay out the bar's axis again (2 ms a frame when live)."""
    view = ImageView("t", colorbar=True)
    qtbot.addWidget(view)
    m = np.linspace(-1, 1, 100, dtype=np.float32).reshape(10, 10)
    view.set_image(m, (-1, 1), signed=True)
    calls = []
    monkeypatch.setattr(view.bar, "setLevels", lambda *a, **k: calls.append(a))
    view.set_image(m * 0.5, (-1, 1), signed=True)
    assert calls == []
    view.set_image(m * 0.5, (-0.5, 0.5), signed=True)
    assert calls == [((-0.5, 0.5),)]


def test_same_title_is_not_set_again(qtbot, monkeypatch):
    view = ImageView("first")
    qtbot.addWidget(view)
    calls = []
    monkeypatch.setattr(view.title, "setText", lambda text: calls.append(text))
    view.set_title("first")
    view.set_title("second")
    assert calls == ["second"]


def test_class_bars_relabel_only_the_texts_that_change(qtbot):
    bars = ClassBarsView()
    qtbot.addWidget(bars)
    bars.set_values([0.1, 0.9], ["a", "b"], highlight=1)
    first = [t.textItem.toPlainText() for t in bars._texts]
    assert first == ["10%", "90%"]
    item = bars._texts[0].textItem
    set_calls = []
    original = bars._texts[0].setText
    bars._texts[0].setText = lambda text: (set_calls.append(text), original(text))
    bars.set_values([0.1004, 0.8996], ["a", "b"], highlight=1)  # still "10%": the text stays
    assert set_calls == [] and item.toPlainText() == "10%"
    assert bars._texts[0].pos().x() == pytest.approx(100 * 0.1004 + 1)  # the label follows its bar
    bars.set_values([0.5, 0.5], ["a", "b"], highlight=0)
    assert set_calls == ["50%"] and [t.textItem.toPlainText() for t in bars._texts] == ["50%", "50%"]


# ------------------------------------------------------------------ the window


def test_playground_views_skip_frames_behind_another_tab_and_catch_up(qtbot, window):
    w, st = window, window.state
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):
        st.set_color("rgb")
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):
        st.set_image(frame(1), "first")
    np.testing.assert_array_equal(w.playground.input_view.item.image, st.input.transpose(1, 2, 0).astype(np.uint8))
    w.center.setCurrentIndex(1)  # Inside the network
    drawn_before = w.playground.input_view.item.image
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):  # still announced: the outputs are handled
        st.set_image(frame(2, 90, 130), "second")
    assert w.playground.input_view.item.image is drawn_before  # not redrawn while nobody sees it
    assert w.playground.output_view.image_shape != st.result.maps.shape[1:]
    assert "computed in" in w.playground.timing_label.text()  # the status bar still tells the time
    w.center.setCurrentIndex(0)  # back: the newest image and result, exactly
    np.testing.assert_array_equal(w.playground.input_view.item.image, st.input.transpose(1, 2, 0).astype(np.uint8))
    assert w.playground.output_view.image_shape == st.result.maps.shape[1:]
    k, ho, wo = st.result.maps.shape
    assert w.playground.tabs.tabText(0) == f"Bank {wo} x {ho} x {k}"
    assert w.playground.input_view.title.text == "Input 130 x 90 x 3"


def test_gray_input_is_drawn_and_tabs_follow_pooling(qtbot, window):
    w, st = window, window.state
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):
        st.set_color("rgb")
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):
        st.set_color("gray")
    np.testing.assert_array_equal(w.playground.input_view.data, st.input[0])
    view = w.playground.input_view
    np.testing.assert_array_equal(view.item.image, colorize(st.input[0], view.levels, lut(False)))
    assert not w.playground.tabs.isTabEnabled(1)
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):
        st.set_post("pool", pool="max", pool_kernel=2, pool_stride=2)
    assert w.playground.tabs.isTabEnabled(1) and w.playground.tabs.tabText(1).startswith("Pooled ")
    tabs = w.playground.tabs
    assert tabs.currentWidget() is w.playground.pool_grid  # pooling turned on: its maps in front
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):
        st.set_post("pool size", pool_kernel=3, pool_stride=3)
    tabs.setCurrentIndex(0)  # the learner looks at the bank again: a setting change keeps it so
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):
        st.set_post("pool size", pool_kernel=2, pool_stride=2)
    assert tabs.currentIndex() == 0
    k = st.bank.count
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):
        st.set_post("mix", mix=np.ones((2, k), np.float32), mix_bias=np.zeros(2, np.float32))
    assert tabs.currentWidget() is w.playground.mix_grid
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):
        st.set_post("mix", mix=None, mix_bias=None)
    assert tabs.currentWidget() is w.playground.pool_grid and not tabs.isTabEnabled(2)
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):
        st.set_post("pool", pool="none")
    assert tabs.currentIndex() == 0 and not tabs.isTabEnabled(1)


def test_training_bars_skip_frames_behind_a_dock_tab_and_catch_up(qtbot, window):
    w, net = window, window.net
    w.show_workspace("network")  # at 1400 px the layer table and training share one tab group
    w.layers_dock.raise_()  # the table in front, Training tabbed behind it
    qtbot.waitUntil(lambda: out_of_sight(w.training_panel), timeout=WAIT)
    with qtbot.waitSignal(net.activationsChanged, timeout=WAIT):
        net.set_image(frame(3, 64, 64))
    behind = w.training_panel.probability_bars.values.copy()
    with qtbot.waitSignal(net.activationsChanged, timeout=WAIT):
        net.set_image(255 - frame(3, 64, 64))
    assert w.training_panel.bars_draw.stale
    np.testing.assert_array_equal(w.training_panel.probability_bars.values, behind)
    w.training_dock.raise_()
    qtbot.waitUntil(lambda: not w.training_panel.bars_draw.stale, timeout=WAIT)
    np.testing.assert_allclose(w.training_panel.probability_bars.values, net.probabilities)
    assert not out_of_sight(w.training_panel)


def test_out_of_sight_is_false_for_widgets_of_windows_not_shown(qtbot):
    view = ImageView("t")
    qtbot.addWidget(view)
    assert not out_of_sight(view)  # tests and windows being built draw as usual


def test_filters_panel_keeps_its_cells_when_only_the_image_changes(qtbot, window, monkeypatch):
    w, st = window, window.state
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):
        st.set_color("rgb")
    calls = []
    original = w.filters_panel.editor.set_filter
    monkeypatch.setattr(w.filters_panel.editor, "set_filter", lambda *a, **k: (calls.append(a), original(*a, **k)))
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):
        st.set_image(frame(4), "a frame")
    assert calls == []
    rng = np.random.default_rng(0)
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):
        st.edit("new bank", bank=FilterBank(rng.standard_normal((2, 3, 3, 3)).astype(np.float32),
                                            np.zeros(2, np.float32), ["a", "b"]))
    assert calls and calls[-1][0].shape == (3, 3, 3)  # a new bank: the cells follow
    n = len(calls)
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):
        st.set_color("gray")  # a gray image makes a one-channel bank: the cells follow
    assert len(calls) > n and w.filters_panel.editor._values.shape[0] == 1


def test_live_output_keeps_steady_levels_and_exact_ones_come_back_after(qtbot, window):
    """Live, the enlarged map keeps its levels while its values fill them (no pumping colours,
    no axis laid out per frame); the title still tells the exact values; after, exact levels."""
    w, st = window, window.state
    base = frame(4).astype(np.float32)
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):
        st.set_image(base.astype(np.uint8), "base")
    assert st.display_mode == "raw"
    exact = display(st.result.maps[st.selected], "raw").levels
    assert w.playground.output_view.levels == exact
    w.live_panel.liveChanged.emit(True)
    assert w.playground.timing_label.text() == ""
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):  # 10 % more contrast: refit with headroom
        st.set_image(np.clip(base * 1.1, 0, 255).astype(np.uint8), "brighter")
    bound = display(st.result.maps[st.selected], "raw").levels[1]
    held = w.playground.output_view.levels
    assert held == steady_levels("raw", (-bound, bound), exact) and held[1] >= 1.1 * bound
    assert tuple(w.playground.output_view.bar.levels()) == pytest.approx(held)
    with qtbot.waitSignal(w.outputDrawn, timeout=WAIT):  # a little less contrast: the same levels
        st.set_image(np.clip(base * 0.95, 0, 255).astype(np.uint8), "dimmer")
    now = display(st.result.maps[st.selected], "raw").levels
    assert w.playground.output_view.levels == held and now[1] < held[1]
    assert f"values {st.result.maps[st.selected].min():.4g}" in w.playground.output_view.title.text  # exact numbers
    assert w.playground.timing_label.text() == ""  # the live label tells the stage times
    w.live_panel.liveChanged.emit(False)
    assert w.playground.output_view.levels == now and tuple(w.playground.output_view.bar.levels()) == pytest.approx(now)


# ------------------------------------------------------------------ labels with live numbers


class LayoutRequests(QObject):
    def __init__(self):
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.LayoutRequest:
            self.count += 1
        return False


def panel_with(label_widget) -> QWidget:
    panel = QWidget()
    lay = QVBoxLayout(panel)
    lay.addWidget(QLabel("above"))
    lay.addWidget(label_widget)
    lay.addStretch(1)
    panel.resize(300, 400)
    return panel


@pytest.mark.parametrize("kind", [QLabel, SteadyLabel])
def test_new_numbers_lay_out_the_panel_again_only_with_a_steady_label_they_do_not(qtbot, kind):
    label = kind("prediction: 7 (13%)")
    panel = panel_with(label)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    QApplication.processEvents()  # the first layout passes, before counting
    requests = LayoutRequests()
    panel.installEventFilter(requests)
    for p in range(14, 40):
        label.setText(f"prediction: 7 ({p}%)")
        QApplication.processEvents()
    assert label.text() == "prediction: 7 (39%)"
    if kind is QLabel:
        assert requests.count >= 20  # Qt's own label: a layout pass for every new text
    else:
        assert requests.count == 0


def test_steady_label_gets_room_when_it_needs_more_lines(qtbot):
    label = SteadyLabel("short")
    panel = panel_with(label)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    one_line = label.height()
    assert label.label.geometry() == label.rect() and label.label.wordWrap()
    label.setText("a much longer text that cannot fit on one line of a panel three hundred pixels wide " * 2)
    qtbot.waitUntil(lambda: label.height() > 2 * one_line, timeout=WAIT)
    assert label.label.height() == label.height()  # the QLabel fills its holder
    label.setText("short again")
    qtbot.waitUntil(lambda: label.height() == one_line, timeout=WAIT)
    label.setToolTip("tip")
    assert label.toolTip() == "tip"
