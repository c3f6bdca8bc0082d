"""Reading and writing IDX files (the format of MNIST and Fashion-MNIST).

An IDX file is: two zero bytes, a dtype code, the number of dimensions,
one big-endian uint32 per dimension, then the data in big-endian order.
Files may be gzip-compressed (detected by content, not by name).

Every problem -- missing file, broken gzip stream, bad header, wrong data
size, not enough memory -- is raised as :class:`IDXError` with a message
naming the file and the numbers involved.

Reading is bounded: only regular files are opened (a FIFO does not block),
their size is checked first, the header's data size is checked against
``MAX_DATA_BYTES`` before any data is read, and a gzip stream is inflated
in chunks into an array of exactly the declared size - a small file that
inflates to gigabytes (a gzip bomb) stops at the size its header declares
and is refused for the rest.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from math import prod

import numpy as np

from ..regular_files import FileRefused, open_regular
from ..sizes import format_bytes
from . import dataset as _dataset
from .dataset import Dataset, DatasetError

__all__ = [
    "IDXError",
    "read_idx",
    "write_idx",
    "load_mnist_folder",
    "MNIST_CLASSES",
    "FASHION_CLASSES",
    "KMNIST_CLASSES",
]

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
# Kuzushiji-MNIST's ten hiragana (its classmap.csv), romanised first so every font can show them
KMNIST_CLASSES = [
    "o (お)", "ki (き)", "su (す)", "tsu (つ)", "na (な)", "ha (は)", "ma (ま)", "ya (や)", "re (れ)", "wo (を)",
]

# Limits (module constants, read at call time, so a test can lower them).
MAX_DATA_BYTES = 2**30  # the data of one file (EMNIST's largest, 698,000 28x28 images, is 547 MB)
MAX_FILE_BYTES = MAX_DATA_BYTES + 2**20  # a raw file is its data and header; gzip adds little
MAX_TRAILING_BYTES = 1 << 26  # how far past the declared data a file is inflated to say how much is extra
MAX_DIMS = 4
_CHUNK = 1 << 18  # small steps: a gzip reader allocates one chunk of its own per step

_GZIP_MAGIC = b"\x1f\x8b"
_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _DTYPES.items()}


class IDXError(DatasetError):
    """An IDX file is missing, unreadable or malformed."""


def _read_exactly(f, count: int) -> bytes:
    """Read up to ``count`` bytes (fewer only at end of file); for headers."""
    chunks, remaining = [], count
    while remaining > 0:
        chunk = f.read(min(remaining, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_into(f, count: int) -> tuple[bytearray, int]:
    """Up to ``count`` bytes read (inflated) chunk by chunk into one buffer of that size; (buffer, filled).

    Memory grows only as data really arrives, and never past ``count``.
    """
    buffer = bytearray(count)
    view = memoryview(buffer)
    filled = 0
    while filled < count:
        n = f.readinto(view[filled:filled + _CHUNK])
        if not n:
            break
        filled += n
    return buffer, filled


def _count_rest(f, limit: int | None = None) -> tuple[int, bool]:
    """Count remaining bytes, stopping after ``limit``; returns (count, more)."""
    limit = MAX_TRAILING_BYTES if limit is None else limit
    count = 0
    while count <= limit:
        chunk = f.read(_CHUNK)
        if not chunk:
            return count, False
        count += len(chunk)
    return count, True


def _parse(f, name: str, file_size: int | None = None) -> np.ndarray:
    header = _read_exactly(f, 4)
    if len(header) < 4:
        raise IDXError(f"{name}: file is too short to be an IDX file ({len(header)} bytes)")
    if header[:2] != b"\x00\x00":
        raise IDXError(
            f"{name}: not an IDX file (magic number starts with "
            f"0x{header[0]:02x} 0x{header[1]:02x}, expected 0x00 0x00)"
        )
    code, ndim = header[2], header[3]
    if code not in _DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _DTYPES)
        raise IDXError(f"{name}: unknown IDX data type code 0x{code:02X} (known: {known})")
    if not 1 <= ndim <= MAX_DIMS:
        raise IDXError(f"{name}: header says {ndim} dimensions, ConvLab reads 1 to {MAX_DIMS}")

    dim_bytes = _read_exactly(f, 4 * ndim)
    if len(dim_bytes) < 4 * ndim:
        raise IDXError(
            f"{name}: file ends inside the header ({ndim} dimensions need "
            f"{4 + 4 * ndim} header bytes, the file has {4 + len(dim_bytes)})"
        )
    dims = struct.unpack(f">{ndim}I", dim_bytes)
    dtype = _DTYPES[code]
    expected = prod(dims) * dtype.itemsize
    factors = " x ".join(map(str, dims))
    if dtype.itemsize > 1:
        factors += f" x {dtype.itemsize} bytes"
    described = f"{factors} = {expected} bytes of data"
    if expected > MAX_DATA_BYTES:
        raise IDXError(
            f"{name}: header says {described}, more than ConvLab's limit of "
            f"{MAX_DATA_BYTES} bytes ({format_bytes(MAX_DATA_BYTES)})"
        )
    if file_size is not None and file_size < 4 + 4 * ndim + expected:
        raise IDXError(
            f"{name}: header says {described} but the file holds "
            f"{max(file_size - 4 - 4 * ndim, 0)} bytes (truncated?)"
        )

    data, filled = _read_into(f, expected)
    if filled < expected:
        raise IDXError(
            f"{name}: header says {described} but the file holds "
            f"{filled} bytes (truncated?)"
        )
    extra, more = _count_rest(f)
    if extra:
        amount = f"more than {extra}" if more else str(extra)
        raise IDXError(
            f"{name}: header says {described} but the file has {amount} "
            f"extra bytes after it (wrong header or not an IDX file?)"
        )
    array = np.frombuffer(data, dtype=dtype).reshape(dims)  # writable: it views our own buffer
    if not dtype.isnative:
        array.byteswap(inplace=True)  # native byte order without a second copy
    return array.view(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read a raw or gzip-compressed IDX file into a native-endian array."""
    name = os.path.basename(os.fspath(path)) or os.fspath(path)
    try:
        with open_regular(path, max_bytes=MAX_FILE_BYTES) as raw:
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            if compressed:
                with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                    return _parse(f, name)
            return _parse(raw, name, os.fstat(raw.fileno()).st_size)
    except FileRefused as exc:
        raise IDXError(f"{name}: not read: the file {exc}") from exc
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise IDXError(f"{name}: the gzip data is damaged ({exc})") from exc
    except OSError as exc:
        raise IDXError(f"{name}: could not read the file ({exc.strerror or exc})") from exc
    except MemoryError as exc:
        raise IDXError(f"{name}: not enough memory to read the file") from exc


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as IDX (gzip-compressed if ``path`` ends with .gz)."""
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise IDXError(f"IDX cannot store {array.dtype} data")
    if not 1 <= array.ndim <= MAX_DIMS:
        raise IDXError(f"IDX arrays need 1 to {MAX_DIMS} dimensions, got {array.ndim}")
    if any(d >= 2**32 for d in array.shape):
        raise IDXError(f"array dimensions {array.shape} are too large for IDX")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(_DTYPES[code], copy=False).tobytes()
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)


# ---------------------------------------------------------------------------
# MNIST-style folders
# ---------------------------------------------------------------------------

_PREFIX = {"train": "train", "test": "t10k"}


def _candidates(prefix: str, part: str, rank: int) -> list[str]:
    names = [f"{prefix}-{part}-idx{rank}-ubyte", f"{prefix}-{part}.idx{rank}-ubyte"]
    return names + [n + ".gz" for n in names]


def _find(folder: str, candidates: list[str]) -> str | None:
    """First existing candidate, compared case-insensitively."""
    by_lower: dict[str, str] = {}
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        raise IDXError(f"{os.path.basename(folder) or folder}: cannot list the folder "
                       f"({exc.strerror or exc})") from exc
    for entry in entries:
        by_lower.setdefault(entry.name.lower(), entry.path)  # read_idx says what a non-file is
    for candidate in candidates:
        if candidate.lower() in by_lower:
            return by_lower[candidate.lower()]
    return None


def load_mnist_folder(
    folder: str | os.PathLike, kind: str = "train", fashion: bool = False,
    title: str | None = None, classes: list[str] | None = None,
) -> Dataset:
    """Load the train or test part of an MNIST-style folder (MNIST, Fashion-MNIST, KMNIST).

    Looks for ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte``
    (``t10k-...`` for ``kind="test"``), also with ``.gz`` or the dotted
    ``train-images.idx3-ubyte`` spelling.  Pixels are scaled to [0, 1].
    ``title`` and ``classes`` name the set (default: MNIST's, or
    Fashion-MNIST's with ``fashion=True``).
    """
    if kind not in _PREFIX:
        raise ValueError(f"kind must be 'train' or 'test', got {kind!r}")
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise IDXError(f"{folder}: folder not found")
    prefix = _PREFIX[kind]
    image_names = _candidates(prefix, "images", 3)
    label_names = _candidates(prefix, "labels", 1)
    image_path = _find(folder, image_names)
    label_path = _find(folder, label_names)
    missing = [names for names, path in ((image_names, image_path), (label_names, label_path))
               if path is None]
    if missing:
        looked_for = "; ".join(" or ".join(names) for names in missing)
        raise IDXError(
            f"{os.path.basename(folder) or folder}: missing {kind} files "
            f"(looked for {looked_for})"
        )

    assert image_path is not None and label_path is not None
    images, labels = read_idx(image_path), read_idx(label_path)
    image_name, label_name = os.path.basename(image_path), os.path.basename(label_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise IDXError(
            f"{image_name}: expected N x height x width uint8 images, "
            f"got shape {images.shape} of {images.dtype}"
        )
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise IDXError(
            f"{label_name}: expected a 1-D list of integer labels, "
            f"got shape {labels.shape} of {labels.dtype}"
        )
    if len(images) != len(labels):
        raise IDXError(
            f"{image_name} has {len(images)} images but {label_name} has {len(labels)} labels"
        )
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise IDXError(f"{label_name}: labels must be 0..9, found {labels.min()}..{labels.max()}")

    need = images.size * 4
    if need > _dataset.MAX_DATASET_BYTES:
        raise IDXError(
            f"{image_name}: {len(images):,} images of {images.shape[1]}x{images.shape[2]} pixels need "
            f"{format_bytes(need)} as float32, more than the {format_bytes(_dataset.MAX_DATASET_BYTES)} "
            "a dataset may take"
        )
    try:
        x = (images.astype(np.float32) / np.float32(255.0))[:, None]
    except MemoryError as exc:
        raise IDXError(f"{image_name}: not enough memory for {len(images):,} images") from exc
    title = title or ("Fashion-MNIST" if fashion else "MNIST")
    classes = list(classes) if classes is not None else (FASHION_CLASSES if fashion else MNIST_CLASSES)
    return Dataset(x, labels.astype(np.int64), list(classes), name=f"{title} ({kind})")
