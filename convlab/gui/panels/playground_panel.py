"""The filter playground's pictures: the input, the selected filter's output enlarged with its
colour bar, the bank's K maps (and the pooled and 1x1-mixed maps), and "how this value is made"
for the output pixel under the mouse or pinned by a click.

A view of LabState: it draws what the state holds (``imageChanged``/``frameChanged`` for the
input, ``resultChanged`` for the outputs) and turns clicks into ``select``; it computes nothing
but the engine's explanation of one pixel. While it is out of sight it only marks itself stale
and draws when it comes back (``outputDrawn`` is still emitted, so a live frame is finished).
While live (``set_live``) the enlarged map keeps steady levels (core.playground.steady_levels)
so its colours do not pump; the exact levels come back when live ends.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QTabWidget, QVBoxLayout, QWidget

from convlab.core.images import to_rgb
from convlab.core.playground import display, explain_pixel, steady_levels

from ..views.controls import DrawWhenShown
from ..views.feature_map_grid import FeatureMapGrid
from ..views.image_view import ImageView

PIN_COLOR = "#ff8c00"
HOVER_COLOR = "#999"
PADDING_COLOR = "#7c3aed"


class PlaygroundPanel(QWidget):
    outputDrawn = Signal()  # the outputs on screen now show the newest result (or will, when shown)
    pinned = Signal()  # the learner clicked an output pixel: its explanation is shown

    def __init__(self, state, pixel_panel, parent=None):
        super().__init__(parent)
        self.state = state
        self.pixel_panel = pixel_panel  # where the explanation of a pixel goes
        self.live = False
        self._pinned: tuple[int, int, int] | None = None  # (filter, y, x) clicked on the output

        self.input_view = ImageView("Input")
        self.input_view.setToolTip("The image the filters read; hover an output pixel to see its patch here")
        self.output_view = ImageView("Output", colorbar=True)
        self.output_view.setToolTip("The selected filter's output map: hover or click a pixel to see how it is made")
        self.grid = FeatureMapGrid()
        self.grid.setToolTip("All K output maps, one per filter, on one shared colour scale; click one to select it")
        self.pool_grid = FeatureMapGrid()
        self.pool_grid.setToolTip("The K maps after pooling")
        self.mix_grid = FeatureMapGrid()
        self.mix_grid.setToolTip("The maps made by the 1x1 convolution")
        self.tabs = QTabWidget()
        self.tabs.addTab(self.grid, "Bank")
        self.tabs.addTab(self.pool_grid, "Pooled")
        self.tabs.addTab(self.mix_grid, "1x1")
        # narrow, the titles shorten ("Pooled 191 x 1...") rather than scroll out of sight
        self.tabs.setUsesScrollButtons(False)
        self.tabs.setElideMode(Qt.ElideRight)
        for i, tip in enumerate(("The bank's K output maps, W' x H' x K",
                                 "The maps after pooling (turn pooling on under After the bank)",
                                 "The maps of the 1x1 convolution (set its maps under After the bank)")):
            self.tabs.setTabToolTip(i, tip)
        right = QSplitter(Qt.Vertical)
        right.addWidget(self.output_view)
        right.addWidget(self.tabs)
        right.setSizes([500, 300])
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.input_view)
        split.addWidget(right)
        split.setSizes([500, 500])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

        # status-bar labels the window places
        self.pixel_label = QLabel()
        self.pixel_label.setToolTip("The output pixel under the mouse and its value")
        self.timing_label = QLabel()
        self.timing_label.setToolTip("Time the engine took to compute the outputs")

        self._input_draw = DrawWhenShown(self, self._draw_input)
        self._output_draw = DrawWhenShown(self, self._draw_outputs)
        state.imageChanged.connect(self.draw_input)
        state.frameChanged.connect(self.draw_input)
        state.resultChanged.connect(self.draw_outputs)
        state.selectionChanged.connect(self._selection_changed)
        self._post_on = (False, False)  # (pooled, mixed) maps in the result drawn last
        self.grid.selected.connect(state.select)
        self.output_view.hovered.connect(self.explain)
        self.output_view.clicked.connect(self.pin)
        self.output_view.left.connect(self._hover_left)

    def _follow_post(self, pool_on: bool, mix_on: bool) -> None:
        """Pooling or a 1x1 mix just turned on: its maps come to the front (that is what the
        learner asked to see); the tab of one turned off gives way to what is still there."""
        was_pool, was_mix = self._post_on
        self._post_on = (pool_on, mix_on)
        current = self.tabs.currentWidget()
        if mix_on and not was_mix:
            self.tabs.setCurrentWidget(self.mix_grid)
        elif pool_on and not was_pool:
            self.tabs.setCurrentWidget(self.pool_grid)
        elif (current is self.mix_grid and not mix_on) or (current is self.pool_grid and not pool_on):
            self.tabs.setCurrentWidget(self.pool_grid if pool_on else self.grid)

    # ------------------------------------------------------------------ drawing

    def draw_input(self) -> None:
        self._pinned = None  # a new image: the pinned pixel is forgotten
        self._input_draw.request()

    def _draw_input(self) -> None:
        x = self.state.input
        if x is None:
            self.input_view.clear_image()
            return
        c, h, w = x.shape
        # RGB: the lab's own uint8 pixels, which the float input was made from
        self.input_view.set_image(x[0] if c == 1 else to_rgb(self.state.image), levels=(0, 255))
        self.input_view.set_title(f"Input {w} x {h} x {c}")
        self.input_view.clear_overlay()

    def draw_outputs(self) -> None:
        """Draw the newest result (now, or when the panel is seen again); then ``outputDrawn``."""
        st = self.state
        self._output_draw.request()
        if not self.live:  # (live, the stage times are in the live label, a few times a second)
            self.timing_label.setText(f"computed in {st.compute_ms:.1f} ms" if st.result is not None
                                      and st.compute_ms else "")
        if st.result is not None and self._pinned is not None:
            self.explain(*self._pinned[1:], pin=True)
        self.outputDrawn.emit()

    def set_live(self, on: bool) -> None:
        """Live frames: steady levels on the enlarged map; afterwards the exact levels come back."""
        self.live = on
        self.timing_label.setText("")
        if not on and self.state.result is not None:
            self._output_draw.request()

    def _draw_outputs(self) -> None:
        st = self.state
        r = st.result
        if r is None:
            self.output_view.clear_image()
            self.output_view.set_title(f'<span style="color:#b91c1c">{st.error}</span>')
            return
        d = display(r.maps, st.display_mode)
        k = st.selected
        own = display(r.maps[k], st.display_mode)  # the enlarged map on its own scale
        levels = steady_levels(st.display_mode, own.levels, self.output_view.levels) if self.live else own.levels
        self.output_view.set_image(own.image, levels, own.signed)
        _, ho, wo = r.maps.shape
        lo, hi = own.value_range
        self.output_view.set_title(f"Filter {k + 1}: {wo} x {ho}, values {lo:.4g} to {hi:.4g}")
        self.grid.set_maps(d.image, d.levels, d.signed, [f"{i + 1}: {n}" for i, n in enumerate(st.bank.names)], k)
        for grid, maps, idx, label in ((self.pool_grid, r.pooled, 1, "Pooled"), (self.mix_grid, r.mixed, 2, "1x1")):
            if maps is None:
                self._set_tab(idx, label, enabled=False)
                continue
            dm = display(maps, st.display_mode)
            grid.set_maps(dm.image, dm.levels, dm.signed, [str(i + 1) for i in range(maps.shape[0])], -1)
            self._set_tab(idx, f"{label} {maps.shape[2]} x {maps.shape[1]} x {maps.shape[0]}")
        self._set_tab(0, f"Bank {wo} x {ho} x {r.maps.shape[0]}")
        self._follow_post(r.pooled is not None, r.mixed is not None)

    def _set_tab(self, index: int, text: str, enabled: bool = True) -> None:
        """Output tab title and state, touched only when they change (QTabBar lays itself out
        and repaints on every setTabText, even with the same text: 30 times a second when live)."""
        if self.tabs.tabText(index) != text:
            self.tabs.setTabText(index, text)
        if self.tabs.isTabEnabled(index) != enabled:
            self.tabs.setTabEnabled(index, enabled)

    def _selection_changed(self) -> None:
        self._pinned = None
        self.input_view.clear_overlay()
        self.pixel_panel.clear()

    # ------------------------------------------------------------------ how a value is made

    def explain(self, y: int, x: int, pin: bool = False) -> None:
        st = self.state
        if st.result is None or st.input is None:
            return
        k = st.selected
        _, ho, wo = st.result.maps.shape
        if not (0 <= y < ho and 0 <= x < wo):
            return
        try:
            e = explain_pixel(st.input, st.bank, st.settings, k, y, x)
        except ValueError:
            return  # the result is being recomputed for newer settings
        value = float(st.result.maps[k, y, x])
        self.pixel_panel.show_explanation(e, st.input.shape[0], value)
        self.pixel_label.setText(f"filter {k + 1} ({y}, {x}) = {value:.4g}")
        v = self.input_view
        v.clear_overlay()
        span = int(e.rows[-1] - e.rows[0] + 1)
        v.add_box(int(e.rows[0]), int(e.cols[0]), span, span,
                  color=PIN_COLOR if pin or self._pinned is None else HOVER_COLOR)
        rr, cc = np.meshgrid(e.rows, e.cols, indexing="ij")
        inside = ~e.outside
        v.add_pixels(rr[inside], cc[inside], color=PIN_COLOR)
        if e.outside.any():
            v.add_pixels(rr[e.outside], cc[e.outside], color=PADDING_COLOR)

    @property
    def pinned_pixel(self) -> tuple[int, int, int] | None:
        """(filter, y, x) of the output pixel the learner clicked, or None."""
        return self._pinned

    def pin(self, y: int, x: int) -> None:
        self._pinned = (self.state.selected, y, x)
        self.explain(y, x, pin=True)
        self.pinned.emit()

    def _hover_left(self) -> None:
        if self._pinned is not None:
            self.explain(*self._pinned[1:], pin=True)
        else:
            self.input_view.clear_overlay()
            self.pixel_label.setText("")
