"""Sessions in the app: save / open / revert / recent, the unsaved-changes mark and prompts, autosave."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from convlab.gui.main_window import MainWindow

B = QMessageBox.StandardButton
ROOT = Path(__file__).resolve().parents[2]


def make_window(qtbot, tmp_path, name="a", autosave=False):
    w = MainWindow(QSettings(str(tmp_path / f"{name}.ini"), QSettings.IniFormat),
                   autosave_dir=str(tmp_path / "autosave") if autosave else None)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.state.result is not None, timeout=10000)
    w.session.ask = lambda *a: B.Discard  # tests answer prompts without a modal dialog
    return w


def close(w):
    w.session.ask = lambda *a: B.Discard
    w.close()


def edit_lab(qtbot, w):
    """A lab worth saving: edited kernels and settings, RGB, a changed model, a unit selected."""
    st, net = w.state, w.net
    with qtbot.waitSignal(w.outputDrawn, timeout=10000):
        st.set_color("rgb")
    with qtbot.waitSignal(w.outputDrawn, timeout=10000):
        st.set_cell(1, 0, 2, 0.625)
    with qtbot.waitSignal(w.outputDrawn, timeout=10000):
        st.set_settings("stride", stride=2, padding=1)
    net.set_layer_field(0, "filters", 8)
    net.reset_weights(seed=7)
    net.select_unit(5, 2, 1, 1)


def test_save_marks_clean_and_title_shows_the_name(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    assert not w.isWindowModified() and "Untitled" in w.windowTitle()
    edit_lab(qtbot, w)
    assert w.session.dirty and w.isWindowModified()
    path = tmp_path / "lab.convlab"
    assert w.session._write(str(path))
    assert path.exists() and not w.isWindowModified() and "lab.convlab" in w.windowTitle()
    assert w.recent_files()[0] == str(path)
    w.state.set_cell(0, 0, 0, 3.0)
    assert w.isWindowModified()
    assert w.session.save()
    assert Path(str(path) + ".bak").exists()
    close(w)


def test_round_trip_brings_the_whole_lab_back(qtbot, tmp_path):
    a = make_window(qtbot, tmp_path, "a")
    edit_lab(qtbot, a)
    path = str(tmp_path / "lab.convlab")
    assert a.session._write(path)
    b = make_window(qtbot, tmp_path, "b")
    assert b.open_path(path)
    sa, sb = a.state, b.state
    np.testing.assert_array_equal(sa.bank.weights, sb.bank.weights)
    assert sa.bank.names == sb.bank.names and sa.settings == sb.settings and sa.color == sb.color
    np.testing.assert_array_equal(sa.image, sb.image)
    assert a.net.spec == b.net.spec and a.net.report.total_params == b.net.report.total_params
    for k, v in a.net.model.state_dict().items():
        np.testing.assert_array_equal(v, b.net.model.state_dict()[k])
    assert b.net.unit == (5, 2, 1, 1)
    assert not b.session.dirty and b.session.path == path
    assert b.state.undo_stack.count() == 0
    close(a)
    close(b)


def test_open_with_unsaved_changes_asks_and_cancel_keeps_the_lab(qtbot, tmp_path):
    a = make_window(qtbot, tmp_path, "a")
    path = str(tmp_path / "saved.convlab")
    assert a.session._write(path)
    a.state.set_cell(0, 1, 1, 9.0)
    asked = []
    a.session.ask = lambda title, text, *rest: asked.append(text) or B.Cancel
    assert a.open_path(path) is False
    assert asked and "Save the changes" in asked[0]
    assert a.state.bank.weights[0, 0, 1, 1] == 9.0
    a.session.ask = lambda *r: B.Discard
    assert a.open_path(path)
    assert a.state.bank.weights[0, 0, 1, 1] != 9.0
    close(a)


def test_a_corrupt_session_is_explained_and_the_lab_stays(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    bad = tmp_path / "bad.convlab"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    before = w.state.bank
    assert w.open_path(str(bad)) is False
    assert "bad.convlab" in w.last_error
    assert w.state.bank is before and w.session.path is None
    close(w)


def test_revert_goes_back_to_the_saved_file(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    path = str(tmp_path / "r.convlab")
    assert w.session._write(path)
    saved = w.state.bank.weights.copy()
    w.state.set_cell(0, 0, 0, 5.0)
    assert w.session.revert()
    np.testing.assert_array_equal(w.state.bank.weights, saved)
    assert not w.session.dirty
    close(w)


def test_new_lab_after_discarding(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    edit_lab(qtbot, w)
    assert w.session.new()
    assert w.state.color == "gray" and w.net.preset_key == "lenet5" and w.session.path is None
    assert not w.session.dirty
    close(w)


def test_closing_with_unsaved_changes_can_be_cancelled(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    w.state.set_cell(0, 0, 0, 2.0)
    w.session.ask = lambda *a: B.Cancel
    w.close()
    assert w.isVisible()
    close(w)
    assert not w.isVisible()


def test_autosave_and_restore_after_a_crash(qtbot, tmp_path):
    a = make_window(qtbot, tmp_path, "a", autosave=True)
    edit_lab(qtbot, a)
    assert a.session.autosave()
    auto = a.session.autosave_path
    assert os.path.exists(auto)
    weights = a.state.bank.weights.copy()
    # a crash: the window goes away without its clean close, so the autosave stays
    a.session.discard_autosave = lambda: None
    close(a)
    b = make_window(qtbot, tmp_path, "b", autosave=True)
    b.session.ask = lambda *r: B.Yes
    assert b.session.offer_restore()
    np.testing.assert_array_equal(b.state.bank.weights, weights)
    assert b.session.dirty and b.session.path is None  # unsaved work, not the autosave file
    close(b)  # a clean exit removes the autosave
    assert not os.path.exists(auto)


def test_autosave_interval_is_a_setting(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path, autosave=True)
    w.session.set_autosave_seconds(5)
    assert w.session.timer.isActive() and w.session.timer.interval() == 5000
    assert int(w.settings.value("autosave/seconds")) == 5
    w.session.set_autosave_seconds(0)
    assert not w.session.timer.isActive()
    assert w.session.autosave() is False or not w.session.dirty
    close(w)


def test_main_py_opens_a_session(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    edit_lab(qtbot, w)
    path = tmp_path / "lab.convlab"
    assert w.session._write(str(path))
    close(w)
    out = tmp_path / "shot.png"
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), str(path), "--screenshot", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 10000


@pytest.mark.parametrize("name", ["lab.convlab"])
def test_drop_a_session_file(qtbot, tmp_path, name):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    a = make_window(qtbot, tmp_path, "a")
    a.state.set_cell(0, 2, 2, 4.5)
    path = tmp_path / name
    assert a.session._write(str(path))
    b = make_window(qtbot, tmp_path, "b")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    b.dropEvent(QDropEvent(QPointF(5, 5), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    assert b.state.bank.weights[0, 0, 2, 2] == 4.5
    close(a)
    close(b)
