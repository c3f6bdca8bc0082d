"""Learn a filter, the exercise: what one run learns from, the best bias for a weight, and the
learned filter as the playground needs it.

    run = prepare_run(LearnSettings(), image, "gray")     # ValueError says what is missing or wrong
    fit_filter(run.inputs, run.targets, kernel=run.kernel, ...)
    bias, out = best_bias(run.inputs, run.targets, weight, run.stride, run.padding, run.dilation)
    w, b = lab_filter(weight[0], bias[0], channels=3)      # for the lab's 0..255 pixels
    kernel_mosaic(weight)                                  # (K, C, F, F) as one 2-D picture

Learning works on a copy of the lab's image scaled to at most MAX_LEARN_SIDE pixels a side, on
[0, 1] values: enough pixels for up to 11 x 11 x 3 weights, and steps fast enough to watch. The
targets come from :mod:`convlab.core.filter_targets`, the fitting from :mod:`convlab.core.filter_fit`.

NumPy and OpenCV only; never Qt.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import functional as F
from . import kernels
from .filter_targets import (
    OPENCV_TARGETS,
    image_target,
    learning_input,
    learning_shape,
    opencv_kernel,
    opencv_target,
    preset_target,
    resize_note,
    sample_target,
    why_not_linear,
)
from .settings import LearnSettings, SettingsError

__all__ = [
    "MAX_LEARN_SIDE", "TWO_LAYER_HIDDEN", "TWO_LAYER_LR", "RECENT_FRAMES", "RECENT_GAP_S", "PACES",
    "GENERIC_IMAGE_NOTE", "LearnRun", "kernel_mosaic", "lab_filter", "best_bias", "prepare_run",
    "preset_keys", "learnable_presets", "check_targets", "two_layer_kernel", "nonlinear_note", "sample_photos",
]

MAX_LEARN_SIDE = 96
TWO_LAYER_HIDDEN = 8  # hidden maps of the conv - ReLU - conv learned for comparison
TWO_LAYER_LR = 0.01
RECENT_FRAMES = 8  # camera frames kept as training data
RECENT_GAP_S = 0.5  # at least this far apart, so they differ
PACES: dict[str, tuple[str, float | None]] = {  # steps per second (None: as fast as the computer goes)
    "watch": ("Watch (about 100 steps/s)", 100.0),
    "slow": ("Slow motion (about 20 steps/s)", 20.0),
    "fast": ("As fast as possible", None),
}
GENERIC_IMAGE_NOTE = (
    "A loaded picture can come from any operation, linear or not: if the best linear filter still leaves a "
    "large loss, no single weighted sum of pixels makes this target."
)


@dataclass
class LearnRun:
    """Everything one run learns from, fixed when Start is pressed."""

    kind: str  # "preset" | "opencv" | "image"
    key: str  # preset or OpenCV key(s, joined by commas), or the target picture's file name
    label: str  # the target in words
    inputs: np.ndarray  # (N, C, H, W) in [0, 1]
    full: np.ndarray  # (N, K, H, W): the 'same'-size targets
    targets: np.ndarray  # (N, K, H', W'): what this kernel, stride, padding and dilation must make
    true: np.ndarray | None  # (K, C, Ft, Ft) the filters that make the target, when there are
    linear: bool  # can one linear filter make the target?
    kernel: int
    stride: int
    padding: int
    dilation: int
    steps: int
    lr: float
    optimizer: str
    note: str = ""


# --------------------------------------------------------------------------- showing and using a learned filter


def kernel_mosaic(weight: np.ndarray) -> np.ndarray:
    """(K, C, F, F) weights as one 2-D picture: channels side by side, filters one below the other,
    one zero (white on the diverging scale) row or column between them."""
    w = np.asarray(weight, np.float32)
    if w.ndim != 4 or w.shape[2] != w.shape[3]:
        raise ValueError(f"weights to show are K x C x F x F, got shape {w.shape}")
    k, c, f, _ = w.shape
    out = np.zeros((k * (f + 1) - 1, c * (f + 1) - 1), np.float32)
    for i in range(k):
        for j in range(c):
            out[i * (f + 1): i * (f + 1) + f, j * (f + 1): j * (f + 1) + f] = w[i, j]
    return out


def lab_filter(weight: np.ndarray, bias: float, channels: int) -> tuple[np.ndarray, float]:
    """A filter learned here, as the playground's bank needs it: ``(channels, F, F)`` weights and a bias.

    Learning ran on inputs in [0, 1]; the lab filters pixel values 0..255, i.e. x_lab = 255 x. For a
    linear filter w . x_lab + 255 b = 255 (w . x + b): the same weights with the bias times 255 give
    the learned output on the lab's 0..255 scale.

    The weights have one slice per channel of the image they were learned on. If the lab's colour
    mode has changed since (gray <-> RGB), they are converted like the lab converts custom filters:
    gray -> RGB puts w / 3 on each channel (the same response to a gray picture, whose R = G = B),
    RGB -> gray sums the three slices (exact when the picture is gray).
    """
    w = np.asarray(weight, np.float32)
    if w.ndim != 3:
        raise ValueError(f"a learned filter is C x F x F, got shape {w.shape}")
    if w.shape[0] != channels:
        total = w.sum(axis=0, keepdims=True)
        w = total if channels == 1 else np.repeat(total / channels, channels, axis=0)
    return np.ascontiguousarray(w, np.float32), float(bias) * 255.0


def best_bias(inputs: np.ndarray, targets: np.ndarray, weight: np.ndarray, stride: int = 1, padding: int = 0,
              dilation: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The bias that fits ``weight`` best, and the output with it: ``(bias (K,), output (N, K, H', W'))``.

    For fixed weights the mean squared error is a parabola in each filter's bias, lowest where the
    bias is the mean of target - conv(input, weight) over the images and pixels of that filter's map.
    Float64 throughout.
    """
    x = np.asarray(inputs, np.float64)
    t = np.asarray(targets, np.float64)
    out, _ = F.conv2d_forward(x, np.asarray(weight, np.float64), None, stride, padding, dilation)
    if out.shape != t.shape:
        raise ValueError(f"the output of these weights is {' x '.join(map(str, out.shape))} but the targets are "
                         f"{' x '.join(map(str, t.shape))}")
    b = (t - out).mean(axis=(0, 2, 3))
    return b, out + b[None, :, None, None]


