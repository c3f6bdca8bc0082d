"""The main window and the filter playground, driven like a user would (pytest-qt, offscreen)."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QTabBar

from convlab.core import functional as F
from convlab.core.kernels import preset
from convlab.gui.main_window import MainWindow


def engine_maps(state):
    """What the engine's own conv2d says the bank output is (float64 reference)."""
    s = state.settings
    ref, _ = F.conv2d_forward(
        state.input[None].astype(np.float64), state.bank.weights.astype(np.float64),
        state.bank.biases.astype(np.float64), s.stride, s.padding, s.dilation, s.padding_mode,
    )
    return ref[0]


def wait_result(qtbot, w, action):
    """Run an action and wait until the outputs on screen show its result."""
    with qtbot.waitSignal(w.outputDrawn, timeout=10000):
        action()


def set_spin(qtbot, w, spin, value):
    """Set a spin box like a user; wait for new outputs only when the value really changes."""
    if spin.value() != value:
        wait_result(qtbot, w, lambda: spin.setValue(value))


def open_small(qtbot, w, tmp_path, h=40, wd=60):
    img = (np.arange(h * wd).reshape(h, wd) % 251).astype(np.uint8)
    path = write_png(tmp_path / "small.png", img)
    wait_result(qtbot, w, lambda: w.open_path(str(path)))


def write_png(path: Path, img: np.ndarray) -> Path:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def test_opens_ready_to_play(window):
    st = window.state
    assert st.input is not None and st.input.shape[0] == 1
    assert st.bank.names[0] == "sobel_x" and st.result.maps.shape[0] == st.bank.count
    np.testing.assert_allclose(st.result.maps, engine_maps(st), rtol=1e-4, atol=1e-2)
    assert window.playground.output_view.image_shape == st.result.maps.shape[1:]
    assert window.playground.grid.count == st.bank.count
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "Edit", "View", "Model", "Train", "Help"]


def test_open_image_with_non_ascii_name(window, qtbot, tmp_path):
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, 30:] = 200
    path = write_png(tmp_path / "kante_äöü_画像.png", img)
    wait_result(qtbot, window, lambda: window.open_path(str(path)))
    assert window.state.input.shape == (1, 40, 60)
    assert window.state.result.maps.shape[1:] == (38, 58)
    assert window.recent_files()[0] == str(path)
    assert "60 x 40" in window.source_panel.info.text()


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"this is not an image at all", "not an image"),
    (None, "truncated"),
    ("bomb", "pixels"),
])
def test_bad_files_keep_the_previous_image(window, tmp_path, content, words):
    before = window.state.input
    path = tmp_path / "bad.png"
    if content is None:  # a real PNG cut in half
        ok, buf = cv2.imencode(".png", np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
        path.write_bytes(buf.tobytes()[: len(buf) // 2])
    elif content == "bomb":  # a PNG header claiming 100000 x 100000 pixels
        import struct
        import zlib

        ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
        chunk = b"IHDR" + ihdr
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)))
    else:
        path.write_bytes(content)
    assert window.open_path(str(path)) is False
    assert words in window.last_error.lower()
    assert window.state.input is before  # the previous image stays


def test_missing_file_is_a_message(window, tmp_path):
    assert window.open_path(str(tmp_path / "nowhere.png")) is False
    assert "nowhere.png" in window.last_error


def test_large_images_are_downscaled_with_a_status_message(window, qtbot, tmp_path):
    path = write_png(tmp_path / "big.png", np.zeros((600, 2400), np.uint8))
    wait_result(qtbot, window, lambda: window.open_path(str(path)))
    assert window.state.input.shape[1:] == (256, 1024)
    assert "downscaled" in window.statusBar().currentMessage()


def test_choosing_a_preset_changes_the_selected_filter(window, qtbot):
    combo = window.filters_panel.preset_combo
    idx = combo.findData("laplacian")
    wait_result(qtbot, window, lambda: (combo.setCurrentIndex(idx), combo.activated.emit(idx)))
    st = window.state
    assert st.bank.names[0] == "laplacian"
    np.testing.assert_array_equal(st.bank.weights[0, 0], preset("laplacian").filter(1)[0])
    np.testing.assert_allclose(st.result.maps, engine_maps(st), rtol=1e-4, atol=1e-2)
    assert "Laplacian" in window.filters_panel.bank_list.item(0).text()


