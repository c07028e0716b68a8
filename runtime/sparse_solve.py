"""Solves of I - A for a sparse A (process-based LCA): Gauss-Seidel sweeps, a sparse LU when slow.

An LCA technosphere of ecoinvent's size (25,000 products, about 500,000 exchanges) is far too
large for a dense LU, and a sparse LU fills in badly unless a nested-dissection ordering is at
hand (SciPy's SuperLU with COLAMD takes minutes on such a system). Its I - A, however, is an
M-matrix whose column sums stay well below one, so the splitting

    x <- (b + O x) / d,   d = 1 - diag(A),  O = A - diag(A)

converges geometrically. The runtime sweeps it block by block (block Gauss-Seidel): the rows
are put in a fixed pseudo-random order and cut into ``BLOCKS`` slices, and each slice is
updated from the newest values of the others. That is one sparse product per slice, so a sweep
costs what a Jacobi sweep costs, and it converges at about the square of Jacobi's rate (an
M-matrix's Gauss-Seidel contracts faster than its Jacobi, Stein-Rosenberg). The random order
keeps a database's own ordering, where neighbouring rows are often one supply chain, from
putting a chain inside one slice, where it would be swept Jacobi-style.

What remains is dominated by one mode: a productive A has a real Perron root well above the
rest of its spectrum (on the benchmark system 0.67 against 0.37 and then a bulk within 0.28).
Once the ratio of two successive sweep changes settles (per right-hand side, and per sample),
the solver removes that mode by extrapolation, x += dx mu / (1 - mu), and sweeps on. On the
benchmark system this takes 66 Jacobi sweeps down to 18.

When the sweeps contract too slowly to finish within ``MAX_SWEEPS`` the solver factorises with
SuperLU once and keeps the factors for every later solve. Small systems are densified and
factorised by LAPACK (``linalg``): below ``DENSE_MAX`` that is faster than any of the above.

Right-hand sides are swept in groups of up to ``PART_COLUMNS``, Monte Carlo samples in chunks;
groups and chunks are independent and run on ``threads()`` threads (SciPy's sparse products
release the GIL). The split depends on the sizes only, never on the thread count, so a result
does not depend on the machine.

Monte Carlo samples of A share its pattern. Their solves run as one block-diagonal system per
chunk of samples, ordered so that each slice holds the same rows of every sample: a sweep is
one sparse product per slice for the whole chunk, never a Python loop over samples.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl

from carbonc.runtime import linalg
from carbonc.runtime.larray import Array
from carbonc.runtime.sparse import cached

DENSE_MAX = 1000  # up to this many products, densify and factorise with LAPACK
RTOL = 1e-13  # stop when a sweep changes x by less than this, relative to its largest entry
MAX_SWEEPS = 2000  # beyond this (predicted from the contraction rate), factorise instead
SAMPLE_CHUNK_ENTRIES = 1 << 23  # matrix entries per block-diagonal chunk of samples
BLOCKS = 32  # Gauss-Seidel slices of the rows
MIN_BLOCK_ROWS = 256  # fewer slices for small systems
ORDER_SEED = 1  # the pseudo-random row order is fixed: the same system, the same numbers
AGREEMENT = 0.02  # extrapolate once two estimates of the slowest mode's ratio agree to this
MU_MAX = 0.999  # ... and the ratio is below this (the extrapolation factor is mu / (1 - mu))
PART_COLUMNS = 32  # right-hand sides swept together, at most (a group's work arrays are small)
MIN_PART_COLUMNS = 8  # ... and at least, when there are several groups

T = TypeVar("T")


class SlowConvergence(ArithmeticError):
    """The sweeps would take more than ``MAX_SWEEPS``: a sparse LU is the better choice."""


def threads() -> int:
    """Threads the solver may use: ``CARBONC_THREADS``, else ``OMP_NUM_THREADS``, else the CPUs
    this process may run on."""
    for var in ("CARBONC_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.strip().isdigit() and int(value) > 0:
            return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def group_count(k: int, width: int = PART_COLUMNS) -> int:
    """Into how many groups (of even widths, ``np.array_split``) a solve splits ``k`` columns."""
    return max(1, min(k // MIN_PART_COLUMNS, -(-k // width)))


def side_by_side(k: int, at_most: int) -> int:
    """How many groups of ``k`` columns a solve of more columns can run side by side, up to
    ``at_most`` (the threads), such that its own split gives exactly those groups."""
    if group_count(k) != 1:
        return 1
    t = max(1, min(at_most, threads()))
    while t > 1 and group_count(t * k) != t:
        t -= 1
    return t


def _parallel(fn: Callable[[T], None], items: Iterable[T]) -> None:
    """``fn`` on every item, on up to ``threads()`` threads; the first exception is raised."""
    items = list(items)
    workers = min(threads(), len(items))
    if workers <= 1:
        for item in items:
            fn(item)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(fn, item) for item in items]:
            future.result()


def _bounds(n: int) -> Array:
    """Slice boundaries of ``n`` rows: ``BLOCKS`` slices, fewer for small systems."""
    k = max(1, min(BLOCKS, n // MIN_BLOCK_ROWS))
    return np.linspace(0, n, k + 1).astype(np.int64)


def _pairs(bounds: Array) -> list[tuple[int, int]]:
    """(lo, hi) of each slice."""
    return [(int(lo), int(hi)) for lo, hi in itertools.pairwise(bounds.tolist())]


def _order(n: int) -> Array:
    return np.random.default_rng(ORDER_SEED).permutation(n)


def _positions(perm: Array) -> Array:
    """Where each original row goes: the inverse of ``perm`` (in 32 bits when it fits)."""
    where = np.empty(perm.size, dtype=np.int32 if perm.size < 2**31 else np.int64)
    where[perm] = np.arange(perm.size, dtype=where.dtype)
    return where


def _rows(m: sp.csr_matrix, lo: int, hi: int) -> sp.csr_matrix:
    """Rows lo:hi of ``m`` sharing its arrays. SciPy's slicing copies them, and so does its
    constructor when given a small view of a large array (it prunes the view to free the
    base), so the views are set on an empty matrix of the right shape."""
    start, end = int(m.indptr[lo]), int(m.indptr[hi])
    block = sp.csr_matrix((hi - lo, m.shape[1]), dtype=m.dtype)
    block.indptr = (m.indptr[lo : hi + 1] - start).astype(m.indices.dtype)
    block.indices = m.indices[start:end]
    block.data = m.data[start:end]
    return block


@dataclass(frozen=True)
class Sweeps:
    """x = (b + O x) * inv_diag, rows in solve order, cut into slices for Gauss-Seidel.

    ``samples``: in a block-diagonal system of samples, each slice holds the same number of
    rows of every sample, sample after sample (``_Interleaved``), and the slowest mode is
    estimated per sample; 1 for one system.
    """

    off: sp.csr_matrix
    inv_diag: Array
    bounds: Array
    samples: int = 1

    def run(self, rhs: Array, work: tuple[Array, Array] | None = None) -> tuple[Array, int]:
        """Sweep (n x k) ``rhs`` to ``RTOL``; the solution and the number of sweeps. ``work``:
        arrays for x (float64) and the changes (float32), n x k each, to use instead of new.

        Raises:
            SlowConvergence: the contraction rate predicts more than ``MAX_SWEEPS`` sweeps, or
                the sweeps diverge.
        """
        n, k = rhs.shape
        slices = [
            (lo, hi, _rows(self.off, lo, hi), self.inv_diag[lo:hi, None])
            for lo, hi in _pairs(self.bounds)
        ]
        # delta: the last sweep's changes, for the mode estimate and the extrapolation; each
        # slice's rows are read (the sweep before) and then overwritten (this sweep) in turn,
        # so one buffer serves both sweeps.
        if work is None:
            x, delta = np.empty((n, k)), np.zeros((n, k), dtype=np.float32)
        else:
            x, delta = work
            delta[...] = 0.0
        np.multiply(rhs, self.inv_diag[:, None], out=x)
        mode = _Mode(self.samples, k)
        previous = np.nan
        for sweep in range(1, MAX_SWEEPS + 1):
            change = 0.0
            mode.start()
            for lo, hi, block, inv in slices:
                new = block @ x
                new += rhs[lo:hi]
                new *= inv
                step = new - x[lo:hi]
                if step.size:
                    change = max(change, float(np.abs(step).max()))
                step32 = step.astype(np.float32)
                mode.add(step32, delta[lo:hi])
                delta[lo:hi] = step32
                x[lo:hi] = new
            tol = RTOL * max(float(np.abs(x).max()) if x.size else 0.0, 1e-300)
            if change <= tol:
                return x, sweep
            if sweep >= 10 and previous == previous:  # a rate between two plain sweeps
                rate = change / previous
                if not rate < 1.0 or sweep + np.log(tol / change) / np.log(rate) > MAX_SWEEPS:
                    raise SlowConvergence(f"Gauss-Seidel contraction rate {rate:.3f}")
            factor = mode.update()
            if factor is not None:
                g = self.samples
                for lo, hi, _, _ in slices:
                    rows = x[lo:hi].reshape(g, -1, k)  # a view: the slice, sample by sample
                    rows += delta[lo:hi].reshape(g, -1, k) * factor[:, None]
                previous = np.nan
            else:
                previous = change
        raise SlowConvergence("Gauss-Seidel sweeps did not converge")  # pragma: no cover


@dataclass
class _Mode:
    """The slowest mode's ratio mu per (sample, column): mu = <dx_k, dx_k-1> / <dx_k-1, dx_k-1>
    over successive sweep changes, summed slice by slice during the sweep."""

    samples: int
    k: int
    valid: Array = field(init=False)  # the buffer holds a plain sweep's change
    mu: Array = field(init=False)  # the last estimate (NaN: none)
    sums: Array = field(init=False)  # this sweep's <dx_k, dx_k-1> and <dx_k-1, dx_k-1>
    tracking: bool = field(init=False)

    def __post_init__(self) -> None:
        self.valid = np.zeros((self.samples, self.k), dtype=bool)
        self.mu = np.full((self.samples, self.k), np.nan)
        self.sums = np.zeros((2, self.samples, self.k))
        self.tracking = False

    def start(self) -> None:
        """A new sweep."""
        self.tracking = bool(self.valid.any())
        self.sums[:] = 0.0

    def add(self, step: Array, before: Array) -> None:
        """A slice's rows changed by ``step`` this sweep and by ``before`` the sweep before."""
        if not self.tracking:
            return
        g, k = self.samples, self.k
        b = before.reshape(g, -1, k)
        for i, a in enumerate((step, before)):  # (single precision: a ratio to 2 %)
            self.sums[i] += np.einsum("gij,gij->gj", a.reshape(g, -1, k), b)

    def update(self) -> Array | None:
        """After a sweep: the extrapolation factor mu / (1 - mu) per (sample, column), zero
        where mu has not settled; None when it has settled nowhere."""
        if not self.tracking:
            self.valid[:] = True
            return None
        num, den = self.sums
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = np.where(self.valid & (den > 0), num / den, np.nan)
            settled = (np.abs(mu - self.mu) <= AGREEMENT * np.abs(mu)) & (np.abs(mu) < MU_MAX)
        self.mu = np.where(settled, np.nan, mu)
        self.valid = ~settled
        if not settled.any():
            return None
        return np.where(settled, mu / (1.0 - np.where(settled, mu, 0.0)), 0.0)


