"""Sequential: spec round trip, shapes, PyTorch-shaped state dicts, summary numbers, clear errors."""

import copy

import numpy as np
import pytest

from convlab.core.layers import SpecError
from convlab.core.model import Sequential, build_layers
from convlab.core.presets import LENET5, model_preset, model_presets


def lenet():
    return copy.deepcopy(LENET5)


def test_spec_round_trip_fills_defaults():
    spec = {"input": [1, 28, 28], "layers": [
        {"type": "conv2d", "filters": 6, "kernel": 5, "stride": 1, "padding": 2, "dilation": 1},
        {"type": "relu"}, {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"},
        {"type": "linear", "units": 10}]}
    m = Sequential.from_spec(spec)
    full = m.spec()
    assert full["layers"][0] == {"type": "conv2d", "filters": 6, "kernel": 5, "stride": 1, "padding": 2,
                                 "dilation": 1, "padding_mode": "zeros", "bias": True}
    assert full["layers"][2] == {"type": "maxpool2d", "kernel": 2, "stride": 2, "padding": 0}
    assert Sequential.from_spec(full).spec() == full
    assert m.output_shape == (10,)


def test_rectangular_values_stay_pairs():
    spec = {"input": [3, 9, 12], "layers": [{"type": "conv2d", "filters": 2, "kernel": [3, 5], "stride": [1, 2]}]}
    m = Sequential.from_spec(spec)
    assert m.spec()["layers"][0]["kernel"] == [3, 5]
    assert m.output_shape == (2, 7, 4)  # (9-3)/1+1, floor((12-5)/2)+1


def test_lenet_shapes_and_activations():
    m = Sequential.from_spec(lenet(), seed=0)
    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    out = m.forward(x)
    assert out.shape == (4, 10) and out.dtype == np.float32
    shapes = [a.shape[1:] for a in m.activations]
    assert shapes[:4] == [(1, 28, 28), (6, 28, 28), (6, 28, 28), (6, 14, 14)]
    assert shapes[6] == (16, 5, 5) and shapes[7] == (400,)
    assert len(m.activations) == len(m.layers) + 1


def test_state_dict_keys_match_pytorch_sequential():
    m = Sequential.from_spec(lenet(), seed=0)
    shapes = {k: v.shape for k, v in m.state_dict().items()}
    # what torch.nn.Sequential(Conv2d, Tanh, AvgPool2d, Conv2d, Tanh, AvgPool2d, Flatten,
    # Linear, Tanh, Linear, Tanh, Linear).state_dict() holds
    assert shapes == {
        "0.weight": (6, 1, 5, 5), "0.bias": (6,), "3.weight": (16, 6, 5, 5), "3.bias": (16,),
        "7.weight": (120, 400), "7.bias": (120,), "9.weight": (84, 120), "9.bias": (84,),
        "11.weight": (10, 84), "11.bias": (10,),
    }
    assert list(shapes) == list(m.parameters())


def test_state_dict_is_a_copy_and_loads_back():
    a = Sequential.from_spec(lenet(), seed=1)
    b = Sequential.from_spec(lenet(), seed=2)
    state = a.state_dict()
    state["0.weight"][...] = 7  # a copy: the model is untouched
    assert not np.all(a.parameters()["0.weight"] == 7)
    b.load_state_dict(a.state_dict())
    x = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))


def test_load_state_dict_rejects_bad_dicts_without_changing_anything():
    m = Sequential.from_spec(lenet(), seed=0)
    before = m.state_dict()
    bad = m.state_dict()
    bad["0.weight"] = np.zeros(3)
    bad["7.weight"] = np.zeros((120, 400))  # would be loaded if checks came late
    with pytest.raises(ValueError, match="0.weight"):
        m.load_state_dict(bad)
    missing = m.state_dict()
    del missing["3.bias"]
    with pytest.raises(ValueError, match="missing 3.bias"):
        m.load_state_dict(missing)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_parameters_are_live_and_seed_reproducible():
    a = Sequential.from_spec(lenet(), seed=3)
    b = Sequential.from_spec(lenet(), seed=3)
    for k in a.parameters():
        np.testing.assert_array_equal(a.parameters()[k], b.parameters()[k])
    a.parameters()["0.bias"][0] = 5.0
    assert a.layers[0].params["bias"][0] == 5.0


def test_initialisation_scales():
    spec = {"input": [8, 16, 16], "layers": [{"type": "conv2d", "filters": 64, "kernel": 3}, {"type": "relu"},
                                             {"type": "conv2d", "filters": 64, "kernel": 3}, {"type": "tanh"}]}
    m = Sequential.from_spec(spec, seed=0)
    he = m.parameters()["0.weight"]
    assert abs(he.std() - np.sqrt(2 / 72)) < 0.1 * np.sqrt(2 / 72)  # He before ReLU
    xav = m.parameters()["2.weight"]
    limit = np.sqrt(6 / (64 * 9 + 64 * 9))  # Xavier uniform otherwise
    assert np.abs(xav).max() <= limit and np.abs(xav).max() > 0.9 * limit
    assert np.all(m.parameters()["0.bias"] == 0)


