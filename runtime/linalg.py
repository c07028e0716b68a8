"""Linear algebra for input-output models: factorise I - A once, solve for every right-hand side.

The Leontief inverse is never formed for footprints. A dense LU (LAPACK getrf) is computed once
per matrix and reused for every solve, plain or transposed; the inverse itself is produced only
when a model names ``leontief(A)`` alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

# Pivots below this, relative to the largest, mean I - A is singular to working precision.
SINGULAR_RTOL = 1e-13


class SingularSystem(ArithmeticError):
    """I - A cannot be factorised; ``columns`` are the flat indices of the offending columns."""

    def __init__(self, message: str, columns: list[int]):
        super().__init__(message)
        self.columns = columns


@dataclass(frozen=True)
class Factors:
    """The LU factors of I - A, with what is needed to reuse them."""

    lu: np.ndarray
    piv: np.ndarray
    n: int
    rcond: float


def factorize(a: np.ndarray) -> Factors:
    """Factorise ``I - a`` (``a`` is n x n).

    Raises:
        SingularSystem: a zero (or negligible) pivot, or a reciprocal condition number so small
            that solutions would be meaningless; names the columns responsible.
    """
    n = a.shape[0]
    m = np.eye(n) - a
    norm = float(np.abs(m).sum(axis=0).max()) if n else 0.0
    lu, piv, info = sla.lapack.dgetrf(m)
    diag = np.abs(np.diag(lu))
    scale = float(diag.max()) if n else 1.0
    bad = [int(i) for i in np.flatnonzero(diag <= SINGULAR_RTOL * max(scale, 1e-300))]
    if info > 0 or bad:
        cols = bad or [info - 1]
        raise SingularSystem("I - A is singular", cols)
    rcond, _ = sla.lapack.dgecon(lu, norm, norm="1")
    if rcond < np.finfo(float).eps:
        worst = [int(i) for i in np.argsort(diag)[:3]]
        raise SingularSystem(
            f"I - A is ill-conditioned (reciprocal condition number {rcond:.2e})", worst
        )
    return Factors(lu, piv, n, float(rcond))


def solve(f: Factors, rhs: np.ndarray, transposed: bool) -> np.ndarray:
    """Solve (I - A) x = rhs, or x (I - A) = rhs (``transposed``) for row vectors given as columns."""
    x, info = sla.lapack.dgetrs(f.lu, f.piv, rhs, trans=1 if transposed else 0)
    if info != 0:  # pragma: no cover - dgetrs only fails on malformed arguments
        raise ArithmeticError(f"LAPACK dgetrs failed (info={info})")
    return np.asarray(x)


def inverse(f: Factors) -> np.ndarray:
    """(I - A)^-1, as the solve against the identity (only for models that ask for L by name)."""
    return solve(f, np.eye(f.n), transposed=False)
