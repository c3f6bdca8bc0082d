"""Workspaces: the window arranged for what the learner is doing, not by panel.

    Filters         the playground big in the middle, the kernel editor beside it, the image, the
                    filter math and "how this value is made" in one row below
    Network         inside the network in the middle, the layer table and training around it
    Learn a filter  the learn panel alone (the image choice beside it on wide screens)
    Live            the playground fed by the camera or the drawing pad, the live controls, the pad and
                    the capture panel

One click on the workspace bar or Ctrl+1..4 switches. Each workspace has a default arrangement,
computed for the window's size (big where it matters - the images and maps -, compact where it
does not); docks the learner moves are remembered per workspace (QSettings), and Reset Layout
brings back exactly the default arrangement of the current workspace.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QStyle, QToolBar, QToolButton

WIDE = 1300  # px: from this window width on, the side docks sit beside the centre
MATH_MIN = 330  # px: the filter math and the pixel explanation side by side need this much each


@dataclass(frozen=True)
class Workspace:
    key: str
    title: str
    shortcut: str
    page: int  # the central tab it shows
    tip: str


WORKSPACES = {
    w.key: w for w in (
        Workspace("filters", "Filters", "Ctrl+1", 0,
                  "The filter playground: an image, a bank of filters, stride, padding, dilation and the filter math"),
        Workspace("network", "Network", "Ctrl+2", 1,
                  "Build a network layer by layer, train it and look inside: feature maps, weights, receptive fields"),
        Workspace("learn", "Learn a filter", "Ctrl+3", 2,
                  "Pick a target and watch a kernel learn to make it from examples"),
        Workspace("live", "Live", "Ctrl+4", 0,
                  "The camera (or a video) through the filters and the network; teach it your own classes"),
    )
}
DEFAULT_WORKSPACE = "filters"
BAR_STYLE = """
QToolBar#toolbar-workspaces { spacing: 2px; }
QToolBar#toolbar-workspaces QToolButton { padding: 3px 10px; border: 1px solid transparent; border-radius: 3px; }
QToolBar#toolbar-workspaces QToolButton:hover { background: #eef2f7; border-color: #c8d1dc; }
QToolBar#toolbar-workspaces QToolButton:checked { background: #dbe7f7; border-color: #6b8fc7; font-weight: bold; }
"""


def needed_width(dock: QDockWidget, panel) -> int:
    """What a dock's panel needs to show every control without sideways scrolling (its own
    ``needed_width()`` when it scrolls inside, else its minimum size, plus a scroll bar)."""
    if hasattr(panel, "needed_width"):
        return panel.needed_width() + 6
    bar = dock.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
    return panel.minimumSizeHint().width() + bar + 8


def _width_for(dock: QDockWidget, panel, share: float, window_width: int, lo: int = 0, hi: int = 10_000) -> int:
    """A dock width: ``share`` of the window, at least what the panel needs without sideways scrolling."""
    return max(needed_width(dock, panel), lo, min(hi, round(share * window_width)))


class Workspaces(QObject):
    """The workspace bar and the arrangements of one MainWindow."""

    changed = Signal(str)  # the key of the workspace now shown

    def __init__(self, window: QMainWindow, version: int):
        super().__init__(window)
        self.window = window
        self.version = version
        self.current = ""
        self.bar = QToolBar("Workspaces", window)
        self.bar.setObjectName("toolbar-workspaces")
        self.bar.setMovable(False)
        self.bar.setToolButtonStyle(Qt.ToolButtonTextOnly)
        self.bar.setStyleSheet(BAR_STYLE)
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.actions: dict[str, QAction] = {}
        for w in WORKSPACES.values():
            a = QAction(w.title, self)
            a.setCheckable(True)
            a.setShortcut(QKeySequence(w.shortcut))
            a.setToolTip(f"{w.title} ({w.shortcut}): {w.tip}")
            a.setStatusTip(w.tip)
            a.triggered.connect(lambda _=False, k=w.key: self.switch(k))
            self.group.addAction(a)
            self.bar.addAction(a)
            self.actions[w.key] = a
        for a in self.actions.values():
            button = self.bar.widgetForAction(a)
            if isinstance(button, QToolButton):
                button.setObjectName(f"workspace-{a.text()}")

    # ------------------------------------------------------------------ switching

    def switch(self, key: str) -> None:
        """Show workspace ``key``: its central page, and its docks as the learner left them (or by default)."""
        if key not in WORKSPACES:
            raise KeyError(f"no workspace {key!r} (known: {', '.join(WORKSPACES)})")
        if key == self.current:
            self.actions[key].setChecked(True)
            return
        if self.current:
            self.remember()
        self.current = key
        self.actions[key].setChecked(True)
        self.window.center.setCurrentIndex(WORKSPACES[key].page)
        saved = self.window.settings.value(f"workspace/{key}/state")
        if saved is None or not self.window.restoreState(saved, self.version):
            self.arrange(key)
        self.changed.emit(key)

    def remember(self) -> None:
        """Keep the current workspace's dock arrangement (in the window's settings)."""
        if self.current:
            self.window.settings.setValue(f"workspace/{self.current}/state", self.window.saveState(self.version))

    def reset(self) -> None:
        """The current workspace's default arrangement, exactly as on a first start."""
        self.window.settings.remove(f"workspace/{self.current}/state")
        self.arrange(self.current)

    # ------------------------------------------------------------------ the default arrangements

    def arrange(self, key: str) -> None:
        w = self.window
        for dock in w._docks():  # all stay in the layout (so a saved state covers every one), hidden
            dock.setFloating(False)
            dock.hide()
        w.setCorner(Qt.BottomLeftCorner, Qt.BottomDockWidgetArea)
        w.setCorner(Qt.BottomRightCorner, Qt.BottomDockWidgetArea)
        getattr(self, f"_arrange_{key}")(w, max(w.width(), 800), max(w.height(), 600))
        w._settle_tab_bars(w._park_tab_bars())

    @staticmethod
    def _place(w, area, *docks: QDockWidget) -> None:
        for dock in docks:
            w.addDockWidget(area, dock)
            dock.show()

    def _arrange_filters(self, w, width: int, height: int) -> None:
        # the kernel editor on the right, full height; one row below the playground: the image, the
        # filter math and "how this value is made" (the last two as tabs when the row is narrow)
        w.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
        self._place(w, Qt.RightDockWidgetArea, w.filters_dock)
        self._place(w, Qt.BottomDockWidgetArea, w.source_dock)
        w.splitDockWidget(w.source_dock, w.math_dock, Qt.Horizontal)
        w.math_dock.show()
        right = _width_for(w.filters_dock, w.filters_panel, 0.24, width, hi=460)
        source = needed_width(w.source_dock, w.source_panel)
        rest = max(width - right - source, 300)
        if rest >= 2 * MATH_MIN:
            w.splitDockWidget(w.math_dock, w.pixel_dock, Qt.Horizontal)
            w.pixel_dock.show()
            math = max(MATH_MIN, rest // 2)
            w.resizeDocks([w.source_dock, w.math_dock, w.pixel_dock], [source, math, rest - math], Qt.Horizontal)
        else:
            self._place(w, Qt.BottomDockWidgetArea, w.pixel_dock)
            w.tabifyDockWidget(w.math_dock, w.pixel_dock)
            w.math_dock.raise_()
            math = rest
            w.resizeDocks([w.source_dock, w.math_dock], [source, rest], Qt.Horizontal)
        w.resizeDocks([w.filters_dock], [right], Qt.Horizontal)
        below = max(w.source_panel.sizeHint().height(), w.math_panel.needed_height(math)) + 28  # + the title
        w.resizeDocks([w.math_dock], [min(below, height // 3)], Qt.Vertical)

    def _arrange_network(self, w, width: int, height: int) -> None:
        # the maps across the whole width; below them the layer table at its full width (every column
        # shows) with training beside it when there is room for both, else the two as tabs
        table = w.layers_panel.needed_width()
        self._place(w, Qt.BottomDockWidgetArea, w.layers_dock)
        if width - table >= _width_for(w.training_dock, w.training_panel, 0, width):
            w.splitDockWidget(w.layers_dock, w.training_dock, Qt.Horizontal)
            w.training_dock.show()
            w.resizeDocks([w.layers_dock, w.training_dock], [table, width - table], Qt.Horizontal)
        else:
            self._place(w, Qt.BottomDockWidgetArea, w.training_dock)
            w.tabifyDockWidget(w.layers_dock, w.training_dock)
            w.layers_dock.raise_()
        w.resizeDocks([w.layers_dock], [round(0.42 * height)], Qt.Vertical)

    def _arrange_learn(self, w, width: int, height: int) -> None:
        if width >= WIDE:
            self._place(w, Qt.LeftDockWidgetArea, w.source_dock)
            w.resizeDocks([w.source_dock], [_width_for(w.source_dock, w.source_panel, 0.16, width, hi=320)],
                          Qt.Horizontal)

    def _arrange_live(self, w, width: int, height: int) -> None:
        # wide: the drawing pad on the right above the capture panel, beside the playground it feeds;
        # narrow: the pad and the capture panel are tabs beside the live controls (the pad shows its answer)
        self._place(w, Qt.LeftDockWidgetArea, w.live_dock)
        left = _width_for(w.live_dock, w.live_panel, 0.24, width, hi=420)
        if width >= WIDE:
            self._place(w, Qt.RightDockWidgetArea, w.draw_dock, w.capture_dock)
            w.splitDockWidget(w.draw_dock, w.capture_dock, Qt.Vertical)
            right = max(_width_for(w.draw_dock, w.draw_pad, 0.2, width, hi=420),
                        _width_for(w.capture_dock, w.capture_panel, 0.22, width, hi=420))
            w.resizeDocks([w.draw_dock], [round(0.55 * height)], Qt.Vertical)
            w.resizeDocks([w.draw_dock], [right], Qt.Horizontal)
        else:
            self._place(w, Qt.LeftDockWidgetArea, w.draw_dock, w.capture_dock)
            w.tabifyDockWidget(w.live_dock, w.draw_dock)
            w.tabifyDockWidget(w.draw_dock, w.capture_dock)
            w.live_dock.raise_()
            left = max(left, needed_width(w.draw_dock, w.draw_pad))
        w.resizeDocks([w.live_dock], [left], Qt.Horizontal)
