"""CapturePanel: teach the network your own classes from the camera, Teachable-Machine style.

Name the classes, hold a Record button (or the number key 1-9 of a class) while the live view
runs, look at the samples (exactly what the network sees), delete the bad ones, and train the
layer panel's model on them; the live view then shows its predictions.

The samples live in NetworkState (``captured_x``/``captured_y``/``captured_classes``, saved with the
session); this panel only forwards the user's intents and shows what the state holds.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from convlab.core.reasons import Block

from ..captured_samples import CLASS_NAME_MAX
from ..views.training_views import SampleGallery, array_to_pixmap

MAX_RATE = 10.0  # samples per second at most while recording
KEYS = 9  # classes 1-9 have a number key
# layers after the last linear one that keep its size (its units are the class scores)
_ERROR = "color: #b91c1c;"
_INFO = "color: #1f2937;"
_RECORDING_STYLE = "QPushButton { background: #dc2626; color: white; font-weight: bold; }"


class CaptureGallery(SampleGallery):
    """The samples of one class: multi-select, Delete / Backspace asks to remove the selection,
    and new samples are appended without redrawing the others."""

    deleteRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(icon_size=48, caption_width=60, parent=parent)
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)

    def append_samples(self, images: np.ndarray, captions, ids, tooltips) -> None:
        for img, caption, i, tip in zip(images, captions, ids, tooltips, strict=True):
            item = QListWidgetItem(array_to_pixmap(img, self.icon), str(caption))
            item.setTextAlignment(Qt.AlignHCenter | Qt.AlignTop)
            item.setToolTip(str(tip))
            item.setData(Qt.UserRole, int(i))
            self.addItem(item)
            self.ids.append(int(i))

    def selected_ids(self) -> list[int]:
        return sorted(int(item.data(Qt.UserRole)) for item in self.selectedItems())

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Delete, Qt.Key_Backspace) and self.selectedItems():
            self.deleteRequested.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class CapturePanel(QWidget):
    """Classes, recording, the samples of the selected class, and "Train on these"."""

    recordingChanged = Signal(object)  # the class index being recorded, or None

    def __init__(self, net, parent=None, clock=time.monotonic):
        super().__init__(parent)
        self.net = net
        self.clock = clock  # seconds, monotonic; replaceable (tests pass ``now`` to on_frame instead)
        self.min_interval = 1.0 / MAX_RATE
        self.recording: int | None = None
        self._last_capture: float | None = None
        self._recorded = 0  # samples taken since recording started
        self._appending = False  # capturedChanged comes from one new sample (the gallery only appends)
        self._names: list[str] | None = None  # the class names the table shows
        self._gallery_key: tuple = (None, [])  # (class, sample ids) the gallery shows
        self._started_run = False
        self.record_buttons: list[QPushButton] = []
        # replaceable by tests: (class name, sample count) -> remove it?
        self.ask_remove = self._ask_remove
        self.setFocusPolicy(Qt.StrongFocus)  # number keys reach the panel when it has focus

        # ---------------------------------------------------------------- classes
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("new class, e.g. thumbs up")
        self.name_edit.setMaxLength(CLASS_NAME_MAX)
        self.name_edit.setToolTip(f"The name of a new class (at most {CLASS_NAME_MAX} characters, each name "
                                  "once); Enter adds it")
        self.add_btn = QPushButton("Add class")
        self.add_btn.setToolTip("Add a class with the name on the left; then hold its Record button to "
                                "capture examples of it")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Class", "Samples", "Record"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeToContents)
        self.table.verticalHeader().setToolTip("The number key that records into the class while held")
        self.table.setToolTip("Your classes with their sample counts. The row number is the key (1-9) that "
                              "records into a class while held; double-click a name (or press F2) to rename "
                              "it; select a class to see its samples")
        self.rename_btn = QPushButton("Rename")
        self.rename_btn.setToolTip("Rename the selected class (or double-click its name)")
        self.remove_btn = QPushButton("Remove")
        self.remove_btn.setToolTip("Remove the selected class and all its samples; the classes after it "
                                   "move up one place (and one number key)")
        self.hint_label = QLabel(f"Hold a class's Record button, or hold its number key (1-{KEYS}), while the "
                                 "live view runs: at most 10 samples a second are taken from its frames.")
        self.hint_label.setWordWrap(True)
        self.hint_label.setToolTip("Samples are stored as the network sees them: cropped, resized to the "
                                   "model input, gray or colour, inverted if the live view inverts")

        classes_group = QGroupBox("Classes")
        classes_group.setToolTip("Define what the network should tell apart")
        add_row = QHBoxLayout()
        add_row.addWidget(self.name_edit, 1)
        add_row.addWidget(self.add_btn)
        edit_row = QHBoxLayout()
        edit_row.addWidget(self.rename_btn)
        edit_row.addWidget(self.remove_btn)
        edit_row.addStretch(1)
        classes_lay = QVBoxLayout(classes_group)
        classes_lay.addLayout(add_row)
        classes_lay.addWidget(self.table, 1)
        classes_lay.addLayout(edit_row)
        classes_lay.addWidget(self.hint_label)

        # ---------------------------------------------------------------- samples
        self.gallery = CaptureGallery()
        self.gallery.setToolTip("The selected class's samples, exactly as the network sees them. Click, "
                                "Shift- or Ctrl-click to select; Delete removes the selection")
        self.delete_btn = QPushButton("Delete selected")
        self.delete_btn.setToolTip("Remove the selected samples (Delete key in the gallery)")
        self.clear_btn = QPushButton("Clear class")
        self.clear_btn.setToolTip("Remove every sample of the selected class (the class stays)")
        self.samples_group = QGroupBox("Samples")
        self.samples_group.setToolTip("The samples of the selected class")
        sample_btns = QHBoxLayout()
        sample_btns.addWidget(self.delete_btn)
        sample_btns.addWidget(self.clear_btn)
        sample_btns.addStretch(1)
        samples_lay = QVBoxLayout(self.samples_group)
        samples_lay.addWidget(self.gallery, 1)
        samples_lay.addLayout(sample_btns)

        # ---------------------------------------------------------------- training
        self.train_btn = QPushButton("Train on these")
        self.train_btn.setToolTip("Train the layer panel's model on the captured samples (the training panel "
                                  "shows the progress and its settings apply); the last layer is given one "
                                  "unit per class when needed")
        self.ready_label = QLabel()
        self.ready_label.setWordWrap(True)
        self.ready_label.setToolTip("Whether the captured samples are enough to train on")
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setToolTip("What the panel last did, or why it could not")

        lay = QVBoxLayout(self)
        lay.addWidget(classes_group, 2)
        lay.addWidget(self.samples_group, 3)
        lay.addWidget(self.ready_label)
        lay.addWidget(self.train_btn)
        lay.addWidget(self.status_label)

        # ---------------------------------------------------------------- wiring
        self.add_btn.clicked.connect(self.add_class)
        self.name_edit.returnPressed.connect(self.add_class)
        self.rename_btn.clicked.connect(self._rename_selected)
        self.remove_btn.clicked.connect(self._remove_selected)
        self.table.itemChanged.connect(self._item_edited)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.gallery.deleteRequested.connect(self.delete_selected)
        self.gallery.itemSelectionChanged.connect(self._update_buttons)
        self.delete_btn.clicked.connect(self.delete_selected)
        self.clear_btn.clicked.connect(self._clear_selected_class)
        self.train_btn.clicked.connect(self.train)
        for w in (self.table, self.gallery):  # number keys record, even when these have focus
            w.installEventFilter(self)
        net.capturedChanged.connect(self._captured_changed)
        net.specChanged.connect(self._update_ready)
        net.trainingStateChanged.connect(self._training_state_changed)
        self._captured_changed()

    # ------------------------------------------------------------------ classes

    def class_label(self, index: int) -> str:
        """'thumbs up (23)': a class name with its sample count."""
        return f"{self.net.captured_classes[index]} ({int(self.net.captured_counts()[index])})"

    def selected_class(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def select_class(self, index: int) -> None:
        if 0 <= index < self.table.rowCount():
            self.table.selectRow(index)

    def add_class(self) -> str:
        """Add the class named in the name field; returns "" or the reason it was refused."""
        name = self.name_edit.text()
        reason = self.net.add_class(name)
        if reason:
            self._show(reason, error=True)
            return reason
        self.name_edit.clear()
        self.select_class(len(self.net.captured_classes) - 1)
        n = len(self.net.captured_classes)
        key = f" (or hold key {n})" if n <= KEYS else ""
        self._show(f"added {name.strip()!r}: hold its Record button{key} to capture examples")
        return ""

    def _rename_selected(self) -> None:
        k = self.selected_class()
        if k is None:
            self._show("select the class to rename", error=True)
            return
        self.table.setFocus()
        self.table.editItem(self.table.item(k, 0))

    def _item_edited(self, item: QTableWidgetItem) -> None:
        if item.column() != 0:
            return
        k, old = item.row(), self.net.captured_classes[item.row()]
        reason = self.net.rename_class(k, item.text())
        if reason:
            with QSignalBlocker(self.table):
                item.setText(old)
            self._show(f"cannot rename {old!r}: {reason}", error=True)
        elif item.text().strip() != old:
            self._show(f"renamed {old!r} to {item.text().strip()!r}")

    def _remove_selected(self) -> None:
        k = self.selected_class()
        if k is None:
            self._show("select the class to remove", error=True)
            return
        name, n = self.net.captured_classes[k], int(self.net.captured_counts()[k])
        if n and not self.ask_remove(name, n):
            return
        self.set_recording(None)
        self.net.remove_class(k)
        self.select_class(min(k, len(self.net.captured_classes) - 1))
        self._show(f"removed {name!r} and its {n} sample(s)")

    def _ask_remove(self, name: str, n: int) -> bool:
        b = QMessageBox.StandardButton
        answer = QMessageBox.question(self, "Remove class", f"Remove the class {name!r} and its {n} sample(s)?",
                                      b.Yes | b.Cancel, b.Cancel)
        return answer == b.Yes

    # ------------------------------------------------------------------ recording

    def set_recording(self, class_index: int | None) -> None:
        """Record the frames given to on_frame into a class (at most 10 a second), or stop (None)."""
        if class_index is not None and not 0 <= class_index < len(self.net.captured_classes):
            class_index = None
        if class_index == self.recording:
            return
        was, taken = self.recording, self._recorded
        self.recording = class_index
        self._last_capture = None
        self._recorded = 0
        self._style_record_buttons()
        if class_index is not None:
            self.select_class(class_index)
            self._show(f"recording {self.net.captured_classes[class_index]!r} from the live frames... "
                       "(start the camera in the live view if nothing arrives)")
        elif was is not None and was < len(self.net.captured_classes):
            self._show(f"took {taken} sample(s) of {self.net.captured_classes[was]!r}: {self.class_label(was)}")
        self.recordingChanged.emit(class_index)

    def on_frame(self, frame, now: float | None = None) -> None:
        """A live frame (uint8 RGB array, or an object with ``.image``); kept as a sample while recording.

        ``now`` (seconds) is the frame's time; a frame's own ``timestamp`` or the clock otherwise."""
        if self.recording is None or frame is None:
            return
        image = getattr(frame, "image", frame)
        if now is None:
            now = getattr(frame, "timestamp", None)
            now = self.clock() if now is None else float(now)
        if self._last_capture is not None and now - self._last_capture < self.min_interval - 1e-9:
            return
        self._appending = True
        try:
            reason = self.net.add_captured(image, self.recording)
        finally:
            self._appending = False
        if reason:
            self.set_recording(None)
            self._show(f"cannot record: {reason}", error=True)
            return
        self._last_capture = now
        self._recorded += 1

    def _style_record_buttons(self) -> None:
        for i, btn in enumerate(self.record_buttons):
            on = i == self.recording
            btn.setText("Recording..." if on else "Hold to record")
            btn.setStyleSheet(_RECORDING_STYLE if on else "")

    def handle_key(self, event) -> bool:
        """Number keys 1-9 held down record into classes 1-9; True when the key was used."""
        key = event.key()
        if not Qt.Key_1 <= key <= Qt.Key_9 or event.modifiers() & ~Qt.KeypadModifier:
            return False
        k = key - Qt.Key_1
        if k >= len(self.net.captured_classes):
            return False
        if event.isAutoRepeat():
            return True
        if event.type() == QEvent.KeyPress:
            self.set_recording(k)
        elif self.recording == k:
            self.set_recording(None)
        return True

    def watch_keys(self, widget: QObject) -> None:
        """Let number keys held in ``widget`` (the main window) record too."""
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        t = event.type()
        if t in (QEvent.KeyPress, QEvent.KeyRelease):
            if isinstance(obj, QAbstractItemView) and obj.state() == QAbstractItemView.EditingState:
                return False
            if self.handle_key(event):
                return True
        elif t == QEvent.WindowDeactivate and self.recording is not None:
            self.set_recording(None)  # a key released in another window would never arrive
        return super().eventFilter(obj, event)

    def keyPressEvent(self, event) -> None:
        if not self.handle_key(event):
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if not self.handle_key(event):
            super().keyReleaseEvent(event)

    def hideEvent(self, event) -> None:
        self.set_recording(None)
        super().hideEvent(event)

    # ------------------------------------------------------------------ samples

    def delete_selected(self) -> None:
        ids = self.gallery.selected_ids()
        if not ids:
            self._show("select the samples to delete in the gallery", error=True)
            return
        self.net.remove_captured(ids)
        self._show(f"deleted {len(ids)} sample(s)")

    def _clear_selected_class(self) -> None:
        k = self.selected_class()
        if k is None:
            return
        ids = np.flatnonzero(self.net.captured_y == k)
        if len(ids) and self.ask_remove_samples(self.net.captured_classes[k], len(ids)):
            self.net.remove_captured(ids)
            self._show(f"deleted the {len(ids)} sample(s) of {self.net.captured_classes[k]!r}")

    def ask_remove_samples(self, name: str, n: int) -> bool:
        b = QMessageBox.StandardButton
        return QMessageBox.question(self, "Clear class", f"Delete all {n} sample(s) of {name!r}?",
                                    b.Yes | b.Cancel, b.Cancel) == b.Yes

    # ------------------------------------------------------------------ training

    def train(self) -> bool:
        """Train the model on the captured samples; False with a message when it cannot start."""
        net = self.net
        if net.training != "idle":
            self._show("a training run is on: stop it in the training panel first", error=True)
            return False
        self.set_recording(None)
        self._match_output_to_classes()
        net.set_settings(dataset="captured")
        reason = net.train_block_reason
        if reason:
            self._show(f"cannot train: {reason}", error=True)
            return False
        self._started_run = net.start_training()
        if self._started_run:
            n, k = len(net.captured_y), len(net.captured_classes)
            self._show(f"training on {n} samples of {k} classes: the training panel shows the progress, "
                       "the live view the predictions")
        else:
            self._show("cannot train: see the message in the status bar", error=True)
        return self._started_run

    def _match_output_to_classes(self) -> None:
        """When the class count is all that stops training, the network gives the last layer one
        unit per class (an undo step of its own, announced in the status bar)."""
        block = self.net.captured_block()
        if block is not None and block.kind is Block.CLASS_COUNT and block.wanted is not None:
            if self.net.set_output_classes(block.wanted):
                self._show(f"the last layer now gives {block.wanted} scores, one per class")

    def _training_state_changed(self) -> None:
        net = self.net
        self.train_btn.setEnabled(net.training == "idle")
        if net.training == "idle" and self._started_run:
            self._started_run = False
            e = net.history_epochs[-1] if net.history_epochs else None
            if e is not None and e.val_accuracy is not None:
                self._show(f"trained: {100 * e.val_accuracy:.0f}% of the held-back samples right. Watch the "
                           "live predictions; capture more where it is wrong")
        self._update_ready()

    # ------------------------------------------------------------------ showing the state

    def _captured_changed(self) -> None:
        net = self.net
        names = list(net.captured_classes)
        counts = net.captured_counts()
        if self._names is None or len(names) != len(self._names):
            self._rebuild_table(names)
        else:
            with QSignalBlocker(self.table):
                for i, name in enumerate(names):
                    if self.table.item(i, 0).text() != name:
                        self.table.item(i, 0).setText(name)
            self._names = names
        with QSignalBlocker(self.table):
            for i, n in enumerate(counts):
                self.table.item(i, 1).setText(str(int(n)))
                self.table.item(i, 1).setToolTip(f"{self.class_label(i)}: samples captured")
        if self.recording is not None and self.recording >= len(names):
            self.set_recording(None)
        self._refresh_gallery()
        self._update_ready()
        self._update_buttons()

    def _rebuild_table(self, names: list[str]) -> None:
        selected = self.selected_class()
        with QSignalBlocker(self.table):
            self.table.setRowCount(0)
            self.record_buttons = []
            self.table.setRowCount(len(names))
            self.table.setVerticalHeaderLabels([str(i + 1) if i < KEYS else "" for i in range(len(names))])
            for i, name in enumerate(names):
                item = QTableWidgetItem(name)
                item.setToolTip("Double-click to rename")
                self.table.setItem(i, 0, item)
                count = QTableWidgetItem("0")
                count.setFlags(count.flags() & ~Qt.ItemIsEditable)
                count.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(i, 1, count)
                btn = QPushButton("Hold to record")
                key = f", or hold the key {i + 1}" if i < KEYS else ""
                btn.setToolTip(f"Hold down to record {name!r} from the live frames (at most 10 a second){key}")
                btn.setFocusPolicy(Qt.NoFocus)
                btn.pressed.connect(lambda i=i: self.set_recording(i))
                btn.released.connect(lambda: self.set_recording(None))
                self.table.setCellWidget(i, 2, btn)
                self.record_buttons.append(btn)
        self._names = names
        self._style_record_buttons()
        if names:
            self.select_class(min(selected if selected is not None else 0, len(names) - 1))

    def _selection_changed(self) -> None:
        self._refresh_gallery()
        self._update_buttons()

    def _refresh_gallery(self) -> None:
        net = self.net
        k = self.selected_class()
        if k is None or k >= len(net.captured_classes):
            self.gallery.set_samples(np.zeros((0, 1, 1, 1), np.float32), [])
            self._gallery_key = (None, [])
            self.samples_group.setTitle("Samples")
            return
        ids = np.flatnonzero(net.captured_y == k).tolist()
        self.samples_group.setTitle(f"Samples of {self.class_label(k)}")
        shown_k, shown = self._gallery_key
        name = net.captured_classes[k]
        if self._appending and shown_k == k and ids[:len(shown)] == shown:
            new = ids[len(shown):]
            start = len(shown)
        else:
            new, start = ids, 0
            self.gallery.set_samples(np.zeros((0, 1, 1, 1), np.float32), [])
        if new:
            self.gallery.append_samples(
                net.captured_x[new], [str(start + j + 1) for j in range(len(new))], new,
                [f"sample {start + j + 1} of {name!r}, as the network sees it "
                 f"({'x'.join(map(str, net.captured_x.shape[1:]))}); Delete removes the selection"
                 for j in range(len(new))])
            if self._appending:
                self.gallery.scrollToBottom()
        self._gallery_key = (k, ids)

    def _update_buttons(self) -> None:
        has_class = self.selected_class() is not None
        self.rename_btn.setEnabled(has_class)
        self.remove_btn.setEnabled(has_class)
        self.clear_btn.setEnabled(has_class and bool(self._gallery_key[1]))
        self.delete_btn.setEnabled(bool(self.gallery.selectedItems()))

    def _update_ready(self) -> None:
        net = self.net
        block = net.captured_block()
        k = len(net.captured_classes)
        if block is None or block.kind is Block.CLASS_COUNT:  # Train fixes the class count itself
            self.ready_label.setText(f"Ready: {len(net.captured_y)} samples of {k} classes.")
            self.ready_label.setStyleSheet(_INFO)
        else:
            self.ready_label.setText(f"Not ready to train: {block.text}.")
            self.ready_label.setStyleSheet("color: #92400e;")
        self.train_btn.setEnabled(net.training == "idle")

    def _show(self, text: str, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet(_ERROR if error else _INFO)
