"""NetworkState: the model side of the lab, made of four states named for what they hold.

    net.design     ModelDesign      the spec with its undo steps, the report, the model and its view copy
    net.trainer_state TrainingState the dataset, a run, its history, the evaluation
    net.captured   CapturedSamples  classes and samples from the camera
    net.probe      Probe            the input the views look at, its activations, the selected unit

This class wires them together and is a thin facade, so a panel can say ``net.report`` or
``net.select_unit(...)`` without knowing which part answers: every name in ``_FORWARD`` is the
part's own attribute (read and written there), with no logic of its own here. What it adds is
the order of things: after a spec edit the probe and the training state bring themselves up to
date first and only then ``specChanged`` tells the views, followed by the input and activations
signals, so every view draws once, with fresh activations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from convlab.core import session as S
from convlab.core.data.catalog import DATASETS
from convlab.core.model import Sequential, SpecReport
from convlab.core.presets import built_in_shapes_text, data_fits, fitting_datasets, model_preset, model_presets
from convlab.core.reasons import Notice
from convlab.core.session import Session, SessionError
from convlab.core.settings import TrainSettings, from_mapping, to_mapping
from convlab.core.training import EpochResult

from .captured_samples import CapturedSamples
from .model_design import DEFAULT_PRESET, ModelDesign
from .probe import Probe
from .training_state import TrainingState

# facade name -> (part, the part's own name)
_FORWARD: dict[str, tuple[str, str]] = {}


def _forward(part: str, *names: str, renames: dict[str, str] | None = None) -> None:
    for name in names:
        _FORWARD[name] = (part, name)
    for name, own in (renames or {}).items():
        _FORWARD[name] = (part, own)


_forward("design", "spec", "preset_key", "report", "model", "view_model", "undo_stack", "layers", "set_spec",
         "add_layer", "remove_layer", "duplicate_layer", "move_layer", "set_layer_field", "set_input_shape",
         "set_spec_json", "set_output_classes", "end_with_classes", "edit_blocker")
_forward("trainer_state", "settings", "dataset", "train", "val", "dataset_settings", "skipped", "training", "trainer",
         "worker", "history_steps", "history_epochs", "history_epoch_steps", "evaluation", "confusion",
         "optimizer_state", "train_block", "train_block_reason", "set_settings", "dataset_is_current", "loading",
         "load_dataset", "load_chosen", "class_count", "run_steps", "seconds_left", "time_left", "planned_end",
         "start_training", "pause", "resume", "step", "stop", "stop_now", "reset_weights", "evaluate",
         "per_class_accuracy", "misclassified", "settingsChanged", "datasetChanged", "datasetLoading",
         "trainingStateChanged", "progress", "epochDone", "weightsChanged", "evaluationChanged")
_forward("captured", "capturedChanged", "add_class", "rename_class", "remove_class",
         renames={"captured_x": "x", "captured_y": "y", "captured_classes": "classes",
                  "captured_revision": "revision", "captured_counts": "counts", "remove_captured": "remove",
                  "clear_captured": "clear", "set_captured": "replace"})
_forward("probe", "image", "input_source", "sample_index", "preprocess", "current_input", "activations",
         "probabilities", "unit", "rf_mode", "effective_rf", "set_image", "show_frame", "use_image", "use_sample",
         "set_preprocess", "refresh_input", "refresh_activations", "select_unit", "clear_unit", "set_rf_mode",
         "unit_boxes", "inputChanged", "activationsChanged", "unitChanged")


@dataclass
class NetworkRestore:
    """A session's model side, checked and built aside, ready to replace the current one."""

    spec: dict
    preset_key: str | None
    report: SpecReport
    model: Sequential | None
    settings: TrainSettings
    steps: list
    epochs: list
    epoch_steps: list
    optimizer_state: dict | None
    confusion: np.ndarray | None
    captured: tuple
    unit: tuple | None
    rf_mode: str


