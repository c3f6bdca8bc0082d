"""The kinds of dataset a lab trains on, by the name its settings and sessions use.

    ds = build_dataset("cifar10", path="", samples=6000, seed=0, input_shape=(3, 32, 32))

Built-in sets are generated (``digits``, ``shapes``, ``colour_shapes``); the downloadable ones
(``mnist``, ``fashion``, ``kmnist``, ``cifar10``) are read from the folder the user chose or, with
no folder, from where :mod:`.download` keeps them; ``folder`` is an image folder with one subfolder
per class. The "captured" kind (samples recorded from the camera) lives with the GUI that holds them.
"""

from __future__ import annotations

import os

from .remote import CATALOG, remote_dataset
from .cifar import load_cifar10_folder
from .colour_shapes import synthetic_colour_shapes
from .dataset import Dataset
from .digits import synthetic_digits
from .download import dataset_folder, missing_files
from .folders import load_image_folder
from .idx import load_mnist_folder
from .shapes import synthetic_shapes

__all__ = ["SYNTHETIC_KINDS", "DOWNLOAD_KINDS", "KIND_LABELS", "build_dataset", "data_folder", "synthetic_dataset"]

SYNTHETIC_KINDS = ("digits", "shapes", "colour_shapes")
DOWNLOAD_KINDS = tuple(CATALOG)  # mnist, fashion, kmnist, cifar10

KIND_LABELS = {
    "digits": "Synthetic digits (built in)",
    "shapes": "Synthetic shapes (built in)",
    "colour_shapes": "Synthetic colour shapes (built in, RGB)",
    "mnist": "MNIST (download or folder)",
    "fashion": "Fashion-MNIST (download or folder)",
    "kmnist": "KMNIST (download or folder)",
    "cifar10": "CIFAR-10 (download or folder, RGB)",
    "folder": "Image folder (one subfolder per class)",
}


def synthetic_dataset(kind: str, samples: int, seed: int) -> Dataset:
    if kind == "digits":
        return synthetic_digits(samples, seed=seed)
    if kind == "shapes":
        return synthetic_shapes(samples, seed=seed)
    if kind == "colour_shapes":
        return synthetic_colour_shapes(samples, seed=seed)
    raise ValueError(f"{kind!r} is not a built-in dataset (built in: {', '.join(SYNTHETIC_KINDS)})")


def data_folder(kind: str, path: str = "") -> str:
    """The folder a downloadable kind is read from: the chosen one, or the download folder."""
    return path or os.fspath(dataset_folder(kind))


def _downloaded(kind: str, path: str) -> Dataset:
    remote = remote_dataset(kind)
    folder = data_folder(kind, path)
    if not path:
        missing = missing_files(remote, folder)
        if missing:
            raise ValueError(
                f"{remote.title} is not downloaded yet ({len(missing)} of {len(remote.files)} files missing in "
                f"{folder}): Download it (Training panel, or python -m convlab.data download {kind}), or choose "
                f"the folder that holds {remote.files_text()}"
            )
    if remote.reader == "cifar10":
        return load_cifar10_folder(folder, "train")
    return load_mnist_folder(folder, "train", title=remote.title, classes=list(remote.classes))


def build_dataset(kind: str, path: str = "", samples: int = 6000, seed: int = 0,
                  input_shape: tuple = (1, 28, 28)) -> Dataset:
    """The whole dataset of one kind (before the train / validation split).

    ``input_shape`` (C, H, W) is what an image folder is converted to; the other kinds have
    their own shape. Problems are ``ValueError`` (``IDXError``, ``CIFARError``) with the reason.
    """
    if kind in SYNTHETIC_KINDS:
        return synthetic_dataset(kind, samples, seed)
    if kind in DOWNLOAD_KINDS:
        return _downloaded(kind, path)
    if kind == "folder":
        if not path:
            raise ValueError("choose a folder with one subfolder per class")
        size = tuple(input_shape[1:]) if len(input_shape) == 3 else (28, 28)
        channels = input_shape[0] if len(input_shape) == 3 else 1
        ds, _skipped = load_image_folder(path, size=size, channels=channels)
        return ds
    raise ValueError(f"unknown dataset {kind!r} (known: {', '.join(KIND_LABELS)}, captured)")