def test_editing_a_cell_makes_it_custom_and_updates_the_output(window, qtbot):
    ed = window.filters_panel.editor
    wait_result(qtbot, window, lambda: ed.edit_cell(0, 1, 1, "1/2"))
    st = window.state
    assert st.bank.weights[0, 0, 1, 1] == 0.5 and st.bank.names[0] == "custom"
    assert window.filters_panel.preset_combo.currentText() == "custom"
    np.testing.assert_allclose(st.result.maps, engine_maps(st), rtol=1e-4, atol=1e-2)
    assert ed.cell_value(0, 1, 1) == 0.5


def test_undo_and_redo_every_edit(window, qtbot):
    st = window.state
    original = st.bank.weights.copy()
    wait_result(qtbot, window, lambda: window.filters_panel.editor.edit_cell(0, 0, 0, "7"))
    wait_result(qtbot, window, lambda: window.filters_panel.stride.setValue(2))
    assert st.settings.stride == 2 and st.bank.weights[0, 0, 0, 0] == 7
    wait_result(qtbot, window, window.act_undo.trigger)
    assert st.settings.stride == 1 and window.filters_panel.stride.value() == 1
    wait_result(qtbot, window, window.act_undo.trigger)
    np.testing.assert_array_equal(st.bank.weights, original)
    assert window.filters_panel.editor.cell_value(0, 0, 0) == original[0, 0, 0, 0]
    wait_result(qtbot, window, window.act_redo.trigger)
    assert st.bank.weights[0, 0, 0, 0] == 7 and st.bank.names[0] == "custom"
    np.testing.assert_allclose(st.result.maps, engine_maps(st), rtol=1e-4, atol=1e-2)


@pytest.mark.parametrize("stride, padding, mode, dilation",
                         [(2, 0, "zeros", 1), (1, 2, "reflect", 2), (3, 1, "replicate", 3)])
def test_stride_padding_dilation_update_shape_math_and_output(window, qtbot, stride, padding, mode, dilation):
    fp = window.filters_panel
    set_spin(qtbot, window, fp.stride, stride)
    set_spin(qtbot, window, fp.padding, padding)
    i = fp.mode.findData(mode)
    if mode != "zeros":
        wait_result(qtbot, window, lambda: (fp.mode.setCurrentIndex(i), fp.mode.activated.emit(i)))
    set_spin(qtbot, window, fp.dilation, dilation)
    st = window.state
    _, h, w = st.input.shape
    ho, wo = F.output_size(h, 3, stride, padding, dilation), F.output_size(w, 3, stride, padding, dilation)
    assert st.result.maps.shape == (st.bank.count, ho, wo)
    np.testing.assert_allclose(st.result.maps, engine_maps(st), rtol=1e-4, atol=1e-2)
    text = window.math_panel.text()
    eff = dilation * 2 + 1
    assert f"({w} - {eff} + 2*{padding})/{stride} + 1" in text
    assert f"{wo} x {ho} x {st.bank.count}" in text
    if (w - eff + 2 * padding) % stride:
        assert "not whole" in text and f"floor {wo}" in text
    if dilation > 1:
        assert f"D(F - 1) + 1 = {dilation}(3 - 1) + 1 = <b>{eff}</b>" in text


def test_impossible_settings_show_the_reason_and_keep_the_window(window, qtbot, tmp_path):
    open_small(qtbot, window, tmp_path)
    fp = window.filters_panel
    wait_result(qtbot, window, lambda: fp.dilation.setValue(8))
    wait_result(qtbot, window, lambda: window.filters_panel.editor.size_spin.setValue(11))
    st = window.state
    assert st.settings.dilation == 8 and st.bank.size == 11
    assert st.result is None and "is not positive" in st.error and "spans 81 pixels" in st.error
    assert "Cannot compute" in window.math_panel.text()
    wait_result(qtbot, window, window.act_undo.trigger)  # back to a kernel that fits
    assert st.result is not None and st.error == ""


