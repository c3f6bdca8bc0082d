"""The Live panel: a camera, a video file or a folder of images through the whole lab.

Controls pick and steer the source (camera index, requested resolution and frame rate, video,
image folder, loop, mirror, freeze, snapshot); below them: the small image the model sees (its
preprocessing), the model's class probabilities, and the frame rate with each stage's time.

The panel owns one :class:`~convlab.gui.live.LiveSource` at a time and a
:class:`~convlab.gui.live.LivePipeline` that feeds the lab's LabState (playground) and
NetworkState (model).  Opening a camera can take a second, so it happens in a Task thread;
so does listing the cameras.  Errors (a source that cannot open, a camera that vanished, a video
that ended) are shown in the panel and sent as ``message(text)`` for the status bar.

For the main window: ``freeze_action`` (Space) belongs in the View menu, ``pipeline.statsChanged``
with :func:`~convlab.gui.live.format_stats` in the status bar, ``set_window_visible(bool)`` may be
called from the window's change/hide events (the panel also watches its top-level window itself),
and ``shutdown()`` on close.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from convlab.core.display import input_picture
from convlab.core.prediction import prediction
from convlab.core.sources import (
    CameraSource,
    FrameSource,
    ImageFolderSource,
    SourceError,
    VideoFileSource,
    describe_no_camera,
    list_cameras,
)

from ..file_dialogs import dialogs
from ..live import LivePipeline, LiveSource, format_stats, open_error_text
from ..views.controls import DrawWhenShown, SteadyLabel
from ..views.image_view import ImageView
from ..views.training_views import ClassBarsView
from ..workers import Task

RESOLUTIONS = [(640, 480), (1280, 720), (320, 240)]
FRAME_RATES = [30, 15, 60]
FOLDER_FPS_DEFAULT = 10
VIDEO_FILTER = "Videos (*.mp4 *.avi *.mkv *.mov *.webm *.m4v *.mpg *.mpeg *.wmv);;All files (*)"
ERROR_STYLE = "color: #b91c1c;"
MAX_CAMERA_INDEX = 4


def _open_camera(token, index, width, height, fps, capture_factory, mirror):
    """Runs in a Task thread: (token, the opened CameraSource or None, the error text)."""
    try:
        return token, CameraSource(index, width, height, fps, capture_factory=capture_factory, mirror=mirror), ""
    except SourceError as e:
        return token, None, open_error_text(e)


class LivePanel(QWidget):
    message = Signal(str)  # for the status bar
    frameProcessed = Signal(object)  # the RGB uint8 frame (read-only) just shown everywhere
    liveChanged = Signal(bool)  # a source started (True) or stopped / ended (False)
    drawRequested = Signal()  # the Draw button: the window shows the drawing pad, which becomes the source

    def __init__(self, lab, net, parent=None, *, capture_factory=None, probe_on_show: bool = True):
        super().__init__(parent)
        self.lab = lab
        self.net = net
        #: ``factory(index)`` -> a capture, for cameras and the camera probe (None: OpenCV's)
        self.capture_factory = capture_factory
        self.probe_on_show = probe_on_show
        self.cameras: list[int] | None = None  # None: not probed yet
        self.live: LiveSource | None = None  # the current (or last) source
        self.last_error = ""
        self.pipeline = LivePipeline(lab, net, self)
        self._probe_task: Task | None = None
        self._open_tasks: dict[int, Task] = {}  # token -> Task opening a camera
        self._open_token = 0
        self._watched = None  # the top-level window whose hiding pauses the source
        self._window_visible = True

        self._build()
        self.pipeline.frameProcessed.connect(self._frame_processed)
        self.pipeline.statsChanged.connect(self._show_stats)
        self._model_draw = DrawWhenShown(self, self._draw_model)
        net.activationsChanged.connect(self._model_draw.request)
        self._sync_controls()

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        src = QGroupBox("Source")
        g = QGridLayout(src)
        self.camera_combo = QComboBox()
        self.camera_combo.setToolTip("The cameras that answered when ConvLab looked for them")
        self.camera_combo.addItem("cameras not checked yet")
        self.find_button = QToolButton()
        self.find_button.setText("Find")
        self.find_button.setToolTip("Look again for cameras (indexes 0-3) that open and deliver a frame")
        self.find_button.clicked.connect(self.refresh_cameras)
        self.resolution_combo = QComboBox()
        for w, h in RESOLUTIONS:
            self.resolution_combo.addItem(f"{w} x {h}", (w, h))
        self.resolution_combo.setToolTip("The resolution asked of the camera (it may give another one; the "
                                         "status line says what it gave). Restarts a running camera.")
        self.fps_combo = QComboBox()
        for f in FRAME_RATES:
            self.fps_combo.addItem(f"{f} fps", f)
        self.fps_combo.setToolTip("The frame rate asked of the camera, and the pace of an image folder. "
                                  "Restarts a running camera.")
        self.resolution_combo.currentIndexChanged.connect(self._camera_settings_changed)
        self.fps_combo.currentIndexChanged.connect(self._camera_settings_changed)
        self.start_button = QPushButton("Start camera")
        self.start_button.setToolTip("Read the chosen camera and run every frame through the filters and the model")
        self.start_button.clicked.connect(lambda: self.start_camera())
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop reading; the last frame stays in the lab")
        self.stop_button.clicked.connect(self.stop)
        self.video_button = QPushButton("Open video...")
        self.video_button.setToolTip("Play a video file (mp4, avi, mkv, mov, webm, ...) through the lab")
        self.video_button.clicked.connect(self.open_video_dialog)
        self.folder_button = QPushButton("Open image folder...")
        self.folder_button.setToolTip("Show the images of a folder one after another, at the chosen frame rate")
        self.folder_button.clicked.connect(self.open_folder_dialog)
        self.loop_check = QCheckBox("Loop")
        self.loop_check.setChecked(True)
        self.loop_check.setToolTip("Start a video or an image folder again when it ends")
        self.loop_check.toggled.connect(self._loop_toggled)
        self.mirror_check = QCheckBox("Mirror")
        self.mirror_check.setToolTip("Flip frames left-right, like a mirror (handy for a camera facing you)")
        self.mirror_check.toggled.connect(self._mirror_toggled)

        self.freeze_action = QAction("&Freeze Frame", self)
        self.freeze_action.setCheckable(True)
        self.freeze_action.setShortcut(QKeySequence(Qt.Key_Space))
        self.freeze_action.setShortcutContext(Qt.WindowShortcut)
        self.freeze_action.setToolTip("Hold the current frame (Space); press again to go live")
        self.freeze_action.setStatusTip("Hold the current live frame, or go live again")
        self.freeze_action.toggled.connect(self._freeze_toggled)
        self.addAction(self.freeze_action)
        self.freeze_button = QToolButton()
        self.freeze_button.setDefaultAction(self.freeze_action)
        self.freeze_button.setText("Freeze (Space)")
        self.snapshot_button = QPushButton("Snapshot...")
        self.snapshot_button.setToolTip("Save the current frame as a PNG file")
        self.snapshot_button.clicked.connect(self.snapshot_dialog)
        self.draw_button = QPushButton("Draw")
        self.draw_button.setToolTip("Draw a digit with the mouse or a pen on the drawing pad: it becomes the live "
                                    "source (a running camera or video stops)")
        self.draw_button.clicked.connect(self.drawRequested)

        g.addWidget(self.camera_combo, 0, 0)
        g.addWidget(self.find_button, 0, 1)
        g.addWidget(self.resolution_combo, 1, 0)
        g.addWidget(self.fps_combo, 1, 1)
        g.addWidget(self.start_button, 2, 0)
        g.addWidget(self.stop_button, 2, 1)
        g.addWidget(self.video_button, 3, 0)
        g.addWidget(self.folder_button, 3, 1)
        g.addWidget(self.loop_check, 4, 0)
        g.addWidget(self.mirror_check, 4, 1)
        g.addWidget(self.freeze_button, 5, 0)
        g.addWidget(self.snapshot_button, 5, 1)
        g.addWidget(self.draw_button, 6, 0, 1, 2)
        self.status_label = QLabel("No live source. Start a camera, or open a video or an image folder.")
        self.status_label.setWordWrap(True)
        self.status_label.setToolTip("What is playing, or why it stopped")
        g.addWidget(self.status_label, 7, 0, 1, 2)

        seen = QGroupBox("What the model sees")
        v = QVBoxLayout(seen)
        row = QHBoxLayout()
        self.model_view = ImageView()
        self.model_view.vb.setMouseEnabled(x=False, y=False)
        self.model_view.setToolTip("The frame after the model's preprocessing: cropped to its aspect ratio, "
                                   "resized to its input, gray or RGB, scaled to 0..1, inverted for digit models")
        self.model_view.setFixedSize(140, 140)
        row.addWidget(self.model_view)
        self.prediction_label = SteadyLabel(" ")  # a new prediction with every frame
        self.prediction_label.setToolTip("The model's most likely class for this frame")
        row.addWidget(self.prediction_label, 1)
        v.addLayout(row)
        self.bars = ClassBarsView("class probabilities")
        self.bars.setToolTip("The model's probability for each class, for the current frame")
        self.bars.setMinimumHeight(160)
        v.addWidget(self.bars, 1)

        self.stats_label = QLabel(" ")
        self.stats_label.setWordWrap(True)
        self.stats_label.setToolTip("Frames per second, and the time of each stage for the last frame: reading "
                                    "it (capture), the model's preprocessing, the filter bank, the model, drawing")

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(src)
        lay.addWidget(seen, 1)
        lay.addWidget(self.stats_label)

    # ------------------------------------------------------------------ cameras

    def refresh_cameras(self) -> None:
        """List the cameras that answer, in a thread; the combo fills when it reports."""
        if self._probe_task is not None:
            return
        self.camera_combo.clear()
        self.camera_combo.addItem("looking for cameras...")
        self.camera_combo.setEnabled(False)
        self.find_button.setEnabled(False)
        task = Task(functools.partial(list_cameras, MAX_CAMERA_INDEX, capture_factory=self.capture_factory))
        task.done.connect(self._cameras_found)
        task.failed.connect(self._cameras_failed)
        self._probe_task = task
        task.start()

    def _finish_probe(self) -> None:
        task, self._probe_task = self._probe_task, None
        if task is not None:
            task.wait()
        self.find_button.setEnabled(True)

    def _cameras_found(self, indexes) -> None:
        self._finish_probe()
        self.cameras = list(indexes)
        self.camera_combo.clear()
        if self.cameras:
            for i in self.cameras:
                self.camera_combo.addItem(f"Camera {i}", i)
            self.camera_combo.setEnabled(True)
            if self.live is None or not self.live.running:
                self._set_status(f"{len(self.cameras)} camera{'s' * (len(self.cameras) > 1)} found.")
        else:
            self.camera_combo.addItem("No camera")
            self.camera_combo.setEnabled(False)
            if self.live is None or not self.live.running:
                self._set_status(describe_no_camera(MAX_CAMERA_INDEX))
        self._sync_controls()

    def _cameras_failed(self, text: str) -> None:
        self._finish_probe()
        self.cameras = []
        self.camera_combo.clear()
        self.camera_combo.addItem("No camera")
        self._set_status(f"could not look for cameras: {text}", error=True)
        self._sync_controls()

    def start_camera(self, index: int | None = None) -> None:
        """Open a camera (the combo's, or ``index``) in a thread and start it when it answers."""
        if index is None:
            index = self.camera_combo.currentData()
        if index is None:
            self._error(describe_no_camera(MAX_CAMERA_INDEX))
            return
        w, h = self.resolution_combo.currentData()
        fps = self.fps_combo.currentData()
        self.stop()
        self._open_token += 1
        token = self._open_token
        task = Task(_open_camera, token, int(index), w, h, fps, self.capture_factory, self.mirror_check.isChecked())
        # bound methods of this GUI-thread widget: Qt queues the calls into the GUI thread
        task.done.connect(self._camera_opened)
        task.failed.connect(self._camera_failed)
        self._open_tasks[token] = task
        self._set_status(f"opening camera {index}...")
        self._sync_controls()
        task.start()

    def _camera_opened(self, result) -> None:
        token, source, error = result
        task = self._open_tasks.pop(token, None)
        if task is not None:
            task.wait()
        if token != self._open_token:  # stopped or replaced while it was opening
            if source is not None:
                source.stop()
        elif source is None:
            self._error(error)
        else:
            self.open_source(source)
        self._sync_controls()

    def _camera_failed(self, text: str) -> None:  # OSError / MemoryError: not tied to a token
        for token in [t for t, task in self._open_tasks.items() if task.wait(0)]:
            del self._open_tasks[token]
        self._error(f"the camera could not be opened: {text}")
        self._sync_controls()

    @property
    def opening(self) -> bool:
        """The camera asked for last is still being opened in a thread."""
        return self._open_token in self._open_tasks

    def _camera_settings_changed(self, *_) -> None:
        live = self.live
        if live is not None and live.running and isinstance(live.source, CameraSource):
            self.start_camera(live.source.index)

    # ------------------------------------------------------------------ other sources

    def open_video_dialog(self) -> None:
        path = dialogs().open_file(self, "Open a video", VIDEO_FILTER)
        if path:
            self.open_video(path)

    def open_folder_dialog(self) -> None:
        path = dialogs().open_folder(self, "Open a folder of images")
        if path:
            self.open_folder(path)

    def open_video(self, path, *, realtime: bool = True) -> bool:
        try:
            source = VideoFileSource(path, loop=self.loop_check.isChecked(), realtime=realtime,
                                     mirror=self.mirror_check.isChecked())
        except SourceError as e:
            self._error(open_error_text(e))
            return False
        return self.open_source(source)

    def open_folder(self, path, *, fps: float | None = None) -> bool:
        try:
            source = ImageFolderSource(path, fps=fps or self.fps_combo.currentData() or FOLDER_FPS_DEFAULT,
                                       loop=self.loop_check.isChecked(), mirror=self.mirror_check.isChecked())
        except SourceError as e:
            self._error(open_error_text(e))
            return False
        return self.open_source(source)

    def open_source(self, source: FrameSource) -> bool:
        """Make ``source`` (opened, not started) the live source: the previous one stops first."""
        self.stop()
        live = LiveSource(source, self)
        live.ended.connect(self._source_ended)
        self.live = live
        self.pipeline.reset_stats()
        self.pipeline.attach(live)
        if live.mirror != self.mirror_check.isChecked():
            live.mirror = self.mirror_check.isChecked()
        if self.net.input_source != "image":
            self.net.use_image()  # live frames are for the network too
        try:
            live.start()
        except SourceError as e:
            self.pipeline.attach(None)
            live.stop()
            self._error(open_error_text(e))
            return False
        self._watch_window(check_now=False)  # also when the panel was never shown (a dock behind another)
        if not self._window_visible:
            live.pause()
        self.last_error = ""
        self._set_status(self._describe(source))
        self._sync_controls()
        self.liveChanged.emit(True)
        return True

    def _describe(self, source: FrameSource) -> str:
        if isinstance(source, CameraSource):
            size = source.actual_size
            asked = source.requested_size
            text = f"Playing {source.description}"
            if size:
                text += f", {size[0]} x {size[1]}"
                if asked[0] and tuple(asked) != tuple(size):
                    text += f" (asked for {asked[0]} x {asked[1]})"
            return text + "."
        if isinstance(source, VideoFileSource):
            size = f", {source.size[0]} x {source.size[1]}" if source.size else ""
            fps = f", {source.fps:g} fps" if source.fps else ""
            return f"Playing {source.description}{size}{fps}."
        return f"Playing {source.description}."

    # ------------------------------------------------------------------ running

    @property
    def running(self) -> bool:
        return self.live is not None and self.live.running

    def stop(self) -> None:
        """Stop the live source (joins its thread); the last frame stays in the lab."""
        self._open_token += 1  # a camera still opening is released when it answers
        live = self.live
        was_running = live is not None and live.running
        self.pipeline.attach(None)
        if live is not None:
            live.stop()
        with QSignalBlocker(self.freeze_action):
            self.freeze_action.setChecked(False)
        if was_running:
            self._set_status(f"Stopped {live.description}.")
            self.liveChanged.emit(False)
        self._sync_controls()

    def _source_ended(self, text: str) -> None:
        self.pipeline.attach(None)
        with QSignalBlocker(self.freeze_action):
            self.freeze_action.setChecked(False)
        self._error(text)
        self._sync_controls()
        self.liveChanged.emit(False)

    def _freeze_toggled(self, on: bool) -> None:
        live = self.live
        if live is None or not live.running:
            with QSignalBlocker(self.freeze_action):
                self.freeze_action.setChecked(False)
            return
        if on:
            live.freeze()
            self.message.emit("frozen: press Space to go live again")
        else:
            live.unfreeze()

    def _mirror_toggled(self, on: bool) -> None:
        if self.live is not None and self.live.running:
            self.live.mirror = on

    def _loop_toggled(self, on: bool) -> None:
        if self.live is not None and hasattr(self.live.source, "loop"):
            self.live.source.loop = on  # read by the reader at the end of the file

    @property
    def frozen(self) -> bool:
        return self.live is not None and self.live.frozen

    def set_frozen(self, on: bool) -> None:
        self.freeze_action.setChecked(on)

    # ------------------------------------------------------------------ snapshot

    def snapshot_dialog(self) -> None:
        if self.live is None or self.live.latest() is None:
            self._error("there is no frame to save yet: start a camera, a video or an image folder")
            return
        path = dialogs().save_file(self, "Save the frame", "snapshot.png", "PNG image (*.png)")
        if path:
            self.snapshot_to(path)

    def snapshot_to(self, path) -> Path | None:
        """Save the current (or frozen, or last) frame as a PNG; None with a message on failure."""
        if self.live is None:
            self._error("there is no frame to save yet: start a camera, a video or an image folder")
            return None
        try:
            saved = self.live.snapshot(path)
        except SourceError as e:
            self._error(str(e))
            return None
        self.message.emit(f"saved the frame to {saved}")
        return saved

    # ------------------------------------------------------------------ the window

    def set_window_visible(self, visible: bool) -> None:
        """Pause reading while the window is hidden or minimised; resume when it is back."""
        visible = bool(visible)
        if visible == self._window_visible:
            return
        self._window_visible = visible
        live = self.live
        if live is not None and live.running:
            live.resume() if visible else live.pause()

    @property
    def window_visible(self) -> bool:
        return self._window_visible

    def _watch_window(self, check_now: bool = True) -> None:
        """Follow the top-level window's hide / show / minimise (it changes when a dock floats)."""
        win = self.window()
        if win is not self._watched:
            if self._watched is not None:
                self._watched.removeEventFilter(self)
            self._watched = win
            win.installEventFilter(self)
        if check_now:
            self.set_window_visible(win.isVisible() and not win.isMinimized())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._watch_window()
        if self.probe_on_show and self.cameras is None and self._probe_task is None:
            self.refresh_cameras()

    def eventFilter(self, obj, event) -> bool:
        if obj is self._watched:
            kind = event.type()
            if kind == QEvent.Hide:
                self.set_window_visible(False)
            elif kind in (QEvent.Show, QEvent.WindowStateChange):
                self.set_window_visible(obj.isVisible() and not obj.isMinimized())
        return False

    def shutdown(self) -> None:
        """Stop the source and wait for the threads this panel started (window closing)."""
        self.stop()
        for task in [self._probe_task, *self._open_tasks.values()]:
            if task is not None:
                task.wait()
        self._open_tasks.clear()
        if self._watched is not None:
            self._watched.removeEventFilter(self)
            self._watched = None

    # ------------------------------------------------------------------ drawing

    def _frame_processed(self, frame) -> None:
        self.frameProcessed.emit(frame.image)

    def _show_stats(self, stats) -> None:
        text = format_stats(stats)
        if stats.skipped or stats.dropped:
            text += f" | {stats.skipped + stats.dropped} frames skipped to keep up"
        self.stats_label.setText(text)

    def _draw_model(self) -> None:
        net = self.net
        x = net.current_input
        if x is None:
            self.model_view.clear_image()
        else:
            img, levels = input_picture(x)
            self.model_view.set_image(img, levels=levels)
        p = net.probabilities
        pred = prediction(p, net.dataset.classes if net.dataset is not None else None)
        if pred is None:
            self.bars.clear_values()
            self.prediction_label.setText("No prediction: the model does not work yet or does not end in "
                                          "class scores." if p is None else "The scores are not finite.")
            return
        self.bars.set_values(p, pred.names, highlight=pred.index)
        self.prediction_label.setText(f"Prediction: <b>{pred.name}</b> ({100 * pred.probability:.0f}%)")

    @property
    def model_image(self) -> np.ndarray | None:
        """The image drawn as "what the model sees" (None when there is none)."""
        return self.model_view.data if self.model_view.image_shape is not None else None

    # ------------------------------------------------------------------ messages and state

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status_label.setStyleSheet(ERROR_STYLE if error else "")
        self.status_label.setText(text)

    def _error(self, text: str) -> None:
        self.last_error = text
        self._set_status(text, error=True)
        self.message.emit(text)

    def _sync_controls(self) -> None:
        running = self.running
        has_camera = bool(self.cameras) and self.camera_combo.currentData() is not None
        self.start_button.setEnabled(has_camera and not self.opening)
        self.stop_button.setEnabled(running or self.opening)
        self.freeze_action.setEnabled(running)
        self.snapshot_button.setEnabled(self.live is not None)
