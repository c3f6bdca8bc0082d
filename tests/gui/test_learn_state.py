"""LearnState: learn-a-filter's settings, target, frames and sessions; File > New Lab gives a fresh start's
settings; LabState.add_filters, the one way filters are added."""

import numpy as np
import pytest
from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QMessageBox

from convlab.core import kernels
from convlab.core.session import Session, load, save
from convlab.core.settings import LearnSettings, SettingsError, limits, to_mapping
from convlab.gui.learn_state import LearnState
from convlab.gui.panels.learn_panel import LearnPanel
from convlab.gui.state import MAX_FILTERS, LabState

B = QMessageBox.StandardButton


@pytest.fixture
def lab():
    st = LabState()
    st.set_image(np.random.default_rng(0).integers(0, 256, (32, 40), dtype=np.uint8), "noise")
    return st


@pytest.fixture
def state(lab):
    s = LearnState(lab)
    yield s
    s.shutdown()


@pytest.fixture
def panel(qtbot, state):
    p = LearnPanel(state)
    qtbot.addWidget(p)
    return p


def widget_settings(p: LearnPanel) -> dict:
    """What the panel's controls show, as LearnSettings fields."""
    return {
        "target_kind": ("preset", "opencv", "image")[p.target_group.checkedId()],
        "kernel": p.kernel_spin.value(), "filters": p.filters_spin.value(), "stride": p.stride_spin.value(),
        "padding": p.padding_spin.value(), "dilation": p.dilation_spin.value(), "lr": p.lr_spin.value(),
        "steps": p.steps_spin.value(), "optimizer": p.optimizer_combo.currentData(),
        "data": ("current", "samples", "frames")[p.data_group.checkedId()],
        "preset": p.preset_combo.currentData(), "extra": tuple(c.currentData() for c in p.extra_preset_combos),
        "pace": p.pace_combo.currentData(),
    }


# --------------------------------------------------------------------------- settings


def test_a_fresh_state_has_the_default_settings_and_the_widgets_show_them(panel, state):
    assert state.settings == LearnSettings() and state.pace == "watch"
    shown = widget_settings(panel)
    d = LearnSettings()
    assert shown == {"target_kind": d.target_kind, "kernel": d.kernel, "filters": d.filters, "stride": d.stride,
                     "padding": d.padding, "dilation": d.dilation, "lr": d.lr, "steps": d.steps,
                     "optimizer": d.optimizer, "data": d.data, "preset": d.target_key, "extra": d.extra_presets,
                     "pace": "watch"}
    assert (shown["lr"], shown["padding"]) == (0.05, 1)


def test_the_widgets_take_their_ranges_from_the_settings(panel):
    for name, spin in (("kernel", panel.kernel_spin), ("stride", panel.stride_spin), ("steps", panel.steps_spin),
                       ("padding", panel.padding_spin), ("dilation", panel.dilation_spin),
                       ("filters", panel.filters_spin), ("lr", panel.lr_spin)):
        r = limits(LearnSettings, name)
        assert (spin.minimum(), spin.maximum()) == (r.lo, r.hi), name


