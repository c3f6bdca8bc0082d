"""Tests for convlab.core.data: Dataset, synthetic datasets, image folders."""

import os

import cv2
import numpy as np
import pytest

from convlab.core.data import (
    DIGIT_CLASSES,
    SHAPE_CLASSES,
    Dataset,
    load_image_folder,
    synthetic_digits,
    synthetic_shapes,
)


def make_dataset(n=50, classes=5, shape=(1, 4, 4), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, *shape), dtype=np.float32)
    y = (np.arange(n) % classes).astype(np.int64)
    return Dataset(x, y, [f"c{i}" for i in range(classes)], name="toy")


# --- Dataset validation ------------------------------------------------------

def test_dataset_basics():
    ds = make_dataset(n=12, classes=3, shape=(3, 5, 6))
    assert len(ds) == 12
    assert ds.input_shape == (3, 5, 6)
    assert ds.num_classes == 3
    assert ds.class_counts() == {"c0": 4, "c1": 4, "c2": 4}
    assert "n=12" in repr(ds)


@pytest.mark.parametrize("x, y, classes, message", [
    (np.zeros((4, 8, 8), np.float32), np.zeros(4, np.int64), ["a"], "4-D"),
    (np.zeros((4, 1, 8, 8), np.float64), np.zeros(4, np.int64), ["a"], "float32"),
    (np.zeros((4, 1, 8, 8), np.float32), np.zeros((4, 1), np.int64), ["a"], "1-D"),
    (np.zeros((4, 1, 8, 8), np.float32), np.zeros(4, np.int32), ["a"], "int64"),
    (np.zeros((4, 1, 8, 8), np.float32), np.zeros(3, np.int64), ["a"], "4 images but 3 labels"),
    (np.zeros((2, 1, 8, 8), np.float32), np.array([0, 2]), ["a", "b"], "labels must be in 0..1"),
    (np.zeros((2, 1, 8, 8), np.float32), np.array([0, -1]), ["a", "b"], "labels must be in"),
    (np.zeros((2, 1, 8, 8), np.float32), np.zeros(2, np.int64), [], "at least one class"),
    (np.zeros((2, 1, 8, 8), np.float32), np.zeros(2, np.int64), ["a", "a"], "unique"),
])
def test_dataset_validation(x, y, classes, message):
    with pytest.raises(ValueError, match=message):
        Dataset(x, y, classes)


def test_empty_dataset_allowed_but_not_batched_or_split():
    ds = Dataset(np.zeros((0, 1, 4, 4), np.float32), np.zeros(0, np.int64), ["a"], name="nothing")
    assert len(ds) == 0
    assert ds.class_counts() == {"a": 0}
    with pytest.raises(ValueError, match="'nothing' is empty"):
        ds.batches(8)
    with pytest.raises(ValueError, match="empty"):
        ds.split()
    with pytest.raises(ValueError, match="empty"):
        ds.normalized()


# --- split -------------------------------------------------------------------

def test_split_is_stratified_disjoint_and_seeded():
    ds = make_dataset(n=100, classes=5)
    train, val = ds.split(0.2, seed=3)
    assert len(train) == 80 and len(val) == 20
    assert val.class_counts() == {f"c{i}": 4 for i in range(5)}
    # disjoint and complete: compare rows as bytes
    rows = {x.tobytes() for x in ds.x}
    train_rows = {x.tobytes() for x in train.x}
    val_rows = {x.tobytes() for x in val.x}
    assert not train_rows & val_rows and train_rows | val_rows == rows
    again_train, again_val = ds.split(0.2, seed=3)
    assert np.array_equal(again_val.x, val.x)
    other_train, other_val = ds.split(0.2, seed=4)
    assert not np.array_equal(other_val.x, val.x)
    assert train.classes == ds.classes and val.name == "toy"


