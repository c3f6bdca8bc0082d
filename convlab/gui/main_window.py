"""The main window: menus, toolbar, docks and status bar, wiring the LabState to the views."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QRect, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QImage, QKeySequence
from PySide6.QtWidgets import (
    QApplication, QDockWidget, QFileDialog, QFrame, QLabel, QMainWindow, QMessageBox, QScrollArea, QSplitter, QStyle,
    QTabBar, QTabWidget, QWidget,
)

from convlab import __version__
from convlab.core.images import ImageError, read_image, to_rgb
from convlab.core.presets import model_presets
from convlab.core.playground import DISPLAY_LABELS, DISPLAY_MODES, display, explain_pixel, steady_levels
from convlab.core.samples import DEFAULT_SAMPLE, SAMPLES, load_sample

from .app_icon import app_icon  # issue 16
from .model_transfer import ModelTransfer  # issue 16
from .panels.filters_panel import FiltersPanel
from .panels.math_panel import MathPanel
from .panels.model_dialog import ModelPresetsDialog
from .panels.pixel_panel import PixelPanel
from .panels.source_panel import SourcePanel
from .lab_session import SessionController
from .network_state import LAYER_KINDS, NetworkState
from .panels.inside_panel import InsidePanel
from .live import format_stats
from .panels.capture_panel import CapturePanel
from .panels.layers_panel import LayersPanel
from .panels.live_panel import LivePanel
from .panels.learn_panel import LearnPanel
from .panels.training_panel import TrainingPanel
from .state import LabState
from .views.feature_map_grid import FeatureMapGrid
from .views.image_view import ImageView
from .workers import BankWorker

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp);;All files (*)"
OPEN_FILTER = ("Images and sessions (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.convlab);;"
               "ConvLab sessions (*.convlab);;" + IMAGE_FILTER)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
MAX_RECENT = 8
LAYOUT_VERSION = 3  # bump when docks change: a saved layout of another version is not restored


def qimage_to_array(img: QImage) -> np.ndarray:
    """A QImage as an RGB uint8 array (H, W, 3)."""
    img = img.convertToFormat(QImage.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : 3 * w].reshape(h, w, 3).copy()


PARKED = QRect(-30000, -30000, 1, 1)  # where stray dock tab bars are put (MainWindow._park_tab_bars)


class MainWindow(QMainWindow):
    outputDrawn = Signal()  # the outputs on screen now show the newest result

    def __init__(self, settings: QSettings | None = None, threaded: bool = True, autosave_dir: str | None = None):
        super().__init__()
        self.settings = settings or QSettings()
        self.layout_version = LAYOUT_VERSION
        self.setWindowTitle(f"ConvLab {__version__}")
        self.setWindowIcon(app_icon())  # issue 16: the icon comes from package data
        self.setAcceptDrops(True)
        self.last_error = ""
        self._pinned = None  # (filter, y, x) clicked on the output
        self._playground_stale = False  # the playground's views skipped a change while hidden
        self._live = False  # a live source is running (LivePanel.liveChanged)
        self.state = LabState(self)
        self.net = NetworkState(self.state.undo_stack, self)
        self.worker = BankWorker() if threaded else None
        if self.worker is not None:
            self.state.attach_worker(self.worker)

        self._build_central()
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status()
        self._connect()
        self._restore_settings()
        self._park_tab_bars()  # the first show places the tab bars in use; strays stay parked
        self.session = SessionController(self, autosave_dir)
        self.session.changed.connect(self._update_title)
        self._build_file_actions()
        self.model_transfer = ModelTransfer(self, self.net, self.file_menu, before=self.act_autosave)  # issue 16
        self.model_transfer.message.connect(lambda text: self.statusBar().showMessage(text, 10000))  # issue 16
        self.open_sample(DEFAULT_SAMPLE)
        self.state.undo_stack.clear()
        self.session.mark_clean()

    # ------------------------------------------------------------------ building

    def _build_central(self) -> None:
        self.input_view = ImageView("Input")
        self.input_view.setToolTip("The image the filters read; hover an output pixel to see its patch here")
        self.output_view = ImageView("Output", colorbar=True)
        self.output_view.setToolTip("The selected filter's output map: hover or click a pixel to see how it is made")
        self.grid = FeatureMapGrid()
        self.grid.setToolTip("All K output maps, one per filter, on one shared colour scale; click one to select it")
        self.pool_grid = FeatureMapGrid()
        self.pool_grid.setToolTip("The K maps after pooling")
        self.mix_grid = FeatureMapGrid()
        self.mix_grid.setToolTip("The maps made by the 1x1 convolution")
        self.tabs = QTabWidget()
        self.tabs.addTab(self.grid, "Bank output")
        self.tabs.addTab(self.pool_grid, "Pooled")
        self.tabs.addTab(self.mix_grid, "1x1 mixed")
        right = QSplitter(Qt.Vertical)
        right.addWidget(self.output_view)
        right.addWidget(self.tabs)
        right.setSizes([500, 300])
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.input_view)
        split.addWidget(right)
        split.setSizes([500, 500])
        self.inside_panel = InsidePanel(self.net)
        self.center = QTabWidget()
        self.center.setDocumentMode(True)
        self.center.addTab(split, "Filter playground")
        inside = QScrollArea()  # lets the window shrink below the panel's natural width
        inside.setWidgetResizable(True)
        inside.setFrameShape(QFrame.NoFrame)
        inside.setWidget(self.inside_panel)
        self.center.addTab(inside, "Inside the network")
        self.learn_panel = LearnPanel(self.state)
        learn = QScrollArea()
        learn.setWidgetResizable(True)
        learn.setFrameShape(QFrame.NoFrame)
        learn.setWidget(self.learn_panel)
        self.center.addTab(learn, "Learn a filter")
        self.center.setTabToolTip(2, "Pick a target and watch a kernel learn to make it")
        self.center.setTabToolTip(0, "Convolve the image with a bank of filters and see the arithmetic")
        self.center.setTabToolTip(1, "Feature maps, weights and receptive fields of the model in the Layers panel")
        self.setCentralWidget(self.center)

    def _dock(self, title: str, name: str, widget: QWidget, area, scroll: bool = False) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        if scroll:  # tall panels scroll instead of forcing the dock area to their full height
            area_widget = QScrollArea()
            area_widget.setWidgetResizable(True)
            area_widget.setWidget(widget)
            widget = area_widget
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.source_panel = SourcePanel(self.state)
        self.filters_panel = FiltersPanel(self.state)
        self.math_panel = MathPanel(self.state)
        self.pixel_panel = PixelPanel()
        self.source_dock = self._dock("Source", "dock-source", self.source_panel, Qt.LeftDockWidgetArea)
        self.filters_dock = self._dock("Filters", "dock-filters", self.filters_panel, Qt.RightDockWidgetArea)
        self.math_dock = self._dock("Filter math", "dock-math", self.math_panel, Qt.BottomDockWidgetArea)
        self.pixel_dock = self._dock("How this value is made", "dock-pixel", self.pixel_panel, Qt.LeftDockWidgetArea)
        self.filters_dock.setMinimumWidth(330)
        self.layers_panel = LayersPanel(self.net)
        self.training_panel = TrainingPanel(self.net)
        self.layers_dock = self._dock("Layers", "dock-layers", self.layers_panel, Qt.RightDockWidgetArea)
        self.training_dock = self._dock("Training", "dock-training", self.training_panel, Qt.BottomDockWidgetArea,
                                        scroll=True)
        self.live_panel = LivePanel(self.state, self.net)
        self.capture_panel = CapturePanel(self.net)
        self.live_dock = self._dock("Live", "dock-live", self.live_panel, Qt.LeftDockWidgetArea, scroll=True)
        self.capture_dock = self._dock("Capture", "dock-capture", self.capture_panel, Qt.LeftDockWidgetArea,
                                       scroll=True)
        # the left docks are as wide as the Live panel's buttons need (no sideways scrolling)
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        self.live_dock.setMinimumWidth(self.live_panel.minimumSizeHint().width() + bar + 6)
        self.tabifyDockWidget(self.filters_dock, self.layers_dock)
        self.tabifyDockWidget(self.math_dock, self.training_dock)
        self.tabifyDockWidget(self.source_dock, self.live_dock)
        self.tabifyDockWidget(self.pixel_dock, self.capture_dock)
        self.source_dock.raise_()
        self.pixel_dock.raise_()
        self.filters_dock.raise_()
        self.math_dock.raise_()
        self._default_state = self.saveState(LAYOUT_VERSION)

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
        st = self.state
        self.act_open = self._action("&Open...", self.open_dialog, QKeySequence.Open,
                                     "Open an image or a saved .convlab session")
        self.act_paste = self._action("&Paste Image", self.paste_image, "Ctrl+Shift+V", "Use the image on the clipboard")
        self.act_save_output = self._action("&Export Output Map...", self.save_output, "Ctrl+E",
                                            "Save the selected output map as a PNG, as it is shown")
        self.act_quit = self._action("&Quit", self.close, QKeySequence.Quit, "Close ConvLab")
        self.act_undo = st.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence.Undo)
        self.act_redo = st.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence.Redo, QKeySequence("Ctrl+Y")])
        fp = self.filters_panel
        self.act_add = self._action("&Add Filter", lambda: st.add_filter(), "Ctrl+Shift+N", "Add a filter to the bank")
        self.act_dup = self._action("&Duplicate Filter", st.duplicate_filter, "Ctrl+D", "Copy the selected filter")
        self.act_remove = self._action("&Remove Filter", st.remove_filter, "Ctrl+Delete", "Remove the selected filter")
        self.act_norm = self._action("&Normalise Filter", fp.normalize, "Ctrl+L", "Divide the selected filter by its sum")
        self.act_zero = self._action("&Zero Filter", fp.zero, None, "Set every weight of the selected filter to 0")
        self.act_rand = self._action("Ra&ndomise Filter", fp.randomize, "Ctrl+R", "Random weights for the selected filter")
        self.act_next = self._action("Next Filter", lambda: st.select(st.selected + 1), "Ctrl+]", "Select the next filter")
        self.act_prev = self._action("Previous Filter", lambda: st.select(st.selected - 1), "Ctrl+[", "Select the previous filter")
        self.act_gray = self._action("&Gray", lambda: st.set_color("gray"), "Ctrl+G", "Filters see one gray channel", True)
        self.act_rgb = self._action("&RGB", lambda: st.set_color("rgb"), "Ctrl+Shift+G", "Filters see three colour channels", True)
        self.display_actions = {}
        for i, m in enumerate(DISPLAY_MODES):
            self.display_actions[m] = self._action(DISPLAY_LABELS[m], lambda _=False, m=m: st.set_display_mode(m),
                                                   f"Ctrl+{i + 1}", f"Show outputs: {DISPLAY_LABELS[m]}", True)
        self.act_reset_layout = self._action("Reset &Layout", self.reset_layout, None, "Put every panel back in its place")
        self.act_models = self._action("&Preset Models...", self.show_models, "Ctrl+M",
                                       "The preset networks with their shapes, parameters and receptive fields")
        self.act_about = self._action("&About ConvLab", self.about, None, "Version and licence")
        net = self.net
        self.act_edit_json = self._action("Edit Spec as &JSON...", self._edit_json, "Ctrl+J",
                                          "Edit the model spec as JSON text")
        self.act_show_network = self._action("Show &Inside the Network", self.show_network, "Ctrl+I",
                                             "Feature maps, weights and receptive fields of the model")
        self.act_learn = self._action("&Learn a Filter", lambda: self.center.setCurrentIndex(2), "Ctrl+Shift+L",
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
        v.addAction(self.act_gray)
        v.addAction(self.act_rgb)
        v.addSeparator()
        for a in self.display_actions.values():
            v.addAction(a)
        v.addSeparator()
        v.addAction(self.live_panel.freeze_action)
        self.act_snapshot = self._action("Save &Snapshot...", self.live_panel.snapshot_dialog, "Ctrl+Shift+P",
                                         "Save the current live frame as a PNG file")
        v.addAction(self.act_snapshot)
        v.addSeparator()
        for dock in self._docks():
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
        h.addAction(self.act_keys)
        h.addAction(self.act_about)
        self._update_recent_menu()

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
        first = f.actions()[0]
        f.insertAction(first, self.act_new)
        recent = self.recent_menu.menuAction()
        for a in (self.act_save, self.act_save_as, self.act_revert):
            f.insertAction(recent, a)
        f.insertSeparator(recent)
        f.insertAction(self.act_quit, self.act_autosave)
        f.insertSeparator(self.act_quit)
        self.toolbar.insertAction(self.act_open, self.act_new)
        self.toolbar.insertAction(self.act_paste, self.act_save)
        self._update_title()

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.session.name}[*] - ConvLab {__version__}")
        self.setWindowModified(self.session.dirty)
        self.act_revert.setEnabled(self.session.path is not None)

    def open_sample_default(self) -> None:
        self.open_sample(DEFAULT_SAMPLE)

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("toolbar-main")
        self.toolbar = tb
        for a in (self.act_open, self.act_paste, None, self.act_undo, self.act_redo, None, self.act_add,
                  self.act_dup, self.act_remove, None, self.act_gray, self.act_rgb):
            tb.addSeparator() if a is None else tb.addAction(a)

    def _build_status(self) -> None:
        self.pixel_label = QLabel()
        self.pixel_label.setToolTip("The output pixel under the mouse and its value")
        self.timing_label = QLabel()
        self.timing_label.setToolTip("Time the engine took to compute the outputs")
        self.live_label = QLabel()
        self.live_label.setToolTip("Live frames per second and the time of each stage: capture, preprocessing, "
                                   "filters, model, drawing")
        self.statusBar().addPermanentWidget(self.live_label)
        self.statusBar().addPermanentWidget(self.pixel_label)
        self.statusBar().addPermanentWidget(self.timing_label)

    def _connect(self) -> None:
        st = self.state
        st.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.filters_panel.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        st.imageChanged.connect(self.draw_input)
        st.resultChanged.connect(self.draw_outputs)
        self.center.currentChanged.connect(self._center_changed)
        # a dock tab chosen: its panel catches up with what it skipped while out of sight
        self.training_dock.visibilityChanged.connect(lambda shown: shown and self.training_panel.catch_up())
        st.selectionChanged.connect(self._selection_changed)
        st.imageChanged.connect(self._sync_actions)
        st.displayChanged.connect(self._sync_actions)
        self.grid.selected.connect(st.select)
        self.output_view.hovered.connect(self.explain)
        self.output_view.clicked.connect(self.pin)
        self.output_view.left.connect(self._hover_left)
        self.source_panel.openRequested.connect(self.open_dialog)
        self.source_panel.pasteRequested.connect(self.paste_image)
        self.source_panel.sampleRequested.connect(self.open_sample)
        st.imageChanged.connect(lambda: self.net.set_image(st.image))
        self.learn_panel.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.live_panel.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.live_panel.pipeline.statsChanged.connect(lambda stats: self.live_label.setText(format_stats(stats)))
        self.live_panel.liveChanged.connect(self._live_changed)
        self.live_panel.frameProcessed.connect(self.capture_panel.on_frame)
        self.capture_panel.watch_keys(self)
        net = self.net
        net.message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        for sig in (net.trainingStateChanged, net.specChanged, net.datasetChanged, net.settingsChanged):
            sig.connect(self._sync_train_actions)
        self._sync_actions()
        self._sync_train_actions()

    # ------------------------------------------------------------------ settings

    def _restore_settings(self) -> None:
        geo = self.settings.value("window/geometry")
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)
        else:
            self.resize(1400, 900)
        self.resizeDocks([self.math_dock, self.source_dock], [230, 300], Qt.Vertical)
        self.resizeDocks([self.filters_dock], [420], Qt.Horizontal)
        dock_state = self.settings.value("window/state")
        if isinstance(dock_state, QByteArray):
            self.restoreState(dock_state, LAYOUT_VERSION)

    def restoreState(self, state, version: int = 0) -> bool:
        """QMainWindow.restoreState without the stray tab bars it leaves on screen (_park_tab_bars)."""
        bars = self._park_tab_bars()
        ok = super().restoreState(state, version)
        if self.isVisible():  # a shown window is laid out again at once: what is still parked is a stray
            self.layout().activate()
            for bar in bars:
                if bar.geometry() == PARKED:
                    bar.hide()
        return ok

    def _park_tab_bars(self) -> list[QTabBar]:
        """Qt 6.11 leaves copies of a dock group's tab bar behind: one for every tabifyDockWidget
        after the first while the window is not shown yet, and the old bars on every
        restoreState.  Qt no longer manages them, but they stay visible where they were made,
        drawn over the docks' panels ("Source | Live" over the colour choice).  The bars are
        moved off screen here and the invalidated layout places those it uses on its next pass."""
        bars = self.findChildren(QTabBar, options=Qt.FindDirectChildrenOnly)
        for bar in bars:
            bar.setGeometry(PARKED)
        self.layout().invalidate()
        return bars

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.settings.sync()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in self._docks():
            dock.show()

    def _docks(self) -> list[QDockWidget]:
        return [self.source_dock, self.live_dock, self.filters_dock, self.layers_dock, self.math_dock,
                self.training_dock, self.pixel_dock, self.capture_dock]

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

    def closeEvent(self, event) -> None:
        if not self.session.maybe_save():
            event.ignore()
            return
        self.session.discard_autosave()  # a clean exit: nothing to restore next time
        self.save_settings()
        self.learn_panel.shutdown()
        self.live_panel.shutdown()
        self.net.shutdown()
        if self.worker is not None:
            self.worker.shutdown()
            self.worker = None
        super().closeEvent(event)

    # ------------------------------------------------------------------ sources

    def show_error(self, title: str, text: str) -> None:
        """A clear message that does not block (the previous state stays as it was)."""
        self.last_error = text
        self.statusBar().showMessage(text, 10000)
        box = QMessageBox(QMessageBox.Warning, title, text, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        self._error_box = box

    def open_dialog(self) -> None:
        start = self.recent_files()[0] if self.recent_files() else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open an image or a session", str(Path(start).parent), OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> bool:
        """Open an image file; a bad file gets a message and the current image stays."""
        p = Path(path)
        if p.suffix.lower() == ".convlab":
            return self.session.open(str(p))
        try:
            image = read_image(p)
        except ImageError as e:
            self.show_error("Cannot open image", str(e))
            return False
        self.state.set_image(image, p.name)
        self.add_recent(str(p))
        return True

    def open_sample(self, key: str) -> None:
        try:
            image = load_sample(key)
        except (ValueError, ImageError) as e:
            self.show_error("Cannot open sample", str(e))
            return
        self.state.set_image(image, SAMPLES[key].name)

    def paste_image(self) -> bool:
        cb = QApplication.clipboard()
        mime = cb.mimeData()
        if mime is not None and mime.hasImage():
            img = cb.image()
            if not img.isNull():
                self.state.set_image(qimage_to_array(img), "pasted image")
                return True
        if mime is not None and mime.hasUrls():
            for url in mime.urls():
                if url.isLocalFile():
                    return self.open_path(url.toLocalFile())
        self.show_error("Nothing to paste", "The clipboard holds no image (copy an image or an image file first).")
        return False

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
                event.acceptProposedAction()
                return

    def save_output(self) -> None:
        r = self.state.result
        if r is None:
            self.show_error("Nothing to save", self.state.error or "There is no output yet.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save output map", "output.png", "PNG image (*.png)")
        if path:
            self.write_output_png(path)

    def write_output_png(self, path: str) -> None:
        from convlab.core.images import colorize, encode_png

        from .views.image_view import lut

        d = display(self.state.result.maps[self.state.selected], self.state.display_mode)
        rgb = colorize(d.image, d.levels, lut(d.signed))  # the colours the enlarged view shows
        try:
            Path(path).write_bytes(encode_png(rgb))
        except OSError as e:
            self.show_error("Cannot save", f"{path}: {e.strerror or e}")
            return
        self.statusBar().showMessage(f"Saved {path}", 5000)

    # ------------------------------------------------------------------ drawing

    def _playground_shown(self) -> bool:
        """Is the Filter playground the central tab?  While it is not, its views are not drawn
        (live frames would otherwise redraw 8 large maps nobody sees); they catch up when the
        tab comes back."""
        return self.center.currentIndex() == 0

    def _center_changed(self, index: int) -> None:
        if index == 0 and self._playground_stale:
            self.draw_input()
            self.draw_outputs()

    def draw_input(self) -> None:
        self._pinned = None  # a new image: the pinned pixel is forgotten
        if not self._playground_shown():
            self._playground_stale = True
            return
        x = self.state.input
        if x is None:
            self.input_view.clear_image()
            return
        c, h, w = x.shape
        # RGB: the lab's own uint8 pixels, which the float input was made from
        self.input_view.set_image(x[0] if c == 1 else to_rgb(self.state.image), levels=(0, 255))
        self.input_view.set_title(f"Input {w} x {h} x {c}")
        self.input_view.clear_overlay()

    def draw_outputs(self) -> None:
        """Draw the newest result; outputDrawn says the playground's views are up to date (drawn,
        or, while another central tab is shown, marked to be drawn when it comes back)."""
        st = self.state
        r = st.result
        if not self._playground_shown():
            self._playground_stale = True
        else:
            self._playground_stale = False
            self._draw_output_views()
        if not self._live:  # (live, the stage times are in the live label, a few times a second)
            self.timing_label.setText(f"computed in {st.compute_ms:.1f} ms" if r is not None and st.compute_ms else "")
        if r is not None and self._pinned is not None:
            self.explain(*self._pinned[1:], pin=True)
        self.outputDrawn.emit()

    def _live_changed(self, on: bool) -> None:
        """Live frames: the enlarged map keeps steady levels (core.playground.steady_levels) and
        the status bar shows the live stage times; afterwards the exact levels come back."""
        self._live = on
        self.timing_label.setText("")
        if not on:
            self.live_label.setText("")
            if self.state.result is not None and self._playground_shown():
                self._draw_output_views()

    def _draw_output_views(self) -> None:
        st = self.state
        r = st.result
        if r is None:
            self.output_view.clear_image()
            self.output_view.set_title(f'<span style="color:#b91c1c">{st.error}</span>')
            return
        d = display(r.maps, st.display_mode)
        k = st.selected
        own = display(r.maps[k], st.display_mode)  # the enlarged map on its own scale
        levels = steady_levels(st.display_mode, own.levels, self.output_view.levels) if self._live else own.levels
        self.output_view.set_image(own.image, levels, own.signed)
        _, ho, wo = r.maps.shape
        lo, hi = own.value_range
        self.output_view.set_title(f"Filter {k + 1}: {wo} x {ho}, values {lo:.4g} to {hi:.4g}")
        self.grid.set_maps(d.image, d.levels, d.signed, [f"{i + 1}: {n}" for i, n in enumerate(st.bank.names)], k)
        self._draw_post(r, st.display_mode)
        self._set_tab(0, f"Bank output {wo} x {ho} x {r.maps.shape[0]}")

    def _draw_post(self, r, mode: str) -> None:
        for grid, maps, idx, label in ((self.pool_grid, r.pooled, 1, "Pooled"), (self.mix_grid, r.mixed, 2, "1x1 mixed")):
            if maps is None:
                self._set_tab(idx, label, enabled=False)
                continue
            d = display(maps, mode)
            grid.set_maps(d.image, d.levels, d.signed, [str(i + 1) for i in range(maps.shape[0])], -1)
            self._set_tab(idx, f"{label} {maps.shape[2]} x {maps.shape[1]} x {maps.shape[0]}")

    def _set_tab(self, index: int, text: str, enabled: bool = True) -> None:
        """Output tab title and state, touched only when they change (QTabBar lays itself out
        and repaints on every setTabText, even with the same text: 30 times a second when live)."""
        if self.tabs.tabText(index) != text:
            self.tabs.setTabText(index, text)
        if self.tabs.isTabEnabled(index) != enabled:
            self.tabs.setTabEnabled(index, enabled)

    def _selection_changed(self) -> None:
        self._pinned = None
        self.input_view.clear_overlay()
        self.pixel_panel.clear()

    def _sync_actions(self) -> None:
        st = self.state
        self.act_gray.setChecked(st.color == "gray")
        self.act_rgb.setChecked(st.color == "rgb")
        for m, a in self.display_actions.items():
            a.setChecked(m == st.display_mode)

    # ------------------------------------------------------------------ how a value is made

    def explain(self, y: int, x: int, pin: bool = False) -> None:
        st = self.state
        if st.result is None or st.input is None:
            return
        k = st.selected
        _, ho, wo = st.result.maps.shape
        if not (0 <= y < ho and 0 <= x < wo):
            return
        try:
            e = explain_pixel(st.input, st.bank, st.settings, k, y, x)
        except ValueError:
            return  # the result is being recomputed for newer settings
        value = float(st.result.maps[k, y, x])
        self.pixel_panel.show_explanation(e, st.input.shape[0], value)
        self.pixel_label.setText(f"filter {k + 1} ({y}, {x}) = {value:.4g}")
        v = self.input_view
        v.clear_overlay()
        span = int(e.rows[-1] - e.rows[0] + 1)
        v.add_box(int(e.rows[0]), int(e.cols[0]), span, span, color="#ff8c00" if pin or self._pinned is None else "#999")
        rr, cc = np.meshgrid(e.rows, e.cols, indexing="ij")
        inside = ~e.outside
        v.add_pixels(rr[inside], cc[inside], color="#ff8c00")
        if e.outside.any():
            v.add_pixels(rr[e.outside], cc[e.outside], color="#7c3aed")

    def pin(self, y: int, x: int) -> None:
        self._pinned = (self.state.selected, y, x)
        self.explain(y, x, pin=True)

    def _hover_left(self) -> None:
        if self._pinned is not None:
            self.explain(*self._pinned[1:], pin=True)
        else:
            self.input_view.clear_overlay()
            self.pixel_label.setText("")

    # ------------------------------------------------------------------ dialogs

    def show_models(self) -> None:
        dlg = ModelPresetsDialog(self)
        dlg.open()
        self._models_dialog = dlg

    # ------------------------------------------------------------------ the network

    def show_network(self) -> None:
        self.center.setCurrentIndex(1)
        self.layers_dock.show()
        self.layers_dock.raise_()

    def _load_model_preset(self, key: str) -> None:
        self.net.load_preset(key)
        self.show_network()

    def _add_layer(self, kind: str) -> None:
        self.layers_panel.add_layer(kind)  # after the selected layer, which then follows the new one
        self.show_network()

    def _edit_json(self) -> None:
        self.layers_dock.show()
        self.layers_dock.raise_()
        self.layers_panel.open_json_editor()

    def _start_training(self) -> None:
        self.training_dock.show()
        self.training_dock.raise_()
        self.net.start_training()

    def _toggle_pause(self) -> None:
        if self.net.training == "running":
            self.net.pause()
        elif self.net.training == "paused":
            self.net.resume()

    def _sync_train_actions(self) -> None:
        net = self.net
        idle = net.training == "idle"
        self.act_train.setEnabled(idle and not net.train_block_reason)
        self.act_train.setToolTip(net.train_block_reason or "Train the model in the Layers panel")
        self.act_pause.setEnabled(not idle)
        self.act_stop.setEnabled(not idle)
        self.act_step.setEnabled(idle or net.training == "paused")
        self.act_reset_weights.setEnabled(idle and net.model is not None)
        self.act_edit_json.setEnabled(idle)

    def show_shortcuts(self) -> None:
        rows = []
        for a in self.findChildren(QAction):
            if a.shortcut().toString():
                rows.append(f"<tr><td><b>{a.shortcut().toString(QKeySequence.NativeText)}</b></td>"
                            f"<td>{a.text().replace('&', '')}</td></tr>")
        box = QMessageBox(QMessageBox.Information, "Keyboard shortcuts", "<table>" + "".join(sorted(set(rows))) + "</table>",
                          QMessageBox.Ok, self)
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
