"""Learning kernels from examples: gradient descent on the mean squared error, the exact
least-squares answer of the same linear problem, and a two-layer conv - ReLU - conv for targets
no single linear filter can make.

    result = fit_filter(inputs, targets, kernel=3)      # inputs (N, C, H, W), targets (N, K, H', W')
    result.weight, result.bias, result.losses            # (K, C, F, F), (K,), one loss per step
    result.diverged                                      # "" or why the run was stopped

Both gradient-descent fits stop a run that diverges - a loss or weight that is no longer finite,
or a loss that explodes while staying finite - with the rule of :mod:`convlab.core.divergence`
(the same guard as model training), and give back the weights that reached the lowest smoothed
loss, with ``diverged`` saying what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import functional as F
from .divergence import DivergenceGuard
from .losses import mse
from .optim import make_optimizer


@dataclass
class FitResult:
    weight: np.ndarray  # (K, C, F, F)
    bias: np.ndarray  # (K,)
    losses: list[float] = field(default_factory=list)
    stopped: bool = False  # the callback ended the run early
    diverged: str = ""  # why the run was stopped as diverging ("" if it was not); the best weights are kept

    @property
    def final_loss(self) -> float:
        return self.losses[-1] if self.losses else float("nan")


def _check(inputs, targets, kernel, filters, stride, padding, dilation):
    x = np.asarray(inputs)
    t = np.asarray(targets)
    if x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(f"inputs must be N x C x H x W with N >= 1, got shape {x.shape}")
    if t.ndim != 4:
        raise ValueError(f"targets must be N x K x H' x W', got shape {t.shape}")
    if x.dtype.kind not in "fiu" or t.dtype.kind not in "fiu":
        raise ValueError("inputs and targets must hold real numbers")
    if not (np.isfinite(x).all() and np.isfinite(t).all()):
        raise ValueError("inputs and targets must be finite (no NaN or infinity)")
    for name, v, lo in (("kernel", kernel, 1), ("filters", filters, 1), ("stride", stride, 1),
                        ("padding", padding, 0), ("dilation", dilation, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be a whole number >= {lo}, got {v!r}")
    n, c, h, w = x.shape
    ho = F.OutputSize(h, kernel, stride, padding, dilation)
    wo = F.OutputSize(w, kernel, stride, padding, dilation)
    for axis, m in (("height", ho), ("width", wo)):
        if m.problem(axis):
            raise ValueError(m.problem(axis))
    want = (n, filters, ho.size, wo.size)
    if t.shape != want:
        raise ValueError(
            f"targets must be {want[0]} x {want[1]} x {want[2]} x {want[3]} (N x filters x H' x W' with "
            f"H' = {ho.formula()} and W' = {wo.formula()}), got {' x '.join(map(str, t.shape))}"
        )
    return x.astype(np.float64), t.astype(np.float64)


class _Whitening:
    """Per-pixel channel whitening x' = Wh (x - mu), and the map of weights learned on x' back to x.

    Gradient descent on a linear least-squares problem is as slow as its inputs are correlated:
    natural images are all-positive and their R, G and B move together. Learning on whitened
    inputs and mapping the weights back gives the same predictions, reached in far fewer steps.
    The input is padded first, so the padded pixels are whitened exactly like real ones.
    """

    def __init__(self, x: np.ndarray):
        c = x.shape[1]
        pixels = x.transpose(1, 0, 2, 3).reshape(c, -1)
        self.mu = pixels.mean(axis=1)
        cov = np.atleast_2d(np.cov(pixels)) if pixels.shape[1] > 1 else np.eye(c)
        lam, vec = np.linalg.eigh(cov)
        lam = np.maximum(lam, 1e-8 * max(float(lam.max()), 1e-12) + 1e-12)
        self.wh = (vec / np.sqrt(lam)) @ vec.T  # symmetric inverse square root

    def apply(self, x: np.ndarray) -> np.ndarray:
        return np.einsum("dc,nchw->ndhw", self.wh, x - self.mu[None, :, None, None])

    def weights_back(self, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w_x = np.einsum("kdij,dc->kcij", w, self.wh)
        b_x = b - np.einsum("kcij,c->k", w_x, self.mu)
        return w_x, b_x


def fit_filter(inputs, targets, kernel=3, filters=1, stride=1, padding=0, dilation=1, steps=500, lr=0.01,
               optimizer="adam", seed=None, callback=None, whiten=True) -> FitResult:
    """Learn (K, C, F, F) weights and (K,) biases minimising the MSE between conv(inputs) and targets.

    ``callback(step, loss, weight)`` is called after every step (weight is a copy, on the
    inputs' own scale); returning False stops the run. ``whiten`` learns on channel-whitened
    inputs (see _Whitening): the same answer, much sooner. A diverging run stops early with
    ``result.diverged`` set and the weights of its lowest smoothed loss.
    """
    x, t = _check(inputs, targets, kernel, filters, stride, padding, dilation)
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a whole number >= 1, got {steps!r}")
    c = x.shape[1]
    xp = F.pad2d(x, padding, padding)  # zero padding, done once, before any whitening
    white = _Whitening(xp) if whiten else None
    xw = white.apply(xp) if white else xp

    def on_input_scale(w, b):
        return white.weights_back(w, b) if white else (w, b)

    rng = np.random.default_rng(seed)
    params = {
        "weight": rng.normal(0, np.sqrt(1.0 / (c * kernel * kernel)), (filters, c, kernel, kernel)),
        "bias": np.zeros(filters),
    }
    opt = make_optimizer(optimizer, params, lr=lr)
    result = FitResult(params["weight"], params["bias"])
    guard = DivergenceGuard()
    best: dict[str, np.ndarray] | None = None
    for step in range(1, steps + 1):
        before = {k: v.copy() for k, v in params.items()}
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is handled below
            out, cache = F.conv2d_forward(xw, params["weight"], params["bias"], stride, 0, dilation)
            loss, dout = mse(out, t)
            _, dw, db = F.conv2d_backward(dout, params["weight"], cache, need_input_grad=False)
            opt.step({"weight": dw, "bias": db})
        result.losses.append(loss)
        reason = guard.observe(loss, params.values())
        if guard.improved:
            best = before
        if reason:
            for k, v in (best or before).items():
                params[k][...] = v
            result.diverged = _diverged_text(step, reason, guard, best is not None, lr)
            break
        if callback is not None:
            w_now, _ = on_input_scale(params["weight"], params["bias"])
            if callback(step, loss, w_now.astype(np.float32)) is False:
                result.stopped = True
                break
    w, b = on_input_scale(params["weight"], params["bias"])
    result.weight = w.astype(np.float32)
    result.bias = b.astype(np.float32)
    return result


def least_squares_filter(inputs, targets, kernel=3, stride=1, padding=0, dilation=1) -> FitResult:
    """The exact answer: solve min ||conv(inputs) - targets||^2 for weights and bias at once."""
    t0 = np.asarray(targets)
    filters = t0.shape[1] if t0.ndim == 4 else 1
    x, t = _check(inputs, targets, kernel, filters, stride, padding, dilation)
    n, c, h, w = x.shape
    ho, wo = t.shape[2:]
    xp = F.pad2d(x, padding, padding)
    cols = F.im2col(xp, kernel, kernel, stride, stride, dilation, dilation, ho, wo)  # (N, C*F*F, Ho*Wo)
    a = cols.transpose(0, 2, 1).reshape(n * ho * wo, c * kernel * kernel)
    a = np.concatenate([a, np.ones((a.shape[0], 1))], axis=1)
    b = t.transpose(0, 2, 3, 1).reshape(n * ho * wo, filters)
    sol, *_ = np.linalg.lstsq(a, b, rcond=None)
    weight = sol[:-1].T.reshape(filters, c, kernel, kernel)
    bias = sol[-1]
    pred, _ = F.conv2d_forward(x, weight, bias, stride, padding, dilation)
    loss, _ = mse(pred, t)
    return FitResult(weight.astype(np.float32), bias.astype(np.float32), [loss])


def _diverged_text(step: int, reason: str, guard: DivergenceGuard, have_best: bool, lr: float) -> str:
    kept = guard.best_step - 1 if have_best else step - 1
    return (f"learning diverged at step {step}: {reason}. The weights after step {kept} (the lowest smoothed "
            f"loss) are kept. Try a smaller learning rate (now {lr:g}).")


@dataclass
class TwoLayerResult:
    model: object  # a Sequential: conv - ReLU - conv
    losses: list[float] = field(default_factory=list)
    stopped: bool = False
    diverged: str = ""  # why the run was stopped as diverging ("" if it was not); the best weights are kept


def fit_two_layer(inputs, targets, kernel=3, hidden=8, steps=500, lr=0.01, seed=None, callback=None) -> TwoLayerResult:
    """Learn conv(F) - ReLU - conv(F) with 'same' padding: depth can make what one filter cannot."""
    from .model import Sequential

    x = np.asarray(inputs, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    if kernel % 2 == 0:
        raise ValueError(f"the two-layer fit keeps the image size, so its kernel must be odd, got {kernel}")
    if x.ndim != 4 or t.ndim != 4 or t.shape[0] != x.shape[0] or t.shape[2:] != x.shape[2:]:
        like = x.shape[2:] if x.ndim == 4 else "?"
        raise ValueError(f"targets must be N x K x {like} like the inputs, got {t.shape}")
    pad = kernel // 2
    spec = {"input": list(x.shape[1:]), "layers": [
        {"type": "conv2d", "filters": hidden, "kernel": kernel, "padding": pad}, {"type": "relu"},
        {"type": "conv2d", "filters": t.shape[1], "kernel": kernel, "padding": pad}]}
    model = Sequential.from_spec(spec, seed=seed, dtype=np.float64)
    params = model.parameters()
    opt = make_optimizer("adam", params, lr=lr)
    result = TwoLayerResult(model)
    guard = DivergenceGuard()
    best: dict[str, np.ndarray] | None = None
    for step in range(1, steps + 1):
        before = model.state_dict()
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is handled below
            out = model.forward(x, training=True)
            loss, dout = mse(out, t)
            model.backward(dout, need_input_grad=False)
            opt.step(model.gradients())
        result.losses.append(loss)
        reason = guard.observe(loss, params.values())
        if guard.improved:
            best = before
        if reason:
            for k, v in (best or before).items():
                params[k][...] = v
            result.diverged = _diverged_text(step, reason, guard, best is not None, lr)
            break
        if callback is not None and callback(step, loss, None) is False:
            result.stopped = True
            break
    return result
