"""AscentSettingsForm: the settings of activation maximisation as spin boxes, two to a row.

Ranges and defaults come from ``convlab.core.visualize.AscentSettings`` (read with
``convlab.core.settings.limits`` / ``default``); ``settings()`` gives the AscentSettings the boxes show.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox, QGridLayout, QLabel, QPushButton, QWidget

from convlab.core.settings import default, limits
from convlab.core.visualize import AscentSettings

from .controls import spin_box

TIPS = {
    "steps": "How many steps of gradient ascent to take",
    "step_size": "How far each step moves the picture, as a share of the input range (the gradient is scaled "
                 "to a root-mean-square of 1 first, so one step size suits fresh and trained models)",
    "decay": "L2 decay: each step takes this share of every pixel's distance to the middle gray away, so "
             "pixels the unit does not care about fade to gray instead of staying noisy",
    "blur_every": "Blur the picture every this many steps (0: never); the finest noise, which excites a unit "
                  "without looking like anything, is smoothed away",
    "blur_sigma": "The blur's width (Gaussian sigma, pixels)",
    "jitter": "Shift the picture by a random amount up to this many pixels before each step, so it must work "
              "wherever it sits; never more than an eighth of the unit's receptive field",
    "seed": "The seed of the starting noise and the jitter: the same seed paints the same picture",
}
LABELS = {"steps": "steps", "step_size": "step size", "decay": "L2 decay", "blur_every": "blur every",
          "blur_sigma": "blur sigma", "jitter": "jitter (px)", "seed": "seed"}
FLOAT_STEPS = {"step_size": (3, 0.005), "decay": (3, 0.005), "blur_sigma": (2, 0.1)}  # decimals, single step


def _box(name: str) -> QWidget:
    r = limits(AscentSettings, name)
    if name not in FLOAT_STEPS:
        return spin_box(int(r.lo), int(r.hi), int(default(AscentSettings, name)), TIPS[name],
                        step=50 if name == "steps" else 1)
    w = QDoubleSpinBox()
    w.setDecimals(FLOAT_STEPS[name][0])
    w.setRange(r.lo, r.hi)
    w.setSingleStep(FLOAT_STEPS[name][1])
    w.setValue(default(AscentSettings, name))
    w.setKeyboardTracking(False)
    w.setToolTip(TIPS[name])
    return w


class AscentSettingsForm(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.widgets: dict[str, QWidget] = {}
        for i, name in enumerate(TIPS):
            label = QLabel(LABELS[name])
            label.setToolTip(TIPS[name])
            self.widgets[name] = w = _box(name)
            grid.addWidget(label, i // 2, 2 * (i % 2))
            grid.addWidget(w, i // 2, 2 * (i % 2) + 1)
        self.defaults_button = QPushButton("Defaults")
        self.defaults_button.setToolTip("Put every setting of the ascent back to its default")
        self.defaults_button.clicked.connect(self.reset)
        n = len(TIPS)
        grid.addWidget(self.defaults_button, n // 2, 2 * (n % 2), 1, 2)

    def settings(self) -> AscentSettings:
        return AscentSettings(**{name: (int(w.value()) if isinstance(default(AscentSettings, name), int)
                                        else float(w.value())) for name, w in self.widgets.items()})

    def reset(self) -> None:
        for name, w in self.widgets.items():
            w.setValue(default(AscentSettings, name))
