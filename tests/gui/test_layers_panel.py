"""The Layers panel: every number it shows is the engine's, every edit is one undo step.

Expected numbers are worked out by hand in the comments (LeNet-5 on a 1x28x28 input).
"""

import json

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from convlab.core.presets import model_presets
from convlab.gui.panels.layers_panel import (
    COL_BIASES,
    COL_INDEX,
    COL_JUMP,
    COL_MACS,
    COL_OUTPUT,
    COL_RF,
    COL_SETTINGS,
    COL_TYPE,
    COL_WEIGHTS,
    ERROR_TINT,
    NOT_COMPUTED,
    NOTE_MARK,
    ROW_MIME,
    LayerSettingsEditor,
    LayersPanel,
    parse_setting,
)

LENET_TOTALS = "61,470 weights + 236 biases = 61,706 parameters, 416,520 multiply-adds"


@pytest.fixture
def panel(qtbot, net):
    p = LayersPanel(net)
    qtbot.addWidget(p)
    p.resize(1100, 700)
    p.show()
    qtbot.waitExposed(p)
    return p


def cell(panel, row, col):
    return panel.table.item(row, col).text()


def row_numbers(panel, row):
    return [cell(panel, row, c) for c in (COL_OUTPUT, COL_WEIGHTS, COL_BIASES, COL_MACS, COL_RF, COL_JUMP)]


def types(panel):
    return [cell(panel, r, COL_TYPE) for r in range(panel.table.rowCount())]


def editor(panel, row):
    return panel.table.cellWidget(row, COL_SETTINGS)


def drop(table, src, y):
    mime = QMimeData()
    mime.setData(ROW_MIME, str(src).encode())
    event = QDropEvent(QPointF(20, y), Qt.MoveAction, mime, Qt.LeftButton, Qt.NoModifier)
    table.dropEvent(event)
    return event


