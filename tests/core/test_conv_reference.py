"""conv2d and pooling forward against independent references, and PyTorch-style semantics.

* a plain nested-loop cross-correlation (float64) over padding, stride, dilation and
  rectangular shapes;
* OpenCV's cv2.filter2D (a correlation) for single-channel float32 images with odd
  kernels and the three border modes;
* hand-computed facts: the output-size formula, first-maximum ties in max pooling,
  count_include_pad in average pooling, -inf padding in max pooling.
"""

import cv2
import numpy as np
import pytest

from convlab.core import functional as F
from convlab.core.functional import OutputSize, output_size
from convlab.core.model import Sequential

NP_PAD_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge"}


# --------------------------------------------------------------------------- references


def reference_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """Cross-correlation by explicit loops: out[n,k,i,j] = b[k] + sum x_pad[n,c,i*S+a*D, j*S+b*D] w[k,c,a,b]."""
    sh, sw = F.pair(stride)
    ph, pw = F.pair(padding)
    dh, dw = F.pair(dilation)
    n, c, h, w = x.shape
    k, _, fh, fw = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode=NP_PAD_MODE[padding_mode])
    ho = (h + 2 * ph - dh * (fh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (fw - 1) - 1) // sw + 1
    out = np.zeros((n, k, ho, wo), dtype=np.float64)
    for b_ in range(n):
        for kk in range(k):
            for i in range(ho):
                for j in range(wo):
                    acc = 0.0 if bias is None else float(bias[kk])
                    for cc in range(c):
                        for a in range(fh):
                            for bb in range(fw):
                                acc += xp[b_, cc, i * sh + a * dh, j * sw + bb * dw] * weight[kk, cc, a, bb]
                    out[b_, kk, i, j] = acc
    return out


def reference_pool(x, kernel, stride, padding, kind):
    """Max pooling with -inf padding / average pooling counting zero padding, by loops."""
    fh, fw = F.pair(kernel)
    sh, sw = (fh, fw) if stride is None else F.pair(stride)
    ph, pw = F.pair(padding)
    n, c, h, w = x.shape
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    ho = (h + 2 * ph - fh) // sh + 1
    wo = (w + 2 * pw - fw) // sw + 1
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            win = xp[:, :, i * sh : i * sh + fh, j * sw : j * sw + fw]
            out[:, :, i, j] = win.max(axis=(2, 3)) if kind == "max" else win.sum(axis=(2, 3)) / (fh * fw)
    return out


# --------------------------------------------------------------------------- nested-loop reference


CONV_CASES = [
    # (C, K, H, W, kernel, stride, padding, dilation)
    (1, 1, 5, 5, 3, 1, 0, 1),
    (2, 3, 6, 6, 3, 1, 1, 1),
    (3, 2, 7, 9, 3, 2, 1, 1),
    (2, 2, 8, 7, 3, 1, 0, 2),
    (2, 2, 9, 8, 3, 2, 2, 2),
    (1, 2, 7, 7, 3, 1, 0, 3),
    (3, 2, 10, 9, 5, 3, 2, 1),
    (2, 3, 7, 9, [2, 3], 1, 0, 1),
    (2, 2, 7, 9, [3, 2], [1, 2], [1, 2], 1),
    (3, 2, 9, 7, [3, 5], [2, 1], [0, 2], [2, 1]),
    (2, 2, 8, 11, [2, 4], [3, 2], [2, 1], [1, 2]),
    (2, 3, 6, 7, 1, 1, 0, 1),
    (2, 2, 6, 7, 1, 2, 1, 1),
    (1, 1, 4, 4, 4, 1, 0, 1),
    (1, 2, 3, 5, [3, 5], 1, 0, 1),
    (2, 2, 5, 6, 2, 1, 3, 1),
    (1, 1, 6, 8, 3, 4, 0, 1),
    (2, 2, 12, 5, [4, 2], [3, 1], [1, 0], [3, 2]),
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("c,k,h,w,kernel,stride,padding,dilation", CONV_CASES)
def test_conv2d_matches_nested_loops_zero_padding(c, k, h, w, kernel, stride, padding, dilation, bias):
    rng = np.random.default_rng(h * 100 + w)
    fh, fw = F.pair(kernel)
    x = rng.normal(size=(2, c, h, w))
    weight = rng.normal(size=(k, c, fh, fw))
    b = rng.normal(size=k) if bias else None
    out, _ = F.conv2d_forward(x, weight, b, stride, padding, dilation, "zeros")
    ref = reference_conv2d(x, weight, b, stride, padding, dilation)
    assert out.dtype == np.float64
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
@pytest.mark.parametrize(
    "h,w,kernel,stride,padding,dilation",
    [(6, 7, 3, 1, 1, 1), (7, 9, [3, 5], [2, 1], [2, 3], 1), (8, 7, 3, 2, [3, 1], 2), (5, 5, 5, 1, 4, 1)],
)
def test_conv2d_matches_nested_loops_other_padding_modes(mode, h, w, kernel, stride, padding, dilation):
    rng = np.random.default_rng(7)
    fh, fw = F.pair(kernel)
    x = rng.normal(size=(2, 2, h, w))
    weight = rng.normal(size=(3, 2, fh, fw))
    b = rng.normal(size=3)
    out, _ = F.conv2d_forward(x, weight, b, stride, padding, dilation, mode)
    np.testing.assert_allclose(out, reference_conv2d(x, weight, b, stride, padding, dilation, mode), rtol=1e-10,
                               atol=1e-10)


def test_conv2d_is_cross_correlation_not_convolution():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0  # an impulse
    weight = np.arange(9, dtype=np.float64).reshape(1, 1, 3, 3)
    out, _ = F.conv2d_forward(x, weight, None, 1, 1)
    # correlating an impulse gives the kernel flipped in both axes
    np.testing.assert_array_equal(out[0, 0], weight[0, 0, ::-1, ::-1])
    # and without padding the single output is the centre tap
    out, _ = F.conv2d_forward(np.arange(9.0).reshape(1, 1, 3, 3), weight)
    assert out.shape == (1, 1, 1, 1) and out[0, 0, 0, 0] == np.sum(np.arange(9.0) ** 2)


def test_conv2d_float32_stays_float32_and_matches_reference():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 8, 9)).astype(np.float32)
    weight = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    b = rng.normal(size=4).astype(np.float32)
    out, _ = F.conv2d_forward(x, weight, b, 2, 1, 1)
    assert out.dtype == np.float32
    ref = reference_conv2d(x.astype(np.float64), weight.astype(np.float64), b.astype(np.float64), 2, 1, 1)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)


