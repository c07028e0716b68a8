"""Linear algebra for input-output models: factorise I - A once, solve for every right-hand side.

The Leontief inverse is never formed for footprints. ``I - A`` is factorised once per matrix
and the factors are reused for every solve, plain or transposed:

- block-diagonal matrices (one region's technology, as in EEBT) get one small LU per block;
- large matrices get a single-precision LU refined to double precision against the
  double-precision matrix (mixed-precision iterative refinement), which halves both the time
  and the memory of the factorisation; it is computed by a blocked LU of our own (see
  ``blocked_getrf``) so that BLAS's work buffer stays small;
- small matrices get a double-precision LU.

The inverse itself is produced only when a model names ``leontief(A)`` alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from . import rawblas

# Pivots below this, relative to the largest, mean I - A is singular to working precision.
SINGULAR_RTOL = 1e-13
# From this size on, factorise in single precision and refine (see the module docstring).
MIXED_PRECISION_MIN = 1500
CORRECTION_RTOL = 1e-6
SOLVE_BATCH = 64  # right-hand sides solved (and refined) together
REFINE_MAX_STEPS = 8
LU_PANEL = 256  # columns the blocked LU factorises together
# Trailing-matrix columns per BLAS call of the blocked LU: OpenBLAS packs the block it multiplies
# into a work buffer that stays resident, 4 bytes x LU_PANEL x this many columns (2 MiB).
LU_UPDATE_COLUMNS = 2048

# (rows, their diagonal block, A[rows, :] in float64); with True, chunks of a few MB at most
RowBlocks = Callable[[bool], Iterator[tuple[slice, slice, np.ndarray]]]


class SingularSystem(ArithmeticError):
    """I - A cannot be factorised; ``columns`` are the flat indices of the offending columns."""

    def __init__(self, message: str, columns: list[int]):
        super().__init__(message)
        self.columns = columns


@dataclass
class Factors:
    """The factors of I - A or of its transpose (see ``factorize_buffer``), with how to refine."""

    n: int
    lu: list[np.ndarray]  # one LU per diagonal block (a single block when not block-diagonal)
    piv: list[np.ndarray]
    blocks: list[slice]
    rows: RowBlocks | None = None  # A by rows, for residuals when the LU is single precision
    of_transpose: bool = True  # the LU is of (I - A)^T; False: of I - A

    def trans(self, transposed: bool) -> int:
        """LAPACK's ``trans`` for a solve with (I - A)^T (``transposed``) or with I - A."""
        return 0 if transposed == self.of_transpose else 1

    @property
    def mixed(self) -> bool:
        """Whether the LU is single precision (and solves are refined)."""
        return self.lu[0].dtype == np.float32


def _lapack(
    dtype: np.dtype,
) -> tuple[Callable[..., tuple[np.ndarray, ...]], Callable[..., tuple[np.ndarray, int]]]:
    if dtype == np.float32:
        return sla.lapack.sgetrf, sla.lapack.sgetrs
    return sla.lapack.dgetrf, sla.lapack.dgetrs


def _check(lu: np.ndarray, offset: int) -> None:
    diag = np.abs(np.diag(lu)).astype(float)
    scale = float(diag.max()) if diag.size else 1.0
    bad = np.flatnonzero(
        diag <= SINGULAR_RTOL * max(scale, 1e-300) * (1e6 if lu.dtype == np.float32 else 1)
    )
    if bad.size:
        raise SingularSystem("I - A is singular", [int(i) + offset for i in bad])


