"""How many threads the BLAS under NumPy may use, read and set from inside the process.

NumPy has no call for this, and its environment variables (OPENBLAS_NUM_THREADS, ...) are only read
when the library loads, which a library imported after NumPy cannot arrange. The BLAS NumPy loaded
is found by name among the shared libraries of the process (/proc/self/maps on Linux, NumPy's own
library folder elsewhere) and its thread-count functions are called through ctypes:

* OpenBLAS as NumPy's wheels ship it (``scipy_openblas_set_num_threads64_``) or as a system
  library (``openblas_set_num_threads``);
* Intel MKL (``MKL_Set_Num_Threads``), as in conda's NumPy.

Any other BLAS (Apple Accelerate, BLIS, ...) is left alone: ``get()`` returns None and ``set()``
does nothing, so the engine still works, only without the cap. The setting is process-wide.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

import numpy as np

# (setter, getter) names, tried in order in every candidate library
_FUNCTIONS = (
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
    ("MKL_Set_Num_Threads", "MKL_Get_Max_Threads"),
)
_NAMES = ("openblas", "mkl_rt", "libmkl")

_lock = threading.Lock()
_found: tuple | None = None  # (set, get) once looked for; (None, None) when there is none


def libraries() -> list[str]:
    """Paths of the BLAS libraries in this process, NumPy's own first.

    Other packages bring BLAS copies of their own (OpenCV's wheel bundles an OpenBLAS with its own
    thread pool), and /proc/self/maps lists whatever loaded first: NumPy's library folder is looked
    in first, so the cap and the GEMMs are NumPy's BLAS and never a copy that another package uses."""
    paths: list[str] = []
    root = Path(np.__file__).resolve().parent
    for folder in (root.parent / "numpy.libs", root / ".libs", root / ".dylibs"):
        if folder.is_dir():
            paths += [str(p) for p in sorted(folder.iterdir()) if any(n in p.name.lower() for n in _NAMES)]
    maps = Path("/proc/self/maps")
    if maps.exists():
        for line in maps.read_text().splitlines():
            path = line.split()[-1] if line.split() else ""
            if ("/" in path and any(n in Path(path).name.lower() for n in _NAMES) and path not in paths
                    and not _bundled_by_another_package(path)):
                paths.append(path)
    return paths


def _bundled_by_another_package(path: str) -> bool:
    """A BLAS a wheel other than NumPy's carries in its own ``<package>.libs`` folder (OpenCV's)."""
    folder = Path(path).parent.name
    return folder.endswith(".libs") and folder != "numpy.libs"


def _lookup() -> tuple:
    global _found
    with _lock:
        if _found is None:
            _found = (None, None)
            for path in libraries():
                try:
                    lib = ctypes.CDLL(path)  # already loaded by NumPy: the same handle
                except OSError:
                    continue
                for set_name, get_name in _FUNCTIONS:
                    setter, getter = getattr(lib, set_name, None), getattr(lib, get_name, None)
                    if setter is not None and getter is not None:
                        setter.restype, getter.restype = None, ctypes.c_int
                        setter.argtypes, getter.argtypes = [ctypes.c_int], []
                        _found = (setter, getter)
                        break
                if _found[0] is not None:
                    break
        return _found


def get() -> int | None:
    """The BLAS's current thread count (None when the BLAS is not one this module knows)."""
    _, getter = _lookup()
    return None if getter is None else int(getter())


def set(threads: int) -> bool:  # noqa: A001 - the module is the namespace: blas.set(1)
    """Let the BLAS use ``threads`` threads; False when it cannot be told."""
    setter, _ = _lookup()
    if setter is None:
        return False
    setter(max(1, int(threads)))
    return True


def known() -> bool:
    return _lookup()[0] is not None


_GEMM_NAMES = {
    "s": ("scipy_cblas_sgemm64_", "cblas_sgemm64_", "cblas_sgemm"),
    "d": ("scipy_cblas_dgemm64_", "cblas_dgemm64_", "cblas_dgemm"),
}
_gemm: dict[str, int] | None = None


def gemm_addresses() -> dict[str, int] | None:
    """Addresses of the CBLAS sgemm ("s") and dgemm ("d") in NumPy's BLAS, or None without both."""
    global _gemm
    with _lock:
        if _gemm is None:
            _gemm = {}
            for path in libraries():
                try:
                    lib = ctypes.CDLL(path)
                except OSError:
                    continue
                found: dict[str, int] = {}
                for kind, names in _GEMM_NAMES.items():
                    for name in names:
                        fn = getattr(lib, name, None)
                        address = None if fn is None else ctypes.cast(fn, ctypes.c_void_p).value
                        if address:
                            found[kind] = address
                            break
                if len(found) == 2:
                    _gemm = found
                    break
        return _gemm or None