def test_conv2d_layer_forward_matches_reference():
    spec = {
        "input": [2, 7, 9],
        "layers": [{"type": "conv2d", "filters": 3, "kernel": [3, 2], "stride": [2, 1],
                    "padding": [1, 2], "dilation": [1, 2], "padding_mode": "replicate"}],
    }
    model = Sequential.from_spec(spec, seed=0, dtype=np.float64)
    params = model.parameters()
    params["0.bias"][...] = [0.5, -1.0, 2.0]
    x = np.random.default_rng(1).normal(size=(3, 2, 7, 9))
    out = model.forward(x)
    ref = reference_conv2d(x, params["0.weight"], params["0.bias"], [2, 1], [1, 2], [1, 2], "replicate")
    assert out.shape == (3,) + model.output_shape
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)


def test_conv2d_rejects_impossible_sizes_and_reflect_too_wide():
    x = np.zeros((1, 1, 5, 5))
    with pytest.raises(ValueError):
        F.conv2d_forward(x, np.zeros((1, 1, 3, 3)), dilation=3)  # effective 7 > 5
    with pytest.raises(ValueError):
        F.conv2d_forward(x, np.zeros((1, 1, 3, 3)), padding=5, padding_mode="reflect")
    with pytest.raises(ValueError):
        F.conv2d_forward(x, np.zeros((1, 2, 3, 3)))  # channel mismatch


# --------------------------------------------------------------------------- OpenCV filter2D


CV2_BORDERS = {
    "zeros": cv2.BORDER_CONSTANT,
    "reflect": cv2.BORDER_REFLECT_101,  # reflect without repeating the edge, as PyTorch
    "replicate": cv2.BORDER_REPLICATE,
}


