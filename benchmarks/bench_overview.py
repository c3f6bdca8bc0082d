"""The network overview's cost per frame, offscreen: LeNet-5 and the small VGG-like preset.

A NetworkOverview is shown at a window's size, with a unit selected and the mouse over another
unit (so the hover line is explained again on every frame). Each frame is a new 640x480 image
through ``NetworkState.show_frame`` (preprocess, model, then the views: here only the overview
recolours its columns and the hover line), followed by a synchronous repaint of the canvas.

Printed per preset and size: the median and p95 of
    model     the forward pass (the Probe's own time, not the overview's)
    update    the overview's handler of activationsChanged (recolour + hover line)
    paint     one paint of the canvas (QWidget.repaint)
and update + paint, the overview's share of a live frame; then the same as CPU time of the GUI
thread (``time.thread_time``), which a machine busy with other work disturbs much less.

Run: python benchmarks/bench_overview.py [--frames 300] [--sizes 1400x420,1920x520]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

WARMUP = 20


def pct(values, q) -> float:
    v = np.sort(np.asarray(values, dtype=float))
    return float(v[min(len(v) - 1, int(round(q * (len(v) - 1))))]) if len(v) else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=300, help="frames per preset and size")
    ap.add_argument("--sizes", default="1024x300,1400x420,1920x520", help="overview sizes, WxH, comma separated")
    args = ap.parse_args()

    import pyqtgraph as pg
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QMouseEvent, QUndoStack
    from PySide6.QtWidgets import QApplication

    from convlab.gui.network_state import NetworkState
    from convlab.gui.views.network_overview import NetworkOverview

    pg.setConfigOptions(imageAxisOrder="row-major")
    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (480, 640, 3), dtype=np.uint8) for _ in range(8)]
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    print(f"{args.frames} frames of 640x480 RGB per case (after {WARMUP} to warm up); times in ms, median / p95")
    for preset in ("lenet5", "small_vgg_rgb"):
        net = NetworkState(QUndoStack())
        net.load_preset(preset)
        net.set_image(frames[0])
        ov = NetworkOverview(net)
        for w, h in sizes:
            ov.resize(w, h)
            ov.show()
            app.processEvents()
            rows = net.report.rows
            shape = rows[3].output_shape
            net.select_unit(3, 0, shape[1] // 2, shape[2] // 2)
            target = ov.canvas.unit_point(ov.column_of(1), 0, 2, 2)  # the mouse rests on a unit of layer 1
            move = QMouseEvent(QMouseEvent.Type.MouseMove, QPointF(target), QPointF(target), Qt.NoButton,
                               Qt.NoButton, Qt.NoModifier)
            QApplication.sendEvent(ov.canvas, move)
            assert ov.canvas.hover is not None, "the mouse is not over a unit"
            update_ms: list[float] = []
            original = ov._draw

            update_cpu: list[float] = []

            def timed_draw(original=original, update_ms=update_ms, update_cpu=update_cpu):
                t0, c0 = time.perf_counter(), time.thread_time()
                original()
                update_ms.append((time.perf_counter() - t0) * 1e3)
                update_cpu.append((time.thread_time() - c0) * 1e3)

            ov.drawing._draw = timed_draw
            model, paint, paint_cpu = [], [], []
            rebuilds = ov.rebuilds
            for i in range(args.frames + WARMUP):
                times = net.show_frame(frames[i % len(frames)])
                t0, c0 = time.perf_counter(), time.thread_time()
                ov.canvas.repaint()
                paint.append((time.perf_counter() - t0) * 1e3)
                paint_cpu.append((time.thread_time() - c0) * 1e3)
                model.append(times["model"])
            ov.drawing._draw = original
            assert ov.rebuilds == rebuilds, "a frame rebuilt the columns"
            upd, pnt, mdl = update_ms[WARMUP:], paint[WARMUP:], model[WARMUP:]
            both = np.add(upd, pnt)
            shown = sum(c.place.shown for c in ov.columns if c.kind == "maps")
            print(f"{preset:<14} {w}x{h}: tiles {ov.canvas.plan.side:.0f} px, {shown} maps drawn; "
                  f"model {np.median(mdl):5.2f} / {pct(mdl, 0.95):5.2f}; update {np.median(upd):5.2f} / "
                  f"{pct(upd, 0.95):5.2f}; paint {np.median(pnt):5.2f} / {pct(pnt, 0.95):5.2f}; "
                  f"update + paint {np.median(both):5.2f} / {pct(both, 0.95):5.2f}")
            cpu = np.add(update_cpu[WARMUP:], paint_cpu[WARMUP:])
            print(f"  CPU time of the GUI thread (steady under load): update {np.median(update_cpu[WARMUP:]):5.2f}, "
                  f"paint {np.median(paint_cpu[WARMUP:]):5.2f}, update + paint {np.median(cpu):5.2f} / "
                  f"{pct(cpu, 0.95):5.2f}")
            print(f"  hover line: {ov.hover_label.text()[:110]}")
        ov.close()
        net.shutdown()


if __name__ == "__main__":
    main()
