"""Small control factories and widget helpers shared by the panels."""

from __future__ import annotations

from PySide6.QtWidgets import QSpinBox, QWidget


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


def out_of_sight(widget: QWidget) -> bool:
    """The widget's window is on screen but no pixel of the widget is: a dock tabbed behind
    another one (Qt keeps such a dock "visible", with an empty visible region) or a hidden tab.
    Views skip redrawing then and catch up when they come into sight.  A widget whose window is
    not shown at all (tests, a window being built) is never out of sight: it draws as usual."""
    return widget.window().isVisible() and widget.visibleRegion().isEmpty()
