"""What the network predicts for one input, in words: one rule for every panel that says it.

    p = prediction(probabilities, dataset.classes)   # None without finite class scores
    p.text()    # "7 (93%)"
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Prediction", "prediction", "class_names"]


def class_names(count: int, classes=None) -> list[str]:
    """The names of ``count`` classes: the dataset's when it has that many, else "0", "1", ..."""
    if classes is not None and len(classes) == count:
        return [str(c) for c in classes]
    return [str(i) for i in range(count)]


@dataclass(frozen=True)
class Prediction:
    index: int
    name: str
    probability: float
    names: list[str]  # every class's name, in order

    def text(self) -> str:
        return f"{self.name} ({100 * self.probability:.0f}%)"


def prediction(probabilities, classes=None) -> Prediction | None:
    """The most probable class (None when there are no scores or they are not all finite)."""
    if probabilities is None:
        return None
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    if p.size == 0 or not np.all(np.isfinite(p)):
        return None
    names = class_names(p.size, classes)
    k = int(np.argmax(p))
    return Prediction(k, names[k], float(p[k]), names)