def row_y(table, row, lower_half):
    top, h = table.rowViewportPosition(row), table.rowHeight(row)
    return top + (3 * h // 4 if lower_half else h // 4)


# ------------------------------------------------------------------------------ what is shown


def test_lenet5_rows_and_totals(panel):
    assert panel.table.rowCount() == 12
    assert types(panel) == ["conv2d", "tanh", "avgpool2d", "conv2d", "tanh", "avgpool2d", "flatten",
                            "linear", "tanh", "linear", "tanh", "linear"]
    # conv 6 filters 5x5 on 1 channel, padding 2: 6*1*5*5 = 150 weights, 6 biases,
    # (28 - 5 + 4)/1 + 1 = 28, and 150 * 28 * 28 = 117,600 multiply-adds
    assert row_numbers(panel, 0) == ["6x28x28", "150", "6", "117,600", "5", "1"]
    # conv 16 filters 5x5 on 6 channels of 14x14: 2,400 weights, 10x10 out, 2,400 * 100 = 240,000
    assert row_numbers(panel, 3) == ["16x10x10", "2,400", "16", "240,000", "14", "2"]
    # RF: 5 -> pool 2 (+1, jump 2) 6 -> conv 5 (+4*2) 14 -> pool 2 (+1*2) 16, jump 4
    assert row_numbers(panel, 5)[-2:] == ["16", "4"]
    assert cell(panel, 6, COL_RF) == "whole input"
    assert row_numbers(panel, 7)[:4] == ["120", "48,000", "120", "48,000"]  # 400 * 120
    assert panel.totals_label.text() == LENET_TOTALS
    assert panel.error_label.isHidden()
    assert panel.block_label.text() == "Ready to train"
    assert panel.preset_combo.currentData() == "lenet5"
    assert panel.preset_description.text() == model_presets()["lenet5"].description
    assert [s.value() for s in panel.input_spins] == [1, 28, 28]
    assert cell(panel, 0, COL_INDEX) == "0"


def test_every_control_has_a_tooltip(panel):
    p = panel
    controls = [p.preset_combo, *p.input_spins, p.add_button, p.remove_button, p.duplicate_button, p.up_button,
                p.down_button, p.json_button, p.table, p.block_label, p.totals_label, p.error_label]
    for r in range(p.table.rowCount()):
        controls += list(editor(p, r).editors.values())
    d = p.json_dialog
    controls += [d.editor, d.ok_button, d.apply_button, d.reset_button, d.cancel_button]
    assert all(w.toolTip() for w in controls)
    assert all(a.toolTip() for a in p.add_menu.actions())
    assert all(p.table.horizontalHeaderItem(c).toolTip() for c in range(p.table.columnCount()))


def test_inline_editors_match_each_type(panel, net):
    conv = editor(panel, 0).editors
    assert isinstance(conv["filters"], QSpinBox) and conv["filters"].value() == 6
    assert conv["kernel"].value() == 5 and conv["padding"].value() == 2
    assert conv["stride"].value() == 1 and conv["dilation"].value() == 1  # absent: the engine's defaults
    assert isinstance(conv["padding_mode"], QComboBox) and conv["padding_mode"].currentText() == "zeros"
    assert isinstance(conv["bias"], QCheckBox) and conv["bias"].isChecked()
    pool = editor(panel, 2).editors
    assert set(pool) == {"kernel", "stride", "padding"}
    assert pool["stride"].value() == 0 and pool["stride"].text() == "= kernel"
    assert set(editor(panel, 7).editors) == {"units", "bias"}
    assert editor(panel, 1).editors == {}
    net.add_layer("dropout")
    net.add_layer("leaky_relu", 1)
    assert isinstance(editor(panel, 1).editors["slope"], QDoubleSpinBox)
    assert editor(panel, 1).editors["slope"].value() == pytest.approx(0.01)
    assert editor(panel, 13).editors["rate"].value() == pytest.approx(0.5)


# ------------------------------------------------------------------------------ editing


def test_add_conv_after_selected_updates_shapes_and_totals(panel, net, qtbot):
    panel.select_layer(2)  # after the first pool: 6x14x14, RF 6, jump 2
    action = next(a for a in panel.add_menu.actions() if a.data() == "conv2d")
    with qtbot.waitSignal(panel.layerSelected) as blocker:
        action.trigger()
    assert blocker.args == [3]
    assert panel.table.rowCount() == 13 and panel.selected_layer() == 3
    # conv 8 filters 3x3, padding 1 on 6x14x14: 8*6*9 = 432 weights, 8 biases, 14x14 out,
    # 432 * 196 = 84,672 multiply-adds; RF 6 + (3-1)*2 = 10, jump 2
    assert row_numbers(panel, 3) == ["8x14x14", "432", "8", "84,672", "10", "2"]
    # the old second conv now sees 8 channels: 16*8*25 = 3,200 weights, 3,200 * 100 = 320,000
    # multiply-adds; RF 10 + 4*2 = 18
    assert row_numbers(panel, 4) == ["16x10x10", "3,200", "16", "320,000", "18", "2"]
    # weights 61,470 + 432 + 800 = 62,702; biases 236 + 8 = 244; 62,946 parameters;
    # multiply-adds 416,520 + 84,672 + 80,000 = 581,192
    assert panel.totals_label.text() == "62,702 weights + 244 biases = 62,946 parameters, 581,192 multiply-adds"
    assert panel.preset_combo.currentText() == "custom" and net.preset_key is None


def test_add_without_selection_appends(panel, net):
    panel.table.clearSelection()
    assert panel.selected_layer() is None
    assert not panel.remove_button.isEnabled()
    panel.add_layer("softmax")
    assert types(panel)[-1] == "softmax" and panel.selected_layer() == 12
    assert cell(panel, 12, COL_OUTPUT) == "10"


def test_remove_selects_the_neighbour(panel, net):
    panel.select_layer(1)
    panel.remove_button.click()
    assert panel.table.rowCount() == 11 and panel.selected_layer() == 1
    assert cell(panel, 1, COL_TYPE) == "avgpool2d"
    assert row_numbers(panel, 1)[:2] == ["6x14x14", "0"]
    assert panel.totals_label.text() == LENET_TOTALS  # a tanh has no parameters
    panel.select_layer(10)  # the last linear: 84*10 = 840 weights and 10 biases go
    panel.remove_selected()
    assert panel.selected_layer() == 9
    assert panel.totals_label.text().startswith("60,630 weights + 226 biases = 60,856 parameters")


def test_duplicate(panel, net):
    panel.select_layer(0)
    panel.duplicate_button.click()
    assert panel.table.rowCount() == 13 and panel.selected_layer() == 1
    # the copy takes 6 channels: 6*6*25 = 900 weights, 28x28 kept by padding 2,
    # 900 * 784 = 705,600 multiply-adds; RF 5 + 4 = 9
    assert row_numbers(panel, 1) == ["6x28x28", "900", "6", "705,600", "9", "1"]
    assert "= 62,612 parameters" in panel.totals_label.text()  # 61,706 + 906


def test_move_with_buttons_and_keys(panel, net, qtbot):
    panel.select_layer(1)  # tanh
    assert not panel.table.rowCount() == 0 and panel.up_button.isEnabled()
    panel.down_button.click()  # pool before tanh: both 6x14x14
    assert types(panel)[:3] == ["conv2d", "avgpool2d", "tanh"]
    assert panel.selected_layer() == 2
    assert cell(panel, 1, COL_OUTPUT) == "6x14x14" and cell(panel, 2, COL_OUTPUT) == "6x14x14"
    panel.up_button.click()
    assert types(panel)[:3] == ["conv2d", "tanh", "avgpool2d"] and panel.selected_layer() == 1
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key_Down, Qt.ControlModifier)
    assert types(panel)[:3] == ["conv2d", "avgpool2d", "tanh"] and panel.selected_layer() == 2
    qtbot.keyClick(panel.table, Qt.Key_Up, Qt.ControlModifier)
    assert types(panel)[:3] == ["conv2d", "tanh", "avgpool2d"]
    panel.select_layer(0)
    assert not panel.up_button.isEnabled()
    panel.select_layer(11)
    assert not panel.down_button.isEnabled()


