"""The Source panel: open, paste or pick a sample image, and switch gray / RGB."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from convlab.core.samples import SAMPLES


class SourcePanel(QWidget):
    openRequested = Signal()
    pasteRequested = Signal()
    sampleRequested = Signal(str)

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.open_btn = QPushButton("Open image...")
        self.open_btn.setToolTip("Open a PNG, JPEG, BMP, TIFF or WebP image (Ctrl+O); you can also drop a file here")
        self.open_btn.clicked.connect(self.openRequested)
        self.paste_btn = QPushButton("Paste")
        self.paste_btn.setToolTip("Use the image on the clipboard (Ctrl+Shift+V)")
        self.paste_btn.clicked.connect(self.pasteRequested)
        row.addWidget(self.open_btn)
        row.addWidget(self.paste_btn)
        lay.addLayout(row)
        self.samples = QComboBox()
        self.samples.setToolTip("Built-in photos and test patterns")
        self.samples.addItem("Built-in samples...", None)
        for key, s in SAMPLES.items():
            self.samples.addItem(s.name, key)
            self.samples.setItemData(self.samples.count() - 1, s.description, 3)  # Qt.ToolTipRole
        self.samples.activated.connect(self._sample)
        lay.addWidget(self.samples)
        box = QGroupBox("Colour")
        h = QVBoxLayout(box)
        self.gray = QRadioButton("Gray (1 channel)")
        self.gray.setToolTip("Filters see one channel: each filter is F x F weights")
        self.rgb = QRadioButton("RGB (3 channels)")
        self.rgb.setToolTip("Filters see three channels: each filter is F x F x 3 weights")
        self.group = QButtonGroup(self)
        self.group.addButton(self.gray)
        self.group.addButton(self.rgb)
        self.gray.toggled.connect(lambda on: on and state.set_color("gray"))
        self.rgb.toggled.connect(lambda on: on and state.set_color("rgb"))
        h.addWidget(self.gray)
        h.addWidget(self.rgb)
        lay.addWidget(box)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setToolTip("The image the filters see")
        lay.addWidget(self.info)
        lay.addStretch(1)
        state.imageChanged.connect(self.sync)
        self.sync()

    def _sample(self, index: int) -> None:
        key = self.samples.itemData(index)
        if key:
            self.sampleRequested.emit(key)
        with QSignalBlocker(self.samples):
            self.samples.setCurrentIndex(0)

    def sync(self) -> None:
        st = self.state
        for b, on in ((self.gray, st.color == "gray"), (self.rgb, st.color == "rgb")):
            with QSignalBlocker(b):
                b.setChecked(on)
        if st.input is None:
            self.info.setText("No image")
            return
        c, h, w = st.input.shape
        self.info.setText(f"<b>{st.image_name}</b><br>{w} x {h} pixels, {c} channel{'s' * (c > 1)}")
