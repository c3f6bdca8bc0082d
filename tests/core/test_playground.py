"""The playground engine: cv2.filter2D bank == engine conv2d, pixel explanations, display, post."""

import numpy as np
import pytest

from convlab.core import functional as F
from convlab.core.playground import (
    ConvSettings,
    FilterBank,
    PostSettings,
    apply_bank,
    check_geometry,
    dilate_kernel,
    display,
    explain_pixel,
    image_to_input,
    mix_weights,
    round_up,
    steady_levels,
    weight_count,
)

RNG = np.random.default_rng(0)


def bank(k=3, c=3, f=5):
    return FilterBank(RNG.standard_normal((k, c, f, f)).astype(np.float32), RNG.standard_normal(k), [])


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", [0, 1, 3])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate"])
@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("f", [1, 2, 3, 5])
def test_bank_equals_engine_conv2d(stride, padding, mode, dilation, f):
    x = (RNG.random((3, 23, 31)) * 255).astype(np.float32)
    b = bank(f=f)
    s = ConvSettings(stride, padding, mode, dilation)
    got = apply_bank(x, b, s).maps
    ref, _ = F.conv2d_forward(x[None].astype(np.float64), b.weights.astype(np.float64), b.biases.astype(np.float64),
                              stride, padding, dilation, mode)
    assert got.shape == ref.shape[1:]
    np.testing.assert_allclose(got, ref[0], rtol=1e-4, atol=2e-3)


def test_explanation_equals_the_map_value_everywhere_it_is_asked():
    x = (RNG.random((3, 17, 19)) * 255).astype(np.float32)
    b = bank(k=2, f=3)
    s = ConvSettings(2, 2, "reflect", 2)
    maps = apply_bank(x, b, s).maps
    for (k, y, xx) in [(0, 0, 0), (1, 3, 4), (1, maps.shape[1] - 1, maps.shape[2] - 1)]:
        e = explain_pixel(x, b, s, k, y, xx)
        assert e.value == pytest.approx(float(maps[k, y, xx]), rel=1e-4, abs=1e-2)
        np.testing.assert_allclose(e.channel_sums, (e.patch.astype(np.float64) * e.kernel).sum(axis=(1, 2)))
        assert e.rows.tolist() == [y * 2 - 2 + 2 * i for i in range(3)]  # taps 2 apart: dilation


def test_explanation_marks_padding_taps():
    x = np.ones((1, 5, 5), np.float32) * 10
    b = FilterBank(np.ones((1, 1, 3, 3), np.float32), None, [])
    e = explain_pixel(x, b, ConvSettings(padding=1), 0, 0, 0)
    assert e.outside.sum() == 5 and e.value == pytest.approx(40.0)  # zero padding: 4 real pixels x 10
    assert e.patch[0][e.outside].tolist() == [0.0] * 5


def test_the_filter_math_by_hand():
    mh, mw = check_geometry((480, 640), 5, ConvSettings(2, 1, "zeros", 2))
    assert mw.effective_kernel == 9 and mw.size == 317 and not mw.whole and mw.exact == 317.5
    assert mw.formula() == "(640 - 9 + 2*1)/2 + 1 = 317.5 -> floor 317"
    assert mh.size == 237 and not mh.whole  # (480 - 9 + 2)/2 + 1 = 237.5
    with pytest.raises(ValueError, match="output height .* is not positive.*spans 21 pixels.*padded input is only 10"):
        check_geometry((10, 40), 11, ConvSettings(dilation=2))
    with pytest.raises(ValueError, match="kernel size must be 1 to 11"):
        check_geometry((10, 10), 12, ConvSettings())
    with pytest.raises(ValueError, match="reflect padding 6 must be smaller"):
        check_geometry((6, 40), 3, ConvSettings(padding=6, padding_mode="reflect"))


def test_weight_count_is_k_f_f_c_plus_k():
    assert weight_count(bank(k=1, c=3, f=5)) == (75, 1)
    assert weight_count(bank(k=8, c=3, f=5)) == (600, 8)


def test_dilate_kernel():
    k = np.arange(9, dtype=np.float32).reshape(3, 3)
    d = dilate_kernel(k, 2)
    assert d.shape == (5, 5) and d[::2, ::2].tolist() == k.tolist() and d[1].sum() == 0


