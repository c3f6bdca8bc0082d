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

from PySide6.QtCore import QObject, Signal

from convlab.core.reasons import Notice
from convlab.core.settings import TrainSettings
from convlab.core.training import EpochResult

from .captured_samples import CapturedSamples
from .model_design import ModelDesign
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
         "load_preset", "set_spec_json", "set_output_classes")
_forward("trainer_state", "settings", "dataset", "train", "val", "dataset_settings", "skipped", "training", "trainer",
         "worker", "history_steps", "history_epochs", "history_epoch_steps", "evaluation", "confusion",
         "optimizer_state", "train_block", "train_block_reason", "set_settings", "dataset_is_current", "loading",
         "load_dataset", "start_training", "pause", "resume", "step", "stop", "reset_weights", "evaluate",
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

    def restore(self, spec, preset_key, state: dict, settings: TrainSettings, steps, epochs: list[EpochResult],
                epoch_steps, optimizer_state) -> None:
        """Bring back a saved model side (a session): no undo step, the undo history starts here."""
        self.design.restore(spec, preset_key, state)
        self.probe.unit, self.probe.effective_rf = None, None
        self.probe.rebuilt()
        self.trainer_state.models_rebuilt()
        self.trainer_state.restore(settings, steps, epochs, epoch_steps, optimizer_state)
        self.trainer_state.settingsChanged.emit()
        self.trainer_state.evaluationChanged.emit()
        self._announce()  # the weights views redraw with the spec

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
