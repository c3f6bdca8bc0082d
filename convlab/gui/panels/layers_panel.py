"""The Layers panel: the model as a table of layers with their shapes, parameters and receptive fields.

Every number in the table comes from ``NetworkState.report`` (the engine's ``analyze_spec``); the
panel never computes a shape. Every edit (a preset, the input shape, a layer setting, add, remove,
duplicate, move, JSON) is one ``NetworkState`` call and so one undo step; the table is rebuilt from
the state on ``specChanged`` with its own signals quiet, so showing a value never edits it.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QByteArray, QMimeData, QPoint, QRect, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QDrag, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from convlab.core.layers import LAYER_TYPES
from convlab.core.presets import LAYER_KINDS, model_presets

from ..network_state import NetworkState
from ..views.layer_settings_editor import LayerSettingsEditor, _is_int, _size_text, focus_next_editor, parse_setting  # noqa: F401 - parse_setting is re-exported
from .spec_json_dialog import AMBER, GREEN, RED, SpecJsonDialog  # noqa: F401

COLUMNS = ("#", "layer", "settings", "output", "weights", "biases", "mult-adds", "RF", "jump")
COL_INDEX, COL_TYPE, COL_SETTINGS, COL_OUTPUT, COL_WEIGHTS, COL_BIASES, COL_MACS, COL_RF, COL_JUMP = range(9)
COLUMN_TIPS = (
    "Layer number (the key prefix of its weights, as in PyTorch: \"0.weight\"). Drag a row to reorder.",
    "The layer type",
    "The layer's settings: each change is one undo step",
    "The shape this layer outputs: channels x height x width, or a flat vector of values",
    "Learned weights: filters x in-channels x kernel height x kernel width (conv), in x out (linear)",
    "Learned biases: one per filter or unit",
    "Multiply-adds for one image: every weight is used once per output position",
    "Receptive field: how many input pixels one output unit sees (the padded area it covers)",
    "Jump: how many input pixels apart two neighbouring output units are (product of the strides)",
)
NOT_COMPUTED = "\u2014"  # an em dash: no shape, the layer (or one above it) cannot work
NOTE_MARK = " \u26a0"  # a warning sign after the output shape
ERROR_TINT = QColor(229, 57, 53, 70)
NOTE_TINT = QColor(255, 179, 0, 90)
ROW_MIME = "application/x-convlab-layer-row"
CUSTOM_DESCRIPTION = ("Custom layers: edited by hand from a preset or as JSON. "
                      "Pick a preset to start again from a known model.")


class LayerTable(QTableWidget):
    """The layer rows; reordering by drag and drop and the keyboard is turned into requests, never
    into rows moved by Qt itself (the panel asks the state, and the state rebuilds the table)."""

    rowMoveRequested = Signal(int, int)  # source row, the row it should end up at
    deleteRequested = Signal()
    stepRequested = Signal(int)  # -1: move the selected layer up, +1: down

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        for c, tip in enumerate(COLUMN_TIPS):
            self.horizontalHeaderItem(c).setToolTip(tip)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(False)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDrop)
        self.setDropIndicatorShown(False)  # the gap line is drawn in paintEvent
        self.drop_gap: int | None = None
        self.setToolTip("One row per layer. Drag a row (by its number or type) to reorder; "
                        "Delete removes the selected layer, Ctrl+Up / Ctrl+Down move it.")

    # ---- keyboard
    def keyPressEvent(self, event):
        key, mods = event.key(), event.modifiers()
        if key in (Qt.Key_Delete, Qt.Key_Backspace) and not (mods & ~Qt.KeypadModifier):
            self.deleteRequested.emit()
            return
        if mods & Qt.ControlModifier and key in (Qt.Key_Up, Qt.Key_Down):
            self.stepRequested.emit(-1 if key == Qt.Key_Up else 1)
            return
        super().keyPressEvent(event)

    # ---- drag and drop
    def startDrag(self, supported_actions):
        row = self.currentRow()
        if row < 0:
            return
        mime = QMimeData()
        mime.setData(ROW_MIME, QByteArray(str(row).encode()))
        drag = QDrag(self)
        drag.setMimeData(mime)
        rect = self.visualRect(self.model().index(row, 0))
        drag.setPixmap(self.viewport().grab(QRect(0, rect.top(), self.viewport().width(), rect.height())))
        drag.setHotSpot(QPoint(20, rect.height() // 2))
        drag.exec(Qt.MoveAction)  # the drop asks the state; nothing to remove here whatever it returns
        self._set_gap(None)

    @staticmethod
    def dragged_row(event) -> int | None:
        mime = event.mimeData()
        if mime is None or not mime.hasFormat(ROW_MIME):
            return None
        try:
            return int(bytes(mime.data(ROW_MIME).data()).decode())
        except ValueError:
            return None

    def gap_at(self, y: int) -> int:
        """The gap between rows (0..rowCount) nearest to a viewport y."""
        row = self.rowAt(y)
        if row < 0:
            return 0 if y < 0 else self.rowCount()
        top = self.rowViewportPosition(row)
        return row + (1 if y > top + self.rowHeight(row) // 2 else 0)

    def drop_target(self, src: int, y: int) -> int:
        """Where a row dragged from ``src`` and dropped at y ends up (its index after the move)."""
        gap = self.gap_at(y)
        return gap if gap <= src else gap - 1

    def move_rows(self, src: int, dst: int) -> None:
        """Ask for row ``src`` to become row ``dst`` (the drop handler's one action)."""
        if src != dst and 0 <= src < self.rowCount() and 0 <= dst < self.rowCount():
            self.rowMoveRequested.emit(src, dst)

    def dragEnterEvent(self, event):
        if self.dragged_row(event) is None:
            event.ignore()
            return
        event.setDropAction(Qt.MoveAction)
        event.accept()

    def dragMoveEvent(self, event):
        if self.dragged_row(event) is None:
            event.ignore()
            return
        event.setDropAction(Qt.MoveAction)
        event.accept()
        self._set_gap(self.gap_at(int(event.position().y())))

    def dragLeaveEvent(self, event):
        self._set_gap(None)
        event.accept()

    def dropEvent(self, event):
        self._set_gap(None)
        src = self.dragged_row(event)
        if src is None or not 0 <= src < self.rowCount():
            event.ignore()
            return
        event.setDropAction(Qt.MoveAction)
        event.accept()  # Qt itself moves nothing: the drag is ours (startDrag) and ignores the result
        self.move_rows(src, self.drop_target(src, int(event.position().y())))

    def _set_gap(self, gap: int | None) -> None:
        if gap != self.drop_gap:
            self.drop_gap = gap
            self.viewport().update()

    def paintEvent(self, event):
        super().paintEvent(event)
        if self.drop_gap is None or self.rowCount() == 0:
            return
        if self.drop_gap < self.rowCount():
            y = self.rowViewportPosition(self.drop_gap)
        else:
            last = self.rowCount() - 1
            y = self.rowViewportPosition(last) + self.rowHeight(last) - 1
        p = QPainter(self.viewport())
        p.setPen(QPen(self.palette().highlight().color(), 2))
        p.drawLine(0, y, self.viewport().width(), y)
        p.end()


# --------------------------------------------------------------------------- the JSON editor


_KEEP = object()  # no panel edit pending: keep the selected row where it is


class LayersPanel(QWidget):
    """Presets, input shape, the layer table with inline settings, and what keeps the model from training."""

    layerSelected = Signal(int)

    def needed_width(self) -> int:
        """The width that shows every column of the layer table without sideways scrolling."""
        t = self.table
        t.resizeColumnsToContents()
        bar = t.verticalScrollBar().sizeHint().width()
        margins = self.layout().contentsMargins()
        return t.horizontalHeader().length() + 2 * t.frameWidth() + bar + margins.left() + margins.right() + 2

    def __init__(self, net: NetworkState, parent=None):
        super().__init__(parent)
        self.net = net
        self.presets = model_presets()
        self._syncing = False
        self._pending_select = _KEEP

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(self._preset_row())
        self.preset_description = QLabel()
        self.preset_description.setWordWrap(True)
        self.preset_description.setStyleSheet("color:#555")
        self.preset_description.setToolTip("What this model shows")
        lay.addWidget(self.preset_description)
        lay.addLayout(self._input_row())
        lay.addLayout(self._tool_row())

        self.table = LayerTable()
        lay.addWidget(self.table, 1)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color:{RED}")
        self.error_label.setToolTip("The first layer that cannot work, and why: nothing after it has a shape")
        lay.addWidget(self.error_label)
        self.totals_label = QLabel()
        self.totals_label.setWordWrap(True)
        self.totals_label.setToolTip("Parameter and multiply-add totals for one image, from the engine's summary")
        lay.addWidget(self.totals_label)
        self.block_label = QLabel()
        self.block_label.setWordWrap(True)
        self.block_label.setToolTip("Whether the model can be trained now; the Train button says the same")
        lay.addWidget(self.block_label)

        self.json_dialog = SpecJsonDialog(net, self)

        self.table.rowMoveRequested.connect(self.move_layer)
        self.table.deleteRequested.connect(self.remove_selected)
        self.table.stepRequested.connect(self.move_selected)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        net.specChanged.connect(self.sync)
        net.datasetChanged.connect(self._sync_block)
        net.trainingStateChanged.connect(self._sync_enabled)
        self.sync()

    # ------------------------------------------------------------------ building

    def _preset_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        label = QLabel("Model")
        label.setToolTip("Start from a preset model; any edit makes it custom")
        self.preset_combo = QComboBox()
        self.preset_combo.setToolTip("Preset models, each showing one idea; choosing one replaces the layers "
                                     "(undo brings them back)")
        for key, p in self.presets.items():
            self.preset_combo.addItem(p.name, key)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, p.description, Qt.ToolTipRole)
        self.preset_combo.addItem("custom", None)
        self.preset_combo.setItemData(self.preset_combo.count() - 1, CUSTOM_DESCRIPTION, Qt.ToolTipRole)
        self.preset_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.preset_combo.setMinimumContentsLength(12)  # the dock can be narrow; the popup shows full names
        self.preset_combo.currentIndexChanged.connect(self._preset_chosen)
        row.addWidget(label)
        row.addWidget(self.preset_combo, 1)
        return row

    def _input_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        label = QLabel("Input")
        label.setToolTip("The shape of one input image: channels x height x width")
        row.addWidget(label)
        self.input_spins: list[QSpinBox] = []
        self.input_labels: list[QLabel] = []
        for name, hi, tip in (("C", 512, "Channels: 1 for grey, 3 for colour (or features of a flat input)"),
                              ("H", 1024, "Height of the input in pixels"),
                              ("W", 1024, "Width of the input in pixels")):
            lab = QLabel(name)
            lab.setToolTip(tip)
            spin = QSpinBox()
            spin.setRange(1, hi)
            spin.setKeyboardTracking(False)
            spin.setToolTip(tip)
            spin.valueChanged.connect(self._input_edited)
            row.addWidget(lab)
            row.addWidget(spin)
            self.input_labels.append(lab)
            self.input_spins.append(spin)
        row.addStretch(1)
        return row

    def _tool_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.add_button = QToolButton()
        self.add_button.setText("Add")
        self.add_button.setToolTip("Add a layer after the selected one (at the end when none is selected)")
        self.add_button.setPopupMode(QToolButton.InstantPopup)
        self.add_menu = QMenu(self.add_button)
        self.add_menu.setToolTipsVisible(True)
        for kind, (label, entry) in LAYER_KINDS.items():
            action = self.add_menu.addAction(label)
            action.setData(kind)
            action.setToolTip(json.dumps(entry))
            action.triggered.connect(lambda checked=False, k=kind: self.add_layer(k))
        self.add_button.setMenu(self.add_menu)
        self.remove_button = self._tool("Remove", "Remove the selected layer (Delete)", self.remove_selected)
        self.duplicate_button = self._tool("Duplicate", "Insert a copy of the selected layer after it",
                                           self.duplicate_selected)
        self.up_button = self._tool("\u25b2", "Move the selected layer one place earlier (Ctrl+Up)",
                                    lambda: self.move_selected(-1))
        self.down_button = self._tool("\u25bc", "Move the selected layer one place later (Ctrl+Down)",
                                      lambda: self.move_selected(1))
        self.json_button = self._tool("JSON...", "Edit as JSON: the whole spec as text, applied as one undo step",
                                      self.open_json_editor)
        for b in (self.add_button, self.remove_button, self.duplicate_button, self.up_button, self.down_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.json_button)
        return row

    def _tool(self, text: str, tip: str, slot) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    # ------------------------------------------------------------------ user actions -> state

    def selected_layer(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def select_layer(self, index: int) -> None:
        if 0 <= index < self.table.rowCount():
            self.table.selectRow(index)

    def _edit(self, select, action) -> bool:
        """Run one state edit; after the rebuild the row ``select`` is selected (None: no row).
        While training the state refuses (and says so with its ``message``)."""
        self._pending_select = select
        done = bool(action())
        self._pending_select = _KEEP
        return done

    def add_layer(self, kind: str) -> bool:
        sel = self.selected_layer()
        index = len(self.net.layers()) if sel is None else sel + 1
        return self._edit(index, lambda: self.net.add_layer(kind, index))

    def remove_selected(self) -> bool:
        sel = self.selected_layer()
        if sel is None:
            return False
        n = len(self.net.layers())
        return self._edit(min(sel, n - 2) if n > 1 else None, lambda: self.net.remove_layer(sel))

    def duplicate_selected(self) -> bool:
        sel = self.selected_layer()
        if sel is None:
            return False
        return self._edit(sel + 1, lambda: self.net.duplicate_layer(sel))

    def move_selected(self, step: int) -> bool:
        sel = self.selected_layer()
        if sel is None:
            return False
        return self.move_layer(sel, sel + step)

    def move_layer(self, src: int, dst: int) -> bool:
        if src == dst or not (0 <= src < len(self.net.layers()) and 0 <= dst < len(self.net.layers())):
            return False
        return self._edit(dst, lambda: self.net.move_layer(src, dst))

    def set_field(self, index: int, field: str, value) -> bool:
        layers = self.net.layers()
        if not 0 <= index < len(layers) or not isinstance(layers[index], dict):
            return False
        entry = layers[index]
        if (value is None and field not in entry) or (
            field in entry and entry[field] == value and type(entry[field]) is type(value)
        ):
            return False
        return self._edit(index, lambda: self.net.set_layer_field(index, field, value))

    def _input_edited(self, _value=None) -> None:
        if self._syncing:
            return
        flat = self.input_spins[1].isHidden()  # a flat input [features] shows one spin box
        shape = [s.value() for s in (self.input_spins[:1] if flat else self.input_spins)]
        if shape != self.net.spec.get("input"):
            self._edit(_KEEP, lambda: self.net.set_input_shape(shape))

    def _preset_chosen(self, i: int) -> None:
        if self._syncing:
            return
        key = self.preset_combo.itemData(i)
        if key is None or not self._edit(_KEEP, lambda: self.net.load_preset(key)):
            self._sync_preset()  # "custom" chosen, or the state refused: show what is true

    def open_json_editor(self) -> SpecJsonDialog:
        self.json_dialog.load()
        self.json_dialog.show()
        self.json_dialog.raise_()
        self.json_dialog.activateWindow()
        return self.json_dialog

    def _selection_changed(self, *_):
        self._sync_buttons()
        if self._syncing:
            return
        sel = self.selected_layer()
        if sel is not None:
            self.layerSelected.emit(sel)

    # ------------------------------------------------------------------ state -> widgets

    def sync(self) -> None:
        """Show the state: preset, input, every row (reusing editors whose fields are unchanged)."""
        previous = self.selected_layer()
        pending, self._pending_select = self._pending_select, _KEEP
        self._syncing = True
        try:
            self._sync_preset()
            self._sync_input()
            self._sync_table()
            n = self.table.rowCount()
            target = (None if previous is None or n == 0 else min(previous, n - 1)) if pending is _KEEP else pending
            if target is not None and 0 <= target < n:
                self.table.selectRow(target)
            else:
                self.table.clearSelection()
                target = None
        finally:
            self._syncing = False
        self._sync_labels()
        self._sync_block()
        self._sync_enabled()
        if pending is not _KEEP and target is not None and target != previous:
            self.layerSelected.emit(target)

    def _sync_preset(self) -> None:
        key = self.net.preset_key
        i = self.preset_combo.findData(key) if key is not None else -1
        i = i if i >= 0 else self.preset_combo.count() - 1
        with QSignalBlocker(self.preset_combo):
            self.preset_combo.setCurrentIndex(i)
        p = self.presets.get(key) if key is not None else None
        self.preset_description.setText(p.description if p is not None else CUSTOM_DESCRIPTION)

    def _sync_input(self) -> None:
        shape = self.net.spec.get("input") if isinstance(self.net.spec, dict) else None
        ok = isinstance(shape, list) and len(shape) in (1, 3) and all(_is_int(v) for v in shape)
        flat = ok and len(shape) == 1
        for i, spin in enumerate(self.input_spins):
            with QSignalBlocker(spin):
                if i == 0:
                    spin.setMaximum(1_000_000 if flat else 512)
                if ok and i < len(shape):
                    spin.setValue(int(shape[i]))
            spin.setVisible(not flat or i == 0)
            self.input_labels[i].setVisible(not flat or i == 0)
        self.input_labels[0].setText("features" if flat else "C")

    def _sync_table(self) -> None:
        t = self.table
        layers = self.net.layers()
        report = self.net.report
        with QSignalBlocker(t):
            t.setRowCount(len(layers))
            for i, entry in enumerate(layers):
                entry = entry if isinstance(entry, dict) else {"type": None}
                self._fill_row(i, entry, report)
                editor = t.cellWidget(i, COL_SETTINGS)
                if isinstance(editor, LayerSettingsEditor) and editor.signature == LayerSettingsEditor.signature_of(
                        entry) and editor.layer_type == entry.get("type"):
                    editor.index = i
                    editor.set_entry(entry)
                else:
                    if editor is not None:  # retire the old editor now: hidden at once, deleted later
                        t.removeCellWidget(i, COL_SETTINGS)
                        editor.hide()
                        editor.deleteLater()
                    editor = LayerSettingsEditor(i, entry)
                    editor.edited.connect(self.set_field)
                    editor.focused.connect(self.select_layer)
                    editor.tabbed.connect(lambda i, f, step: focus_next_editor(t, COL_SETTINGS, i, f, step))
                    t.setCellWidget(i, COL_SETTINGS, editor)
                editor.setToolTip(report.error if report.error_index == i else COLUMN_TIPS[COL_SETTINGS])
        # new editors may be wider or taller than the ones they replace
        t.horizontalHeader().resizeSections(QHeaderView.ResizeToContents)
        t.verticalHeader().resizeSections(QHeaderView.ResizeToContents)

    def _fill_row(self, i: int, entry: dict, report) -> None:
        kind = entry.get("type")
        failing = report.error_index == i
        computed = i < len(report.rows) and not failing
        cells = [str(i), "?" if kind is None else str(kind), "", NOT_COMPUTED, NOT_COMPUTED, NOT_COMPUTED,
                 NOT_COMPUTED, NOT_COMPUTED,
                 NOT_COMPUTED]
        tips = [COLUMN_TIPS[COL_INDEX], _type_tip(kind), COLUMN_TIPS[COL_SETTINGS]] + list(COLUMN_TIPS[3:])
        row = report.rows[i] if computed else None
        if row is not None:
            rf = row.rf
            cells[COL_OUTPUT] = "x".join(map(str, row.output_shape))
            cells[COL_WEIGHTS] = f"{row.weights:,}"
            cells[COL_BIASES] = f"{row.biases:,}"
            cells[COL_MACS] = f"{row.macs:,}"
            cells[COL_RF] = "whole input" if rf.is_global else _size_text(rf.size)
            cells[COL_JUMP] = "" if rf.is_global else _size_text(rf.jump)
            if rf.is_global:
                tips[COL_RF] = (f"Every unit of this flat layer sees the whole input (the covered area is "
                                f"{_size_text(rf.size)} pixels with padding)")
                tips[COL_JUMP] = "A flat layer has no grid: jump does not apply"
            if row.notes:
                cells[COL_OUTPUT] += NOTE_MARK
                tips[COL_OUTPUT] = "\n".join(row.notes)
        elif failing or (report.error and report.error_index is None):
            tips = [report.error] * len(COLUMNS)
        else:
            before = report.error_index if report.error_index is not None else 0
            tips = [tips[COL_INDEX], tips[COL_TYPE], tips[COL_SETTINGS]] + [
                f"Not computed: layer {before} above cannot work, so nothing after it has a shape"] * 6
        for c, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
            item.setToolTip(tips[c])
            if c >= COL_WEIGHTS:
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            if failing:
                item.setBackground(QBrush(ERROR_TINT))
            elif row is None:
                item.setForeground(QBrush(QColor(140, 140, 140)))
            elif c == COL_OUTPUT and row.notes:
                item.setBackground(QBrush(NOTE_TINT))
            self.table.setItem(i, c, item)

    def _sync_labels(self) -> None:
        r = self.net.report
        self.error_label.setText(r.error)
        self.error_label.setVisible(bool(r.error))
        text = (f"{r.total_weights:,} weights + {r.total_biases:,} biases = {r.total_params:,} parameters, "
                f"{r.total_macs:,} multiply-adds")
        if not r.ok:
            n = len(r.rows)
            text = (f"Layer{'s 0-' if n > 1 else ' '}{n - 1} only: {text}" if n else "No layer has a shape yet")
        self.totals_label.setText(text)

    def _sync_block(self) -> None:
        reason = self.net.train_block_reason
        self.block_label.setText(f"Cannot train: {reason}" if reason else "Ready to train")
        self.block_label.setStyleSheet(f"color:{RED if reason else GREEN}")

    def _sync_enabled(self) -> None:
        idle = self.net.training == "idle"
        for w in (self.preset_combo, self.add_button, self.json_button, *self.input_spins):
            w.setEnabled(idle)
        for i in range(self.table.rowCount()):
            editor = self.table.cellWidget(i, COL_SETTINGS)
            if editor is not None:
                editor.setEnabled(idle)
        self.table.setDragEnabled(idle)
        self._sync_buttons()
        self._sync_block()

    def _sync_buttons(self) -> None:
        idle = self.net.training == "idle"
        sel = self.selected_layer()
        n = self.table.rowCount()
        self.remove_button.setEnabled(idle and sel is not None)
        self.duplicate_button.setEnabled(idle and sel is not None)
        self.up_button.setEnabled(idle and sel is not None and sel > 0)
        self.down_button.setEnabled(idle and sel is not None and sel < n - 1)


def _type_tip(kind) -> str:
    for label, entry in LAYER_KINDS.values():
        if entry.get("type") == kind:
            return f"{label} ({kind})"
    return f"unknown layer type {kind!r}" if kind not in LAYER_TYPES else str(kind)

