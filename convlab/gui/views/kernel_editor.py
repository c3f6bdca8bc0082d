"""The kernel editor of the filter playground: one filter shown as editable grids of numbers.

It is a view. It never owns the truth and never writes into the arrays it is given: it shows
one filter (one F x F grid per input channel plus the bias) and emits what the user asks for.
The panel turns those intents into undoable commands and calls :meth:`KernelEditor.set_filter`
again with the result.

Signals
    ``cellEdited(channel, row, col, value)``  a weight was typed (or zeroed with Delete)
    ``biasEdited(value)``                    the bias was typed
    ``normalizeRequested()``, ``zeroRequested()``, ``randomizeRequested()``  button intents
    ``sizeRequested(F)``                     the kernel size spin box was changed by the user
    ``message(text)``                        a one-line explanation, e.g. for invalid input

Cells accept plain numbers, fractions such as ``1/16`` and small expressions of numbers with
``+ - * /`` and parentheses, parsed by :func:`parse_number` (a recursive-descent parser on exact
fractions, no ``eval``).
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from convlab.core.kernels import MAX_KERNEL_SIZE as MAX_KERNEL
from convlab.core.number_text import exact_text, format_value, parse_number

from .kernel_cells import BiasEdit, KernelGrid, default_channel_names, diverging_color, text_color

MAX_GRID_HEIGHT = 520  # px: taller grids (11 x 11 x 3) scroll inside the editor


class _GridScroll(QScrollArea):
    """The scroll area of the grids: it asks for the height of all the grids it holds (up to
    MAX_GRID_HEIGHT), so they show whole even inside a scrolling panel, however often the grids
    are rebuilt (gray <-> RGB, another F)."""

    _wide = False  # the grids are wider than the area: a horizontal scroll bar takes height

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        body = self.widget()
        if body is not None:
            need = body.sizeHint()
            height = need.height() + 6
            if need.width() > self.width():
                height += self.horizontalScrollBar().sizeHint().height()
            hint.setHeight(min(height, MAX_GRID_HEIGHT))
        return hint

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        body = self.widget()
        wide = body is not None and body.sizeHint().width() > self.width()
        if wide != self._wide:
            self._wide = wide
            self.updateGeometry()

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        hint.setHeight(max(hint.height(), self.minimumSizeHint().height()))
        return hint


class KernelEditor(QWidget):
    """Editable view of one filter: C grids of F x F weights, the bias, and intent buttons."""

    cellEdited = Signal(int, int, int, float)
    biasEdited = Signal(float)
    normalizeRequested = Signal()
    zeroRequested = Signal()
    randomizeRequested = Signal()
    sizeRequested = Signal(int)
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._values: np.ndarray | None = None      # private copy of what is shown
        self._bias = 0.0
        self._names: list[str] = []
        self._scale = 0.0
        self._read_only = False
        self._grids: list[KernelGrid] = []
        self._grid_labels: list[QLabel] = []
        self._setting = False

        self.title_label = QLabel()
        bold = QFont(self.title_label.font())
        bold.setBold(True)
        self.title_label.setFont(bold)
        self.title_label.setVisible(False)

        self._placeholder = QLabel("No filter selected.")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self._grid_host = QWidget()
        self._grid_layout = QGridLayout(self._grid_host)
        self._grid_layout.setContentsMargins(2, 2, 2, 2)
        self._grid_layout.setHorizontalSpacing(10)
        self._grid_layout.setVerticalSpacing(6)
        self._grid_layout.addWidget(self._placeholder, 0, 0)

        self.scroll = _GridScroll()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self._grid_host)

        self.bias_edit = BiasEdit()
        self.bias_edit.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.bias_edit.setMaximumWidth(140)
        self.bias_edit.setToolTip("The bias is added to every output pixel after the weighted sum; "
                                  "type a number, a fraction like 1/16 or a sum, then press Enter.")
        self.bias_edit.editingFinished.connect(self._on_bias_finished)
        self.bias_edit.escaped.connect(self._show_bias)
        bias_label = QLabel("Bias:")
        bias_label.setBuddy(self.bias_edit)
        bias_label.setToolTip(self.bias_edit.toolTip())

        self.count_label = QLabel()
        self.info_label = QLabel()
        self.info_label.setToolTip("The sum of all weights tells how the filter changes brightness "
                                   "(1 keeps it, 0 keeps only edges); colours run from blue (negative) "
                                   "through white (zero) to red (positive) at the largest |weight|.")

        self.size_spin = QSpinBox()
        self.size_spin.setRange(1, MAX_KERNEL)
        self.size_spin.setKeyboardTracking(False)
        self.size_spin.setPrefix("F = ")
        self.size_spin.setToolTip("Kernel size F: the filter becomes F x F per channel "
                                  "(existing weights are kept where they fit).")
        self.size_spin.valueChanged.connect(self._on_size_changed)

        self.normalize_button = QPushButton("Normalise")
        self.normalize_button.setToolTip("Divide by the sum so the filter keeps the image's brightness "
                                         "(zero-sum filters: by the sum of absolute values).")
        self.normalize_button.clicked.connect(self.normalizeRequested)
        self.zero_button = QPushButton("Zero")
        self.zero_button.setToolTip("Set every weight and the bias to 0, a blank filter to draw on.")
        self.zero_button.clicked.connect(self.zeroRequested)
        self.randomize_button = QPushButton("Randomise")
        self.randomize_button.setToolTip("Fill the weights with small random numbers, as a network "
                                         "starts before training.")
        self.randomize_button.clicked.connect(self.randomizeRequested)

        bias_row = QHBoxLayout()
        bias_row.addWidget(bias_label)
        bias_row.addWidget(self.bias_edit)
        bias_row.addSpacing(12)
        bias_row.addWidget(self.count_label)
        bias_row.addStretch(1)

        buttons = QHBoxLayout()
        buttons.addWidget(self.size_spin)
        buttons.addWidget(self.normalize_button)
        buttons.addWidget(self.zero_button)
        buttons.addWidget(self.randomize_button)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title_label)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(bias_row)
        layout.addWidget(self.info_label)
        layout.addLayout(buttons)

        self._update_enabled()

    # ---------------------------------------------------------------------------- public API

    def set_filter(self, weights, bias: float, channel_names: list[str] | None = None,
                   title: str = "") -> None:
        """Show one filter of shape (C, F, F). Same shape: values update in place (no rebuild,
        focus and selection kept, no edit signals). Another shape: the grids are rebuilt."""
        arr = np.array(weights, copy=True)
        if arr.ndim != 3:
            raise ValueError(f"weights must have shape (C, F, F), got {arr.shape}")
        c, f, f2 = arr.shape
        if f != f2:
            raise ValueError(f"the kernel must be square, got {f} x {f2}")
        if not 1 <= f <= MAX_KERNEL:
            raise ValueError(f"kernel size must be 1..{MAX_KERNEL}, got {f}")
        if c < 1:
            raise ValueError("the filter needs at least one channel")
        if not np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float64)
        names = list(channel_names) if channel_names is not None else default_channel_names(c)
        if len(names) != c:
            raise ValueError(f"{len(names)} channel names for {c} channels")
        bias = float(bias)

        self._setting = True
        try:
            if self._values is None or self._values.shape != arr.shape:
                self._rebuild(c, f)
                old = None
            else:
                old = self._values
            finite = np.abs(arr[np.isfinite(arr)])
            scale = float(finite.max()) if finite.size else 0.0
            rescale = old is None or scale != self._scale or old.dtype != arr.dtype
            self._values = arr
            self._scale = scale
            if rescale:
                changed = np.ones(arr.shape, dtype=bool)
            else:
                same = (old == arr) | (np.isnan(old) & np.isnan(arr))
                same &= np.signbit(old) == np.signbit(arr)
                changed = ~same
            for ch, r, col in zip(*np.nonzero(changed), strict=True):
                self._paint_cell(int(ch), int(r), int(col))
            for i, name in enumerate(names):
                self._grid_labels[i].setText(name)
                self._grid_labels[i].setToolTip(f"Weights applied to input channel {name!r}")
            self._names = names
            self._bias = bias
            if not (self.bias_edit.hasFocus() and self.bias_edit.isModified()):
                self._show_bias()
            self.title_label.setText(title)
            self.title_label.setVisible(bool(title))
            self.size_spin.setValue(f)
            self._update_labels()
        finally:
            self._setting = False
        self._update_enabled()

    def clear(self) -> None:
        """Show no filter."""
        self._setting = True
        try:
            self._rebuild(0, 0)
            self._values = None
            self._names = []
            self._bias = 0.0
            self.bias_edit.setText("")
            self.count_label.setText("")
            self.info_label.setText("")
            self.title_label.setVisible(False)
        finally:
            self._setting = False
        self._update_enabled()

    def set_read_only(self, read_only: bool) -> None:
        """Read-only: cells, bias, size and buttons cannot change the filter (it is still shown)."""
        self._read_only = bool(read_only)
        for grid in self._grids:
            if read_only:
                grid.cancel_edit()
            grid.set_read_only(self._read_only)
        self.bias_edit.setReadOnly(self._read_only)
        self._update_enabled()

    def is_read_only(self) -> bool:
        return self._read_only

    def has_filter(self) -> bool:
        return self._values is not None

    def channel_count(self) -> int:
        return 0 if self._values is None else int(self._values.shape[0])

    def kernel_size(self) -> int:
        return 0 if self._values is None else int(self._values.shape[1])

    def channel_names(self) -> list[str]:
        return list(self._names)

    def grid(self, channel: int) -> QTableWidget:
        """The table of one channel (for tests and focus handling)."""
        return self._grids[channel]

    def cell_value(self, channel: int, row: int, col: int) -> float:
        """The value the cell shows (full precision; the cell text rounds to 4 digits)."""
        self._check_index(channel, row, col)
        return float(self._values[channel, row, col])

    def cell_text(self, channel: int, row: int, col: int) -> str:
        self._check_index(channel, row, col)
        return self._grids[channel].item(row, col).text()

    def bias_value(self) -> float:
        return self._bias

    def edit_cell(self, channel: int, row: int, col: int, text: str) -> bool:
        """Simulate the user typing ``text`` into a cell and pressing Enter (same commit path as
        the cell editor). Return True if the text was accepted as a number."""
        self._check_index(channel, row, col)
        return self._commit_text(channel, row, col, text)

    def edit_bias(self, text: str) -> bool:
        """Simulate the user typing ``text`` into the bias field and pressing Enter."""
        self.bias_edit.setText(text)
        self.bias_edit.setModified(True)
        return self._commit_bias()

    # ---------------------------------------------------------------------------- internals

    def _check_index(self, channel: int, row: int, col: int) -> None:
        if self._values is None:
            raise IndexError("no filter is shown")
        c, f, _ = self._values.shape
        if not (0 <= channel < c and 0 <= row < f and 0 <= col < f):
            raise IndexError(f"cell ({channel}, {row}, {col}) is outside a {c} x {f} x {f} filter")

    def _rebuild(self, c: int, f: int) -> None:
        for w in self._grids + self._grid_labels:
            self._grid_layout.removeWidget(w)
            w.hide()
            w.deleteLater()   # not deleted now: a signal handler may still be running inside it
        self._grids, self._grid_labels = [], []
        layout = self._grid_layout
        for i in range(layout.rowCount()):          # the stretch of the last layout stays behind
            layout.setRowStretch(i, 0)
        for i in range(layout.columnCount()):
            layout.setColumnStretch(i, 0)
        self._placeholder.setVisible(c == 0)
        if c == 0:
            self.scroll.updateGeometry()
            return
        if c <= 3:
            cols = c
        else:
            cols = max(1, min(c, math.ceil(math.sqrt(c)), 4 if f <= 5 else 2))
        for ch in range(c):
            box_row, box_col = divmod(ch, cols)
            label = QLabel()
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
            grid = KernelGrid(self, ch, f)
            grid.set_read_only(self._read_only)
            layout.addWidget(label, 2 * box_row, box_col)
            layout.addWidget(grid, 2 * box_row + 1, box_col, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            # Shown now, not at Qt's next pass (which a layout added to a visible parent waits
            # for): the layout counts only visible widgets, so the size it asks for is right at once.
            label.show()
            grid.show()
            self._grid_labels.append(label)
            self._grids.append(grid)
        layout.setRowStretch(2 * ((c - 1) // cols) + 2, 1)
        layout.setColumnStretch(cols, 1)
        if self._grids:
            self.setFocusProxy(self._grids[0])
        self.scroll.updateGeometry()  # its minimum height follows the new grids (_GridScroll)

    def _paint_cell(self, ch: int, r: int, col: int) -> None:
        v = float(self._values[ch, r, col])
        item = self._grids[ch].item(r, col)
        bg = diverging_color(v, self._scale)
        item.setText(format_value(v))
        item.setBackground(bg)
        item.setForeground(text_color(bg))

    def _cell_tooltip(self, ch: int, r: int, col: int) -> str:
        if self._values is None or ch >= self._values.shape[0]:
            return ""
        name = self._names[ch] if ch < len(self._names) else f"ch {ch}"
        hint = "" if self._read_only else " (type a number or 1/16, Enter commits, Delete sets 0)"
        return f"{name}, row {r}, column {col}: {exact_text(self._values[ch, r, col])}{hint}"

    def _exact_cell_text(self, ch: int, r: int, col: int) -> str:
        return exact_text(self._values[ch, r, col])

    def _update_labels(self) -> None:
        c, f, _ = self._values.shape
        n = c * f * f
        self.count_label.setText(f"{f} x {f} x {c} = {n} weight{'s' if n != 1 else ''} + 1 bias")
        self.count_label.setToolTip(
            f"{f} rows x {f} columns x {c} input channel{'s' if c != 1 else ''} = {n} "
            f"weight{'s' if n != 1 else ''}, plus one bias: {n + 1} learnable numbers.")
        total = float(np.sum(self._values, dtype=np.float64))
        if abs(total) <= 1e-9 * float(np.sum(np.abs(self._values), dtype=np.float64)):
            total = 0.0                                   # rounding noise of a zero-sum filter
        self.info_label.setText(f"Sum of weights: {format_value(total)}    "
                                f"colour scale: ±{format_value(self._scale)}")

    def _update_enabled(self) -> None:
        editable = self._values is not None and not self._read_only
        for w in (self.normalize_button, self.zero_button, self.randomize_button, self.size_spin):
            w.setEnabled(editable)
        self.bias_edit.setEnabled(self._values is not None)

    def _refuse_read_only(self) -> bool:
        if self._read_only:
            self.message.emit("This filter is read-only here.")
            return True
        return False

    def _commit_text(self, ch: int, r: int, col: int, text: str) -> bool:
        """The single commit path of a cell: parse, then revert with a message or emit."""
        if self._values is None or self._refuse_read_only():
            return False
        try:
            value = parse_number(text)
        except ValueError as exc:
            old = self._exact_cell_text(ch, r, col)
            self._paint_cell(ch, r, col)          # revert what the cell shows
            self.message.emit(f"{exc}; the cell keeps {old}.")
            return False
        self._commit_value(ch, r, col, value)
        return True

    def _commit_value(self, ch: int, r: int, col: int, value: float) -> None:
        old = self._values[ch, r, col]
        as_dtype = self._values.dtype.type(value)
        if as_dtype == old and np.signbit(as_dtype) == np.signbit(old):
            self._paint_cell(ch, r, col)
            return
        # Show the user's value until the panel answers with set_filter (usually right away,
        # inside the emit below, which then overrides this with the truth).
        values = self._values.copy()
        values[ch, r, col] = as_dtype
        self._values = values
        finite = np.abs(values[np.isfinite(values)])
        scale = float(finite.max()) if finite.size else 0.0
        if scale != self._scale:
            self._scale = scale
            for idx in np.ndindex(values.shape):
                self._paint_cell(*idx)
        else:
            self._paint_cell(ch, r, col)
        self._update_labels()
        self.cellEdited.emit(ch, r, col, float(value))

    def _delete_cell(self, ch: int, r: int, col: int) -> None:
        if self._values is None or self._refuse_read_only():
            return
        self._commit_value(ch, r, col, 0.0)

    def _show_bias(self) -> None:
        self.bias_edit.setText(exact_text(self._bias) if self._values is not None else "")
        self.bias_edit.setCursorPosition(0)

    def _on_bias_finished(self) -> None:
        if self.bias_edit.isModified():
            self._commit_bias()

    def _commit_bias(self) -> bool:
        text = self.bias_edit.text()
        self.bias_edit.setModified(False)
        if self._values is None or self._refuse_read_only():
            self._show_bias()
            return False
        try:
            value = parse_number(text)
        except ValueError as exc:
            self._show_bias()
            self.message.emit(f"{exc}; the bias keeps {exact_text(self._bias)}.")
            return False
        if value == self._bias:
            self._show_bias()
            return True
        self._bias = value
        self._show_bias()
        self.biasEdited.emit(value)
        return True

    def _on_size_changed(self, f: int) -> None:
        if self._setting or self._values is None:
            return
        if self._read_only:
            self._setting = True
            self.size_spin.setValue(self.kernel_size())
            self._setting = False
            return
        if f != self.kernel_size():
            self.sizeRequested.emit(int(f))

