"""Views of a training run: loss/accuracy curves, confusion matrix, class bars and sample galleries.

Pure views: every number is passed in (from NetworkState, which asks the engine); nothing here
trains, evaluates or loads anything.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

TRAIN_COLOR = "#2563eb"
VAL_COLOR = "#ea580c"


# ---------------------------------------------------------------------- curves


class CurvesView(QWidget):
    """Loss and accuracy: the training curve per reported step, validation per epoch (markers)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.loss_plot = pg.PlotWidget(background="w")
        self.acc_plot = pg.PlotWidget(background="w")
        # legends where the curves rarely are: loss falls (top right), accuracy rises (bottom right)
        for plot, label, corner in ((self.loss_plot, "loss", (-10, 10)), (self.acc_plot, "accuracy (%)", (-10, -10))):
            plot.setLabel("bottom", "step")
            plot.setLabel("left", label)
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.addLegend(offset=corner)
            plot.setMenuEnabled(False)
        self.acc_plot.setYRange(0, 100, padding=0.02)
        self.acc_plot.setXLink(self.loss_plot)
        self.loss_plot.setToolTip("Cross-entropy loss: of each reported training batch (line) and of the "
                                  "validation set after every epoch (markers). Lower is better.")
        self.acc_plot.setToolTip("Share of samples classified correctly: training batches (line) and the "
                                 "validation set after every epoch (markers).")
        train_pen = pg.mkPen(TRAIN_COLOR, width=1.5)
        val_pen = pg.mkPen(VAL_COLOR, width=2)
        marker = {"symbol": "o", "symbolSize": 7, "symbolBrush": VAL_COLOR, "symbolPen": None}
        self.train_loss = self.loss_plot.plot(pen=train_pen, name="training (batch)")
        self.val_loss = self.loss_plot.plot(pen=val_pen, name="validation (epoch)", **marker)
        self.train_acc = self.acc_plot.plot(pen=train_pen, name="training (batch)")
        self.val_acc = self.acc_plot.plot(pen=val_pen, name="validation (epoch)", **marker)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.loss_plot)
        lay.addWidget(self.acc_plot)

    def set_history(self, steps, epochs, epoch_steps) -> None:
        """steps: [(step, loss, accuracy)]; epochs: [EpochResult]; epoch_steps: the step each epoch ended at."""
        x = np.asarray([s[0] for s in steps], dtype=float)
        loss = np.asarray([s[1] for s in steps], dtype=float)
        acc = np.asarray([s[2] for s in steps], dtype=float) * 100
        self.train_loss.setData(x, loss)
        self.train_acc.setData(x, acc)
        ex, el, ea = [], [], []
        for e, at in zip(epochs, epoch_steps, strict=False):
            if e.val_loss is None:
                continue
            ex.append(at)
            el.append(e.val_loss)
            ea.append(100 * (e.val_accuracy if e.val_accuracy is not None else np.nan))
        self.val_loss.setData(np.asarray(ex, float), np.asarray(el, float))
        self.val_acc.setData(np.asarray(ex, float), np.asarray(ea, float))

    def clear(self) -> None:
        for item in (self.train_loss, self.val_loss, self.train_acc, self.val_acc):
            item.setData([], [])


# ---------------------------------------------------------------------- confusion matrix


