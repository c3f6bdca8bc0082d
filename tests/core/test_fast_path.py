"""The fast path (compiled loops, blocked GEMMs, threads) against the plain reference path.

Every layer option is run both ways in float64 and must agree to 1e-10: forward outputs, input
gradients and parameter gradients; with the batch in one block and in many (rows of one sample
per block), on one thread and split over two, in training and inference.
"""

import itertools

import numpy as np
import pytest

from convlab.core import functional as F
from convlab.core.fastpath import conv as fast_conv
from convlab.core.fastpath import engine
from convlab.core.fastpath import settings as engine_settings
from convlab.core.layers import LAYER_TYPES
from convlab.core.model import Sequential

pytestmark = pytest.mark.skipif(not engine.available, reason="the fast path needs Numba and a CBLAS")

TOL = 1e-10


def close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=TOL, atol=TOL)


@pytest.fixture(params=["one block, one thread", "many blocks, two threads"])
def engine_setup(request, monkeypatch):
    """Run a test with the whole batch per block on one thread, then with tiny blocks (one output
    row of one sample each) split over two threads."""
    if request.param.startswith("many"):
        monkeypatch.setattr(fast_conv, "BLOCK_BYTES", 1)
        monkeypatch.setattr(engine_settings, "SPLIT_MIN_MACS", 0)
        monkeypatch.setattr(engine_settings, "LINEAR_SPLIT_MIN_MACS", 0)
        monkeypatch.setattr(engine_settings, "POOL_SPLIT_MIN", 0)
        monkeypatch.setattr(engine, "threads", 2)
        monkeypatch.setattr(engine, "contended", lambda: False)  # split even while the machine is busy
    else:
        monkeypatch.setattr(fast_conv, "BLOCK_BYTES", 1 << 30)
        monkeypatch.setattr(engine, "threads", 1)
    engine.generation += 1  # plans made for other settings are not reused
    yield request.param
    engine.generation += 1


def layer(entry, in_shape, seed=0):
    lay = LAYER_TYPES[entry["type"]](entry, 0, tuple(in_shape), dtype=np.float64)
    rng = np.random.default_rng(seed)
    for p in lay.params.values():
        p[...] = rng.normal(0.0, 0.5, size=p.shape)
    return lay


def both_ways(lay, x, training=True, need_input_grad=True, seed=1):
    """(out, dx, grads) on the fast path and on the reference path."""
    results = []
    for reference in (False, True):
        ctx = engine.reference() if reference else _nothing()
        with ctx:
            assert engine.active(True) is not reference
            out = lay.forward(x, training)
            d = np.random.default_rng(seed).normal(size=out.shape)
            lay.grads.clear()
            dx = lay.backward(d, need_input_grad)
            results.append((np.array(out), None if dx is None else np.array(dx),
                            {k: v.copy() for k, v in lay.grads.items()}))
    return results


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def check_same(fast, ref):
    (out_f, dx_f, g_f), (out_r, dx_r, g_r) = fast, ref
    assert out_f.shape == out_r.shape
    close(out_f, out_r)
    assert (dx_f is None) == (dx_r is None)
    if dx_f is not None:
        close(dx_f, dx_r)
    assert set(g_f) == set(g_r)
    for k in g_f:
        close(g_f[k], g_r[k])


# --------------------------------------------------------------------------- conv2d


def _fits(in_hw, kernel, stride, padding, dilation, mode):
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = in_hw, *(F.pair(v) for v in (kernel, stride, padding, dilation))
    if F.output_size(h, kh, sh, ph, dh) <= 0 or F.output_size(w, kw, sw, pw, dw) <= 0:
        return False
    return not (mode == "reflect" and (ph >= h or pw >= w))


CONV_GRID = [
    (s, p, m, d)
    for s, p, m, d in itertools.product((1, 2, 3), (0, 1, 2), F.PADDING_MODES, (1, 2))
    if _fits((6, 7), 3, s, p, d, m)
]


@pytest.mark.parametrize("stride,padding,mode,dilation", CONV_GRID)
def test_conv2d_fast_matches_reference_grid(engine_setup, stride, padding, mode, dilation):
    entry = {"type": "conv2d", "filters": 3, "kernel": 3, "stride": stride, "padding": padding,
             "dilation": dilation, "padding_mode": mode}
    lay = layer(entry, (2, 6, 7))
    x = np.random.default_rng(5).normal(size=(3, 2, 6, 7))
    check_same(*both_ways(lay, x))


