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
