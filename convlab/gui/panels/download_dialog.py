"""Downloading MNIST, Fashion-MNIST, KMNIST and CIFAR-10 from the Training panel.

:class:`DownloadDialog` shows a dataset's size, source and licence, downloads it in a worker
thread (progress bar with size and speed, Cancel, resume of a partial download, the next mirror on
failure, every file checked against its known SHA-256) and says plainly what went wrong, offline
included. A folder that already holds the files can be chosen instead. ``ready(key, folder)`` says
when a dataset is complete.

:class:`DownloadRow` is the Training panel's line for it: shown for the downloadable kinds, it says
whether the set is here and opens the dialog; a finished download becomes the panel's dataset.

The downloading itself is :mod:`convlab.core.data.download` (no Qt); the worker only forwards its
reports, a few per second.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from convlab.core.data.download import (
    CancelFlag,
    DownloadCancelled,
    DownloadError,
    DownloadProgress,
    NoConnection,
    dataset_folder,
    download_dataset,
    missing_files,
    partial_bytes,
)
from convlab.core.data.remote import CATALOG, RemoteDataset
from convlab.core.sizes import format_bytes
from convlab.gui.file_dialogs import dialogs
from convlab.gui.workers import ThreadWorker

__all__ = ["DownloadWorker", "DownloadDialog", "DownloadRow", "dataset_status"]


class DownloadWorker(ThreadWorker):
    """Runs one core download in a thread; progress at most ``rate_hz`` a second (always the newest)."""

    progress = Signal(object)  # DownloadProgress
    done = Signal(str)  # the folder
    failed = Signal(str, bool)  # message, offline?
    cancelled = Signal(str)
    thread_name = "convlab-download"

    def __init__(self, dataset: RemoteDataset, folder: str, rate_hz: float = 10.0):
        super().__init__()
        self.dataset = dataset
        self.folder = folder
        self.cancel = CancelFlag()  # also wakes a read that waits on a silent server
        self.min_interval = 1.0 / rate_hz
        self._last = 0.0
        self.latest: DownloadProgress | None = None

    def _report(self, p: DownloadProgress) -> None:
        self.latest = p  # newest wins: the dialog also picks it up when the data stalls between reports
        now = time.monotonic()
        if now - self._last >= self.min_interval or p.done >= p.total:
            self._last = now
            self.progress.emit(p)

    @Slot()
    def _run(self) -> None:
        try:
            folder = download_dataset(self.dataset, self.folder, progress=self._report, cancel=self.cancel)
        except DownloadCancelled as e:
            self.cancelled.emit(str(e))
        except NoConnection as e:
            self.failed.emit(str(e), True)
        except DownloadError as e:
            self.failed.emit(str(e), False)
        except OSError as e:  # the folder cannot be written (full disk, permissions)
            self.failed.emit(f"cannot write the files in {self.folder}: {e.strerror or e}", False)
        except Exception as e:  # noqa: BLE001 - whatever happens must reach the user, not kill the thread
            self.failed.emit(f"the download failed: {type(e).__name__}: {e}", False)
        else:
            self.done.emit(str(folder))
        finally:
            self._thread.quit()


def dataset_status(dataset: RemoteDataset, folder: str | None = None) -> tuple[bool, str]:
    """(complete?, one line about the files in ``folder``), without hashing anything new."""
    where = folder or str(dataset_folder(dataset))
    missing = missing_files(dataset, where, check_sums=False)
    if not missing:
        return True, f"{dataset.title} is here ({format_bytes(dataset.total_bytes)}) in {where}"
    waiting = partial_bytes(dataset, where)
    if waiting:
        return False, (f"{dataset.title}: {format_bytes(waiting)} of {format_bytes(dataset.total_bytes)} downloaded; "
                       "Download resumes there")
    if len(missing) < len(dataset.files):
        return False, f"{dataset.title}: {len(missing)} of {len(dataset.files)} files missing in {where}"
    return False, f"{dataset.title} is not downloaded yet ({format_bytes(dataset.total_bytes)})"


def progress_line(p: DownloadProgress) -> str:
    speed = f" · {format_bytes(p.speed)}/s" if p.speed > 0 else ""
    left = ""
    if p.speed > 0 and p.done < p.total:
        seconds = (p.total - p.done) / p.speed
        left = f" · about {seconds:.0f} s left" if seconds < 120 else f" · about {seconds / 60:.0f} min left"
    return (f"{format_bytes(p.done)} of {format_bytes(p.total)}{speed}{left}\n"
            f"file {p.file_index} of {p.file_count}: {p.file}")


class DownloadDialog(QDialog):
    """Download (or point at) one of the catalogue's datasets."""

    ready = Signal(str, str)  # dataset key, folder holding its files

    def __init__(self, key: str | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Download a dataset")
        self.worker: DownloadWorker | None = None
        self._folders: dict[str, str] = {}  # key -> a folder the user chose instead of the default one

        self.dataset_box = QComboBox()
        for k, ds in CATALOG.items():
            self.dataset_box.addItem(f"{ds.title} ({format_bytes(ds.total_bytes)})", k)
        self.dataset_box.setToolTip("The dataset to download: each file is checked against its published SHA-256")
        if key in CATALOG:
            self.dataset_box.setCurrentIndex(self.dataset_box.findData(key))
        self.about_label = QLabel()
        self.about_label.setWordWrap(True)
        self.about_label.setTextFormat(Qt.RichText)
        self.about_label.setOpenExternalLinks(True)
        self.folder_label = QLabel()
        self.folder_label.setWordWrap(True)
        self.folder_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.folder_label.setToolTip("Where the files are kept: ConvLab's data folder unless you choose another")
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setFormat("%p%")
        self.progress_bar.setToolTip("How much of the dataset is on disk (the files already here count too)")
        self.progress_label = QLabel(" \n ")
        self.progress_label.setToolTip("Downloaded so far, the speed over the last seconds and the file in transit")
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.error_label.setStyleSheet("color: #c0392b;")
        self.error_label.hide()

        self.download_btn = QPushButton("Download")
        self.download_btn.setToolTip("Fetch the files from the publishers' mirrors (a partial download is resumed)")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("Stop the download; what has arrived is kept and the next Download resumes it")
        self.cancel_btn.setEnabled(False)
        self.folder_btn = QPushButton("Use a Folder With the Files...")
        self.folder_btn.setToolTip("Choose a folder that already holds the dataset's files (checked before use)")
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        self.close_btn = buttons.button(QDialogButtonBox.Close)

        form = QFormLayout()
        form.addRow("Dataset", self.dataset_box)
        form.addRow("", self.about_label)
        form.addRow("Folder", self.folder_label)
        row = QHBoxLayout()
        row.addWidget(self.download_btn)
        row.addWidget(self.cancel_btn)
        row.addStretch(1)
        row.addWidget(self.folder_btn)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.status_label)
        lay.addWidget(self.progress_bar)
        lay.addWidget(self.progress_label)
        lay.addWidget(self.error_label)
        lay.addLayout(row)
        lay.addWidget(buttons)
        self.setMinimumWidth(520)

        self._poll = QTimer(self)  # shows bytes that arrived just before a stall (reports are throttled)
        self._poll.setInterval(250)
        self._poll.timeout.connect(self._pick_latest)
        self._shown: DownloadProgress | None = None
        self.dataset_box.currentIndexChanged.connect(self._refresh)
        self.download_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self.cancel)
        self.folder_btn.clicked.connect(self._choose_folder)
        self._refresh()

    # ------------------------------------------------------------------ state

    @property
    def key(self) -> str:
        return self.dataset_box.currentData()

    @property
    def dataset(self) -> RemoteDataset:
        return CATALOG[self.key]

    def folder(self) -> str:
        return self._folders.get(self.key) or str(dataset_folder(self.dataset))

    def running(self) -> bool:
        return self.worker is not None

    def _refresh(self) -> None:
        ds = self.dataset
        mirrors = "<br>".join(f"{m}" for m in ds.mirrors)
        self.about_label.setText(f"{ds.description}<br><a href='{ds.homepage}'>{ds.homepage}</a> - {ds.licence}"
                                 f"<br><small>from {mirrors}</small>")
        self.folder_label.setText(self.folder())
        complete, text = dataset_status(ds, self.folder())
        self.status_label.setText(text)
        self.progress_bar.setValue(1000 if complete else 0)
        self.download_btn.setText("Check Again" if complete else ("Resume" if partial_bytes(ds, self.folder())
                                                                  else "Download"))
        self._set_running(False)

    def _set_running(self, running: bool) -> None:
        self.download_btn.setEnabled(not running)
        self.cancel_btn.setEnabled(running)
        self.dataset_box.setEnabled(not running)
        self.folder_btn.setEnabled(not running)

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    # ------------------------------------------------------------------ actions

    def start(self) -> None:
        if self.worker is not None:
            return
        self._show_error("")
        ds = self.dataset
        self.status_label.setText(f"Downloading {ds.title} into {self.folder()}...")
        self.progress_label.setText("connecting...\n ")
        worker = DownloadWorker(ds, self.folder())
        worker.progress.connect(self._on_progress)
        worker.done.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        self.worker = worker
        self._set_running(True)
        worker.start()
        self._poll.start()

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel.set()
            self.cancel_btn.setEnabled(False)
            self.status_label.setText("Cancelling...")

    def _finish(self) -> None:
        self._poll.stop()
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.wait()
        self._set_running(False)

    def _on_progress(self, p: DownloadProgress) -> None:
        self._shown = p
        self.progress_bar.setValue(int(1000 * p.fraction))
        self.progress_label.setText(progress_line(p))

    def _pick_latest(self) -> None:
        latest = self.worker.latest if self.worker is not None else None
        if latest is not None and latest is not self._shown:
            self._on_progress(latest)

    def _on_done(self, folder: str) -> None:
        self._finish()
        key = self.key
        self._refresh()
        self.status_label.setText(f"{self.dataset.title} is ready: every file was checked ({folder})")
        self.ready.emit(key, folder)

    def _on_failed(self, text: str, offline: bool) -> None:
        self._finish()
        self._refresh()
        if offline:
            text += "\n\n'Use a Folder With the Files...' takes them from anywhere on this computer."
        self._show_error(text)

    def _on_cancelled(self, text: str) -> None:
        self._finish()
        self._refresh()
        self.status_label.setText(text[0].upper() + text[1:])

    def _choose_folder(self) -> None:
        folder = self.ask_folder()
        if folder:
            self.use_folder(folder)

    def ask_folder(self) -> str:
        """The folder dialog (tests replace this)."""
        return dialogs().open_folder(self, f"A folder holding {self.dataset.files_text()}")

    def use_folder(self, folder: str) -> bool:
        """Take the dataset from ``folder`` if it holds every file, checked; else say what is missing."""
        ds = self.dataset
        missing = missing_files(ds, folder)
        if missing:
            self._show_error(f"{folder} does not hold {ds.files_text()}: "
                             f"{', '.join(f.name for f in missing)} missing or not the published file")
            return False
        self._folders[self.key] = folder
        self._show_error("")
        self._refresh()
        self.ready.emit(self.key, folder)
        return True

    def reject(self) -> None:
        if self.worker is not None:  # closing stops the download; what arrived is kept for a resume
            self.worker.cancel.set()
            self._finish()
        super().reject()


