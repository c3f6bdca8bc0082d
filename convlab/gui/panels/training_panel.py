"""TrainingPanel: choose a dataset, set the training settings, run / pause / step / stop, and read
the results (curves, confusion matrix, per-class accuracy, misclassified samples, probabilities).

Everything shown comes from NetworkState; the panel only forwards the user's intents to it.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from convlab.core.data.catalog import DATASETS, DOWNLOAD_KINDS, SYNTHETIC_KINDS  # issue 16: + the two kinds
from convlab.core.number_text import step_125
from convlab.core.prediction import prediction
from convlab.core.settings import TrainSettings, limits

from ..file_dialogs import dialogs
from ..views.controls import DrawWhenShown, setting_spin, spin_box
from ..views.training_views import ClassBarsView, ConfusionMatrixView, CurvesView, DatasetPreview, SampleGallery
from .download_dialog import DownloadRow  # issue 16

SYNTHETIC = SYNTHETIC_KINDS  # issue 16: digits, shapes and the built-in RGB colour shapes
FOLDER_KINDS = (*DOWNLOAD_KINDS, "folder")  # issue 16: mnist, fashion, kmnist, cifar10 (downloaded or a folder)
OPTIMIZERS = (("SGD", "sgd"), ("SGD with momentum", "momentum"), ("Adam", "adam"))


class LogSpinBox(QDoubleSpinBox):
    """A double spin box whose arrows walk a 1-2-5 ladder, so 0.0001 and 0.5 are a few clicks apart."""

    def stepBy(self, steps: int) -> None:
        v = self.value()
        smallest = max(self.minimum(), 10 ** -self.decimals())
        for _ in range(abs(steps)):
            v = step_125(v, steps > 0, smallest)
        self.setValue(max(self.minimum(), min(self.maximum(), v)))


def _spin(lo: int, hi: int, step: int = 1, suffix: str = "") -> QSpinBox:
    return spin_box(lo, hi, step=step, suffix=suffix)


class TrainingPanel(QWidget):
    def __init__(self, net, parent=None):
        super().__init__(parent)
        self.net = net
        self._batches_per_epoch = 0  # of the current / last run, to place validation points
        self._last_state = net.training

        # ---------------------------------------------------------------- dataset
        self.dataset_box = QComboBox()
        for key, label in DATASETS.items():
            self.dataset_box.addItem(label, key)
        self.dataset_box.setToolTip("Which labelled images to learn from: built-in synthetic sets need no "
                                    "files; MNIST, Fashion-MNIST and image folders are read from disk")
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("folder...")
        self.path_edit.setToolTip("The folder to read: the four MNIST IDX files, or one subfolder of images "
                                  "per class")
        self.browse_btn = QPushButton("Browse...")
        self.browse_btn.setToolTip("Choose the dataset folder")
        self.path_row = QWidget()
        path_lay = QHBoxLayout(self.path_row)
        path_lay.setContentsMargins(0, 0, 0, 0)
        path_lay.addWidget(self.path_edit, 1)
        path_lay.addWidget(self.browse_btn)
        self.samples_spin = setting_spin(TrainSettings, "samples", step=500)
        self.samples_spin.setToolTip("How many images to generate for a synthetic set (split into training "
                                     "and validation)")
        val = limits(TrainSettings, "val_fraction")
        self.val_spin = _spin(round(100 * val.lo), round(100 * val.hi), 5, " %")
        self.val_spin.setToolTip("Share of the samples kept aside for validation: never trained on, used to "
                                 "measure how well the model generalises")
        self.load_btn = QPushButton("Load")
        self.load_btn.setToolTip("Build or read the dataset now (Train also loads it when needed)")
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.summary_label.setToolTip("The loaded dataset: samples per split, classes and image size")
        self.preview = DatasetPreview()
        self.preview.setToolTip("A few validation samples of every class; click one to look at it in the "
                                "network views")
        self.data_form = QFormLayout()
        self.data_form.addRow("Dataset", self.dataset_box)
        self.data_form.addRow("Folder", self.path_row)
        self.data_form.addRow("Samples", self.samples_spin)
        self.data_form.addRow("Validation", self.val_spin)
        self.data_form.addRow("", self.load_btn)
        self.download_row = DownloadRow(net, self)  # issue 16: dataset downloads
        self.data_form.addRow("", self.download_row)  # issue 16
        self.data_group = QGroupBox("Dataset")
        data_lay = QVBoxLayout(self.data_group)
        data_lay.addLayout(self.data_form)
        data_lay.addWidget(self.summary_label)
        data_lay.addWidget(self.preview, 1)

        # ---------------------------------------------------------------- settings
        self.batch_spin = setting_spin(TrainSettings, "batch_size")
        self.batch_spin.setToolTip("Samples per gradient step: small batches give noisy but many steps")
        self.epochs_spin = setting_spin(TrainSettings, "epochs")
        self.epochs_spin.setToolTip("Passes over the whole training set")
        self.optimizer_box = QComboBox()
        for label, key in OPTIMIZERS:
            self.optimizer_box.addItem(label, key)
        self.optimizer_box.setToolTip("How gradients change the weights: plain SGD, SGD with momentum (keeps "
                                      "a running direction), or Adam (per-weight step sizes)")
        self.lr_spin = LogSpinBox()
        self.lr_spin.setDecimals(4)
        self.lr_spin.setRange(limits(TrainSettings, "lr").lo, limits(TrainSettings, "lr").hi)
        self.lr_spin.setKeyboardTracking(False)
        self.lr_spin.setToolTip("Learning rate: the size of each step. The arrows walk 1-2-5 steps "
                                "(0.01, 0.02, 0.05, 0.1...). Too large makes training diverge")
        self.wd_spin = LogSpinBox()
        self.wd_spin.setDecimals(5)
        self.wd_spin.setRange(limits(TrainSettings, "weight_decay").lo, limits(TrainSettings, "weight_decay").hi)
        self.wd_spin.setKeyboardTracking(False)
        self.wd_spin.setToolTip("Weight decay: pulls every weight a little towards 0 each step (L2 "
                                "regularisation); 0 turns it off")
        self.seed_spin = setting_spin(TrainSettings, "seed")
        self.seed_spin.setToolTip("Random seed for the synthetic data, the split, the shuffling and fresh "
                                  "weights: the same seed repeats a run exactly")
        self.settings_group = QGroupBox("Settings")
        form = QFormLayout(self.settings_group)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Optimiser", self.optimizer_box)
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("Weight decay", self.wd_spin)
        form.addRow("Seed", self.seed_spin)

        # ---------------------------------------------------------------- run controls
        self.train_btn = QPushButton("Train")
        self.pause_btn = QPushButton("Pause")
        self.pause_btn.setToolTip("Pause the run (the weights stay as they are) or resume it")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setToolTip("End the run now, keeping the weights learned so far")
        self.step_btn = QPushButton("Step")
        self.step_btn.setToolTip("Train on one batch and pause: watch a single gradient step")
        self.reset_btn = QPushButton("Reset weights")
        self.reset_btn.setToolTip("Replace all weights with fresh random values (from the seed) and clear "
                                  "the curves")
        self.reason_label = QLabel()
        self.reason_label.setWordWrap(True)
        self.reason_label.setStyleSheet("color: #b91c1c;")
        self.reason_label.setToolTip("Why training cannot start")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setValue(0)
        self.progress_bar.setToolTip("Samples trained on so far, out of all the epochs")
        self.rate_label = QLabel("")
        self.rate_label.setToolTip("Epoch and batch, training speed and the time left")
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setToolTip("The latest message from the network: loading, results, errors")

        buttons = QHBoxLayout()
        for b in (self.train_btn, self.pause_btn, self.stop_btn, self.step_btn, self.reset_btn):
            buttons.addWidget(b)
        bar = QHBoxLayout()
        bar.addWidget(self.progress_bar, 1)
        bar.addWidget(self.rate_label)

        # ---------------------------------------------------------------- results
        self.curves = CurvesView()
        self.confusion_view = ConfusionMatrixView()
        self.class_accuracy = ClassBarsView("accuracy per class (validation)")
        self.class_accuracy.setToolTip("The share of each class's validation samples classified correctly")
        self.accuracy_label = QLabel("Train the model to see how it does on the validation set.")
        self.accuracy_label.setWordWrap(True)
        self.accuracy_label.setToolTip("Loss and accuracy of the model on the validation set")
        self.misclassified_gallery = SampleGallery()
        self.misclassified_gallery.setToolTip("Validation samples the model gets wrong; click one to look at "
                                              "it in the network views")
        self.probability_label = QLabel("No input to classify.")
        self.probability_label.setToolTip("What the model says about the input shown in the network views")
        self.probability_bars = ClassBarsView("class probabilities of the current input")
        self.probability_bars.setToolTip("Softmax probability of every class for the current input; the "
                                         "predicted class is orange")

        results = QWidget()
        grid = QGridLayout(results)
        grid.setContentsMargins(2, 2, 2, 2)
        grid.addWidget(self.accuracy_label, 0, 0)
        grid.addWidget(self.confusion_view, 1, 0)
        grid.addWidget(self.class_accuracy, 1, 1)
        grid.addWidget(QLabel("Misclassified validation samples (click one to look at it):"), 2, 0)
        grid.addWidget(self.probability_label, 2, 1)
        grid.addWidget(self.misclassified_gallery, 3, 0)
        grid.addWidget(self.probability_bars, 3, 1)
        grid.setRowStretch(1, 1)
        grid.setRowStretch(3, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)

        setup = QWidget()
        setup_lay = QHBoxLayout(setup)
        setup_lay.setContentsMargins(0, 0, 0, 0)
        setup_lay.addWidget(self.data_group, 3)
        setup_lay.addWidget(self.settings_group, 2, Qt.AlignTop)

        self.tabs = QTabWidget()
        self.tabs.addTab(setup, "Data && settings")
        self.tabs.addTab(self.curves, "Curves")
        self.tabs.addTab(results, "Results")
        self.tabs.setTabToolTip(0, "The dataset and the training settings")
        self.tabs.setTabToolTip(1, "Loss and accuracy while training")
        self.tabs.setTabToolTip(2, "Confusion matrix, accuracy per class, mistakes and the current prediction")
        self.tabs.setToolTip("")

        lay = QVBoxLayout(self)
        lay.addLayout(buttons)
        lay.addWidget(self.reason_label)
        lay.addLayout(bar)
        lay.addWidget(self.status_label)
        lay.addWidget(self.tabs, 1)

        # ---------------------------------------------------------------- wiring: user -> state
        self.dataset_box.currentIndexChanged.connect(self._dataset_chosen)
        self.path_edit.editingFinished.connect(self._path_edited)
        self.browse_btn.clicked.connect(self._browse)
        self.samples_spin.valueChanged.connect(lambda v: self.net.set_settings(samples=int(v)))
        self.val_spin.valueChanged.connect(lambda v: self.net.set_settings(val_fraction=v / 100))
        self.batch_spin.valueChanged.connect(lambda v: self.net.set_settings(batch_size=int(v)))
        self.epochs_spin.valueChanged.connect(lambda v: self.net.set_settings(epochs=int(v)))
        self.optimizer_box.currentIndexChanged.connect(
            lambda i: self.net.set_settings(optimizer=self.optimizer_box.itemData(i)))
        self.lr_spin.valueChanged.connect(lambda v: self.net.set_settings(lr=float(v)))
        self.wd_spin.valueChanged.connect(lambda v: self.net.set_settings(weight_decay=float(v)))
        self.seed_spin.valueChanged.connect(lambda v: self.net.set_settings(seed=int(v)))
        self.load_btn.clicked.connect(self._load)
        self.train_btn.clicked.connect(self._train)
        self.pause_btn.clicked.connect(self._toggle_pause)
        self.stop_btn.clicked.connect(self.net.stop)
        self.step_btn.clicked.connect(self._step)
        self.reset_btn.clicked.connect(self._reset)
        self.preview.sampleClicked.connect(self.net.use_sample)
        self.misclassified_gallery.sampleClicked.connect(self.net.use_sample)

        # ---------------------------------------------------------------- wiring: state -> views
        net.settingsChanged.connect(self._settings_changed)
        net.specChanged.connect(self._refresh_controls)
        net.datasetChanged.connect(self._dataset_changed)
        net.datasetLoading.connect(self._loading_changed)
        net.trainingStateChanged.connect(self._training_state_changed)
        net.progress.connect(self._on_progress)
        net.epochDone.connect(self._refresh_curves)
        net.evaluationChanged.connect(self._evaluation_changed)
        net.activationsChanged.connect(self._activations_changed)
        net.message.connect(self._on_message)

        self.bars_draw = DrawWhenShown(self, self._draw_bars)
        self._settings_changed()
        self._dataset_changed(loaded=False)
        self._evaluation_changed()
        self._activations_changed()

    # ------------------------------------------------------------------ user intents

    def _dataset_chosen(self, index: int) -> None:
        self.net.set_settings(dataset=self.dataset_box.itemData(index))

    def _path_edited(self) -> None:
        self.net.set_settings(path=self.path_edit.text().strip())

    def _browse(self) -> None:
        folder = dialogs().open_folder(self, "Choose the dataset folder")
        if folder:
            self.path_edit.setText(folder)
            self._path_edited()

    def _load(self) -> None:
        self.net.load_dataset()

    def _train(self) -> None:
        self.net.start_training()  # builds the dataset first when it must

    def _step(self) -> None:
        self.net.step()  # from idle: loads the dataset if needed, then one batch

    def _toggle_pause(self) -> None:
        if self.net.training == "running":
            self.net.pause()
        elif self.net.training == "paused":
            self.net.resume()

    def _reset(self) -> None:
        self.net.reset_weights()

    def _loading_changed(self, loading: bool) -> None:
        if loading:
            self.summary_label.setText(f"Loading {DATASETS.get(self.net.settings.dataset, '')}...")
        else:
            self._update_summary()
        self._refresh_controls()

    # ------------------------------------------------------------------ state -> widgets

    def _settings_changed(self) -> None:
        s = self.net.settings
        pairs = (
            (self.samples_spin, s.samples), (self.val_spin, round(100 * s.val_fraction)),
            (self.batch_spin, s.batch_size), (self.epochs_spin, s.epochs), (self.lr_spin, s.lr),
            (self.wd_spin, s.weight_decay), (self.seed_spin, s.seed),
        )
        for widget, value in pairs:
            with QSignalBlocker(widget):
                widget.setValue(value)
        with QSignalBlocker(self.dataset_box):
            self.dataset_box.setCurrentIndex(max(0, self.dataset_box.findData(s.dataset)))
        with QSignalBlocker(self.optimizer_box):
            self.optimizer_box.setCurrentIndex(max(0, self.optimizer_box.findData(s.optimizer)))
        if self.path_edit.text() != s.path:
            self.path_edit.setText(s.path)
        needs_folder = s.dataset in FOLDER_KINDS
        synthetic = s.dataset in SYNTHETIC  # "captured" needs neither a folder nor a size
        self.data_form.setRowVisible(self.path_row, needs_folder)
        self.data_form.setRowVisible(self.samples_spin, synthetic)
        self.path_row.setEnabled(needs_folder)
        self.samples_spin.setEnabled(synthetic)
        self._update_summary()
        self._refresh_controls()

    def _dataset_changed(self, loaded: bool = True) -> None:
        net = self.net
        if net.val is not None and len(net.val):
            self.preview.set_dataset(net.val.x, net.val.y, net.val.classes)
        else:
            self.preview.clear()
        self._update_summary()
        self._refresh_controls()

    def _update_summary(self) -> None:
        net = self.net
        if net.loading:
            return
        if net.dataset is None:
            self.summary_label.setText("No dataset loaded yet: Load builds it (Train does too).")
            return
        c, h, w = net.dataset.x.shape[1:]
        classes = net.dataset.classes
        names = ", ".join(classes[:12]) + (", ..." if len(classes) > 12 else "")
        text = (f"{net.dataset.name or 'dataset'}: {len(net.train):,} training + {len(net.val):,} validation "
                f"samples, {h}x{w} pixels, {c} channel{'s' if c != 1 else ''}; {len(classes)} classes: {names}")
        if not net.dataset_is_current():
            text += "\n(the dataset settings changed since: Load or Train rebuilds it)"
        self.summary_label.setText(text)

    def _training_state_changed(self) -> None:
        state = self.net.training
        if self._last_state == "idle" and state != "idle":  # a new run
            self.progress_bar.setValue(0)
            self.rate_label.setText("starting...")
        if state == "idle":
            self.rate_label.setText(self.rate_label.text().split(" · left")[0])
        self._last_state = state
        self._refresh_controls()
        self._refresh_curves()

    def _refresh_controls(self) -> None:
        net = self.net
        state = net.training
        idle = state == "idle"
        reason = net.train_block_reason
        can_start = idle and not reason and not self.net.loading
        self.train_btn.setEnabled(can_start)
        if reason:
            self.train_btn.setToolTip(f"Cannot train: {reason}")
            self.reason_label.setText(f"Cannot train: {reason}")
        else:
            self.train_btn.setToolTip("Train the model on the dataset with these settings (loads the "
                                      "dataset first if needed); a second run continues from the current "
                                      "weights")
            self.reason_label.setText("")
        self.reason_label.setVisible(bool(reason))
        self.pause_btn.setEnabled(not idle)
        self.pause_btn.setText("Resume" if state == "paused" else "Pause")
        self.stop_btn.setEnabled(not idle)
        self.step_btn.setEnabled(can_start or state == "paused")
        self.reset_btn.setEnabled(idle and net.model is not None)
        self.load_btn.setEnabled(idle and not self.net.loading)
        self.data_group.setEnabled(idle)
        self.settings_group.setEnabled(idle)

    def _on_progress(self, r) -> None:
        self._batches_per_epoch = r.batches_per_epoch
        self.progress_bar.setValue(int(round(100 * r.progress)))
        text = f"epoch {r.epoch}, batch {r.batch}/{r.batches_per_epoch} · {r.samples_per_s:,.0f} samples/s"
        if r.samples_per_s > 0 and r.samples_seen < r.samples_total:
            left = (r.samples_total - r.samples_seen) / r.samples_per_s
            text += f" · left {self._duration(left)}"
        self.rate_label.setText(text)
        self._refresh_curves()

    @staticmethod
    def _duration(seconds: float) -> str:
        seconds = int(round(seconds))
        if seconds < 60:
            return f"{seconds} s"
        m, s = divmod(seconds, 60)
        if m < 60:
            return f"{m} min {s:02d} s"
        h, m = divmod(m, 60)
        return f"{h} h {m:02d} min"

    def _refresh_curves(self, *_) -> None:
        net = self.net
        if not net.history_steps and not net.history_epochs:
            self.curves.clear()
            return
        self.curves.set_history(net.history_steps, net.history_epochs, net.history_epoch_steps)

    def _evaluation_changed(self) -> None:
        net = self.net
        self._refresh_curves()
        if net.evaluation is None or net.confusion is None or net.val is None:
            self.confusion_view.clear()
            self.class_accuracy.clear_values()
            self.misclassified_gallery.clear()
            self.accuracy_label.setText("Train the model to see how it does on the validation set.")
            return
        classes = net.val.classes
        ev = net.evaluation
        self.accuracy_label.setText(f"Validation: accuracy {100 * ev.accuracy:.1f}%, loss {ev.loss:.3f} "
                                    f"on {len(net.val):,} samples")
        self.confusion_view.set_matrix(net.confusion, classes)
        self.class_accuracy.set_values(net.per_class_accuracy(), classes)
        idx = net.misclassified()
        y, pred = net.val.y[idx], ev.predictions[idx]
        captions = [f"true {classes[t]} → predicted {classes[p]}" for t, p in zip(y, pred, strict=True)]
        tips = [f"validation sample {i}: true {classes[t]}, predicted {classes[p]} "
                f"({100 * ev.probabilities[i, p]:.0f}% sure); click to look at it" for i, t, p in zip(idx, y, pred,
                                                                                                      strict=True)]
        self.misclassified_gallery.set_samples(net.val.x[idx], captions, ids=idx, tooltips=tips)

    def watch_dock(self, dock) -> None:
        """The probability bars catch up when the panel's dock comes to the front of its tab group."""
        self.bars_draw.watch(dock)

    def catch_up(self) -> None:
        """The panel has come into sight (its dock's tab was chosen): draw what it skipped."""
        self.bars_draw.catch_up()

    def _activations_changed(self) -> None:
        """The probability bars of the current input.  Out of sight (behind another dock tab)
        they are not redrawn for every live frame, only when the panel comes back."""
        self.bars_draw.request()

    def _draw_bars(self) -> None:
        net = self.net
        p = net.probabilities
        pred = prediction(p, net.dataset.classes if net.dataset is not None else None)
        if pred is None:
            self.probability_bars.clear_values()
            self.probability_label.setText("No input to classify (or the model does not end in class scores).")
            return
        self.probability_bars.set_values(p, pred.names, highlight=pred.index)
        text = f"Current input: predicted {pred.text()}"
        if net.input_source == "sample" and net.val is not None and len(net.val) and len(net.val.classes) == len(p):
            i = min(net.sample_index, len(net.val) - 1)
            text += f", true class {net.val.classes[int(net.val.y[i])]}"
        self.probability_label.setText(text)

    def _on_message(self, text: str) -> None:
        bad = getattr(text, "is_error", False)  # a Notice says whether it is an error
        self.status_label.setStyleSheet("color: #b91c1c;" if bad else "")
        self.status_label.setText(text)