def test_summary_numbers_by_hand():
    s = Sequential.from_spec(lenet()).summary()
    conv0, conv3 = s.layers[0], s.layers[3]
    assert (conv0.weights, conv0.biases, conv0.macs) == (6 * 25, 6, 6 * 25 * 28 * 28)
    assert (conv3.weights, conv3.biases, conv3.macs) == (16 * 6 * 25, 16, 16 * 150 * 100)
    assert s.layers[7].weights == 400 * 120 and s.layers[7].macs == 48000
    assert s.total_params == 61706
    assert s.layers[5].rf.size == 16 and s.layers[5].rf.jump == 4
    assert s.layers[5].output_shape == (16, 5, 5)
    text = str(s)
    assert "61,706 parameters" in text and "avgpool2d" in text


def test_rgb_5x5_filter_has_75_weights():
    m = Sequential.from_spec({"input": [3, 32, 32], "layers": [{"type": "conv2d", "filters": 1, "kernel": 5}]})
    row = m.summary().layers[0]
    assert (row.weights, row.biases) == (75, 1)


def test_summary_flags_non_whole_division():
    spec = {"input": [1, 14, 14], "layers": [{"type": "conv2d", "filters": 1, "kernel": 5, "stride": 2}]}
    row = Sequential.from_spec(spec).summary().layers[0]
    assert row.output_shape == (1, 5, 5)
    assert any("(14 - 5 + 2*0)/2 + 1 = 5.5" in n and "floors" in n for n in row.notes)
    whole = Sequential.from_spec(lenet()).summary().layers[0]
    assert whole.notes == []


@pytest.mark.parametrize("layers, pattern", [
    ([{"type": "conv2d", "filters": 1, "kernel": 7}],
     r"layer 0 \(conv2d\): output height \(5 - 7 \+ 2\*0\)/1 \+ 1 = -1"),
    ([{"type": "conv2d", "filters": 1, "kernel": 3, "dilation": 3}],
     r"layer 0 \(conv2d\).*the dilated kernel spans 7 pixels but the padded input is only 5"),
    ([{"type": "linear", "units": 3}], r"layer 0 \(linear\): receives a 1x5x5 map.*add a flatten layer.*25 values"),
    ([{"type": "flatten"}, {"type": "conv2d", "filters": 1, "kernel": 1}],
     r"layer 1 \(conv2d\): needs a spatial input.*25 values"),
    ([{"type": "conv2d", "filters": 0, "kernel": 3}], r"layer 0 \(conv2d\): filters must be at least 1, got 0"),
    ([{"type": "conv2d", "filters": 2, "kernel": -3}], r"layer 0 \(conv2d\): kernel must be at least 1, got -3"),
    ([{"type": "conv2d", "filters": "six", "kernel": 3}],
     r"layer 0 \(conv2d\): filters must be a whole number, got 'six'"),
    ([{"type": "conv2d", "filters": 2.5, "kernel": 3}], r"filters must be a whole number, got 2.5"),
    ([{"type": "conv2d", "filters": 2, "kernel": 3, "stride": 0}], r"stride must be at least 1, got 0"),
    ([{"type": "conv2d", "filters": 2, "kernel": 3, "padding": -1}], r"padding must be at least 0, got -1"),
    ([{"type": "conv2d", "filters": 2, "kernel": 3, "padding_mode": "mirror"}],
     r"padding_mode must be one of zeros, reflect, replicate"),
    ([{"type": "conv2d", "kernel": 3}], r"layer 0 \(conv2d\): filters is required"),
    ([{"type": "conv2d", "filters": 2, "kernels": 3}], r"unknown field 'kernels'"),
    ([{"type": "conv3d"}], r"layer 0: unknown layer type 'conv3d'"),
    ([{"type": "maxpool2d", "kernel": 2, "padding": 2}], r"layer 0 \(maxpool2d\): padding 2 is more than half"),
    ([{"type": "dropout", "rate": 1.0}], r"layer 0 \(dropout\): rate must lie in \[0.0, 1.0\)"),
    ([{"type": "softmax"}, {"type": "flatten"}], r"layer 0 \(softmax\).*must be the last layer"),
    ([{"type": "softmax"}], r"layer 0 \(softmax\).*receives a 1x5x5 map"),
    (["relu"], r"layer 0: must be a dict with a 'type'"),
    ([{"type": "conv2d", "filters": 1, "kernel": 3, "padding": 5, "padding_mode": "reflect"}],
     r"reflect padding 5 must be smaller than its 5x5 input"),
    ([{"type": "avgpool2d", "kernel": 6}], r"layer 0 \(avgpool2d\): output height .* the window spans 6 pixels"),
])
def test_impossible_specs_name_layer_field_and_numbers(layers, pattern):
    with pytest.raises(SpecError, match=pattern):
        Sequential.from_spec({"input": [1, 5, 5], "layers": layers})


@pytest.mark.parametrize("spec", [None, [], {"layers": []}, {"input": [1, 0, 5], "layers": []},
                                  {"input": [1, 5], "layers": []}, {"input": [1, 5, 5], "layers": {}},
                                  {"input": [1, 5, 5], "layers": [], "extra": 1}])
