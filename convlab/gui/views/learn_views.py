"""LearnViews: what a learn-a-filter run shows - the learned, true and best linear kernels on one
diverging scale, the output next to the target, and the loss curves.

The views follow a LearnState and draw what it holds; they compute nothing but colours. Titles
are two short lines that are shortened with "..." rather than cut at both ends when a view is
narrow; an empty kernel view says why it is empty; the loss axis labels only as many values as
fit without overlapping.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QTextOption
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from convlab.core import kernels
from convlab.core.display import display_levels
from convlab.core.filter_learning import kernel_mosaic

from .image_view import ImageView

LOSS_FLOOR = 1e-12  # losses below this are drawn at it: 'exact' on a log axis
MIN_VIEW_WIDTH = 140  # px: a title line such as "True kernel: hidden" fits
LABEL_GAP = 1.6  # tick labels of the loss axis are at least this many label heights apart


class LossAxis(pg.AxisItem):
    """A log axis that labels only values far enough apart to read: decades first, then 2s and 5s,
    then the other minor ticks, each kept only if it is LABEL_GAP label heights from those kept."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        candidates = [v for _, values in super().logTickValues(minVal, maxVal, size, stdTicks) for v in values]
        if maxVal <= minVal or not candidates:
            return [(None, [])]
        px = size / (maxVal - minVal)
        gap = LABEL_GAP * QFontMetrics(self.style.get("tickFont") or self.font()).height()

        def rank(v: float) -> int:
            mantissa = round(10 ** (v - math.floor(v + 1e-9)), 3)
            return 0 if mantissa in (1.0, 10.0) else 1 if mantissa in (2.0, 5.0) else 2

        kept: list[float] = []
        for v in sorted(set(candidates), key=lambda v: (rank(v), v)):
            if all(abs(v - k) * px >= gap for k in kept):
                kept.append(v)
        return [(None, sorted(kept))]


