"""Training: LeNet-5 learns the synthetic digits; stop / pause / single step; the NaN guard."""

import subprocess
import sys
import threading

import numpy as np
import pytest

from convlab.core.data import Dataset, synthetic_digits
from convlab.core.losses import softmax_cross_entropy
from convlab.core.model import Sequential
from convlab.core.presets import LENET5, model_preset, model_presets
from convlab.core.training import (
    Diverged,
    EpochResult,
    Finished,
    StepResult,
    Trainer,
    confusion_matrix,
    evaluate,
    warm_up,
)


@pytest.fixture(scope="module")
def digits():
    return synthetic_digits(6000, seed=0).split(0.15, seed=0)


def small(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return Dataset(rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n), [str(i) for i in range(10)])


def test_lenet5_reaches_95_percent_on_synthetic_digits(digits):
    train, val = digits
    model = Sequential.from_spec(LENET5, seed=0)
    trainer = Trainer(model, train, val, epochs=4, batch_size=32, optimizer="momentum", lr=0.05, seed=0)
    results = list(trainer.run())
    epochs = [r for r in results if isinstance(r, EpochResult)]
    assert len(epochs) == 4 and isinstance(results[-1], Finished) and not results[-1].stopped
    steps = [r for r in results if isinstance(r, StepResult)]
    assert steps[-1].samples_seen == 4 * len(train) and steps[-1].progress == 1.0
    assert all(s.samples_per_s > 0 for s in steps)
    assert epochs[-1].val_accuracy >= 0.95, epochs
    ev = evaluate(model, val)
    assert ev.accuracy == pytest.approx(epochs[-1].val_accuracy)
    cm = confusion_matrix(val.y, ev.predictions, 10)
    assert cm.sum() == len(val) and np.trace(cm) == (ev.predictions == val.y).sum()


def test_training_with_a_final_softmax_layer_uses_its_logits():
    spec = model_preset("lenet_relu")
    spec["layers"].append({"type": "softmax"})
    model = Sequential.from_spec(spec, seed=0)
    data = small()
    expected, _ = softmax_cross_entropy(model.forward(data.x, upto=len(model.layers) - 1), data.y)
    first = next(iter(Trainer(model, data, epochs=1, batch_size=64, optimizer="sgd", lr=0.01).run()))
    assert isinstance(first, StepResult) and first.loss == pytest.approx(expected, rel=1e-5)


def test_stop_ends_the_run():
    model = Sequential.from_spec(LENET5, seed=0)
    trainer = Trainer(model, small(256), epochs=5, batch_size=16)
    seen = []
    for r in trainer.run():
        seen.append(r)
        if isinstance(r, StepResult) and r.step == 3:
            trainer.stop()
    assert isinstance(seen[-1], Finished) and seen[-1].stopped and seen[-1].steps == 3


def test_pause_blocks_until_single_step_or_resume():
    model = Sequential.from_spec(LENET5, seed=0)
    trainer = Trainer(model, small(256), epochs=1, batch_size=16)
    trainer.pause()
    got = []
    stepped = threading.Event()
    done = threading.Event()

    def consume():
        for r in trainer.run():
            got.append(r)
            stepped.set()
        done.set()

    t = threading.Thread(target=consume)
    t.start()
    assert trainer.wait_blocked(10) and got == []  # paused before the first batch
    trainer.step_once()
    assert stepped.wait(10)
    assert trainer.wait_blocked(10) and len(got) == 1  # exactly one step, then parked again
    assert not done.is_set()
    trainer.resume()
    assert done.wait(30)
    t.join()
    assert isinstance(got[-1], Finished) and got[-1].steps == 16


def test_stop_while_paused_releases_the_thread():
    trainer = Trainer(Sequential.from_spec(LENET5, seed=0), small(), epochs=1, batch_size=16)
    trainer.pause()
    out = []
    t = threading.Thread(target=lambda: out.extend(trainer.run()))
    t.start()
    trainer.stop()
    t.join(10)
    assert not t.is_alive() and out[-1].stopped


def test_divergence_stops_and_restores_last_good_weights():
    model = Sequential.from_spec(model_preset("lenet_relu"), seed=0)
    data = small(128)
    trainer = Trainer(model, data, epochs=50, batch_size=64, optimizer="sgd", lr=1e9)
    states = {0: model.state_dict()}  # the weights after each step
    result = None
    for result in trainer.run():
        if isinstance(result, StepResult):
            states[result.step] = model.state_dict()
        if isinstance(result, Diverged):
            break
    assert isinstance(result, Diverged)
    assert "diverged" in result.message and "smaller learning rate" in result.message
    params = model.parameters()
    assert all(np.isfinite(v).all() for v in params.values())
    for k, v in states[result.kept_step].items():  # the weights that gave the lowest loss, not the exploded ones
        np.testing.assert_array_equal(params[k], v)


def test_trainer_refuses_mismatched_models_and_settings():
    data = small()
    conv_only = Sequential.from_spec({"input": [1, 28, 28], "layers": [{"type": "conv2d", "filters": 2, "kernel": 3}]})
    with pytest.raises(ValueError, match="ends in 2x26x26 maps.*flatten and linear"):
        Trainer(conv_only, data)
    rgb = Sequential.from_spec(model_preset("small_vgg_rgb"))
    with pytest.raises(ValueError, match="samples are 1x28x28 but the model takes 3x32x32"):
        Trainer(rgb, data)
    with pytest.raises(ValueError, match="epochs"):
        Trainer(Sequential.from_spec(LENET5), data, epochs=0)
    with pytest.raises(ValueError, match="batch size"):
        Trainer(Sequential.from_spec(LENET5), data, batch_size=0)
    five = Sequential.from_spec({"input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "linear", "units": 5}]})
    with pytest.raises(ValueError, match="5 class scores but the dataset has 10"):
        Trainer(five, data)


@pytest.mark.parametrize("key", sorted(model_presets()))
def test_warm_up_runs_every_preset_and_leaves_the_model_alone(key):
    from convlab.core.model import design_model

    _, model = design_model(model_preset(key), seed=3)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    grads = {k: v.copy() for k, v in model.gradients().items()}
    warm_up(model)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    for k, v in model.gradients().items():
        np.testing.assert_array_equal(v, grads[k])
    warm_up(model, own=True)  # the model's own buffers: the weights still stay
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_warm_up_compiles_the_fast_loops_a_model_uses():
    from convlab.core.fastpath import engine

    if not engine.available:
        pytest.skip("the fast path needs Numba")
    script = (
        "from convlab.core.fastpath import engine, conv_loops, optim_loops, pool_loops, patch_loops\n"
        "from convlab.core.model import Sequential\n"
        "from convlab.core.presets import LENET5\n"
        "from convlab.core.training import warm_up\n"
        "engine.load()\n"
        "def ready(*modules):\n"
        "    return sum(bool(getattr(f, 'signatures', None)) for m in modules for f in vars(m).values())\n"
        "before = ready(conv_loops, pool_loops, patch_loops, optim_loops)\n"
        "warm_up(Sequential.from_spec(LENET5, seed=0))\n"
        "print(before, ready(conv_loops, pool_loops, patch_loops), ready(optim_loops))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    before, after, optimisers = map(int, out.stdout.split())
    assert before == 0 and after >= 4  # the loops of a run are ready before its first batch
    assert optimisers == 2  # and so are the updates of SGD with momentum and of Adam
