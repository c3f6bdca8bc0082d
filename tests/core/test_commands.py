"""The command lines: python -m convlab export ..., python -m convlab.data list / download ..."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from http_fixtures import FileServer

from convlab import data as data_cli
from convlab import export as export_cli
from convlab.core.data import download as dl
from convlab.core.data.remote import CATALOG, RemoteFile
from convlab.core.export.safetensors_file import load_safetensors
from convlab.core.model import Sequential
from convlab.core.presets import model_preset
from convlab.core.session import Session, save


@pytest.fixture
def lab(tmp_path):
    spec = model_preset("lenet_relu")
    model = Sequential.from_spec(spec, seed=5)
    session = Session(model_spec=spec, model_preset="lenet_relu", model_state=model.state_dict(),
                      dataset={"kind": "digits", "path": "", "samples": 200},
                      train_settings={"val_fraction": 0.2, "batch_size": 16, "epochs": 2, "optimizer": "adam",
                                      "lr": 0.001, "weight_decay": 0.0, "seed": 1})
    path = tmp_path / "lab.convlab"
    save(path, session)
    return path, model


def run(main, argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_export_pytorch_from_a_saved_lab(lab, tmp_path):
    path, model = lab
    code, out, err = run(export_cli.main, ["--format", "pytorch", str(path), str(tmp_path / "torch")])
    assert code == 0, err
    assert sorted(p.rsplit("/", 1)[-1] for p in out.split()) == [
        "data.safetensors", "model.py", "train.py", "weights.safetensors"]
    weights, _ = load_safetensors(tmp_path / "torch" / "weights.safetensors")
    assert all(np.array_equal(weights[k], v) for k, v in model.state_dict().items())
    train = (tmp_path / "torch" / "train.py").read_text()
    assert '"optimizer": "adam"' in train and '"lr": 0.001' in train and "40 of 200 samples" in train
    # a second export into the same folder asks for --force
    code, _, err = run(export_cli.main, ["--format", "pytorch", str(path), str(tmp_path / "torch")])
    assert code == 1 and "--force" in err and "model.py" in err
    code, _, err = run(export_cli.main, ["--format", "pytorch", "--force", "--model-only", str(path),
                                         str(tmp_path / "torch")])
    assert code == 0, err


def test_export_onnx_from_a_saved_lab(lab, tmp_path):
    onnx = pytest.importorskip("onnx", reason="ONNX export needs the onnx package")
    path, model = lab
    code, out, err = run(export_cli.main, ["--format", "onnx", str(path), str(tmp_path / "lenet.onnx")])
    assert code == 0, err and out.strip().endswith("lenet.onnx")
    proto = onnx.load(str(tmp_path / "lenet.onnx"))
    onnx.checker.check_model(proto)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["convlab_spec"]) == model.spec()


def test_export_errors_are_one_clear_line(tmp_path, lab):
    bad = tmp_path / "bad.convlab"
    bad.write_bytes(b"not a zip")
    code, _, err = run(export_cli.main, ["--format", "pytorch", str(bad), str(tmp_path / "o")])
    assert code == 1 and err.startswith("cannot export: bad.convlab: not a ConvLab session")
    empty = tmp_path / "empty.convlab"
    save(empty, Session())
    code, _, err = run(export_cli.main, ["--format", "onnx", str(empty), str(tmp_path / "o2")])
    assert code == 1 and "no model" in err
    code, _, err = run(export_cli.main, ["--format", "keras", str(lab[0]), str(tmp_path / "o3")])
    assert code == 2 and "invalid choice" in err


def test_python_m_convlab_export_runs_without_qt(lab, tmp_path):
    path, _ = lab
    code = ("import runpy, sys\n"
            f"sys.argv = ['convlab', 'export', '--format', 'pytorch', '--model-only', {str(path)!r}, "
            f"{str(tmp_path / 'm')!r}]\n"
            "try:\n    runpy.run_module('convlab', run_name='__main__')\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "m" / "model.py").exists()


def test_data_list_and_download(tmp_path, monkeypatch):
    monkeypatch.setenv(dl.ENV_DATA_DIR, str(tmp_path / "appdata"))
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    code, out, _ = run(data_cli.main, ["list"])
    assert code == 0 and "mnist" in out and "cifar10" in out and "not downloaded" in out
    assert str(tmp_path / "appdata" / "datasets") in out
    files = {"train-images-idx3-ubyte.gz": b"i" * 5000, "train-labels-idx1-ubyte.gz": b"l" * 100,
             "t10k-images-idx3-ubyte.gz": b"t" * 800, "t10k-labels-idx1-ubyte.gz": b"k" * 50}
    server = FileServer({f"/k/{n}": d for n, d in files.items()}).start()
    try:
        remote = tuple(RemoteFile(n, len(d), hashlib.sha256(d).hexdigest()) for n, d in files.items())
        monkeypatch.setitem(CATALOG, "kmnist", dataclasses.replace(CATALOG["kmnist"], files=remote,
                                                                    mirrors=(server.url("/k/"),)))
        code, out, err = run(data_cli.main, ["download", "kmnist"])
        assert code == 0, err
        assert "KMNIST: ready in" in out and "100%" in err
        code, out, _ = run(data_cli.main, ["list"])
        assert "KMNIST - 5.95 KB in 4 file(s), downloaded" in out
        server.files["/k/t10k-labels-idx1-ubyte.gz"] = b"x" * 50
        (dl.dataset_folder("kmnist") / "t10k-labels-idx1-ubyte.gz").unlink()
        code, _, err = run(data_cli.main, ["download", "kmnist"])
        assert code == 1 and "SHA-256" in err
    finally:
        server.stop()
    code, _, err = run(data_cli.main, ["download", "imagenet"])
    assert code == 2 and "invalid choice" in err
