"""The CIFAR-10 binary reader: the archive, an unpacked folder, and every way a file can be wrong."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest

from convlab.core.data.cifar import (
    CIFAR10_ARCHIVE,
    CIFAR10_CLASSES,
    CIFAR10_FOLDER,
    RECORD,
    TEST_BATCHES,
    TRAIN_BATCHES,
    CIFARError,
    load_cifar10_folder,
    read_cifar_batch,
)


def batch(n: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    records = np.empty((n, RECORD), np.uint8)
    records[:, 0] = np.arange(n) % 10
    records[:, 1:] = rng.integers(0, 256, (n, RECORD - 1), dtype=np.uint8)
    return records.tobytes()


def write_folder(folder, n=4):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(TRAIN_BATCHES + TEST_BATCHES):
        (folder / name).write_bytes(batch(n, seed=i))


def test_a_record_is_label_then_red_green_blue_planes():
    rec = np.zeros(RECORD, np.uint8)
    rec[0] = 7
    rec[1] = 10  # red, row 0, column 0
    rec[1 + 1024 + 33] = 20  # green, row 1, column 1
    rec[1 + 2048 + 1023] = 30  # blue, row 31, column 31
    images, labels = read_cifar_batch(rec.tobytes(), "one")
    assert images.shape == (1, 3, 32, 32) and labels.tolist() == [7]
    assert images[0, 0, 0, 0] == 10 and images[0, 1, 1, 1] == 20 and images[0, 2, 31, 31] == 30


def test_bad_batches_are_refused_with_the_numbers():
    with pytest.raises(CIFARError, match="empty"):
        read_cifar_batch(b"", "data_batch_1.bin")
    with pytest.raises(CIFARError) as info:
        read_cifar_batch(batch(2) + b"xyz", "data_batch_1.bin")
    assert "6,149 bytes" in str(info.value) and "3,073-byte records" in str(info.value)
    bad = bytearray(batch(3))
    bad[RECORD] = 12
    with pytest.raises(CIFARError, match="record 1 has label 12"):
        read_cifar_batch(bytes(bad), "test_batch.bin")


def test_unpacked_folder_and_flat_folder_both_read(tmp_path):
    write_folder(tmp_path / "a" / CIFAR10_FOLDER)
    write_folder(tmp_path / "b")
    for root in (tmp_path / "a", tmp_path / "b"):
        train = load_cifar10_folder(root, "train")
        test = load_cifar10_folder(root, "test")
        assert train.x.shape == (20, 3, 32, 32) and len(test) == 4
        assert train.classes == CIFAR10_CLASSES and train.name == "CIFAR-10 (train)"


def test_missing_and_damaged_files_name_what_is_wrong(tmp_path):
    with pytest.raises(CIFARError, match="folder not found"):
        load_cifar10_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CIFARError, match="no CIFAR-10 files"):
        load_cifar10_folder(tmp_path / "empty")
    (tmp_path / "cut").mkdir()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        data = batch(5)
        info = tarfile.TarInfo(f"{CIFAR10_FOLDER}/data_batch_1.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (tmp_path / "cut" / CIFAR10_ARCHIVE).write_bytes(out.getvalue()[: len(out.getvalue()) // 2])
    with pytest.raises(CIFARError, match="damaged or incomplete"):
        load_cifar10_folder(tmp_path / "cut")
    (tmp_path / "short").mkdir()
    (tmp_path / "short" / CIFAR10_ARCHIVE).write_bytes(out.getvalue())
    with pytest.raises(CIFARError, match="has no data_batch_2.bin"):
        load_cifar10_folder(tmp_path / "short")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / CIFAR10_ARCHIVE).write_bytes(b"not a tar at all")
    with pytest.raises(CIFARError, match="damaged"):
        load_cifar10_folder(tmp_path / "junk")


def test_archive_members_are_never_written_to_disk(tmp_path):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name in TRAIN_BATCHES + TEST_BATCHES + ("../../evil.bin",):
            data = batch(2)
            info = tarfile.TarInfo(f"{CIFAR10_FOLDER}/{name}" if not name.startswith("..") else name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / CIFAR10_ARCHIVE).write_bytes(out.getvalue())
    assert len(load_cifar10_folder(tmp_path / "d")) == 10
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [CIFAR10_ARCHIVE]
    assert not (tmp_path / "evil.bin").exists()
