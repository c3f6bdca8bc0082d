"""The kernel editor: a view of one filter that shows values and emits the user's intents."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from convlab.gui.views.kernel_editor import KernelEditor, diverging_color


@pytest.fixture
def editor(qtbot):
    w = KernelEditor()
    qtbot.addWidget(w)
    return w


def _shown(editor):
    c, f = editor.channel_count(), editor.kernel_size()
    return np.array([[[editor.cell_value(ch, r, col) for col in range(f)] for r in range(f)]
                     for ch in range(c)])


class Recorder:
    def __init__(self, *signals):
        self.calls = []
        for s in signals:
            s.connect(lambda *args, _s=s: self.calls.append(args))


# ------------------------------------------------------------------------------ pure helpers

def test_colours():
    assert diverging_color(0.0, 1.0).name() == "#ffffff"
    pos, neg = diverging_color(1.0, 1.0), diverging_color(-1.0, 1.0)
    assert pos.red() > pos.blue() and neg.blue() > neg.red()
    half = diverging_color(0.5, 1.0)
    assert 255 > half.green() > pos.green()


# ------------------------------------------------------------------------------ shapes

@pytest.mark.parametrize("c, f", [(1, 1), (1, 2), (3, 5), (1, 11), (3, 11), (8, 3)])
def test_set_filter_shapes(editor, c, f):
    w = np.arange(c * f * f, dtype=np.float64).reshape(c, f, f) - 3
    editor.set_filter(w, 0.5)
    assert editor.channel_count() == c and editor.kernel_size() == f
    assert len([editor.grid(i) for i in range(c)]) == c
    assert editor.grid(0).rowCount() == f and editor.grid(0).columnCount() == f
    np.testing.assert_array_equal(_shown(editor), w)
    assert editor.size_spin.value() == f
    assert f"{f} x {f} x {c} = {c * f * f} weight" in editor.count_label.text()
    assert editor.count_label.text().endswith("+ 1 bias")


def test_labels_for_rgb_and_gray(editor):
    editor.set_filter(np.ones((3, 5, 5)), 0.0)
    assert editor.count_label.text() == "5 x 5 x 3 = 75 weights + 1 bias"
    assert editor.channel_names() == ["R", "G", "B"]
    editor.set_filter(np.ones((1, 3, 3)), 0.0, title="Blur")
    assert editor.count_label.text() == "3 x 3 x 1 = 9 weights + 1 bias"
    assert editor.title_label.text() == "Blur"
    editor.set_filter(np.ones((2, 3, 3)), 0.0, channel_names=["a", "b"])
    assert editor.channel_names() == ["a", "b"]


def test_eleven_by_eleven_cells_are_small(editor, qtbot):
    editor.set_filter(np.zeros((3, 11, 11)), 0.0)
    editor.show()
    qtbot.waitExposed(editor)
    grid = editor.grid(0)
    assert grid.columnWidth(0) <= 48 and grid.rowHeight(0) <= 48
    assert grid.width() <= 11 * 48 + 10


def grids_whole(editor) -> bool:
    """Every row of every grid lies inside the editor's scroll area (nothing scrolled away)."""
    view = editor.scroll.viewport()
    for ch in range(editor.channel_count()):
        grid = editor.grid(ch)
        if not grid.isVisible():
            return False
        top = grid.mapTo(view, QPoint(0, 0)).y()
        if top < 0 or top + grid.height() > view.height():
            return False
    return True


def test_grids_stay_whole_after_gray_rgb_gray(editor, qtbot):
    """Issue 13.1: after Gray -> RGB -> Gray the 3 x 3 grid showed one row of 3 cells (the scroll
    area kept the height of a layout measured before its new grids were shown)."""
    editor.resize(420, 300)
    editor.set_filter(np.ones((1, 3, 3)), 0.0)
    editor.show()
    qtbot.waitExposed(editor)
    qtbot.waitUntil(lambda: grids_whole(editor), timeout=2000)
    for c in (3, 1, 3, 1):
        editor.set_filter(np.ones((c, 3, 3)), 0.0)
        qtbot.waitUntil(lambda: grids_whole(editor), timeout=2000)
    for f in (5, 3, 7, 1):
        editor.set_filter(np.ones((1, f, f)), 0.0)
        qtbot.waitUntil(lambda: grids_whole(editor), timeout=2000)
    assert editor.scroll.height() >= editor.grid(0).height()


def test_bad_shapes_are_refused(editor):
    for bad in (np.zeros((3, 3)), np.zeros((1, 3, 4)), np.zeros((1, 12, 12)), np.zeros((1, 0, 0))):
        with pytest.raises(ValueError):
            editor.set_filter(bad, 0.0)
    with pytest.raises(ValueError):
        editor.set_filter(np.zeros((3, 3, 3)), 0.0, channel_names=["only one"])