def test_widgets_write_through_the_state_and_follow_it(qtbot, panel, state):
    with qtbot.waitSignal(state.settingsChanged):
        panel.kernel_spin.setValue(5)
    assert (state.settings.kernel, state.settings.padding) == (5, 2)  # 'same' follows the kernel size
    assert panel.padding_spin.value() == 2
    panel.steps_spin.setValue(42)
    panel.data_samples_radio.setChecked(True)
    panel.optimizer_combo.setCurrentIndex(panel.optimizer_combo.findData("sgd"))
    assert (state.settings.steps, state.settings.data, state.settings.optimizer) == (42, "samples", "sgd")
    # and the other way: the state changes, the widgets follow
    assert state.set(lr=0.2, dilation=2, pace="fast")
    assert panel.lr_spin.value() == pytest.approx(0.2) and panel.dilation_spin.value() == 2
    assert panel.padding_spin.value() == 2 * (5 // 2) and panel.pace_combo.currentData() == "fast"
    assert state.max_rate is None
    assert not state.set(lr=0.2)  # nothing changed


def test_typing_a_number_is_not_rewritten_under_the_cursor(qtbot, panel, state):
    panel.show()
    for spin, text, name, want in ((panel.lr_spin, "0.125", "lr", 0.125), (panel.steps_spin, "1234", "steps", 1234)):
        spin.setFocus()
        spin.lineEdit().selectAll()
        qtbot.keyClicks(spin.lineEdit(), text)  # every keystroke is a value (keyboard tracking)
        assert getattr(state.settings, name) == pytest.approx(want) and spin.lineEdit().text() == text


def test_out_of_range_settings_are_refused_and_nothing_changes(state):
    before = state.settings
    for changes, pattern in (({"lr": 5.0}, "lr must be a number from 0.0001 to 2"),
                             ({"kernel": 12}, "kernel must be a whole number from 1 to 11"),
                             ({"target_key": "nonsense"}, "must be a preset"),
                             ({"pace": "warp"}, "pace must be one of")):
        with pytest.raises(SettingsError, match=pattern):
            state.set(**changes)
        assert state.settings is before


def test_each_target_kind_keeps_its_own_key_and_only_presets_make_a_bank(panel, state):
    state.set(target_key="laplacian", filters=3)
    panel.target_opencv_radio.setChecked(True)
    assert state.settings.target_kind == "opencv" and state.settings.filters == 1
    panel.opencv_combo.setCurrentIndex(panel.opencv_combo.findData("canny"))
    assert state.settings.target_key == "canny"
    assert not panel.filters_spin.isEnabled() and not panel.preset_combo.isEnabled()
    panel.target_preset_radio.setChecked(True)
    assert state.settings.target_key == "laplacian" and panel.preset_combo.currentData() == "laplacian"
    state.set(target_kind="opencv")
    assert state.settings.target_key == "canny" and panel.opencv_combo.currentData() == "canny"
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("box_blur"))  # remembered for later
    assert state.settings.target_key == "canny"
    state.set(target_kind="preset")
    assert state.settings.target_key == "box_blur"


# --------------------------------------------------------------------------- sessions


def test_a_session_round_trip_keeps_the_settings_and_the_learned_filter(qtbot, state, lab, tmp_path):
    state.set(target_key="laplacian", filters=2, kernel=5, steps=40, lr=0.1, pace="fast")
    with qtbot.waitSignal(state.finished, timeout=30000):
        assert state.start()
    s = Session()
    state.write_session(s)
    assert s.learn == to_mapping(state.settings)
    path = tmp_path / "l.convlab"
    save(path, s)
    other = LearnState(lab)
    assert other.restore_session(load(path))
    assert other.settings == state.settings and other.pace == "watch"  # the pace is not part of a lab
    np.testing.assert_array_equal(other.result.weight, state.result.weight)
    np.testing.assert_array_equal(other.result.bias, state.result.bias)
    assert other.run is None and other.weight is other.result.weight
    count = lab.bank.count
    assert other.use_filter() and lab.bank.count == count + 2  # the session's filters can be used at once
    other.shutdown()


def test_a_restored_learned_filter_is_shown_and_usable(qtbot, panel, state):
    w = np.zeros((1, 1, 3, 3), np.float32)
    w[0, 0, 1, 1] = 1
    assert state.restore_session(Session(learn_kernel=w, learn_bias=np.array([0.5], np.float32)))
    assert panel.learned_view.image_shape == (3, 3) and "from the session" in panel.learned_view.title.text
    assert panel.use_btn.isEnabled() and not panel.two_layer_btn.isEnabled() and not panel.reveal_btn.isEnabled()


def test_a_bad_session_is_refused_and_the_old_settings_stay(qtbot, panel, state):
    state.set(kernel=7, steps=99)
    before = state.settings
    for learn in ({**to_mapping(LearnSettings()), "lr": "fast"},
                  {**to_mapping(LearnSettings()), "target_key": "no_such_kernel"},
                  {**to_mapping(LearnSettings()), "target_kind": "opencv", "target_key": "sobel_z"}):
        with qtbot.waitSignal(state.message) as said:
            assert not state.restore_session(Session(learn=learn))
        assert said.args[0].startswith("learn-a-filter settings not restored: learn.")
        assert state.settings is before and panel.kernel_spin.value() == 7
        assert panel.error_label.text() == said.args[0]
    bad = Session(learn_kernel=np.zeros((1, 2, 3, 3), np.float32))
    assert not state.restore_session(bad) and "learn_kernel" in state.error and state.result is None


