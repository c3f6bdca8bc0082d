"""Built-in sample images for the "Samples" menu.

Two kinds of sample:

* **photos** shipped as PNG files in ``resources/images/`` (their sources and
  licences are in ``resources/README.md``);
* **test patterns** generated here in code (checkerboard, step edges, Siemens
  star, zone plate, colour bars, text), each chosen to make one effect of a
  convolution visible: edge detectors on the step edges, aliasing with stride on
  the Siemens star and the zone plate, channel mixers on the colour bars.

:func:`load_sample` always returns a new, writable ``(H, W, 3)`` uint8 **RGB**
array (gray patterns have three equal channels).  Patterns are deterministic:
the same key gives the same pixels every time.

NumPy and OpenCV only; never Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.abc import Traversable

import cv2
import numpy as np

from convlab.core.images import decode_image, to_rgb
from convlab.package_data import resource, resource_bytes

__all__ = [
    "Sample",
    "SAMPLES",
    "DEFAULT_SAMPLE",
    "RESOURCES_DIR",
    "IMAGES_DIR",
    "load_sample",
    "sample_path",
]

RESOURCES_DIR = resource()  # package data (convlab.package_data): a Path in every ordinary install
IMAGES_DIR = RESOURCES_DIR / "images"


@dataclass(frozen=True)
class Sample:
    """One entry of the Samples menu.

    ``file`` is the photo's path relative to ``resources/`` (e.g.
    ``"images/astronaut.png"``), or ``None`` for a pattern generated in code.
    """

    key: str
    name: str
    description: str
    file: str | None = None

    @property
    def is_photo(self) -> bool:
        return self.file is not None


# --------------------------------------------------------------------------- patterns
#
# Every generator returns an (H, W, 3) uint8 RGB array and uses no randomness.

_SIZE = 256          # side of the square patterns
_SUPERSAMPLE = 4     # curved patterns are drawn 4x larger and area-averaged down


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[:, :, None], 3, axis=2)


def _checkerboard() -> np.ndarray:
    """8 x 8 squares of 32 px, black in the top-left corner."""
    idx = np.arange(_SIZE) // 32
    board = ((idx[:, None] + idx[None, :]) % 2).astype(np.uint8) * 255
    return _gray_to_rgb(board)


def _step_edges() -> np.ndarray:
    """Four quadrants, each split by one straight edge of a different contrast.

    top-left: vertical edge 0 | 255; top-right: horizontal edge 64 / 192;
    bottom-left: diagonal edge 96 / 160 ("\\"); bottom-right: diagonal edge
    112 / 144 ("/").  Edges are pixel-exact (no anti-aliasing).
    """
    half = _SIZE // 2
    y, x = np.mgrid[0:half, 0:half]
    vertical = np.where(x < half // 2, 0, 255)
    horizontal = np.where(y < half // 2, 64, 192)
    diag_down = np.where(x > y, 96, 160)             # edge along y == x
    diag_up = np.where(x + y < half - 1, 112, 144)   # edge along x + y == half - 1
    top = np.concatenate([vertical, horizontal], axis=1)
    bottom = np.concatenate([diag_down, diag_up], axis=1)
    return _gray_to_rgb(np.concatenate([top, bottom], axis=0).astype(np.uint8))


def _supersampled_grid(scale: int = _SUPERSAMPLE) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates of a (SIZE*scale)^2 grid, in output pixels from the centre."""
    n = _SIZE * scale
    c = (np.arange(n, dtype=np.float64) + 0.5) / scale - _SIZE / 2
    return c[:, None], c[None, :]   # y (column vector), x (row vector)


def _area_down(big: np.ndarray) -> np.ndarray:
    small = cv2.resize(big.astype(np.float32), (_SIZE, _SIZE), interpolation=cv2.INTER_AREA)
    return np.clip(np.rint(small), 0, 255).astype(np.uint8)


def _siemens_star() -> np.ndarray:
    """36 black and white spokes (18 each) on a white background.

    The spokes get ever thinner towards the centre, so a strided or pooled
    output shows where the sampling can no longer follow them (aliasing).
    """
    y, x = _supersampled_grid()
    r = np.hypot(y, x)
    theta = np.arctan2(y, x)
    spokes = 36
    black = (np.floor(theta / (2 * np.pi / spokes)).astype(np.int64) % 2) == 0
    img = np.where(black & (r <= 120), 0.0, 255.0)
    img[(r > 120) & (r <= 123)] = 0.0   # thin rim around the star
    return _gray_to_rgb(_area_down(img))


def _zone_plate() -> np.ndarray:
    """Concentric rings cos(pi r^2 / 256) whose frequency rises with the radius.

    The local frequency is r / 256 cycles per pixel: 0 at the centre and 0.5
    (the Nyquist limit) at r = 128, the edge of the disc; outside it is mid gray.
    Stride 2 already aliases the outer half into false rings.
    """
    y, x = _supersampled_grid()
    r2 = y * y + x * x
    img = 127.5 + 127.5 * np.cos(np.pi * r2 / _SIZE)
    img[r2 > (_SIZE / 2) ** 2] = 128.0
    return _gray_to_rgb(_area_down(img))