def test_cells_are_tinted_by_value_over_the_whole_filter(editor):
    w = np.zeros((2, 3, 3))
    w[0, 0, 0], w[1, 1, 1], w[1, 2, 2] = 2.0, -2.0, 1.0
    editor.set_filter(w, 0.0)
    red = editor.grid(0).item(0, 0).background().color()
    blue = editor.grid(1).item(1, 1).background().color()
    half = editor.grid(1).item(2, 2).background().color()
    white = editor.grid(0).item(1, 1).background().color()
    assert red.red() > 150 and red.blue() < 80
    assert blue.blue() > 150 and blue.red() < 80
    assert white.name() == "#ffffff"
    assert 255 > half.green() > red.green()          # scaled by max |w| = 2 of the whole filter


# ------------------------------------------------------------------------------ editing

def test_edit_cell_emits_indices_and_value(editor, qtbot):
    editor.set_filter(np.zeros((3, 3, 3)), 0.0)
    with qtbot.waitSignal(editor.cellEdited, timeout=1000) as blocker:
        assert editor.edit_cell(2, 1, 0, "0.5")
    assert blocker.args == [2, 1, 0, 0.5]
    assert editor.cell_value(2, 1, 0) == 0.5


def test_fraction_is_parsed(editor, qtbot):
    editor.set_filter(np.zeros((1, 3, 3)), 0.0)
    with qtbot.waitSignal(editor.cellEdited, timeout=1000) as blocker:
        editor.edit_cell(0, 2, 2, "1/16")
    assert blocker.args == [0, 2, 2, 0.0625]
    assert editor.cell_text(0, 2, 2) == "0.0625"


def test_invalid_text_reverts_and_explains(editor, qtbot):
    editor.set_filter(np.full((1, 3, 3), 0.25), 0.0)
    rec = Recorder(editor.cellEdited)
    with qtbot.waitSignal(editor.message, timeout=1000) as blocker:
        assert not editor.edit_cell(0, 0, 1, "abc")
    assert "'abc' is not a number" in blocker.args[0]
    assert editor.cell_value(0, 0, 1) == 0.25 and editor.cell_text(0, 0, 1) == "0.25"
    assert rec.calls == []


def test_unchanged_value_emits_nothing(editor, qtbot):
    editor.set_filter(np.full((1, 3, 3), 0.0625, dtype=np.float32), 0.0)
    rec = Recorder(editor.cellEdited, editor.message)
    assert editor.edit_cell(0, 1, 1, "0.0625")
    assert editor.edit_cell(0, 1, 1, "1/16")
    # float32 0.1 reads back as "0.1" and stays unchanged in its own dtype
    editor.set_filter(np.full((1, 3, 3), 0.1, dtype=np.float32), 0.0)
    assert editor.edit_cell(0, 0, 0, "0.1")
    assert rec.calls == []


def test_real_cell_editor_commits_through_the_same_path(editor, qtbot):
    editor.set_filter(np.zeros((1, 3, 3)), 0.0)
    editor.show()
    qtbot.waitExposed(editor)
    grid = editor.grid(0)
    grid.setFocus()
    grid.setCurrentCell(1, 2)
    qtbot.keyClick(grid, Qt.Key.Key_1)               # typing starts editing
    line = grid.findChild(QLineEdit)
    assert line is not None and line.isVisible()
    qtbot.keyClicks(line, "/16")
    assert line.text() == "1/16"
    with qtbot.waitSignal(editor.cellEdited, timeout=1000) as blocker:
        qtbot.keyClick(line, Qt.Key.Key_Return)
    assert blocker.args == [0, 1, 2, 0.0625]
    assert (grid.currentRow(), grid.currentColumn()) == (1, 2)


def test_real_cell_editor_unchanged_enter_emits_nothing(editor, qtbot):
    editor.set_filter(np.full((1, 3, 3), 1 / 3), 0.0)
    editor.show()
    qtbot.waitExposed(editor)
    grid = editor.grid(0)
    grid.setFocus()
    grid.setCurrentCell(0, 0)
    rec = Recorder(editor.cellEdited, editor.message)
    qtbot.keyClick(grid, Qt.Key.Key_F2)              # opens the editor with the exact value
    line = grid.findChild(QLineEdit)
    assert line is not None and float(line.text()) == 1 / 3
    qtbot.keyClick(line, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: grid.state() != grid.State.EditingState, timeout=1000)
    assert rec.calls == []


