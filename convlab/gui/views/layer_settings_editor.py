"""LayerSettingsEditor: one layer's settings as a compact row of editors (spin boxes, a padding
mode combo, a bias check box), and the parsing of typed settings such as "3x5"."""

from __future__ import annotations

import json
import numbers
import re
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTableWidget,
    QWidget,
)

from convlab.core.functional import PADDING_MODES
from convlab.core.layers import LAYER_TYPES


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
    "filters": FieldInfo("int", None, 1, 4096, "K", "K, the number of filters: the depth of the output maps"),
    "kernel": FieldInfo("size", None, 1, 99, "F", "F, the kernel (window) size in pixels; a non-square "
                        "[h, w] pair shows as 3x5 and can be typed as 3x5"),
    "stride": FieldInfo("size", 1, 1, 99, "S", "S, the stride: how many pixels the window moves between outputs"),
    "padding": FieldInfo("size", 0, 0, 99, "P", "P, the padding: pixels added around the input on every side"),
    "dilation": FieldInfo("size", 1, 1, 99, "D", "D, the dilation: spacing between kernel taps; the kernel covers "
                          "D(F-1)+1 pixels with the same number of weights"),
    "padding_mode": FieldInfo("choice", "zeros", label="", tip="What the padded pixels hold: zeros, a "
                              "mirror of the image (reflect) or copies of the edge pixel (replicate)"),
    "bias": FieldInfo("bool", True, label="bias", tip="Learn one bias per filter or unit"),
    "slope": FieldInfo("float", 0.01, 0.0, 1.0, "slope", "Leaky ReLU: the slope for negative inputs"),
    "rate": FieldInfo("float", 0.5, 0.0, 0.99, "rate", "Dropout: the fraction of values zeroed while "
                      "training (none are dropped when the model is used)"),
    "units": FieldInfo("int", None, 1, 100000, "units", "How many outputs this fully connected layer has"),
}
POOL_STRIDE = FieldInfo("size", None, 0, 99, "S", "S, the stride: how many pixels the window moves; "
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
    removes the key (the engine's default). Values are shown with ``set_entry`` without emitting.

    What is typed commits on Return, on focus loss and on Tab / Shift+Tab; a Tab then asks for the
    next (previous) editor with ``tabbed(index, field, step)`` (see ``focus_next_editor``): inside a
    table Qt would move the table's current cell instead, leaving the typed text uncommitted."""

    edited = Signal(int, str, object)
    focused = Signal(int)
    tabbed = Signal(int, str, int)  # index, field, +1 (Tab) or -1 (Shift+Tab)

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
            digits = max(len(str(int(info.hi))), len(info.auto))  # as narrow as its widest value
            w.setMaximumWidth(w.fontMetrics().horizontalAdvance("8" * digits) + 34)
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
            w.setSizeAdjustPolicy(QComboBox.AdjustToContents)
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

    def commit(self, field: str) -> None:
        """Commit what is typed in a field's editor, as Return does (nothing when it is unchanged)."""
        w = self.editors[field]
        if isinstance(w, QAbstractSpinBox):
            w.interpretText()  # emits valueChanged when the typed number differs
        elif isinstance(w, QLineEdit):
            self._emit(field, parse_setting(w.text()))

    def eventFilter(self, obj, event):
        kind = event.type()
        if kind == QEvent.FocusIn:
            self.focused.emit(self.index)
        elif kind == QEvent.KeyPress and event.key() in (Qt.Key_Tab, Qt.Key_Backtab) and not (
                event.modifiers() & (Qt.ControlModifier | Qt.AltModifier | Qt.MetaModifier)):
            field = next((f for f, w in self.editors.items() if w is obj), None)
            if field is not None:
                back = event.key() == Qt.Key_Backtab or bool(event.modifiers() & Qt.ShiftModifier)
                index = self.index
                self.commit(field)  # may rebuild this row's editor: ask for the focus after it
                self.tabbed.emit(index, field, -1 if back else 1)
                return True
        return False


def focus_next_editor(table: QTableWidget, column: int, index: int, field: str, step: int) -> None:
    """Move the focus from the editor of ``field`` in row ``index`` to the next (``step`` +1) or
    previous (-1) enabled editor of the column, row after row; past either end, to the table."""
    order = []
    for row in range(table.rowCount()):
        editor = table.cellWidget(row, column)
        if isinstance(editor, LayerSettingsEditor):
            order += [(row, f, w) for f, w in editor.editors.items()]
    keys = [(row, f) for row, f, _ in order]
    if (index, field) in keys:
        at = keys.index((index, field))
    else:  # the row was rebuilt with other fields: continue from its neighbours
        at = next((i for i, (row, _) in enumerate(keys) if row > index), len(keys)) - (1 if step > 0 else 0)
    at += step
    while 0 <= at < len(order) and not order[at][2].isEnabled():
        at += step
    if 0 <= at < len(order):
        row, _, w = order[at]
        table.scrollTo(table.model().index(row, column))
        w.setFocus(Qt.BacktabFocusReason if step < 0 else Qt.TabFocusReason)
    else:
        table.setFocus(Qt.BacktabFocusReason if step < 0 else Qt.TabFocusReason)

