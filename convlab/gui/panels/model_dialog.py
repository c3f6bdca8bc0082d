"""The preset models with the engine's summary: shapes, weights, multiply-adds, receptive fields."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QLabel, QListWidget, QPlainTextEdit, QSplitter, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
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
    total = f"{s.total_weights:,} weights + {s.total_biases:,} biases = {s.total_params:,} parameters, {s.total_macs:,} multiply-adds per image"
    return rows, total


class ModelPresetsDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Preset models")
        self.resize(900, 560)
        self.presets = model_presets()
        self.list = QListWidget()
        for key, p in self.presets.items():
            self.list.addItem(p.name)
            self.list.item(self.list.count() - 1).setData(Qt.UserRole, key)
            self.list.item(self.list.count() - 1).setToolTip(p.description)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setToolTip("Every number comes from the engine's model summary")
        self.totals = QLabel()
        self.spec = QPlainTextEdit()
        self.spec.setReadOnly(True)
        self.spec.setToolTip("The model spec: the JSON format the layer panel, sessions and exports share")
        right = QWidget()
        v = QVBoxLayout(right)
        v.addWidget(self.description)
        v.addWidget(self.table, 3)
        v.addWidget(self.totals)
        v.addWidget(self.spec, 2)
        split = QSplitter()
        split.addWidget(self.list)
        split.addWidget(right)
        split.setSizes([220, 680])
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(split)
        lay.addWidget(buttons)
        self.list.currentRowChanged.connect(self.show_preset)
        self.list.setCurrentRow(0)

    def show_preset(self, row: int) -> None:
        if row < 0:
            return
        key = self.list.item(row).data(Qt.UserRole)
        p = self.presets[key]
        self.description.setText(f"<b>{p.name}</b>: {p.description}")
        rows, total = summary_rows(p.spec)
        self.table.setRowCount(len(rows))
        for i, row_values in enumerate(rows):
            for j, text in enumerate(row_values):
                item = QTableWidgetItem(text)
                if j not in (1,):
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.totals.setText(total)
        self.spec.setPlainText(json.dumps(p.spec, indent=1))
