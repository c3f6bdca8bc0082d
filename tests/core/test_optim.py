"""Optimisers follow PyTorch's update rules (checked by hand) and save/restore their state."""

import numpy as np
import pytest

from convlab.core.optim import SGD, Adam, make_optimizer


def params():
    return {"w": np.array([1.0, -2.0]), "b": np.array([0.5])}


def grads():
    return {"w": np.array([0.1, 0.2]), "b": np.array([-1.0])}


def test_plain_sgd():
    p = params()
    SGD(p, lr=0.1).step(grads())
    np.testing.assert_allclose(p["w"], [0.99, -2.02])


def test_momentum_and_weight_decay_by_hand():
    p = params()
    opt = SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01)
    opt.step(grads())  # g = 0.1 + 0.01*1 = 0.11 ; buf = g ; w = 1 - 0.011
    opt.step(grads())  # g = 0.1 + 0.01*0.989 ; buf = 0.9*0.11 + g
    g2 = 0.1 + 0.01 * 0.989
    np.testing.assert_allclose(p["w"][0], 0.989 - 0.1 * (0.9 * 0.11 + g2))


def test_nesterov_by_hand():
    p = {"w": np.array([1.0])}
    opt = SGD(p, lr=0.1, momentum=0.5, nesterov=True)
    opt.step({"w": np.array([1.0])})  # buf = 1 ; step g + 0.5*buf = 1.5
    np.testing.assert_allclose(p["w"], [1 - 0.15])
    opt.step({"w": np.array([1.0])})  # buf = 1.5 ; step 1 + 0.75
    np.testing.assert_allclose(p["w"], [0.85 - 0.175])


def test_adam_first_steps_by_hand():
    p = {"w": np.array([1.0])}
    opt = Adam(p, lr=0.01)
    opt.step({"w": np.array([3.0])})  # bias-corrected m/sqrt(v) = 3/3 = 1
    np.testing.assert_allclose(p["w"], [0.99], rtol=1e-6)
    opt.step({"w": np.array([-1.0])})
    m = (0.9 * 0.1 * 3 + 0.1 * -1) / (1 - 0.81)
    v = (0.999 * 0.001 * 9 + 0.001 * 1) / (1 - 0.999**2)
    np.testing.assert_allclose(p["w"], [0.99 - 0.01 * m / (np.sqrt(v) + 1e-8)], rtol=1e-6)


@pytest.mark.parametrize("make", [lambda p: SGD(p, lr=0.1, momentum=0.9), lambda p: Adam(p, lr=0.01)])
def test_state_round_trip_continues_identically(make):
    a, b = params(), params()
    oa = make(a)
    oa.step(grads())
    saved = oa.state_dict()
    b.update({k: v.copy() for k, v in a.items()})
    ob = make(b)
    ob.load_state_dict(saved)
    saved["buffers"]["w"][next(iter(saved["buffers"]["w"]))][...] = 99  # a copy was loaded
    oa.step(grads())
    ob.step(grads())
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_bad_settings_and_states():
    with pytest.raises(ValueError, match="learning rate"):
        SGD(params(), lr=0)
    with pytest.raises(ValueError, match="momentum"):
        SGD(params(), lr=0.1, momentum=1.5)
    with pytest.raises(ValueError, match="Nesterov"):
        SGD(params(), lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="unknown optimiser"):
        make_optimizer("rmsprop", params(), lr=0.1)
    with pytest.raises(ValueError, match="not Adam"):
        Adam(params()).load_state_dict(SGD(params(), lr=0.1).state_dict())
    with pytest.raises(ValueError, match="no gradient for b"):
        SGD(params(), lr=0.1).step({"w": np.zeros(2)})
    assert make_optimizer("momentum", params(), lr=0.1).momentum == 0.9


OPTIONS = [
    (SGD, {"lr": 0.05, "momentum": 0.9}),
    (SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
    (SGD, {"lr": 0.05}),
    (Adam, {"lr": 1e-2}),
    (Adam, {"lr": 3e-3, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 1e-2}),
]


def _run(cls, settings, dtype, steps=6):
    rng = np.random.default_rng(3)
    p = {"w": rng.normal(size=(4, 3, 5, 5)).astype(dtype), "b": rng.normal(size=(4,)).astype(dtype)}
    opt = cls(p, **settings)
    for _ in range(steps):
        opt.step({k: rng.normal(size=v.shape).astype(dtype) for k, v in p.items()})
    return p, opt.state


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls, settings", OPTIONS)
def test_the_compiled_updates_give_the_reference_bit_for_bit(cls, settings, dtype, monkeypatch):
    from convlab.core.fastpath import engine, optim_loops

    calls = []
    for name in ("sgd_momentum", "adam"):
        kernel = getattr(optim_loops, name)
        monkeypatch.setattr(optim_loops, name, lambda *a, k=kernel: calls.append(k) or k(*a))
    fast_p, fast_state = _run(cls, settings, dtype)
    # two parameters; Adam's buffers start at zero, momentum's is the first gradient; plain SGD has none
    assert len(calls) == (2 * 6 if cls is Adam else 2 * 5 if settings.get("momentum") else 0)
    with engine.reference():
        ref_p, ref_state = _run(cls, settings, dtype)
    for k in ref_p:
        assert fast_p[k].dtype == dtype
        np.testing.assert_array_equal(fast_p[k], ref_p[k], err_msg=k)
        for buf in ref_state.get(k, {}):
            np.testing.assert_array_equal(fast_state[k][buf], ref_state[k][buf], err_msg=f"{k}.{buf}")


def test_a_strided_parameter_takes_the_numpy_update():
    w = np.zeros((4, 6))[:, ::2]
    opt = SGD({"w": w}, lr=0.5, momentum=0.5)
    opt.step({"w": np.ones((4, 3))})
    opt.step({"w": np.ones((4, 3))})
    np.testing.assert_array_equal(w, -0.5 - 0.5 * 1.5)
