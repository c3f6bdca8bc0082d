"""LearnViews: what a learn-a-filter run shows - the learned, true and best linear kernels on one
diverging scale, the output next to the target, and the loss curves.

The views follow a LearnState and draw what it holds; they compute nothing but colours.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from convlab.core import kernels
from convlab.core.display import display_levels
from convlab.core.filter_learning import kernel_mosaic

from .image_view import ImageView

LOSS_FLOOR = 1e-12  # losses below this are drawn at it: 'exact' on a log axis


class LearnViews(QWidget):
    """Kernels, output, target and loss plot of a LearnState."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        g = QGridLayout(self)
        g.setContentsMargins(2, 2, 2, 2)
        self.learned_view = ImageView("Learned kernel")
        self.learned_view.setToolTip("The kernel being learned (blue negative, white 0, red positive)")
        self.true_view = ImageView("True kernel")
        self.true_view.setToolTip("The filter that makes the target, when there is one (same colour scale)")
        self.best_view = ImageView("Best linear filter")
        self.best_view.setToolTip("The exact least-squares answer: the best any single linear filter can do "
                                  "(same colour scale)")
        self.output_view = ImageView("Output")
        self.output_view.setToolTip("The first training image through the current kernel")
        self.target_view = ImageView("Target")
        self.target_view.setToolTip("What the output should be (same grey levels as the output)")
        self.scale_label = QLabel("")
        self.scale_label.setToolTip("The three kernels share one diverging colour scale")
        self.loss_plot = pg.PlotWidget(title="Loss (mean squared error)")
        self.loss_plot.setBackground("w")
        self.loss_plot.setToolTip("Loss per step on a log scale; the dashed line is the best a linear filter can do")
        self.loss_plot.setLogMode(y=True)
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.showGrid(x=True, y=True, alpha=0.3)
        self.loss_plot.addLegend(offset=(-10, 10))
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#1f77b4", width=2), name="one filter")
        self.reference_curve = self.loss_plot.plot(pen=pg.mkPen("#555", width=1, style=Qt.DashLine),
                                                   name="best linear (least squares)")
        self.two_layer_curve = self.loss_plot.plot(pen=pg.mkPen("#ff7f0e", width=2), name="conv - ReLU - conv")
        g.addWidget(self.learned_view, 0, 0)
        g.addWidget(self.true_view, 0, 1)
        g.addWidget(self.best_view, 0, 2)
        g.addWidget(self.scale_label, 1, 0, 1, 3)
        g.addWidget(self.output_view, 2, 0, 1, 1)
        g.addWidget(self.target_view, 2, 1, 1, 2)
        g.addWidget(self.loss_plot, 3, 0, 1, 3)
        for r, s in ((0, 2), (2, 3), (3, 3)):
            g.setRowStretch(r, s)
        self._drawn: dict[str, tuple] = {}  # what each part shows now, to skip drawing it again
        state.runChanged.connect(self.start_afresh)
        for signal in (state.progressChanged, state.referenceChanged, state.resultChanged, state.revealedChanged):
            signal.connect(self.draw)
        self.start_afresh()

    # ------------------------------------------------------------------ drawing

    def start_afresh(self) -> None:
        """Clear everything of the last run, then draw what the state holds (a new run's target)."""
        self._drawn = {}
        for c in (self.loss_curve, self.reference_curve, self.two_layer_curve):
            c.setData([], [])
        for v in (self.learned_view, self.true_view, self.best_view, self.output_view, self.target_view):
            v.clear_image()
        self.output_view.set_title("Output")
        self.target_view.set_title("Target")
        self.scale_label.setText("")
        run = self.state.run
        if run is not None:
            levels, signed = self._target_levels()
            t = run.targets[0, 0].astype(np.float32)
            self.target_view.set_image(t, levels=levels, signed=signed)
            self.target_view.set_title(f"Target: {run.label} ({t.shape[1]}x{t.shape[0]})")
        self.draw()

    def draw(self) -> None:
        """Draw the parts that changed since the last time."""
        st = self.state
        if self._changed("losses", len(st.losses)):
            self.loss_curve.setData(st.loss_steps, np.maximum(st.losses, LOSS_FLOOR) if st.losses else [])
        if self._changed("two_layer", len(st.two_layer_losses)):
            y = np.maximum(st.two_layer_losses, LOSS_FLOOR) if st.two_layer_losses else []
            self.two_layer_curve.setData(np.arange(1, len(y) + 1), y)
        ref = st.reference_result
        if self._changed("reference", ref) and ref is not None and st.run is not None:
            y = max(ref.final_loss, LOSS_FLOOR)
            self.reference_curve.setData([1, max(st.run.steps, 2)], [y, y])
        if self._changed("kernels", st.weight, st.revealed, st.result, ref):
            self._draw_kernels()
        if self._changed("output", st.output) and st.output is not None and st.run is not None:
            levels, signed = self._target_levels()
            self.output_view.set_image(np.ascontiguousarray(st.output, np.float32), levels=levels, signed=signed)
            self.output_view.set_title(st.output_title)

    def _changed(self, part: str, *now) -> bool:
        """Whether ``now`` (numbers, or the very objects drawn) differs from what ``part`` shows."""
        old = self._drawn.get(part)
        if isinstance(old, tuple) and len(old) == len(now) and all(
                a is b or (isinstance(a, (int, float)) and a == b) for a, b in zip(old, now, strict=True)):
            return False
        self._drawn[part] = now
        return True

    def _draw_kernels(self) -> None:
        """Learned, true and best linear kernels on ONE diverging scale (the same levels)."""
        st = self.state
        shown = [(self.learned_view, st.weight), (self.true_view, st.shown_true()), (self.best_view, st.shown_best())]
        arrays = [np.asarray(a, np.float32) for _, a in shown if a is not None]
        bound = max((float(np.abs(a).max()) for a in arrays), default=0.0)
        bound = max(bound, 1e-6)
        for view, a in shown:
            if a is None:
                view.clear_image()
            else:
                view.set_image(kernel_mosaic(a), levels=(-bound, bound), signed=True)
        self.learned_view.set_title(self._learned_title())
        self.true_view.set_title(self._true_title())
        ls = st.reference_result
        self.best_view.set_title(f"Best linear filter (loss {ls.final_loss:.3g})" if st.shown_best() is not None
                                 and ls is not None else "Best linear filter")
        if not arrays:
            self.scale_label.setText("")
            return
        channels = " | ".join(("R", "G", "B")) if arrays[0].shape[1] == 3 else ""
        self.scale_label.setText(f"Kernel colours: blue -{bound:.3g} .. white 0 .. red +{bound:.3g}"
                                 + (f"   (channels {channels} side by side)" if channels else ""))

    def _learned_title(self) -> str:
        st = self.state
        if st.weight is None:
            return "Learned kernel"
        r = st.result
        if r is not None and st.weight is r.weight:
            if st.run is None:
                return f"Learned kernel (from the session, bias {r.bias[0]:+.3g})"
            return f"Learned kernel ({len(st.losses)} steps, bias {r.bias[0]:+.3g})"
        return f"Learned kernel, step {st.step}"

    def _true_title(self) -> str:
        st = self.state
        run = st.run
        if run is None:
            return "True kernel"
        if run.kind == "preset":
            if not st.revealed:
                return "True kernel: hidden (Reveal after the run)"
            ps = [kernels.preset(k) for k in run.key.split(",")]
            return "True kernel: " + ", ".join(f"{p.name} ({p.size}x{p.size})" for p in ps)
        if run.true is not None:
            ft = run.true.shape[-1]
            return f"True kernel ({ft}x{ft}" + (", dilation breaks it)" if run.dilation > 1 else ")")
        return "True kernel: none (not one linear filter)" if not run.linear else "True kernel: unknown"

    def _target_levels(self) -> tuple[tuple[float, float], bool]:
        run = self.state.run
        assert run is not None
        return display_levels(run.targets[0, 0], from_zero=False)  # the rule every map view follows