class TitledImageView(ImageView):
    """An ImageView whose title is one or two lines, each shortened with "..." to the view's width (the
    whole title in ``full_title`` and the tooltip), and which says why it is empty (``set_placeholder``)."""

    def __init__(self, title: str = "", tip: str = "", parent=None):
        self.full_title = title
        self._tip = tip
        super().__init__(title, parent=parent)
        self.placeholder = QLabel(self)
        self.placeholder.setAlignment(Qt.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color:#666; background: transparent;")
        self.placeholder.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.placeholder.hide()
        self.setToolTip(tip)
        self.setMinimumWidth(MIN_VIEW_WIDTH)

    def set_title(self, text: str) -> None:
        self.full_title = text
        self._fit_title()

    def _fit_title(self) -> None:
        metrics = QFontMetrics(self.title.item.font())
        room = max(self.width() - 20, 20)  # the view's margins and the text's own
        lines = [metrics.elidedText(line, Qt.ElideRight, room) for line in self.full_title.split("\n")]
        super().set_title("<br>".join(lines))
        item = self.title.item  # each line centred: the text is as wide as its widest line
        item.document().setDefaultTextOption(QTextOption(Qt.AlignHCenter))
        margin = 2 * item.document().documentMargin()
        item.setTextWidth(max(metrics.horizontalAdvance(line) for line in lines) + margin + 2)
        self.title.updateMin()  # the label's height for these lines, then centred again
        self.title.resizeEvent(None)
        self.title.updateGeometry()
        cut = any(a != b for a, b in zip(lines, self.full_title.split("\n"), strict=True))
        self.setToolTip(self._tip + (f"\n\n{self.full_title}" if cut else ""))

    def set_placeholder(self, text: str) -> None:
        """Words shown in the middle while the view has no image ("" for none)."""
        self.placeholder.setText(text)
        self._place()

    def _place(self) -> None:
        top = int(self.title.item.boundingRect().height()) + 4
        self.placeholder.setGeometry(6, top, max(self.width() - 12, 10), max(self.height() - top - 4, 10))
        self.placeholder.setVisible(bool(self.placeholder.text()) and self.item.image is None)

    def set_image(self, image, levels=None, signed: bool = False) -> None:
        super().set_image(image, levels=levels, signed=signed)
        self.placeholder.hide()

    def clear_image(self) -> None:
        super().clear_image()
        self._place()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if hasattr(self, "placeholder") and not getattr(self, "closed", False):  # closed: the scene is empty
            self._fit_title()
            self._place()


class LearnViews(QWidget):
    """Kernels, output, target and loss plot of a LearnState."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        g = QGridLayout(self)
        g.setContentsMargins(2, 2, 2, 2)
        self.learned_view = TitledImageView("Learned kernel", "The kernel being learned (blue negative, white 0, "
                                            "red positive)")
        self.true_view = TitledImageView("True kernel", "The filter that makes the target, when there is one "
                                         "(same colour scale)")
        self.best_view = TitledImageView("Best linear filter", "The exact least-squares answer: the best any single "
                                         "linear filter can do (same colour scale)")
        self.output_view = TitledImageView("Output", "The first training image through the current kernel")
        self.target_view = TitledImageView("Target", "What the output should be (same grey levels as the output)")
        self.scale_label = QLabel("")
        self.scale_label.setToolTip("The three kernels share one diverging colour scale")
        self.loss_plot = pg.PlotWidget(title="Loss (mean squared error)", axisItems={"left": LossAxis("left")})
        self.loss_plot.setBackground("w")
        self.loss_plot.setMinimumHeight(150)
        self.loss_plot.setToolTip("Loss per step on a log scale; the dashed line is the best a linear filter can do")
        self.loss_plot.setLogMode(y=True)
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.showGrid(x=True, y=True, alpha=0.3)
        # the legend is a line under the plot: inside it, it would hide the newest part of a curve
        self.legend_label = QLabel("")
        self.legend_label.setWordWrap(True)
        self.legend_label.setToolTip("Which curve is which")
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#1f77b4", width=2))
        self.reference_curve = self.loss_plot.plot(pen=pg.mkPen("#555", width=1, style=Qt.DashLine))
        self.two_layer_curve = self.loss_plot.plot(pen=pg.mkPen("#ff7f0e", width=2))
        self.best_marker = self.loss_plot.plot(pen=None, symbol="o", symbolSize=9, symbolBrush="#16a34a",
                                               symbolPen="w")  # the weights kept, when not the last
        self._names = {self.loss_curve: ("one filter", "#1f77b4", "━━"),
                       self.reference_curve: ("best linear filter (least squares)", "#555", "╌╌"),
                       self.two_layer_curve: ("conv - ReLU - conv", "#ff7f0e", "━━"),
                       self.best_marker: ("the best weights, kept", "#16a34a", "●")}
        self._listed: list | None = None  # the curves the legend names: those with data, in this order
        g.addWidget(self.learned_view, 0, 0)
        g.addWidget(self.true_view, 0, 1)
        g.addWidget(self.best_view, 0, 2)
        g.addWidget(self.scale_label, 1, 0, 1, 3)
        g.addWidget(self.output_view, 2, 0, 1, 1)
        g.addWidget(self.target_view, 2, 1, 1, 2)
        g.addWidget(self.loss_plot, 3, 0, 1, 3)
        g.addWidget(self.legend_label, 4, 0, 1, 3)
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
        for c in (self.loss_curve, self.reference_curve, self.two_layer_curve, self.best_marker):
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
            self.target_view.set_title(f"Target ({t.shape[1]}x{t.shape[0]})\n{run.label}")
        self.output_view.set_placeholder("" if run is not None else "Press Start: the first image through the "
                                         "learned kernel appears here")
        self.target_view.set_placeholder("" if run is not None else "The target the kernel must make")
        self.draw()

    def draw(self) -> None:
        """Draw the parts that changed since the last time."""
        st = self.state
        if self._changed("losses", len(st.losses)):
            self.loss_curve.setData(st.loss_steps, np.maximum(st.losses, LOSS_FLOOR) if st.losses else [])
        o = st.outcome
        if self._changed("best", o):
            kept = o is not None and o.kept_best and st.run is not None
            self.best_marker.setData([o.kept_step] if kept else [], [max(o.kept_loss, LOSS_FLOOR)] if kept else [])
        if self._changed("two_layer", len(st.two_layer_losses)):
            y = np.maximum(st.two_layer_losses, LOSS_FLOOR) if st.two_layer_losses else []
            self.two_layer_curve.setData(np.arange(1, len(y) + 1), y)
        ref = st.reference_result
        if self._changed("reference", ref) and ref is not None and st.run is not None:
            y = max(ref.final_loss, LOSS_FLOOR)
            self.reference_curve.setData([1, max(st.run.steps, 2)], [y, y])
        self._list_curves()
        if self._changed("kernels", st.weight, st.revealed, st.result, ref):
            self._draw_kernels()
        if self._changed("output", st.output) and st.output is not None and st.run is not None:
            levels, signed = self._target_levels()
            self.output_view.set_image(np.ascontiguousarray(st.output, np.float32), levels=levels, signed=signed)
            self.output_view.set_title(st.output_title)

    def _list_curves(self) -> None:
        """The legend names the curves that have data; an empty plot shows the loss range a run starts in."""
        shown = [c for c in self._names if c.getData()[0] is not None and len(c.getData()[0])]
        if shown == self._listed:
            return
        self.legend_label.setText("&nbsp;&nbsp;&nbsp;".join(
            f"<span style='color:{color}'>{mark}</span>&nbsp;{name}"
            for name, color, mark in (self._names[c] for c in shown)))
        if shown and not self._listed:  # the first data: the axes follow it
            self.loss_plot.enableAutoRange()
        elif not shown:
            steps = self.state.settings.steps
            self.loss_plot.setRange(xRange=(0, max(steps, 2)), yRange=(-4, 0.5), padding=0)  # log10: 1e-4 .. 3
        self._listed = shown

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
        self.best_view.set_title(f"Best linear filter\nloss {ls.final_loss:.3g}" if st.shown_best() is not None
                                 and ls is not None else "Best linear filter")
        self._placeholders()
        if not arrays:
            self.scale_label.setText("")
            return
        channels = " | ".join(("R", "G", "B")) if arrays[0].shape[1] == 3 else ""
        self.scale_label.setText(f"Kernel colours: blue -{bound:.3g} .. white 0 .. red +{bound:.3g}"
                                 + (f"   (channels {channels} side by side)" if channels else ""))

    def _placeholders(self) -> None:
        """Why an empty kernel view is empty."""
        st, run = self.state, self.state.run
        hidden = run is not None and run.kind == "preset" and not st.revealed
        self.learned_view.set_placeholder("Press Start: the kernel grows here from random weights")
        if run is None:
            true = "The kernel that makes the target, where one does"
        elif hidden:
            true = "Hidden: press Reveal after the run to compare"
        else:
            true = "No single linear filter makes this target" if not run.linear else "Not known"
        self.true_view.set_placeholder(true)
        if hidden:
            best = "Hidden until Reveal: the exact answer would give the kernel away"
        elif run is None:
            best = "The exact least-squares answer appears when a run starts"
        else:
            best = "Solving for the exact least-squares answer..."
        self.best_view.set_placeholder(best)

    def _learned_title(self) -> str:
        st = self.state
        if st.weight is None:
            return "Learned kernel"
        r = st.result
        if r is not None and st.weight is r.weight:
            if st.run is None:
                return f"Learned kernel\nfrom the session, bias {r.bias[0]:+.3g}"
            o = st.outcome
            if o is not None and o.kept_best:
                return f"Best kernel: step {o.kept_step}\nof {o.steps}, bias {r.bias[0]:+.3g}"
            return f"Learned kernel\n{len(st.losses)} steps, bias {r.bias[0]:+.3g}"
        return f"Learned kernel\nstep {st.step}"

    def _true_title(self) -> str:
        st = self.state
        run = st.run
        if run is None:
            return "True kernel"
        if run.kind == "preset":
            if not st.revealed:
                return "True kernel: hidden\nReveal after the run"
            ps = [kernels.preset(k) for k in run.key.split(",")]
            return "True kernel\n" + ", ".join(f"{p.name} ({p.size}x{p.size})" for p in ps)
        if run.true is not None:
            ft = run.true.shape[-1]
            return f"True kernel\n{ft}x{ft}" + (", dilation breaks it" if run.dilation > 1 else "")
        return "True kernel\nnot one linear filter" if not run.linear else "True kernel\nunknown"

    def _target_levels(self) -> tuple[tuple[float, float], bool]:
        run = self.state.run
        assert run is not None
        return display_levels(run.targets[0, 0], from_zero=False)  # the rule every map view follows