def test_reset_gives_the_defaults_and_forgets_the_target_picture(panel, state, tmp_path):
    import cv2

    path = tmp_path / "t.png"
    path.write_bytes(cv2.imencode(".png", np.zeros((8, 8), np.uint8))[1].tobytes())
    assert state.load_target_image(str(path)) and state.settings.target_kind == "image"
    assert state.settings.target_key == str(path) and panel.target_image_radio.isChecked()
    state.set(lr=0.3, steps=7, data="current", pace="slow")
    state.reset()
    assert state.settings == LearnSettings() and state.pace == "watch" and state.target_image is None
    assert panel.target_preset_radio.isChecked() and panel.image_path.text() == "" and panel.target_note.text() == ""


def test_a_session_target_picture_is_loaded_again(state, tmp_path):
    import cv2

    path = tmp_path / "t.png"
    path.write_bytes(cv2.imencode(".png", np.full((8, 8), 200, np.uint8))[1].tobytes())
    learn = {**to_mapping(LearnSettings()), "target_kind": "image", "target_key": str(path)}
    assert state.restore_session(Session(learn=learn))
    assert state.target_image is not None and state.target_image.shape[:2] == (8, 8)
    assert state.prepare_run().kind == "image"
    gone = {**learn, "target_key": str(tmp_path / "gone.png")}
    assert state.restore_session(Session(learn=gone))  # the settings come back; the picture is missing
    assert state.settings.target_key == str(tmp_path / "gone.png") and state.target_image is None
    assert state.error.startswith("target image not loaded")
    with pytest.raises(ValueError, match="no target image"):
        state.prepare_run()


# --------------------------------------------------------------------------- recent frames


def test_recent_frames_are_kept_apart_and_at_most_eight(state, lab):
    state.forget_frames()
    assert state.remember_frame(now=100.0) and not state.remember_frame(now=100.2)
    assert state.remember_frame(now=100.6) and len(state.recent_frames) == 2
    for t in range(20):
        state.remember_frame(now=200.0 + t)
    assert len(state.recent_frames) == 8


def test_recent_frames_follow_live_frames_and_still_images(qtbot, lab, state):
    state.forget_frames()
    state.frame_gap_s = 0.0
    with qtbot.waitSignal(state.framesChanged):
        lab.show_frame(np.ones((32, 40), np.uint8), "camera")  # a live frame (frameChanged)
    assert len(state.recent_frames) == 1 and state.recent_frames[0] is lab.image
    lab.set_image(np.full((32, 40), 2, np.uint8), "another still")  # stills are kept too (imageChanged)
    assert len(state.recent_frames) == 2


def test_a_lab_without_a_frame_signal_is_followed_through_its_image_signal(qtbot):
    class StillLab(QObject):  # what a LearnState needs of a lab, without LabState's frameChanged
        imageChanged = Signal()
        message = Signal(str)
        image = None

    lab = StillLab()
    state = LearnState(lab)
    state.forget_frames()
    lab.image = np.zeros((8, 8), np.uint8)
    lab.imageChanged.emit()
    assert len(state.recent_frames) == 1
    state.shutdown()


def test_the_data_text_counts_the_recent_frames(panel, state, lab):
    state.forget_frames()
    state.frame_gap_s = 0.0
    for t in range(3):
        lab.set_image(np.roll(lab.image, t, axis=1), f"frame {t}")
    panel.data_frames_radio.setChecked(True)
    assert "the 3 recent frames" in panel.data_info.text()


# --------------------------------------------------------------------------- File > New Lab


