"""The Layers panel: the model as a table of layers with their shapes, parameters and receptive fields.

Every number in the table comes from ``NetworkState.report`` (the engine's ``analyze_spec``); the
panel never computes a shape. Every edit (a preset, the input shape, a layer setting, add, remove,
duplicate, move, JSON) is one ``NetworkState`` call and so one undo step; the table is rebuilt from
the state on ``specChanged`` with its own signals quiet, so showing a value never edits it.
"""

from __future__ import annotations

import json
import numbers
import re
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QEvent, QMimeData, QPoint, QRect, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QDrag, QFontDatabase, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QHBoxLayout,
    QHeaderView, QLabel, QLineEdit, QMenu, QPlainTextEdit, QSpinBox, QTableWidget, QTableWidgetItem,
    QToolButton, QVBoxLayout, QWidget,
)

from convlab.core.functional import PADDING_MODES
from convlab.core.layers import LAYER_TYPES
from convlab.core.presets import model_presets

from ..network_state import LAYER_KINDS, NetworkState

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
RED, AMBER, GREEN = "#c62828", "#b26a00", "#2e7d32"
CUSTOM_DESCRIPTION = ("Custom layers: edited by hand from a preset or as JSON. "
                      "Pick a preset to start again from a known model.")


def _size_text(v) -> str:
    return f"{v[0]}x{v[1]}" if isinstance(v, (tuple, list)) else str(v)


# --------------------------------------------------------------------------- the settings of one layer


@dataclass(frozen=True)
class FieldInfo:
    kind: str  # int | size (an int or a pair [h, w]) | float | bool | choice
    default: object  # shown when the key is absent (None: required, or "= kernel" for a pool stride)
    lo: float = 0
    hi: float = 0
    label: str = ""
    tip: str = ""
    auto: str = ""  # special text for the value None (pool stride: "= kernel")


# The spec defaults the engine applies (convlab.core.layers), for display only: which fields a type
# has comes from the engine's LAYER_TYPES[type].fields.
FIELDS = {
    "filters": FieldInfo("int", None, 1, 4096, "filters", "How many filters: the depth of the output maps"),
    "kernel": FieldInfo("size", None, 1, 99, "kernel", "Kernel (window) size in pixels; a non-square "
                        "[h, w] pair shows as 3x5 and can be typed as 3x5"),
    "stride": FieldInfo("size", 1, 1, 99, "stride", "How many pixels the window moves between outputs"),
    "padding": FieldInfo("size", 0, 0, 99, "pad", "Pixels added around the input on every side"),
    "dilation": FieldInfo("size", 1, 1, 99, "dilation", "Spacing between kernel taps: the kernel covers "
                          "dilation*(kernel-1)+1 pixels with the same number of weights"),
    "padding_mode": FieldInfo("choice", "zeros", label="", tip="What the padded pixels hold: zeros, a "
                              "mirror of the image (reflect) or copies of the edge pixel (replicate)"),
    "bias": FieldInfo("bool", True, label="bias", tip="Learn one bias per filter or unit"),
    "slope": FieldInfo("float", 0.01, 0.0, 1.0, "slope", "Leaky ReLU: the slope for negative inputs"),
    "rate": FieldInfo("float", 0.5, 0.0, 0.99, "rate", "Dropout: the fraction of values zeroed while "
                      "training (none are dropped when the model is used)"),
    "units": FieldInfo("int", None, 1, 100000, "units", "How many outputs this fully connected layer has"),
}
POOL_STRIDE = FieldInfo("size", None, 0, 99, "stride", "How many pixels the window moves; "
                        "'= kernel' (0) means as many as the window is wide (no overlap)", auto="= kernel")


def field_info(layer_type: str, field: str) -> FieldInfo:
    if field == "stride" and layer_type in ("maxpool2d", "avgpool2d"):
        return POOL_STRIDE
    return FIELDS[field]


def layer_fields(layer_type) -> tuple[str, ...]:
    cls = LAYER_TYPES.get(layer_type) if isinstance(layer_type, str) else None
    return tuple(f for f in cls.fields if f in FIELDS) if cls is not None else ()


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _square(value):
    """A size pair [n, n] is the int n (as the engine reads it); anything else unchanged."""
    if isinstance(value, list) and len(value) == 2 and all(_is_int(x) for x in value) and value[0] == value[1]:
        return value[0]
    return value


def editor_kind(info: FieldInfo, value) -> str:
    """The editor a value gets: a spin box where it fits one, else a text field showing it as it is."""
    if info.kind == "size":
        value = _square(value)
    if info.kind in ("int", "size"):
        if (_is_int(value) and info.lo <= value <= info.hi) or (value is None and info.auto):
            return "int"
        return "text"  # a pair [h, w], a missing required value, or something the engine will refuse
    if info.kind == "float":
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and info.lo <= value <= info.hi
        return "float" if ok else "text"
    if info.kind == "bool":
        return "bool" if isinstance(value, bool) else "text"
    return "choice" if value in PADDING_MODES else "text"


