"""ONNX export and import: onnx.checker on every graph, onnxruntime giving the engine's outputs for
every layer type, round trips, graphs in PyTorch's shapes, and clear refusals.

These need the optional onnx / onnxruntime packages (in the ``test`` extra, so CI runs them); without
them the tests are skipped with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from export_cases import export_cases

from convlab.core.export.onnx_export import OPSET, export_onnx, onnx_model
from convlab.core.export.recipe import ExportError, ExportRequest
from convlab.core.model import Sequential

onnx = pytest.importorskip("onnx", reason="ONNX export needs the onnx package (pip install 'convlab[onnx]')")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from convlab.core.export.onnx_import import ONNXImportError, import_onnx, import_onnx_bytes  # noqa: E402

CASES = export_cases()


def model_of(spec, seed=1):
    m = Sequential.from_spec(spec, seed=seed)
    rng = np.random.default_rng(seed)
    for v in m.parameters().values():  # biases too, so a wrong bias shows
        v[...] = rng.normal(0, 0.3, v.shape)
    return m


def batch(model, n=3, seed=0):
    return np.random.default_rng(seed).random((n, *model.input_shape), dtype=np.float32)


@pytest.mark.parametrize("name", list(CASES))
def test_export_passes_the_checker_and_onnxruntime_matches_the_engine(name):
    ort = pytest.importorskip("onnxruntime", reason="the output check needs onnxruntime")
    spec = CASES[name]
    model = model_of(spec)
    proto = onnx_model(ExportRequest(spec, model.state_dict(), name=name))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == OPSET
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = batch(model)
    got = session.run(None, {"input": x})[0]
    want = model.forward(x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("name", list(CASES))
def test_round_trip_gives_the_same_spec_and_weights(name):
    spec = CASES[name]
    model = model_of(spec)
    proto = onnx_model(ExportRequest(spec, model.state_dict(), name=name))
    imported = import_onnx_bytes(proto.SerializeToString())
    assert imported.spec == model.spec()
    back = imported.model()
    x = batch(model)
    np.testing.assert_array_equal(back.forward(x), model.forward(x))
    assert imported.name == name


def test_file_export_keeps_names_and_a_free_batch_size(tmp_path):
    spec = CASES["preset_lenet5"]
    model = model_of(spec)
    classes = [f"digit {i}" for i in range(10)]
    path = export_onnx(ExportRequest(spec, model.state_dict(), name="LeNet", classes=classes), tmp_path / "out")
    assert path == tmp_path / "out" / "model.onnx"
    proto = onnx.load(str(path))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["classes"]) == classes and json.loads(meta["convlab_spec"]) == model.spec()
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and [d.dim_value for d in dims[1:]] == [1, 28, 28]
    imported = import_onnx(path)
    assert imported.classes == classes


def test_without_onnx_the_export_says_how_to_get_it(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError("No module named 'onnx'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    spec = CASES["conv_1x1"]
    with pytest.raises(ExportError, match=r'pip install "convlab\[onnx\]"'):
        onnx_model(ExportRequest(spec, model_of(spec).state_dict()))


# --------------------------------------------------------------------------- graphs made elsewhere


def graph_model(nodes, inits, in_shape, out_shape, opset=13):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


def torch_style_lenet(rng):
    """The shapes PyTorch's exporters write: Pad, MatMul + Add, Reshape, Gemm without transB, Identity."""
    w0 = rng.normal(0, 0.3, (4, 1, 3, 3)).astype(np.float32)
    b0 = rng.normal(0, 0.1, 4).astype(np.float32)
    w1 = rng.normal(0, 0.1, (4 * 4 * 4, 12)).astype(np.float32)  # MatMul stores inputs x outputs
    b1 = rng.normal(0, 0.1, 12).astype(np.float32)
    w2 = rng.normal(0, 0.3, (12, 5)).astype(np.float32)  # Gemm transB=0
    b2 = rng.normal(0, 0.1, (1, 5)).astype(np.float32)
    nodes = [
        helper.make_node("Constant", [], ["pads"], value=numpy_helper.from_array(
            np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))),
        helper.make_node("Pad", ["x", "pads"], ["p"], mode="reflect"),
        helper.make_node("Conv", ["p", "w0", "b0"], ["c"], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["m"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Identity", ["m"], ["i"]),
        helper.make_node("Constant", [], ["shape"], value=numpy_helper.from_array(np.array([-1, 64], np.int64))),
        helper.make_node("Reshape", ["i", "shape"], ["f"]),
        helper.make_node("MatMul", ["f", "w1"], ["mm"]),
        helper.make_node("Add", ["mm", "b1"], ["h"]),
        helper.make_node("Tanh", ["h"], ["t"]),
        helper.make_node("Gemm", ["t", "w2", "b2"], ["y"], alpha=2.0),
    ]
    data = graph_model(nodes, {"w0": w0, "b0": b0, "w1": w1, "b1": b1, "w2": w2, "b2": b2}, ["batch", 1, 8, 8],
                       ["batch", 5])
    return data, (w0, b0, w1, b1, w2, b2)


def test_a_graph_in_pytorchs_shapes_comes_in_with_its_weights():
    ort = pytest.importorskip("onnxruntime", reason="the output check needs onnxruntime")
    data, _ = torch_style_lenet(np.random.default_rng(0))
    imported = import_onnx_bytes(data)
    kinds = [layer["type"] for layer in imported.spec["layers"]]
    assert kinds == ["conv2d", "relu", "maxpool2d", "flatten", "linear", "tanh", "linear"]
    assert imported.spec["layers"][0]["padding_mode"] == "reflect" and imported.spec["layers"][0]["padding"] == 1
    assert any("Identity" in n for n in imported.notes)
    x = np.random.default_rng(1).random((2, 1, 8, 8), dtype=np.float32)
    want = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(imported.model().forward(x), want, rtol=1e-5, atol=1e-5)


def refused(nodes, inits, in_shape, out_shape, **kw) -> str:
    with pytest.raises(ONNXImportError) as info:
        import_onnx_bytes(graph_model(nodes, inits, in_shape, out_shape, **kw))
    return str(info.value)


def test_an_unsupported_operator_is_refused_by_name():
    w = np.zeros((2, 1, 3, 3), np.float32)
    scale = np.ones(2, np.float32)
    text = refused([helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], name="conv1"),
                    helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"], name="bn1")],
                   {"w": w, "s": scale, "b": scale, "m": scale, "v": scale}, [1, 1, 8, 8], [1, 2, 6, 6])
    assert "BatchNormalization" in text and "'bn1'" in text and "not supported" in text