@pytest.mark.parametrize(
    "in_hw,kernel,stride,padding,dilation,mode",
    [
        ((7, 9), [2, 3], 1, 0, 1, "zeros"),
        ((7, 9), [3, 2], 2, 1, 1, "reflect"),
        ((7, 9), [3, 5], 2, [1, 2], [1, 2], "reflect"),
        ((7, 9), [1, 3], [1, 2], [0, 1], 1, "replicate"),
        ((7, 9), 3, [3, 2], [0, 3], [1, 3], "zeros"),
        ((8, 7), [2, 2], [2, 3], [1, 0], [3, 2], "reflect"),
        ((4, 7), 3, 2, [3, 6], 1, "replicate"),
        ((7, 9), 1, 3, 2, 2, "reflect"),
        ((5, 6), [5, 6], 1, 0, 1, "zeros"),
        ((2, 3), 3, 1, [3, 4], 1, "replicate"),
        ((2, 3), 2, 2, [3, 4], 1, "zeros"),
        ((12, 11), 5, 1, 2, 1, "zeros"),
    ],
)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_fast_matches_reference_shapes(engine_setup, in_hw, kernel, stride, padding, dilation, mode, bias):
    entry = {"type": "conv2d", "filters": 2, "kernel": kernel, "stride": stride, "padding": padding,
             "dilation": dilation, "padding_mode": mode, "bias": bias}
    lay = layer(entry, (3,) + in_hw)
    x = np.random.default_rng(6).normal(size=(4, 3) + in_hw)
    check_same(*both_ways(lay, x))


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("need_input_grad", [True, False])
def test_conv2d_fast_training_and_inference(engine_setup, training, need_input_grad):
    entry = {"type": "conv2d", "filters": 4, "kernel": [3, 2], "stride": [1, 2], "padding": [1, 2],
             "padding_mode": "replicate"}
    lay = layer(entry, (2, 8, 9))
    x = np.random.default_rng(7).normal(size=(5, 2, 8, 9))
    check_same(*both_ways(lay, x, training=training, need_input_grad=need_input_grad))


def test_conv2d_fast_input_in_either_layout():
    """A channel-major input (a conv layer's output) and an NCHW copy of it give the same numbers."""
    lay = layer({"type": "conv2d", "filters": 3, "kernel": 3, "padding": 1}, (2, 5, 6))
    cm = np.random.default_rng(8).normal(size=(2, 4, 5, 6))  # (C, N, H, W) memory
    x_view = cm.transpose(1, 0, 2, 3)
    out_view = np.array(lay.forward(x_view, True))
    out_copy = np.array(lay.forward(np.ascontiguousarray(x_view), True))
    close(out_view, out_copy)


def test_conv2d_fast_is_float32_in_float32():
    lay = LAYER_TYPES["conv2d"]({"type": "conv2d", "filters": 2, "kernel": 3}, 0, (1, 6, 6), dtype=np.float32)
    x = np.random.default_rng(0).random((3, 1, 6, 6), dtype=np.float32)
    out = lay.forward(x, True)
    assert out.dtype == np.float32
    dx = lay.backward(np.ones(out.shape, np.float32))
    assert dx.dtype == np.float32 and lay.grads["weight"].dtype == np.float32


# --------------------------------------------------------------------------- pooling


POOL_CASES = [
    (k, s, p) for k in (2, 3, [2, 3], [3, 2]) for s in (None, 1, 2, [1, 3]) for p in (0, 1)
]


def _pool_entry(kind, kernel, stride, padding):
    entry = {"type": kind, "kernel": kernel, "padding": padding}
    if stride is not None:
        entry["stride"] = stride
    return entry


@pytest.mark.parametrize("kind", ["maxpool2d", "avgpool2d"])
@pytest.mark.parametrize("kernel,stride,padding", POOL_CASES)
def test_pool_fast_matches_reference(engine_setup, kind, kernel, stride, padding):
    lay = layer(_pool_entry(kind, kernel, stride, padding), (3, 7, 9))
    x = np.random.default_rng(9).normal(size=(4, 3, 7, 9))
    check_same(*both_ways(lay, x))


@pytest.mark.parametrize("kernel,stride,padding", [(2, None, 0), (2, 1, 1), (3, 2, 1), ([2, 3], [1, 2], 1)])
def test_maxpool_fast_ties_go_to_the_first_maximum(engine_setup, kernel, stride, padding):
    """Values from a handful of levels: most windows hold their maximum more than once."""
    lay = layer(_pool_entry("maxpool2d", kernel, stride, padding), (2, 6, 8))
    x = np.random.default_rng(10).integers(-2, 2, size=(3, 2, 6, 8)).astype(np.float64)
    check_same(*both_ways(lay, x))
    x = np.zeros((3, 2, 6, 8))  # every window a tie
    check_same(*both_ways(lay, x))