def _permuted(a: sp.csr_matrix, perm: Array) -> tuple[sp.csr_matrix, Array]:
    """P A P^T without its diagonal (row and column ``p`` are A's ``perm[p]``), and A's diagonal
    in that order; built by gathering A's rows, so A is never copied whole on the way."""
    n = a.shape[0]
    where = _positions(perm)
    lengths = np.diff(a.indptr)[perm]
    total = int(lengths.sum())
    first = np.cumsum(lengths) - lengths  # where each new row starts
    take = np.repeat(a.indptr[:-1][perm] - first, lengths) + np.arange(total)
    row = np.repeat(np.arange(n, dtype=where.dtype), lengths)
    col = where[a.indices[take]]
    data = np.asarray(a.data[take], dtype=np.float64)
    on_diag = row == col
    diag = np.bincount(row[on_diag], weights=data[on_diag], minlength=n)
    keep = ~on_diag & (data != 0)
    # indptr in the indices' type: SciPy would otherwise copy the indices to match.
    indptr = np.zeros(n + 1, dtype=col.dtype if total < 2**31 else np.int64)
    np.cumsum(np.bincount(row[keep], minlength=n), out=indptr[1:])
    off = sp.csr_matrix((data[keep], col[keep].astype(indptr.dtype), indptr), shape=(n, n))
    return off, diag


