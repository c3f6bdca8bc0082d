"""Tests for convlab.core.images (safe decoding and conversions)."""

import struct
import zlib

import cv2
import numpy as np
import pytest

from convlab.core import images
from convlab.core.images import (
    ImageError,
    colorize,
    decode_image,
    downscale_to_fit,
    encode_png,
    read_image,
    to_gray,
    to_rgb,
)


def _encode(ext: str, bgr_or_gray: np.ndarray, params=()) -> bytes:
    ok, buf = cv2.imencode(ext, bgr_or_gray, list(params))
    assert ok
    return buf.tobytes()


def _gradient(h=12, w=16) -> np.ndarray:
    """A smooth BGR test picture (smooth so lossy codecs stay close)."""
    yy, xx = np.mgrid[0:h, 0:w]
    planes = [xx * 255 // (w - 1), yy * 255 // (h - 1), np.full((h, w), 128)]
    return np.dstack(planes).astype(np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _png_with_header(width: int, height: int) -> bytes:
    """A structurally valid PNG whose IHDR claims width x height gray pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _png_chunk(b"IEND", b""))


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if OpenCV is asked to decode anything."""
    def forbidden(*args, **kwargs):
        raise AssertionError("cv2.imdecode must not be called")
    monkeypatch.setattr(images.cv2, "imdecode", forbidden)


# --- round trips -----------------------------------------------------------

@pytest.mark.parametrize("ext, params, tolerance", [
    (".png", (), 0),
    (".bmp", (), 0),
    (".tiff", (), 0),
    (".webp", (cv2.IMWRITE_WEBP_QUALITY, 101), 0),  # lossless
    (".webp", (cv2.IMWRITE_WEBP_QUALITY, 95), 24),
    (".jpg", (cv2.IMWRITE_JPEG_QUALITY, 95), 24),
])
def test_colour_round_trip(ext, params, tolerance):
    bgr = _gradient()
    img = decode_image(_encode(ext, bgr, params))
    assert img.dtype == np.uint8 and img.shape == (12, 16, 3)
    error = np.abs(img.astype(int) - bgr[:, :, ::-1].astype(int))
    assert error.max() <= tolerance  # swapped channels would be off by ~128
    assert error.mean() <= tolerance / 3


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tiff", ".jpg"])
def test_gray_round_trip(ext):
    gray = np.tile(np.arange(0, 160, 10, dtype=np.uint8), (8, 1))
    img = decode_image(_encode(ext, gray))
    assert img.shape == (8, 16)
    assert np.abs(img.astype(int) - gray).max() <= (8 if ext == ".jpg" else 0)


def test_pure_red_is_rgb_not_bgr():
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[:, :, 2] = 255  # red in OpenCV's BGR order
    img = decode_image(_encode(".png", bgr))
    assert (img[:, :, 0] == 255).all()
    assert (img[:, :, 1:] == 0).all()


def test_rgba_order_and_alpha():
    bgra = np.zeros((3, 3, 4), np.uint8)
    bgra[..., 2] = 255  # red
    bgra[..., 3] = 77
    img = decode_image(_encode(".png", bgra))
    assert img.shape == (3, 3, 4)
    assert (img[0, 0] == [255, 0, 0, 77]).all()


def test_16_bit_png_scaled_to_8_bit():
    values = np.array([[0, 257, 32896, 65535]], np.uint16)
    img = decode_image(_encode(".png", values))
    assert img.dtype == np.uint8
    assert img.tolist() == [[0, 1, 128, 255]]


def test_float_tiff_clipped_and_scaled():
    values = np.array([[-0.5, 0.0, 0.5, 1.0, 2.0]], np.float32)
    img = decode_image(_encode(".tiff", values))
    assert img.dtype == np.uint8
    assert img.tolist() == [[0, 0, 128, 255, 255]]


def test_encode_png_round_trip_keeps_rgb():
    rgb = _gradient()[:, :, ::-1].copy()
    assert np.array_equal(decode_image(encode_png(rgb)), rgb)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 200, np.uint8)])
    assert np.array_equal(decode_image(encode_png(rgba)), rgba)
    gray = rgb[:, :, 0].copy()
    assert np.array_equal(decode_image(encode_png(gray)), gray)


# --- files -------------------------------------------------------------------

def test_read_image_non_ascii_name(tmp_path):
    path = tmp_path / "bild_äöü_画像.png"
    path.write_bytes(_encode(".png", _gradient()))
    img = read_image(path)
    assert img.shape == (12, 16, 3)


def test_read_image_missing_file_names_it(tmp_path):
    with pytest.raises(ImageError, match="nicht_da.png"):
        read_image(tmp_path / "nicht_da.png")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match="empty.png is empty"):
        read_image(path)


def test_non_image_bytes():
    with pytest.raises(ImageError, match="not an image ConvLab can read"):
        decode_image(b"just some text, definitely not a picture", name="notes.png")


def test_truncated_png():
    data = _encode(".png", (np.random.default_rng(0).random((40, 40)) * 255).astype(np.uint8))
    with pytest.raises(ImageError, match="starts like a 40x40 image .* truncated or damaged"):
        decode_image(data[: len(data) // 2])


# --- size limits -------------------------------------------------------------

def test_decompression_bomb_rejected_before_decoding(no_decoding):
    bomb = _png_with_header(100000, 100000)
    assert len(bomb) < 200
    with pytest.raises(ImageError, match="100000 x 100000"):
        decode_image(bomb, name="bomb.png")


def test_huge_jpeg_header_rejected_before_decoding(no_decoding):
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 60000, 65000, 1) + b"\x01\x11\x00"
    fake = b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 6) + b"JFIF" + sof + b"\xff\xd9"
    with pytest.raises(ImageError, match="65000 x 60000"):
        decode_image(fake, name="huge.jpg")


