"""The ``.convlab`` session file: everything a learner built, saved atomically, read back safely.

    save("lab.convlab", session)      # validates first; temp file + fsync + os.replace; keeps .bak
    session = load("lab.convlab")     # validates everything; any problem is a SessionError

A session is a zip holding ``manifest.json`` (format, schema, app version, times and every
setting), ``arrays/*.npy`` (read with ``allow_pickle=False``) and ``images/*.png``. The format,
its limits and its versioning rules are described in docs/session-format.md.

Loading treats the file as hostile: entry names, sizes (checked in the zip directory *and*
enforced while reading), the JSON, every .npy header, every dtype, shape and value are checked
before a ``Session`` is returned, and no exception other than :class:`SessionError` leaves
:func:`load`. :func:`validate` is the same check for a session about to be saved.

The file side - regular files only, the zip directory's entry count read before ``zipfile``
parses it, atomic writes that keep the file's mode, write through symbolic links, refuse to
replace a read-only file and clean up after interrupted saves - is :mod:`convlab.core.session_files`.
"""

from __future__ import annotations

import copy
import io
import json
import math
import numbers
import os
import re
import struct
import zipfile
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any, NoReturn

import cv2
import numpy as np

from convlab import __version__ as APP_VERSION

from . import settings
from .kernels import MAX_KERNEL_SIZE as MAX_KERNEL
from .layers import SpecError
from .model import MAX_LAYERS, build_layers
from .optim import OPTIMIZERS
from .playground import DISPLAY_MODES
from .regular_files import FileRefused
from .session_files import (
    ReadOnlyFile,
    check_zip_directory,
    open_session_file,
    remove_leftover_temp_files,
    write_atomically,
)
from .session_files import backup_path as backup_path
from .settings import ConvSettings, LearnSettings, PoolSettings, SourceSettings, TrainSettings, defaults

__all__ = ["Session", "SessionError", "ReadOnlySessionError", "save", "load", "validate", "backup_path",
           "thin_history", "remove_leftover_temp_files", "FORMAT", "SCHEMA"]

FORMAT = "convlab-session"
SCHEMA = "1.0"  # MAJOR.MINOR of the files this version writes
_MAJOR = 1

# Limits (module constants, read at call time, so a test can lower them).
MAX_TOTAL_BYTES = 512 * 2**20  # all entries, uncompressed
MAX_ENTRY_BYTES = 256 * 2**20  # one entry, uncompressed
MAX_MANIFEST_BYTES = 16 * 2**20
MAX_ENTRIES = 4096
MAX_DIRECTORY_BYTES = MAX_ENTRIES * 1024  # the zip's central directory (an entry takes about 100 bytes)
MAX_FILE_BYTES = MAX_TOTAL_BYTES + 64 * 2**20  # a stored zip is its entries plus headers
#: rows of history_steps (one per training step): 24 bytes each in the file, several times that in
#: a window's plots; 200,000 steps are 107 epochs of MNIST at batch size 32 (thin_history keeps a
#: longer history's shape in that many rows)
MAX_HISTORY_ROWS = 200_000
MAX_HISTORY_EPOCHS = 100_000
MAX_IMAGE_SIDE = 8192
MAX_IMAGE_PIXELS = 50_000_000
MAX_MODEL_PARAMS = 50_000_000
MAX_SPEC_LAYERS = MAX_LAYERS  # the model's own limit
MAX_JSON_DEPTH = 32
MAX_TEXT = 65536  # characters in one string setting

OPTIMIZER_TYPES = tuple(cls.__name__ for cls in OPTIMIZERS.values())  # "SGD", "Adam"

# Defaults and limits of every setting live in convlab.core.settings (the widgets use the same ones).
DEFAULT_SOURCE = defaults(SourceSettings)
DEFAULT_CONV = defaults(ConvSettings)
DEFAULT_POST = defaults(PoolSettings)
DEFAULT_LEARN = defaults(LearnSettings)
DATASET_KEYS = {"kind": "dataset", "path": "path", "samples": "samples"}  # session key -> TrainSettings field
DEFAULT_TRAIN = {k: v for k, v in defaults(TrainSettings).items() if k not in DATASET_KEYS.values()}
DEFAULT_DATASET = {key: defaults(TrainSettings)[name] for key, name in DATASET_KEYS.items()}
DEFAULT_SELECTION = {"layer": None, "unit": None, "rf_mode": "analytic"}
DEFAULT_WINDOW = {"geometry": "", "state": "", "workspace": ""}  # workspace "": the one in use stays


class SessionError(ValueError):
    """A session that cannot be saved or loaded; the message names the file, the field and the numbers."""


class ReadOnlySessionError(SessionError):
    """save() would replace a read-only file: ask the user, then save again with ``overwrite_readonly=True``."""


def _default(d):
    return field(default_factory=lambda: copy.deepcopy(d))


