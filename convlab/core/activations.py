"""Facts about one layer's activations for one input: range, mean and "dead" rectified units."""

from __future__ import annotations

import numpy as np

RECTIFIERS = frozenset({"relu", "leaky_relu"})
# layers that keep a rectifier's exact zeros (a zero in, a zero out): "dead" still means something
KEEPS_ZEROS = frozenset({"maxpool2d", "avgpool2d", "flatten", "dropout"})


def follows_rectifier(types: list[str], index: int) -> bool:
    """True when layer ``index`` is a ReLU / leaky ReLU or only pooling/flatten/dropout lie between."""
    i = index
    while 0 <= i < len(types) and types[i] in KEEPS_ZEROS:
        i -= 1
    return 0 <= i < len(types) and types[i] in RECTIFIERS


def activation_stats(array, layer_type: str, after_rectifier: bool = False) -> dict:
    """min, max and mean of one layer's output for one input, and - for a rectifier or a layer
    after one - the share of "dead" units (exactly 0 for this input).

    Keys: size, nonfinite (NaN/inf count; min/max/mean ignore them), min, max, mean,
    dead (share in [0, 1] or None), dead_channels (channels entirely 0, or None; spatial only),
    channels.
    """
    a = np.asarray(array)
    finite = np.isfinite(a)
    good = a[finite] if not finite.all() else a.ravel()
    out = {
        "size": int(a.size),
        "nonfinite": int(a.size - good.size),
        "min": float(good.min()) if good.size else float("nan"),
        "max": float(good.max()) if good.size else float("nan"),
        "mean": float(good.mean(dtype=np.float64)) if good.size else float("nan"),
        "dead": None,
        "dead_channels": None,
        "channels": int(a.shape[0]) if a.ndim == 3 else None,
    }
    if layer_type in RECTIFIERS or after_rectifier:
        zero = a == 0
        out["dead"] = float(zero.mean()) if a.size else 0.0
        if a.ndim == 3:
            out["dead_channels"] = int(zero.reshape(a.shape[0], -1).all(axis=1).sum())
    return out
