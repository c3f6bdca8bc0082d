"""File > Export > PyTorch / ONNX and File > Import > ONNX: the lab's model out to other tools and back.

:class:`ModelTransfer` adds the two submenus to a menu and does the work in a worker thread
(building a synthetic dataset for train.py or reading a downloaded one takes a second or two).
It takes what it needs from the lab's NetworkState through its public side: ``preset_key``,
``report``, ``view_model`` (the GUI thread's copy of the weights), ``settings``, ``dataset`` with
``dataset_is_current()``, the captured samples, ``training``, and for an import
``write_session`` / ``prepare_restore`` / ``apply_restore`` (the model side replaced as a session
part is, everything else kept). The engine
work is :mod:`convlab.core.export`; this module only asks for paths and reports.

Results and errors go to ``message`` (the status bar) and, as something a user must read, to a
non-blocking message box (``last_box``).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QUndoCommand
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

from convlab.core.data.dataset import Dataset
from convlab.core.export.recipe import ExportError, ExportRequest, TrainingRecipe, data_recipe
from convlab.core.presets import model_presets
from convlab.core.reasons import Notice
from convlab.core.session import Session, SessionError

from .file_dialogs import dialogs

__all__ = ["ModelTransfer"]

ONNX_FILTER = "ONNX models (*.onnx);;All files (*)"


def _export_job(fmt: str, request_parts: dict, target: str):
    """Runs in a worker thread: build the data recipe (if any), then write the export."""
    from convlab.core.export.onnx_export import export_onnx
    from convlab.core.export.pytorch import export_pytorch

    data_args = request_parts.pop("data_args", None)
    try:
        data = data_recipe(**data_args) if data_args is not None else None
        request = ExportRequest(data=data, **request_parts)
        if fmt == "pytorch":
            return [str(p) for p in export_pytorch(request, target)]
        return [str(export_onnx(request, target))]
    except (ExportError, OSError, MemoryError):
        raise
    except Exception as e:  # noqa: BLE001 - reported to the user, never lost in the thread
        raise ExportError(f"the export failed unexpectedly ({type(e).__name__}: {e})") from e


def _import_job(path: str):
    from convlab.core.export.onnx_import import ONNXImportError, import_onnx

    try:
        return import_onnx(path)
    except ONNXImportError:
        raise
    except Exception as e:  # noqa: BLE001 - reported to the user, never lost in the thread
        raise ExportError(f"{os.path.basename(path)}: the import failed unexpectedly ({type(e).__name__}: {e})") from e


@dataclass(frozen=True)
class ModelParts:
    """The model side of a lab that an import replaces: the layers, their weights, the optimiser's
    buffers and the training history (settings, data and captured samples are not part of it)."""

    spec: dict
    preset: str | None
    state: dict | None
    optimizer_state: dict | None
    history_steps: object
    history_epochs: list
    confusion: object

    @classmethod
    def of(cls, lab: Session) -> ModelParts:
        return cls(copy.deepcopy(lab.model_spec), lab.model_preset, lab.model_state, lab.optimizer_state,
                   lab.history_steps, list(lab.history_epochs), lab.confusion)

    def put_into(self, lab: Session) -> Session:
        """``lab`` with this model side in place (and no unit selected), for ``prepare_restore``."""
        lab.model_spec, lab.model_preset, lab.model_state = self.spec, self.preset, self.state
        lab.optimizer_state, lab.history_steps = self.optimizer_state, self.history_steps
        lab.history_epochs, lab.confusion = list(self.history_epochs), self.confusion
        lab.selection = {**lab.selection, "unit": None}
        return lab


def _swap_aside(net, parts: ModelParts):
    """(the lab's model side now, the lab with ``parts`` in its place built aside); SessionError
    or ValueError when ``parts`` does not fit. Nothing changes here."""
    lab = Session()
    net.write_session(lab)
    current = ModelParts.of(lab)
    return current, net.prepare_restore(parts.put_into(lab))


class _ImportCommand(QUndoCommand):
    """An imported model as an undo step. Undo and redo swap the lab's model side with the one kept
    here: undo brings the replaced model back with its weights and history, and keeps the imported
    one as it is then (trained since, maybe) for redo. Nothing raises here: a side that no longer
    fits is said so and the lab stays as it was."""

    def __init__(self, net, text: str, before: ModelParts, prepared):
        super().__init__(text)
        self.net, self.kept = net, before  # the side that is not in the lab now
        self._prepared = prepared  # the push's redo puts in the model built for the import

    def held(self) -> str:
        return self.net.edit_blocker()

    def redo(self) -> None:
        if self._prepared is not None:
            prepared, self._prepared = self._prepared, None
            self._put(prepared)  # (self.kept is already the model it replaces)
            return
        self._swap()

    def undo(self) -> None:
        self._swap()

    def _swap(self) -> None:
        net = self.net
        if net.edit_blocker():  # (the window holds this step while training: a stack moved past it)
            net.stop_now()
        try:
            current, prepared = _swap_aside(net, self.kept)
        except Exception as e:  # noqa: BLE001 - never raise inside an undo command
            net.message.emit(Notice.error(f"{self.text()}: the other model cannot be put back ({e})"))
            return
        if self._put(prepared):
            self.kept = current

    def _put(self, prepared) -> bool:
        try:
            self.net.apply_restore(prepared)
        except Exception as e:  # noqa: BLE001 - never raise inside an undo command
            self.net.message.emit(Notice.error(f"{self.text()}: {e}"))
            return False
        return True


class ModelTransfer(QObject):
    message = Signal(str)
    exported = Signal(list)  # the files written
    imported = Signal(str)  # the file read
    failed = Signal(str)

    def __init__(self, window: QWidget, net, menu: QMenu, before: QAction | None = None):
        super().__init__(window)
        self.window = window
        self.net = net
        self.task = None
        self._import_path = ""
        self.last_box: QMessageBox | None = None
        self.export_menu = QMenu("E&xport", window)
        self.export_menu.setToolTipsVisible(True)
        self.act_export_pytorch = self._action(
            self.export_menu, "&PyTorch...", self.export_pytorch_dialog,
            "Write the model as a folder for PyTorch: model.py (a plain nn.Sequential), weights.safetensors and "
            "train.py that trains it on the same data with the same settings")
        self.act_export_onnx = self._action(
            self.export_menu, "&ONNX...", self.export_onnx_dialog,
            "Write the model as model.onnx, which onnxruntime and other ONNX tools run with the same outputs")
        self.import_menu = QMenu("&Import", window)
        self.import_menu.setToolTipsVisible(True)
        self.act_import_onnx = self._action(
            self.import_menu, "&ONNX...", self.import_onnx_dialog,
            "Bring in an ONNX model made of ConvLab's layers (a LeNet exported from PyTorch, for instance) with "
            "its weights; it replaces the current model")
        if before is not None:
            menu.insertMenu(before, self.export_menu)
            menu.insertMenu(before, self.import_menu)
            menu.insertSeparator(before)
        else:
            menu.addMenu(self.export_menu)
            menu.addMenu(self.import_menu)
        self.export_menu.aboutToShow.connect(self._refresh)

    def _action(self, menu: QMenu, text: str, slot, tip: str) -> QAction:
        a = menu.addAction(text)
        a.setToolTip(tip)
        a.setStatusTip(tip)
        a.triggered.connect(slot)
        return a

    def _refresh(self) -> None:
        why = self.export_block_reason()
        for a in (self.act_export_pytorch, self.act_export_onnx):
            a.setEnabled(not why and self.task is None)
            a.setStatusTip(why or a.toolTip())

    # ------------------------------------------------------------------ what is exported

    def export_block_reason(self) -> str:
        if self.net.view_model is None:
            report = getattr(self.net, "report", None)
            return f"the model cannot be exported: {getattr(report, 'error', '') or 'it has no layers'}"
        return ""

    def _name(self) -> str:
        key = self.net.preset_key
        presets = model_presets()
        return presets[key].name if key in presets else "ConvLab model"

    def _request_parts(self, with_data: bool) -> dict:
        net = self.net
        s = net.settings
        model = net.view_model
        parts = {
            "spec": model.spec(),
            "state": model.state_dict(),  # copies, made here in the GUI thread
            "training": TrainingRecipe(optimizer=s.optimizer, lr=s.lr, weight_decay=s.weight_decay,
                                       batch_size=s.batch_size, epochs=s.epochs, seed=s.seed,
                                       val_fraction=s.val_fraction),
            "name": self._name(),
            "classes": None,
        }
        given = None
        if net.dataset is not None and net.dataset_is_current():
            given = net.dataset  # the very samples the lab trains on (read-only in the worker)
            parts["classes"] = list(net.dataset.classes)
        elif s.dataset == "captured" and net.captured_x is not None:
            given = Dataset(net.captured_x.copy(), net.captured_y.copy(), list(net.captured_classes), "captured")
        if with_data:
            parts["data_args"] = {"kind": s.dataset, "path": s.path, "samples": s.samples, "seed": s.seed,
                                  "val_fraction": s.val_fraction, "input_shape": tuple(model.input_shape),
                                  "dataset": given}
        return parts

    # ------------------------------------------------------------------ export

    def export_pytorch_dialog(self) -> None:
        folder = self.ask_export_folder()
        if folder:
            self.export_to("pytorch", folder)

    def export_onnx_dialog(self) -> None:
        path = self.ask_onnx_save_path()
        if path:
            self.export_to("onnx", path)

    def ask_export_folder(self) -> str:
        """Where to write the PyTorch folder (tests replace this)."""
        return dialogs().open_folder(self.window, "Export to PyTorch: choose or create a folder")

    def ask_onnx_save_path(self) -> str:
        path = dialogs().save_file(self.window, "Export to ONNX", "model.onnx", ONNX_FILTER)
        if path and not path.lower().endswith(".onnx"):
            path += ".onnx"
        return path

    def confirm(self, text: str) -> bool:
        """A yes/no question (tests replace this)."""
        answer = QMessageBox.question(self.window, "ConvLab", text, QMessageBox.Yes | QMessageBox.No)
        return answer == QMessageBox.Yes

    def export_to(self, fmt: str, target: str) -> bool:
        """Start an export; False (with a message) when it cannot start."""
        why = self.export_block_reason() or ("an export or import is already running" if self.task else "")
        if why:
            self._fail(why)
            return False
        if fmt == "pytorch":
            clash = [n for n in ("model.py", "train.py", "weights.safetensors")
                     if os.path.exists(os.path.join(target, n))]
            if clash and not self.confirm(f"{target} already holds {', '.join(clash)}. Replace them?"):
                return False
        from convlab.gui.workers import Task

        try:
            parts = self._request_parts(with_data=fmt == "pytorch")
        except ExportError as e:
            self._fail(str(e))
            return False
        task = Task(_export_job, fmt, parts, target)
        task.done.connect(self._exported)
        task.failed.connect(self._task_failed)
        self.task = task
        what = "PyTorch" if fmt == "pytorch" else "ONNX"
        self.message.emit(f"exporting the model to {what}...")
        task.start()
        return True

    def _end_task(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.wait()

    def _exported(self, files: list) -> None:
        self._end_task()
        where = os.path.dirname(files[0]) if files else ""
        self.message.emit(f"exported: {', '.join(os.path.basename(f) for f in files)} in {where}")
        text = "Written:\n" + "\n".join(files)
        if any(f.endswith("train.py") for f in files):
            text += "\n\nWith PyTorch installed: python train.py (in that folder) trains the model further."
        self._box(QMessageBox.Information, "Export finished", text)
        self.exported.emit(list(files))

    def _task_failed(self, text: str) -> None:
        self._end_task()
        self._fail(text)

    def _fail(self, text: str) -> None:
        self.message.emit(f"cannot export or import: {text}")
        self._box(QMessageBox.Warning, "ConvLab", text)
        self.failed.emit(text)

    def _box(self, icon, title: str, text: str) -> None:
        """A message box that does not block (the window stays usable, tests go on)."""
        box = QMessageBox(icon, title, text, QMessageBox.Ok, self.window)
        box.setTextInteractionFlags(Qt.TextSelectableByMouse)
        box.open()
        self.last_box = box

    # ------------------------------------------------------------------ import

    def import_onnx_dialog(self) -> None:
        path = self.ask_onnx_open_path()
        if path:
            self.import_from(path)

    def ask_onnx_open_path(self) -> str:
        return dialogs().open_file(self.window, "Import an ONNX model", ONNX_FILTER)

    def import_from(self, path: str) -> bool:
        if self.net.training != "idle":
            self._fail("stop training before importing a model")
            return False
        if self.task is not None:
            self._fail("an export or import is already running")
            return False
        from convlab.gui.workers import Task

        task = Task(_import_job, path)
        task.done.connect(self._imported)  # a bound method: Qt runs it in the GUI thread
        task.failed.connect(self._task_failed)
        self.task = task
        self._import_path = path
        self.message.emit(f"reading {os.path.basename(path)}...")
        task.start()
        return True

    def _imported(self, imported) -> None:
        self._end_task()
        path = self._import_path
        net = self.net
        if net.training != "idle":
            self._fail("training started while the model was read: stop it and import again")
            return
        # the imported model in place of the current one, with no history (the curves and optimiser
        # buffers were the old model's); the rest of the lab stays. One undo step: Undo brings the
        # old model back with its weights and its history.
        after = ModelParts(imported.spec, None, dict(imported.state), None, None, [], None)
        try:
            before, prepared = _swap_aside(net, after)
        except (SessionError, ValueError) as e:
            self._fail(f"{os.path.basename(path)}: {e}")
            return
        net.undo_stack.push(_ImportCommand(net, f"Import {os.path.basename(path)}", before, prepared))
        layers = len(imported.spec["layers"])
        text = f"imported {layers} layers with their weights from {os.path.basename(path)}"
        if imported.notes:
            text += " (" + "; ".join(imported.notes) + ")"
        self.message.emit(text)
        self.imported.emit(path)