@dataclass
class SparseGaussSeidel:
    """I - A for a large sparse A: Gauss-Seidel sweeps, or a SuperLU factorisation once too slow.

    Only the permuted system is kept, in one orientation at a time: ``off`` = P (A - diag A)
    P^T, or its transpose (``transposed``), by rows; ``inv_diag`` = 1 / (1 - diag A) in the
    same order. A solve in the other orientation transposes it (a few milliseconds at 500,000
    entries) rather than holding both.
    """

    n: int
    perm: Array
    off: sp.csr_matrix
    inv_diag: Array
    transposed: bool = False
    lu: Any = field(default=None, repr=False)
    counts: list[int] = field(default_factory=list)  # sweeps of each solve (provenance)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def build(cls, a: sp.csr_matrix) -> SparseGaussSeidel:
        """Order A's rows and columns, and split it into its diagonal and the rest.

        Raises:
            linalg.SingularSystem: a product whose whole output is used by itself (1 - a_ii = 0).
        """
        perm = _order(a.shape[0])
        off, diag = _permuted(sp.csr_matrix(a), perm)
        pivots = 1.0 - diag
        zero = np.abs(pivots) <= linalg.SINGULAR_RTOL
        if zero.any():
            raise linalg.SingularSystem("I - A is singular", sorted(int(i) for i in perm[zero]))
        return cls(a.shape[0], perm, off, 1.0 / pivots)

    def _sweeps(self, transposed: bool) -> Sweeps:
        if transposed != self.transposed:
            self.off = self.off.T.tocsr()
            self.transposed = transposed
        return Sweeps(self.off, self.inv_diag, _bounds(self.n))

    def solve(self, rhs: Array, transposed: bool, out: Array | None = None) -> Array:
        """Solve (I - A) x = rhs, or its transpose, for n x k (or n) ``rhs``; into ``out``
        when given (it may be ``rhs`` itself).

        Raises:
            linalg.SingularSystem: I - A is singular (found by the sparse LU).
        """
        trans = "T" if transposed else "N"
        sweeps = self._sweeps(transposed) if self.lu is None else None

        def one(b: Array, work: tuple[Array, Array] | None) -> tuple[Array, int]:
            if sweeps is not None and self.lu is None:
                try:
                    return sweeps.run(b, work)
                except SlowConvergence:
                    # This group's columns are still its right-hand sides (permuted): the
                    # factors take over from here, for it and for every later solve.
                    with self.lock:
                        if self.lu is None:
                            off = self.off.T if self.transposed else self.off
                            self.lu = _factorize(off, self.inv_diag)
            return np.asarray(self.lu.solve(np.asarray(b), trans=trans)), 0

        return self._in_order(rhs, out, one, PART_COLUMNS if sweeps is not None else None)

    def _in_order(
        self,
        rhs: Array,
        out: Array | None,
        solve: Callable[[Array, tuple[Array, Array] | None], tuple[Array, int]],
        width: int | None,
    ) -> Array:
        """``solve`` in the permuted order, the columns of ``rhs`` in groups of about ``width``
        (None: all at once). Each group reads only its own columns, so ``out`` may be ``rhs``."""
        flat = rhs.reshape(self.n, -1)
        k = flat.shape[1]
        result = np.empty(rhs.shape) if out is None else out
        if k == 0:
            return result
        target = result.reshape(self.n, -1)
        parts = 1 if width is None else group_count(k, width)
        groups = [(int(c[0]), int(c[-1]) + 1) for c in np.array_split(np.arange(k), parts)]
        in_place = out is rhs and rhs.dtype == np.float64
        if in_place:
            # The caller gives its right-hand sides up: permute them in place, and each group
            # sweeps its own columns of them (one array fewer per group during the sweeps).
            flat[...] = flat[self.perm]

        # Groups that run side by side get their work arrays from this thread: a worker
        # thread's own allocations come from a new malloc arena, which keeps them resident.
        side = min(threads(), len(groups)) > 1
        work = {
            g: (np.empty((self.n, g[1] - g[0])), np.empty((self.n, g[1] - g[0]), np.float32))
            for g in (groups if side else ())
        }

        def part(cols: tuple[int, int]) -> None:
            lo, hi = cols
            b = flat[:, lo:hi] if in_place else np.asarray(flat[self.perm, lo:hi], dtype=float)
            x, count = solve(b, work.pop(cols, None))
            del b
            target[self.perm, lo:hi] = x  # (only this group's columns: the others are apart)
            if count:
                self.counts.append(count)

        _parallel(part, groups)
        return result


