"""PyTorch export: readable model.py and train.py, weights.safetensors, the same data and split.

ConvLab never imports torch. The checks that run the exported files need an interpreter with torch:
this one if it has torch, else the one named by $CONVLAB_TORCH_PYTHON; without either they are
skipped (CI has no torch).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from export_cases import export_cases

from convlab.core.data.catalog import load_dataset
from convlab.core.data.idx import write_idx
from convlab.core.export.pytorch import export_pytorch, model_source, train_source
from convlab.core.export.recipe import ExportError, ExportRequest, TrainingRecipe, data_recipe
from convlab.core.export.safetensors_file import SafetensorsError, load_safetensors, save_safetensors
from convlab.core.model import Sequential
from convlab.core.settings import TrainSettings

CASES = export_cases()


def torch_python() -> str | None:
    if importlib.util.find_spec("torch") is not None:
        return sys.executable
    other = os.environ.get("CONVLAB_TORCH_PYTHON")
    return other if other and os.path.exists(other) else None


needs_torch = pytest.mark.skipif(torch_python() is None, reason="needs PyTorch (not a ConvLab dependency): "
                                 "install torch here or set CONVLAB_TORCH_PYTHON to a Python that has it")


def model_of(spec, seed=1):
    m = Sequential.from_spec(spec, seed=seed)
    rng = np.random.default_rng(seed)
    for v in m.parameters().values():
        v[...] = rng.normal(0, 0.3, v.shape)
    return m


def mnist_folder(folder: Path, n=120, seed=0) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    y = (np.arange(n) % 10).astype(np.uint8)
    x = np.zeros((n, 28, 28), np.uint8)
    for i, label in enumerate(y):  # a learnable pattern: a bright bar whose row is the label
        x[i, 2 + 2 * label: 4 + 2 * label, 4:24] = 255
    x = np.clip(x.astype(int) + rng.integers(0, 40, x.shape), 0, 255).astype(np.uint8)
    write_idx(folder / "train-images-idx3-ubyte.gz", x)
    write_idx(folder / "train-labels-idx1-ubyte.gz", y)
    return folder


# --------------------------------------------------------------------------- what is written


@pytest.mark.parametrize("name", list(CASES))
def test_model_py_is_plain_readable_python(name):
    spec = CASES[name]
    model = model_of(spec)
    text = model_source(ExportRequest(spec, model.state_dict(), name=name))
    compile(text, "model.py", "exec")
    lines = [line for line in text.splitlines() if re.match(r"\s+nn\.\w+\(.*\),\s+# \d+: -> ", line)]
    assert len(lines) == len(model.layers)
    for i, (line, layer) in enumerate(zip(lines, model.layers, strict=True)):
        assert f"# {i}: -> {'x'.join(map(str, layer.out_shape))}" in line
        params = sum(p.size for p in layer.params.values())
        if params:
            assert f"{params:,} parameters" in line
    assert "import torch" in text and "import pickle" not in text and "torch.load(" not in text


def test_model_py_spells_out_the_layer_settings():
    text = model_source(ExportRequest(CASES["conv_rectangular"], model_of(CASES["conv_rectangular"]).state_dict()))
    assert "nn.Conv2d(3, 3, kernel_size=(3, 5), stride=(1, 2), padding=(1, 2), dilation=(2, 1))" in text
    text = model_source(ExportRequest(CASES["conv_reflect"], model_of(CASES["conv_reflect"]).state_dict()))
    assert 'padding_mode="reflect"' in text
    text = model_source(ExportRequest(CASES["head_softmax"], model_of(CASES["head_softmax"]).state_dict()))
    assert "nn.Dropout(p=0.3)" in text and "nn.Linear(360, 7, bias=False)" in text and "nn.Softmax(dim=1)" in text
    assert "ENDS_WITH_SOFTMAX = True" in text
    text = model_source(ExportRequest(CASES["preset_lenet5"], model_of(CASES["preset_lenet5"]).state_dict()))
    assert "nn.AvgPool2d(kernel_size=2)" in text and "nn.Tanh()" in text


def test_export_folder_for_a_synthetic_set_carries_its_samples(tmp_path):
    spec = CASES["preset_lenet_relu"]
    model = model_of(spec)
    data = data_recipe("digits", samples=300, seed=4, val_fraction=0.2)
    training = TrainingRecipe(optimizer="adam", lr=0.002, weight_decay=1e-4, batch_size=16, epochs=2, seed=4,
                              val_fraction=0.2)
    written = export_pytorch(ExportRequest(spec, model.state_dict(), training, data, "LeNet"), tmp_path / "out")
    names = sorted(p.name for p in written)
    assert names == ["data.safetensors", "model.py", "train.py", "weights.safetensors"]
    weights, meta = load_safetensors(tmp_path / "out" / "weights.safetensors")
    assert weights.keys() == model.state_dict().keys()
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(weights[k], v)
    assert json.loads(meta["convlab_spec"]) == model.spec()
    arrays, _ = load_safetensors(tmp_path / "out" / "data.safetensors")
    assert arrays["x_train"].dtype == np.uint8 and len(arrays["y_train"]) == 240 and len(arrays["y_val"]) == 60
    train = (tmp_path / "out" / "train.py").read_text()
    compile(train, "train.py", "exec")
    assert '"optimizer": "adam"' in train and '"lr": 0.002' in train and '"weight_decay": 0.0001' in train
    assert '"batch_size": 16' in train and '"epochs": 2' in train and '"seed": 4' in train


def test_export_folder_for_files_holds_the_same_split(tmp_path):
    folder = mnist_folder(tmp_path / "mnist")
    data = data_recipe("mnist", path=str(folder), seed=3, val_fraction=0.25)
    _, val = load_dataset(TrainSettings(dataset="mnist", path=str(folder)), (1, 28, 28)).dataset.split(0.25, seed=3)
    spec = CASES["preset_lenet5"]
    export_pytorch(ExportRequest(spec, model_of(spec).state_dict(), TrainingRecipe(seed=3, val_fraction=0.25), data),
                   tmp_path / "out")
    split, _ = load_safetensors(tmp_path / "out" / "split.safetensors")
    full = load_dataset(TrainSettings(dataset="mnist", path=str(folder)), (1, 28, 28)).dataset
    np.testing.assert_array_equal(full.x[split["val_indices"]], val.x)
    assert str(folder) in (tmp_path / "out" / "train.py").read_text()


def test_what_cannot_be_exported_is_said():
    with pytest.raises(ExportError, match="cannot be exported"):
        ExportRequest({"input": [1, 28, 28], "layers": [{"type": "linear", "units": 3}]}, {}).model()
    spec = CASES["conv_1x1"]
    with pytest.raises(ExportError, match="do not fit"):
        ExportRequest(spec, {"0.weight": np.zeros((2, 2), np.float32)}).model()
    with pytest.raises(ExportError, match="train.py needs"):
        train_source(ExportRequest(spec, {}))
    with pytest.raises(ExportError, match="not downloaded yet"):
        data_recipe("kmnist", path="")


def test_safetensors_files_round_trip_and_bad_ones_are_refused(tmp_path):
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 2], np.int64),
              "c": np.zeros((0, 4), np.uint8), "d": np.float64(2.5) * np.ones((1,))}
    save_safetensors(tmp_path / "t.safetensors", arrays, {"note": "hello"})
    back, meta = load_safetensors(tmp_path / "t.safetensors")
    assert meta == {"note": "hello"}
    for k, v in arrays.items():
        assert back[k].dtype == v.dtype and np.array_equal(back[k], v)
    raw = (tmp_path / "t.safetensors").read_bytes()
    for bad, match in ((raw[:5], "too short"), (raw[:40], "header claims"),
                       (raw[:8] + b"x" + raw[9:], "not valid JSON"), (raw[:-4], "outside")):
        (tmp_path / "bad.safetensors").write_bytes(bad)
        with pytest.raises(SafetensorsError, match=match):
            load_safetensors(tmp_path / "bad.safetensors")
    with pytest.raises(SafetensorsError, match="object"):
        save_safetensors(tmp_path / "x.safetensors", {"o": np.array([object()])})


def test_the_safetensors_package_reads_our_files(tmp_path):
    st = pytest.importorskip("safetensors.numpy", reason="the cross-check needs the safetensors package")
    arrays = {"0.weight": np.random.default_rng(0).random((4, 3, 3, 3), dtype=np.float32),
              "0.bias": np.arange(4, dtype=np.float32), "idx": np.array([3, 1], np.int64)}
    save_safetensors(tmp_path / "w.safetensors", arrays)
    back = st.load_file(str(tmp_path / "w.safetensors"))
    assert back.keys() == arrays.keys() and all(np.array_equal(back[k], arrays[k]) for k in arrays)
    st.save_file(arrays, str(tmp_path / "theirs.safetensors"))
    ours, _ = load_safetensors(tmp_path / "theirs.safetensors")
    assert all(np.array_equal(ours[k], arrays[k]) for k in arrays)


# --------------------------------------------------------------------------- running it in PyTorch

CHECK_OUTPUTS = r"""
import importlib.util, json, sys
import numpy as np, torch
results = {}
for folder in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("exported_model", folder + "/model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.load_model()
    x = torch.from_numpy(np.load(folder + "/input.npy", allow_pickle=False))
    with torch.no_grad():
        got = model(x).numpy()
    want = np.load(folder + "/expected.npy", allow_pickle=False)
    results[folder] = float(np.abs(got - want).max())
print(json.dumps(results))
"""


@needs_torch
def test_exported_models_give_the_engines_outputs_in_pytorch(tmp_path):
    folders = []
    for name, spec in CASES.items():
        model = model_of(spec)
        out = tmp_path / name
        export_pytorch(ExportRequest(spec, model.state_dict(), name=name), out)
        x = np.random.default_rng(0).random((3, *model.input_shape), dtype=np.float32)
        np.save(out / "input.npy", x)
        np.save(out / "expected.npy", model.forward(x))
        folders.append(str(out))
    done = subprocess.run([torch_python(), "-c", CHECK_OUTPUTS, *folders], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    diffs = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(diffs) == len(CASES)
    for folder, diff in diffs.items():  # float32 tolerance, relative to the size of the outputs
        scale = float(np.abs(np.load(Path(folder) / "expected.npy")).max())
        assert diff <= 1e-5 * max(1.0, scale), (folder, diff, scale)


@needs_torch
@pytest.mark.parametrize("kind", ["digits", "mnist"])
def test_train_py_runs_and_learns(tmp_path, kind):
    spec = {"input": [1, 28, 28], "layers": [
        {"type": "conv2d", "filters": 4, "kernel": 5, "stride": 2}, {"type": "relu"}, {"type": "flatten"},
        {"type": "linear", "units": 10}]}
    model = Sequential.from_spec(spec, seed=0)
    path = str(mnist_folder(tmp_path / "mnist", n=300)) if kind == "mnist" else ""
    data = data_recipe(kind, path=path, samples=300, seed=0, val_fraction=0.2)
    training = TrainingRecipe(optimizer="adam", lr=0.01, batch_size=16, epochs=3, seed=0, val_fraction=0.2)
    export_pytorch(ExportRequest(spec, model.state_dict(), training, data, "tiny"), tmp_path / "out")
    done = subprocess.run([torch_python(), str(tmp_path / "out" / "train.py"), "--fresh"], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "240 training and 60 validation samples" in done.stdout
    accuracies = [float(a) for a in re.findall(r"validation loss [\d.]+, accuracy ([\d.]+)%", done.stdout)]
    assert len(accuracies) == 4 and accuracies[-1] > 30.0, done.stdout  # chance is 10%
    trained, _ = load_safetensors(tmp_path / "out" / "trained.safetensors")
    back = Sequential.from_spec(spec)
    back.load_state_dict(trained)  # the trained weights come back into ConvLab as they are