def test_move_by_drop(panel, net):
    t = panel.table
    # row 0 dropped on the lower half of row 1 lands after the tanh
    assert t.drop_target(0, row_y(t, 1, True)) == 1
    event = drop(t, 0, row_y(t, 1, True))
    assert event.isAccepted()
    assert types(panel)[:3] == ["tanh", "conv2d", "avgpool2d"] and panel.selected_layer() == 1
    # tanh on the 1x28x28 input keeps it, the conv now comes second with the same numbers
    assert row_numbers(panel, 0) == ["1x28x28", "0", "0", "0", "1", "1"]
    assert row_numbers(panel, 1) == ["6x28x28", "150", "6", "117,600", "5", "1"]
    # row 4 (tanh) dropped on the upper half of row 1 becomes row 1
    drop(t, 4, row_y(t, 1, False))
    assert types(panel)[:5] == ["tanh", "tanh", "conv2d", "avgpool2d", "conv2d"]
    # below the last row: to the end
    assert t.drop_target(0, t.viewport().height() - 2) == 11
    # dropped onto itself: nothing to undo
    count = net.undo_stack.count()
    drop(t, 2, row_y(t, 2, False))
    assert net.undo_stack.count() == count


def test_move_rows_and_foreign_drops(panel, net):
    t = panel.table
    t.move_rows(11, 0)
    assert types(panel)[0] == "linear" and panel.selected_layer() == 0
    count = net.undo_stack.count()
    mime = QMimeData()
    mime.setText("3")
    event = QDropEvent(QPointF(20, row_y(t, 2, True)), Qt.MoveAction, mime, Qt.LeftButton, Qt.NoModifier)
    t.dropEvent(event)
    assert not event.isAccepted() and net.undo_stack.count() == count