@dataclass(eq=False)
class Session:
    """Everything a lab holds. The defaults are a valid empty lab; ``save``/``load`` round-trip every field.

    Equality is by value (arrays: same dtype, shape and values, NaN equal to NaN).
    """

    # written by save, read by load
    created: str = ""  # ISO 8601 UTC; kept across saves once set
    saved: str = ""
    app_version: str = ""
    # the source
    image: np.ndarray | None = None  # (H, W) or (H, W, C) uint8, C in 1/3/4, RGB(A) order
    image_name: str = ""
    source: dict = _default(DEFAULT_SOURCE)
    color: str = "gray"  # "gray" | "rgb": the bank's input channels (1 | 3)
    # the filter bank
    kernels: np.ndarray | None = None  # (K, C, F, F) float32
    biases: np.ndarray | None = None  # (K,) float32
    kernel_names: list = field(default_factory=list)  # K names
    conv: dict = _default(DEFAULT_CONV)
    display_mode: str = "raw"
    post: dict = _default(DEFAULT_POST)
    mix: np.ndarray | None = None  # (M, K) float32: the 1x1 convolution after the bank
    mix_bias: np.ndarray | None = None  # (M,) float32
    selected_filter: int = 0
    # learn a filter
    learn: dict = _default(DEFAULT_LEARN)
    learn_kernel: np.ndarray | None = None  # (K, C, F, F) float32
    learn_bias: np.ndarray | None = None  # (K,) float32
    # the model
    model_spec: dict | None = None  # kept even when it does not build (then without weights)
    model_preset: str | None = None
    model_state: dict = field(default_factory=dict)  # "0.weight" -> float32 array
    optimizer_state: dict | None = None  # {"type", "settings", "steps", "buffers": {param: {name: array}}}
    # training
    train_settings: dict = _default(DEFAULT_TRAIN)
    history_steps: np.ndarray | None = None  # (S, 3) float64: step, loss, accuracy (NaN allowed)
    history_epochs: list = field(default_factory=list)  # dicts: epoch, train_loss, train_accuracy, val_*
    confusion: np.ndarray | None = None  # (K, K) int64
    # the dataset and the samples captured from the camera
    dataset: dict = _default(DEFAULT_DATASET)
    captured_x: np.ndarray | None = None  # (N, C, H, W) float32, C in 1/3
    captured_y: np.ndarray | None = None  # (N,) int64, indexes captured_classes
    captured_classes: list = field(default_factory=list)
    # selections and the window
    selection: dict = _default(DEFAULT_SELECTION)
    window: dict = _default(DEFAULT_WINDOW)  # opaque strings the GUI fills (base64 of Qt's bytes)
    # manifest fields this version does not know (from a newer minor schema): kept and written back
    extra: dict = field(default_factory=dict)

    def __eq__(self, other):
        if not isinstance(other, Session):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in fields(self))

    __hash__ = None  # type: ignore[assignment]  # mutable: compared by value, never hashed


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# =========================================================================== checking values


