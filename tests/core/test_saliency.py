"""Where a class looks (convlab.core.visualize): saliency maps and occlusion sensitivity.

The main check trains a small network in about a second on a task where only one corner of the
picture decides the class, and asks both maps to find that corner.
"""

import numpy as np
import pytest
from numeric_gradients import numerical_input_gradient

from convlab.core.data.dataset import Dataset
from convlab.core.model import Sequential
from convlab.core.training import Trainer, evaluate
from convlab.core.visualize import (
    class_gradient,
    occlusion_geometry,
    occlusion_map,
    patch_positions,
    quadrant_share,
    saliency_map,
)


def rel_error(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))



SIZE = 16
CORNERS = {"top-left": (0, 0), "top-right": (0, 1), "bottom-left": (1, 0), "bottom-right": (1, 1)}


def corner_task(n: int, seed: int, corner: str) -> Dataset:
    """16x16 noise pictures; class 1 has a bright blob inside ``corner``'s quadrant, class 0 none there.
    Both classes get up to two blobs in the other quadrants, so only that corner tells them apart."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.5, (n, 1, SIZE, SIZE)).astype(np.float32)
    y = rng.integers(0, 2, n)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    half = SIZE // 2
    quadrants = [(r * half, c * half) for r in (0, 1) for c in (0, 1)]
    home = quadrants.index(tuple(v * half for v in CORNERS[corner]))
    others = [q for i, q in enumerate(quadrants) if i != home]

    def blob(img, quadrant):
        cy, cx = (quadrant[0] + rng.uniform(1.5, half - 1.5), quadrant[1] + rng.uniform(1.5, half - 1.5))
        img[0] = np.maximum(img[0], np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 1.2 ** 2)))

    for i in range(n):
        if y[i]:
            blob(x[i], quadrants[home])
        for q in rng.permutation(3)[: rng.integers(0, 3)]:
            blob(x[i], others[q])
    return Dataset(x, y.astype(np.int64), ["no blob", "blob"])


CORNER_NET = {"input": [1, SIZE, SIZE], "layers": [
    {"type": "conv2d", "filters": 4, "kernel": 3, "padding": 1}, {"type": "relu"}, {"type": "maxpool2d", "kernel": 2},
    {"type": "flatten"}, {"type": "linear", "units": 2}]}


@pytest.fixture(scope="module", params=["top-left", "bottom-right"])
def corner_model(request):
    corner = request.param
    model = Sequential.from_spec(CORNER_NET, seed=0)
    for _ in Trainer(model, corner_task(2000, 0, corner), epochs=10, batch_size=32, optimizer="adam", lr=0.01,
                     weight_decay=0.01, seed=0).run():
        pass
    test = corner_task(200, 100, corner)
    assert evaluate(model, test).accuracy > 0.95
    return corner, model, test


def test_both_maps_find_the_corner_that_decides(corner_model):
    corner, model, test = corner_model
    for x in test.x[test.y == 1][:6]:
        sal = saliency_map(model, x)
        occ = occlusion_map(model, x)
        assert sal.predicted == occ.predicted == sal.class_index == 1  # the predicted class by default
        assert sal.map.shape == occ.map.shape == (SIZE, SIZE)
        assert quadrant_share(sal.map, corner) > 0.5, quadrant_share(sal.map, corner)
        assert quadrant_share(occ.map, corner) > 0.5, quadrant_share(occ.map, corner)


def test_a_chosen_class_and_a_zero_fill(corner_model):
    _, model, test = corner_model
    x = test.x[test.y == 1][0]
    sal = saliency_map(model, x, class_index=0)
    occ = occlusion_map(model, x, class_index=0, fill="zero", patch=3, stride=1)
    assert sal.class_index == occ.class_index == 0 and sal.predicted == 1
    assert (occ.patch, occ.stride) == (3, 1)
    scores = model.forward(x[None])[0]
    assert sal.score == pytest.approx(float(scores[0]), rel=1e-5) and occ.score == pytest.approx(float(scores[0]))


# ------------------------------------------------------------------------------ exact checks


def _linear(c=2, h=5, w=4, k=3, seed=0):
    m = Sequential.from_spec({"input": [c, h, w], "layers": [{"type": "flatten"}, {"type": "linear", "units": k}]},
                             seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed)
    for p in m.parameters().values():
        p[...] = rng.normal(0, 1, p.shape)
    return m


def test_saliency_of_a_linear_model_is_the_size_of_its_weights():
    m = _linear()
    x = np.random.default_rng(1).uniform(0, 1, (2, 5, 4))
    w = m.parameters()["1.weight"].reshape(3, 2, 5, 4)
    sal = saliency_map(m, x, class_index=2)
    np.testing.assert_allclose(sal.map, np.abs(w[2]).max(axis=0))
    assert sal.predicted == int(np.argmax(m.forward(x[None])[0]))


def test_class_gradient_matches_centred_differences():
    m = Sequential.from_spec({"input": [2, 6, 5], "layers": [
        {"type": "conv2d", "filters": 3, "kernel": 3}, {"type": "tanh"}, {"type": "avgpool2d", "kernel": 2},
        {"type": "flatten"}, {"type": "linear", "units": 4}, {"type": "softmax"}]}, seed=2, dtype=np.float64)
    x = np.random.default_rng(3).uniform(0, 1, (2, 6, 5))

    def score(v):
        return m.forward(v[None], upto=len(m.layers) - 1)[0, 1]

    g = class_gradient(m, x, 1)
    num = numerical_input_gradient(score, x.copy())
    assert rel_error(g, num) < 1e-6
    np.testing.assert_allclose(saliency_map(m, x, 1).map, np.abs(num).max(axis=0), rtol=1e-6)


def test_occlusion_of_a_linear_model_with_one_pixel_patches_is_weight_times_change():
    m = _linear()
    x = np.random.default_rng(2).uniform(0, 1, (2, 5, 4))
    w = m.parameters()["1.weight"].reshape(3, 2, 5, 4)
    occ = occlusion_map(m, x, class_index=1, patch=1, stride=1, fill="mean", batch=7)
    # a one-pixel patch covers every channel of that pixel
    fill = x.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(occ.map, (w[1] * (x - fill)).sum(axis=0), atol=1e-12)
    zero = occlusion_map(m, x, class_index=1, patch=1, stride=1, fill="zero")
    np.testing.assert_allclose(zero.map, (w[1] * x).sum(axis=0), atol=1e-12)


def test_patches_cover_the_whole_input():
    assert patch_positions(28, 4, 2) == list(range(0, 25, 2))
    assert patch_positions(10, 4, 3) == [0, 3, 6]
    assert patch_positions(11, 4, 3) == [0, 3, 6, 7]  # the last patch flush with the edge
    assert patch_positions(3, 5, 2) == [0]
    assert occlusion_geometry(28, 28) == (4, 2)
    assert occlusion_geometry(224, 200) == (29, 14)
    assert occlusion_geometry(4, 4) == (1, 1)
    m = _linear(1, 11, 9)
    occ = occlusion_map(m, np.random.default_rng(0).uniform(0, 1, (1, 11, 9)), patch=4, stride=3)
    assert occ.map.shape == (11, 9) and np.isfinite(occ.map).all()


def test_bad_requests_name_the_problem():
    m = _linear()
    with pytest.raises(ValueError, match="one 2x5x4 image, got 1x2x5x4"):
        saliency_map(m, np.zeros((1, 2, 5, 4)))
    with pytest.raises(ValueError, match="there is no class 3"):
        occlusion_map(m, np.zeros((2, 5, 4)), class_index=3)
    with pytest.raises(ValueError, match="'mean' or 'zero'"):
        occlusion_map(m, np.zeros((2, 5, 4)), fill="noise")
    maps = Sequential.from_spec({"input": [1, 8, 8], "layers": [{"type": "conv2d", "filters": 2, "kernel": 3}]})
    with pytest.raises(ValueError, match="not class scores"):
        saliency_map(maps, np.zeros((1, 8, 8), np.float32))


def test_quadrant_share():
    m = np.zeros((6, 6))
    m[:3, :3] = 1
    m[5, 5] = -4  # negative values (covering raised the score) do not count
    assert quadrant_share(m, "top-left") == 1.0
    assert quadrant_share(m, "bottom-right") == 0.0
    assert quadrant_share(np.zeros((4, 4))) == 0.0
