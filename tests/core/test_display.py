"""Values as pictures (convlab.core.display) and activation statistics (convlab.core.activations)."""

from __future__ import annotations

import numpy as np
import pytest

from convlab.core.activations import activation_stats, follows_rectifier
from convlab.core.display import display_levels, weight_mosaic

# a diverging table like the GUI's: blue - white - red
TABLE = np.zeros((256, 3), np.uint8)
TABLE[:, 0] = np.r_[np.linspace(33, 255, 128), np.linspace(255, 178, 128)]
TABLE[:, 1] = np.r_[np.linspace(102, 255, 128), np.linspace(255, 24, 128)]
TABLE[:, 2] = np.r_[np.linspace(172, 255, 128), np.linspace(255, 43, 128)]


def test_activation_stats_and_rectifier_chain():
    a = np.array([[[-1.0, 0.0], [2.0, 3.0]], [[0.0, 0.0], [0.0, 0.0]]], np.float32)
    s = activation_stats(a, "relu")
    assert (s["min"], s["max"], s["mean"]) == (-1.0, 3.0, 0.5)
    assert s["dead"] == pytest.approx(5 / 8) and s["dead_channels"] == 1
    assert activation_stats(a, "tanh")["dead"] is None
    assert activation_stats(a, "maxpool2d", after_rectifier=True)["dead"] == pytest.approx(5 / 8)
    s = activation_stats(np.array([1.0, np.nan, 3.0]), "linear")
    assert s["nonfinite"] == 1 and s["mean"] == 2.0
    types = ["conv2d", "relu", "maxpool2d", "conv2d", "leaky_relu", "flatten", "linear"]
    assert [follows_rectifier(types, i) for i in range(len(types))] == [
        False, True, True, False, True, True, False]


def test_weight_mosaic_layout_and_colours():
    w = np.zeros((2, 3, 2, 2))
    w[1, 2, 0, 1] = 1.0
    w[0, 0, 1, 0] = -1.0
    m = weight_mosaic(w, 1.0, TABLE)  # one column per filter, one row per channel
    assert m.shape == (3 * 3 - 1, 2 * 3 - 1, 3) and m.dtype == np.uint8
    assert tuple(m[2, 2]) == (200, 200, 200)  # a gap between tiles
    red, blue = m[6 + 0, 3 + 1], m[1, 0]
    assert red[0] > red[2] and blue[2] > blue[0]
    assert tuple(m[0, 0]) == tuple(TABLE[128])  # zero is the middle of the diverging map
    assert weight_mosaic(np.zeros((4, 20, 3, 3)), 1.0, TABLE, max_channels=8).shape[0] == 8 * 4 - 1


def test_display_levels():
    assert display_levels(np.array([-1.0, 3.0])) == ((-3.0, 3.0), True)
    assert display_levels(np.array([1.0, 3.0])) == ((0.0, 3.0), False)
    assert display_levels(np.array([1.0, 3.0]), from_zero=False) == ((1.0, 3.0), False)
    assert display_levels(np.array([2.0, 2.0]), from_zero=False) == ((2.0, 3.0), False)
    assert display_levels(np.zeros(4)) == ((0.0, 1.0), False)
    assert display_levels(np.array([np.nan, np.inf])) == ((0.0, 1.0), False)
    assert display_levels(np.zeros((0, 3))) == ((0.0, 1.0), False)
    assert display_levels(np.array([np.nan, -2.0, 1.0])) == ((-2.0, 2.0), True)
