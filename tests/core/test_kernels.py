"""Tests for convlab.core.kernels (preset kernels and the kernel-editor helpers)."""

import subprocess
import sys

import cv2
import numpy as np
import pytest

from convlab.core.kernels import (
    KERNEL_PRESETS,
    MAX_KERNEL_SIZE,
    KernelPreset,
    kernel_from_text,
    kernel_to_text,
    normalize_kernel,
    preset,
    random_kernel,
    resize_kernel,
)

SPATIAL = [k for k, p in KERNEL_PRESETS.items() if not p.mixes_channels]
MIXERS = [k for k, p in KERNEL_PRESETS.items() if p.mixes_channels]
BLURS = ["box_blur", "gaussian_3", "gaussian_5", "gaussian_7", "motion_blur"]
ZERO_SUM = ["sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "scharr_x", "scharr_y",
            "laplacian", "log_5", "outline"]
REQUIRED = ["identity", "box_blur", "gaussian_3", "gaussian_5", "gaussian_7", "sharpen",
            "unsharp_mask", "outline", "sobel_x", "sobel_y", "prewitt_x", "prewitt_y",
            "scharr_x", "scharr_y", "laplacian", "log_5", "emboss", "motion_blur",
            "rgb_to_luma", "red_only", "red_minus_green"]


def _correlate(img: np.ndarray, k: np.ndarray) -> np.ndarray:
    """cv2.filter2D computes cross-correlation (no flip), like ConvLab."""
    return cv2.filter2D(img.astype(np.float32), cv2.CV_32F, np.asarray(k, np.float32),
                        borderType=cv2.BORDER_REPLICATE)


def _rng_image(h=9, w=11, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (h, w)).astype(np.float32)


# --------------------------------------------------------------------------- presets


