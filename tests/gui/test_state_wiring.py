"""How the states are wired: frames through their front doors, a spec edit told once with fresh
activations, one message per event in the status bar, New Lab equal to a fresh start, and a
session restored all or nothing."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from convlab.core import session as S
from convlab.core.reasons import Block, Notice
from convlab.core.settings import LearnSettings, TrainSettings, limits
from convlab.core.sources import Frame
from convlab.gui.live import LivePipeline
from convlab.gui.state import LabState

WAIT = 30000  # ms

GUI = Path(__file__).resolve().parents[2] / "convlab" / "gui"


def frame(i: int, h: int = 48, w: int = 64) -> Frame:
    img = np.zeros((h, w, 3), np.uint8)
    img[:, (4 * i) % w] = 255
    return Frame(img, i, i / 30.0, 1.0)


def record(*signals) -> list[str]:
    seen: list[str] = []
    for name, sig in signals:
        sig.connect(lambda *_, n=name: seen.append(n))
    return seen


# ------------------------------------------------------------------------------ live frames


def test_the_pipeline_uses_only_the_states_front_doors():
    text = (GUI / "live.py").read_text()
    assert "blockSignals" not in text and "installEventFilter" not in text
    tree = ast.parse(text)
    emits = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "emit"]
    owners = {ast.unparse(n.value) for n in emits}
    assert owners <= {"self._arrived", "self._finished", "self.frameReady", "self.ended", "self.frameProcessed",
                      "self.statsChanged"}, owners  # only its own signals


def test_show_frame_is_not_a_still_image(qtbot, net):
    lab = LabState()
    net.follow(lab)
    lab.set_image(np.full((40, 40), 9, np.uint8), "still")
    seen = record(("image", lab.imageChanged), ("frame", lab.frameChanged), ("message", lab.message),
                  ("result", lab.resultChanged))
    shown = []
    lab.resultShown.connect(lambda job, ms: shown.append(job))
    undo = lab.undo_stack.count()
    job = lab.show_frame(frame(1).image, "live: test")
    assert seen == ["result", "frame"] and shown == [job] == [lab.result_job]  # computed here: no worker
    assert lab.undo_stack.count() == undo and lab.image_name == "live: test"
    assert net.probe.image is not lab.image  # a frame reaches the network only through its own show_frame
    times = net.show_frame(lab.image)
    assert set(times) == {"preprocess", "model", "draw"} and all(t >= 0 for t in times.values())
    assert net.probe.image is lab.image and net.current_input is not None


def test_live_frames_leave_the_still_image_listeners_alone(qtbot, window):
    w = window
    calls = {"source": 0, "math": 0, "dirty": 0}
    w.state.imageChanged.connect(lambda: calls.__setitem__("source", calls["source"] + 1))
    real_math = w.math_panel.set_html
    w.math_panel.set_html = lambda html: (calls.__setitem__("math", calls["math"] + 1), real_math(html))
    w.session.changed.connect(lambda: calls.__setitem__("dirty", calls["dirty"] + 1))
    pipeline = w.live_panel.pipeline
    with qtbot.waitSignal(pipeline.frameProcessed, timeout=WAIT):
        pipeline.offer(frame(0, 480, 640))  # a new size: the math follows
    w.session.mark_clean()
    calls.update(source=0, math=0, dirty=0)
    for i in range(1, 6):
        with qtbot.waitSignal(pipeline.frameProcessed, timeout=WAIT):
            pipeline.offer(frame(i, 480, 640))
    assert calls == {"source": 0, "math": 0, "dirty": 0}
    assert not w.session.dirty
    with qtbot.waitSignal(pipeline.frameProcessed, timeout=WAIT):
        pipeline.offer(frame(9, 240, 320))  # another size: the math follows, once
    assert calls["math"] == 1 and "320 x 240" in w.math_panel.text()


def test_a_frame_ends_when_the_result_of_its_job_is_drawn(qtbot, window):
    w = window
    pipeline = w.live_panel.pipeline
    jobs = []
    w.state.resultShown.connect(lambda job, ms: jobs.append(job))
    with qtbot.waitSignal(pipeline.frameProcessed, timeout=WAIT) as done:
        pipeline.offer(frame(3, 480, 640))
    assert done.args[0].index == 3 and jobs and jobs[-1] == w.state.result_job
    assert pipeline.stats.filters > 0 and not pipeline.busy


def test_a_newer_edit_during_a_frame_still_finishes_it(qtbot, lab_with_worker, net):
    lab = lab_with_worker
    pipeline = LivePipeline(lab, net)
    done = []
    pipeline.frameProcessed.connect(done.append)
    pipeline.offer(frame(1, 120, 160))
    lab.set_settings("Stride 2", stride=2)  # a newer job than the frame's
    qtbot.waitUntil(lambda: len(done) == 1, timeout=WAIT)
    assert lab.result is not None and lab.result.maps.shape[1] == (120 - 3) // 2 + 1


@pytest.fixture
def lab_with_worker(qtbot):
    from convlab.gui.workers import BankWorker

    lab = LabState()
    worker = BankWorker()
    lab.attach_worker(worker)
    lab.set_image(np.zeros((40, 40), np.uint8), "zeros")
    yield lab
    worker.shutdown()


# ------------------------------------------------------------------------------ spec edits


def test_a_spec_edit_is_told_once_after_the_activations_are_fresh(qtbot, net):
    net.set_image(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    order, fresh = [], []
    net.specChanged.connect(lambda: (order.append("spec"),
                                     fresh.append(len(net.activations) == len(net.report.rows) + 1)))
    net.activationsChanged.connect(lambda: order.append("activations"))
    assert net.add_layer("relu")
    assert order == ["spec", "activations"] and fresh == [True]
    assert net.activations[-1].shape == net.report.rows[-1].output_shape


def test_the_feature_maps_are_drawn_once_per_edit(qtbot, net):
    from convlab.gui.panels.inside_panel import InsidePanel

    net.set_image(np.random.default_rng(1).integers(0, 255, (64, 64), dtype=np.uint8))
    panel = InsidePanel(net)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    panel.layer_list.setCurrentRow(1)
    drawn = []
    real = panel.maps._draw
    panel.maps._draw = lambda: (drawn.append(len(net.activations)), real())
    panel.maps.drawing._draw = panel.maps._draw
    net.set_layer_field(0, "filters", 4)
    assert drawn == [len(net.report.rows) + 1]
    assert panel.maps.grid.count == 4


def test_a_failing_build_is_a_marked_spec_never_an_exception(qtbot, net, monkeypatch):
    import convlab.gui.model_design as md

    monkeypatch.setattr(md, "design_model", lambda spec, seed=None: (_ for _ in ()).throw(MemoryError("huge")))
    assert net.set_layer_field(0, "filters", 7)
    assert not net.report.ok and "MemoryError" in net.report.error and net.model is None
    monkeypatch.undo()
    net.undo_stack.undo()  # the next undo step works: nothing was left half done
    assert net.report.ok and net.model is not None and net.layers()[0]["filters"] == 6


def test_the_output_layer_follows_the_classes_as_one_undo_step(qtbot, net):
    steps = net.undo_stack.count()
    notices = []
    net.message.connect(notices.append)
    assert net.set_output_classes(3) and net.model.output_shape == (3,)
    assert net.undo_stack.count() == steps + 1 and "now gives 3 scores" in notices[-1]
    assert not net.set_output_classes(3)  # already so


def test_reasons_are_values(qtbot, net):
    assert net.train_block is None
    net.add_class("a")
    net.set_settings(dataset="captured")
    block = net.train_block
    assert block.kind is Block.CAPTURE_CLASSES and block.text == net.train_block_reason
    notices = []
    net.message.connect(notices.append)
    net.start_training()
    assert isinstance(notices[-1], Notice) and notices[-1].is_error and notices[-1].startswith("cannot train")


# ------------------------------------------------------------------------------ the window


def test_a_state_message_reaches_the_status_bar_once(qtbot, window):
    shown = []
    window.statusBar().messageChanged.connect(lambda text: text and shown.append(text))
    window.state.message.emit("only once, please")
    window.net.message.emit(Notice("and this once too"))
    assert shown == ["only once, please", "and this once too"]


def test_new_lab_gives_the_settings_of_a_fresh_start(qtbot, new_window):
    fresh = new_window(name="fresh.ini")
    w = new_window(name="edited.ini")
    w.session.ask = lambda *a: QMessageBox.StandardButton.Discard
    w.net.set_settings(lr=0.5, batch_size=7, epochs=9, seed=3, optimizer="adam", samples=1000)
    w.learn_state.set(lr=0.3, padding=0, steps=42)
    w.state.set_settings("Stride 3", stride=3)
    assert w.session.new()
    assert w.net.settings == fresh.net.settings == TrainSettings()
    assert w.learn_state.settings == fresh.learn_state.settings == LearnSettings()
    assert w.state.settings == fresh.state.settings
    tp, fp = w.training_panel, fresh.training_panel
    for name in ("batch_spin", "epochs_spin", "lr_spin", "seed_spin", "samples_spin", "val_spin"):
        assert getattr(tp, name).value() == getattr(fp, name).value(), name


def test_training_widgets_take_their_ranges_from_the_settings(qtbot, window):
    tp = window.training_panel
    for name, field in (("batch_spin", "batch_size"), ("epochs_spin", "epochs"), ("seed_spin", "seed"),
                        ("samples_spin", "samples")):
        r = limits(TrainSettings, field)
        assert (getattr(tp, name).minimum(), getattr(tp, name).maximum()) == (r.lo, r.hi), name
    r = limits(TrainSettings, "lr")
    assert (tp.lr_spin.minimum(), tp.lr_spin.maximum()) == (r.lo, r.hi)


def test_a_session_that_does_not_fit_leaves_the_lab_as_it_was(qtbot, window, tmp_path):
    from convlab.gui import lab_session

    w = window
    w.state.set_settings("Stride 2", stride=2)
    s = lab_session.capture(w)
    s.model_state = {**s.model_state, "0.weight": np.zeros((2, 1, 5, 5), np.float32)}  # wrong shape
    s.image = np.zeros((30, 30), np.uint8)
    path = tmp_path / "bad.convlab"
    S.save(path, dataclasses.replace(s, model_state={}))  # a valid file...
    before = (w.state.image.copy(), w.state.settings, w.net.spec, w.net.model.state_dict()["0.weight"].copy())
    with pytest.raises(S.SessionError, match="model_state"):
        lab_session.restore(w, s)  # ...but this one does not fit: nothing changes
    assert np.array_equal(w.state.image, before[0]) and w.state.settings == before[1]
    assert w.net.spec == before[2] and np.array_equal(w.net.model.state_dict()["0.weight"], before[3])
    assert w.session.open(str(path), ask=False) and w.state.image.shape == (30, 30)


def test_a_null_seed_in_a_session_is_the_default_seed(qtbot, window, tmp_path):
    from convlab.gui import lab_session

    s = lab_session.capture(window)
    s.train_settings = {**s.train_settings, "seed": None}
    path = tmp_path / "null-seed.convlab"
    S.save(path, s)
    assert window.session.open(str(path), ask=False)
    assert window.net.settings.seed == TrainSettings().seed


def test_a_dataset_task_that_fails_unexpectedly_frees_its_slot(qtbot, net, monkeypatch):
    """An exception other than the expected ones (cv2.error, say) must not leave the dataset task
    unfinished: every later Load would say "a dataset is already being loaded"."""
    import convlab.gui.training_state as ts

    def broken(*_):
        raise RuntimeError("OpenCV said no")

    monkeypatch.setattr(ts, "load_dataset", broken)
    with qtbot.waitSignal(net.message, timeout=WAIT, check_params_cb=lambda m: "OpenCV said no" in m) as got:
        net.load_dataset()
    assert got.args[0].is_error and not net.loading
    monkeypatch.undo()
    with qtbot.waitSignal(net.datasetChanged, timeout=WAIT):
        net.set_settings(samples=200)
        net.load_dataset()  # the slot is free again


def test_a_bank_job_that_fails_unexpectedly_is_reported(qtbot, lab_with_worker, monkeypatch):
    import convlab.gui.workers as workers

    monkeypatch.setattr(workers, "apply_bank", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
    with qtbot.waitSignal(lab_with_worker.resultShown, timeout=WAIT):
        lab_with_worker.set_settings("Stride 2", stride=2)
    assert lab_with_worker.result is None and "boom" in lab_with_worker.error
    monkeypatch.undo()
    with qtbot.waitSignal(lab_with_worker.resultShown, timeout=WAIT):
        lab_with_worker.set_settings("Stride 1", stride=1)
    assert lab_with_worker.result is not None  # the worker is alive


def test_a_batch_beyond_the_memory_budget_blocks_training_with_the_numbers(qtbot, net):
    net.set_input_shape([1, 512, 512])
    net.set_settings(batch_size=4096)
    block = net.train_block
    assert block is not None and block.kind is Block.MEMORY and "GB" in block.text
    net.set_settings(batch_size=1)
    assert net.train_block is None or net.train_block.kind is not Block.MEMORY


def test_the_spec_json_editor_gets_the_sessions_limits(qtbot, net):
    steps = net.undo_stack.count()
    assert "NaN" in net.set_spec_json('{"input": [1, 28, NaN], "layers": []}')
    assert "500" in net.set_spec_json('{"input": [1, 8, 8], "layers": [' + ",".join(['{"type": "relu"}'] * 600) + "]}")
    assert "type" in net.set_spec_json('{"input": [1, 8, 8], "layers": [{"type": 3}]}')
    assert net.undo_stack.count() == steps  # nothing was taken


def test_the_spin_box_path_to_a_huge_model_is_marked_and_undo_keeps_working(qtbot, net):
    """issue 17.1: LeNet-5 at 1x1024x1024 with the first linear layer at 100,000 units: never an
    exception inside the undo command; the next undo pushes and undoes are safe."""
    net.set_input_shape([1, 1024, 1024])
    linear = next(i for i, layer in enumerate(net.layers()) if layer["type"] == "linear")
    assert net.set_layer_field(linear, "units", 100_000)
    assert not net.report.ok and net.model is None and "budget" in net.report.error
    net.load_preset("lenet_relu")
    assert net.report.ok
    for _ in range(3):
        net.undo_stack.undo()
    assert net.spec["input"] == [1, 28, 28]