def test_split_keeps_both_parts_non_empty():
    ds = make_dataset(n=3, classes=3)
    for fraction in (0.01, 0.5, 0.99):
        train, val = ds.split(fraction)
        assert len(train) >= 1 and len(val) >= 1 and len(train) + len(val) == 3


def test_split_uneven_classes_total_matches():
    y = np.array([0] * 7 + [1] * 2 + [2] * 1, np.int64)
    ds = Dataset(np.zeros((10, 1, 2, 2), np.float32), y, ["a", "b", "c"])
    train, val = ds.split(0.3)
    assert len(val) == 3 and len(train) == 7


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="val_fraction"):
        make_dataset().split(fraction)


def test_split_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        make_dataset(n=1, classes=1).split()


# --- subset / normalized / batches -------------------------------------------

def test_subset_with_indices_and_mask():
    ds = make_dataset(n=10, classes=2)
    sub = ds.subset([3, 1])
    assert np.array_equal(sub.x, ds.x[[3, 1]]) and sub.y.tolist() == [1, 1]
    masked = ds.subset(ds.y == 0)
    assert len(masked) == 5 and (masked.y == 0).all()
    assert len(ds.subset([])) == 0


def test_normalized():
    ds = make_dataset(n=40)
    norm, mean, std = ds.normalized()
    assert norm.x.dtype == np.float32
    assert abs(norm.x.mean()) < 1e-5 and abs(norm.x.std() - 1) < 1e-4
    assert mean == pytest.approx(float(ds.x.mean()), rel=1e-6)
    other, mean2, std2 = make_dataset(n=10, seed=1).normalized(mean, std)
    assert (mean2, std2) == (mean, std)
    assert np.allclose(other.x, (make_dataset(n=10, seed=1).x - mean) / std, atol=1e-6)
    assert np.array_equal(ds.x, make_dataset(n=40).x)  # original untouched


def test_normalized_constant_images_and_bad_std():
    ds = Dataset(np.full((3, 1, 2, 2), 0.5, np.float32), np.zeros(3, np.int64), ["a"])
    norm, mean, std = ds.normalized()
    assert std == 1.0 and np.allclose(norm.x, 0)
    with pytest.raises(ValueError, match="std"):
        ds.normalized(0.0, 0.0)


def test_batches_cover_everything_once():
    ds = make_dataset(n=23)
    batches = list(ds.batches(5, rng=0))
    assert [len(yb) for _, yb in batches] == [5, 5, 5, 5, 3]
    xs = np.concatenate([xb for xb, _ in batches])
    ys = np.concatenate([yb for _, yb in batches])
    assert xs.shape == (23, 1, 4, 4) and ys.dtype == np.int64
    order = np.lexsort(xs.reshape(23, -1).T)
    ref = np.lexsort(ds.x.reshape(23, -1).T)
    assert np.array_equal(xs[order], ds.x[ref]) and np.array_equal(ys[order], ds.y[ref])
    assert not np.array_equal(xs, ds.x)  # shuffled


def test_batches_seeded_and_unshuffled():
    ds = make_dataset(n=20)
    a = [yb for _, yb in ds.batches(6, rng=1)]
    b = [yb for _, yb in ds.batches(6, rng=np.random.default_rng(1))]
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    plain = list(ds.batches(6, shuffle=False))
    assert np.array_equal(plain[0][0], ds.x[:6])
    assert np.array_equal(np.concatenate([yb for _, yb in plain]), ds.y)


@pytest.mark.parametrize("size", [0, -3, 2.5, True])
def test_batches_reject_bad_size(size):
    with pytest.raises(ValueError, match="batch_size"):
        make_dataset().batches(size)


# --- synthetic digits / shapes -----------------------------------------------

@pytest.fixture(scope="module")
def digits():
    return synthetic_digits(n=500, seed=7)


