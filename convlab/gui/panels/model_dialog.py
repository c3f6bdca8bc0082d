"""The preset models with the engine's summary: shapes, weights, multiply-adds, receptive fields;
"Use this model" loads the chosen one into the Layers panel (one undo step) and closes the dialog."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from convlab.core.model import Sequential
from convlab.core.presets import model_presets

COLUMNS = ("#", "layer", "output", "weights", "biases", "mult-adds", "receptive field", "jump")


def _pair(v) -> str:
    return f"{v[0]}x{v[1]}" if isinstance(v, tuple) else str(v)


def summary_rows(spec: dict) -> tuple[list[list[str]], str]:
    """Table rows and a totals line for a spec, all from Sequential.summary()."""
    s = Sequential.from_spec(spec, seed=0).summary()
    rows = [["", "input", "x".join(map(str, s.input_shape)), "", "", "", "1", "1"]]
    for r in s.layers:
        rows.append([
            str(r.index), r.type, "x".join(map(str, r.output_shape)), f"{r.weights:,}", f"{r.biases:,}",
            f"{r.macs:,}", "whole input" if r.rf.is_global else _pair(r.rf.size), _pair(r.rf.jump),
        ])
    total = (f"{s.total_weights:,} weights + {s.total_biases:,} biases = {s.total_params:,} parameters, "
             f"{s.total_macs:,} multiply-adds per image")
    return rows, total


class SummaryTable(QWidget):
    """One model's engine summary: a table of layers and a totals line."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setToolTip("Every number comes from the engine's model summary")
        self.totals = QLabel()
        self.totals.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.totals)

    def show_spec(self, title: str, spec: dict) -> None:
        self.title.setText(f"<b>{title}</b>")
        rows, total = summary_rows(spec)
        self.table.setRowCount(len(rows))
        for i, row_values in enumerate(rows):
            for j, text in enumerate(row_values):
                item = QTableWidgetItem(text)
                if j != 1:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.totals.setText(total)


