"""Learn a filter without Qt: the kernel mosaic, the learned filter for the lab, run preparation and
the best bias."""

from dataclasses import replace

import numpy as np
import pytest

from convlab.core import functional as F
from convlab.core.filter_learning import (
    GENERIC_IMAGE_NOTE,
    best_bias,
    kernel_mosaic,
    lab_filter,
    nonlinear_note,
    prepare_run,
    preset_keys,
    sample_photos,
    two_layer_kernel,
)
from convlab.core.kernels import preset
from convlab.core.settings import LearnSettings, SettingsError


@pytest.fixture
def image():
    return np.random.default_rng(0).integers(0, 256, (40, 48), dtype=np.uint8)


# --------------------------------------------------------------------------- mosaic and lab filter


def test_kernel_mosaic_puts_channels_side_by_side_and_filters_below_each_other():
    w = np.arange(2 * 3 * 3 * 3, dtype=np.float32).reshape(2, 3, 3, 3) + 1
    m = kernel_mosaic(w)
    assert m.shape == (7, 11) and m.dtype == np.float32
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(m[4 * i: 4 * i + 3, 4 * j: 4 * j + 3], w[i, j])
    assert (m[3, :] == 0).all() and (m[:, 3] == 0).all() and (m[:, 7] == 0).all()  # white gaps
    assert kernel_mosaic(np.ones((1, 1, 5, 5))).shape == (5, 5)
    with pytest.raises(ValueError, match="K x C x F x F"):
        kernel_mosaic(np.ones((3, 3)))


def test_lab_filter_scales_the_bias_and_follows_the_colour_mode():
    w = np.arange(9, dtype=np.float32).reshape(1, 3, 3)
    same, b = lab_filter(w, 0.1, 1)
    assert np.array_equal(same, w) and b == pytest.approx(25.5)
    rgb, _ = lab_filter(w, 0.0, 3)
    assert rgb.shape == (3, 3, 3) and np.allclose(rgb.sum(axis=0), w[0])
    back, _ = lab_filter(rgb, 0.0, 1)
    assert np.allclose(back, w)
    assert kernel_mosaic(np.ones((2, 3, 3, 3))).shape == (7, 11)
    with pytest.raises(ValueError, match="C x F x F"):
        lab_filter(np.ones((1, 1, 3, 3)), 0.0, 1)


def test_lab_filter_on_0_255_pixels_makes_255_times_the_learned_output():
    rng = np.random.default_rng(1)
    x = rng.random((1, 3, 12, 12))  # what learning saw: [0, 1]
    w, b = rng.normal(size=(3, 3, 3)), 0.3
    learned, _ = F.conv2d_forward(x, w[None], np.array([b]), 1, 1, 1)
    wl, bl = lab_filter(w, b, 3)
    lab, _ = F.conv2d_forward(255.0 * x, wl[None].astype(np.float64), np.array([bl]), 1, 1, 1)
    np.testing.assert_allclose(lab, 255.0 * learned, rtol=1e-5, atol=1e-3)


def test_lab_filter_for_the_other_colour_mode_answers_a_gray_picture_alike():
    rng = np.random.default_rng(2)
    gray = rng.random((1, 1, 10, 10))
    w = rng.normal(size=(1, 3, 3)).astype(np.float32)
    rgb_w, _ = lab_filter(w, 0.0, 3)
    one, _ = F.conv2d_forward(gray, w[None].astype(np.float64), None, 1, 1, 1)
    three, _ = F.conv2d_forward(np.repeat(gray, 3, axis=1), rgb_w[None].astype(np.float64), None, 1, 1, 1)
    np.testing.assert_allclose(three, one, atol=1e-6)


# --------------------------------------------------------------------------- best bias


def test_best_bias_is_the_least_squares_optimum_for_fixed_weights():
    rng = np.random.default_rng(3)
    x = rng.random((3, 2, 9, 11))
    w = rng.normal(size=(2, 2, 3, 3))
    t = rng.normal(size=(3, 2, 5, 6))  # stride 2, padding 1: (9 + 2 - 3)/2 + 1 = 5, (11 + 2 - 3)/2 + 1 = 6
    bias, out = best_bias(x, t, w, stride=2, padding=1)
    conv, _ = F.conv2d_forward(x, w, None, 2, 1, 1)
    for k in range(2):  # least squares of target - conv on a column of ones: the optimum of the bias
        residual = (t[:, k] - conv[:, k]).ravel()
        opt, *_ = np.linalg.lstsq(np.ones((residual.size, 1)), residual, rcond=None)
        assert bias[k] == pytest.approx(opt[0], abs=1e-12)
    np.testing.assert_allclose(out, conv + bias[None, :, None, None])

    def loss(b):
        return float(((conv + np.asarray(b)[None, :, None, None] - t) ** 2).mean())

    best = loss(bias)
    for d in (np.array([1e-3, 0]), np.array([0, -1e-3])):
        assert loss(bias + d) > best


