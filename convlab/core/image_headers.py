"""What an image file says about itself, read from its header without decoding a pixel.

    header = read_header(Blob.of_bytes(data))   # ImageHeader(format, width, height, channels, ...)

:func:`convlab.core.images.decode_image` hands bytes to ``cv2.imdecode`` only after this module
has found the format *the way OpenCV will* and sized the array OpenCV will allocate; a file that
claims 100000 x 100000 pixels is refused before any pixel memory exists.

OpenCV does not look at file names: it asks its decoders in a fixed order whether the first bytes
are theirs (BMP, GIF, AVIF, Radiance HDR, JPEG, WebP, Sun raster, PBM/PGM/PPM, PAM, PFM, TIFF,
PNG, JPEG XL, JPEG 2000, OpenEXR) and the first that says yes decodes the file. The sniffers
below follow the same order with signatures at least as broad as OpenCV's, and each parser reads
the header the way that decoder's library does (libjpeg skips stray bytes between markers, so the
JPEG scan does too; libtiff reads the first image file directory wherever it lies, so the TIFF
parser follows its offset; the HDR header is split into lines as OpenCV's ``fgets`` does).
Formats whose size cannot be read first (AVIF, JPEG XL, multi-part OpenEXR) and anything no
sniffer recognises are refused with :class:`HeaderError`: the engine never gives OpenCV bytes it
has not sized.

Numbers from the file are Python ints (no wrap-around); the memory a decode needs is estimated
from them in :class:`ImageHeader`.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["Blob", "HeaderError", "ImageHeader", "read_header", "READABLE_FORMATS"]

#: the formats this module can size (and so the formats ConvLab opens)
READABLE_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WebP", "GIF", "PBM/PGM/PPM", "PAM", "PFM",
                    "Radiance HDR", "Sun raster", "JPEG 2000", "OpenEXR")

_INT_MAX = 2**31 - 1  # OpenCV keeps sizes in C ints
_MAX_SCAN = 1 << 16  # bytes of text header (HDR, PNM) or of chunk/box/block walking per step


class HeaderError(ValueError):
    """The header cannot be read or describes something that cannot be decoded safely.

    The message completes a sentence starting with the image's name ("is a JPEG whose ...").
    """


@dataclass(frozen=True)
class ImageHeader:
    """What decoding will produce and need.

    ``channels`` and ``bits`` (8, 16, 32 or 64; ``floating`` for float samples) describe the array
    ``cv2.imdecode(..., IMREAD_UNCHANGED)`` returns; ``work_bytes`` is what the decoder needs
    besides that array (JPEG coefficient buffers, a TIFF strip, a GIF canvas, JPEG 2000's int32
    planes), an upper estimate.
    """

    format: str
    width: int
    height: int
    channels: int
    bits: int = 8
    floating: bool = False
    work_bytes: int = 0

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def decoded_bytes(self) -> int:
        """Bytes of the array OpenCV returns."""
        return self.pixels * self.channels * (self.bits // 8)


# ---------------------------------------------------------------------------
# Random access to the bytes, in memory or in an open file
# ---------------------------------------------------------------------------

class Blob:
    """The bytes of an image, read lazily: only the parts a header parser asks for."""

    def __init__(self, size: int, read_at: Callable[[int, int], bytes]):
        self.size = size
        self._read_at = read_at

    @classmethod
    def of_bytes(cls, data: bytes) -> Blob:
        view = memoryview(data)
        return cls(len(data), lambda offset, n: bytes(view[offset:offset + n]))

    @classmethod
    def of_file(cls, f: BinaryIO, size: int) -> Blob:
        def read_at(offset: int, n: int) -> bytes:
            f.seek(offset)
            return f.read(n)
        return cls(size, read_at)

    def at(self, offset: int, n: int) -> bytes:
        """Up to ``n`` bytes from ``offset`` (fewer at the end; nothing outside the file)."""
        if offset < 0 or n <= 0 or offset >= self.size:
            return b""
        return self._read_at(offset, min(n, self.size - offset))

    def exactly(self, offset: int, n: int, what: str) -> bytes:
        data = self.at(offset, n)
        if len(data) < n:
            raise HeaderError(f"ends inside its {what} (truncated?)")
        return data

    def find(self, needle: int, start: int) -> int:
        """Offset of the next byte equal to ``needle`` from ``start``, or -1."""
        pos = start
        while pos < self.size:
            chunk = self.at(pos, 1 << 16)
            hit = chunk.find(bytes([needle]))
            if hit >= 0:
                return pos + hit
            pos += len(chunk)
        return -1

    def skip(self, value: int, start: int) -> int:
        """Offset of the first byte from ``start`` that is not ``value`` (the size if none is)."""
        pos = start
        while pos < self.size:
            chunk = self.at(pos, 1 << 16)
            rest = chunk.lstrip(bytes([value]))
            if rest:
                return pos + len(chunk) - len(rest)
            pos += len(chunk)
        return self.size


def _u16(data: bytes, at: int, endian: str = ">") -> int:
    return int(struct.unpack_from(endian + "H", data, at)[0])


def _u32(data: bytes, at: int, endian: str = ">") -> int:
    return int(struct.unpack_from(endian + "I", data, at)[0])


def _positive(width: int, height: int, what: str) -> None:
    if not (1 <= width <= _INT_MAX and 1 <= height <= _INT_MAX):
        raise HeaderError(f"is a {what} whose header gives an impossible size {width} x {height}")


# ---------------------------------------------------------------------------
# PNG
# ---------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png(b: Blob) -> ImageHeader:
    head = b.exactly(0, 33, "PNG header")
    if _u32(head, 8) != 13 or head[12:16] != b"IHDR":
        raise HeaderError("is a PNG that does not start with its IHDR header (damaged)")
    width, height = _u32(head, 16), _u32(head, 20)
    depth, color_type = head[24], head[25]
    _positive(width, height, "PNG")
    if depth not in (1, 2, 4, 8, 16) or color_type not in (0, 2, 3, 4, 6):
        raise HeaderError(f"is a PNG with an invalid bit depth {depth} / colour type {color_type}")
    transparency = animated = False
    pos = 33
    for _ in range(10_000):  # the chunks before the pixel data
        chunk = b.at(pos, 8)
        if len(chunk) < 8 or chunk[4:8] == b"IDAT":
            break
        kind = chunk[4:8]
        transparency |= kind == b"tRNS"
        if kind == b"acTL":
            animated = True
        elif kind == b"fcTL":  # an animation frame may not leave the canvas; count it if it does
            frame = b.at(pos + 8, 20)
            if len(frame) == 20:
                width = max(width, _u32(frame, 4) + _u32(frame, 12))
                height = max(height, _u32(frame, 8) + _u32(frame, 16))
        pos += 12 + _u32(chunk, 0)
    _positive(width, height, "PNG")
    channels = {0: 1, 2: 3, 3: 3, 4: 4, 6: 4}[color_type]
    if transparency and color_type in (2, 3):
        channels = 4
    bits = 16 if depth == 16 else 8
    work = 3 * width * height * 4 * (bits // 8) if animated else 0  # APNG canvases and frames
    return ImageHeader("PNG", width, height, channels, bits, work_bytes=work)


# ---------------------------------------------------------------------------
# JPEG: the markers walked the way libjpeg walks them
# ---------------------------------------------------------------------------

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(b: Blob) -> ImageHeader:
    if b.at(0, 2) != b"\xff\xd8":
        raise HeaderError("is not a JPEG (no start-of-image marker)")
    pos = 2
    for _ in range(100_000):  # real files have a few dozen markers before the frame header
        # libjpeg's next_marker(): skip any bytes up to an 0xFF (a damaged file may have some),
        # then the 0xFF fill bytes; 0xFF 0x00 is data, not a marker
        pos = b.find(0xFF, pos)
        if pos < 0:
            raise HeaderError("is a JPEG that ends before its frame header (truncated or damaged)")
        pos = b.skip(0xFF, pos + 1) - 1
        marker_byte = b.at(pos + 1, 1)
        if not marker_byte:
            raise HeaderError("is a JPEG that ends before its frame header (truncated or damaged)")
        marker = marker_byte[0]
        pos += 2
        if marker == 0x00:
            continue
        if marker in _JPEG_SOF:
            frame = b.exactly(pos, 8, "JPEG frame header")
            precision, height, width, components = frame[2], _u16(frame, 3), _u16(frame, 5), frame[7]
            if height == 0:
                raise HeaderError("is a JPEG whose height comes later in a DNL marker, which OpenCV cannot read")
            if width == 0 or components == 0:
                raise HeaderError(f"is a JPEG whose frame header gives an empty image ({width} x {height}, "
                                  f"{components} components)")
            bits = 8 if precision <= 8 else 16
            channels = 1 if components == 1 else 3
            # coefficients (2 bytes each) of every component at up to full resolution, kept whole
            # for progressive and multi-scan files
            work = 2 * width * height * components
            return ImageHeader("JPEG", width, height, channels, bits, work_bytes=work)
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # no length field
            continue
        if marker == 0xD8:
            raise HeaderError("is a JPEG with a second start-of-image marker before its frame header (damaged)")
        if marker in (0xD9, 0xDA):
            raise HeaderError("is a JPEG whose image data starts before its frame header (damaged)")
        length = _u16(b.exactly(pos, 2, "JPEG marker"), 0)
        pos += max(length, 2)
    raise HeaderError("is a JPEG with more than 100,000 markers before its frame header (damaged)")


# ---------------------------------------------------------------------------
# BMP, GIF, WebP, Sun raster
# ---------------------------------------------------------------------------

def _bmp(b: Blob) -> ImageHeader:
    head = b.exactly(0, 30, "BMP header")
    size = struct.unpack_from("<i", head, 14)[0]
    if size >= 36:
        head = b.exactly(0, 34, "BMP header")
        width, height = struct.unpack_from("<ii", head, 18)
        bpp, compression = _u16(head, 28, "<"), _u32(head, 30, "<")
        colours_used = _u32(b.exactly(46, 4, "BMP header"), 0, "<")
        ok = ((bpp in (1, 4, 8, 24, 32) and compression == 0) or (bpp in (16, 32) and compression in (0, 3))
              or (bpp == 4 and compression == 2) or (bpp == 8 and compression == 1))
        palette_at, entry = 14 + size, 4
    elif size == 12:  # OS/2 1.x
        width, height, bpp = _u16(head, 18, "<"), _u16(head, 20, "<"), _u16(head, 24, "<")
        ok, colours_used = bpp in (1, 4, 8, 24, 32), 0
        palette_at, entry = 26, 3
    else:
        raise HeaderError(f"is a BMP with a {size}-byte info header, which OpenCV does not read")
    if not ok:
        raise HeaderError(f"is a BMP with {bpp} bits per pixel and compression {compression}, which OpenCV "
                          "does not read")
    height = abs(height)
    _positive(width, height, "BMP")
    if bpp <= 8:
        count = colours_used or 1 << bpp
        table = b.at(palette_at, min(count, 256) * entry)
        gray = all(table[i] == table[i + 1] == table[i + 2] for i in range(0, len(table) - 2, entry))
        channels = 1 if gray else 3
    else:
        channels = 4 if bpp == 32 else 3
    return ImageHeader("BMP", width, height, channels)


def _gif(b: Blob) -> ImageHeader:
    head = b.exactly(0, 13, "GIF header")
    if head[:6] not in (b"GIF87a", b"GIF89a"):
        raise HeaderError(f"starts like a GIF but says version {head[3:6]!r}, not 87a or 89a")
    width, height, flags = _u16(head, 6, "<"), _u16(head, 8, "<"), head[10]
    _positive(width, height, "GIF")
    # OpenCV's decoder refuses frames that leave the canvas, so the canvas sizes everything; a
    # transparent colour before the first image makes the result BGRA
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    transparent = False
    for _ in range(10_000):
        if b.at(pos, 1) != b"\x21":
            break
        if b.at(pos + 1, 1) == b"\xf9":
            packed = b.at(pos + 3, 1)
            transparent |= bool(packed) and bool(packed[0] & 1)
        pos += 2
        for _ in range(10_000):  # sub-blocks, up to the empty one
            n = b.at(pos, 1)
            pos += 1 + (n[0] if n else 0)
            if not n or n[0] == 0:
                break
    canvas = width * height
    # the BGRA canvas, the frame's colour codes and a copy for the disposal method
    return ImageHeader("GIF", width, height, 4 if transparent else 3, work_bytes=9 * canvas)


def _webp(b: Blob) -> ImageHeader:
    head = b.exactly(0, 30, "WebP header")
    chunk = head[12:16]
    animated = False
    if chunk == b"VP8X":
        flags = head[20]
        alpha, animated = bool(flags & 0x10), bool(flags & 0x02)
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
    elif chunk == b"VP8L":
        if head[20] != 0x2F:
            raise HeaderError("is a lossless WebP with a damaged header")
        bits = int.from_bytes(head[21:25], "little")
        width, height, alpha = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool(bits >> 28 & 1)
    elif chunk == b"VP8 ":
        if head[23:26] != b"\x9d\x01\x2a":
            raise HeaderError("is a lossy WebP with a damaged header")
        width, height, alpha = _u16(head, 26, "<") & 0x3FFF, _u16(head, 28, "<") & 0x3FFF, False
    else:
        raise HeaderError(f"is a WebP with an unknown first chunk {chunk!r}")
    _positive(width, height, "WebP")
    channels = 4 if alpha else 3
    work = 2 * width * height * 4 if animated else 0  # the animation decoder's canvas and previous frame
    return ImageHeader("WebP", width, height, channels, work_bytes=work)


def _sun_raster(b: Blob) -> ImageHeader:
    head = b.exactly(0, 32, "Sun raster header")
    width, height, depth = (struct.unpack_from(">i", head, i)[0] for i in (4, 8, 12))
    map_type = _u32(head, 24)
    _positive(width, height, "Sun raster image")
    if depth not in (1, 8, 24, 32):
        raise HeaderError(f"is a Sun raster image with {depth} bits per pixel, which OpenCV does not read")
    channels = 3 if depth >= 24 or map_type != 0 else 1
    return ImageHeader("Sun raster", width, height, channels)


# ---------------------------------------------------------------------------
# Netpbm (PBM, PGM, PPM, PAM, PFM) and Radiance HDR: text headers
# ---------------------------------------------------------------------------

def _pnm_numbers(b: Blob, count: int, what: str) -> list[int]:
    """``count`` decimal numbers after the two-byte magic, read as OpenCV's ReadNumber reads them."""
    text = b.at(2, _MAX_SCAN)
    pos, numbers = 0, list[int]()
    while len(numbers) < count:
        while pos < len(text) and not chr(text[pos]).isdigit():
            c = text[pos]
            if c == ord("#"):
                while pos < len(text) and text[pos] not in b"\r\n":
                    pos += 1
            elif c not in b" \t\n\v\f\r":
                raise HeaderError(f"is a {what} with an unexpected character {chr(c)!r} in its header")
            pos += 1
        start = pos
        while pos < len(text) and chr(text[pos]).isdigit():
            pos += 1
        if pos == start or pos == len(text):
            raise HeaderError(f"is a {what} whose header ends early (truncated?)")
        value = int(text[start:pos])
        if value > _INT_MAX:
            raise HeaderError(f"is a {what} whose header gives a number too large for OpenCV ({value})")
        numbers.append(value)
    return numbers