def test_hover_explains_the_value_with_the_same_number(window, qtbot):
    fp = window.filters_panel
    wait_result(qtbot, window, lambda: fp.dilation.setValue(2))
    view = window.playground.output_view
    st = window.state
    y, x = 10, 20
    view.hovered.emit(y, x)
    e = window.pixel_panel.explanation
    assert e is not None and (e.y, e.x) == (y, x)
    assert e.value == pytest.approx(float(st.result.maps[0, y, x]), rel=1e-4, abs=1e-2)
    assert e.rows.tolist() == [y, y + 2, y + 4]  # dilation 2: taps two pixels apart
    assert f"{e.value:.4g}" in window.pixel_panel.text()
    assert len(window.playground.input_view._overlays) == 2  # the patch box and its taps


def test_real_mouse_move_over_the_output_reaches_the_explanation(window, qtbot, tmp_path):
    open_small(qtbot, window, tmp_path, 12, 16)  # big pixels on screen: the mouse can aim at one
    view = window.playground.output_view
    pos = view.mapFromScene(view.scene_pos_of(5, 7))
    with qtbot.waitSignal(view.hovered, timeout=5000) as blocker:
        qtbot.mouseMove(view.viewport(), QPoint(int(pos.x()), int(pos.y())))
    assert blocker.args == [5, 7]


def test_click_pins_the_pixel(window, qtbot):
    window.playground.output_view.clicked.emit(3, 4)
    window.playground.output_view.left.emit()
    assert window.pixel_panel.explanation is not None and window.pixel_panel.explanation.x == 4


def test_padding_taps_are_marked_in_the_explanation(window, qtbot):
    wait_result(qtbot, window, lambda: window.filters_panel.padding.setValue(1))
    window.playground.output_view.hovered.emit(0, 0)
    e = window.pixel_panel.explanation
    assert e.outside.sum() == 5 and "padding" in window.pixel_panel.text()


def test_bank_add_duplicate_remove(window, qtbot):
    st = window.state
    k = st.bank.count
    wait_result(qtbot, window, window.filters_panel.add_btn.click)
    assert st.bank.count == k + 1 and st.selected == k and st.result.maps.shape[0] == k + 1
    wait_result(qtbot, window, window.filters_panel.dup_btn.click)
    assert st.bank.count == k + 2
    np.testing.assert_array_equal(st.bank.weights[k], st.bank.weights[k + 1])
    wait_result(qtbot, window, window.filters_panel.remove_btn.click)
    assert st.bank.count == k + 1 and window.playground.grid.count == k + 1
    assert window.filters_panel.bank_list.count() == k + 1


def test_clicking_a_map_in_the_grid_selects_its_filter(window, qtbot):
    with qtbot.waitSignal(window.playground.grid.selected, timeout=5000):
        center = window.playground.grid.mapFromScene(window.playground.grid.tile_center(2))
        qtbot.mouseClick(window.playground.grid.viewport(), Qt.LeftButton, pos=QPoint(int(center.x()), int(center.y())))
    assert window.state.selected == 2
    assert window.filters_panel.bank_list.currentRow() == 2


def test_rgb_switch_makes_each_5x5_filter_75_weights(window, qtbot):
    wait_result(qtbot, window, window.act_rgb.trigger)
    st = window.state
    assert st.input.shape[0] == 3 and st.bank.channels == 3
    wait_result(qtbot, window, lambda: window.filters_panel.editor.size_spin.setValue(5))
    ed = window.filters_panel.editor
    assert ed.channel_count() == 3 and "5 x 5 x 3 = 75 weights + 1 bias" in ed.count_label.text()
    assert "= 300 weights + 4 biases" in window.math_panel.text()  # K=4 filters x 75
    np.testing.assert_allclose(st.result.maps, engine_maps(st), rtol=1e-4, atol=2e-2)
    wait_result(qtbot, window, window.act_undo.trigger)
    wait_result(qtbot, window, window.act_undo.trigger)
    assert st.input.shape[0] == 1 and st.bank.channels == 1


