"""The Filters panel: presets, the bank of K filters, the kernel editor, stride / padding /
dilation, the display mode, and pooling and a 1x1 convolution after the bank.

Widgets show the state and turn user actions into LabState edits (each an undo step); they
never keep numbers of their own.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from convlab.core import kernels
from convlab.core.functional import PADDING_MODES
from convlab.core.playground import DISPLAY_LABELS, DISPLAY_MODES, mix_weights
from convlab.core.settings import MAX_MIX_MAPS, ConvSettings, PoolSettings

from ..views.controls import setting_spin, spin_box
from ..views.kernel_editor import KernelEditor

# undo merge ids: consecutive steps of one spin box become one undo step
MERGE_STRIDE, MERGE_PADDING, MERGE_DILATION, MERGE_POOL_K, MERGE_POOL_S, MERGE_MIX = range(1, 7)
PADDING_HELP = {
    "zeros": "Pixels outside the image count as 0 (dark borders appear)",
    "reflect": "Pixels outside mirror the image without repeating the edge pixel",
    "replicate": "Pixels outside repeat the nearest edge pixel",
}


def _spin(group, name, tip):
    return setting_spin(group, name, tip)


class FiltersPanel(QWidget):
    message = Signal(str)

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self._presets_box())
        lay.addWidget(self._bank_box())
        self.editor = KernelEditor()
        lay.addWidget(self.editor)
        lay.addWidget(self._conv_box())
        lay.addWidget(self._post_box())
        lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.scroll = scroll
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        ed = self.editor
        ed.cellEdited.connect(lambda c, i, j, v: state.set_cell(c, i, j, v))
        ed.biasEdited.connect(state.set_bias)
        ed.normalizeRequested.connect(self.normalize)
        ed.zeroRequested.connect(self.zero)
        ed.randomizeRequested.connect(self.randomize)
        ed.sizeRequested.connect(state.resize_filters)
        ed.message.connect(self.message)
        for sig in (state.bankChanged, state.selectionChanged):
            sig.connect(self.sync_bank)
        state.imageChanged.connect(self._image_changed)
        state.settingsChanged.connect(self.sync_settings)
        state.postChanged.connect(self.sync_post)
        state.bankChanged.connect(self.sync_post)
        state.displayChanged.connect(self.sync_settings)
        self.sync_bank()
        self.sync_settings()
        self.sync_post()

    def needed_width(self) -> int:
        """The width that shows every control without sideways scrolling."""
        s = self.scroll
        return s.widget().minimumSizeHint().width() + s.verticalScrollBar().sizeHint().width() + 2 * s.frameWidth()

    # ------------------------------------------------------------------ building

    def _presets_box(self) -> QGroupBox:
        box = QGroupBox("Preset")
        v = QVBoxLayout(box)
        self.preset_combo = QComboBox()
        self.preset_combo.setToolTip("Put a named kernel into the selected filter")
        self.preset_combo.addItem("custom", None)
        for key, p in kernels.KERNEL_PRESETS.items():
            self.preset_combo.addItem(p.name, key)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, p.explanation, Qt.ToolTipRole)
        self.preset_combo.activated.connect(self._preset_chosen)
        self.preset_help = QLabel()
        self.preset_help.setWordWrap(True)
        self.preset_help.setStyleSheet("color:#444")
        v.addWidget(self.preset_combo)
        v.addWidget(self.preset_help)
        return box

    def _bank_box(self) -> QGroupBox:
        box = QGroupBox("Filter bank")
        v = QVBoxLayout(box)
        self.bank_list = QListWidget()
        self.bank_list.setToolTip("The K filters applied at once: the output is K maps deep. Select one to edit it.")
        self.bank_list.setMaximumHeight(110)
        self.bank_list.currentRowChanged.connect(self._row_chosen)
        v.addWidget(self.bank_list)
        h = QHBoxLayout()
        self.add_btn = QPushButton("Add")
        self.add_btn.setToolTip("Add an identity filter to the bank (one more output map)")
        self.add_btn.clicked.connect(lambda: self.state.add_filter())
        self.dup_btn = QPushButton("Duplicate")
        self.dup_btn.setToolTip("Copy the selected filter")
        self.dup_btn.clicked.connect(self.state.duplicate_filter)
        self.remove_btn = QPushButton("Remove")
        self.remove_btn.setToolTip("Remove the selected filter (one output map fewer)")
        self.remove_btn.clicked.connect(self.state.remove_filter)
        for b in (self.add_btn, self.dup_btn, self.remove_btn):
            h.addWidget(b)
        v.addLayout(h)
        return box

    def _conv_box(self) -> QGroupBox:
        box = QGroupBox("Convolution")
        form = QFormLayout(box)
        self.stride = _spin(ConvSettings, "stride", "S: how many pixels the kernel moves between outputs")
        self.padding = _spin(ConvSettings, "padding", "P: pixels added around the image on every side")
        self.mode = QComboBox()
        for m in PADDING_MODES:
            self.mode.addItem(m, m)
            self.mode.setItemData(self.mode.count() - 1, PADDING_HELP[m], Qt.ToolTipRole)
        self.mode.setToolTip("What the padded pixels hold")
        self.dilation = _spin(ConvSettings, "dilation",
                              "D: spacing between kernel taps; the kernel covers D(F-1)+1 pixels")
        self.display = QComboBox()
        for m in DISPLAY_MODES:
            self.display.addItem(DISPLAY_LABELS[m], m)
        self.display.setToolTip("How signed output values are turned into colours")
        form.addRow("Stride S", self.stride)
        form.addRow("Padding P", self.padding)
        form.addRow("Padding mode", self.mode)
        form.addRow("Dilation D", self.dilation)
        form.addRow("Show outputs", self.display)
        st = self.state
        self.stride.valueChanged.connect(lambda v: st.set_settings(f"Stride {v}", MERGE_STRIDE, stride=v))
        self.padding.valueChanged.connect(lambda v: st.set_settings(f"Padding {v}", MERGE_PADDING, padding=v))
        self.dilation.valueChanged.connect(lambda v: st.set_settings(f"Dilation {v}", MERGE_DILATION, dilation=v))
        self.mode.activated.connect(lambda _: st.set_settings(f"Padding mode {self.mode.currentData()}",
                                                              padding_mode=self.mode.currentData()))
        self.display.activated.connect(lambda _: st.set_display_mode(self.display.currentData()))
        return box

    def _post_box(self) -> QGroupBox:
        box = QGroupBox("After the bank")
        form = QFormLayout(box)
        self.pool = QComboBox()
        for label, key in (("none", "none"), ("max pooling", "max"), ("average pooling", "avg")):
            self.pool.addItem(label, key)
        self.pool.setToolTip("Pool the K maps: keep the largest (max) or the mean (average) of each window")
        self.pool_k = _spin(PoolSettings, "pool_kernel", "Pooling window size")
        self.pool_s = _spin(PoolSettings, "pool_stride", "Pooling stride (usually the window size)")
        self.mix_on = QCheckBox("1x1 convolution")
        self.mix_on.setToolTip("Mix the K maps into fewer at every pixel: depth changes, size does not")
        self.mix_m = spin_box(1, MAX_MIX_MAPS, tip="M: how many maps the 1x1 convolution makes")
        self.mix_kind = QComboBox()
        self.mix_kind.addItem("average groups", "groups")
        self.mix_kind.addItem("random weights", "random")
        self.mix_kind.setToolTip("The 1x1 weights: average groups of maps, or random mixtures")
        form.addRow("Pooling", self.pool)
        form.addRow("Window", self.pool_k)
        form.addRow("Stride", self.pool_s)
        form.addRow(self.mix_on)
        form.addRow("Maps out M", self.mix_m)
        form.addRow("Weights", self.mix_kind)
        st = self.state
        self.pool.activated.connect(lambda _: st.set_post(f"Pooling {self.pool.currentData()}",
                                                          pool=self.pool.currentData()))
        self.pool_k.valueChanged.connect(lambda v: st.set_post(f"Pool window {v}", MERGE_POOL_K, pool_kernel=v))
        self.pool_s.valueChanged.connect(lambda v: st.set_post(f"Pool stride {v}", MERGE_POOL_S, pool_stride=v))
        self.mix_on.toggled.connect(lambda _: self._mix_changed("1x1 convolution"))
        self.mix_m.valueChanged.connect(lambda _: self._mix_changed("1x1 maps", MERGE_MIX))
        self.mix_kind.activated.connect(lambda _: self._mix_changed("1x1 weights"))
        return box

    # ------------------------------------------------------------------ actions

    def _preset_chosen(self, index: int) -> None:
        key = self.preset_combo.itemData(index)
        if key is None:
            return
        try:
            self.state.apply_preset(key)
        except ValueError as e:
            self.message.emit(str(e))
            self.sync_bank()

    def _row_chosen(self, row: int) -> None:
        if row >= 0:
            self.state.select(row)

    def _selected_filter(self) -> np.ndarray:
        return self.state.bank.weights[self.state.selected]

    def normalize(self) -> None:
        self.state.set_filter_weights(kernels.normalize_kernel(self._selected_filter()), "Normalise filter")

    def zero(self) -> None:
        self.state.set_filter_weights(np.zeros_like(self._selected_filter()), "Zero filter")

    def randomize(self) -> None:
        seed = int(np.random.default_rng().integers(1 << 31))
        self.state.set_filter_weights(kernels.random_kernel(self._selected_filter().shape, seed), "Randomise filter")

    def _mix_changed(self, text: str, merge_id: int = -1) -> None:
        k = self.state.bank.count
        if not self.mix_on.isChecked():
            self.state.set_post(text, merge_id, mix=None, mix_bias=None)
            return
        m = self.mix_m.value()
        w = mix_weights(self.mix_kind.currentData(), m, k)
        self.state.set_post(text, merge_id, mix=w, mix_bias=np.zeros(m, np.float32))

    # ------------------------------------------------------------------ state -> widgets

    def _image_changed(self) -> None:
        """A new image changes the bank only through its colour (gray <-> RGB makes a new bank):
        live frames of the same kind leave the 75 weight cells alone."""
        bank, selected = self._synced
        if self.state.bank is not bank or self.state.selected != selected:
            self.sync_bank()

    def sync_bank(self) -> None:
        st = self.state
        bank = st.bank
        self._synced = (bank, st.selected)
        with QSignalBlocker(self.bank_list):
            if self.bank_list.count() != bank.count:
                self.bank_list.clear()
                for _ in range(bank.count):
                    self.bank_list.addItem(QListWidgetItem())
            for i, name in enumerate(bank.names):
                item = self.bank_list.item(i)
                item.setText(f"{i + 1}: {kernels.filter_label(name)}")
                item.setToolTip(kernels.filter_help(name))
            self.bank_list.setCurrentRow(st.selected)
        name = bank.names[st.selected]
        with QSignalBlocker(self.preset_combo):
            idx = self.preset_combo.findData(name)
            self.preset_combo.setCurrentIndex(max(idx, 0))
        self.preset_help.setText(kernels.filter_help(name))
        names = ["gray"] if bank.channels == 1 else ["R", "G", "B"]
        self.editor.set_filter(bank.weights[st.selected], float(bank.biases[st.selected]), names,
                               f"Filter {st.selected + 1} of {bank.count}")
        self.remove_btn.setEnabled(bank.count > 1)

    def sync_settings(self) -> None:
        s = self.state.settings
        for w, v in ((self.stride, s.stride), (self.padding, s.padding), (self.dilation, s.dilation)):
            with QSignalBlocker(w):
                w.setValue(v)
        with QSignalBlocker(self.mode):
            self.mode.setCurrentIndex(self.mode.findData(s.padding_mode))
        with QSignalBlocker(self.display):
            self.display.setCurrentIndex(self.display.findData(self.state.display_mode))

    def sync_post(self) -> None:
        p = self.state.post
        with QSignalBlocker(self.pool):
            self.pool.setCurrentIndex(self.pool.findData(p.pool))
        for w, v in ((self.pool_k, p.pool_kernel), (self.pool_s, p.pool_stride)):
            with QSignalBlocker(w):
                w.setValue(v)
        self.pool_k.setEnabled(p.pool != "none")
        self.pool_s.setEnabled(p.pool != "none")
        with QSignalBlocker(self.mix_on):
            self.mix_on.setChecked(p.mix is not None)
        with QSignalBlocker(self.mix_m):
            self.mix_m.setMaximum(max(1, self.state.bank.count))
            if p.mix is not None:
                self.mix_m.setValue(p.mix.shape[0])
        self.mix_m.setEnabled(p.mix is not None)
        self.mix_kind.setEnabled(p.mix is not None)