def _fail(message: str) -> NoReturn:
    raise SessionError(message)


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _is_num(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and math.isfinite(v)


def _range_text(lo, hi, lo_open=False, hi_open=False) -> str:
    if lo is not None and hi is not None:
        return f" in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    if lo is not None:
        return f" {'>' if lo_open else '>='} {lo}"
    if hi is not None:
        return f" {'<' if hi_open else '<='} {hi}"
    return ""


def _int(lo=None, hi=None, none=False):
    def check(v, where):
        if v is None and none:
            return
        if not _is_int(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
            _fail(f"{where} must be a whole number{_range_text(lo, hi)}{' or null' if none else ''}, got {_short(v)}")
    return check


def _num(lo=None, hi=None, lo_open=False, hi_open=False, none=False):
    def check(v, where):
        if v is None and none:
            return
        ok = _is_num(v)
        if ok and lo is not None:
            ok = v > lo if lo_open else v >= lo
        if ok and hi is not None:
            ok = v < hi if hi_open else v <= hi
        if not ok:
            text = _range_text(lo, hi, lo_open, hi_open)
            _fail(f"{where} must be a finite number{text}{' or null' if none else ''}, got {_short(v)}")
    return check


def _str(choices=None, none=False):
    def check(v, where):
        if v is None and none:
            return
        if not isinstance(v, str):
            _fail(f"{where} must be a string{' or null' if none else ''}, got {_short(v)}")
        if len(v) > MAX_TEXT:
            _fail(f"{where} is {len(v)} characters long, more than the limit of {MAX_TEXT}")
        if choices is not None and v not in choices:
            _fail(f"{where} must be one of {', '.join(map(repr, choices))}, got {v!r}")
    return check


def _bool(v, where):
    if not isinstance(v, (bool, np.bool_)):
        _fail(f"{where} must be true or false, got {_short(v)}")


def _ints(n, lo, none=False):
    def check(v, where):
        if v is None and none:
            return
        if not isinstance(v, (list, tuple)) or len(v) != n or not all(_is_int(x) and x >= lo for x in v):
            _fail(f"{where} must be a list of {n} whole numbers >= {lo}{' or null' if none else ''}, got {_short(v)}")
    return check


def _short(v) -> str:
    text = repr(v) if isinstance(v, (str, int, float, bool, type(None))) else type(v).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _check_json(v, where: str, depth: int = 0) -> None:
    """A value the manifest can hold: dicts with string keys, lists, strings, finite numbers, bools, null."""
    if depth > MAX_JSON_DEPTH:
        _fail(f"{where} is nested more than {MAX_JSON_DEPTH} levels deep")
    if v is None or isinstance(v, (bool, np.bool_)) or _is_int(v):
        return
    if isinstance(v, str):
        if len(v) > MAX_TEXT:
            _fail(f"{where} is {len(v)} characters long, more than the limit of {MAX_TEXT}")
    elif isinstance(v, numbers.Real):
        if not math.isfinite(v):
            _fail(f"{where} must be a finite number, got {v!r}")
    elif isinstance(v, dict):
        for k, x in v.items():
            if not isinstance(k, str):
                _fail(f"{where} has a key {_short(k)} that is not a string")
            _check_json(x, f"{where}.{k}", depth + 1)
    elif isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            _check_json(x, f"{where}[{i}]", depth + 1)
    else:
        _fail(f"{where} holds a {type(v).__name__}, which a session cannot store (arrays go in their own fields)")


# name -> (defaults, checks of the known keys); other keys are kept as they are (JSON values)
def _setting_check(cls: type, name: str):
    """The session check of one setting: the settings module's own check, as a SessionError."""
    def check(v, where):
        try:
            settings.check_value(cls, name, v, where)
        except settings.SettingsError as e:
            raise SessionError(str(e)) from None
    return check


def _checks_of(cls: type, keys: dict[str, str] | None = None) -> dict[str, Any]:
    """Checks of a group's settings (``keys``: session key -> field name, default: every field)."""
    keys = keys or {f.name: f.name for f in fields(cls)}
    return {key: _setting_check(cls, name) for key, name in keys.items()}


# name -> (defaults, checks of the known keys); other keys are kept as they are (JSON values)
_DICTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "source": (DEFAULT_SOURCE, _checks_of(SourceSettings)),
    "conv": (DEFAULT_CONV, _checks_of(ConvSettings)),
    "post": (DEFAULT_POST, _checks_of(PoolSettings)),
    "learn": (DEFAULT_LEARN, _checks_of(LearnSettings)),
    "train_settings": (DEFAULT_TRAIN, _checks_of(TrainSettings, {k: k for k in DEFAULT_TRAIN})),
    "dataset": (DEFAULT_DATASET, _checks_of(TrainSettings, DATASET_KEYS)),
    "selection": (DEFAULT_SELECTION, {
        "layer": _int(0, none=True), "unit": _ints(4, 0, none=True), "rf_mode": _str(("analytic", "effective")),
    }),
    "window": (DEFAULT_WINDOW, {"geometry": _str(), "state": _str(),
                                "workspace": _str(("", "filters", "network", "learn", "live"))}),
}

_EPOCH_KEYS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
_PARAM_NAME = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*\Z")
_BUFFER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _check_dict(name: str, value) -> None:
    if not isinstance(value, dict):
        _fail(f"{name} must be an object (a dict), got {_short(value)}")
    for key, check in _DICTS[name][1].items():
        if key in value:
            check(value[key], f"{name}.{key}")
    _check_json(value, name)


def _array(v, where: str, dtype, ndim: int, layout: str, finite: bool = True):
    """None, or an array of exactly this dtype and rank (finite unless told)."""
    if v is None:
        return None
    if not isinstance(v, np.ndarray):
        _fail(f"{where} must be a NumPy array or None, got {type(v).__name__}")
    if v.dtype != np.dtype(dtype):
        _fail(f"{where} must be {np.dtype(dtype).name}, got {v.dtype}")
    if v.ndim != ndim:
        _fail(f"{where} must be {layout}, got shape {v.shape}")
    if finite and v.dtype.kind == "f" and not np.isfinite(v).all():
        _fail(f"{where} holds NaN or infinite values")
    return v


def _any_array(v, where: str) -> None:
    """A finite float32 array of any shape (weights and optimiser buffers)."""
    if not isinstance(v, np.ndarray):
        _fail(f"{where} must be a NumPy array, got {type(v).__name__}")
    if v.dtype != np.float32:
        _fail(f"{where} must be float32, got {v.dtype}")
    if not np.isfinite(v).all():
        _fail(f"{where} holds NaN or infinite values")


def _spec_parameters(spec) -> tuple[dict | None, str]:
    """The parameter shapes a spec builds ("0.weight" -> shape), or (None, why it does not build)."""
    layers = spec.get("layers")
    if isinstance(layers, list) and len(layers) > MAX_SPEC_LAYERS:
        _fail(f"model_spec has {len(layers)} layers, more than the limit of {MAX_SPEC_LAYERS}")
    try:
        built = build_layers(spec, allocate=False)  # shapes only: nothing is allocated
    except SpecError as e:  # a half-edited model, or one beyond the memory budget: kept, without weights
        return None, str(e)
    except Exception as e:  # a last resort: build_layers raises only SpecError for any spec
        raise SessionError(f"model_spec cannot be built ({type(e).__name__}: {e})") from e
    shapes = {f"{i}.{k}": shape for i, layer in enumerate(built) for k, shape in layer.param_shapes.items()}
    total = sum(math.prod(s) for s in shapes.values())
    if total > MAX_MODEL_PARAMS:
        _fail(f"model_spec needs {total:,} parameters, more than the limit of {MAX_MODEL_PARAMS:,}")
    return shapes, ""


def validate(session: Session) -> None:
    """Check every field of a session (types, dtypes, shapes, values, consistency); raise SessionError."""
    s = session
    if not isinstance(s, Session):
        _fail(f"expected a Session, got {type(s).__name__}")
    for name in ("created", "saved", "app_version", "image_name"):
        _str()(getattr(s, name), name)
    for name in _DICTS:
        _check_dict(name, getattr(s, name))
    _str(("gray", "rgb"))(s.color, "color")
    _check_image(s.image)
    _check_bank(s)
    _array(s.learn_kernel, "learn_kernel", np.float32, 4, "K x C x F x F")
    _array(s.learn_bias, "learn_bias", np.float32, 1, "a 1-D (K,) array")
    if s.learn_bias is not None and (s.learn_kernel is None or len(s.learn_bias) != len(s.learn_kernel)):
        _fail(f"learn_bias has shape {s.learn_bias.shape} but learn_kernel is "
              f"{'missing' if s.learn_kernel is None else s.learn_kernel.shape}")
    _check_model(s)
    _check_training(s)
    _check_captured(s)
    _check_extra(s.extra)


def _check_image(img) -> None:
    if img is None:
        return
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
        _fail(f"image must be a uint8 NumPy array or None, got {getattr(img, 'dtype', type(img).__name__)}")
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (1, 3, 4))):
        _fail(f"image must be H x W or H x W x C with C = 1, 3 or 4, got shape {img.shape}")
    _check_image_size(img.shape[0], img.shape[1], "image")


def _check_image_size(h, w, where) -> None:
    if not (1 <= h <= MAX_IMAGE_SIDE and 1 <= w <= MAX_IMAGE_SIDE) or h * w > MAX_IMAGE_PIXELS:
        _fail(f"{where} is {w} x {h} pixels; a session image must be 1 to {MAX_IMAGE_SIDE} pixels "
              f"on each side and at most {MAX_IMAGE_PIXELS:,} pixels")


