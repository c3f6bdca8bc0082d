"""The main window (a first version: the playground and panels arrive with the GUI issues)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow

from convlab import __version__


class MainWindow(QMainWindow):
    def __init__(self):
        super().__init__()
        self.setWindowTitle(f"ConvLab {__version__}")
        label = QLabel("ConvLab engine ready. The playground, layer panel and live views are being built.")
        label.setMargin(24)
        self.setCentralWidget(label)
        self.statusBar().showMessage("Ready")

    def open_path(self, path: str) -> None:
        self.statusBar().showMessage(f"Opening files arrives with the playground: {path}")
