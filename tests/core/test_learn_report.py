"""What learn-a-filter says about a run, without Qt."""

import numpy as np

from convlab.core.filter_fit import FitResult
from convlab.core.filter_learning import FitOutcome, prepare_run
from convlab.core.learn_report import compare_text, data_text, diverged_text, reveal_text, run_text, used_text
from convlab.core.settings import LearnSettings


def a_run(**changes):
    image = np.random.default_rng(0).integers(0, 256, (24, 24), dtype=np.uint8)
    return prepare_run(LearnSettings(**changes), image, "gray")


def outcome(losses, kept_step=None, kept_loss=None, last=None, diverged="", stopped=False):
    r = FitResult(np.zeros((1, 1, 3, 3), np.float32), np.zeros(1, np.float32), list(losses), stopped)
    n = len(losses)
    last = losses[-1] if last is None else last
    return FitOutcome(r, n, last, n if kept_step is None else kept_step, last if kept_loss is None else kept_loss,
                      diverged)


def test_a_run_that_ends_at_its_best_says_done_and_its_loss():
    text = run_text(outcome([1.0, 0.5, 0.001]), a_run(), 1e-30)
    assert text == "Done after 3 steps: loss 0.001; the best linear filter reaches 1e-30."
    assert run_text(outcome([1.0, 0.5], stopped=True), a_run(), None).startswith("Stopped after 2 steps: loss 0.5")


def test_a_run_that_ended_worse_names_the_best_step_and_its_loss():
    text = run_text(outcome([1.0, 1e-9, 1e-4], kept_step=1, kept_loss=1e-9), a_run(), None)
    assert "loss 0.0001; best at step 1, loss 1e-09 (those weights are kept)" in text


def test_a_diverged_run_says_so_with_the_learning_rate_to_try():
    run = a_run(optimizer="sgd", lr=0.05, kernel=5, padding=2)
    text = run_text(outcome([0.4, 3.0, 500.0], kept_step=1, kept_loss=0.41, diverged="the loss rose"), run, None)
    assert text.startswith("Diverged at step 3: the loss rose from 0.4 to 500, so the run was stopped")
    assert "best at step 1, loss 0.41" in text and "0.05 is too large for SGD on a 5x5 kernel: try 0.01" in text
    assert "inf" not in text.replace("infinite", "") and "nan" not in text
    advice = diverged_text(outcome([0.4, 3.0, 500.0], diverged="the loss rose"), run)
    assert advice == "The run diverged at step 3: a learning rate of 0.05 is too large here; try 0.01."


def test_the_other_sentences():
    assert data_text(None, "gray", "", "current", 0, 3).startswith("No image")
    assert data_text((48, 64), "rgb", "cat", "samples", 0, 3) == (
        "Learning on a 64x48 rgb copy of cat and 3 sample photos resized to 64x48, values 0..1.")
    assert "the 1 recent frame of" in data_text((48, 64), "gray", "", "frames", 1, 3)
    assert compare_text(3, 0.1, 0.01).endswith("depth helps")
    assert reveal_text(["sobel_x"]).startswith("The hidden kernel was Sobel x")
    assert used_text(2, 3, 5, (1, 1), (2, 1)) == (
        "The 2 learned 3x3 filters are filters 4 to 5 of the bank (learned with stride 1 and dilation 1; the "
        "playground uses its own stride 2 and dilation 1).")