def factorize_buffer(
    mt: np.ndarray, blocks: list[slice], rows: RowBlocks | None, of_transpose: bool = True
) -> Factors:
    """Factorise I - A, given in a C-ordered n x n buffer ``mt``, in place.

    ``mt``'s transpose is a Fortran array, which LAPACK factorises in place with no copy. With
    ``of_transpose`` (the default), ``mt`` holds I - A row by row, so we hold the LU of
    (I - A)^T and swap ``trans`` when solving; otherwise ``mt`` holds (I - A)^T and we hold the
    LU of I - A. Which one matters for time only: OpenBLAS's ``sgetrs`` is two to three times
    faster with trans=1 (see ``Executor.factors_for``). ``blocks`` lists diagonal blocks when
    the matrix is block-diagonal (only those parts of ``mt`` are used).

    Raises:
        SingularSystem: a zero or negligible pivot, naming the columns.
    """
    n = mt.shape[0]
    getrf, _ = _lapack(mt.dtype)
    check_rcond = mt.dtype == np.float64 and len(blocks) == 1
    # The 1-norm of mt^T (the factorised matrix), which dgecon needs, is mt's largest row sum.
    norm = float(np.abs(mt).sum(axis=1).max()) if check_rcond and n else 1.0
    lus, pivs = [], []
    for b in blocks:
        sub = mt[b, b] if len(blocks) > 1 else mt
        ft = np.asfortranarray(sub.T) if len(blocks) > 1 else sub.T
        if ft.dtype == np.float32 and ft.shape[0] > LU_PANEL:
            lu = ft
            piv, info = blocked_getrf(ft)
        else:
            lu, piv, lapack_info = getrf(ft, overwrite_a=True)
            info = int(lapack_info)
        if info > 0:
            raise SingularSystem("I - A is singular", [b.start + info - 1])
        _check(lu, b.start)
        lus.append(lu)
        pivs.append(piv)
    f = Factors(n, lus, pivs, blocks, rows if mt.dtype == np.float32 else None, of_transpose)
    if check_rcond:
        rcond, _ = sla.lapack.dgecon(lus[0], norm, norm="1")
        if rcond < np.finfo(float).eps:
            worst = [int(i) for i in np.argsort(np.abs(np.diag(lus[0])))[:3]]
            raise SingularSystem(
                f"I - A is ill-conditioned (reciprocal condition number {rcond:.2e})", worst
            )
    return f


def blocked_getrf(ft: np.ndarray) -> tuple[np.ndarray, int]:
    """LU with partial pivoting of the Fortran-ordered float32 matrix ``ft``, in place.

    The right-looking blocked algorithm of LAPACK's ``sgetrf``, with the same factors and
    pivots (up to rounding): factorise a panel of ``LU_PANEL`` columns, swap its pivot rows
    across the matrix, then update the trailing matrix. LAPACK (OpenBLAS) updates the whole
    trailing matrix in one call, and OpenBLAS packs up to ~9,800 of its columns at once into
    a work buffer that then stays resident (17.5 MiB at 9,800 sectors, on top of the factors);
    here each call updates ``LU_UPDATE_COLUMNS`` columns, which costs no measurable time.

    Returns:
        The pivots as scipy's ``getrf`` returns them (0-based) and LAPACK's info (> 0: the
        1-based column of the first exactly zero pivot).
    """
    m = rawblas.Matrix(ft)
    n = m.n
    ipiv = np.zeros(n, dtype=np.int32)
    info = 0
    for j in range(0, n, LU_PANEL):
        jb = min(LU_PANEL, n - j)
        panel_info = m.getrf(j, n - j, jb, ipiv[j : j + jb])
        if panel_info > 0 and info == 0:
            info = j + panel_info
        ipiv[j : j + jb] += j  # LAPACK's pivots are relative to the panel
        m.laswp(0, j, j + 1, j + jb, ipiv)  # the rows of L to the left
        rest = n - j - jb
        if rest:
            m.laswp(j + jb, rest, j + 1, j + jb, ipiv)
            for c in range(j + jb, n, LU_UPDATE_COLUMNS):
                w = min(LU_UPDATE_COLUMNS, n - c)
                m.trsm_lower_unit(j, jb, c, w)  # the panel's rows of U
                m.gemm_update(j + jb, rest, j, jb, c, w)  # the Schur complement
    ipiv -= 1
    return ipiv, info


