"""TrainingState: the dataset, a training run, its history and the evaluation of the model.

The dataset is built in a worker thread (``convlab.core.data.catalog.load_dataset``); a run
trains the design's ``model`` in a TrainingWorker thread that sends step results and copies of
the weights a few times a second (the design's ``view_model`` loads them); when a run ends the
model is evaluated on the validation set in another thread. Settings are a
``convlab.core.settings.TrainSettings`` (one home for their defaults and limits).
"""

from __future__ import annotations

import copy
import time
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QObject, Signal

from convlab.core.data.catalog import DATASETS, DOWNLOAD_KINDS, LoadedDataset, captured_problem, load_dataset
from convlab.core.data.download import missing_files
from convlab.core.fastpath import engine
from convlab.core.model import design_model
from convlab.core.presets import BUILT_IN_DATA
from convlab.core.reasons import Block, Blocked, Notice
from convlab.core.settings import TrainSettings
from convlab.core.time_left import TimeLeft
from convlab.core.training import Trainer, confusion_matrix, evaluate, warm_up

from .captured_samples import CapturedSamples, shape_text
from .model_design import ModelDesign


def _load_for_training(settings, shape, captured, spec=None):
    """Runs in a thread: the dataset, and the engine's compiled loops with it. Loading them takes the
    GIL for ~50 ms at a time (llvmlite, Numba's cache); done here, while the learner waits for the
    data, it no longer stalls the window in the first batches of the run (measured: the longest
    stall 53-58 ms when the first batch loaded them, 18-26 ms after). With the model's spec, the
    loops that model uses are compiled here too, on a model of its own built here (``warm_up``:
    about 6.5 s for LeNet-5 the first time on a machine, which the first batch of the first run
    took before; 10-20 ms once Numba has them on disk)."""
    data = load_dataset(settings, shape, captured)
    engine.load()
    if spec is not None:
        try:
            _, model = design_model(spec, seed=0)
            if model is not None:
                warm_up(model, own=True)
        except Exception:  # noqa: BLE001 - only a head start: the run itself says what is wrong
            pass
    return data


def _evaluate_copy(model, val, number: int):
    """Runs in a thread: (number, evaluation, confusion matrix, "") of a model copy on the
    validation set, or (number, None, None, what went wrong): the number of the evaluation asked
    for comes back either way."""
    try:
        ev = evaluate(model, val)
        return number, ev, confusion_matrix(val.y, ev.predictions, len(val.classes)), ""
    except Exception as e:  # noqa: BLE001 - said in the status bar, never lost in the thread
        # (worded as a Task words a failure: the engine's own errors as they are, others with their type)
        said = str(e) if isinstance(e, (ValueError, OSError, MemoryError)) else f"{type(e).__name__}: {e}"
        return number, None, None, said


