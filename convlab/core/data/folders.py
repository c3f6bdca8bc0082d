"""Loading a labelled dataset from a folder of images.

Layout: one subfolder per class, named after the class::

    root/
        cat/  img001.png  img002.jpg ...
        dog/  ...

Class order is the sorted subfolder names.  Only files with an image
extension are considered (hidden files and folders are ignored); image
files that cannot be decoded are skipped and reported to the caller.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from .. import images
from .dataset import Dataset

__all__ = ["IMAGE_EXTENSIONS", "load_image_folder"]

IMAGE_EXTENSIONS = images.IMAGE_SUFFIXES


def _visible_entries(folder: str) -> list[os.DirEntry]:
    return sorted((e for e in os.scandir(folder) if not e.name.startswith(".")),
                  key=lambda e: e.name)


def _load_one(path: str, size: tuple[int, int], channels: int) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8 image at ``size`` (height, width)."""
    img = images.read_image(path)
    img = images.to_gray(img) if channels == 1 else images.to_rgb(img)
    height, width = size
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


def load_image_folder(
    root: str | os.PathLike,
    size: tuple[int, int] = (28, 28),
    channels: int = 1,
    max_per_class: int | None = None,
) -> tuple[Dataset, list[tuple[str, str]]]:
    """Load ``root/<class>/<image>`` files into a :class:`Dataset`.

    Images are converted to gray (``channels=1``) or RGB (``channels=3``),
    stretched to ``size`` = (height, width) with ``INTER_AREA`` and scaled
    to [0, 1].  At most ``max_per_class`` images are loaded per class.

    Returns ``(dataset, skipped)`` where ``skipped`` lists ``(path, reason)``
    for every image file that could not be read.  Raises ``ValueError`` if
    ``root`` is missing, has no class subfolders, or a class ends up with no
    usable images.
    """
    root = os.fspath(root)
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (gray) or 3 (RGB), got {channels}")
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"size must be (height, width) with positive values, got {size}")
    if max_per_class is not None and max_per_class < 1:
        raise ValueError(f"max_per_class must be at least 1, got {max_per_class}")
    if not os.path.isdir(root):
        raise ValueError(f"image folder not found: {root}")

    class_dirs = [e for e in _visible_entries(root) if e.is_dir()]
    if not class_dirs:
        raise ValueError(
            f"{root} has no class subfolders (expected one folder per class, "
            f"e.g. {os.path.join(root, 'cat')})"
        )

    pictures: list[np.ndarray] = []
    labels: list[int] = []
    skipped: list[tuple[str, str]] = []
    for label, class_dir in enumerate(class_dirs):
        loaded = 0
        for entry in _visible_entries(class_dir.path):
            if not entry.is_file() or not entry.name.lower().endswith(IMAGE_EXTENSIONS):
                continue
            try:
                pictures.append(_load_one(entry.path, size, channels))
            except images.ImageError as exc:
                skipped.append((entry.path, str(exc)))
                continue
            labels.append(label)
            loaded += 1
            if max_per_class is not None and loaded >= max_per_class:
                break
        if loaded == 0:
            raise ValueError(
                f"class folder {class_dir.name!r} has no readable images "
                f"({', '.join(IMAGE_EXTENSIONS)})"
            )

    stacked = np.stack(pictures)
    if channels == 1:
        x = stacked[:, None]
    else:
        x = stacked.transpose(0, 3, 1, 2)
    x = x.astype(np.float32) / np.float32(255.0)
    y = np.asarray(labels, dtype=np.int64)
    classes = [d.name for d in class_dirs]
    name = os.path.basename(os.path.normpath(root))
    return Dataset(x, y, classes, name=name), skipped