_BARS = [  # classic colour-bar order: decreasing luminance
    (255, 255, 255),  # white
    (255, 255, 0),    # yellow
    (0, 255, 255),    # cyan
    (0, 255, 0),      # green
    (255, 0, 255),    # magenta
    (255, 0, 0),      # red
    (0, 0, 255),      # blue
    (0, 0, 0),        # black
]


def _colour_bars() -> np.ndarray:
    """Top half: 8 saturated bars of 32 px.  Bottom half: four 32-row ramps
    0..255 left to right in red, green, blue and gray (value == column)."""
    img = np.zeros((_SIZE, _SIZE, 3), dtype=np.uint8)
    for i, colour in enumerate(_BARS):
        img[:128, i * 32:(i + 1) * 32] = colour
    ramp = np.arange(_SIZE, dtype=np.uint8)
    for i, channels in enumerate([(0,), (1,), (2,), (0, 1, 2)]):
        rows = slice(128 + i * 32, 128 + (i + 1) * 32)
        for c in channels:
            img[rows, :, c] = ramp[None, :]
    return img


def _text() -> np.ndarray:
    """Black text in five sizes on white, 320 x 240 (width x height)."""
    img = np.full((240, 320, 3), 255, dtype=np.uint8)
    lines = [  # (text, font scale, thickness, baseline y)
        ("ConvLab", 1.6, 3, 50),
        ("Edges and strokes", 1.0, 2, 100),
        ("Small text blurs first", 0.7, 1, 140),
        ("stride 2 loses thin lines", 0.5, 1, 175),
        ("tiny: 0123456789 abcdefghij", 0.35, 1, 205),
    ]
    for text, scale, thickness, baseline in lines:
        cv2.putText(img, text, (12, baseline), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (0, 0, 0), thickness, cv2.LINE_AA)
    return img


_GENERATORS: dict[str, Callable[[], np.ndarray]] = {
    "checkerboard": _checkerboard,
    "step_edges": _step_edges,
    "siemens_star": _siemens_star,
    "zone_plate": _zone_plate,
    "colour_bars": _colour_bars,
    "text": _text,
}


# --------------------------------------------------------------------------- catalogue

_ALL = [
    Sample("astronaut", "Astronaut (photo)",
           "Astronaut Eileen Collins, a face with clear edges (NASA, public domain).",
           "images/astronaut.png"),
    Sample("cat", "Cat (photo)",
           "Chelsea the cat: fur texture and whiskers at many scales (CC0, Stefan van der Walt).",
           "images/chelsea_cat.png"),
    Sample("coffee", "Coffee cup (photo)",
           "A coffee cup: elliptical edges, smooth porcelain and wood grain (CC0, Rachel Michetti).",
           "images/coffee.png"),
    Sample("checkerboard", "Checkerboard",
           "8 x 8 black and white squares of 32 px: corners and edges in both directions."),
    Sample("step_edges", "Step edges",
           "Vertical, horizontal and two diagonal edges of falling contrast (255, 128, 64, 32)."),
    Sample("siemens_star", "Siemens star",
           "36 radial spokes that get thinner towards the centre: shows aliasing with stride."),
    Sample("zone_plate", "Zone plate",
           "Concentric rings rising to the Nyquist frequency at the rim: false rings appear with stride."),
    Sample("colour_bars", "Colour bars and RGB ramps",
           "Eight saturated colour bars over red, green, blue and gray ramps: try the channel mixers."),
    Sample("text", "Text",
           "Black text in five sizes, 320 x 240: small strokes vanish first under blur or stride."),
]

SAMPLES: dict[str, Sample] = {s.key: s for s in _ALL}
"""Every built-in sample by key, in menu order (photos first)."""

DEFAULT_SAMPLE = "astronaut"

assert set(_GENERATORS) == {s.key for s in _ALL if not s.is_photo}


def _lookup(key: str) -> Sample:
    try:
        return SAMPLES[key]
    except (KeyError, TypeError):
        known = ", ".join(SAMPLES)
        raise ValueError(f"unknown sample {key!r}; known samples: {known}") from None


def sample_path(key: str) -> Traversable | None:
    """The file of a photo sample (package data), or ``None`` for a generated pattern."""
    sample = _lookup(key)
    return resource(*sample.file.split("/")) if sample.file is not None else None


def load_sample(key: str) -> np.ndarray:
    """The sample ``key`` as a new ``(H, W, 3)`` uint8 RGB array.

    Raises ``ValueError`` for an unknown key (the message lists the known keys)
    :class:`convlab.core.images.ImageError` if a photo cannot be decoded and
    :class:`convlab.package_data.ResourceMissing` if its file is not installed.
    """
    sample = _lookup(key)
    if sample.file is None:
        img = _GENERATORS[key]()
    else:
        name = sample.file.split("/")[-1]
        img = to_rgb(decode_image(resource_bytes(*sample.file.split("/")), name=name))
    return np.ascontiguousarray(img)