def test_kernel_grid_stays_whole_after_gray_rgb_gray(window, qtbot):
    """Issue 13.1: Gray -> RGB -> Gray left the 3 x 3 grid showing one row until a restart."""
    ed = window.filters_panel.editor

    def whole():
        view = ed.scroll.viewport()
        tops = [ed.grid(c).mapTo(view, QPoint(0, 0)).y() for c in range(ed.channel_count())]
        return all(0 <= t and t + ed.grid(0).height() <= view.height() for t in tops)

    qtbot.waitUntil(whole, timeout=5000)
    wait_result(qtbot, window, window.act_rgb.trigger)
    qtbot.waitUntil(lambda: ed.channel_count() == 3 and whole(), timeout=5000)
    wait_result(qtbot, window, window.act_gray.trigger)
    qtbot.waitUntil(lambda: ed.channel_count() == 1 and whole(), timeout=5000)
    assert ed.grid(0).rowCount() == 3


def test_presets_keep_their_names_where_their_numbers_survive(window, qtbot):
    """Issue 13.9: F = 5 used to rename every preset "custom"; padding keeps the filter the same."""
    st, fp = window.state, window.filters_panel
    names = list(st.bank.names)  # the default bank: 3x3 presets
    wait_result(qtbot, window, lambda: fp.editor.size_spin.setValue(5))
    assert st.bank.size == 5 and st.bank.names == names
    assert fp.bank_list.item(0).text() == "1: Sobel x (vertical edges)"
    assert fp.preset_combo.currentData() == "sobel_x"
    wait_result(qtbot, window, lambda: fp.editor.size_spin.setValue(1))  # cuts weights off
    assert st.bank.names[0] == "custom (was Sobel x)"
    assert fp.bank_list.item(0).text() == "1: custom (was Sobel x)"
    assert fp.preset_combo.currentText() == "custom" and "Made from Sobel x" in fp.preset_help.text()
    assert window.statusBar().currentMessage().startswith("F = 1 cuts weights off filters 1 (Sobel x), 2 (Sobel y)")
    wait_result(qtbot, window, window.act_undo.trigger)
    wait_result(qtbot, window, window.act_undo.trigger)
    assert st.bank.size == 3 and st.bank.names == names


def test_a_mixer_turned_identity_in_gray_is_announced(window, qtbot):
    st, combo = window.state, window.filters_panel.preset_combo
    wait_result(qtbot, window, window.act_rgb.trigger)
    idx = combo.findData("red_minus_green")
    wait_result(qtbot, window, lambda: (combo.setCurrentIndex(idx), combo.activated.emit(idx)))
    assert st.bank.names[0] == "red_minus_green"
    wait_result(qtbot, window, window.act_gray.trigger)
    assert st.bank.names[0] == "identity" and st.bank.channels == 1
    message = window.statusBar().currentMessage()
    assert "filter 1 (Red minus green)" in message and "Identity now" in message


def test_channel_mixer_on_gray_explains_itself(window, qtbot):
    combo = window.filters_panel.preset_combo
    idx = combo.findData("rgb_to_luma")
    combo.setCurrentIndex(idx)
    combo.activated.emit(idx)
    assert "RGB" in window.statusBar().currentMessage()
    assert window.state.bank.names[0] == "sobel_x"
    wait_result(qtbot, window, window.act_rgb.trigger)
    wait_result(qtbot, window, lambda: (combo.setCurrentIndex(idx), combo.activated.emit(idx)))
    st = window.state
    assert st.bank.names[0] == "rgb_to_luma"


