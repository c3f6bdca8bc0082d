"""The safetensors file format, written and read with NumPy: tensors and nothing that runs.

A file is an 8-byte little-endian header length, a JSON header naming every tensor's dtype, shape
and byte range (plus an optional ``__metadata__`` of strings), then the raw little-endian bytes.
This is the format of the ``safetensors`` package (``safetensors.torch.load_file`` reads these
files); it is small enough to write here, so ConvLab needs no extra dependency, and reading it
can never execute code (unlike a pickle).
"""

from __future__ import annotations

import json
import math
import os
import struct

import numpy as np

__all__ = ["SafetensorsError", "save_safetensors", "load_safetensors", "DTYPES"]

DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U8": np.dtype("u1"), "U16": np.dtype("<u2"), "U32": np.dtype("<u4"), "U64": np.dtype("<u8"),
    "BOOL": np.dtype("?"),
}
_CODES: dict[np.dtype, str] = {dt.newbyteorder("="): code for code, dt in DTYPES.items()}
MAX_HEADER = 100 * 2**20


class SafetensorsError(ValueError):
    """A safetensors file that is malformed, or an array that cannot be stored in one."""


def save_safetensors(path: str | os.PathLike, tensors: dict[str, np.ndarray],
                     metadata: dict[str, str] | None = None) -> None:
    """Write ``tensors`` (name -> array) to ``path`` (via a temporary file, then renamed)."""
    header: dict = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise SafetensorsError("safetensors metadata must map strings to strings")
        header["__metadata__"] = dict(metadata)
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = np.asarray(tensors[name])
        code = _CODES.get(a.dtype.newbyteorder("="))
        if code is None or name == "__metadata__":
            raise SafetensorsError(f"cannot store {name!r} of dtype {a.dtype} in a safetensors file")
        data = np.ascontiguousarray(a, dtype=DTYPES[code]).tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    path = os.fspath(path)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def load_safetensors(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file: ``(name -> array, metadata)``; any problem is a SafetensorsError."""
    name = os.path.basename(os.fspath(path))
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise SafetensorsError(f"{name}: cannot read the file ({e.strerror or e})") from e
    if len(raw) < 8:
        raise SafetensorsError(f"{name}: {len(raw)} bytes is too short for a safetensors file")
    (size,) = struct.unpack("<Q", raw[:8])
    if size > MAX_HEADER or 8 + size > len(raw):
        raise SafetensorsError(f"{name}: the header claims {size:,} bytes, the file has {len(raw) - 8:,} after "
                               "its length: not a safetensors file, or a truncated one")
    try:
        header = json.loads(raw[8:8 + size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise SafetensorsError(f"{name}: the header is not valid JSON ({e})") from e
    if not isinstance(header, dict):
        raise SafetensorsError(f"{name}: the header must be a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SafetensorsError(f"{name}: __metadata__ must map strings to strings")
    data = memoryview(raw)[8 + size:]
    out = {}
    for key, entry in header.items():
        if not isinstance(entry, dict):
            raise SafetensorsError(f"{name}: entry {key!r} is not an object")
        dtype = DTYPES.get(str(entry.get("dtype")))
        shape = entry.get("shape")
        offsets = entry.get("data_offsets")
        if dtype is None:
            raise SafetensorsError(f"{name}: {key} has dtype {entry.get('dtype')!r}, which this reader does not know "
                                   f"(known: {', '.join(DTYPES)})")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise SafetensorsError(f"{name}: {key} has an invalid shape {shape!r}")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(o, int) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= len(data)):
            raise SafetensorsError(f"{name}: {key} points at bytes {offsets!r}, outside the {len(data):,} bytes "
                                   "of data")
        need = math.prod(shape) * dtype.itemsize
        if offsets[1] - offsets[0] != need:
            raise SafetensorsError(f"{name}: {key} is {'x'.join(map(str, shape)) or 'a scalar'} {entry['dtype']} "
                                   f"({need:,} bytes) but holds {offsets[1] - offsets[0]:,} bytes")
        a = np.frombuffer(data[offsets[0]:offsets[1]], dtype=dtype).reshape(shape)
        out[key] = a.astype(dtype.newbyteorder("="), copy=True)
    return out, dict(metadata)