def test_maxpool_fast_input_in_either_layout():
    lay = layer({"type": "maxpool2d", "kernel": 2}, (3, 6, 6))
    cm = np.random.default_rng(11).normal(size=(3, 2, 6, 6))
    out_view = lay.forward(cm.transpose(1, 0, 2, 3))
    d = np.random.default_rng(12).normal(size=out_view.shape)
    dx_view = np.array(lay.backward(d))
    out_copy = lay.forward(np.ascontiguousarray(cm.transpose(1, 0, 2, 3)))
    close(out_view, out_copy)
    close(dx_view, lay.backward(d))


def test_maxpool_fast_nan_as_reference():
    lay = layer({"type": "maxpool2d", "kernel": 2}, (1, 4, 4))
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    fast, ref = both_ways(lay, x)
    np.testing.assert_array_equal(fast[0], ref[0])  # NaN where the reference has NaN
    np.testing.assert_array_equal(fast[1], ref[1])


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("kernel,stride,padding", [(2, None, 0), (2, 1, 1), (3, 2, 1), ([2, 3], [1, 2], 1)])
def test_maxpool_fast_planes_with_and_without_nan_as_reference(engine_setup, relu, kernel, stride, padding):
    """A plane holding a NaN takes the loop that tests every tap for NaN, the others the loop that
    does not: in one batch, both give the reference's values, NaNs, winners and gradients (with
    the ReLU fused too). Infinities are ordinary values for both."""
    pool = _pool_entry("maxpool2d", kernel, stride, padding)
    spec = {"input": [3, 6, 8], "layers": ([{"type": "relu"}] if relu else []) + [pool]}
    x = np.random.default_rng(16).normal(size=(4, 3, 6, 8))
    x[0, 1, 0, 0] = np.nan  # first tap of a window
    x[2, 0, 3, 5] = np.nan  # inside
    x[3, 2, 5, 7] = np.nan  # the last corner
    x[1, 1, 2, 2], x[1, 2, 4, 4] = np.inf, -np.inf
    (acts_f, dx_f, _), (acts_r, dx_r, _) = _model_both_ways(spec, x, nan_input=True)
    for a, b in zip(acts_f, acts_r, strict=True):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        close(np.nan_to_num(a), np.nan_to_num(b))
    assert np.isnan(acts_f[-1]).any() and np.isfinite(acts_f[-1][1, 0]).all()
    np.testing.assert_array_equal(np.isnan(dx_f), np.isnan(dx_r))
    close(np.nan_to_num(dx_f), np.nan_to_num(dx_r))


# --------------------------------------------------------------------------- ReLU fused with max pooling


FUSED_SPEC = {
    "input": [2, 9, 10],
    "layers": [
        {"type": "conv2d", "filters": 3, "kernel": 3, "padding": 1},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel": 2},
        {"type": "conv2d", "filters": 4, "kernel": [3, 2], "padding": [1, 0], "padding_mode": "reflect"},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel": 3, "stride": 1, "padding": 1},
        {"type": "flatten"},
        {"type": "linear", "units": 5},
    ],
}


def _model_both_ways(spec, x, need_input_grad=True, upto=None, start=None, nan_input=False):
    results = []
    model = Sequential.from_spec(spec, seed=0, dtype=np.float64)
    if nan_input:  # as an activation inside a diverging model (a model's input is checked)
        model.check_input = lambda x: x
    for p in model.parameters().values():
        p[...] = np.random.default_rng(p.size).normal(0.0, 0.5, size=p.shape)
    for reference in (False, True):
        ctx = engine.reference() if reference else _nothing()
        with ctx:
            out = model.forward(x, training=True, upto=upto)
            acts = [np.array(a) for a in model.activations]
            d = np.random.default_rng(3).normal(size=out.shape)
            dx = model.backward(d, start=start, need_input_grad=need_input_grad)
            grads = {k: v.copy() for k, v in model.gradients().items()}
            results.append((acts, dx, grads))
    return results


