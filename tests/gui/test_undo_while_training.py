"""Undo and Redo while a training run uses the model: a layer change waits (the window says why)
instead of replacing the model under the run; a playground step is taken as always; a stack moved
past the window ends the run first; an evaluation of a replaced model is not shown for the new one."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QCoreApplication

WAIT = 30000


def start_paused_run(qtbot, net) -> None:
    net.set_settings(dataset="digits", samples=300, epochs=50, batch_size=32)
    with qtbot.waitSignal(net.trainingStateChanged, timeout=WAIT):
        assert net.start_training(paused=True)
    qtbot.waitUntil(lambda: net.training == "paused", timeout=WAIT)


def stop_run(qtbot, net) -> None:
    net.stop()
    net.resume()
    qtbot.waitUntil(lambda: net.training == "idle", timeout=WAIT)


def test_undo_of_a_layer_change_waits_for_the_run_and_says_why(qtbot, window):
    w, net = window, window.net
    assert net.set_layer_field(0, "filters", 7)
    start_paused_run(qtbot, net)
    index = net.undo_stack.index()
    assert "stop training" in w.tool_undo.toolTip() and "filters = 7" in w.tool_undo.toolTip()
    assert w.act_undo.isEnabled()  # pressing it tells why it waits
    w.act_undo.trigger()
    assert net.undo_stack.index() == index and net.spec["layers"][0]["filters"] == 7
    assert net.training == "paused" and net.model.parameters()["0.weight"].shape[0] == 7
    message = w.statusBar().currentMessage()
    assert "stop training before changing the layers" in message and "filters = 7" in message
    w.tool_undo.trigger()  # the toolbar's button too
    assert net.undo_stack.index() == index
    stop_run(qtbot, net)
    assert "stop training" not in w.tool_undo.toolTip() and "Ctrl+Z" in w.tool_undo.toolTip()
    w.act_undo.trigger()
    assert net.spec["layers"][0]["filters"] == 6 and net.model.parameters()["0.weight"].shape[0] == 6
    assert "Redo" in w.act_redo.text() and "filters = 7" in w.act_redo.text()


def test_a_playground_step_is_undone_during_a_run(qtbot, window):
    w, net, st = window, window.net, window.state
    start_paused_run(qtbot, net)
    with qtbot.waitSignal(st.resultChanged, timeout=WAIT):
        st.set_settings("Stride 2", stride=2)
    assert "Stride 2" in w.act_undo.text() and "stop training" not in w.tool_undo.toolTip()
    with qtbot.waitSignal(st.resultChanged, timeout=WAIT):
        w.act_undo.trigger()
    assert st.settings.stride == 1 and net.training == "paused"
    stop_run(qtbot, net)


def test_a_stack_moved_past_the_window_ends_the_run_first(qtbot, net):
    assert net.set_layer_field(0, "filters", 7)
    start_paused_run(qtbot, net)
    said = []
    net.message.connect(lambda m: said.append(str(m)))
    net.undo_stack.undo()  # (no window in between: nothing holds the step)
    assert net.training == "idle" and net.spec["layers"][0]["filters"] == 6
    assert net.model.parameters()["0.weight"].shape[0] == 6
    assert net.view_model.parameters()["0.weight"].shape[0] == 6
    assert any(m.startswith("Stopped after") for m in said), said
    for _ in range(3):  # the run's late signals (its end, a last snapshot) are delivered: they fit no model
        QCoreApplication.processEvents()
    assert net.training == "idle" and sum(m.startswith("Stopped after") for m in said) == 1
    net.undo_stack.redo()
    assert net.spec["layers"][0]["filters"] == 7 and net.model.parameters()["0.weight"].shape[0] == 7


def test_an_old_snapshot_does_not_fit_the_new_view_model_and_is_left(net):
    old = net.model.state_dict()
    assert net.set_layer_field(0, "filters", 7)
    before = {k: v.copy() for k, v in net.view_model.state_dict().items()}
    net.design.sync_view(old)  # a late snapshot of the replaced model
    for k, v in net.view_model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_the_evaluation_of_a_replaced_model_is_not_shown(qtbot, net):
    net.set_settings(dataset="digits", samples=200, epochs=1, batch_size=50)
    with qtbot.waitSignal(net.datasetChanged, timeout=WAIT):
        net.load_dataset()
    qtbot.waitUntil(lambda: not net.loading, timeout=WAIT)
    net.evaluate()
    task = net.trainer_state._eval_task
    assert task is not None
    assert net.set_layer_field(0, "filters", 7)  # while the old model is evaluated
    qtbot.waitUntil(lambda: net.trainer_state._eval_task is None, timeout=WAIT)
    assert net.confusion is None and net.evaluation is None
    net.evaluate()  # the new model's own evaluation is shown
    qtbot.waitUntil(lambda: net.confusion is not None, timeout=WAIT)


def test_the_edit_menu_says_the_step_in_full_and_an_ampersand_as_it_is(qtbot, window):
    w, st = window, window.state
    assert w.act_undo.text() == "&Undo" and not w.act_undo.isEnabled()
    with qtbot.waitSignal(st.resultChanged, timeout=WAIT):
        st.set_settings("Stride R&D", stride=2)
    assert w.act_undo.text() == "&Undo Stride R&&D" and w.act_undo.isEnabled()  # shown as "Undo Stride R&D"
    assert "Stride R&D" in w.tool_undo.toolTip()
    with qtbot.waitSignal(st.resultChanged, timeout=WAIT):
        w.act_undo.trigger()
    assert w.act_redo.text() == "&Redo Stride R&&D" and w.act_undo.text() == "&Undo"


def test_an_older_evaluation_that_reports_last_is_not_shown_and_nothing_waits(qtbot, net, monkeypatch):
    import threading

    import convlab.gui.training_state as training_state

    net.set_settings(dataset="digits", samples=200, epochs=1, batch_size=50)
    with qtbot.waitSignal(net.datasetChanged, timeout=WAIT):
        net.load_dataset()
    qtbot.waitUntil(lambda: not net.loading, timeout=WAIT)
    real = training_state._evaluate_copy
    first_may_end = threading.Event()
    older = net.trainer_state._eval_number + 1  # the number the first evaluate() below gets

    def evaluate_copy(model, val, number):
        # told apart by number, not by which thread calls first: the newer one's thread may start first
        if number == older:
            assert first_may_end.wait(30)  # the older one reports after the newer
        number, ev, confusion, error = real(model, val, number)
        ev.accuracy = float(number == older)  # which one it was: 1.0 the older, 0.0 the newer
        return number, ev, confusion, error

    monkeypatch.setattr(training_state, "_evaluate_copy", evaluate_copy)
    net.evaluate()
    net.evaluate()  # returns at once: the first is still running, and not waited for
    with qtbot.waitSignal(net.evaluationChanged, timeout=WAIT):
        pass
    assert net.evaluation is not None and net.evaluation.accuracy == 0.0
    first_may_end.set()
    qtbot.waitUntil(lambda: not net.trainer_state._eval_tasks, timeout=WAIT)
    assert net.evaluation.accuracy == 0.0  # the older result came last and was left


def test_an_evaluation_that_fails_says_why_and_frees_its_slot(qtbot, net, monkeypatch):
    import convlab.gui.training_state as training_state

    net.set_settings(dataset="digits", samples=200, epochs=1, batch_size=50)
    with qtbot.waitSignal(net.datasetChanged, timeout=WAIT):
        net.load_dataset()
    qtbot.waitUntil(lambda: not net.loading, timeout=WAIT)

    def broken(model, val):
        raise RuntimeError("no memory for the probabilities")

    monkeypatch.setattr(training_state, "evaluate", broken)
    said = []
    net.message.connect(lambda m: said.append(str(m)))
    net.evaluate()
    qtbot.waitUntil(lambda: not net.trainer_state._eval_tasks, timeout=WAIT)
    assert any("cannot evaluate the model: RuntimeError: no memory" in m for m in said), said
    assert net.evaluation is None and net.trainer_state._eval_task is None