def test_pooling_and_1x1_after_the_bank():
    x = (RNG.random((1, 20, 20)) * 255).astype(np.float32)
    b = bank(k=4, c=1, f=3)
    post = PostSettings("max", 2, 2, mix_weights("groups", 2, 4), np.zeros(2, np.float32))
    r = apply_bank(x, b, ConvSettings(), post)
    assert r.maps.shape == (4, 18, 18) and r.pooled.shape == (4, 9, 9) and r.mixed.shape == (2, 9, 9)
    expected_pool = r.maps.reshape(4, 9, 2, 9, 2).max(axis=(2, 4))
    np.testing.assert_allclose(r.pooled, expected_pool)
    np.testing.assert_allclose(r.mixed[0], (r.pooled[0] + r.pooled[2]) / 2, rtol=1e-5, atol=1e-3)
    avg = apply_bank(x, b, ConvSettings(), PostSettings("avg", 3, 3)).pooled
    assert avg.shape == (4, 6, 6)
    with pytest.raises(ValueError, match="does not fit"):
        apply_bank(x, b, ConvSettings(), PostSettings("max", 30, 1))


def test_display_modes():
    m = np.array([[[-10.0, 0.0, 300.0]]], np.float32)
    raw = display(m, "raw")
    assert raw.signed and raw.levels == (-300.0, 300.0) and raw.value_range == (-10.0, 300.0)
    a = display(m, "abs")
    assert a.image.tolist() == [[[10.0, 0.0, 300.0]]] and not a.signed
    c = display(m, "clamp")
    assert c.image.tolist() == [[[0.0, 0.0, 255.0]]] and c.levels == (0.0, 255.0)
    n = display(m, "minmax")
    assert n.image.min() == 0 and n.image.max() == 1
    assert display(np.zeros((1, 2, 2), np.float32), "minmax").image.max() == 0
    with pytest.raises(ValueError, match="display mode"):
        display(m, "log")


def test_image_to_input_and_bank_errors():
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 255
    assert image_to_input(rgb, "rgb").shape == (3, 4, 5) and image_to_input(rgb, "rgb")[0].max() == 255
    assert image_to_input(rgb, "gray").shape == (1, 4, 5)
    with pytest.raises(ValueError, match="the filters have 3 channel"):
        apply_bank(image_to_input(rgb, "gray"), bank(c=3, f=3), ConvSettings())
    with pytest.raises(ValueError, match="K x C x F x F"):
        FilterBank(np.zeros((3, 3)), None)
    with pytest.raises(ValueError, match="finite"):
        FilterBank(np.full((1, 1, 3, 3), np.nan), None)


# --------------------------------------------------------------------------- the bank's fast paths
# apply_bank makes few large native calls (see _bank_maps): the padding is cv2's own border when the
# kernel reaches that far, filters whose channels share one kernel run once on a channel mix, and
# all-zero channels are skipped. Every path must still equal the engine's conv2d.