def _raw_solve(
    f: Factors, rhs: np.ndarray, transposed: bool, out: np.ndarray | None = None
) -> np.ndarray:
    """One pass through the LU (in its own precision); rhs is n x k. ``out`` may be ``rhs``."""
    out = np.empty(rhs.shape, dtype=np.float64) if out is None else out
    _, getrs = _lapack(f.lu[0].dtype)
    trans = f.trans(transposed)
    for lu, piv, b in zip(f.lu, f.piv, f.blocks, strict=True):
        part = np.array(rhs[b], dtype=lu.dtype, order="F")  # our copy: solved in place
        x, info = getrs(lu, piv, part, trans=trans, overwrite_b=True)
        if info != 0:  # pragma: no cover - getrs only fails on malformed arguments
            raise ArithmeticError(f"LAPACK getrs failed (info={info})")
        out[b] = x
    return out


def _lu_solve(f: Factors, part: np.ndarray, transposed: bool) -> None:
    """Overwrite ``part`` (n x k, Fortran-ordered, the LU's precision) with its solution."""
    _, getrs = _lapack(f.lu[0].dtype)
    trans = f.trans(transposed)
    whole = len(f.blocks) == 1
    for lu, piv, b in zip(f.lu, f.piv, f.blocks, strict=True):
        # One block: solved in place. Several: each block's rows are strided, so getrs copies.
        x, info = getrs(lu, piv, part if whole else part[b], trans=trans, overwrite_b=True)
        if info != 0:  # pragma: no cover - getrs only fails on malformed arguments
            raise ArithmeticError(f"LAPACK getrs failed (info={info})")
        if not whole or not np.shares_memory(x, part):
            part[b] = x


def _subtract_applied(f: Factors, r: np.ndarray, v: np.ndarray, transposed: bool) -> None:
    """r -= (I - A) v (or its transpose), from A's rows in double precision, in place.

    With ``r`` the right-hand sides and ``v`` an approximate solution, ``r`` becomes the
    residual; with ``r`` a residual and ``v`` a correction, the next residual.
    """
    assert f.rows is not None
    np.subtract(r, v, out=r)
    if transposed:
        # r += A[rows, :]^T v[rows], accumulated in place by BLAS (beta = 1): no temporary.
        for rows, _, a in f.rows(True):
            out = sla.blas.dgemm(1.0, a.T, v[rows], beta=1.0, c=r, overwrite_c=True)
            if not np.shares_memory(out, r):  # pragma: no cover - r is Fortran-ordered
                r[...] = out
    else:
        for rows, _, a in f.rows(True):
            r[rows] += a @ v


def _absmax(a: np.ndarray) -> float:
    """max |a| without an |a| temporary (as large as ``a``)."""
    return max(float(a.max()), -float(a.min())) if a.size else 0.0


def _absmax_sum(a: np.ndarray, b: np.ndarray) -> float:
    """max |a + b| in float64, a column at a time (no temporary as large as ``a``)."""
    out = 0.0
    column = np.empty(a.shape[0])
    for j in range(a.shape[1]):
        np.add(a[:, j], b[:, j], out=column, dtype=np.float64)
        out = max(out, _absmax(column))
    return out


def _recast(dst: np.ndarray, src: np.ndarray) -> None:
    """dst[...] = src, where src and dst overlap as in ``_refine``'s work buffer.

    Column j of either is written only after the columns of the other it overlaps have been
    read: taken in increasing order, column j of a float64 view over the whole buffer overlaps
    float32 columns at most j of its second half (and column j of a float32 view over the
    first half, float64 columns at most j / 2). numpy buffers a column that overlaps itself.
    """
    for j in range(dst.shape[1]):
        dst[:, j] = src[:, j]


