"""The "Learn a filter" mode: pick a target, start, and watch a kernel grow from noise into the
filter that makes it.

Targets are one map each (K = 1), so one filter is learned: a hidden preset kernel (revealed on
demand after the run), an OpenCV operation (computed on the channels' gray mean, see
convlab.core.filter_targets) or a picture the learner loads. The fit runs in a FitWorker thread;
the panel only draws what the worker reports and what the engine computes (the exact
least-squares answer, the final output). For targets no single linear filter can make (Canny,
morphology, any loaded picture) the best linear filter is shown with a note, and a two-layer
conv - ReLU - conv can be learned instead to compare the losses.

Learning works on a copy of the lab's image scaled to at most MAX_LEARN_SIDE pixels a side, on
[0, 1] values: enough pixels for up to 11 x 11 x 3 weights, and steps fast enough to watch.
"""

from __future__ import annotations

import collections
import os
import time
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from convlab.core import functional as F
from convlab.core import kernels
from convlab.core.filter_targets import (
    OPENCV_TARGETS,
    image_target,
    learning_input,
    learning_shape,
    opencv_kernel,
    opencv_target,
    preset_target,
    resize_note,
    same_padding,
    sample_target,
    why_not_linear,
)
from convlab.core.images import read_image
from convlab.core.playground import FilterBank

from ..views.controls import spin_box
from ..views.image_view import ImageView
from ..workers import FitWorker

MAX_LEARN_SIDE = 96
TWO_LAYER_HIDDEN = 8
TWO_LAYER_LR = 0.01
LOSS_FLOOR = 1e-12  # losses below this are drawn at it: 'exact' on a log axis
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "momentum": "SGD with momentum (0.9)"}
PACES = {  # steps per second (None: as fast as the computer goes)
    "watch": ("Watch (about 100 steps/s)", 100.0),
    "slow": ("Slow motion (about 20 steps/s)", 20.0),
    "fast": ("As fast as possible", None),
}
GENERIC_IMAGE_NOTE = (
    "A loaded picture can come from any operation, linear or not: if the best linear filter still leaves a "
    "large loss, no single weighted sum of pixels makes this target."
)


def kernel_mosaic(weight: np.ndarray) -> np.ndarray:
    """(K, C, F, F) weights as one 2-D picture: channels side by side, filters one below the other,
    one zero (white on the diverging scale) row or column between them."""
    w = np.asarray(weight, np.float32)
    k, c, f, _ = w.shape
    out = np.zeros((k * (f + 1) - 1, c * (f + 1) - 1), np.float32)
    for i in range(k):
        for j in range(c):
            out[i * (f + 1): i * (f + 1) + f, j * (f + 1): j * (f + 1) + f] = w[i, j]
    return out


def lab_filter(weight: np.ndarray, bias: float, channels: int) -> tuple[np.ndarray, float]:
    """A filter learned here, as the playground's bank needs it: ``(channels, F, F)`` weights and a bias.

    Learning ran on inputs in [0, 1]; the lab filters pixel values 0..255, i.e. x_lab = 255 x. For a
    linear filter w . x_lab + 255 b = 255 (w . x + b): the same weights with the bias times 255 give
    the learned output on the lab's 0..255 scale.

    The weights have one slice per channel of the image they were learned on. If the lab's colour
    mode has changed since (gray <-> RGB), they are converted like the lab converts custom filters:
    gray -> RGB puts w / 3 on each channel (the same response to a gray picture, whose R = G = B),
    RGB -> gray sums the three slices (exact when the picture is gray).
    """
    w = np.asarray(weight, np.float32)
    if w.ndim != 3:
        raise ValueError(f"a learned filter is C x F x F, got shape {w.shape}")
    if w.shape[0] != channels:
        total = w.sum(axis=0, keepdims=True)
        w = total if channels == 1 else np.repeat(total / channels, channels, axis=0)
    return np.ascontiguousarray(w, np.float32), float(bias) * 255.0


EXTRA_PRESET_DEFAULTS = ("sobel_y", "laplacian", "gaussian_3")  # filters 2..4 of a hidden bank
RECENT_FRAMES = 8  # camera frames kept as training data
RECENT_GAP_S = 0.5  # at least this far apart, so they differ


@dataclass
class LearnRun:
    """Everything one run learns from, fixed when Start is pressed."""

    kind: str  # "preset" | "opencv" | "image"
    key: str  # preset or OpenCV key, or the target picture's file name
    label: str  # the target in words
    inputs: np.ndarray  # (N, C, H, W) in [0, 1]
    full: np.ndarray  # (N, 1, H, W): the 'same'-size targets
    targets: np.ndarray  # (N, 1, H', W'): what this kernel, stride, padding and dilation must make
    true: np.ndarray | None  # (1, C, Ft, Ft) the filter that makes the target, when there is one
    linear: bool  # can one linear filter make the target?
    kernel: int
    stride: int
    padding: int
    dilation: int
    steps: int
    lr: float
    optimizer: str
    note: str = ""


def _spin(lo, hi, value, tip, suffix=""):
    return spin_box(lo, hi, value, tip, suffix=suffix, tracking=True)


def _button(text, tip, slot):
    b = QPushButton(text)
    b.setToolTip(tip)
    b.clicked.connect(slot)
    return b