def _check_bank(s: Session) -> None:
    k = _array(s.kernels, "kernels", np.float32, 4, "K x C x F x F")
    _str()(s.display_mode, "display_mode")
    if s.display_mode not in DISPLAY_MODES:
        _fail(f"display_mode must be one of {', '.join(map(repr, DISPLAY_MODES))}, got {s.display_mode!r}")
    if not isinstance(s.kernel_names, list) or not all(isinstance(n, str) for n in s.kernel_names):
        _fail(f"kernel_names must be a list of strings, got {_short(s.kernel_names)}")
    _check_json(s.kernel_names, "kernel_names")
    _int(0)(s.selected_filter, "selected_filter")
    b = _array(s.biases, "biases", np.float32, 1, "a 1-D (K,) array")
    mix = _array(s.mix, "mix", np.float32, 2, "M x K")
    mb = _array(s.mix_bias, "mix_bias", np.float32, 1, "a 1-D (M,) array")
    if k is None:
        for name, v in (("biases", b), ("mix", mix), ("mix_bias", mb)):
            if v is not None:
                _fail(f"{name} is set but there are no kernels")
        if s.kernel_names or s.selected_filter != 0:
            _fail("kernel_names and selected_filter must be empty / 0 when there are no kernels")
        return
    n, c, fh, fw = k.shape
    if n < 1 or fh != fw or not 1 <= fh <= MAX_KERNEL:
        _fail(f"kernels must be K x C x F x F with K >= 1 and F from 1 to {MAX_KERNEL}, got shape {k.shape}")
    want_c = 1 if s.color == "gray" else 3
    if c != want_c:
        _fail(f"kernels have {c} input channel(s) but color {s.color!r} gives {want_c}")
    if b is not None and b.shape != (n,):
        _fail(f"biases has shape {b.shape}, the {n} kernels need ({n},)")
    if len(s.kernel_names) != n:
        _fail(f"kernel_names has {len(s.kernel_names)} names for {n} kernels")
    if s.selected_filter >= n:
        _fail(f"selected_filter is {s.selected_filter} but there are only {n} kernels (0 to {n - 1})")
    if mix is not None and (mix.shape[0] < 1 or mix.shape[1] != n):
        _fail(f"mix has shape {mix.shape}, it must be M x {n} (one weight per kernel)")
    if mb is not None and (mix is None or mb.shape != (mix.shape[0],)):
        _fail(f"mix_bias has shape {mb.shape} but mix is {'missing' if mix is None else mix.shape}")


def _check_model(s: Session) -> None:
    spec, state, opt = s.model_spec, s.model_state, s.optimizer_state
    _str(none=True)(s.model_preset, "model_preset")
    params, problem = None, "there is no model_spec"
    if spec is not None:
        if not isinstance(spec, dict):
            _fail(f"model_spec must be an object (a dict) or null, got {_short(spec)}")
        _check_json(spec, "model_spec")
        params, problem = _spec_parameters(spec)
        problem = f"the model spec does not build ({problem})" if params is None else ""
    if not isinstance(state, dict):
        _fail(f"model_state must be a dict of name -> array, got {type(state).__name__}")
    for name, a in state.items():
        if not isinstance(name, str) or not _PARAM_NAME.match(name):
            _fail(f"model_state has a bad parameter name {_short(name)}")
        _any_array(a, f"model_state[{name!r}]")
    if state:
        if params is None:
            _fail(f"model_state holds weights but {problem}; a model whose spec does not build is saved "
                  "without weights")
        missing, unexpected = sorted(set(params) - set(state)), sorted(set(state) - set(params))
        if missing:
            _fail(f"model_state has no {missing[0]!r}, which the model spec needs"
                  + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        if unexpected:
            _fail(f"model_state has {unexpected[0]!r}, which the model spec does not have")
        for name, shape in params.items():
            if state[name].shape != shape:
                _fail(f"model_state[{name!r}] has shape {state[name].shape}, the model spec needs {shape}")
    if opt is None:
        return
    if not isinstance(opt, dict):
        _fail(f"optimizer_state must be a dict or None, got {type(opt).__name__}")
    if params is None:
        _fail(f"optimizer_state is set but {problem}")
    _str(OPTIMIZER_TYPES)(opt.get("type"), "optimizer_state.type")
    settings = opt.get("settings", {})
    if not isinstance(settings, dict):
        _fail(f"optimizer_state.settings must be an object, got {_short(settings)}")
    _int(0)(opt.get("steps", 0), "optimizer_state.steps")
    _check_json({k: v for k, v in opt.items() if k != "buffers"}, "optimizer_state")
    buffers = opt.get("buffers", {})
    if not isinstance(buffers, dict):
        _fail(f"optimizer_state.buffers must be a dict of parameter -> {{name: array}}, got {_short(buffers)}")
    for pname, bufs in buffers.items():
        if pname not in state:
            _fail(f"optimizer_state.buffers names {_short(pname)}, which model_state does not hold")
        if not isinstance(bufs, dict):
            _fail(f"optimizer_state.buffers[{pname!r}] must be a dict of name -> array")
        for bname, a in bufs.items():
            where = f"optimizer_state.buffers[{pname!r}][{_short(bname)}]"
            if not isinstance(bname, str) or not _BUFFER_NAME.match(bname):
                _fail(f"{where}: a buffer name must be a plain identifier")
            _any_array(a, where)
            if a.shape != state[pname].shape:
                _fail(f"{where} has shape {a.shape}, the parameter has {state[pname].shape}")


def _check_training(s: Session) -> None:
    _array(s.history_steps, "history_steps", np.float64, 2, "S x 3 (step, loss, accuracy)", finite=False)
    if s.history_steps is not None and s.history_steps.shape[1] != 3:
        _fail(f"history_steps must be S x 3 (step, loss, accuracy), got shape {s.history_steps.shape}")
    if s.history_steps is not None and len(s.history_steps) > MAX_HISTORY_ROWS:
        _fail(f"history_steps has {len(s.history_steps):,} rows, more than the limit of {MAX_HISTORY_ROWS:,} "
              "(session.thin_history keeps the curve in fewer rows)")
    if not isinstance(s.history_epochs, list):
        _fail(f"history_epochs must be a list, got {_short(s.history_epochs)}")
    if len(s.history_epochs) > MAX_HISTORY_EPOCHS:
        _fail(f"history_epochs has {len(s.history_epochs):,} entries, more than the limit of {MAX_HISTORY_EPOCHS:,}")
    for i, e in enumerate(s.history_epochs):
        where = f"history_epochs[{i}]"
        if not isinstance(e, dict):
            _fail(f"{where} must be an object, got {_short(e)}")
        _check_json(e, where)
        _int(0)(e.get("epoch"), f"{where}.epoch")
        for key in _EPOCH_KEYS:
            _num(none=True)(e.get(key), f"{where}.{key}")
    c = _array(s.confusion, "confusion", np.int64, 2, "K x K")
    if c is not None and (c.shape[0] != c.shape[1] or c.shape[0] < 1 or (c < 0).any()):
        _fail(f"confusion must be a square K x K matrix of counts >= 0, got shape {c.shape}")


def thin_history(steps, max_rows: int | None = None) -> np.ndarray:
    """At most ``max_rows`` (default MAX_HISTORY_ROWS) of the (S, 3) training history, for saving.

    A longer history keeps its first and last rows and evenly spaced ones between (whole steps,
    in order), so the loss curve keeps its shape; a short one is returned as a float64 array.
    """
    rows = np.asarray(steps, dtype=np.float64).reshape(-1, 3)
    limit = MAX_HISTORY_ROWS if max_rows is None else max_rows
    if limit < 2:
        raise ValueError(f"max_rows must be at least 2, got {limit}")
    if len(rows) <= limit:
        return rows
    keep = np.unique(np.linspace(0, len(rows) - 1, limit).round().astype(np.int64))
    return rows[keep]


def _check_captured(s: Session) -> None:
    x = _array(s.captured_x, "captured_x", np.float32, 4, "N x C x H x W")
    y = _array(s.captured_y, "captured_y", np.int64, 1, "a 1-D (N,) array")
    classes = s.captured_classes
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        _fail(f"captured_classes must be a list of strings, got {_short(classes)}")
    _check_json(classes, "captured_classes")
    if len(set(classes)) != len(classes):
        _fail(f"captured_classes must be unique, got {_short(classes)}")
    if (x is None) != (y is None):
        _fail("captured_x and captured_y go together: one is set and the other is not")
    if x is None:
        return
    if x.shape[1] not in (1, 3) or x.shape[2] < 1 or x.shape[3] < 1:
        _fail(f"captured_x must be N x C x H x W with C = 1 or 3, got shape {x.shape}")
    if len(y) != len(x):
        _fail(f"captured_x has {len(x)} samples but captured_y has {len(y)} labels")
    if len(y) and (y.min() < 0 or y.max() >= len(classes)):
        _fail(f"captured_y labels must be in 0..{len(classes) - 1} (one per captured class), "
              f"found {y.min()}..{y.max()}")


_KNOWN_KEYS = {"format", "schema", "app_version", "created", "saved", "arrays", "images", "optimizer",
               "image_name", "source", "color", "kernel_names", "conv", "display_mode", "post", "selected_filter",
               "learn", "model_spec", "model_preset", "train_settings", "history_epochs", "dataset",
               "captured_classes", "selection", "window"}


def _check_extra(extra) -> None:
    if not isinstance(extra, dict):
        _fail(f"extra must be a dict, got {type(extra).__name__}")
    _check_json(extra, "extra")
    clash = sorted(set(extra) & _KNOWN_KEYS)
    if clash:
        _fail(f"extra field {clash[0]!r} clashes with a session field of the same name")


# =========================================================================== saving

_SINGLE_ARRAYS = ("kernels", "biases", "mix", "mix_bias", "learn_kernel", "learn_bias", "history_steps",
                  "confusion", "captured_x", "captured_y")
_JSON_FIELDS = ("image_name", "source", "color", "kernel_names", "conv", "display_mode", "post", "selected_filter",
                "learn", "model_spec", "model_preset", "train_settings", "history_epochs", "dataset",
                "captured_classes", "selection", "window")
_IMAGE_ENTRY = "images/image.png"
_NPY_HEADER_ROOM = 4096  # generous room for a .npy header when checking sizes before writing


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _json_default(v):
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, tuple):
        return list(v)
    raise TypeError(f"{type(v).__name__} is not JSON")


