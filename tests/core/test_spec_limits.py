"""analyze_spec never raises, whatever the spec; a spec's memory is estimated from its shapes and
refused, with the numbers, beyond the budget; the JSON editor's text is parsed by the engine."""

from __future__ import annotations

import copy
import json
import time
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convlab.core.layers import SpecError
from convlab.core.model import Sequential, analyze_spec, build_layers
from convlab.core.presets import LENET5
from convlab.core.training import Trainer

CONV = {"type": "conv2d", "filters": 4, "kernel": 3}


def _memory():
    from convlab.core import memory  # imported here: the tests also run against code without it

    return memory


def _with(layer_changes=None, input_shape=None, base=None):
    spec = copy.deepcopy(base or {"input": [1, 28, 28], "layers": [dict(CONV), {"type": "relu"}, {"type": "flatten"},
                                                                   {"type": "linear", "units": 10}]})
    if input_shape is not None:
        spec["input"] = input_shape
    for index, changes in (layer_changes or {}).items():
        spec["layers"][index].update(changes)
    return spec


HOSTILE = {
    # the issue's: filters 1e9, 2**62, 1e300; linear 1e8 units; Infinity / NaN in the input; a shape
    # product that wraps int64 negative, or to 0
    "filters 1e9": (_with({0: {"filters": 1e9}}), "layer 0 (conv2d)"),
    "filters 2**62": (_with({0: {"filters": 2**62}}), "filters must be at most 2,147,483,647"),
    "filters 1e300": (_with({0: {"filters": 1e300}}), "filters must be at most"),
    "linear 1e8 units": (_with({3: {"units": 10**8}}), "layer 3 (linear): 100,000,000 x 2,704 weights need"),
    "input Infinity": (_with(input_shape=[1, float("inf"), 28]), "input sizes must be whole numbers"),
    "input NaN": (_with(input_shape=[1, float("nan"), 28]), "input sizes must be whole numbers"),
    "int64 wraps negative": (_with(input_shape=[3, 2**31 - 1, 2**31 - 1]), "more than the 1 GB budget"),
    "int64 wraps to 0": ({"input": [2**21, 2**21, 2**22], "layers": [{"type": "flatten"}]}, "input needs 73.8 EB"),
    "flatten wraps to 0": ({"input": [2**30, 2**17, 2**17], "layers": [{"type": "flatten"}]}, "input needs 73.8 EB"),
    "kernel 1e300": (_with({0: {"kernel": 1e300}}), "kernel must be at most"),
    "kernel 10**400": (_with({0: {"kernel": 10**400}}), "kernel must be at most"),
    "dilation huge": (_with({0: {"dilation": 2**31 - 1}}), "is not positive"),
    "padding huge": (_with({0: {"padding": 2**31 - 1}}), "more than the 1 GB budget"),
    "stride 0": (_with({0: {"stride": 0}}), "stride must be at least 1"),
    "filters True": (_with({0: {"filters": True}}), "filters must be a whole number"),
    "filters a string": (_with({0: {"filters": "8"}}), "filters must be a whole number"),
    "filters a list": (_with({0: {"filters": [8]}}), "filters must be a whole number"),
    "slope 10**400": (_with({1: {"type": "leaky_relu", "slope": 10**400}}), "slope must be a finite number"),
    "rate NaN": (_with({1: {"type": "dropout", "rate": float("nan")}}), "rate must be a finite number"),
    "padding_mode a list": (_with({0: {"padding_mode": ["zeros"]}}), "padding_mode must be one of"),
    "type a number": (_with({0: {"type": 5}}), "unknown layer type 5"),
    "type a dict": (_with({0: {"type": {"a": 1}}}), "unknown layer type"),
    "a key that is not a string": (_with({0: {7: 1}}), "unknown field 7"),
    "deeply nested value": (_with({0: {"kernel": None}}), "kernel"),  # nested 5,000 deep below
    "layer not a dict": ({"input": [1, 8, 8], "layers": [["conv2d"]]}, "must be a dict with a 'type'"),
    "input a string": ({"input": "1x28x28", "layers": []}, "input must be"),
    "input of 2 values": ({"input": [28, 28], "layers": []}, "input must be"),
    "input 0": ({"input": [0, 28, 28], "layers": []}, "input sizes must be"),
    "input negative": ({"input": [-1, 28, 28], "layers": []}, "input sizes must be"),
    "input 1.5": ({"input": [1, 1.5, 28], "layers": []}, "input sizes must be"),
    "input bools": ({"input": [True, True, True], "layers": []}, "input sizes must be"),
    "layers a dict": ({"input": [1, 8, 8], "layers": {"0": CONV}}, "layers must be a list"),
    "not a dict": ([1, 2, 3], "must be a dict"),
    "None": (None, "must be a dict"),
    "extra keys of mixed types": ({"input": [1, 8, 8], "layers": [], 3: 4, "x": 1}, "unknown field"),
    "softmax in the middle": (_with({1: {"type": "softmax"}}), "must be the last layer"),
    "linear on a map": ({"input": [1, 8, 8], "layers": [{"type": "linear", "units": 3}]}, "add a flatten layer"),
    "huge input": ({"input": [1, 20000, 20000], "layers": [{"type": "relu"}] * 50}, "more than the 1 GB budget"),
}