class TrainingState(QObject):
    settingsChanged = Signal()
    datasetChanged = Signal()  # a dataset was loaded
    datasetLoading = Signal(bool)  # a dataset is being built (True) or that ended (False)
    trainingStateChanged = Signal()  # idle / running / paused
    progress = Signal(object)  # StepResult, a few per second
    epochDone = Signal(object)  # EpochResult
    weightsChanged = Signal()  # new weights in the view model (reset, training snapshot, end of run)
    evaluationChanged = Signal()  # confusion matrix, per-class accuracy, misclassified samples
    message = Signal(object)  # Notice

    def __init__(self, design: ModelDesign, captured: CapturedSamples, parent=None):
        super().__init__(parent)
        self.design = design
        self.captured = captured
        self.settings = TrainSettings()
        self.dataset = self.train = self.val = None
        self.dataset_settings: TrainSettings | None = None  # what the loaded dataset was built from
        self.skipped: list[tuple[str, str]] = []  # files of a folder dataset that could not be read
        self.training = "idle"
        self.trainer = None
        self.worker = None
        self.history_steps: list[tuple[int, float, float]] = []  # (step, loss, batch accuracy), all runs
        self.history_epochs: list = []  # EpochResult, all runs
        self.history_epoch_steps: list[int] = []  # the overall step at which each epoch ended
        self._step_base = 0  # steps of earlier runs: a new run's steps continue the curves
        self._epoch_base = 0  # epochs of earlier runs
        self._troubled = False  # the run diverged or failed (its message stays)
        self.evaluation = None
        self.confusion = None
        self.optimizer_state: dict | None = None  # the optimiser's buffers after the last run
        self._dataset_task = None
        self._eval_task = None  # the newest evaluation's task (older ones may still be running)
        self._eval_tasks: dict[int, object] = {}  # number -> Task, kept until it reports
        self._eval_number = 0  # the evaluation whose result is wanted; a spec edit moves it on
        self._dataset_captured_revision = -1
        self._load_revision = -1  # the captured samples' revision the load under way was made from
        self._task_settings: TrainSettings | None = None  # what the load under way builds
        self._reload = False  # the chosen dataset changed during a load: load it next
        self._then: list = []  # what waits for the chosen dataset (a run to start, a step)
        self.clock = time.monotonic  # seconds, for the time-left estimate (tests give their own)
        self.time_left = TimeLeft()  # of the current run: steady speed after its warm-up
        self.seconds_left: float | None = None  # None while it is not known yet
        self.planned_end: int | None = None  # the overall step the run under way ends at

    # ------------------------------------------------------------------ what blocks a run

    @property
    def train_block(self) -> Blocked | None:
        """Why training cannot start now (None when it can). Each reason carries what would fix it:
        the class count (CLASS_COUNT, NOT_CLASSES when it is known) or the samples' shape (INPUT_SHAPE)."""
        d = self.design
        if not d.report.ok:
            return Blocked(Block.SPEC, d.report.error)
        if d.model is None:
            return Blocked(Block.EMPTY, "the model is empty")
        memory = d.report.training_problem(self.settings.batch_size)
        if memory:
            return Blocked(Block.MEMORY, memory)
        out = d.model.output_shape
        if len(out) != 1:
            return Blocked(Block.NOT_CLASSES, f"the model ends in {shape_text(out)} maps; end it with flatten and "
                                              "a linear layer with one unit per class", self.class_count())
        if self.settings.dataset == "captured":
            return self.captured.block(d.model.input_shape, out)
        if self.dataset is not None and self.dataset_is_current():
            k = len(self.dataset.classes)
            shape = tuple(int(v) for v in self.dataset.x.shape[1:])
            if shape != d.model.input_shape:
                return Blocked(Block.INPUT_SHAPE, f"the dataset's samples are {shape_text(shape)} but the model "
                                                  f"takes {shape_text(d.model.input_shape)}", shape=shape)
            if out[0] != k:
                return Blocked(Block.CLASS_COUNT, f"the last layer gives {out[0]} scores but the dataset has "
                                                  f"{k} classes", k)
        return None

    def class_count(self) -> int | None:
        """The number of classes of the chosen dataset, where it is known: loaded (and current), or a
        generated set (convlab.core.presets.BUILT_IN_DATA), or the captured classes."""
        s = self.settings
        if s.dataset == "captured":
            return len(self.captured.classes) or None
        if self.dataset is not None and self.dataset_is_current():
            return len(self.dataset.classes)
        built_in = BUILT_IN_DATA.get(s.dataset)
        return built_in.classes if built_in is not None else None

    @property
    def train_block_reason(self) -> str:
        block = self.train_block
        return "" if block is None else block.text

    # ------------------------------------------------------------------ settings and dataset

    def set_settings(self, **changes) -> None:
        new = replace(self.settings, **changes)
        if new != self.settings:
            self.settings = new
            self.settingsChanged.emit()

    def dataset_is_current(self) -> bool:
        s, d = self.settings, self.dataset_settings
        if s.dataset == "captured" and self._dataset_captured_revision != self.captured.revision:
            return False
        return d is not None and (s.dataset, s.path, s.samples, s.val_fraction, s.seed) == (
            d.dataset, d.path, d.samples, d.val_fraction, d.seed)

    @property
    def loading(self) -> bool:
        return self._dataset_task is not None

    def load_dataset(self, then=None) -> None:
        """Build the dataset in a worker thread; datasetChanged (or a message) follows, then ``then()``.

        While a load is on, asking again waits for it: when the settings changed since it began (the
        learner chose another dataset), the chosen one is loaded right after it, so the data that ends
        up loaded, and ``then`` with it, is always the data chosen last."""
        if self._dataset_task is not None:
            if then is not None:
                self._then.append(then)
            if self._data_key(self.settings) != self._data_key(self._task_settings):
                self._reload = True
            elif then is None:
                self.message.emit(Notice("a dataset is already being loaded"))
            return
        self._then = [then] if then is not None else []
        self._start_load()

    def load_chosen(self) -> bool:
        """Load the chosen dataset in the background unless it is loaded already or needs something the
        learner has not given yet (a folder, a download, captured samples); True if a load began (or was
        queued)."""
        s = self.settings
        if self.dataset_is_current() and not self.loading:
            return False
        if s.dataset == "folder" and not s.path:
            return False
        if s.dataset in DOWNLOAD_KINDS and not s.path and missing_files(s.dataset, check_sums=False):
            return False  # not downloaded yet: the Download button says so
        if s.dataset == "captured" and captured_problem(self.captured.y, self.captured.classes):
            return False
        self.load_dataset()
        return True

    @staticmethod
    def _data_key(s: TrainSettings | None) -> tuple | None:
        return None if s is None else (s.dataset, s.path, s.samples, s.val_fraction, s.seed)

    def _start_load(self) -> None:
        from .workers import Task

        model = self.design.model
        shape = model.input_shape if model is not None else (1, 28, 28)
        settings = self.settings
        captured = self.captured.snapshot() if settings.dataset == "captured" else None
        spec = copy.deepcopy(self.design.spec) if model is not None else None
        task = Task(_load_for_training, settings, shape, captured, spec)
        # bound methods of this GUI-thread object: Qt queues the calls into the GUI thread
        self._load_revision = self.captured.revision
        self._task_settings = settings
        self._reload = False
        task.done.connect(self._dataset_loaded)
        task.failed.connect(self._dataset_failed)
        self._dataset_task = task
        self.message.emit(Notice(f"loading {DATASETS.get(settings.dataset, settings.dataset)}..."))
        self.datasetLoading.emit(True)
        task.start()

    def _finish_task(self) -> bool:
        """The load has reported: True when the chosen dataset is to be loaded next (it changed meanwhile)."""
        task, self._dataset_task = self._dataset_task, None
        if task is not None:
            task.wait()
        if self._reload and self._data_key(self.settings) != self._data_key(self._task_settings):
            self._start_load()  # datasetLoading stays on
            return True
        self._reload = False
        self.datasetLoading.emit(False)
        return False

    def _dataset_failed(self, text: str) -> None:
        if self._finish_task():
            return  # a stale choice failed: the chosen one is loading
        self._then = []
        self.message.emit(Notice.error(f"cannot load the dataset: {text}"))

    def _dataset_loaded(self, loaded: LoadedDataset) -> None:
        revision = self._load_revision
        again = self._finish_task()
        self.dataset, self.train, self.val = loaded.dataset, loaded.train, loaded.val
        self.dataset_settings = loaded.settings
        self.skipped = list(loaded.skipped)
        self._dataset_captured_revision = revision if loaded.settings.dataset == "captured" else -1
        self.datasetChanged.emit()
        text = (f"{len(self.train):,} training and {len(self.val):,} validation samples, "
                f"{len(self.dataset.classes)} classes")
        if self.skipped:
            path, reason = self.skipped[0]
            more = f" and {len(self.skipped) - 1} more" if len(self.skipped) > 1 else ""
            self.message.emit(Notice.error(f"{text}; {len(self.skipped)} files could not be read "
                                           f"({path}: {reason}{more})"))
        else:
            self.message.emit(Notice(text))
        if again:
            return  # the data chosen since is loading: what waits for data waits for it
        waiting, self._then = self._then, []
        for then in waiting:
            then()

    # ------------------------------------------------------------------ training

    def start_training(self, paused: bool = False) -> bool:
        """Start a run (loading the dataset first if needed); False with a message if it cannot."""
        if self.training != "idle":
            return False
        block = self.train_block
        if block is not None:
            self.message.emit(Notice.error(f"cannot train: {block.text}"))
            return False
        if not self.dataset_is_current():
            self.load_dataset(then=lambda: self.start_training(paused))
            return True
        from .workers import TrainingWorker

        s = self.settings
        model = self.design.model
        try:
            self.trainer = Trainer(model, self.train, self.val, epochs=s.epochs, batch_size=s.batch_size,
                                   optimizer=s.optimizer, lr=s.lr, weight_decay=s.weight_decay, seed=s.seed)
        except ValueError as e:
            self.message.emit(Notice.error(f"cannot train: {e}"))
            return False
        if self.optimizer_state is not None:  # continue with the momentum / Adam buffers of the last run
            try:
                self.trainer.optimizer.load_state_dict(self.optimizer_state)
            except ValueError:
                pass  # another optimiser than last time: its buffers start afresh
        if paused:
            self.trainer.pause()
        self._step_base = self.history_steps[-1][0] if self.history_steps else 0
        self._troubled = False
        self._epoch_base = len(self.history_epochs)
        self.planned_end = self._step_base + -(-len(self.train) // s.batch_size) * s.epochs
        self.time_left.start(self.clock())
        self.seconds_left = None
        if paused:
            self.time_left.pause(self.clock())
        self.worker = TrainingWorker(self.trainer, snapshot=lambda m=model: m.state_dict())
        self.worker.steps.connect(self._on_steps)
        self.worker.progress.connect(self._on_progress)
        self.worker.snapshot.connect(self._sync_view)
        self.worker.epoch.connect(self._on_epoch)
        self.worker.diverged.connect(self._on_trouble)
        self.worker.failed.connect(self._on_trouble)
        self.worker.done.connect(self._on_done)
        self.training = "paused" if paused else "running"
        self.trainingStateChanged.emit()
        self.worker.start()
        return True

    def pause(self) -> None:
        if self.training == "running":
            self.trainer.pause()
            self.time_left.pause(self.clock())
            self.training = "paused"
            self.trainingStateChanged.emit()

    def resume(self) -> None:
        if self.training == "paused":
            self.trainer.resume()
            self.time_left.resume(self.clock())
            self.training = "running"
            self.trainingStateChanged.emit()

    def step(self) -> None:
        """One batch: from idle a paused run starts and takes one step."""
        if self.training == "idle":
            if not self.dataset_is_current():
                block = self.train_block
                if block is None:
                    self.load_dataset(then=self.step)
                else:
                    self.message.emit(Notice.error(f"cannot train: {block.text}"))
                return
            if self.start_training(paused=True) and self.trainer is not None:
                self.trainer.step_once()
        elif self.training == "paused":
            self.trainer.step_once()

    def stop(self) -> None:
        if self.trainer is not None and self.training != "idle":
            self.trainer.stop()

    def stop_now(self) -> None:
        """End the run before returning (the model it trains is about to be replaced): the worker
        finishes its step and the run ends as if Stop was pressed."""
        if self.training == "idle" or self.trainer is None or self.worker is None:
            return
        self.trainer.stop()
        self.trainer.resume()  # a paused run wakes up to see the stop
        if not self.worker.wait(30000):
            return  # (a step that takes 30 s: the run ends by itself; its snapshots will not fit)
        self._on_done(True)

    def _on_trouble(self, text: str) -> None:
        self._troubled = True  # the run's end says nothing over this
        self.message.emit(Notice.error(text))

    @property
    def run_steps(self) -> int:
        """Steps taken by the current (or last) run."""
        return (self.history_steps[-1][0] - self._step_base) if self.history_steps else 0

    def _end_notice(self, stopped: bool) -> Notice:
        """What the run did, said when it ends: "Stopped after 120 steps (in epoch 2 of 3)..."."""
        n = self.run_steps
        steps = f"{n:,} step{'s' if n != 1 else ''}"
        epochs = len(self.history_epochs) - self._epoch_base
        if stopped:
            where = f" (in epoch {epochs + 1} of {self.settings.epochs})" if epochs < self.settings.epochs else ""
            return Notice(f"Stopped after {steps}{where}; the weights learned so far are kept")
        return Notice(f"Trained {steps}: {epochs} epoch{'s' if epochs != 1 else ''}")

    def _on_progress(self, r) -> None:
        """A step report: the time-left estimate follows it, then the views hear of it."""
        self.seconds_left = self.time_left.update(self.clock(), r.samples_seen, r.samples_total)
        self.progress.emit(r)

    def _on_steps(self, rows) -> None:
        base = self._step_base
        self.history_steps.extend((base + step, loss, acc) for step, loss, acc in rows)

    def _on_epoch(self, e) -> None:
        self.history_epochs.append(e)
        self.history_epoch_steps.append(self.history_steps[-1][0] if self.history_steps else 0)
        self.epochDone.emit(e)

    def _on_done(self, stopped: bool) -> None:
        if self.worker is None and self.training == "idle":
            return  # the run was ended at once (stop_now): this is its worker's late word
        if self.worker is not None:
            self.worker.wait()
        if self.trainer is not None:
            self.optimizer_state = self.trainer.optimizer.state_dict()
        self.worker = None
        self.trainer = None
        self.training = "idle"
        self.planned_end = None
        self._sync_view()
        self.trainingStateChanged.emit()
        if not self._troubled:
            self.message.emit(self._end_notice(stopped))
        self.evaluate()

    def _sync_view(self, state: dict | None = None) -> None:
        if self.design.view_model is None:
            return
        self.design.sync_view(state)
        self.weightsChanged.emit()

    def reset_weights(self, seed: int | None = None) -> None:
        if self.design.model is None or self.training != "idle":
            return
        self.design.reset_weights(self.settings.seed if seed is None else seed)
        self.optimizer_state = None
        self.history_steps, self.history_epochs, self.history_epoch_steps = [], [], []
        self.evaluation = self.confusion = None
        self.weightsChanged.emit()
        self.evaluationChanged.emit()
        self.message.emit(Notice("weights reset to fresh random values"))

    def models_rebuilt(self) -> None:
        """A spec edit or a restore: an evaluation or optimiser state of the old model is gone."""
        self.evaluation = self.confusion = None
        self.optimizer_state = None
        self._eval_number += 1  # a running evaluation is the old model's: its result is not shown

    def restore(self, settings: TrainSettings, steps, epochs, epoch_steps, optimizer_state) -> None:
        self.settings = settings
        self.history_steps = [tuple(r) for r in steps]
        self.history_epochs = list(epochs)
        self.history_epoch_steps = list(epoch_steps)
        self.optimizer_state = optimizer_state

    # ------------------------------------------------------------------ evaluation

    def evaluate(self) -> None:
        """Confusion matrix, per-class accuracy and misclassified samples on the validation set,
        computed in a thread on a copy of the model; evaluationChanged follows."""
        from .workers import Task

        vm = self.design.view_model
        if vm is None or self.val is None or len(self.val) == 0 or self.train_block is not None:
            return
        self._eval_number += 1  # an older evaluation still running is not waited for: it is not shown
        number = self._eval_number
        task = Task(_evaluate_copy, vm.copy(), self.val, number)
        task.done.connect(self._evaluated)
        self._eval_tasks[number] = task
        self._eval_task = task
        task.start()

    def _evaluated(self, result) -> None:
        number, ev, confusion, error = result
        task = self._eval_tasks.pop(number, None)
        if task is not None:
            task.wait()  # (it has reported: its thread is ending)
        if task is self._eval_task:
            self._eval_task = None
        if number != self._eval_number:
            return  # a model or an evaluation newer than this one came since
        if error:
            self.message.emit(Notice.error(f"cannot evaluate the model: {error}"))
            return
        self.evaluation, self.confusion = ev, confusion
        self.evaluationChanged.emit()

    def per_class_accuracy(self) -> np.ndarray | None:
        if self.confusion is None:
            return None
        totals = self.confusion.sum(axis=1)
        return np.where(totals > 0, np.diag(self.confusion) / np.maximum(totals, 1), np.nan)

    def misclassified(self, limit: int = 64) -> np.ndarray:
        if self.evaluation is None or self.val is None:
            return np.zeros(0, int)
        return np.flatnonzero(self.evaluation.predictions != self.val.y)[:limit]

    def shutdown(self) -> None:
        for task in (self._dataset_task, *self._eval_tasks.values()):
            if task is not None:
                task.wait()
        if self.trainer is not None:
            self.trainer.stop()
            self.trainer.resume()
        if self.worker is not None:
            self.worker.wait()
