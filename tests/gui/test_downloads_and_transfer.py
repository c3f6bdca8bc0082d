"""The GUI of issue 16: the download dialog and the Training panel's row (against a local HTTP server on
127.0.0.1), and File > Export / Import (PyTorch folders, ONNX files, refusals). No modal dialog blocks:
file choosers and questions are replaced, message boxes are opened without blocking."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from convlab.core.data import download as dl
from convlab.core.data.catalog import DATASETS
from convlab.core.data.remote import CATALOG
from convlab.core.export.safetensors_file import load_safetensors
from convlab.core.presets import model_preset
from convlab.gui.panels.download_dialog import DownloadDialog
from convlab.gui.panels.training_panel import TrainingPanel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from dataset_fixtures import fixture_dataset, mnist_files  # noqa: E402
from http_fixtures import FileServer, closed_port  # noqa: E402

WAIT = 30000


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def kmnist(tmp_path, monkeypatch):
    """KMNIST's catalogue entry pointed at a local server holding a tiny KMNIST in the real format."""
    files = mnist_files(tmp_path, n_train=600)  # 470 kB of images: several progress reports
    server = FileServer({f"/k/{n}": d for n, d in files.items()}).start()
    monkeypatch.setitem(CATALOG, "kmnist", fixture_dataset(CATALOG["kmnist"], files, [server.url("/k/")]))
    yield server, files
    server.stop()


def dialog_for(qtbot, key):
    d = DownloadDialog(key)
    qtbot.addWidget(d)
    return d


# --------------------------------------------------------------------------- the dialog


def test_download_shows_progress_and_reports_ready(qtbot, kmnist):
    server, files = kmnist
    d = dialog_for(qtbot, "kmnist")
    assert "not downloaded yet" in d.status_label.text() and d.download_btn.text() == "Download"
    with qtbot.waitSignal(d.ready, timeout=WAIT) as ready:
        d.download_btn.click()
        assert d.cancel_btn.isEnabled() and not d.download_btn.isEnabled()
    key, folder = ready.args
    assert key == "kmnist" and Path(folder) == dl.dataset_folder("kmnist")
    assert all((Path(folder) / n).read_bytes() == data for n, data in files.items())
    assert d.progress_bar.value() == 1000
    assert " of " in d.progress_label.text() and "KB" in d.progress_label.text()
    assert "ready" in d.status_label.text() and not d.cancel_btn.isEnabled()
    assert d.download_btn.text() == "Check Again" and not d.error_label.isVisibleTo(d)


def test_cancel_keeps_what_arrived_and_resume_finishes(qtbot, kmnist):
    server, files = kmnist
    name = "train-images-idx3-ubyte.gz"
    server.hold_after[f"/k/{name}"] = len(files[name]) // 2
    d = dialog_for(qtbot, "kmnist")
    d.download_btn.click()
    assert server.half_sent.wait(10)
    qtbot.waitUntil(lambda: d.progress_bar.value() > 0, timeout=WAIT)
    d.cancel_btn.click()  # the server still holds the connection open, silent: the cancel wakes the read
    qtbot.waitUntil(lambda: d.worker is None, timeout=WAIT)
    server.release.set()
    assert "cancelled" in d.status_label.text() and "kept" in d.status_label.text(), d.error_label.text()
    assert d.download_btn.text() == "Resume"
    with qtbot.waitSignal(d.ready, timeout=WAIT):
        d.download_btn.click()
    assert any(r and r.startswith("bytes=") for p, r in server.requests if p.endswith(name))


def test_offline_shows_where_to_put_the_files(qtbot, monkeypatch, tmp_path):
    files = mnist_files(tmp_path)
    port = closed_port()
    monkeypatch.setitem(CATALOG, "kmnist", fixture_dataset(CATALOG["kmnist"], files, [f"http://127.0.0.1:{port}/"]))
    d = dialog_for(qtbot, "kmnist")
    d.download_btn.click()
    qtbot.waitUntil(lambda: d.worker is None and d.error_label.isVisibleTo(d), timeout=WAIT)
    text = d.error_label.text()
    assert text.startswith("no connection: put the four KMNIST files") and str(dl.dataset_folder("kmnist")) in text
    assert d.download_btn.isEnabled()
    # a folder holding the files is the way out
    elsewhere = tmp_path / "from_a_usb_stick"
    elsewhere.mkdir()
    with qtbot.assertNotEmitted(d.ready):
        assert not d.use_folder(str(elsewhere))
    assert "missing" in d.error_label.text()
    for n, data in files.items():
        (elsewhere / n).write_bytes(data)
    d.ask_folder = lambda: str(elsewhere)
    with qtbot.waitSignal(d.ready, timeout=WAIT) as ready:
        d.folder_btn.click()
    assert ready.args == ["kmnist", str(elsewhere)]