def _nested(depth):
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


HOSTILE["deeply nested value"][0]["layers"][0]["kernel"] = _nested(5000)


@pytest.mark.parametrize("label", sorted(HOSTILE, key=str))
def test_analyze_spec_never_raises_and_says_why(label):
    spec, words = HOSTILE[label]
    report = analyze_spec(spec)
    assert not report.ok
    assert words in report.error
    assert "cannot be checked" not in report.error  # the last resort is never needed
    with pytest.raises(SpecError):
        build_layers(spec)


def test_the_issues_lenet_with_a_huge_linear_layer_is_refused_with_the_numbers():
    # LeNet-5 with input 1x1024x1024, then the first linear layer set to 100,000 units
    spec = copy.deepcopy(LENET5)
    spec["input"] = [1, 1024, 1024]
    first_linear = next(i for i, layer in enumerate(spec["layers"]) if layer["type"] == "linear")
    spec["layers"][first_linear]["units"] = 100_000
    tracemalloc.start()
    try:
        report = analyze_spec(spec)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.error_index == first_linear
    assert "weights need" in report.error and "GB, more than the 1 GB budget" in report.error
    assert peak < 50_000_000  # refused from the shapes, not by trying
    assert [r.index for r in report.rows] == list(range(first_linear))


def test_a_huge_input_with_fifty_relus_is_refused_without_allocating():
    spec = {"input": [1, 20000, 20000], "layers": [{"type": "relu"}] * 50}  # 6.3 GB and a MemoryError before
    tracemalloc.start()
    try:
        report = analyze_spec(spec)
        with pytest.raises(SpecError, match=r"1.6 GB for one sample, more than the 1 GB budget"):
            Sequential.from_spec(spec)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "the 1 x 20,000 x 20,000 input needs 1.6 GB" in report.error
    assert peak < 10_000_000


def test_the_budget_counts_a_whole_forward_pass(monkeypatch):
    # 4 MB of input, then 4 MB of output per ReLU (its output is its mask) and 8 MB of scratch:
    # 16, 20, 24, 28, 32 MB
    spec = {"input": [1, 1000, 1000], "layers": [{"type": "relu"}] * 10}
    assert analyze_spec(spec).ok
    monkeypatch.setattr(_memory(), "MEMORY_BUDGET", 30_000_000)
    report = analyze_spec(spec)
    assert report.error_index == 4 and "layer 4 (relu): a forward pass of one sample needs 32 MB" in report.error
    assert "more than the 30 MB budget" in report.error


def test_a_200000_layer_spec_is_refused_fast():
    spec = {"input": [1, 8, 8], "layers": [{"type": "relu"}] * 200_000}
    start = time.perf_counter()
    report = analyze_spec(spec)
    assert time.perf_counter() - start < 0.5
    assert "200,000 layers, more than the limit of 500" in report.error
    from convlab.core.spec_json import parse_spec_json

    text = json.dumps(spec)
    start = time.perf_counter()
    with pytest.raises(SpecError, match="more than the"):
        parse_spec_json(text)
    assert time.perf_counter() - start < 2.0


