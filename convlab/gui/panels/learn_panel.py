"""The "Learn a filter" mode: pick a target, start, and watch a kernel grow from noise into the
filter that makes it.

Targets are one map each (K = 1), so one filter is learned: a hidden preset kernel (revealed on
demand after the run), an OpenCV operation (computed on the channels' gray mean, see
convlab.core.filter_targets) or a picture the learner loads; hidden presets can also make a small
bank of up to four maps at once. For targets no single linear filter can make (Canny, morphology,
any loaded picture) the best linear filter is shown with a note, and a two-layer conv - ReLU - conv
can be learned instead to compare the losses.

The panel is a view of a LearnState: its controls show the state's settings (ranges and choices
from convlab.core.settings) and write through ``LearnState.set``; the run, its worker and its
results live in the state, the drawing in ``views.learn_views.LearnViews``.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
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

from convlab.core import kernels
from convlab.core.filter_learning import (
    MAX_LEARN_SIDE,
    PACES,
    RECENT_FRAMES,
    RECENT_GAP_S,
    TWO_LAYER_HIDDEN,
    TWO_LAYER_LR,
    learnable_presets,
)
from convlab.core.filter_targets import OPENCV_TARGETS
from convlab.core.images import image_file_filter
from convlab.core.learn_report import OPTIMIZER_NAMES
from convlab.core.settings import (
    LEARN_DATA_KINDS,
    LEARN_DEFAULT_LR,
    LEARN_TARGET_KINDS,
    MAX_LEARN_FILTERS,
    LearnSettings,
    choices,
    limits,
)

from ..file_dialogs import dialogs
from ..views.controls import spin_box
from ..views.learn_views import LearnViews


def _spin(name: str, tip: str):
    r = limits(LearnSettings, name)
    return spin_box(int(r.lo), int(r.hi), None, tip, tracking=True)


def _button(text, tip, slot):
    """A push button that takes the focus from the keyboard only: a clicked button that disables itself
    (Start, Reveal...) would pass the focus on, and the scrolled controls would jump to show where it went."""
    b = QPushButton(text)
    b.setToolTip(tip)
    b.setFocusPolicy(Qt.TabFocus)
    b.clicked.connect(slot)
    return b


def _note_label(tip: str) -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet("color:#444")
    label.setToolTip(tip)
    return label


def _from_state(name: str) -> property:
    return property(lambda self: getattr(self.state, name), doc=f"The LearnState's ``{name}``.")


class LearnPanel(QWidget):
    """Learn a filter from a target: controls on the left, live views on the right."""

    finished = Signal(str)  # a run ended: "filter", "two_layer" or "error"
    message = Signal(str)  # for the status bar

    # what the state holds, read here as before
    run = _from_state("run")
    result = _from_state("result")
    reference_result = _from_state("reference_result")
    two_layer_result = _from_state("two_layer_result")
    two_layer_reference = _from_state("two_layer_reference")
    losses = _from_state("losses")
    two_layer_losses = _from_state("two_layer_losses")
    revealed = _from_state("revealed")
    target_image = _from_state("target_image")

    def __init__(self, learn_state, parent=None):
        super().__init__(parent)
        self.state = learn_state
        self.lab = learn_state.lab

        controls = QWidget()
        lay = QVBoxLayout(controls)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self._target_box())
        lay.addWidget(self._data_box())
        lay.addWidget(self._settings_box())
        lay.addWidget(self._result_box())
        lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(controls)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(controls.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 4)
        column = QWidget()  # the settings scroll; Start, Pause, Stop and the progress always show below them
        col = QVBoxLayout(column)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(scroll, 1)
        col.addWidget(self._run_box())
        scroll = column

        self.views = LearnViews(learn_state)
        for name in ("learned_view", "true_view", "best_view", "output_view", "target_view", "scale_label",
                     "loss_plot", "loss_curve", "reference_curve", "two_layer_curve"):
            setattr(self, name, getattr(self.views, name))
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(self.views)
        splitter.setStretchFactor(1, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(splitter)

        st = self.state
        st.settingsChanged.connect(self._show_settings)
        st.targetChanged.connect(self._show_target)
        st.framesChanged.connect(self._update_data_info)
        self.lab.imageChanged.connect(self._update_data_info)
        st.progressChanged.connect(self._show_progress)
        st.runningChanged.connect(self._sync_controls)
        for signal in (st.runChanged, st.resultChanged, st.revealedChanged):
            signal.connect(self._show_result)
        st.statusChanged.connect(self.status_label.setText)
        st.errorChanged.connect(self.error_label.setText)
        st.finished.connect(self.finished.emit)
        st.message.connect(self.message.emit)
        self._show_settings()
        self._show_target()
        self._show_progress()
        self._show_result()

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
        radios = (self.target_preset_radio, self.target_opencv_radio, self.target_image_radio)
        for kind, r in zip(LEARN_TARGET_KINDS, radios, strict=True):
            self.target_group.addButton(r, LEARN_TARGET_KINDS.index(kind))
        self.target_group.idToggled.connect(
            lambda i, on: on and self.state.set(target_kind=LEARN_TARGET_KINDS[i]))

        self.preset_combo = QComboBox()
        self.preset_combo.setToolTip("Which preset kernel makes the target (its weights stay hidden)")
        for key in learnable_presets():
            self.preset_combo.addItem(kernels.preset(key).name, key)
        self.preset_combo.currentIndexChanged.connect(
            lambda _: self.state.choose_target("preset", self.preset_combo.currentData()))
        # with K filters, filters 2..K learn these further hidden presets (a small bank at once)
        self.extra_preset_combos = []
        for n in range(2, MAX_LEARN_FILTERS + 1):
            combo = QComboBox()
            combo.setToolTip(f"The hidden preset that filter {n} of the learned bank must make")
            for i in range(self.preset_combo.count()):
                combo.addItem(self.preset_combo.itemText(i), self.preset_combo.itemData(i))
            combo.currentIndexChanged.connect(
                lambda _, i=n - 2, c=combo: self.state.set_extra_preset(i, c.currentData()))
            self.extra_preset_combos.append(combo)

        self.opencv_combo = QComboBox()
        self.opencv_combo.setToolTip("Which OpenCV operation makes the target")
        for key, t in OPENCV_TARGETS.items():
            self.opencv_combo.addItem(t.name + ("" if t.linear else " (not linear)"), key)
            self.opencv_combo.setItemData(self.opencv_combo.count() - 1, t.explanation, Qt.ToolTipRole)
        self.opencv_combo.currentIndexChanged.connect(self._opencv_chosen)
        self.opencv_help = _note_label("What the chosen OpenCV operation does")

        self.image_path = QLineEdit()
        self.image_path.setPlaceholderText("a PNG or JPEG file")
        self.image_path.setToolTip("The target picture's file; press Enter to load a typed path")
        self.image_path.editingFinished.connect(self._path_edited)
        self.browse_btn = _button("Browse...", "Choose a target picture (PNG, JPEG, BMP, TIFF, WebP)", self.browse)
        row = QHBoxLayout()
        row.addWidget(self.image_path, 1)
        row.addWidget(self.browse_btn)
        self.target_note = _note_label("The loaded target picture and how it is fitted to the input")

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
        for kind, r in zip(LEARN_DATA_KINDS, (self.data_current_radio, self.data_samples_radio,
                                              self.data_frames_radio), strict=True):
            self.data_group.addButton(r, LEARN_DATA_KINDS.index(kind))
            v.addWidget(r)
        self.data_group.idToggled.connect(lambda i, on: on and self.state.set(data=LEARN_DATA_KINDS[i]))
        self.data_info = _note_label(f"Learning uses a copy at most {MAX_LEARN_SIDE} px on a side, values 0..1")
        v.addWidget(self.data_info)
        return box

    def _settings_box(self) -> QGroupBox:
        box = QGroupBox("Settings")
        form = QFormLayout(box)
        self.kernel_spin = _spin("kernel", "Side F of the learned F x F kernel (per channel)")
        self.filters_spin = _spin(
            "filters",
            "K: how many filters are learned at once, one per target map. Hidden presets can make a bank of up "
            f"to {MAX_LEARN_FILTERS} maps (choose each preset above); an OpenCV operation or a picture is one map, "
            "so K = 1.")
        self.stride_spin = _spin("stride", "Step between kernel positions; the target is sampled at the same places")
        self.padding_spin = _spin("padding", "Zeros around the image. Set to 'same' (dilation x F//2) whenever the "
                                  "kernel size or dilation changes; less padding crops the target")
        self.dilation_spin = _spin("dilation", "Spacing of the kernel's taps: a dilated 3x3 cannot be a plain 3x3 "
                                   "filter, so it can only approximate one")
        self.optimizer_combo = QComboBox()
        self.optimizer_combo.setToolTip("How each step moves the weights along the loss gradient")
        for key in choices(LearnSettings, "optimizer"):
            self.optimizer_combo.addItem(OPTIMIZER_NAMES.get(key, key), key)
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(4)
        r = limits(LearnSettings, "lr")
        self.lr_spin.setRange(r.lo, r.hi)
        self.lr_spin.setSingleStep(0.01)
        defaults = ", ".join(f"{OPTIMIZER_NAMES.get(k, k)} {v:g}" for k, v in LEARN_DEFAULT_LR.items())
        self.lr_spin.setToolTip("Learning rate: the size of each step. Too big and the loss explodes (the run is "
                                "then stopped); too small and it crawls. Each optimiser starts at a rate that is "
                                f"safe for every kernel size ({defaults}); choosing another optimiser takes its "
                                "rate unless you changed it")
        self.steps_spin = _spin("steps", "How many gradient-descent steps to take")
        self.pace_combo = QComboBox()
        self.pace_combo.setToolTip("Slow the run down to watch the kernel change, or let it run flat out")
        for key, (name, _) in PACES.items():
            self.pace_combo.addItem(name, key)
        for name, spin in (("kernel", self.kernel_spin), ("filters", self.filters_spin), ("stride", self.stride_spin),
                           ("padding", self.padding_spin), ("dilation", self.dilation_spin),
                           ("steps", self.steps_spin), ("lr", self.lr_spin)):
            spin.valueChanged.connect(lambda v, n=name: self.state.set(**{n: v}))
        for name, combo in (("optimizer", self.optimizer_combo), ("pace", self.pace_combo)):
            combo.currentIndexChanged.connect(lambda _, n=name, c=combo: self.state.set(**{n: c.currentData()}))
        for combo in (self.optimizer_combo, self.pace_combo):  # long names shorten in a narrow column
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(14)
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
            # the style's 80 px minimum per button made the column 362 px: with a lesson beside it at
            # 1024 px the Learn workspace scrolled sideways; the words need less
            b.setMinimumWidth(b.fontMetrics().horizontalAdvance(b.text()) + 24)
            row.addWidget(b)
        self.progress_bar = QProgressBar()
        self.progress_bar.setToolTip("Steps taken of the steps asked for")
        self.progress_bar.setFormat("%v / %m steps")
        self.rate_label = QLabel("")
        self.rate_label.setToolTip("Gradient-descent steps per second")
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.status_label.setMinimumHeight(3 * self.status_label.fontMetrics().lineSpacing())  # the buttons below
        self.status_label.setToolTip("What the run did")  # stay put when a longer text comes
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
        self.reveal_label = _note_label("The hidden preset kernels, named and explained (after Reveal)")
        v.addWidget(self.reveal_btn)
        v.addWidget(self.use_btn)
        v.addWidget(self.reveal_label)  # below the buttons: revealing moves nothing above it
        v.addWidget(self.nonlinear_box)
        return box

    # ------------------------------------------------------------------ following the state

    def _show_settings(self) -> None:
        """Every control shows the state's settings (without writing them back)."""
        st, s = self.state, self.state.settings
        widgets = (self.target_group, self.data_group, self.preset_combo, self.opencv_combo, self.image_path,
                   self.kernel_spin, self.filters_spin, self.stride_spin, self.padding_spin, self.dilation_spin,
                   self.optimizer_combo, self.lr_spin, self.steps_spin, self.pace_combo, *self.extra_preset_combos)
        blockers = [QSignalBlocker(w) for w in widgets]
        # only what differs is set: a number being typed (keyboard tracking) is not rewritten under the cursor
        self.target_group.button(LEARN_TARGET_KINDS.index(s.target_kind)).setChecked(True)
        self.data_group.button(LEARN_DATA_KINDS.index(s.data)).setChecked(True)
        for combo, key in ((self.preset_combo, st.target_key_of("preset")),
                           (self.opencv_combo, st.target_key_of("opencv")), (self.optimizer_combo, s.optimizer),
                           (self.pace_combo, st.pace), *zip(self.extra_preset_combos, s.extra_presets, strict=True)):
            if combo.currentData() != key:
                combo.setCurrentIndex(max(combo.findData(key), 0))
        if not self.image_path.hasFocus():  # a path being typed stays until Enter
            self.image_path.setText(st.target_key_of("image"))
        for spin, v in ((self.kernel_spin, s.kernel), (self.filters_spin, s.filters), (self.stride_spin, s.stride),
                        (self.padding_spin, s.padding), (self.dilation_spin, s.dilation), (self.lr_spin, s.lr),
                        (self.steps_spin, s.steps)):
            if spin.valueFromText(spin.textFromValue(v)) != spin.value():
                spin.setValue(v)
        for b in blockers:
            b.unblock()
        key = self.opencv_combo.currentData()
        self.opencv_help.setText(OPENCV_TARGETS[key].explanation if key else "")
        self._update_data_info()
        self._show_progress()
        self._sync_controls()

    def _opencv_chosen(self, *_) -> None:
        self.state.choose_target("opencv", self.opencv_combo.currentData())

    def _show_target(self) -> None:
        self.target_note.setText(self.state.target_note)
        with QSignalBlocker(self.image_path):
            self.image_path.setText(self.state.target_key_of("image"))

    def _update_data_info(self, *_) -> None:
        self.data_info.setText(self.state.data_text())

    def _show_progress(self) -> None:
        st = self.state
        if st.steps_asked:
            self.progress_bar.setRange(0, st.steps_asked)
            self.progress_bar.setValue(st.steps_done)
            self.progress_bar.setFormat("%v / %m steps")
        else:  # no run yet: say what Start will do, not "0 / 1"
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
            self.progress_bar.setFormat(f"not started: {st.settings.steps:,} steps to take")
        self.rate_label.setText(st.rate_text)

    def _show_result(self) -> None:
        st = self.state
        self.nonlinear_note.setText(st.nonlinear_note)
        self.nonlinear_box.setVisible(bool(st.nonlinear_note))
        self.compare_label.setText(st.compare_text)
        self.reveal_label.setText(st.reveal_text)
        self.reveal_label.setVisible(bool(st.reveal_text))
        self._sync_controls()

    def _sync_controls(self) -> None:
        st = self.state
        running = st.is_running()
        for w in (self.target_preset_radio, self.target_opencv_radio, self.target_image_radio,
                  self.data_current_radio, self.data_samples_radio, self.data_frames_radio, self.kernel_spin,
                  self.stride_spin, self.padding_spin, self.dilation_spin, self.optimizer_combo, self.lr_spin,
                  self.steps_spin, self.pace_combo):
            w.setEnabled(not running)
        kind, k = st.settings.target_kind, st.settings.filters
        preset = kind == "preset" and not running
        self.preset_combo.setEnabled(preset)
        self.filters_spin.setEnabled(preset)
        for n, combo in enumerate(self.extra_preset_combos, start=2):
            combo.setVisible(kind == "preset" and n <= k)
            combo.setEnabled(preset)
        self.opencv_combo.setEnabled(kind == "opencv" and not running)
        self.opencv_help.setEnabled(kind == "opencv")
        self.image_path.setEnabled(kind == "image" and not running)
        self.browse_btn.setEnabled(kind == "image" and not running)
        self.start_btn.setEnabled(not running)
        self.pause_btn.setEnabled(running)
        self.pause_btn.setText("Continue" if st.paused else "Pause")
        self.stop_btn.setEnabled(running)
        done = st.result is not None and not running
        run = st.run
        self.reveal_btn.setEnabled(done and run is not None and run.kind == "preset" and not st.revealed)
        self.use_btn.setEnabled(done)
        self.two_layer_btn.setEnabled(done and run is not None)

    # ------------------------------------------------------------------ the target picture

    def browse(self) -> None:
        path = dialogs().open_file(self, "Target image", image_file_filter())
        if path:
            self.load_target_image(path)

    def _path_edited(self) -> None:
        text = self.image_path.text().strip()
        if text and text != self.state.target_path:
            self.load_target_image(text)

    def load_target_image(self, path: str) -> bool:
        """Load a target picture; on error the message is shown and the previous target stays."""
        ok = self.state.load_target_image(path)
        if not ok:
            self._show_target()  # the path of the target that stays
        return ok

    # ------------------------------------------------------------------ commands (the state does them)

    def prepare_run(self):
        return self.state.prepare_run()

    def is_running(self) -> bool:
        return self.state.is_running()

    def start(self) -> bool:
        return self.state.start()

    def learn_two_layer(self) -> bool:
        return self.state.learn_two_layer()

    def toggle_pause(self) -> None:
        self.state.toggle_pause()

    def stop(self) -> None:
        self.state.stop()

    def reset(self) -> None:
        """Stop any run and clear its results, curves and views (the target and settings stay)."""
        self.state.reset_run()

    def reveal(self) -> bool:
        return self.state.reveal()

    def use_filter(self) -> bool:
        return self.state.use_filter()

    def shutdown(self) -> None:
        self.state.shutdown()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
