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


def test_start_up_inference_does_not_wait_for_numba():
    """Building a model and showing one image through it (what the app does as it starts) stays on
    the reference path: Numba (~0.5 s to load) is loaded by the first training step."""
    code = (
        "import sys, numpy as np\n"
        "from convlab.core.model import Sequential\n"
        "from convlab.core.presets import model_preset\n"
        "m = Sequential.from_spec(model_preset('lenet_relu'), seed=0)\n"
        "m.forward(np.zeros((1, 1, 28, 28), np.float32))\n"
        "print('numba' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