def _pnm(b: Blob) -> ImageHeader:
    kind = b.at(1, 1)
    bitmap = kind in (b"1", b"4")
    numbers = _pnm_numbers(b, 2 if bitmap else 3, "PBM/PGM/PPM image")
    width, height = numbers[0], numbers[1]
    maxval = 1 if bitmap else numbers[2]
    _positive(width, height, "PBM/PGM/PPM image")
    if not 1 <= maxval <= 65535:
        raise HeaderError(f"is a PGM/PPM image with maximum value {maxval} (1 to 65535 are valid)")
    channels = 3 if kind in (b"3", b"6") else 1
    return ImageHeader("PBM/PGM/PPM", width, height, channels, 16 if maxval > 255 else 8)


def _pam(b: Blob) -> ImageHeader:
    text = b.at(0, _MAX_SCAN)
    end = re.search(rb"(^|\n)\s*ENDHDR", text)
    if end is None:
        raise HeaderError("is a PAM image whose header has no ENDHDR line (truncated or damaged)")
    fields: dict[bytes, int] = {}
    for line in text[:end.start()].splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[0] in (b"WIDTH", b"HEIGHT", b"DEPTH", b"MAXVAL"):
            if not parts[1].isdigit():
                raise HeaderError(f"is a PAM image with {parts[0].decode()} {parts[1][:20]!r}, not a number")
            fields[parts[0]] = max(fields.get(parts[0], 0), int(parts[1]))  # repeated: the larger counts
    missing = [k.decode() for k in (b"WIDTH", b"HEIGHT", b"DEPTH", b"MAXVAL") if k not in fields]
    if missing:
        raise HeaderError(f"is a PAM image whose header lacks {', '.join(missing)}")
    width, height, depth, maxval = fields[b"WIDTH"], fields[b"HEIGHT"], fields[b"DEPTH"], fields[b"MAXVAL"]
    _positive(width, height, "PAM image")
    if not 1 <= depth <= 4 or not 1 <= maxval <= 65535:
        raise HeaderError(f"is a PAM image with {depth} channels and maximum value {maxval}; ConvLab reads "
                          "1 to 4 channels of at most 16 bits")
    return ImageHeader("PAM", width, height, depth, 16 if maxval > 255 else 8)


