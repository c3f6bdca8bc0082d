"""Lessons: each one set up in a fresh lab in one click, its quoted numbers equal to the engine's
in the lab, its "try this" steps clicked through end to end, and the learner's lab kept."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from convlab.core import kernels
from convlab.core.lessons import LESSONS, lesson
from convlab.core.playground import bank_math, weight_count
from convlab.core.presets import model_presets

WAIT = 60000


@pytest.fixture
def w(new_window):
    return new_window(size=(1400, 900))


def open_lesson(qtbot, w, n):
    w.lessons.open(n)
    qtbot.waitUntil(lambda: w.state.result is not None and w.state.result_job >= w.state.newest_job, timeout=WAIT)
    return lesson(n)


def steps_done(w):
    """The steps ticked so far (checked now too: in the app a check runs as soon as the event loop
    does, after every change, and a step once done stays ticked)."""
    w.lessons.check()
    return list(w.lessons.done)


# ------------------------------------------------------------------------------ the course

def test_twelve_lessons_in_the_course_order():
    titles = [les.title for les in LESSONS]
    assert titles == ["A convolution", "Preset filters", "Learning a filter", "Channels", "Many filters, a deep output",
                      "Stride and padding", "Receptive field", "Dilation", "Pooling", "1x1 convolutions", "LeNet",
                      "Your own classes"]
    for les in LESSONS:
        text = les.text()
        assert "{" not in text and "}" not in text  # every quoted number filled in
        assert 2 <= len(les.steps) <= 4 and 30 <= len(text.split()) <= 120  # a few sentences, 2-4 steps


def test_a_lesson_is_three_clicks_away(w):
    help_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Help")  # click 1
    open_menu = next(a.menu() for a in help_menu.actions() if a.menu() is not None)  # click 2
    actions = [a for a in open_menu.actions() if a.text()]
    assert len(actions) == 12
    actions[5].trigger()  # click 3: lesson 6
    assert w.lessons.current.number == 6 and w.lessons_dock.isVisible()
    assert w.act_lessons.shortcut().toString() == "F2"


# ------------------------------------------------------------------------------ setups and their numbers

@pytest.mark.parametrize("n", range(1, 13))
def test_every_setup_is_what_the_lesson_says(qtbot, w, n):
    les = open_lesson(qtbot, w, n)
    s = les.setup
    st, net = w.state, w.net
    assert w.workspaces.current == s.workspace and w.lessons_dock.isVisible()
    assert st.image_name == "Astronaut (photo)"
    if s.color is not None:
        assert st.color == s.color
    if s.bank is not None:
        assert st.bank.names == list(s.bank)
    for key, value in s.conv.items():
        assert getattr(st.settings, key) == value
    for key, value in s.pool.items():
        assert getattr(st.post, key) == value
    if s.mix is not None:
        assert st.post.mix.shape == (s.mix, st.bank.count)
    if s.model is not None:
        assert net.preset_key == s.model and net.report.ok
    if s.unit is not None:
        assert net.unit == s.unit
    for key, value in s.learn.items():
        assert getattr(w.learn_state.settings, key) == value
    for key, value in s.train.items():
        assert getattr(net.settings, key) == value
    if s.pin is not None:
        qtbot.waitUntil(lambda: w.playground.pinned_pixel is not None, timeout=WAIT)
        assert w.playground.pinned_pixel[1:] == s.pin
    assert not any(w.lessons.done) and not w.session.dirty


def numbers(text: str) -> set[str]:
    return set(re.findall(r"\d[\d,.]*\d|\d", text))


def test_quoted_numbers_are_the_labs(qtbot, w):
    """The numbers each text quotes equal what the engine says about the lab the lesson set up."""
    les = open_lesson(qtbot, w, 1)
    assert {"3x3", "9"} <= set(re.findall(r"\d+x\d+|\d+", les.text()))
    assert weight_count(w.state.bank)[0] == les.facts()["n"] == 9
    les = open_lesson(qtbot, w, 4)
    assert w.state.bank.weights[0].size == les.facts()["rgb"] == 75 and "= 75 weights" in les.text()
    les = open_lesson(qtbot, w, 5)
    k, ho, wo = w.state.result.maps.shape
    assert (k, wo, ho) == (les.facts()["k"], les.facts()["wo"], les.facts()["ho"])
    assert f"{wo} x {ho} x {k}" in les.text()
    les = open_lesson(qtbot, w, 6)
    _, h, width = w.state.input.shape
    mh, mw = bank_math((h, width), w.state.bank.size, w.state.settings)
    assert mw.formula() in les.text() and f"W = {width}" in les.text()
    les = open_lesson(qtbot, w, 7)
    rows = w.net.report.rows
    assert f"sees {rows[4].rf.size_hw[0]}x{rows[4].rf.size_hw[0]}" in les.text()
    assert f"{rows[2].weights + rows[4].weights:,}" in les.text()
    les = open_lesson(qtbot, w, 8)
    mh, mw = bank_math(w.state.input.shape[1:], w.state.bank.size, w.state.settings)
    assert f"cover {mw.effective_kernel}x{mw.effective_kernel}" in les.text()
    les = open_lesson(qtbot, w, 9)
    assert w.state.result.pooled.shape[1:] == (les.facts()["pooled"],) * 2
    les = open_lesson(qtbot, w, 10)
    assert w.state.result.mixed.shape[0] == les.facts()["m"] and w.state.post.mix.size == les.facts()["weights"]
    les = open_lesson(qtbot, w, 11)
    assert f"{w.net.report.total_params:,} parameters" in les.text()


# ------------------------------------------------------------------------------ each lesson end to end

def click_output(qtbot, w, y, x):
    w.playground.pin(y, x)  # what a click on the output view does (tests/gui/test_playground_window clicks it)


def test_lesson_1_through(qtbot, w):
    open_lesson(qtbot, w, 1)
    click_output(qtbot, w, 20, 30)
    assert steps_done(w)[0]
    w.state.set_cell(0, 1, 1, 0.5)
    qtbot.waitUntil(lambda: w.state.result_job >= w.state.newest_job, timeout=WAIT)
    w.filters_panel.preset_combo.setCurrentIndex(w.filters_panel.preset_combo.findData("identity"))
    w.state.apply_preset("identity")
    assert steps_done(w) == [True, True, True]


def test_lesson_2_through(qtbot, w):
    open_lesson(qtbot, w, 2)
    w.state.select(3)
    w.state.apply_preset("laplacian")
    w.display_actions["abs"].trigger()
    qtbot.keyClick(w, Qt.Key_3, Qt.ControlModifier)
    assert steps_done(w) == [True, True, True]


def test_lesson_3_through(qtbot, w):
    open_lesson(qtbot, w, 3)
    learn = w.learn_state
    learn.set(pace="fast", steps=150)
    qtbot.mouseClick(w.learn_panel.start_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: not learn.is_running() and learn.result is not None, timeout=WAIT)
    learn.reveal()
    assert steps_done(w)[:2] == [True, True]
    learn.set(kernel=5)
    learn.start()
    qtbot.waitUntil(lambda: not learn.is_running() and learn.result is not None
                    and learn.result.weight.shape[-1] == 5, timeout=WAIT)
    assert steps_done(w) == [True, True, True]


def test_lesson_4_through(qtbot, w):
    open_lesson(qtbot, w, 4)
    w.act_gray.trigger()
    assert steps_done(w)[0]
    w.act_rgb.trigger()
    w.state.set_cell(1, 2, 2, 0.1)  # the green slice
    assert steps_done(w) == [True, True]


def test_lesson_5_through(qtbot, w):
    open_lesson(qtbot, w, 5)
    w.act_add.trigger()
    qtbot.waitUntil(lambda: w.state.result is not None and w.state.result.maps.shape[0] == 5, timeout=WAIT)
    assert steps_done(w)[0]
    for _ in range(3):
        w.act_remove.trigger()
    assert steps_done(w) == [True, True]


def test_lesson_6_through(qtbot, w):
    open_lesson(qtbot, w, 6)
    w.filters_panel.stride.setValue(2)
    qtbot.waitUntil(lambda: w.state.result is not None and w.state.result.maps.shape[2] == 191, timeout=WAIT)
    assert "not whole" in w.math_panel.text()
    w.filters_panel.stride.setValue(1)
    w.filters_panel.padding.setValue(1)
    qtbot.waitUntil(lambda: w.state.result.maps.shape[1:] == w.state.input.shape[1:], timeout=WAIT)
    assert steps_done(w) == [True, True]


def test_lesson_7_through(qtbot, w):
    open_lesson(qtbot, w, 7)
    w.net.select_unit(2, 0, 10, 10)  # what a click in layer 2's map does
    assert w.net.report.rows[2].rf.size_hw == (5, 5)
    preset_action = next(a for a in w.menuBar().findChildren(type(w.act_open)) if a.text() == model_presets()[
        "one_5x5"].name)
    preset_action.trigger()
    assert steps_done(w) == [True, True]


def test_lesson_8_through(qtbot, w):
    open_lesson(qtbot, w, 8)
    w.filters_panel.dilation.setValue(3)
    qtbot.waitUntil(lambda: w.state.result_job >= w.state.newest_job, timeout=WAIT)
    click_output(qtbot, w, 50, 50)
    assert steps_done(w) == [True, True]


def test_lesson_9_through(qtbot, w):
    open_lesson(qtbot, w, 9)
    qtbot.waitUntil(lambda: w.playground.tabs.currentWidget() is w.playground.pool_grid, timeout=WAIT)
    fp = w.filters_panel
    fp.pool.setCurrentIndex(fp.pool.findData("avg"))
    fp.pool.activated.emit(fp.pool.currentIndex())
    fp.pool_k.setValue(3)
    fp.pool_s.setValue(3)
    qtbot.waitUntil(lambda: w.state.post.pool_stride == 3, timeout=WAIT)
    assert steps_done(w) == [True, True]


def test_lesson_10_through(qtbot, w):
    open_lesson(qtbot, w, 10)
    qtbot.waitUntil(lambda: w.playground.tabs.currentWidget() is w.playground.mix_grid, timeout=WAIT)
    w.filters_panel.mix_m.setValue(1)
    qtbot.waitUntil(lambda: w.state.post.mix is not None and w.state.post.mix.shape[0] == 1, timeout=WAIT)
    w.act_add.trigger()
    assert steps_done(w) == [True, True]


def test_lesson_11_through(qtbot, w):
    open_lesson(qtbot, w, 11)
    net = w.net
    w.act_train.trigger()
    qtbot.waitUntil(lambda: net.training == "idle" and len(net.history_epochs) >= 2, timeout=120000)
    w.net.select_unit(5, 0, 2, 2)
    assert steps_done(w) == [True, True, True], [e.val_accuracy for e in net.history_epochs]


def test_lesson_12_through(qtbot, w):
    open_lesson(qtbot, w, 12)
    net = w.net
    rng = np.random.default_rng(0)
    for name in ("left", "right"):
        net.add_class(name)
    for k in range(2):
        for _ in range(6):
            img = np.zeros((64, 64, 3), np.uint8)
            img[:, k * 32:(k + 1) * 32] = 255
            net.add_captured(np.clip(img + rng.integers(0, 30, img.shape), 0, 255).astype(np.uint8), k)
    w.capture_panel.train()
    qtbot.waitUntil(lambda: net.training == "idle" and len(net.history_epochs) >= 1, timeout=120000)
    assert steps_done(w) == [True, True, True]


# ------------------------------------------------------------------------------ the learner's own lab

def test_the_learners_lab_is_kept_and_comes_back(qtbot, w, tmp_path):
    w.state.set_cell(0, 0, 0, 0.75)
    w.state.set_settings("Stride 2", stride=2)
    w.net.load_preset("lenet_relu")
    mine = (w.state.bank.weights.copy(), w.state.settings, w.net.spec, w.session.dirty)
    open_lesson(qtbot, w, 4)
    assert w.state.color == "rgb" and not w.session.dirty
    w.lessons_panel.next_btn.click()
    qtbot.waitUntil(lambda: w.lessons.current.number == 5, timeout=WAIT)
    w.lessons_panel.prev_btn.click()
    assert w.lessons.current.number == 4
    w.lessons_panel.back_btn.click()
    assert w.lessons.current is None and not w.lessons_panel.back_btn.isEnabled()
    assert np.array_equal(w.state.bank.weights, mine[0]) and w.state.settings == mine[1]
    assert w.net.spec == mine[2] and w.session.dirty == mine[3]


def test_the_panel_ticks_steps_as_they_are_done(qtbot, w):
    open_lesson(qtbot, w, 6)
    assert w.lessons_panel.progress.text() == "0 of 2 done"
    w.filters_panel.stride.setValue(2)
    qtbot.waitUntil(lambda: w.lessons_panel.progress.text() == "1 of 2 done", timeout=WAIT)
    assert "&#10004;" in w.lessons_panel.steps.text() or "\u2714" in w.lessons_panel.steps.text()


def test_preset_names_used_by_the_lessons_exist():
    for les in LESSONS:
        for key in les.setup.bank or ():
            assert key in kernels.KERNEL_PRESETS
        assert les.setup.model is None or les.setup.model in model_presets()


def test_clicking_the_output_view_pins(qtbot, w):
    open_lesson(qtbot, w, 1)
    view = w.playground.output_view
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=QPoint(view.width() // 2, view.height() // 2))
    qtbot.waitUntil(lambda: steps_done(w)[0], timeout=WAIT)
