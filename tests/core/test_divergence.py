"""Divergence that stays finite is caught: training a model and learning a filter stop with the
weights of their best moment, by one shared rule (convlab.core.divergence)."""

import numpy as np
import pytest

from convlab.core.data import synthetic_digits
from convlab.core.filter_fit import fit_filter, fit_two_layer
from convlab.core.model import Sequential
from convlab.core.presets import LENET5
from convlab.core.training import Diverged, Finished, StepResult, Trainer


@pytest.fixture(scope="module")
def digits():
    return synthetic_digits(600, seed=0).split(0.15, seed=0)[0]


@pytest.mark.parametrize("optimizer, lr", [("momentum", 10.0), ("sgd", 1e6), ("adam", 10.0)])
def test_training_that_explodes_ends_diverged_with_the_best_weights(digits, optimizer, lr):
    # the issue: at lr 10 (the panel's maximum) the loss went 2.3 -> 3,260 and the run ended "Finished";
    # at lr 1e6 the weights reached 2e7
    model = Sequential.from_spec(LENET5, seed=0)
    trainer = Trainer(model, digits, epochs=3, batch_size=32, optimizer=optimizer, lr=lr, seed=0)
    states = {0: model.state_dict()}
    results = []
    for r in trainer.run():
        results.append(r)
        if isinstance(r, StepResult):
            states[r.step] = model.state_dict()
    last = results[-1]
    assert isinstance(last, Diverged), f"the run ended {type(last).__name__} after losses " \
        f"{[round(r.loss, 1) for r in results if isinstance(r, StepResult)][:12]}"
    assert not any(isinstance(r, Finished) for r in results)
    assert "diverged" in last.message and "smaller learning rate" in last.message
    steps = [r for r in results if isinstance(r, StepResult)]
    assert len(steps) < 20 and max(r.loss for r in steps) > 20  # stopped soon after it exploded
    params = model.parameters()
    for k, v in states[last.kept_step].items():
        np.testing.assert_array_equal(params[k], v)
    assert max(float(np.abs(v).max()) for v in params.values()) < 10  # not the exploded weights


def test_a_filter_fit_that_explodes_stops_with_its_best_filter():
    rng = np.random.default_rng(0)
    x = rng.random((4, 1, 16, 16))
    target = x[:, :, 1:-1, 1:-1] - x[:, :, :-2, 1:-1]  # a difference filter
    result = fit_filter(x, target, kernel=3, steps=500, lr=5.0, optimizer="sgd", seed=0)
    assert result.diverged.startswith("learning diverged at step") and "smaller learning rate" in result.diverged
    assert len(result.losses) < 50
    assert np.isfinite(result.weight).all() and np.abs(result.weight).max() < 10
    healthy = fit_filter(x, target, kernel=3, steps=300, lr=0.05, optimizer="adam", seed=0)
    assert healthy.diverged == "" and len(healthy.losses) == 300 and healthy.final_loss < 1e-3


def test_a_two_layer_fit_that_explodes_stops_too():
    rng = np.random.default_rng(1)
    x = rng.random((2, 1, 12, 12))
    result = fit_two_layer(x, np.abs(x - 0.5), kernel=3, hidden=4, steps=300, lr=1e4, seed=0)
    assert result.diverged and len(result.losses) < 300
    assert all(np.isfinite(v).all() for v in result.model.parameters().values())


def test_the_rule_ignores_noise_and_catches_explosions():
    from convlab.core import divergence

    rng = np.random.default_rng(0)
    healthy = divergence.DivergenceGuard()
    for t in range(2000):  # a falling, very noisy loss (batches of one sample)
        loss = 2.3 * np.exp(-t / 200) * rng.lognormal(0, 1.0) + 1e-3
        assert healthy.observe(loss) == "", t
    exploding = divergence.DivergenceGuard()
    reasons = [exploding.observe(loss) for loss in (2.3, 3.1, 20.7, 150.0, 260.0, 525.0, 900.0)]
    assert reasons[:5] == [""] * 5 and "more than 4 times its best of 2.3" in reasons[5]
    assert divergence.DivergenceGuard().observe(float("nan")) == "the loss became nan"
    weights = [np.array([1.0, np.inf])]
    assert "weight" in divergence.DivergenceGuard().observe(1.0, weights)


def test_a_loss_near_zero_is_judged_against_its_start():
    from convlab.core import divergence

    guard = divergence.DivergenceGuard()
    for loss in [1.0, 0.1, 1e-4, 1e-8, 1e-9] + [0.3, 1e-6] * 20:  # a fitted filter, then noise
        assert guard.observe(loss) == ""
    assert "more than 4 times 0.5 (0.5 times its first loss)" in guard.observe(50.0)


def test_the_guard_says_when_it_improved():
    from convlab.core import divergence

    guard = divergence.DivergenceGuard()
    improved = []
    for loss in (3.0, 2.0, 5.0, 1.0):  # smoothed: 3, 2.9, 3.11, 2.899
        guard.observe(loss)
        improved.append(guard.improved)
    assert improved == [True, True, False, True] and guard.best_step == 4
    with pytest.raises(ValueError):
        divergence.DivergenceGuard(factor=1.0)
