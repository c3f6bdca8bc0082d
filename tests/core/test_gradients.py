"""Gradient checks: every layer's backward against centred numerical differences (float64).

Each check uses a random projection loss L = sum(out * R), so backward receives dout = R,
and compares the analytic gradients (input, weight, bias) with numerical ones using the
cs231n relative error max(|a - b| / max(1e-8, |a| + |b|)) < 1e-6.
"""

import itertools

import numpy as np
import pytest

from convlab.core import functional as F
from convlab.core.layers import LAYER_TYPES
from convlab.core.losses import mse, softmax_cross_entropy
from convlab.core.model import Sequential

TOL = 1e-6
H = 1e-5


# --------------------------------------------------------------------------- helpers


def rel_error(a, b) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shape mismatch {a.shape} vs {b.shape}"
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numerical_gradient_array(f, x, dout, h=H):
    """d sum(f() * dout) / dx by centred differences; x is perturbed in place (and restored).

    The difference of the two outputs is taken before projecting onto dout, which keeps the
    round-off far below the tolerance even where the true gradient is small.
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(), dtype=np.float64, copy=True)
        x[ix] = old - h
        neg = np.array(f(), dtype=np.float64, copy=True)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * dout) / (2 * h)
        it.iternext()
    return grad


def numerical_gradient_scalar(f, x, h=H):
    """d f() / dx for a scalar-valued f by centred differences; x is perturbed in place."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fp = f()
        x[ix] = old - h
        fm = f()
        x[ix] = old
        grad[ix] = (fp - fm) / (2 * h)
        it.iternext()
    return grad


def make_layer(entry, in_shape, seed=0):
    """A float64 layer with random weights and a non-zero random bias."""
    layer = LAYER_TYPES[entry["type"]](entry, 0, tuple(in_shape), dtype=np.float64)
    rng = np.random.default_rng(seed)
    for p in layer.params.values():
        p[...] = rng.normal(0.0, 0.5, size=p.shape)
    return layer


def check_layer(layer, x, training=False, rng_factory=None, seed=1, h=H):
    """Compare the analytic input and parameter gradients of a layer with numerical ones."""
    rng_r = np.random.default_rng(seed)

    def run():
        rng = rng_factory() if rng_factory is not None else None
        return layer.forward(x, training, rng)

    out = run()
    assert out.shape == (x.shape[0],) + tuple(layer.out_shape), "forward shape disagrees with out_shape"
    assert out.dtype == np.float64
    R = rng_r.normal(size=out.shape)
    layer.grads.clear()
    dx = layer.backward(R.copy())
    assert dx is not None and dx.shape == x.shape
    assert dx.dtype == np.float64
    analytic = {name: layer.grads[name].copy() for name in layer.params}
    assert set(layer.grads) == set(layer.params), f"grads {set(layer.grads)} vs params {set(layer.params)}"

    dx_num = numerical_gradient_array(run, x, R, h)
    errors = {"input": rel_error(dx, dx_num)}
    for name, p in layer.params.items():
        assert analytic[name].shape == p.shape
        num = numerical_gradient_array(run, p, R, h)
        errors[name] = rel_error(analytic[name], num)
    for name, err in errors.items():
        assert err < TOL, f"{layer.type}: {name} gradient relative error {err:.3e} (all: {errors})"
    return errors


# --------------------------------------------------------------------------- conv2d


def _conv_ok(in_hw, kernel, stride, padding, dilation, mode):
    kh, kw = F.pair(kernel)
    sh, sw = F.pair(stride)
    ph, pw = F.pair(padding)
    dh, dw = F.pair(dilation)
    h, w = in_hw
    if F.output_size(h, kh, sh, ph, dh) <= 0 or F.output_size(w, kw, sw, pw, dw) <= 0:
        return False
    if mode == "reflect" and (ph >= h or pw >= w):
        return False
    return True


CONV_IN_HW = (6, 7)  # rectangular; small enough that dilation 3 with padding 0 does not fit
CONV_GRID = [
    (s, p, m, d)
    for s, p, m, d in itertools.product((1, 2, 3), (0, 1, 2, 3), F.PADDING_MODES, (1, 2, 3))
    if _conv_ok(CONV_IN_HW, 3, s, p, d, m)
]