def _factorize(off: sp.csr_matrix, inv_diag: Array) -> Any:
    """SuperLU of I - A in the solver's order: diag(1 / inv_diag) - off."""
    m = (sp.diags(1.0 / inv_diag) - off).tocsc()
    try:
        return spl.splu(m, permc_spec="MMD_AT_PLUS_A")
    except RuntimeError:
        raise linalg.SingularSystem("I - A is singular", []) from None


def build(a: sp.csr_matrix) -> linalg.Factors | SparseGaussSeidel:
    """The solver for I - a: a dense LU when small, Gauss-Seidel sweeps otherwise.

    Raises:
        linalg.SingularSystem: I - A is singular, naming the columns where that is known.
    """
    n = a.shape[0]
    if n <= DENSE_MAX:
        buf = np.asarray(-a.toarray(), dtype=np.float64)
        buf.flat[:: n + 1] += 1.0
        return linalg.factorize_buffer(buf, [slice(0, n)], None)
    return SparseGaussSeidel.build(a)


@dataclass(frozen=True)
class _Interleaved:
    """The block-diagonal system of ``m`` samples with each slice's rows of every sample
    together: row i of sample s goes to m * lo + s * (hi - lo) + (i - lo), i in slice lo:hi.

    ``take`` picks the big matrix's values, in its CSR order, from the flat (m, nnz) sample
    values; ``indices`` and ``indptr`` are its pattern.
    """

    m: int
    n: int
    bounds: Array
    take: Array
    indices: Array
    indptr: Array

    @classmethod
    def build(
        cls, base: sp.csr_matrix, order: Array, n_data: int, bounds: Array, m: int
    ) -> _Interleaved:
        """From the permuted pattern ``base``, whose k-th stored entry is entry ``order[k]`` of
        a sample's ``n_data`` values."""
        n, nnz = base.shape[0], order.size
        block = np.searchsorted(bounds, np.arange(n), side="right") - 1
        lo, size = bounds[block], np.diff(bounds)[block]
        col, samples = base.indices, np.arange(m)[:, None]
        index_type = np.int32 if m * max(n, nnz) < 2**31 else np.int64
        take, indices, lengths = [], [], []
        row_len = np.diff(base.indptr)
        for b0, b1 in _pairs(bounds):
            e0, e1 = int(base.indptr[b0]), int(base.indptr[b1])
            take.append((samples * n_data + order[None, e0:e1]).reshape(-1))
            c = col[e0:e1]
            indices.append((m * lo[c] + c - lo[c])[None, :] + samples * size[c][None, :])
            lengths.append(np.tile(row_len[b0:b1], m))
        indptr = np.zeros(m * n + 1, dtype=index_type)
        np.cumsum(np.concatenate(lengths), out=indptr[1:])
        return cls(
            m,
            n,
            bounds,
            np.concatenate(take),
            np.concatenate([i.reshape(-1) for i in indices]).astype(index_type),
            indptr,
        )

    def rows(self, a: Array) -> Array:
        """(m, n, ...) per-sample rows in the interleaved order, as (m * n, ...)."""
        return np.concatenate(
            [a[:, lo:hi].reshape(-1, *a.shape[2:]) for lo, hi in _pairs(self.bounds)]
        )

    def unrows(self, x: Array, out: Array) -> None:
        """Write interleaved rows ``x`` back into (m, n, ...) ``out``."""
        for lo, hi in _pairs(self.bounds):
            out[:, lo:hi] = x[self.m * lo : self.m * hi].reshape(self.m, hi - lo, *out.shape[2:])


