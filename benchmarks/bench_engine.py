"""Engine speed: LeNet-5 training samples/s and single-image forward passes/s.

Run: python benchmarks/bench_engine.py [--seconds S]
When PyTorch happens to be importable, the same figures for it and the ratio are printed too.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

from convlab.core.losses import softmax_cross_entropy
from convlab.core.model import Sequential
from convlab.core.optim import SGD
from convlab.core.presets import LENET5

BATCH = 64


def _rate(fn, seconds: float, per_call: int) -> float:
    fn()  # warm-up
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        calls += 1
    return calls * per_call / (time.perf_counter() - t0)


def bench_convlab(seconds: float):
    model = Sequential.from_spec(LENET5, seed=0)
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, BATCH)

    def train_step():
        logits = model.forward(x, training=True)
        _, d = softmax_cross_entropy(logits, y)
        model.backward(d, need_input_grad=False)
        opt.step(model.gradients())

    one = x[:1]
    return _rate(train_step, seconds, BATCH), _rate(lambda: model.forward(one), seconds, 1)


def bench_torch(seconds: float):
    try:
        import torch
    except ImportError:
        return None
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(BATCH, 1, 28, 28)
    y = torch.randint(0, 10, (BATCH,))
    loss_fn = nn.CrossEntropyLoss()

    def train_step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    one = x[:1]

    def forward_one():
        with torch.no_grad():
            model(one)

    return _rate(train_step, seconds, BATCH), _rate(forward_one, seconds, 1), torch.__version__


def torch_in_child(seconds: float):
    """PyTorch's figures, measured in a child process: in one process its threads and
    NumPy's BLAS threads fight over the two cores and both numbers become meaningless."""
    child = subprocess.run(
        [sys.executable, __file__, "--torch-only", "--seconds", str(seconds)],
        capture_output=True, text=True, check=False,
    )
    if child.returncode != 0 or not child.stdout.strip():
        return None
    train, fwd, version = child.stdout.split()
    return float(train), float(fwd), version


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    ap.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_only:
        ref = bench_torch(args.seconds)
        if ref is not None:
            print(*ref)
        return
    train, fwd = bench_convlab(args.seconds)
    print(f"convlab  LeNet-5 training (batch {BATCH}, SGD momentum): {train:,.0f} samples/s")
    print(f"convlab  LeNet-5 forward, one image:                  {fwd:,.0f} passes/s")
    ref = torch_in_child(args.seconds)
    if ref is None:
        print("torch    not installed: no reference figures")
        return
    t_train, t_fwd, version = ref
    print(f"torch {version} training:                              {t_train:,.0f} samples/s")
    print(f"torch {version} forward, one image:                    {t_fwd:,.0f} passes/s")
    print(f"ratio convlab/torch: training {train / t_train:.2f}x, forward {fwd / t_fwd:.2f}x")


if __name__ == "__main__":
    main()
