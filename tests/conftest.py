"""Shared test setup: Qt runs offscreen, set before any Qt module loads."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from stuck_watchdog import _stuck_test_watchdog  # noqa: E402, F401 - an autouse fixture


@pytest.fixture(autouse=True, scope="session")
def _fast_path_loaded():
    """Load the engine's compiled loops up front, so every test of a layer runs the fast path
    (it is otherwise taken only once training or a large batch has loaded it)."""
    from convlab.core.fastpath import engine

    engine.load()


@pytest.fixture(autouse=True)
def _own_data_folder(monkeypatch, tmp_path_factory):
    """Datasets are looked for (and downloaded) in a folder of the test's own, never the user's."""
    monkeypatch.setenv("CONVLAB_DATA_DIR", str(tmp_path_factory.mktemp("convlab-data")))


@pytest.fixture(autouse=True)
def _no_modal_save_prompts(monkeypatch):
    """Closing a window with unsaved changes asks with a modal box, which would wait forever
    offscreen: tests answer "Discard" unless they set ``window.session.ask`` themselves."""
    try:
        from PySide6.QtWidgets import QMessageBox

        from convlab.gui.lab_session import SessionController
    except ImportError:  # core-only environments
        return
    monkeypatch.setattr(SessionController, "_ask_user", lambda self, *a: QMessageBox.StandardButton.Discard)
