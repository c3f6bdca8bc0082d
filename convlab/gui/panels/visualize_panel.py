"""What it wants to see: the picture that excites a unit, a channel or a class most, and where a class
looks in the current input.

Two pages, each in a scroll area of its own so the panel never makes the window taller or wider.

"Paint what it wants to see" (activation maximisation): choose the target (the unit selected in a feature map, its whole
channel, or a class score), press Start, and watch gradient ascent paint the picture from gray noise,
with its objective curve against the noise baseline. The run works on a copy of the model taken at
Start, in a worker thread (``visualize_worker.AscentWorker``); Stop ends it after the current step.

"Where it looks" (saliency): for the current input and the predicted (or a chosen) class, |d score / d input|
and the occlusion map (how much the score drops when a patch is covered), side by side, over the
input or alone. They follow the input while the page is in sight (``DrawWhenShown``), in a worker
thread, one job at a time, the newest waiting request next.

Every number comes from the engine (``convlab.core.visualize``); the panel only draws it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from convlab.core.display import input_picture
from convlab.core.prediction import class_names
from convlab.core.receptive_field import unit_box
from convlab.core.visualize import AscentSettings, Target, score_layers, target_problem, unit_problem

from ..views.ascent_settings_form import AscentSettingsForm
from ..views.controls import DrawWhenShown, SteadyLabel
from ..views.heat_map_view import MapView
from ..views.image_view import ImageView
from ..visualize_worker import AscentWorker, SaliencyWorker, launch

INPUT_RANGE = (0.0, 1.0)  # every model input the lab makes (core.preprocess.model_input, the datasets)
TARGETS = [("unit", "the selected unit"), ("channel", "its whole channel"), ("class", "a class score")]
CURVE_COLOR = "#2563eb"
BOX_COLOR = "#ff8c00"  # the unit's receptive field, as in the inside panel
NOISE_COLOR = "#888888"
ERROR_STYLE = "color: #b91c1c"



class _Page(QWidget):
    """A page of the panel in a scroll area. It takes the area's height: its word-wrapped labels would
    otherwise make the area ask for the height of every view's preferred size (heightForWidth)."""

    def hasHeightForWidth(self) -> bool:
        return False

    def heightForWidth(self, width: int) -> int:
        return -1  # QScrollArea asks the layout, which says it has a height for width: say none