def test_new_lab_gives_the_learn_settings_of_a_fresh_start(qtbot, tmp_path):
    from convlab.gui.main_window import MainWindow

    def window(name):
        w = MainWindow(QSettings(str(tmp_path / f"{name}.ini"), QSettings.IniFormat))
        qtbot.addWidget(w)
        return w

    fresh = window("fresh")
    w = window("used")
    w.session.ask = lambda *a: B.Discard  # the save prompt, answered
    p = w.learn_panel
    p.target_opencv_radio.setChecked(True)
    p.kernel_spin.setValue(7)
    p.lr_spin.setValue(0.01)
    p.padding_spin.setValue(0)
    p.steps_spin.setValue(12)
    p.pace_combo.setCurrentIndex(p.pace_combo.findData("fast"))
    assert w.learn_state.settings != fresh.learn_state.settings
    w.session.dirty = True
    assert w.session.new()
    assert w.learn_state.settings == fresh.learn_state.settings == LearnSettings()
    assert widget_settings(w.learn_panel) == widget_settings(fresh.learn_panel)
    assert (w.learn_panel.lr_spin.value(), w.learn_panel.padding_spin.value()) == (0.05, 1)
    assert w.learn_state.pace == fresh.learn_state.pace == "watch"
    for x in (fresh, w):
        x.session.ask = lambda *a: B.Discard
        x.close()


# --------------------------------------------------------------------------- LabState.add_filters


def test_add_filters_appends_a_bank_as_one_undo_step(lab):
    before = lab.bank
    big = np.zeros((1, 5, 5), np.float32)
    big[0, 2, 2] = 1
    small = kernels.preset("box_blur").filter(1)
    assert lab.add_filters([big, small], [0.5, -1.0], ["a", "b"], "Add two")
    b = lab.bank
    assert b.count == before.count + 2 and b.size == 5 and b.names[-2:] == ["a", "b"]
    np.testing.assert_allclose(b.weights[-2], big)
    np.testing.assert_allclose(b.weights[-1], kernels.resize_kernel(small, 5))
    np.testing.assert_allclose(b.weights[0], kernels.resize_kernel(before.weights[0], 5))  # the old ones grew
    assert list(b.biases[-2:]) == [0.5, -1.0] and lab.selected == before.count  # the first new one
    assert lab.undo_stack.undoText() == "Add two"
    lab.undo_stack.undo()
    assert lab.bank is before


def test_add_filters_says_when_the_bank_is_full(qtbot, lab):
    w = kernels.preset("identity").filter(1)
    n = MAX_FILTERS - lab.bank.count - 1
    assert lab.add_filters([w] * n, [0.0] * n, ["identity"] * n, "Fill")
    with qtbot.waitSignal(lab.message) as said:
        assert not lab.add_filters([w, w], [0.0, 0.0], ["x", "y"], "Two more")
    assert said.args == [f"a bank holds at most {MAX_FILTERS} filters and has {MAX_FILTERS - 1}: remove one first"]
    assert lab.add_filter() and lab.bank.count == MAX_FILTERS
    with qtbot.waitSignal(lab.message) as said:
        assert not lab.add_filter()
    assert said.args == [f"a bank holds at most {MAX_FILTERS} filters: remove one first"]
    with pytest.raises(ValueError, match="1 x F x F"):
        lab.add_filters([np.zeros((3, 3, 3))], [0.0], ["rgb"], "Wrong")


def test_add_filter_and_use_this_filter_go_the_same_way(qtbot, lab, state, monkeypatch):
    calls = []
    real = LabState.add_filters

    def spy(self, weights, biases, names, text):
        calls.append((len(weights), list(names), text))
        return real(self, weights, biases, names, text)

    monkeypatch.setattr(LabState, "add_filters", spy)
    assert lab.add_filter("sobel_y") and lab.bank.names[-1] == "sobel_y"
    state.set(steps=5, pace="fast")
    with qtbot.waitSignal(state.finished, timeout=30000):
        assert state.start()
    assert state.use_filter()
    assert calls == [(1, ["sobel_y"], "Add filter"), (1, ["learned"], "Use learned filter")]


def test_use_this_filter_shows_why_a_full_bank_refuses(qtbot, lab, state, panel):
    state.set(steps=5, pace="fast")
    with qtbot.waitSignal(state.finished, timeout=30000):
        assert state.start()
    n = MAX_FILTERS - lab.bank.count
    w = kernels.preset("identity").filter(1)
    assert lab.add_filters([w] * n, [0.0] * n, ["identity"] * n, "Fill")
    heard = []
    state.message.connect(heard.append)
    assert not panel.use_filter()
    assert panel.error_label.text() == f"a bank holds at most {MAX_FILTERS} filters: remove one first"
    assert heard == []  # the lab said it (once, to the status bar); the learn panel only shows it

