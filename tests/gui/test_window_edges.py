"""Rough edges of the window a new user met (issue 13): the unsaved mark, the toolbar, file dialogs,
stale texts in the status bar and the live label."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSettings

from convlab.core.reasons import Notice
from convlab.core.sources import Frame
from convlab.gui import file_dialogs

WAIT = 30000


def test_an_edit_undone_back_to_the_saved_lab_is_clean(qtbot, window, tmp_path):
    w = window
    assert w.session.save_as is not None
    w.session.path = str(tmp_path / "lab.convlab")
    assert w.session.save()
    assert not w.session.dirty and not w.isWindowModified()
    w.state.set_cell(0, 0, 0, 0.5)
    assert w.session.dirty and w.isWindowModified()
    w.state.undo_stack.undo()
    assert not w.session.dirty and not w.isWindowModified()  # back where it was saved
    w.state.undo_stack.redo()
    assert w.session.dirty
    w.net.set_settings(epochs=7)  # not an undo step: undoing the bank edit keeps the lab unsaved
    w.state.undo_stack.undo()
    assert w.session.dirty


def test_saving_during_live_frames_clears_the_mark(qtbot, window, tmp_path):
    w = window
    pipeline = w.live_panel.pipeline
    w.session.path = str(tmp_path / "live.convlab")
    assert w.session.save()
    for i in range(3):
        img = np.full((48, 64, 3), 40 * i, np.uint8)
        with qtbot.waitSignal(pipeline.frameProcessed, timeout=WAIT):
            pipeline.offer(Frame(img, i, i / 30, 1.0))
    assert not w.session.dirty and not w.isWindowModified()


def test_the_toolbar_keeps_still_while_undo_texts_change(qtbot, window):
    w = window
    before = [w.toolbar.widgetForAction(a).geometry() for a in w.toolbar.actions() if w.toolbar.widgetForAction(a)]
    w.state.set_cell(0, 0, 0, 0.25)
    w.state.set_settings("Stride 2 with a long description for the undo text", stride=2)
    after = [w.toolbar.widgetForAction(a).geometry() for a in w.toolbar.actions() if w.toolbar.widgetForAction(a)]
    assert before == after
    assert w.tool_undo.text() == "Undo" and "Stride 2" in w.tool_undo.toolTip()
    assert w.tool_undo.isEnabled() and "Stride 2" in w.act_undo.text()  # the Edit menu has it in full


def test_file_dialogs_start_in_the_folder_used_last(tmp_path):
    d = file_dialogs.FileDialogs(QSettings(str(tmp_path / "d.ini"), QSettings.IniFormat))
    from pathlib import Path

    assert d.start_folder() == str(Path.home())
    (tmp_path / "images").mkdir()
    d.remember(str(tmp_path / "images" / "cat.png"))
    assert d.start_folder() == str(tmp_path / "images") and d.start_path("lab.convlab").endswith("images/lab.convlab")
    d.remember(str(tmp_path))  # a folder chosen itself
    assert d.start_folder() == str(tmp_path)
    (tmp_path / "gone").mkdir()
    d.remember(str(tmp_path / "gone"))
    (tmp_path / "gone").rmdir()
    assert d.start_folder() == str(Path.home())  # a folder that went away: home again


def test_the_window_gives_every_dialog_its_settings(qtbot, window):
    assert file_dialogs.dialogs().settings is window.settings


def test_an_old_error_leaves_the_status_bar_when_the_learner_moves_on(qtbot, window):
    w = window
    w.show_status(Notice.error("cannot train: something old"))
    assert w.statusBar().currentMessage() == "cannot train: something old"
    w.state.set_settings("Stride 2", stride=2)  # the learner moved on
    assert w.statusBar().currentMessage() == ""
    w.show_status(Notice("an ordinary message"))
    w.state.set_settings("Stride 1", stride=1)
    assert w.statusBar().currentMessage() == "an ordinary message"  # only errors are cleared early


def test_the_live_label_says_frozen_instead_of_a_stale_rate(qtbot, window, tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
    from video_fixtures import write_numbered_video

    w = window
    live = w.live_panel
    live.probe_on_show = False
    assert live.open_video(write_numbered_video(tmp_path, frames=30), realtime=False)
    qtbot.waitUntil(lambda: "fps" in w.live_label.text(), timeout=WAIT)
    live.set_frozen(True)
    assert "frozen" in w.live_label.text() and "fps" not in w.live_label.text()
    live.stop()


def test_a_big_image_decodes_off_the_gui_thread_and_cancel_keeps_the_image(qtbot, window, tmp_path, monkeypatch):
    import cv2

    import convlab.core.images as images

    monkeypatch.setattr(images, "BIG_DECODE_BYTES", 1000)  # every image is big now
    path = tmp_path / "big.png"
    cv2.imwrite(str(path), np.full((120, 160, 3), 90, np.uint8))
    before = window.state.image.copy()
    with qtbot.waitSignal(window.state.imageChanged, timeout=WAIT):
        assert window.open_path(str(path))
        assert window._decode_task is not None  # decoding in a thread; the window keeps answering
    assert window.state.image.shape[:2] == (120, 160)
    window.state.set_image(before, "before")
    assert window.open_path(str(path))
    window._decode_dialog.cancel()
    qtbot.waitUntil(lambda: window._decode_task is None, timeout=WAIT)
    assert np.array_equal(window.state.image, before)  # cancelled: the image stays


def test_an_image_bomb_is_refused_before_decoding(qtbot, window, tmp_path, monkeypatch):
    import struct
    import zlib

    import convlab.core.images as images

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb)
    monkeypatch.setattr(images.cv2, "imdecode", lambda *a: (_ for _ in ()).throw(AssertionError("decoded")))
    before = window.state.image.copy()
    assert not window.open_path(str(path))
    assert "60000" in window.last_error or "60,000" in window.last_error
    assert np.array_equal(window.state.image, before)