@dataclass
class _SampledPattern:
    """What the solves over one sampled pattern share, chunk after chunk: the order, where the
    diagonal is, and the interleaved layout of each chunk size (built at once, so the pattern
    cache counts them and threads only read them)."""

    n: int
    perm: Array
    diag_at: Array  # which stored entries are on the diagonal ...
    diag_row: Array  # ... and their rows
    base: sp.csr_matrix  # the off-diagonal pattern, permuted
    order: Array  # base's k-th stored entry is stored entry order[k]
    n_data: int
    bounds: Array
    layouts: dict[int, _Interleaved]  # by the number of samples in a chunk

    @classmethod
    def build(
        cls, index: Array, n: int, transposed: bool, sizes: tuple[int, ...]
    ) -> _SampledPattern:
        """From the sorted flat positions ``index`` of A's stored entries (row * n + col), with
        the layouts of chunks of ``sizes`` samples."""
        rows, cols = np.divmod(index, n)
        if transposed:
            rows, cols = cols, rows
        on_diag = rows == cols
        off_at = np.flatnonzero(~on_diag)
        perm = _order(n)
        where = _positions(perm)
        r, c = where[rows[off_at]], where[cols[off_at]]
        base = sp.csr_matrix((np.arange(1, r.size + 1, dtype=np.float64), (r, c)), shape=(n, n))
        order = off_at[base.data.astype(np.int64) - 1]
        diag_at = np.flatnonzero(on_diag)
        bounds = _bounds(n)
        layouts = {m: _Interleaved.build(base, order, index.size, bounds, m) for m in sizes}
        return cls(n, perm, diag_at, rows[diag_at], base, order, index.size, bounds, layouts)

    @property
    def nbytes(self) -> int:
        """Bytes held (the pattern cache's budget counts them)."""
        arrays = [self.perm, self.diag_at, self.diag_row, self.order, self.base.indices]
        arrays += [self.base.indptr, self.base.data]
        arrays += [a for lay in self.layouts.values() for a in (lay.take, lay.indices, lay.indptr)]
        return sum(int(a.nbytes) for a in arrays)


