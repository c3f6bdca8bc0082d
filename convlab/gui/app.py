"""Application entry: QApplication, pyqtgraph options and the command line."""

from __future__ import annotations

import argparse
import os
import sys

WORKSPACE_KEYS = ("filters", "network", "learn", "live")  # convlab.gui.workspaces.WORKSPACES (Qt-free here)
EPILOG = """more commands (no window):
  convlab export --format pytorch|onnx LAB.convlab OUTDIR   export a saved lab's model (also: python -m convlab export)
  convlab data list | download mnist|fashion|kmnist|cifar10  the datasets (also: python -m convlab.data)
"""


def parse_args(argv):
    from convlab import __version__

    ap = argparse.ArgumentParser(prog="convlab", description="ConvLab: a lab for convolutional networks.",
                                 epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", nargs="?", help="an image or a .convlab session to open")
    ap.add_argument("--version", action="version", version=f"ConvLab {__version__}")
    ap.add_argument("--install-desktop", action="store_true",
                    help="Linux: add ConvLab to the application menu and open .convlab files with it")
    ap.add_argument("--uninstall-desktop", action="store_true", help="Linux: remove what --install-desktop added")
    ap.add_argument("--screenshot", metavar="PNG", help="render the main window to PNG offscreen and exit")
    ap.add_argument("--size", metavar="WxH", default="1400x900", help="window size for --screenshot")
    ap.add_argument("--workspace", choices=WORKSPACE_KEYS, default=None,
                    help="with --screenshot: the workspace to show, after a short scripted setup that gives it "
                         "real content (a sample, a model trained for a few steps, a learned filter, live frames)")
    ap.add_argument("--scene", choices=("draw", "wants"), default=None,
                    help="with --screenshot: the drawing pad with a digit drawn, or what a unit wants to see")
    ap.add_argument("--lesson", type=int, choices=range(1, 13), metavar="N", default=None,
                    help="with --screenshot: lesson N (1-12) set up, as Help > Open Lesson does")
    args = ap.parse_args(argv)
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
        if w < 200 or h < 150 or w > 10000 or h > 10000:
            raise ValueError
    except ValueError:
        ap.error(f"--size must look like 1400x900 (each side 200-10000), got {args.size!r}")
    args.size = (w, h)
    return args


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["export"]:  # command-line tools: no window, no Qt
        from convlab.export import main as export_main

        return export_main(argv[1:])
    if argv[:1] == ["data"]:
        from convlab.data import main as data_main

        return data_main(argv[1:])
    args = parse_args(argv)
    if args.install_desktop or args.uninstall_desktop:
        return _desktop(args)
    if args.lesson is not None and not args.screenshot:
        print("--lesson goes with --screenshot (in the app: Help > Open Lesson)", file=sys.stderr)
        return 2
    if args.screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    else:
        from .platform_check import problem

        trouble = problem()
        if trouble:  # Qt would abort with a message that does not say what to install
            print(trouble, file=sys.stderr)
            return 1

    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ConvLab")
    app.setOrganizationName("ConvLab")
    app.setDesktopFileName("convlab")  # matches the --install-desktop entry (the icon on Wayland)
    settings = None
    if args.screenshot:  # a picture of the default layout, not of this user's saved one
        import tempfile

        from PySide6.QtCore import QSettings

        settings = QSettings(os.path.join(tempfile.mkdtemp(), "screenshot.ini"), QSettings.IniFormat)
    autosave_dir = None
    if not args.screenshot:
        from PySide6.QtCore import QStandardPaths

        autosave_dir = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation) or None
    window = MainWindow(settings, autosave_dir=autosave_dir)
    if args.path:
        window.open_path(args.path)
    if args.screenshot:
        from PySide6.QtCore import QEventLoop, QTimer

        window.resize(*args.size)
        window.show()
        if window.state.result is None and not window.state.error:
            loop = QEventLoop()  # wait for the first outputs (computed in a worker thread)
            window.outputDrawn.connect(loop.quit)
            QTimer.singleShot(20000, loop.quit)
            loop.exec()
        if args.workspace:
            from .screenshot import prepare

            prepare(window, args.workspace)
        if args.lesson:
            from .screenshot import prepare_lesson

            prepare_lesson(window, args.lesson)
        if args.scene:
            from .screenshot import prepare_scene

            prepare_scene(window, args.scene)
        app.processEvents()
        ok = window.grab().save(args.screenshot, "PNG")
        if not ok:
            print(f"could not write {args.screenshot}", file=sys.stderr)
            return 1
        window.session.mark_clean()  # a picture was asked for: nothing to save, no question
        window.close()
        return 0
    window.show()
    if not args.path or not args.path.endswith(".convlab"):
        window.session.offer_restore()  # after a crash, the autosaved lab
    return app.exec()


def _desktop(args) -> int:
    from convlab.desktop_entry import install_desktop, uninstall_desktop

    try:
        if args.install_desktop:
            install_desktop()
            print("ConvLab is in the application menu; .convlab files open with it")
        else:
            uninstall_desktop()
    except OSError as e:
        print(f"cannot {'install' if args.install_desktop else 'remove'} the desktop entry: {e}", file=sys.stderr)
        return 1
    return 0