class LearnPanel(QWidget):
    """Learn a filter from a target: controls on the left, live views on the right."""

    finished = Signal(str)  # a run ended: "filter", "two_layer" or "error"
    message = Signal(str)  # for the status bar

    _photo_cache: dict[str, np.ndarray] = {}

    def __init__(self, lab_state, parent=None):
        super().__init__(parent)
        self.lab = lab_state
        self.run: LearnRun | None = None
        self.result = None  # FitResult of the last filter run
        self.reference_result = None  # least squares for the filter run's geometry
        self.two_layer_result = None
        self.two_layer_reference = None  # least squares for the two-layer geometry ('same', stride 1)
        self.losses: list[float] = []  # the filter run's loss per step
        self.loss_steps: list[int] = []
        self.two_layer_losses: list[float] = []
        self.revealed = False
        self._worker: FitWorker | None = None
        self._worker_kind = ""
        self._t0 = 0.0
        self._weight = None  # the learned weights shown now (K, C, F, F)
        self._target_image: np.ndarray | None = None
        self._target_path = ""

        controls = QWidget()
        lay = QVBoxLayout(controls)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self._target_box())
        lay.addWidget(self._data_box())
        lay.addWidget(self._settings_box())
        lay.addWidget(self._run_box())
        lay.addWidget(self._result_box())
        lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(controls)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(controls.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 4)

        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(self._views())
        splitter.setStretchFactor(1, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(splitter)

        self._recent: collections.deque = collections.deque(maxlen=RECENT_FRAMES)
        self._recent_at = -1e9
        self.lab.imageChanged.connect(self._remember_frame)
        self.lab.imageChanged.connect(self._update_data_info)
        app = QApplication.instance()
        if app is not None:  # a run still going when the app quits must not outlive its thread object
            app.aboutToQuit.connect(self.shutdown)
        self._target_kind_changed()
        self._update_data_info()
        self._sync_controls()

    # ------------------------------------------------------------------ building

    def _target_box(self) -> QGroupBox:
        box = QGroupBox("Target: what the filter must make")
        v = QVBoxLayout(box)
        self.target_group = QButtonGroup(self)
        self.target_preset_radio = QRadioButton("Hidden preset kernel")
        self.target_preset_radio.setToolTip(
            "A preset kernel makes the target; you do not see which weights until you press Reveal after the run")
        self.target_opencv_radio = QRadioButton("OpenCV operation")
        self.target_opencv_radio.setToolTip("An OpenCV function makes the target from the gray image")
        self.target_image_radio = QRadioButton("Target image (loaded)")
        self.target_image_radio.setToolTip("A picture you load is the target, e.g. the image edited in another program")
        for i, r in enumerate((self.target_preset_radio, self.target_opencv_radio, self.target_image_radio)):
            self.target_group.addButton(r, i)
        self.target_preset_radio.setChecked(True)
        self.target_group.idToggled.connect(self._target_kind_changed)

        self.preset_combo = QComboBox()
        self.preset_combo.setToolTip("Which preset kernel makes the target (its weights stay hidden)")
        for key, p in kernels.KERNEL_PRESETS.items():
            if not p.mixes_channels:
                self.preset_combo.addItem(p.name, key)
        self.preset_combo.setCurrentIndex(max(self.preset_combo.findData("sobel_x"), 0))
        # with K filters, filters 2..K learn these further hidden presets (a small bank at once)
        self.extra_preset_combos = []
        for n, default in enumerate(EXTRA_PRESET_DEFAULTS, start=2):
            combo = QComboBox()
            combo.setToolTip(f"The hidden preset that filter {n} of the learned bank must make")
            for i in range(self.preset_combo.count()):
                combo.addItem(self.preset_combo.itemText(i), self.preset_combo.itemData(i))
            combo.setCurrentIndex(max(combo.findData(default), 0))
            combo.setVisible(False)
            self.extra_preset_combos.append(combo)

        self.opencv_combo = QComboBox()
        self.opencv_combo.setToolTip("Which OpenCV operation makes the target")
        for key, t in OPENCV_TARGETS.items():
            self.opencv_combo.addItem(t.name + ("" if t.linear else " (not linear)"), key)
            self.opencv_combo.setItemData(self.opencv_combo.count() - 1, t.explanation, Qt.ToolTipRole)
        self.opencv_combo.currentIndexChanged.connect(self._opencv_changed)
        self.opencv_help = QLabel()
        self.opencv_help.setWordWrap(True)
        self.opencv_help.setStyleSheet("color:#444")
        self.opencv_help.setToolTip("What the chosen OpenCV operation does")

        self.image_path = QLineEdit()
        self.image_path.setPlaceholderText("a PNG or JPEG file")
        self.image_path.setToolTip("The target picture's file; press Enter to load a typed path")
        self.image_path.editingFinished.connect(self._path_edited)
        self.browse_btn = _button("Browse...", "Choose a target picture (PNG, JPEG, BMP, TIFF, WebP)", self.browse)
        row = QHBoxLayout()
        row.addWidget(self.image_path, 1)
        row.addWidget(self.browse_btn)
        self.target_note = QLabel()
        self.target_note.setWordWrap(True)
        self.target_note.setStyleSheet("color:#444")
        self.target_note.setToolTip("The loaded target picture and how it is fitted to the input")

        v.addWidget(self.target_preset_radio)
        v.addWidget(self.preset_combo)
        for combo in self.extra_preset_combos:
            v.addWidget(combo)
        v.addWidget(self.target_opencv_radio)
        v.addWidget(self.opencv_combo)
        v.addWidget(self.opencv_help)
        v.addWidget(self.target_image_radio)
        v.addLayout(row)
        v.addWidget(self.target_note)
        self._opencv_changed()
        return box

    def _data_box(self) -> QGroupBox:
        box = QGroupBox("Training data")
        v = QVBoxLayout(box)
        self.data_group = QButtonGroup(self)
        self.data_current_radio = QRadioButton("The current image")
        self.data_current_radio.setToolTip("Learn from the playground's image (gray or RGB, as the lab's colour mode)")
        self.data_samples_radio = QRadioButton("The current image and the sample photos")
        self.data_samples_radio.setToolTip(
            "Also learn from the built-in photos, resized to the current image's size: more kinds of detail, "
            "so the filter fits pictures in general, not one picture")
        self.data_frames_radio = QRadioButton("Recent camera frames")
        self.data_frames_radio.setToolTip(
            f"The last {RECENT_FRAMES} pictures the lab showed, at least {RECENT_GAP_S:g} s apart: while the camera "
            "runs, frames as they come, so the filter learns from a moving scene")
        self.data_group.addButton(self.data_current_radio, 0)
        self.data_group.addButton(self.data_samples_radio, 1)
        self.data_group.addButton(self.data_frames_radio, 2)
        self.data_current_radio.setChecked(True)
        self.data_group.idToggled.connect(self._update_data_info)
        self.data_info = QLabel()
        self.data_info.setWordWrap(True)
        self.data_info.setStyleSheet("color:#444")
        self.data_info.setToolTip(f"Learning uses a copy at most {MAX_LEARN_SIDE} px on a side, values 0..1")
        v.addWidget(self.data_current_radio)
        v.addWidget(self.data_samples_radio)
        v.addWidget(self.data_frames_radio)
        v.addWidget(self.data_info)
        return box

    def _settings_box(self) -> QGroupBox:
        box = QGroupBox("Settings")
        form = QFormLayout(box)
        self.kernel_spin = _spin(1, kernels.MAX_KERNEL_SIZE, 3, "Side F of the learned F x F kernel (per channel)")
        self.filters_spin = _spin(1, 1 + len(EXTRA_PRESET_DEFAULTS), 1, "")
        self.filters_spin.setToolTip(
            "K: how many filters are learned at once, one per target map. Hidden presets can make a bank of up "
            "to 4 maps (choose each preset above); an OpenCV operation or a picture is one map, so K = 1.")
        self.filters_spin.valueChanged.connect(self._target_kind_changed)
        self.stride_spin = _spin(1, 4, 1, "Step between kernel positions; the target is sampled at the same places")
        self.padding_spin = _spin(0, 20, 1, "Zeros around the image. Set to 'same' (dilation x F//2) whenever the "
                                  "kernel size or dilation changes; less padding crops the target")
        self.dilation_spin = _spin(1, 4, 1, "Spacing of the kernel's taps: a dilated 3x3 cannot be a plain 3x3 "
                                   "filter, so it can only approximate one")
        self.kernel_spin.valueChanged.connect(self._same_padding)
        self.dilation_spin.valueChanged.connect(self._same_padding)
        self.optimizer_combo = QComboBox()
        self.optimizer_combo.setToolTip("How each step moves the weights along the loss gradient")
        for key, name in OPTIMIZERS.items():
            self.optimizer_combo.addItem(name, key)
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(4)
        self.lr_spin.setRange(0.0001, 2.0)
        self.lr_spin.setSingleStep(0.01)
        self.lr_spin.setValue(0.05)
        self.lr_spin.setToolTip("Learning rate: the size of each step. Too big and the loss jumps or explodes; "
                                "too small and it crawls")
        self.steps_spin = _spin(1, 100000, 500, "How many gradient-descent steps to take")
        self.pace_combo = QComboBox()
        self.pace_combo.setToolTip("Slow the run down to watch the kernel change, or let it run flat out")
        for key, (name, _) in PACES.items():
            self.pace_combo.addItem(name, key)
        form.addRow("Kernel size", self.kernel_spin)
        form.addRow("Filters", self.filters_spin)
        form.addRow("Stride", self.stride_spin)
        form.addRow("Padding", self.padding_spin)
        form.addRow("Dilation", self.dilation_spin)
        form.addRow("Optimiser", self.optimizer_combo)
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("Steps", self.steps_spin)
        form.addRow("Pace", self.pace_combo)
        return box

    def _run_box(self) -> QGroupBox:
        box = QGroupBox("Run")
        v = QVBoxLayout(box)
        row = QHBoxLayout()
        self.start_btn = _button("Start", "Start learning from random weights", self.start)
        self.pause_btn = _button("Pause", "Hold the run between two steps / continue it", self.toggle_pause)
        self.stop_btn = _button("Stop", "End the run now and keep the weights learned so far", self.stop)
        self.reset_btn = _button("Reset", "Stop and clear the run, its curves and views", self.reset)
        for b in (self.start_btn, self.pause_btn, self.stop_btn, self.reset_btn):
            row.addWidget(b)
        self.progress_bar = QProgressBar()
        self.progress_bar.setToolTip("Steps taken of the steps asked for")
        self.progress_bar.setFormat("%v / %m steps")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.rate_label = QLabel("")
        self.rate_label.setToolTip("Gradient-descent steps per second")
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setToolTip("What the run did")
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color:#b00020")
        self.error_label.setToolTip("Why the last action did not work (the previous state is kept)")
        v.addLayout(row)
        v.addWidget(self.progress_bar)
        v.addWidget(self.rate_label)
        v.addWidget(self.status_label)
        v.addWidget(self.error_label)
        return box

    def _result_box(self) -> QGroupBox:
        box = QGroupBox("Result")
        v = QVBoxLayout(box)
        self.reveal_btn = _button("Reveal the true kernel", "Show the hidden preset's weights and the exact "
                                  "least-squares answer next to what was learned", self.reveal)
        self.use_btn = _button("Use this filter", "Add the learned filter to the playground's filter bank "
                               "(one undo step)", self.use_filter)
        self.nonlinear_note = QLabel()
        self.nonlinear_note.setWordWrap(True)
        self.nonlinear_note.setToolTip("Why one linear filter cannot make this target")
        self.two_layer_btn = _button(
            "Learn conv - ReLU - conv instead",
            f"Learn two F x F convolutions with {TWO_LAYER_HIDDEN} hidden maps and a ReLU between them (Adam, "
            f"learning rate {TWO_LAYER_LR}, 'same' padding, the same number of steps) and compare the losses",
            self.learn_two_layer)
        self.compare_label = QLabel()
        self.compare_label.setWordWrap(True)
        self.compare_label.setToolTip("The final losses of one linear filter and of two layers on the same target")
        self.nonlinear_box = QWidget()
        nv = QVBoxLayout(self.nonlinear_box)
        nv.setContentsMargins(0, 0, 0, 0)
        nv.addWidget(self.nonlinear_note)
        nv.addWidget(self.two_layer_btn)
        nv.addWidget(self.compare_label)
        self.nonlinear_box.setVisible(False)
        v.addWidget(self.reveal_btn)
        v.addWidget(self.use_btn)
        v.addWidget(self.nonlinear_box)
        return box

    def _views(self) -> QWidget:
        w = QWidget()
        g = QGridLayout(w)
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
        return w

    # ------------------------------------------------------------------ choosing

    def _target_kind(self) -> str:
        return ("preset", "opencv", "image")[max(self.target_group.checkedId(), 0)]

    def _target_kind_changed(self, *_) -> None:
        kind = self._target_kind()
        self.filters_spin.setEnabled(kind == "preset" and not self.is_running())
        if kind != "preset" and self.filters_spin.value() != 1:
            self.filters_spin.setValue(1)
        k = self.filters_spin.value()
        for n, combo in enumerate(self.extra_preset_combos, start=2):
            combo.setVisible(kind == "preset" and n <= k)
            combo.setEnabled(kind == "preset")
        self.preset_combo.setEnabled(kind == "preset")
        self.opencv_combo.setEnabled(kind == "opencv")
        self.opencv_help.setEnabled(kind == "opencv")
        self.image_path.setEnabled(kind == "image")
        self.browse_btn.setEnabled(kind == "image")

    def _opencv_changed(self, *_) -> None:
        key = self.opencv_combo.currentData()
        self.opencv_help.setText(OPENCV_TARGETS[key].explanation if key else "")

    def _remember_frame(self, now: float | None = None) -> None:
        """Keep the lab's pictures (live camera frames) at least RECENT_GAP_S apart as training data."""
        now = time.monotonic() if now is None else now
        if self.lab.image is not None and now - self._recent_at >= RECENT_GAP_S:
            self._recent.append(self.lab.image)
            self._recent_at = now

    def preset_keys(self) -> list[str]:
        """The hidden presets of the K filters: the first choice, then the extra ones."""
        k = self.filters_spin.value()
        return [self.preset_combo.currentData()] + [c.currentData() for c in self.extra_preset_combos[: k - 1]]

    def _same_padding(self, *_) -> None:
        self.padding_spin.setValue(same_padding(self.kernel_spin.value(), self.dilation_spin.value()))

    def _learning_shape(self) -> tuple[int, int] | None:
        if self.lab.image is None:
            return None
        h, w = self.lab.image.shape[:2]
        return learning_shape(h, w, MAX_LEARN_SIDE)

    def _photo_keys(self) -> list[str]:
        from convlab.core.samples import SAMPLES

        return [k for k, s in SAMPLES.items() if s.is_photo]

    def _update_data_info(self, *_) -> None:
        shape = self._learning_shape()
        if shape is None:
            self.data_info.setText("No image: open one in the playground first.")
            return
        h, w = shape
        text = f"Learning on a {w}x{h} {self.lab.color} copy of {self.lab.image_name or 'the image'}"
        if self.data_group.checkedId() == 1:
            text += f" and {len(self._photo_keys())} sample photos resized to {w}x{h}"
        self.data_info.setText(text + ", values 0..1.")

    def browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Target image", os.path.dirname(self._target_path),
                                              "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp);;All files (*)")
        if path:
            self.load_target_image(path)

    def _path_edited(self) -> None:
        text = self.image_path.text().strip()
        if text and text != self._target_path:
            self.load_target_image(text)

    def load_target_image(self, path: str) -> bool:
        """Load a target picture; on error the message is shown and the previous target stays."""
        try:
            img = read_image(path)
        except ValueError as e:  # ImageError included
            self._error(f"target image not loaded: {e}")
            with QSignalBlocker(self.image_path):
                self.image_path.setText(self._target_path)
            return False
        self._target_image, self._target_path = img, str(path)
        with QSignalBlocker(self.image_path):
            self.image_path.setText(self._target_path)
        self.target_image_radio.setChecked(True)
        h, w = img.shape[:2]
        note = f"{os.path.basename(str(path))}: {w}x{h}"
        shape = self._learning_shape()
        if shape is not None and resize_note(img.shape, shape):
            note += f"; {resize_note(img.shape, shape)}"
        self.target_note.setText(note)
        self._error("")
        return True

    @property
    def target_image(self) -> np.ndarray | None:
        return self._target_image

    # ------------------------------------------------------------------ preparing a run

    def _photos(self) -> list[np.ndarray]:
        from convlab.core.samples import load_sample

        out = []
        for key in self._photo_keys():
            if key not in self._photo_cache:
                LearnPanel._photo_cache[key] = load_sample(key)
            out.append(self._photo_cache[key])
        return out

    def prepare_run(self) -> LearnRun:
        """Everything the run needs, from the controls and the lab; ValueError says what is wrong."""
        if self.lab.image is None:
            raise ValueError("no image is loaded: open one in the playground first")
        shape = self._learning_shape()
        images = [self.lab.image]
        if self.data_group.checkedId() == 1:
            images += self._photos()
        elif self.data_group.checkedId() == 2:
            frames = [img for img in self._recent if img.shape[:2] == self.lab.image.shape[:2]]
            if len(frames) < 2:
                raise ValueError("fewer than 2 recent frames of this size: start the camera (or open a few "
                                 "images of the same size) and try again")
            images = frames
        color = self.lab.color
        inputs = np.stack([learning_input(img, color, shape) for img in images])
        c = inputs.shape[1]
        kind = self._target_kind()
        true, note = None, ""
        if kind == "preset":
            keys = self.preset_keys()
            key = ",".join(keys)
            full = np.stack([np.concatenate([preset_target(x, k) for k in keys]) for x in inputs])
            trues = [kernels.preset(k).filter(c) for k in keys]
            size = max(t.shape[-1] for t in trues)
            true = np.stack([kernels.resize_kernel(t, size) for t in trues])
            linear = True
            label = "a hidden preset kernel" if len(keys) == 1 else f"{len(keys)} hidden preset kernels"
        elif kind == "opencv":
            key = self.opencv_combo.currentData()
            spec = OPENCV_TARGETS[key]
            full = np.stack([opencv_target(x, key) for x in inputs])
            linear, label = spec.linear, spec.name
            k = opencv_kernel(key, c)
            true = None if k is None else k[None]
        else:
            if self._target_image is None:
                raise ValueError("no target image: load one with Browse... first")
            if len(images) > 1:
                raise ValueError("a loaded target image belongs to the current image only: choose "
                                 "'The current image' as training data")
            key = os.path.basename(self._target_path)
            full = image_target(self._target_image, shape)[None]
            note = resize_note(self._target_image.shape, shape)
            linear, label = False, f"the picture {key}"
        f, s, p, d = (self.kernel_spin.value(), self.stride_spin.value(), self.padding_spin.value(),
                      self.dilation_spin.value())
        targets = np.stack([sample_target(t, f, s, p, d) for t in full])
        return LearnRun(kind, key, label, inputs, full, targets, true, linear, f, s, p, d,
                        self.steps_spin.value(), self.lr_spin.value(), self.optimizer_combo.currentData(), note)

    # ------------------------------------------------------------------ running

    def is_running(self) -> bool:
        return self._worker is not None and self._worker.is_running()

    def _max_rate(self):
        return PACES[self.pace_combo.currentData()][1]

    def start(self) -> bool:
        """Learn one filter from random weights; False (and a message) if the run cannot start."""
        if self.is_running():
            return False
        try:
            run = self.prepare_run()
        except ValueError as e:
            self._error(str(e))
            return False
        self._error("")
        self._clear_run()
        self.run = run
        self.status_label.setText(f"Learning {run.kernel}x{run.kernel} weights for {run.label}"
                                  + (f" ({run.note})" if run.note else "") + "...")
        self._draw_target()
        ref = dict(kernel=run.kernel, stride=run.stride, padding=run.padding, dilation=run.dilation)
        worker = FitWorker(run.inputs, run.targets, reference=ref, max_rate=self._max_rate(),
                           filters=run.targets.shape[1],
                           steps=run.steps, lr=run.lr, optimizer=run.optimizer, **ref)
        self._launch(worker, "filter", run.steps)
        return True

    def learn_two_layer(self) -> bool:
        """Learn conv - ReLU - conv on the same data and target, to compare with one linear filter."""
        run = self.run
        if run is None or self.is_running():
            return False
        k = run.kernel if run.kernel % 2 else min(run.kernel + 1, kernels.MAX_KERNEL_SIZE)
        self._error("")
        self.two_layer_result = self.two_layer_reference = None
        self.two_layer_losses = []
        self.two_layer_curve.setData([], [])
        self.compare_label.setText(f"Learning conv {k}x{k} - ReLU - conv {k}x{k}...")
        worker = FitWorker(run.inputs, run.full, two_layer=True, reference=dict(kernel=k, padding=k // 2),
                           max_rate=self._max_rate(), kernel=k, hidden=TWO_LAYER_HIDDEN, steps=run.steps,
                           lr=TWO_LAYER_LR)
        self._two_layer_kernel = k
        self._launch(worker, "two_layer", run.steps)
        return True

    def _launch(self, worker: FitWorker, kind: str, steps: int) -> None:
        self._drop_worker()
        self._worker, self._worker_kind = worker, kind
        worker.progress.connect(self._on_progress)
        worker.reference.connect(self._on_reference)
        worker.done.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        self.progress_bar.setRange(0, steps)
        self.progress_bar.setValue(0)
        self.rate_label.setText("")
        self.pause_btn.setText("Pause")
        self._t0 = time.perf_counter()
        worker.start()
        self._sync_controls()

    def _drop_worker(self) -> None:
        w = self._worker
        if w is not None:
            w.stop()
            w.wait()
        self._worker = None

    def toggle_pause(self) -> None:
        w = self._worker
        if w is None or not w.is_running():
            return
        if w.paused:
            w.resume()
            self.pause_btn.setText("Pause")
        else:
            w.pause()
            self.pause_btn.setText("Continue")

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()

    def reset(self) -> None:
        """Stop any run and clear its results, curves and views (the target and settings stay)."""
        self._drop_worker()
        self.run = None
        self._clear_run()
        self.target_view.clear_image()
        self.target_view.set_title("Target")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.rate_label.setText("")
        self.status_label.setText("")
        self._error("")
        self._sync_controls()

    # ------------------------------------------------------------------ sessions

    def setup(self) -> dict:
        """The learn-a-filter settings, as a session stores them."""
        if self.target_opencv_radio.isChecked():
            kind, key = "opencv", self.opencv_combo.currentData()
        elif self.target_image_radio.isChecked():
            kind, key = "image", self.image_path.text()
        else:
            kind, key = "preset", self.preset_combo.currentData()
        return {
            "target_kind": kind, "target_key": key or "", "kernel": self.kernel_spin.value(),
            "stride": self.stride_spin.value(), "padding": self.padding_spin.value(),
            "dilation": self.dilation_spin.value(), "optimizer": self.optimizer_combo.currentData(),
            "lr": self.lr_spin.value(), "steps": self.steps_spin.value(),
            "data": ("samples" if self.data_samples_radio.isChecked()
                     else "frames" if self.data_frames_radio.isChecked() else "current"),
            "filters": self.filters_spin.value(), "extra_presets": [c.currentData() for c in self.extra_preset_combos],
        }

    def apply_setup(self, setup: dict) -> None:
        """Restore settings saved by setup(); unknown or missing values keep the current ones."""
        kind = setup.get("target_kind")
        key = setup.get("target_key", "")
        if kind == "opencv":
            self.target_opencv_radio.setChecked(True)
            i = self.opencv_combo.findData(key)
            if i >= 0:
                self.opencv_combo.setCurrentIndex(i)
        elif kind == "image" and key:
            self.target_image_radio.setChecked(True)
            self.image_path.setText(key)
        elif kind == "preset":
            self.target_preset_radio.setChecked(True)
            i = self.preset_combo.findData(key)
            if i >= 0:
                self.preset_combo.setCurrentIndex(i)
        for spin, name in ((self.kernel_spin, "kernel"), (self.stride_spin, "stride"),
                           (self.padding_spin, "padding"), (self.dilation_spin, "dilation"),
                           (self.steps_spin, "steps")):
            if isinstance(setup.get(name), int):
                spin.setValue(setup[name])
        if isinstance(setup.get("lr"), (int, float)):
            self.lr_spin.setValue(float(setup["lr"]))
        i = self.optimizer_combo.findData(setup.get("optimizer"))
        if i >= 0:
            self.optimizer_combo.setCurrentIndex(i)
        radio = {"samples": self.data_samples_radio, "frames": self.data_frames_radio}.get(setup.get("data"))
        (radio or self.data_current_radio).setChecked(True)
        for combo, key in zip(self.extra_preset_combos, setup.get("extra_presets") or [], strict=False):
            i = combo.findData(key)
            if i >= 0:
                combo.setCurrentIndex(i)
        if isinstance(setup.get("filters"), int) and kind == "preset":
            self.filters_spin.setValue(setup["filters"])

    def shutdown(self) -> None:
        """Stop the run and wait for its thread: call before the window closes."""
        self._drop_worker()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def _clear_run(self) -> None:
        self.result = self.reference_result = None
        self.two_layer_result = self.two_layer_reference = None
        self.losses, self.loss_steps, self.two_layer_losses = [], [], []
        self.revealed = False
        self._weight = None
        for c in (self.loss_curve, self.reference_curve, self.two_layer_curve):
            c.setData([], [])
        for v in (self.learned_view, self.true_view, self.best_view, self.output_view):
            v.clear_image()
        self.learned_view.set_title("Learned kernel")
        self.true_view.set_title("True kernel")
        self.best_view.set_title("Best linear filter")
        self.output_view.set_title("Output")
        self.scale_label.setText("")
        self.nonlinear_box.setVisible(False)
        self.compare_label.setText("")

    # ------------------------------------------------------------------ worker reports

    def _current(self) -> bool:
        return self.sender() is self._worker and self._worker is not None

    def _on_reference(self, ls) -> None:
        if not self._current():
            return
        if self._worker_kind == "two_layer":
            self.two_layer_reference = ls
            return
        self.reference_result = ls
        y = max(ls.final_loss, LOSS_FLOOR)
        self.reference_curve.setData([1, max(self.run.steps, 2)], [y, y])

    def _on_progress(self, p) -> None:
        if not self._current():
            return
        self.progress_bar.setValue(p.step)
        self.rate_label.setText(f"{p.steps_per_second:,.0f} steps/s" + (" - paused" if p.paused else ""))
        if self._worker_kind == "two_layer":
            self.two_layer_losses += [loss for _, loss in p.losses]
            self._draw_two_layer_curve()
            return
        for step, loss in p.losses:
            self.loss_steps.append(step)
            self.losses.append(loss)
        self.loss_curve.setData(self.loss_steps, np.maximum(self.losses, LOSS_FLOOR))
        self._weight = p.weight
        self.learned_view.set_title(f"Learned kernel, step {p.step}")
        self._draw_kernels()
        if p.output is not None:
            self._draw_output(p.output[0], f"Output, step {p.step} (bias {p.bias[0]:+.3g})")

    def _on_done(self, result) -> None:
        if not self._current():
            return
        self._worker.wait()  # its thread is only quitting now: let it end, so the controls see it stopped
        elapsed = time.perf_counter() - self._t0
        n = len(result.losses)
        self.progress_bar.setValue(n)
        self.rate_label.setText(f"{n / elapsed:,.0f} steps/s over the run" if elapsed > 0 else "")
        self.pause_btn.setText("Pause")
        if self._worker_kind == "two_layer":
            self._two_layer_done(result)
        else:
            self._filter_done(result)
        self._sync_controls()
        self.finished.emit(self._worker_kind)

    def _on_failed(self, text: str) -> None:
        if not self._current():
            return
        self._worker.wait()
        self._error(text)
        self.status_label.setText("The run failed.")
        self._sync_controls()
        self.finished.emit("error")

    def _filter_done(self, result) -> None:
        run = self.run
        self.result = result
        self.losses = list(result.losses)
        self.loss_steps = list(range(1, len(self.losses) + 1))
        self.loss_curve.setData(self.loss_steps, np.maximum(self.losses, LOSS_FLOOR))
        self._weight = result.weight
        out, _ = F.conv2d_forward(run.inputs[:1], result.weight.astype(np.float64), result.bias.astype(np.float64),
                                  run.stride, run.padding, run.dilation)
        self._draw_output(out[0, 0], "Output with the learned kernel")
        self.learned_view.set_title(f"Learned kernel ({len(self.losses)} steps, bias {result.bias[0]:+.3g})")
        self._draw_kernels()
        ls = self.reference_result
        how = "stopped" if result.stopped else "done"
        text = f"{how.capitalize()} after {len(self.losses)} steps: loss {result.final_loss:.4g}"
        if ls is not None:
            text += f", best linear filter {ls.final_loss:.4g}"
        self.status_label.setText(text + ".")
        if not run.linear:
            self.nonlinear_note.setText(why_not_linear(run.key) if run.kind == "opencv" else GENERIC_IMAGE_NOTE)
            self.nonlinear_box.setVisible(True)
        self.message.emit(f"Learn a filter: {text}")

    def _two_layer_done(self, result) -> None:
        run = self.run
        self.two_layer_result = result
        self.two_layer_losses = list(result.losses)
        self._draw_two_layer_curve()
        out = result.model.forward(run.inputs[:1], training=False)
        self._draw_output(out[0, 0], "Output of conv - ReLU - conv")
        k = self._two_layer_kernel
        two = result.losses[-1] if result.losses else float("nan")
        ls = self.two_layer_reference
        one = ls.final_loss if ls is not None else (self.result.final_loss if self.result else float("nan"))
        verdict = "depth helps" if two < one else "no better yet: try more steps"
        self.compare_label.setText(
            f"one linear filter ({k}x{k}, the best possible): {one:.4g}, two layers (conv {k}x{k} - ReLU - "
            f"conv {k}x{k}, {TWO_LAYER_HIDDEN} hidden maps): {two:.4g} — {verdict}")
        self.message.emit(f"Learn a filter: one filter {one:.4g}, two layers {two:.4g}")

    # ------------------------------------------------------------------ drawing

    def _shown_true(self) -> np.ndarray | None:
        run = self.run
        if run is None or run.true is None or (run.kind == "preset" and not self.revealed):
            return None
        t = run.true
        return kernels.resize_kernel(t, run.kernel) if run.kernel >= t.shape[-1] and run.dilation == 1 else t

    def _shown_best(self) -> np.ndarray | None:
        run = self.run
        if self.reference_result is None or self.result is None or (run.kind == "preset" and not self.revealed):
            return None
        return self.reference_result.weight

    def _draw_kernels(self) -> None:
        """Learned, true and best linear kernels on ONE diverging scale (the same levels)."""
        shown = [(self.learned_view, self._weight), (self.true_view, self._shown_true()),
                 (self.best_view, self._shown_best())]
        arrays = [np.asarray(a, np.float32) for _, a in shown if a is not None]
        if not arrays:
            return
        bound = max(max(float(np.abs(a).max()) for a in arrays), 1e-6)
        for view, a in shown:
            if a is not None:
                view.set_image(kernel_mosaic(a), levels=(-bound, bound), signed=True)
        run = self.run
        if run is not None:
            if run.kind == "preset" and not self.revealed:
                self.true_view.set_title("True kernel: hidden (Reveal after the run)")
            elif run.true is not None:
                ft = run.true.shape[-1]
                self.true_view.set_title(f"True kernel ({ft}x{ft}" + (", dilation breaks it)" if run.dilation > 1
                                                                      else ")"))
            else:
                self.true_view.set_title("True kernel: none (not one linear filter)" if not run.linear
                                         else "True kernel: unknown")
            if self._shown_best() is not None:
                self.best_view.set_title(f"Best linear filter (loss {self.reference_result.final_loss:.3g})")
        channels = " | ".join(("R", "G", "B")) if arrays[0].shape[1] == 3 else ""
        self.scale_label.setText(f"Kernel colours: blue -{bound:.3g} .. white 0 .. red +{bound:.3g}"
                                 + (f"   (channels {channels} side by side)" if channels else ""))

    def _target_levels(self) -> tuple[tuple[float, float], bool]:
        t = self.run.targets[0, 0]
        lo, hi = float(t.min()), float(t.max())
        if lo < -1e-9:
            b = max(abs(lo), abs(hi), 1e-6)
            return (-b, b), True
        return (lo, hi if hi > lo else lo + 1.0), False

    def _draw_target(self) -> None:
        levels, signed = self._target_levels()
        t = self.run.targets[0, 0].astype(np.float32)
        self.target_view.set_image(t, levels=levels, signed=signed)
        self.target_view.set_title(f"Target: {self.run.label} ({t.shape[1]}x{t.shape[0]})")

    def _draw_output(self, out: np.ndarray, title: str) -> None:
        levels, signed = self._target_levels()
        self.output_view.set_image(np.ascontiguousarray(out, np.float32), levels=levels, signed=signed)
        self.output_view.set_title(title)

    def _draw_two_layer_curve(self) -> None:
        y = np.maximum(self.two_layer_losses, LOSS_FLOOR)
        self.two_layer_curve.setData(np.arange(1, len(y) + 1), y)

    # ------------------------------------------------------------------ results

    def reveal(self) -> None:
        """Show the hidden preset's kernel and the exact least-squares answer."""
        if self.run is None or self.result is None:
            return
        self.revealed = True
        p = kernels.preset(self.run.key) if self.run.kind == "preset" else None
        self._draw_kernels()
        if p is not None:
            self.true_view.set_title(f"True kernel: {p.name} ({p.size}x{p.size})")
            self.status_label.setText(f"The hidden kernel was {p.name}: {p.explanation}")
        self._sync_controls()

    def use_filter(self) -> bool:
        """Put the learned filter into the playground's bank as ONE undo step (see lab_filter)."""
        from ..state import MAX_FILTERS

        if self.result is None:
            return False
        lab = self.lab
        if lab.bank.count >= MAX_FILTERS:
            self._error(f"the bank already holds {MAX_FILTERS} filters: remove one first")
            return False
        k = self.result.weight.shape[0]
        if lab.bank.count + k > MAX_FILTERS:
            self._error(f"the bank holds at most {MAX_FILTERS} filters and has {lab.bank.count}: remove some first")
            return False
        learned = [lab_filter(self.result.weight[i], float(self.result.bias[i]), lab.channels) for i in range(k)]
        w = learned[0][0]
        size = max(lab.bank.size, w.shape[-1])
        ws = kernels.resize_kernel(lab.bank.weights, size)
        new = np.stack([kernels.resize_kernel(lw, size) for lw, _ in learned])
        bank = FilterBank(np.concatenate([ws, new]), np.append(lab.bank.biases, [np.float32(b) for _, b in learned]),
                          lab.bank.names + ["learned"] * k)
        done = lab.edit("Use learned filter" + ("s" if k > 1 else ""), bank=bank, selected=bank.count - k)
        if done:
            self._error("")
            text = (f"The learned {w.shape[-1]}x{w.shape[-1]} filter is filter {bank.count} of the bank" if k == 1 else
                    f"The {k} learned {w.shape[-1]}x{w.shape[-1]} filters are filters {bank.count - k + 1} to "
                    f"{bank.count} of the bank")
            run, st = self.run, lab.settings
            if run is not None and (run.stride, run.dilation) != (st.stride, st.dilation):
                text += (f" (learned with stride {run.stride} and dilation {run.dilation}; the playground uses its "
                         f"own stride {st.stride} and dilation {st.dilation})")
            self.status_label.setText(text + ".")
            self.message.emit(text)
        return done

    # ------------------------------------------------------------------ state of the controls

    def _error(self, text: str) -> None:
        self.error_label.setText(text)
        if text:
            self.message.emit(text)

    def _sync_controls(self) -> None:
        running = self.is_running()
        for w in (self.target_preset_radio, self.target_opencv_radio, self.target_image_radio,
                  self.data_current_radio, self.data_samples_radio, self.data_frames_radio, self.kernel_spin,
                  self.stride_spin,
                  self.padding_spin, self.dilation_spin, self.optimizer_combo, self.lr_spin, self.steps_spin,
                  self.pace_combo):
            w.setEnabled(not running)
        if running:
            for w in (self.preset_combo, self.opencv_combo, self.image_path, self.browse_btn, self.filters_spin,
                      *self.extra_preset_combos):
                w.setEnabled(False)
        else:
            self._target_kind_changed()
        self.start_btn.setEnabled(not running)
        self.pause_btn.setEnabled(running)
        self.stop_btn.setEnabled(running)
        done = self.result is not None and not running
        self.reveal_btn.setEnabled(done and self.run is not None and self.run.kind == "preset" and not self.revealed)
        self.use_btn.setEnabled(done)
        self.two_layer_btn.setEnabled(done)
