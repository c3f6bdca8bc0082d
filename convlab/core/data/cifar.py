"""Reading CIFAR-10 from its *binary* release (never the pickled Python one).

The binary release ``cifar-10-binary.tar.gz`` holds ``cifar-10-batches-bin/data_batch_1.bin`` to
``data_batch_5.bin`` (training, 10,000 images each) and ``test_batch.bin``. Every record is 3,073
bytes: one label byte (0-9), then 1,024 red, 1,024 green and 1,024 blue values of a 32x32 image,
row by row.

The reader takes the archive itself (it is read as a stream: nothing is unpacked to disk), the
unpacked ``cifar-10-batches-bin`` folder, or a folder holding the ``.bin`` files. Every problem is a
:class:`CIFARError` naming the file and the numbers.
"""

from __future__ import annotations

import os
import tarfile
import zlib

import numpy as np

from ..sizes import format_bytes
from . import dataset as _dataset
from .dataset import Dataset, DatasetError

__all__ = [
    "CIFARError",
    "CIFAR10_CLASSES",
    "CIFAR10_ARCHIVE",
    "CIFAR10_FOLDER",
    "TRAIN_BATCHES",
    "TEST_BATCHES",
    "read_cifar_batch",
    "load_cifar10_folder",
]

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz"
CIFAR10_FOLDER = "cifar-10-batches-bin"
TRAIN_BATCHES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_BATCHES = ("test_batch.bin",)

SIDE = 32
RECORD = 1 + 3 * SIDE * SIDE  # 3,073 bytes
MAX_BATCH_BYTES = 64 * 2**20  # a real batch is 30,730,000 bytes


class CIFARError(DatasetError):
    """A CIFAR-10 file or folder that is missing, unreadable or malformed."""


def read_cifar_batch(data: bytes, name: str = "batch") -> tuple[np.ndarray, np.ndarray]:
    """One batch file's bytes as ``(images (N, 3, 32, 32) uint8, labels (N,) int64)``."""
    if len(data) == 0:
        raise CIFARError(f"{name}: the file is empty")
    if len(data) % RECORD:
        raise CIFARError(
            f"{name}: {len(data):,} bytes is not a whole number of {RECORD:,}-byte records "
            f"({len(data) // RECORD:,} records and {len(data) % RECORD:,} bytes over): not a CIFAR-10 batch"
        )
    records = np.frombuffer(data, np.uint8).reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise CIFARError(f"{name}: record {bad} has label {labels[bad]}, CIFAR-10 labels are 0-9")
    images = records[:, 1:].reshape(-1, 3, SIDE, SIDE).copy()
    return images, labels


def _read_file(path: str, name: str) -> bytes:
    try:
        size = os.path.getsize(path)
        if size > MAX_BATCH_BYTES:
            raise CIFARError(f"{name}: {size:,} bytes is more than a CIFAR-10 batch can be ({MAX_BATCH_BYTES:,})")
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CIFARError(f"{name}: could not read the file ({e.strerror or e})") from e


def _batches_from_archive(path: str, wanted: tuple[str, ...]) -> dict[str, bytes]:
    """The wanted batch files, read straight from the .tar.gz (no member is written to disk)."""
    archive = os.path.basename(path)
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if base not in wanted or not member.isfile():
                    continue
                if member.size > MAX_BATCH_BYTES:
                    raise CIFARError(f"{archive}: {member.name} is {member.size:,} bytes, too large for a batch")
                f = tar.extractfile(member)
                if f is None:
                    continue
                found[base] = f.read()
                if len(found) == len(wanted):
                    break
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise CIFARError(f"{archive}: the archive is damaged or incomplete ({e})") from e
    return found


def _find_batches(folder: str, wanted: tuple[str, ...]) -> dict[str, bytes]:
    archive = os.path.join(folder, CIFAR10_ARCHIVE)
    for candidate in (os.path.join(folder, CIFAR10_FOLDER), folder):
        paths = {n: os.path.join(candidate, n) for n in wanted}
        if all(os.path.isfile(p) for p in paths.values()):
            return {n: _read_file(p, n) for n, p in paths.items()}
    if os.path.isfile(archive):
        found = _batches_from_archive(archive, wanted)
        missing = [n for n in wanted if n not in found]
        if missing:
            raise CIFARError(f"{CIFAR10_ARCHIVE}: the archive has no {', '.join(missing)}")
        return found
    raise CIFARError(
        f"{os.path.basename(folder) or folder}: no CIFAR-10 files (looked for {CIFAR10_ARCHIVE}, "
        f"a {CIFAR10_FOLDER} folder or {', '.join(wanted)})"
    )


def load_cifar10_folder(folder: str | os.PathLike, kind: str = "train") -> Dataset:
    """The training (50,000) or test (10,000) part of CIFAR-10, scaled to [0, 1], (N, 3, 32, 32)."""
    if kind not in ("train", "test"):
        raise ValueError(f"kind must be 'train' or 'test', got {kind!r}")
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise CIFARError(f"{folder}: folder not found")
    wanted = TRAIN_BATCHES if kind == "train" else TEST_BATCHES
    raw = _find_batches(folder, wanted)
    parts = [read_cifar_batch(raw.pop(n), n) for n in wanted]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    need = images.size * 4
    if need > _dataset.MAX_DATASET_BYTES:
        raise CIFARError(f"CIFAR-10 ({kind}): {len(images):,} images need {format_bytes(need)} as float32, more "
                         f"than the {format_bytes(_dataset.MAX_DATASET_BYTES)} a dataset may take")
    try:
        x = images.astype(np.float32)
    except MemoryError as e:
        raise CIFARError(f"CIFAR-10 ({kind}): not enough memory for {len(images):,} images") from e
    np.divide(x, np.float32(255), out=x)
    return Dataset(x, labels, list(CIFAR10_CLASSES), name=f"CIFAR-10 ({kind})")
