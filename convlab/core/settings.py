"""One home for every setting the learner can change: its default, its range and its choices.

Each group of settings is a frozen dataclass whose fields carry their limits:

    LearnSettings().lr              # 0.05: the default the app starts with, and New Lab, and a session
    limits(LearnSettings, "lr")     # Range(0.0001, 2.0): the spin box's range and the session's check
    choices(TrainSettings, "optimizer")

The widgets take their ranges from here, ``convlab.core.session`` derives its defaults and its checks
from here, and the states hold these objects - so a number a session accepts is always one the
window can show, and File > New Lab gives exactly what a fresh start gives.

``from_mapping(cls, values, where)`` builds a group from a dict (a session's JSON), checking every
known key; missing keys take their defaults and unknown keys are ignored. Problems are
:class:`SettingsError` naming the key and the numbers.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, TypeVar

from .functional import PADDING_MODES
from .kernels import MAX_KERNEL_SIZE

__all__ = [
    "Range", "SettingsError", "ConvSettings", "PoolSettings", "LearnSettings", "TrainSettings", "SourceSettings",
    "limits", "choices", "default", "defaults", "from_mapping", "to_mapping", "check_value", "DATASET_KINDS",
    "OPTIMIZER_KEYS", "LEARN_OPTIMIZER_KEYS", "LEARN_TARGET_KINDS", "LEARN_DATA_KINDS", "MAX_SEED",
    "MAX_LEARN_FILTERS", "MAX_CAMERA_INDEX",
]

MAX_SEED = 2**31 - 1
MAX_LEARN_FILTERS = 4  # a hidden bank learned at once: the first preset and three more
MAX_CAMERA_INDEX = 4

DATASET_KINDS = ("digits", "shapes", "colour_shapes", "mnist", "fashion", "kmnist", "cifar10", "folder", "captured")
OPTIMIZER_KEYS = ("sgd", "momentum", "adam")  # the training panel's optimisers
LEARN_OPTIMIZER_KEYS = ("adam", "sgd", "momentum")  # learn-a-filter's, in the order its menu shows
LEARN_TARGET_KINDS = ("preset", "opencv", "image")
LEARN_DATA_KINDS = ("current", "samples", "frames")
SOURCE_KINDS = ("image", "camera", "video")
POOL_KINDS = ("none", "max", "avg")


class SettingsError(ValueError):
    """A setting of the wrong type or outside its range; the message names it and the numbers."""


@dataclass(frozen=True)
class Range:
    """The closed interval a number may take (``lo <= v <= hi``)."""

    lo: float
    hi: float

    def text(self) -> str:
        return f"{_num_text(self.lo)} to {_num_text(self.hi)}"

    def clip(self, v: float) -> float:
        return min(max(v, self.lo), self.hi)


def _num_text(v: float) -> str:
    return f"{v:,}" if isinstance(v, int) else f"{v:g}"


def _setting(default: Any, lo: float | None = None, hi: float | None = None, *,
             options: tuple | None = None, nullable: bool = False) -> Any:
    """A dataclass field with its limits: a range (numbers), the allowed values (strings), and whether a
    session may say null for it (read as the default)."""
    meta: dict[str, Any] = {"nullable": nullable}
    if lo is not None and hi is not None:
        meta["range"] = Range(lo, hi)
    if options is not None:
        meta["choices"] = tuple(options)
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda: tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


# --------------------------------------------------------------------------- the groups


@dataclass(frozen=True)
class ConvSettings:
    """How the playground's filter bank slides over the image."""

    stride: int = _setting(1, 1, 16)
    padding: int = _setting(0, 0, 32)
    padding_mode: str = _setting("zeros", options=PADDING_MODES)
    dilation: int = _setting(1, 1, 8)

    def check(self, kernel: int) -> None:
        """A ValueError for a setting outside its range or a kernel size the bank cannot have."""
        for name in ("stride", "padding", "dilation", "padding_mode"):
            check_value(ConvSettings, name, getattr(self, name), name.replace("_", " "))
        if not 1 <= kernel <= MAX_KERNEL_SIZE:
            raise SettingsError(f"kernel size must be 1 to {MAX_KERNEL_SIZE}, got {kernel}")


@dataclass(frozen=True)
class PoolSettings:
    """The pooling after the playground's bank (the 1x1 mix's weights live with the bank)."""

    pool: str = _setting("none", options=POOL_KINDS)
    pool_kernel: int = _setting(2, 1, 8)
    pool_stride: int = _setting(2, 1, 8)


MAX_BANK_FILTERS = 32  # filters in the playground's bank
MAX_MIX_MAPS = MAX_BANK_FILTERS  # maps a 1x1 convolution after the bank may make


@dataclass(frozen=True)
class LearnSettings:
    """Learn a filter: the target, the data, the kernel's geometry and the optimiser."""

    target_kind: str = _setting("preset", options=LEARN_TARGET_KINDS)
    target_key: str = "sobel_x"  # a preset key, an OpenCV operation's key, or the target picture's path
    filters: int = _setting(1, 1, MAX_LEARN_FILTERS)
    extra_presets: tuple[str, ...] = _setting(("sobel_y", "laplacian", "gaussian_3"))  # filters 2..4
    data: str = _setting("current", options=LEARN_DATA_KINDS)
    kernel: int = _setting(3, 1, MAX_KERNEL_SIZE)
    stride: int = _setting(1, 1, 4)
    padding: int = _setting(1, 0, 20)  # 'same' for the default 3x3
    dilation: int = _setting(1, 1, 4)
    optimizer: str = _setting("adam", options=LEARN_OPTIMIZER_KEYS)
    lr: float = _setting(0.05, 0.0001, 2.0)
    steps: int = _setting(500, 1, 100_000)


