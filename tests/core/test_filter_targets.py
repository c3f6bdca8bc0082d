"""Targets for learning a filter: OpenCV's linear operations are exactly the engine's conv2d with the
matching kernel and zero padding; presets, loaded pictures and strided / cropped outputs line up."""

import cv2
import numpy as np
import pytest

from convlab.core import functional as F
from convlab.core.filter_targets import (
    OPENCV_TARGETS,
    image_target,
    learning_input,
    learning_shape,
    opencv_kernel,
    opencv_target,
    preset_target,
    resize_note,
    same_padding,
    sample_target,
    why_not_linear,
)
from convlab.core.kernels import preset


@pytest.fixture(scope="module")
def rgb():
    """A smooth-ish RGB image in [0, 1], (3, 30, 40)."""
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8), (5, 5), 1.5)
    return learning_input(img, "rgb")


def conv(x, w, padding=0, stride=1, dilation=1):
    return F.conv2d_forward(x[None], np.asarray(w, np.float64), None, stride, padding, dilation)[0][0]


def test_opencv_sobel_x_is_conv2d_with_sobel_x_and_zero_padding_1(rgb):
    gray = rgb.mean(axis=0)
    ref = cv2.Sobel(gray, cv2.CV_64F, 1, 0, ksize=3, borderType=cv2.BORDER_CONSTANT)
    sobel = preset("sobel_x").filter(1).astype(np.float64)[None]
    np.testing.assert_allclose(conv(gray[None], sobel, padding=1)[0], ref, atol=1e-12)
    np.testing.assert_allclose(opencv_target(rgb, "sobel_x")[0], ref, atol=1e-12)


@pytest.mark.parametrize("key", [k for k, t in OPENCV_TARGETS.items() if t.linear])
@pytest.mark.parametrize("channels", [1, 3])
def test_every_linear_opencv_target_is_its_exact_kernel(rgb, key, channels):
    x = rgb if channels == 3 else rgb.mean(axis=0, keepdims=True)
    k = opencv_kernel(key, channels).astype(np.float64)
    assert k.shape[0] == channels and k.shape[-1] in (3, 5)
    assert f"{k.shape[-1]}x{k.shape[-1]}" in OPENCV_TARGETS[key].explanation  # the text names the exact size
    t = opencv_target(x, key)
    assert t.shape == (1, 30, 40)
    np.testing.assert_allclose(conv(x, k[None], padding=k.shape[-1] // 2), t, atol=1e-6)


@pytest.mark.parametrize("key", ["canny", "morph_gradient", "dilate"])
def test_nonlinear_targets_have_a_note_and_no_exact_kernel(rgb, key):
    name, explanation, linear = OPENCV_TARGETS[key]
    assert not linear and name and explanation
    assert len(why_not_linear(key)) > 40 and opencv_kernel(key) is None
    t = opencv_target(rgb, key)
    assert t.shape == (1, 30, 40) and np.isfinite(t).all() and t.min() >= 0


def test_canny_is_zero_or_one_and_linear_notes_are_empty():
    x = np.zeros((1, 20, 20))
    x[:, :, 10:] = 1.0  # one vertical step edge
    t = opencv_target(x, "canny")
    assert set(np.unique(t)) == {0.0, 1.0}
    rows = t[0, 5:15]
    assert (rows[:, 9] == 1.0).all() and np.delete(rows, 9, axis=1).max() == 0.0  # a thin line, not a band
    assert why_not_linear("sobel_x") == ""
    assert "max" in why_not_linear("morph_gradient") and "yes/no" in why_not_linear("canny")
    with pytest.raises(ValueError, match="known"):
        why_not_linear("sharpen")


def test_preset_target_shapes_and_values(rgb):
    assert preset_target(rgb, "sobel_x").shape == (1, 30, 40)  # 'same' by default
    assert preset_target(rgb, "sobel_x", padding=0).shape == (1, 28, 38)
    assert preset_target(rgb, "gaussian_5", padding=0).shape == (1, 26, 36)
    assert preset_target(rgb, "sobel_x", padding=1, stride=2).shape == (1, 15, 20)
    w = preset("emboss").filter(3).astype(np.float64)[None]
    np.testing.assert_allclose(preset_target(rgb, "emboss", padding=1), conv(rgb, w, padding=1), atol=1e-12)
    with pytest.raises(ValueError, match="channel"):
        preset_target(rgb[:1], "rgb_to_luma")
    with pytest.raises(ValueError, match="not positive"):
        preset_target(rgb[:, :2, :2], "gaussian_5", padding=0)


def test_image_target_is_gray_resized_and_in_unit_range():
    img = np.zeros((20, 40, 3), np.uint8)
    img[:, 20:] = (255, 255, 255)
    t = image_target(img, (10, 20))
    assert t.shape == (1, 10, 20) and t.dtype == np.float64
    assert t.min() == 0.0 and t.max() == 1.0 and t[0, :, :10].max() == 0.0
    same = image_target(img[:, :, 0], (20, 40))
    assert np.array_equal(same[0], img[:, :, 0] / 255.0)
    assert resize_note(img.shape, (20, 40)) == ""
    assert "resized" in resize_note(img.shape, (10, 20)) and "stretched" not in resize_note(img.shape, (10, 20))
    assert "stretched" in resize_note(img.shape, (20, 20))
    with pytest.raises(ValueError, match="uint8"):
        image_target(img.astype(np.float32), (10, 20))
    with pytest.raises(ValueError, match="positive"):
        image_target(img, (0, 20))


def test_sample_target_matches_conv_with_other_kernel_sizes_strides_and_padding(rgb):
    """A 3x3 target learned by a bigger kernel, with stride or less padding: the sampled target is exactly
    what the true kernel, grown to that size, makes with those settings."""
    x = rgb.mean(axis=0, keepdims=True)
    full = preset_target(x, "sobel_x")
    true = preset("sobel_x").filter(1)
    from convlab.core.kernels import resize_kernel

    for f, s, p in ((3, 1, 1), (5, 1, 2), (5, 1, 0), (3, 2, 1), (5, 3, 1), (4, 1, 1)):
        t = sample_target(full, f, s, p)
        ref = conv(x, resize_kernel(true, f).astype(np.float64)[None], padding=p, stride=s)
        assert t.shape == ref.shape
        np.testing.assert_allclose(t, ref, atol=1e-12)
    assert same_padding(3) == 1 and same_padding(5, 2) == 4 and same_padding(4) == 1
    with pytest.raises(ValueError, match=r"padding 1 fits"):
        sample_target(full, 3, 1, 2)


def test_learning_shape_and_input():
    assert learning_shape(512, 256, 96) == (96, 48) and learning_shape(40, 60, 96) == (40, 60)
    img = np.full((40, 60, 3), 255, np.uint8)
    x = learning_input(img, "rgb", (20, 30))
    assert x.shape == (3, 20, 30) and np.allclose(x, 1.0)
    assert learning_input(img, "gray").shape == (1, 40, 60)
