"""Import ONNX models made of the layers ConvLab has: a chain of convolutions, pooling, activations,
flatten and linear layers, with their weights (a LeNet exported from PyTorch, for instance).

    imported = import_onnx("lenet.onnx")
    model = Sequential.from_spec(imported.spec); model.load_state_dict(imported.state)

Operators read: Conv (group 1), MaxPool, AveragePool, GlobalAveragePool (an average pool over the
whole map), Relu, LeakyRelu, Tanh, Sigmoid, Softmax, Flatten, Reshape to N x features, Gemm,
MatMul followed by Add, Dropout and Identity (kept out), and Pad in front of a convolution (zero,
reflect or edge padding). Weights come from initializers or Constant nodes. Anything else - an
operator ConvLab has no layer for, branches, grouped convolutions, asymmetric padding - is
refused with an :class:`ONNXImportError` naming the node, the operator and the numbers.

Needs the optional ``onnx`` package (``pip install "convlab[onnx]"``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..layers import SpecError
from ..model import Sequential, build_layers
from .onnx_export import require_onnx
from .recipe import ExportError

__all__ = ["ONNXImportError", "ImportedModel", "import_onnx", "import_onnx_bytes", "SUPPORTED_OPS"]

MAX_BYTES = 512 * 2**20
SUPPORTED_OPS = ("Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "Relu", "LeakyRelu", "Tanh", "Sigmoid",
                 "Softmax", "Flatten", "Reshape", "Gemm", "MatMul", "Add", "Dropout", "Identity", "Pad", "Constant")
_SIMPLE = {"Relu": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid"}


class ONNXImportError(ValueError):
    """An ONNX model ConvLab cannot take in; the message names the node and the reason."""


@dataclass
class ImportedModel:
    spec: dict
    state: dict[str, np.ndarray]
    classes: list[str] | None = None
    name: str = ""
    notes: list[str] = field(default_factory=list)  # what was left out or folded (Dropout, Identity, ...)

    def model(self) -> Sequential:
        m = Sequential.from_spec(self.spec, seed=0)
        m.load_state_dict(self.state)
        return m


def import_onnx(path: str | os.PathLike) -> ImportedModel:
    """Read an .onnx file; any problem is an ONNXImportError naming the file."""
    name = os.path.basename(os.fspath(path))
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            raise ONNXImportError(f"{name}: {size:,} bytes is more than the {MAX_BYTES:,} ConvLab reads")
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ONNXImportError(f"{name}: cannot read the file ({e.strerror or e})") from e
    try:
        imported = import_onnx_bytes(data, folder=os.path.dirname(os.path.abspath(path)))
    except ONNXImportError as e:
        raise ONNXImportError(f"{name}: {e}") from None
    if not imported.name:
        imported.name = os.path.splitext(name)[0]
    return imported


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _where(index: int, node) -> str:
    label = f" {node.name!r}" if node.name else ""
    return f"node {index}{label} ({node.op_type})"


def _load_external(init, folder: str | None) -> None:
    """Bring a weight stored beside the model (PyTorch's exporter writes NAME.onnx.data) into it."""
    info = {e.key: e.value for e in init.external_data}
    location = info.get("location", "")
    if folder is None:
        raise ONNXImportError(f"the weight {init.name!r} is stored in a separate file ({location}); open the .onnx "
                              "file itself, with that file beside it")
    if not location or os.path.isabs(location) or ".." in location.replace("\\", "/").split("/"):
        raise ONNXImportError(f"the weight {init.name!r} points at {location!r}, outside the model's folder")
    path = os.path.join(folder, location)
    try:
        offset = int(info.get("offset", 0))
        length = int(info["length"]) if "length" in info else None
        with open(path, "rb") as f:
            f.seek(offset)
            raw = f.read(length if length is not None else MAX_BYTES + 1)
    except (OSError, ValueError) as e:
        raise ONNXImportError(f"the weight {init.name!r} is in {location}, which cannot be read ({e})") from None
    if len(raw) > MAX_BYTES or (length is not None and len(raw) != length):
        raise ONNXImportError(f"the weight {init.name!r}: {location} holds {len(raw):,} bytes at offset {offset:,}, "
                              f"expected {length:,}" if length is not None else f"{location} is too large")
    init.raw_data = raw
    del init.external_data[:]
    init.data_location = 0  # DEFAULT: the data is in the tensor now


def import_onnx_bytes(data: bytes, folder: str | None = None) -> ImportedModel:
    """An ONNX model from its bytes; ``folder`` is where weights stored in separate files are looked for."""
    try:
        onnx = require_onnx()
    except ExportError as e:
        raise ONNXImportError(str(e)) from None
    from onnx import numpy_helper

    try:
        proto = onnx.load_model_from_string(data)
    except Exception as e:  # DecodeError and friends from protobuf: the bytes are not an ONNX model
        raise ONNXImportError(f"not an ONNX model: the file cannot be decoded ({type(e).__name__}: {e})") from None
    graph = proto.graph
    if not graph.node:
        raise ONNXImportError("not an ONNX model with a graph (no nodes)")
    consts: dict[str, np.ndarray] = {}
    for init in graph.initializer:
        if init.data_location == onnx.TensorProto.EXTERNAL:
            _load_external(init, folder)
        try:
            consts[init.name] = numpy_helper.to_array(init)
        except (ValueError, TypeError) as e:
            raise ONNXImportError(f"the weight {init.name!r} cannot be read ({e})") from None
    inputs = [i for i in graph.input if i.name not in consts]
    if len(inputs) != 1:
        raise ONNXImportError(f"the model has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); "
                              "ConvLab's models take one image batch")
    if len(graph.output) != 1:
        raise ONNXImportError(f"the model has {len(graph.output)} outputs; ConvLab's models give one")
    input_shape = _input_shape(inputs[0])
    nodes = []
    for i, node in enumerate(graph.node):
        if node.op_type == "Constant":
            value = _attrs(node).get("value")
            if value is None:
                raise ONNXImportError(f"{_where(i, node)}: only tensor constants are read")
            consts[node.output[0]] = numpy_helper.to_array(value)
        else:
            nodes.append((i, node))
    return _Chain(input_shape, consts, nodes, inputs[0].name, graph.output[0].name, proto).read()


def _input_shape(value_info) -> tuple[int, ...]:
    t = value_info.type.tensor_type
    if t.elem_type not in (1, 10, 11):  # float, float16, double
        raise ONNXImportError(f"the input {value_info.name!r} holds element type {t.elem_type}, not floating point")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    if len(dims) not in (2, 4):
        raise ONNXImportError(f"the input {value_info.name!r} has {len(dims)} dimensions; ConvLab takes "
                              "N x C x H x W images (or N x features)")
    rest = [d for d in dims[1:] if d is not None and d >= 1]
    if len(rest) != len(dims) - 1:
        raise ONNXImportError(f"the input {value_info.name!r} has shape {dims}: its sizes after the batch must be "
                              "fixed numbers")
    return tuple(int(d) for d in rest)


class _Chain:
    """Walks a graph that is a single chain from the input to the output, building spec entries."""

    def __init__(self, input_shape, consts, nodes, input_name, output_name, proto) -> None:
        self.input_shape = input_shape
        self.consts = consts
        self.nodes = nodes
        self.current = input_name
        self.output_name = output_name
        self.proto = proto
        self.layers: list[dict] = []
        self.state: dict[str, np.ndarray] = {}
        self.notes: list[str] = []
        self.pending_pad: tuple[int, str, tuple[int, int]] | None = None  # (node index, mode, (ph, pw))
        self.consumers: dict[str, list] = {}
        for i, node in nodes:
            for name in node.input:
                if name and name not in consts:
                    self.consumers.setdefault(name, []).append((i, node))

    # ---------------------------------------------------------------- helpers

    def shape(self) -> tuple[int, ...]:
        if not self.layers:
            return self.input_shape
        try:
            return build_layers({"input": list(self.input_shape), "layers": self.layers})[-1].out_shape
        except SpecError as e:
            raise ONNXImportError(f"the layers read so far do not fit together: {e}") from None

    def const(self, index, node, position: int, what: str) -> np.ndarray:
        if position >= len(node.input) or not node.input[position]:
            raise ONNXImportError(f"{_where(index, node)}: {what} is missing")
        name = node.input[position]
        if name not in self.consts:
            raise ONNXImportError(f"{_where(index, node)}: {what} ({name!r}) is computed in the graph, not stored; "
                                  "ConvLab reads stored weights only")
        return np.asarray(self.consts[name])

    def add(self, entry: dict, weights: dict[str, np.ndarray] | None = None) -> None:
        i = len(self.layers)
        self.layers.append(entry)
        for k, v in (weights or {}).items():
            self.state[f"{i}.{k}"] = np.ascontiguousarray(v, dtype=np.float32)

    def next_node(self):
        users = self.consumers.get(self.current, [])
        if self.current == self.output_name and not users:
            return None
        if not users:
            raise ONNXImportError(f"nothing reads {self.current!r} and it is not the model's output")
        if len(users) > 1:
            names = ", ".join(_where(i, n) for i, n in users)
            raise ONNXImportError(f"{self.current!r} feeds {len(users)} nodes ({names}): a graph with branches "
                                  "(residual connections, concatenations) is not a ConvLab model, which is one chain")
        return users[0]

    # ---------------------------------------------------------------- the walk

    def read(self) -> ImportedModel:
        while True:
            nxt = self.next_node()
            if nxt is None:
                break
            index, node = nxt
            data_inputs = [n for n in node.input if n and n not in self.consts]
            if data_inputs != [self.current]:
                raise ONNXImportError(f"{_where(index, node)} reads {data_inputs}; ConvLab's layers each read the "
                                      "output of the one before")
            handler = getattr(self, f"_op_{node.op_type}", None)
            if handler is None:
                raise ONNXImportError(
                    f"{_where(index, node)}: the operator {node.op_type} is not supported - ConvLab has no layer "
                    f"for it (it reads {', '.join(op for op in SUPPORTED_OPS if op != 'Constant')})")
            if self.pending_pad is not None and node.op_type != "Conv":
                raise ONNXImportError(f"node {self.pending_pad[0]} (Pad) is followed by {node.op_type}; ConvLab reads "
                                      "a Pad only in front of a convolution")
            handler(index, node)
            if node.op_type not in ("MatMul",):
                self.current = node.output[0]
        if self.pending_pad is not None:
            raise ONNXImportError(f"node {self.pending_pad[0]} (Pad) ends the model; ConvLab reads a Pad only in "
                                  "front of a convolution")
        if not self.layers:
            raise ONNXImportError("the model has no layers ConvLab can show")
        spec = {"input": list(self.input_shape), "layers": self.layers}
        try:
            model = Sequential.from_spec(spec, seed=0)
            model.load_state_dict(self.state)
        except (SpecError, ValueError) as e:
            raise ONNXImportError(f"the imported layers do not make a working model: {e}") from None
        return ImportedModel(model.spec(), self.state, self._classes(model), self._name(), self.notes)

    def _meta(self) -> dict[str, str]:
        return {p.key: p.value for p in self.proto.metadata_props}

    def _classes(self, model) -> list[str] | None:
        text = self._meta().get("classes")
        if not text:
            return None
        try:
            classes = json.loads(text)
        except ValueError:
            return None
        out = model.output_shape
        if isinstance(classes, list) and all(isinstance(c, str) for c in classes) and out == (len(classes),):
            return classes
        return None

    def _name(self) -> str:
        """ConvLab's own name for the model; "" for models made elsewhere (the caller names those)."""
        return self._meta().get("convlab_name", "")

    # ---------------------------------------------------------------- operators

    def _op_Identity(self, index, node):
        self.notes.append(f"{_where(index, node)} left out (it changes nothing)")

    def _op_Dropout(self, index, node):
        a = _attrs(node)
        rate = float(a.get("ratio", 0.5))
        if len(node.input) > 1 and node.input[1]:
            rate = float(self.const(index, node, 1, "the dropout ratio").reshape(-1)[0])
        if len(node.input) > 2 and node.input[2]:
            mode = self.const(index, node, 2, "training_mode")
            if bool(mode.reshape(-1)[0]):
                raise ONNXImportError(f"{_where(index, node)}: dropout in training mode makes random outputs")
        rate = _short_float(rate)
        if not 0.0 <= rate < 1.0:
            raise ONNXImportError(f"{_where(index, node)}: ratio {rate} must lie in [0, 1)")
        self.add({"type": "dropout", "rate": rate})

    def _op_Relu(self, index, node):
        self.add({"type": "relu"})

    def _op_Tanh(self, index, node):
        self.add({"type": "tanh"})

    def _op_Sigmoid(self, index, node):
        self.add({"type": "sigmoid"})

    def _op_LeakyRelu(self, index, node):
        slope = _short_float(_attrs(node).get("alpha", 0.01))
        if not 0.0 <= slope <= 1.0:
            raise ONNXImportError(f"{_where(index, node)}: slope {slope} is outside [0, 1], ConvLab's leaky ReLU range")
        self.add({"type": "leaky_relu", "slope": slope})

    def _op_Softmax(self, index, node):
        axis = int(_attrs(node).get("axis", -1 if self._opset() >= 13 else 1))
        if len(self.shape()) != 1 or axis not in (1, -1):
            raise ONNXImportError(f"{_where(index, node)}: a softmax over axis {axis} of a "
                                  f"{'x'.join(map(str, self.shape()))} map; ConvLab's softmax is over class scores")
        self.add({"type": "softmax"})

    def _opset(self) -> int:
        for op in self.proto.opset_import:
            if op.domain in ("", "ai.onnx"):
                return int(op.version)
        return 13

    def _op_Flatten(self, index, node):
        axis = int(_attrs(node).get("axis", 1))
        if axis != 1:
            raise ONNXImportError(f"{_where(index, node)}: flatten from axis {axis}; ConvLab flattens all but the "
                                  "batch")
        self.add({"type": "flatten"})

    def _op_Reshape(self, index, node):
        target = self.const(index, node, 1, "the target shape").astype(np.int64).reshape(-1).tolist()
        shape = self.shape()
        features = int(np.prod(shape))
        if len(target) == 2 and target[0] in (-1, 0, 1) and target[1] in (-1, features) and (
                target[0] != -1 or target[1] == features):
            if len(shape) == 1:
                self.notes.append(f"{_where(index, node)} left out (the data is already flat)")
            else:
                self.add({"type": "flatten"})
            return
        raise ONNXImportError(f"{_where(index, node)}: reshape of a {'x'.join(map(str, shape))} map to {target}; "
                              f"ConvLab reads a reshape only when it flattens to N x {features}")

    def _op_Pad(self, index, node):
        a = _attrs(node)
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        pads = a.get("pads")
        if pads is None:
            pads = self.const(index, node, 1, "the pads").astype(np.int64).reshape(-1).tolist()
        if len(node.input) > 2 and node.input[2]:
            value = float(self.const(index, node, 2, "the pad value").reshape(-1)[0])
            if mode == "constant" and value != 0.0:
                raise ONNXImportError(f"{_where(index, node)}: padding with {value}; ConvLab pads with zeros")
        if len(node.input) > 3 and node.input[3]:
            raise ONNXImportError(f"{_where(index, node)}: padding chosen axes; ConvLab pads height and width")
        pads = [int(p) for p in pads]
        if len(pads) != 8 or any(pads[k] for k in (0, 1, 4, 5)) or pads[2] != pads[6] or pads[3] != pads[7] or min(
                pads) < 0:
            raise ONNXImportError(f"{_where(index, node)}: pads {pads}; ConvLab pads height and width by the same "
                                  "amount on both sides")
        modes = {"constant": "zeros", "reflect": "reflect", "edge": "replicate"}
        if mode not in modes:
            raise ONNXImportError(f"{_where(index, node)}: {mode} padding; ConvLab has zeros, reflect and replicate")
        self.pending_pad = (index, modes[mode], (pads[2], pads[3]))

    def _symmetric_pads(self, index, node, a: dict[str, Any], kernel, stride, dilation) -> tuple[int, int]:
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else str(auto)
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            if stride != (1, 1):
                raise ONNXImportError(f"{_where(index, node)}: auto_pad {auto} with stride {stride}; save the model "
                                      "with explicit pads")
            total = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
            if any(t % 2 for t in total):
                raise ONNXImportError(f"{_where(index, node)}: auto_pad {auto} pads {total} in all, which cannot be "
                                      "split evenly between the two sides")
            return total[0] // 2, total[1] // 2
        if auto not in ("NOTSET", "VALID"):
            raise ONNXImportError(f"{_where(index, node)}: unknown auto_pad {auto}")
        pads = [int(p) for p in a.get("pads", [0, 0, 0, 0])] if auto == "NOTSET" else [0, 0, 0, 0]
        if len(pads) != 4 or pads[0] != pads[2] or pads[1] != pads[3]:
            raise ONNXImportError(f"{_where(index, node)}: pads {pads} (top, left, bottom, right) are not the same on "
                                  "both sides; ConvLab pads symmetrically")
        return pads[0], pads[1]

    def _op_Conv(self, index, node):
        a = _attrs(node)
        w = self.const(index, node, 1, "the weights")
        if w.ndim != 4:
            raise ONNXImportError(f"{_where(index, node)}: weights of shape {w.shape}; ConvLab convolutions are 2-D")
        group = int(a.get("group", 1))
        if group != 1:
            raise ONNXImportError(f"{_where(index, node)}: a grouped convolution (group={group}) is not a ConvLab "
                                  "layer; every ConvLab filter sees all input channels")
        kernel = tuple(int(k) for k in a.get("kernel_shape", w.shape[2:]))
        if kernel != tuple(w.shape[2:]):
            raise ONNXImportError(f"{_where(index, node)}: kernel_shape {kernel} but weights {w.shape}")
        stride = tuple(int(s) for s in a.get("strides", [1, 1]))
        dilation = tuple(int(d) for d in a.get("dilations", [1, 1]))
        ph, pw = self._symmetric_pads(index, node, a, kernel, stride, dilation)
        mode = "zeros"
        if self.pending_pad is not None:
            _, mode, (extra_h, extra_w) = self.pending_pad
            if mode != "zeros" and (ph or pw):
                raise ONNXImportError(f"{_where(index, node)}: {mode} padding in front and zero padding inside")
            ph, pw = ph + extra_h, pw + extra_w
            self.pending_pad = None
        shape = self.shape()
        if len(shape) != 3 or shape[0] != w.shape[1]:
            raise ONNXImportError(f"{_where(index, node)}: filters of {w.shape[1]} channels on a "
                                  f"{'x'.join(map(str, shape))} input")
        entry = {"type": "conv2d", "filters": int(w.shape[0]), "kernel": _compact(kernel), "stride": _compact(stride),
                 "padding": _compact((ph, pw)), "dilation": _compact(dilation), "padding_mode": mode,
                 "bias": len(node.input) > 2 and bool(node.input[2])}
        weights = {"weight": w}
        if entry["bias"]:
            weights["bias"] = self.const(index, node, 2, "the bias").reshape(-1)
        self.add(entry, weights)

    def _pool(self, index, node, kind):
        a = _attrs(node)
        kernel = tuple(int(k) for k in a["kernel_shape"])
        stride = tuple(int(s) for s in a.get("strides", [1, 1]))
        if len(kernel) != 2:
            raise ONNXImportError(f"{_where(index, node)}: a {len(kernel)}-D window; ConvLab pools 2-D maps")
        if any(int(d) != 1 for d in a.get("dilations", [1, 1])):
            raise ONNXImportError(f"{_where(index, node)}: dilated pooling is not a ConvLab layer")
        ph, pw = self._symmetric_pads(index, node, a, kernel, stride, (1, 1))
        if kind == "avgpool2d" and (ph or pw) and not int(a.get("count_include_pad", 0)):
            raise ONNXImportError(f"{_where(index, node)}: average pooling that leaves the padding out of the mean "
                                  "(count_include_pad=0); ConvLab's average pooling counts it")
        entry = {"type": kind, "kernel": _compact(kernel), "stride": _compact(stride), "padding": _compact((ph, pw))}
        if int(a.get("ceil_mode", 0)):
            shape = self.shape()
            axes = list(zip(shape[1:], (ph, pw), kernel, stride, strict=True))
            floor = [(n + 2 * p - k) // s + 1 for n, p, k, s in axes]
            ceil = [-(-(n + 2 * p - k) // s) + 1 for n, p, k, s in axes]
            if floor != ceil:
                raise ONNXImportError(f"{_where(index, node)}: ceil_mode rounds the output up to {ceil}; ConvLab "
                                      f"rounds down to {floor}")
        self.add(entry)

    def _op_MaxPool(self, index, node):
        if len(node.output) > 1 and node.output[1]:
            raise ONNXImportError(f"{_where(index, node)}: the indices output of max pooling is not read")
        self._pool(index, node, "maxpool2d")

    def _op_AveragePool(self, index, node):
        self._pool(index, node, "avgpool2d")

    def _op_GlobalAveragePool(self, index, node):
        shape = self.shape()
        if len(shape) != 3:
            raise ONNXImportError(f"{_where(index, node)}: global pooling of a flat input")
        self.add({"type": "avgpool2d", "kernel": _compact(shape[1:]), "stride": _compact(shape[1:]), "padding": 0})
        self.notes.append(f"{_where(index, node)} read as average pooling over the whole {shape[1]}x{shape[2]} map")

    def _linear(self, index, node, w: np.ndarray, b: np.ndarray | None):
        shape = self.shape()
        if len(shape) != 1:
            raise ONNXImportError(f"{_where(index, node)}: a linear layer on a {'x'.join(map(str, shape))} map; "
                                  "flatten it first")
        if w.ndim != 2 or w.shape[1] != shape[0]:
            raise ONNXImportError(f"{_where(index, node)}: weights of shape {tuple(w.shape)} for {shape[0]} inputs")
        weights = {"weight": w}
        if b is not None:
            b = np.asarray(b).reshape(-1)
            if b.size == 1 and w.shape[0] != 1:
                b = np.full(w.shape[0], b[0], np.float32)
            if b.shape != (w.shape[0],):
                raise ONNXImportError(f"{_where(index, node)}: a bias of {b.size} values for {w.shape[0]} outputs")
            weights["bias"] = b
        self.add({"type": "linear", "units": int(w.shape[0]), "bias": b is not None}, weights)

    def _op_Gemm(self, index, node):
        a = _attrs(node)
        if int(a.get("transA", 0)):
            raise ONNXImportError(f"{_where(index, node)}: transA=1 (the batch transposed) is not a linear layer")
        w = self.const(index, node, 1, "the weights").astype(np.float32)
        if not int(a.get("transB", 0)):
            w = w.T
        w = w * np.float32(a.get("alpha", 1.0))
        b = None
        if len(node.input) > 2 and node.input[2]:
            b = self.const(index, node, 2, "the bias").astype(np.float32) * np.float32(a.get("beta", 1.0))
        self._linear(index, node, w, b)

    def _op_MatMul(self, index, node):
        """x @ W (W stored as inputs x outputs), usually followed by Add(bias)."""
        w = self.const(index, node, 1, "the weights").astype(np.float32).T
        out = node.output[0]
        users = self.consumers.get(out, [])
        b = None
        if len(users) == 1 and users[0][1].op_type == "Add":
            add_index, add = users[0]
            others = [n for n in add.input if n != out]
            if len(others) == 1 and others[0] in self.consts:
                b = self.consts[others[0]].astype(np.float32)
                self._linear(index, node, w, b)
                self.current = add.output[0]
                self.consumers.pop(out, None)
                return
        self._linear(index, node, w, None)
        self.current = out

    def _op_Add(self, index, node):
        raise ONNXImportError(f"{_where(index, node)}: an addition that is not the bias of a MatMul; ConvLab has no "
                              "layer that adds")


def _short_float(v) -> float:
    """A float32 attribute as the shortest decimal that is the same float32 (0.3, not 0.30000001192092896)."""
    return float(str(np.float32(v)))


def _compact(p) -> int | list[int]:
    p = tuple(int(v) for v in p)
    return p[0] if len(p) == 2 and p[0] == p[1] else list(p)
