"""Preset model specs, stored as JSON under resources/models/ (name, description, spec), and the
built-in dataset each one trains on out of the box.

    fitting_datasets((1, 28, 28), 10)   # ["digits", "shapes"]: digits has 10 classes, shapes 6
    fitting_datasets((3, 32, 32), 10)   # ["colour_shapes"]: the built-in RGB set

The files ship as package data (:mod:`convlab.package_data`), so an installed ConvLab has them too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from convlab.package_data import resource_bytes, resource_names

from .data.colour_shapes import COLOUR_SHAPE_CLASSES
from .data.digits import DIGIT_CLASSES
from .data.shapes import SHAPE_CLASSES


@dataclass(frozen=True)
class ModelPreset:
    key: str
    name: str
    description: str
    spec: dict
    compare: str | None = None  # a preset worth seeing side by side with this one


def model_presets() -> dict[str, ModelPreset]:
    """Every preset in resources/models, in their intended order."""
    found = []
    for name in resource_names("models", ".json"):
        data = json.loads(resource_bytes("models", name).decode("utf-8"))
        key = name[: -len(".json")]
        found.append((data.get("order", 99),
                      ModelPreset(key, data["name"], data["description"], data["spec"], data.get("compare"))))
    return {p.key: p for _, p in sorted(found, key=lambda t: (t[0], t[1].key))}


def model_preset(key: str) -> dict:
    """A fresh copy of one preset's spec."""
    presets = model_presets()
    if key not in presets:
        raise ValueError(f"no model preset {key!r} (known: {', '.join(presets)})")
    return json.loads(json.dumps(presets[key].spec))


LENET5 = model_preset("lenet5")


# --------------------------------------------------------------------------- which built-in data fits a model


@dataclass(frozen=True)
class BuiltInData:
    """A dataset that is generated, not read: its sample shape and classes are known without building it."""

    shape: tuple[int, int, int]  # (C, H, W) of every sample
    classes: int


#: the generated datasets, in the order they are preferred; a new built-in kind is one line here
BUILT_IN_DATA: dict[str, BuiltInData] = {
    "digits": BuiltInData((1, 28, 28), len(DIGIT_CLASSES)),
    "shapes": BuiltInData((1, 28, 28), len(SHAPE_CLASSES)),
    "colour_shapes": BuiltInData((3, 32, 32), len(COLOUR_SHAPE_CLASSES)),
}


def fitting_datasets(input_shape, classes: int | None = None) -> list[str]:
    """The built-in datasets whose samples are ``input_shape``: those with ``classes`` classes first,
    then the others of that shape (for them the last layer would need another number of units)."""
    shape = tuple(input_shape) if input_shape is not None else None
    same = [k for k, d in BUILT_IN_DATA.items() if d.shape == shape]
    return sorted(same, key=lambda k: BUILT_IN_DATA[k].classes != classes)


def data_fits(kind: str, input_shape, classes: int | None) -> bool | None:
    """Whether the built-in dataset ``kind`` has samples of ``input_shape`` and ``classes`` classes;
    None when ``kind`` is not a generated set (that is only known once it is loaded)."""
    d = BUILT_IN_DATA.get(kind)
    if d is None:
        return None
    return d.shape == (tuple(input_shape) if input_shape is not None else None) and d.classes == classes


def built_in_shapes_text() -> str:
    """The sample shapes of the built-in datasets, in words: "digits and shapes are 1x28x28"."""
    by_shape: dict[tuple[int, int, int], list[str]] = {}
    for k, d in BUILT_IN_DATA.items():
        by_shape.setdefault(d.shape, []).append(k)
    parts = []
    for shape, kinds in by_shape.items():
        names = " and ".join(kinds)
        parts.append(f"{names} {'are' if len(kinds) > 1 else 'is'} {'x'.join(map(str, shape))}")
    return "; ".join(parts)


#: the kinds of layer the layer panel offers: a label and the settings a new layer starts with
LAYER_KINDS = {
    "conv2d": ("Convolution", {"type": "conv2d", "filters": 8, "kernel": 3, "padding": 1}),
    "conv1x1": ("1x1 convolution", {"type": "conv2d", "filters": 8, "kernel": 1}),
    "dilated": ("Dilated convolution", {"type": "conv2d", "filters": 8, "kernel": 3, "padding": 2, "dilation": 2}),
    "maxpool2d": ("Max pooling", {"type": "maxpool2d", "kernel": 2}),
    "avgpool2d": ("Average pooling", {"type": "avgpool2d", "kernel": 2}),
    "relu": ("ReLU", {"type": "relu"}),
    "leaky_relu": ("Leaky ReLU", {"type": "leaky_relu", "slope": 0.01}),
    "tanh": ("Tanh", {"type": "tanh"}),
    "sigmoid": ("Sigmoid", {"type": "sigmoid"}),
    "flatten": ("Flatten", {"type": "flatten"}),
    "linear": ("Fully connected (linear)", {"type": "linear", "units": 10}),
    "dropout": ("Dropout", {"type": "dropout", "rate": 0.5}),
    "softmax": ("Softmax", {"type": "softmax"}),
}
