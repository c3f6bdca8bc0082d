"""In-memory labelled image dataset."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Dataset", "DatasetError", "MAX_DATASET_BYTES", "split_indices"]

#: the most memory a loaded dataset's float32 images may take (a module constant, read at call time)
MAX_DATASET_BYTES = 2_000_000_000


class DatasetError(ValueError):
    """A dataset could not be loaded: missing, unreadable, malformed or too large. Every loader in
    :mod:`convlab.core.data` raises this (or a subclass) for every problem a user can cause."""


@dataclass(eq=False)
class Dataset:
    """Images ``x`` (N, C, H, W) float32 with labels ``y`` (N,) int64.

    ``y[i]`` indexes ``classes``.  An empty dataset (N = 0) can be created,
    but splitting or batching it raises ``ValueError``.
    """

    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    classes: list[str]
    name: str = ""
    #: files a loader could not use, as (path, reason): listed for the user, not skipped silently
    skipped: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        x, y = self.x, self.y
        if not isinstance(x, np.ndarray) or x.ndim != 4:
            shape = getattr(x, "shape", type(x).__name__)
            raise ValueError(f"dataset images must be a 4-D (N, C, H, W) array, got {shape}")
        if x.dtype != np.float32:
            raise ValueError(f"dataset images must be float32, got {x.dtype}")
        if not isinstance(y, np.ndarray) or y.ndim != 1:
            shape = getattr(y, "shape", type(y).__name__)
            raise ValueError(f"dataset labels must be a 1-D (N,) array, got {shape}")
        if y.dtype != np.int64:
            raise ValueError(f"dataset labels must be int64, got {y.dtype}")
        if len(x) != len(y):
            raise ValueError(f"dataset has {len(x)} images but {len(y)} labels")
        self.classes = list(self.classes)
        if not self.classes:
            raise ValueError("dataset needs at least one class name")
        if not all(isinstance(c, str) for c in self.classes):
            raise ValueError("class names must be strings")
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"class names must be unique, got {self.classes}")
        if len(y) and (y.min() < 0 or y.max() >= len(self.classes)):
            raise ValueError(
                f"labels must be in 0..{len(self.classes) - 1} "
                f"({len(self.classes)} classes), found {y.min()}..{y.max()}"
            )

    def __len__(self) -> int:
        return len(self.y)

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, n={len(self)}, "
            f"input_shape={self.input_shape}, classes={self.classes})"
        )

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape of one image: (C, H, W)."""
        c, h, w = self.x.shape[1:]
        return int(c), int(h), int(w)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_counts(self) -> dict[str, int]:
        """Number of samples per class, in class order."""
        counts = np.bincount(self.y, minlength=len(self.classes))
        return {name: int(n) for name, n in zip(self.classes, counts, strict=True)}

    def _require_samples(self, what: str, minimum: int = 1) -> None:
        if len(self) < minimum:
            label = f"dataset {self.name!r}" if self.name else "the dataset"
            if len(self) == 0:
                raise ValueError(f"cannot {what}: {label} is empty")
            raise ValueError(
                f"cannot {what}: {label} has {len(self)} sample(s), needs at least {minimum}"
            )

    def subset(self, indices) -> Dataset:
        """A new dataset with the samples at ``indices`` (ints or a bool mask)."""
        indices = np.asarray(indices)
        if indices.dtype != bool and indices.size == 0:
            indices = indices.astype(np.int64)
        return Dataset(self.x[indices], self.y[indices], list(self.classes), self.name)

    def split(self, val_fraction: float = 0.1, seed: int = 0) -> tuple[Dataset, Dataset]:
        """Stratified random split into ``(train, val)``.

        Each class contributes about ``val_fraction`` of its samples to the
        validation set; both parts are guaranteed to be non-empty.  Samples
        keep their original order within each part.
        """
        self._require_samples("split", minimum=2)
        train_idx, val_idx = split_indices(self.y, len(self.classes), val_fraction, seed)
        return self.subset(train_idx), self.subset(val_idx)

    def normalized(
        self, mean: float | None = None, std: float | None = None
    ) -> tuple[Dataset, float, float]:
        """Return ``((x - mean) / std, mean, std)`` with scalar mean and std.

        Missing values are computed from this dataset (use the training
        set's values for validation/test data).  A zero std is replaced by 1.
        """
        if mean is None or std is None:
            self._require_samples("compute normalisation statistics")
        if mean is None:
            mean = float(self.x.mean(dtype=np.float64))
        if std is None:
            std = float(self.x.std(dtype=np.float64))
            if std < 1e-8:
                std = 1.0
        if not std > 0:
            raise ValueError(f"std must be positive, got {std}")
        x = ((self.x - np.float32(mean)) / np.float32(std)).astype(np.float32, copy=False)
        return Dataset(x, self.y.copy(), list(self.classes), self.name), float(mean), float(std)

    def batches(
        self,
        batch_size: int,
        shuffle: bool = True,
        rng: np.random.Generator | int | None = None,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Iterate over ``(xb, yb)`` mini-batches; the last one may be smaller.

        ``rng`` is a numpy Generator or a seed (only used when shuffling).
        Arguments are checked immediately, not at the first ``next()``.
        """
        is_int = isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool)
        if not is_int or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self._require_samples("make batches")
        if shuffle:
            order = np.random.default_rng(rng).permutation(len(self))
        else:
            order = None
        return self._iter_batches(int(batch_size), order)

    def _iter_batches(self, batch_size: int, order: np.ndarray | None):
        for start in range(0, len(self), batch_size):
            if order is None:
                yield self.x[start:start + batch_size], self.y[start:start + batch_size]
            else:
                idx = order[start:start + batch_size]
                yield self.x[idx], self.y[idx]


def split_indices(y: np.ndarray, num_classes: int, val_fraction: float = 0.1,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The sorted ``(train, val)`` indices of :meth:`Dataset.split` for labels ``y``.

    Kept apart so that an exported training script can be given the very same split.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(
            f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}"
        )
    n, k = len(y), num_classes
    if n < 2:
        raise ValueError(f"cannot split {n} sample(s): needs at least 2")
    rng = np.random.default_rng(seed)

    # Validation quota per class: floor of the exact share, then hand out
    # the remaining places by largest remainder (ties broken at random).
    counts = np.bincount(y, minlength=k)
    exact = counts * val_fraction
    quota = np.floor(exact).astype(np.int64)
    target = int(np.clip(round(n * val_fraction), 1, n - 1))
    extra = target - int(quota.sum())
    if extra > 0:
        remainder = np.where(counts > quota, exact - quota, -1.0)
        order = np.lexsort((rng.random(k), -remainder))
        quota[order[:extra]] += 1

    # Shuffle, group by class, and send the first `quota` of each class to val.
    perm = rng.permutation(n)
    grouped = perm[np.argsort(y[perm], kind="stable")]
    labels = y[grouped]
    class_start = np.cumsum(counts) - counts
    rank = np.arange(n) - class_start[labels]
    is_val = rank < quota[labels]
    train_idx = np.sort(grouped[~is_val])
    val_idx = np.sort(grouped[is_val])
    return train_idx, val_idx