def test_the_report_carries_the_memory_per_layer_and_in_total():
    report = analyze_spec(LENET5, batch_size=32)
    assert report.ok and report.training_error == ""
    conv = report.rows[0]
    c, h, w = conv.output_shape
    assert conv.memory.output_bytes == c * h * w * 4
    from convlab.core.fastpath import engine

    # the reference keeps the im2col columns; the fast path gathers them again in fixed blocks
    assert conv.memory.cache_bytes == (0 if engine.available else 1 * 5 * 5 * h * w * 4)
    assert conv.forward_bytes == conv.memory.param_bytes + conv.memory.activation_bytes + conv.memory.work_bytes
    assert report.forward_bytes == report.memory.forward_bytes(1) > report.memory.param_bytes
    assert report.training_bytes(64) > report.training_bytes(32) > report.forward_bytes
    assert conv.training_bytes(32) == 7 * conv.memory.param_bytes + 32 * (
        conv.memory.activation_bytes + conv.memory.work_bytes + conv.memory.gradient_bytes)
    model = Sequential.from_spec(LENET5, seed=0)
    assert model.memory().forward_bytes() == report.forward_bytes
    assert "for a forward pass of one sample" in str(model.summary())


def test_memory_estimates_are_upper_bounds_of_what_numpy_allocates():
    model = Sequential.from_spec(LENET5, seed=0)
    x = np.random.default_rng(0).random((16, 1, 28, 28), dtype=np.float32)
    tracemalloc.start()
    try:
        model.forward(x, training=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    estimate = model.memory()
    activations = estimate.forward_bytes(16) - estimate.param_bytes
    assert peak <= activations < 3 * peak


def test_a_training_batch_beyond_the_budget_is_refused_with_the_numbers(monkeypatch):
    from convlab.core.data import synthetic_digits

    data = synthetic_digits(200, seed=0)
    model = Sequential.from_spec(LENET5, seed=0)
    monkeypatch.setattr(_memory(), "MEMORY_BUDGET", 10_000_000)
    fits = model.memory().max_training_batch()
    assert 1 <= fits < 64
    with pytest.raises(ValueError, match=rf"training on batches of 64 needs about .* more than the 10 MB budget; "
                                         rf"batches of at most {fits} fit"):
        Trainer(model, data, batch_size=64)
    Trainer(model, data, batch_size=fits)
    assert "batches of at most" in analyze_spec(LENET5, batch_size=64).training_error


def test_layers_can_be_built_without_their_weights():
    tracemalloc.start()
    try:
        layers = build_layers({"input": [1, 100, 100], "layers": [{"type": "flatten"},
                                                                   {"type": "linear", "units": 20_000}]},
                              allocate=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert layers[1].params == {} and layers[1].param_shapes["weight"] == (20_000, 10_000)
    assert peak < 1_000_000  # 800 MB of weights, not allocated


def test_large_layers_are_initialised_without_a_float64_copy():
    spec = {"input": [4000], "layers": [{"type": "linear", "units": 1000}]}  # 16 MB of float32 weights
    tracemalloc.start()
    try:
        Sequential.from_spec(spec, seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16_004_000 + 2 * 8 * 2**20  # the weights and one float64 chunk of draws


# --------------------------------------------------------------------------- fuzz

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
FIELDS = st.sampled_from(["filters", "kernel", "stride", "padding", "dilation", "padding_mode", "bias", "units",
                          "slope", "rate", "type", "extra"])
TYPES = st.sampled_from(["conv2d", "maxpool2d", "avgpool2d", "relu", "leaky_relu", "tanh", "sigmoid", "dropout",
                         "softmax", "flatten", "linear", "nope"])
NUMBERS = st.integers(-3, 2**40) | st.floats(-1e20, 1e300) | st.sampled_from([2**31 - 1, 2**62, 1e9, 0, 1])
LAYER = st.builds(lambda kind, fields: {"type": kind, **fields}, TYPES,
                  st.dictionaries(FIELDS, NUMBERS | JSONISH, max_size=4))
SPEC = st.builds(lambda shape, layers: {"input": shape, "layers": layers},
                 st.lists(NUMBERS, min_size=0, max_size=4) | JSONISH, st.lists(LAYER, max_size=8))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(spec=SPEC)
def test_fuzz_analyze_spec_never_raises(spec):
    report = analyze_spec(spec, batch_size=32)
    assert "cannot be checked" not in report.error, report.error
    if report.ok:
        assert report.forward_bytes <= _memory().MEMORY_BUDGET