def _pack(s: Session, created: str, saved: str) -> tuple[dict, dict[str, np.ndarray]]:
    """The manifest and the arrays to write (logical name -> array) for a validated session."""
    manifest: dict[str, Any] = {"format": FORMAT, "schema": SCHEMA, "app_version": APP_VERSION,
                                "created": created, "saved": saved}
    for name in _JSON_FIELDS:
        manifest[name] = getattr(s, name)
    arrays = {name: getattr(s, name) for name in _SINGLE_ARRAYS if getattr(s, name) is not None}
    for name, a in s.model_state.items():
        arrays[f"model_state/{name}"] = a
    opt = s.optimizer_state
    manifest["optimizer"] = None if opt is None else {k: v for k, v in opt.items() if k != "buffers"}
    for pname, bufs in (opt or {}).get("buffers", {}).items():
        for bname, a in bufs.items():
            arrays[f"optimizer/{pname}/{bname}"] = a
    manifest["arrays"] = {name: f"arrays/{name}.npy" for name in arrays}
    manifest["images"] = {} if s.image is None else {"image": {"entry": _IMAGE_ENTRY, "shape": list(s.image.shape)}}
    for k, v in s.extra.items():
        manifest.setdefault(k, v)
    return manifest, arrays


def _encode_png(img: np.ndarray) -> bytes:
    if img.ndim == 3 and img.shape[2] == 3:
        img = img[:, :, [2, 1, 0]]  # RGB -> OpenCV's BGR
    elif img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, [2, 1, 0, 3]]  # RGBA -> BGRA
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(img))
    if not ok:
        _fail("image could not be encoded as PNG")
    return buf.tobytes()


def _write_array(f, a: np.ndarray) -> None:
    np.lib.format.write_array(f, np.ascontiguousarray(a), allow_pickle=False)


