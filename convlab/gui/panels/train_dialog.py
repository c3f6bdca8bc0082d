"""Train LeNet-5 on the built-in synthetic digits: settings, progress, live curves, accuracy."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox,
    QVBoxLayout,
)

from convlab.core.data import synthetic_digits
from convlab.core.model import Sequential
from convlab.core.presets import model_preset, model_presets
from convlab.core.training import Trainer

from ..workers import TrainingWorker


class QuickTrainDialog(QDialog):
    def __init__(self, parent=None, samples: int = 6000):
        super().__init__(parent)
        self.setWindowTitle("Train a preset model on synthetic digits")
        self.resize(720, 520)
        self.samples = samples
        self.worker = None
        self.trainer = None
        form = QFormLayout()
        self.model_box = QComboBox()
        for key, p in model_presets().items():
            if p.spec["input"] == [1, 28, 28]:
                self.model_box.addItem(p.name, key)
                self.model_box.setItemData(self.model_box.count() - 1, p.description, 3)
        self.model_box.setToolTip("Which preset network to train")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 50)
        self.epochs.setValue(2)
        self.epochs.setToolTip("Passes over the training set")
        self.batch = QSpinBox()
        self.batch.setRange(1, 1024)
        self.batch.setValue(32)
        self.batch.setToolTip("Samples per gradient step")
        self.optimizer = QComboBox()
        for label, key in (("SGD with momentum", "momentum"), ("SGD", "sgd"), ("Adam", "adam")):
            self.optimizer.addItem(label, key)
        self.optimizer.setToolTip("How the gradient updates the weights")
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(4)
        self.lr.setRange(0.0001, 10)
        self.lr.setValue(0.05)
        self.lr.setSingleStep(0.01)
        self.lr.setToolTip("Learning rate: the size of each step")
        form.addRow("Model", self.model_box)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch)
        form.addRow("Optimiser", self.optimizer)
        form.addRow("Learning rate", self.lr)
        self.start_btn = QPushButton("Start")
        self.start_btn.setToolTip("Generate the digits and train")
        self.pause_btn = QPushButton("Pause")
        self.pause_btn.setToolTip("Pause or resume training")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setToolTip("Stop training, keeping the weights learned so far")
        self.start_btn.clicked.connect(self.start)
        self.pause_btn.clicked.connect(self.toggle_pause)
        self.stop_btn.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        for b in (self.start_btn, self.pause_btn, self.stop_btn):
            buttons.addWidget(b)
        self.progress = QProgressBar()
        self.progress.setToolTip("Samples seen so far")
        self.status = QLabel("Ready.")
        self.status.setWordWrap(True)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "training loss")
        self.plot.setToolTip("The loss of each reported step")
        self.curve = self.plot.plot(pen=pg.mkPen("#2563eb", width=2))
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.plot, 1)
        self.steps, self.losses = [], []
        self.epochs_done = []
        self._set_running(False)

    def _set_running(self, running: bool) -> None:
        self.start_btn.setEnabled(not running)
        self.pause_btn.setEnabled(running)
        self.stop_btn.setEnabled(running)
        for w in (self.model_box, self.epochs, self.batch, self.optimizer, self.lr):
            w.setEnabled(not running)

    def start(self) -> None:
        data = synthetic_digits(self.samples, seed=0)
        train, val = data.split(0.15, seed=0)
        model = Sequential.from_spec(model_preset(self.model_box.currentData()), seed=0)
        try:
            self.trainer = Trainer(model, train, val, epochs=self.epochs.value(), batch_size=self.batch.value(),
                                   optimizer=self.optimizer.currentData(), lr=self.lr.value(), seed=0)
        except ValueError as e:
            self.status.setText(str(e))
            return
        self.steps, self.losses, self.epochs_done = [], [], []
        self.curve.setData([], [])
        self.progress.setValue(0)
        self.worker = TrainingWorker(self.trainer)
        self.worker.progress.connect(self._progress)
        self.worker.epoch.connect(self._epoch)
        self.worker.diverged.connect(lambda msg: self.status.setText(msg))
        self.worker.failed.connect(lambda msg: self.status.setText(msg))
        self.worker.done.connect(self._done)
        self._set_running(True)
        self.pause_btn.setText("Pause")
        self.status.setText(f"Training on {len(train):,} digits, validating on {len(val):,}...")
        self.worker.start()

    def toggle_pause(self) -> None:
        if self.trainer is None:
            return
        if self.trainer.paused:
            self.trainer.resume()
            self.pause_btn.setText("Pause")
        else:
            self.trainer.pause()
            self.pause_btn.setText("Resume")

    def stop(self) -> None:
        if self.trainer is not None:
            self.trainer.stop()

    def _progress(self, r) -> None:
        self.steps.append(r.step)
        self.losses.append(r.loss)
        self.curve.setData(np.array(self.steps), np.array(self.losses))
        self.progress.setValue(int(round(100 * r.progress)))
        left = (r.samples_total - r.samples_seen) / max(r.samples_per_s, 1e-9)
        self.status.setText(
            f"epoch {r.epoch}, step {r.step}: loss {r.loss:.3f}, batch accuracy {r.accuracy:.0%}, "
            f"{r.samples_per_s:,.0f} samples/s, about {left:.0f} s left"
        )

    def _epoch(self, e) -> None:
        self.epochs_done.append(e)
        self.status.setText(
            f"epoch {e.epoch}: training accuracy {e.train_accuracy:.1%}, validation accuracy {e.val_accuracy:.1%}"
        )

    def _done(self, stopped: bool) -> None:
        self._set_running(False)
        if self.epochs_done:
            e = self.epochs_done[-1]
            self.status.setText(
                f"{'Stopped' if stopped else 'Finished'}: validation accuracy {e.val_accuracy:.1%} after {e.epoch} epoch(s)"
            )
        elif stopped and "diverged" not in self.status.text():
            self.status.setText("Stopped before the first epoch ended.")
        if self.worker is not None:
            self.worker.wait()

    def done(self, result: int) -> None:  # closing the dialog stops a running training
        if self.trainer is not None:
            self.trainer.stop()
            self.trainer.resume()
        if self.worker is not None:
            self.worker.wait()
        super().done(result)