@pytest.mark.parametrize("ext, params", [
    (".png", ()),
    (".jpg", ()),
    (".bmp", ()),
    (".webp", (cv2.IMWRITE_WEBP_QUALITY, 90)),   # lossy VP8
    (".webp", (cv2.IMWRITE_WEBP_QUALITY, 101)),  # lossless VP8L
])
def test_header_size_checked_without_decoding(no_decoding, ext, params):
    data = _encode(ext, _gradient(h=20, w=30), params)
    with pytest.raises(ImageError, match="30 x 20 pixels"):
        decode_image(data, max_pixels=500)


def test_pixel_limit_after_decoding_for_other_formats():
    data = _encode(".tiff", _gradient(h=20, w=30))
    with pytest.raises(ImageError, match="30 x 20"):
        decode_image(data, max_pixels=500)
    assert decode_image(data, max_pixels=600).shape == (20, 30, 3)


# --- conversions -------------------------------------------------------------

def test_to_gray_and_to_rgb():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = [255, 0, 0]
    rgb[1, 1] = [255, 255, 255]
    gray = to_gray(rgb)
    assert gray.shape == (2, 2)
    assert gray[0, 0] == 76 and gray[1, 1] == 255 and gray[0, 1] == 0

    replicated = to_rgb(gray)
    assert replicated.shape == (2, 2, 3)
    assert (replicated[..., 0] == replicated[..., 2]).all()
    assert to_rgb(rgb) is rgb


def test_alpha_composited_over_white():
    rgba = np.zeros((1, 3, 4), np.uint8)
    rgba[0, :, 3] = [0, 255, 128]  # transparent, opaque, half
    rgb = to_rgb(rgba)
    assert rgb[0, 0].tolist() == [255, 255, 255]
    assert rgb[0, 1].tolist() == [0, 0, 0]
    assert 125 <= rgb[0, 2, 0] <= 129
    assert to_gray(rgba)[0].tolist() == [255, 0, rgb[0, 2, 0]]


def test_conversions_reject_bad_input():
    with pytest.raises(ValueError):
        to_gray(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError):
        to_rgb(np.zeros((2, 2, 2), np.uint8))


def test_downscale_to_fit():
    img = np.zeros((100, 40, 3), np.uint8)
    small, scaled = downscale_to_fit(img, 50)
    assert scaled and small.shape == (50, 20, 3)
    same, scaled = downscale_to_fit(img, 100)
    assert not scaled and same is img
    thin, _ = downscale_to_fit(np.zeros((1, 1000), np.uint8), 10)
    assert thin.shape == (1, 10)
    with pytest.raises(ValueError):
        downscale_to_fit(img, 0)


# ---------------------------------------------------------------------------
# colorize
# ---------------------------------------------------------------------------

RAMP = np.stack([np.arange(256), 255 - np.arange(256), np.full(256, 7)], axis=1).astype(np.uint8)


def test_colorize_picks_the_table_row_floor_256_v_minus_lo_over_range():
    # values in the middle of their rows (no boundary cases): rows 0, 1, 127, 255 and beyond
    lo, hi = -1.0, 3.0  # one row spans 4 / 256 = 1 / 64
    rows = np.array([[0, 1, 127, 255]])
    values = (lo + (rows + 0.5) / 64).astype(np.float32)
    out = colorize(values, (lo, hi), RAMP)
    assert out.shape == (1, 4, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0], RAMP[rows[0]])
    clipped = colorize(np.array([[-50.0, 99.0, np.nan]], np.float32), (lo, hi), RAMP)
    np.testing.assert_array_equal(clipped[0], RAMP[[0, 255, 0]])  # below lo, above hi, NaN


def test_colorize_gives_gray_for_a_gray_table_and_takes_any_real_dtype():
    gray = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    out = colorize(np.array([[0, 1, 2, 3]], np.int64), (0, 4), gray)
    assert out.shape == (1, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0], [0, 64, 128, 192])
    u8 = colorize(np.array([[0, 255]], np.uint8), (0, 256), gray)
    np.testing.assert_array_equal(u8[0], [0, 255])
    assert colorize(np.zeros((0, 5), np.float32), (0, 1), RAMP).shape == (0, 5, 3)
    flat = colorize(np.full((2, 2), 3.0), (3.0, 3.0), RAMP)  # an empty range: no division by 0
    np.testing.assert_array_equal(flat, np.broadcast_to(RAMP[0], (2, 2, 3)))


def test_colorize_works_on_strided_views_and_rejects_bad_tables():
    values = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    view = values[::4, 1::3]
    np.testing.assert_array_equal(colorize(view, (0, 1), RAMP), colorize(view.copy(), (0, 1), RAMP))
    with pytest.raises(ValueError, match="colour table"):
        colorize(values, (0, 1), RAMP[:100])
    with pytest.raises(ValueError, match="colour table"):
        colorize(values, (0, 1), RAMP.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        colorize(values[None], (0, 1), RAMP)
