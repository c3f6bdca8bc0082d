"""LearnState: learn-a-filter's single source of truth, with a signal per change.

It holds the settings (a :class:`convlab.core.settings.LearnSettings`: the panel's widgets show them
and write through :meth:`LearnState.set`), the target picture, the recent camera frames, the run
with its results, and the FitWorker that learns. The Qt-free parts (preparing a run, the best bias,
the learned filter for the lab) live in :mod:`convlab.core.filter_learning`; "Use this filter"
goes through ``LabState.add_filters`` like the playground's Add Filter.
"""

from __future__ import annotations

import collections
import os
import time
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Signal

from convlab.core import functional as F
from convlab.core import kernels
from convlab.core.filter_fit import FitResult
from convlab.core.filter_learning import (
    MAX_LEARN_SIDE,
    PACES,
    RECENT_FRAMES,
    RECENT_GAP_S,
    TWO_LAYER_HIDDEN,
    TWO_LAYER_LR,
    LearnRun,
    check_targets,
    lab_filter,
    nonlinear_note,
    prepare_run,
    sample_photos,
    two_layer_kernel,
)
from convlab.core.filter_targets import OPENCV_TARGETS, learning_shape, resize_note, same_padding
from convlab.core.images import read_image
from convlab.core.settings import LearnSettings, SettingsError, check_value, from_mapping, to_mapping

from .workers import FitWorker

DEFAULT_PACE = "watch"


