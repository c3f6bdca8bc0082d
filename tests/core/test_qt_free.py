"""The engine never imports Qt: checked in a fresh interpreter."""

import subprocess
import sys


def test_importing_the_whole_engine_loads_no_qt():
    code = (
        "import importlib, pkgutil, sys, convlab.core\n"
        "for m in pkgutil.walk_packages(convlab.core.__path__, 'convlab.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"convlab.core pulled in: {out.stdout}"


def test_the_package_root_imports_nothing_heavy():
    code = "import sys, convlab; print(convlab.__version__, 'numpy' in sys.modules, 'PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    version, numpy_loaded, qt_loaded = out.stdout.split()
    assert version and qt_loaded == "False" and numpy_loaded == "False"
