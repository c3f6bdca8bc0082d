"""Small control factories shared by the panels."""

from __future__ import annotations

from PySide6.QtWidgets import QSpinBox


def spin_box(lo: int, hi: int, value: int | None = None, tip: str = "", *, step: int = 1, suffix: str = "",
             tracking: bool = False) -> QSpinBox:
    """A QSpinBox with its range, value, tooltip and step; without keyboard tracking it reports a
    typed number once, when Enter is pressed or the focus leaves, not at every key."""
    s = QSpinBox()
    s.setRange(lo, hi)
    if value is not None:
        s.setValue(value)
    s.setSingleStep(step)
    s.setSuffix(suffix)
    s.setToolTip(tip)
    s.setKeyboardTracking(tracking)
    return s