def save(path, session: Session, *, overwrite_readonly: bool = False) -> None:
    """Write ``session`` to ``path`` atomically, keeping the previous file as ``path.bak``.

    The session is validated first (a bad session raises SessionError before the disk is touched).
    The file is written to a temporary file in the same folder, flushed and fsynced, then moved
    over ``path`` with ``os.replace``: a crash at any moment leaves the previous file whole.
    The file keeps its permissions (a new one gets the umask's), a symbolic link is written
    through to its target, and a read-only file is replaced only with ``overwrite_readonly=True``
    (otherwise :class:`ReadOnlySessionError`, so the GUI can ask first). Temporary files an
    interrupted save of the same file left behind are removed. On success ``session.created`` (if
    empty), ``session.saved`` and ``session.app_version`` are stamped. Disk errors are raised as
    SessionError too.
    """
    path = os.fspath(path)
    validate(session)
    saved = _now()
    created = session.created or saved
    manifest, arrays = _pack(session, created, saved)
    try:
        manifest_bytes = json.dumps(manifest, indent=1, allow_nan=False, ensure_ascii=False,
                                    default=_json_default).encode("utf-8")
    except (TypeError, ValueError) as e:  # validate() should have caught it
        raise SessionError(f"the settings cannot be written as JSON: {e}") from e
    png = None if session.image is None else _encode_png(session.image)
    sizes = {"manifest.json": len(manifest_bytes)}
    sizes.update({f"arrays/{n}.npy": a.nbytes + _NPY_HEADER_ROOM for n, a in arrays.items()})
    if png is not None:
        sizes[_IMAGE_ENTRY] = len(png)
    if len(manifest_bytes) > MAX_MANIFEST_BYTES:
        _fail(f"the settings take {len(manifest_bytes):,} bytes, more than the limit of {MAX_MANIFEST_BYTES:,}")
    for entry, size in sizes.items():
        if size > MAX_ENTRY_BYTES:
            _fail(f"{entry} would take {size:,} bytes, more than the limit of {MAX_ENTRY_BYTES:,} per entry")
    if sum(sizes.values()) > MAX_TOTAL_BYTES:
        _fail(f"the session would take {sum(sizes.values()):,} bytes, more than the limit of {MAX_TOTAL_BYTES:,}")
    if len(sizes) > MAX_ENTRIES:
        _fail(f"the session would hold {len(sizes)} entries, more than the limit of {MAX_ENTRIES}")

    base = os.path.basename(path) or path
    stamp = datetime.now().timetuple()[:6]

    def write(fh) -> None:
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(_entry_info("manifest.json", stamp), manifest_bytes)
            for name, a in arrays.items():
                with zf.open(_entry_info(f"arrays/{name}.npy", stamp), "w") as f:
                    _write_array(f, a)
            if png is not None:  # already compressed
                zf.writestr(_entry_info(_IMAGE_ENTRY, stamp, zipfile.ZIP_STORED), png)

    try:
        write_atomically(path, write, overwrite_readonly=overwrite_readonly)
    except ReadOnlyFile as e:
        raise ReadOnlySessionError(f"{base} {e}") from e
    except FileRefused as e:
        raise SessionError(f"cannot save {base}: it {e}") from e
    except OSError as e:
        raise SessionError(f"cannot save {base}: {e.strerror or e}; the previous file is unchanged") from e
    session.created, session.saved, session.app_version = created, saved, APP_VERSION


