"""Tests for convlab.core.data.idx (IDX files and MNIST folders)."""

import gzip
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convlab.core.data import FASHION_CLASSES, IDXError, load_mnist_folder, read_idx, write_idx


def idx_bytes(code: int, dims, payload: bytes) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + payload


# --- valid files -------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_uint8_images_and_labels(tmp_path, suffix):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.arange(5, dtype=np.uint8)
    write_idx(tmp_path / f"img{suffix}", images)
    write_idx(tmp_path / f"lab{suffix}", labels)
    assert np.array_equal(read_idx(tmp_path / f"img{suffix}"), images)
    assert np.array_equal(read_idx(tmp_path / f"lab{suffix}"), labels)
    raw = (tmp_path / f"img{suffix}").read_bytes()
    assert raw[:2] == (b"\x1f\x8b" if suffix else b"\x00\x00")


def test_hand_written_header_is_big_endian(tmp_path):
    path = tmp_path / "t"
    path.write_bytes(idx_bytes(0x0B, [2], struct.pack(">hh", 258, -2)))
    array = read_idx(path)
    assert array.tolist() == [258, -2]
    assert array.dtype == np.int16 and array.dtype.isnative


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_every_dtype_round_trips(tmp_path, dtype, suffix):
    rng = np.random.default_rng(1)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        array = rng.integers(info.min, info.max, (3, 4, 2), dtype=dtype, endpoint=True)
    else:
        array = rng.normal(size=(3, 4, 2)).astype(dtype)
    path = tmp_path / f"a{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert np.array_equal(back, array)
    back[0, 0, 0] = 0  # writable


def test_gzip_detected_by_content_not_name(tmp_path):
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    gz_without_suffix = tmp_path / "data-idx2-ubyte"
    gz_without_suffix.write_bytes(gzip.compress(idx_bytes(0x08, [2, 3], array.tobytes())))
    assert np.array_equal(read_idx(gz_without_suffix), array)
    raw_with_suffix = tmp_path / "raw.gz"
    raw_with_suffix.write_bytes(idx_bytes(0x08, [2, 3], array.tobytes()))
    assert np.array_equal(read_idx(raw_with_suffix), array)


def test_write_idx_rejects_unsupported(tmp_path):
    with pytest.raises(IDXError, match="int64"):
        write_idx(tmp_path / "x", np.zeros(3, np.int64))
    with pytest.raises(IDXError, match="dimensions"):
        write_idx(tmp_path / "x", np.zeros((1,) * 5, np.uint8))


# --- broken files ------------------------------------------------------------

def _write(tmp_path, data: bytes, name="train-images-idx3-ubyte"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_truncated_data(tmp_path):
    path = _write(tmp_path, idx_bytes(0x08, [60000, 28, 28], bytes(1000)))
    with pytest.raises(IDXError) as info:
        read_idx(path)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message
    assert "60000 x 28 x 28 = 47040000 bytes" in message
    assert "1000 bytes (truncated?)" in message


def test_truncated_multi_byte_data(tmp_path):
    path = _write(tmp_path, idx_bytes(0x0C, [10], bytes(12)))
    with pytest.raises(IDXError, match="10 x 4 bytes = 40 bytes .* 12 bytes"):
        read_idx(path)


def test_trailing_bytes(tmp_path):
    path = _write(tmp_path, idx_bytes(0x08, [2, 2], bytes(4) + b"extra"))
    with pytest.raises(IDXError, match="5 extra bytes"):
        read_idx(path)


@pytest.mark.parametrize("data, message", [
    (b"", "too short"),
    (b"\x00\x00", "too short"),
    (b"\x89PNG\r\n\x1a\n", "not an IDX file .*0x89 0x50"),
    (bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 0]), "unknown IDX data type code 0x0A"),
    (bytes([0, 0, 0x08, 0]), "0 dimensions"),
    (bytes([0, 0, 0x08, 9]), "9 dimensions"),
    (bytes([0, 0, 0x08, 3, 0, 0, 0, 5]), "ends inside the header"),
])
def test_bad_headers(tmp_path, data, message):
    with pytest.raises(IDXError, match=message):
        read_idx(_write(tmp_path, data, name="broken"))