def test_pooling_and_1x1_shapes(window, qtbot):
    fp = window.filters_panel
    i = fp.pool.findData("max")
    wait_result(qtbot, window, lambda: (fp.pool.setCurrentIndex(i), fp.pool.activated.emit(i)))
    st = window.state
    k, h, w = st.result.maps.shape
    assert st.result.pooled.shape == (k, h // 2, w // 2)
    assert window.playground.tabs.isTabEnabled(1) and f"{w // 2} x {h // 2} x {k}" in window.playground.tabs.tabText(1)
    wait_result(qtbot, window, lambda: fp.mix_on.setChecked(True))
    wait_result(qtbot, window, lambda: fp.mix_m.setValue(2))
    assert st.result.mixed.shape == (2, h // 2, w // 2)
    assert window.playground.mix_grid.count == 2
    assert "mixes 4 maps into 2" in window.math_panel.text() and "8 weights + 2 biases" in window.math_panel.text()
    wait_result(qtbot, window, window.filters_panel.add_btn.click)  # the mix follows the bank's depth
    assert st.post.mix.shape == (2, 5) and st.result.mixed.shape[0] == 2


def test_display_modes_change_levels(window, qtbot):
    st = window.state
    for mode in ("abs", "clamp", "minmax", "raw"):
        wait_result(qtbot, window, window.display_actions[mode].trigger)
        assert st.display_mode == mode and window.display_actions[mode].isChecked()
    lo, hi = window.playground.output_view.bar.levels()
    assert lo == -hi  # raw: symmetric around zero with the diverging map


def test_paste_image_from_clipboard(window, qtbot):
    img = QImage(30, 20, QImage.Format_RGB888)
    img.fill(Qt.red)
    QApplication.clipboard().setImage(img)
    wait_result(qtbot, window, window.paste_image)
    assert window.state.input.shape == (1, 20, 30)
    QApplication.clipboard().clear()
    assert window.paste_image() is False and "no image" in window.last_error


def test_drop_a_file(window, qtbot, tmp_path):
    path = write_png(tmp_path / "drop.png", np.full((25, 35), 99, np.uint8))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    wait_result(qtbot, window, lambda: window.dropEvent(event))
    assert window.state.input.shape == (1, 25, 35)


def test_samples_menu_opens_every_sample(window, qtbot):
    for action in window.samples_menu.actions():
        action.trigger()
        assert window.state.input is not None
    assert window.state.image_name == window.samples_menu.actions()[-1].text()


def test_geometry_dock_layout_and_recent_files_persist(qtbot, tmp_path):
    ini = str(tmp_path / "persist.ini")
    img = write_png(tmp_path / "r.png", np.zeros((10, 10), np.uint8))
    w1 = MainWindow(QSettings(ini, QSettings.IniFormat))
    qtbot.addWidget(w1)
    w1.show()
    w1.resize(w1.width() - 37, w1.height() - 23)
    w1.open_path(str(img))
    w1.math_dock.hide()
    w1.close()
    geometry = w1.saveGeometry()
    w2 = MainWindow(QSettings(ini, QSettings.IniFormat))
    qtbot.addWidget(w2)
    w2.show()
    # the offscreen screen is small, so Qt may clamp the restored size: check what was stored
    assert QSettings(ini, QSettings.IniFormat).value("window/geometry") == geometry
    assert w2.math_dock.isHidden()
    assert w2.recent_files() == [str(img)]
    assert [a.toolTip() for a in w2.recent_menu.actions()][0] == str(img)
    w2.reset_layout()
    assert not w2.math_dock.isHidden()
    w2.close()


def test_every_control_has_a_tooltip(window):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox

    missing = [
        w.objectName() or type(w).__name__ + ":" + (w.text() if hasattr(w, "text") else "")
        for cls in (QAbstractButton, QAbstractSpinBox, QComboBox)
        for w in window.findChildren(cls)
        if w.isVisibleTo(window) and not w.toolTip() and not type(w).__name__.startswith("QToolButton")
        and not w.objectName().startswith("qt_") and not w.parent().inherits("QTabBar")
    ]
    assert missing == []


def test_save_output_png(window, tmp_path):
    out = tmp_path / "out.png"
    window.write_output_png(str(out))
    img = cv2.imread(str(out))
    assert img.shape[:2] == window.state.result.maps.shape[1:]


def test_model_presets_dialog_shows_engine_numbers(window, qtbot):
    window.act_models.trigger()
    dlg = window._models_dialog
    qtbot.addWidget(dlg)
    assert dlg.table.rowCount() == 13  # input + 12 LeNet-5 layers
    assert "61,706 parameters" in dlg.totals.text()
    assert dlg.table.item(6, 6).text() == "16"  # the second pool's receptive field
    dlg.close()


def test_two_3x3_vs_one_5x5_side_by_side(window, qtbot):
    window.act_models.trigger()
    dlg = window._models_dialog
    qtbot.addWidget(dlg)
    keys = [dlg.list.item(i).data(Qt.UserRole) for i in range(dlg.list.count())]
    dlg.list.setCurrentRow(keys.index("two_3x3_vs_5x5"))
    assert dlg.compare_box.currentData() == "one_5x5" and dlg.other.isVisibleTo(dlg)
    text = dlg.comparison.text()
    # by hand: 3x3 (1->8) then two 3x3 (8->8): 72 + 576 + 576 = 1,224 weights, RF 3 + 2 + 2 = 7;
    # 3x3 (1->8) then one 5x5 (8->8): 72 + 1,600 = 1,672 weights, RF 3 + 4 = 7
    assert "3 convolution(s) seeing 7 pixels with 1,224 weights" in text
    assert "has 2 seeing 7 pixels with 1,672 weights" in text
    dlg.close()


def test_use_this_model_loads_the_preset_as_one_undo_step(window, qtbot):
    """Issue 13.13: the dialog's Use This Model replaces the layers (one undo step) and closes."""
    net = window.net
    window.act_models.trigger()
    dlg = window._models_dialog
    qtbot.addWidget(dlg)
    qtbot.waitExposed(dlg)
    keys = [dlg.list.item(i).data(Qt.UserRole) for i in range(dlg.list.count())]
    dlg.list.setCurrentRow(keys.index("two_3x3_vs_5x5"))
    before, count = net.spec, net.undo_stack.count()
    assert dlg.use_button.isEnabled() and "Two 3x3" in dlg.use_button.toolTip()
    with qtbot.waitSignal(dlg.modelUsed) as used:
        qtbot.mouseClick(dlg.use_button, Qt.LeftButton)
    assert used.args == ["two_3x3_vs_5x5"] and net.preset_key == "two_3x3_vs_5x5"
    assert net.undo_stack.count() == count + 1 and not dlg.isVisible()
    assert window.layers_panel.preset_combo.currentData() == "two_3x3_vs_5x5"
    assert window.layers_dock.isVisible()  # the learner sees the layers just loaded
    net.undo_stack.undo()
    assert net.spec == before


def test_use_this_model_says_why_not_while_training(net, qtbot):
    from convlab.gui.panels.model_dialog import ModelPresetsDialog

    dlg = ModelPresetsDialog(None, net)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    spec = net.spec
    net.training = "running"  # what start_training sets; the dialog only reads it
    net.trainingStateChanged.emit()
    assert not dlg.use_button.isEnabled()
    assert "stop training" in dlg.use_button.toolTip() and dlg.use_reason.isVisible()
    assert "stop training" in dlg.use_reason.text()
    assert not dlg.use_model() and net.spec == spec and dlg.isVisible()
    net.training = "idle"
    net.trainingStateChanged.emit()
    assert dlg.use_button.isEnabled() and not dlg.use_reason.isVisible()
    dlg.close()
    assert ModelPresetsDialog(None).use_button.isHidden()  # without a network: nothing to load into


def dock_tab_bars(w):
    """The dock groups' tab bars a user can see: shown and inside the window."""
    return [b for b in w.findChildren(QTabBar, options=Qt.FindDirectChildrenOnly)
            if b.isVisible() and w.rect().intersects(b.geometry())]


def test_each_dock_group_shows_one_tab_bar_even_after_restoring_layouts(window, qtbot, tmp_path):
    """Qt 6.11 leaves stray copies of dock tab bars on screen (drawn over the panels): there must
    be exactly one bar per tabbed group, after building, a layout reset and a restored layout."""
    window.show_workspace("network")  # at 1400 px: the layer table and training as tabs below the maps
    groups = ["Layers"]
    QApplication.processEvents()
    assert sorted(b.tabText(0) for b in dock_tab_bars(window)) == groups
    bar = next(b for b in dock_tab_bars(window) if b.tabText(0) == "Layers")
    assert bar.tabText(1) == "Training"
    qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.tabRect(1).center())  # the bar on screen works
    qtbot.waitUntil(lambda: not window.training_dock.visibleRegion().isEmpty(), timeout=10000)
    window.reset_layout()
    QApplication.processEvents()
    assert sorted(b.tabText(0) for b in dock_tab_bars(window)) == groups
    window.restoreState(window.saveState(window.layout_version), window.layout_version)
    QApplication.processEvents()
    assert sorted(b.tabText(0) for b in dock_tab_bars(window)) == groups
    window.save_settings()
    again = MainWindow(QSettings(window.settings.fileName(), QSettings.IniFormat))  # restored at start
    qtbot.addWidget(again)
    again.show()
    QApplication.processEvents()
    assert sorted(b.tabText(0) for b in dock_tab_bars(again)) == groups
    again.session.mark_clean()
    again.close()
