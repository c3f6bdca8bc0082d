"""The drawing pad's engine: strokes, "centre and scale like MNIST", and the pad as a frame source."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest

from convlab.core.data import synthetic_digits
from convlab.core.drawing import (
    MNIST_BOX,
    DrawingSource,
    Stroke,
    box_for,
    centre_like_mnist,
    draw_dot,
    draw_segment,
    draw_stroke,
    ink_stats,
    render_strokes,
)
from convlab.core.model import Sequential
from convlab.core.presets import model_preset
from convlab.core.sources import SourceError
from convlab.core.training import Trainer

THREE = [(90, 60), (140, 45), (185, 65), (180, 110), (135, 135), (185, 160), (190, 210), (140, 235), (85, 215)]
SEVEN = [(60, 50), (210, 55), (150, 150), (110, 250)]


def drawn(points, canvas=(280, 280), width=20, offset=(0, 0)) -> np.ndarray:
    ink = np.zeros(canvas, np.uint8)
    draw_stroke(ink, [(x + offset[0], y + offset[1]) for x, y in points], width)
    return ink


def long_and_short(box) -> tuple[int, int]:
    _, _, w, h = box
    return max(w, h), min(w, h)


# ---------------------------------------------------------------------------------------------
# strokes
# ---------------------------------------------------------------------------------------------

def test_a_stroke_has_ink_along_its_path_with_round_caps_and_soft_edges():
    ink = drawn([(40, 140), (240, 140)], width=20)
    assert ink[140, 40:241].min() == 255  # along the path
    assert ink[140, 31] > 0 and ink[140, 20] == 0  # a round cap: ink half the width beyond the end
    assert ink[131, 40] > 0 and ink[128, 40] == 0  # ... and round, not square: the corner is empty
    assert ink[131:131 + 2, 32].max() < 255  # the corner of the cap is only partly covered
    assert 0 < ink[150, 140] < 255 or 0 < ink[149, 140] < 255 or 0 < ink[151, 140] < 255  # anti-aliased edge
    assert ink[100, 140] == 0 and ink[180, 140] == 0


def test_a_dot_and_a_segment_draw_into_the_ink_they_are_given():
    ink = np.zeros((50, 50), np.uint8)
    draw_dot(ink, 25.0, 25.0, 10)
    assert ink[25, 25] == 255 and ink[25, 32] == 0 and ink[33, 25] == 0
    draw_segment(ink, (5, 5), (45, 5), 4)
    assert ink[5, 5:46].min() == 255
    with pytest.raises(ValueError, match="gray uint8"):
        draw_dot(np.zeros((5, 5, 3), np.uint8), 1, 1, 2)
    with pytest.raises(ValueError, match="one width per point"):
        draw_stroke(ink, [(1, 1), (2, 2)], [3.0])


def test_strokes_rendered_again_give_the_same_pixels():
    strokes = [Stroke(tuple(map(tuple, THREE)), (20.0,) * len(THREE)),
               Stroke(((30.0, 30.0),), (12.0,)),
               Stroke(((20.0, 250.0), (260.0, 20.0)), (6.0, 30.0))]
    incremental = np.zeros((280, 280), np.uint8)
    for s in strokes:  # the way a pad draws: a dot, then one piece per point
        draw_dot(incremental, *s.points[0], s.widths[0])
        for i in range(1, len(s.points)):
            draw_segment(incremental, s.points[i - 1], s.points[i], s.widths[i - 1], s.widths[i], start_cap=False)
    np.testing.assert_array_equal(render_strokes(strokes, (280, 280)), incremental)
    assert not render_strokes([], (10, 12)).any() and render_strokes([], (10, 12)).shape == (10, 12)
    with pytest.raises(ValueError, match="one width per point"):
        Stroke(((1.0, 1.0),), ())


# ---------------------------------------------------------------------------------------------
# centre and scale like MNIST
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("points", [THREE, SEVEN], ids=["three", "seven"])
@pytest.mark.parametrize("offset", [(0, 0), (-40, -30), (60, 25)], ids=["centre", "top-left", "right"])
def test_a_drawn_digit_ends_in_a_20_box_with_its_centre_of_mass_in_the_middle(points, offset):
    ink = drawn(points, canvas=(300, 340), offset=offset)
    exact = centre_like_mnist(ink, subpixel=False)  # whole-pixel shift: the box stays 20 exactly
    s = ink_stats(exact)
    assert exact.shape == (28, 28) and exact.dtype == np.uint8
    assert long_and_short(s.box)[0] == MNIST_BOX and max(s.box[2], s.box[3]) <= MNIST_BOX
    assert abs(s.centre[0] - 13.5) <= 0.5 and abs(s.centre[1] - 13.5) <= 0.5
    fine = centre_like_mnist(ink)  # sub-pixel shift: the centre of mass exactly in the middle ...
    s = ink_stats(fine)
    assert s.centre == pytest.approx((13.5, 13.5), abs=0.02)
    assert MNIST_BOX <= long_and_short(s.box)[0] <= MNIST_BOX + 1  # ... the box may touch one more pixel, faintly
    assert s.mass == pytest.approx(ink_stats(exact).mass, rel=0.01)  # no ink lost to the shift


def test_the_aspect_ratio_is_kept():
    wide = np.zeros((300, 300), np.uint8)
    cv2.rectangle(wide, (30, 100), (270, 220), 255, -1)  # 241 x 121: about 2 : 1
    _, _, w, h = ink_stats(centre_like_mnist(wide, subpixel=False)).box
    assert (w, h) == (20, 10)
    tall = np.zeros((400, 200), np.uint8)
    cv2.rectangle(tall, (80, 20), (129, 369), 255, -1)  # 50 x 350: 1 : 7
    _, _, w, h = ink_stats(centre_like_mnist(tall, subpixel=False)).box
    assert h == 20 and w == 3


def test_an_empty_canvas_gives_an_empty_field():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by zero, no NaN
        out = centre_like_mnist(np.zeros((280, 280), np.uint8))
    assert out.shape == (28, 28) and out.dtype == np.uint8 and not out.any()
    assert not centre_like_mnist(np.zeros((1, 1), np.uint8), 32).any()
    s = ink_stats(out)
    assert s.empty and s.box == (0, 0, 0, 0) and s.centre == (13.5, 13.5)


def test_degenerate_drawings_a_dot_a_pixel_and_lines():
    dot = np.zeros((280, 280), np.uint8)
    draw_dot(dot, 200, 40, 18)
    s = ink_stats(centre_like_mnist(dot))
    assert 20 <= long_and_short(s.box)[0] <= 21 and s.centre == pytest.approx((13.5, 13.5), abs=0.02)
    pixel = np.zeros((100, 100), np.uint8)
    pixel[3, 97] = 255
    out = centre_like_mnist(pixel, subpixel=False)
    assert ink_stats(out).box == (4, 4, 20, 20) and out[4:24, 4:24].min() == 255  # one pixel fills the box
    line = drawn([(20, 200), (260, 200)], width=4)
    s = ink_stats(centre_like_mnist(line))
    assert s.box[2] in (20, 21) and s.box[3] <= 3 and s.centre == pytest.approx((13.5, 13.5), abs=0.02)
    upright = drawn([(140, 10), (140, 270)], width=2)
    s = ink_stats(centre_like_mnist(upright))
    assert s.box[3] in (20, 21) and s.box[2] <= 2 and s.centre == pytest.approx((13.5, 13.5), abs=0.02)


def test_lopsided_ink_stays_whole_in_the_field():
    """A heavy blob on a long thin tail: centring its mass would push the tail out of the field;
    the shift stops where the whole drawing still fits."""
    ink = np.zeros((420, 200), np.uint8)
    cv2.circle(ink, (100, 45), 40, 255, -1)
    cv2.line(ink, (100, 45), (100, 405), 255, 2)
    out = centre_like_mnist(ink, subpixel=False)
    s = ink_stats(out)
    assert s.box[3] == 20 and s.box[1] + s.box[3] <= 28  # the whole tail is there ...
    assert s.centre[1] < 13.5  # ... so the mass stays above the middle, as close as the field allows
    assert abs(s.centre[0] - 13.5) <= 0.5
    assert out[27].any()  # the tail's end touches the bottom row


def test_other_field_sizes_keep_the_20_of_28_ratio_and_any_canvas_works():
    ink = drawn(THREE, canvas=(300, 300))
    assert box_for(28) == (20, 20) and box_for((32, 56)) == pytest.approx((32 * 20 / 28, 40))
    out = centre_like_mnist(ink, 32, subpixel=False)
    s = ink_stats(out)
    assert out.shape == (32, 32) and long_and_short(s.box)[0] == round(32 * 20 / 28)
    assert abs(s.centre[0] - 15.5) <= 0.5 and abs(s.centre[1] - 15.5) <= 0.5
    out = centre_like_mnist(ink, (28, 56))
    assert out.shape == (28, 56) and ink_stats(out).centre == pytest.approx((27.5, 13.5), abs=0.02)
    small = cv2.resize(ink, (37, 23), interpolation=cv2.INTER_AREA)  # a small, non-square canvas
    s = ink_stats(centre_like_mnist(small))
    assert 20 <= long_and_short(s.box)[0] <= 21 and s.centre == pytest.approx((13.5, 13.5), abs=0.02)


def test_faint_specks_below_the_threshold_are_not_ink():
    ink = drawn(SEVEN)
    ink[5, 270] = ink[275, 3] = 30  # dust far from the digit
    assert long_and_short(ink_stats(centre_like_mnist(ink, subpixel=False)).box)[0] < MNIST_BOX - 2
    clean = centre_like_mnist(ink, subpixel=False, threshold=30)
    np.testing.assert_array_equal(clean, centre_like_mnist(drawn(SEVEN), subpixel=False, threshold=30))
    assert long_and_short(ink_stats(clean).box)[0] == MNIST_BOX


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="gray uint8"):
        centre_like_mnist(np.zeros((28, 28), np.float32))
    with pytest.raises(ValueError, match="gray uint8"):
        centre_like_mnist(np.zeros((28, 28, 3), np.uint8))
    with pytest.raises(ValueError, match="at least one pixel"):
        centre_like_mnist(np.zeros((0, 5), np.uint8))
    with pytest.raises(ValueError, match="at least 1 x 1"):
        centre_like_mnist(np.zeros((5, 5), np.uint8), 0)


# ---------------------------------------------------------------------------------------------
# a synthetic digit drawn large comes back as it was
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lenet_and_digits():
    """LeNet (ReLU) trained for one short epoch on synthetic digits (seeded), and digits it did not see."""
    train = synthetic_digits(1500, seed=11)
    model = Sequential.from_spec(model_preset("lenet_relu"), seed=0)
    for _ in Trainer(model, train, epochs=1, batch_size=32, optimizer="momentum", lr=0.05, seed=0).run():
        pass
    return model, synthetic_digits(60, seed=12)


def redrawn(image: np.ndarray, scale: int, at: tuple[int, int], canvas=(420, 460)) -> np.ndarray:
    """A 28 x 28 digit (float in [0, 1]) drawn ``scale`` times larger somewhere on a big canvas."""
    big = cv2.resize((image * 255).round().astype(np.uint8), (28 * scale, 28 * scale), interpolation=cv2.INTER_CUBIC)
    out = np.zeros(canvas, np.uint8)
    y, x = at
    out[y:y + big.shape[0], x:x + big.shape[1]] = big
    return out


def test_a_synthetic_digit_drawn_large_comes_back_in_mnist_layout_and_is_read_the_same(lenet_and_digits):
    model, digits = lenet_and_digits
    originals = digits.x[:, 0]
    rng = np.random.default_rng(3)
    back = []
    for img in originals:
        scale = int(rng.integers(6, 13))
        y = int(rng.integers(0, 420 - 28 * scale + 1))
        x = int(rng.integers(0, 460 - 28 * scale + 1))
        out = centre_like_mnist(redrawn(img, scale, (y, x)), threshold=40)  # the digits' faint noise aside
        s = ink_stats(out, threshold=20)
        assert 18 <= long_and_short(s.box)[0] <= 22, s
        assert abs(s.centre[0] - 13.5) <= 0.75 and abs(s.centre[1] - 13.5) <= 0.75, s
        back.append(out.astype(np.float32) / 255)
    back_x = np.stack(back)[:, None]
    # shape statistics: the same picture, up to the small differences of scale and position
    corr = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(originals, back_x[:, 0], strict=True)]
    assert np.median(corr) > 0.85 and min(corr) > 0.5, sorted(corr)[:5]
    # and the network reads them alike
    before = model.forward(digits.x).argmax(axis=1)
    after = model.forward(back_x).argmax(axis=1)
    assert (before == digits.y).mean() >= 0.8  # the short training worked
    assert (before == after).mean() >= 0.9, (before, after)


# ---------------------------------------------------------------------------------------------
# the pad as a frame source
# ---------------------------------------------------------------------------------------------

def test_the_drawing_source_publishes_every_picture_it_is_shown():
    src = DrawingSource()
    seen = []
    src.on_frame = seen.append
    first = np.full((28, 28), 7, np.uint8)
    assert src.show(first) is None and not seen  # kept until the start
    src.start()
    assert len(seen) == 1 and seen[0].image.shape == (28, 28, 3) and (seen[0].image == 7).all()
    assert not seen[0].image.flags.writeable
    frame = src.show(np.zeros((40, 30, 3), np.uint8))
    assert frame is seen[-1] and frame.index > seen[0].index and frame.size == (30, 40)
    assert src.latest() is frame and not src.ended
    src.mirror = True  # a drawing is never mirrored
    assert src.mirror is False and len(seen) == 2
    with pytest.raises(SourceError, match="drawing pad"):
        src.show(np.zeros((4, 4), np.float32))
    assert src.stop() and src.show(first) is None and len(seen) == 2
    with pytest.raises(SourceError):
        src.start()


def test_a_drawing_source_started_empty_shows_an_empty_field():
    src = DrawingSource()
    src.start()
    frame = src.latest()
    assert frame is not None and frame.image.shape == (28, 28, 3) and not frame.image.any()
    src.stop()
