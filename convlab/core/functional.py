"""Stateless forward/backward kernels: padding, conv2d, pooling and the filter math.

Arrays are NCHW. Every function works in the dtype it is given (float32 in the app,
float64 in the gradient checks). Convolution is cross-correlation, as in PyTorch.

conv2d is im2col + one batched GEMM: the patches of every output pixel are gathered
into ``cols`` with one slice copy per kernel offset (Fh*Fw copies, no per-sample
loops), then ``W (K, C*Fh*Fw) @ cols (N, C*Fh*Fw, Ho*Wo)`` gives NCHW directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PADDING_MODES = ("zeros", "reflect", "replicate")


# --------------------------------------------------------------------------- filter math


@dataclass(frozen=True)
class OutputSize:
    """The filter math of one axis: W' = (W - F_eff + 2P)/S + 1 with F_eff = D(F-1)+1."""

    size_in: int
    kernel: int
    stride: int
    padding: int
    dilation: int

    @property
    def effective_kernel(self) -> int:
        return self.dilation * (self.kernel - 1) + 1

    @property
    def numerator(self) -> int:
        return self.size_in - self.effective_kernel + 2 * self.padding

    @property
    def whole(self) -> bool:
        return self.numerator % self.stride == 0

    @property
    def exact(self) -> float:
        """The unfloored value of the formula, e.g. 5.5."""
        return self.numerator / self.stride + 1

    @property
    def size(self) -> int:
        """What the engine computes: floor((W + 2P - D(F-1) - 1)/S) + 1."""
        return self.numerator // self.stride + 1

    def problem(self, axis: str, what: str = "kernel") -> str | None:
        """Why this axis cannot work, in words and numbers (None when the output is positive)."""
        if self.size > 0:
            return None
        dilated = "dilated " if self.dilation > 1 else ""
        return (
            f"output {axis} {self.formula()} is not positive: the {dilated}{what} spans "
            f"{self.effective_kernel} pixels but the padded input is only {self.size_in + 2 * self.padding}"
        )

    def formula(self) -> str:
        """The formula with the real numbers, e.g. '(14 - 5 + 2*0)/2 + 1 = 5.5 -> 5'."""
        fk = str(self.kernel) if self.dilation == 1 else f"{self.effective_kernel}"
        text = f"({self.size_in} - {fk} + 2*{self.padding})/{self.stride} + 1"
        if self.whole:
            return f"{text} = {self.size}"
        return f"{text} = {_fmt(self.exact)} -> floor {self.size}"


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """floor((W + 2P - D(F-1) - 1)/S) + 1; may be <= 0 for impossible settings."""
    return OutputSize(size, kernel, stride, padding, dilation).size


