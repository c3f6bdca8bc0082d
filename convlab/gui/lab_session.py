"""Sessions in the app: the whole lab to a Session and back, and the File menu's life cycle -
New, Open, Save, Save As, Revert, recent sessions, the unsaved-changes mark and prompts, and
autosave with an offer to restore after a crash.

The file format and every check live in ``convlab.core.session``; this module only moves
values between the states and a Session.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from convlab.core.playground import ConvSettings, FilterBank, PostSettings
from convlab.core.session import Session, SessionError, load, save
from convlab.core.settings import TrainSettings
from convlab.core.training import EpochResult

from .state import DEFAULT_BANK, Snapshot, preset_bank

SESSION_FILTER = "ConvLab sessions (*.convlab);;All files (*)"
AUTOSAVE_NAME = "autosave.convlab"
DEFAULT_AUTOSAVE_SECONDS = 60


def _b64(data: QByteArray) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _unb64(text: str) -> QByteArray | None:
    try:
        return QByteArray(base64.b64decode(text.encode("ascii"), validate=True)) if text else None
    except (ValueError, TypeError):
        return None


# --------------------------------------------------------------------------- lab -> Session


def capture(window) -> Session:
    """Everything the window's lab holds, as a Session."""
    st, net = window.state, window.net
    s = Session()
    s.image = st.image
    s.image_name = st.image_name
    s.color = st.color
    b = st.bank
    s.kernels, s.biases, s.kernel_names = b.weights.copy(), b.biases.copy(), list(b.names)
    c = st.settings
    s.conv = {"stride": c.stride, "padding": c.padding, "padding_mode": c.padding_mode, "dilation": c.dilation}
    s.display_mode = st.display_mode
    p = st.post
    s.post = {"pool": p.pool, "pool_kernel": p.pool_kernel, "pool_stride": p.pool_stride}
    if p.mix is not None:
        s.mix = np.asarray(p.mix, np.float32).copy()
        s.mix_bias = (np.zeros(p.mix.shape[0], np.float32) if p.mix_bias is None
                      else np.asarray(p.mix_bias, np.float32).copy())
    s.selected_filter = st.selected
    window.learn_state.write_session(s)
    s.model_spec = net.spec
    s.model_preset = net.preset_key
    if net.model is not None and net.training == "idle":
        s.model_state = net.model.state_dict()
    elif net.view_model is not None:  # during a run: the latest snapshot the GUI holds
        s.model_state = net.view_model.state_dict()
    s.optimizer_state = net.optimizer_state
    t = net.settings
    s.train_settings = {"val_fraction": t.val_fraction, "batch_size": t.batch_size, "epochs": t.epochs,
                        "optimizer": t.optimizer, "lr": t.lr, "weight_decay": t.weight_decay, "seed": t.seed}
    s.dataset = {"kind": t.dataset, "path": t.path, "samples": t.samples}
    if net.history_steps:
        s.history_steps = np.asarray(net.history_steps, dtype=np.float64).reshape(-1, 3)
    s.history_epochs = [
        {"epoch": e.epoch, "train_loss": e.train_loss, "train_accuracy": e.train_accuracy,
         "val_loss": e.val_loss, "val_accuracy": e.val_accuracy, "step": step}
        for e, step in zip(net.history_epochs, net.history_epoch_steps, strict=False)
    ]
    if net.confusion is not None:
        s.confusion = np.asarray(net.confusion, np.int64).copy()
    s.captured_classes = list(net.captured_classes)
    if net.captured_x is not None and len(net.captured_y):
        s.captured_x = np.asarray(net.captured_x, np.float32).copy()
        s.captured_y = np.asarray(net.captured_y, np.int64).copy()
    layer = window.layers_panel.selected_layer()
    s.selection = {"layer": layer, "unit": list(net.unit) if net.unit else None, "rf_mode": net.rf_mode}
    s.window = {"geometry": _b64(window.saveGeometry()), "state": _b64(window.saveState(window.layout_version))}
    return s


# --------------------------------------------------------------------------- Session -> lab