def two_layer_kernel(kernel: int) -> int:
    """The side of both convolutions of the conv - ReLU - conv comparison: odd, so 'same' padding centres it."""
    return kernel if kernel % 2 else min(kernel + 1, kernels.MAX_KERNEL_SIZE)


def nonlinear_note(run: LearnRun) -> str:
    """Why no single linear filter makes the run's target ("" when one does)."""
    if run.linear:
        return ""
    return why_not_linear(run.key) if run.kind == "opencv" else GENERIC_IMAGE_NOTE


# --------------------------------------------------------------------------- preparing a run


def learnable_presets() -> list[str]:
    """The preset kernels a hidden target may be: every one that works on gray and RGB alike."""
    return [key for key, p in kernels.KERNEL_PRESETS.items() if not p.mixes_channels]


def preset_keys(settings: LearnSettings) -> list[str]:
    """The hidden presets of the K filters: the first choice, then the extra ones."""
    return [settings.target_key, *settings.extra_presets[: settings.filters - 1]]


def check_targets(settings: LearnSettings, where: str = "learn") -> None:
    """SettingsError when the settings name a target that does not exist: an unknown preset or
    OpenCV operation, or several filters for a target that is one map."""
    known = learnable_presets()
    if settings.target_kind == "preset":
        for i, key in enumerate((settings.target_key, *settings.extra_presets)):
            if key not in known:
                name = f"{where}.target_key" if i == 0 else f"{where}.extra_presets[{i - 1}]"
                raise SettingsError(f"{name} must be a preset that works on gray and colour images "
                                    f"({', '.join(known)}), got {key!r}")
        return
    if settings.target_kind == "opencv" and settings.target_key not in OPENCV_TARGETS:
        raise SettingsError(f"{where}.target_key must be an OpenCV operation ({', '.join(OPENCV_TARGETS)}), "
                            f"got {settings.target_key!r}")
    if settings.filters != 1:
        raise SettingsError(f"{where}.filters must be 1 for a target of kind {settings.target_kind!r} (one map), "
                            f"got {settings.filters}")


