"""Safe image decoding and small conversions.

Everything here works on plain numpy arrays in **RGB** channel order
(OpenCV's BGR order never leaks out of this module):

* gray images are ``(H, W)`` uint8,
* colour images are ``(H, W, 3)`` uint8 RGB,
* images with transparency are ``(H, W, 4)`` uint8 RGBA.

Decoding is defensive: the pixel count is checked from the file header
before any pixel memory is allocated (PNG, JPEG, BMP, WebP), so a tiny file
claiming to be 100000 x 100000 pixels is rejected instead of exhausting
memory.  Every problem is reported as :class:`ImageError` with a message
that names the image.

EXIF orientation tags are ignored: pixels are returned as stored.
"""

from __future__ import annotations

import os
import struct

import cv2
import numpy as np

__all__ = [
    "IMAGE_SUFFIXES",
    "image_file_filter",
    "ImageError",
    "decode_image",
    "read_image",
    "to_gray",
    "to_rgb",
    "downscale_to_fit",
    "encode_png",
    "colorize",
]

DEFAULT_MAX_PIXELS = 50_000_000
#: the file suffixes ConvLab offers for images (file dialogs, image folders, datasets)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def image_file_filter(extra: str = "") -> str:
    """The file-dialog filter for images (``extra``: a filter put first, e.g. sessions)."""
    patterns = " ".join(f"*{s}" for s in IMAGE_SUFFIXES)
    return (extra + ";;" if extra else "") + f"Images ({patterns});;All files (*)"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImageError(ValueError):
    """An image could not be read, decoded or is unreasonably large."""


# ---------------------------------------------------------------------------
# Header sniffing (cheap size checks before decoding)
# ---------------------------------------------------------------------------

def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] != _PNG_SIGNATURE or len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _bmp_size(data: bytes) -> tuple[int, int] | None:
    if data[:2] != b"BM" or len(data) < 26:
        return None
    (header_size,) = struct.unpack("<I", data[14:18])
    if header_size == 12:  # old OS/2 BITMAPCOREHEADER: 16-bit sizes
        width, height = struct.unpack("<HH", data[18:22])
    else:
        width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)  # negative height means top-down rows


