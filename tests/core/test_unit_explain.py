"""How one unit is made: every kind of layer recomputed by hand equals the engine's forward
(float64, 1e-10), for strides, every padding mode, dilations and rectangular kernels."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from convlab.core import functional as F
from convlab.core.model import Sequential
from convlab.core.unit_explain import (
    ActivationExplanation,
    ConvExplanation,
    DropoutExplanation,
    FlattenExplanation,
    LinearExplanation,
    PoolExplanation,
    SoftmaxExplanation,
    explain_unit,
    feeding_channels,
    source_index,
)

TOL = 1e-10


def model_of(input_shape, layers, seed=0) -> Sequential:
    m = Sequential.from_spec({"input": list(input_shape), "layers": layers}, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    for lay in m.layers:  # biases are zero after a reset: give them values, so they are checked too
        if "bias" in lay.params:
            lay.params["bias"][...] = rng.normal(size=lay.params["bias"].shape)
    return m


def forward(m: Sequential, x: np.ndarray) -> list[np.ndarray]:
    m.forward(x[None])
    return [a[0] for a in m.activations]


def every_unit(shape):
    if len(shape) == 3:
        return itertools.product(range(shape[0]), range(shape[1]), range(shape[2]))
    return ((c, 0, 0) for c in range(shape[0]))


def check_all_units(m: Sequential, x: np.ndarray, layer: int):
    acts = forward(m, x)
    out = acts[layer + 1]
    seen = []
    for c, y, xx in every_unit(out.shape):
        e = explain_unit(m.layers, acts, layer, c, y, xx)
        want = out[c, y, xx] if out.ndim == 3 else out[c]
        assert abs(e.value - want) <= TOL * max(1.0, abs(want)), (layer, c, y, xx, e.value, want)
        seen.append(e)
    return seen


# ------------------------------------------------------------------------------ padding by hand

@pytest.mark.parametrize("mode,np_mode", [("reflect", "reflect"), ("replicate", "edge")])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_source_index_matches_numpy_pad(mode, np_mode, n):
    p = n - 1 if mode == "reflect" else 4  # reflect padding must be smaller than the axis
    if mode == "reflect" and n == 1:
        p = 0
    padded = np.pad(np.arange(n), p, mode=np_mode)
    assert [source_index(i - p, n, mode) for i in range(n + 2 * p)] == padded.tolist()


def test_zero_padding_reads_nothing():
    assert source_index(-1, 5, "zeros") == -1 and source_index(5, 5, "zeros") == -1
    assert source_index(3, 5, "zeros") == 3


# ------------------------------------------------------------------------------ convolution

CONV_CASES = [
    dict(kernel=3),
    dict(kernel=3, stride=2),
    dict(kernel=5, padding=2),
    dict(kernel=3, padding=1, padding_mode="reflect"),
    dict(kernel=3, padding=2, padding_mode="replicate", stride=2),
    dict(kernel=[3, 5], padding=[1, 2], padding_mode="reflect"),
    dict(kernel=[2, 4], stride=[1, 3], padding=[0, 1]),
    dict(kernel=3, dilation=2, padding=2),
    dict(kernel=[3, 2], dilation=[2, 3], padding=[3, 1], padding_mode="replicate", stride=[2, 1]),
    dict(kernel=3, stride=3, padding=1, padding_mode="reflect"),
    dict(kernel=1),
    dict(kernel=3, padding=1, bias=False),
]


@pytest.mark.parametrize("conv", CONV_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_conv_unit_equals_the_engine(conv):
    m = model_of((3, 9, 8), [{"type": "conv2d", "filters": 4, **conv}])
    x = np.random.default_rng(2).normal(size=(3, 9, 8))
    for e in check_all_units(m, x, 0):
        assert isinstance(e, ConvExplanation)
        assert e.patch.shape == (3,) + m.layers[0].kernel
        assert e.value == pytest.approx(e.channel_sums.sum() + e.bias, abs=TOL)
        np.testing.assert_allclose(e.channel_sums, (e.patch * e.weights).sum(axis=(1, 2)), atol=TOL)


def test_conv_patch_is_the_padded_input_and_marks_the_padding():
    m = model_of((2, 6, 6), [{"type": "conv2d", "filters": 2, "kernel": 3, "padding": 2, "dilation": 2,
                              "padding_mode": "reflect"}])
    x = np.random.default_rng(3).normal(size=(2, 6, 6))
    acts = forward(m, x)
    e = explain_unit(m.layers, acts, 0, 1, 0, 3)
    xp = F.pad2d(x[None], 2, 2, "reflect")[0]
    np.testing.assert_array_equal(e.rows, [-2, 0, 2])
    np.testing.assert_array_equal(e.cols, [1, 3, 5])
    np.testing.assert_array_equal(e.patch, xp[:, e.rows[:, None] + 2, e.cols[None, :] + 2])
    assert e.outside[0].all() and not e.outside[1:].any()
    np.testing.assert_array_equal(e.source_rows, [2, 0, 2])  # reflect: row -2 reads row 2
    np.testing.assert_array_equal(e.weights, m.layers[0].params["weight"][1])


def test_conv_text_names_the_patch_and_the_bias():
    m = model_of((6, 8, 8), [{"type": "conv2d", "filters": 3, "kernel": 5, "padding": 2}])
    acts = forward(m, np.random.default_rng(4).normal(size=(6, 8, 8)))
    e = explain_unit(m.layers, acts, 0, 2, 0, 5)
    text = e.text()
    assert text.startswith("layer 0 conv2d, unit (ch 2, y 0, x 5): 6 channels x 5x5 patch \u00b7 weights = ")
    assert f"+ bias {e.bias:.4g}" in text and f"= {e.value:.4g}" in text
    assert "10 of 25 taps in the zeros padding" in text


# ------------------------------------------------------------------------------ pooling

POOL_CASES = [
    dict(kernel=2),
    dict(kernel=3, stride=2),
    dict(kernel=3, stride=1, padding=1),
    dict(kernel=[2, 3], stride=[2, 1], padding=[1, 1]),
    dict(kernel=[3, 2], stride=[3, 2], padding=[1, 0]),
]


@pytest.mark.parametrize("kind", ["maxpool2d", "avgpool2d"])
@pytest.mark.parametrize("pool", POOL_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_pool_unit_equals_the_engine(kind, pool):
    m = model_of((2, 7, 8), [{"type": kind, **pool}])
    x = np.random.default_rng(5).normal(size=(2, 7, 8))
    for e in check_all_units(m, x, 0):
        assert isinstance(e, PoolExplanation)
        if kind == "maxpool2d":
            i, j = e.argmax
            assert e.window[i, j] == e.value and not e.outside[i, j]
        else:
            assert e.argmax is None and e.value == pytest.approx(e.total / e.window.size, abs=TOL)


def test_max_pool_ties_go_to_the_first_maximum_as_the_engine_routes_them():
    m = model_of((1, 4, 4), [{"type": "maxpool2d", "kernel": 2}])
    x = np.zeros((1, 4, 4))
    x[0, 0, 1] = x[0, 1, 0] = x[0, 1, 1] = 3.0  # three equal maxima in the first window
    x[0, 2:, 2:] = 7.0  # a window that is all one value
    acts = forward(m, x)
    for y, xx, want in [(0, 0, (0, 1)), (1, 1, (0, 0)), (0, 1, (0, 0))]:
        e = explain_unit(m.layers, acts, 0, 0, y, xx)
        assert e.argmax == want
        dout = np.zeros((1, 1, 2, 2))
        dout[0, 0, y, xx] = 1.0
        routed = m.layers[0].backward(dout)[0, 0]  # the engine sends the gradient to its chosen maximum
        assert routed[2 * y + want[0], 2 * xx + want[1]] == 1.0 and routed.sum() == 1.0


def test_pool_text():
    m = model_of((3, 6, 6), [{"type": "avgpool2d", "kernel": 2}])
    acts = forward(m, np.ones((3, 6, 6)))
    assert explain_unit(m.layers, acts, 0, 1, 2, 1).text() == (
        "layer 0 avgpool2d, unit (ch 1, y 2, x 1): mean of the 2x2 window at rows 4..5, cols 2..3 of channel 1 "
        "= 4 / 4 = 1")
    m = model_of((1, 4, 4), [{"type": "maxpool2d", "kernel": 2}])
    x = np.arange(16.0).reshape(1, 4, 4)
    e = explain_unit(m.layers, forward(m, x), 0, 0, 1, 0)
    assert e.text() == "layer 0 maxpool2d, unit (ch 0, y 1, x 0): max of the 2x2 window at rows 2..3, cols 0..1 " \
                       "of channel 0 = 13 (at row 3, col 1)"


# ------------------------------------------------------------------------------ element-wise and flat

@pytest.mark.parametrize("act", [{"type": "relu"}, {"type": "leaky_relu", "slope": 0.1}, {"type": "tanh"},
                                 {"type": "sigmoid"}])
def test_activations_equal_the_engine(act):
    m = model_of((2, 3, 4), [act, {"type": "flatten"}, {"type": "linear", "units": 5}, dict(act)])
    x = 3 * np.random.default_rng(6).normal(size=(2, 3, 4))
    for layer in (0, 3):
        for e in check_all_units(m, x, layer):
            assert isinstance(e, ActivationExplanation)
    e = explain_unit(m.layers, forward(m, x), 0, 1, 2, 3)
    assert e.input == x[1, 2, 3]
    assert e.text().startswith(f"layer 0 {act['type']}, unit (ch 1, y 2, x 3): {act['type']}(")


def test_sigmoid_is_exact_for_large_values():
    m = model_of((3,), [{"type": "sigmoid"}])
    x = np.array([-800.0, 0.0, 800.0])
    for e in check_all_units(m, x, 0):
        assert np.isfinite(e.value)


def test_linear_flatten_dropout_and_softmax_equal_the_engine():
    m = model_of((2, 3, 3), [{"type": "flatten"}, {"type": "linear", "units": 7}, {"type": "dropout", "rate": 0.5},
                             {"type": "linear", "units": 4}, {"type": "softmax"}])
    x = np.random.default_rng(7).normal(size=(2, 3, 3))
    kinds = [FlattenExplanation, LinearExplanation, DropoutExplanation, LinearExplanation, SoftmaxExplanation]
    for layer, kind in enumerate(kinds):
        for e in check_all_units(m, x, layer):
            assert isinstance(e, kind) and not e.spatial
    acts = forward(m, x)
    e = explain_unit(m.layers, acts, 0, 13)
    assert e.source == (1, 1, 1) and e.value == x[1, 1, 1]
    assert e.text() == f"layer 0 flatten, unit 13: the input at (ch 1, y 1, x 1) = {x[1, 1, 1]:.4g}"
    lin = explain_unit(m.layers, acts, 1, 3)
    assert lin.value == pytest.approx(lin.dot + lin.bias, abs=TOL)
    sizes = [abs(p) for _, _, _, p in lin.top]
    assert sizes == sorted(sizes, reverse=True) and len(lin.top) == 5
    assert sizes[0] == pytest.approx(np.abs(lin.products).max())
    assert lin.text().startswith("layer 1 linear, unit 3: 18 inputs \u00b7 weights = ")
    assert "; largest: #" in lin.text()
    sm = explain_unit(m.layers, acts, 4, 2)
    assert sm.value == pytest.approx(sm.numerator / sm.denominator, abs=TOL)
    assert "dropout" in explain_unit(m.layers, acts, 2, 0).text()


# ------------------------------------------------------------------------------ a whole model

def test_every_unit_of_a_lenet_like_model():
    layers = [{"type": "conv2d", "filters": 3, "kernel": 5, "padding": 2}, {"type": "tanh"},
              {"type": "avgpool2d", "kernel": 2}, {"type": "conv2d", "filters": 4, "kernel": 3, "stride": 2,
                                                    "padding_mode": "replicate", "padding": 1},
              {"type": "relu"}, {"type": "maxpool2d", "kernel": 2, "stride": 1}, {"type": "flatten"},
              {"type": "linear", "units": 6}, {"type": "leaky_relu"}, {"type": "linear", "units": 3}]
    m = model_of((2, 12, 12), layers)
    x = np.random.default_rng(8).normal(size=(2, 12, 12))
    for i in range(len(layers)):
        check_all_units(m, x, i)


def test_float32_activations_agree_to_float32_precision():
    m = Sequential.from_spec({"input": [1, 10, 10], "layers": [{"type": "conv2d", "filters": 2, "kernel": 3}]}, 0)
    x = np.random.default_rng(9).random((1, 10, 10)).astype(np.float32)
    m.forward(x[None])
    acts = [a[0] for a in m.activations]
    e = explain_unit(m.layers, acts, 0, 1, 4, 4)
    assert e.value == pytest.approx(float(acts[1][1, 4, 4]), rel=1e-5, abs=1e-6)


# ------------------------------------------------------------------------------ bad units, channels

def test_units_outside_the_layer_are_refused_with_the_numbers():
    m = model_of((1, 6, 6), [{"type": "conv2d", "filters": 2, "kernel": 3}, {"type": "flatten"}])
    acts = forward(m, np.zeros((1, 6, 6)))
    with pytest.raises(ValueError, match=r"layer 0 \(conv2d\): unit \(ch 2, y 0, x 0\) is outside its 2x4x4"):
        explain_unit(m.layers, acts, 0, 2, 0, 0)
    with pytest.raises(ValueError, match="unit 32 is outside its 32 outputs"):
        explain_unit(m.layers, acts, 1, 32)
    with pytest.raises(ValueError, match="there is no layer 2"):
        explain_unit(m.layers, acts, 2, 0)
    with pytest.raises(ValueError, match="takes a 1x6x6 input"):
        explain_unit(m.layers, [np.zeros((1, 5, 5))], 0, 0)


def test_feeding_channels_stop_at_convolutions():
    m = model_of((3, 12, 12), [{"type": "conv2d", "filters": 4, "kernel": 3}, {"type": "relu"},
                               {"type": "maxpool2d", "kernel": 2}, {"type": "conv2d", "filters": 5, "kernel": 3},
                               {"type": "relu"}])
    assert feeding_channels(m.layers, 4, 2) == [{2}, {2}, None, None, None, None]
    assert feeding_channels(m.layers, 2, 1) == [{1}, {1}, {1}, None]
    assert feeding_channels(m.layers, 0, 3) == [{3}, None]