def test_branches_grouped_convolutions_and_asymmetric_pads_are_refused():
    w = np.zeros((2, 2, 3, 3), np.float32)
    text = refused([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Tanh", ["a"], ["b"]),
                    helper.make_node("Add", ["a", "b"], ["y"])], {}, [1, 2, 4, 4], [1, 2, 4, 4])
    assert "feeds 2 nodes" in text and "branches" in text
    text = refused([helper.make_node("Conv", ["x", "wg"], ["y"], kernel_shape=[3, 3], group=2)],
                   {"wg": np.zeros((2, 1, 3, 3), np.float32)}, [1, 2, 4, 4], [1, 2, 2, 2])
    assert "group=2" in text
    text = refused([helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], pads=[0, 0, 1, 1])],
                   {"w": w}, [1, 2, 4, 4], [1, 2, 3, 3])
    assert "[0, 0, 1, 1]" in text and "symmetrically" in text
    text = refused([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
                   {}, [1, 2, 4, 4], [1, 2, 4, 4])
    assert "count_include_pad=0" in text


def test_bad_files_are_refused_with_a_reason(tmp_path):
    with pytest.raises(ONNXImportError, match="not an ONNX model"):
        import_onnx_bytes(b"\x00\x01 definitely not protobuf \xff" * 10)
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"garbage")
    with pytest.raises(ONNXImportError, match="broken.onnx"):
        import_onnx(path)
    with pytest.raises(ONNXImportError, match="cannot read"):
        import_onnx(tmp_path / "missing.onnx")
    two_inputs = helper.make_model(helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"])], "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 4]) for n in "ab"],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])]))
    with pytest.raises(ONNXImportError, match="2 inputs"):
        import_onnx_bytes(two_inputs.SerializeToString())


# --------------------------------------------------------------------------- a model PyTorch exported

FIXTURES = Path(__file__).with_name("fixtures")


def test_a_lenet_exported_by_pytorch_comes_in_with_its_weights():
    imported = import_onnx(FIXTURES / "lenet_from_pytorch.onnx")
    kinds = [layer["type"] for layer in imported.spec["layers"]]
    assert kinds == ["conv2d", "relu", "maxpool2d", "conv2d", "relu", "maxpool2d", "flatten", "linear", "relu",
                     "linear", "relu", "linear"]
    assert imported.spec["input"] == [1, 28, 28] and imported.name == "lenet_from_pytorch"
    x = np.load(FIXTURES / "lenet_from_pytorch_input.npy", allow_pickle=False)
    want = np.load(FIXTURES / "lenet_from_pytorch_output.npy", allow_pickle=False)  # PyTorch's own outputs
    np.testing.assert_allclose(imported.model().forward(x), want, rtol=1e-5, atol=1e-6)


def test_weights_in_a_separate_file_are_read_from_beside_the_model(tmp_path):
    spec = CASES["preset_lenet_relu"]
    model = model_of(spec)
    proto = onnx_model(ExportRequest(spec, model.state_dict(), name="split"))
    onnx.save_model(proto, str(tmp_path / "m.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="m.onnx.data", size_threshold=0)  # as PyTorch's newer exporter writes them
    imported = import_onnx(tmp_path / "m.onnx")
    x = batch(model)
    np.testing.assert_array_equal(imported.model().forward(x), model.forward(x))
    with pytest.raises(ONNXImportError, match="separate file"):
        import_onnx_bytes((tmp_path / "m.onnx").read_bytes())  # bytes alone: nowhere to look
    sneaky = onnx.load(str(tmp_path / "m.onnx"), load_external_data=False)
    for init in sneaky.graph.initializer:
        for entry in init.external_data:
            if entry.key == "location":
                entry.value = "../m.onnx.data"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "s.onnx").write_bytes(sneaky.SerializeToString())
    with pytest.raises(ONNXImportError, match="outside the model's folder"):
        import_onnx(tmp_path / "sub" / "s.onnx")