def test_absurd_size_rejected(tmp_path):
    path = _write(tmp_path, idx_bytes(0x0E, [65535, 65535, 65535], b""))
    with pytest.raises(IDXError, match="limit"):
        read_idx(path)


def test_garbage_gzip(tmp_path):
    with pytest.raises(IDXError, match="gzip"):
        read_idx(_write(tmp_path, b"\x1f\x8b" + b"garbage" * 10, name="x.gz"))
    good = gzip.compress(idx_bytes(0x08, [100], bytes(range(100))))
    with pytest.raises(IDXError, match="x.gz"):
        read_idx(_write(tmp_path, good[: len(good) // 2], name="x.gz"))
    corrupted = bytearray(good)
    corrupted[-6] ^= 0xFF  # CRC / length trailer
    with pytest.raises(IDXError):
        read_idx(_write(tmp_path, bytes(corrupted), name="x.gz"))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(IDXError, match="nope"):
        read_idx(tmp_path / "nope")
    with pytest.raises(IDXError):
        read_idx(tmp_path)


# --- fuzzing -----------------------------------------------------------------

_VALID = idx_bytes(0x0B, [3, 2], struct.pack(">6h", 1, -2, 3, -4, 5, -6))


def _only_idx_errors(tmp_path, data: bytes):
    path = tmp_path / "fuzz"
    path.write_bytes(data)
    try:
        result = read_idx(path)
    except IDXError:
        return
    assert isinstance(result, np.ndarray)


_settings = settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


@_settings
@given(st.binary(max_size=64))
def test_fuzz_random_bytes(tmp_path, data):
    _only_idx_errors(tmp_path, data)
    _only_idx_errors(tmp_path, b"\x00\x00" + data)
    _only_idx_errors(tmp_path, b"\x1f\x8b" + data)


@_settings
@given(st.integers(0, len(_VALID)), st.integers(0, len(_VALID) - 1), st.integers(0, 255),
       st.booleans())
def test_fuzz_truncated_and_mutated_valid_file(tmp_path, cut, pos, value, compress):
    mutated = bytearray(_VALID)
    mutated[pos] = value
    for data in (_VALID[:cut], bytes(mutated)):
        _only_idx_errors(tmp_path, gzip.compress(data)[: cut + 20] if compress else data)


# --- MNIST folders -----------------------------------------------------------

def _mnist_folder(folder, prefix="train", n=20, gz=False, dotted=False):
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    sep = "." if dotted else "-"
    suffix = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images{sep}idx3-ubyte{suffix}", images)
    write_idx(folder / f"{prefix}-labels{sep}idx1-ubyte{suffix}", labels)
    return images, labels


@pytest.mark.parametrize("gz, dotted", [(False, False), (True, False), (False, True), (True, True)])
def test_load_mnist_folder(tmp_path, gz, dotted):
    images, labels = _mnist_folder(tmp_path / "mnist", gz=gz, dotted=dotted)
    ds = load_mnist_folder(tmp_path / "mnist")
    assert ds.x.shape == (20, 1, 28, 28) and ds.x.dtype == np.float32
    assert np.allclose(ds.x[:, 0] * 255, images)
    assert ds.y.dtype == np.int64 and np.array_equal(ds.y, labels)
    assert ds.classes == [str(d) for d in range(10)]
    assert "MNIST" in ds.name


def test_load_mnist_test_part_and_fashion(tmp_path):
    _mnist_folder(tmp_path, prefix="t10k", n=10, gz=True)
    ds = load_mnist_folder(tmp_path, kind="test", fashion=True)
    assert len(ds) == 10
    assert ds.classes == FASHION_CLASSES and ds.classes[9] == "Ankle boot"
    assert "Fashion-MNIST" in ds.name
    with pytest.raises(IDXError, match="train-images-idx3-ubyte"):
        load_mnist_folder(tmp_path, kind="train")
    with pytest.raises(ValueError, match="kind"):
        load_mnist_folder(tmp_path, kind="validation")


def test_load_mnist_missing_files(tmp_path):
    with pytest.raises(IDXError, match="not found"):
        load_mnist_folder(tmp_path / "absent")
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(IDXError) as info:
        load_mnist_folder(tmp_path)
    message = str(info.value)
    assert "train-labels-idx1-ubyte" in message and "train-labels-idx1-ubyte.gz" in message
    assert "train-images" not in message


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((3, 28, 28), np.uint8), np.zeros(2, np.uint8), "3 images but .* 2 labels"),
    (np.zeros((3, 784), np.uint8), np.zeros(3, np.uint8), "N x height x width"),
    (np.zeros((3, 28, 28), np.float32), np.zeros(3, np.uint8), "uint8"),
    (np.zeros((3, 28, 28), np.uint8), np.zeros((3, 1), np.uint8), "1-D"),
    (np.zeros((3, 28, 28), np.uint8), np.array([0, 1, 12], np.uint8), "0..9"),
])
def test_load_mnist_inconsistent_files(tmp_path, images, labels, message):
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    with pytest.raises(IDXError, match=message):
        load_mnist_folder(tmp_path)