def test_best_bias_names_a_shape_mismatch():
    x = np.zeros((1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"output of these weights is 1 x 1 x 8 x 8 but the targets are 1 x 1 x 6 x 6"):
        best_bias(x, np.zeros((1, 1, 6, 6)), np.zeros((1, 1, 3, 3)), padding=1)


# --------------------------------------------------------------------------- preparing a run


def test_a_hidden_preset_run(image):
    run = prepare_run(LearnSettings(), image, "gray")
    assert run.kind == "preset" and run.key == "sobel_x" and run.label == "a hidden preset kernel"
    assert run.inputs.shape == (1, 1, 40, 48) and 0 <= run.inputs.min() and run.inputs.max() <= 1
    assert run.targets.shape == (1, 1, 40, 48) and run.linear
    np.testing.assert_allclose(run.true[0, 0], preset("sobel_x").kernel)
    assert (run.kernel, run.stride, run.padding, run.dilation, run.steps, run.lr, run.optimizer) == (
        3, 1, 1, 1, 500, 0.05, "adam")


def test_a_bank_of_presets_rgb_and_the_sample_photos(image):
    s = LearnSettings(filters=2, extra_presets=("gaussian_5", "laplacian", "box_blur"), data="samples")
    assert preset_keys(s) == ["sobel_x", "gaussian_5"]
    rgb = np.repeat(image[..., None], 3, axis=2)
    photos = sample_photos()
    run = prepare_run(s, rgb, "rgb", photos=photos)
    assert run.inputs.shape == (1 + len(photos), 3, 40, 48) and run.targets.shape[1] == 2
    assert run.true.shape == (2, 3, 5, 5) and run.key == "sobel_x,gaussian_5"
    assert run.label == "2 hidden preset kernels"
    assert not photos[0].flags.writeable  # shared by every run


def test_linear_and_nonlinear_opencv_runs(image):
    run = prepare_run(LearnSettings(target_kind="opencv", target_key="gaussian_blur", kernel=5, padding=2), image,
                      "gray")
    assert run.true.shape == (1, 1, 5, 5) and run.linear and nonlinear_note(run) == ""
    run = prepare_run(LearnSettings(target_kind="opencv", target_key="canny"), image, "gray")
    assert run.true is None and not run.linear and "yes/no" in nonlinear_note(run)


def test_an_image_target_run(image):
    target = np.zeros((80, 48), np.uint8)
    s = LearnSettings(target_kind="image", target_key="/some/where/edge.png")
    run = prepare_run(s, image, "gray", target_image=target)
    assert run.key == "edge.png" and run.label == "the picture edge.png" and "resized" in run.note
    assert run.targets.shape == (1, 1, 40, 48) and nonlinear_note(run) == GENERIC_IMAGE_NOTE


def test_recent_frames_replace_the_image(image):
    frames = [np.roll(image, 3 * t, axis=1) for t in range(3)] + [np.zeros((10, 10), np.uint8)]
    run = prepare_run(LearnSettings(data="frames"), image, "gray", recent_frames=frames)
    assert run.inputs.shape[0] == 3  # the frame of another size is left out


@pytest.mark.parametrize("settings, kwargs, pattern", [
    (LearnSettings(), {"image": None}, "no image is loaded: open one in the playground first"),
    (LearnSettings(data="frames"), {"recent_frames": []}, "fewer than 2 recent frames of this size"),
    (LearnSettings(target_kind="image", target_key="x.png"), {}, r"no target image: load one with Browse\.\.\."),
    (LearnSettings(target_kind="image", target_key="x.png", data="samples"),
     {"target_image": np.zeros((4, 4), np.uint8), "photos": [np.zeros((40, 48), np.uint8)]},
     "a loaded target image belongs to the current image only"),
    (LearnSettings(padding=3), {}, "padding 1 fits"),
    (LearnSettings(kernel=11, padding=0), {"image": np.zeros((8, 8), np.uint8)},
     r"output height \(8 - 11 \+ 2\*0\)/1 \+ 1 = -2 is not positive"),
])
def test_what_keeps_a_run_from_starting_is_said(image, settings, kwargs, pattern):
    kwargs = {"image": image, **kwargs}
    with pytest.raises(ValueError, match=pattern):
        prepare_run(settings, kwargs.pop("image"), "gray", **kwargs)


@pytest.mark.parametrize("changes, pattern", [
    ({"target_key": "nonsense"}, r"learn.target_key must be a preset .*got 'nonsense'"),
    ({"extra_presets": ("sobel_y", "rgb_to_gray", "box_blur")}, r"learn.extra_presets\[1\] must be a preset"),
    ({"target_kind": "opencv", "target_key": "sobel_z"}, r"learn.target_key must be an OpenCV operation"),
    ({"target_kind": "opencv", "target_key": "canny", "filters": 2}, "learn.filters must be 1"),
])
def test_unknown_targets_are_settings_errors(image, changes, pattern):
    with pytest.raises(SettingsError, match=pattern):
        prepare_run(replace(LearnSettings(), **changes), image, "gray")


def test_two_layer_kernel_is_odd():
    assert [two_layer_kernel(k) for k in (1, 2, 3, 4, 10, 11)] == [1, 3, 3, 5, 11, 11]
