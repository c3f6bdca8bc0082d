"""A bounded, seeded fuzz of the window's edges (issue 17): hostile session files, image files and spec
texts go through the same paths a learner's files take (File > Open, drop, Edit Spec as JSON). No
exception may reach Qt's event loop or sys.excepthook, and the lab is afterwards either wholly the
new one or exactly the old one, never a mixture."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import zipfile

import numpy as np
import pytest

from convlab.core import session as S
from convlab.gui import lab_session

SESSIONS, IMAGES, SPECS = 60, 40, 120


@pytest.fixture
def recorded(monkeypatch):
    """Exceptions that reach sys.excepthook (Qt's event loop hands them there)."""
    seen: list[str] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, value, tb: seen.append(f"{kind.__name__}: {value}"))
    return seen


def fingerprint(w) -> str:
    """The lab's content in one hash: image, bank, settings, model and its weights, training settings."""
    h = hashlib.sha256()
    st, net = w.state, w.net
    for a in (st.image, st.bank.weights, st.bank.biases):
        h.update(b"-" if a is None else np.ascontiguousarray(a).tobytes())
    h.update(repr((st.color, st.bank.names, st.settings, st.display_mode, st.post.pool, st.post.pool_kernel,
                   st.post.pool_stride, net.settings, w.learn_state.settings)).encode())
    h.update(json.dumps(net.spec, sort_keys=True, default=str).encode())
    if net.model is not None:
        for k, v in sorted(net.model.state_dict().items()):
            h.update(k.encode() + v.tobytes())
    return h.hexdigest()


def rewrite_manifest(data: bytes, change) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "manifest.json":
                manifest = json.loads(body)
                change(manifest)
                body = json.dumps(manifest).encode()
            dst.writestr(info.filename, body)
    return out.getvalue()


HOSTILE_VALUES = [None, -1, 0, 2**31, 2**63, 10**30, 1e300, -1e300, "x" * 70000, "", [], {}, [1, 2, 3],
                  {"a": {"b": {"c": 1}}}, True, 3.5, "nan", "gray", "rgb", 17, 1024, 0.0]


def mutate_session(rng, data: bytes) -> bytes:
    kind = rng.integers(0, 4)
    if kind == 0:  # flip bytes anywhere
        b = bytearray(data)
        for _ in range(int(rng.integers(1, 20))):
            b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
        return bytes(b)
    if kind == 1:  # cut it short
        return data[: int(rng.integers(0, len(data)))]
    value = HOSTILE_VALUES[int(rng.integers(0, len(HOSTILE_VALUES)))]

    def change(m):
        groups = ["conv", "post", "learn", "train_settings", "dataset", "selection", "window", "source"]
        if kind == 2:
            group = groups[int(rng.integers(0, len(groups)))]
            if isinstance(m.get(group), dict) and m[group]:
                key = sorted(m[group])[int(rng.integers(0, len(m[group])))]
                m[group][key] = value
        else:
            top = ["color", "display_mode", "selected_filter", "kernel_names", "model_spec", "model_preset",
                   "history_epochs", "captured_classes", "image_name"]
            name = top[int(rng.integers(0, len(top)))]
            if name == "model_spec" and isinstance(m.get(name), dict):
                layers = m[name].get("layers") or [{}]
                layer = layers[int(rng.integers(0, len(layers)))]
                field = ["filters", "kernel", "units", "stride", "padding", "type"][int(rng.integers(0, 6))]
                layer[field] = value
            else:
                m[name] = value

    return rewrite_manifest(data, change)


