"""Small control factories and widget helpers shared by the panels."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QDockWidget, QLabel, QSizePolicy, QSpinBox, QWidget

from convlab.core.settings import default, limits


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


def setting_spin(group: type, name: str, tip: str = "", *, step: int = 1, suffix: str = "",
                 tracking: bool = False) -> QSpinBox:
    """A spin box for a whole-number setting, its range taken from convlab.core.settings (the one
    home of every limit, which sessions are checked against too)."""
    r = limits(group, name)
    return spin_box(int(r.lo), int(r.hi), int(default(group, name)), tip, step=step, suffix=suffix,
                    tracking=tracking)


def out_of_sight(widget: QWidget) -> bool:
    """The widget's window is on screen but the widget is not: in a dock tabbed behind another one
    (Qt keeps such a dock "visible", with an empty visible region), or not visible at all (a hidden
    tab page). Views skip redrawing then and catch up when they come into sight. A widget whose
    window is not shown at all (tests, a window being built) is never out of sight.

    The dock's own region is asked, not the widget's: a view made of opaque children (a graphics
    view's viewport, a panel filled by its parts) has an empty region of its own while on screen."""
    if not widget.window().isVisible():
        return False
    if not widget.isVisible():
        return True
    dock = widget
    while dock is not None and not isinstance(dock, QDockWidget):
        dock = dock.parentWidget()
    return dock is not None and dock.visibleRegion().isEmpty()


class DrawWhenShown(QObject):
    """Draw a view now, or, while it is out of sight, once when it comes back.

    Views bound to a state redraw on every change of it; 30 live frames a second redrawn in a
    hidden tab or a dock tabbed behind another are wasted. ``request()`` draws at once when the
    widget can be seen, and otherwise only marks it ``stale``; the widget's next Show event (a tab
    chosen, the widget shown) or, for a dock given to ``watch``, the dock being raised, draws it.
    Out of sight: not visible (a hidden tab, a widget not shown yet) or, in a window on screen,
    without a visible pixel (a dock tabbed behind another, see ``out_of_sight``).
    """

    def __init__(self, widget: QWidget, draw: Callable[[], None], *, stale: bool = False):
        super().__init__(widget)
        self.widget = widget
        self._draw = draw
        self.stale = stale  # True: never drawn yet, draw at the first Show
        widget.installEventFilter(self)

    def hidden(self) -> bool:
        return not self.widget.isVisible() or out_of_sight(self.widget)

    def request(self) -> bool:
        """Draw now (True), or mark the view to be drawn when it is seen again (False)."""
        if self.hidden():
            self.stale = True
            return False
        self.stale = False
        self._draw()
        return True

    def catch_up(self) -> None:
        if self.stale and not self.hidden():
            self.stale = False
            self._draw()

    def watch(self, dock: QDockWidget) -> None:
        """Also catch up when ``dock`` comes to the front of its tab group."""
        dock.visibilityChanged.connect(lambda shown: shown and self.catch_up())

    def eventFilter(self, obj, event) -> bool:
        if obj is self.widget and event.type() == QEvent.Show and self.stale:
            self.stale = False
            self._draw()
        return False


class SteadyLabel(QWidget):
    """A word-wrapped label for text that changes with every live frame (a prediction, the
    statistics of a layer's maps).

    A QLabel asks the layouts above it for a new pass on every new text, even when it needs no
    other room, and each pass climbs to the dock or the window: 30 times a second the whole
    panel is laid out again (4 ms of a live frame for three labels).  Here the QLabel sits in a
    widget without a layout, where that request ends; a new text repaints the label alone, and
    the layouts hear of it only when it needs another height (more or fewer lines at this
    width).  ``label`` is the QLabel, for its text format and other settings.
    """

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        self.label = QLabel(text, self)
        self.label.setWordWrap(True)
        policy = QSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self._room = self._needed_room()

    def _needed_room(self) -> int:
        """The height the text needs at the current width (the minimum width is left out: a
        rich-text QLabel takes 0.3 ms to work it out, and panels are wider than a word anyway)."""
        return self.label.heightForWidth(self.width() if self.width() > 0 else self.label.sizeHint().width())

    def text(self) -> str:
        return self.label.text()

    def setText(self, text: str) -> None:
        if text == self.label.text():
            return
        self.label.setText(text)
        room = self._needed_room()
        if room != self._room:
            self._room = room
            self.updateGeometry()

    def sizeHint(self):
        return self.label.sizeHint()

    def minimumSizeHint(self):
        return self.label.minimumSizeHint()

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self.label.heightForWidth(width)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.label.setGeometry(self.rect())
        self._room = self._needed_room()
