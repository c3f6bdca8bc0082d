"""The cells of the kernel editor: one F x F grid of weights per channel, tinted blue - white -
red by value, with an in-place number editor, and the bias field (see kernel_editor.py)."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeyEvent, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QToolTip,
)

CELL_PX = 44

_WHITE = (255, 255, 255)
_NEG = (33, 102, 172)   # blue end of the diverging scale
_POS = (178, 24, 43)    # red end
_NONFINITE = (190, 190, 190)

def diverging_color(v: float, scale: float) -> QColor:
    """Blue for negative, white for zero, red for positive; full colour at ``|v| = scale``."""
    v = float(v)
    if not math.isfinite(v):
        return QColor(*_NONFINITE)
    if scale <= 0 or not math.isfinite(scale) or v == 0:
        return QColor(*_WHITE)
    t = min(1.0, abs(v) / scale)
    end = _POS if v > 0 else _NEG
    return QColor(*(round(w + (e - w) * t) for w, e in zip(_WHITE, end, strict=True)))


def text_color(bg: QColor) -> QColor:
    lum = 0.299 * bg.red() + 0.587 * bg.green() + 0.114 * bg.blue()
    return QColor(255, 255, 255) if lum < 140 else QColor(0, 0, 0)


def default_channel_names(c: int) -> list[str]:
    if c == 3:
        return ["R", "G", "B"]
    if c == 1:
        return ["Gray"]
    return [f"ch {i}" for i in range(c)]


# --------------------------------------------------------------------------------------------
# Widgets
# --------------------------------------------------------------------------------------------

class _CellDelegate(QStyledItemDelegate):
    """Opens a line editor holding the exact value and routes commits to the editor's single
    commit path. Paints the selection as a frame so the value tint stays visible."""

    def __init__(self, grid: KernelGrid):
        super().__init__(grid)
        self._grid = grid

    def createEditor(self, parent, option, index):
        editor = QLineEdit(parent)
        editor.setFrame(False)
        editor.setAlignment(Qt.AlignmentFlag.AlignCenter)
        editor.setFont(self._grid.font())
        return editor

    def setEditorData(self, editor, index):
        editor.setText(self._grid.exact_text(index.row(), index.column()))

    def setModelData(self, editor, model, index):
        # Never writes the model directly: the KernelEditor decides (parse, revert or emit).
        self._grid.commit_requested(index.row(), index.column(), editor.text())

    def paint(self, painter, option, index):
        opt = QStyleOptionViewItem(option)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        opt.state &= ~QStyle.StateFlag.State_Selected
        opt.state &= ~QStyle.StateFlag.State_HasFocus
        super().paint(painter, opt, index)
        if selected:
            painter.save()
            pen = QPen(option.palette.color(QPalette.ColorRole.Highlight), 3)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            painter.setPen(pen)
            painter.drawRect(option.rect.adjusted(1, 1, -2, -2))
            painter.restore()

    def helpEvent(self, event, view, option, index):
        # Tooltips are made when asked for, so value updates set fewer item roles.
        if event.type() == QEvent.Type.ToolTip and index.isValid():
            QToolTip.showText(event.globalPos(), self._grid.tooltip_text(index.row(), index.column()),
                              view)
            return True
        return super().helpEvent(event, view, option, index)


def _cell_font(base: QFont) -> QFont:
    """The largest font (at most the base size) in which any 7-character number fits a cell."""
    font = QFont(base)
    size = font.pointSizeF() if font.pointSizeF() > 0 else 9.0
    while size > 5.5:
        font.setPointSizeF(size)
        if QFontMetrics(font).horizontalAdvance("00.0000") <= CELL_PX - 8:
            break
        size -= 0.5
    return font


class KernelGrid(QTableWidget):
    """One F x F grid of one input channel."""

    def __init__(self, editor, channel: int, f: int):  # editor: the KernelEditor that owns the grid
        super().__init__(f, f)
        self._editor = editor
        self.channel = channel
        self.setFont(_cell_font(self.font()))
        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.setVisible(False)
            header.setMinimumSectionSize(8)
            header.setDefaultSectionSize(CELL_PX)
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setWordWrap(False)
        self.setItemDelegate(_CellDelegate(self))
        self.setTabKeyNavigation(True)
        flags = (Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsEditable)
        align = Qt.AlignmentFlag.AlignCenter
        for r in range(f):
            for c in range(f):
                item = QTableWidgetItem("0")
                item.setFlags(flags)
                item.setTextAlignment(align)
                self.setItem(r, c, item)
        side = f * CELL_PX + 2 * self.frameWidth()
        self.setFixedSize(side, side)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.set_read_only(False)

    def set_read_only(self, read_only: bool) -> None:
        if read_only:
            self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        else:
            self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                 | QAbstractItemView.EditTrigger.EditKeyPressed
                                 | QAbstractItemView.EditTrigger.AnyKeyPressed)

    def cancel_edit(self) -> None:
        """Close an open cell editor without committing it."""
        if self.state() == QAbstractItemView.State.EditingState:
            editor = self.indexWidget(self.currentIndex())
            if editor is not None:
                self.closeEditor(editor, QAbstractItemDelegate.EndEditHint.RevertModelCache)

    def exact_text(self, row: int, col: int) -> str:
        return self._editor._exact_cell_text(self.channel, row, col)

    def tooltip_text(self, row: int, col: int) -> str:
        return self._editor._cell_tooltip(self.channel, row, col)

    def commit_requested(self, row: int, col: int, text: str) -> None:
        self._editor._commit_text(self.channel, row, col, text)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if (event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
                and event.modifiers() in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)
                and self.state() != QAbstractItemView.State.EditingState):
            index = self.currentIndex()
            if index.isValid():
                self._editor._delete_cell(self.channel, index.row(), index.column())
            event.accept()
            return
        super().keyPressEvent(event)


class BiasEdit(QLineEdit):
    """A line edit that reverts on Escape."""

    escaped = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.isModified():
            self.setModified(False)
            self.escaped.emit()
            event.accept()
            return
        super().keyPressEvent(event)
