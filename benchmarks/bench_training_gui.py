"""Training with the whole GUI live: samples/s, and the longest stall of the GUI thread.

LeNet-5 on the built-in synthetic digits, trained by the Train panel's worker thread while the
window shows curves, feature maps and weights. A 5 ms QTimer in the GUI thread measures how
late it fires: the longest delay is the longest stall a user would feel. Target: under 50 ms.
Run: python benchmarks/bench_training_gui.py [--samples N] [--epochs E]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samples", type=int, default=6000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()

    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from convlab.gui.main_window import MainWindow

    pg.setConfigOptions(imageAxisOrder="row-major")
    app = QApplication.instance() or QApplication([])  # noqa: F841 - Qt needs it alive
    w = MainWindow(QSettings(os.path.join(tempfile.mkdtemp(), "b.ini"), QSettings.IniFormat))
    w.resize(1400, 900)
    w.show()
    w.show_network()
    net = w.net
    net.set_settings(samples=args.samples, epochs=args.epochs, batch_size=args.batch, optimizer="momentum", lr=0.05)

    loop = QEventLoop()
    net.datasetChanged.connect(loop.quit)
    net.load_dataset()
    loop.exec()

    rates, gaps = [], []
    last = [time.perf_counter()]
    tick = QTimer()
    tick.setInterval(5)

    def on_tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    tick.timeout.connect(on_tick)
    net.progress.connect(lambda r: rates.append(r.samples_per_s))
    done = QEventLoop()
    net.evaluationChanged.connect(done.quit)
    t0 = time.perf_counter()
    tick.start()
    last[0] = time.perf_counter()
    net.start_training()
    done.exec()
    tick.stop()
    wall = time.perf_counter() - t0
    total = len(net.train) * args.epochs
    g = np.array(gaps[1:]) * 1e3
    print(f"trained {total:,} samples in {wall:.1f} s with the GUI live: {total / wall:,.0f} samples/s overall, "
          f"median reported {np.median(rates):,.0f} samples/s")
    print(f"GUI thread: {len(g)} timer ticks, median gap {np.median(g):.1f} ms, p99 {np.percentile(g, 99):.1f} ms, "
          f"longest stall {g.max():.1f} ms (target < 50 ms)")
    print(f"final validation accuracy {net.history_epochs[-1].val_accuracy:.1%}")
    w.session.mark_clean()  # nothing to save: closing must not ask
    w.close()


if __name__ == "__main__":
    main()
