"""The .convlab session file: every part round-trips bit-exact; bad, hostile or damaged files are
a SessionError with a clear message (and nothing else); saving is atomic and keeps a backup."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convlab.core import session as S
from convlab.core.model import Sequential
from convlab.core.optim import make_optimizer
from convlab.core.session import Session, SessionError, load, save

SPEC = {
    "input": [1, 8, 8],
    "layers": [
        {"type": "conv2d", "filters": 2, "kernel": 3, "padding": 1},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel": 2},
        {"type": "flatten"},
        {"type": "linear", "units": 3},
    ],
}


def odd_floats(rng, shape) -> np.ndarray:
    """float32 values that a lossy or text round trip would change: -0.0, subnormals, extremes."""
    a = rng.normal(size=shape).astype(np.float32)
    flat = a.reshape(-1)
    specials = np.array([-0.0, 1e-45, -3.4028235e38, 0.1], np.float32)
    flat[: min(flat.size, 4)] = specials[: min(flat.size, 4)]
    return a


def image_of(kind: str, rng) -> np.ndarray:
    shape = {"rgb": (13, 17, 3), "gray": (11, 9), "gray1": (6, 5, 1), "rgba": (7, 10, 4)}[kind]
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    if kind == "rgba":
        img[0, :, 3] = 0  # fully transparent pixels keep their colour too
    return img


def full_session(image_kind: str = "rgb", seed: int = 0) -> Session:
    rng = np.random.default_rng(seed)
    color = "rgb" if image_kind in ("rgb", "rgba") else "gray"
    c = 3 if color == "rgb" else 1
    model = Sequential.from_spec(SPEC, seed=seed)
    opt = make_optimizer("adam", model.parameters(), lr=0.01)
    for _ in range(2):
        opt.step({k: rng.normal(size=v.shape).astype(np.float32) for k, v in model.parameters().items()})
    state = model.state_dict()
    state["0.weight"] = odd_floats(rng, state["0.weight"].shape)
    history = np.column_stack([np.arange(5.0), rng.random(5), rng.random(5)])
    history[1, 2] = np.nan  # a step without an accuracy
    return Session(
        image=image_of(image_kind, rng),
        image_name="cat.png",
        source={"kind": "video", "camera_index": 1, "video_path": "/tmp/clip.mp4", "mirror": True,
                "resolution": [320, 240], "fps": 24.5},
        color=color,
        kernels=odd_floats(rng, (3, c, 5, 5)),
        biases=odd_floats(rng, (3,)),
        kernel_names=["sobel_x", "gaussian", "custom"],
        conv={"stride": 2, "padding": 1, "padding_mode": "reflect", "dilation": 2},
        display_mode="minmax",
        post={"pool": "max", "pool_kernel": 3, "pool_stride": 1},
        mix=odd_floats(rng, (2, 3)),
        mix_bias=odd_floats(rng, (2,)),
        selected_filter=2,
        learn={"target_kind": "preset", "target_key": "laplacian", "kernel": 5, "stride": 1, "padding": 2,
               "dilation": 1, "optimizer": "sgd", "lr": 0.5, "steps": 200, "filters": 2,
               "extra_presets": ["sobel_x", "box_blur", "sharpen"], "data": "samples"},
        learn_kernel=odd_floats(rng, (1, c, 5, 5)),
        learn_bias=odd_floats(rng, (1,)),
        model_spec=SPEC,
        model_preset="lenet5",
        model_state=state,
        optimizer_state=opt.state_dict(),
        train_settings={"val_fraction": 0.2, "batch_size": 64, "epochs": 7, "optimizer": "adam", "lr": 0.001,
                        "weight_decay": 1e-4, "seed": None},
        history_steps=history,
        history_epochs=[
            {"epoch": 1, "train_loss": 1.5, "train_accuracy": 0.4, "val_loss": None, "val_accuracy": None},
            {"epoch": 2, "train_loss": 0.9, "train_accuracy": 0.7, "val_loss": 1.0, "val_accuracy": 0.65},
        ],
        confusion=rng.integers(0, 50, (3, 3)).astype(np.int64),
        dataset={"kind": "folder", "path": "/data/shapes", "samples": 1000},
        captured_x=rng.random((4, 1, 8, 8)).astype(np.float32),
        captured_y=np.array([0, 2, 1, 2], np.int64),
        captured_classes=["circle", "square", "triangle"],
        selection={"layer": 1, "unit": [1, 0, 2, 3], "rf_mode": "effective"},
        window={"geometry": "AdnQywADAAAAAAAA", "state": "AAAA/wAAAAD9AAAA", "workspace": "network"},
    )


def assert_same(a: Session, b: Session) -> None:
    for f in dataclasses.fields(Session):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert isinstance(y, np.ndarray) and x.dtype == y.dtype and x.shape == y.shape, f.name
            assert x.tobytes() == y.tobytes(), f"{f.name} is not bit-exact"
        elif f.name == "model_state":
            assert x.keys() == y.keys()
            for k in x:
                assert x[k].dtype == y[k].dtype and x[k].tobytes() == y[k].tobytes(), k
        elif f.name == "optimizer_state" and x is not None:
            assert {k: v for k, v in x.items() if k != "buffers"} == {k: v for k, v in y.items() if k != "buffers"}
            assert x["buffers"].keys() == y["buffers"].keys()
            for p in x["buffers"]:
                for n, v in x["buffers"][p].items():
                    assert v.dtype == y["buffers"][p][n].dtype and v.tobytes() == y["buffers"][p][n].tobytes()
        else:
            assert x == y, f.name
    assert a == b


def entries(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def write_zip(path, items) -> None:
    """Write (name, bytes) pairs as a zip, keeping order and duplicates."""
    items = items.items() if isinstance(items, dict) else items
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in items:
            zf.writestr(zipfile.ZipInfo(name), data)


def npy(a, allow_pickle=False) -> bytes:
    f = io.BytesIO()
    np.save(f, a, allow_pickle=allow_pickle)
    return f.getvalue()


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "lab.convlab"
    save(path, full_session())
    return path


def rewrite(path, change) -> None:
    """Apply change(items: dict, manifest: dict) to a saved session's contents and write it back."""
    items = entries(path)
    manifest = json.loads(items["manifest.json"])
    change(items, manifest)
    items["manifest.json"] = json.dumps(manifest).encode()
    write_zip(path, items)


