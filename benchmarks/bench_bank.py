"""Filter-bank speed for live video: apply_bank alone, and while another thread holds the GIL.

Live mode runs apply_bank on every camera frame in a worker thread while the GUI thread runs Python.
Each return from an OpenCV / NumPy call that released the GIL then waits for the GUI thread to let
go of it (up to the 5 ms switch interval), so the number of large native calls matters as much as
the CPU time. Per case this prints, for the version before the rewrite (copied below as
``old_apply_bank``) and the current one:

  alone      median ms per call over --calls calls, and CPU ms per call (all threads)
  contended  the same while a second thread spins a pure-Python loop (a busy GUI thread), and the
             share of a core that thread got meanwhile
  max diff   largest |new - old| over the value range of the maps
The versions take turns call by call, so a change in the machine's load hits them alike.

--dnn adds the candidate that was measured and not taken: one cv2.dnn Conv layer (a tiny ONNX model
written by hand) for the whole bank: one native call per frame, but about twice filter2D's CPU time
(and two threads), so it only wins when the other thread holds the GIL nearly all the time.
How much each GIL return costs depends on the machine: on an otherwise idle machine the spinning
thread nearly always takes the GIL during a native call (about 5 ms per return); under other load
it often does not. Compare versions within one run, not across runs.
Run: python benchmarks/bench_bank.py [--calls 200] [--dnn]
"""

from __future__ import annotations

import argparse
import functools
import threading
import time

import cv2
import numpy as np

from convlab.core import functional as F
from convlab.core import kernels
from convlab.core.playground import (
    BankResult,
    ConvSettings,
    FilterBank,
    PostSettings,
    apply_bank,
    check_geometry,
    dilate_kernel,
)

H, W = 480, 640


# --------------------------------------------------------------------------- the old version