def _refine(f: Factors, b: np.ndarray, work: np.ndarray, transposed: bool) -> None:
    """Overwrite ``b`` (n x k float64 right-hand sides) with the refined solution.

    ``work`` is a flat array in the LU's precision (float32) of 2 n k entries: as much memory
    as b. ``b`` becomes the residual r = b - (I - A) x0 (the solve does not need b again);
    ``work`` holds the first solution x0 in its first half and the correction dx, solved from
    r, in its second, and x = x0 + dx is written into b. The transposed residual takes x0 a
    few rows at a time (BLAS converts them to float64); the plain one needs all of x0 in
    float64 for every block of A's rows, so x0 is widened over the whole of ``work`` for it,
    then narrowed back (exactly: its values are float32). In practice one correction suffices;
    a further one updates the residual by the correction (r -= (I - A) dx), as b itself is
    gone, and needs x in float64 (allocated then).
    """
    n, k = b.shape
    x0 = work[: n * k].reshape((n, k), order="F")
    dx = work[n * k : 2 * n * k].reshape((n, k), order="F")
    if transposed:
        x0[...] = b
        _lu_solve(f, x0, transposed)
        _subtract_applied(f, b, x0, transposed)
    else:
        dx[...] = b
        _lu_solve(f, dx, transposed)
        wide = work.view(np.float64).reshape((n, k), order="F")
        _recast(wide, dx)
        _subtract_applied(f, b, wide, transposed)
        _recast(x0, wide)
    dx[...] = b
    _lu_solve(f, dx, transposed)
    if _absmax(dx) <= CORRECTION_RTOL * max(_absmax_sum(x0, dx), 1e-300):
        np.add(x0, dx, out=b, dtype=np.float64)
        return
    # Further corrections (an ill-conditioned I - A): x in float64 from now on.
    x = np.add(x0, dx, dtype=np.float64)
    for _ in range(REFINE_MAX_STEPS - 1):
        _subtract_applied(f, b, dx if transposed else dx.astype(np.float64), transposed)
        dx[...] = b
        _lu_solve(f, dx, transposed)
        x += dx
        if _absmax(dx) <= CORRECTION_RTOL * max(_absmax(x), 1e-300):
            b[...] = x
            return
    raise SingularSystem("I - A is too ill-conditioned for the refined solve to converge", [])


def solve(f: Factors, rhs: np.ndarray, transposed: bool) -> np.ndarray:
    """Solve (I - A) x = rhs, or (I - A)^T x = rhs (``transposed``), for n x k ``rhs``.

    A float64 ``rhs`` is overwritten with the solution and returned (solved in place).

    With a single-precision LU, each refinement step computes the residual in double precision
    and corrects x. The step's relative size estimates the convergence factor: once a
    correction is below ``CORRECTION_RTOL`` of x, the next one would be below its square, far
    under the 1e-9 the accounts need, so we stop without computing another residual.
    Right-hand sides are refined ``SOLVE_BATCH`` at a time, with one set of work arrays
    (one batch wide, see ``_refine``) reused by every batch: nothing else is allocated.
    """
    rhs = np.asarray(rhs, dtype=np.float64)
    if not f.mixed or f.rows is None:
        return _raw_solve(f, rhs, transposed, out=rhs)
    if rhs.ndim == 1:
        solve(f, rhs[:, None], transposed)
        return rhs
    n, k = rhs.shape
    width = min(k, SOLVE_BATCH)
    work = np.empty(2 * n * width, dtype=f.lu[0].dtype)  # see _refine
    # The transposed residual is accumulated by BLAS, which needs Fortran order; the executor
    # passes Fortran-ordered right-hand sides for transposed solves, so this copy is for others.
    staged = np.empty((n, width), order="F") if transposed and not rhs.flags.f_contiguous else None
    for j in range(0, k, width):
        w = min(width, k - j)
        b = rhs[:, j : j + w]
        if staged is not None:
            staged[:, :w] = b
        _refine(f, b if staged is None else staged[:, :w], work[: 2 * n * w], transposed)
        if staged is not None:
            b[...] = staged[:, :w]
    return rhs


def inverse(f: Factors) -> np.ndarray:
    """(I - A)^-1, as the solve against the identity (only for models that ask for L by name)."""
    return solve(f, np.eye(f.n), transposed=False)


