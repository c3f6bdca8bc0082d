"""NetworkState: spec edits as undo steps, kept weights, training in a thread, receptive fields."""

import numpy as np
import pytest


@pytest.fixture
def net(new_net):
    n = new_net()
    n.set_image(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    n.set_settings(samples=300, epochs=1, batch_size=32)
    return n


def test_default_is_lenet5_with_activations(net):
    assert net.report.ok and net.report.total_params == 61706
    assert net.current_input.shape == (1, 28, 28)
    assert [a.shape for a in net.activations][:2] == [(1, 28, 28), (6, 28, 28)]
    assert net.probabilities.shape == (10,) and net.probabilities.sum() == pytest.approx(1, rel=1e-5)


def test_layer_edits_are_undo_steps_and_keep_surviving_weights(net):
    w0 = net.model.parameters()["0.weight"].copy()
    assert net.add_layer("dropout", 7)
    assert net.spec["layers"][7]["type"] == "dropout" and net.preset_key is None
    np.testing.assert_array_equal(net.model.parameters()["0.weight"], w0)  # layer 0 kept its weights
    assert net.set_layer_field(0, "filters", 8)
    assert net.report.rows[0].output_shape == (8, 28, 28)
    net.undo_stack.undo()
    net.undo_stack.undo()
    assert net.report.total_params == 61706 and net.preset_key == "lenet5"
    net.undo_stack.redo()
    assert net.spec["layers"][7]["type"] == "dropout"


def test_move_duplicate_remove(net):
    n = len(net.layers())
    net.duplicate_layer(1)
    assert len(net.layers()) == n + 1 and net.layers()[2]["type"] == "tanh"
    net.move_layer(0, 2)
    assert net.layers()[2]["type"] == "conv2d"
    assert net.report.ok and net.report.rows[0].type == "tanh"  # tanh first, then the conv: still valid
    net.remove_layer(2)
    assert len(net.layers()) == n


def test_impossible_spec_blocks_training_with_the_reason(net):
    net.set_layer_field(3, "kernel", 20)
    assert net.model is None and net.report.error_index == 3
    assert "spans 20 pixels" in net.train_block_reason
    assert net.start_training() is False


def test_json_edit(net):
    assert "not valid JSON" in net.set_spec_json("{nope")
    assert "input" in net.set_spec_json("[]")
    spec = '{"input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "linear", "units": 10}]}'
    assert net.set_spec_json(spec) == ""
    assert net.report.total_params == 7850


def test_training_runs_in_a_thread_and_evaluates(net, qtbot):
    with qtbot.waitSignal(net.evaluationChanged, timeout=60000):
        assert net.start_training()
    assert net.training == "idle" and net.history_epochs and net.history_steps
    assert net.confusion.sum() == len(net.val)
    acc = net.per_class_accuracy()
    assert acc.shape == (10,)
    assert len(net.misclassified()) == int((net.evaluation.predictions != net.val.y).sum())
    # the view model carries the trained weights
    for k, v in net.model.state_dict().items():
        np.testing.assert_array_equal(net.view_model.state_dict()[k], v)


def test_single_step_from_idle_then_stop(net, qtbot):
    with qtbot.waitSignal(net.progress, timeout=60000):
        net.step()
    assert net.training == "paused" and len(net.history_steps) == 1
    with qtbot.waitSignal(net.trainingStateChanged, timeout=30000):
        net.stop()
    qtbot.waitUntil(lambda: net.training == "idle", timeout=30000)


def test_layers_cannot_change_while_training(net, qtbot):
    with qtbot.waitSignal(net.progress, timeout=60000):
        net.step()
    assert net.add_layer("relu") is False
    net.stop()
    qtbot.waitUntil(lambda: net.training == "idle", timeout=30000)


def test_dataset_that_does_not_fit_is_reported(net, qtbot):
    net.set_spec({"input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "linear", "units": 5}]}, "five")
    with qtbot.waitSignal(net.datasetChanged, timeout=60000):
        net.load_dataset()
    assert "5 scores but the dataset has 10 classes" in net.train_block_reason


def test_missing_mnist_folder_is_a_message(net, qtbot, tmp_path):
    net.set_settings(dataset="mnist", path=str(tmp_path))
    with qtbot.waitSignal(net.message, timeout=30000, check_params_cb=lambda m: "cannot load" in m):
        net.load_dataset()
    assert net.dataset is None


def test_unit_selection_boxes_and_effective_rf(net):
    net.select_unit(5, 0, 1, 2)
    box, nested = net.unit_boxes()
    assert (box.top, box.left, box.height, box.width) == (2, 6, 16, 16)
    assert nested[-1] == (2, 6, 18, 22)
    net.set_rf_mode("effective")
    g = net.effective_rf
    assert g.shape == (28, 28) and g[2:18, 6:22].sum() > 0
    mask = np.ones_like(g, bool)
    mask[2:18, 6:22] = False
    assert g[mask].max() == 0


def test_sample_input_and_preprocess(net, qtbot):
    with qtbot.waitSignal(net.datasetChanged, timeout=60000):
        net.load_dataset()
    net.use_sample(3)
    np.testing.assert_array_equal(net.current_input, net.val.x[3])
    net.use_image()
    a = net.current_input.copy()
    net.set_preprocess(invert="yes" if net.preprocess.invert != "yes" else "no")
    assert not np.array_equal(a, net.current_input)


def test_reset_weights(net):
    before = net.view_model.state_dict()["0.weight"].copy()
    net.reset_weights(seed=123)
    assert not np.array_equal(before, net.view_model.state_dict()["0.weight"])


def test_a_second_run_continues_the_step_count(net, qtbot):
    with qtbot.waitSignal(net.evaluationChanged, timeout=60000):
        net.start_training()
    first = net.history_steps[-1][0]
    assert len(net.history_steps) == first  # every step is in the history, not only the reported ones
    with qtbot.waitSignal(net.evaluationChanged, timeout=60000):
        net.start_training()
    assert net.history_steps[-1][0] == 2 * first
    assert net.history_epoch_steps == [first, 2 * first]


def test_a_unit_that_no_longer_exists_is_dropped(net):
    net.select_unit(5, 3, 4, 4)
    net.set_layer_field(3, "filters", 2)  # layer 5 now has 2 channels
    assert net.unit is None


def test_engine_loops_load_with_the_dataset_not_in_the_first_batch(net, qtbot, monkeypatch):
    # loading Numba's loops holds the GIL ~50 ms: the dataset's worker thread does it, so a run's
    # first batch does not stall the window
    import threading

    from convlab.gui import training_state

    threads = []
    monkeypatch.setattr(training_state.engine, "load", lambda: threads.append(threading.current_thread()) or True)
    with qtbot.waitSignal(net.datasetChanged, timeout=60000):
        net.load_dataset()
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
