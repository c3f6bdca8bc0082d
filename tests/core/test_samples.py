"""Built-in samples: photos in resources/images and patterns drawn in code."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from convlab.core.images import read_image
from convlab.core.samples import DEFAULT_SAMPLE, IMAGES_DIR, RESOURCES_DIR, SAMPLES, Sample, load_sample, sample_path

PHOTOS = [k for k, s in SAMPLES.items() if s.is_photo]
PATTERNS = [k for k, s in SAMPLES.items() if not s.is_photo]


def test_catalogue_has_photos_and_patterns():
    assert DEFAULT_SAMPLE in SAMPLES and SAMPLES[DEFAULT_SAMPLE].is_photo
    assert len(PHOTOS) >= 2
    for key in ("checkerboard", "step_edges", "siemens_star", "zone_plate", "colour_bars", "text"):
        assert key in PATTERNS
    for key, sample in SAMPLES.items():
        assert isinstance(sample, Sample) and sample.key == key
        assert sample.name.strip() and sample.description.strip()
        assert "\n" not in sample.description


@pytest.mark.parametrize("key", list(SAMPLES))
def test_every_sample_loads_as_uint8_rgb(key):
    img = load_sample(key)
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8
    assert img.ndim == 3 and img.shape[2] == 3
    height, width = img.shape[:2]
    assert 200 <= height <= 512 and 200 <= width <= 512
    assert img.flags.writeable and img.flags.c_contiguous
    assert img.std() > 10  # not blank


@pytest.mark.parametrize("key", PATTERNS)
def test_patterns_are_deterministic_and_fresh(key):
    first = load_sample(key)
    second = load_sample(key)
    assert np.array_equal(first, second)
    first[:] = 0  # a caller may scribble on its copy ...
    assert np.array_equal(load_sample(key), second)  # ... without changing the next one


@pytest.mark.parametrize("key", PHOTOS)
def test_photos_exist_and_decode(key):
    path = sample_path(key)
    assert path is not None and path.is_file() and path.parent == IMAGES_DIR
    assert path.suffix == ".png" and path.stat().st_size < 400_000
    raw = read_image(path)
    assert max(raw.shape[:2]) <= 512
    assert np.array_equal(load_sample(key), raw if raw.ndim == 3 else np.dstack([raw] * 3))
    assert not np.array_equal(raw[..., 0], raw[..., 1])  # real colour photos


def test_patterns_have_no_file():
    assert all(sample_path(k) is None for k in PATTERNS)


def test_gray_patterns_have_equal_channels_and_colour_bars_do_not():
    for key in ("checkerboard", "step_edges", "siemens_star", "zone_plate"):
        img = load_sample(key)
        assert np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2])
    bars = load_sample("colour_bars")
    assert tuple(bars[10, 16 + 32 * 5]) == (255, 0, 0)  # the red bar
    assert tuple(bars[10, 16 + 32 * 6]) == (0, 0, 255)  # the blue bar
    assert list(bars[140, :, 0]) == list(range(256))     # the red ramp


def test_step_edges_have_the_stated_contrasts():
    img = load_sample("step_edges")[..., 0].astype(int)
    assert img[10, 10] == 0 and img[10, 100] == 255       # vertical edge, top-left
    assert img[10, 200] == 64 and img[100, 200] == 192    # horizontal edge, top-right
    assert {img[200, 100], img[150, 10]} == {96, 160}     # diagonal, bottom-left
    assert {img[140, 140], img[250, 250]} == {112, 144}   # diagonal, bottom-right


@pytest.mark.parametrize("bad", ["nope", "", "ASTRONAUT", None])
def test_unknown_key_raises_value_error_listing_known_keys(bad):
    with pytest.raises(ValueError) as info:
        load_sample(bad)
    assert "astronaut" in str(info.value) and "checkerboard" in str(info.value)
    with pytest.raises(ValueError):
        sample_path(bad)


def test_every_shipped_image_is_a_sample_and_documented_in_the_readme():
    readme = (RESOURCES_DIR / "README.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in IMAGES_DIR.iterdir() if p.is_file())
    assert files, "resources/images is empty"
    for name in files:
        assert re.search(rf"`{re.escape(name)}`", readme), f"{name} is not described in resources/README.md"
    listed = sorted(sample_path(k).name for k in PHOTOS)
    assert listed == files


def test_icons_exist_and_match_in_size():
    svg = RESOURCES_DIR / "icons" / "convlab.svg"
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and root.get("viewBox") == "0 0 256 256"
    png = read_image(RESOURCES_DIR / "icons" / "convlab.png")
    assert png.shape == (256, 256, 4)
    assert png[0, 0, 3] == 0 and png[128, 128, 3] == 255  # transparent corner, opaque middle
