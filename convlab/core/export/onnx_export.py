"""Export to ONNX: one ``model.onnx`` that onnxruntime (or any ONNX runtime) runs as the engine does.

    export_onnx(request, "lenet.onnx")

Every layer the layer panel offers has an exact ONNX form (opset 17): convolution (Conv; with a
Pad node in front for reflect / replicate padding), max and average pooling (MaxPool,
AveragePool counting the padding, as ConvLab does), ReLU, LeakyRelu, Tanh, Sigmoid, Flatten,
Gemm for the linear layers, Dropout (the identity when running) and Softmax. The batch size is
free (the input is ``N x C x H x W``). The engine's spec and the class names ride along as
metadata, so an imported model gets its names back.

Needs the optional ``onnx`` package (``pip install "convlab[onnx]"``); every graph is checked
with ``onnx.checker`` before it is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from convlab import __version__

from ..layers import AvgPool2d, Conv2d, Dropout, LeakyReLU, Linear, MaxPool2d
from .recipe import ExportError, ExportRequest

__all__ = ["OPSET", "require_onnx", "onnx_model", "export_onnx"]

OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "output"


def require_onnx():
    """The onnx module, or an ExportError saying how to get it."""
    try:
        import onnx
    except ImportError as e:
        raise ExportError('ONNX needs the onnx package, which is not installed: pip install "convlab[onnx]" '
                          f"(or pip install onnx) - {e}") from None
    return onnx


def _ints(p) -> list[int]:
    return [int(v) for v in p]


def onnx_model(request: ExportRequest):
    """The request's model as a checked ``onnx.ModelProto``."""
    onnx = require_onnx()
    from onnx import TensorProto, helper, numpy_helper

    model = request.model()
    nodes, inits = [], []
    current = INPUT_NAME

    def tensor(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.array(array, order="C"), name))  # (ascontiguousarray makes 0-d 1-d)
        return name

    for i, layer in enumerate(model.layers):
        kind = layer.type
        out = OUTPUT_NAME if i == len(model.layers) - 1 else f"x{i + 1}"
        name = f"{i}_{kind}"
        if isinstance(layer, Conv2d):
            ph, pw = layer.padding
            source = current
            pads = [ph, pw, ph, pw]
            if layer.padding_mode != "zeros" and (ph or pw):
                mode = "reflect" if layer.padding_mode == "reflect" else "edge"
                amounts = tensor(f"{i}.pads", np.array([0, 0, ph, pw, 0, 0, ph, pw], np.int64))
                source = f"x{i}_padded"
                nodes.append(helper.make_node("Pad", [current, amounts], [source], name=f"{name}_pad", mode=mode))
                pads = [0, 0, 0, 0]
            inputs = [source, tensor(f"{i}.weight", layer.params["weight"].astype(np.float32))]
            if layer.use_bias:
                inputs.append(tensor(f"{i}.bias", layer.params["bias"].astype(np.float32)))
            nodes.append(helper.make_node("Conv", inputs, [out], name=name, kernel_shape=_ints(layer.kernel),
                                          strides=_ints(layer.stride), pads=pads, dilations=_ints(layer.dilation),
                                          group=1))
        elif isinstance(layer, (MaxPool2d, AvgPool2d)):
            ph, pw = layer.padding
            attrs: dict[str, Any] = {"kernel_shape": _ints(layer.kernel), "strides": _ints(layer.stride),
                                     "pads": [ph, pw, ph, pw],
                     "ceil_mode": 0}
            if isinstance(layer, MaxPool2d):
                nodes.append(helper.make_node("MaxPool", [current], [out], name=name, **attrs))
            else:
                nodes.append(helper.make_node("AveragePool", [current], [out], name=name, count_include_pad=1,
                                              **attrs))
        elif kind in ("relu", "tanh", "sigmoid"):
            op = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid"}[kind]
            nodes.append(helper.make_node(op, [current], [out], name=name))
        elif isinstance(layer, LeakyReLU):
            nodes.append(helper.make_node("LeakyRelu", [current], [out], name=name, alpha=float(layer.slope)))
        elif isinstance(layer, Dropout):
            ratio = tensor(f"{i}.ratio", np.array(layer.rate, np.float32))
            nodes.append(helper.make_node("Dropout", [current, ratio], [out], name=name))
        elif kind == "flatten":
            nodes.append(helper.make_node("Flatten", [current], [out], name=name, axis=1))
        elif isinstance(layer, Linear):
            inputs = [current, tensor(f"{i}.weight", layer.params["weight"].astype(np.float32))]
            if layer.use_bias:
                inputs.append(tensor(f"{i}.bias", layer.params["bias"].astype(np.float32)))
            nodes.append(helper.make_node("Gemm", inputs, [out], name=name, transB=1))
        elif kind == "softmax":
            nodes.append(helper.make_node("Softmax", [current], [out], name=name, axis=1))
        else:
            raise ExportError(f"{layer.where}: no ONNX form is known for {kind!r}")
        current = out
    if not model.layers:
        raise ExportError("the model has no layers to export")

    shape_in = ["N", *model.input_shape]
    shape_out = ["N", *model.output_shape]
    graph = helper.make_graph(
        nodes, _graph_name(request.name),
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, shape_in)],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, shape_out)],
        initializer=inits,
        doc_string=f"{request.name}, exported by ConvLab {__version__}: input N x "
                   f"{'x'.join(map(str, model.input_shape))} float32 in [0, 1]",
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="ConvLab", producer_version=__version__)
    proto.ir_version = min(proto.ir_version, 8)  # readable by runtimes back to onnxruntime 1.12
    classes = request.classes or (request.data.classes if request.data is not None else None) or []
    meta = {"convlab_spec": json.dumps(model.spec()), "convlab_name": request.name}
    if classes and len(model.output_shape) == 1 and len(classes) == model.output_shape[0]:
        meta["classes"] = json.dumps(list(classes), ensure_ascii=False)
    helper.set_model_props(proto, meta)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:  # a bug here, not the user's
        raise ExportError(f"the ONNX graph did not pass onnx.checker: {e}") from e
    return proto


def _graph_name(name: str) -> str:
    clean = "".join(c if c.isalnum() else "_" for c in name).strip("_")
    return clean or "convlab_model"


def export_onnx(request: ExportRequest, path: str | os.PathLike) -> Path:
    """Write the model to ``path`` (a folder gets ``model.onnx`` inside). Returns the file written."""
    proto = onnx_model(request)
    target = Path(path)
    if target.is_dir() or not target.suffix:
        target = target / "model.onnx"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(proto.SerializeToString())
        os.replace(tmp, target)
    except OSError as e:
        raise ExportError(f"cannot write {target}: {e.strerror or e}") from e
    return target