@pytest.mark.parametrize("need_input_grad", [True, False])
def test_relu_fused_with_maxpool_matches_reference(engine_setup, need_input_grad):
    x = np.random.default_rng(13).normal(size=(3, 2, 9, 10))
    (acts_f, dx_f, g_f), (acts_r, dx_r, g_r) = _model_both_ways(FUSED_SPEC, x, need_input_grad)
    assert len(acts_f) == len(acts_r) == len(FUSED_SPEC["layers"]) + 1
    for a, b in zip(acts_f, acts_r, strict=True):  # the ReLU layers keep their own outputs
        close(a, b)
    if need_input_grad:
        close(dx_f, dx_r)
    else:
        assert dx_f is None and dx_r is None
    for k in g_r:
        close(g_f[k], g_r[k])


def test_relu_fused_ties_and_non_positive_windows():
    """Windows whose maximum is 0 or negative pass no gradient; ties go to the first maximum."""
    spec = {"input": [1, 4, 4], "layers": [{"type": "relu"}, {"type": "maxpool2d", "kernel": 2}]}
    x = np.array([[[[1.0, 1.0, -1.0, -2.0], [0.5, 1.0, -3.0, -1.0], [0.0, 0.0, 2.0, 0.0], [0.0, -1.0, 0.0, 2.0]]]])
    (acts_f, dx_f, _), (acts_r, dx_r, _) = _model_both_ways(spec, x)
    for a, b in zip(acts_f, acts_r, strict=True):
        close(a, b)
    close(dx_f, dx_r)
    assert dx_f[0, 0, 0, 0] != 0 and dx_f[0, 0, 0, 1] == 0  # the first of the two 1.0s


def test_relu_not_fused_across_a_cut():
    """forward(upto=) / backward(start=) between the ReLU and the pooling still agree."""
    x = np.random.default_rng(14).normal(size=(2, 2, 9, 10))
    (acts_f, dx_f, g_f), (acts_r, dx_r, g_r) = _model_both_ways(FUSED_SPEC, x, upto=2, start=2)
    for a, b in zip(acts_f, acts_r, strict=True):
        close(a, b)
    close(dx_f, dx_r)


def test_plans_are_not_copied_with_the_model():
    model = Sequential.from_spec(FUSED_SPEC, seed=0)
    model.forward(np.zeros((2, 2, 9, 10), np.float32), training=True)
    twin = model.copy()
    assert not twin.layers[0]._plans._plans
    np.testing.assert_array_equal(twin.forward(np.ones((1, 2, 9, 10), np.float32)),
                                  model.forward(np.ones((1, 2, 9, 10), np.float32)))


def test_the_many_blocks_setup_really_splits(engine_setup):
    lay = layer({"type": "conv2d", "filters": 2, "kernel": 3, "padding": 1}, (2, 6, 7))
    lay.forward(np.zeros((4, 2, 6, 7)), True)
    plan = lay._cache[0]
    if engine_setup.startswith("many"):
        assert plan.parts == 2 and len(plan.units) == 4 and len(plan.blocks) == 4 * 6
    else:
        assert plan.parts == 1 and len(plan.blocks) == 1


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("need_input_grad", [True, False])
def test_linear_split_over_threads_matches_reference(engine_setup, bias, need_input_grad):
    lay = layer({"type": "linear", "units": 7, "bias": bias}, (13,))
    x = np.random.default_rng(15).normal(size=(9, 13))
    check_same(*both_ways(lay, x, need_input_grad=need_input_grad))