def load_error(path) -> str:
    with pytest.raises(SessionError) as info:
        load(path)
    return str(info.value)


# =========================================================================== round trips


@pytest.mark.parametrize("image_kind", ["rgb", "gray", "gray1", "rgba"])
def test_every_part_round_trips_bit_exact(tmp_path, image_kind):
    original = full_session(image_kind)
    save(tmp_path / "lab.convlab", original)
    back = load(tmp_path / "lab.convlab")
    assert_same(back, original)
    assert back.image.shape == original.image.shape  # (H, W), (H, W, 1), ... kept as they were


def test_an_empty_lab_round_trips(tmp_path):
    save(tmp_path / "empty.convlab", Session())
    back = load(tmp_path / "empty.convlab")
    assert back == Session(created=back.created, saved=back.saved, app_version=back.app_version)
    assert back.image is None and back.kernels is None and back.model_state == {}


def test_the_file_is_a_zip_of_a_manifest_npy_arrays_and_a_png(saved):
    items = entries(saved)
    manifest = json.loads(items["manifest.json"])
    assert manifest["format"] == "convlab-session" and manifest["schema"] == "1.0"
    assert manifest["app_version"] == S.APP_VERSION
    assert manifest["created"].endswith("Z") and manifest["saved"].endswith("Z")
    assert items["images/image.png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert np.array_equal(np.load(io.BytesIO(items["arrays/kernels.npy"])), full_session().kernels)
    assert "arrays/model_state/0.weight.npy" in items and "arrays/optimizer/0.weight/m.npy" in items
    assert manifest["optimizer"]["type"] == "Adam" and "buffers" not in manifest["optimizer"]


def test_save_stamps_the_times_and_keeps_created_across_saves(tmp_path):
    path = tmp_path / "lab.convlab"
    s = Session()
    save(path, s)
    assert s.created and s.saved and s.app_version == S.APP_VERSION
    first = load(path)
    first.created = "2020-01-01T00:00:00Z"
    save(path, first)
    assert load(path).created == "2020-01-01T00:00:00Z"


def test_unknown_fields_are_kept_and_written_back(saved, tmp_path):
    def add(items, manifest):
        manifest["from_the_future"] = {"notes": ["a", 1, None]}
        manifest["schema"] = "1.7"  # a newer minor version: readable

    rewrite(saved, add)
    s = load(saved)
    assert s.extra == {"from_the_future": {"notes": ["a", 1, None]}}
    save(tmp_path / "again.convlab", s)
    manifest = json.loads(entries(tmp_path / "again.convlab")["manifest.json"])
    assert manifest["from_the_future"] == {"notes": ["a", 1, None]} and manifest["schema"] == "1.0"


def test_settings_missing_from_an_older_minor_get_defaults(saved):
    def drop(items, manifest):
        del manifest["window"]
        del manifest["source"]["fps"]

    rewrite(saved, drop)
    s = load(saved)
    assert s.window == S.DEFAULT_WINDOW and s.source["fps"] == 30 and s.source["kind"] == "video"


def test_an_entry_order_change_still_loads(saved):
    before = load(saved)
    items = list(entries(saved).items())
    write_zip(saved, items[::-1])
    assert_same(load(saved), before)


def test_a_half_edited_model_is_kept_without_weights(tmp_path):
    bad_spec = {"input": [1, 8, 8], "layers": [{"type": "conv2d", "filters": 2, "kernel": 11}]}
    save(tmp_path / "half.convlab", Session(model_spec=bad_spec, model_preset=None))
    assert load(tmp_path / "half.convlab").model_spec == bad_spec
    with pytest.raises(SessionError, match=r"model_state holds weights but the model spec does not build \(layer 0"):
        save(tmp_path / "x.convlab", Session(model_spec=bad_spec, model_state={"0.weight": np.zeros((2, 1, 11, 11),
                                                                                                    np.float32)}))
    with pytest.raises(SessionError, match="optimizer_state is set but the model spec does not build"):
        save(tmp_path / "x.convlab", Session(model_spec=bad_spec, optimizer_state={"type": "SGD"}))
    assert not (tmp_path / "x.convlab").exists()


def test_a_valid_spec_without_weights_is_fine(tmp_path):
    save(tmp_path / "fresh.convlab", Session(model_spec=SPEC))
    assert load(tmp_path / "fresh.convlab").model_state == {}


# =========================================================================== versions


def test_a_newer_major_version_is_refused_with_a_clear_message(saved):
    rewrite(saved, lambda items, m: m.update(schema="2.0", app_version="3.1.0"))
    msg = load_error(saved)
    assert "lab.convlab: this session was saved by a newer ConvLab 3.1.0 (schema 2.0)" in msg
    assert "reads schema 1.x" in msg


def test_schema_0_files_are_migrated(tmp_path):
    """Schema 0.9: arrays 'filters', 'filter_biases', 'weights/<name>'; top-level stride/padding/dilation."""
    rng = np.random.default_rng(3)
    kernels = rng.normal(size=(2, 1, 3, 3)).astype(np.float32)
    biases = np.array([0.5, -1], np.float32)
    state = Sequential.from_spec(SPEC, seed=1).state_dict()
    manifest = {
        "format": "convlab-session", "schema": "0.9", "version": "0.0.9", "saved_at": "2023-05-01T10:00:00Z",
        "color": "gray", "kernel_names": ["a", "b"], "stride": 2, "padding": 1, "dilation": 1,
        "model_spec": SPEC,
        "arrays": {"filters": "arrays/filters.npy", "filter_biases": "arrays/filter_biases.npy",
                   **{f"weights/{k}": f"arrays/weights/{k}.npy" for k in state}},
    }
    items = {"manifest.json": json.dumps(manifest).encode(), "arrays/filters.npy": npy(kernels),
             "arrays/filter_biases.npy": npy(biases), **{f"arrays/weights/{k}.npy": npy(v) for k, v in state.items()}}
    write_zip(tmp_path / "old.convlab", items)
    s = load(tmp_path / "old.convlab")
    assert np.array_equal(s.kernels, kernels) and np.array_equal(s.biases, biases)
    assert s.conv == {"stride": 2, "padding": 1, "padding_mode": "zeros", "dilation": 1}
    assert s.model_state.keys() == state.keys() and all(np.array_equal(s.model_state[k], state[k]) for k in state)
    assert s.created == s.saved == "2023-05-01T10:00:00Z" and s.app_version == "0.0.9" and s.extra == {}
    save(tmp_path / "old.convlab", s)  # written back as 1.0
    assert json.loads(entries(tmp_path / "old.convlab")["manifest.json"])["schema"] == "1.0"
    assert load(tmp_path / "old.convlab") == s


# =========================================================================== bad files


def test_not_a_session(tmp_path):
    p = tmp_path / "x.convlab"
    assert "cannot open the file" in load_error(p)  # missing
    p.write_bytes(b"")
    assert "not a readable zip archive" in load_error(p)
    p.write_bytes(b"hello, I am a text file\n" * 10)
    assert "not a readable zip archive" in load_error(p)
    assert "cannot open the file" in load_error(tmp_path)  # a folder


def test_truncated_and_corrupted_files(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    assert "truncated or damaged" in load_error(saved)
    corrupt = bytearray(data)
    i = data.index(b"arrays/kernels.npy") + 40  # inside the first deflated array
    corrupt[i] ^= 0xFF
    saved.write_bytes(bytes(corrupt))
    assert "damaged" in load_error(saved)


@pytest.mark.parametrize("change, message", [
    (lambda it, m: it.pop("manifest.json"), "manifest.json is missing"),
    (lambda it, m: it.pop("arrays/kernels.npy"), "arrays/kernels.npy is missing (the manifest lists it)"),
    (lambda it, m: it.pop("images/image.png"), "images/image.png is missing"),
    (lambda it, m: it.update({"arrays/spare.npy": npy(np.zeros(2))}), "unexpected entry 'arrays/spare.npy'"),
    (lambda it, m: it.update({"notes.txt": b"hi"}), "unexpected entry 'notes.txt'"),
    (lambda it, m: it.update({"../evil.npy": b"x"}), "unsafe entry name '../evil.npy'"),
    (lambda it, m: it.update({"arrays/../../evil.npy": b"x"}), "unsafe entry name"),
    (lambda it, m: it.update({"/etc/cron.d/evil": b"x"}), "unsafe entry name '/etc/cron.d/evil'"),
    (lambda it, m: it.update({"arrays\\evil.npy": b"x"}), "unsafe entry name"),
    (lambda it, m: it.update({"C:/evil.npy": b"x"}), "unsafe entry name"),
])
def test_missing_extra_and_unsafe_entries(saved, change, message):
    items = entries(saved)
    change(items, None)
    write_zip(saved, items)
    assert message in load_error(saved)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_duplicated_entry_is_refused(saved):
    items = list(entries(saved).items())
    write_zip(saved, items + [items[1]])
    assert "appears twice" in load_error(saved)


@pytest.mark.parametrize("manifest, message", [
    (b"{not json", "manifest.json is not valid JSON"),
    (b"[1, 2]", "manifest.json must hold a JSON object, got list"),
    (b"\xff\xfe", "manifest.json is not UTF-8 text"),
    (b'{"format": "convlab-session", "format": "x"}', "appears twice"),
    (b'{"format": "convlab-session", "schema": "1.0", "selected_filter": NaN}', "NaN is not valid JSON"),
    (b'{"format": "convlab-session", "schema": "1.0", "train_settings": {"lr": 1e999}}',
     "train_settings.lr must be a finite number, got inf"),
    (b'{"format": "zip-of-cats", "schema": "1.0"}', "format 'zip-of-cats', expected 'convlab-session'"),
    (b'{"schema": "1.0"}', "format None"),
    (b'{"format": "convlab-session", "schema": 1.0}', "schema must be a 'MAJOR.MINOR' string"),
    (b'{"format": "convlab-session"}', "schema must be a 'MAJOR.MINOR' string"),
    (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
])
def test_invalid_manifests(tmp_path, manifest, message):
    write_zip(tmp_path / "m.convlab", {"manifest.json": manifest})
    assert message in load_error(tmp_path / "m.convlab")


def test_a_manifest_with_only_format_and_schema_is_an_empty_lab(tmp_path):
    write_zip(tmp_path / "m.convlab", {"manifest.json": b'{"format": "convlab-session", "schema": "1.0"}'})
    assert load(tmp_path / "m.convlab") == Session()


def test_a_pickled_array_is_never_loaded(saved):
    items = entries(saved)
    items["arrays/kernels.npy"] = npy(np.array([{"evil": print}, None], dtype=object), allow_pickle=True)
    write_zip(saved, items)
    assert "arrays/kernels.npy holds Python objects (a pickle)" in load_error(saved)


@pytest.mark.parametrize("entry, data, message", [
    ("arrays/kernels.npy", npy(np.zeros((3, 3, 5, 5))), "kernels must be float32, got float64"),
    ("arrays/kernels.npy", npy(np.zeros((3, 3, 5), np.float32)), "kernels must be K x C x F x F, got shape (3, 3, 5)"),
    ("arrays/kernels.npy", npy(np.zeros((3, 1, 5, 5), np.float32)),
     "kernels have 1 input channel(s) but color 'rgb' gives 3"),
    ("arrays/kernels.npy", npy(np.zeros((3, 3, 5, 5), ">f4")), "has dtype '>f4'"),
    ("arrays/kernels.npy", npy(np.zeros(3, [("a", "<f4")])), "has dtype"),
    ("arrays/kernels.npy", b"\x93NUMPY garbage", "arrays/kernels.npy is not a valid .npy array"),
    ("arrays/kernels.npy", npy(np.zeros((3, 3, 5, 5), np.float32))[:-8], "(900 bytes) but holds 892 bytes of data"),
    ("arrays/biases.npy", npy(np.zeros(4, np.float32)), "biases has shape (4,), the 3 kernels need (3,)"),
    ("arrays/model_state/0.weight.npy", npy(np.full((2, 1, 3, 3), np.nan, np.float32)),
     "model_state['0.weight'] holds NaN or infinite values"),
    ("arrays/model_state/0.weight.npy", npy(np.zeros((2, 1, 5, 5), np.float32)),
     "model_state['0.weight'] has shape (2, 1, 5, 5), the model spec needs (2, 1, 3, 3)"),
    ("arrays/optimizer/0.weight/m.npy", npy(np.zeros((2, 1), np.float32)), "has shape (2, 1), the parameter has"),
    ("arrays/confusion.npy", npy(np.zeros((3, 2), np.int64)), "confusion must be a square K x K matrix"),
    ("arrays/captured_y.npy", npy(np.array([0, 1, 7, 1])), "captured_y labels must be in 0..2"),
    ("arrays/captured_y.npy", npy(np.array([0, 1])), "captured_x has 4 samples but captured_y has 2 labels"),
    ("arrays/history_steps.npy", npy(np.zeros((5, 2))), "history_steps must be S x 3"),
    ("images/image.png", b"GIF89a" + bytes(40), "images/image.png is not a PNG image"),
    ("images/image.png", S._encode_png(np.zeros((13, 16, 3), np.uint8)),
     "is 16 x 13 pixels but the manifest says 17 x 13"),
    ("images/image.png", S._encode_png(np.zeros((13, 17), np.uint8)),
     "decodes to (13, 17) but the manifest says (13, 17, 3)"),
])
def test_wrong_dtypes_shapes_and_values(saved, entry, data, message):
    items = entries(saved)
    items[entry] = data
    write_zip(saved, items)
    msg = load_error(saved)
    assert msg.startswith("lab.convlab: ") and message in msg


def test_a_16_bit_or_damaged_png_is_refused(saved):
    import cv2

    items = entries(saved)
    ok, buf = cv2.imencode(".png", np.zeros((13, 17, 3), np.uint16))
    items["images/image.png"] = buf.tobytes()
    write_zip(saved, items)
    assert "16 bits per sample" in load_error(saved)
    png = bytearray(S._encode_png(full_session().image))
    png[60:] = bytes(len(png) - 60)
    items["images/image.png"] = bytes(png)
    write_zip(saved, items)
    assert "the PNG is damaged" in load_error(saved)


@pytest.mark.parametrize("key, value, message", [
    ("selected_filter", True, "selected_filter must be a whole number >= 0, got True"),
    ("selected_filter", 3, "selected_filter is 3 but there are only 3 kernels"),
    ("color", "cmyk", "color must be one of 'gray', 'rgb', got 'cmyk'"),
    ("conv", {"stride": 0}, "conv.stride must be a whole number from 1 to 16, got 0"),
    ("conv", {"padding_mode": "wrap"}, "conv.padding_mode must be one of"),
    ("conv", "fast", "conv must be an object (a dict), got 'fast'"),
    ("source", {"resolution": [640]}, "source.resolution must be a list of 2 values"),
    ("train_settings", {"lr": -1}, "train_settings.lr must be a number from 0.0001 to 10, got -1"),
    ("train_settings", {"batch_size": 32.0}, "train_settings.batch_size must be a whole number, got 32.0"),
    ("train_settings", {"val_fraction": 1.0}, "train_settings.val_fraction must be a number from 0.05 to 0.5, got 1.0"),
    ("kernel_names", ["a", 2, "c"], "kernel_names must be a list of strings"),
    ("kernel_names", ["a"], "kernel_names has 1 names for 3 kernels"),
    ("history_epochs", [{"epoch": "one"}], "history_epochs[0].epoch must be a whole number >= 0"),
    ("history_epochs", [{"epoch": 1, "val_loss": "low"}], "history_epochs[0].val_loss must be a finite number"),
    ("captured_classes", ["a", "a", "b"], "captured_classes must be unique"),
    ("selection", {"unit": [1, 2]}, "selection.unit must be a list of 4 whole numbers"),
    ("window", {"geometry": 7}, "window.geometry must be a string"),
    ("model_preset", 5, "model_preset must be a string or null"),
    ("model_spec", [1, 2], "model_spec must be an object (a dict) or null"),
    ("optimizer", {"type": "RMSprop"}, "optimizer_state.type must be one of 'SGD', 'Adam'"),
    ("optimizer", {"type": "Adam", "steps": -1}, "optimizer_state.steps must be a whole number >= 0"),
    ("optimizer", None, "holds optimizer buffers but no optimizer settings"),
    ("created", 2024, "created must be a string"),
    ("arrays", [], "arrays must be an object of name -> entry"),
    ("images", {"image": {"entry": "images/image.png", "shape": [13, 17, 5]}}, "the image shape must be"),
    ("images", {"image": {"entry": "images/image.png", "shape": [100000, 17, 3]}}, "a session image must be 1 to 8192"),
    ("images", {"thumbnail": None}, "unknown image 'thumbnail'"),
])
def test_wrong_settings_are_named(saved, key, value, message):
    rewrite(saved, lambda items, m: m.update({key: value}))
    assert message in load_error(saved)


def test_model_state_must_fit_the_spec(saved):
    def extra_layer(items, m):
        m["model_spec"] = {**SPEC, "layers": SPEC["layers"][:-1] + [{"type": "linear", "units": 4}]}

    rewrite(saved, extra_layer)
    assert "model_state['4.weight'] has shape (3, 32), the model spec needs (4, 32)" in load_error(saved)

    def missing(items, m):
        del m["arrays"]["model_state/4.bias"], items["arrays/model_state/4.bias.npy"]
        del m["arrays"]["optimizer/4.bias/m"], items["arrays/optimizer/4.bias/m.npy"]
        del m["arrays"]["optimizer/4.bias/v"], items["arrays/optimizer/4.bias/v.npy"]

    save(saved, full_session())
    rewrite(saved, missing)
    assert "model_state has no '4.bias', which the model spec needs" in load_error(saved)
    rewrite(saved, lambda items, m: m.update(model_spec=None))
    assert "model_state holds weights but there is no model_spec" in load_error(saved)


def test_a_huge_spec_is_refused(saved):
    big = {"input": [60000], "layers": [{"type": "linear", "units": 1000}]}
    rewrite(saved, lambda items, m: m.update(model_spec=big))
    assert "model_spec needs 60,001,000 parameters, more than the limit of 50,000,000" in load_error(saved)
    huge = {"input": [10**6], "layers": [{"type": "linear", "units": 10**6}]}  # 4 TB
    rewrite(saved, lambda items, m: m.update(model_spec=huge))
    assert "1,000,000 x 1,000,000 weights need 4 TB, more than the 1 GB budget" in load_error(saved)


def test_oversized_entries_are_refused_before_reading(saved, monkeypatch):
    monkeypatch.setattr(S, "MAX_ENTRY_BYTES", 1000)
    assert "would unpack to" in load_error(saved) and "more than the limit of 1,000 per entry" in load_error(saved)
    monkeypatch.setattr(S, "MAX_ENTRY_BYTES", 256 * 2**20)
    monkeypatch.setattr(S, "MAX_TOTAL_BYTES", 5000)
    assert "the archive would unpack to more than 5,000 bytes" in load_error(saved)


def test_a_zip_bomb_is_refused(tmp_path):
    bomb = tmp_path / "bomb.convlab"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", b'{"format": "convlab-session", "schema": "1.0"}')
        with zf.open("arrays/kernels.npy", "w", force_zip64=True) as f:
            chunk = bytes(2**24)
            for _ in range(S.MAX_ENTRY_BYTES // len(chunk) + 1):
                f.write(chunk)
    assert bomb.stat().st_size < 2**20
    assert "more than the limit of 268,435,456 per entry" in load_error(bomb)


@pytest.mark.parametrize("claimed", [10, 100000])
def test_a_lying_size_header_is_caught(saved, claimed):
    """The directory claims a size the data does not have: reading stops at the claim, the CRC or the
    length check reports the entry as damaged."""
    raw = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as zf:
        local, central = zf.getinfo("manifest.json").header_offset, zf.start_dir  # manifest is first
    raw[local + 22: local + 26] = claimed.to_bytes(4, "little")
    raw[central + 24: central + 28] = claimed.to_bytes(4, "little")
    saved.write_bytes(bytes(raw))
    msg = load_error(saved)
    assert "manifest.json" in msg and "damaged" in msg


def test_arrays_entries_must_be_where_the_manifest_says(saved):
    rewrite(saved, lambda items, m: m["arrays"].update(kernels="images/image.png"))
    assert "array 'kernels' points at 'images/image.png', not an arrays/*.npy entry" in load_error(saved)
    save(saved, full_session())
    rewrite(saved, lambda items, m: m["arrays"].update(biases="arrays/kernels.npy"))
    assert "two arrays point at the same entry" in load_error(saved)


# =========================================================================== saving


def test_a_bad_session_is_refused_before_the_disk_is_touched(tmp_path):
    cases = [
        (Session(kernels=np.zeros((2, 1, 3, 3))), "kernels must be float32, got float64"),
        (Session(image=np.zeros((4, 4, 2), np.uint8)), "image must be H x W or H x W x C"),
        (Session(image=np.zeros((4, 4), np.float32)), "image must be a uint8 NumPy array"),
        (Session(model_spec=SPEC, model_state={"0.weight": np.zeros(3, np.float32)}), "model_state has no"),
        (Session(window={"geometry": b"bytes"}), "window.geometry must be a string"),
        (Session(source={"mystery": object()}), "source.mystery holds a object"),
        (Session(extra={"schema": "9.0"}), "extra field 'schema' clashes"),
        (Session(history_epochs=[{"epoch": 1, "train_loss": float("nan")}]), "history_epochs[0].train_loss"),
        ("not a session", "expected a Session, got str"),
    ]
    for session, message in cases:
        with pytest.raises(SessionError) as info:
            save(tmp_path / "bad.convlab", session)
        assert message in str(info.value)
    assert os.listdir(tmp_path) == []


def test_save_refuses_what_load_would_refuse(tmp_path, monkeypatch):
    monkeypatch.setattr(S, "MAX_ENTRY_BYTES", 2000)
    with pytest.raises(SessionError, match="arrays/kernels.npy would take"):
        save(tmp_path / "big.convlab", Session(color="gray", kernels=np.zeros((10, 1, 11, 11), np.float32),
                                               kernel_names=["k"] * 10))
    assert os.listdir(tmp_path) == []


def test_the_previous_version_is_kept_as_bak(tmp_path):
    path = tmp_path / "lab.convlab"
    a, b, c = full_session(seed=1), full_session("gray", seed=2), Session()
    save(path, a)
    assert not (tmp_path / "lab.convlab.bak").exists()
    save(path, b)
    assert load(path) == b and load(tmp_path / "lab.convlab.bak") == a
    save(path, c)
    assert load(path) == c and load(S.backup_path(path)) == b
    assert sorted(os.listdir(tmp_path)) == ["lab.convlab", "lab.convlab.bak"]


def test_a_crash_while_writing_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "lab.convlab"
    save(path, full_session())
    before = path.read_bytes()

    def half_then_fail(f, a):
        f.write(a.tobytes()[: a.nbytes // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(S, "_write_array", half_then_fail)
    with pytest.raises(SessionError, match="cannot save lab.convlab: No space left on device; the previous file"):
        save(path, full_session("gray", seed=5))
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["lab.convlab"]  # no temp file left


def test_an_interrupt_while_writing_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "lab.convlab"
    save(path, Session())
    before = path.read_bytes()

    def interrupted(f, a):
        f.write(b"\x93NUMPY")
        raise KeyboardInterrupt

    monkeypatch.setattr(S, "_write_array", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save(path, full_session())
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["lab.convlab"]


def test_a_failing_final_rename_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "lab.convlab"
    save(path, full_session())
    before = path.read_bytes()
    real_replace = os.replace

    def replace(src, dst):
        if os.fspath(dst) == os.fspath(path):
            raise PermissionError(13, "Permission denied")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(SessionError, match="Permission denied"):
        save(path, Session())
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["lab.convlab", "lab.convlab.bak"]


def test_a_process_killed_half_way_leaves_the_previous_file_intact(tmp_path):
    """A real hard exit in the middle of writing: nothing can clean up, the old file still opens."""
    path = tmp_path / "lab.convlab"
    save(path, Session(image_name="before"))
    before = path.read_bytes()
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_session import full_session
        from convlab.core import session as S
        def die(f, a):
            f.write(a.tobytes()[: a.nbytes // 2])
            f.flush()
            os._exit(9)
        S._write_array = die
        S.save({str(path)!r}, full_session())
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 9, result.stderr
    assert path.read_bytes() == before and load(path).image_name == "before"
    leftovers = [n for n in os.listdir(tmp_path) if n != "lab.convlab"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".lab.convlab.") and leftovers[0].endswith(".tmp")
    save(path, Session(image_name="after"))  # the next save works
    assert load(path).image_name == "after"


def test_a_saved_file_gets_ordinary_permissions(tmp_path):
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    save(tmp_path / "lab.convlab", Session())
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(tmp_path / "lab.convlab").st_mode & 0o777 == 0o666 & ~umask


# =========================================================================== fuzzing: only SessionError

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def small_session() -> Session:
    s = full_session("rgb", seed=7)
    s.image = s.image[:4, :5]
    return s


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    save(folder / "good.convlab", small_session())
    return folder, (folder / "good.convlab").read_bytes()


def only_session_errors(path) -> Session | None:
    """load either works or raises a SessionError from the checks (never the last-resort wrapper)."""
    try:
        return load(path)
    except SessionError as e:
        assert "unexpected problem" not in str(e), str(e)
        return None


@FUZZ
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=8))
def test_fuzz_byte_flips(fuzz, flips):
    folder, good = fuzz
    data = bytearray(good)
    for where, xor in flips:
        data[int(where * len(data))] ^= xor
    (folder / "flip.convlab").write_bytes(bytes(data))
    only_session_errors(folder / "flip.convlab")


@FUZZ
@given(length=st.floats(0, 1, exclude_max=True))
def test_fuzz_truncation(fuzz, length):
    folder, good = fuzz
    (folder / "cut.convlab").write_bytes(good[: int(length * len(good))])
    assert only_session_errors(folder / "cut.convlab") is None


@FUZZ
@given(garbage=st.binary(max_size=4096), zip_like=st.booleans())
def test_fuzz_garbage(fuzz, garbage, zip_like):
    folder, _ = fuzz
    (folder / "junk.convlab").write_bytes((b"PK\x03\x04" if zip_like else b"") + garbage)
    assert only_session_errors(folder / "junk.convlab") is None


@FUZZ
@given(data=st.data())
def test_fuzz_entry_order_and_missing_entries(fuzz, data):
    folder, good = fuzz
    items = list(entries(folder / "good.convlab").items())
    order = data.draw(st.permutations(items))
    drop = data.draw(st.one_of(st.none(), st.integers(0, len(items) - 1)))
    kept = [it for i, it in enumerate(order) if i != drop]
    write_zip(folder / "shuffled.convlab", kept)
    result = only_session_errors(folder / "shuffled.convlab")
    if drop is None:
        assert result is not None and _same_but_times(result)
    else:
        assert result is None


def _same_but_times(result) -> bool:
    expected = small_session()
    expected.created, expected.saved, expected.app_version = result.created, result.saved, result.app_version
    return result == expected


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@FUZZ
@given(data=st.data())
def test_fuzz_manifest_values(fuzz, data):
    """Any JSON value in any manifest field (top level or one level down): loads or is a SessionError."""
    folder, _ = fuzz
    items = entries(folder / "good.convlab")
    manifest = json.loads(items["manifest.json"])
    key = data.draw(st.sampled_from(sorted(manifest)))
    value = data.draw(JSON)
    if isinstance(manifest[key], dict) and manifest[key] and data.draw(st.booleans()):
        manifest[key][data.draw(st.sampled_from(sorted(manifest[key])))] = value
    else:
        manifest[key] = value
    items["manifest.json"] = json.dumps(manifest).encode()
    write_zip(folder / "values.convlab", items)
    only_session_errors(folder / "values.convlab")