def restore(window, s: Session) -> None:
    """Replace the window's lab with a loaded session (the undo history starts afresh)."""
    st, net = window.state, window.net
    if s.image is not None:
        st.set_image(s.image, s.image_name or "session image")
    channels = 1 if s.color == "gray" else 3
    if s.kernels is not None and s.kernels.shape[1] == channels:
        bank = FilterBank(s.kernels, s.biases, list(s.kernel_names))
    elif s.kernels is None:  # a lab without a bank starts from the default one
        bank = preset_bank(list(DEFAULT_BANK), channels)
    else:
        bank = None
    conv = ConvSettings(int(s.conv.get("stride", 1)), int(s.conv.get("padding", 0)),
                        str(s.conv.get("padding_mode", "zeros")), int(s.conv.get("dilation", 1)))
    post = PostSettings(str(s.post.get("pool", "none")), int(s.post.get("pool_kernel", 2)),
                        int(s.post.get("pool_stride", 2)), s.mix, s.mix_bias)
    if bank is None:
        from .state import convert_bank

        bank = convert_bank(st.bank, channels)
    sel = min(max(int(s.selected_filter), 0), bank.count - 1)
    st._restore(Snapshot(s.color, bank, conv, post, s.display_mode, sel))
    window.learn_state.restore_session(s)
    ts, ds = s.train_settings, s.dataset
    settings = TrainSettings(
        dataset=str(ds.get("kind", "digits")), path=str(ds.get("path", "")), samples=int(ds.get("samples", 6000)),
        val_fraction=float(ts.get("val_fraction", 0.15)), batch_size=int(ts.get("batch_size", 32)),
        epochs=int(ts.get("epochs", 3)), optimizer=str(ts.get("optimizer", "momentum")), lr=float(ts.get("lr", 0.05)),
        weight_decay=float(ts.get("weight_decay", 0.0)), seed=int(ts.get("seed", 0)),
    )
    steps = [] if s.history_steps is None else [tuple(map(float, r)) for r in s.history_steps]
    steps = [(int(a), b, c) for a, b, c in steps]
    epochs = [EpochResult(int(e.get("epoch", i + 1)), e.get("train_loss"), e.get("train_accuracy"),
                          e.get("val_loss"), e.get("val_accuracy")) for i, e in enumerate(s.history_epochs)]
    epoch_steps = [int(e.get("step", 0)) for e in s.history_epochs]
    net.set_captured(s.captured_x, s.captured_y, s.captured_classes)  # before a "captured" dataset is rebuilt
    net.restore(s.model_spec, s.model_preset, s.model_state, settings, steps, epochs, epoch_steps, s.optimizer_state)
    if s.confusion is not None and net.dataset is None and net.report.ok:
        # the confusion matrix, gallery and probabilities come back once the (seeded) dataset is rebuilt
        net.load_dataset(then=net.evaluate)
    unit = s.selection.get("unit")
    if isinstance(unit, list) and len(unit) == 4:
        net.set_rf_mode(str(s.selection.get("rf_mode", "analytic")))
        net.select_unit(*map(int, unit))
    layer = s.selection.get("layer")
    if isinstance(layer, int):
        window.layers_panel.select_layer(layer)
    geometry, dock_state = _unb64(s.window.get("geometry", "")), _unb64(s.window.get("state", ""))
    if geometry is not None:
        window.restoreGeometry(geometry)
    if dock_state is not None:
        window.restoreState(dock_state, window.layout_version)
    st.undo_stack.clear()


# --------------------------------------------------------------------------- the file life cycle


