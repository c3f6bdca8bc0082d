"""Learn a filter when steps are too large or a run overshoots: the run stops with a message, each
optimiser starts at a learning rate that does not diverge, the best weights seen are kept, and an
old error goes once the learner changes something."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

import convlab.core.filter_fit as filter_fit
from convlab.core.samples import DEFAULT_SAMPLE, load_sample
from convlab.core.settings import LEARN_DEFAULT_LR
from convlab.gui.learn_state import LearnState
from convlab.gui.panels.learn_panel import LearnPanel
from convlab.gui.state import LabState

WAIT = 30000


def make_panel(qtbot, image, name):
    lab = LabState()
    lab.set_image(image, name)
    p = LearnPanel(LearnState(lab))
    qtbot.addWidget(p)
    p.pace_combo.setCurrentIndex(p.pace_combo.findData("fast"))
    p.show()
    return p


@pytest.fixture
def seeded(monkeypatch):
    """Every fit starts from the same random weights, so a run is repeatable."""
    real = filter_fit.fit_filter
    monkeypatch.setattr(filter_fit, "fit_filter", lambda *a, **k: real(*a, **{**k, "seed": 0}))


@pytest.fixture
def bars(qtbot, seeded):
    """Colour bars: large flat areas, so a 5x5 kernel's loss is steep and plain steps overshoot easily."""
    p = make_panel(qtbot, load_sample("colour_bars"), "colour bars")
    yield p
    p.shutdown()


def run(qtbot, panel, steps):
    panel.steps_spin.setValue(steps)
    with qtbot.waitSignal(panel.finished, timeout=WAIT) as blocker:
        qtbot.mouseClick(panel.start_btn, Qt.LeftButton)
    assert blocker.args == ["filter"], panel.error_label.text()


def test_sgd_brings_its_own_learning_rate_and_learns_a_5x5_without_diverging(qtbot, bars):
    bars.optimizer_combo.setCurrentIndex(bars.optimizer_combo.findData("sgd"))
    assert bars.lr_spin.value() == pytest.approx(LEARN_DEFAULT_LR["sgd"])  # not Adam's 0.05
    bars.kernel_spin.setValue(5)
    run(qtbot, bars, 300)
    losses = bars.losses
    assert np.isfinite(losses).all() and losses[-1] < 0.25 * losses[0]  # slower than Adam, but learning
    assert bars.status_label.text().startswith("Done after 300 steps") and bars.error_label.text() == ""
    # a learning rate the learner chose stays when the optimiser changes
    bars.lr_spin.setValue(0.02)
    bars.optimizer_combo.setCurrentIndex(bars.optimizer_combo.findData("momentum"))
    assert bars.lr_spin.value() == pytest.approx(0.02)


def test_a_diverging_run_is_stopped_with_a_message_and_keeps_its_best_weights(qtbot, bars):
    bars.optimizer_combo.setCurrentIndex(bars.optimizer_combo.findData("sgd"))
    bars.lr_spin.setValue(0.05)  # the old default: too large for SGD on this 5x5 problem
    bars.kernel_spin.setValue(5)
    run(qtbot, bars, 500)
    status = bars.status_label.text()
    assert status.startswith("Diverged at step") and "too large for SGD on a 5x5 kernel" in status
    assert "inf" not in status.replace("infinite", "") and "nan" not in status
    assert len(bars.losses) < 500 and bars.progress_bar.value() < 500  # stopped, not run to the end
    assert bars.error_label.text().startswith("The run diverged at step") and "try 0.01" in bars.error_label.text()
    r = bars.result
    assert np.isfinite(r.weight).all() and np.isfinite(r.bias).all()
    assert "best at step" in status and "Best kernel" in bars.learned_view.full_title
    # the learner changes the learning rate: the old error goes
    bars.lr_spin.setValue(0.005)
    assert bars.error_label.text() == ""


def test_an_adam_run_that_ends_worse_than_it_was_keeps_and_shows_the_best(qtbot, seeded):
    panel = make_panel(qtbot, load_sample(DEFAULT_SAMPLE), "astronaut")
    try:
        panel.kernel_spin.setValue(5)
        run(qtbot, panel, 500)  # Adam at 0.05 overshoots late in this run
        st = panel.state
        o = st.outcome
        assert o.kept_best and o.kept_step < 500 and o.kept_loss < 0.01 * o.last_loss
        assert f"best at step {o.kept_step}, loss {o.kept_loss:.4g}" in panel.status_label.text()
        assert panel.result.losses == st.losses and len(st.losses) == 500  # the whole curve
        assert f"step {o.kept_step}" in panel.learned_view.full_title
        assert f"step {o.kept_step}" in panel.output_view.full_title
        assert list(panel.views.best_marker.getData()[0]) == [o.kept_step]  # marked on the loss curve
        assert "best weights" in panel.views.legend_label.text()
    finally:
        panel.shutdown()


def test_an_old_error_goes_when_a_setting_changes(qtbot, bars):
    bars.padding_spin.setValue(4)  # more than 'same': no target for the border
    qtbot.mouseClick(bars.start_btn, Qt.LeftButton)
    assert "padding 1 fits" in bars.error_label.text()
    bars.steps_spin.setValue(40)
    assert bars.error_label.text() == ""
