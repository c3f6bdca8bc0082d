"""File dialogs that all start in one sensible place: the folder used last (for images, videos,
sessions, snapshots, datasets and exports alike), or the home folder the first time.

Panels call ``dialogs().open_file(...)`` and friends; the main window hands its settings to the
shared object once (``use_settings``), so the last folder is remembered between runs.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QWidget

KEY = "dialogs/last_folder"


class FileDialogs:
    def __init__(self, settings: QSettings | None = None):
        self.settings = settings

    def _settings(self) -> QSettings:
        if self.settings is None:
            self.settings = QSettings()
        return self.settings

    def start_folder(self) -> str:
        """The folder used last, when it still exists; else the home folder."""
        folder = self._settings().value(KEY, "")
        return folder if isinstance(folder, str) and folder and os.path.isdir(folder) else str(Path.home())

    def remember(self, path: str) -> None:
        """Remember the folder of ``path`` (or ``path`` itself, for a folder) as the one used last."""
        if not path:
            return
        folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
        if folder:
            self._settings().setValue(KEY, folder)

    def start_path(self, name: str = "") -> str:
        return os.path.join(self.start_folder(), name) if name else self.start_folder()

    def open_file(self, parent: QWidget | None, title: str, file_filter: str) -> str:
        path, _ = QFileDialog.getOpenFileName(parent, title, self.start_folder(), file_filter)
        self.remember(path)
        return path

    def save_file(self, parent: QWidget | None, title: str, name: str, file_filter: str) -> str:
        path, _ = QFileDialog.getSaveFileName(parent, title, self.start_path(name), file_filter)
        self.remember(path)
        return path

    def open_folder(self, parent: QWidget | None, title: str) -> str:
        path = QFileDialog.getExistingDirectory(parent, title, self.start_folder())
        self.remember(path)
        return path


_SHARED = FileDialogs()


def dialogs() -> FileDialogs:
    """The file dialogs every panel uses (one last folder for the whole app)."""
    return _SHARED


def use_settings(settings: QSettings) -> None:
    """Where the last folder is kept (the main window's settings)."""
    _SHARED.settings = settings
