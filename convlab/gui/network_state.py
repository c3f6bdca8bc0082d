"""NetworkState: the model side of the lab - spec, weights, dataset, training and what is looked at.

Like LabState it is the single source of truth for its panels, with a signal per change. Spec
edits are undo steps on the lab's shared undo stack. Every number a panel shows comes from the
engine (``analyze_spec`` for shapes, parameters, multiply-adds and receptive fields).

Two model objects exist: ``model`` is trained (in the training thread while a run is on) and
``view_model`` lives in the GUI thread for feature maps, predictions and receptive fields. The
training thread sends copies of the weights a few times a second; the view model loads them.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand

from convlab.core.data.kinds import DOWNLOAD_KINDS, KIND_LABELS, build_dataset  # issue 16
from convlab.core.model import Sequential, analyze_spec
from convlab.core.preprocess import Preprocess, model_input
from convlab.core.presets import model_preset, model_presets
from convlab.core.receptive_field import effective_receptive_field, unit_box, unit_footprints
from convlab.core.training import Trainer, confusion_matrix, evaluate

DATASETS = {
    "digits": "Synthetic digits (built in)",
    "shapes": "Synthetic shapes (built in)",
    "mnist": "MNIST folder (IDX files)",
    "fashion": "Fashion-MNIST folder (IDX files)",
    "folder": "Image folder (one subfolder per class)",
    "captured": "Captured from the camera",
}
# issue 16: the built-in RGB set and the downloadable ones (labels from core, the GUI's own kinds kept)
DATASETS = {**KIND_LABELS, **{k: v for k, v in DATASETS.items() if k not in KIND_LABELS}}
CLASS_NAME_MAX = 32  # characters in a captured class name


def _shape_text(shape) -> str:
    return "x".join(map(str, shape))

# the kinds the layer panel offers: a type plus the settings it starts with
LAYER_KINDS = {
    "conv2d": ("Convolution", {"type": "conv2d", "filters": 8, "kernel": 3, "padding": 1}),
    "conv1x1": ("1x1 convolution", {"type": "conv2d", "filters": 8, "kernel": 1}),
    "dilated": ("Dilated convolution", {"type": "conv2d", "filters": 8, "kernel": 3, "padding": 2, "dilation": 2}),
    "maxpool2d": ("Max pooling", {"type": "maxpool2d", "kernel": 2}),
    "avgpool2d": ("Average pooling", {"type": "avgpool2d", "kernel": 2}),
    "relu": ("ReLU", {"type": "relu"}),
    "leaky_relu": ("Leaky ReLU", {"type": "leaky_relu", "slope": 0.01}),
    "tanh": ("Tanh", {"type": "tanh"}),
    "sigmoid": ("Sigmoid", {"type": "sigmoid"}),
    "flatten": ("Flatten", {"type": "flatten"}),
    "linear": ("Fully connected (linear)", {"type": "linear", "units": 10}),
    "dropout": ("Dropout", {"type": "dropout", "rate": 0.5}),
    "softmax": ("Softmax", {"type": "softmax"}),
}


@dataclass(frozen=True)
class TrainSettings:
    dataset: str = "digits"
    path: str = ""  # the folder for mnist / fashion / folder
    samples: int = 6000  # size of a synthetic set
    val_fraction: float = 0.15
    batch_size: int = 32
    epochs: int = 3
    optimizer: str = "momentum"  # sgd | momentum | adam
    lr: float = 0.05
    weight_decay: float = 0.0
    seed: int = 0


def load_dataset(settings: TrainSettings, input_shape, captured=None):
    """Build the chosen dataset, shaped for a model input (C, H, W). Runs in a worker thread.

    ``captured`` is a snapshot (copies) of the captured samples ``(x, y, classes)`` for the
    "captured" kind."""
    from convlab.core import data

    s = settings
    if s.dataset == "captured":
        x, y, classes = captured if captured is not None else (None, None, [])
        counts = np.bincount(y, minlength=len(classes)) if x is not None else np.zeros(len(classes), int)
        if len(classes) < 2:
            raise ValueError(f"capture samples of at least 2 classes (there {'is' if len(classes) == 1 else 'are'} "
                             f"{len(classes)})")
        few = [f"{c!r} has {int(n)}" for c, n in zip(classes, counts) if n < 2]
        if few:
            raise ValueError(f"every captured class needs at least 2 samples: {', '.join(few)}")
        ds = data.Dataset(x, y, list(classes), "captured")
    elif s.dataset in DOWNLOAD_KINDS or s.dataset == "colour_shapes":  # issue 16: downloads, RGB shapes
        ds = build_dataset(s.dataset, s.path, s.samples, s.seed, tuple(input_shape))  # issue 16
    elif s.dataset == "digits":
        ds = data.synthetic_digits(s.samples, seed=s.seed)
    elif s.dataset == "shapes":
        ds = data.synthetic_shapes(s.samples, seed=s.seed)
    elif s.dataset in ("mnist", "fashion"):
        if not s.path:
            raise ValueError("choose the folder that holds the four MNIST files")
        ds = data.load_mnist_folder(s.path, "train", fashion=s.dataset == "fashion")
    elif s.dataset == "folder":
        if not s.path:
            raise ValueError("choose a folder with one subfolder per class")
        size = tuple(input_shape[1:]) if len(input_shape) == 3 else (28, 28)
        channels = input_shape[0] if len(input_shape) == 3 else 1
        ds, _skipped = data.load_image_folder(s.path, size=size, channels=channels)
    else:
        raise ValueError(f"unknown dataset {s.dataset!r}")
    train, val = ds.split(s.val_fraction, seed=s.seed)
    return ds, train, val


def _evaluate_copy(model, val):
    """Runs in a thread: evaluation and confusion matrix of a model copy on the validation set."""
    ev = evaluate(model, val)
    return ev, confusion_matrix(val.y, ev.predictions, len(val.classes))


class _SpecCommand(QUndoCommand):
    def __init__(self, state: "NetworkState", text: str, before: tuple, after: tuple, merge_key=None):
        super().__init__(text)
        self.state, self.before, self.after = state, before, after
        self.merge_key = merge_key  # consecutive edits of one field (spin-box steps) merge

    def id(self):
        return 0x5EC if self.merge_key is not None else -1

    def mergeWith(self, other):
        if getattr(other, "merge_key", None) != self.merge_key:
            return False
        self.after = other.after
        return True

    def redo(self):
        self.state._apply_spec(*self.after)

    def undo(self):
        self.state._apply_spec(*self.before)


class NetworkState(QObject):
    specChanged = Signal()  # layers edited: report (and model, if the spec works) rebuilt
    weightsChanged = Signal()  # new weights in the view model (reset, training snapshot, end of run)
    settingsChanged = Signal()  # training settings
    datasetChanged = Signal()  # a dataset was loaded
    datasetLoading = Signal(bool)  # a dataset is being built (True) or that ended (False)
    trainingStateChanged = Signal()  # idle / running / paused
    progress = Signal(object)  # StepResult, a few per second
    epochDone = Signal(object)  # EpochResult
    evaluationChanged = Signal()  # confusion matrix, per-class accuracy, misclassified samples
    inputChanged = Signal()  # the input the views look at
    activationsChanged = Signal()  # activations and probabilities of that input
    unitChanged = Signal()  # the selected unit or receptive-field mode
    message = Signal(str)
    capturedChanged = Signal()  # captured classes or samples

    def __init__(self, undo_stack, parent=None):
        super().__init__(parent)
        self.undo_stack = undo_stack
        self.spec: dict = model_preset("lenet5")
        self.preset_key: str | None = "lenet5"
        self.report = analyze_spec(self.spec)
        self.model: Sequential | None = None
        self.view_model: Sequential | None = None
        self.settings = TrainSettings()
        self.dataset = self.train = self.val = None
        self.dataset_settings: TrainSettings | None = None  # what the loaded dataset was built from
        self.training = "idle"
        self.trainer = None
        self.worker = None
        self.history_steps: list[tuple[int, float, float]] = []  # (step, loss, batch accuracy), all runs
        self.history_epochs: list = []  # EpochResult, all runs
        self.history_epoch_steps: list[int] = []  # the overall step at which each epoch ended
        self._step_base = 0  # steps of earlier runs: a new run's steps continue the curves
        self.evaluation = None
        self.confusion = None
        self.optimizer_state: dict | None = None  # the optimiser's buffers after the last run
        self.image: np.ndarray | None = None  # the lab's source image (uint8)
        self.input_source = "image"  # "image" or "sample"
        self.sample_index = 0
        self.preprocess = Preprocess()
        self.current_input: np.ndarray | None = None  # (C, H, W) float32 in [0, 1]
        self.activations: list[np.ndarray] = []  # [input, layer 0 output, ...] for current_input
        self.probabilities: np.ndarray | None = None
        self.unit: tuple[int, int, int, int] | None = None  # (layer, channel, y, x)
        self.rf_mode = "analytic"  # or "effective"
        self.effective_rf: np.ndarray | None = None  # (H, W) |d unit / d input| summed over channels
        self._dataset_task = None
        self._eval_task = None
        # samples captured from the camera, preprocessed exactly as the model sees them
        self.captured_x: np.ndarray | None = None  # (N, C, H, W) float32
        self.captured_y: np.ndarray = np.zeros(0, np.int64)  # (N,) indexes captured_classes
        self.captured_classes: list[str] = []
        self.captured_revision = 0  # counts changes: a dataset built from older captures is not current
        self._dataset_captured_revision = -1
        self._build_models(keep_weights=False)

    # ------------------------------------------------------------------ the spec

    def set_spec(self, spec: dict, text: str, preset_key: str | None = None, merge_key=None) -> bool:
        """Replace the spec as one undo step (any spec is accepted: a bad one is marked, not refused)."""
        if self.training != "idle":
            self.message.emit("stop training before changing the layers")
            return False
        spec = copy.deepcopy(spec)
        if spec == self.spec and preset_key == self.preset_key:
            return False
        self.undo_stack.push(_SpecCommand(self, text, (copy.deepcopy(self.spec), self.preset_key), (spec, preset_key),
                                          merge_key))
        return True

    def _apply_spec(self, spec: dict, preset_key: str | None) -> None:
        self.spec = copy.deepcopy(spec)
        self.preset_key = preset_key
        self.report = analyze_spec(self.spec)
        self._build_models(keep_weights=True)
        if self.unit is not None and not self._unit_exists(self.unit):
            self.unit, self.effective_rf = None, None
            self.unitChanged.emit()
        self.specChanged.emit()
        self.refresh_input()

    def layers(self) -> list[dict]:
        return list(self.spec.get("layers", [])) if isinstance(self.spec, dict) else []

    def _edit_layers(self, layers: list[dict], text: str, merge_key=None) -> bool:
        spec = dict(self.spec)
        spec["layers"] = layers
        return self.set_spec(spec, text, None, merge_key)

    def add_layer(self, kind: str, index: int | None = None) -> bool:
        label, entry = LAYER_KINDS[kind]
        layers = self.layers()
        index = len(layers) if index is None else index
        layers.insert(index, dict(entry))
        return self._edit_layers(layers, f"Add {label.lower()}")

    def remove_layer(self, index: int) -> bool:
        layers = self.layers()
        if not 0 <= index < len(layers):
            return False
        del layers[index]
        return self._edit_layers(layers, f"Remove layer {index}")

    def duplicate_layer(self, index: int) -> bool:
        layers = self.layers()
        if not 0 <= index < len(layers):
            return False
        layers.insert(index + 1, copy.deepcopy(layers[index]))
        return self._edit_layers(layers, f"Duplicate layer {index}")

    def move_layer(self, src: int, dst: int) -> bool:
        layers = self.layers()
        if src == dst or not (0 <= src < len(layers) and 0 <= dst < len(layers)):
            return False
        layers.insert(dst, layers.pop(src))
        return self._edit_layers(layers, f"Move layer {src} to {dst}")

    def set_layer_field(self, index: int, field: str, value) -> bool:
        layers = self.layers()
        entry = dict(layers[index])
        if value is None:
            entry.pop(field, None)
        else:
            entry[field] = value
        layers[index] = entry
        return self._edit_layers(layers, f"Layer {index}: {field} = {value}", merge_key=(index, field))

    def set_input_shape(self, shape: list[int]) -> bool:
        spec = dict(self.spec)
        spec["input"] = list(shape)
        return self.set_spec(spec, f"Input {'x'.join(map(str, shape))}", None)

    def load_preset(self, key: str) -> bool:
        return self.set_spec(model_preset(key), f"Preset {model_presets()[key].name}", key)

    def set_spec_json(self, text: str) -> str:
        """Replace the spec from JSON text; returns "" or the reason it was not taken."""
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as e:
            return f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}"
        if not isinstance(spec, dict) or not isinstance(spec.get("layers"), list) or "input" not in spec:
            return "a spec is an object with an \"input\" shape and a \"layers\" list"
        if not self.set_spec(spec, "Edit spec as JSON", None) and self.training != "idle":
            return "stop training before changing the layers"
        return ""

    def _build_models(self, keep_weights: bool) -> None:
        old = self.model.state_dict() if (keep_weights and self.model is not None) else {}
        if not self.report.ok:
            self.model = self.view_model = None
            return
        self.model = Sequential.from_spec(self.spec, seed=self.settings.seed)
        own = self.model.parameters()
        for k, v in old.items():  # weights whose layer and shape survive the edit are kept
            if k in own and own[k].shape == v.shape:
                own[k][...] = v
        self.view_model = Sequential.from_spec(self.spec, seed=self.settings.seed)
        self.view_model.load_state_dict(self.model.state_dict())
        self.evaluation = self.confusion = None
        self.optimizer_state = None

    @property
    def train_block_reason(self) -> str:
        """Why training cannot start now ("" when it can)."""
        if not self.report.ok:
            return self.report.error
        if self.model is None:
            return "the model is empty"
        out = self.model.output_shape
        if len(out) != 1:
            return (f"the model ends in {'x'.join(map(str, out))} maps; end it with flatten and a linear "
                    "layer with one unit per class")
        if self.settings.dataset == "captured":
            return self.captured_block_reason()
        if self.dataset is not None:
            k = len(self.dataset.classes)
            if out[0] != k:
                return f"the last layer gives {out[0]} scores but the dataset has {k} classes"
            if tuple(self.dataset.x.shape[1:]) != self.model.input_shape:
                return (f"the dataset's samples are {'x'.join(map(str, self.dataset.x.shape[1:]))} but the "
                        f"model takes {'x'.join(map(str, self.model.input_shape))}")
        return ""

    # ------------------------------------------------------------------ weights

    def restore(self, spec, preset_key, state: dict, settings: TrainSettings, steps, epochs, epoch_steps,
                optimizer_state) -> None:
        """Bring back a saved model side (a session): no undo step, the undo history starts here."""
        self.settings = settings
        if isinstance(spec, dict):
            self.spec, self.preset_key = copy.deepcopy(spec), preset_key
        else:  # a lab without a model starts from the default one
            self.spec, self.preset_key = model_preset("lenet5"), "lenet5"
        self.report = analyze_spec(self.spec)
        self._build_models(keep_weights=False)
        if self.model is not None and state:
            self.model.load_state_dict(state)
            self.view_model.load_state_dict(state)
        self.history_steps = [tuple(r) for r in steps]
        self.history_epochs = list(epochs)
        self.history_epoch_steps = list(epoch_steps)
        self.optimizer_state = optimizer_state
        self.unit = None
        self.effective_rf = None
        self.settingsChanged.emit()
        self.specChanged.emit()
        self.weightsChanged.emit()
        self.evaluationChanged.emit()
        self.unitChanged.emit()
        self.refresh_input()

    def reset_weights(self, seed: int | None = None) -> None:
        if self.model is None or self.training != "idle":
            return
        self.model.reset_parameters(self.settings.seed if seed is None else seed)
        self.optimizer_state = None
        self._sync_view()
        self.history_steps, self.history_epochs, self.history_epoch_steps = [], [], []
        self.evaluation = self.confusion = None
        self.evaluationChanged.emit()
        self.message.emit("weights reset to fresh random values")

    def _sync_view(self, state: dict | None = None) -> None:
        if self.view_model is None:
            return
        self.view_model.load_state_dict(state if state is not None else self.model.state_dict())
        self.weightsChanged.emit()
        self.refresh_activations()

    # ------------------------------------------------------------------ dataset

    def set_settings(self, **changes) -> None:
        new = replace(self.settings, **changes)
        if new != self.settings:
            self.settings = new
            self.settingsChanged.emit()

    def dataset_is_current(self) -> bool:
        s, d = self.settings, self.dataset_settings
        if s.dataset == "captured" and self._dataset_captured_revision != self.captured_revision:
            return False
        return d is not None and (s.dataset, s.path, s.samples, s.val_fraction, s.seed) == (
            d.dataset, d.path, d.samples, d.val_fraction, d.seed)

    @property
    def loading(self) -> bool:
        return self._dataset_task is not None

    def load_dataset(self, then=None) -> None:
        """Build the dataset in a worker thread; datasetChanged (or a message) follows."""
        from .workers import Task

        if self._dataset_task is not None:
            self.message.emit("a dataset is already being loaded")
            return
        shape = self.model.input_shape if self.model is not None else (1, 28, 28)
        settings = self.settings
        captured = None
        if settings.dataset == "captured":  # copies: capturing goes on while the set is built
            x = None if self.captured_x is None else self.captured_x.copy()
            captured = (x, self.captured_y.copy(), list(self.captured_classes))
        task = Task(load_dataset, settings, shape, captured)
        # bound methods of this GUI-thread object: Qt queues the calls into the GUI thread
        # (a lambda would run in the task's thread)
        self._pending_load = (settings, then, self.captured_revision)
        task.done.connect(self._dataset_loaded)
        task.failed.connect(self._dataset_failed)
        self._dataset_task = task
        self.message.emit(f"loading {DATASETS.get(settings.dataset, settings.dataset)}...")
        self.datasetLoading.emit(True)
        task.start()

    def _finish_task(self) -> None:
        task, self._dataset_task = self._dataset_task, None
        if task is not None:
            task.wait()
        self.datasetLoading.emit(False)

    def _dataset_failed(self, text: str) -> None:
        self._finish_task()
        self.message.emit(f"cannot load the dataset: {text}")

    def _dataset_loaded(self, result) -> None:
        settings, then, revision = self._pending_load
        self._finish_task()
        self.dataset, self.train, self.val = result
        self.dataset_settings = settings
        self._dataset_captured_revision = revision if settings.dataset == "captured" else -1
        self.datasetChanged.emit()
        self.message.emit(f"{len(self.train):,} training and {len(self.val):,} validation samples, "
                          f"{len(self.dataset.classes)} classes")
        if self.input_source == "sample":
            self.refresh_input()
        if then is not None:
            then()

    # ------------------------------------------------------------------ training

    def start_training(self, paused: bool = False) -> bool:
        """Start a run (loading the dataset first if needed); False with a message if it cannot."""
        if self.training != "idle":
            return False
        reason = self.train_block_reason
        if reason:
            self.message.emit(f"cannot train: {reason}")
            return False
        if not self.dataset_is_current():
            self.load_dataset(then=lambda: self.start_training(paused))
            return True
        from .workers import TrainingWorker

        s = self.settings
        try:
            self.trainer = Trainer(self.model, self.train, self.val, epochs=s.epochs, batch_size=s.batch_size,
                                   optimizer=s.optimizer, lr=s.lr, weight_decay=s.weight_decay, seed=s.seed)
        except ValueError as e:
            self.message.emit(f"cannot train: {e}")
            return False
        if self.optimizer_state is not None:  # continue with the momentum / Adam buffers of the last run
            try:
                self.trainer.optimizer.load_state_dict(self.optimizer_state)
            except ValueError:
                pass  # another optimiser than last time: its buffers start afresh
        if paused:
            self.trainer.pause()
        self._step_base = self.history_steps[-1][0] if self.history_steps else 0
        self.worker = TrainingWorker(self.trainer, snapshot=lambda m=self.model: m.state_dict())
        self.worker.steps.connect(self._on_steps)
        self.worker.progress.connect(self._on_progress)
        self.worker.snapshot.connect(self._sync_view)
        self.worker.epoch.connect(self._on_epoch)
        self.worker.diverged.connect(self.message)
        self.worker.failed.connect(self.message)
        self.worker.done.connect(self._on_done)
        self.training = "paused" if paused else "running"
        self.trainingStateChanged.emit()
        self.worker.start()
        return True

    def pause(self) -> None:
        if self.training == "running":
            self.trainer.pause()
            self.training = "paused"
            self.trainingStateChanged.emit()

    def resume(self) -> None:
        if self.training == "paused":
            self.trainer.resume()
            self.training = "running"
            self.trainingStateChanged.emit()

    def step(self) -> None:
        """One batch: from idle a paused run starts and takes one step."""
        if self.training == "idle":
            if not self.dataset_is_current():
                if not self.train_block_reason:
                    self.load_dataset(then=self.step)
                else:
                    self.message.emit(f"cannot train: {self.train_block_reason}")
                return
            if self.start_training(paused=True) and self.trainer is not None:
                self.trainer.step_once()
        elif self.training == "paused":
            self.trainer.step_once()

    def stop(self) -> None:
        if self.trainer is not None and self.training != "idle":
            self.trainer.stop()

    def _on_steps(self, rows) -> None:
        base = self._step_base
        self.history_steps.extend((base + step, loss, acc) for step, loss, acc in rows)

    def _on_progress(self, r) -> None:
        self.progress.emit(r)

    def _on_epoch(self, e) -> None:
        self.history_epochs.append(e)
        self.history_epoch_steps.append(self.history_steps[-1][0] if self.history_steps else 0)
        self.epochDone.emit(e)

    def _on_done(self, stopped: bool) -> None:
        if self.worker is not None:
            self.worker.wait()
        if self.trainer is not None:
            self.optimizer_state = self.trainer.optimizer.state_dict()
        self.worker = None
        self.trainer = None
        self.training = "idle"
        self._sync_view()
        self.trainingStateChanged.emit()
        self.evaluate()

    def evaluate(self) -> None:
        """Confusion matrix, per-class accuracy and misclassified samples on the validation set,
        computed in a thread on a copy of the model; evaluationChanged follows."""
        from .workers import Task

        if self.view_model is None or self.val is None or len(self.val) == 0 or self.train_block_reason:
            return
        if self._eval_task is not None:
            self._eval_task.wait()
        task = Task(_evaluate_copy, self.view_model.copy(), self.val)
        task.done.connect(self._evaluated)
        task.failed.connect(self._evaluation_failed)
        self._eval_task = task
        task.start()

    def _evaluated(self, result) -> None:
        self._finish_eval()
        self.evaluation, self.confusion = result
        self.evaluationChanged.emit()

    def _evaluation_failed(self, text: str) -> None:
        self._finish_eval()
        self.message.emit(f"cannot evaluate the model: {text}")

    def _finish_eval(self) -> None:
        task, self._eval_task = self._eval_task, None
        if task is not None:
            task.wait()

    def per_class_accuracy(self) -> np.ndarray | None:
        if self.confusion is None:
            return None
        totals = self.confusion.sum(axis=1)
        return np.where(totals > 0, np.diag(self.confusion) / np.maximum(totals, 1), np.nan)

    def misclassified(self, limit: int = 64) -> np.ndarray:
        if self.evaluation is None:
            return np.zeros(0, int)
        return np.flatnonzero(self.evaluation.predictions != self.val.y)[:limit]

    def shutdown(self) -> None:
        for task in (self._dataset_task, self._eval_task):
            if task is not None:
                task.wait()
        if self.trainer is not None:
            self.trainer.stop()
            self.trainer.resume()
        if self.worker is not None:
            self.worker.wait()

    # ------------------------------------------------------------------ samples captured from the camera

    def captured_counts(self) -> np.ndarray:
        """Samples per captured class."""
        return np.bincount(self.captured_y, minlength=len(self.captured_classes)).astype(np.int64)

    def captured_block_reason(self) -> str:
        """Why the captured samples cannot train the model now ("" when they can)."""
        classes = self.captured_classes
        if len(classes) < 2:
            return f"capture samples of at least 2 classes (there {'is' if len(classes) == 1 else 'are'} {len(classes)})"
        few = [f"{c!r} has {int(n)}" for c, n in zip(classes, self.captured_counts()) if n < 2]
        if few:
            return f"every captured class needs at least 2 samples: {', '.join(few)}"
        if self.model is not None:
            shape = tuple(self.captured_x.shape[1:])
            if shape != tuple(self.model.input_shape):
                return (f"the captured samples are {_shape_text(shape)} but the model takes "
                        f"{_shape_text(self.model.input_shape)}: clear them and capture again")
            out = self.model.output_shape
            if len(out) == 1 and out[0] != len(classes):
                return f"the last layer gives {out[0]} scores but {len(classes)} classes were captured"
        return ""

    def _class_name_problem(self, name: str, ignore: int | None = None) -> str:
        if not isinstance(name, str) or not name.strip():
            return "a class needs a name"
        name = name.strip()
        if len(name) > CLASS_NAME_MAX:
            return f"a class name has at most {CLASS_NAME_MAX} characters ({len(name)} given)"
        if any(c == name for i, c in enumerate(self.captured_classes) if i != ignore):
            return f"there is already a class {name!r}"
        return ""

    def _captured_edited(self) -> None:
        self.captured_revision += 1
        self.capturedChanged.emit()

    def add_class(self, name: str) -> str:
        """A new (empty) captured class; returns "" or the reason it was not added."""
        problem = self._class_name_problem(name)
        if problem:
            return problem
        self.captured_classes.append(name.strip())
        self._captured_edited()
        return ""

    def rename_class(self, index: int, name: str) -> str:
        if not 0 <= index < len(self.captured_classes):
            return f"there is no class {index + 1}"
        problem = self._class_name_problem(name, ignore=index)
        if problem:
            return problem
        if self.captured_classes[index] != name.strip():
            self.captured_classes[index] = name.strip()
            self._captured_edited()
        return ""

    def remove_class(self, index: int) -> None:
        """Remove a class and its samples; the labels of later classes move down by one."""
        if not 0 <= index < len(self.captured_classes):
            return
        del self.captured_classes[index]
        keep = self.captured_y != index
        y = self.captured_y[keep]
        y[y > index] -= 1
        self.captured_y = y.astype(np.int64)
        self.captured_x = self.captured_x[keep] if self.captured_x is not None and len(y) else None
        self._captured_edited()

    def add_captured(self, image: np.ndarray, class_index: int) -> str:
        """One frame (uint8 RGB) as a sample of a class, preprocessed exactly as the model sees it.

        Returns "" or the reason it was not taken."""
        if not 0 <= class_index < len(self.captured_classes):
            return f"there is no class {class_index + 1}: add a class first"
        if self.view_model is None:
            return "there is no working model to shape the samples for: fix the layers first"
        shape = tuple(self.view_model.input_shape)
        if len(shape) != 3:
            return f"the model takes a flat input of {shape[0]} values, not an image: give it an image input"
        if self.captured_x is not None and tuple(self.captured_x.shape[1:]) != shape:
            return (f"the captured samples are {_shape_text(self.captured_x.shape[1:])} but the model now takes "
                    f"{_shape_text(shape)}: clear them to capture at the new size")
        try:
            x = model_input(np.asarray(image), shape, self.preprocess)
        except ValueError as e:
            return str(e)
        x = x[None]
        self.captured_x = x if self.captured_x is None else np.concatenate([self.captured_x, x])
        self.captured_y = np.append(self.captured_y, np.int64(class_index)).astype(np.int64)
        self._captured_edited()
        return ""

    def remove_captured(self, indices) -> None:
        """Remove samples by their index in captured_x."""
        if self.captured_x is None:
            return
        keep = np.ones(len(self.captured_y), bool)
        idx = np.asarray(list(indices), dtype=np.int64)
        idx = idx[(idx >= 0) & (idx < len(keep))]
        if not len(idx):
            return
        keep[idx] = False
        self.captured_y = self.captured_y[keep]
        self.captured_x = self.captured_x[keep] if keep.any() else None
        self._captured_edited()

    def clear_captured(self) -> None:
        """Remove every captured sample (the classes stay)."""
        if self.captured_x is None and not len(self.captured_y):
            return
        self.captured_x, self.captured_y = None, np.zeros(0, np.int64)
        self._captured_edited()

    def set_captured(self, x, y, classes) -> None:
        """Replace classes and samples at once (a restored session)."""
        self.captured_classes = [str(c) for c in (classes or [])]
        if x is None or y is None or len(y) == 0:
            self.captured_x, self.captured_y = None, np.zeros(0, np.int64)
        else:
            self.captured_x = np.ascontiguousarray(x, dtype=np.float32).copy()
            self.captured_y = np.asarray(y, dtype=np.int64).copy()
        self._captured_edited()

    # ------------------------------------------------------------------ what the views look at

    def set_image(self, image: np.ndarray | None) -> None:
        self.image = image
        if self.input_source == "image":
            self.refresh_input()

    def use_image(self) -> None:
        self.input_source = "image"
        self.refresh_input()

    def use_sample(self, index: int) -> None:
        self.input_source = "sample"
        self.sample_index = int(index)
        self.refresh_input()

    def set_preprocess(self, **changes) -> None:
        self.preprocess = replace(self.preprocess, **changes)
        self.refresh_input()

    def refresh_input(self) -> None:
        x = None
        if self.view_model is not None and len(self.view_model.input_shape) == 3:
            shape = self.view_model.input_shape
            if self.input_source == "sample" and self.val is not None and len(self.val):
                i = min(self.sample_index, len(self.val) - 1)
                if tuple(self.val.x.shape[1:]) == shape:
                    x = self.val.x[i]
            elif self.image is not None:
                try:
                    x = model_input(self.image, shape, self.preprocess)
                except ValueError as e:
                    self.message.emit(str(e))
        self.current_input = x
        self.inputChanged.emit()
        self.refresh_activations()

    def refresh_activations(self) -> None:
        m = self.view_model
        if m is None or self.current_input is None:
            self.activations, self.probabilities = [], None
        else:
            with np.errstate(all="ignore"):
                out = m.forward(self.current_input[None])
                self.activations = [a[0].copy() for a in m.activations]
                self.probabilities = None
                if len(m.output_shape) == 1:
                    from convlab.core.functional import softmax

                    self.probabilities = out[0] if m.ends_with_softmax else softmax(out, axis=1)[0]
        if self.unit is not None and self.rf_mode == "effective":
            self._compute_effective_rf()
        self.activationsChanged.emit()

    # ------------------------------------------------------------------ receptive fields

    def _unit_exists(self, unit) -> bool:
        layer, ch, y, x = unit
        if self.view_model is None or not 0 <= layer < len(self.report.rows):
            return False
        shape = self.report.rows[layer].output_shape
        if len(shape) == 1:
            return 0 <= ch < shape[0]
        return 0 <= ch < shape[0] and 0 <= y < shape[1] and 0 <= x < shape[2]

    def select_unit(self, layer: int, channel: int, y: int, x: int) -> None:
        if not self._unit_exists((layer, channel, y, x)):
            self.message.emit(f"layer {layer} has no unit (channel {channel}, y {y}, x {x})")
            return
        self.unit = (layer, channel, y, x)
        if self.rf_mode == "effective":
            self._compute_effective_rf()
        self.unitChanged.emit()

    def clear_unit(self) -> None:
        self.unit = None
        self.effective_rf = None
        self.unitChanged.emit()

    def set_rf_mode(self, mode: str) -> None:
        self.rf_mode = mode
        if mode == "effective":
            self._compute_effective_rf()
        self.unitChanged.emit()

    def unit_boxes(self):
        """The selected unit's field on the input and its nested blocks at every earlier layer."""
        if self.unit is None or self.view_model is None:
            return None, []
        layer, _, y, x = self.unit
        box = unit_box(self.view_model.layers, layer, y, x)
        rf = self.report.rows[layer].rf
        nested = [] if rf.is_global else unit_footprints(self.view_model.layers, layer, y, x)
        return box, nested

    def _compute_effective_rf(self) -> None:
        self.effective_rf = None
        if self.unit is None or self.view_model is None or self.current_input is None:
            return
        layer, ch, y, x = self.unit
        try:
            g = effective_receptive_field(self.view_model, self.current_input, layer, ch, y, x)
        except ValueError as e:
            self.message.emit(str(e))
            return
        self.effective_rf = np.abs(g).sum(axis=0) if g.ndim == 3 else np.abs(g)
