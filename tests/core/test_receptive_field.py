"""Receptive fields against values computed by hand."""

import numpy as np
import pytest

from convlab.core.model import Sequential
from convlab.core.presets import LENET5
from convlab.core.receptive_field import effective_receptive_field, receptive_fields, unit_box, unit_footprints


def conv(k, s=1, p=0, d=1, f=1):
    return {"type": "conv2d", "filters": f, "kernel": k, "stride": s, "padding": p, "dilation": d}


def spec(*layers, size=32):
    return {"input": [1, size, size], "layers": list(layers)}


def test_two_3x3_equal_one_5x5():
    assert receptive_fields(spec(conv(3), conv(3)))[-1].size == 5
    assert receptive_fields(spec(conv(5)))[-1].size == 5


def test_three_3x3_equal_7():
    assert receptive_fields(spec(conv(3), conv(3), conv(3)))[-1].size == 7


def test_dilated_3x3_sees_5():
    rf = receptive_fields(spec(conv(3, d=2)))[-1]
    assert (rf.size, rf.jump, rf.padding) == (5, 1, 0)


def test_lenet5_is_16_with_jump_4():
    rfs = receptive_fields(LENET5)
    # conv5 p2 -> 5; pool2 -> 6, jump 2; conv5 -> 6+4*2 = 14; pool2 -> 14+1*2 = 16, jump 4
    assert [(r.size, r.jump) for r in rfs[:6]] == [(5, 1), (5, 1), (6, 2), (14, 2), (14, 2), (16, 4)]
    assert rfs[5].padding == 2
    assert rfs[6].is_global and rfs[-1].is_global


def test_stride_and_padding_recurrence():
    rfs = receptive_fields(spec(conv(3, s=2, p=1), conv(3, s=2, p=1), {"type": "maxpool2d", "kernel": 2}))
    assert [(r.size, r.jump, r.padding) for r in rfs] == [(3, 2, 1), (7, 4, 3), (11, 8, 3)]


def test_rectangular_geometry_is_a_pair():
    rf = receptive_fields(spec(conv([3, 5]), conv(3, s=[1, 2])))[-1]
    assert rf.size == (5, 7) and rf.jump == (1, 2)


def test_dilated_stack_preset_reaches_15():
    from convlab.core.presets import model_preset
    rfs = receptive_fields(model_preset("dilated_stack"))
    assert rfs[4].size == 15


def test_unit_box_and_padding_flag():
    s = spec(conv(3, p=1), conv(3, p=1), size=8)
    box = unit_box(s, 1, 0, 0)
    assert (box.top, box.left, box.bottom, box.right) == (-2, -2, 3, 3)
    assert box.reaches_padding and box.clipped == (0, 0, 3, 3)
    inner = unit_box(s, 1, 4, 5)
    assert (inner.top, inner.left, inner.height, inner.width) == (2, 3, 5, 5) and not inner.reaches_padding


def test_lenet_unit_box():
    box = unit_box(LENET5, 5, 1, 2)  # pool2 unit (1, 2): start 1*4-2 = 2, 2*4-2 = 6, size 16
    assert (box.top, box.left, box.bottom, box.right) == (2, 6, 18, 22)


def test_unit_box_rejects_units_outside():
    with pytest.raises(ValueError, match="outside its 6x6 output"):
        unit_box(spec(conv(3), size=8), 0, 6, 0)
    with pytest.raises(ValueError, match="no layer 4"):
        unit_box(spec(conv(3), size=8), 4)


def test_footprints_nest_down_to_the_input():
    boxes = unit_footprints(LENET5, 5, 1, 2)
    assert boxes[0] == (1, 2, 2, 3)
    assert boxes[1] == (2, 4, 4, 6)  # the 2x2 pool window in conv3's 10x10 output (after tanh: same)
    assert boxes[3] == (2, 4, 8, 10)  # through the 5x5 conv into the 14x14 pool output
    assert boxes[-1] == (2, 6, 18, 22)  # the input box, as unit_box


def test_effective_rf_is_zero_outside_the_analytic_box():
    s = spec(conv(3, p=1, f=2), {"type": "relu"}, conv(3, p=1, d=2, f=2), size=12)
    m = Sequential.from_spec(s, seed=0, dtype=np.float64)
    x = np.random.default_rng(0).random((1, 12, 12)) + 0.5
    g = effective_receptive_field(m, x, 2, 1, 6, 6)
    box = unit_box(s, 2, 6, 6)
    mask = np.zeros((12, 12), bool)
    t, l, b, r = box.clipped
    mask[t:b, l:r] = True
    assert np.abs(g[0][~mask]).max() == 0
    assert np.abs(g[0][mask]).max() > 0
    # dilation: the dilated kernel of the second layer skips pixels, so the field has holes
    assert box.height == 7


def test_effective_rf_of_a_single_linear_conv_is_the_kernel():
    s = spec(conv(3, p=1), size=6)
    m = Sequential.from_spec(s, seed=0, dtype=np.float64)
    g = effective_receptive_field(m, np.zeros((1, 6, 6)), 0, 0, 2, 2)
    np.testing.assert_allclose(g[0, 1:4, 1:4], m.parameters()["0.weight"][0, 0])


def test_block_on_input_by_hand():
    from convlab.core.receptive_field import block_on_input

    rfs = receptive_fields(LENET5)
    # pool1 (layer 2): size 6, jump 2, padding 2 -> units 2..3 cover input rows 2*2-2=2 .. 3*2-2+6 = 10 (excl.)
    assert block_on_input(rfs[2], (2, 4, 4, 6)) == (2, 6, 10, 14)
    assert block_on_input(rfs[5], (1, 2, 2, 3)) == (2, 6, 18, 22)  # one unit: its own field


def test_activation_stats_and_dead_units():
    from convlab.core.activations import activation_stats, follows_rectifier

    a = np.array([[[0.0, 2.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    s = activation_stats(a, "relu")
    assert (s["min"], s["max"], s["mean"], s["dead"], s["dead_channels"]) == (0.0, 2.0, 0.25, 0.875, 1)
    assert activation_stats(a, "conv2d")["dead"] is None
    assert follows_rectifier(["conv2d", "relu", "maxpool2d", "flatten"], 3)
    assert not follows_rectifier(["conv2d", "tanh", "maxpool2d"], 2)