def test_a_wrong_checksum_is_shown_and_nothing_kept(qtbot, kmnist):
    server, files = kmnist
    name = "t10k-labels-idx1-ubyte.gz"
    server.files[f"/k/{name}"] = b"\x00" * len(files[name])
    d = dialog_for(qtbot, "kmnist")
    d.download_btn.click()
    qtbot.waitUntil(lambda: d.worker is None and d.error_label.isVisibleTo(d), timeout=WAIT)
    assert "SHA-256" in d.error_label.text() and name in d.error_label.text()
    assert not (dl.dataset_folder("kmnist") / name).exists()


# --------------------------------------------------------------------------- the Training panel


def test_the_training_panel_offers_downloads_and_trains_on_them(qtbot, net, kmnist):
    panel = TrainingPanel(net)
    qtbot.addWidget(panel)
    for key in ("colour_shapes", "mnist", "fashion", "kmnist", "cifar10"):
        assert panel.dataset_box.findData(key) >= 0, key
    assert "download" in DATASETS["mnist"].lower()
    panel.dataset_box.setCurrentIndex(panel.dataset_box.findData("digits"))
    assert panel.download_row.isHidden()
    panel.dataset_box.setCurrentIndex(panel.dataset_box.findData("kmnist"))
    assert not panel.download_row.isHidden() and not panel.path_row.isHidden()
    assert "not downloaded yet" in panel.download_row.status_label.text()
    dialog = panel.download_row.open_dialog()
    qtbot.addWidget(dialog)
    assert dialog.key == "kmnist"
    with qtbot.waitSignal(dialog.ready, timeout=WAIT):
        dialog.download_btn.click()
    dialog.reject()
    assert net.settings.dataset == "kmnist" and net.settings.path == ""
    assert "is here" in panel.download_row.status_label.text()
    with qtbot.waitSignal(net.datasetChanged, timeout=WAIT):
        panel.load_btn.click()
    assert net.dataset.name == "KMNIST (train)" and net.dataset.classes[0].startswith("o")
    assert len(net.train) + len(net.val) == 600


def test_the_built_in_rgb_set_trains_the_rgb_preset(qtbot, net):
    net.load_preset("small_vgg_rgb")
    net.set_settings(dataset="colour_shapes", samples=200, epochs=1, batch_size=50)
    assert net.train_block_reason == ""
    with qtbot.waitSignal(net.datasetChanged, timeout=WAIT):
        net.load_dataset()
    assert net.dataset.x.shape[1:] == (3, 32, 32) and net.train_block_reason == ""


# --------------------------------------------------------------------------- export and import


@pytest.fixture
def window(new_window):
    w = new_window(show=False, threaded=False)
    w.net.set_settings(dataset="digits", samples=200)
    return w


def menu_texts(menu):
    return [a.text() for a in menu.actions()]


def test_file_menu_has_export_and_import(window):
    texts = menu_texts(window.file_menu)
    assert "E&xport" in texts and "&Import" in texts
    mt = window.model_transfer
    assert menu_texts(mt.export_menu) == ["&PyTorch...", "&ONNX..."] and menu_texts(mt.import_menu) == ["&ONNX..."]
    assert all(a.toolTip() for a in mt.export_menu.actions() + mt.import_menu.actions())


def test_export_pytorch_from_the_menu_writes_the_folder(qtbot, window, tmp_path):
    mt = window.model_transfer
    target = tmp_path / "torch"
    mt.ask_export_folder = lambda: str(target)
    with qtbot.waitSignal(mt.exported, timeout=WAIT) as done:
        mt.act_export_pytorch.trigger()
    names = sorted(Path(p).name for p in done.args[0])
    assert names == ["data.safetensors", "model.py", "train.py", "weights.safetensors"]
    weights, _ = load_safetensors(target / "weights.safetensors")
    for k, v in window.net.view_model.state_dict().items():
        np.testing.assert_array_equal(weights[k], v)
    assert "LeNet-5" in (target / "model.py").read_text()
    assert mt.last_box is not None and "train.py" in mt.last_box.text()
    mt.last_box.close()
    # exporting again into the same folder asks first; "no" leaves it alone
    asked = []
    mt.confirm = lambda text: asked.append(text) or False
    assert not mt.export_to("pytorch", str(target)) and "already holds" in asked[0]


