"""Single-precision BLAS and LAPACK routines called on sub-blocks of a matrix, without copies.

scipy's ``scipy.linalg.blas``/``lapack`` wrappers take whole contiguous arrays: a sub-block of a
larger matrix (a panel, a block of the trailing matrix) is copied in and out. The blocked LU in
``linalg`` works on sub-blocks of one n x n buffer in place, so it calls the same routines
(scipy's bundled OpenBLAS, through the function pointers scipy exports for Cython in
``scipy.linalg.cython_blas``/``cython_lapack``) with a pointer and a leading dimension, as
LAPACK itself does. Every argument is passed by reference (the Fortran convention).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.linalg import cython_blas, cython_lapack

_capsule_name = ctypes.pythonapi.PyCapsule_GetName
_capsule_name.restype = ctypes.c_char_p
_capsule_name.argtypes = [ctypes.py_object]
_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def _routine(module: Any, name: str, nargs: int) -> Callable[..., None]:
    capsule = module.__pyx_capi__[name]
    address = _capsule_pointer(capsule, _capsule_name(capsule))
    return ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * nargs))(address)


_sgemm = _routine(cython_blas, "sgemm", 13)
_strsm = _routine(cython_blas, "strsm", 11)
_sgetrf = _routine(cython_lapack, "sgetrf", 6)
_slaswp = _routine(cython_lapack, "slaswp", 7)


def _int(v: int) -> Any:
    return ctypes.byref(ctypes.c_int(v))


def _float(v: float) -> Any:
    return ctypes.byref(ctypes.c_float(v))


def _char(c: str) -> Any:
    return ctypes.c_char_p(c.encode("ascii"))


class Matrix:
    """A Fortran-ordered float32 square matrix, addressed by (row, column) of its sub-blocks."""

    def __init__(self, a: np.ndarray):
        if a.dtype != np.float32 or not a.flags.f_contiguous or a.shape[0] != a.shape[1]:
            raise ValueError("expected a square Fortran-ordered float32 matrix")
        self.a = a  # keeps the memory alive while pointers into it are in use
        self.n = a.shape[0]
        self._base = a.ctypes.data

    def at(self, i: int, j: int) -> ctypes.c_void_p:
        """A pointer to element (i, j)."""
        return ctypes.c_void_p(self._base + 4 * (i + j * self.n))

    def getrf(self, i: int, m: int, k: int, ipiv: np.ndarray) -> int:
        """LU with partial pivoting of the m x k panel at (i, i); ``ipiv`` gets its k pivots.

        Pivots are 1-based and relative to row i, as LAPACK returns them. Returns LAPACK's info.
        """
        info = ctypes.c_int(0)
        pivots = ctypes.c_void_p(ipiv.ctypes.data)
        _sgetrf(_int(m), _int(k), self.at(i, i), _int(self.n), pivots, ctypes.byref(info))
        return info.value

    def laswp(self, col: int, ncols: int, k1: int, k2: int, ipiv: np.ndarray) -> None:
        """Apply the row interchanges ipiv[k1 - 1 : k2] (1-based, global) to ``ncols`` columns."""
        pivots = ctypes.c_void_p(ipiv.ctypes.data)
        _slaswp(_int(ncols), self.at(0, col), _int(self.n), _int(k1), _int(k2), pivots, _int(1))

    def trsm_lower_unit(self, i: int, k: int, col: int, ncols: int) -> None:
        """B := L^-1 B for the unit lower triangle L (k x k at (i, i)), B the k x ncols at (i, col)."""
        one = _float(1.0)
        n = _int(self.n)
        _strsm(
            _char("L"), _char("L"), _char("N"), _char("U"), _int(k), _int(ncols), one,
            self.at(i, i), n, self.at(i, col), n,
        )  # fmt: skip

    def gemm_update(self, i: int, m: int, p: int, k: int, col: int, ncols: int) -> None:
        """C -= A B: C the m x ncols block at (i, col), A m x k at (i, p), B k x ncols at (p, col)."""
        n = _int(self.n)
        _sgemm(
            _char("N"), _char("N"), _int(m), _int(ncols), _int(k), _float(-1.0),
            self.at(i, p), n, self.at(p, col), n, _float(1.0), self.at(i, col), n,
        )  # fmt: skip