def test_edit_filters_inline(panel, net):
    ed = editor(panel, 0)
    ed.editors["filters"].setValue(8)
    assert net.spec["layers"][0]["filters"] == 8
    # 8*1*25 = 200 weights, 8 biases, 200 * 784 = 156,800; the next conv: 16*8*25 = 3,200
    assert row_numbers(panel, 0) == ["8x28x28", "200", "8", "156,800", "5", "1"]
    assert cell(panel, 3, COL_WEIGHTS) == "3,200"
    # weights 61,470 + 50 + 800 = 62,320; biases 238; 62,558 parameters
    assert "62,320 weights + 238 biases = 62,558 parameters" in panel.totals_label.text()
    assert editor(panel, 0) is ed  # the editor was updated in place, not rebuilt under the user
    assert net.undo_stack.count() == 1
    ed.editors["bias"].setChecked(False)
    assert net.spec["layers"][0]["bias"] is False and cell(panel, 0, COL_BIASES) == "0"
    ed.editors["padding_mode"].setCurrentText("replicate")
    assert net.spec["layers"][0]["padding_mode"] == "replicate"
    assert net.undo_stack.count() == 3


def test_pair_values_and_pool_stride(panel, net):
    net.set_layer_field(0, "kernel", [3, 5])
    kernel = editor(panel, 0).editors["kernel"]
    assert isinstance(kernel, QLineEdit) and kernel.text() == "3x5"
    # 3x5 kernel, padding 2: height 28 - 3 + 4 + 1 = 30, width 28 - 5 + 4 + 1 = 28; 6*15 = 90 weights
    assert row_numbers(panel, 0)[:2] == ["6x30x28", "90"] and cell(panel, 0, COL_RF) == "3x5"
    kernel.setText("5")
    kernel.editingFinished.emit()
    assert net.spec["layers"][0]["kernel"] == 5
    assert isinstance(editor(panel, 0).editors["kernel"], QSpinBox)
    net.set_layer_field(0, "kernel", [5, 5])  # a square pair is the int the engine reads
    assert editor(panel, 0).editors["kernel"].value() == 5
    net.add_layer("relu", 1)
    net.remove_layer(4)
    shown = [w for w in panel.table.findChildren(LayerSettingsEditor) if not w.isHidden()]
    assert len(shown) == panel.table.rowCount()  # replaced editors do not linger on screen


def test_pool_stride_defaults_to_the_kernel(panel, net):
    stride = editor(panel, 2).editors["stride"]
    stride.setValue(1)  # a 2x2 pool with stride 1 on 28x28: 27x27
    assert net.spec["layers"][2]["stride"] == 1 and cell(panel, 2, COL_OUTPUT) == "6x27x27"
    editor(panel, 2).editors["stride"].setValue(0)  # back to "= kernel": the key goes
    assert "stride" not in net.spec["layers"][2] and cell(panel, 2, COL_OUTPUT) == "6x14x14"


def test_parse_setting():
    assert parse_setting("3x5") == [3, 5]
    assert parse_setting("4x4") == 4
    assert parse_setting("[2, 2]") == 2
    assert parse_setting("7") == 7
    assert parse_setting("") is None
    assert parse_setting("reflect") == "reflect"


def test_non_whole_division_is_marked(panel, net):
    editor(panel, 2).editors["kernel"].setValue(3)  # (28 - 3)/3 + 1 = 9.33, floored to 9
    text = cell(panel, 2, COL_OUTPUT)
    assert text == "6x9x9" + NOTE_MARK
    assert "not whole" in panel.table.item(2, COL_OUTPUT).toolTip()
    assert panel.error_label.isHidden()


def test_impossible_layer_is_marked(panel, net):
    editor(panel, 3).editors["kernel"].setValue(20)  # a 20-wide kernel on a 14x14 map
    report = net.report
    assert report.error_index == 3 and "layer 3 (conv2d)" in report.error
    for c in (COL_INDEX, COL_TYPE, COL_OUTPUT, COL_RF):
        item = panel.table.item(3, c)
        assert item.background().color() == ERROR_TINT
        assert item.toolTip() == report.error
    assert row_numbers(panel, 3) == [NOT_COMPUTED] * 6
    assert all(row_numbers(panel, r) == [NOT_COMPUTED] * 6 for r in range(4, 12))
    assert row_numbers(panel, 2)[0] == "6x14x14"  # the layers before still show their numbers
    assert not panel.error_label.isHidden() and panel.error_label.text() == report.error
    assert report.error in panel.block_label.text() and net.train_block_reason == report.error
    assert panel.totals_label.text().startswith("Layers 0-2 only: 150 weights + 6 biases")
    editor(panel, 3).editors["kernel"].setValue(5)
    assert panel.error_label.isHidden() and panel.block_label.text() == "Ready to train"