def _entry_info(name: str, stamp, compression=zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    return info


# =========================================================================== loading

_ENTRY_NAME = re.compile(r"(manifest\.json|arrays/[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*\.npy"
                         r"|images/[A-Za-z0-9_][A-Za-z0-9_.\-]*\.png)\Z")
_LOGICAL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*\Z")
_NPY_DTYPES = {"<f4", "<f8", "<i8", "|u1"}  # float32, float64, int64, uint8 (little-endian)
_SCHEMA_TEXT = re.compile(r"(\d{1,4})\.(\d{1,4})\Z")


def load(path) -> Session:
    """Read a session file, checking everything; any problem is a SessionError naming the file."""
    try:
        name = os.path.basename(os.fspath(path)) or os.fspath(path)
    except TypeError as e:
        raise SessionError(f"a session path must be a string or a path, got {type(path).__name__}") from e
    try:
        return _load(os.fspath(path))
    except SessionError as e:
        e.args = (f"{name}: {e}",)
        raise
    except MemoryError as e:
        raise SessionError(f"{name}: not enough memory to open this session") from e
    except Exception as e:  # the last resort: every expected problem is reported above with its own words
        raise SessionError(f"{name}: unexpected problem while reading the session ({type(e).__name__}: {e})") from e


def _load(path: str) -> Session:
    try:
        fh = open_session_file(path, MAX_FILE_BYTES)
    except FileRefused as e:
        raise SessionError(f"cannot open the file: it {e}") from e
    except OSError as e:
        raise SessionError(f"cannot open the file: {e.strerror or e}") from e
    with fh:
        try:
            check_zip_directory(fh, max_entries=MAX_ENTRIES, max_directory_bytes=MAX_DIRECTORY_BYTES)
        except FileRefused as e:
            raise SessionError(f"not a session ConvLab opens: the archive {e}") from e
        except OSError as e:
            raise SessionError(f"cannot read the file: {e.strerror or e}") from e
        try:
            fh.seek(0)
            zf = zipfile.ZipFile(fh)
        except Exception as e:  # BadZipFile, EOFError, struct.error, NotImplementedError, ...
            raise SessionError(f"not a ConvLab session: not a readable zip archive ({e}); "
                               "the file may be truncated or damaged") from e
        with zf:
            infos = _check_entries(zf)
            if "manifest.json" not in infos:
                _fail("not a ConvLab session: manifest.json is missing")
            manifest = _parse_manifest(_read_entry(zf, infos["manifest.json"], MAX_MANIFEST_BYTES))
            manifest = _check_schema(manifest)
            arrays_ref, image_ref = _references(manifest)
            listed = {"manifest.json", *arrays_ref.values()} | ({image_ref[0]} if image_ref else set())
            missing = sorted(listed - set(infos))
            if missing:
                _fail(f"{missing[0]} is missing (the manifest lists it); the file is incomplete")
            unexpected = sorted(set(infos) - listed)
            if unexpected:
                _fail(f"unexpected entry {unexpected[0]!r} (the manifest does not list it)")
            arrays = {}
            for logical, entry in arrays_ref.items():
                if _known_array(logical):
                    cap = _array_cap(logical)
                    arrays[logical] = _read_npy(_read_entry(zf, infos[entry], cap), entry)
            image = None
            if image_ref:
                entry, shape = image_ref
                image = _decode_png(_read_entry(zf, infos[entry], MAX_ENTRY_BYTES), shape, entry)
    session = _session_from(manifest, arrays, image)
    validate(session)
    return session


def _check_entries(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        _fail(f"the archive holds {len(infos)} entries, more than the limit of {MAX_ENTRIES}")
    seen: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if (name.startswith(("/", "\\")) or "\\" in name or ".." in parts or re.match(r"[A-Za-z]:", name)
                or "\0" in name):
            _fail(f"unsafe entry name {name!r}: entries must stay inside the archive "
                  "(no absolute paths, '..' or backslashes)")
        if not _ENTRY_NAME.match(name):
            _fail(f"unexpected entry {name!r} (a session holds manifest.json, arrays/*.npy and images/*.png)")
        if name in seen:
            _fail(f"the entry {name!r} appears twice")
        if info.flag_bits & 0x1:
            _fail(f"{name} is encrypted; sessions are never encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            _fail(f"{name} uses compression method {info.compress_type}; sessions use only stored or deflated")
        if info.file_size > MAX_ENTRY_BYTES:
            _fail(f"{name} would unpack to {info.file_size:,} bytes, more than the limit of "
                  f"{MAX_ENTRY_BYTES:,} per entry")
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            _fail(f"the archive would unpack to more than {MAX_TOTAL_BYTES:,} bytes, the limit for a session")
        seen[name] = info
    return seen


def _array_cap(logical: str) -> int:
    """The most bytes the entry of an array may unpack to (history_steps: MAX_HISTORY_ROWS rows)."""
    if logical == "history_steps":
        return MAX_HISTORY_ROWS * 3 * 8 + _NPY_HEADER_ROOM
    return MAX_ENTRY_BYTES


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """The entry's bytes, never more than ``cap`` whatever its header claims, CRC checked."""
    if info.file_size > cap:
        _fail(f"{info.filename} would unpack to {info.file_size:,} bytes, more than the limit of {cap:,}")
    try:
        with zf.open(info) as f:
            data = f.read(min(info.file_size, cap) + 1)
    except Exception as e:  # BadZipFile (bad CRC, bad header), zlib.error, EOFError, ...
        raise SessionError(f"{info.filename} is damaged ({e})") from e
    if len(data) != info.file_size:
        _fail(f"{info.filename} holds {len(data):,} bytes but its header says {info.file_size:,}; it is damaged")
    return data


def _parse_manifest(data: bytes) -> dict:
    def no_constants(token):
        raise ValueError(f"{token} is not valid JSON")

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"the key {next(k for k in keys if keys.count(k) > 1)!r} appears twice")
        return dict(pairs)

    try:
        manifest = json.loads(data.decode("utf-8"), parse_constant=no_constants, object_pairs_hook=no_duplicates)
    except UnicodeDecodeError as e:
        raise SessionError(f"manifest.json is not UTF-8 text ({e.reason} at byte {e.start})") from e
    except RecursionError as e:
        raise SessionError("manifest.json is nested too deeply") from e
    except ValueError as e:
        raise SessionError(f"manifest.json is not valid JSON: {e}") from e
    if not isinstance(manifest, dict):
        _fail(f"manifest.json must hold a JSON object, got {type(manifest).__name__}")
    return manifest


def _check_schema(manifest: dict) -> dict:
    fmt = manifest.get("format")
    if fmt != FORMAT:
        _fail(f"not a ConvLab session: manifest.json says format {_short(fmt)}, expected {FORMAT!r}")
    schema = manifest.get("schema")
    m = _SCHEMA_TEXT.match(schema) if isinstance(schema, str) else None
    if m is None:
        _fail(f"manifest.json: schema must be a 'MAJOR.MINOR' string such as {SCHEMA!r}, got {_short(schema)}")
    major = int(m.group(1))
    if major > _MAJOR:
        app = manifest.get("app_version")
        by = f" {app}" if isinstance(app, str) and len(app) < 40 else ""
        _fail(f"this session was saved by a newer ConvLab{by} (schema {schema}); this version "
              f"({APP_VERSION}) reads schema {_MAJOR}.x - update ConvLab to open it")
    while major < _MAJOR:
        if major not in _MIGRATIONS:
            _fail(f"schema {schema} is too old for this version of ConvLab to read")
        manifest = _MIGRATIONS[major](manifest)
        major += 1
    return manifest


def _migrate_0(m: dict) -> dict:
    """Schema 0.x (the 0.9 preview) -> 1.0.

    0.x named the bank arrays ``filters`` and ``filter_biases`` and the model weights
    ``weights/<name>``; kept ``stride``, ``padding`` and ``dilation`` at the top level (always
    zero padding); stamped only ``saved_at``; and called the app version ``version``.
    """
    m = dict(m)
    arrays = m.get("arrays")
    if isinstance(arrays, dict):
        renamed = {}
        for logical, entry in arrays.items():
            new = {"filters": "kernels", "filter_biases": "biases"}.get(logical, logical)
            if isinstance(logical, str) and logical.startswith("weights/"):
                new = "model_state/" + logical[len("weights/"):]
            if new in renamed:
                _fail(f"manifest.json (schema 0.x): arrays lists {new!r} twice")
            renamed[new] = entry
        m["arrays"] = renamed
    conv = {k: m.pop(k) for k in ("stride", "padding", "dilation") if k in m}
    if conv and "conv" not in m:
        m["conv"] = {**DEFAULT_CONV, **conv}
    if "saved_at" in m:
        m.setdefault("saved", m["saved_at"])
        m.setdefault("created", m.pop("saved_at"))
        m.pop("saved_at", None)
    if "version" in m:
        m.setdefault("app_version", m.pop("version"))
    m["schema"] = "1.0"
    return m


_MIGRATIONS = {0: _migrate_0}  # major -> a function that lifts a manifest to major + 1


def _references(manifest: dict) -> tuple[dict[str, str], tuple[str, list] | None]:
    """The arrays (logical name -> entry) and the image (entry, shape) the manifest lists, checked."""
    arrays = manifest.get("arrays", {})
    if not isinstance(arrays, dict):
        _fail(f"manifest.json: arrays must be an object of name -> entry, got {_short(arrays)}")
    entries = set()
    for logical, entry in arrays.items():
        if not _LOGICAL_NAME.match(logical):
            _fail(f"manifest.json: bad array name {_short(logical)}")
        if not isinstance(entry, str) or not entry.startswith("arrays/") or not _ENTRY_NAME.match(entry) \
                or ".." in entry.split("/"):
            _fail(f"manifest.json: array {logical!r} points at {_short(entry)}, not an arrays/*.npy entry")
        if entry in entries:
            _fail(f"manifest.json: two arrays point at the same entry {entry!r}")
        entries.add(entry)
    images = manifest.get("images", {})
    if not isinstance(images, dict):
        _fail(f"manifest.json: images must be an object, got {_short(images)}")
    unknown = sorted(set(images) - {"image"})
    if unknown:
        _fail(f"manifest.json: unknown image {_short(unknown[0])} (a session holds one source image)")
    if "image" not in images or images["image"] is None:
        return arrays, None
    ref = images["image"]
    entry = ref.get("entry") if isinstance(ref, dict) else None
    shape = ref.get("shape") if isinstance(ref, dict) else None
    if not isinstance(entry, str) or not entry.startswith("images/") or not _ENTRY_NAME.match(entry):
        _fail(f"manifest.json: the image must point at an images/*.png entry, got {_short(entry)}")
    if (not isinstance(shape, list) or len(shape) not in (2, 3) or not all(_is_int(v) for v in shape)
            or (len(shape) == 3 and shape[2] not in (1, 3, 4))):
        _fail(f"manifest.json: the image shape must be [H, W] or [H, W, C] with C = 1, 3 or 4, got {_short(shape)}")
    _check_image_size(shape[0], shape[1], "the image")
    return arrays, (entry, shape)


def _known_array(logical: str) -> bool:
    parts = logical.split("/")
    return ((len(parts) == 1 and logical in _SINGLE_ARRAYS) or (len(parts) == 2 and parts[0] == "model_state")
            or (len(parts) == 3 and parts[0] == "optimizer"))


def _read_npy(data: bytes, entry: str) -> np.ndarray:
    """A .npy array, its header checked first: plain little-endian numbers only, never pickles."""
    f = io.BytesIO(data)
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(f)
        else:
            raise ValueError(f".npy version {version[0]}.{version[1]} is not supported")
    except (ValueError, SyntaxError, TypeError, struct.error) as e:
        raise SessionError(f"{entry} is not a valid .npy array ({e})") from e
    if dtype.hasobject:
        _fail(f"{entry} holds Python objects (a pickle); sessions hold only numbers and pickles are never loaded")
    if dtype.str not in _NPY_DTYPES:
        _fail(f"{entry} has dtype {dtype.str!r}; sessions hold only float32, float64, int64 and uint8 arrays")
    if not all(_is_int(d) and d >= 0 for d in shape):
        _fail(f"{entry} has an invalid shape {shape!r}")
    need = math.prod(shape) * dtype.itemsize
    have = len(data) - f.tell()
    if have != need:
        _fail(f"{entry} says {'x'.join(map(str, shape)) or 'a scalar'} {dtype.name} ({need:,} bytes) "
              f"but holds {have:,} bytes of data")
    f.seek(0)
    try:
        a = np.load(f, allow_pickle=False)
    except ValueError as e:
        raise SessionError(f"{entry} could not be read ({e})") from e
    return np.ascontiguousarray(a)


def _decode_png(data: bytes, shape: list, entry: str) -> np.ndarray:
    if len(data) < 33 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        _fail(f"{entry} is not a PNG image")
    w, h = struct.unpack(">II", data[16:24])
    if (h, w) != tuple(shape[:2]):
        _fail(f"{entry} is {w} x {h} pixels but the manifest says {shape[1]} x {shape[0]}")
    if data[24] != 8:
        _fail(f"{entry} has {data[24]} bits per sample; a session image is 8-bit")
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as e:
        raise SessionError(f"{entry} cannot be decoded ({e})") from e
    if img is None or img.dtype != np.uint8:
        _fail(f"{entry} cannot be decoded: the PNG is damaged")
    channels = 1 if len(shape) == 2 else shape[2]
    got = 1 if img.ndim == 2 else img.shape[2]
    if img.shape[:2] != (h, w) or got != channels:
        _fail(f"{entry} decodes to {img.shape} but the manifest says {tuple(shape)}")
    if got == 3:
        img = img[:, :, [2, 1, 0]]  # BGR -> RGB
    elif got == 4:
        img = img[:, :, [2, 1, 0, 3]]  # BGRA -> RGBA
    return np.ascontiguousarray(img).reshape(shape)


def _session_from(manifest: dict, arrays: dict[str, np.ndarray], image) -> Session:
    """A Session from a checked manifest: defaults for what is missing, unknown fields into extra."""
    s = Session()
    for name in ("created", "saved", "app_version"):
        if name in manifest:
            setattr(s, name, manifest[name])
    for name in _JSON_FIELDS:
        if name not in manifest:
            continue
        value = manifest[name]
        if name in _DICTS and isinstance(value, dict):
            value = {**copy.deepcopy(_DICTS[name][0]), **value}  # keys added by later minors get defaults
        setattr(s, name, value)
    s.image = image
    buffers: dict[str, dict[str, np.ndarray]] = {}
    for logical, a in arrays.items():
        parts = logical.split("/")
        if len(parts) == 1:
            setattr(s, logical, a)
        elif parts[0] == "model_state":
            s.model_state[parts[1]] = a
        else:
            buffers.setdefault(parts[1], {})[parts[2]] = a
    opt = manifest.get("optimizer")
    if opt is not None:
        if not isinstance(opt, dict):
            _fail(f"optimizer must be an object or null, got {_short(opt)}")
        if "buffers" in opt:
            _fail("optimizer.buffers belongs in arrays/optimizer/, not in the manifest")
        s.optimizer_state = {**opt, "buffers": buffers}
    elif buffers:
        _fail("the file holds optimizer buffers but no optimizer settings")
    s.extra = {k: v for k, v in manifest.items() if k not in _KNOWN_KEYS}
    return s