def test_digits_conventions(digits):
    assert digits.x.shape == (500, 1, 28, 28) and digits.x.dtype == np.float32
    assert digits.y.dtype == np.int64
    assert digits.classes == DIGIT_CLASSES == [str(d) for d in range(10)]
    assert digits.x.min() >= 0.0 and digits.x.max() <= 1.0
    assert set(digits.class_counts().values()) == {50}


def test_digits_look_like_mnist(digits):
    images = digits.x[:, 0]
    # mostly dark background, bright strokes, ink centred in the frame
    assert (np.median(images, axis=(1, 2)) < 0.1).all()
    assert (images.max(axis=(1, 2)) > 0.7).all()
    assert images[:, :3, :].mean() < 0.05 and images[:, :, -3:].mean() < 0.05
    mass = images.sum(axis=(0, 1))
    centre = (mass * np.arange(28)).sum() / mass.sum()
    assert 12.5 < centre < 14.5


def test_digits_deterministic_and_seed_dependent(digits):
    again = synthetic_digits(n=500, seed=7)
    assert np.array_equal(again.x, digits.x) and np.array_equal(again.y, digits.y)
    other = synthetic_digits(n=500, seed=8)
    assert not np.array_equal(other.x, digits.x)


def test_digits_other_size_and_odd_count():
    ds = synthetic_digits(n=23, seed=1, size=32)
    assert ds.x.shape == (23, 1, 32, 32)
    counts = list(ds.class_counts().values())
    assert max(counts) - min(counts) <= 1 and sum(counts) == 23


def test_shapes_conventions():
    ds = synthetic_shapes(n=120, seed=2)
    assert ds.x.shape == (120, 1, 28, 28) and ds.x.dtype == np.float32
    assert ds.classes == SHAPE_CLASSES and len(SHAPE_CLASSES) == 6
    assert set(ds.class_counts().values()) == {20}
    assert ds.x.min() >= 0.0 and ds.x.max() <= 1.0
    assert (ds.x.max(axis=(1, 2, 3)) > 0.5).all()
    again = synthetic_shapes(n=120, seed=2)
    assert np.array_equal(again.x, ds.x) and np.array_equal(again.y, ds.y)
    # filled discs carry more ink than rings on average
    ink = ds.x.sum(axis=(1, 2, 3))
    assert ink[ds.y == 0].mean() > ink[ds.y == 5].mean()


@pytest.mark.parametrize("factory", [synthetic_digits, synthetic_shapes])
def test_synthetic_rejects_bad_arguments(factory):
    with pytest.raises(ValueError):
        factory(n=-1)
    with pytest.raises(ValueError):
        factory(n=10, size=4)


# --- image folders -----------------------------------------------------------

def _write_png(path, img):
    ok, buf = cv2.imencode(".png", img)
    assert ok
    path.write_bytes(buf.tobytes())


@pytest.fixture
def image_root(tmp_path):
    root = tmp_path / "bilder"
    for name, value in [("katze", 40), ("hund", 200)]:
        (root / name).mkdir(parents=True)
        for i in range(3):
            _write_png(root / name / f"{i}.png", np.full((40, 30, 3), value, np.uint8))
    # extras that must be ignored or skipped
    (root / "katze" / "notes.txt").write_text("not an image")
    (root / "katze" / ".hidden.png").write_bytes(b"junk")
    (root / "katze" / "kaputt.png").write_bytes(b"this is no png")
    (root / ".thumbnails").mkdir()
    return root


def test_load_image_folder(image_root):
    ds, skipped = load_image_folder(image_root)
    assert ds.classes == ["hund", "katze"]
    assert ds.x.shape == (6, 1, 28, 28) and ds.x.dtype == np.float32
    assert ds.class_counts() == {"hund": 3, "katze": 3}
    assert np.allclose(ds.x[ds.y == 0], 200 / 255) and np.allclose(ds.x[ds.y == 1], 40 / 255)
    assert ds.name == "bilder"
    assert len(skipped) == 1
    path, reason = skipped[0]
    assert path.endswith("kaputt.png") and "not an image" in reason


