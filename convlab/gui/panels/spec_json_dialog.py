"""SpecJsonDialog: the model spec as JSON text, applied as one undo step."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout

from convlab.core.layers import SpecError
from convlab.core.spec_json import parse_spec_json

from ..network_state import NetworkState

RED, AMBER, GREEN = "#c62828", "#b26a00", "#2e7d32"

class SpecJsonDialog(QDialog):
    """The spec as JSON text: Apply replaces the spec (one undo step); a refused text stays here
    with the reason in red and the spec unchanged. The text is parsed by the engine
    (``parse_spec_json``: strict JSON, at most 500 layers, no deep nesting, NaN or Infinity,
    string layer types)."""

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
        try:
            spec = parse_spec_json(self.editor.toPlainText())
        except SpecError as e:
            self._show(str(e), RED)
            return False
        self.net.set_spec(spec, "Edit spec as JSON", None)
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


