"""The built-in RGB set: shapes in two colours at 3x32x32, which the RGB presets learn out of the box."""

from __future__ import annotations

import time

import numpy as np

from convlab.core.data import COLOUR_SHAPE_CLASSES, synthetic_colour_shapes
from convlab.core.data.catalog import DATASETS, SYNTHETIC_KINDS, load_dataset
from convlab.core.model import Sequential
from convlab.core.presets import model_preset
from convlab.core.settings import TrainSettings
from convlab.core.training import EpochResult, Trainer, check_model_fits


def test_shape_classes_and_determinism():
    a = synthetic_colour_shapes(200, seed=3)
    b = synthetic_colour_shapes(200, seed=3)
    assert a.x.shape == (200, 3, 32, 32) and a.x.dtype == np.float32
    assert 0.0 <= a.x.min() and a.x.max() <= 1.0
    assert len(COLOUR_SHAPE_CLASSES) == 10 and a.classes == COLOUR_SHAPE_CLASSES
    assert set(a.class_counts().values()) == {20}
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.x, synthetic_colour_shapes(200, seed=4).x)


def test_colour_tells_red_from_blue():
    d = synthetic_colour_shapes(400, seed=0)
    bright = d.x.max(axis=(2, 3))  # the shape is the brightest thing in every image
    red = np.array(["red" in c for c in d.classes])[d.y]
    assert (bright[red, 0] > bright[red, 2]).mean() > 0.95
    assert (bright[~red, 2] > bright[~red, 0]).mean() > 0.95


def test_several_thousand_are_quick_to_make():
    t = time.perf_counter()
    synthetic_colour_shapes(3000, seed=1)
    assert time.perf_counter() - t < 10  # about a second on a laptop; generous for a busy CI machine


def test_it_is_a_built_in_kind():
    assert "colour_shapes" in SYNTHETIC_KINDS and "RGB" in DATASETS["colour_shapes"]
    d = load_dataset(TrainSettings(dataset="colour_shapes", samples=100, seed=0), (3, 32, 32)).dataset
    assert d.input_shape == (3, 32, 32)


def test_the_small_vgg_preset_learns_it_well_above_chance():
    data = synthetic_colour_shapes(1500, seed=2)
    train, val = data.split(0.2, seed=0)
    model = Sequential.from_spec(model_preset("small_vgg_rgb"), seed=0)
    check_model_fits(model, train)  # 3x32x32 in, 10 classes out: no edits needed
    last = None
    for r in Trainer(model, train, val, epochs=1, batch_size=32, optimizer="adam", lr=0.002, seed=0).run():
        if isinstance(r, EpochResult):
            last = r
    assert last is not None and last.val_accuracy > 0.25, last  # chance is 0.10