@lru_cache(maxsize=1)
def _photos() -> tuple[np.ndarray, ...]:
    from .samples import SAMPLES, load_sample

    photos = tuple(load_sample(k) for k, s in SAMPLES.items() if s.is_photo)
    for p in photos:
        p.setflags(write=False)  # shared by every run that asks
    return photos


def sample_photos() -> list[np.ndarray]:
    """The built-in sample photos (read once, then kept, read-only): more kinds of detail to learn from."""
    return list(_photos())


def prepare_run(settings: LearnSettings, image: np.ndarray | None, color: str, *,
                target_image: np.ndarray | None = None, recent_frames: Sequence[np.ndarray] = (),
                photos: Sequence[np.ndarray] = (), max_side: int = MAX_LEARN_SIDE) -> LearnRun:
    """Everything a run needs, from the settings and the lab's picture; ValueError says what is wrong.

    ``image`` is the lab's uint8 picture, ``color`` its colour mode ("gray" or "rgb"); ``photos`` are
    added when ``settings.data`` is "samples", ``recent_frames`` (those of the image's size) replace
    the image when it is "frames", and ``target_image`` is the picture a target of kind "image" is.
    """
    check_targets(settings)
    if image is None:
        raise ValueError("no image is loaded: open one in the playground first")
    shape = learning_shape(image.shape[0], image.shape[1], max_side)
    images = [image]
    if settings.data == "samples":
        images += list(photos)
    elif settings.data == "frames":
        frames = [img for img in recent_frames if img.shape[:2] == image.shape[:2]]
        if len(frames) < 2:
            raise ValueError("fewer than 2 recent frames of this size: start the camera (or open a few "
                             "images of the same size) and try again")
        images = frames
    inputs = np.stack([learning_input(img, color, shape) for img in images])
    c = inputs.shape[1]
    kind, true, note = settings.target_kind, None, ""
    if kind == "preset":
        keys = preset_keys(settings)
        key = ",".join(keys)
        full = np.stack([np.concatenate([preset_target(x, k) for k in keys]) for x in inputs])
        trues = [kernels.preset(k).filter(c) for k in keys]
        size = max(t.shape[-1] for t in trues)
        true = np.stack([kernels.resize_kernel(t, size) for t in trues])
        linear = True
        label = "a hidden preset kernel" if len(keys) == 1 else f"{len(keys)} hidden preset kernels"
    elif kind == "opencv":
        key = settings.target_key
        spec = OPENCV_TARGETS[key]
        full = np.stack([opencv_target(x, key) for x in inputs])
        linear, label = spec.linear, spec.name
        k = opencv_kernel(key, c)
        true = None if k is None else k[None]
    else:
        if target_image is None:
            raise ValueError("no target image: load one with Browse... first")
        if len(images) > 1:
            raise ValueError("a loaded target image belongs to the current image only: choose "
                             "'The current image' as training data")
        key = os.path.basename(settings.target_key) or "the target image"
        full = image_target(target_image, shape)[None]
        note = resize_note(target_image.shape, shape)
        linear, label = False, f"the picture {key}"
    s = settings
    targets = np.stack([sample_target(t, s.kernel, s.stride, s.padding, s.dilation) for t in full])
    return LearnRun(kind, key, label, inputs, full, targets, true, linear, s.kernel, s.stride, s.padding,
                    s.dilation, s.steps, s.lr, s.optimizer, note)