def test_conv_grid_skips_impossible_combinations():
    full = 3 * 4 * 3 * 3
    assert 0 < len(CONV_GRID) < full
    # e.g. a 3x3 kernel with dilation 3 (effective 7) does not fit 6 rows without padding
    assert F.output_size(CONV_IN_HW[0], 3, 1, 0, 3) <= 0
    assert all(not (d == 3 and p == 0) for _, p, _, d in CONV_GRID)


def _check_conv(in_shape, entry, n=2, seed=0):
    layer = make_layer(entry, in_shape, seed)
    x = np.random.default_rng(seed + 100).normal(size=(n,) + tuple(in_shape))
    check_layer(layer, x, seed=seed + 200)
    return layer


@pytest.mark.parametrize("stride,padding,mode,dilation", CONV_GRID)
def test_conv2d_gradients_grid(stride, padding, mode, dilation):
    entry = {
        "type": "conv2d", "filters": 2, "kernel": 3, "stride": stride,
        "padding": padding, "dilation": dilation, "padding_mode": mode,
    }
    _check_conv((2,) + CONV_IN_HW, entry, seed=stride * 100 + padding * 10 + dilation)


@pytest.mark.parametrize(
    "in_hw,kernel,stride,padding,dilation,mode",
    [
        # rectangular kernels on rectangular inputs
        ((7, 9), [2, 3], 1, 0, 1, "zeros"),
        ((7, 9), [2, 3], 1, 1, 1, "zeros"),
        ((7, 9), [3, 2], 2, 1, 1, "reflect"),
        ((7, 9), [2, 3], 1, 2, 2, "replicate"),
        ((7, 9), [3, 5], 2, [1, 2], [1, 2], "reflect"),
        ((7, 9), [1, 3], [1, 2], [0, 1], 1, "replicate"),
        # pair strides / paddings / dilations
        ((7, 9), 3, [1, 2], [1, 2], 1, "zeros"),
        ((7, 9), 3, [2, 1], [2, 1], 1, "reflect"),
        ((7, 9), 3, [1, 2], [1, 2], [2, 1], "replicate"),
        ((7, 9), 3, [3, 2], [0, 3], [1, 3], "zeros"),
        ((8, 7), [2, 2], [2, 3], [1, 0], [3, 2], "reflect"),
        # asymmetric padding where reflect uses nearly the whole axis (p = size - 1)
        ((4, 7), 3, 1, [3, 1], 1, "reflect"),
        ((4, 7), 3, 1, [3, 6], 1, "reflect"),
        ((4, 7), 3, 2, [3, 6], 1, "replicate"),
        # 1x1 kernels
        ((7, 9), 1, 1, 0, 1, "zeros"),
        ((7, 9), 1, 2, 1, 1, "zeros"),
        ((7, 9), 1, 3, 2, 2, "reflect"),
        ((7, 9), 1, [2, 1], [1, 3], 1, "replicate"),
        # kernel as large as the input, and a tiny input
        ((5, 6), [5, 6], 1, 0, 1, "zeros"),
        ((3, 3), 2, 1, 1, 2, "replicate"),
        ((2, 3), 3, 1, 1, 1, "reflect"),
        # replicate / zero padding wider than the input itself
        ((2, 3), 3, 1, [3, 4], 1, "replicate"),
        ((2, 3), 2, 2, [3, 4], 1, "zeros"),
    ],
)
@pytest.mark.parametrize("channels", [2, 3])
def test_conv2d_gradients_shapes(in_hw, kernel, stride, padding, dilation, mode, channels):
    assert _conv_ok(in_hw, kernel, stride, padding, dilation, mode)
    entry = {
        "type": "conv2d", "filters": 2, "kernel": kernel, "stride": stride,
        "padding": padding, "dilation": dilation, "padding_mode": mode,
    }
    _check_conv((channels,) + in_hw, entry, seed=channels)


def test_conv2d_without_bias_gradients():
    entry = {"type": "conv2d", "filters": 2, "kernel": 3, "padding": 1, "bias": False}
    layer = _check_conv((3, 5, 6), entry)
    assert set(layer.params) == {"weight"}
    assert set(layer.grads) == {"weight"}


