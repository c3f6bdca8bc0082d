"""The datasets a learner can train on, by name, and building the chosen one for a model.

    loaded = load_dataset(TrainSettings(dataset="digits"), input_shape=(1, 28, 28))
    loaded.train, loaded.val        # split with the settings' validation share and seed

Built-in sets are generated (``digits``, ``shapes``, ``colour_shapes``); the downloadable ones
(``mnist``, ``fashion``, ``kmnist``, ``cifar10``: :mod:`.remote`) are read from the folder the user
chose or, with no folder, from where :mod:`.download` keeps them; ``folder`` is an image folder
with one subfolder per class; ``captured`` are the samples recorded from the camera.

Runs in a worker thread in the app; every problem a user can cause is a ValueError (IDXError is
one) or an OSError, with a message that says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..settings import TrainSettings
from .cifar import load_cifar10_folder
from .colour_shapes import synthetic_colour_shapes
from .dataset import Dataset
from .digits import synthetic_digits
from .download import dataset_folder, missing_files
from .folders import load_image_folder
from .idx import load_mnist_folder
from .remote import CATALOG, remote_dataset
from .shapes import synthetic_shapes

__all__ = ["DATASETS", "SYNTHETIC_KINDS", "DOWNLOAD_KINDS", "LoadedDataset", "load_dataset", "captured_problem",
           "data_folder"]

DATASETS = {
    "digits": "Synthetic digits (built in)",
    "shapes": "Synthetic shapes (built in)",
    "colour_shapes": "Synthetic colour shapes (built in, RGB)",
    "mnist": "MNIST (download or folder)",
    "fashion": "Fashion-MNIST (download or folder)",
    "kmnist": "KMNIST (download or folder)",
    "cifar10": "CIFAR-10 (download or folder, RGB)",
    "folder": "Image folder (one subfolder per class)",
    "captured": "Captured from the camera",
}
SYNTHETIC_KINDS = ("digits", "shapes", "colour_shapes")
DOWNLOAD_KINDS = tuple(CATALOG)  # mnist, fashion, kmnist, cifar10


def data_folder(kind: str, path: str = "") -> str:
    """The folder a downloadable kind is read from: the chosen one, or the download folder."""
    return path or str(dataset_folder(kind))


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


@dataclass
class LoadedDataset:
    """A dataset and its split; ``skipped`` lists the files of a folder that could not be read."""

    dataset: Dataset
    train: Dataset
    val: Dataset
    settings: TrainSettings
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def captured_problem(y: np.ndarray | None, classes: list[str]) -> str:
    """Why captured samples cannot make a dataset ("" when they can)."""
    if len(classes) < 2:
        verb = "is" if len(classes) == 1 else "are"
        return f"capture samples of at least 2 classes (there {verb} {len(classes)})"
    counts = np.bincount(y, minlength=len(classes)) if y is not None and len(y) else np.zeros(len(classes), int)
    few = [f"{c!r} has {int(n)}" for c, n in zip(classes, counts, strict=True) if n < 2]
    if few:
        return f"every captured class needs at least 2 samples: {', '.join(few)}"
    return ""


def load_dataset(settings: TrainSettings, input_shape, captured=None) -> LoadedDataset:
    """Build the chosen dataset, shaped for a model input (C, H, W), and split it.

    ``captured`` is a snapshot (copies) of the captured samples ``(x, y, classes)`` for the
    "captured" kind."""
    s = settings
    skipped: list[tuple[str, str]] = []
    if s.dataset == "captured":
        x, y, classes = captured if captured is not None else (None, None, [])
        problem = captured_problem(y, list(classes))
        if problem:
            raise ValueError(problem)
        ds = Dataset(x, y, list(classes), "captured")
    elif s.dataset == "digits":
        ds = synthetic_digits(s.samples, seed=s.seed)
    elif s.dataset == "shapes":
        ds = synthetic_shapes(s.samples, seed=s.seed)
    elif s.dataset == "colour_shapes":
        ds = synthetic_colour_shapes(s.samples, seed=s.seed)
    elif s.dataset in DOWNLOAD_KINDS:
        ds = _downloaded(s.dataset, s.path)
    elif s.dataset == "folder":
        if not s.path:
            raise ValueError("choose a folder with one subfolder per class")
        size = tuple(input_shape[1:]) if len(input_shape) == 3 else (28, 28)
        channels = input_shape[0] if len(input_shape) == 3 else 1
        ds, skipped = load_image_folder(s.path, size=size, channels=channels)
    else:
        raise ValueError(f"unknown dataset {s.dataset!r}")
    train, val = ds.split(s.val_fraction, seed=s.seed)
    return LoadedDataset(ds, train, val, s, list(skipped))
