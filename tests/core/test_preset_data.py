"""Every model preset has built-in data it trains on out of the box (convlab.core.presets)."""

import pytest

from convlab.core.data import synthetic_colour_shapes, synthetic_digits, synthetic_shapes
from convlab.core.model import design_model
from convlab.core.presets import BUILT_IN_DATA, data_fits, fitting_datasets, model_presets


def test_the_table_says_what_the_generators_make():
    made = {"digits": synthetic_digits(20, seed=0), "shapes": synthetic_shapes(12, seed=0),
            "colour_shapes": synthetic_colour_shapes(20, seed=0)}
    assert set(made) == set(BUILT_IN_DATA)
    for kind, ds in made.items():
        assert BUILT_IN_DATA[kind].shape == ds.x.shape[1:] and BUILT_IN_DATA[kind].classes == len(ds.classes)


@pytest.mark.parametrize("key", list(model_presets()))
def test_each_preset_has_a_built_in_dataset_with_its_shape_and_classes(key):
    _, model = design_model(model_presets()[key].spec, seed=0)
    shape, (classes,) = model.input_shape, model.output_shape
    found = fitting_datasets(shape, classes)
    assert found and data_fits(found[0], shape, classes)


def test_a_shape_that_fits_comes_before_a_class_count_that_does_not():
    assert fitting_datasets((1, 28, 28), 6) == ["shapes", "digits"]
    assert fitting_datasets((1, 28, 28), 10)[0] == "digits"
    assert fitting_datasets((3, 32, 32), 10) == ["colour_shapes"] and fitting_datasets((3, 64, 64), 10) == []
    assert data_fits("shapes", (1, 28, 28), 10) is False and data_fits("mnist", (1, 28, 28), 10) is None