def test_bias_edit(editor, qtbot):
    editor.set_filter(np.zeros((1, 3, 3)), 0.5)
    assert editor.bias_edit.text() == "0.5"
    with qtbot.waitSignal(editor.biasEdited, timeout=1000) as blocker:
        assert editor.edit_bias("-1/4")
    assert blocker.args == [-0.25]
    assert editor.bias_value() == -0.25
    rec = Recorder(editor.biasEdited)
    assert editor.edit_bias("-0.25")                 # unchanged: no signal
    with qtbot.waitSignal(editor.message, timeout=1000) as blocker:
        assert not editor.edit_bias("nope")
    assert "'nope' is not a number" in blocker.args[0]
    assert editor.bias_edit.text() == "-0.25"
    assert rec.calls == []


def test_bias_field_commits_on_enter(editor, qtbot):
    editor.set_filter(np.zeros((1, 3, 3)), 0.0)
    editor.show()
    qtbot.waitExposed(editor)
    editor.bias_edit.setFocus()
    editor.bias_edit.selectAll()
    qtbot.keyClicks(editor.bias_edit, "2*3")
    with qtbot.waitSignal(editor.biasEdited, timeout=1000) as blocker:
        qtbot.keyClick(editor.bias_edit, Qt.Key.Key_Return)
    assert blocker.args == [6.0]


def test_delete_key_zeroes_the_current_cell(editor, qtbot):
    editor.set_filter(np.full((3, 3, 3), 0.7), 0.0)
    editor.show()
    qtbot.waitExposed(editor)
    grid = editor.grid(1)
    grid.setFocus()
    grid.setCurrentCell(2, 0)
    with qtbot.waitSignal(editor.cellEdited, timeout=1000) as blocker:
        qtbot.keyClick(grid, Qt.Key.Key_Delete)
    assert blocker.args == [1, 2, 0, 0.0]
    assert editor.cell_value(1, 2, 0) == 0.0
    rec = Recorder(editor.cellEdited)
    qtbot.keyClick(grid, Qt.Key.Key_Delete)          # already zero: nothing
    assert rec.calls == []


def test_arrow_keys_move_between_cells(editor, qtbot):
    editor.set_filter(np.zeros((1, 3, 3)), 0.0)
    editor.show()
    qtbot.waitExposed(editor)
    grid = editor.grid(0)
    grid.setFocus()
    grid.setCurrentCell(0, 0)
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    qtbot.keyClick(grid, Qt.Key.Key_Down)
    assert (grid.currentRow(), grid.currentColumn()) == (1, 1)


# ------------------------------------------------------------------------------ intents

@pytest.mark.parametrize("button, signal", [
    ("normalize_button", "normalizeRequested"),
    ("zero_button", "zeroRequested"),
    ("randomize_button", "randomizeRequested"),
])
def test_buttons_emit_their_intents(editor, qtbot, button, signal):
    editor.set_filter(np.ones((1, 3, 3)), 0.0)
    with qtbot.waitSignal(getattr(editor, signal), timeout=1000):
        qtbot.mouseClick(getattr(editor, button), Qt.MouseButton.LeftButton)


def test_every_control_has_a_tooltip(editor):
    for w in (editor.normalize_button, editor.zero_button, editor.randomize_button,
              editor.size_spin, editor.bias_edit):
        assert w.toolTip().strip()
    assert "sum" in editor.normalize_button.toolTip()


def test_cell_tooltip_names_channel_position_and_exact_value(editor, qtbot):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QToolTip

    editor.set_filter(np.full((3, 3, 3), 1 / 3), 0.0)
    editor.show()
    qtbot.waitExposed(editor)
    grid = editor.grid(2)
    rect = grid.visualRect(grid.model().index(1, 0))
    event = QHelpEvent(QEvent.Type.ToolTip, rect.center(), grid.viewport().mapToGlobal(rect.center()))
    QApplication.sendEvent(grid.viewport(), event)
    qtbot.waitUntil(lambda: QToolTip.isVisible(), timeout=1000)
    assert QToolTip.text().startswith("B, row 1, column 0: 0.3333333333333333")
    QToolTip.hideText()


def test_size_spin_emits_size_requested_but_set_filter_does_not(editor, qtbot):
    rec = Recorder(editor.sizeRequested)
    editor.set_filter(np.zeros((1, 3, 3)), 0.0)
    editor.set_filter(np.zeros((1, 7, 7)), 0.0)
    assert editor.size_spin.value() == 7 and rec.calls == []
    with qtbot.waitSignal(editor.sizeRequested, timeout=1000) as blocker:
        editor.size_spin.setValue(4)
    assert blocker.args == [4]


