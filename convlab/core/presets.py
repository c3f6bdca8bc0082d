"""Preset model specs, stored as JSON under resources/models/ (name, description, spec).

The files ship as package data (:mod:`convlab.package_data`), so an installed ConvLab has them too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from convlab.package_data import resource_bytes, resource_names


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