def old_apply_bank(x, bank, settings, post=None):
    """apply_bank as it was: one filter2D per (filter, channel) on a padded copy, summed in NumPy."""
    c, h, w = x.shape
    math = check_geometry((h, w), bank.size, settings)
    ho, wo = math[0].size, math[1].size
    xp = F.pad2d(x[None], settings.padding, settings.padding, settings.padding_mode)[0]
    s = settings.stride
    maps = np.empty((bank.count, ho, wo), np.float32)
    for k in range(bank.count):
        acc = None
        for ch in range(c):
            kern = dilate_kernel(bank.weights[k, ch], settings.dilation)
            full = cv2.filter2D(xp[ch], cv2.CV_32F, kern, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
            acc = full if acc is None else acc + full
        maps[k] = acc[: s * (ho - 1) + 1 : s, : s * (wo - 1) + 1 : s] + bank.biases[k]
    result = BankResult(maps, math)
    if post is not None and post.pool != "none":
        fn = F.maxpool2d_forward if post.pool == "max" else F.avgpool2d_forward
        result.pooled = fn(maps[None], post.pool_kernel, post.pool_stride)[0][0]
    return result


# --------------------------------------------------------------------------- the rejected cv2.dnn candidate


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _int(field: int, v: int) -> bytes:
    return _varint(field << 3) + _varint(v)


def _msg(field: int, b: bytes | str) -> bytes:
    b = b.encode() if isinstance(b, str) else b
    return _varint(field << 3 | 2) + _varint(len(b)) + b


def _onnx_conv(w: np.ndarray, b: np.ndarray, shape_in, shape_out, stride: int, pad: int, dilation: int) -> bytes:
    """A serialized ONNX ModelProto with one Conv node y = conv(x, w) + b (float32 NCHW)."""

    def tensor(name, a):
        return b"".join(_int(1, d) for d in a.shape) + _int(2, 1) + _msg(8, name) + _msg(9, a.astype("<f4").tobytes())

    def ints(name, vals):  # AttributeProto of type INTS (7)
        return _msg(1, name) + b"".join(_int(8, v) for v in vals) + _int(20, 7)

    def value_info(name, shape):
        dims = b"".join(_msg(1, _int(1, d)) for d in shape)
        return _msg(1, name) + _msg(2, _msg(1, _int(1, 1) + _msg(2, dims)))

    f = w.shape[-1]
    attrs = [ints("kernel_shape", [f, f]), ints("strides", [stride] * 2), ints("pads", [pad] * 4),
             ints("dilations", [dilation] * 2)]
    node = b"".join(_msg(1, n) for n in "xwb") + _msg(2, "y") + _msg(4, "Conv") + b"".join(_msg(5, a) for a in attrs)
    graph = (_msg(1, node) + _msg(2, "bank") + _msg(5, tensor("w", w)) + _msg(5, tensor("b", b))
             + _msg(11, value_info("x", shape_in)) + _msg(12, value_info("y", shape_out)))
    return _int(1, 7) + _msg(7, graph) + _msg(8, _msg(1, "") + _int(2, 11))


def dnn_apply_bank(bank: FilterBank, settings: ConvSettings, shape):
    c, h, w = shape
    ho, wo = (m.size for m in check_geometry((h, w), bank.size, settings))
    model = _onnx_conv(bank.weights, bank.biases, [1, c, h, w], [1, bank.count, ho, wo],
                       settings.stride, settings.padding, settings.dilation)
    net = cv2.dnn.readNetFromONNX(np.frombuffer(model, np.uint8))

    def run(x, bank_, settings_, post=None):
        net.setInput(x[None])
        maps = np.empty((1, bank.count, ho, wo), np.float32)
        net.forward([maps])
        return BankResult(maps[0], None)

    return run


# --------------------------------------------------------------------------- timing


class Busy:
    """A thread spinning a pure-Python loop, a GUI thread that is never idle: it holds the GIL
    except when the interpreter makes it switch."""

    def __init__(self):
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()
        self.clock = time.pthread_getcpuclockid(self.thread.ident)

    def loop(self):
        n = 0
        while not self.stop:
            n += 1

    def cpu(self) -> float:
        return time.clock_gettime(self.clock)

    def close(self):
        self.stop = True
        self.thread.join()


def measure(impls: dict, calls: int, contended: bool) -> dict:
    """Per implementation: median wall ms, CPU ms of this process minus the busy thread's, and the
    share of a core the busy thread got while that implementation ran. The implementations take
    turns call by call, so a change in the machine's load hits them alike."""
    busy = Busy() if contended else None
    wall = {name: [] for name in impls}
    cpu = dict.fromkeys(impls, 0.0)
    other = dict.fromkeys(impls, 0.0)
    for fn in impls.values():
        fn()  # warm-up (and the plan cache)
    names = list(impls)
    for i in range(calls):
        for name in names[i % len(names):] + names[: i % len(names)]:
            b0 = busy.cpu() if busy else 0.0
            p0, t0 = time.process_time(), time.perf_counter()
            impls[name]()
            t1, p1 = time.perf_counter(), time.process_time()
            db = busy.cpu() - b0 if busy else 0.0
            wall[name].append((t1 - t0) * 1e3)
            cpu[name] += p1 - p0 - db
            other[name] += db
    if busy:
        busy.close()
    return {name: {"ms": float(np.median(wall[name])), "cpu": cpu[name] / calls * 1e3,
                   "busy": other[name] / (sum(wall[name]) / 1e3)} for name in impls}


# --------------------------------------------------------------------------- cases


def _random_bank(rng, c):
    return FilterBank(rng.standard_normal((8, c, 5, 5)).astype(np.float32) / 10, rng.standard_normal(8), [])


def _preset_bank():
    keys = ["sobel_x", "sobel_y", "laplacian", "box_blur", "gaussian_5", "sharpen", "emboss", "rgb_to_luma"]
    ws = [kernels.resize_kernel(kernels.preset(k).filter(3), 5) for k in keys]
    return FilterBank(np.stack(ws), np.zeros(len(keys), np.float32), keys)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=200, help="calls per measurement (median taken)")
    ap.add_argument("--dnn", action="store_true", help="also time the rejected cv2.dnn candidate")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rgb = (rng.random((3, H, W)) * 255).astype(np.float32)
    gray = np.ascontiguousarray(rgb.mean(axis=0, keepdims=True))
    live = ConvSettings(1, 2)
    cases = [
        ("RGB, 8 random 5x5 filters (bench_live's bank)", rgb, _random_bank(rng, 3), live, None),
        ("RGB, 8 random 5x5 filters, max pool 2/2", rgb, _random_bank(rng, 3), live, PostSettings("max", 2, 2)),
        ("RGB, 8 presets as 5x5 (kernel/3 on each channel)", rgb, _preset_bank(), live, None),
        ("gray, 8 random 5x5 filters", gray, _random_bank(rng, 1), live, None),
    ]
    print(f"{H}x{W} input, stride 1, padding 2 (zeros); cv2 threads {cv2.getNumThreads()}; "
          f"median of {args.calls} calls")
    print("CPU: this process's CPU time per call, the busy thread's excluded; busy thread: the share of a core")
    print("the spinning thread got while the bank ran")
    print(f"{'':10s} {'alone ms':>9s} {'CPU ms':>7s} {'contended ms':>13s} {'CPU ms':>7s} {'busy thread':>12s}")
    for title, x, bank, settings, post in cases:
        print(title)
        impls = {"old": old_apply_bank, "new": apply_bank}
        if args.dnn and post is None and x.shape[0] == 3 and bank.names[0] == "custom":
            impls["dnn"] = dnn_apply_bank(bank, settings, x.shape)
        ref = old_apply_bank(x, bank, settings, post).maps
        calls = {name: functools.partial(impl, x, bank, settings, post) for name, impl in impls.items()}
        alone = measure(calls, args.calls, contended=False)
        busy = measure(calls, args.calls, contended=True)
        for name, impl in impls.items():
            a, c = alone[name], busy[name]
            line = f"  {name:8s} {a['ms']:9.2f} {a['cpu']:7.2f} {c['ms']:13.2f} {c['cpu']:7.2f} {c['busy']:11.0%}"
            if name != "old":
                diff = np.abs(impl(x, bank, settings, post).maps - ref).max() / max(float(np.ptp(ref)), 1e-6)
                line += f"   max diff {diff:.1e} of the range"
            print(line)

if __name__ == "__main__":
    main()