def test_set_filter_updates_in_place_without_signals(editor, qtbot):
    editor.set_filter(np.zeros((3, 3, 3)), 0.0)
    editor.show()
    qtbot.waitExposed(editor)
    grids = [editor.grid(i) for i in range(3)]
    grids[1].setFocus()
    grids[1].setCurrentCell(2, 1)
    rec = Recorder(editor.cellEdited, editor.biasEdited, editor.sizeRequested, editor.message)
    new = np.random.default_rng(0).normal(size=(3, 3, 3))
    editor.set_filter(new, 1.5)
    assert [editor.grid(i) for i in range(3)] == grids          # not rebuilt
    np.testing.assert_array_equal(_shown(editor), new)
    assert editor.bias_value() == 1.5
    assert (grids[1].currentRow(), grids[1].currentColumn()) == (2, 1)
    assert rec.calls == []
    editor.set_filter(np.zeros((3, 5, 5)), 0.0)                 # another shape: rebuilt
    assert editor.grid(0) is not grids[0] and editor.kernel_size() == 5
    assert rec.calls == []


def test_passed_arrays_are_never_mutated(editor, qtbot):
    w = np.linspace(-1, 1, 27).reshape(3, 3, 3)
    w.setflags(write=False)                                      # any write would raise
    before = w.copy()
    editor.set_filter(w, 0.0)
    editor.edit_cell(0, 0, 0, "5")
    editor.edit_cell(1, 1, 1, "abc")
    editor._delete_cell(2, 2, 2)
    editor.edit_bias("3")
    np.testing.assert_array_equal(w, before)
    w2 = np.linspace(-1, 1, 27).reshape(3, 3, 3)
    editor.set_filter(w2, 0.0)
    editor.edit_cell(0, 0, 0, "9")
    np.testing.assert_array_equal(w2, before)


def test_panel_round_trip_shows_the_truth(editor, qtbot):
    """A panel that clamps values answers inside the signal; the view shows its answer."""
    truth = np.zeros((1, 3, 3))

    def panel(ch, r, c, v):
        truth[ch, r, c] = min(v, 1.0)
        editor.set_filter(truth, 0.0)

    editor.cellEdited.connect(panel)
    editor.set_filter(truth, 0.0)
    editor.edit_cell(0, 0, 0, "5")
    assert editor.cell_value(0, 0, 0) == 1.0


def test_read_only_blocks_edits(editor, qtbot):
    editor.set_filter(np.ones((1, 3, 3)), 0.0)
    editor.set_read_only(True)
    rec = Recorder(editor.cellEdited, editor.biasEdited, editor.sizeRequested)
    assert not editor.edit_cell(0, 0, 0, "2")
    assert not editor.edit_bias("2")
    assert not editor.normalize_button.isEnabled() and not editor.size_spin.isEnabled()
    assert editor.grid(0).editTriggers() == editor.grid(0).EditTrigger.NoEditTriggers
    assert rec.calls == [] and editor.cell_value(0, 0, 0) == 1.0
    editor.set_read_only(False)
    with qtbot.waitSignal(editor.cellEdited, timeout=1000):
        editor.edit_cell(0, 0, 0, "2")


def test_panel_rebuilding_inside_a_signal_is_safe(editor, qtbot):
    """The panel answers sizeRequested (and even a cell edit) with another shape at once."""
    editor.set_filter(np.ones((3, 3, 3)), 0.0)
    editor.show()
    qtbot.waitExposed(editor)
    editor.sizeRequested.connect(lambda f: editor.set_filter(np.ones((3, f, f)), 0.0))
    editor.size_spin.setValue(6)
    assert editor.kernel_size() == 6 and editor.size_spin.value() == 6
    editor.cellEdited.connect(lambda *a: editor.set_filter(np.zeros((1, 2, 2)), 0.0))
    grid = editor.grid(0)
    grid.setFocus()
    grid.setCurrentCell(0, 0)
    qtbot.keyClick(grid, Qt.Key.Key_7)
    qtbot.keyClick(grid.findChild(QLineEdit), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: editor.kernel_size() == 2, timeout=1000)
    assert editor.channel_count() == 1 and editor.cell_value(0, 1, 1) == 0.0


def test_read_only_closes_an_open_editor_without_committing(editor, qtbot):
    editor.set_filter(np.ones((1, 3, 3)), 0.0)
    editor.show()
    qtbot.waitExposed(editor)
    grid = editor.grid(0)
    grid.setFocus()
    grid.setCurrentCell(1, 1)
    qtbot.keyClick(grid, Qt.Key.Key_5)
    assert grid.state() == grid.State.EditingState
    rec = Recorder(editor.cellEdited)
    editor.set_read_only(True)
    qtbot.waitUntil(lambda: grid.state() != grid.State.EditingState, timeout=1000)
    assert rec.calls == [] and editor.cell_value(0, 1, 1) == 1.0
