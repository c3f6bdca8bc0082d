"""Engine speed against PyTorch: ReLU LeNet-5 training samples/s, peak memory, single-image latency.

Run: python benchmarks/bench_engine.py [--seconds 1] [--rounds 5] [--threads 1 2] [--batches 16 64 256]

Training (SGD momentum, the "lenet_relu" preset on 28x28): ConvLab and PyTorch (when importable)
are measured in this one process, taking turns: each round gives each ``--seconds`` of steps, and
the median of ``--rounds`` rounds is printed, with the ratio ConvLab / PyTorch, for every thread
count and batch size. Taking turns puts a change in the machine's load on both.

Peak memory: the same network on 112x112 inputs, batch 256, in a fresh process per library: the
growth of the resident set's high-water mark over a few training steps, from just before the first
step (model, optimiser, data and libraries loaded).

Single-image latency: the median time of one forward pass of one image (the live view's path) for
LeNet-5 (classic and ReLU) and the small VGG preset, on ConvLab's fast path and its reference path.

Page faults: the engine has the C allocator keep the memory a step frees (see
``convlab.core.fastpath.allocator``); the setting is process-wide, so PyTorch, taking turns in the
same process, runs with it too. The table prints the minor page faults per training step of each;
``--allocator-defaults`` leaves glibc's own settings for both (as before the setting).

While other programs keep the cores busy (1-minute load above the cores + 1) the engine splits no
batch, and the 2-thread rows say so. ``--reference`` runs ConvLab on its reference path throughout
(what the engine did before the fast path). The figures are noisy while other programs use the
cores: compare within one run.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from functools import partial

import numpy as np

from convlab.core.losses import softmax_cross_entropy
from convlab.core.model import Sequential
from convlab.core.optim import SGD
from convlab.core.presets import model_preset

try:
    from convlab.core.fastpath import engine
except ImportError:  # an engine from before the fast path
    engine = None

TRAIN_PRESET = "lenet_relu"
LATENCY_PRESETS = ("lenet5", "lenet_relu", "small_vgg_rgb")


# --------------------------------------------------------------------------- threads


def set_convlab_threads(n: int) -> None:
    if engine is not None:
        engine.set_threads(n)
        return
    import ctypes  # the engine before the fast path: only its BLAS has threads

    for line in open("/proc/self/maps"):
        path = line.split()[-1]
        if "openblas" in path:
            lib = ctypes.CDLL(path)
            for name in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads"):
                if hasattr(lib, name):
                    getattr(lib, name)(n)
                    return


def reference_path(on: bool):
    return engine.reference() if (on and engine is not None) else nullcontext()


# --------------------------------------------------------------------------- the two libraries


def convlab_step(spec, batch: int):
    model = Sequential.from_spec(spec, seed=0)
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = rng.random((batch, *spec["input"]), dtype=np.float32)
    y = rng.integers(0, 10, batch)

    def step():
        logits = model.forward(x, training=True)
        _, d = softmax_cross_entropy(logits, y)
        model.backward(d, need_input_grad=False)
        opt.step(model.gradients())

    return step


def torch_model(spec):
    """The spec as a torch.nn.Sequential with the same layers (and state-dict keys)."""
    from torch import nn

    layers = []
    model = Sequential.from_spec(spec)
    for layer in model.layers:
        kind = layer.type
        if kind == "conv2d":
            mode = {"zeros": "zeros", "reflect": "reflect", "replicate": "replicate"}[layer.padding_mode]
            layers.append(nn.Conv2d(layer.in_shape[0], layer.filters, layer.kernel, layer.stride, layer.padding,
                                    layer.dilation, bias=layer.use_bias, padding_mode=mode))
        elif kind in ("maxpool2d", "avgpool2d"):
            cls = nn.MaxPool2d if kind == "maxpool2d" else nn.AvgPool2d
            layers.append(cls(layer.kernel, layer.stride, layer.padding))
        elif kind == "linear":
            layers.append(nn.Linear(layer.in_shape[0], layer.units, bias=layer.use_bias))
        elif kind == "dropout":
            layers.append(nn.Dropout(layer.rate))
        else:
            layers.append({"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "flatten": nn.Flatten,
                           "softmax": lambda: nn.Softmax(dim=1), "leaky_relu": nn.LeakyReLU}[kind]())
    return nn.Sequential(*layers)


def torch_step(spec, batch: int):
    import torch

    torch.manual_seed(0)
    model = torch_model(spec)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, *spec["input"])
    y = torch.randint(0, 10, (batch,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return step


def have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------- measuring


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def samples_per_s(step, batch: int, seconds: float) -> tuple[float, float]:
    """(samples per second, minor page faults per step) over about ``seconds`` of steps."""
    calls, faults, t0 = 0, _minor_faults(), time.perf_counter()
    while True:
        step()
        calls += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return calls * batch / elapsed, (_minor_faults() - faults) / calls


def training_table(args) -> None:
    spec = model_preset(TRAIN_PRESET)
    torch_there = have_torch() and not args.no_torch
    if torch_there:
        import torch
    print(f"Training {TRAIN_PRESET} (28x28, SGD momentum): samples/s, median of {args.rounds} rounds of "
          f"{args.seconds:g} s, the libraries taking turns" + ("" if torch_there else " (PyTorch not importable)"))
    head = f"{'threads':>7} {'batch':>5} {'ConvLab':>10}"
    if torch_there:
        head += f" {'PyTorch ' + torch.__version__.split('+')[0]:>14} {'ratio':>6}"
    head += f"  {'page faults a step':>18}"
    print(head)
    for threads in args.threads:
        set_convlab_threads(threads)
        if torch_there:
            torch.set_num_threads(threads)
        for batch in args.batches:
            with reference_path(args.reference):
                ours = convlab_step(spec, batch)
                theirs = torch_step(spec, batch) if torch_there else None
                for _ in range(3):
                    ours()
                    if theirs:
                        theirs()
                a, b, fa, fb = [], [], [], []
                for _ in range(args.rounds):
                    rate, faults = samples_per_s(ours, batch, args.seconds)
                    a.append(rate)
                    fa.append(faults)
                    if theirs:
                        rate, faults = samples_per_s(theirs, batch, args.seconds)
                        b.append(rate)
                        fb.append(faults)
            row = f"{threads:>7} {batch:>5} {statistics.median(a):>10,.0f}"
            if theirs:
                row += f" {statistics.median(b):>14,.0f} {statistics.median(a) / statistics.median(b):>6.2f}"
            faults = f"{statistics.median(fa):,.0f}" + (f" / {statistics.median(fb):,.0f}" if theirs else "")
            row += f"  {faults:>18}"
            if threads > 1 and engine is not None and engine.contended():
                row += "  (ConvLab used 1 thread: other programs kept the cores busy)"
            print(row, flush=True)


# --------------------------------------------------------------------------- peak memory


def _rss_mb() -> tuple[float, float]:
    values = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values["VmRSS"], values["VmHWM"]


def memory_child(library: str, threads: int, reference: bool) -> None:
    spec = model_preset(TRAIN_PRESET)
    spec["input"] = [1, 112, 112]
    if library == "torch":
        import torch

        torch.set_num_threads(threads)
        step = torch_step(spec, 256)
    else:
        set_convlab_threads(threads)
        if engine is not None and not reference:
            engine.load()  # the compiled loops (and Numba) are loaded before the baseline, as torch is
        step = convlab_step(spec, 256)
    base, _ = _rss_mb()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the high-water mark to the current resident set
    with reference_path(reference):
        for _ in range(3):
            step()
    _, peak = _rss_mb()
    print(json.dumps({"growth_mb": peak - base, "peak_mb": peak, "base_mb": base}))


def memory_table(args) -> None:
    libraries = ["convlab"] + (["torch"] if have_torch() and not args.no_torch else [])
    print("\nPeak memory of a training step, 112x112, batch 256 (fresh process each; resident-set "
          "high-water growth over 3 steps):")
    found = {}
    for lib in libraries:
        cmd = [sys.executable, __file__, "--memory-child", lib, "--threads", str(args.threads[-1])]
        if args.reference:
            cmd.append("--reference")
        if args.allocator_defaults:
            cmd.append("--allocator-defaults")
        child = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if child.returncode != 0:
            print(f"  {lib}: failed ({child.stderr.strip().splitlines()[-1:]})")
            continue
        found[lib] = json.loads(child.stdout.strip().splitlines()[-1])
        r = found[lib]
        print(f"  {lib:8s} {r['growth_mb']:7.0f} MB  (process {r['base_mb']:.0f} -> {r['peak_mb']:.0f} MB)")
    if len(found) == 2:
        print(f"  ratio    {found['convlab']['growth_mb'] / found['torch']['growth_mb']:7.2f}")


# --------------------------------------------------------------------------- single image


def median_call_ms(fn, calls: int) -> float:
    fn()
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def torch_forward(spec, x: np.ndarray):
    import torch

    model = torch_model(spec).eval()
    tx = torch.from_numpy(x)

    def forward():
        with torch.no_grad():
            model(tx)

    return forward


def latency_table(args) -> None:
    torch_there = have_torch() and not args.no_torch
    if engine is not None:
        engine.load()  # as after the first training step (before it, one image takes the reference path)
    print(f"\nSingle-image forward latency, median of {args.calls} calls (ms):")
    head = f"  {'model':15s} {'fast path':>10} {'reference':>10}"
    if torch_there:
        head += f" {'PyTorch':>10}"
    print(head)
    for key in LATENCY_PRESETS:
        spec = model_preset(key)
        model = Sequential.from_spec(spec, seed=0)
        x = np.random.default_rng(0).random((1, *spec["input"]), dtype=np.float32)
        ours = median_call_ms(partial(model.forward, x), args.calls)
        with reference_path(True):
            plain = median_call_ms(partial(model.forward, x), args.calls)
        row = f"  {key:15s} {ours:>10.3f} {plain:>10.3f}"
        if torch_there:
            row += f" {median_call_ms(torch_forward(spec, x), args.calls):>10.3f}"
        print(row, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=1.0, help="time per library per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batches", type=int, nargs="+", default=[16, 64, 256])
    ap.add_argument("--calls", type=int, default=300, help="single-image forward passes per model")
    ap.add_argument("--reference", action="store_true", help="ConvLab on its reference path")
    ap.add_argument("--no-torch", action="store_true", help="leave PyTorch out even when importable")
    ap.add_argument("--allocator-defaults", action="store_true",
                    help="leave the C allocator's settings alone (the engine keeps freed memory otherwise)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["training", "memory", "latency"])
    ap.add_argument("--memory-child", choices=["convlab", "torch"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.allocator_defaults and engine is not None:
        from convlab.core.fastpath import allocator

        allocator.keep_freed_memory = lambda: False
    if args.memory_child:
        memory_child(args.memory_child, args.threads[-1], args.reference)
        return
    if "training" not in args.skip:
        training_table(args)
    if "memory" not in args.skip:
        memory_table(args)
    if "latency" not in args.skip:
        latency_table(args)


if __name__ == "__main__":
    main()