class ConfusionMatrixView(QWidget):
    """counts[true, predicted] as a table of numbers: rows are true classes, columns predictions.

    The diagonal (correct) is shaded green, mistakes red, by their share of the row.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.caption = QLabel("rows: true class · columns: predicted class")
        self.caption.setStyleSheet("color: #555;")
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setMinimumSectionSize(22)
        self.table.setToolTip("Confusion matrix on the validation set: how many samples of each true class "
                              "(row) the model put in each class (column). Hover a cell for details.")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.caption)
        lay.addWidget(self.table)

    def set_matrix(self, counts: np.ndarray, classes) -> None:
        counts = np.asarray(counts)
        k = counts.shape[0]
        names = [str(c) for c in classes]
        self.table.clear()
        self.table.setRowCount(k)
        self.table.setColumnCount(k)
        self.table.setVerticalHeaderLabels(names)
        self.table.setHorizontalHeaderLabels(names)
        totals = counts.sum(axis=1)
        for r in range(k):
            for c in range(k):
                n = int(counts[r, c])
                item = QTableWidgetItem(str(n))
                item.setTextAlignment(Qt.AlignCenter)
                share = n / totals[r] if totals[r] else 0.0
                if n:
                    base = (22, 163, 74) if r == c else (220, 38, 38)
                    alpha = int(40 + 200 * share)
                    item.setBackground(QBrush(QColor(*base, alpha)))
                    if share > 0.6:
                        item.setForeground(QBrush(QColor("white")))
                item.setToolTip(f"true {names[r]}, predicted {names[c]}: {n} sample(s)"
                                f" ({100 * share:.0f}% of the {int(totals[r])} {names[r]} samples)")
                self.table.setItem(r, c, item)

    def clear(self) -> None:
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)

    def total(self) -> int:
        """Sum of the counts shown (read from the cells)."""
        return sum(int(self.table.item(r, c).text())
                   for r in range(self.table.rowCount()) for c in range(self.table.columnCount()))


# ---------------------------------------------------------------------- class bars


class ClassBarsView(pg.PlotWidget):
    """One horizontal bar per class (values in [0, 1], shown as %), class names on the left axis."""

    def __init__(self, title: str = "", parent=None):
        super().__init__(parent, background="w")
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        if title:
            self.setTitle(title, color="#333", size="9pt")
        self.getPlotItem().invertY(True)
        self.setLabel("bottom", "%")
        self.bars: pg.BarGraphItem | None = None
        self.values = np.zeros(0)
        self._texts: list[pg.TextItem] = []
        self._labels: list[str | None] = []  # the text each text item shows

    def set_values(self, values, classes, highlight: int | None = None) -> None:
        """values[k] in [0, 1] (NaN: no data, drawn empty); the bar at ``highlight`` is coloured.

        Called a few times a second during training: with the same classes the bar item, the
        ticks and the text items are reused and only their values change.
        """
        self.values = np.asarray(values, dtype=float)
        k = len(self.values)
        names = [str(c) for c in classes]
        heights = np.nan_to_num(self.values, nan=0.0) * 100
        brushes = [self._brushes[i == highlight] for i in range(k)]
        same = (self.bars is not None and getattr(self, "_names", None) == names
                and len(self._texts) == min(k, 31) * (k <= 30))
        if not same:
            self.clear()
            self._texts = []
            self._names = names
            self.bars = pg.BarGraphItem(x0=np.zeros(k), y=np.arange(k), width=heights, height=0.7,
                                        brushes=brushes, pen=pg.mkPen("#1e3a8a", width=0.5))
            self.addItem(self.bars)
            self.getAxis("left").setTicks([[(i, names[i] if i < len(names) else str(i)) for i in range(k)]])
            if k <= 30:
                for _ in range(k):
                    t = pg.TextItem("", color="#333", anchor=(0, 0.5))
                    self.addItem(t)
                    self._texts.append(t)
            self.setXRange(0, 112, padding=0)
            self.setYRange(-0.6, max(k, 1) - 0.4, padding=0)
        else:
            self.bars.setOpts(width=heights, brushes=brushes)
        if not same:
            self._labels = [None] * len(self._texts)
        for i, t in enumerate(self._texts):
            v = self.values[i]
            text = "n/a" if np.isnan(v) else f"{100 * v:.0f}%"
            if text != self._labels[i]:  # live frames repeat most labels: re-laying text is costly
                self._labels[i] = text
                t.setText(text)
            t.setPos(float(heights[i]) + 1, i)

    _brushes = {True: pg.mkBrush("#ea580c"), False: pg.mkBrush("#60a5fa")}

    def clear_values(self) -> None:
        self.clear()
        self.bars = None
        self._names = None
        self.values = np.zeros(0)
        self._texts = []
        self.getAxis("left").setTicks(None)


# ---------------------------------------------------------------------- sample galleries


def array_to_pixmap(image: np.ndarray, size: int = 56) -> QPixmap:
    """(C, H, W) float in [0, 1] (C = 1 gray, C = 3 RGB) -> a pixmap scaled up with square pixels."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[None]
    u8 = (np.clip(np.nan_to_num(img), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    _, h, w = u8.shape
    if u8.shape[0] >= 3:
        rgb = np.ascontiguousarray(u8[:3].transpose(1, 2, 0))
        q = QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()
    else:
        gray = np.ascontiguousarray(u8[0])
        q = QImage(gray.data, w, h, w, QImage.Format_Grayscale8).copy()
    return QPixmap.fromImage(q).scaled(size, size, Qt.KeepAspectRatio, Qt.FastTransformation)


class SampleGallery(QListWidget):
    """A wrapping grid of small images with captions; clicking one emits its id."""

    sampleClicked = Signal(int)  # the id given for the sample (its position unless ids were passed)

    def __init__(self, icon_size: int = 56, caption_width: int = 120, parent=None):
        super().__init__(parent)
        self.icon = icon_size
        self.setViewMode(QListView.IconMode)
        self.setIconSize(QSize(icon_size, icon_size))
        self.setGridSize(QSize(caption_width, icon_size + 34))
        self.setResizeMode(QListView.Adjust)
        self.setMovement(QListView.Static)
        self.setWrapping(True)
        self.setWordWrap(True)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.ids: list[int] = []
        self.itemClicked.connect(self._clicked)

    def set_samples(self, images: np.ndarray, captions, ids=None, tooltips=None) -> None:
        """images (N, C, H, W) float in [0, 1]; one caption per image."""
        self.clear()
        self.ids = [int(i) for i in ids] if ids is not None else list(range(len(images)))
        for i, img in enumerate(images):
            item = QListWidgetItem(array_to_pixmap(img, self.icon), str(captions[i]))
            item.setTextAlignment(Qt.AlignHCenter | Qt.AlignTop)
            item.setToolTip(str(tooltips[i]) if tooltips is not None else str(captions[i]))
            item.setData(Qt.UserRole, self.ids[i])
            self.addItem(item)

    def _clicked(self, item: QListWidgetItem) -> None:
        self.sampleClicked.emit(int(item.data(Qt.UserRole)))


class DatasetPreview(SampleGallery):
    """The first few samples of every class; sampleClicked carries the sample's index in the set."""

    def __init__(self, parent=None):
        super().__init__(icon_size=40, caption_width=64, parent=parent)

    def set_dataset(self, x: np.ndarray, y: np.ndarray, classes, per_class: int = 3, limit: int = 60) -> None:
        names = [str(c) for c in classes]
        per_class = max(1, min(per_class, limit // max(len(names), 1)))
        picked = []
        for k in range(len(names)):
            picked.extend(np.flatnonzero(y == k)[:per_class].tolist())
        picked = picked[:limit]
        self.set_samples(x[picked], [names[int(y[i])] for i in picked], ids=picked,
                         tooltips=[f"sample {i}: class {names[int(y[i])]} (click to look at it)" for i in picked])
