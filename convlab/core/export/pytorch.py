"""Export to PyTorch: a folder with a readable ``model.py``, ``weights.safetensors`` and ``train.py``.

    export_pytorch(request, "lenet_torch/")

``model.py`` writes the model as a plain ``torch.nn.Sequential``, one line per layer with its
output shape and parameter count as a comment; the weights keep ConvLab's keys, which are
nn.Sequential's own ("0.weight"), so ``load_state_dict`` takes them as they are. ``train.py``
trains the same model on the same data (the downloaded files, the chosen folder, or the samples
themselves for data that exists only in ConvLab) with the same optimiser settings and split.

ConvLab never imports torch: this module only writes text and arrays.
"""

from __future__ import annotations

import json
import os
import textwrap
from datetime import datetime, timezone
from pathlib import Path
from string import Template

import numpy as np

from convlab import __version__

from ..layers import AvgPool2d, Conv2d, Dropout, Layer, LeakyReLU, Linear, MaxPool2d
from .recipe import ExportError, ExportRequest
from .safetensors_file import save_safetensors

__all__ = ["export_pytorch", "torch_layer", "model_source", "train_source"]

_TEMPLATES = Path(__file__).with_name("templates")


def _pair(p: tuple[int, int]) -> str:
    return str(p[0]) if p[0] == p[1] else f"({p[0]}, {p[1]})"


def torch_layer(layer: Layer) -> str:
    """The nn module of one engine layer, as Python source (defaults left out)."""
    if isinstance(layer, Conv2d):
        args = [str(layer.in_shape[0]), str(layer.filters), f"kernel_size={_pair(layer.kernel)}"]
        if layer.stride != (1, 1):
            args.append(f"stride={_pair(layer.stride)}")
        if layer.padding != (0, 0):
            args.append(f"padding={_pair(layer.padding)}")
        if layer.dilation != (1, 1):
            args.append(f"dilation={_pair(layer.dilation)}")
        if not layer.use_bias:
            args.append("bias=False")
        if layer.padding_mode != "zeros":
            args.append(f'padding_mode="{layer.padding_mode}"')
        return f"nn.Conv2d({', '.join(args)})"
    if isinstance(layer, (MaxPool2d, AvgPool2d)):
        args = [f"kernel_size={_pair(layer.kernel)}"]
        if layer.stride != layer.kernel:
            args.append(f"stride={_pair(layer.stride)}")
        if layer.padding != (0, 0):
            args.append(f"padding={_pair(layer.padding)}")
        name = "MaxPool2d" if isinstance(layer, MaxPool2d) else "AvgPool2d"  # AvgPool2d counts padding, as ConvLab
        return f"nn.{name}({', '.join(args)})"
    if isinstance(layer, Linear):
        bias = "" if layer.use_bias else ", bias=False"
        return f"nn.Linear({layer.in_shape[0]}, {layer.units}{bias})"
    if isinstance(layer, LeakyReLU):
        return f"nn.LeakyReLU(negative_slope={layer.slope!r})"
    if isinstance(layer, Dropout):
        return f"nn.Dropout(p={layer.rate!r})"
    simple = {"relu": "nn.ReLU()", "tanh": "nn.Tanh()", "sigmoid": "nn.Sigmoid()", "flatten": "nn.Flatten()",
              "softmax": "nn.Softmax(dim=1)"}
    if layer.type in simple:
        return simple[layer.type]
    raise ExportError(f"{layer.where}: no PyTorch equivalent is known for {layer.type!r}")


def _shape(shape) -> str:
    return "x".join(map(str, shape))


def _layer_lines(request: ExportRequest) -> str:
    model = request.model()
    rows = []
    for i, layer in enumerate(model.layers):
        params = sum(int(p.size) for p in layer.params.values())
        note = f"# {i}: -> {_shape(layer.out_shape)}" + (f", {params:,} parameters" if params else "")
        rows.append((torch_layer(layer) + ",", note))
    width = max((len(code) for code, _ in rows), default=0)
    return "\n".join(f"        {code:<{width}}  {note}" for code, note in rows)


def _classes(request: ExportRequest, outputs: int) -> list[str]:
    classes = request.classes or (request.data.classes if request.data is not None else None)
    if classes is not None and len(classes) == outputs:
        return list(classes)
    return []