def structured_bank(k, c, f, rng):
    """Filters of every kind the fast paths tell apart: random; one kernel / C on every channel
    (a spatial preset on RGB); one kernel scaled per channel; one channel only; all zeros."""
    w = rng.standard_normal((k, c, f, f)).astype(np.float32)
    scales = np.array([0.299, -0.587, 0.114], np.float32)[:c, None, None]
    for i in range(k):
        kern = rng.standard_normal((f, f)).astype(np.float32)
        kind = i % 5
        if kind == 1:
            w[i] = kern / np.float32(c)
        elif kind == 2:
            w[i] = kern[None] * scales
        elif kind == 3:
            w[i] = 0
            w[i, c // 2] = kern
        elif kind == 4:
            w[i] = 0
    return FilterBank(w, rng.standard_normal(k).astype(np.float32), [])


@pytest.mark.parametrize("f", [1, 3, 5, 11])
@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("k", [1, 16])
@pytest.mark.parametrize("kind", ["random", "structured"])
def test_every_bank_path_equals_engine_conv2d(f, c, k, kind):
    rng = np.random.default_rng(f * 100 + c * 10 + k)
    x = (rng.random((c, 33, 37)) * 255).astype(np.float32)
    b = bank(k, c, f) if kind == "random" else structured_bank(k, c, f, rng)
    if k == 1 and kind == "structured":
        b = FilterBank(np.repeat(b.weights[:1, :1], c, axis=1) / np.float32(c), b.biases, [])  # shared kernel
    for stride in (1, 2, 3):
        for padding in (0, 1, 2, 3):
            for mode in ("zeros", "reflect", "replicate"):
                for dilation in (1, 2, 3):
                    s = ConvSettings(stride, padding, mode, dilation)
                    got = apply_bank(x, b, s).maps
                    ref, _ = F.conv2d_forward(x[None].astype(np.float64), b.weights.astype(np.float64),
                                              b.biases.astype(np.float64), stride, padding, dilation, mode)
                    assert got.shape == ref.shape[1:] and got.dtype == np.float32 and got.flags.c_contiguous, s
                    err = np.abs(got - ref[0]).max()
                    assert err <= 1e-5 * max(np.abs(ref).max(), 1.0), (s, err)


@pytest.mark.parametrize("group", [1, 3, 7])
def test_a_large_bank_runs_in_groups_of_filters_alike(monkeypatch, group):
    from convlab.core import playground

    rng = np.random.default_rng(group)
    x = (rng.random((3, 21, 26)) * 255).astype(np.float32)
    b = structured_bank(16, 3, 5, rng)
    for s in (ConvSettings(1, 2, "reflect"), ConvSettings(2, 1, "replicate"), ConvSettings(1, 0)):
        # scratch for `group` filters: 2 planes each for channels 1 and 2, one more when the maps
        # are cropped or strided from filter2D's full-size output
        planes = 2 if (s.stride, s.padding) == (1, 2) else 3
        monkeypatch.setattr(playground, "_SCRATCH_BYTES", group * planes * 4 * 21 * 26)
        got = apply_bank(x, b, s).maps
        ref, _ = F.conv2d_forward(x[None].astype(np.float64), b.weights.astype(np.float64), b.biases.astype(np.float64),
                                  s.stride, s.padding, s.dilation, s.padding_mode)
        np.testing.assert_allclose(got, ref[0], rtol=1e-5, atol=1e-3)


def test_a_random_bank_adds_its_channels_in_one_call_per_channel(monkeypatch):
    import cv2

    calls = []
    real = cv2.add
    monkeypatch.setattr(cv2, "add", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    apply_bank((RNG.random((3, 30, 40)) * 255).astype(np.float32), bank(k=8, c=3, f=5), ConvSettings(1, 2))
    assert len(calls) == 2  # channels 1 and 2 of all 8 filters, not 2 per filter


def _count_filter2d(monkeypatch):
    import cv2

    calls = []
    real = cv2.filter2D
    monkeypatch.setattr(cv2, "filter2D", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    return calls


def test_a_preset_bank_on_rgb_runs_one_filter2d_per_filter(monkeypatch):
    from convlab.core import kernels

    keys = ["sobel_x", "sobel_y", "laplacian", "box_blur", "gaussian_5", "sharpen", "rgb_to_luma", "red_minus_green"]
    ws = [kernels.resize_kernel(kernels.preset(key).filter(3), 5) for key in keys]
    b = FilterBank(np.stack(ws), np.zeros(len(keys), np.float32), keys)
    x = (RNG.random((3, 40, 50)) * 255).astype(np.float32)
    calls = _count_filter2d(monkeypatch)
    got = apply_bank(x, b, ConvSettings(1, 2)).maps
    assert len(calls) == len(keys)  # not 3 per filter: the channels share the kernel (mixers: scaled)
    ref, _ = F.conv2d_forward(x[None].astype(np.float64), b.weights.astype(np.float64), b.biases.astype(np.float64),
                              1, 2)
    np.testing.assert_allclose(got, ref[0], rtol=1e-5, atol=1e-3)
    calls.clear()
    apply_bank(x, bank(k=4, c=3, f=5), ConvSettings(1, 2))
    assert len(calls) == 12  # random filters: one call per filter and channel


def test_the_cached_plan_follows_weights_edited_in_place():
    x = (RNG.random((3, 20, 24)) * 255).astype(np.float32)
    b = bank(k=2, c=3, f=3)
    s = ConvSettings(1, 1)
    before = apply_bank(x, b, s).maps
    b.weights[1, 2, 1, 1] += 5.0  # the kernel editor may change the array itself
    b.biases[0] = 7.0
    after = apply_bank(x, b, s).maps
    ref, _ = F.conv2d_forward(x[None].astype(np.float64), b.weights.astype(np.float64), b.biases.astype(np.float64),
                              1, 1)
    np.testing.assert_allclose(after, ref[0], rtol=1e-5, atol=1e-3)
    assert not np.allclose(before, after)


def test_apply_bank_from_two_threads_at_once():
    import threading

    jobs = [((RNG.random((3, 30, 40)) * 255).astype(np.float32), bank(k=4, c=3, f=5), ConvSettings(1, 2, "reflect")),
            ((RNG.random((1, 25, 35)) * 255).astype(np.float32), bank(k=3, c=1, f=3), ConvSettings(2, 1))]
    refs = [apply_bank(x, b, s).maps for x, b, s in jobs]
    bad = []

    def run(i):
        for _ in range(30):
            x, b, s = jobs[i]
            if not np.array_equal(apply_bank(x, b, s).maps, refs[i]):
                bad.append(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


@pytest.mark.parametrize("pool", ["max", "avg"])
@pytest.mark.parametrize("kernel,stride", [(2, 2), (3, 3), (4, 4), (1, 1), (3, 2), (2, 1)])
@pytest.mark.parametrize("hw", [(24, 30), (24, 31), (25, 30)])
def test_pooling_after_the_bank_equals_the_engine_pooling(pool, kernel, stride, hw):
    x = (RNG.random((3,) + hw) * 255).astype(np.float32)
    r = apply_bank(x, bank(k=5, c=3, f=3), ConvSettings(1, 1), PostSettings(pool, kernel, stride))
    fn = F.maxpool2d_forward if pool == "max" else F.avgpool2d_forward
    ref = fn(r.maps[None], kernel, stride)[0][0]
    assert r.pooled.shape == ref.shape and r.pooled.flags.c_contiguous
    assert r.pool_math[0].size == ref.shape[1] and r.pool_math[1].size == ref.shape[2]
    np.testing.assert_allclose(r.pooled, ref, rtol=1e-6, atol=1e-3)


# ---------------------------------------------------------------------- steady levels for live frames


@pytest.mark.parametrize("x, expected", [(1.0, 1.0), (1.01, 1.2), (1.3, 1.5), (2.49, 2.5), (2.6, 3.0),
                                         (7.0, 8.0), (8.01, 10.0), (0.0123, 0.015), (255.0, 300.0),
                                         (4e5, 4e5), (9.9e-7, 1e-6)])
def test_round_up_to_1_12_15_2_25_3_4_5_6_8(x, expected):
    assert round_up(x) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_round_up_refuses_what_has_no_round_bound(bad):
    with pytest.raises(ValueError):
        round_up(bad)


def test_steady_levels_hold_while_the_values_fill_them_and_refit_with_headroom():
    # a first frame: bound 1.0 -> 1.1 * 1.0 = 1.1 -> 1.2
    assert steady_levels("raw", (-1.0, 1.0), None) == (-1.2, 1.2)
    # values between 60 % and 100 % of the shown bound: the same levels
    for b in (1.2, 1.0, 0.73):
        assert steady_levels("raw", (-b, b), (-1.2, 1.2)) == (-1.2, 1.2)
    # above: refit (1.1 * 1.3 = 1.43 -> 1.5); below 60 %: refit (1.1 * 0.7 = 0.77 -> 0.8)
    assert steady_levels("raw", (-1.3, 1.3), (-1.2, 1.2)) == (-1.5, 1.5)
    assert steady_levels("raw", (-0.7, 0.7), (-1.2, 1.2)) == (-0.8, 0.8)
    # abs keeps its zero; levels of another shape (the mode changed) are not kept
    assert steady_levels("abs", (0.0, 3.0), (0.0, 4.0)) == (0.0, 4.0)
    assert steady_levels("abs", (0.0, 3.0), (-4.0, 4.0)) == (0.0, 4.0)  # refit: 3.3 -> 4
    assert steady_levels("raw", (-3.0, 3.0), (0.0, 4.0)) == (-4.0, 4.0)
    assert steady_levels("raw", (-1e-6, 1e-6), None)[1] > 0  # an all-zero map still has a range


@pytest.mark.parametrize("mode, levels", [("clamp", (0.0, 255.0)), ("minmax", (0.0, 1.0))])
def test_steady_levels_leave_fixed_levels_alone(mode, levels):
    assert steady_levels(mode, levels, None) == levels
    assert steady_levels(mode, levels, (-7.0, 7.0)) == levels


def test_bank_scratch_planes_kept_between_calls_leave_no_trace():
    """Banks of different sizes and depths in turn (scratch planes reused and reshaped between
    calls) each give the maps a fresh computation gives."""
    from convlab.core import playground

    rng = np.random.default_rng(3)
    x = (rng.random((3, 40, 50)) * 255).astype(np.float32)
    banks = [FilterBank(rng.standard_normal((k, 3, f, f)).astype(np.float32), rng.standard_normal(k), [])
             for k, f in ((5, 3), (2, 5), (7, 3))]
    settings = ConvSettings(padding=1)
    first = [apply_bank(x, b, settings).maps.copy() for b in banks]
    assert playground._scratch.planes  # planes were kept
    for _ in range(2):
        for b, want in zip(banks, first, strict=True):
            np.testing.assert_array_equal(apply_bank(x, b, settings).maps, want)
    ref, _ = F.conv2d_forward(x[None].astype(np.float64), banks[1].weights.astype(np.float64),
                              banks[1].biases.astype(np.float64), 1, 1)
    np.testing.assert_allclose(first[1], ref[0], rtol=1e-4, atol=1e-2)