class LearnState(QObject):
    """Learn a filter: settings, target, training data, the run and its worker."""

    settingsChanged = Signal()  # ``settings`` or ``pace``
    targetChanged = Signal()  # the target picture (``target_image``, ``target_path``, ``target_note``)
    framesChanged = Signal()  # a camera frame was kept in ``recent_frames``
    runChanged = Signal()  # a run began (``run`` is new) or was cleared: everything shown of it starts afresh
    progressChanged = Signal()  # steps, speed, losses, the weights and output shown: a report or the end
    referenceChanged = Signal()  # the least-squares answer of the running job arrived
    resultChanged = Signal()  # ``result`` or ``two_layer_result`` (and the texts about them) changed
    revealedChanged = Signal()
    runningChanged = Signal()  # the worker started, ended, paused or went on
    statusChanged = Signal(str)  # what the run did, in words
    errorChanged = Signal(str)  # why the last action did not work ("" once something worked)
    finished = Signal(str)  # a run ended: "filter", "two_layer" or "error"
    message = Signal(str)  # for the status bar

    def __init__(self, lab_state, parent=None):
        super().__init__(parent)
        self.lab = lab_state
        self.settings = LearnSettings()
        self.pace = DEFAULT_PACE
        self._keys = self._default_keys()  # the last target key of each kind, so switching back keeps it
        self.target_image: np.ndarray | None = None
        self.target_path = ""
        self.target_note = ""
        self.recent_frames: collections.deque[np.ndarray] = collections.deque(maxlen=RECENT_FRAMES)
        self._recent_at = -1e9
        self.frame_gap_s = RECENT_GAP_S  # frames kept are at least this far apart
        self.status = ""
        self.error = ""
        self._worker: FitWorker | None = None
        self._worker_kind = ""
        self._t0 = 0.0
        self._clear_run()
        # live camera frames arrive on frameChanged where the lab has one; stills on imageChanged
        self.lab.imageChanged.connect(self._on_lab_image)
        if hasattr(self.lab, "frameChanged"):
            self.lab.frameChanged.connect(self._on_lab_image)
        app = QCoreApplication.instance()
        if app is not None:  # a run still going when the app quits must not outlive its thread object
            app.aboutToQuit.connect(self.shutdown)

    def _clear_run(self) -> None:
        self.run: LearnRun | None = None
        self.result: FitResult | None = None  # of the last filter run (or restored from a session)
        self.reference_result: FitResult | None = None  # least squares for the filter run's geometry
        self.two_layer_result = None
        self.two_layer_reference: FitResult | None = None  # least squares for 'same', stride 1
        self.two_layer_k = 0
        self.losses: list[float] = []  # the filter run's loss per step
        self.loss_steps: list[int] = []
        self.two_layer_losses: list[float] = []
        self.revealed = False
        self.weight: np.ndarray | None = None  # the learned weights shown now (K, C, F, F)
        self.step = 0  # the step of ``weight`` during a run
        self.output: np.ndarray | None = None  # the first input through the current filter (H', W')
        self.output_title = ""
        self.steps_done = 0
        self.steps_asked = 0
        self.rate_text = ""
        self.nonlinear_note = ""  # why one linear filter cannot make the target, after a run
        self.compare_text = ""  # one filter against two layers

    @staticmethod
    def _default_keys() -> dict[str, str]:
        return {"preset": LearnSettings().target_key, "opencv": next(iter(OPENCV_TARGETS)), "image": ""}

    # ------------------------------------------------------------------ settings

    def set(self, **changes) -> bool:
        """Change settings (names of LearnSettings fields, or ``pace``); True if anything changed.

        Choosing a target kind takes the key last used for that kind; a kind other than hidden
        presets learns one filter; a new kernel size or dilation sets 'same' padding unless a padding
        is given. SettingsError (a ValueError) for a value out of range; nothing changes then.
        """
        pace = changes.pop("pace", self.pace)
        if pace not in PACES:
            raise SettingsError(f"pace must be one of {', '.join(map(repr, PACES))}, got {pace!r}")
        checked = {k: check_value(LearnSettings, k, v, k.replace("_", " ")) for k, v in changes.items()}
        old = self.settings
        if "target_kind" in checked and "target_key" not in checked:
            checked["target_key"] = self._keys[checked["target_kind"]]
        new = replace(old, **checked)
        if new.target_kind != "preset":
            new = replace(new, filters=1)
        if (new.kernel, new.dilation) != (old.kernel, old.dilation) and "padding" not in checked:
            new = replace(new, padding=same_padding(new.kernel, new.dilation))
        check_targets(new)
        if new == old and pace == self.pace:
            return False
        self.settings, self.pace = new, pace
        self._keys[new.target_kind] = new.target_key
        self.settingsChanged.emit()
        return True

    def choose_target(self, kind: str, key: str) -> bool:
        """Choose the target key of ``kind``: the target now when ``kind`` is the current kind, else
        the key that kind starts with when it is chosen."""
        if kind == self.settings.target_kind:
            return self.set(target_key=key)
        check_targets(replace(LearnSettings(), target_kind=kind, target_key=key, filters=1))
        if self._keys[kind] == key:
            return False
        self._keys[kind] = key
        self.settingsChanged.emit()
        return True

    def set_extra_preset(self, index: int, key: str) -> bool:
        """The hidden preset that filter ``index + 2`` of a learned bank must make."""
        extra = list(self.settings.extra_presets)
        extra[index] = key
        return self.set(extra_presets=tuple(extra))

    def target_key_of(self, kind: str) -> str:
        """The target key of ``kind``: the current one for the current kind, else the one last used."""
        return self.settings.target_key if kind == self.settings.target_kind else self._keys[kind]

    @property
    def max_rate(self) -> float | None:
        return PACES[self.pace][1]

    def learning_shape(self) -> tuple[int, int] | None:
        """(H, W) of the copy of the lab's image that learning uses (None without an image)."""
        if self.lab.image is None:
            return None
        h, w = self.lab.image.shape[:2]
        return learning_shape(h, w, MAX_LEARN_SIDE)

    def data_text(self) -> str:
        """What the run would learn from, in words."""
        shape = self.learning_shape()
        if shape is None:
            return "No image: open one in the playground first."
        from convlab.core.samples import SAMPLES

        h, w = shape
        if self.settings.data == "frames":
            n = sum(img.shape[:2] == self.lab.image.shape[:2] for img in self.recent_frames)
            return (f"Learning on {w}x{h} {self.lab.color} copies of the {n} recent frame{'s' * (n != 1)} of this "
                    "size, values 0..1.")
        text = f"Learning on a {w}x{h} {self.lab.color} copy of {self.lab.image_name or 'the image'}"
        if self.settings.data == "samples":
            text += f" and {sum(s.is_photo for s in SAMPLES.values())} sample photos resized to {w}x{h}"
        return text + ", values 0..1."

    # ------------------------------------------------------------------ the target picture and the frames

    def load_target_image(self, path: str) -> bool:
        """Load a target picture and make it the target; on error the message is shown and the
        previous target stays."""
        try:
            img = read_image(path)
        except ValueError as e:  # ImageError included
            self._error(f"target image not loaded: {e}")
            return False
        self._take_target(img, str(path))
        self._error("")
        self.set(target_kind="image", target_key=self.target_path)
        return True

    def _take_target(self, img: np.ndarray | None, path: str) -> None:
        self.target_image, self.target_path = img, path
        note = ""
        if img is not None:
            h, w = img.shape[:2]
            note = f"{os.path.basename(path)}: {w}x{h}"
            shape = self.learning_shape()
            if shape is not None and resize_note(img.shape, shape):
                note += f"; {resize_note(img.shape, shape)}"
        self.target_note = note
        self.targetChanged.emit()

    def _on_lab_image(self) -> None:
        self.remember_frame()

    def remember_frame(self, now: float | None = None) -> bool:
        """Keep the lab's picture (a live camera frame) as training data, at least ``frame_gap_s``
        (RECENT_GAP_S) after the last one kept; True if it was kept."""
        now = time.monotonic() if now is None else now
        if self.lab.image is None or now - self._recent_at < self.frame_gap_s:
            return False
        self.recent_frames.append(self.lab.image)
        self._recent_at = now
        self.framesChanged.emit()
        return True

    def forget_frames(self) -> None:
        """Drop the kept frames; the next picture the lab shows is kept at once."""
        self.recent_frames.clear()
        self._recent_at = -1e9
        self.framesChanged.emit()

    # ------------------------------------------------------------------ running

    def prepare_run(self) -> LearnRun:
        """The run the settings and the lab make now; ValueError says what is wrong."""
        s = self.settings
        return prepare_run(s, self.lab.image, self.lab.color, target_image=self.target_image,
                           recent_frames=list(self.recent_frames),
                           photos=sample_photos() if s.data == "samples" else ())

    def is_running(self) -> bool:
        return self._worker is not None and self._worker.is_running()

    @property
    def paused(self) -> bool:
        return self.is_running() and self._worker is not None and self._worker.paused

    def start(self) -> bool:
        """Learn the filters from random weights; False (and a message) if the run cannot start."""
        if self.is_running():
            return False
        try:
            run = self.prepare_run()
        except ValueError as e:
            self._error(str(e))
            return False
        self._error("")
        self._drop_worker()
        self._clear_run()
        self.run = run
        self._set_status(f"Learning {run.kernel}x{run.kernel} weights for {run.label}"
                         + (f" ({run.note})" if run.note else "") + "...")
        self.runChanged.emit()
        self.resultChanged.emit()
        ref = dict(kernel=run.kernel, stride=run.stride, padding=run.padding, dilation=run.dilation)
        worker = FitWorker(run.inputs, run.targets, reference=ref, max_rate=self.max_rate,
                           filters=run.targets.shape[1], steps=run.steps, lr=run.lr, optimizer=run.optimizer, **ref)
        self._launch(worker, "filter", run.steps)
        return True

    def learn_two_layer(self) -> bool:
        """Learn conv - ReLU - conv on the same data and target, to compare with one linear filter."""
        run = self.run
        if run is None or self.is_running():
            return False
        k = two_layer_kernel(run.kernel)
        self._error("")
        self.two_layer_result = self.two_layer_reference = None
        self.two_layer_losses = []
        self.two_layer_k = k
        self.compare_text = f"Learning conv {k}x{k} - ReLU - conv {k}x{k}..."
        self.resultChanged.emit()
        worker = FitWorker(run.inputs, run.full, two_layer=True, reference=dict(kernel=k, padding=k // 2),
                           max_rate=self.max_rate, kernel=k, hidden=TWO_LAYER_HIDDEN, steps=run.steps,
                           lr=TWO_LAYER_LR)
        self._launch(worker, "two_layer", run.steps)
        return True

    def _launch(self, worker: FitWorker, kind: str, steps: int) -> None:
        self._drop_worker()
        self._worker, self._worker_kind = worker, kind
        worker.progress.connect(self._on_progress)
        worker.reference.connect(self._on_reference)
        worker.done.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        self.steps_done, self.steps_asked, self.rate_text = 0, steps, ""
        self._t0 = time.perf_counter()
        worker.start()
        self.progressChanged.emit()
        self.runningChanged.emit()

    def _drop_worker(self) -> None:
        w = self._worker
        if w is not None:
            w.stop()
            w.wait()
        self._worker = None

    def toggle_pause(self) -> None:
        """Hold the run between two steps, or let it go on."""
        w = self._worker
        if w is None or not w.is_running():
            return
        if w.paused:
            w.resume()
        else:
            w.pause()
        self.runningChanged.emit()

    def stop(self) -> None:
        """End the run after the current step, keeping the weights learned so far."""
        if self._worker is not None:
            self._worker.stop()

    def reset_run(self) -> None:
        """Stop any run and clear its results (the target and the settings stay)."""
        self._drop_worker()
        self._clear_run()
        self._set_status("")
        self._error("")
        self.runChanged.emit()
        self.resultChanged.emit()
        self.progressChanged.emit()
        self.runningChanged.emit()

    def shutdown(self) -> None:
        """Stop the run and wait for its thread: call before the window closes."""
        self._drop_worker()

    # ------------------------------------------------------------------ worker reports

    def _current(self) -> bool:
        return self.sender() is self._worker and self._worker is not None

    def _on_reference(self, ls) -> None:
        if not self._current():
            return
        if self._worker_kind == "two_layer":
            self.two_layer_reference = ls
        else:
            self.reference_result = ls
        self.referenceChanged.emit()

    def _on_progress(self, p) -> None:
        if not self._current():
            return
        self.steps_done = p.step
        self.rate_text = f"{p.steps_per_second:,.0f} steps/s" + (" - paused" if p.paused else "")
        if self._worker_kind == "two_layer":
            self.two_layer_losses += [loss for _, loss in p.losses]
        else:
            for step, loss in p.losses:
                self.loss_steps.append(step)
                self.losses.append(loss)
            self.weight, self.step = p.weight, p.step
            if p.output is not None:
                self.output = p.output[0]
                self.output_title = f"Output, step {p.step} (bias {p.bias[0]:+.3g})"
        self.progressChanged.emit()

    def _on_done(self, result) -> None:
        if not self._current():
            return
        assert self._worker is not None
        self._worker.wait()  # its thread is only quitting now: let it end, so the controls see it stopped
        elapsed = time.perf_counter() - self._t0
        n = len(result.losses)
        self.steps_done = n
        self.rate_text = f"{n / elapsed:,.0f} steps/s over the run" if elapsed > 0 else ""
        if self._worker_kind == "two_layer":
            self._two_layer_done(result)
        else:
            self._filter_done(result)
        self.progressChanged.emit()
        self.resultChanged.emit()
        self.runningChanged.emit()
        self.finished.emit(self._worker_kind)

    def _on_failed(self, text: str) -> None:
        if not self._current():
            return
        assert self._worker is not None
        self._worker.wait()
        self._error(text)
        self._set_status("The run failed.")
        self.runningChanged.emit()
        self.finished.emit("error")

    def _filter_done(self, result: FitResult) -> None:
        run = self.run
        assert run is not None
        self.result = result
        self.losses = list(result.losses)
        self.loss_steps = list(range(1, len(self.losses) + 1))
        self.weight, self.step = result.weight, len(self.losses)
        out, _ = F.conv2d_forward(run.inputs[:1], result.weight.astype(np.float64), result.bias.astype(np.float64),
                                  run.stride, run.padding, run.dilation)
        self.output, self.output_title = out[0, 0], "Output with the learned kernel"
        ls = self.reference_result
        how = "stopped" if result.stopped else "done"
        text = f"{how.capitalize()} after {len(self.losses)} steps: loss {result.final_loss:.4g}"
        if ls is not None:
            text += f", best linear filter {ls.final_loss:.4g}"
        self.nonlinear_note = nonlinear_note(run)
        self._set_status(text + ".")
        self.message.emit(f"Learn a filter: {text}")

    def _two_layer_done(self, result) -> None:
        run = self.run
        assert run is not None
        self.two_layer_result = result
        self.two_layer_losses = list(result.losses)
        self.output = result.model.forward(run.inputs[:1], training=False)[0, 0]
        self.output_title = "Output of conv - ReLU - conv"
        k = self.two_layer_k
        two = result.losses[-1] if result.losses else float("nan")
        ls = self.two_layer_reference
        one = ls.final_loss if ls is not None else (self.result.final_loss if self.result else float("nan"))
        verdict = "depth helps" if two < one else "no better yet: try more steps"
        self.compare_text = (
            f"one linear filter ({k}x{k}, the best possible): {one:.4g}, two layers (conv {k}x{k} - ReLU - "
            f"conv {k}x{k}, {TWO_LAYER_HIDDEN} hidden maps): {two:.4g} — {verdict}")
        self.message.emit(f"Learn a filter: one filter {one:.4g}, two layers {two:.4g}")

    # ------------------------------------------------------------------ results

    def shown_true(self) -> np.ndarray | None:
        """The filters that make the target, as far as the learner may see them now."""
        run = self.run
        if run is None or run.true is None or (run.kind == "preset" and not self.revealed):
            return None
        t = run.true
        return kernels.resize_kernel(t, run.kernel) if run.kernel >= t.shape[-1] and run.dilation == 1 else t

    def shown_best(self) -> np.ndarray | None:
        """The least-squares answer, once the run is over (and a hidden preset revealed)."""
        run = self.run
        if run is None or self.reference_result is None or self.result is None:
            return None
        if run.kind == "preset" and not self.revealed:
            return None
        return self.reference_result.weight

    def reveal(self) -> bool:
        """Show the hidden preset's kernel and the exact least-squares answer."""
        if self.run is None or self.result is None:
            return False
        self.revealed = True
        if self.run.kind == "preset":
            ps = [kernels.preset(k) for k in self.run.key.split(",")]
            self._set_status(("The hidden kernel was " if len(ps) == 1 else "The hidden kernels were ")
                             + "; ".join(f"{p.name}: {p.explanation}" for p in ps))
        self.revealedChanged.emit()
        return True

    def use_filter(self) -> bool:
        """Put the learned filters into the playground's bank as ONE undo step (see lab_filter)."""
        if self.result is None:
            return False
        lab = self.lab
        k = self.result.weight.shape[0]
        learned = [lab_filter(self.result.weight[i], float(self.result.bias[i]), lab.channels) for i in range(k)]
        said: list[str] = []

        def hear(text: str) -> None:
            said.append(text)

        lab.message.connect(hear)  # the lab says why it refused (and the status bar shows it once)
        try:
            done = lab.add_filters([w for w, _ in learned], [b for _, b in learned], ["learned"] * k,
                                   "Use learned filter" + ("s" if k > 1 else ""))
        finally:
            lab.message.disconnect(hear)
        if not done:
            self._error(said[-1] if said else "the learned filter was not added", tell=False)
            return False
        self._error("")
        f, count = learned[0][0].shape[-1], lab.bank.count
        text = (f"The learned {f}x{f} filter is filter {count} of the bank" if k == 1 else
                f"The {k} learned {f}x{f} filters are filters {count - k + 1} to {count} of the bank")
        run, st = self.run, lab.settings
        if run is not None and (run.stride, run.dilation) != (st.stride, st.dilation):
            text += (f" (learned with stride {run.stride} and dilation {run.dilation}; the playground uses its "
                     f"own stride {st.stride} and dilation {st.dilation})")
        self._set_status(text + ".")
        self.message.emit(text)
        return True

    # ------------------------------------------------------------------ sessions

    def write_session(self, session) -> None:
        """Put the settings and the learned filters into a Session."""
        session.learn = {**session.learn, **to_mapping(self.settings)}
        if self.result is not None:
            session.learn_kernel = np.asarray(self.result.weight, np.float32).copy()
            session.learn_bias = np.asarray(self.result.bias, np.float32).copy()

    def restore_session(self, session) -> bool:
        """Take the settings and learned filters of a Session (anything it lacks starts as on a fresh
        start: an empty Session gives the defaults). A session whose settings do not fit is refused
        with a message, and everything here stays as it was."""
        try:
            prepared = self.prepare_restore(session)
        except ValueError as e:  # SessionError included
            self._error(str(e))
            return False
        self.apply_restore(prepared)
        return True

    def prepare_restore(self, session) -> tuple[LearnSettings, FitResult | None]:
        """The settings and learned filters of a Session, checked; SessionError says what does not fit
        (nothing changes here: see ``apply_restore``)."""
        from convlab.core.session import SessionError

        try:
            settings = from_mapping(LearnSettings, session.learn, "learn")
            if settings.target_kind != "preset":
                settings = replace(settings, filters=1)
            check_targets(settings)
            result = self._session_result(session.learn_kernel, session.learn_bias)
        except ValueError as e:  # SettingsError included
            raise SessionError(f"learn-a-filter settings not restored: {e}") from None
        return settings, result

    def apply_restore(self, prepared: tuple[LearnSettings, FitResult | None]) -> None:
        """Take prepared settings and learned filters (everything else of a run is cleared)."""
        settings, result = prepared
        self._drop_worker()
        self._clear_run()
        self.result = result
        if result is not None:
            self.weight = result.weight
        self._keys = self._default_keys()
        self._keys[settings.target_kind] = settings.target_key
        self.settings, self.pace = settings, DEFAULT_PACE
        image, problem = None, ""
        if settings.target_kind == "image" and settings.target_key:
            try:
                image = read_image(settings.target_key)
            except (ValueError, OSError) as e:  # the settings stay; Start says the picture is missing
                problem = f"target image not loaded: {e}"
        self._take_target(image, settings.target_key if settings.target_kind == "image" else "")
        self._set_status("The learned filter of the session: press Start to learn again."
                         if result is not None else "")
        self._error(problem)
        self.settingsChanged.emit()
        self.runChanged.emit()
        self.resultChanged.emit()
        self.progressChanged.emit()
        self.runningChanged.emit()

    @staticmethod
    def _session_result(kernel, bias) -> FitResult | None:
        if kernel is None:
            return None
        w = np.asarray(kernel, np.float32)
        if w.ndim != 4 or w.shape[1] not in (1, 3) or w.shape[2] != w.shape[3] or not 1 <= w.shape[0]:
            raise ValueError(f"learn_kernel must be K x C x F x F with C 1 or 3, got shape {w.shape}")
        b = np.zeros(w.shape[0], np.float32) if bias is None else np.asarray(bias, np.float32)
        if b.shape != (w.shape[0],):
            raise ValueError(f"learn_bias must hold {w.shape[0]} values, got shape {b.shape}")
        return FitResult(w.copy(), b.copy())

    def reset(self) -> None:
        """Everything as on a fresh start: default settings, no target picture, no run."""
        from convlab.core.session import Session

        self.restore_session(Session())

    # ------------------------------------------------------------------ words

    def _set_status(self, text: str) -> None:
        self.status = text
        self.statusChanged.emit(text)

    def _error(self, text: str, tell: bool = True) -> None:
        self.error = text
        self.errorChanged.emit(text)
        if text and tell:
            self.message.emit(text)
