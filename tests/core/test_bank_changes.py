"""A filter bank at another kernel size or colour: names follow the numbers (issue 13.9)."""

import numpy as np
import pytest

from convlab.core import kernels
from convlab.core.bank_changes import convert_bank, resize_bank
from convlab.core.playground import FilterBank


def bank_of(keys, channels=1, size=None):
    ws = [kernels.preset(k).filter(channels) for k in keys]
    size = size or max(w.shape[-1] for w in ws)
    return FilterBank(np.stack([kernels.resize_kernel(w, size) for w in ws]), np.zeros(len(keys)), list(keys))


def test_padding_keeps_every_name_and_number():
    bank = bank_of(["sobel_x", "box_blur", "laplacian"])
    grown = resize_bank(bank, 5)
    assert grown.bank.names == ["sobel_x", "box_blur", "laplacian"] and grown.note == ""
    assert grown.bank.size == 5
    np.testing.assert_array_equal(grown.bank.weights[:, :, 1:4, 1:4], bank.weights)
    back = resize_bank(grown.bank, 3)  # cropping away only the zeros padded on: the same filters
    assert back.bank == bank and back.note == ""


def test_a_crop_that_cuts_weights_names_what_it_was():
    bank = bank_of(["sobel_x", "identity", "gaussian_5"])  # all 5x5
    change = resize_bank(bank, 3)
    assert change.bank.names == ["sobel_x", "identity", "custom (was Gaussian blur 5x5)"]
    assert change.note == "F = 3 cuts weights off filter 3 (Gaussian blur 5x5): now custom (Undo brings it back)"
    one = resize_bank(bank, 1)
    assert one.bank.names == ["custom (was Sobel x)", "identity", "custom (was Gaussian blur 5x5)"]
    assert one.note == ("F = 1 cuts weights off filters 1 (Sobel x) and 3 (Gaussian blur 5x5): now custom "
                        "(Undo brings them back)")
    np.testing.assert_array_equal(one.bank.weights[1], [[[1.0]]])  # the identity at 1x1 is still one


def test_custom_names_stay_and_other_names_say_what_they_were():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 1, 3, 3)).astype(np.float32)
    bank = FilterBank(w, np.zeros(4), ["custom", "learned", "custom (was Sobel x)", "learned"])
    assert resize_bank(bank, 5).bank.names == bank.names  # padding: all kept
    change = resize_bank(bank, 1)
    assert change.bank.names == ["custom", "custom (was learned)", "custom (was Sobel x)", "custom (was learned)"]
    assert "filters 2 (learned) and 4 (learned)" in change.note  # only names that changed are told


def test_a_mixer_in_gray_becomes_identity_and_says_so():
    bank = bank_of(["sobel_x", "red_minus_green", "rgb_to_luma"], channels=3)
    change = convert_bank(bank, 1)
    assert change.bank.names == ["sobel_x", "identity", "identity"] and change.bank.channels == 1
    assert change.note.startswith("Gray: filters 2 (Red minus green) and 3 (RGB -> luminance) mix the R, G and B")
    assert "Identity now" in change.note and "Undo" in change.note
    single = convert_bank(bank_of(["red_minus_green"], channels=3), 1)
    assert "filter 1 (Red minus green) mixes" in single.note and "it is Identity now" in single.note
    assert single.bank.size == 1  # a 1x1 mixer becomes the 1x1 identity: the kernel size stays
    np.testing.assert_array_equal(single.bank.weights, [[[[1.0]]]])


def test_colour_changes_keep_the_kernel_size():
    bank = resize_bank(bank_of(["sobel_x", "box_blur"]), 5).bank  # presets padded to 5x5
    rgb = convert_bank(bank, 3)
    assert rgb.bank.size == 5 and rgb.bank.names == ["sobel_x", "box_blur"] and rgb.note == ""
    np.testing.assert_allclose(rgb.bank.weights.sum(axis=1), bank.weights[:, 0])
    assert convert_bank(rgb.bank, 1).bank == bank
    assert convert_bank(bank, 1).bank is bank  # the same channels: the bank as it is


@pytest.mark.parametrize("name, label, short", [
    ("sobel_x", "Sobel x (vertical edges)", "Sobel x"),
    ("gaussian_5", "Gaussian blur 5x5", "Gaussian blur 5x5"),
    ("learned", "learned", "learned"),
])
def test_labels(name, label, short):
    assert kernels.filter_label(name) == label and kernels.short_label(name) == short


def test_names_and_help():
    assert kernels.cropped_name("sobel_y") == "custom (was Sobel y)"
    assert kernels.cropped_name("custom") == "custom"
    assert kernels.cropped_name("custom (was Sobel y)") == "custom (was Sobel y)"
    assert kernels.filter_help("sobel_x") == kernels.preset("sobel_x").explanation
    assert kernels.filter_help("custom (was Sobel x)").startswith("Made from Sobel x: a smaller kernel size cut off")
    assert kernels.filter_help("custom").startswith("Custom")