# JPEG start-of-frame markers carry the image size (C4, C8, CC are not SOFs).
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    for _ in range(10_000):  # real files reach the frame header much sooner
        if pos + 4 > len(data):
            return None
        if data[pos] != 0xFF:
            return None  # not at a marker: leave it to the decoder
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD9:  # markers without payload
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if marker in _JPEG_SOF:
            if pos + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return width, height
        pos += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":  # extended format: 24-bit (size - 1) values
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L":  # lossless: two 14-bit (size - 1) values
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":  # lossy: two 14-bit sizes after the frame tag
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) announced by the file header, or None if unknown."""
    for sniff in (_png_size, _jpeg_size, _bmp_size, _webp_size):
        size = sniff(data)
        if size is not None:
            return size
    return None


def _check_pixel_count(width: int, height: int, max_pixels: int, name: str) -> None:
    if width * height > max_pixels:
        raise ImageError(
            f"{name} is {width} x {height} pixels "
            f"({width * height / 1e6:.1f} megapixels), more than the limit of "
            f"{max_pixels / 1e6:g} megapixels"
        )


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------

def _to_uint8(img: np.ndarray, name: str) -> np.ndarray:
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        # round(v / 257) maps 0..65535 exactly onto 0..255
        return ((img.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if img.dtype in (np.float32, np.float64):
        scaled = np.clip(np.nan_to_num(img), 0.0, 1.0) * 255.0 + 0.5
        return scaled.astype(np.uint8)
    raise ImageError(f"{name} uses an unsupported pixel type ({img.dtype})")


def _to_rgb_order(img: np.ndarray, name: str) -> np.ndarray:
    if img.ndim == 2:
        return img
    if img.ndim == 3:
        channels = img.shape[2]
        if channels == 1:
            return img[:, :, 0]
        if channels == 3:
            return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        if channels == 4:
            return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    raise ImageError(f"{name} has an unsupported layout {img.shape}")


def decode_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, name: str = "image"
) -> np.ndarray:
    """Decode encoded image bytes to a uint8 gray, RGB or RGBA array.

    16-bit images are scaled to 8 bit; float images are clipped to [0, 1]
    and scaled to 0..255.  Raises :class:`ImageError` for empty, unreadable
    or oversized images.
    """
    if not data:
        raise ImageError(f"{name} is empty")
    size = _header_size(data)
    if size is not None:
        _check_pixel_count(size[0], size[1], max_pixels, name)
    try:
        img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        img = None
    if img is None or img.size == 0:
        if size is not None:  # the header was readable: the rest of the file is not
            raise ImageError(
                f"{name} starts like a {size[0]}x{size[1]} image but cannot be decoded: "
                "the file is truncated or damaged"
            )
        raise ImageError(
            f"{name} is not an image ConvLab can read (PNG, JPEG, BMP, TIFF, WebP)"
        )
    _check_pixel_count(img.shape[1], img.shape[0], max_pixels, name)
    return _to_rgb_order(_to_uint8(img, name), name)


def read_image(path: str | os.PathLike, **kwargs) -> np.ndarray:
    """Read and decode an image file (any file name, including non-ASCII).

    Keyword arguments are passed to :func:`decode_image`; ``name`` defaults
    to the file name.
    """
    kwargs.setdefault("name", os.path.basename(os.fspath(path)) or os.fspath(path))
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ImageError(f"could not read {kwargs['name']}: {reason}") from exc
    return decode_image(data, **kwargs)


# ---------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------

def _check_image(img: np.ndarray) -> None:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
        raise ValueError("expected a uint8 numpy image")
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (1, 3, 4))):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got {img.shape}")


def to_rgb(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB: gray is replicated, alpha is composited over white."""
    _check_image(img)
    if img.ndim == 2 or img.shape[2] == 1:
        return cv2.cvtColor(img.reshape(img.shape[:2]), cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 3:
        return img
    rgb = img[:, :, :3].astype(np.float32)
    alpha = img[:, :, 3:].astype(np.float32) / 255.0
    out = rgb * alpha + 255.0 * (1.0 - alpha)
    return (out + 0.5).astype(np.uint8)


def to_gray(img: np.ndarray) -> np.ndarray:
    """(H, W) luminance (0.299 R + 0.587 G + 0.114 B).

    Transparent images are first composited over white (see :func:`to_rgb`),
    so a black drawing on a transparent background stays black on white.
    """
    _check_image(img)
    if img.ndim == 2:
        return img
    if img.shape[2] == 1:
        return img[:, :, 0]
    return cv2.cvtColor(to_rgb(img), cv2.COLOR_RGB2GRAY)


def downscale_to_fit(img: np.ndarray, max_side: int) -> tuple[np.ndarray, bool]:
    """Shrink ``img`` (keeping its aspect ratio) so neither side exceeds
    ``max_side``.  Returns ``(image, scaled)``; small images are returned as is.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, got {max_side}")
    height, width = img.shape[:2]
    if max(height, width) <= max_side:
        return img, False
    scale = max_side / max(height, width)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(img, new_size, interpolation=cv2.INTER_AREA), True


def colorize(values: np.ndarray, levels: tuple[float, float], table: np.ndarray) -> np.ndarray:
    """Map values to colours: ``levels = (lo, hi)`` spread over the rows of ``table``, a
    (256, 3) uint8 colour table; below ``lo`` is row 0, from ``hi`` on row 255 (NaN: row 0).

    The row of a value v is floor(256 (v - lo) / (hi - lo)), clipped to 0..255, the rule
    pyqtgraph's ImageItem uses (one row up in the last 1/1024 of a row).  Returns
    (H, W) uint8 gray when the table is gray (all three columns equal), else (H, W, 3) RGB.

    The drawing views hand the result to pyqtgraph as it is: two vectorised OpenCV passes, where
    pyqtgraph would rescale in numpy and rebuild a 256-entry Qt colour table in Python for every
    image on every frame.
    """
    table = np.asarray(table)
    if table.shape != (256, 3) or table.dtype != np.uint8:
        raise ValueError(f"expected a (256, 3) uint8 colour table, got {table.shape} {table.dtype}")
    v = np.asarray(values)
    if v.ndim != 2:
        raise ValueError(f"expected an (H, W) array of values, got shape {v.shape}")
    gray = bool(np.array_equal(table[:, 0], table[:, 1]) and np.array_equal(table[:, 0], table[:, 2]))
    if v.size == 0:
        return np.zeros(v.shape if gray else v.shape + (3,), np.uint8)
    if v.dtype not in (np.uint8, np.float32, np.float64):
        v = v.astype(np.float32)
    lo, hi = float(levels[0]), float(levels[1])
    scale = 256.0 / ((hi - lo) or 1.0)
    # the floor above as one saturating, rounding pass: round(u - 0.5 + 1/1024) = floor(u) for
    # u = 256 (v - lo) / (hi - lo), exact for whole u (integer images), and within the last
    # 1/1024 of a row one row up
    index = cv2.addWeighted(v, scale, v, 0.0, -lo * scale - 0.5 + 1 / 1024, dtype=cv2.CV_8U)
    if gray:
        return cv2.LUT(index, table[:, 0].copy())
    return cv2.LUT(cv2.merge((index, index, index)), table.reshape(1, 256, 3))


def encode_png(img: np.ndarray) -> bytes:
    """Encode a uint8 gray/RGB/RGBA image as PNG bytes."""
    _check_image(img)
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA)
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise ImageError("could not encode the image as PNG")
    return buf.tobytes()
