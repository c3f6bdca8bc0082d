"""LabState: the single source of truth of the playground, with a signal per change.

Panels read the state and call its methods; they never keep their own copy of a number.
Every edit of the filter bank, the convolution settings, the post-processing or the colour
mode goes through ``edit()``, which pushes an undoable command holding the state before and
after. Heavy computation runs in a BankWorker thread; the newest request wins.

Two ways in for a picture: ``set_image`` for a still image (announced in the status bar,
``imageChanged``: the source panel, the filter math, the learn panel and the unsaved mark follow)
and ``show_frame`` for a live frame (``frameChanged`` only: the views that draw the input follow).
Every compute request has a job id; ``resultShown(job, ms)`` follows ``resultChanged`` once every
listener has drawn that job's result (``ms``: how long they took), so a caller knows when its
frame is on screen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from convlab.core import kernels
from convlab.core.bank_changes import convert_bank, resize_bank
from convlab.core.images import downscale_to_fit
from convlab.core.playground import (
    BankResult,
    ConvSettings,
    FilterBank,
    PostSettings,
    check_geometry,
    image_to_input,
    mix_weights,
)
from convlab.core.session import Session, SessionError
from convlab.core.settings import MAX_BANK_FILTERS, PoolSettings, from_mapping, to_mapping

MAX_IMAGE_SIDE = 1024
MAX_FILTERS = MAX_BANK_FILTERS
DEFAULT_BANK = ("sobel_x", "sobel_y", "laplacian", "box_blur")


@dataclass(frozen=True)
class Snapshot:
    """Everything an undo step restores."""

    color: str
    bank: FilterBank
    settings: ConvSettings
    post: PostSettings
    display_mode: str
    selected: int


class _EditCommand(QUndoCommand):
    def __init__(self, state: LabState, text: str, before: Snapshot, after: Snapshot, merge_id: int = -1):
        super().__init__(text)
        self.state, self.before, self.after, self._merge_id = state, before, after, merge_id

    def redo(self):
        self.state._restore(self.after)

    def undo(self):
        self.state._restore(self.before)

    def id(self):
        return self._merge_id

    def mergeWith(self, other):  # consecutive spin-box steps become one undo step
        if other.id() != self.id() or self._merge_id == -1:
            return False
        self.after = other.after
        self.setText(other.text())  # the text names the value the merged step ends at
        return True


def preset_bank(keys: list[str], channels: int) -> FilterBank:
    """A bank of presets, all padded to the largest kernel size among them."""
    ws = [kernels.preset(k).filter(channels) for k in keys]
    size = max(w.shape[-1] for w in ws)
    ws = [kernels.resize_kernel(w, size) for w in ws]
    return FilterBank(np.stack(ws), np.array([kernels.preset(k).bias for k in keys], np.float32), list(keys))


class LabState(QObject):
    imageChanged = Signal()  # the source image or its colour mode: the input array changed
    bankChanged = Signal()  # weights, biases, names, or the number of filters
    settingsChanged = Signal()  # stride, padding, padding mode, dilation
    postChanged = Signal()  # pooling / 1x1 mix after the bank
    displayChanged = Signal()  # how signed outputs are shown
    selectionChanged = Signal()  # which filter is selected (shown enlarged and edited)
    frameChanged = Signal()  # a live frame became the input (show_frame)
    resultChanged = Signal()  # a new BankResult (or an error) is ready
    resultShown = Signal(int, float)  # job id, ms: every resultChanged listener has drawn that result
    message = Signal(str)  # something for the status bar

    def __init__(self, parent=None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.image: np.ndarray | None = None  # uint8 H x W (x 3|4), as loaded
        self.image_name = ""
        self.color = "gray"
        self.input: np.ndarray | None = None  # (C, H, W) float32 0-255
        self.bank = preset_bank(list(DEFAULT_BANK), 1)
        self.settings = ConvSettings()
        self.post = PostSettings()
        self.display_mode = "raw"
        self.selected = 0
        self.result: BankResult | None = None
        self.error = ""  # why there is no result, in words and numbers
        self.compute_ms = 0.0
        self.result_job = 0  # the job whose result (or error) is the current one
        self._job = 0  # id of the newest compute request
        self.worker = None  # set by attach_worker

    # ------------------------------------------------------------------ reading

    def snapshot(self) -> Snapshot:
        return Snapshot(self.color, self.bank, self.settings, self.post, self.display_mode, self.selected)

    @property
    def channels(self) -> int:
        return 1 if self.color == "gray" else 3

    def geometry_error(self, bank=None, settings=None) -> str:
        """Why the bank cannot run on the image with these settings ("" if it can)."""
        if self.input is None:
            return "no image is loaded"
        try:
            check_geometry(self.input.shape[1:], (bank or self.bank).size, settings or self.settings)
        except ValueError as e:
            return str(e)
        return ""

    # ------------------------------------------------------------------ the image

    def set_image(self, image: np.ndarray, name: str) -> bool:
        """Show a new source image (downscaled when larger than MAX_IMAGE_SIDE). Not an undo step."""
        small, scaled = downscale_to_fit(image, MAX_IMAGE_SIDE)
        self.image = small
        self.image_name = name
        self._rebuild_input()
        h, w = image.shape[:2]
        if scaled:
            self.message.emit(
                f"{name}: {w}x{h} is larger than {MAX_IMAGE_SIDE} px, shown downscaled to "
                f"{small.shape[1]}x{small.shape[0]}"
            )
        else:
            self.message.emit(f"{name}: {w}x{h}")
        self.imageChanged.emit()
        self.request_compute()
        return scaled

    def show_frame(self, image: np.ndarray, name: str | None = None) -> int:
        """A live frame becomes the input: no status-bar message, not an edit, not a new still image.
        The bank job is submitted before the input views draw (``frameChanged``), so it computes
        while they do. Returns the job id (see ``resultShown``)."""
        small, _ = downscale_to_fit(image, MAX_IMAGE_SIDE)
        self.image = small
        if name is not None:
            self.image_name = name
        self._rebuild_input()
        self.request_compute()
        job = self._job
        self.frameChanged.emit()
        return job

    @property
    def newest_job(self) -> int:
        """The id of the newest compute request (its result is the one that will be shown)."""
        return self._job

    def _rebuild_input(self):
        self.input = None if self.image is None else image_to_input(self.image, self.color)

    # ------------------------------------------------------------------ undoable edits

    def edit(self, text: str, merge_id: int = -1, **changes) -> bool:
        """Apply changes (color, bank, settings, post, display_mode, selected) as one undo step."""
        before = self.snapshot()
        note = ""  # what a colour change did to the bank, when worth saying (a mixer became Identity)
        if "color" in changes and changes["color"] != before.color and "bank" not in changes:
            change = convert_bank(before.bank, 1 if changes["color"] == "gray" else 3)
            changes["bank"], note = change.bank, change.note
        after = replace(before, **changes)
        mix = after.post.mix
        if mix is not None and (mix.shape[1] != after.bank.count or mix.shape[0] > after.bank.count):
            m = min(mix.shape[0], after.bank.count)  # the 1x1 mix follows the bank's depth
            after = replace(after, post=replace(after.post, mix=mix_weights("groups", m, after.bank.count),
                                                mix_bias=np.zeros(m, np.float32)))
        if after == before:
            return False
        if after.selected >= after.bank.count:
            after = replace(after, selected=after.bank.count - 1)
        self.undo_stack.push(_EditCommand(self, text, before, after, merge_id))
        if note:
            self.message.emit(note)
        return True

    def _restore(self, snap: Snapshot) -> None:
        old = self.snapshot()
        self.color, self.bank, self.settings = snap.color, snap.bank, snap.settings
        self.post, self.display_mode, self.selected = snap.post, snap.display_mode, snap.selected
        if snap.color != old.color:
            self._rebuild_input()
            self.imageChanged.emit()
        if snap.bank is not old.bank:
            self.bankChanged.emit()
        if snap.settings != old.settings:
            self.settingsChanged.emit()
        if snap.post is not old.post:
            self.postChanged.emit()
        if snap.display_mode != old.display_mode:
            self.displayChanged.emit()
        if snap.selected != old.selected or snap.bank is not old.bank:
            self.selectionChanged.emit()
        if (snap.color, snap.bank, snap.settings, snap.post) != (old.color, old.bank, old.settings, old.post):
            self.request_compute()
        elif snap.display_mode != old.display_mode:
            self.resultChanged.emit()

    # convenience edits used by panels and menus

    def select(self, index: int) -> None:
        """Selecting a filter is not an edit: it changes what is shown, not the lab."""
        index = int(np.clip(index, 0, self.bank.count - 1))
        if index != self.selected:
            self.selected = index
            self.selectionChanged.emit()
            self.resultChanged.emit()

    def set_cell(self, channel: int, row: int, col: int, value: float) -> bool:
        bank = self.bank.copy()
        bank.weights[self.selected, channel, row, col] = value
        bank.names[self.selected] = "custom"
        return self.edit(f"Edit weight ({channel}, {row}, {col}) of filter {self.selected + 1}", bank=bank)

    def set_bias(self, value: float) -> bool:
        bank = self.bank.copy()
        bank.biases[self.selected] = value
        bank.names[self.selected] = "custom"
        return self.edit(f"Edit bias of filter {self.selected + 1}", bank=bank)

    def set_filter_weights(self, weights: np.ndarray, text: str, name: str = "custom") -> bool:
        """Replace the selected filter (its size may change: the whole bank is resized to match)."""
        bank = resize_bank(self.bank, weights.shape[-1]).bank  # the others keep their names where they fit
        bank.weights[self.selected] = np.asarray(weights, np.float32)
        bank.names[self.selected] = name
        return self.edit(text, bank=bank)

    def apply_preset(self, key: str) -> bool:
        p = kernels.preset(key)
        weights = p.filter(self.channels)  # raises ValueError for a mixer on a gray image
        size = max(weights.shape[-1], self.bank.size)
        bank = self.bank.copy()
        ws = [kernels.resize_kernel(w, size) for w in bank.weights]
        ws[self.selected] = kernels.resize_kernel(weights, size)
        bank = FilterBank(np.stack(ws), bank.biases, bank.names)
        bank.biases[self.selected] = p.bias
        bank.names[self.selected] = key
        return self.edit(f"Preset {p.name} on filter {self.selected + 1}", bank=bank)

    def resize_filters(self, size: int) -> bool:
        """Every filter at kernel size ``size``: a filter keeps its name where its numbers survive
        (padding keeps a Sobel x a Sobel x); one that loses weights is "custom (was ...)", said in
        the status bar (core.bank_changes)."""
        change = resize_bank(self.bank, size)
        return self._edit_with_note(f"Kernel size {size}x{size}", change.note, bank=change.bank)

    def _edit_with_note(self, text: str, note: str, **changes) -> bool:
        done = self.edit(text, **changes)
        if done and note:
            self.message.emit(note)
        return done

    def add_filters(self, weights, biases, names, text: str) -> bool:
        """Append K filters (each ``(channels, F, F)``, sizes may differ) as ONE undo step ``text``.

        The bank is resized to its largest kernel, the first new filter is selected. False, with a
        message, when the bank would hold more than MAX_FILTERS filters.
        """
        ws = [np.asarray(w, np.float32) for w in weights]
        k, count = len(ws), self.bank.count
        if not k or len(biases) != k or len(names) != k:
            raise ValueError(f"add_filters needs as many biases and names as filters, got {k}, {len(biases)} "
                             f"and {len(names)}")
        for w in ws:
            if w.ndim != 3 or w.shape[0] != self.channels or w.shape[1] != w.shape[2]:
                raise ValueError(f"a filter for this {self.color} lab is {self.channels} x F x F, got shape {w.shape}")
        if count + k > MAX_FILTERS:
            extra = "" if count >= MAX_FILTERS or k == 1 else f" and has {count}"
            remove = "one" if count + k - MAX_FILTERS == 1 else str(count + k - MAX_FILTERS)
            self.message.emit(f"a bank holds at most {MAX_FILTERS} filters{extra}: remove {remove} first")
            return False
        size = max(self.bank.size, *(w.shape[-1] for w in ws))
        new = np.stack([kernels.resize_kernel(w, size) for w in ws])
        bank = FilterBank(np.concatenate([kernels.resize_kernel(self.bank.weights, size), new]),
                          np.append(self.bank.biases, np.asarray(biases, np.float32)), self.bank.names + list(names))
        return self.edit(text, bank=bank, selected=count)

    def add_filter(self, key: str = "identity") -> bool:
        p = kernels.preset(key)
        return self.add_filters([p.filter(self.channels)], [p.bias], [key], "Add filter")

    def duplicate_filter(self) -> bool:
        if self.bank.count >= MAX_FILTERS:
            self.message.emit(f"a bank holds at most {MAX_FILTERS} filters")
            return False
        i = self.selected
        b = self.bank
        bank = FilterBank(
            np.insert(b.weights, i + 1, b.weights[i], axis=0), np.insert(b.biases, i + 1, b.biases[i]),
            b.names[: i + 1] + [b.names[i]] + b.names[i + 1 :],
        )
        return self.edit(f"Duplicate filter {i + 1}", bank=bank, selected=i + 1)

    def remove_filter(self) -> bool:
        if self.bank.count <= 1:
            self.message.emit("the bank needs at least one filter")
            return False
        i = self.selected
        b = self.bank
        bank = FilterBank(np.delete(b.weights, i, axis=0), np.delete(b.biases, i), b.names[:i] + b.names[i + 1 :])
        return self.edit(f"Remove filter {i + 1}", bank=bank, selected=min(i, bank.count - 1))

    def set_settings(self, text: str, merge_id: int = -1, **changes) -> bool:
        new = replace(self.settings, **changes)
        return self.edit(text, merge_id, settings=new)

    def set_post(self, text: str, merge_id: int = -1, **changes) -> bool:
        return self.edit(text, merge_id, post=replace(self.post, **changes))

    def set_color(self, color: str) -> bool:
        return self.edit(f"Colour: {color}", color=color)

    def set_display_mode(self, mode: str) -> bool:
        return self.edit(f"Display: {mode}", display_mode=mode)

    # ------------------------------------------------------------------ computing

    def attach_worker(self, worker) -> None:
        self.worker = worker
        worker.finished.connect(self._on_result)

    def request_compute(self) -> None:
        """Ask for the outputs of the current lab; the newest request wins."""
        self._job += 1
        if self.input is None:
            return
        err = self.geometry_error()
        if err:
            self._on_result(self._job, None, err, 0.0)
            return
        if self.worker is None:  # no thread (scripts, some tests): compute right here
            from convlab.core.playground import apply_bank

            try:
                self._on_result(self._job, apply_bank(self.input, self.bank, self.settings, self.post), "", 0.0)
            except ValueError as e:
                self._on_result(self._job, None, str(e), 0.0)
            return
        self.worker.submit(self._job, self.input, self.bank, self.settings, self.post)

    def _on_result(self, job: int, result, error: str, ms: float) -> None:
        if job != self._job:
            return  # a newer request is on its way
        self.result, self.error, self.compute_ms, self.result_job = result, error, ms, job
        t0 = time.perf_counter()
        self.resultChanged.emit()
        self.resultShown.emit(job, (time.perf_counter() - t0) * 1e3)

    # ------------------------------------------------------------------ sessions

    def write_session(self, s: Session) -> None:
        """The playground's part of a session: the image, the colour mode, the bank and its settings."""
        s.image, s.image_name, s.color = self.image, self.image_name, self.color
        b = self.bank
        s.kernels, s.biases, s.kernel_names = b.weights.copy(), b.biases.copy(), list(b.names)
        s.conv = to_mapping(self.settings)
        s.display_mode = self.display_mode
        p = self.post
        s.post = to_mapping(PoolSettings(p.pool, p.pool_kernel, p.pool_stride))
        if p.mix is not None:
            s.mix = np.asarray(p.mix, np.float32).copy()
            s.mix_bias = (np.zeros(p.mix.shape[0], np.float32) if p.mix_bias is None
                          else np.asarray(p.mix_bias, np.float32).copy())
        s.selected_filter = self.selected

    def prepare_restore(self, s: Session) -> tuple[np.ndarray | None, str, Snapshot]:
        """Everything ``apply_restore`` needs from a (validated) session, checked against the limits the
        widgets have; SessionError says what does not fit. Nothing changes here."""
        channels = 1 if s.color == "gray" else 3
        try:
            conv = from_mapping(ConvSettings, s.conv, "conv")
            pool = from_mapping(PoolSettings, s.post, "post")
        except ValueError as e:
            raise SessionError(str(e)) from None
        if s.kernels is None:  # a lab without a bank starts from the default one
            bank = preset_bank(list(DEFAULT_BANK), channels)
        elif s.kernels.shape[0] > MAX_FILTERS:
            raise SessionError(f"the bank has {s.kernels.shape[0]} filters; the playground holds at most {MAX_FILTERS}")
        else:
            bank = FilterBank(s.kernels, s.biases, list(s.kernel_names))
            if bank.channels != channels:
                bank = convert_bank(bank, channels).bank
        mix, mix_bias = s.mix, s.mix_bias
        if mix is not None and (mix.shape[1] != bank.count or mix.shape[0] > bank.count):
            mix, mix_bias = None, None  # a 1x1 mix for another bank: dropped
        post = PostSettings(pool.pool, pool.pool_kernel, pool.pool_stride, mix, mix_bias)
        selected = min(max(int(s.selected_filter), 0), bank.count - 1)
        image = s.image
        return image, s.image_name or "session image", Snapshot(s.color, bank, conv, post, s.display_mode, selected)

    def apply_restore(self, prepared: tuple[np.ndarray | None, str, Snapshot]) -> None:
        """Replace the playground with a prepared session part (not an undo step)."""
        image, name, snapshot = prepared
        if image is not None:
            self.set_image(image, name)
        self._restore(snapshot)