def test_malformed_specs_are_value_errors(spec):
    with pytest.raises(ValueError, match="spec"):
        Sequential.from_spec(spec)


def test_stride_that_does_not_divide_is_floored_not_refused():
    spec = {"input": [1, 14, 14], "layers": [{"type": "conv2d", "filters": 1, "kernel": 5, "stride": 2}]}
    out = Sequential.from_spec(spec).forward(np.zeros((1, 1, 14, 14), np.float32))
    assert out.shape == (1, 1, 5, 5)


@pytest.mark.parametrize("x, pattern", [
    (np.zeros((1, 28, 28), np.float32), r"N x 1x28x28.*x\[None\]"),
    (np.zeros((2, 3, 28, 28), np.float32), r"got 2x3x28x28"),
    (np.zeros((0, 1, 28, 28), np.float32), "empty"),
    (np.full((1, 1, 28, 28), np.nan, np.float32), "NaN"),
    (np.zeros((1, 1, 28, 28), complex), "real numbers"),
    ([[1.0]], "NumPy array"),
])
def test_bad_inputs_are_clear_value_errors(x, pattern):
    m = Sequential.from_spec(lenet())
    with pytest.raises(ValueError, match=pattern):
        m.forward(x)


def test_integer_input_is_accepted_as_float32():
    m = Sequential.from_spec(lenet())
    out = m.forward(np.zeros((1, 1, 28, 28), np.uint8))
    assert out.dtype == np.float32


def test_dropout_only_when_training():
    spec = {"input": [100], "layers": [{"type": "dropout", "rate": 0.5}]}
    m = Sequential.from_spec(spec, seed=0)
    x = np.ones((4, 100), np.float32)
    np.testing.assert_array_equal(m.forward(x), x)
    y = m.forward(x, training=True)
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.3 < (y == 0).mean() < 0.7


def test_softmax_layer_gives_probabilities():
    spec = {"input": [1, 8, 8], "layers": [{"type": "flatten"}, {"type": "linear", "units": 4}, {"type": "softmax"}]}
    m = Sequential.from_spec(spec, seed=0)
    p = m.forward(np.random.default_rng(0).random((3, 1, 8, 8), dtype=np.float32) * 100)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    assert m.ends_with_softmax and np.allclose(m.predict_proba(np.ones((1, 1, 8, 8), np.float32)).sum(), 1)


def test_flat_input_spec_builds_an_mlp():
    m = Sequential.from_spec({"input": [20], "layers": [{"type": "linear", "units": 5}, {"type": "relu"}]})
    assert m.forward(np.ones((2, 20), np.float32)).shape == (2, 5)


def test_all_model_presets_build_and_run():
    presets = model_presets()
    assert {"lenet5", "lenet_relu", "two_3x3_vs_5x5", "dilated_stack", "bottleneck_1x1",
            "small_vgg_rgb"} <= set(presets)
    for key, p in presets.items():
        assert p.description
        m = Sequential.from_spec(model_preset(key), seed=0)
        x = np.zeros((1,) + m.input_shape, np.float32)
        assert m.forward(x).shape == (1, 10)


def test_two_3x3_see_what_one_5x5_sees_with_fewer_weights():
    two = build_layers({"input": [8, 16, 16], "layers": [
        {"type": "conv2d", "filters": 8, "kernel": 3}, {"type": "conv2d", "filters": 8, "kernel": 3}]})
    one = build_layers({"input": [8, 16, 16], "layers": [{"type": "conv2d", "filters": 8, "kernel": 5}]})
    from convlab.core.receptive_field import receptive_fields
    assert receptive_fields(two)[-1].size == receptive_fields(one)[-1].size == 5
    assert sum(l.params["weight"].size for l in two) == 2 * 8 * 8 * 9 < one[0].params["weight"].size == 8 * 8 * 25


def test_analyze_spec_marks_the_first_layer_that_cannot_work():
    from convlab.core.model import analyze_spec

    spec = lenet()
    spec["layers"][3]["kernel"] = 20
    r = analyze_spec(spec)
    assert not r.ok and r.error_index == 3 and "layer 3 (conv2d)" in r.error and "spans 20 pixels" in r.error
    assert [row.output_shape for row in r.rows] == [(6, 28, 28), (6, 28, 28), (6, 14, 14)]
    assert r.total_params == 156
    good = analyze_spec(lenet())
    assert good.ok and good.total_params == 61706 and len(good.rows) == 12 and good.rows[5].rf.size == 16
    mid = analyze_spec({"input": [1, 8, 8], "layers": [{"type": "flatten"}, {"type": "softmax"}, {"type": "relu"}]})
    assert mid.error_index == 1 and "must be the last layer" in mid.error
    assert analyze_spec({"input": [1, 8, 8], "layers": [{"type": "nope"}]}).error_index == 0
    bad_input = analyze_spec({"input": [0], "layers": []})
    assert bad_input.error_index is None and "input" in bad_input.error and not bad_input.ok