def model_source(request: ExportRequest) -> str:
    model = request.model()
    out = model.output_shape
    softmax = model.ends_with_softmax
    classes = _classes(request, out[0] if len(out) == 1 else -1)
    if len(out) == 1:
        what = "class probabilities (the model ends with a softmax)" if softmax else "class scores (logits)"
        output_text = f"N x {out[0]} {what}"
        if classes:
            output_text += ", in the order of CLASSES"
    else:
        output_text = f"N x {_shape(out)} maps"
    shape = model.input_shape
    note = ""
    if request.data is not None and request.data.source in ("idx", "arrays") and shape[0] == 1:
        note = " (white strokes on black, as MNIST)" if request.data.kind in ("mnist", "kmnist", "digits") else ""
    return Template((_TEMPLATES / "model.py.txt").read_text(encoding="utf-8")).substitute(
        title=request.name,
        version=__version__,
        input_text=_shape(shape),
        input_note=note,
        input_args=", ".join(map(str, shape)),
        output_text=output_text,
        input_shape=repr(tuple(shape)),
        classes=json.dumps(classes, ensure_ascii=False),
        ends_with_softmax=repr(softmax),
        layers=_layer_lines(request),
    )


def _optimizer_text(t) -> str:
    name = {"sgd": "SGD", "momentum": "SGD with momentum 0.9", "adam": "Adam (betas 0.9, 0.999, eps 1e-8)"}
    decay = f", weight decay {t.weight_decay:g} (L2, added to the gradient)" if t.weight_decay else ""
    return f"{name[t.optimizer]}, learning rate {t.lr:g}{decay}"


def train_source(request: ExportRequest) -> str:
    data = request.data
    if data is None:
        raise ExportError("train.py needs the dataset the model trains on")
    t = request.training
    data_dict = {"kind": data.kind, "title": data.title, "source": data.source, "folder": data.folder}
    settings = {"optimizer": t.optimizer, "lr": t.lr, "weight_decay": t.weight_decay, "batch_size": t.batch_size,
                "epochs": t.epochs, "seed": t.seed, "val_fraction": t.val_fraction}
    if data.source == "arrays":
        n_train, n_val = len(data.arrays["y_train"]), len(data.arrays["y_val"])
        val_text = f"{n_val:,} of {n_train + n_val:,} samples, as in ConvLab"
        data_text = f"{data.title}, stored in data.safetensors; {data.note}"
    else:
        n_val = len(data.val_indices) if data.val_indices is not None else 0
        val_text = (f"the {n_val:,} samples ConvLab kept aside ({t.val_fraction:.0%}, seed {t.seed}), "
                    "from split.safetensors")
        data_text = f"{data.title}, read from {data.folder}"
    return Template((_TEMPLATES / "train.py.txt").read_text(encoding="utf-8")).substitute(
        title=request.name,
        version=__version__,
        data_text=textwrap.fill(data_text, 100, initial_indent="Data: ")[len("Data: "):],
        val_text=textwrap.fill(val_text, 100, initial_indent="Validation: ")[len("Validation: "):],
        optimizer_text=_optimizer_text(t),
        batch_size=t.batch_size,
        epochs=t.epochs,
        seed=t.seed,
        data=_pretty_dict(data_dict),
        settings=_pretty_dict(settings),
    )


def _literal(v) -> str:
    return json.dumps(v, ensure_ascii=False) if isinstance(v, str) else repr(v)


def _pretty_dict(d: dict) -> str:
    items = ",\n".join(f"    {_literal(k)}: {_literal(v)}" for k, v in d.items())
    return "{\n" + items + ",\n}"


def export_pytorch(request: ExportRequest, outdir: str | os.PathLike) -> list[Path]:
    """Write model.py, weights.safetensors, train.py (and the data files train.py needs) into ``outdir``.

    Returns the files written. An existing folder is written into (files of the same names are replaced).
    """
    model = request.model()  # checks the spec and the weights first
    out = Path(outdir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot create the folder {out}: {e.strerror or e}") from e
    written = []
    meta = {"format": "pt", "exported_by": f"ConvLab {__version__}",
            "exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "convlab_spec": json.dumps(model.spec())}
    try:
        (out / "model.py").write_text(model_source(request), encoding="utf-8")
        written.append(out / "model.py")
        save_safetensors(out / "weights.safetensors", model.state_dict(), meta)
        written.append(out / "weights.safetensors")
        if request.data is not None:
            (out / "train.py").write_text(train_source(request), encoding="utf-8")
            written.append(out / "train.py")
            if request.data.source == "arrays":
                save_safetensors(out / "data.safetensors", request.data.arrays,
                                 {"classes": json.dumps(request.data.classes)})
                written.append(out / "data.safetensors")
            else:
                val = request.data.val_indices
                save_safetensors(out / "split.safetensors",
                                 {"val_indices": np.asarray(val if val is not None else [], np.int64)})
                written.append(out / "split.safetensors")
    except OSError as e:
        raise ExportError(f"cannot write into {out}: {e.strerror or e}") from e
    return written
