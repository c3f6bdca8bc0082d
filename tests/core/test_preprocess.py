"""What the model sees of an image: crop, resize, gray/RGB, scale and invert."""

import numpy as np
import pytest

from convlab.core.preprocess import Preprocess, model_input


def test_gray_crop_resize_scale():
    img = np.zeros((40, 80), np.uint8)
    img[:, 20:60] = 255  # the centre square after cropping 80 -> 40 wide
    x = model_input(img, (1, 20, 20), Preprocess(invert="no"))
    assert x.shape == (1, 20, 20) and x.dtype == np.float32
    assert x.min() == 1.0  # the centre crop kept only the white middle
    uncropped = model_input(img, (1, 20, 20), Preprocess(crop=False, invert="no"))
    assert uncropped.min() == 0.0 and uncropped[0, :, 10].min() == 1.0


def test_auto_invert_makes_dark_on_bright_into_bright_on_dark():
    img = np.full((28, 28), 255, np.uint8)
    img[10:18, 10:18] = 0  # a dark mark on white paper
    x = model_input(img, (1, 28, 28))
    assert x[0, 14, 14] == 1.0 and x[0, 0, 0] == 0.0
    assert model_input(img, (1, 28, 28), Preprocess(invert="no"))[0, 0, 0] == 1.0


def test_rgb_channels_and_errors():
    img = np.zeros((10, 10, 3), np.uint8)
    img[..., 0] = 255
    x = model_input(img, (3, 5, 5), Preprocess(invert="no"))
    assert x.shape == (3, 5, 5) and x[0].min() == 1.0 and x[1].max() == 0.0
    with pytest.raises(ValueError, match="flat input"):
        model_input(img, (10,))
    with pytest.raises(ValueError, match="1 \\(gray\\) or 3 \\(RGB\\)"):
        model_input(img, (2, 5, 5))
