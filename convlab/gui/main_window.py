"""The main window: docks, central tabs and status bar, and the wiring between the lab's states
and its panels. Menus and the toolbar are built by WindowMenus (window_menus.py); the playground's
pictures are a panel of their own (PlaygroundPanel). The window computes nothing and keeps no
number of its own: it connects states to views and opens files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QRect, QSettings, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QTabBar,
    QTabWidget,
    QWidget,
)

from convlab import __version__
from convlab.core.images import ImageError, check_limits, image_file_filter, image_info, read_image
from convlab.core.playground import display
from convlab.core.reasons import Notice
from convlab.core.samples import DEFAULT_SAMPLE, SAMPLES, load_sample

from .app_icon import app_icon  # issue 16
from .file_dialogs import dialogs, use_settings
from .lab_session import SessionController
from .learn_state import LearnState
from .lesson_runner import LessonRunner
from .live import format_stats
from .model_transfer import ModelTransfer  # issue 16
from .network_state import NetworkState
from .panels.capture_panel import CapturePanel
from .panels.filters_panel import FiltersPanel
from .panels.inside_panel import InsidePanel
from .panels.layers_panel import LayersPanel
from .panels.learn_panel import LearnPanel
from .panels.lessons_panel import LessonsPanel
from .panels.live_panel import LivePanel
from .panels.math_panel import MathPanel
from .panels.model_dialog import ModelPresetsDialog
from .panels.pixel_panel import PixelPanel
from .panels.playground_panel import PlaygroundPanel
from .panels.source_panel import SourcePanel
from .panels.training_panel import TrainingPanel
from .state import LabState
from .views.draw_pad import DrawPad
from .views.network_overview import NetworkOverview
from .window_menus import WindowMenus
from .workers import BankWorker
from .workspaces import DEFAULT_WORKSPACE, WORKSPACES, Workspaces

IMAGE_FILTER = image_file_filter()
OPEN_FILTER = image_file_filter("ConvLab sessions (*.convlab)").replace(
    "Images (", "Images and sessions (*.convlab ", 1)
LAYOUT_VERSION = 5  # bump when docks change: a saved layout of another version is not restored
STATUS_MS = 8000  # how long a message stays in the status bar


def qimage_to_array(img: QImage) -> np.ndarray:
    """A QImage as an RGB uint8 array (H, W, 3)."""
    img = img.convertToFormat(QImage.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : 3 * w].reshape(h, w, 3).copy()


PARKED = QRect(-30000, -30000, 1, 1)  # where stray dock tab bars are put (MainWindow._park_tab_bars)


class MainWindow(WindowMenus, QMainWindow):
    outputDrawn = Signal()  # the playground's outputs on screen show the newest result (PlaygroundPanel)

    def __init__(self, settings: QSettings | None = None, threaded: bool = True, autosave_dir: str | None = None):
        super().__init__()
        self.settings = settings or QSettings()
        use_settings(self.settings)  # every file dialog starts in the folder used last
        self.layout_version = LAYOUT_VERSION
        self.setWindowTitle(f"ConvLab {__version__}")
        self.setWindowIcon(app_icon())  # issue 16: the icon comes from package data
        self.setAcceptDrops(True)
        self.last_error = ""
        self.state = LabState(self)
        self.net = NetworkState(self.state.undo_stack, self)
        self.net.follow(self.state)  # still images reach the network; live frames go through the pipeline
        self.worker = BankWorker() if threaded else None
        if self.worker is not None:
            self.state.attach_worker(self.worker)

        self._build_docks()
        self._build_central()
        self.workspaces = Workspaces(self, LAYOUT_VERSION)
        self._build_lessons()
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
        self.model_transfer.message.connect(self.show_status)  # issue 16
        self.open_sample(DEFAULT_SAMPLE)
        self.state.undo_stack.clear()
        self.session.mark_clean()

    # ------------------------------------------------------------------ building

    def _build_central(self) -> None:
        self.playground = PlaygroundPanel(self.state, self.pixel_panel)
        self.inside_panel = InsidePanel(self.net)
        self.overview = NetworkOverview(self.net)
        self.network_tabs = QTabWidget()  # the Network page: the whole network, or one layer in detail
        self.network_tabs.setDocumentMode(True)
        self.network_tabs.addTab(self.overview, "Whole network")
        self.network_tabs.addTab(self._scrolled(self.inside_panel), "One layer")
        self.network_tabs.setTabToolTip(0, "Every layer's feature maps side by side, from the input to the class "
                                           "probabilities; click a unit to see what feeds it")
        self.network_tabs.setTabToolTip(1, "One layer in detail: its maps enlarged, the filters and receptive fields")
        self.learn_state = LearnState(self.state, self)
        self.learn_panel = LearnPanel(self.learn_state)
        self.center = QTabWidget()  # its pages are chosen by the workspaces, not by tabs
        self.center.setDocumentMode(True)
        self.center.tabBar().hide()
        self.center.addTab(self.playground, "Filter playground")
        self.center.addTab(self.network_tabs, "Inside the network")
        self.center.addTab(self._scrolled(self.learn_panel), "Learn a filter")
        self.center.setTabToolTip(0, "Convolve the image with a bank of filters and see the arithmetic")
        self.center.setTabToolTip(1, "Feature maps, weights and receptive fields of the model in the Layers panel")
        self.center.setTabToolTip(2, "Pick a target and watch a kernel learn to make it")
        self.setCentralWidget(self.center)
        self.center.currentChanged.connect(self._size_by_current_page)
        self._size_by_current_page(self.center.currentIndex())

    def _build_lessons(self) -> None:
        """The Lessons dock (Help > Lessons, F2): shown over any workspace while a lesson is open."""
        self.lessons = LessonRunner(self)
        self.lessons_panel = LessonsPanel(self.lessons)
        self.lessons_dock = self._dock("Lessons", "dock-lessons", self.lessons_panel, Qt.LeftDockWidgetArea)
        self.lessons_dock.hide()
        self.lessons.opened.connect(self._lesson_opened)
        self.workspaces.changed.connect(self._keep_lesson_in_view)

    def _size_by_current_page(self, index: int) -> None:
        """The centre asks for the room of the page it shows, not of the largest page: a stack's
        minimum is its largest page's, and the network page's 637 px made the Filters workspace
        with a lesson beside it 1199 px wide at least (the window grew past a 1024 px screen)."""
        for i in range(self.center.count()):
            page = self.center.widget(i)
            policy = QSizePolicy.Preferred if i == index else QSizePolicy.Ignored
            page.setSizePolicy(policy, policy)
        self.center.updateGeometry()

    def _lesson_opened(self, _number: int) -> None:
        self._keep_lesson_in_view()

    def _keep_lesson_in_view(self, *_) -> None:
        if self.lessons.current is not None and self.lessons_dock.isHidden():
            # the room comes from the centre: docks on the right keep their width (at 1024 px the
            # Filters dock was squeezed below what its controls need)
            right = [d for d in self._docks() if d.isVisible() and self.dockWidgetArea(d) == Qt.RightDockWidgetArea]
            widths = [d.width() for d in right]
            self.addDockWidget(Qt.LeftDockWidgetArea, self.lessons_dock)
            self.lessons_dock.show()
            # (230 at 1024 px: the Learn workspace's settings and kernel views still fit beside it)
            self.resizeDocks([self.lessons_dock, *right], [max(230, min(340, round(0.22 * self.width()))), *widths],
                             Qt.Horizontal)

    def show_lessons(self) -> None:
        """Help > Lessons: the panel (choose a lesson there), or hide it again."""
        if self.lessons_dock.isVisible():
            self.lessons_dock.hide()
        else:
            self.addDockWidget(Qt.LeftDockWidgetArea, self.lessons_dock)
            self.lessons_dock.show()
            self.lessons_dock.raise_()

    @staticmethod
    def _scrolled(widget: QWidget) -> QScrollArea:
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.NoFrame)
        area.setWidget(widget)
        return area

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
        self.draw_pad = DrawPad(self.live_panel)
        self.draw_pad.selected_class = self.capture_panel.selected_class
        self.draw_dock = self._dock("Draw", "dock-draw", self.draw_pad, Qt.RightDockWidgetArea)
        # the left docks are as wide as the Live panel's buttons need (no sideways scrolling)
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        self.live_dock.setMinimumWidth(self.live_panel.minimumSizeHint().width() + bar + 6)
        for dock in self._docks():  # where each goes is the workspaces' business (workspaces.py)
            dock.hide()

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.session.name}[*] - ConvLab {__version__}")
        self.setWindowModified(self.session.dirty)
        self.act_revert.setEnabled(self.session.path is not None)

    def open_sample_default(self) -> None:
        self.open_sample(DEFAULT_SAMPLE)

    def _build_status(self) -> None:
        self.live_label = QLabel()
        self.live_label.setToolTip("Live frames per second and the time of each stage: capture, preprocessing, "
                                   "filters, model, drawing")
        bar = self.statusBar()
        bar.addPermanentWidget(self.live_label)
        bar.addPermanentWidget(self.playground.pixel_label)
        bar.addPermanentWidget(self.playground.timing_label)

    def show_status(self, text: str, ms: int = STATUS_MS) -> None:
        """A message from any state or panel, once, in the status bar. An error (a Notice that says
        so) stays until the learner moves on: the next edit, image or workspace clears it."""
        self.statusBar().showMessage(str(text), ms)
        self._status_error = str(text) if getattr(text, "is_error", False) else ""

    def _moved_on(self, *_) -> None:
        """The learner did something new: an old error no longer belongs in the status bar."""
        if self._status_error and self.statusBar().currentMessage() == self._status_error:
            self.statusBar().clearMessage()
        self._status_error = ""

    def _show_live_stats(self, stats=None) -> None:
        """The live frame rate and stage times; while frozen, that it is frozen (no stale fps)."""
        if self.live_panel.frozen:
            self.live_label.setText("live: frozen (Space to go on)")
        elif stats is not None:
            self.live_label.setText(format_stats(stats))

    def _connect(self) -> None:
        st, net = self.state, self.net
        for source in (st.message, net.message, self.filters_panel.message, self.learn_panel.message,
                       self.live_panel.message, self.draw_pad.message):
            source.connect(self.show_status)
        self.playground.outputDrawn.connect(self.outputDrawn)
        self.training_panel.watch_dock(self.training_dock)  # catch up when its dock comes to the front
        st.imageChanged.connect(self._sync_actions)
        st.displayChanged.connect(self._sync_actions)
        self.source_panel.openRequested.connect(self.open_dialog)
        self.source_panel.pasteRequested.connect(self.paste_image)
        self.source_panel.sampleRequested.connect(self.open_sample)
        self.live_panel.pipeline.statsChanged.connect(self._show_live_stats)
        self.live_panel.freeze_action.toggled.connect(lambda _on: self._show_live_stats())
        self._status_error = ""
        for sig in (st.undo_stack.indexChanged, st.imageChanged, self.workspaces.changed):
            sig.connect(self._moved_on)
        self.playground.pinned.connect(self._pixel_pinned)
        self.live_panel.liveChanged.connect(self._live_changed)
        self.live_panel.drawRequested.connect(self.show_draw_pad)
        self.live_panel.frameProcessed.connect(self.capture_panel.on_frame)
        self.capture_panel.watch_keys(self)
        for sig in (net.trainingStateChanged, net.specChanged, net.datasetChanged, net.settingsChanged):
            sig.connect(self._sync_train_actions)
        self._sync_actions()
        self._sync_train_actions()

    def _pixel_pinned(self) -> None:
        """A clicked output pixel: its explanation comes to the front (it may be a tab behind the math)."""
        if self.pixel_dock.isVisible():
            self.pixel_dock.raise_()

    def show_draw_pad(self) -> None:
        """The Live panel's Draw button: the pad comes to the front and becomes the live source."""
        self.draw_dock.show()
        self.draw_dock.raise_()
        self.draw_pad.canvas.setFocus()
        self.draw_pad.activate()

    def _live_changed(self, on: bool) -> None:
        self.playground.set_live(on)
        if not on:
            self.live_label.setText("")

    def _sync_actions(self) -> None:
        st = self.state
        self.act_gray.setChecked(st.color == "gray")
        self.act_rgb.setChecked(st.color == "rgb")
        for m, a in self.display_actions.items():
            a.setChecked(m == st.display_mode)

    # ------------------------------------------------------------------ settings

    def _restore_settings(self) -> None:
        geo = self.settings.value("window/geometry")
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)
        else:
            self.resize(1400, 900)
        key = self.settings.value("workspace/current", DEFAULT_WORKSPACE)
        self.workspaces.switch(key if key in WORKSPACES else DEFAULT_WORKSPACE)
        self._arranged_for_size = self.settings.value(f"workspace/{self.workspaces.current}/state") is not None

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._arranged_for_size:  # the first start: the default arrangement for the size shown
            self._arranged_for_size = True
            self.workspaces.arrange(self.workspaces.current)

    def restoreState(self, state, version: int = 0) -> bool:
        """QMainWindow.restoreState without the stray tab bars it leaves on screen (_park_tab_bars)."""
        bars = self._park_tab_bars()
        ok = super().restoreState(state, version)
        self._settle_tab_bars(bars)
        return ok

    def _settle_tab_bars(self, bars: list[QTabBar]) -> None:
        """After a new arrangement: a shown window is laid out again at once, and a bar still parked
        then is a stray (see _park_tab_bars)."""
        if self.isVisible():
            self.layout().activate()
            for bar in bars:
                if bar.geometry() == PARKED:
                    bar.hide()

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
        self.workspaces.remember()
        self.settings.setValue("workspace/current", self.workspaces.current)
        self.settings.sync()

    def reset_layout(self) -> None:
        """The current workspace's docks exactly as on a first start."""
        self.workspaces.reset()

    def show_workspace(self, key: str) -> None:
        self.workspaces.switch(key)

    def _docks(self) -> list[QDockWidget]:
        return [self.source_dock, self.live_dock, self.filters_dock, self.layers_dock, self.math_dock,
                self.training_dock, self.pixel_dock, self.capture_dock, self.draw_dock]

    def closeEvent(self, event) -> None:
        if not self.session.maybe_save():
            event.ignore()
            return
        self.session.discard_autosave()  # a clean exit: nothing to restore next time
        self.save_settings()
        self.learn_state.shutdown()
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
        self.show_status(Notice.error(text), 10000)
        box = QMessageBox(QMessageBox.Warning, title, text, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        self._error_box = box

    def open_dialog(self) -> None:
        path = dialogs().open_file(self, "Open an image or a session", OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> bool:
        """Open an image file; a bad file gets a message and the current image stays."""
        p = Path(path)
        if p.suffix.lower() == ".convlab":
            return self.session.open(str(p))
        try:
            info = image_info(p)  # the header alone: a bomb or a FIFO is refused before decoding
            check_limits(info, p.name)
            if info.big:
                return self._open_big_image(p, info)
            image = read_image(p)
        except ImageError as e:
            self.show_error("Cannot open image", str(e))
            return False
        self._image_opened(p, image)
        return True

    def _image_opened(self, p: Path, image) -> None:
        self.state.set_image(image, p.name)
        self.add_recent(str(p))

    def _open_big_image(self, p: Path, info) -> bool:
        """A big image decodes in a thread behind a progress dialog whose Cancel keeps the current
        image (OpenCV cannot stop a decode: its result is dropped when it comes)."""
        from PySide6.QtWidgets import QProgressDialog

        from .workers import Task

        if getattr(self, "_decode_task", None) is not None:
            self.show_error("Cannot open image", "another big image is still being decoded")
            return False
        dialog = QProgressDialog(f"Decoding {p.name} ({info}, {info.decoded_bytes / 2**20:,.0f} MB)...", "Cancel",
                                 0, 0, self)
        dialog.setWindowTitle("Opening image")
        dialog.setMinimumDuration(300)
        task = Task(read_image, p)
        self._decode_task, self._decode_dialog, self._decode_path = task, dialog, p
        # bound methods of this GUI-thread object: Qt queues the task's reports into the GUI thread
        task.done.connect(self._big_image_decoded)
        task.failed.connect(self._big_image_failed)
        dialog.canceled.connect(self._big_image_cancelled)
        task.start()
        return True

    def _decode_finished(self) -> tuple[Path, bool]:
        task, self._decode_task = self._decode_task, None
        if task is not None:
            task.wait()
        cancelled = self._decode_dialog.wasCanceled()
        self._decode_dialog.reset()
        return self._decode_path, cancelled

    def _big_image_decoded(self, image) -> None:
        p, cancelled = self._decode_finished()
        if not cancelled:
            self._image_opened(p, image)

    def _big_image_failed(self, text: str) -> None:
        self._decode_finished()
        self.show_error("Cannot open image", text)

    def _big_image_cancelled(self) -> None:
        self.show_status(f"{self._decode_path.name}: not opened (cancelled); the image you had stays")

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
        path = dialogs().save_file(self, "Save output map", "output.png", "PNG image (*.png)")
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

    # ------------------------------------------------------------------ dialogs

    def show_models(self) -> None:
        dlg = ModelPresetsDialog(self, self.net)
        dlg.modelUsed.connect(lambda _key: self.show_network())  # Use this model: the learner sees the layers it loaded
        dlg.open()
        self._models_dialog = dlg

    # ------------------------------------------------------------------ the network

    def show_network(self) -> None:
        self.workspaces.switch("network")
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
