"""The CBLAS GEMM of NumPy's own BLAS, callable from compiled loops (no GIL, no NumPy call).

A layer's whole share of a batch (gather patches, GEMM, scatter) then runs as one compiled call:
the ~4 us NumPy spends around each ``np.matmul`` (hundreds of block GEMMs a step) is gone, and a
helper thread does not wait for the GIL between blocks.

The function is looked up in the library NumPy loaded (found as in ``blas``): OpenBLAS as NumPy's
wheels ship it (``scipy_cblas_sgemm64_``), or any BLAS exporting ``cblas_sgemm``. Its address is
given to LLVM under a fixed name, so compiled code cached on disk finds it again in the next
process. Integers are passed as 64-bit: right for the ILP64 OpenBLAS of the wheels, and, as every
argument of a C call travels in a full register or 8-byte stack slot on x86-64 and arm64, read
correctly by an LP64 library as long as the sizes fit 31 bits.

``available()`` is False when no such function is found: the layers then take the reference path.
"""

from __future__ import annotations

import llvmlite.binding as llvm
import numba
import numpy as np
from numba import types

from . import blas

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

_ADDRESSES = blas.gemm_addresses()
if _ADDRESSES is not None:
    for _kind, _address in _ADDRESSES.items():
        llvm.add_symbol(f"convlab_cblas_{_kind}gemm", _address)


def available() -> bool:
    return _ADDRESSES is not None


_i, _p = types.int64, types.intp
_sgemm = types.ExternalFunction(
    "convlab_cblas_sgemm",
    types.void(_i, _i, _i, _i, _i, _i, types.float32, _p, _i, _p, _i, types.float32, _p, _i),
)
_dgemm = types.ExternalFunction(
    "convlab_cblas_dgemm",
    types.void(_i, _i, _i, _i, _i, _i, types.float64, _p, _i, _p, _i, types.float64, _p, _i),
)


@numba.njit(nogil=True, cache=True)
def gemm(trans_a, trans_b, m, n, k, a, a_off, lda, b, b_off, ldb, beta, c, c_off, ldc):  # pragma: no cover
    """C[c_off:] = op(A[a_off:]) @ op(B[b_off:]) + beta * C (row-major, offsets in elements).

    a, b and c are flat arrays of one dtype (float32 or float64); op is a transpose when trans_*.
    """
    ta = TRANS if trans_a else NO_TRANS
    tb = TRANS if trans_b else NO_TRANS
    size = a.itemsize
    pa = a.ctypes.data + a_off * size
    pb = b.ctypes.data + b_off * size
    pc = c.ctypes.data + c_off * size
    if size == 4:  # float32
        _sgemm(ROW_MAJOR, ta, tb, m, n, k, np.float32(1.0), pa, lda, pb, ldb, np.float32(beta), pc, ldc)
    else:
        _dgemm(ROW_MAJOR, ta, tb, m, n, k, 1.0, pa, lda, pb, ldb, np.float64(beta), pc, ldc)
