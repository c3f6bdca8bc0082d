"""Safe image decoding and small conversions.

Everything here works on plain numpy arrays in **RGB** channel order
(OpenCV's BGR order never leaks out of this module):

* gray images are ``(H, W)`` uint8,
* colour images are ``(H, W, 3)`` uint8 RGB,
* images with transparency are ``(H, W, 4)`` uint8 RGBA.

Decoding is defensive. Before ``cv2.imdecode`` sees a byte, the format is identified by content
(never by the file name) and its header is read by :mod:`convlab.core.image_headers`, for every
format OpenCV decodes (PNG, JPEG, BMP, TIFF, WebP, GIF, PBM/PGM/PPM, PAM, PFM, Radiance HDR, Sun
raster, JPEG 2000, OpenEXR); formats that cannot be sized first are refused. The pixel count and
the memory the decode needs are checked against limits, so a tiny file claiming to be 100000 x
100000 pixels is rejected before any pixel memory exists. Files are opened only if they are
regular files (a FIFO called ``photo.png`` does not block), their size is checked before they are
read, and :func:`image_info` reads only the header. Every problem is an :class:`ImageError`
whose message names the image.

For the GUI, decoding off its thread::

    info = image_info(path)     # cheap: format, size, channels, bit depth, bytes a decode needs
    if info.big:                # more than BIG_DECODE_BYTES: decode in a worker, with a progress
        ...                     # indicator; read_image(path) is a plain function
    image = read_image(path)

EXIF orientation tags are ignored: pixels are returned as stored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from .image_headers import Blob, HeaderError, ImageHeader, read_header
from .regular_files import FileRefused, open_regular
from .sizes import format_bytes

__all__ = [
    "IMAGE_SUFFIXES",
    "image_file_filter",
    "ImageError",
    "ImageInfo",
    "image_info",
    "decode_image",
    "read_image",
    "to_gray",
    "to_rgb",
    "downscale_to_fit",
    "encode_png",
    "colorize",
    "DEFAULT_MAX_PIXELS",
    "MAX_DECODE_BYTES",
    "check_limits",
    "MAX_IMAGE_FILE_BYTES",
    "BIG_DECODE_BYTES",
]

# Limits (module constants, read at call time, so a test can lower them).
DEFAULT_MAX_PIXELS = 50_000_000
#: the most memory one decode may need (the decoder's array and buffers and the 8-bit result):
#: a 50-megapixel 16-bit RGBA PNG needs 0.8 GB, a 50-megapixel float TIFF 1.1 GB
MAX_DECODE_BYTES = 2_000_000_000
#: the largest image file read (a 50-megapixel uncompressed 16-bit RGBA TIFF is 400 MB)
MAX_IMAGE_FILE_BYTES = 1_000_000_000
#: a decoder's array of more than this many bytes takes long enough to make (a tenth of a second
#: and more: 0.8 s for a 3000 x 3000 16-bit RGBA PNG, 7.5 s for 7000 x 7000) that the GUI should
#: decode it in a worker with a progress indicator: see ImageInfo.big. A 12-megapixel RGB photo
#: (36 MB, under 0.1 s) is not big.
BIG_DECODE_BYTES = 40_000_000

#: the file suffixes ConvLab offers for images (file dialogs, image folders, datasets); the
#: content decides the format when a file is read (image_headers), not the suffix
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def image_file_filter(extra: str = "") -> str:
    """The file-dialog filter for images (``extra``: a filter put first, e.g. sessions)."""
    patterns = " ".join(f"*{s}" for s in IMAGE_SUFFIXES)
    return (extra + ";;" if extra else "") + f"Images ({patterns});;All files (*)"


class ImageError(ValueError):
    """An image could not be read, decoded or is unreasonably large."""


@dataclass(frozen=True)
class ImageInfo:
    """What decoding an image will give and cost, read from its header alone (:func:`image_info`).

    ``channels`` is what :func:`decode_image` returns (1 gray, 3 RGB, 4 RGBA); ``bit_depth`` the
    bits per sample as decoded (8, 16, 32 or 64; ``floating`` for float samples, which are scaled
    to 8 bit); ``file_bytes`` the encoded size; ``decoded_bytes`` the size of the array OpenCV
    decodes into; ``peak_bytes`` an upper estimate of the memory the whole decode needs at its
    peak (that array, the decoder's own buffers and the 8-bit RGB result), which MAX_DECODE_BYTES
    bounds.
    """

    format: str
    width: int
    height: int
    channels: int
    bit_depth: int
    floating: bool
    file_bytes: int
    decoded_bytes: int
    peak_bytes: int

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def big(self) -> bool:
        """True when decoding should run off the GUI thread (more than BIG_DECODE_BYTES)."""
        return self.decoded_bytes > BIG_DECODE_BYTES

    def __str__(self) -> str:
        kind = "float" if self.floating else "bit"
        return (f"{self.format}, {self.width} x {self.height}, {self.channels} channel"
                f"{'s' if self.channels != 1 else ''} of {self.bit_depth}-{kind} samples")


def _info(header: ImageHeader, file_bytes: int) -> ImageInfo:
    result = header.pixels * header.channels  # the uint8 image decode_image returns
    peak = header.decoded_bytes + header.work_bytes
    if header.bits != 8:
        peak += result  # the 8-bit copy
    if header.channels > 1:
        peak += result  # BGR -> RGB
    return ImageInfo(header.format, header.width, header.height, header.channels, header.bits,
                     header.floating, file_bytes, header.decoded_bytes, peak)


def _read_info(blob: Blob, name: str) -> ImageInfo:
    if blob.size == 0:
        raise ImageError(f"{name} is empty")
    try:
        return _info(read_header(blob), blob.size)
    except HeaderError as exc:
        raise ImageError(f"{name} {exc}") from exc
    except OSError as exc:
        raise ImageError(f"could not read {name}: {exc.strerror or exc}") from exc


def _name_of(path: str | os.PathLike) -> str:
    return os.path.basename(os.fspath(path)) or os.fspath(path)


def _open(path: str | os.PathLike, name: str):
    try:
        return open_regular(path, max_bytes=MAX_IMAGE_FILE_BYTES)
    except FileRefused as exc:
        raise ImageError(f"{name} {exc}") from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ImageError(f"could not read {name}: {reason}") from exc


def image_info(source: bytes | str | os.PathLike, *, name: str | None = None) -> ImageInfo:
    """Format, size, channels, bit depth and decode memory of an image, from its header alone.

    ``source`` is the encoded bytes or a path (a regular file; only the header is read, at most a
    few kilobytes for most formats). Raises :class:`ImageError` for a file that is not an image
    ConvLab reads, a damaged header, a FIFO or device, or a file over MAX_IMAGE_FILE_BYTES. The
    size limits are not applied here: :func:`decode_image` and :func:`read_image` apply them.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _read_info(Blob.of_bytes(bytes(source)), name or "image")
    name = name or _name_of(source)
    with _open(source, name) as f:
        return _read_info(Blob.of_file(f, os.fstat(f.fileno()).st_size), name)


def _check_limits(info: ImageInfo, max_pixels: int, max_bytes: int, name: str) -> None:
    width, height = info.width, info.height
    if width * height > max_pixels:
        raise ImageError(
            f"{name} is {width} x {height} pixels "
            f"({width * height / 1e6:.1f} megapixels), more than the limit of "
            f"{max_pixels / 1e6:g} megapixels"
        )
    if info.peak_bytes > max_bytes:
        raise ImageError(f"{name} ({info}) needs about {format_bytes(info.peak_bytes)} to decode, more than "
                         f"the limit of {format_bytes(max_bytes)}")


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------

def check_limits(info: ImageInfo, name: str = "the image") -> None:
    """ImageError when decoding ``info``'s image would pass the pixel or memory limits (what
    read_image would refuse), so a caller can refuse before handing the decode to a thread."""
    _check_limits(info, DEFAULT_MAX_PIXELS, MAX_DECODE_BYTES, name)


def _to_uint8(img: np.ndarray, name: str) -> np.ndarray:
    """8-bit samples, with no temporary larger than the image itself."""
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        # round(v / 257) maps 0..65535 exactly onto 0..255 (v / 257 is never halfway)
        return cv2.convertScaleAbs(img, alpha=1 / 257)
    if img.dtype in (np.float32, np.float64):
        np.nan_to_num(img, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
        np.clip(img, 0.0, 1.0, out=img)
        img *= 255.0
        img += 0.5
        return img.astype(np.uint8)
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
    data: bytes, *, max_pixels: int | None = None, max_bytes: int | None = None, name: str = "image"
) -> np.ndarray:
    """Decode encoded image bytes to a uint8 gray, RGB or RGBA array.

    The header is read first (:func:`image_info`) and the image refused, before any decoding,
    when it has more than ``max_pixels`` pixels (default DEFAULT_MAX_PIXELS) or needs more than
    ``max_bytes`` (default MAX_DECODE_BYTES). 16-bit images are scaled to 8 bit; float images are
    clipped to [0, 1] and scaled to 0..255. Raises :class:`ImageError` for empty, unreadable,
    unsupported or oversized images. A plain function: safe to call from a worker thread.
    """
    max_pixels = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    max_bytes = MAX_DECODE_BYTES if max_bytes is None else max_bytes
    data = bytes(data)
    info = _read_info(Blob.of_bytes(data), name)
    _check_limits(info, max_pixels, max_bytes, name)
    try:
        img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        img = None
    if img is None or img.size == 0:
        raise ImageError(
            f"{name} starts like a {info.width}x{info.height} image ({info.format}) but cannot be decoded: "
            "the file is truncated or damaged"
        )
    if img.shape[:2] != (info.height, info.width):
        raise ImageError(f"{name} decoded to {img.shape[1]} x {img.shape[0]} pixels but its header says "
                         f"{info.width} x {info.height}; the file is damaged")
    return _to_rgb_order(_to_uint8(img, name), name)


def read_image(path: str | os.PathLike, **kwargs) -> np.ndarray:
    """Read and decode an image file (any file name, including non-ASCII).

    The file must be a regular file of at most MAX_IMAGE_FILE_BYTES; its header is read and the
    limits checked before the rest of the file is. Keyword arguments are passed to
    :func:`decode_image`; ``name`` defaults to the file name. A plain function: the GUI may run it
    in a worker for images whose :func:`image_info` is ``big``.
    """
    name = kwargs.setdefault("name", _name_of(path))
    with _open(path, name) as f:
        size = os.fstat(f.fileno()).st_size
        info = _read_info(Blob.of_file(f, size), name)
        max_pixels = kwargs.get("max_pixels")
        max_bytes = kwargs.get("max_bytes")
        _check_limits(info, DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels,
                      MAX_DECODE_BYTES if max_bytes is None else max_bytes, name)
        try:
            f.seek(0)
            data = f.read(size + 1)
        except OSError as exc:
            raise ImageError(f"could not read {name}: {exc.strerror or exc}") from exc
    if len(data) != size:
        raise ImageError(f"{name} changed while it was read ({size:,} bytes, then {len(data):,})")
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
    if v.dtype != np.uint8:
        # OpenCV's saturating cast leaves NaN to the CPU's vector unit (0 on one machine, 255
        # on another): NaN is row 0 by rule, not by hardware
        nan = np.isnan(v)
        if nan.any():
            index[nan] = 0
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