def test_export_and_import_onnx_round_trip(qtbot, window, tmp_path):
    pytest.importorskip("onnx", reason="ONNX needs the onnx package")
    mt = window.model_transfer
    net = window.net
    path = tmp_path / "lenet.onnx"
    mt.ask_onnx_save_path = lambda: str(path)
    with qtbot.waitSignal(mt.exported, timeout=WAIT):
        mt.act_export_onnx.trigger()
    mt.last_box.close()
    assert path.is_file()
    exported = net.view_model.state_dict()
    net.load_preset("lenet_relu")  # something else, then bring the exported one back
    assert net.spec["layers"][1]["type"] == "relu"
    mt.ask_onnx_open_path = lambda: str(path)
    with qtbot.waitSignal(mt.imported, timeout=WAIT):
        mt.act_import_onnx.trigger()
    assert [layer["type"] for layer in net.spec["layers"]][:2] == ["conv2d", "tanh"]
    for k, v in exported.items():
        np.testing.assert_array_equal(net.view_model.state_dict()[k], v)


def test_an_import_is_one_undo_step_that_swaps_whole_models(qtbot, window, tmp_path):
    pytest.importorskip("onnx", reason="ONNX needs the onnx package")
    mt, net = window.model_transfer, window.net
    path = tmp_path / "lenet.onnx"
    mt.ask_onnx_save_path = lambda: str(path)
    with qtbot.waitSignal(mt.exported, timeout=WAIT):
        mt.act_export_onnx.trigger()
    mt.last_box.close()
    exported = net.view_model.state_dict()
    net.load_preset("lenet_relu")  # the learner's model: trained for a few steps, with a history
    net.set_settings(dataset="digits", samples=200, epochs=1, batch_size=50)
    with qtbot.waitSignal(net.trainingStateChanged, timeout=WAIT):
        assert net.start_training()
    qtbot.waitUntil(lambda: net.training == "idle", timeout=WAIT)
    trained, history = net.view_model.state_dict(), list(net.history_steps)
    assert history
    with qtbot.waitSignal(mt.imported, timeout=WAIT):
        mt.import_from(str(path))
    assert net.spec["layers"][1]["type"] == "tanh" and net.history_steps == []
    assert window.act_undo.text() == "&Undo Import lenet.onnx"
    window.act_undo.trigger()  # the trained model comes back whole: weights and history
    assert net.spec["layers"][1]["type"] == "relu" and net.history_steps == history
    for k, v in trained.items():
        np.testing.assert_array_equal(net.view_model.state_dict()[k], v)
    window.act_redo.trigger()  # and the imported one again
    assert net.spec["layers"][1]["type"] == "tanh" and net.history_steps == []
    for k, v in exported.items():
        np.testing.assert_array_equal(net.view_model.state_dict()[k], v)
    net.reset_weights(seed=5)  # changed after the import: undo keeps it as it is for redo
    changed = net.view_model.state_dict()
    window.act_undo.trigger()
    window.act_redo.trigger()
    for k, v in changed.items():
        np.testing.assert_array_equal(net.view_model.state_dict()[k], v)
    with qtbot.waitSignal(net.trainingStateChanged, timeout=WAIT):
        assert net.start_training(paused=True)
    assert "stop training" in window.tool_undo.toolTip()  # a run holds the swap, like a layer change
    window.act_undo.trigger()
    assert net.spec["layers"][1]["type"] == "tanh" and net.training == "paused"
    net.stop()
    net.resume()
    qtbot.waitUntil(lambda: net.training == "idle", timeout=WAIT)


def test_an_unsupported_onnx_model_is_refused_and_the_model_stays(qtbot, window, tmp_path):
    onnx = pytest.importorskip("onnx", reason="ONNX needs the onnx package")
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((2, 1, 3, 3), np.float32), "w")
    s = numpy_helper.from_array(np.ones(2, np.float32), "s")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3]),
         helper.make_node("BatchNormalization", ["c", "s", "s", "s", "s"], ["y"], name="bn")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 6, 6])], initializer=[w, s])
    path = tmp_path / "bn.onnx"
    onnx.save(helper.make_model(graph), str(path))
    mt = window.model_transfer
    before = dict(window.net.spec)
    with qtbot.waitSignal(mt.failed, timeout=WAIT) as failed:
        mt.import_from(str(path))
    assert "BatchNormalization" in failed.args[0] and "bn.onnx" in failed.args[0]
    assert mt.last_box.icon() == QMessageBox.Warning
    mt.last_box.close()
    assert window.net.spec == before


def test_a_broken_model_cannot_be_exported_and_says_why(qtbot, window, tmp_path):
    net = window.net
    spec = model_preset("lenet5")
    spec["layers"][0]["kernel"] = 40  # larger than the 28x28 input
    net.set_spec(spec, "break it")
    mt = window.model_transfer
    with qtbot.waitSignal(mt.failed, timeout=WAIT) as failed:
        assert not mt.export_to("onnx", str(tmp_path / "x.onnx"))
    assert "cannot be exported" in failed.args[0] and "layer 0" in failed.args[0]
    mt.last_box.close()
    mt._refresh()
    assert not mt.act_export_pytorch.isEnabled()