def test_conv2d_parameter_grads_without_input_grad():
    entry = {"type": "conv2d", "filters": 2, "kernel": 3, "stride": 2, "padding": 1, "padding_mode": "reflect"}
    layer = make_layer(entry, (3, 7, 8))
    x = np.random.default_rng(3).normal(size=(2, 3, 7, 8))
    R = np.random.default_rng(4).normal(size=(2,) + layer.out_shape)
    layer.forward(x)
    layer.backward(R)
    full = {k: v.copy() for k, v in layer.grads.items()}
    layer.forward(x)
    assert layer.backward(R, need_input_grad=False) is None
    for k in full:
        np.testing.assert_allclose(layer.grads[k], full[k], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", F.PADDING_MODES)
@pytest.mark.parametrize("ph,pw", [(0, 0), (1, 2), (3, 1), (0, 3), (2, 0)])
def test_pad2d_backward_is_adjoint(mode, ph, pw):
    """<pad2d(x), y> == <x, pad2d_backward(y)> for every mode (the padding Jacobian)."""
    rng = np.random.default_rng(ph * 10 + pw)
    x = rng.normal(size=(2, 3, 4, 5))
    xp = F.pad2d(x, ph, pw, mode)
    assert xp.shape == (2, 3, 4 + 2 * ph, 5 + 2 * pw)
    y = rng.normal(size=xp.shape)
    dx = F.pad2d_backward(y, 4, 5, ph, pw, mode)
    assert dx.shape == x.shape
    np.testing.assert_allclose(np.sum(xp * y), np.sum(x * dx), rtol=1e-12)
    num = numerical_gradient_array(lambda: F.pad2d(x, ph, pw, mode), x, y)
    assert rel_error(dx, num) < TOL


@pytest.mark.parametrize("mode", ["zeros", "replicate"])
def test_pad2d_backward_padding_wider_than_input(mode):
    rng = np.random.default_rng(9)
    x = rng.normal(size=(1, 2, 2, 3))
    xp = F.pad2d(x, 5, 4, mode)
    y = rng.normal(size=xp.shape)
    dx = F.pad2d_backward(y, 2, 3, 5, 4, mode)
    np.testing.assert_allclose(np.sum(xp * y), np.sum(x * dx), rtol=1e-12)


# --------------------------------------------------------------------------- pooling


def distinct_input(shape, seed=0):
    """Distinct values in [-0.5, 0.5) spaced far more than the finite-difference step: no ties."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    return (rng.permutation(size).reshape(shape) / size - 0.5).astype(np.float64)


POOL_CASES = [
    (k, s, p)
    for k in (2, 3)
    for s in (None, 1, 2, 3)
    for p in range(0, k // 2 + 1)
]


def _pool_entry(kind, kernel, stride, padding):
    entry = {"type": kind, "kernel": kernel, "padding": padding}
    if stride is not None:
        entry["stride"] = stride
    return entry


@pytest.mark.parametrize("kind", ["maxpool2d", "avgpool2d"])
@pytest.mark.parametrize("kernel,stride,padding", POOL_CASES)
def test_pool_gradients(kind, kernel, stride, padding):
    in_shape = (2, 7, 9)
    layer = make_layer(_pool_entry(kind, kernel, stride, padding), in_shape)
    if stride is None:
        assert layer.stride == (kernel, kernel)
    assert layer.params == {}
    x = distinct_input((2,) + in_shape, seed=kernel * 10 + (stride or 0))
    check_layer(layer, x)


@pytest.mark.parametrize("kind", ["maxpool2d", "avgpool2d"])
@pytest.mark.parametrize(
    "kernel,stride,padding",
    [([2, 3], None, 0), ([2, 3], [1, 2], [1, 1]), ([3, 2], [2, 1], [1, 0]), (3, [3, 1], [0, 1]), (2, [1, 3], [1, 0])],
)
def test_pool_gradients_rectangular(kind, kernel, stride, padding):
    in_shape = (3, 8, 7)
    layer = make_layer(_pool_entry(kind, kernel, stride, padding), in_shape)
    x = distinct_input((2,) + in_shape, seed=5)
    check_layer(layer, x)


# --------------------------------------------------------------------------- element-wise


def away_from_zero(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 2.0, size=shape)


@pytest.mark.parametrize(
    "entry",
    [
        {"type": "relu"},
        {"type": "leaky_relu"},
        {"type": "leaky_relu", "slope": 0.2},
        {"type": "leaky_relu", "slope": 0.0},
        {"type": "tanh"},
        {"type": "sigmoid"},
    ],
    ids=lambda e: "-".join(str(v) for v in e.values()),
)
@pytest.mark.parametrize("in_shape", [(2, 4, 5), (7,)])
def test_elementwise_gradients(entry, in_shape):
    layer = make_layer(entry, in_shape)
    x = away_from_zero((3,) + in_shape, seed=len(in_shape))
    check_layer(layer, x)


@pytest.mark.parametrize("kind", ["sigmoid", "tanh"])
def test_sigmoid_and_tanh_saturated_inputs(kind):
    layer = make_layer({"type": kind}, (6,))
    # far into saturation the derivative is below the finite-difference round-off, so the
    # numerical check stops at |x| = 8; beyond that: finite, no overflow, gradient ~ 0
    check_layer(layer, np.array([[-8.0, -4.0, -1.5, 1.5, 4.0, 8.0]]))
    x = np.array([[-1000.0, -60.0, -30.0, 30.0, 60.0, 1000.0]])
    with np.errstate(all="raise"):
        out = layer.forward(x)
        dx = layer.backward(np.ones_like(x))
    lo = 0.0 if kind == "sigmoid" else -1.0
    np.testing.assert_allclose(out[0, [0, -1]], [lo, 1.0], atol=1e-15)
    assert np.all(np.isfinite(dx)) and np.all(np.abs(dx) < 1e-12) and np.all(dx >= 0)


def test_softmax_layer_gradient_is_jacobian_vector_product():
    layer = make_layer({"type": "softmax"}, (6,))
    x = np.random.default_rng(0).normal(scale=2.0, size=(4, 6))
    check_layer(layer, x)
    # explicit Jacobian: J = diag(p) - p p^T per sample
    p = layer.forward(x)
    R = np.random.default_rng(1).normal(size=p.shape)
    dx = layer.backward(R)
    for i in range(x.shape[0]):
        J = np.diag(p[i]) - np.outer(p[i], p[i])
        np.testing.assert_allclose(dx[i], J.T @ R[i], rtol=1e-10, atol=1e-12)


def test_flatten_gradient():
    layer = make_layer({"type": "flatten"}, (3, 4, 5))
    assert layer.out_shape == (60,)
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5))
    check_layer(layer, x)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("features,units", [(7, 4), (1, 3), (12, 1)])
def test_linear_gradients(features, units, bias):
    layer = make_layer({"type": "linear", "units": units, "bias": bias}, (features,))
    assert set(layer.params) == ({"weight", "bias"} if bias else {"weight"})
    x = np.random.default_rng(0).normal(size=(3, features))
    check_layer(layer, x)


# --------------------------------------------------------------------------- dropout


@pytest.mark.parametrize("rate", [0.25, 0.5, 0.9])
@pytest.mark.parametrize("in_shape", [(2, 5, 6), (40,)])
def test_dropout_training_gradient_with_fixed_mask(rate, in_shape):
    layer = make_layer({"type": "dropout", "rate": rate}, in_shape)
    x = away_from_zero((3,) + in_shape, seed=2)
    check_layer(layer, x, training=True, rng_factory=lambda: np.random.default_rng(0))
    # the mask really drops values and scales the kept ones by 1/(1 - rate)
    out = layer.forward(x, True, np.random.default_rng(0))
    ratio = out / x
    kept = ratio != 0
    assert kept.any() and (~kept).any()
    np.testing.assert_allclose(ratio[kept], 1.0 / (1.0 - rate), rtol=1e-12)
    dx = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx == 0, ~kept)


@pytest.mark.parametrize("rate", [0.0, 0.5])
def test_dropout_eval_is_identity(rate):
    layer = make_layer({"type": "dropout", "rate": rate}, (2, 3, 4))
    x = away_from_zero((2, 2, 3, 4))
    out = layer.forward(x, False, np.random.default_rng(0))
    np.testing.assert_array_equal(out, x)
    R = np.random.default_rng(1).normal(size=x.shape)
    np.testing.assert_array_equal(layer.backward(R), R)
    check_layer(layer, x, training=False)


def test_dropout_rate_zero_in_training_is_identity():
    layer = make_layer({"type": "dropout", "rate": 0.0}, (10,))
    x = away_from_zero((2, 10))
    np.testing.assert_array_equal(layer.forward(x, True, np.random.default_rng(0)), x)
    check_layer(layer, x, training=True, rng_factory=lambda: np.random.default_rng(0))


# --------------------------------------------------------------------------- whole model


MODEL_SPEC = {
    "input": [2, 12, 11],
    "layers": [
        {"type": "conv2d", "filters": 3, "kernel": 3, "padding": 1},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel": 2},
        {"type": "conv2d", "filters": 4, "kernel": 3, "padding": 2, "dilation": 2, "padding_mode": "reflect"},
        {"type": "tanh"},
        {"type": "avgpool2d", "kernel": 2, "stride": 2},
        {"type": "flatten"},
        {"type": "linear", "units": 5},
        {"type": "softmax"},
    ],
}


def test_sequential_model_gradients():
    model = Sequential.from_spec(MODEL_SPEC, seed=0, dtype=np.float64)
    assert model.output_shape == (5,)
    rng = np.random.default_rng(1)
    params = model.parameters()
    assert set(params) == {"0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias"}
    for p in params.values():
        assert p.dtype == np.float64
        p[...] = rng.normal(0.0, 0.4, size=p.shape)  # non-zero biases too
    x = rng.normal(size=(2, 2, 12, 11))

    out = model.forward(x)
    assert out.shape == (2, 5)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-12)
    R = rng.normal(size=out.shape)
    dx = model.backward(R.copy())
    grads = {k: v.copy() for k, v in model.gradients().items()}
    assert set(grads) == set(params)

    def run():
        return model.forward(x)

    errors = {"input": rel_error(dx, numerical_gradient_array(run, x, R))}
    for name, p in model.parameters().items():
        errors[name] = rel_error(grads[name], numerical_gradient_array(run, p, R))
    for name, err in errors.items():
        assert err < TOL, f"model: {name} gradient relative error {err:.3e} (all: {errors})"

    # need_input_grad=False: same parameter gradients, no input gradient
    model.forward(x)
    assert model.backward(R.copy(), need_input_grad=False) is None
    for name, g in model.gradients().items():
        np.testing.assert_allclose(g, grads[name], rtol=1e-12, atol=1e-14)


def test_sequential_backward_from_intermediate_layer():
    model = Sequential.from_spec(MODEL_SPEC, seed=3, dtype=np.float64)
    x = np.random.default_rng(2).normal(size=(2, 2, 12, 11))
    upto = 5  # conv -> relu -> maxpool -> conv -> tanh
    out = model.forward(x, upto=upto)
    assert out.shape == (2, 4, 6, 5)
    R = np.random.default_rng(4).normal(size=out.shape)
    dx = model.backward(R.copy(), start=upto)
    num = numerical_gradient_array(lambda: model.forward(x, upto=upto), x, R)
    assert rel_error(dx, num) < TOL


# --------------------------------------------------------------------------- losses


@pytest.mark.parametrize("n,k", [(1, 3), (4, 5), (6, 2)])
def test_softmax_cross_entropy_gradient(n, k):
    rng = np.random.default_rng(n * k)
    logits = rng.normal(scale=1.0, size=(n, k))  # no vanishing probabilities
    labels = rng.integers(0, k, size=n)
    loss, grad = softmax_cross_entropy(logits, labels)
    assert grad.shape == logits.shape and grad.dtype == np.float64
    num = numerical_gradient_scalar(lambda: softmax_cross_entropy(logits, labels)[0], logits)
    assert rel_error(grad, num) < TOL
    # the value itself: mean of -log softmax at the label
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(loss, -np.mean(np.log(p[np.arange(n), labels])), rtol=1e-12)
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, -1000.0, 0.0], [1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]])
    labels = np.array([0, 1, 0])
    loss, grad = softmax_cross_entropy(logits, labels)
    assert np.isfinite(loss)
    assert np.all(np.isfinite(grad))
    # per-sample losses: 0, 2000, 2000 -> mean 4000/3
    np.testing.assert_allclose(loss, 4000.0 / 3.0, rtol=1e-12)
    expected = np.array([[0.0, 0.0, 0.0], [1.0, -1.0, 0.0], [-1.0, 0.0, 1.0]]) / 3.0
    np.testing.assert_allclose(grad, expected, atol=1e-12)
    # float32 too
    loss32, grad32 = softmax_cross_entropy(logits.astype(np.float32), labels)
    assert np.isfinite(loss32) and np.all(np.isfinite(grad32))
    assert grad32.dtype == np.float32


@pytest.mark.parametrize("shape", [(3,), (2, 4), (2, 3, 2, 2)])
def test_mse_gradient(shape):
    rng = np.random.default_rng(len(shape))
    pred = rng.normal(size=shape)
    target = rng.normal(size=shape)
    loss, grad = mse(pred, target)
    np.testing.assert_allclose(loss, np.mean((pred - target) ** 2), rtol=1e-12)
    num = numerical_gradient_scalar(lambda: mse(pred, target)[0], pred)
    assert rel_error(grad, num) < TOL
