"""Learning filters from examples: gradient descent recovers known kernels; least squares is exact."""

import cv2
import numpy as np
import pytest

from convlab.core import functional as F
from convlab.core.filter_fit import fit_filter, fit_two_layer, least_squares_filter
from convlab.core.kernels import preset
from convlab.core.samples import load_sample


@pytest.fixture(scope="module")
def photo():
    """A natural-looking image: the astronaut photo, small, in [0, 1]."""
    rgb = cv2.resize(load_sample("astronaut"), (64, 64), interpolation=cv2.INTER_AREA)
    return rgb.astype(np.float64).transpose(2, 0, 1)[None] / 255.0


def conv(x, w, b=None, **kw):
    return F.conv2d_forward(x, w, b, kw.get("stride", 1), kw.get("padding", 0), kw.get("dilation", 1))[0]


def gray(photo):
    return photo.mean(axis=1, keepdims=True)


def test_gradient_descent_recovers_sobel_x(photo):
    x = gray(photo)
    sobel = preset("sobel_x").kernel.astype(np.float64)[None, None]
    r = fit_filter(x, conv(x, sobel), kernel=3, steps=1500, lr=0.05, seed=0)
    assert np.abs(r.weight - sobel).max() < 1e-2
    assert abs(r.bias[0]) < 1e-2 and r.losses[-1] < r.losses[0] / 1000 and len(r.losses) == 1500


def test_gradient_descent_recovers_a_gaussian_blur(photo):
    x = gray(photo)
    g = preset("gaussian_5").kernel.astype(np.float64)[None, None]
    r = fit_filter(x, conv(x, g, padding=2), kernel=5, padding=2, steps=2000, lr=0.02, seed=1)
    assert np.abs(r.weight - g).max() < 1e-2


def test_rgb_5x5x3_filter_75_weights(photo):
    rng = np.random.default_rng(3)
    w = rng.normal(0, 0.2, (1, 3, 5, 5))
    r = fit_filter(photo, conv(photo, w, np.array([0.3])), kernel=5, steps=2500, lr=0.02, seed=0)
    assert r.weight.shape == (1, 3, 5, 5) and r.weight.size == 75
    assert np.abs(r.weight - w).max() < 1e-2 and abs(r.bias[0] - 0.3) < 1e-2


def test_least_squares_equals_the_generating_kernel(photo):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(2, 3, 3, 3))
    b = np.array([0.5, -1.0])
    t = conv(photo, w, b, stride=2, padding=1, dilation=2)
    r = least_squares_filter(photo, t, kernel=3, stride=2, padding=1, dilation=2)
    np.testing.assert_allclose(r.weight, w, atol=1e-4)
    np.testing.assert_allclose(r.bias, b, atol=1e-4)
    assert r.losses[0] < 1e-8


def test_callback_sees_progress_and_can_stop(photo):
    x = gray(photo)
    seen = []

    def cb(step, loss, weight):
        seen.append((step, loss, weight.shape))
        return step < 5

    r = fit_filter(x, conv(x, np.ones((1, 1, 3, 3)) / 9), kernel=3, steps=100, callback=cb, seed=0)
    assert r.stopped and len(r.losses) == 5 and seen[-1][0] == 5 and seen[0][2] == (1, 1, 3, 3)


def test_depth_helps_for_a_nonlinear_target(photo):
    x = gray(photo)
    target = np.abs(conv(x, preset("sobel_x").kernel.astype(np.float64)[None, None], padding=1))  # |edges|
    linear = least_squares_filter(x, target, kernel=3, padding=1)
    deep = fit_two_layer(x, target, kernel=3, hidden=4, steps=600, lr=0.02, seed=0)
    assert deep.losses[-1] < 0.5 * linear.losses[0]


@pytest.mark.parametrize("targets_shape, pattern", [
    ((1, 1, 64, 64), r"targets must be 1 x 1 x 62 x 62 .*H' = \(64 - 3 \+ 2\*0\)/1 \+ 1 = 62"),
    ((1, 2, 62, 62), r"targets must be 1 x 1 x 62 x 62"),
    ((62, 62), r"targets must be N x K x H' x W'"),
])
def test_shape_mismatches_are_clear(photo, targets_shape, pattern):
    with pytest.raises(ValueError, match=pattern):
        fit_filter(gray(photo), np.zeros(targets_shape), kernel=3)


def test_bad_settings_are_clear(photo):
    x = gray(photo)
    with pytest.raises(ValueError, match="kernel must be a whole number >= 1"):
        fit_filter(x, np.zeros((1, 1, 64, 64)), kernel=0)
    with pytest.raises(ValueError, match="is not positive"):
        fit_filter(x, np.zeros((1, 1, 1, 1)), kernel=70)
    with pytest.raises(ValueError, match="finite"):
        fit_filter(np.full_like(x, np.nan), np.zeros((1, 1, 62, 62)))
    with pytest.raises(ValueError, match="N x C x H x W"):
        fit_filter(x[0], np.zeros((1, 1, 62, 62)))