class SessionController(QObject):
    """The current session file, the unsaved-changes mark, prompts and autosave."""

    changed = Signal()  # path or dirty flag changed (the title follows)
    saved = Signal(str)
    loaded = Signal(str)

    def __init__(self, window, autosave_dir: str | None = None):
        super().__init__(window)
        self.window = window
        self.path: str | None = None
        self.dirty = False
        self._loading = False
        self.autosave_dir = autosave_dir
        self.ask = self._ask_user  # replaceable by tests: (title, text, buttons, default) -> button
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.autosave)
        seconds = int(window.settings.value("autosave/seconds", DEFAULT_AUTOSAVE_SECONDS) or 0)
        self.set_autosave_seconds(seconds)
        st, net = window.state, window.net
        st.undo_stack.indexChanged.connect(self.mark_dirty)
        st.imageChanged.connect(self.mark_dirty)
        net.settingsChanged.connect(self.mark_dirty)
        net.trainingStateChanged.connect(self.mark_dirty)
        net.weightsChanged.connect(self.mark_dirty)
        net.capturedChanged.connect(self.mark_dirty)

    # ------------------------------------------------------------------ state

    @property
    def name(self) -> str:
        return Path(self.path).name if self.path else "Untitled"

    def mark_dirty(self, *_) -> None:
        if self._loading or self.dirty:
            return
        self.dirty = True
        self.changed.emit()

    def mark_clean(self) -> None:
        self.dirty = False
        self.changed.emit()

    def _ask_user(self, title: str, text: str, buttons, default):
        return QMessageBox.question(self.window, title, text, buttons, default)

    def maybe_save(self) -> bool:
        """True when it is fine to throw the current lab away (saved, discarded, or clean)."""
        if not self.dirty:
            return True
        b = QMessageBox.StandardButton
        answer = self.ask("Unsaved changes", f"Save the changes to {self.name}?",
                          b.Save | b.Discard | b.Cancel, b.Save)
        if answer == b.Save:
            return self.save()
        return answer == b.Discard

    # ------------------------------------------------------------------ commands

    def new(self) -> bool:
        if not self.maybe_save():
            return False
        self._loading = True
        try:
            restore(self.window, Session())
            self.window.open_sample_default()
            self.window.state.undo_stack.clear()
        finally:
            self._loading = False
        self.path = None
        self.mark_clean()
        return True

    def open_dialog(self) -> bool:
        if not self.maybe_save():
            return False
        path, _ = QFileDialog.getOpenFileName(self.window, "Open session", self._start_dir(), SESSION_FILTER)
        return self.open(path, ask=False) if path else False

    def open(self, path: str, ask: bool = True) -> bool:
        """Load a session; a bad file is explained and the current lab stays untouched."""
        if ask and not self.maybe_save():
            return False
        try:
            session = load(path)
        except SessionError as e:
            self.window.show_error("Cannot open session", str(e))
            return False
        self._loading = True
        try:
            restore(self.window, session)
        finally:
            self._loading = False
        self.path = os.fspath(path)
        self.window.add_recent(self.path)
        self.mark_clean()
        self.loaded.emit(self.path)
        return True

    def save(self) -> bool:
        if self.path is None:
            return self.save_as()
        return self._write(self.path)

    def save_as(self) -> bool:
        start = self.path or os.path.join(self._start_dir(), "lab.convlab")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save session", start, SESSION_FILTER)
        if not path:
            return False
        if not path.endswith(".convlab"):
            path += ".convlab"
        return self._write(path)

    def _write(self, path: str) -> bool:
        try:
            save(path, capture(self.window))
        except SessionError as e:
            self.window.show_error("Cannot save session", str(e))
            return False
        self.path = os.fspath(path)
        self.window.add_recent(self.path)
        self.mark_clean()
        self.saved.emit(self.path)
        self.window.statusBar().showMessage(f"Saved {self.path}", 5000)
        return True

    def revert(self) -> bool:
        if self.path is None:
            return False
        b = QMessageBox.StandardButton
        if self.dirty and self.ask("Revert", f"Throw away the changes since {self.name} was saved?",
                                   b.Discard | b.Cancel, b.Cancel) != b.Discard:
            return False
        return self.open(self.path, ask=False)

    def _start_dir(self) -> str:
        return os.path.dirname(self.path) if self.path else str(Path.home())

    # ------------------------------------------------------------------ autosave

    @property
    def autosave_path(self) -> str | None:
        return os.path.join(self.autosave_dir, AUTOSAVE_NAME) if self.autosave_dir else None

    def set_autosave_seconds(self, seconds: int) -> None:
        self.autosave_seconds = max(0, int(seconds))
        self.window.settings.setValue("autosave/seconds", self.autosave_seconds)
        if self.autosave_seconds and self.autosave_dir:
            self.timer.start(self.autosave_seconds * 1000)
        else:
            self.timer.stop()

    def choose_autosave_interval(self) -> None:
        seconds, ok = QInputDialog.getInt(self.window, "Autosave", "Save a copy every (seconds, 0 = never):",
                                          self.autosave_seconds, 0, 3600, 10)
        if ok:
            self.set_autosave_seconds(seconds)

    def autosave(self) -> bool:
        """Write the lab to the autosave file when it has unsaved changes (quietly)."""
        path = self.autosave_path
        if not path or not self.dirty:
            return False
        try:
            os.makedirs(self.autosave_dir, exist_ok=True)
            save(path, capture(self.window))
        except (SessionError, OSError) as e:
            self.window.statusBar().showMessage(f"autosave failed: {e}", 8000)
            return False
        return True

    def discard_autosave(self) -> None:
        path = self.autosave_path
        for p in (path, path + ".bak") if path else ():
            try:
                os.remove(p)
            except FileNotFoundError:
                pass
            except OSError:
                pass

    def offer_restore(self) -> bool:
        """After a crash the autosave file is still there: offer to bring that lab back."""
        path = self.autosave_path
        if not path or not os.path.exists(path):
            return False
        b = QMessageBox.StandardButton
        answer = self.ask("Restore the last lab?",
                          "ConvLab did not close normally last time. Restore the lab it saved automatically?",
                          b.Yes | b.No, b.Yes)
        if answer != b.Yes:
            self.discard_autosave()
            return False
        ok = self.open(path, ask=False)
        if ok:
            self.path = None  # the restored lab is unsaved work, not the autosave file itself
            self.dirty = True
            self.changed.emit()
        return ok