def solve_sampled(index: Array, data: Array, n: int, rhs: Array, transposed: bool) -> Array:
    """Solve (I - A_s) x_s = b_s for every sample s of a matrix with one pattern.

    Args:
        index: the sorted flat positions (row * n + col) of A's stored entries; the symbolic
            work on them is cached for the run's later chunks (``sparse.cached``).
        data: (samples, nnz) values of A in each sample.
        n: the order of A.
        rhs: (samples, n, k) right-hand sides.
        transposed: solve with (I - A_s)^T.

    Raises:
        linalg.SingularSystem: a sample's I - A has a zero pivot or the sweeps do not converge.
    """
    samples, k = data.shape[0], rhs.shape[2]
    chunk = max(1, min(samples, SAMPLE_CHUNK_ENTRIES // max(index.size, 1)))
    sizes = tuple(sorted({chunk, samples % chunk or chunk}))
    plan = cached(
        (index,),
        ("sampled solve", n, transposed, sizes),
        lambda: _SampledPattern.build(index, n, transposed, sizes),
    )
    diag = np.zeros((samples, n))
    diag[:, plan.diag_row] = data[:, plan.diag_at]  # (positions are unique: one entry a row)
    pivots = 1.0 - diag
    bad = np.abs(pivots) <= linalg.SINGULAR_RTOL
    if bad.any():
        raise linalg.SingularSystem(
            "I - A is singular in some sample",
            sorted({int(i) for i in np.flatnonzero(bad.any(axis=0))}),
        )
    perm, bounds = plan.perm, plan.bounds
    inv_diag = (1.0 / pivots)[:, perm]
    out = np.empty((samples, n, k))

    def run(start: int) -> None:
        lay = plan.layouts[min(chunk, samples - start)]
        m = lay.m
        big = sp.csr_matrix(
            (data[start : start + m].reshape(-1)[lay.take], lay.indices, lay.indptr),
            shape=(m * n, m * n),
        )
        sweeps = Sweeps(big, lay.rows(inv_diag[start : start + m]), m * bounds, m)
        try:
            x, _ = sweeps.run(lay.rows(rhs[start : start + m][:, perm]))
        except SlowConvergence as exc:
            raise linalg.SingularSystem(
                f"the sampled I - A did not converge ({exc}); a sample may not be productive", []
            ) from None
        part = np.empty((m, n, k))
        lay.unrows(x, part)
        out[start : start + m][:, perm] = part

    _parallel(run, range(0, samples, chunk))
    return out