_PAIR = re.compile(r"^\s*(\d+)\s*[x\u00d7,*]\s*(\d+)\s*$")


def parse_setting(text: str):
    """Text typed into a setting: "" -> None (the default), "3x5" -> [3, 5], "5x5" -> 5, else JSON or the text."""
    text = text.strip()
    if not text:
        return None
    m = _PAIR.match(text)
    if m:
        h, w = int(m.group(1)), int(m.group(2))
        return h if h == w else [h, w]
    try:
        v = json.loads(text)
    except ValueError:
        return text
    if isinstance(v, list) and len(v) == 2 and all(_is_int(x) for x in v) and v[0] == v[1]:
        return v[0]
    return v


def setting_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list) and len(value) == 2 and all(_is_int(x) for x in value):
        return _size_text(value)
    return value if isinstance(value, str) else json.dumps(value)


class _NoWheelUnlessFocused:
    """Spin boxes and combos in table rows: the wheel scrolls the table unless the editor has focus."""

    def wheelEvent(self, event):
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class _Spin(_NoWheelUnlessFocused, QSpinBox):
    pass


class _DoubleSpin(_NoWheelUnlessFocused, QDoubleSpinBox):
    pass


class _Combo(_NoWheelUnlessFocused, QComboBox):
    pass


class LayerSettingsEditor(QWidget):
    """A compact row of editors for one layer's fields. ``edited(index, field, value)``: value None
    removes the key (the engine's default). Values are shown with ``set_entry`` without emitting."""

    edited = Signal(int, str, object)
    focused = Signal(int)

    def __init__(self, index: int, entry: dict, parent=None):
        super().__init__(parent)
        self.index = index
        self.layer_type = entry.get("type")
        self.signature = self.signature_of(entry)
        self.editors: dict[str, QWidget] = {}
        lay = QHBoxLayout(self)
        lay.setContentsMargins(2, 0, 2, 0)
        lay.setSpacing(4)
        for field, kind in self.signature:
            info = field_info(self.layer_type, field)
            if info.label and kind != "bool":
                label = QLabel(info.label)
                label.setToolTip(info.tip)
                lay.addWidget(label)
            w = self._make(field, info, kind)
            w.setToolTip(f"{field}: {info.tip}")
            w.installEventFilter(self)
            self.editors[field] = w
            lay.addWidget(w)
        if not self.signature:
            label = QLabel("no settings" if self.layer_type in LAYER_TYPES else "")
            label.setEnabled(False)
            label.setToolTip("This layer has nothing to set")
            lay.addWidget(label)
        lay.addStretch(1)
        self.setToolTip("The layer's settings: each change is one undo step")
        self.set_entry(entry)
        self._connect()

    @staticmethod
    def signature_of(entry: dict) -> tuple:
        t = entry.get("type")
        return tuple((f, editor_kind(field_info(t, f), entry.get(f, field_info(t, f).default)))
                     for f in layer_fields(t))

    def _make(self, field: str, info: FieldInfo, kind: str) -> QWidget:
        if kind == "int":
            w = _Spin()
            w.setRange(int(info.lo), int(info.hi))
            w.setKeyboardTracking(False)  # typing "16" is one edit, not "1" then "16"
            w.setFocusPolicy(Qt.StrongFocus)
            if info.auto:
                w.setSpecialValueText(info.auto)
        elif kind == "float":
            w = _DoubleSpin()
            w.setRange(info.lo, info.hi)
            w.setDecimals(3 if field == "slope" else 2)
            w.setSingleStep(0.01 if field == "slope" else 0.05)
            w.setKeyboardTracking(False)
            w.setFocusPolicy(Qt.StrongFocus)
        elif kind == "bool":
            w = QCheckBox(info.label)
        elif kind == "choice":
            w = _Combo()
            w.addItems(list(PADDING_MODES))
            w.setFocusPolicy(Qt.StrongFocus)
        else:
            w = QLineEdit()
            w.setPlaceholderText("required" if info.default is None and not info.auto else "default")
            w.setMaximumWidth(72)
        return w

    def set_entry(self, entry: dict) -> None:
        """Show an entry's values (same signature) without emitting edits."""
        for field, kind in self.signature:
            info = field_info(self.layer_type, field)
            value = entry.get(field, info.default)
            w = self.editors[field]
            with QSignalBlocker(w):
                if kind == "int":
                    w.setValue(0 if value is None else int(_square(value)))
                elif kind == "float":
                    w.setValue(float(value))
                elif kind == "bool":
                    w.setChecked(bool(value))
                elif kind == "choice":
                    w.setCurrentText(value)
                else:
                    w.setText(setting_text(entry.get(field)))

    def _connect(self) -> None:
        for field, kind in self.signature:
            w = self.editors[field]
            auto = bool(field_info(self.layer_type, field).auto)
            if kind == "int":
                w.valueChanged.connect(lambda v, f=field, a=auto: self._emit(f, None if (a and v == 0) else int(v)))
            elif kind == "float":
                w.valueChanged.connect(lambda v, f=field: self._emit(f, round(float(v), 6)))
            elif kind == "bool":
                w.toggled.connect(lambda v, f=field: self._emit(f, bool(v)))
            elif kind == "choice":
                w.currentTextChanged.connect(lambda v, f=field: self._emit(f, v))
            else:
                w.editingFinished.connect(lambda f=field, w=w: self._emit(f, parse_setting(w.text())))

    def _emit(self, field: str, value) -> None:
        self.edited.emit(self.index, field, value)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.FocusIn:
            self.focused.emit(self.index)
        return False


