"""Models that exercise every layer type and option the layer panel offers, for the export tests:
every preset, plus small specs for each layer kind and setting (strides, padding modes, dilation,
rectangular kernels, pooling with padding, no bias, leaky ReLU, sigmoid, dropout, softmax)."""

from __future__ import annotations

from convlab.core.presets import model_presets

_SMALL_CASES = {
    "conv_stride_pad": [{"type": "conv2d", "filters": 4, "kernel": 3, "stride": 2, "padding": 1}],
    "conv_1x1": [{"type": "conv2d", "filters": 5, "kernel": 1}],
    "conv_dilated": [{"type": "conv2d", "filters": 4, "kernel": 3, "padding": 2, "dilation": 2}],
    "conv_rectangular": [{"type": "conv2d", "filters": 3, "kernel": [3, 5], "stride": [1, 2], "padding": [1, 2],
                          "dilation": [2, 1]}],
    "conv_reflect": [{"type": "conv2d", "filters": 4, "kernel": 3, "padding": 1, "padding_mode": "reflect"}],
    "conv_replicate": [{"type": "conv2d", "filters": 4, "kernel": 5, "padding": 2, "padding_mode": "replicate"}],
    "conv_no_bias": [{"type": "conv2d", "filters": 4, "kernel": 3, "bias": False}],
    "maxpool_padded": [{"type": "maxpool2d", "kernel": 3, "stride": 2, "padding": 1}],
    "maxpool_rect": [{"type": "maxpool2d", "kernel": [2, 3], "stride": [2, 1]}],
    "avgpool_padded": [{"type": "avgpool2d", "kernel": 3, "stride": 2, "padding": 1}],
    "activations": [{"type": "conv2d", "filters": 4, "kernel": 3}, {"type": "leaky_relu", "slope": 0.1},
                    {"type": "conv2d", "filters": 4, "kernel": 3}, {"type": "sigmoid"},
                    {"type": "conv2d", "filters": 4, "kernel": 3}, {"type": "tanh"}, {"type": "relu"}],
    "head_softmax": [{"type": "conv2d", "filters": 4, "kernel": 3}, {"type": "relu"}, {"type": "flatten"},
                     {"type": "dropout", "rate": 0.3}, {"type": "linear", "units": 7, "bias": False},
                     {"type": "softmax"}],
}


def export_cases() -> dict[str, dict]:
    """name -> spec."""
    cases = {f"preset_{k}": p.spec for k, p in model_presets().items()}
    for name, layers in _SMALL_CASES.items():
        cases[name] = {"input": [3, 12, 11], "layers": layers}
    return cases