def test_input_shape(panel, net):
    panel.input_spins[1].setValue(32)
    panel.input_spins[2].setValue(32)
    assert net.spec["input"] == [1, 32, 32]
    # 32 -> conv (p2) 32 -> pool 16 -> conv 12 -> pool 6: flatten 16*6*6 = 576, linear 576*120 = 69,120
    assert cell(panel, 0, COL_OUTPUT) == "6x32x32" and cell(panel, 6, COL_OUTPUT) == "576"
    assert cell(panel, 7, COL_WEIGHTS) == "69,120"


def test_flat_input(panel, net):
    assert net.set_spec_json('{"input": [784], "layers": [{"type": "linear", "units": 10}]}') == ""
    assert panel.input_spins[1].isHidden() and panel.input_spins[2].isHidden()
    assert panel.input_labels[0].text() == "features" and panel.input_spins[0].value() == 784
    assert row_numbers(panel, 0) == ["10", "7,840", "10", "7,840", "whole input", ""]  # 784 * 10
    panel.input_spins[0].setValue(100)
    assert net.spec["input"] == [100] and cell(panel, 0, COL_WEIGHTS) == "1,000"


# ------------------------------------------------------------------------------ JSON, undo, presets, keys


def test_json_editor_applies_a_valid_spec(panel, net):
    d = panel.open_json_editor()
    assert d is panel.json_dialog and d.isVisible()
    assert d.editor.toPlainText() == json.dumps(net.spec, indent=2)
    spec = json.loads(d.editor.toPlainText())
    spec["layers"][0]["filters"] = 4
    d.editor.setPlainText(json.dumps(spec))
    d.ok_button.click()
    assert not d.isVisible()
    assert net.spec["layers"][0]["filters"] == 4
    assert row_numbers(panel, 0)[:3] == ["4x28x28", "100", "4"]  # 4*25 weights


def test_json_editor_keeps_the_spec_on_bad_text(panel, net):
    before = json.dumps(net.spec)
    d = panel.open_json_editor()
    d.editor.setPlainText('{"input": [1, 28, 28], "layers": [')
    d.apply_button.click()
    assert not d.error_label.isHidden() and d.error_label.text().startswith("not valid JSON")
    d.ok_button.click()
    assert d.isVisible() and json.dumps(net.spec) == before
    d.editor.setPlainText('{"layers": []}')
    d.apply_button.click()
    assert "input" in d.error_label.text() and json.dumps(net.spec) == before
    assert panel.totals_label.text() == LENET_TOTALS
    d.reset_button.click()
    assert d.editor.toPlainText() == json.dumps(net.spec, indent=2) and d.error_label.isHidden()
    d.cancel_button.click()
    assert not d.isVisible()


def test_undo_redo_restores_the_table(panel, net):
    panel.select_layer(3)
    panel.remove_selected()
    assert panel.table.rowCount() == 11
    net.undo_stack.undo()
    assert panel.table.rowCount() == 12 and types(panel)[3] == "conv2d"
    assert row_numbers(panel, 3) == ["16x10x10", "2,400", "16", "240,000", "14", "2"]
    assert panel.totals_label.text() == LENET_TOTALS
    assert panel.preset_combo.currentData() == "lenet5"
    net.undo_stack.redo()
    assert panel.table.rowCount() == 11 and panel.preset_combo.currentText() == "custom"