# --------------------------------------------------------------------------- the table


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


class SpecJsonDialog(QDialog):
    """The spec as JSON text: Apply replaces the spec (one undo step); a refused text stays here
    with the reason in red and the spec unchanged."""

    def __init__(self, net: NetworkState, parent=None):
        super().__init__(parent)
        self.net = net
        self.setWindowTitle("Model spec as JSON")
        self.resize(520, 620)
        self.editor = QPlainTextEdit()
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.editor.setToolTip('The model spec: {"input": [C, H, W], "layers": [{"type": ..., ...}, ...]}; '
                               "the same JSON that sessions and preset files hold")
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.error_label.setToolTip("Why the text was not taken, or what the applied spec gets wrong")
        self.error_label.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Apply | QDialogButtonBox.Reset
                                   | QDialogButtonBox.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.Ok)
        self.apply_button = buttons.button(QDialogButtonBox.Apply)
        self.reset_button = buttons.button(QDialogButtonBox.Reset)
        self.cancel_button = buttons.button(QDialogButtonBox.Cancel)
        self.ok_button.setToolTip("Apply the text and close (stays open if the text is refused)")
        self.apply_button.setToolTip("Replace the model with this spec (one undo step)")
        self.reset_button.setText("Reload")
        self.reset_button.setToolTip("Throw away the text and show the current spec again")
        self.cancel_button.setToolTip("Close without applying")
        self.apply_button.clicked.connect(self.apply)
        self.reset_button.clicked.connect(self.load)
        buttons.accepted.connect(self._ok)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.editor)
        lay.addWidget(self.error_label)
        lay.addWidget(buttons)

    def load(self) -> None:
        self.editor.setPlainText(json.dumps(self.net.spec, indent=2))
        self._show("", RED)

    def apply(self) -> bool:
        """True when the text was taken (the spec may still mark a layer that cannot work)."""
        if self.net.training != "idle":
            self._show("stop training before changing the layers", RED)
            return False
        error = self.net.set_spec_json(self.editor.toPlainText())
        if error:
            self._show(error, RED)
            return False
        report = self.net.report
        self._show("" if report.ok else f"applied, but {report.error}", AMBER)
        return True

    def _ok(self) -> None:
        if self.apply():
            self.accept()

    def _show(self, text: str, color: str) -> None:
        self.error_label.setText(text)
        self.error_label.setStyleSheet(f"color:{color}")
        self.error_label.setVisible(bool(text))


# --------------------------------------------------------------------------- the panel


_KEEP = object()  # no panel edit pending: keep the selected row where it is


class LayersPanel(QWidget):
    """Presets, input shape, the layer table with inline settings, and what keeps the model from training."""

    layerSelected = Signal(int)

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
        self.json_button = self._tool("JSON...", "Edit as JSON: the whole spec as text, applied as one undo step", self.open_json_editor)
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
                    t.setCellWidget(i, COL_SETTINGS, editor)
                editor.setToolTip(report.error if report.error_index == i else COLUMN_TIPS[COL_SETTINGS])
        # new editors may be wider or taller than the ones they replace
        t.horizontalHeader().resizeSections(QHeaderView.ResizeToContents)
        t.verticalHeader().resizeSections(QHeaderView.ResizeToContents)

    def _fill_row(self, i: int, entry: dict, report) -> None:
        kind = entry.get("type")
        failing = report.error_index == i
        computed = i < len(report.rows) and not failing
        cells = [str(i), "?" if kind is None else str(kind), "", NOT_COMPUTED, NOT_COMPUTED, NOT_COMPUTED, NOT_COMPUTED, NOT_COMPUTED,
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