def test_hostile_sessions_leave_the_old_lab_or_bring_the_whole_new_one(qtbot, window, tmp_path, recorded):
    w = window
    w.state.set_settings("Stride 2", stride=2)
    good = tmp_path / "good.convlab"
    S.save(good, lab_session.capture(w))
    data = good.read_bytes()
    rng = np.random.default_rng(2026)
    opened = refused = 0
    for i in range(SESSIONS):
        path = tmp_path / f"hostile{i}.convlab"
        path.write_bytes(mutate_session(rng, data))
        before = fingerprint(w)
        ok = w.session.open(str(path), ask=False)
        if ok:
            opened += 1
            loaded = S.load(path)  # what the file holds, read by the core alone
            assert np.array_equal(w.state.image, loaded.image) and w.net.spec == loaded.model_spec
            assert w.session.path == str(path) and not w.session.dirty
        else:
            refused += 1
            assert fingerprint(w) == before, f"session {i}: refused but the lab changed"
        w.session.ask = lambda *a: __import__("PySide6.QtWidgets").QtWidgets.QMessageBox.StandardButton.Discard
    assert recorded == []
    assert opened + refused == SESSIONS and refused > SESSIONS // 3  # the fuzz reaches both outcomes
    assert opened > 0


def test_hostile_images_are_refused_and_the_image_stays(qtbot, window, tmp_path, recorded):
    import cv2

    w = window
    rng = np.random.default_rng(7)
    png = cv2.imencode(".png", np.full((30, 40, 3), 128, np.uint8))[1].tobytes()
    jpeg = cv2.imencode(".jpg", np.full((30, 40, 3), 128, np.uint8))[1].tobytes()
    candidates = [b"", b"\x89PNG\r\n\x1a\n", png[:40], jpeg[:100], b"\xff\xd8\xff" + bytes(500), b"II*\x00" + bytes(60),
                  b"#?RADIANCE\n-Y 99999 +X 99999\n\n" + bytes(100), b"GIF89a" + bytes(20), b"BM" + bytes(60)]
    for _ in range(IMAGES - len(candidates)):
        base = bytearray(png if rng.random() < 0.5 else jpeg)
        for _ in range(int(rng.integers(1, 12))):
            base[int(rng.integers(0, len(base)))] = int(rng.integers(0, 256))
        candidates.append(bytes(base))
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    paths = [fifo, tmp_path]
    for i, blob in enumerate(candidates):
        p = tmp_path / f"hostile{i}.png"
        p.write_bytes(blob)
        paths.append(p)
    for p in paths:
        before = w.state.image.copy()
        if not w.open_path(str(p)):
            assert np.array_equal(w.state.image, before), p
        qtbot.waitUntil(lambda: getattr(w, "_decode_task", None) is None, timeout=30000)
    assert recorded == []


def test_hostile_spec_texts_are_refused_or_taken_whole(qtbot, window, recorded):
    net = window.net
    rng = np.random.default_rng(11)
    base = json.dumps(net.spec)
    texts = ['{"input": [1, 28, 28], "layers": [' + ",".join(['{"type": "relu"}'] * 200_000) + "]}",
             '{"input": [1, 28, Infinity], "layers": []}', "[" * 5000 + "]" * 5000, '{"input": [1], "layers": 5}',
             '{"input": [1, 28, 28], "layers": [{"type": "conv2d", "filters": 1000000000, "kernel": 3}]}',
             '{"input": [1, 28, 28], "layers": [{"type": "linear", "units": 100000000}]}',
             '{"input": [1, 20000, 20000], "layers": [' + ",".join(['{"type": "relu"}'] * 50) + "]}"]
    for _ in range(SPECS - len(texts)):
        chars = list(base)
        for _ in range(int(rng.integers(1, 6))):
            i = int(rng.integers(0, len(chars)))
            chars[i] = str(rng.choice(list('0123456789-.e"{}[],: ')))
        texts.append("".join(chars))
    for text in texts:
        before = json.dumps(net.spec, sort_keys=True)
        reason = net.set_spec_json(text)
        if reason:
            assert json.dumps(net.spec, sort_keys=True) == before
        assert net.report is not None  # a taken spec is built or marked, never half done
    window.net.load_preset("lenet5")  # and the undo stack still works after all that
    net.undo_stack.undo()
    assert recorded == []
