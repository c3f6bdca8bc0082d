"""Fixtures shared by the GUI tests: pyqtgraph's row-major images, network states and windows
that are shut down after the test, and a waiting time for signals."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QUndoStack

from convlab.gui.main_window import MainWindow
from convlab.gui.network_state import NetworkState

WAIT = 30000  # ms: the longest any test waits for a signal (a loaded machine can be slow)


@pytest.fixture(autouse=True)
def _row_major():
    """The app's setting (convlab.gui.app): images are (row, column) arrays."""
    pg.setConfigOptions(imageAxisOrder="row-major")


@pytest.fixture
def new_net(qtbot):
    """``new_net(undo_stack=None)``: a NetworkState (with its own undo stack unless given one),
    shut down after the test (its dataset, evaluation and training threads waited for)."""
    made = []

    def make(undo_stack=None) -> NetworkState:
        net = NetworkState(undo_stack if undo_stack is not None else QUndoStack())
        made.append(net)
        return net

    yield make
    for net in made:
        net.shutdown()


@pytest.fixture
def net(new_net):
    return new_net()


@pytest.fixture
def new_window(qtbot, tmp_path):
    """``new_window(size=(w, h), name="convlab.ini", show=True)``: a MainWindow with settings of its
    own in the test's folder, shown and with its first output computed; closed after the test."""
    made = []

    def make(size=None, name="convlab.ini", show=True, **kwargs) -> MainWindow:
        w = MainWindow(QSettings(str(tmp_path / name), QSettings.IniFormat), **kwargs)
        qtbot.addWidget(w)
        made.append(w)
        if size is not None:
            w.resize(*size)
        if show:
            w.show()
            qtbot.waitUntil(lambda: w.state.result is not None, timeout=WAIT)
        return w

    yield make
    for w in made:
        w.session.mark_clean()
        w.close()


@pytest.fixture
def window(new_window):
    return new_window()
