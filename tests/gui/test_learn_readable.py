"""Learn a filter, read as a learner would: titles that fit, loss labels apart, an honest progress
bar before a run, the best linear filter (or why it is hidden), buttons that stay put on Reveal."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication

from convlab.core.samples import DEFAULT_SAMPLE, load_sample
from convlab.gui.learn_state import LearnState
from convlab.gui.panels.learn_panel import LearnPanel
from convlab.gui.state import LabState

WAIT = 30000


@pytest.fixture
def lab():
    st = LabState()
    st.set_image(load_sample(DEFAULT_SAMPLE), "astronaut")
    return st


@pytest.fixture
def panel(qtbot, lab):
    p = LearnPanel(LearnState(lab))
    qtbot.addWidget(p)
    p.pace_combo.setCurrentIndex(p.pace_combo.findData("fast"))
    p.resize(1000, 640)
    p.show()
    yield p
    p.shutdown()


def run(qtbot, panel, steps=200):
    panel.steps_spin.setValue(steps)
    with qtbot.waitSignal(panel.finished, timeout=WAIT) as blocker:
        qtbot.mouseClick(panel.start_btn, Qt.LeftButton)
    assert blocker.args == ["filter"], panel.error_label.text()


def kernel_views(panel):
    return (panel.learned_view, panel.true_view, panel.best_view, panel.output_view, panel.target_view)


def title_inside(view) -> bool:
    """The title's text lies inside the view, left and right."""
    item = view.title.item
    rect = item.mapRectToScene(item.boundingRect())
    return rect.left() >= 0 and rect.right() <= view.width() + 0.5


@pytest.mark.parametrize("width", [1000, 820])
def test_result_titles_are_never_cut_at_either_end(qtbot, panel, width):
    panel.resize(width, 640)
    run(qtbot, panel)
    panel.reveal()
    QApplication.processEvents()
    for view in kernel_views(panel):
        assert title_inside(view), (view.full_title, view.width())
    # shortened ones say "..." and keep the whole title in the tooltip
    for view in kernel_views(panel):
        if "…" in view.title.text:
            assert view.full_title in view.toolTip()


def tick_labels_overlap(plot) -> list:
    axis = plot.getAxis("left")
    image = QImage(10, 10, QImage.Format_RGB32)
    painter = QPainter(image)
    texts = axis.generateDrawSpecs(painter)[2]
    painter.end()
    rects = [(r, t) for r, _, t in texts if t]
    return [(a[1], b[1]) for i, a in enumerate(rects) for b in rects[i + 1:] if a[0].intersects(b[0])]


@pytest.mark.parametrize("losses", [None, np.geomspace(1, 1e-12, 300)])
def test_loss_axis_labels_do_not_overlap_even_in_a_short_plot(qtbot, panel, losses):
    panel.views.loss_plot.setFixedHeight(150)
    if losses is not None:
        panel.loss_curve.setData(np.arange(1, 301), losses)
    QApplication.processEvents()
    assert tick_labels_overlap(panel.views.loss_plot) == []


def test_before_a_run_the_progress_bar_says_what_start_will_do(qtbot, panel):
    assert "0 / 1" not in panel.progress_bar.text()
    assert panel.progress_bar.text() == "not started: 500 steps to take"
    panel.steps_spin.setValue(300)
    assert "300 steps" in panel.progress_bar.text()
    run(qtbot, panel, steps=50)
    assert panel.progress_bar.text() == "50 / 50 steps"
    panel.reset()
    assert panel.progress_bar.text() == "not started: 50 steps to take"


def test_the_best_linear_filter_shows_when_it_spoils_nothing_and_says_why_when_hidden(qtbot, panel):
    # before any run: every empty view says what will appear there
    for view in (panel.learned_view, panel.true_view, panel.best_view):
        assert view.placeholder.isVisible() and view.placeholder.text()
    # a hidden preset: the exact answer would give it away, so it waits for Reveal and says so
    run(qtbot, panel, steps=50)
    assert panel.best_view.item.image is None
    assert panel.best_view.placeholder.isVisible() and "Reveal" in panel.best_view.placeholder.text()
    panel.reveal()
    assert panel.best_view.item.image is not None and not panel.best_view.placeholder.isVisible()
    # an OpenCV target: its kernel is known anyway, so the best linear filter shows as soon as it is
    # solved, while the run is still on
    panel.target_opencv_radio.setChecked(True)
    panel.steps_spin.setValue(100000)
    panel.start()
    qtbot.waitUntil(lambda: panel.reference_result is not None, timeout=WAIT)
    QApplication.processEvents()
    assert panel.is_running() and panel.best_view.item.image is not None
    assert "loss" in panel.best_view.full_title
    with qtbot.waitSignal(panel.finished, timeout=WAIT):
        panel.stop()


def test_the_buttons_stay_where_they_are_when_the_kernel_is_revealed(qtbot, panel):
    run(qtbot, panel, steps=50)
    QApplication.processEvents()
    where = [b.mapTo(panel, QPoint(0, 0)) for b in (panel.reveal_btn, panel.use_btn, panel.start_btn)]
    qtbot.mouseClick(panel.reveal_btn, Qt.LeftButton)
    QApplication.processEvents()
    assert [b.mapTo(panel, QPoint(0, 0)) for b in (panel.reveal_btn, panel.use_btn, panel.start_btn)] == where
    assert panel.reveal_label.isVisible() and panel.reveal_label.text().startswith("The hidden kernel was Sobel x")