def _pfm(b: Blob) -> ImageHeader:
    width, height = _pnm_numbers(b, 2, "PFM image")
    _positive(width, height, "PFM image")
    return ImageHeader("PFM", width, height, 3 if b.at(1, 1) == b"F" else 1, 32, floating=True)


_HDR_SIZE = re.compile(rb"-Y\s*([+-]?\d+)\s*\+X\s*([+-]?\d+)")


def _hdr(b: Blob) -> ImageHeader:
    text = b.at(0, _MAX_SCAN)
    pos = 0

    def line() -> bytes:  # what fgets(buf, 128, f) returns: up to 127 bytes, through a newline
        nonlocal pos
        if pos >= len(text):
            raise HeaderError("is a Radiance HDR image whose header does not end (truncated or damaged)")
        newline = text.find(b"\n", pos, pos + 127)
        stop = pos + 127 if newline < 0 else newline + 1
        piece, pos = text[pos:stop], stop
        return piece

    line()  # "#?RADIANCE"
    has_format = False
    while True:
        piece = line()
        if piece[:1] == b"\n":
            break
        has_format |= piece == b"FORMAT=32-bit_rle_rgbe\n"
    if not has_format:
        raise HeaderError("is a Radiance HDR image without the FORMAT=32-bit_rle_rgbe line OpenCV needs")
    size = _HDR_SIZE.match(line())
    if size is None:
        raise HeaderError("is a Radiance HDR image without a '-Y height +X width' size line")
    height, width = int(size.group(1)), int(size.group(2))
    _positive(width, height, "Radiance HDR image")
    return ImageHeader("Radiance HDR", width, height, 3, 32, floating=True, work_bytes=4 * width)


