"""What a model sees of an image: crop, resize to the model input, gray or RGB, scale, invert.

The live mode and the layer panel show this small image, so a learner sees exactly what the
network sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .images import to_gray, to_rgb


@dataclass(frozen=True)
class Preprocess:
    crop: bool = True  # centre-crop to the model's aspect ratio before resizing
    invert: str = "auto"  # "auto" (invert bright backgrounds, as digits are white on black), "yes", "no"


def model_input(image: np.ndarray, shape, how: Preprocess = Preprocess()) -> np.ndarray:
    """A uint8 image (H, W[, C]) as one model input (C, h, w) float32 in [0, 1]."""
    if len(shape) != 3:
        raise ValueError(f"the model takes a flat input of {shape[0]} values, not an image")
    c, h, w = (int(v) for v in shape)
    if c not in (1, 3):
        raise ValueError(f"an image gives 1 (gray) or 3 (RGB) channels, the model takes {c}")
    img = to_gray(image) if c == 1 else to_rgb(image)
    if how.crop:
        ih, iw = img.shape[:2]
        target = w / h
        if iw / ih > target:
            cw = max(1, int(round(ih * target)))
            x0 = (iw - cw) // 2
            img = img[:, x0 : x0 + cw]
        else:
            ch = max(1, int(round(iw / target)))
            y0 = (ih - ch) // 2
            img = img[y0 : y0 + ch]
    interp = cv2.INTER_AREA if img.shape[0] >= h else cv2.INTER_LINEAR
    small = cv2.resize(np.ascontiguousarray(img), (w, h), interpolation=interp).astype(np.float32) / 255.0
    if small.ndim == 2:
        small = small[None]
    else:
        small = small.transpose(2, 0, 1)
    invert = how.invert == "yes" or (how.invert == "auto" and float(small.mean()) > 0.5)
    if invert:
        small = 1.0 - small
    return np.ascontiguousarray(small, dtype=np.float32)
