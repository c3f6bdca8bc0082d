"""Tiny datasets in the real formats (gzip IDX, CIFAR-10's binary .tar.gz), made by the tests, and
catalogue entries that point at them (real entries with the files, checksums and mirrors swapped)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile

import numpy as np

from convlab.core.data.cifar import CIFAR10_FOLDER
from convlab.core.data.idx import write_idx
from convlab.core.data.remote import RemoteDataset, RemoteFile


def idx_gz(array: np.ndarray, tmp_path, name: str) -> bytes:
    path = tmp_path / name
    write_idx(path, array)
    return path.read_bytes()


def mnist_files(tmp_path, n_train=40, n_test=10, seed=0) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    files = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        files[f"{prefix}-images-idx3-ubyte.gz"] = idx_gz(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), tmp_path,
                                                        f"{prefix}-images-idx3-ubyte.gz")
        files[f"{prefix}-labels-idx1-ubyte.gz"] = idx_gz((np.arange(n) % 10).astype(np.uint8), tmp_path,
                                                        f"{prefix}-labels-idx1-ubyte.gz")
    return files


def cifar_batch(n: int, rng) -> bytes:
    records = np.empty((n, 3073), np.uint8)
    records[:, 0] = np.arange(n) % 10
    records[:, 1:] = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    return records.tobytes()


def cifar_archive(per_batch=6, seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin", "batches.meta.txt"]
        for name in names:
            data = b"airplane\n" if name.endswith(".txt") else cifar_batch(per_batch, rng)
            info = tarfile.TarInfo(f"{CIFAR10_FOLDER}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def fixture_dataset(base: RemoteDataset, files: dict[str, bytes], mirrors: list[str]) -> RemoteDataset:
    remote = tuple(RemoteFile(name, len(data), hashlib.sha256(data).hexdigest()) for name, data in files.items())
    return dataclasses.replace(base, files=remote, mirrors=tuple(mirrors))