# ---------------------------------------------------------------------------
# TIFF: the first image file directory, wherever it lies
# ---------------------------------------------------------------------------

_TIFF_TYPES = {1: (1, "B"), 3: (2, "H"), 4: (4, "I"), 16: (8, "Q"), 6: (1, "b"), 8: (2, "h"), 9: (4, "i"),
               17: (8, "q"), 13: (4, "I"), 18: (8, "Q")}  # BYTE SHORT LONG LONG8 SBYTE SSHORT SLONG SLONG8 IFD IFD8
_TIFF_TAGS = {256: "width", 257: "height", 258: "bits", 277: "samples", 339: "sample_format", 262: "photometric",
              278: "rows_per_strip", 322: "tile_width", 323: "tile_height"}


def _tiff(b: Blob) -> ImageHeader:
    head = b.exactly(0, 16 if b.at(2, 2) in (b"+\x00", b"\x00+") else 8, "TIFF header")
    e = "<" if head[:2] == b"II" else ">"
    big = _u16(head, 2, e) == 43
    if big:
        if _u16(head, 4, e) != 8:
            raise HeaderError("is a BigTIFF with an unsupported offset size")
        ifd = int(struct.unpack_from(e + "Q", head, 8)[0])
    else:
        ifd = _u32(head, 4, e)
    count_size, entry_size, inline = (8, 20, 8) if big else (2, 12, 4)
    raw = b.exactly(ifd, count_size, "TIFF directory")
    count = int(struct.unpack(e + ("Q" if big else "H"), raw)[0])
    if not 1 <= count <= 4096:  # libtiff's sanity limit
        raise HeaderError(f"is a TIFF whose first directory claims {count} entries (damaged)")
    table = b.exactly(ifd + count_size, count * entry_size, "TIFF directory")
    found: dict[str, int] = {}
    for i in range(count):
        entry = table[i * entry_size:(i + 1) * entry_size]
        tag, kind = _u16(entry, 0, e), _u16(entry, 2, e)
        if tag not in _TIFF_TAGS or kind not in _TIFF_TYPES:
            continue
        n = int(struct.unpack_from(e + ("Q" if big else "I"), entry, 4)[0])
        size, code = _TIFF_TYPES[kind]
        n_read = min(n, 16)  # per-sample values: the larger ones are what matter
        if n * size <= inline:
            data = entry[entry_size - inline:entry_size - inline + n_read * size]
        else:
            offset = int(struct.unpack_from(e + ("Q" if big else "I"), entry, entry_size - inline)[0])
            data = b.at(offset, n_read * size)
        values = [int(v) for v in struct.unpack(f"{e}{len(data) // size}{code}", data[:len(data) // size * size])]
        if values:
            name = _TIFF_TAGS[tag]
            found[name] = max(found.get(name, 0), *values)  # repeated tags: the larger value counts
    if "width" not in found or "height" not in found:
        raise HeaderError("is a TIFF whose first directory has no image width or height")
    width, height = found["width"], found["height"]
    _positive(width, height, "TIFF")
    samples = found.get("samples", 1)
    bits = found.get("bits", 1)
    sample_format = found.get("sample_format", 1)
    photometric = found.get("photometric", 1)
    if not 1 <= samples <= 4:
        raise HeaderError(f"is a TIFF with {samples} samples per pixel; ConvLab reads 1 to 4")
    if photometric in (32844, 32845):  # SGI LogL / LogLuv: decoded to 32-bit floats
        bits, sample_format, samples = 32, 3, 3
    if bits > 64 or (bits > 16 and sample_format != 3):
        raise HeaderError(f"is a TIFF with {bits}-bit {'integer' if sample_format != 3 else 'float'} samples; "
                          "ConvLab reads 1- to 16-bit integer and 32- or 64-bit float samples")
    out_bits = 8 if bits <= 8 else 16 if bits <= 16 else bits
    channels = 1 if samples == 1 and photometric != 3 else 3 if samples == 3 or photometric == 3 else 4
    if "tile_width" in found and "tile_height" in found:
        strip = found["tile_width"] * found["tile_height"]
    else:
        strip = width * min(found.get("rows_per_strip", height) or height, height)
    work = min(strip, 4 * width * height) * 4 * max(out_bits // 8, 1)  # one tile or strip, read as RGBA
    return ImageHeader("TIFF", width, height, channels, out_bits, floating=sample_format == 3, work_bytes=work)


# ---------------------------------------------------------------------------
# JPEG 2000 (codestream and JP2 box file), OpenEXR
# ---------------------------------------------------------------------------

def _j2k_at(b: Blob, start: int, name: str) -> ImageHeader:
    head = b.exactly(start, 42, "JPEG 2000 size marker")
    if head[:4] != b"\xff\x4f\xff\x51":
        raise HeaderError("is a JPEG 2000 file whose codestream does not start with its size marker (damaged)")
    x1, y1, x0, y0 = (_u32(head, i) for i in (8, 12, 16, 20))
    components = _u16(head, 40)
    width, height = x1 - x0, y1 - y0
    _positive(width, height, "JPEG 2000 image")
    if components not in (1, 3, 4):
        raise HeaderError(f"is a JPEG 2000 image with {components} components; ConvLab reads 1, 3 or 4")
    depths = b.exactly(start + 42, 3 * components, "JPEG 2000 size marker")
    precision = max((depths[3 * i] & 0x7F) + 1 for i in range(components))
    if precision > 16:
        raise HeaderError(f"is a JPEG 2000 image with {precision}-bit samples; ConvLab reads at most 16 bits")
    work = 2 * width * height * components * 4  # OpenJPEG decodes into int32 planes, and tiles besides
    return ImageHeader(name, width, height, components, 8 if precision <= 8 else 16, work_bytes=work)


def _j2k(b: Blob) -> ImageHeader:
    return _j2k_at(b, 0, "JPEG 2000")


def _jp2(b: Blob) -> ImageHeader:
    pos = 0
    for _ in range(1000):  # the top-level boxes, up to the codestream
        box = b.exactly(pos, 8, "JPEG 2000 box")
        length, kind = _u32(box, 0), box[4:8]
        header = 8
        if length == 1:
            length, header = int(struct.unpack(">Q", b.exactly(pos + 8, 8, "JPEG 2000 box"))[0]), 16
        elif length == 0:
            length = b.size - pos
        if kind == b"jp2c":
            return _j2k_at(b, pos + header, "JPEG 2000")
        if length < header:
            break
        pos += length
    raise HeaderError("is a JPEG 2000 file without a readable codestream box (damaged)")


def _exr(b: Blob) -> ImageHeader:
    version = _u32(b.exactly(4, 4, "OpenEXR header"), 0, "<")
    if version & 0x1800:  # deep data or multiple parts
        raise HeaderError("is a deep or multi-part OpenEXR image, which ConvLab does not read")
    text = b.at(8, _MAX_SCAN)
    pos, window, channels = 0, None, None
    while True:
        name_end = text.find(b"\0", pos)
        if name_end < 0:
            raise HeaderError("is an OpenEXR image whose header does not end (truncated or damaged)")
        name = text[pos:name_end]
        if not name:
            break
        type_end = text.find(b"\0", name_end + 1)
        if type_end < 0 or type_end + 5 > len(text):
            raise HeaderError("is an OpenEXR image whose header does not end (truncated or damaged)")
        size = struct.unpack_from("<i", text, type_end + 1)[0]
        value = text[type_end + 5:type_end + 5 + size]
        if size < 0 or len(value) < size:
            raise HeaderError("is an OpenEXR image whose header does not end (truncated or damaged)")
        if name == b"dataWindow" and size == 16:
            window = struct.unpack("<iiii", value)
        elif name == b"channels":
            kinds, i = [], 0
            while i < len(value) and value[i] != 0:
                end = value.find(b"\0", i)
                if end < 0 or end + 5 > len(value):
                    break
                kinds.append(struct.unpack_from("<i", value, end + 1)[0])
                i = end + 17
            channels = kinds
        pos = type_end + 5 + size
    if window is None or not channels:
        raise HeaderError("is an OpenEXR image without a data window or channels")
    if 0 in channels:
        raise HeaderError("is an OpenEXR image with 32-bit integer channels, which ConvLab does not read")
    width, height = window[2] - window[0] + 1, window[3] - window[1] + 1
    _positive(width, height, "OpenEXR image")
    count = 1 if len(channels) == 1 else 4 if len(channels) >= 4 else 3
    return ImageHeader("OpenEXR", width, height, count, 32, floating=True, work_bytes=width * height * 4 * count)


# ---------------------------------------------------------------------------
# Identification, in OpenCV's order
# ---------------------------------------------------------------------------

def _refuse(what: str) -> Callable[[Blob], ImageHeader]:
    def refuse(b: Blob) -> ImageHeader:
        raise HeaderError(f"is {what}; ConvLab cannot check its size before decoding, so it does not open "
                          "this format (convert it to PNG)")
    return refuse


def _is_pnm(h: bytes) -> bool:
    return len(h) >= 3 and h[:1] == b"P" and h[1:2] in b"123456" and h[2:3].isspace()


_SNIFFERS: tuple[tuple[Callable[[bytes], bool], Callable[[Blob], ImageHeader]], ...] = (
    (lambda h: h[:2] == b"BM", _bmp),
    (lambda h: h[:3] == b"GIF", _gif),
    (lambda h: h[4:8] == b"ftyp", _refuse("an ISO media image (AVIF or HEIF)")),
    (lambda h: h.startswith((b"#?RGBE", b"#?RADIANCE")), _hdr),
    (lambda h: h[:3] == b"\xff\xd8\xff", _jpeg),
    (lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP", _webp),
    (lambda h: h[:4] == b"\x59\xa6\x6a\x95", _sun_raster),
    (_is_pnm, _pnm),
    (lambda h: h[:2] == b"P7" and h[2:3].isspace(), _pam),
    (lambda h: h[:2] in (b"PF", b"Pf") and h[2:3].isspace(), _pfm),
    (lambda h: h[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"), _tiff),
    (lambda h: h[:8] == _PNG_SIGNATURE, _png),
    (lambda h: h[:2] == b"\xff\x0a" or h[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n",
     _refuse("a JPEG XL image")),
    (lambda h: h[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n", _jp2),
    (lambda h: h[:4] == b"\xff\x4f\xff\x51", _j2k),
    (lambda h: h[:4] == b"\x76\x2f\x31\x01", _exr),
)


def read_header(b: Blob) -> ImageHeader:
    """Identify the format as OpenCV will and read its header; :class:`HeaderError` if it cannot."""
    head = b.at(0, 32)
    for matches, parse in _SNIFFERS:
        if matches(head):
            try:
                return parse(b)
            except struct.error as exc:  # a field cut short: the same as a truncated header
                raise HeaderError(f"has a header that ends early ({exc})") from exc
    raise HeaderError(f"is not an image ConvLab can read ({', '.join(READABLE_FORMATS)})")