def test_preset_switch_updates_the_description(panel, net):
    presets = model_presets()
    i = panel.preset_combo.findData("dilated_stack")
    assert panel.preset_combo.itemData(i, Qt.ToolTipRole) == presets["dilated_stack"].description
    panel.preset_combo.setCurrentIndex(i)
    assert net.preset_key == "dilated_stack"
    assert panel.preset_description.text() == presets["dilated_stack"].description
    assert panel.table.rowCount() == len(presets["dilated_stack"].spec["layers"])
    net.undo_stack.undo()
    assert panel.preset_combo.currentData() == "lenet5"
    assert panel.preset_description.text() == presets["lenet5"].description


def test_delete_key_removes_the_selected_layer(panel, net, qtbot):
    panel.select_layer(2)
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key_Delete)
    assert panel.table.rowCount() == 11 and cell(panel, 2, COL_TYPE) == "conv2d"
    assert panel.selected_layer() == 2


def test_user_selection_is_announced(panel, qtbot):
    with qtbot.waitSignal(panel.layerSelected) as blocker:
        panel.table.selectRow(4)
    assert blocker.args == [4] and panel.selected_layer() == 4
    with qtbot.waitSignal(panel.layerSelected) as blocker:
        editor(panel, 7).editors["units"].setFocus()  # focusing a row's editor selects the row
        qtbot.waitUntil(lambda: panel.selected_layer() == 7)
    assert blocker.args == [7]


def test_no_edits_while_training(panel, net):
    net.training = "running"  # what start_training sets; the panel only reads it
    net.trainingStateChanged.emit()
    assert not panel.add_button.isEnabled() and not panel.preset_combo.isEnabled()
    assert not editor(panel, 0).isEnabled()
    assert not panel.add_layer("relu") and panel.table.rowCount() == 12
    net.training = "idle"
    net.trainingStateChanged.emit()
    assert panel.add_button.isEnabled() and editor(panel, 0).isEnabled()


def _focus(qtbot, panel, widget):
    panel.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is panel)
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus)


def _type(qtbot, spin, text):
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), text)


def test_tab_commits_a_typed_setting_and_moves_on(panel, net, qtbot):
    """Issue 13.8: Tab commits what is typed (Qt's table used to swallow it, keeping the old value)."""
    filters = editor(panel, 0).editors["filters"]
    _focus(qtbot, panel, filters)
    _type(qtbot, filters, "9")
    assert net.spec["layers"][0]["filters"] == 6  # typing alone is not an edit
    qtbot.keyClick(filters, Qt.Key_Tab)
    assert net.spec["layers"][0]["filters"] == 9 and net.undo_stack.count() == 1
    assert row_numbers(panel, 0)[:2] == ["9x28x28", "225"]  # 9 * 5 * 5
    kernel = editor(panel, 0).editors["kernel"]
    assert QApplication.focusWidget() is kernel  # the next field of the row
    _type(qtbot, kernel, "3")
    qtbot.keyClick(kernel, Qt.Key_Backtab)
    assert net.spec["layers"][0]["kernel"] == 3 and QApplication.focusWidget() is editor(panel, 0).editors["filters"]
    # Tab from a row's last field goes on to the next row with fields (tanh has none)
    last = list(editor(panel, 0).editors.values())[-1]
    _focus(qtbot, panel, last)
    qtbot.keyClick(last, Qt.Key_Tab)
    first_of_pool = next(iter(editor(panel, 2).editors.values()))
    assert QApplication.focusWidget() is first_of_pool and panel.selected_layer() == 2


def test_focus_loss_commits_and_spin_steps_merge(panel, net, qtbot):
    filters = editor(panel, 0).editors["filters"]
    _focus(qtbot, panel, filters)
    _type(qtbot, filters, "12")
    panel.table.setFocus()  # the user clicks elsewhere
    qtbot.waitUntil(lambda: not filters.hasFocus())
    assert net.spec["layers"][0]["filters"] == 12 and net.undo_stack.count() == 1
    _focus(qtbot, panel, filters)
    for _ in range(3):
        qtbot.keyClick(filters, Qt.Key_Up)  # three steps of one spin box: one undo step
    assert net.spec["layers"][0]["filters"] == 15 and net.undo_stack.count() == 1
    assert net.undo_stack.undoText() == "Layer 0: filters = 15"  # the merged step names its last value
