"""Export a saved lab's model from the command line, for scripts and teaching assistants.

    python -m convlab export --format pytorch lab.convlab lenet_torch/
    python -m convlab export --format onnx lab.convlab lenet_onnx/       # writes lenet_onnx/model.onnx
    python -m convlab export --format onnx lab.convlab lenet.onnx

PyTorch: model.py, weights.safetensors and train.py (plus split.safetensors or data.safetensors, the
data train.py needs); ``--model-only`` leaves train.py out (when the lab's dataset is not at hand).
ONNX needs the optional onnx package (``pip install "convlab[onnx]"``).

Exit status: 0 written, 1 the lab or the export failed (the message says why), 2 a usage error.
No Qt is imported.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from convlab.core.export.onnx_export import export_onnx
from convlab.core.export.pytorch import export_pytorch
from convlab.core.export.recipe import ExportError, request_from_session
from convlab.core.session import SessionError, load

FORMATS = ("pytorch", "onnx")
_WRITES = {"pytorch": ("model.py", "weights.safetensors", "train.py", "split.safetensors", "data.safetensors"),
           "onnx": ("model.onnx",)}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m convlab export",
        description="Export the model (and its weights) of a saved ConvLab lab to PyTorch or ONNX.",
    )
    ap.add_argument("--format", required=True, choices=FORMATS, help="pytorch: a folder with model.py, "
                    "weights.safetensors and train.py; onnx: model.onnx")
    ap.add_argument("lab", metavar="LAB.convlab", help="a lab saved with File > Save")
    ap.add_argument("outdir", metavar="OUTDIR", help="the folder to write (an .onnx file name for --format onnx)")
    ap.add_argument("--model-only", action="store_true", help="PyTorch: no train.py (the lab's data is not needed)")
    ap.add_argument("--force", action="store_true", help="replace files of the same names in OUTDIR")
    return ap


def main(argv=None, out=None, err=None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # usage and errors
            args = parser().parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    target = Path(args.outdir)
    folder = target.parent if (args.format == "onnx" and target.suffix == ".onnx") else target
    names = (target.name,) if folder is not target else _WRITES[args.format]
    clash = [n for n in names if (folder / n).exists()]
    if clash and not args.force:
        print(f"{folder} already holds {', '.join(clash)}: choose another folder or add --force", file=err)
        return 1
    try:
        session = load(args.lab)
        request = request_from_session(session, with_data=args.format == "pytorch" and not args.model_only)
        if args.format == "pytorch":
            written = export_pytorch(request, target)
        else:
            written = [export_onnx(request, target)]
    except (SessionError, ExportError) as e:
        print(f"cannot export: {e}", file=err)
        return 1
    for path in written:
        print(path, file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