def test_one_thread_while_the_cores_are_contended(monkeypatch):
    monkeypatch.setattr(engine_settings, "SPLIT_MIN_MACS", 0)
    monkeypatch.setattr(engine, "threads", 2)
    monkeypatch.setattr(engine, "_load_read", -1e9)
    monkeypatch.setattr(engine_settings.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    assert engine.contended() and engine.parts_for(8, 10**9) == 1
    assert engine.parts_for(8, 10**9, now=False) == 2  # plans keep their blocks for quieter times
    monkeypatch.setattr(engine, "_load_read", -1e9)
    monkeypatch.setattr(engine_settings.os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    assert not engine.contended() and engine.parts_for(8, 10**9) == 2


def test_a_linear_layer_splits_its_batch_only_for_big_gemms(monkeypatch):
    from convlab.core.fastpath import linear as fast_linear

    monkeypatch.setattr(engine, "threads", 2)
    monkeypatch.setattr(engine, "contended", lambda: False)
    assert fast_linear._bounds(64, 64 * 400 * 120) == [0, 64]  # LeNet-5's first: whole (split was slower)
    assert fast_linear._bounds(256, 256 * 2048 * 256) == [0, 128, 256]  # big enough to pay for a helper
    assert engine.parts_for(64, 64 * 400 * 120) == 2  # a conv layer's work of that size is still split


def test_a_pooling_layer_splits_from_a_smaller_size_than_a_conv(monkeypatch):
    from convlab.core.fastpath import pool as fast_pool

    monkeypatch.setattr(engine, "threads", 2)
    monkeypatch.setattr(engine, "contended", lambda: False)
    calls = []
    monkeypatch.setattr(engine.workers, "run", lambda fn, parts: calls.append(parts))
    lenet_pool0 = 64 * 6 * 28 * 28  # values into LeNet-5's first pooling at batch 64
    fast_pool._split(64 * 6, 64, 2 * lenet_pool0, lambda counter, chunk: None)
    fast_pool._split(2 * 6, 2, 2 * 2 * 6 * 8 * 8, lambda counter, chunk: None)  # two small maps
    assert calls == [2, 1]
    assert 2 * lenet_pool0 < engine_settings.SPLIT_MIN_MACS  # a conv's threshold would keep it whole


def test_the_blas_capped_and_called_is_numpys_even_with_opencvs_copy_loaded():
    """OpenCV's wheel bundles an OpenBLAS with a thread pool of its own. Found first in the process's
    maps, it was the one 'capped' (NumPy's kept two threads and spun a core) and the one whose GEMM the
    fast path called. The engine must find NumPy's own BLAS."""
    import subprocess
    import sys

    code = ("import cv2, numpy as np\n"
            "from convlab.core.fastpath import blas\n"
            "libs = blas.libraries()\n"
            "print(libs[0])\n"
            "print(any('opencv' in p.lower() for p in libs))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout.split()
    assert "numpy" in out[0] and out[1] == "False"


def _seeded_run(threads: int, monkeypatch) -> dict:
    """A few SGD steps of a seeded LeNet-5 (ReLU) on fixed data, split over ``threads``."""
    from convlab.core.losses import softmax_cross_entropy
    from convlab.core.optim import SGD
    from convlab.core.presets import model_preset

    monkeypatch.setattr(engine, "threads", threads)
    monkeypatch.setattr(engine, "contended", lambda: False)
    engine.generation += 1  # plans for this thread count
    model = Sequential.from_spec(model_preset("lenet_relu"), seed=4)
    opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(7)
    for _ in range(6):
        x = rng.random((64, 1, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, 64)
        logits = model.forward(x, training=True)
        _, d = softmax_cross_entropy(logits, y)
        model.backward(d, need_input_grad=False)
        opt.step(model.gradients())
    engine.generation += 1
    return model.state_dict()


def test_a_seeded_run_gives_the_same_weights_every_time_and_on_any_thread_count(monkeypatch):
    """The weight gradients are summed per fixed group of samples, in group order: which thread
    took which group no longer changes the rounding (seeded LeNet-5 runs used to differ)."""
    first = _seeded_run(2, monkeypatch)
    for threads in (2, 2, 1):
        again = _seeded_run(threads, monkeypatch)
        for k, v in first.items():
            np.testing.assert_array_equal(again[k], v, err_msg=f"{k} with {threads} threads")


def test_the_memory_a_step_frees_stays_for_the_next_step():
    """glibc hands the top of its heap back to the system once more than its trim threshold lies
    free there, as at the end of every training step, and every page faults again on the next step
    (about 15 % of a LeNet-5 step at batch 256 on the machines measured). Once the engine has run,
    a step's worth of arrays (each under NumPy's 4 MB huge-page size) comes back without faults."""
    import subprocess
    import sys
    from pathlib import Path

    from convlab.core.fastpath import allocator

    if allocator._libc() is None:
        pytest.skip("the allocator setting is for glibc")
    code = ("import resource\n"
            "import numpy as np\n"
            "from convlab.core.fastpath import allocator, engine\n"
            "def step():\n"
            "    arrays = [np.ones(n, np.float32) for n in (750_000, 250_000, 500_000, 750_000, 375_000)]\n"
            "    return len(arrays)\n"
            "def faults():\n"
            "    step()\n"
            "    step()  # glibc's thresholds have settled\n"
            "    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
            "    step()\n"
            "    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before\n"
            "untouched = faults()\n"
            "engine.active(training=True)\n"
            "print(untouched, faults(), allocator.keep_freed_memory())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    untouched, tuned, took = out.stdout.split()
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not (thp.exists() and "[always]" in thp.read_text()):  # (huge pages would fault far fewer times)
        assert int(untouched) > 1000  # 10.5 MB of 4 KB pages, given back and faulted in again
    assert int(tuned) < 50 and took == "True"