# --- iterative solves for large systems with few right-hand sides --------------------------

ITERATIVE_MIN_N = 3000  # below this, a dense LU is as cheap as anything
ITERATIVE_MAX_RHS = 32  # above this, one LU reused for every right-hand side wins
JACOBI_RTOL = 1e-13
JACOBI_MAX_DENSITY = 0.25  # denser trade blocks make a dense LU the better choice
JACOBI_MAX_SWEEPS = 300


class NotSparse(ValueError):
    """The trade blocks are too dense for the iterative solver to pay off."""


@dataclass
class BlockJacobi:
    """I - A split into its diagonal blocks D (one per region, factorised) and the rest O.

    Solves iterate x <- (I - D)^-1 (b + O x) (or the transposed form). With the dominant
    domestic blocks of real MRIO tables this converges in a few tens of sweeps, each costing
    one sparse product with O: far cheaper than a dense LU when only a few right-hand sides
    are needed (footprints: one per stressor).
    """

    n: int
    blocks: list[slice]
    lus: list[tuple[np.ndarray, np.ndarray]]
    off: object  # scipy.sparse.csr_matrix of O

    @classmethod
    def build(cls, n: int, rows: RowBlocks) -> BlockJacobi:
        """Read A block-row by block-row: factorise I - A_rr, keep the rest as CSR arrays."""
        import scipy.sparse as sp

        blocks: list[slice] = []
        lus: list[tuple[np.ndarray, np.ndarray]] = []
        data, indices, counts = [], [], []
        for sl, _, chunk in rows(False):
            block = np.eye(sl.stop - sl.start) - chunk[:, sl]
            lu, piv, info = sla.lapack.dgetrf(block, overwrite_a=True)
            if info > 0:
                raise SingularSystem("I - A is singular", [sl.start + info - 1])
            _check(lu, sl.start)
            blocks.append(sl)
            lus.append((lu, piv))
            rest = chunk.copy()
            rest[:, sl] = 0.0  # the trade (off-diagonal) part only
            flat = np.flatnonzero(rest)
            if flat.size > JACOBI_MAX_DENSITY * rest.size:
                raise NotSparse(f"trade blocks are {flat.size / rest.size:.0%} full")
            r, c = np.divmod(flat, n)
            chunk = rest
            data.append(chunk[r, c])
            indices.append(c.astype(np.int32))
            counts.append(np.bincount(r, minlength=sl.stop - sl.start))
        indptr = np.concatenate([[0], np.cumsum(np.concatenate(counts))]).astype(np.int64)
        off = sp.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr), shape=(n, n))
        return cls(n, blocks, lus, off)

    def _block_solve(self, b: np.ndarray, transposed: bool) -> np.ndarray:
        out = np.empty_like(b)
        for (lu, piv), sl in zip(self.lus, self.blocks, strict=True):
            x, _ = sla.lapack.dgetrs(lu, piv, b[sl], trans=1 if transposed else 0)
            out[sl] = x
        return out

    def solve(self, rhs: np.ndarray, transposed: bool) -> np.ndarray:
        """Solve (I - A) x = rhs or (I - A)^T x = rhs for n x k ``rhs``.

        Raises:
            SingularSystem: the iteration does not converge (the blocks do not dominate).
        """
        rhs = np.asarray(rhs, dtype=np.float64)
        off = self.off.T if transposed else self.off  # type: ignore[attr-defined]
        x = self._block_solve(rhs, transposed)
        previous = np.inf
        for sweep in range(1, JACOBI_MAX_SWEEPS + 1):
            new = self._block_solve(rhs + off @ x, transposed)
            change = float(np.abs(new - x).max())
            x = new
            scale = max(float(np.abs(x).max()), 1e-300)
            if change <= JACOBI_RTOL * scale:
                return x
            if sweep > 5 and change > 0.7 * previous:
                break  # converging too slowly to beat a dense LU: let the caller factorise
            previous = change
        raise SingularSystem("the block-Jacobi iteration on I - A does not converge", [])