def pair(v, name: str = "value") -> tuple[int, int]:
    """Normalise an int or a 2-sequence of ints to an (h, w) pair."""
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise ValueError(f"{name} must be one number or a pair (h, w), got {list(v)}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


# --------------------------------------------------------------------------- padding


def _pad_index(n: int, p: int, mode: str) -> np.ndarray:
    """Index map of a padded axis onto the original one (reflect excludes the edge)."""
    return np.pad(np.arange(n), p, mode="reflect" if mode == "reflect" else "edge")


def pad2d(x: np.ndarray, ph: int, pw: int, mode: str = "zeros", value: float = 0.0) -> np.ndarray:
    """Pad the last two axes of an NCHW array by (ph, pw) on each side."""
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    if mode == "zeros":
        out = np.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
        out[:, :, ph : ph + h, pw : pw + w] = x
        return out
    if mode == "reflect" and (ph >= h or pw >= w):
        raise ValueError(f"reflect padding ({ph}, {pw}) must be smaller than the input ({h}, {w})")
    rows = _pad_index(h, ph, mode)
    cols = _pad_index(w, pw, mode)
    return x[:, :, rows[:, None], cols[None, :]]


def pad2d_backward(dxp: np.ndarray, h: int, w: int, ph: int, pw: int, mode: str = "zeros") -> np.ndarray:
    """Gradient of pad2d: the padded border folds back onto the pixels it copied."""
    if ph == 0 and pw == 0:
        return dxp
    if mode == "zeros":
        return dxp[:, :, ph : ph + h, pw : pw + w].copy()
    rows = _pad_index(h, ph, mode)
    cols = _pad_index(w, pw, mode)
    # fold columns: interior slice, then the few border columns one by one
    dcol = dxp[:, :, :, pw : pw + w].copy()
    for j in list(range(pw)) + list(range(pw + w, w + 2 * pw)):
        dcol[:, :, :, cols[j]] += dxp[:, :, :, j]
    dx = dcol[:, :, ph : ph + h, :].copy()
    for i in list(range(ph)) + list(range(ph + h, h + 2 * ph)):
        dx[:, :, rows[i], :] += dcol[:, :, i, :]
    return dx


# --------------------------------------------------------------------------- im2col


def _windows(xp: np.ndarray, fh: int, fw: int, sh: int, sw: int, dh: int, dw: int, ho: int, wo: int):
    """Yield (i, j, view) for every kernel offset; view is (N, C, Ho, Wo)."""
    for i in range(fh):
        r0 = i * dh
        for j in range(fw):
            c0 = j * dw
            yield i, j, xp[:, :, r0 : r0 + sh * (ho - 1) + 1 : sh, c0 : c0 + sw * (wo - 1) + 1 : sw]


def im2col(xp, fh, fw, sh, sw, dh, dw, ho, wo) -> np.ndarray:
    """Patches of a padded input as (N, C*Fh*Fw, Ho*Wo)."""
    n, c = xp.shape[:2]
    cols = np.empty((n, c, fh, fw, ho, wo), dtype=xp.dtype)
    for i, j, view in _windows(xp, fh, fw, sh, sw, dh, dw, ho, wo):
        cols[:, :, i, j] = view
    return cols.reshape(n, c * fh * fw, ho * wo)


def col2im(dcols, shape_p, fh, fw, sh, sw, dh, dw, ho, wo) -> np.ndarray:
    """Adjoint of im2col: scatter-add patch gradients back into a padded input."""
    n, c = shape_p[:2]
    dxp = np.zeros(shape_p, dtype=dcols.dtype)
    d6 = dcols.reshape(n, c, fh, fw, ho, wo)
    for i, j, view in _windows(dxp, fh, fw, sh, sw, dh, dw, ho, wo):
        view += d6[:, :, i, j]
    return dxp


# --------------------------------------------------------------------------- conv2d


@dataclass
class ConvCache:
    cols: np.ndarray
    x_shape: tuple
    xp_shape: tuple
    geometry: tuple  # fh, fw, sh, sw, dh, dw, ho, wo, ph, pw, mode


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """Cross-correlation of x (N, C, H, W) with weight (K, C, Fh, Fw). Returns (out, cache)."""
    n, c, h, w = x.shape
    k, cw, fh, fw = weight.shape
    if cw != c:
        raise ValueError(f"conv2d: the filters have {cw} channels but the input has {c}")
    sh, sw = pair(stride)
    ph, pw = pair(padding)
    dh, dw = pair(dilation)
    ho = output_size(h, fh, sh, ph, dh)
    wo = output_size(w, fw, sw, pw, dw)
    if ho <= 0 or wo <= 0:
        raise ValueError(
            f"conv2d: a {fh}x{fw} kernel (dilation {dh}x{dw}) does not fit a {h}x{w} input "
            f"padded by {ph}x{pw}: the output would be {ho}x{wo}"
        )
    xp = pad2d(x, ph, pw, padding_mode)
    cols = im2col(xp, fh, fw, sh, sw, dh, dw, ho, wo)
    out = np.matmul(weight.reshape(k, -1), cols)  # (N, K, Ho*Wo)
    if bias is not None:
        out += bias.reshape(1, k, 1)
    cache = ConvCache(cols, x.shape, xp.shape, (fh, fw, sh, sw, dh, dw, ho, wo, ph, pw, padding_mode))
    return out.reshape(n, k, ho, wo), cache


def conv2d_backward(dout, weight, cache: ConvCache, need_input_grad: bool = True):
    """Gradients (dx, dweight, dbias) of conv2d_forward; dx is None if not needed."""
    n, k, ho, wo = dout.shape
    fh, fw, sh, sw, dh, dw, _, _, ph, pw, mode = cache.geometry
    d2 = dout.reshape(n, k, ho * wo)
    # dW = sum_n dout[n] @ cols[n].T: a batched GEMM (BLAS reads cols transposed, no copy)
    dweight = np.matmul(d2, cache.cols.transpose(0, 2, 1)).sum(axis=0).reshape(weight.shape)
    dbias = d2.sum(axis=(0, 2))
    dx = None
    if need_input_grad:
        dcols = np.matmul(weight.reshape(k, -1).T, d2)  # (N, C*Fh*Fw, Ho*Wo)
        dxp = col2im(dcols, cache.xp_shape, fh, fw, sh, sw, dh, dw, ho, wo)
        _, _, h, w = cache.x_shape
        dx = pad2d_backward(dxp, h, w, ph, pw, mode)
    return dx, dweight, dbias


# --------------------------------------------------------------------------- pooling


def _pool_geometry(x, kernel, stride, padding, kind):
    n, c, h, w = x.shape
    fh, fw = pair(kernel)
    sh, sw = (fh, fw) if stride is None else pair(stride)
    ph, pw = pair(padding)
    ho = output_size(h, fh, sh, ph)
    wo = output_size(w, fw, sw, pw)
    if ho <= 0 or wo <= 0:
        raise ValueError(f"{kind}: a {fh}x{fw} window does not fit a {h}x{w} input padded by {ph}x{pw}")
    return fh, fw, sh, sw, ph, pw, ho, wo


def maxpool2d_forward(x, kernel, stride=None, padding=0):
    """Max pooling; padding counts as -inf (never chosen), ties go to the first maximum."""
    geo = _pool_geometry(x, kernel, stride, padding, "maxpool2d")
    fh, fw, sh, sw, ph, pw, ho, wo = geo
    xp = pad2d(x, ph, pw, "zeros", value=-np.inf)
    out = None
    for _, _, view in _windows(xp, fh, fw, sh, sw, 1, 1, ho, wo):
        if out is None:
            out = view.copy()
        else:
            np.maximum(out, view, out=out)
    # the winners are found again in backward by comparison: cheaper than tracking argmax
    return out, (x.shape, xp, out, geo)


def maxpool2d_backward(dout, cache):
    x_shape, xp, out, (fh, fw, sh, sw, ph, pw, ho, wo) = cache
    n, c, h, w = x_shape
    dxp = np.zeros(xp.shape, dtype=dout.dtype)
    open_ = np.ones(out.shape, dtype=bool)  # windows whose maximum is not yet routed
    windows = zip(_windows(xp, fh, fw, sh, sw, 1, 1, ho, wo), _windows(dxp, fh, fw, sh, sw, 1, 1, ho, wo), strict=True)
    for (_, _, view), (_, _, target) in windows:
        win = (view == out) & open_  # first maximum only, as PyTorch
        open_ &= ~win
        target += np.where(win, dout, 0).astype(dout.dtype, copy=False)
    return pad2d_backward(dxp, h, w, ph, pw, "zeros")


def avgpool2d_forward(x, kernel, stride=None, padding=0):
    """Average pooling; zero padding is counted in the average (PyTorch's default)."""
    geo = _pool_geometry(x, kernel, stride, padding, "avgpool2d")
    fh, fw, sh, sw, ph, pw, ho, wo = geo
    n, c, h, w = x.shape
    xp = pad2d(x, ph, pw, "zeros")
    out = np.zeros((n, c, ho, wo), dtype=x.dtype)
    for _, _, view in _windows(xp, fh, fw, sh, sw, 1, 1, ho, wo):
        out += view
    out *= 1.0 / (fh * fw)
    return out, (x.shape, geo)


def avgpool2d_backward(dout, cache):
    x_shape, (fh, fw, sh, sw, ph, pw, ho, wo) = cache
    n, c, h, w = x_shape
    g = dout * (1.0 / (fh * fw))
    dxp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=dout.dtype)
    for _, _, view in _windows(dxp, fh, fw, sh, sw, 1, 1, ho, wo):
        view += g
    return pad2d_backward(dxp, h, w, ph, pw, "zeros")


# --------------------------------------------------------------------------- softmax


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
