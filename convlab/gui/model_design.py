"""ModelDesign: the layers of the model - the spec with its undo steps, its report, and the models
built from it.

Every spec edit is an undo step on the lab's shared undo stack. An edit is never refused for
being wrong: a spec that cannot work is kept, marked (``report.error`` says which layer and why,
with the numbers), and no model is built until it is fixed. Nothing raises inside an undo
command: building a spec that fails in any way gives a marked report, never an exception.

One layer build per edit (``convlab.core.model.design_model``) gives both the report and the
model that is trained; ``view_model`` is a copy of it that lives in the GUI thread for feature
maps, predictions and receptive fields. Weights whose layer and shape survive an edit are kept.

Signal: ``modelsBuilt`` right after the models are rebuilt. The NetworkState that owns the design
brings the other states up to date and only then tells the views (its ``specChanged``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand

from convlab.core.layers import SpecError
from convlab.core.model import Sequential, SpecReport, design_model
from convlab.core.presets import LAYER_KINDS, model_preset, model_presets
from convlab.core.reasons import Notice
from convlab.core.spec_json import parse_spec_json

DEFAULT_PRESET = "lenet5"
_SIZE_KEEPING = {"softmax", "dropout", "relu", "leaky_relu", "tanh", "sigmoid"}  # layers keeping the value count


class _SpecCommand(QUndoCommand):
    def __init__(self, design: ModelDesign, text: str, before: tuple, after: tuple, merge_key=None):
        super().__init__(text)
        self.design, self.before, self.after = design, before, after
        self.merge_key = merge_key  # consecutive edits of one field (spin-box steps) merge

    def id(self):
        return 0x5EC if self.merge_key is not None else -1

    def mergeWith(self, other):
        if getattr(other, "merge_key", None) != self.merge_key:
            return False
        self.after = other.after
        self.setText(other.text())  # "Undo Layer 0: filters = 15", the value it undoes now
        return True

    def held(self) -> str:
        """Why this step cannot be undone or redone now ("" when it can): the window's Undo and Redo
        ask before they move the stack."""
        return self.design.edit_blocker()

    def redo(self):
        self.design._apply(*self.after)

    def undo(self):
        self.design._apply(*self.before)


def _failed_report(spec, error: Exception) -> SpecReport:
    """A marked report for a spec whose build failed in a way the engine did not foresee."""
    shape = spec.get("input") if isinstance(spec, dict) else None
    text = f"the model cannot be built: {type(error).__name__}: {error}"
    return SpecReport(tuple(shape) if isinstance(shape, (list, tuple)) else None, [], 0, text)


class ModelDesign(QObject):
    modelsBuilt = Signal()  # the report and models were rebuilt
    message = Signal(object)  # Notice

    def __init__(self, undo_stack, seed: Callable[[], int], parent=None):
        super().__init__(parent)
        self.undo_stack = undo_stack
        self._seed = seed  # the training seed: fresh weights come from it
        self.edit_blocker: Callable[[], str] = lambda: ""  # why the layers cannot change now ("" if they can)
        # ends what blocks an edit (a training run) when an undo step changes the layers anyway
        self.end_blocker: Callable[[], None] = lambda: None
        self.spec: dict = model_preset(DEFAULT_PRESET)
        self.preset_key: str | None = DEFAULT_PRESET
        self.report: SpecReport
        self.model: Sequential | None = None  # trained (in the training thread while a run is on)
        self.view_model: Sequential | None = None  # the GUI thread's copy
        self._build(keep_weights=False)

    # ------------------------------------------------------------------ reading

    def layers(self) -> list[dict]:
        return list(self.spec.get("layers", [])) if isinstance(self.spec, dict) else []

    # ------------------------------------------------------------------ edits (undo steps)

    def set_spec(self, spec: dict, text: str, preset_key: str | None = None, merge_key=None) -> bool:
        """Replace the spec as one undo step (a bad spec is marked, not refused)."""
        blocked = self.edit_blocker()
        if blocked:
            self.message.emit(Notice.error(blocked))
            return False
        spec = copy.deepcopy(spec)
        if spec == self.spec and preset_key == self.preset_key:
            return False
        before = (copy.deepcopy(self.spec), self.preset_key)
        self.undo_stack.push(_SpecCommand(self, text, before, (spec, preset_key), merge_key))
        return True

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
        if not 0 <= index < len(layers) or not isinstance(layers[index], dict):
            return False
        entry = dict(layers[index])
        if value is None:
            entry.pop(field, None)
        else:
            entry[field] = value
        layers[index] = entry
        return self._edit_layers(layers, f"Layer {index}: {field} = {value}", merge_key=(index, field))

    def output_layer(self) -> int | None:
        """The linear layer that makes the class scores: the last one, followed only by layers that
        keep the number of values (activations, dropout, softmax). None when there is none."""
        layers = self.layers()
        for i in range(len(layers) - 1, -1, -1):
            kind = layers[i].get("type") if isinstance(layers[i], dict) else None
            if kind == "linear":
                return i
            if kind not in _SIZE_KEEPING:
                return None
        return None

    def set_output_classes(self, classes: int) -> bool:
        """Give the output layer one unit per class, as one undo step (with a message saying so);
        False when there is no such layer or it already has them."""
        i = self.output_layer()
        if i is None:
            return False
        old = self.layers()[i].get("units")
        if old == classes or not self.set_layer_field(i, "units", int(classes)):
            return False
        self.message.emit(Notice(f"the last layer now gives {classes} scores, one per class (it gave {old})"))
        return True

    def end_with_classes(self, classes: int) -> bool:
        """End the model in one score per class, as one undo step: a flatten when it ends in maps, then
        a linear layer with ``classes`` units. False when there is no model to end."""
        if self.model is None:
            return False
        layers = self.layers()
        if len(self.model.output_shape) != 1:
            layers.append({"type": "flatten"})
        layers.append({"type": "linear", "units": int(classes)})
        if not self._edit_layers(layers, f"End with {classes} class scores"):
            return False
        self.message.emit(Notice(f"the model now ends in a linear layer with {classes} scores, one per class"))
        return True

    def set_input_shape(self, shape: list[int]) -> bool:
        spec = dict(self.spec)
        spec["input"] = list(shape)
        return self.set_spec(spec, f"Input {'x'.join(map(str, shape))}", None)

    def load_preset(self, key: str) -> bool:
        return self.set_spec(model_preset(key), f"Preset {model_presets()[key].name}", key)

    def set_spec_json(self, text: str) -> str:
        """Replace the spec from JSON text; returns "" or the reason it was not taken."""
        try:
            spec = parse_spec_json(text)  # the session's limits: NaN, deep nesting, 500 layers, ... refused
        except SpecError as e:
            return str(e)
        blocked = self.edit_blocker()
        if blocked:
            return blocked
        self.set_spec(spec, "Edit spec as JSON", None)
        return ""

    # ------------------------------------------------------------------ building

    def _apply(self, spec: dict, preset_key: str | None) -> None:
        """Called by the undo commands: never raises."""
        if self.edit_blocker():  # the stack was moved past the window's Undo (which holds such a step)
            self.end_blocker()  # the run ends first: its model is the one about to be replaced
        self.spec = copy.deepcopy(spec)
        self.preset_key = preset_key
        self._build(keep_weights=True)
        self.modelsBuilt.emit()

    def _build(self, keep_weights: bool) -> None:
        old = self.model.state_dict() if (keep_weights and self.model is not None) else {}
        self.report, model = self.build_aside(self.spec, self._seed())
        self.model = model
        if model is None:
            self.view_model = None
            return
        own = model.parameters()
        for k, v in old.items():  # weights whose layer and shape survive the edit are kept
            if k in own and own[k].shape == v.shape:
                own[k][...] = v
        self.view_model = model.copy()

    @staticmethod
    def build_aside(spec, seed: int) -> tuple[SpecReport, Sequential | None]:
        """The report and model of a spec, without touching the design (never raises)."""
        try:
            return design_model(spec, seed=seed)
        except Exception as e:  # noqa: BLE001 - a spec that cannot be built is marked, not an exception
            return _failed_report(spec, e), None

    def restore_built(self, spec: dict, preset_key: str | None, report: SpecReport, model: Sequential | None) -> None:
        """Take a spec built aside (a session): no undo step and no signal (the owner tells the others)."""
        self.spec, self.preset_key = copy.deepcopy(spec), preset_key
        self.report, self.model = report, model
        self.view_model = None if model is None else model.copy()

    def reset_weights(self, seed: int) -> None:
        if self.model is not None:
            self.model.reset_parameters(seed)
            self.sync_view()

    def sync_view(self, state: dict | None = None) -> None:
        """Copy weights into the view model (the trained model's, or a snapshot from the training thread)."""
        if self.view_model is None:
            return
        try:
            self.view_model.load_state_dict(state if state is not None else self.model.state_dict())
        except ValueError:
            pass  # a late snapshot of a run on the model an edit replaced: it belongs to no model now