class ModelPresetsDialog(QDialog):
    """The preset networks with their engine summaries; a second preset side by side to compare.

    Given a NetworkState, "Use this model" loads the chosen preset through ``net.load_preset`` (one
    undo step), emits ``modelUsed(key)`` and closes; while the layers cannot change (training runs)
    the button is disabled and the dialog says why."""

    modelUsed = Signal(str)  # the preset key now in the Layers panel

    def __init__(self, parent=None, net=None):
        super().__init__(parent)
        self.net = net
        self.setWindowTitle("Preset models")
        self.resize(1200, 620)
        self.presets = model_presets()
        self.list = QListWidget()
        self.list.setToolTip("Choose a preset network")
        for key, p in self.presets.items():
            self.list.addItem(p.name)
            self.list.item(self.list.count() - 1).setData(Qt.UserRole, key)
            self.list.item(self.list.count() - 1).setToolTip(p.description)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.main = SummaryTable()
        self.table, self.totals = self.main.table, self.main.totals
        self.compare_box = QComboBox()
        self.compare_box.setToolTip("Show another preset beside this one: shapes, weights and receptive fields")
        self.compare_box.addItem("(compare with nothing)", None)
        for key, p in self.presets.items():
            self.compare_box.addItem(p.name, key)
        self.compare_box.currentIndexChanged.connect(self._show_compare)
        self.other = SummaryTable()
        self.comparison = QLabel()
        self.comparison.setWordWrap(True)
        self.spec = QPlainTextEdit()
        self.spec.setReadOnly(True)
        self.spec.setToolTip("The model spec: the JSON format the layer panel, sessions and exports share")
        tables = QSplitter()
        tables.addWidget(self.main)
        tables.addWidget(self.other)
        right = QWidget()
        v = QVBoxLayout(right)
        v.addWidget(self.description)
        row = QHBoxLayout()
        row.addWidget(QLabel("Compare with:"))
        row.addWidget(self.compare_box, 1)
        v.addLayout(row)
        v.addWidget(tables, 3)
        v.addWidget(self.comparison)
        v.addWidget(self.spec, 1)
        split = QSplitter()
        split.addWidget(self.list)
        split.addWidget(right)
        split.setSizes([220, 980])
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.button(QDialogButtonBox.Close).setToolTip("Close without changing the layers")
        buttons.rejected.connect(self.reject)
        self.use_button = QPushButton("Use this model")
        self.use_button.setDefault(True)
        self.use_button.clicked.connect(self.use_model)
        buttons.addButton(self.use_button, QDialogButtonBox.ActionRole)
        self.use_reason = QLabel()  # why the model cannot be used now ("" when it can)
        self.use_reason.setWordWrap(True)
        self.use_reason.setStyleSheet("color:#b00")
        self.use_reason.setToolTip("Why the layers cannot change now")
        self.use_button.setVisible(net is not None)
        self.use_reason.setVisible(False)
        bottom = QHBoxLayout()
        bottom.addWidget(self.use_reason, 1)
        bottom.addWidget(buttons)
        lay = QVBoxLayout(self)
        lay.addWidget(split)
        lay.addLayout(bottom)
        self.list.currentRowChanged.connect(self.show_preset)
        self.list.setCurrentRow(0)
        self._sync_use()

    def current_key(self) -> str:
        return self.list.currentItem().data(Qt.UserRole)

    # ------------------------------------------------------------------ using a model

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.net is not None:  # listen only while shown: a closed dialog keeps no connection
            self.net.trainingStateChanged.connect(self._sync_use)
            self._sync_use()

    def hideEvent(self, event) -> None:
        if self.net is not None:
            self.net.trainingStateChanged.disconnect(self._sync_use)
        super().hideEvent(event)

    def use_blocker(self) -> str:
        """Why the chosen model cannot be loaded now ("" when it can)."""
        if self.net is None:
            return "there is no network to load it into"
        blocked = self.net.edit_blocker()
        return f"Cannot use a model now: {blocked}." if blocked else ""

    def _sync_use(self) -> None:
        if self.net is None or self.list.currentItem() is None:
            return
        reason = self.use_blocker()
        name = self.presets[self.current_key()].name
        self.use_button.setEnabled(not reason)
        self.use_button.setToolTip(reason or f"Replace the layers in the Layers panel with {name} and close "
                                   "(one undo step: Edit > Undo brings the old layers back)")
        self.use_reason.setText(reason)
        self.use_reason.setVisible(bool(reason))

    def use_model(self) -> bool:
        """Load the chosen preset into the layers (one undo step) and close; False (the dialog stays,
        saying why) when the layers cannot change now."""
        reason = self.use_blocker()
        if reason:
            self._sync_use()
            return False
        key = self.current_key()
        if not self.net.load_preset(key) and self.net.preset_key != key:
            self._sync_use()  # refused after all (the state said why in the status bar)
            return False
        self.modelUsed.emit(key)
        self.accept()
        return True

    def show_preset(self, row: int) -> None:
        if row < 0:
            return
        p = self.presets[self.list.item(row).data(Qt.UserRole)]
        self.description.setText(f"<b>{p.name}</b>: {p.description}")
        self.main.show_spec(p.name, p.spec)
        self.spec.setPlainText(json.dumps(p.spec, indent=1))
        self.compare_box.setCurrentIndex(max(self.compare_box.findData(p.compare), 0))
        self._show_compare()
        self._sync_use()

    def _show_compare(self, *_) -> None:
        key = self.compare_box.currentData()
        self.other.setVisible(key is not None)
        self.comparison.setVisible(key is not None)
        if key is None:
            return
        mine, other = self.presets[self.current_key()], self.presets[key]
        self.other.show_spec(other.name, other.spec)
        self.comparison.setText(comparison_text(mine, other))


def comparison_text(a, b) -> str:
    """The first convolution stage of two presets side by side: receptive field and weights."""
    parts = []
    for p in (a, b):
        s = Sequential.from_spec(p.spec, seed=0).summary()
        pools = [r for r in s.layers if r.type in ("maxpool2d", "avgpool2d")]
        stop = pools[0].index if pools else len(s.layers)
        convs = [r for r in s.layers[:stop] if r.type == "conv2d"]
        rf = s.layers[stop - 1].rf.size if stop else 1
        parts.append((p.name, len(convs), rf, sum(r.weights for r in convs), s.total_params))
    (na, ca, ra, wa, ta), (nb, cb, rb, wb, tb) = parts
    return (f"Before the first pooling: <b>{na}</b> has {ca} convolution(s) seeing {_pair(ra)} pixels with "
            f"{wa:,} weights; <b>{nb}</b> has {cb} seeing {_pair(rb)} pixels with {wb:,} weights. "
            f"Whole models: {ta:,} vs {tb:,} parameters.")
