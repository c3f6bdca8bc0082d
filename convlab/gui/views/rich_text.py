"""RichTextView: a scrolling, selectable rich-text label for explanations and formulas."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget


class RichTextView(QWidget):
    def __init__(self, text: str = "", tooltip: str = "", parent=None):
        super().__init__(parent)
        self.label = QLabel(text)
        self.label.setTextFormat(Qt.RichText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.label.setToolTip(tooltip)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # the text wraps instead
        scroll.setWidget(self.label)
        self.scroll = scroll
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(scroll)

    def set_html(self, html: str) -> None:
        self.label.setText(html)

    def text(self) -> str:
        return self.label.text()

    def needed_height(self, width: int) -> int:
        """The height the text needs at ``width`` (the view's own margins and frame included)."""
        margins = self.layout().contentsMargins()
        frame = 2 * self.scroll.frameWidth()
        inner = max(50, width - margins.left() - margins.right() - frame)
        return self.label.heightForWidth(inner) + margins.top() + margins.bottom() + frame
