"""The main window's actions, menus and toolbar (a mixin of MainWindow, kept apart so the window's
own module is its wiring). Every action has a tooltip and a status tip; shortcuts are listed by
Help > Keyboard Shortcuts from the actions themselves."""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox, QStyle

from convlab import __version__
from convlab.core.lessons import LESSONS
from convlab.core.playground import DISPLAY_LABELS, DISPLAY_MODES
from convlab.core.presets import LAYER_KINDS, model_presets
from convlab.core.reasons import Notice
from convlab.core.samples import SAMPLES

MAX_RECENT = 8


class WindowMenus:
    """Builds ``act_*`` actions, the menu bar and the toolbar of a MainWindow."""

    def _action(self, text, slot, shortcut=None, tip="", checkable=False) -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setToolTip(tip or text)
        a.setStatusTip(tip or text)
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        return a

    def _build_actions(self) -> None:
        st, net, fp = self.state, self.net, self.filters_panel
        self.act_open = self._action("&Open...", self.open_dialog, QKeySequence.Open,
                                     "Open an image or a saved .convlab session")
        self.act_paste = self._action("&Paste Image", self.paste_image, "Ctrl+Shift+V",
                                      "Use the image on the clipboard")
        self.act_save_output = self._action("&Export Output Map...", self.save_output, "Ctrl+E",
                                            "Save the selected output map as a PNG, as it is shown")
        self.act_quit = self._action("&Quit", self.close, QKeySequence.Quit, "Close ConvLab")
        self.act_undo = self._action("&Undo", self.undo, QKeySequence.Undo, "Nothing to undo")
        self.act_redo = self._action("&Redo", self.redo, QKeySequence.Redo, "Nothing to redo")
        self.act_redo.setShortcuts([QKeySequence.Redo, QKeySequence("Ctrl+Y")])
        self.act_add = self._action("&Add Filter", lambda: st.add_filter(), "Ctrl+Shift+N", "Add a filter to the bank")
        self.act_dup = self._action("&Duplicate Filter", st.duplicate_filter, "Ctrl+D", "Copy the selected filter")
        self.act_remove = self._action("&Remove Filter", st.remove_filter, "Ctrl+Delete", "Remove the selected filter")
        self.act_norm = self._action("&Normalise Filter", fp.normalize, "Ctrl+L",
                                     "Divide the selected filter by its sum")
        self.act_zero = self._action("&Zero Filter", fp.zero, None, "Set every weight of the selected filter to 0")
        self.act_rand = self._action("Ra&ndomise Filter", fp.randomize, "Ctrl+R",
                                     "Random weights for the selected filter")
        self.act_next = self._action("Next Filter", lambda: st.select(st.selected + 1), "Ctrl+]",
                                     "Select the next filter")
        self.act_prev = self._action("Previous Filter", lambda: st.select(st.selected - 1), "Ctrl+[",
                                     "Select the previous filter")
        self.act_gray = self._action("&Gray", lambda: st.set_color("gray"), "Ctrl+G", "Filters see one gray channel",
                                     True)
        self.act_rgb = self._action("&RGB", lambda: st.set_color("rgb"), "Ctrl+Shift+G",
                                    "Filters see three colour channels", True)
        self.display_actions = {}
        for i, m in enumerate(DISPLAY_MODES):
            self.display_actions[m] = self._action(DISPLAY_LABELS[m], lambda _=False, m=m: st.set_display_mode(m),
                                                   f"Alt+{i + 1}", f"Show outputs: {DISPLAY_LABELS[m]}", True)
        self.act_reset_layout = self._action("Reset &Layout", self.reset_layout, None,
                                             "Put every panel of this workspace back where it was at the first start")
        self.act_models = self._action("&Preset Models...", self.show_models, "Ctrl+M",
                                       "The preset networks with their shapes, parameters and receptive fields")
        self.act_about = self._action("&About ConvLab", self.about, None, "Version and licence")
        self.act_edit_json = self._action("Edit Spec as &JSON...", self._edit_json, "Ctrl+J",
                                          "Edit the model spec as JSON text")
        self.act_show_network = self._action("Show &Inside the Network", self.show_network, "Ctrl+I",
                                             "Feature maps, weights and receptive fields of the model")
        self.act_learn = self._action("&Learn a Filter", lambda: self.show_workspace("learn"), "Ctrl+Shift+L",
                                      "Pick a target and watch a kernel learn to make it")
        self.act_train = self._action("&Start Training", self._start_training, "Ctrl+T",
                                      "Train the model in the Layers panel on the chosen dataset")
        self.act_pause = self._action("&Pause / Resume", self._toggle_pause, "Ctrl+P", "Pause or resume training")
        self.act_step = self._action("Single S&tep", net.step, "Ctrl+Shift+T", "Train on one batch, then pause")
        self.act_stop = self._action("St&op", net.stop, "Ctrl+.", "Stop training and keep the weights learned so far")
        self.act_reset_weights = self._action("&Reset Weights", lambda: net.reset_weights(), None,
                                              "Start again from fresh random weights")
        self.act_load_data = self._action("&Load Dataset", lambda: net.load_dataset(), None,
                                          "Build or read the dataset chosen in the Training panel")
        self.act_keys = self._action("&Keyboard Shortcuts", self.show_shortcuts, "F1", "List the keyboard shortcuts")
        self.act_lessons = self._action("&Lessons", self.show_lessons, "F2",
                                        "The course's ideas one by one, each set up in a fresh lab with steps to try")
        self.act_snapshot = self._action("Save &Snapshot...", self.live_panel.snapshot_dialog, "Ctrl+Shift+P",
                                         "Save the current live frame as a PNG file")

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self.file_menu = f
        f.addAction(self.act_open)
        self.samples_menu = f.addMenu("&Samples")
        for key, s in SAMPLES.items():
            a = self.samples_menu.addAction(s.name)
            a.setToolTip(s.description)
            a.setStatusTip(s.description)
            a.triggered.connect(lambda _=False, k=key: self.open_sample(k))
        self.recent_menu = f.addMenu("Open &Recent")
        f.addAction(self.act_paste)
        f.addSeparator()
        f.addAction(self.act_save_output)
        f.addSeparator()
        f.addAction(self.act_quit)
        e = mb.addMenu("&Edit")
        for a in (self.act_undo, self.act_redo, None, self.act_add, self.act_dup, self.act_remove, None,
                  self.act_norm, self.act_zero, self.act_rand, None, self.act_prev, self.act_next):
            e.addSeparator() if a is None else e.addAction(a)
        v = mb.addMenu("&View")
        for a in self.workspaces.actions.values():
            v.addAction(a)
        v.addSeparator()
        v.addAction(self.act_gray)
        v.addAction(self.act_rgb)
        v.addSeparator()
        for a in self.display_actions.values():
            v.addAction(a)
        v.addSeparator()
        v.addAction(self.live_panel.freeze_action)
        v.addAction(self.act_snapshot)
        v.addSeparator()
        for dock in (*self._docks(), self.lessons_dock):
            v.addAction(dock.toggleViewAction())
        v.addAction(self.act_reset_layout)
        m = mb.addMenu("&Model")
        presets = m.addMenu("Load &Preset")
        for key, p in model_presets().items():
            a = presets.addAction(p.name)
            a.setStatusTip(p.description)
            a.setToolTip(p.description)
            a.triggered.connect(lambda _=False, k=key: self._load_model_preset(k))
        add = m.addMenu("&Add Layer")
        for kind, (label, _) in LAYER_KINDS.items():
            a = add.addAction(label)
            a.setStatusTip(f"Add a {label.lower()} layer after the selected one")
            a.triggered.connect(lambda _=False, k=kind: self._add_layer(k))
        m.addAction(self.act_edit_json)
        m.addSeparator()
        m.addAction(self.act_models)
        m.addAction(self.act_show_network)
        m.addAction(self.act_learn)
        t = mb.addMenu("&Train")
        for a in (self.act_train, self.act_pause, self.act_step, self.act_stop, None, self.act_reset_weights,
                  self.act_load_data):
            t.addSeparator() if a is None else t.addAction(a)
        h = mb.addMenu("&Help")
        h.addAction(self.act_lessons)
        one = h.addMenu("Open &Lesson")
        for les in LESSONS:
            a = one.addAction(f"&{les.number}. {les.title}" if les.number < 10 else f"{les.number}. {les.title}")
            a.setToolTip(les.idea)
            a.setStatusTip(les.idea)
            a.triggered.connect(lambda _=False, n=les.number: self.lessons.open(n))
        self.lesson_menu = one
        h.addSeparator()
        h.addAction(self.act_keys)
        h.addAction(self.act_about)
        self._update_recent_menu()

    def _build_toolbar(self) -> None:
        """The workspace bar, then a steady toolbar: its texts never change length (Undo and Redo say
        what they would undo in their tooltips and in the Edit menu), so no button ever moves."""
        self.addToolBar(Qt.TopToolBarArea, self.workspaces.bar)
        tb = self.addToolBar("Main")
        tb.setObjectName("toolbar-main")
        tb.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.toolbar = tb
        stack = self.state.undo_stack
        self.tool_undo = self._action("Undo", self.undo, None, "Nothing to undo")
        self.tool_redo = self._action("Redo", self.redo, None, "Nothing to redo")
        self.tool_undo.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowBack))
        self.tool_redo.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowForward))

        stack.indexChanged.connect(self._follow_undo_stack)
        stack.cleanChanged.connect(self._follow_undo_stack)
        self.net.trainingStateChanged.connect(self._follow_undo_stack)  # a layer change is held while training
        self._follow_undo_stack()
        icons = {self.act_open: QStyle.StandardPixmap.SP_DialogOpenButton,
                 self.act_paste: QStyle.StandardPixmap.SP_FileDialogContentsView}
        for a, icon in icons.items():
            a.setIcon(self.style().standardIcon(icon))
        for a in (self.act_open, self.act_paste, None, self.tool_undo, self.tool_redo):
            tb.addSeparator() if a is None else tb.addAction(a)

    def _step_held(self, offset: int) -> str:
        """Why the step Undo (offset -1) or Redo (offset 0) would take cannot be taken now ("" when it
        can): a layer change while a training run uses the model."""
        stack = self.state.undo_stack
        command = stack.command(stack.index() + offset)
        held = getattr(command, "held", None)
        return held() if callable(held) else ""

    def undo(self) -> None:
        self._take_step(-1)

    def redo(self) -> None:
        self._take_step(0)

    def _take_step(self, offset: int) -> None:
        stack = self.state.undo_stack
        if not (stack.canUndo() if offset < 0 else stack.canRedo()):
            return
        held = self._step_held(offset)
        if held:
            text = stack.undoText() if offset < 0 else stack.redoText()
            self.show_status(Notice.error(f"{held} (to {'undo' if offset < 0 else 'redo'} {text})"))
            return
        stack.undo() if offset < 0 else stack.redo()

    def _follow_undo_stack(self, *_) -> None:
        """Undo / Redo in the menu and the toolbar: enabled as the stack allows, what they would do
        (or why they wait) in the tooltip; the menu's text says it in full."""
        stack = self.state.undo_stack
        if not shiboken6.isValid(stack) or not shiboken6.isValid(self.tool_undo):  # the window is closing
            return
        rows = ((self.tool_undo, stack.canUndo(), stack.undoText(), "Undo", self.act_undo, -1),
                (self.tool_redo, stack.canRedo(), stack.redoText(), "Redo", self.act_redo, 0))
        for a, can, text, word, menu, offset in rows:
            held = self._step_held(offset) if can else ""
            keys = menu.shortcut().toString(QKeySequence.NativeText)
            if held:
                tip = f"{word} {text}: {held}"
            else:
                tip = f"{word} {text} ({keys})" if can else f"Nothing to {word.lower()}"
            for action in (a, menu):  # (a held step stays enabled: taking it says why it waits)
                action.setEnabled(can)
                action.setToolTip(tip)
                action.setStatusTip(tip)
            menu.setText(f"&{word} {text.replace('&', '&&')}" if can else f"&{word}")  # ("R&D.onnx" as it is)

    def _build_file_actions(self) -> None:
        """New / Save / Save As / Revert / Autosave, which need the session controller."""
        sc = self.session
        self.act_new = self._action("&New Lab", sc.new, QKeySequence.New, "Start a fresh lab (asks to save changes)")
        self.act_save = self._action("&Save", sc.save, QKeySequence.Save, "Save the whole lab as a .convlab session")
        self.act_save_as = self._action("Save &As...", sc.save_as, QKeySequence.SaveAs, "Save the lab under a new name")
        self.act_revert = self._action("Re&vert", sc.revert, None, "Go back to the last saved version of this session")
        self.act_autosave = self._action("Autosave &Interval...", sc.choose_autosave_interval, None,
                                         "How often an unsaved lab is copied to a safe place")
        f = self.file_menu
        f.insertAction(f.actions()[0], self.act_new)
        recent = self.recent_menu.menuAction()
        for a in (self.act_save, self.act_save_as, self.act_revert):
            f.insertAction(recent, a)
        f.insertSeparator(recent)
        f.insertAction(self.act_quit, self.act_autosave)
        f.insertSeparator(self.act_quit)
        self.act_new.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon))
        self.act_save.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DialogSaveButton))
        self.toolbar.insertAction(self.act_open, self.act_new)
        self.toolbar.insertAction(self.act_paste, self.act_save)
        self._update_title()

    # ------------------------------------------------------------------ recent files

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent/files", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if isinstance(v, str)]

    def add_recent(self, path: str) -> None:
        files = [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent/files", [path] + files[: MAX_RECENT - 1])
        self._update_recent_menu()

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for i, path in enumerate(files):
            a = self.recent_menu.addAction(f"&{i + 1} {Path(path).name}")
            a.setToolTip(path)
            a.setStatusTip(path)
            a.triggered.connect(lambda _=False, p=path: self.open_path(p))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear List", self._clear_recent)
        self.recent_menu.setEnabled(bool(files))

    def _clear_recent(self) -> None:
        self.settings.setValue("recent/files", [])
        self._update_recent_menu()

    # ------------------------------------------------------------------ help

    def show_shortcuts(self) -> None:
        rows = []
        for a in self.findChildren(QAction):
            if a.shortcut().toString():
                rows.append(f"<tr><td><b>{a.shortcut().toString(QKeySequence.NativeText)}</b></td>"
                            f"<td>{a.text().replace('&', '')}</td></tr>")
        box = QMessageBox(QMessageBox.Information, "Keyboard shortcuts",
                          "<table>" + "".join(sorted(set(rows))) + "</table>", QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()

    def about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("About ConvLab")
        box.setIconPixmap(self.windowIcon().pixmap(64, 64))
        box.setText(
            f"<h3>ConvLab {__version__}</h3><p>A desktop lab for learning convolutional networks: filters, stride, "
            "padding, dilation, pooling, 1x1 convolutions, receptive fields and LeNet, all computed by a small "
            "NumPy engine checked against numerical gradients.</p><p>Built with Qt (PySide6), pyqtgraph, NumPy and "
            "OpenCV. Sample photos: see resources/README.md for their sources and licences.</p>"
        )
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