class VisualizePanel(QWidget):
    runFinished = Signal(str)  # "done", "stopped" or "failed"
    saliencyShown = Signal()  # both maps drawn for the newest input (or cleared with a reason)

    def __init__(self, net, parent=None):
        super().__init__(parent)
        self.net = net
        self.worker: AscentWorker | None = None
        self.run_info = None  # RunInfo of the current or last run
        self.last_progress = None
        self.result = None  # AscentResult of the last run
        self._curve_x: list[int] = []
        self._curve_y: list[float] = []
        self.saliency_worker: SaliencyWorker | None = None
        self.saliency_result = None
        self._saliency_job = 0
        self._saliency_wanted = False  # a newer request waits for the running one
        self._target_text = ""  # the target of the current or last run, in words
        self._run_target: Target | None = None
        self.field_box = None  # the unit target's receptive field (a core UnitBox), drawn on the picture

        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.addTab(self._scrolled(self._ascent_page()), "Paint what it wants to see")
        self.pages.addTab(self._scrolled(self._saliency_page()), "Where it looks")
        self.pages.setTabToolTip(0, "Activation maximisation: the picture that excites a unit, a channel or a "
                                    "class most, painted by gradient ascent from gray noise")
        self.pages.setTabToolTip(1, "Saliency and occlusion: which pixels of the current input a class score "
                                    "depends on")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.pages)

        self.picture_drawing = DrawWhenShown(self.picture_view, self._draw_picture)
        self.saliency_drawing = DrawWhenShown(self.saliency_page, self._request_saliency, stale=True)
        net.specChanged.connect(self._model_changed)
        net.unitChanged.connect(self._sync_controls)
        net.datasetChanged.connect(self._model_changed)
        net.activationsChanged.connect(self.saliency_drawing.request)
        self._fill_classes()
        if net.unit is None and not target_problem(net.view_model, Target.class_score(0)):
            self.target_combo.setCurrentIndex(2)  # nothing selected yet: a class works at once
        self._sync_controls()

    # ------------------------------------------------------------------ building

    @staticmethod
    def _scrolled(page: QWidget) -> QScrollArea:
        """A page that scrolls rather than make the inside panel (and the window) taller or wider."""
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.NoFrame)
        area.setWidget(page)
        return area

    def _ascent_page(self) -> QWidget:
        page = _Page()
        h = QHBoxLayout(page)
        h.setContentsMargins(4, 4, 4, 4)
        controls = QVBoxLayout()
        h.addLayout(controls)
        row = QHBoxLayout()
        row.addWidget(QLabel("Look at"))
        self.target_combo = QComboBox()
        for _, text in TARGETS:
            self.target_combo.addItem(text)
        self.target_combo.setToolTip(
            "What to excite: the unit selected in a feature map (click one in Feature maps), the mean of its "
            "whole channel (the filter wherever it sits), or one class's score (before the softmax)")
        self.target_combo.currentIndexChanged.connect(self._sync_controls)
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("The class whose score the picture should raise")
        self.class_combo.currentIndexChanged.connect(self._sync_controls)
        row.addWidget(self.target_combo, 1)
        row.addWidget(self.class_combo)
        controls.addLayout(row)

        self.settings_form = AscentSettingsForm()
        self.setting_widgets = self.settings_form.widgets
        self.defaults_button = self.settings_form.defaults_button
        controls.addWidget(self.settings_form)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("End the run after the current step; the picture so far stays")
        self.stop_button.clicked.connect(self.stop)
        self.time_label = QLabel(" ")
        self.time_label.setToolTip("Time since the run started and its steps per second so far")
        for w in (self.start_button, self.stop_button, self.time_label):
            buttons.addWidget(w)
        buttons.addStretch(1)
        controls.addLayout(buttons)
        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat("step %v of %m")
        self.progress_bar.setToolTip("Steps of the run so far")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        controls.addWidget(self.progress_bar)
        self.status_label = SteadyLabel(" ")
        self.status_label.setToolTip("What the run looks at, why it cannot start, or how it ended")
        controls.addWidget(self.status_label)
        controls.addStretch(1)

        views = QSplitter(Qt.Horizontal)
        self.picture_view = ImageView("the picture appears here")
        self.picture_view.setToolTip("The picture as gradient ascent paints it, from gray noise, in the input's "
                                     "own range (0 black .. 1 white). Orange: the unit's receptive field; pixels "
                                     "outside it do not move the unit and fade to gray")
        self.picture_view.setMinimumSize(120, 120)
        self.curve_plot = pg.PlotWidget(background="w")
        self.curve_plot.setToolTip("The objective at every step (what the ascent raises). Gray: the mean and "
                                   "spread (one standard deviation) of the same objective for 20 pictures of "
                                   "random noise")
        self.curve_plot.setMinimumSize(120, 120)
        self.curve_plot.setMenuEnabled(False)
        self.curve_plot.showGrid(x=True, y=True, alpha=0.2)
        self.curve_plot.setLabel("bottom", "step")
        self.curve_plot.setLabel("left", "objective")
        self.curve = self.curve_plot.plot(pen=pg.mkPen(CURVE_COLOR, width=1.5))
        self.noise_band = pg.LinearRegionItem(orientation="horizontal", movable=False,
                                              brush=pg.mkBrush(136, 136, 136, 50), pen=pg.mkPen(None))
        self.noise_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(NOISE_COLOR, width=1, style=Qt.DashLine))
        for item in (self.noise_band, self.noise_line):
            item.setVisible(False)
            self.curve_plot.addItem(item)
        views.addWidget(self.picture_view)
        views.addWidget(self.curve_plot)
        views.setSizes([400, 300])
        h.addWidget(views, 1)
        return page

    def _saliency_page(self) -> QWidget:
        self.saliency_page = page = _Page()
        v = QVBoxLayout(page)
        v.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        row.addWidget(QLabel("Class"))
        self.saliency_class_combo = QComboBox()
        self.saliency_class_combo.setToolTip("The class whose score the maps explain: the predicted one, or any")
        self.saliency_class_combo.currentIndexChanged.connect(self.saliency_drawing_request)
        self.fill_combo = QComboBox()
        self.fill_combo.addItems(["cover with the mean", "cover with 0 (black)"])
        self.fill_combo.setToolTip("What an occluding patch is filled with: each channel's mean of the input, or 0")
        self.fill_combo.currentIndexChanged.connect(self.saliency_drawing_request)
        self.over_check = QCheckBox("over the input")
        self.over_check.setChecked(True)
        self.over_check.setToolTip("Draw the maps as see-through heat over the input, or alone")
        self.over_check.toggled.connect(self._draw_saliency)
        for w in (self.saliency_class_combo, self.fill_combo, self.over_check):
            row.addWidget(w)
        row.addStretch(1)
        v.addLayout(row)
        maps = QHBoxLayout()
        self.saliency_view = MapView("saliency")
        self.saliency_view.setToolTip("Saliency: |d score / d input| (the largest over the channels). Bright where "
                                      "a small change of the pixel moves the class score most")
        self.occlusion_view = MapView("occlusion")
        self.occlusion_view.setToolTip("Occlusion: how much the class score drops when a patch around the pixel is "
                                       "covered (red: it drops, blue: it rises). No gradient: a check on saliency")
        maps.addWidget(self.saliency_view)
        maps.addWidget(self.occlusion_view)
        v.addLayout(maps, 1)
        self.saliency_label = SteadyLabel(" ")
        self.saliency_label.setToolTip("The class the maps explain, its score, and the occlusion patches")
        self.saliency_label.setMinimumHeight(2 * self.fontMetrics().lineSpacing() + 4)  # the page does not ask it
        v.addWidget(self.saliency_label)
        return page

    def saliency_drawing_request(self, *_) -> None:
        drawing = getattr(self, "saliency_drawing", None)
        if drawing is not None:
            drawing.request()

    # ------------------------------------------------------------------ state -> widgets

    def _class_count(self) -> int:
        m = self.net.view_model
        if m is None or not m.layers:
            return 0
        n = score_layers(m)
        shape = m.layers[n - 1].out_shape if n > 0 else ()
        return int(shape[0]) if len(shape) == 1 else 0

    def _fill_classes(self) -> None:
        val = self.net.val
        names = class_names(self._class_count(), val.classes if val is not None else None)
        for combo, extra in ((self.class_combo, []), (self.saliency_class_combo, ["the predicted class"])):
            items = extra + [f"{i}: {n}" if n != str(i) else n for i, n in enumerate(names)]
            if [combo.itemText(i) for i in range(combo.count())] == items:
                continue
            keep = combo.currentIndex()
            with QSignalBlocker(combo):
                combo.clear()
                combo.addItems(items)
                combo.setCurrentIndex(min(max(keep, 0), len(items) - 1))

    def _model_changed(self) -> None:
        self._fill_classes()
        self._sync_controls()

    def target(self) -> Target | None:
        """The target the controls describe (None: a unit target with no unit selected)."""
        kind = TARGETS[self.target_combo.currentIndex()][0]
        if kind == "class":
            return Target.class_score(max(self.class_combo.currentIndex(), 0))
        unit = self.net.unit
        if unit is None:
            return None
        layer, channel, y, x = unit
        return Target.unit(layer, channel, y, x) if kind == "unit" else Target.whole_channel(layer, channel)

    def target_reason(self) -> str:
        """Why the chosen target cannot be run ("" when it can)."""
        m = self.net.view_model
        if m is None:
            error = self.net.report.error
            return f"the model does not work yet: {error}" if error else "the model does not work yet"
        kind = TARGETS[self.target_combo.currentIndex()][0]
        if kind != "class":
            problem = unit_problem(m)
            if problem:
                return problem
        target = self.target()
        if target is None:
            return "no unit selected: click a unit in a feature map (Feature maps tab)"
        return target_problem(m, target)

    def _sync_controls(self, *_) -> None:
        m = self.net.view_model
        running = self.worker is not None
        unit_reason = unit_problem(m) if m is not None else self.target_reason()
        class_reason = target_problem(m, Target.class_score(0)) if m is not None else unit_reason
        combo_model = self.target_combo.model()
        for i, (kind, text) in enumerate(TARGETS):
            reason = class_reason if kind == "class" else unit_reason
            item = combo_model.item(i)
            item.setEnabled(not reason)
            item.setToolTip(reason or text)
        self.class_combo.setVisible(TARGETS[self.target_combo.currentIndex()][0] == "class")
        self.class_combo.setEnabled(not class_reason and not running)
        reason = self.target_reason()
        self.start_button.setEnabled(not reason and not running)
        self.start_button.setToolTip(f"Cannot start: {reason}" if reason else
                                     "Paint the picture that excites the target most, starting from gray noise")
        self.stop_button.setEnabled(running)
        self.target_combo.setEnabled(not running)
        self.settings_form.setEnabled(not running)
        if not running:
            self._set_status(reason or self._ready_text(), error=bool(reason))

    def _ready_text(self) -> str:
        if self.result is not None and self.target() == self._run_target:
            return self._result_text()
        target = self.target()
        return f"Ready: {target.text(self.net.view_model)}." if target is not None else " "

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status_label.label.setStyleSheet(ERROR_STYLE if error else "")
        self.status_label.setText(text)

    def settings(self) -> AscentSettings:
        return self.settings_form.settings()

    # ------------------------------------------------------------------ the run

    def start(self) -> bool:
        """Start a run on a copy of the model as it is now (False, with the reason shown, when it cannot)."""
        reason = self.target_reason()
        if reason or self.worker is not None:
            self._set_status(reason or "a run is going", error=bool(reason))
            return False
        target = self.target()
        assert target is not None and self.net.view_model is not None
        settings = self.settings()
        worker = AscentWorker(self.net.view_model.copy(), target, settings, INPUT_RANGE)
        worker.started_run.connect(self._on_started)
        worker.progress.connect(self._on_progress)
        worker.done.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        self.worker, self.result, self.last_progress, self.run_info = worker, None, None, None
        self._target_text = target.text(self.net.view_model)
        self._run_target = target
        self._curve_x, self._curve_y = [], []
        self.curve.setData([], [])
        for item in (self.noise_band, self.noise_line):
            item.setVisible(False)
        self._draw_field(target)
        self.progress_bar.setRange(0, settings.steps)
        self.progress_bar.setValue(0)
        self.time_label.setText(" ")
        self._sync_controls()
        self._set_status(f"Painting what {self._target_text} wants to see...")
        launch(worker)
        return True

    def _draw_field(self, target: Target) -> None:
        """The receptive field of a unit target on the picture (the engine's box)."""
        view, m = self.picture_view, self.net.view_model
        view.clear_overlay()
        self.field_box = None
        if target.kind == "unit" and m is not None and len(m.layers[target.layer].out_shape) == 3:
            box = unit_box(m.layers, target.layer, target.y, target.x)
            self.field_box = box
            view.add_box(box.top, box.left, box.height, box.width, BOX_COLOR,
                         Qt.DashLine if box.reaches_padding else Qt.SolidLine, z=12)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    def shutdown(self) -> None:
        """Stop a run and wait for the threads (before the window goes)."""
        for w in (self.worker, self.saliency_worker):
            if w is not None:
                getattr(w, "stop", lambda: None)()
                w.wait()

    def _current(self) -> bool:
        return self.worker is not None and self.sender() is self.worker

    def _on_started(self, info) -> None:
        if not self._current():
            return
        self.run_info = info
        b = info.baseline
        self.noise_band.setRegion((b.mean - b.std, b.mean + b.std))
        self.noise_line.setValue(b.mean)
        for item in (self.noise_band, self.noise_line):
            item.setVisible(True)
        target = self.worker.target if self.worker is not None else None
        through = ""
        if target is not None and target.kind != "class" and info.optimised_layer != target.layer:
            through = (f" through its input (layer {info.optimised_layer} ({info.optimised_type})'s output: the "
                       "activation only rises with it)")
        self._set_status(f"Painting what {self._target_text} wants to see{through}; jitter {info.jitter} px...")

    def _on_progress(self, p) -> None:
        if not self._current():
            return
        self.last_progress = p
        for step, objective in p.objectives:
            self._curve_x.append(step)
            self._curve_y.append(objective)
        self.curve.setData(np.asarray(self._curve_x, float), np.asarray(self._curve_y, float))
        self.progress_bar.setValue(p.step)
        rate = p.step / p.elapsed if p.elapsed > 0 else 0.0
        self.time_label.setText(f"{p.elapsed:.1f} s, {rate:,.0f} steps/s")
        self.picture_drawing.request()

    def _draw_picture(self) -> None:
        p = self.last_progress
        if p is None:
            return
        picture, levels = input_picture(p.image)
        self.picture_view.set_image(picture, levels=levels)
        self.picture_view.set_title(f"step {p.step}: {p.objective:.4g}")

    def _release(self) -> None:
        w, self.worker = self.worker, None
        if w is not None:
            w.wait()  # its thread is only quitting now

    def _on_done(self, result) -> None:
        if not self._current():
            return
        self._release()
        self.result = result
        if result.last is not None:
            self.last_progress = result.last
            self.picture_drawing.request()
        self._sync_controls()
        self.runFinished.emit("stopped" if result.stopped else "done")

    def _result_text(self) -> str:
        r = self.result
        if r is None or r.last is None or r.objective is None:
            return "Stopped before the first step." if r is not None else ""
        b = r.baseline
        how = f"Stopped after {r.last.step} of {r.last.steps} steps" if r.stopped else f"Done: {r.last.step} steps"
        above = r.above_noise
        lead = (f"{above:.1f} noise std above their mean" if above is not None and np.isfinite(above)
                else "noise gives the same value every time")
        text = (f"{how} in {r.last.elapsed:.1f} s. {self._target_text}: objective {r.objective:.4g} for this "
                f"picture, {b.mean:.4g} +- {b.std:.3g} for 20 noise pictures ({lead}).")
        info = self.run_info
        if info is not None and r.value is not None and r.value != r.objective:
            text += (f" The objective is layer {info.optimised_layer}'s output; the unit's own value is "
                     f"{r.value:.4g} here, {float(b.value.mean()):.4g} for noise.")
        return text

    def _on_failed(self, text: str) -> None:
        if not self._current():
            return
        self._release()
        self.result = None
        self._sync_controls()
        self._set_status(f"The run failed: {text}", error=True)
        self.runFinished.emit("failed")

    # ------------------------------------------------------------------ saliency

    def saliency_reason(self) -> str:
        m = self.net.view_model
        if m is None:
            return "the model does not work yet"
        problem = target_problem(m, Target.class_score(0))
        if problem:
            return problem
        if self.net.current_input is None:
            return "no input yet: open an image or choose a validation sample"
        return ""

    def _request_saliency(self) -> None:
        """Compute both maps for the newest input (after the running job, which is never waited for)."""
        reason = self.saliency_reason()
        for w in (self.saliency_class_combo, self.fill_combo, self.over_check):
            w.setEnabled(not reason)
        if reason:
            self._saliency_wanted = False
            self._saliency_job += 1  # a job still running reports for an input that is gone
            self.saliency_result = None
            for view in (self.saliency_view, self.occlusion_view):
                view.clear_map(reason)
            self.saliency_label.label.setStyleSheet(ERROR_STYLE)
            self.saliency_label.setText(f"No saliency: {reason}")
            self.saliencyShown.emit()
            return
        if self.saliency_worker is not None:
            self._saliency_wanted = True
            return
        self._saliency_job += 1
        index = self.saliency_class_combo.currentIndex()
        class_index = None if index <= 0 else index - 1
        fill = "zero" if self.fill_combo.currentIndex() == 1 else "mean"
        x = np.array(self.net.current_input, copy=True)
        worker = SaliencyWorker(self._saliency_job, self.net.view_model.copy(), x, class_index, fill)
        worker.done.connect(self._on_saliency)
        worker.failed.connect(self._on_saliency_failed)
        self.saliency_worker = worker
        launch(worker)

    def _saliency_finished(self) -> None:
        w, self.saliency_worker = self.saliency_worker, None
        if w is not None:
            w.wait()
        if self._saliency_wanted:
            self._saliency_wanted = False
            self.saliency_drawing.request()

    def _on_saliency(self, job: int, result) -> None:
        if self.sender() is not self.saliency_worker:
            return
        gone = job != self._saliency_job  # the maps were cleared since (no model, no input)
        self._saliency_finished()  # the next request, if one waits, starts now
        if gone:
            return
        self.saliency_result = result
        self._draw_saliency()
        self.saliencyShown.emit()

    def _on_saliency_failed(self, job: int, text: str) -> None:
        if self.sender() is not self.saliency_worker:
            return
        gone = job != self._saliency_job
        self._saliency_finished()
        if gone:
            return
        self.saliency_result = None
        for view in (self.saliency_view, self.occlusion_view):
            view.clear_map("the maps failed")
        self.saliency_label.label.setStyleSheet(ERROR_STYLE)
        self.saliency_label.setText(f"The maps failed: {text}")
        self.saliencyShown.emit()

    def _draw_saliency(self, *_) -> None:
        r = self.saliency_result
        if r is None:
            return
        under = r.input if self.over_check.isChecked() else None
        sal, occ = r.saliency, r.occlusion
        top = float(sal.map.max()) or 1.0
        self.saliency_view.show_map(sal.map, (0.0, top), False, under)
        self.saliency_view.set_title(f"saliency |d score / d input|, 0 .. {top:.3g}")
        m = float(np.abs(occ.map).max()) or 1.0
        self.occlusion_view.show_map(occ.map, (-m, m), True, under)
        self.occlusion_view.set_title(f"occlusion: score drop, -{m:.3g} .. +{m:.3g}")
        names = class_names(self._class_count(), self.net.val.classes if self.net.val is not None else None)
        name = names[sal.class_index] if sal.class_index < len(names) else str(sal.class_index)
        which = "the predicted class" if sal.class_index == sal.predicted else f"predicted: {names[sal.predicted]}"
        fill = "its mean" if self.fill_combo.currentIndex() == 0 else "0"
        self.saliency_label.label.setStyleSheet("")
        self.saliency_label.setText(
            f"Class {name} ({which}), score {sal.score:.4g} before the softmax. Occlusion: {occ.patch}x{occ.patch} "
            f"patches every {occ.stride} px, filled with {fill}; largest drop {float(occ.map.max()):.4g}. "
            f"{r.ms:.0f} ms")