class NetworkState(QObject):
    specChanged = Signal()  # the layers changed; report, models, input and activations are fresh
    message = Signal(object)  # Notice (a str with a severity) from any part

    def __init__(self, undo_stack, parent=None):
        super().__init__(parent)
        self.design = ModelDesign(undo_stack, seed=self._seed, parent=self)
        self.captured = CapturedSamples(self)
        self.trainer_state = TrainingState(self.design, self.captured, self)
        self.probe = Probe(self.design, lambda: self.trainer_state.val, self)
        self.design.edit_blocker = self._edit_blocker
        self.design.end_blocker = self.trainer_state.stop_now
        for part in (self.design, self.trainer_state, self.probe):
            part.message.connect(self.message)
        self.design.modelsBuilt.connect(self._models_rebuilt)
        t = self.trainer_state
        t.weightsChanged.connect(self.probe.refresh_activations)
        t.datasetChanged.connect(self._dataset_changed)

    def __getattr__(self, name: str):  # only for names not found on the facade itself
        target = _FORWARD.get(name)
        if target is None:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
        return getattr(object.__getattribute__(self, target[0]), target[1])

    def __setattr__(self, name: str, value) -> None:
        target = _FORWARD.get(name)
        if target is None:
            super().__setattr__(name, value)
        else:
            setattr(getattr(self, target[0]), target[1], value)

    # ------------------------------------------------------------------ the order of things

    def _seed(self) -> int:
        """The training seed, which fresh weights come from (the default before the training state exists)."""
        t = self.__dict__.get("trainer_state")
        return t.settings.seed if t is not None else TrainSettings().seed

    def _edit_blocker(self) -> str:
        return "" if self.trainer_state.training == "idle" else "stop training before changing the layers"

    def _models_rebuilt(self) -> None:
        self.probe.rebuilt()
        self.trainer_state.models_rebuilt()
        self._announce()

    def _announce(self) -> None:
        self.specChanged.emit()
        self.probe.inputChanged.emit()
        self.probe.activationsChanged.emit()
        self.probe.unitChanged.emit()

    def _dataset_changed(self) -> None:
        if self.probe.input_source == "sample":
            self.probe.refresh_input()

    # ------------------------------------------------------------------ across the parts

    def load_preset(self, key: str) -> bool:
        """Load a model preset (one undo step) with data it trains on out of the box: when the chosen
        built-in dataset does not fit it, the built-in dataset that does is chosen (see
        ``convlab.core.presets.fitting_datasets``) and loaded in the background. A preset that no
        built-in dataset fits is said so; the training panel then offers to resize the input."""
        if not self.design.load_preset(key):
            return False
        m, t = self.design.model, self.trainer_state
        if m is None or len(m.output_shape) != 1 or t.training != "idle":
            return True
        classes = m.output_shape[0]
        if data_fits(t.settings.dataset, m.input_shape, classes) is not False:
            return True  # it fits, or it is data the learner chose from disk: loading it tells
        name, shape = model_presets()[key].name, "x".join(map(str, m.input_shape))
        found = fitting_datasets(m.input_shape, classes)
        if found and found[0] == t.settings.dataset:
            pass  # the images fit, the class count does not: the training panel offers the fix
        elif found:
            t.set_settings(dataset=found[0])
            self.message.emit(Notice(f"{name} takes {shape} images: the dataset is now "
                                     f"{DATASETS.get(found[0], found[0])}"))
        else:
            self.message.emit(Notice(f"{name} takes {shape} images, and no built-in dataset has them "
                                     f"({built_in_shapes_text()}): resize the input to the data (the training "
                                     "panel offers it), or train on an image folder"))
        t.load_chosen()
        return True

    def captured_block(self):
        """Why the captured samples cannot train the model now (a Blocked, or None when they can)."""
        m = self.design.model
        return self.captured.block(m.input_shape if m else None, m.output_shape if m else None)

    def captured_block_reason(self) -> str:
        block = self.captured_block()
        return "" if block is None else block.text

    def add_captured(self, image, class_index: int) -> str:
        vm = self.design.view_model
        return self.captured.add(image, class_index, vm.input_shape if vm is not None else None,
                                 self.probe.preprocess)

    # ------------------------------------------------------------------ sessions

    def write_session(self, s: Session) -> None:
        """The model side's part of a session."""
        d, t, c = self.design, self.trainer_state, self.captured
        s.model_spec, s.model_preset = d.spec, d.preset_key
        if d.model is not None and t.training == "idle":
            s.model_state = d.model.state_dict()
        elif d.view_model is not None:  # during a run: the latest snapshot the GUI holds
            s.model_state = d.view_model.state_dict()
        s.optimizer_state = t.optimizer_state
        settings = to_mapping(t.settings)
        s.train_settings = {k: settings[k] for k in S.DEFAULT_TRAIN}
        s.dataset = {"kind": settings["dataset"], "path": settings["path"], "samples": settings["samples"]}
        if t.history_steps:  # a very long run keeps its curve's shape in the rows a session may hold
            s.history_steps = S.thin_history(t.history_steps)
        s.history_epochs = [
            {"epoch": e.epoch, "train_loss": e.train_loss, "train_accuracy": e.train_accuracy,
             "val_loss": e.val_loss, "val_accuracy": e.val_accuracy, "step": step}
            for e, step in zip(t.history_epochs, t.history_epoch_steps, strict=False)
        ]
        if t.confusion is not None:
            s.confusion = np.asarray(t.confusion, np.int64).copy()
        s.captured_classes = list(c.classes)
        if c.x is not None and len(c.y):
            s.captured_x = np.asarray(c.x, np.float32).copy()
            s.captured_y = np.asarray(c.y, np.int64).copy()
        p = self.probe
        s.selection = {**s.selection, "unit": list(p.unit) if p.unit else None, "rf_mode": p.rf_mode}

    def prepare_restore(self, s: Session) -> NetworkRestore:
        """Everything ``apply_restore`` needs, built aside (the model too) and checked against the
        limits the widgets have; SessionError says what does not fit. Nothing changes here."""
        try:
            settings = from_mapping(TrainSettings, {**s.train_settings, **{
                name: s.dataset[key] for key, name in S.DATASET_KEYS.items() if key in s.dataset}}, "train_settings")
        except ValueError as e:
            raise SessionError(str(e)) from None
        steps = np.zeros((0, 3)) if s.history_steps is None else np.asarray(s.history_steps, np.float64)
        if steps.size and not np.isfinite(steps[:, 0]).all():
            raise SessionError("history_steps: the step column holds NaN or infinite values")
        history = [(int(a), float(b), float(c)) for a, b, c in steps]
        epochs = [EpochResult(int(e.get("epoch", i + 1)), e.get("train_loss"), e.get("train_accuracy"),
                              e.get("val_loss"), e.get("val_accuracy")) for i, e in enumerate(s.history_epochs)]
        epoch_steps = [int(e.get("step", 0)) for e in s.history_epochs]
        spec = s.model_spec if isinstance(s.model_spec, dict) else model_preset(DEFAULT_PRESET)
        preset = s.model_preset if isinstance(s.model_spec, dict) else DEFAULT_PRESET
        report, model = self.design.build_aside(spec, settings.seed)
        if model is not None and s.model_state:
            try:
                model.load_state_dict(s.model_state)
            except (ValueError, KeyError) as e:
                raise SessionError(f"model_state does not fit the model: {e}") from None
        unit = s.selection.get("unit")
        return NetworkRestore(spec, preset, report, model, settings, history, epochs, epoch_steps,
                              s.optimizer_state, s.confusion, (s.captured_x, s.captured_y, s.captured_classes),
                              tuple(int(v) for v in unit) if isinstance(unit, list) and len(unit) == 4 else None,
                              str(s.selection.get("rf_mode", "analytic")))

    def apply_restore(self, r: NetworkRestore) -> None:
        """Replace the model side with a prepared session part: no undo step (the history starts here)."""
        self.captured.replace(*r.captured)  # before a "captured" dataset is rebuilt
        self.design.restore_built(r.spec, r.preset_key, r.report, r.model)
        self.probe.unit, self.probe.effective_rf = None, None
        self.probe.rebuilt()
        self.trainer_state.models_rebuilt()
        self.trainer_state.restore(r.settings, r.steps, r.epochs, r.epoch_steps, r.optimizer_state)
        self.trainer_state.settingsChanged.emit()
        self.trainer_state.evaluationChanged.emit()
        self._announce()  # the weights views redraw with the spec
        if r.unit is not None:
            self.probe.set_rf_mode(r.rf_mode if r.rf_mode in ("analytic", "effective") else "analytic")
            self.probe.select_unit(*r.unit)
        if r.confusion is not None and self.trainer_state.dataset is None and self.design.report.ok:
            # the confusion matrix, gallery and probabilities come back once the (seeded) dataset is rebuilt
            self.trainer_state.load_dataset(then=self.trainer_state.evaluate)

    def follow(self, lab) -> None:
        """Look at the playground's still images (a LabState's ``imageChanged``), once. Live frames
        come through ``show_frame`` from the live pipeline, which times each stage."""
        self._lab = lab
        lab.imageChanged.connect(self._lab_image_changed)

    def _lab_image_changed(self) -> None:
        self.probe.set_image(self._lab.image)

    def shutdown(self) -> None:
        self.trainer_state.shutdown()

    def notify(self, text: str, error: bool = False) -> None:
        self.message.emit(Notice.error(text) if error else Notice(text))