def test_load_image_folder_rgb_size_and_limit(image_root):
    ds, _ = load_image_folder(image_root, size=(16, 12), channels=3, max_per_class=2)
    assert ds.x.shape == (4, 3, 16, 12)
    assert ds.class_counts() == {"hund": 2, "katze": 2}


def test_load_image_folder_errors(tmp_path, image_root):
    with pytest.raises(ValueError, match="not found"):
        load_image_folder(tmp_path / "missing")
    (tmp_path / "flat").mkdir()
    with pytest.raises(ValueError, match="no class subfolders"):
        load_image_folder(tmp_path / "flat")
    (image_root / "leer").mkdir()
    with pytest.raises(ValueError, match="'leer' has no readable images"):
        load_image_folder(image_root)
    with pytest.raises(ValueError, match="channels"):
        load_image_folder(image_root, channels=2)


# --- folder datasets: what cannot be read is listed; only DatasetError comes out ----------------

def _png(path, value=128, shape=(6, 5)):
    ok, buf = cv2.imencode(".png", np.full(shape, value, np.uint8))
    path.write_bytes(buf.tobytes())


def _two_classes(root):
    for name in ("cat", "dog"):
        (root / name).mkdir()
        for i in range(2):
            _png(root / name / f"{i}.png", value=40 * i)
    return root


def test_unreadable_files_of_a_folder_dataset_are_listed_with_the_dataset(tmp_path):
    root = _two_classes(tmp_path)
    (root / "cat" / "broken.png").write_bytes(b"not a picture")
    (root / "dog" / "folder.png").mkdir()
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "dog" / "pipe.jpg")
    (root / "dog" / "notes.txt").write_text("not an image name: ignored")
    dataset, skipped = load_image_folder(root, size=(4, 4))
    assert len(dataset) == 4 and dataset.skipped == skipped
    reasons = {os.path.basename(p): why for p, why in skipped}
    assert "broken.png is not an image ConvLab can read" in reasons["broken.png"]
    assert "is a folder" in reasons["folder.png"]
    if hasattr(os, "mkfifo"):
        assert "is a FIFO" in reasons["pipe.jpg"]
    assert "notes.txt" not in reasons


def test_an_opencv_error_while_loading_is_a_listed_file_not_an_escape(tmp_path, monkeypatch):
    from convlab.core.data import folders

    root = _two_classes(tmp_path)
    real_resize = folders.cv2.resize
    calls = []

    def resize(img, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise folders.cv2.error("resize fell over")
        return real_resize(img, *args, **kwargs)

    monkeypatch.setattr(folders.cv2, "resize", resize)
    dataset, skipped = load_image_folder(root, size=(4, 4))
    assert len(dataset) == 3 and len(skipped) == 1 and "could not be resized to 4x4" in skipped[0][1]


def test_a_folder_that_cannot_be_listed_is_a_dataset_error(tmp_path, monkeypatch):
    from convlab.core.data import folders
    from convlab.core.data.dataset import DatasetError

    root = _two_classes(tmp_path)
    real_scandir = os.scandir

    def scandir(path):
        if os.path.basename(path) == "dog":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(folders.os, "scandir", scandir)
    with pytest.raises(DatasetError, match="cannot list the folder .*dog: Permission denied"):
        load_image_folder(root)


def test_a_folder_dataset_too_large_is_refused_before_reading_an_image(tmp_path, monkeypatch):
    from convlab.core.data import dataset as dataset_module
    from convlab.core.data import folders

    root = _two_classes(tmp_path)
    monkeypatch.setattr(dataset_module, "MAX_DATASET_BYTES", 1000, raising=False)
    monkeypatch.setattr(folders.images, "read_image", lambda *a, **k: pytest.fail("an image was read"))
    with pytest.raises(ValueError, match=r"4 images of 3x32x32 need 49.2 KB as float32, more than the 1 KB"):
        load_image_folder(root, size=(32, 32), channels=3)