@dataclass(frozen=True)
class TrainSettings:
    """Training: which data, how it is split, and the optimiser's settings."""

    dataset: str = _setting("digits", options=DATASET_KINDS)
    path: str = ""  # the folder for mnist / fashion / folder
    samples: int = _setting(6000, 100, 200_000)  # size of a synthetic set
    val_fraction: float = _setting(0.15, 0.05, 0.5)
    batch_size: int = _setting(32, 1, 4096)
    epochs: int = _setting(3, 1, 1000)
    optimizer: str = _setting("momentum", options=OPTIMIZER_KEYS)
    lr: float = _setting(0.05, 0.0001, 10.0)
    weight_decay: float = _setting(0.0, 0.0, 1.0)
    seed: int = _setting(0, 0, MAX_SEED, nullable=True)


@dataclass(frozen=True)
class SourceSettings:
    """Where frames come from (a still image, a camera, a video file)."""

    kind: str = _setting("image", options=SOURCE_KINDS)
    camera_index: int = _setting(0, 0, MAX_CAMERA_INDEX)
    video_path: str = ""
    mirror: bool = False
    resolution: tuple[int, int] = _setting((640, 480))
    fps: float = _setting(30.0, 1.0, 240.0)


# --------------------------------------------------------------------------- reading the limits

T = TypeVar("T")


def _field(cls: type, name: str):
    for f in fields(cls):
        if f.name == name:
            return f
    raise KeyError(f"{cls.__name__} has no setting {name!r}")


def limits(cls: type, name: str) -> Range:
    """The range of a numeric setting."""
    r = _field(cls, name).metadata.get("range")
    if r is None:
        raise KeyError(f"{cls.__name__}.{name} has no range")
    return r


def choices(cls: type, name: str) -> tuple:
    """The values a string setting may take."""
    c = _field(cls, name).metadata.get("choices")
    if c is None:
        raise KeyError(f"{cls.__name__}.{name} has no fixed choices")
    return c


def default(cls: type, name: str) -> Any:
    f = _field(cls, name)
    return f.default_factory() if f.default is MISSING else f.default


def defaults(cls: type) -> dict[str, Any]:
    """Every setting of a group with its default, as plain JSON values (tuples become lists)."""
    return to_mapping(cls())


def to_mapping(obj: Any) -> dict[str, Any]:
    """A settings object as a dict of JSON values."""
    return {f.name: list(v) if isinstance(v := getattr(obj, f.name), tuple) else v for f in fields(obj)}


# --------------------------------------------------------------------------- checking values


def _is_whole(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))


def check_value(cls: type, name: str, v: Any, where: str | None = None) -> Any:
    """``v`` as the setting ``cls.name`` holds it (ints stay ints, numbers become floats, lists of a
    tuple setting become tuples); SettingsError when it has the wrong type or is out of range."""
    f = _field(cls, name)
    where = where or f"{cls.__name__}.{name}"
    kind = type(default(cls, name))
    meta = f.metadata
    if v is None and meta.get("nullable"):
        return default(cls, name)
    if kind is bool:
        if not isinstance(v, bool):
            raise SettingsError(f"{where} must be true or false, got {_short(v)}")
        return v
    if kind is int:
        if not _is_whole(v):
            raise SettingsError(f"{where} must be a whole number, got {_short(v)}")
        v = int(v)
    elif kind is float:
        if not _is_number(v):
            raise SettingsError(f"{where} must be a finite number, got {_short(v)}")
        v = float(v)
    elif kind is str:
        if not isinstance(v, str):
            raise SettingsError(f"{where} must be a string, got {_short(v)}")
        allowed = meta.get("choices")
        if allowed is not None and v not in allowed:
            raise SettingsError(f"{where} must be one of {', '.join(map(repr, allowed))}, got {v!r}")
        return v
    elif kind is tuple:
        d = default(cls, name)
        if not isinstance(v, (list, tuple)) or len(v) != len(d):
            raise SettingsError(f"{where} must be a list of {len(d)} values, got {_short(v)}")
        out = []
        for i, x in enumerate(v):
            if type(d[i]) is int and not _is_whole(x):
                raise SettingsError(f"{where}[{i}] must be a whole number, got {_short(x)}")
            if type(d[i]) is str and not isinstance(x, str):
                raise SettingsError(f"{where}[{i}] must be a string, got {_short(x)}")
            if type(d[i]) is int and not 1 <= x <= 100_000:
                raise SettingsError(f"{where}[{i}] must be 1 to 100,000, got {x}")
            out.append(x)
        return tuple(out)
    r = meta.get("range")
    if r is not None and not r.lo <= v <= r.hi:
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{where} must be {what} from {r.text()}, got {_short(v)}")
    return v


def _short(v: Any) -> str:
    text = repr(v) if isinstance(v, (str, int, float, bool, type(None))) else type(v).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def from_mapping(cls: type[T], values: Any, where: str = "") -> T:
    """A settings object from a dict: known keys checked, missing keys defaulted, unknown keys ignored."""
    prefix = where or cls.__name__
    if not isinstance(values, dict):
        raise SettingsError(f"{prefix} must be an object (a dict), got {_short(values)}")
    changes = {f.name: check_value(cls, f.name, values[f.name], f"{prefix}.{f.name}")
               for f in fields(cls) if f.name in values}  # type: ignore[arg-type]
    return cls(**{**{f.name: getattr(cls(), f.name) for f in fields(cls)}, **changes})  # type: ignore[arg-type]
