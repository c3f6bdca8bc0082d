"""Sessions in the app: the whole lab to a Session and back, and the File menu's life cycle -
New, Open, Save, Save As, Revert, recent sessions, the unsaved-changes mark and prompts, and
autosave with an offer to restore after a crash.

The file format and every check live in ``convlab.core.session``; this module only moves
values between the states and a Session.
"""

from __future__ import annotations

import base64
import os
from contextlib import contextmanager
from pathlib import Path

import shiboken6
from PySide6.QtCore import QByteArray, QObject, QTimer, Signal
from PySide6.QtWidgets import QInputDialog, QMessageBox

from convlab.core.session import ReadOnlySessionError, Session, SessionError, load, save
from convlab.core.session_files import remove_leftover_temp_files

from .file_dialogs import dialogs

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


# --------------------------------------------------------------------------- lab <-> Session
# Each state writes its own part of a session and restores it in two steps: ``prepare_restore``
# checks the part and builds what it needs aside (raising SessionError, changing nothing), then
# ``apply_restore`` swaps it in. A session is applied only once every part is prepared, so a bad
# file leaves the whole lab as it was.


def capture(window) -> Session:
    """Everything the window's lab holds, as a Session."""
    s = Session()
    window.state.write_session(s)
    window.learn_state.write_session(s)
    window.net.write_session(s)
    s.selection = {**s.selection, "layer": window.layers_panel.selected_layer()}
    s.window = {"geometry": _b64(window.saveGeometry()), "state": _b64(window.saveState(window.layout_version)),
                "workspace": window.workspaces.current}
    return s


def restore(window, s: Session) -> None:
    """Replace the window's lab with a loaded session (the undo history starts afresh), or raise
    SessionError and leave the lab exactly as it was."""
    st, net = window.state, window.net
    lab_part = st.prepare_restore(s)
    learn_part = window.learn_state.prepare_restore(s)
    net_part = net.prepare_restore(s)
    st.apply_restore(lab_part)
    window.learn_state.apply_restore(learn_part)
    net.apply_restore(net_part)
    layer = s.selection.get("layer")
    if isinstance(layer, int):
        window.layers_panel.select_layer(layer)
    geometry, dock_state = _unb64(s.window.get("geometry", "")), _unb64(s.window.get("state", ""))
    if geometry is not None:
        window.restoreGeometry(geometry)
    if s.window.get("workspace"):  # the docks' state below belongs to that workspace
        window.show_workspace(s.window["workspace"])
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
        self._stack = window.state.undo_stack
        self._changed = False  # a change the undo stack does not hold (a new image, training, captures)
        self._shown_dirty = False
        self._loading = False
        self.autosave_dir = autosave_dir
        self.ask = self._ask_user  # replaceable by tests: (title, text, buttons, default) -> button
        self.cleanup_leftovers()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.autosave)
        seconds = int(window.settings.value("autosave/seconds", DEFAULT_AUTOSAVE_SECONDS) or 0)
        self.set_autosave_seconds(seconds)
        st, net = window.state, window.net
        self._stack.cleanChanged.connect(self._follow)  # an edit undone back to the saved lab is clean again
        st.imageChanged.connect(self.mark_dirty)
        net.settingsChanged.connect(self.mark_dirty)
        net.trainingStateChanged.connect(self.mark_dirty)
        net.weightsChanged.connect(self.mark_dirty)
        net.capturedChanged.connect(self.mark_dirty)

    # ------------------------------------------------------------------ state

    @property
    def name(self) -> str:
        return Path(self.path).name if self.path else "Untitled"

    @property
    def dirty(self) -> bool:
        """Unsaved changes: undo steps since the last save (the stack's clean state), or a change that
        is not an undo step."""
        return self._changed or (shiboken6.isValid(self._stack) and not self._stack.isClean())

    @dirty.setter
    def dirty(self, value: bool) -> None:
        self._changed = bool(value)
        if not value and shiboken6.isValid(self._stack):
            self._stack.setClean()
        self._follow()

    def _follow(self, *_) -> None:
        if self.dirty != self._shown_dirty:
            self._shown_dirty = self.dirty
            self.changed.emit()

    def cleanup_leftovers(self) -> None:
        """Temporary files of interrupted saves, in the folders this app knows (autosave, recent labs)."""
        folders = {self.autosave_dir} if self.autosave_dir else set()
        value = self.window.settings.value("recent/files", [])
        for path in [value] if isinstance(value, str) else (value or []):
            if isinstance(path, str) and path.endswith(".convlab"):
                folders.add(os.path.dirname(path))
        for folder in folders:
            try:
                remove_leftover_temp_files(folder)
            except OSError:
                pass  # a folder that went away, or one we may not list: nothing to clean

    @contextmanager
    def quiet(self):
        """Changes made inside are not the learner's unsaved work (a restore, a lesson's setup)."""
        was, self._loading = self._loading, True
        try:
            yield
        finally:
            self._loading = was

    def mark_dirty(self, *_) -> None:
        if self._loading or self._changed:
            return
        self._changed = True
        self._follow()

    def mark_clean(self) -> None:
        self.dirty = False
        self._shown_dirty = False
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
        path = dialogs().open_file(self.window, "Open session", SESSION_FILTER)
        return self.open(path, ask=False) if path else False

    def open(self, path: str, ask: bool = True) -> bool:
        """Load a session; a bad file is explained and the current lab stays untouched."""
        if ask and not self.maybe_save():
            return False
        try:
            session = load(path)
            self._loading = True
            restore(self.window, session)
        except SessionError as e:
            self.window.show_error("Cannot open session", str(e))
            return False
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
        name = os.path.basename(self.path) if self.path else "lab.convlab"
        path = dialogs().save_file(self.window, "Save session", name, SESSION_FILTER)
        if not path:
            return False
        if not path.endswith(".convlab"):
            path += ".convlab"
        return self._write(path)

    def _write(self, path: str) -> bool:
        session = capture(self.window)
        try:
            try:
                save(path, session)
            except ReadOnlySessionError:
                b = QMessageBox.StandardButton
                if self.ask("Read-only file", f"{os.path.basename(path)} is read-only. Replace it anyway "
                            "(it stays read-only)?", b.Yes | b.Cancel, b.Cancel) != b.Yes:
                    return False
                save(path, session, overwrite_readonly=True)
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
            self.changed.emit()  # the name changed too
        return ok