# --- gzip bombs and memory -------------------------------------------------------


def _gzip_stream(path, header: bytes, zeros: int):
    """A gzip file of ``header`` and ``zeros`` zero bytes, compressed without holding them in memory."""
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(header)
        chunk = bytes(1 << 20)
        for _ in range(zeros >> 20):
            f.write(chunk)
        f.write(bytes(zeros & ((1 << 20) - 1)))
    return path


def _idx_header(*dims):
    return bytes([0, 0, 0x08, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


def test_a_gzip_bomb_stops_at_the_declared_size(tmp_path):
    # the header declares 1,000 images; the stream inflates to 80 MB (an 80 KB file)
    path = _gzip_stream(tmp_path / "train-images-idx3-ubyte.gz", _idx_header(1000, 28, 28), 80_000_000)
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(IDXError, match=r"more than 67\d{6} extra bytes"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000


def test_a_header_declaring_more_than_the_limit_is_refused_before_inflating(tmp_path):
    # 8192 images of 512 x 512: 2 GiB, which the old 2 GiB limit let through (10 GB as a dataset)
    path = _gzip_stream(tmp_path / "bomb.gz", _idx_header(8192, 512, 512), 1000)
    with pytest.raises(IDXError, match=r"2147483648 bytes of data, more than ConvLab's limit of 1073741824 bytes"):
        read_idx(path)


def test_reading_needs_no_more_memory_than_the_data(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, (2000, 32, 32), dtype=np.uint8)  # 2 MB
    for name in ("big.idx", "big.idx.gz"):
        write_idx(tmp_path / name, data)
        tracemalloc.start()
        try:
            back = read_idx(tmp_path / name)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        np.testing.assert_array_equal(back, data)
        assert back.flags.writeable
        assert peak < 1.5 * data.nbytes, f"{name}: {peak:,} bytes at the peak for {data.nbytes:,} of data"


def test_multi_byte_data_is_native_and_writable_without_a_copy(tmp_path):
    data = np.arange(-500, 500, dtype=np.int32).reshape(10, 100)
    write_idx(tmp_path / "ints.idx", data)
    back = read_idx(tmp_path / "ints.idx")
    assert back.dtype == np.dtype("int32") and back.dtype.isnative and back.flags.writeable
    np.testing.assert_array_equal(back, data)


def test_a_dataset_too_large_as_float32_is_refused_before_converting(tmp_path, monkeypatch):
    from convlab.core.data import dataset as dataset_module

    monkeypatch.setattr(dataset_module, "MAX_DATASET_BYTES", 100_000, raising=False)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((100, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(100, np.uint8))
    with pytest.raises(IDXError, match=r"100 images of 28x28 pixels need 314 KB as float32, more than the 100 KB"):
        load_mnist_folder(tmp_path)
