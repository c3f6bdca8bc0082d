"""Loading a labelled dataset from a folder of images.

Layout: one subfolder per class, named after the class::

    root/
        cat/  img001.png  img002.jpg ...
        dog/  ...

Class order is the sorted subfolder names.  Only names with an image
extension are considered (hidden files and folders are ignored).  A file
with an image name that cannot be used - damaged, not an image, not a
regular file (a FIFO, a folder called ``x.png``), refused by the image
size limits - is left out and *listed*: ``dataset.skipped`` (and the
second value returned) holds ``(path, reason)`` for each, so the user can
be told.  Every other problem is a :class:`~convlab.core.data.dataset.DatasetError`.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from .. import images
from ..sizes import format_bytes
from . import dataset as _dataset
from .dataset import Dataset, DatasetError

__all__ = ["IMAGE_EXTENSIONS", "load_image_folder"]

IMAGE_EXTENSIONS = images.IMAGE_SUFFIXES


def _visible_entries(folder: str) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError as exc:
        raise DatasetError(f"cannot list the folder {folder}: {exc.strerror or exc}") from exc


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _load_one(path: str, size: tuple[int, int], channels: int) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8 image at ``size`` (height, width); ImageError if it cannot be."""
    img = images.read_image(path)
    img = images.to_gray(img) if channels == 1 else images.to_rgb(img)
    height, width = size
    try:
        return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
    except cv2.error as exc:
        raise images.ImageError(f"{os.path.basename(path)} could not be resized to {width}x{height} ({exc})") from exc


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

    Returns ``(dataset, skipped)`` where ``skipped`` (also ``dataset.skipped``)
    lists ``(path, reason)`` for every file with an image name that could not
    be used.  Raises :class:`DatasetError` (a ``ValueError``) if ``root`` is
    missing or unreadable, has no class subfolders, a class ends up with no
    usable images, or the images would need more than ``MAX_DATASET_BYTES``
    as float32 (checked before any image is read).
    """
    root = os.fspath(root)
    if channels not in (1, 3):
        raise DatasetError(f"channels must be 1 (gray) or 3 (RGB), got {channels}")
    if len(size) != 2 or min(size) < 1:
        raise DatasetError(f"size must be (height, width) with positive values, got {size}")
    if max_per_class is not None and max_per_class < 1:
        raise DatasetError(f"max_per_class must be at least 1, got {max_per_class}")
    if not os.path.isdir(root):
        raise DatasetError(f"image folder not found: {root}")

    class_dirs = [e for e in _visible_entries(root) if _is_folder(e)]
    if not class_dirs:
        raise DatasetError(
            f"{root} has no class subfolders (expected one folder per class, "
            f"e.g. {os.path.join(root, 'cat')})"
        )
    candidates = []
    for class_dir in class_dirs:
        names = [e.path for e in _visible_entries(class_dir.path) if e.name.lower().endswith(IMAGE_EXTENSIONS)]
        candidates.append(names)
    most = sum(len(names) if max_per_class is None else min(len(names), max_per_class) for names in candidates)
    need = most * channels * size[0] * size[1] * 4
    if need > _dataset.MAX_DATASET_BYTES:
        raise DatasetError(
            f"{os.path.basename(os.path.normpath(root))}: {most:,} images of {channels}x{size[0]}x{size[1]} "
            f"need {format_bytes(need)} as float32, more than the {format_bytes(_dataset.MAX_DATASET_BYTES)} "
            "a dataset may take (use fewer images per class or a smaller input)"
        )

    pictures: list[np.ndarray] = []
    labels: list[int] = []
    skipped: list[tuple[str, str]] = []
    for label, (class_dir, names) in enumerate(zip(class_dirs, candidates, strict=True)):
        loaded = 0
        for path in names:
            try:
                pictures.append(_load_one(path, size, channels))
            except images.ImageError as exc:
                skipped.append((path, str(exc)))
                continue
            labels.append(label)
            loaded += 1
            if max_per_class is not None and loaded >= max_per_class:
                break
        if loaded == 0:
            raise DatasetError(
                f"class folder {class_dir.name!r} has no readable images "
                f"({', '.join(IMAGE_EXTENSIONS)})"
                + (f"; none of its {len(names)} could be read ({skipped[-1][1]})" if names else "")
            )

    try:
        stacked = np.stack(pictures)
        x = stacked[:, None] if channels == 1 else stacked.transpose(0, 3, 1, 2)
        x = x.astype(np.float32) / np.float32(255.0)
    except MemoryError as exc:
        raise DatasetError(f"not enough memory for {len(pictures):,} images of {size[0]}x{size[1]}") from exc
    y = np.asarray(labels, dtype=np.int64)
    classes = [d.name for d in class_dirs]
    name = os.path.basename(os.path.normpath(root))
    dataset = Dataset(x, y, classes, name=name, skipped=list(skipped))
    return dataset, skipped
