"""Image bombs: every format OpenCV decodes is identified and sized from its header, before decoding.

Each header parser is checked against OpenCV itself (the size, channels and bit depth it predicts
are those of the array ``cv2.imdecode`` returns), and each format's bomb - a small file claiming
a huge image - is refused without ``cv2.imdecode`` being called.
"""

import os
import struct
import zlib

import cv2
import numpy as np
import pytest

from convlab.core import images
from convlab.core.images import ImageError, decode_image, read_image


def _encode(ext, image, params=()):
    ok, buf = cv2.imencode(ext, image, list(params))
    assert ok, ext
    return buf.tobytes()


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if OpenCV is asked to decode anything."""
    def forbidden(*args, **kwargs):
        raise AssertionError("cv2.imdecode must not be called")
    monkeypatch.setattr(images.cv2, "imdecode", forbidden)


_RNG = np.random.default_rng(0)
_BGR = _RNG.integers(0, 255, (37, 53, 3), dtype=np.uint8)
_GRAY = _BGR[:, :, 0].copy()
_BGRA = np.dstack([_BGR, _GRAY])


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png(width, height, color_type, depth=8, extra_chunks=b"", pixels=True):
    """A PNG written by hand (OpenCV cannot write gray+alpha, palettes or tRNS)."""
    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0))
    per_pixel = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type] * depth / 8
    row = b"\x00" + bytes(int(np.ceil(width * per_pixel)))
    idat = _png_chunk(b"IDAT", zlib.compress(row * height)) if pixels else b""
    return b"\x89PNG\r\n\x1a\n" + ihdr + extra_chunks + idat + _png_chunk(b"IEND", b"")


_PALETTE = _png_chunk(b"PLTE", bytes(range(12)))

AGREEMENT = {
    "png rgb": _encode(".png", _BGR), "png gray": _encode(".png", _GRAY), "png rgba": _encode(".png", _BGRA),
    "png 16-bit rgba": _encode(".png", _BGRA.astype(np.uint16) * 200),
    "png gray+alpha": _png(53, 37, 4), "png palette": _png(53, 37, 3, extra_chunks=_PALETTE),
    "png palette+tRNS": _png(53, 37, 3, extra_chunks=_PALETTE + _png_chunk(b"tRNS", b"\x00\x80")),
    "png rgb+tRNS": _png(53, 37, 2, extra_chunks=_png_chunk(b"tRNS", bytes(6))),
    "png 1-bit gray": _png(53, 37, 0, depth=1),
    "jpeg rgb": _encode(".jpg", _BGR), "jpeg gray": _encode(".jpg", _GRAY),
    "jpeg progressive": _encode(".jpg", _BGR, (cv2.IMWRITE_JPEG_PROGRESSIVE, 1)),
    "bmp rgb": _encode(".bmp", _BGR), "bmp gray": _encode(".bmp", _GRAY), "bmp rgba": _encode(".bmp", _BGRA),
    "tiff rgb": _encode(".tiff", _BGR), "tiff gray": _encode(".tiff", _GRAY), "tiff rgba": _encode(".tiff", _BGRA),
    "tiff 16-bit": _encode(".tiff", _BGR.astype(np.uint16) * 200),
    "tiff float32": _encode(".tiff", _BGR.astype(np.float32)), "tiff float64": _encode(".tiff", _GRAY / 255.0),
    "webp lossy": _encode(".webp", _BGR, (cv2.IMWRITE_WEBP_QUALITY, 80)),
    "webp lossy alpha": _encode(".webp", _BGRA, (cv2.IMWRITE_WEBP_QUALITY, 80)),
    "webp lossless": _encode(".webp", _BGR, (cv2.IMWRITE_WEBP_QUALITY, 101)),
    "gif": _encode(".gif", _BGR), "gif transparent": _encode(".gif", _BGRA),
    "sun raster rgb": _encode(".ras", _BGR), "sun raster gray": _encode(".ras", _GRAY),
    "pbm": _encode(".pbm", _GRAY), "pgm": _encode(".pgm", _GRAY), "ppm": _encode(".ppm", _BGR),
    "pgm 16-bit": _encode(".pgm", _GRAY.astype(np.uint16) * 200),
    "pam": _encode(".pam", _BGR), "pfm rgb": _encode(".pfm", _BGR / np.float32(255)),
    "pfm gray": _encode(".pfm", _GRAY / np.float32(255)), "hdr": _encode(".hdr", _BGR / np.float32(255)),
    "jpeg 2000 rgb": _encode(".jp2", _BGR), "jpeg 2000 gray": _encode(".jp2", _GRAY),
    "jpeg 2000 16-bit": _encode(".jp2", _BGR.astype(np.uint16) * 200),
}


@pytest.mark.parametrize("label", sorted(AGREEMENT))
def test_the_header_predicts_the_array_opencv_decodes(label):
    data = AGREEMENT[label]
    info = images.image_info(data)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded is not None
    channels = 1 if decoded.ndim == 2 else decoded.shape[2]
    assert (info.width, info.height, info.channels, info.bit_depth) == \
        (decoded.shape[1], decoded.shape[0], channels, decoded.dtype.itemsize * 8)
    assert info.decoded_bytes == decoded.nbytes <= info.peak_bytes
    assert info.floating == (decoded.dtype.kind == "f")
    image = decode_image(data)
    assert image.dtype == np.uint8 and image.shape[:2] == (37, 53)


def _insert_before_sof(jpeg: bytes, junk: bytes) -> bytes:
    sof = jpeg.index(b"\xff\xc0")
    return jpeg[:sof] + junk + jpeg[sof:]


def test_a_jpeg_with_stray_bytes_before_its_frame_header_is_sized_as_libjpeg_sizes_it():
    # libjpeg skips the stray bytes ("extraneous bytes before marker") and decodes the image
    data = _insert_before_sof(_encode(".jpg", _BGR), b"\x00\x17\xff\x00junk\xff\xff")
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.shape == (37, 53, 3)
    info = images.image_info(data)
    assert (info.format, info.width, info.height) == ("JPEG", 53, 37)


def test_an_hdr_header_is_split_into_lines_as_opencv_reads_them():
    # OpenCV reads header lines with fgets(buf, 128): a 127-character line is cut before its
    # newline, and the newline alone then ends the header
    body = _encode(".hdr", np.zeros((3, 4, 3), np.float32)).split(b"\n\n", 1)[1].split(b"\n", 1)[1]
    data = (b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n" + b"X" * 127 + b"\n-Y 3 +X 4\n\n-Y 2 +X 2\n") + body
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    info = images.image_info(data)
    assert (info.width, info.height) == (4, 3)
    assert decoded is None or decoded.shape[:2] == (3, 4)


# --------------------------------------------------------------------------- bombs

def _jpeg_header(width, height, before_sof=b""):
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", 6) + b"JFIF" + before_sof + sof + b"\xff\xd9"


def _tiff(width, height, endian="<", big=False, bits=8, samples=1):
    """A TIFF whose only directory lies after its (too few) pixel bytes, at the end of the file."""
    pixels = bytes(64)
    header_size = 16 if big else 8
    if big:
        start = (b"II" if endian == "<" else b"MM") + struct.pack(endian + "HHHQ", 43, 8, 0, header_size + 64)
    else:
        start = (b"II" if endian == "<" else b"MM") + struct.pack(endian + "HI", 42, header_size + 64)
    long_type, short_type = (16 if big else 4), 3
    tags = [(256, long_type, width), (257, long_type, height), (258, short_type, bits), (259, short_type, 1),
            (262, short_type, 1), (273, long_type, header_size), (277, short_type, samples), (279, long_type, 64)]
    offset = "Q" if big else "I"
    entries = []
    for tag, kind, value in tags:
        value_bytes = struct.pack(endian + ("H" if kind == short_type else offset), value)
        entries.append(struct.pack(endian + "HH" + offset, tag, kind, 1) + value_bytes.ljust(8 if big else 4, b"\0"))
    count = struct.pack(endian + ("Q" if big else "H"), len(tags))
    return start + pixels + count + b"".join(entries) + bytes(8 if big else 4)


def test_tiff_parser_reads_a_directory_at_the_end_of_the_file():
    for endian in "<>":
        for big in (False, True):
            info = images.image_info(_tiff(300, 200, endian, big))
            assert (info.format, info.width, info.height) == ("TIFF", 300, 200)


def _exr(width, height):
    def attribute(name, kind, value):
        return name + b"\0" + kind + b"\0" + struct.pack("<i", len(value)) + value
    channels = b"".join(c + b"\0" + struct.pack("<iB3xii", 1, 0, 1, 1) for c in (b"B", b"G", b"R")) + b"\0"
    return (b"\x76\x2f\x31\x01" + struct.pack("<I", 2) + attribute(b"channels", b"chlist", channels)
            + attribute(b"dataWindow", b"box2i", struct.pack("<iiii", 0, 0, width - 1, height - 1)) + b"\0")


def _j2k(width, height):
    siz = struct.pack(">HHIIIIIIIIH", 41, 0, width, height, 0, 0, width, height, 0, 0, 1) + b"\x07\x01\x01"
    return b"\xff\x4f\xff\x51" + siz + b"\xff\xd9"


BOMBS = {
    # the three of the issue: a stray byte before the JPEG frame header, TIFF, Radiance HDR
    "jpeg, stray byte before SOF": (_jpeg_header(65000, 60000, before_sof=b"\x00"), "65000 x 60000"),
    "jpeg, fill bytes and stuffed zero": (_jpeg_header(65000, 60000, b"\xff\x00\xff\xff\xff"), "65000 x 60000"),
    "tiff": (_tiff(100000, 100000), "100000 x 100000"),
    "tiff, big-endian BigTIFF": (_tiff(100000, 100000, ">", big=True), "100000 x 100000"),
    "hdr": (b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 50000 +X 50000\n" + bytes(64), "50000 x 50000"),
    "png": (_png(100000, 100000, 6, 16, pixels=False), "100000 x 100000"),
    "apng frame beyond the canvas": (
        _png(10, 10, 0, extra_chunks=_png_chunk(b"acTL", bytes(8))
             + _png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, 90000, 90000, 0, 0, 1, 1, 0, 0))),
        "90000 x 90000"),
    "bmp": (b"BM" + struct.pack("<IHHIIiiHHII", 0, 0, 0, 54, 40, 100000, -100000, 1, 24, 0, 0) + bytes(20),
            "100000 x 100000"),
    "gif": (b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0) + b"\x2c" + bytes(9) + b"\x3b",
            "65535 x 65535"),
    "webp": (b"RIFF" + struct.pack("<I", 22) + b"WEBPVP8X" + struct.pack("<I", 10) + bytes(4)
             + (16383).to_bytes(3, "little") * 2, "16384 x 16384"),
    "sun raster": (struct.pack(">8I", 0x59A66A95, 100000, 100000, 24, 0, 1, 0, 0), "100000 x 100000"),
    "pgm": (b"P5\n# a comment\n100000 100000\n255\n" + bytes(16), "100000 x 100000"),
    "pam": (b"P7\nWIDTH 100000\nHEIGHT 100000\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n", "100000 x 100000"),
    "pfm": (b"PF\n100000 100000\n-1\n" + bytes(16), "100000 x 100000"),
    "jpeg 2000 codestream": (_j2k(100000, 100000), "100000 x 100000"),
    "jpeg 2000 file": (b"\x00\x00\x00\x0cjP  \r\n\x87\n" + struct.pack(">I", 8 + 49) + b"jp2c"
                       + _j2k(100000, 100000), "100000 x 100000"),
    "openexr": (_exr(100000, 100000), "100000 x 100000"),
}


@pytest.mark.parametrize("label", sorted(BOMBS))
def test_bombs_are_refused_before_decoding(no_decoding, label):
    data, size = BOMBS[label]
    assert len(data) < 1000
    with pytest.raises(ImageError, match=size):
        decode_image(data, name="holiday.png")  # the name says PNG: the content decides


def test_an_hdr_file_named_png_is_sized_as_hdr(no_decoding):
    info = images.image_info(BOMBS["hdr"][0], name="holiday.png")
    assert (info.format, info.width, info.height, info.bit_depth, info.floating) == \
        ("Radiance HDR", 50000, 50000, 32, True)


@pytest.mark.parametrize("data, words", [
    (_encode(".avif", _BGR), "AVIF"),
    (b"\xff\x0a" + bytes(30), "JPEG XL"),
    (b"just some text, definitely not a picture", "not an image ConvLab can read"),
    (_jpeg_header(10, 0), "DNL"),
    (b"\xff\xd8\xff\xe0" + struct.pack(">H", 6) + b"JFIF" + b"\x00" * 50, "ends before its frame header"),
    (b"GIF87a\x00\x00\x05\x00" + bytes(10), "impossible size"),
    (b"P7\nWIDTH 4\nHEIGHT 4\nDEPTH 9\nMAXVAL 255\nENDHDR\n", "1 to 4 channels"),
    (_tiff(10, 10, bits=32), "32-bit integer"),
])
def test_what_cannot_be_sized_or_used_is_refused_before_decoding(no_decoding, data, words):
    with pytest.raises(ImageError, match=words):
        decode_image(data, name="x.png")


def test_memory_needed_is_checked_besides_the_pixel_count(no_decoding, monkeypatch):
    data = _encode(".png", _BGRA.astype(np.uint16))
    info = images.image_info(data)
    assert info.peak_bytes >= 37 * 53 * 4 * (2 + 1 + 1)  # the 16-bit array, the 8-bit copy, RGB order
    monkeypatch.setattr(images, "MAX_DECODE_BYTES", info.peak_bytes - 1)
    with pytest.raises(ImageError, match=r"needs about .* to decode, more than the limit"):
        decode_image(data, name="deep.png")


def test_big_says_when_to_decode_in_a_worker():
    # the 7000 x 7000 16-bit RGBA PNG (400 KB) froze the window for 7.5 s
    big = images.image_info(_png(7000, 7000, 6, 16, pixels=False))
    assert big.big and big.decoded_bytes == 7000 * 7000 * 8
    assert not images.image_info(_encode(".jpg", _BGR)).big
    assert "PNG, 7000 x 7000, 4 channels of 16-bit samples" in str(big)


def test_image_info_of_a_file_reads_only_the_header(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(_png(7000, 7000, 6, 16, pixels=False))
    with open(path, "r+b") as f:
        f.truncate(200_000_000)  # sparse: no disk used
    info = images.image_info(path)
    assert (info.width, info.height, info.file_bytes) == (7000, 7000, 200_000_000)


def test_read_image_checks_the_header_before_reading_the_rest(tmp_path, no_decoding):
    path = tmp_path / "bomb.tif"
    data = _tiff(100000, 100000)
    path.write_bytes(data)
    with open(path, "r+b") as f:
        f.truncate(300_000_000)
        f.seek(300_000_000 - len(data))
        f.write(data)  # the directory at the end, 300 MB of (sparse) nothing before it
    with pytest.raises(ImageError, match="bomb.tif is 100000 x 100000 pixels"):
        read_image(path)


def test_16_bit_and_float_conversions_keep_their_values():
    values = np.array([[0, 128, 129, 257, 32896, 65535]], np.uint16)
    assert decode_image(_encode(".png", values)).tolist() == [[0, 0, 1, 1, 128, 255]]
    floats = np.array([[np.nan, -np.inf, np.inf, 0.25]], np.float32)
    assert decode_image(_encode(".tiff", floats)).tolist() == [[0, 0, 255, 64]]


def test_resources_still_decode():
    folder = os.path.join(os.path.dirname(images.__file__), "..", "..", "resources", "images")
    names = [n for n in os.listdir(folder) if n.lower().endswith((".png", ".jpg", ".jpeg"))] \
        if os.path.isdir(folder) else []
    for name in names:
        assert read_image(os.path.join(folder, name)).dtype == np.uint8