def test_core_does_not_import_qt():
    code = ("import sys, convlab.core.kernels; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


def test_required_presets_present_and_enough():
    assert set(REQUIRED) <= set(KERNEL_PRESETS)
    assert len(KERNEL_PRESETS) >= 19
    assert list(KERNEL_PRESETS)[0] == "identity"


@pytest.mark.parametrize("key", list(KERNEL_PRESETS))
def test_preset_basics(key):
    p = KERNEL_PRESETS[key]
    assert isinstance(p, KernelPreset)
    assert p.key == key
    assert p.name.strip()
    assert p.explanation.strip() and "\n" not in p.explanation
    assert p.kernel.dtype == np.float32
    assert np.all(np.isfinite(p.kernel))
    assert p.bias == 0.0
    if p.mixes_channels:
        assert p.kernel.shape == (3, 1, 1)
        assert p.per_channel is not None and len(p.per_channel) == 3
        np.testing.assert_allclose(p.kernel.ravel(), p.per_channel, rtol=1e-6)
    else:
        assert p.per_channel is None
        f = p.kernel.shape[0]
        assert p.kernel.shape == (f, f) and 1 <= f <= MAX_KERNEL_SIZE
        assert p.size == f


def test_preset_kernels_are_read_only():
    p = preset("sobel_x")
    with pytest.raises(ValueError):
        p.kernel[0, 0] = 5.0
    f = p.filter(1)
    f[0, 0, 0] = 5.0  # the returned weights are a writable copy
    assert p.kernel[0, 0] == -1.0


def test_expected_shapes():
    sizes = {"identity": 3, "box_blur": 3, "gaussian_3": 3, "gaussian_5": 5, "gaussian_7": 7,
             "sharpen": 3, "unsharp_mask": 5, "outline": 3, "log_5": 5, "laplacian": 3}
    for key, f in sizes.items():
        assert KERNEL_PRESETS[key].kernel.shape == (f, f), key


@pytest.mark.parametrize("key", BLURS + ["identity", "sharpen", "unsharp_mask", "emboss"])
def test_brightness_preserving_kernels_sum_to_one(key):
    assert float(KERNEL_PRESETS[key].kernel.sum()) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("key", BLURS)
def test_blurs_are_non_negative(key):
    assert np.all(KERNEL_PRESETS[key].kernel >= 0)


@pytest.mark.parametrize("key", ZERO_SUM)
def test_edge_kernels_sum_to_zero(key):
    assert float(KERNEL_PRESETS[key].kernel.sum()) == pytest.approx(0.0, abs=1e-6)


def test_sobel_x_values_and_step_response():
    np.testing.assert_array_equal(preset("sobel_x").kernel, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    img = np.zeros((7, 8), np.float32)
    img[:, 4:] = 1.0  # dark on the left, bright on the right
    out = _correlate(img, preset("sobel_x").kernel)
    assert np.all(out[:, 3:5] > 0)  # positive on the step
    assert out.max() == pytest.approx(4.0)
    assert np.allclose(out[:, :2], 0) and np.allclose(out[:, 6:], 0)
    # the y kernel ignores a vertical edge and sees a top-dark/bottom-bright one
    assert np.allclose(_correlate(img, preset("sobel_y").kernel), 0)
    assert np.all(_correlate(img.T.copy(), preset("sobel_y").kernel)[3:5, :] > 0)


@pytest.mark.parametrize("x_key", ["sobel_x", "prewitt_x", "scharr_x"])
def test_y_kernels_are_transposes(x_key):
    y_key = x_key.replace("_x", "_y")
    np.testing.assert_array_equal(preset(y_key).kernel, preset(x_key).kernel.T)
    ramp = np.tile(np.arange(8, dtype=np.float32), (6, 1))  # brighter to the right
    assert np.all(_correlate(ramp, preset(x_key).kernel)[:, 1:-1] > 0)


def test_identity_leaves_image_unchanged():
    img = _rng_image()
    np.testing.assert_array_equal(_correlate(img, preset("identity").kernel), img)


def test_laplacian_and_outline_zero_on_flat_and_ramp():
    flat = np.full((6, 6), 7.0, np.float32)
    ramp = np.tile(np.arange(6, dtype=np.float32), (6, 1))
    for key in ("laplacian", "outline", "log_5"):
        assert np.allclose(_correlate(flat, preset(key).kernel), 0)
    for key in ("laplacian", "outline"):
        assert np.allclose(_correlate(ramp, preset(key).kernel)[1:-1, 1:-1], 0, atol=1e-5)


@pytest.mark.parametrize("n", [3, 5, 7])
def test_gaussians_match_opencv_outer_product(n):
    g = cv2.getGaussianKernel(n, 0)
    np.testing.assert_allclose(preset(f"gaussian_{n}").kernel, g @ g.T, atol=1e-6)


def test_gaussian_5_is_binomial():
    row = np.array([1, 4, 6, 4, 1]) / 16.0
    np.testing.assert_allclose(preset("gaussian_5").kernel, np.outer(row, row), atol=1e-7)


def test_unsharp_mask_is_two_minus_blur():
    delta = np.zeros((5, 5))
    delta[2, 2] = 1.0
    np.testing.assert_allclose(preset("unsharp_mask").kernel, 2 * delta - preset("gaussian_5").kernel,
                               atol=1e-7)


def test_blur_keeps_a_flat_image():
    flat = np.full((8, 8), 100.0, np.float32)
    for key in BLURS:
        np.testing.assert_allclose(_correlate(flat, preset(key).kernel), flat, rtol=1e-5)


def test_unknown_preset_lists_known_keys():
    with pytest.raises(ValueError, match="sobel_x"):
        preset("nope")


# --------------------------------------------------------------------------- filter(channels)


@pytest.mark.parametrize("key", SPATIAL)
def test_spatial_filter_shapes_and_split(key):
    p = KERNEL_PRESETS[key]
    f = p.size
    one = p.filter(1)
    assert one.shape == (1, f, f) and one.dtype == np.float32
    np.testing.assert_array_equal(one[0], p.kernel)
    three = p.filter(3)
    assert three.shape == (3, f, f) and three.dtype == np.float32
    np.testing.assert_allclose(three.sum(axis=0), p.kernel, atol=1e-6)
    for c in range(3):
        np.testing.assert_allclose(three[c], p.kernel / 3, atol=1e-7)


def test_spatial_filter_on_rgb_stays_in_gray_range():
    """An RGB image whose channels all equal a gray image gives the gray result."""
    gray = _rng_image()
    rgb = np.stack([gray, gray, gray])
    w = preset("box_blur").filter(3)
    out = sum(_correlate(rgb[c], w[c]) for c in range(3))
    np.testing.assert_allclose(out, _correlate(gray, preset("box_blur").kernel), rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("key", MIXERS)
def test_mixer_filter_shape(key):
    w = KERNEL_PRESETS[key].filter(3)
    assert w.shape == (3, 1, 1) and w.dtype == np.float32


def test_luminance_mixer_on_rgb_pixel():
    w = preset("rgb_to_luma").filter(3)
    np.testing.assert_allclose(w.ravel(), [0.299, 0.587, 0.114], rtol=1e-6)
    pixel = np.array([200.0, 100.0, 50.0], np.float32)  # R, G, B
    luma = float((w[:, 0, 0] * pixel).sum())
    assert luma == pytest.approx(0.299 * 200 + 0.587 * 100 + 0.114 * 50, rel=1e-6)
    # same as OpenCV's RGB -> gray on that pixel (rounded to uint8)
    px = np.array([[[200, 100, 50]]], np.uint8)
    assert round(luma) == int(cv2.cvtColor(px, cv2.COLOR_RGB2GRAY)[0, 0])


def test_opponent_mixers():
    gray_pixel = np.array([80.0, 80.0, 80.0])
    for key in ("red_minus_green", "blue_minus_yellow"):
        w = preset(key).filter(3)[:, 0, 0]
        assert float(w @ gray_pixel) == pytest.approx(0.0)
    assert float(preset("red_minus_green").filter(3)[:, 0, 0] @ [255, 0, 0]) > 0
    assert float(preset("red_minus_green").filter(3)[:, 0, 0] @ [0, 255, 0]) < 0
    np.testing.assert_array_equal(preset("red_only").filter(3).ravel(), [1, 0, 0])


@pytest.mark.parametrize("key", MIXERS)
@pytest.mark.parametrize("channels", [1, 2, 4])
def test_mixer_on_non_rgb_raises(key, channels):
    with pytest.raises(ValueError, match="switch the source to RGB"):
        KERNEL_PRESETS[key].filter(channels)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_filter_bad_channels(bad):
    with pytest.raises(ValueError):
        preset("identity").filter(bad)


def test_preset_validation():
    with pytest.raises(ValueError):
        KernelPreset("x", "X", "two\nlines", np.eye(3))
    with pytest.raises(ValueError):
        KernelPreset("x", "X", "not square", np.ones((3, 2)))
    with pytest.raises(ValueError):
        KernelPreset("x", "X", "mixer without weights", np.ones((3, 1, 1)), mixes_channels=True)
    assert preset("sobel_x") == preset("sobel_x")


# --------------------------------------------------------------------------- normalise


def test_normalize_positive_sum():
    k = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32)
    before = k.copy()
    out = normalize_kernel(k)
    np.testing.assert_array_equal(k, before)  # input untouched
    assert out is not k and out.dtype == np.float32
    assert float(out.sum()) == pytest.approx(1.0)
    np.testing.assert_allclose(out, preset("gaussian_3").kernel, atol=1e-7)


def test_normalize_negative_sum_flips_to_one():
    out = normalize_kernel(-np.ones((3, 3)))
    assert float(out.sum()) == pytest.approx(1.0)
    np.testing.assert_allclose(out, np.full((3, 3), 1 / 9), atol=1e-7)


def test_normalize_zero_sum_uses_l1():
    k = preset("sobel_x").kernel
    out = normalize_kernel(k)
    assert float(np.abs(out).sum()) == pytest.approx(1.0)
    np.testing.assert_allclose(out, k / 8, atol=1e-7)  # same shape, L1 norm 1


def test_normalize_all_zero_and_filters():
    out = normalize_kernel(np.zeros((5, 5)))
    assert out.dtype == np.float32 and not out.any()
    f = normalize_kernel(np.ones((3, 2, 2)))
    assert f.shape == (3, 2, 2) and float(f.sum()) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        normalize_kernel([[np.nan]])


# --------------------------------------------------------------------------- random


def test_random_kernel_seeded_and_scaled():
    a = random_kernel((3, 3), seed=42)
    b = random_kernel((3, 3), seed=42)
    c = random_kernel((3, 3), seed=43)
    assert a.dtype == np.float32 and a.shape == (3, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(random_kernel(3, seed=42), a)
    expected = np.random.default_rng(42).standard_normal((3, 3)) / 3.0
    np.testing.assert_allclose(a, expected, rtol=1e-6)


def test_random_kernel_fan_in():
    big = random_kernel((64, 8, 5, 5), seed=0)  # fan_in = 8*5*5 = 200
    assert big.shape == (64, 8, 5, 5)
    assert big.std() == pytest.approx(1 / np.sqrt(200), rel=0.05)
    filt = random_kernel((16, 11, 11), seed=1)  # fan_in = 16*121
    assert filt.std() == pytest.approx(1 / np.sqrt(16 * 121), rel=0.05)


@pytest.mark.parametrize("bad", [0, (3, 0), (), (2.5, 2), "x"])
def test_random_kernel_bad_shape(bad):
    with pytest.raises(ValueError):
        random_kernel(bad)


# --------------------------------------------------------------------------- resize


def _marked(f: int) -> np.ndarray:
    k = np.zeros((f, f), np.float32)
    k[f // 2, f // 2] = 1.0
    return k


@pytest.mark.parametrize("old", range(1, 12))
@pytest.mark.parametrize("new", range(1, 12))
def test_resize_keeps_the_centre(old, new):
    k = _marked(old)
    before = k.copy()
    out = resize_kernel(k, new)
    np.testing.assert_array_equal(k, before)
    assert out.shape == (new, new) and out.dtype == np.float32
    np.testing.assert_array_equal(out, _marked(new))


@pytest.mark.parametrize("old,new", [(3, 4), (3, 5), (4, 5), (4, 7), (1, 11), (2, 3)])
def test_resize_grow_then_shrink_round_trips(old, new):
    k = random_kernel(old, seed=old * 100 + new)
    grown = resize_kernel(k, new)
    assert float(np.abs(grown).sum()) == pytest.approx(float(np.abs(k).sum()), rel=1e-6)
    np.testing.assert_array_equal(resize_kernel(grown, old), k)


def test_resize_specific_layouts():
    k = np.arange(1, 10, dtype=np.float32).reshape(3, 3)
    four = resize_kernel(k, 4)  # odd -> even: one zero row/col before, none after
    np.testing.assert_array_equal(four[1:, 1:], k)
    assert not four[0].any() and not four[:, 0].any()
    five = resize_kernel(k, 5)
    np.testing.assert_array_equal(five[1:4, 1:4], k)
    assert float(five.sum()) == float(k.sum())
    np.testing.assert_array_equal(resize_kernel(k, 1), [[5]])
    even = np.arange(16, dtype=np.float32).reshape(4, 4)
    np.testing.assert_array_equal(resize_kernel(even, 3), even[1:, 1:])  # even -> odd
    np.testing.assert_array_equal(resize_kernel(even, 2), even[1:3, 1:3])
    np.testing.assert_array_equal(resize_kernel(even, 5)[:4, :4], even)


def test_resize_identity_still_identity_on_image():
    img = _rng_image()
    for size in (1, 5, 7, 11):
        out = resize_kernel(preset("identity").kernel, size)
        np.testing.assert_array_equal(_correlate(img, out), img)


def test_resize_multichannel():
    k = random_kernel((3, 3, 3), seed=5)
    out = resize_kernel(k, 6)
    assert out.shape == (3, 6, 6)
    np.testing.assert_array_equal(out[:, 2:5, 2:5], k)
    np.testing.assert_array_equal(resize_kernel(out, 3), k)


@pytest.mark.parametrize("bad", [0, 12, -3, 2.0, True])
def test_resize_bad_size(bad):
    with pytest.raises(ValueError):
        resize_kernel(np.ones((3, 3)), bad)


def test_resize_bad_kernel():
    with pytest.raises(ValueError):
        resize_kernel(np.ones((3, 2)), 3)
    with pytest.raises(ValueError):
        resize_kernel(np.ones(3), 3)


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize("key", SPATIAL)
def test_text_round_trip_presets(key):
    k = KERNEL_PRESETS[key].kernel
    text = kernel_to_text(k)
    assert len(text.splitlines()) == k.shape[0]
    back = kernel_from_text(text)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, k)


def test_text_round_trip_random_and_extremes():
    k = random_kernel(7, seed=3)
    np.testing.assert_array_equal(kernel_from_text(kernel_to_text(k)), k)
    odd = np.array([[1e-9, -3e8], [-0.0, 123456.78]], np.float32)
    back = kernel_from_text(kernel_to_text(odd))
    np.testing.assert_array_equal(back, odd)
    assert "-0" not in kernel_to_text(np.array([[-0.0]]))


def test_text_format_is_readable():
    assert kernel_to_text(preset("sobel_x").kernel) == "-1   0   1\n-2   0   2\n-1   0   1"
    assert kernel_to_text([[0.5]]) == "0.5"


def test_from_text_separators_fractions_comments():
    text = """
    # a Gaussian written by hand
    1/16, 2/16, 1/16
    2/16; 4/16  2/16   # middle row

    [1/16  2/16  1/16]
    """
    np.testing.assert_allclose(kernel_from_text(text), preset("gaussian_3").kernel, atol=1e-7)
    np.testing.assert_array_equal(kernel_from_text("-1e0 \u22122\n+3 4.5"), [[-1, -2], [3, 4.5]])
    np.testing.assert_array_equal(kernel_from_text("[[1., 0.],\n [0., 1.]]"), np.eye(2))


@pytest.mark.parametrize("text,line,token", [
    ("1 2 3\n4 x 6\n7 8 9", 2, "x"),
    ("1 2\n\n3 1/0", 3, "1/0"),
    ("1 2 3\n4 5 6\n7 8 nan", 3, "nan"),
    ("1/2/3", 1, "1/2/3"),
    ("# c\n1 2 abc", 2, "abc"),
])
def test_from_text_bad_token(text, line, token):
    with pytest.raises(ValueError) as info:
        kernel_from_text(text)
    msg = str(info.value)
    assert f"line {line}" in msg and repr(token) in msg


def test_from_text_ragged_names_line():
    with pytest.raises(ValueError, match="line 3"):
        kernel_from_text("1 2 3\n4 5 6\n7 8")


@pytest.mark.parametrize("text", ["1 2 3\n4 5 6", "1 2", "1\n2"])
def test_from_text_non_square(text):
    with pytest.raises(ValueError, match="square"):
        kernel_from_text(text)


def test_from_text_empty_and_too_big():
    with pytest.raises(ValueError, match="no numbers"):
        kernel_from_text("  \n# only a comment\n")
    big = "\n".join(" ".join("0" for _ in range(12)) for _ in range(12))
    with pytest.raises(ValueError, match="11"):
        kernel_from_text(big)
    assert kernel_from_text(big, max_size=None).shape == (12, 12)
    with pytest.raises(ValueError):
        kernel_from_text(None)
