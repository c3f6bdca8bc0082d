"""Playground speed: time from a kernel edit to the new output on screen, and the bank alone.

640x480 RGB image, a bank of 8 filters of 5x5x3. Target: edit -> screen <= 50 ms.
Run: python benchmarks/bench_playground.py [--edits N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from convlab.core import functional as F  # noqa: E402
from convlab.core.playground import ConvSettings, FilterBank, apply_bank  # noqa: E402
from convlab.core.samples import load_sample  # noqa: E402


def _image():
    return cv2.resize(load_sample("astronaut"), (640, 480), interpolation=cv2.INTER_AREA)


def _bank():
    rng = np.random.default_rng(0)
    return FilterBank(rng.standard_normal((8, 3, 5, 5)).astype(np.float32), np.zeros(8, np.float32), [])


def _stats(ms):
    ms = np.sort(np.asarray(ms))
    return f"median {np.median(ms):.1f} ms, p95 {ms[int(0.95 * (len(ms) - 1))]:.1f} ms, max {ms[-1]:.1f} ms"


def bench_gui(edits: int):
    import pyqtgraph as pg
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from convlab.gui.main_window import MainWindow

    pg.setConfigOptions(imageAxisOrder="row-major")
    app = QApplication.instance() or QApplication([])
    ini = os.path.join(tempfile.mkdtemp(), "bench.ini")
    w = MainWindow(QSettings(ini, QSettings.IniFormat))
    w.resize(1400, 900)
    w.show()

    def wait_drawn():
        loop = QEventLoop()
        w.outputDrawn.connect(loop.quit)
        QTimer.singleShot(10000, loop.quit)
        loop.exec()
        w.outputDrawn.disconnect(loop.quit)

    st = w.state
    st.set_image(_image(), "bench 640x480")
    wait_drawn()
    st.set_color("rgb")
    wait_drawn()
    st.edit("bench bank", bank=_bank())
    wait_drawn()
    times = []
    for i in range(edits):
        t0 = time.perf_counter()
        st.set_cell(i % 3, 2, 2, float(i % 7) - 3.0)  # what a kernel-editor commit does
        wait_drawn()
        w.playground.output_view.repaint()  # the pixels reach the screen buffer
        w.playground.grid.repaint()
        app.processEvents()
        times.append((time.perf_counter() - t0) * 1e3)
    w.session.mark_clean()  # nothing to save: closing must not ask
    w.close()
    return times


def bench_bank(reps: int):
    x = np.ascontiguousarray(_image().transpose(2, 0, 1), dtype=np.float32)
    bank = _bank()
    s = ConvSettings()

    def timed(fn):
        fn()
        out = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0) * 1e3)
        return out

    app_path = timed(lambda: apply_bank(x, bank, s))
    engine = timed(lambda: F.conv2d_forward(x[None], bank.weights, bank.biases))
    one = np.ascontiguousarray(x[0])

    def raw_filter2d():  # the floor: 24 bare filter2D calls, no padding, no sums
        for k in range(8):
            for c in range(3):
                cv2.filter2D(one, cv2.CV_32F, bank.weights[k, c])

    floor = timed(raw_filter2d)
    return app_path, engine, floor


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--edits", type=int, default=60)
    args = ap.parse_args()
    app_path, engine, floor = bench_bank(max(10, args.edits // 2))
    print(f"bank of 8 x 5x5x3 on 640x480, playground path (cv2.filter2D per filter/channel): {_stats(app_path)}")
    print(f"same bank through the engine's im2col conv2d:                               {_stats(engine)}")
    print(f"24 bare cv2.filter2D calls (lower bound):                                   {_stats(floor)}")
    gui = bench_gui(args.edits)
    print(f"kernel edit -> new output on screen (target <= 50 ms):                      {_stats(gui)}")


if __name__ == "__main__":
    main()
