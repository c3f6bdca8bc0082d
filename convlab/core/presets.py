"""Preset model specs, stored as JSON under resources/models/ (name, description, spec)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


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
    for path in (RESOURCES / "models").glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        found.append((data.get("order", 99),
                      ModelPreset(path.stem, data["name"], data["description"], data["spec"], data.get("compare"))))
    return {p.key: p for _, p in sorted(found, key=lambda t: (t[0], t[1].key))}


def model_preset(key: str) -> dict:
    """A fresh copy of one preset's spec."""
    presets = model_presets()
    if key not in presets:
        raise ValueError(f"no model preset {key!r} (known: {', '.join(presets)})")
    return json.loads(json.dumps(presets[key].spec))


LENET5 = model_preset("lenet5")
