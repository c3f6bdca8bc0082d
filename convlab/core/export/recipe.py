"""What an exported model carries besides its weights: how it was trained, and on which data.

:class:`TrainingRecipe` holds the optimiser settings, :class:`DataRecipe` tells an exported
``train.py`` where its data is: the files of a downloaded set or a chosen folder (with the very
validation split ConvLab used, as indices), or, for data that exists only inside ConvLab (the
built-in synthetic sets, captured samples), the arrays themselves.

:class:`ExportRequest` bundles a model's spec and weights with both; :func:`request_from_session`
makes one from a saved ``.convlab`` lab.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..data.catalog import DATASETS, DOWNLOAD_KINDS, SYNTHETIC_KINDS, data_folder, load_dataset
from ..data.dataset import Dataset, split_indices
from ..data.remote import CATALOG
from ..layers import SpecError
from ..model import Sequential, build_layers
from ..settings import TrainSettings

__all__ = ["TrainingRecipe", "DataRecipe", "ExportRequest", "ExportError", "data_recipe", "request_from_session"]

OPTIMIZER_NAMES = ("sgd", "momentum", "adam")


class ExportError(ValueError):
    """A model or lab that cannot be exported; the message says why."""


@dataclass(frozen=True)
class TrainingRecipe:
    optimizer: str = "momentum"  # sgd | momentum (SGD, momentum 0.9) | adam
    lr: float = 0.05
    weight_decay: float = 0.0
    batch_size: int = 32
    epochs: int = 3
    seed: int = 0
    val_fraction: float = 0.15

    def __post_init__(self):
        if self.optimizer not in OPTIMIZER_NAMES:
            raise ExportError(f"unknown optimiser {self.optimizer!r} (known: {', '.join(OPTIMIZER_NAMES)})")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ExportError(f"the learning rate must be positive, got {self.lr}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ExportError(f"the validation share must lie between 0 and 1, got {self.val_fraction}")

    @classmethod
    def from_settings(cls, settings: dict) -> TrainingRecipe:
        """From a session's ``train_settings`` (unknown keys ignored, missing ones defaulted)."""
        keys = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in settings.items() if k in keys}
        if values.get("seed") is None:
            values["seed"] = 0
        return cls(**values)


@dataclass
class DataRecipe:
    """Where train.py finds its data.

    ``source`` is "idx" (an MNIST-style folder), "cifar10" (the binary release), "image_folder"
    (one subfolder per class) or "arrays" (the samples themselves, in ``arrays``: x_train,
    y_train, x_val, y_val as uint8 images and int64 labels). File sources carry ``val_indices``,
    the samples ConvLab kept for validation.
    """

    kind: str
    title: str
    classes: list[str]
    source: str
    input_shape: tuple[int, ...]
    folder: str = ""
    val_indices: np.ndarray | None = None
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    note: str = ""

    def describe(self) -> str:
        where = f" from {self.folder}" if self.folder else " (the samples are in data.safetensors)"
        return f"{self.title}{where}"


def _as_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def data_recipe(kind: str, *, path: str = "", samples: int = 6000, seed: int = 0, val_fraction: float = 0.15,
                input_shape: tuple = (1, 28, 28), dataset: Dataset | None = None) -> DataRecipe:
    """The data recipe of a lab's dataset settings.

    ``dataset`` is the whole dataset (before the split) when the caller already has it (the
    captured samples must be given this way); otherwise it is built here from the settings.
    """
    shape = tuple(int(v) for v in input_shape)
    label = DATASETS.get(kind, kind)
    if kind == "captured" and dataset is None:
        raise ExportError("the captured samples must be given to export them")
    if kind not in SYNTHETIC_KINDS and kind not in DOWNLOAD_KINDS and kind not in ("folder", "captured"):
        raise ExportError(f"unknown dataset {kind!r}")
    if dataset is None:
        settings = TrainSettings(dataset=kind, path=path, samples=samples, seed=seed, val_fraction=val_fraction)
        try:
            dataset = load_dataset(settings, shape).dataset
        except (ValueError, OSError) as e:
            raise ExportError(f"cannot read the dataset for train.py: {e}") from e
    train_idx, val_idx = split_indices(dataset.y, len(dataset.classes), val_fraction, seed)
    classes = list(dataset.classes)
    if kind in SYNTHETIC_KINDS or kind == "captured":
        arrays = {
            "x_train": _as_uint8(dataset.x[train_idx]), "y_train": dataset.y[train_idx].astype(np.int64),
            "x_val": _as_uint8(dataset.x[val_idx]), "y_val": dataset.y[val_idx].astype(np.int64),
        }
        note = "they exist only inside ConvLab, so they travel with the model, as 8-bit images"
        return DataRecipe(kind, dataset.name or label, classes, "arrays", tuple(dataset.input_shape),
                          arrays=arrays, note=note)
    if kind in DOWNLOAD_KINDS:
        remote = CATALOG[kind]
        source = "cifar10" if remote.reader == "cifar10" else "idx"
        return DataRecipe(kind, remote.title, classes, source, tuple(dataset.input_shape),
                          folder=data_folder(kind, path), val_indices=val_idx)
    return DataRecipe(kind, dataset.name or "image folder", classes, "image_folder", shape, folder=path,
                      val_indices=val_idx)


@dataclass
class ExportRequest:
    """A model to export: its spec, its weights ("0.weight" -> array), how and on what it trains."""

    spec: dict
    state: dict[str, np.ndarray]
    training: TrainingRecipe = field(default_factory=TrainingRecipe)
    data: DataRecipe | None = None
    name: str = "model"
    classes: list[str] | None = None

    def model(self) -> Sequential:
        """The engine's model with these weights; ExportError if the spec does not build."""
        try:
            m = Sequential.from_spec(self.spec, seed=0)
        except SpecError as e:
            raise ExportError(f"the model cannot be exported: {e}") from e
        if self.state:
            try:
                m.load_state_dict(self.state)
            except ValueError as e:
                raise ExportError(f"the weights do not fit the model: {e}") from e
        return m


def request_from_session(session, *, with_data: bool = True) -> ExportRequest:
    """The export request of a loaded :class:`convlab.core.session.Session`."""
    spec = session.model_spec
    if not isinstance(spec, dict):
        raise ExportError("the lab has no model to export")
    try:
        build_layers(spec)
    except SpecError as e:
        raise ExportError(f"the lab's model cannot be exported: {e}") from e
    training = TrainingRecipe.from_settings(session.train_settings)
    data = None
    shape = tuple(spec["input"])
    ds = session.dataset or {}
    kind = ds.get("kind", "digits")
    if with_data:
        given = None
        if kind == "captured":
            if session.captured_x is None or not len(session.captured_classes):
                raise ExportError("the lab trains on captured samples but holds none")
            given = Dataset(session.captured_x, session.captured_y, list(session.captured_classes), "captured samples")
        data = data_recipe(kind, path=ds.get("path", ""), samples=int(ds.get("samples", 6000)),
                           seed=training.seed, val_fraction=training.val_fraction, input_shape=shape, dataset=given)
    name = session.model_preset or "model"
    return ExportRequest(spec, dict(session.model_state), training, data, name,
                         data.classes if data is not None else None)