class DownloadRow(QWidget):
    """The Training panel's line for downloadable datasets: their state and a Download button.

    Takes the lab's NetworkState (``settings``, ``settingsChanged``, ``set_settings``) and nothing else.
    """

    def __init__(self, net: QObject, parent=None):
        super().__init__(parent)
        self.net = net
        self.dialog: DownloadDialog | None = None
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setToolTip("Whether the chosen dataset's files are on this computer")
        self.download_btn = QPushButton("Download...")
        self.download_btn.setToolTip("Download the dataset (with progress, cancel and resume) or point at a "
                                     "folder that already holds its files")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.status_label, 1)
        lay.addWidget(self.download_btn)
        self.download_btn.clicked.connect(self.open_dialog)
        net.settingsChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        s = self.net.settings
        ds = CATALOG.get(s.dataset)
        self.setVisible(ds is not None)
        if ds is None:
            return
        if s.path:
            complete, text = dataset_status(ds, s.path)
            self.status_label.setText(text if complete else f"{text} (the folder above; clear it to use the "
                                                            "downloaded copy)")
        else:
            complete, text = dataset_status(ds)
            hint = ": Download it, or Browse to a folder with its files"
            self.status_label.setText(text if complete else text + hint)

    def open_dialog(self) -> DownloadDialog:
        if self.dialog is None:
            self.dialog = DownloadDialog(self.net.settings.dataset, self.window())
            self.dialog.ready.connect(self._ready)
            self.dialog.finished.connect(lambda _=0: self.refresh())
        elif self.net.settings.dataset in CATALOG and not self.dialog.running():
            self.dialog.dataset_box.setCurrentIndex(self.dialog.dataset_box.findData(self.net.settings.dataset))
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def _ready(self, key: str, folder: str) -> None:
        default = str(dataset_folder(key))
        self.net.set_settings(dataset=key, path="" if folder == default else folder)
        self.refresh()