@pytest.mark.parametrize("mode", list(CV2_BORDERS))
@pytest.mark.parametrize("kernel_hw", [(3, 3), (5, 5), (7, 7), (3, 5), (5, 1)])
@pytest.mark.parametrize("image_hw", [(16, 16), (13, 21)])
def test_conv2d_same_matches_cv2_filter2d(mode, kernel_hw, image_hw):
    rng = np.random.default_rng(kernel_hw[0] * 10 + kernel_hw[1])
    img = rng.random(image_hw, dtype=np.float32)
    kern = rng.normal(size=kernel_hw).astype(np.float32)
    expected = cv2.filter2D(img, -1, kern, borderType=CV2_BORDERS[mode])
    padding = [kernel_hw[0] // 2, kernel_hw[1] // 2]
    out, _ = F.conv2d_forward(img[None, None], kern[None, None], None, 1, padding, 1, mode)
    assert out.dtype == np.float32
    assert out.shape == (1, 1) + image_hw  # 'same' output
    np.testing.assert_allclose(out[0, 0], expected, rtol=1e-4, atol=1e-4)


def test_conv2d_matches_cv2_filter2d_on_a_real_pattern():
    """A Sobel-x kernel on a ramp image: the interior response is the constant slope * 8."""
    img = np.tile(np.arange(12, dtype=np.float32), (10, 1)) * 0.5
    sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
    for mode, border in CV2_BORDERS.items():
        expected = cv2.filter2D(img, -1, sobel, borderType=border)
        out, _ = F.conv2d_forward(img[None, None], sobel[None, None], None, 1, 1, 1, mode)
        np.testing.assert_allclose(out[0, 0], expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(out[0, 0, 1:-1, 1:-1], 4.0)  # 0.5 per pixel * 2 px * (1 + 2 + 1)


# --------------------------------------------------------------------------- output size


@pytest.mark.parametrize(
    "w,f,s,p,d,expected",
    [
        (28, 5, 1, 2, 1, 28),
        (14, 5, 2, 0, 1, 5),
        (7, 3, 1, 0, 3, 1),
        (32, 3, 1, 1, 1, 32),
        (32, 3, 2, 1, 1, 16),
        (224, 7, 2, 3, 1, 112),
        (10, 3, 1, 0, 2, 6),
        (5, 5, 1, 0, 1, 1),
        (4, 5, 1, 0, 1, 0),
        (7, 3, 1, 0, 4, -1),
    ],
)
def test_output_size_formula(w, f, s, p, d, expected):
    assert output_size(w, f, s, p, d) == expected
    assert OutputSize(w, f, s, p, d).size == expected
    assert expected == (w + 2 * p - d * (f - 1) - 1) // s + 1
    if expected > 0:
        # the engine produces exactly this size
        x = np.zeros((1, 1, w, w))
        out, _ = F.conv2d_forward(x, np.zeros((1, 1, f, f)), None, s, p, d)
        assert out.shape == (1, 1, expected, expected)


def test_output_size_not_whole_division():
    m = OutputSize(14, 5, 2, 0, 1)
    assert m.size == 5
    assert m.whole is False
    assert m.exact == 5.5
    assert m.effective_kernel == 5
    text = m.formula()
    for number in ("14", "5", "2", "0", "5.5"):
        assert number in text, (number, text)
    assert "floor" in text or "-> 5" in text


def test_output_size_whole_division_and_dilation():
    m = OutputSize(28, 5, 1, 2, 1)
    assert m.whole is True and m.exact == 28 and m.size == 28
    text = m.formula()
    for number in ("28", "5", "2", "1"):
        assert number in text, (number, text)
    assert "28" in text.split("=")[-1]
    d = OutputSize(7, 3, 1, 0, 3)
    assert d.effective_kernel == 7 and d.size == 1 and d.whole
    assert "7" in d.formula() and d.formula().rstrip().endswith("1")
    big = OutputSize(32, 3, 1, 1, 1)
    assert big.size == 32 and "32" in big.formula()


# --------------------------------------------------------------------------- pooling semantics


POOL_REF_CASES = [
    ((7, 9), 2, None, 0),
    ((7, 9), 3, None, 1),
    ((7, 9), 3, 1, 1),
    ((7, 9), 2, 3, 1),
    ((8, 7), [2, 3], [1, 2], [1, 1]),
    ((8, 7), [3, 2], [3, 1], [0, 1]),
]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("hw,kernel,stride,padding", POOL_REF_CASES)
def test_pool_forward_matches_reference(kind, hw, kernel, stride, padding):
    x = np.random.default_rng(0).normal(size=(2, 3) + hw)
    fwd = F.maxpool2d_forward if kind == "max" else F.avgpool2d_forward
    out, _ = fwd(x, kernel, stride, padding)
    ref = reference_pool(x, kernel, stride, padding, kind)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_maxpool_ties_go_to_first_maximum():
    x = np.ones((1, 1, 2, 2))
    out, cache = F.maxpool2d_forward(x, 2)
    assert out.shape == (1, 1, 1, 1) and out[0, 0, 0, 0] == 1.0
    dx = F.maxpool2d_backward(np.full(out.shape, 3.0), cache)
    np.testing.assert_array_equal(dx[0, 0], [[3.0, 0.0], [0.0, 0.0]])


def test_maxpool_tie_first_in_row_major_order():
    # the maximum 5 appears at (0, 1) and (1, 0): the first in row-major order is (0, 1)
    x = np.array([[[[1.0, 5.0], [5.0, 2.0]]]])
    out, cache = F.maxpool2d_forward(x, 2)
    dx = F.maxpool2d_backward(np.ones(out.shape), cache)
    np.testing.assert_array_equal(dx[0, 0], [[0.0, 1.0], [0.0, 0.0]])


def test_maxpool_ties_in_overlapping_windows():
    # a constant row: every window's first element wins; windows overlap with stride 1
    x = np.full((1, 1, 2, 4), 7.0)
    out, cache = F.maxpool2d_forward(x, 2, 1)
    assert out.shape == (1, 1, 1, 3)
    dx = F.maxpool2d_backward(np.array([[[[1.0, 10.0, 100.0]]]]), cache)
    np.testing.assert_array_equal(dx[0, 0], [[1.0, 10.0, 100.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    # each window routes its gradient exactly once, in every channel and sample
    x = np.zeros((2, 3, 4, 4))
    out, cache = F.maxpool2d_forward(x, 2)
    dx = F.maxpool2d_backward(np.ones(out.shape), cache)
    assert dx.sum() == out.size
    np.testing.assert_array_equal(dx[:, :, ::2, ::2], 1.0)


def test_maxpool_padding_is_never_chosen():
    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # all negative
    out, cache = F.maxpool2d_forward(x, 2, 2, 1)
    # windows: {pad, x00}, {pad, x01, x02}, ... ; a zero pad would win everywhere
    np.testing.assert_array_equal(out[0, 0], [[-1.0, -2.0], [-4.0, -5.0]])
    dx = F.maxpool2d_backward(np.ones(out.shape), cache)
    expected = np.zeros((3, 3))
    expected[0, 0] = expected[0, 1] = expected[1, 0] = expected[1, 1] = 1.0
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_avgpool_padding_counts_zeros():
    x = np.ones((1, 1, 2, 2))
    out, cache = F.avgpool2d_forward(x, 2, 1, 1)
    np.testing.assert_allclose(out[0, 0], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])
    assert out[0, 0, 0, 0] == 0.25
    dx = F.avgpool2d_backward(np.ones(out.shape), cache)
    # every input pixel lies in 4 windows, each passing back 1/4
    np.testing.assert_allclose(dx, np.ones((1, 1, 2, 2)))


def test_avgpool_default_stride_is_kernel():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out, _ = F.avgpool2d_forward(x, 2)
    np.testing.assert_allclose(out[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    out, _ = F.maxpool2d_forward(x, 2)
    np.testing.assert_array_equal(out[0, 0], [[5.0, 7.0], [13.0, 15.0]])


def test_softmax_is_stable():
    z = np.array([[1000.0, -1000.0, 0.0], [1e4, 1e4, -1e4]])
    with np.errstate(over="raise", invalid="raise"):
        p = F.softmax(z, axis=1)
    np.testing.assert_allclose(p, [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], atol=1e-300)
