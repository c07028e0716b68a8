"""Execute checked IR: each needed definition once, in topological order, vectorised over numpy."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from carbonc.compiler import ir
from carbonc.dsl.span import Span

from . import linalg, sparse_ops, sparse_solve
from .kernels import APPLY, BINARY, REDUCE, SCAN, UNARY
from .larray import SAMPLE, LArray
from .sparse import SPARSE_MIN_CELLS, Sparse

Solver = linalg.Factors | linalg.BlockJacobi | sparse_solve.SparseGaussSeidel

BIG_ELEMENTS = 1 << 20  # arrays this large are freed as soon as possible (see _schedule)
# Arrays from this size up that are cheap functions of the inputs (computing them reads at
# most RECOMPUTE_MAX_READ times their size) are recomputed at every read, not stored.
RECOMPUTE_MIN_ELEMENTS = 1 << 18
RECOMPUTE_MAX_READ = 8
CHUNK_BYTES = 2 << 20  # rows of a lazy matrix are computed in chunks of about this size


def _matrix_key(a: ir.Op) -> object:
    """What identifies a matrix for its cached factors: its definition, or the op itself."""
    return a.qname if isinstance(a, ir.Ref) else id(a)


class SolveError(ArithmeticError):
    """A linear system the model builds cannot be solved; names the offending columns."""

    def __init__(self, message: str, span: Span, columns: list[str]):
        super().__init__(message)
        self.span = span
        self.columns = columns


class Executor:
    """Evaluates IR given loaded data and the choices of this run."""

    def __init__(
        self,
        program_ir: Mapping[str, ir.Op],
        order: list[str],
        labels: Mapping[str, Mapping[str, int]],
        data: Mapping[str, LArray],
        choices: Mapping[str, str],
        factors: dict[object, Solver] | None = None,
    ):
        self.ir = program_ir
        self.order = order
        self.labels = labels
        self.data = data
        self.choices = choices
        self.values: dict[str, LArray] = {}
        # Given factors are shared with other runs of the same matrices (Monte Carlo chunks)
        # and are kept: only factors this executor owns are freed after their last solve.
        self.keep_factors = factors is not None
        self.factors: dict[object, Solver] = factors if factors is not None else {}
        self.iterative: dict[object, bool] = {}  # per matrix: solve by block-Jacobi, not LU
        # Per matrix: most right-hand sides are of transposed solves (s @ leontief(A)).
        self.mostly_transposed: dict[object, bool] = {}
        self.lazy: set[str] = set()  # matrices only ever solved against: never held in full
        self.solved_only: set[str] = set()  # matrices only ever solved against (lazy or not)
        # Large solves read by one definition only, which is evaluated in slices along a dim
        # of the solve's right-hand sides: {solve: (reader, the reader's dim, labels a slice)}.
        self.streamed: dict[str, tuple[str, str, int]] = {}
        self.recomputed: set[str] = set()  # see _recomputable
        self.restrict: dict[str, slice] = {}  # dims evaluated only in part (see eval_rows)
        # Monte Carlo: inputs given with a leading sample axis make every definition that reads
        # them sampled too; the axis flows through every op (see ``larray.SAMPLE``).
        self.n_samples = next((v.shape[0] for v in data.values() if v.sampled), 0)
        self.sampled: set[str] = {q for q, v in data.items() if v.sampled}
        for q in self.sampled:  # a sampled parameter replaces its formula
            if not isinstance(program_ir.get(q), ir.Load):
                self.values[q] = data[q]

    def factors_for(self, a: ir.Op, rows: tuple[str, ...], cols: tuple[str, ...]) -> Solver:
        """The factors of I - a, computed once per matrix and reused by every solve.

        A matrix defined only to be solved against (``A`` in ``leontief(A) @ y``) is never held
        in full: its rows are evaluated a block at a time, straight into the factor buffer, and
        again when a mixed-precision solve needs residuals.
        """
        key = _matrix_key(a)
        if key in self.factors:
            return self.factors[key]
        # A streamed solve asks for its factors while its reader is evaluated in slices; the
        # matrix itself is always whole.
        saved, self.restrict = self.restrict, {}
        try:
            return self._factorise(a, key, rows, cols)
        finally:
            self.restrict = saved

    def _factorise(
        self, a: ir.Op, key: object, rows: tuple[str, ...], cols: tuple[str, ...]
    ) -> Solver:
        n = _flat(self, rows)
        if self.reads_sparse(a):
            matrix = self.evaluate(a)
            if matrix.sparse is not None:
                csr = sparse_ops.to_csr(matrix, rows, cols, self.size)
                del matrix
                try:
                    self.factors[key] = sparse_solve.build(csr)
                except linalg.SingularSystem as exc:
                    labels = self._column_labels(rows, exc.columns)
                    raise SolveError(str(exc), a.span, labels) from None
                if isinstance(a, ir.Ref) and a.qname in self.solved_only - self.sampled:
                    # Every reader solves with it: the solver holds all they need.
                    self.values.pop(a.qname, None)
                return self.factors[key]
        row_blocks = self._row_blocks(a, rows, cols, n)
        if self.iterative.get(key, False) and len(rows) > 1:
            try:
                self.factors[key] = linalg.BlockJacobi.build(n, row_blocks)
                return self.factors[key]
            except linalg.NotSparse:
                self.iterative[key] = False  # factorise below instead
            except linalg.SingularSystem as exc:
                raise SolveError(str(exc), a.span, self._column_labels(rows, exc.columns)) from None
        dtype = np.float32 if n >= linalg.MIXED_PRECISION_MIN else np.float64
        buf = np.empty((n, n), dtype=dtype)
        # OpenBLAS solves with trans=1 two to three times faster than with trans=0 (a single-
        # precision LU at 9,800 sectors: 0.14 s against 0.30 s for 64 right-hand sides), so
        # the LU is of the matrix whose transpose most solves need: (I - A)^T when most are
        # plain (leontief(A) @ y), I - A when most are transposed (s @ leontief(A)).
        of_transpose = dtype == np.float64 or not self.mostly_transposed.get(key, False)
        blocks = _fill_system(buf, row_blocks, len(rows) > 1, by_rows=of_transpose)
        try:
            self.factors[key] = linalg.factorize_buffer(buf, blocks, row_blocks, of_transpose)
        except linalg.SingularSystem as exc:
            raise SolveError(str(exc), a.span, self._column_labels(rows, exc.columns)) from None
        return self.factors[key]

    def _row_blocks(
        self, a: ir.Op, rows: tuple[str, ...], cols: tuple[str, ...], n: int
    ) -> linalg.RowBlocks:
        """Rows of the matrix in double precision, as (rows, diagonal block, A[rows, :]).

        The diagonal block is one label of the first row dim (a region). With ``fine``, a
        region is split further along the second row dim, so no chunk exceeds ``CHUNK_BYTES``.
        """
        order = (*rows, *cols)
        first = rows[0]
        size = len(self.labels[first])
        per = n // size
        inner = len(self.labels[rows[1]]) if len(rows) == 2 else 1
        lazy = isinstance(a, ir.Ref) and a.qname not in self.values and a.qname in self.lazy
        full = None if lazy else self.evaluate(a)
        fine_rows = max(1, CHUNK_BYTES // max(1, 8 * n))

        def blocks(fine: bool) -> Any:
            step = min(inner, fine_rows) if fine and len(rows) == 2 else inner
            for i in range(size):
                block = slice(i * per, (i + 1) * per)
                for j in range(0, inner, step):
                    k = min(inner, j + step)
                    sl = slice(i * per + j * (per // inner), i * per + k * (per // inner))
                    if full is not None:
                        part = full.aligned(order)[i : i + 1]
                        if len(rows) == 2:
                            part = part[:, j:k]
                        yield sl, block, np.asarray(part, dtype=float).reshape(-1, n)
                        continue
                    assert isinstance(a, ir.Ref)
                    restrict = {first: slice(i, i + 1)}
                    if len(rows) == 2 and step < inner:
                        restrict[rows[1]] = slice(j, k)
                    chunk = self.eval_rows(self.ir[a.qname], restrict)
                    yield sl, block, np.asarray(chunk.aligned(order), dtype=float).reshape(-1, n)

        return blocks

    def cells(self, q: str) -> int:
        """About how many values definition ``q`` holds: its dense size, or for one that reads
        sparse tables, twice their stored cells (a union of patterns) when that is smaller."""
        dense = _flat(self, self.ir[q].dims)
        if not self.reads_sparse(self.ir[q]):
            return dense
        stored = sum(v.sparse.nnz for v in self.data.values() if v.sparse is not None)
        return min(dense, 2 * stored)

    def reads_sparse(self, op: ir.Op) -> bool:
        """Whether ``op`` reads a data table held sparse (so it is evaluated whole, not lazily)."""
        stack = [op]
        seen: set[str] = set()
        while stack:
            o = stack.pop()
            if isinstance(o, ir.Load) and o.qname in self.data:
                if self.data[o.qname].sparse is not None:
                    return True
            elif isinstance(o, ir.Ref) and o.qname not in seen:
                seen.add(o.qname)
                held = self.values.get(o.qname) or self.data.get(o.qname)
                if held is not None:
                    if held.sparse is not None:
                        return True
                    continue
                stack.append(self.ir[o.qname])
            stack.extend(ir.operands(o))
        return False

    def eval_rows(self, op: ir.Op, restrict: dict[str, slice]) -> LArray:
        """Evaluate ``op`` for part of some dims only (``{dim: slice}``), without full-size temporaries."""
        saved = self.restrict
        self.restrict = restrict
        try:
            return self.evaluate(op)
        finally:
            self.restrict = saved

    def size(self, dim: str) -> int:
        """The length of ``dim`` in the current evaluation (a slice of it when restricted)."""
        if dim == SAMPLE:
            return self.n_samples
        sl = self.restrict.get(dim)
        if sl is not None:
            return len(range(*sl.indices(len(self.labels[dim]))))
        return len(self.labels[dim])

    def _column_labels(self, rows: tuple[str, ...], cols: list[int]) -> list[str]:
        shape = tuple(len(self.labels[d]) for d in rows)
        names = {d: list(self.labels[d]) for d in rows}
        out = []
        for c in cols[:5]:
            idx = np.unravel_index(c, shape)
            out.append(", ".join(f"{d}={names[d][int(i)]}" for d, i in zip(rows, idx, strict=True)))
        return out

    def needed(self, roots: Iterable[str]) -> set[str]:
        """The definitions ``roots`` read, following only the ``match`` arms this run takes."""
        seen: set[str] = set()
        stack = [r for r in roots if r in self.ir]
        while stack:
            q = stack.pop()
            if q in seen:
                continue
            seen.add(q)
            stack.extend(self.uses(q)[0])
        return seen

    def uses(self, q: str) -> tuple[set[str], set[str]]:
        """What definition ``q`` reads: (all references, references used only as a matrix to solve)."""
        refs: set[str] = set()
        other: set[str] = set()
        ops = [(self.ir[q], False)]
        while ops:
            op, as_matrix = ops.pop()
            if isinstance(op, ir.Ref):
                refs.add(op.qname)
                if not as_matrix:
                    other.add(op.qname)
            elif isinstance(op, ir.Switch):
                ops.append((self._case(op), False))
            elif isinstance(op, (ir.LeontiefSolve, ir.LeontiefInverse)):
                ops.append((op.a, True))
                if isinstance(op, ir.LeontiefSolve):
                    ops.append((op.rhs, False))
            else:
                ops.extend((o, False) for o in ir.operands(op))
        return refs, refs - other

    def is_sampled(self, op: ir.Op) -> bool:
        """Whether ``op`` reads a sampled value (so its result has the sample axis)."""
        if not self.sampled:
            return False
        stack = [op]
        while stack:
            o = self._live(stack.pop())
            if isinstance(o, (ir.Ref, ir.Load)) and o.qname in self.sampled:
                return True
            stack.extend(ir.operands(o))
        return False

    def mark_sampled(self, need: set[str]) -> None:
        """Find the definitions a sampled input reaches, in dependency order."""
        if not self.sampled:
            return
        for q in self.order:
            if q in need and q not in self.sampled and self.is_sampled(self.ir[q]):
                self.sampled.add(q)

    def _live(self, op: ir.Op) -> ir.Op:
        """``op`` with a choice switch replaced by the case this run takes."""
        return self._case(op) if isinstance(op, ir.Switch) else op

    def _choose_solvers(self, need: set[str]) -> dict[object, bool]:
        """Per matrix: iterate (few right-hand sides on a large system) or factorise once (many)."""
        rhs: dict[object, int] = {}
        transposed: dict[object, int] = {}
        size: dict[object, int] = {}
        for q in need:
            ops = [self.ir[q]]
            while ops:
                op = ops.pop()
                ops.extend(ir.operands(op))
                if isinstance(op, (ir.LeontiefSolve, ir.LeontiefInverse)):
                    key = _matrix_key(op.a)
                    n = _flat(self, op.rows)
                    size[key] = n
                    k = (
                        n
                        if isinstance(op, ir.LeontiefInverse)
                        else _flat(self, tuple(d for d in op.rhs.dims if d not in op.rows))
                    )
                    if isinstance(op, ir.LeontiefSolve) and self.is_sampled(op.rhs):
                        k *= self.n_samples
                    rhs[key] = rhs.get(key, 0) + k
                    if isinstance(op, ir.LeontiefSolve) and op.transposed:
                        transposed[key] = transposed.get(key, 0) + k
        self.mostly_transposed = {key: 2 * transposed.get(key, 0) > rhs[key] for key in rhs}
        return {
            key: size[key] >= linalg.ITERATIVE_MIN_N and rhs[key] <= linalg.ITERATIVE_MAX_RHS
            for key in rhs
        }

    def run(self, roots: Iterable[str]) -> dict[str, LArray]:
        """Compute ``roots`` and everything they need.

        Each intermediate is dropped as soon as its last reader has run, and a matrix that is
        only ever solved against is never computed in full (see ``factors_for``).
        """
        keep = set(roots)
        need = self.needed(keep)
        self.mark_sampled(need)
        readers: dict[str, int] = dict.fromkeys(need, 0)
        reads: dict[str, set[str]] = {}
        matrix_only = set(need) - keep
        for q in need:
            refs, as_matrix = self.uses(q)
            reads[q] = refs & need
            for dep in reads[q]:
                readers[dep] += 1
            matrix_only -= refs - as_matrix
        self.lazy = {q for q in matrix_only - self.sampled if not self.reads_sparse(self.ir[q])}
        self.solved_only = matrix_only - self.lazy
        self.iterative = self._choose_solvers(need)
        self.streamed = self._streams(need, keep, reads)
        self.recomputed = self._recomputable(need, keep, reads)

        def release(q: str) -> None:
            # A lazy matrix reads its inputs whenever its rows are needed, so it hands its
            # inputs back only when it is released itself. (A loop, not recursion: a closure
            # that calls itself is a reference cycle, and would keep this executor and its
            # arrays alive until the cyclic collector runs.)
            pending = [q]
            while pending:
                for dep in reads[pending.pop()]:
                    readers[dep] -= 1
                    if readers[dep] == 0 and dep not in keep:
                        self.values.pop(dep, None)
                        if not self.keep_factors:
                            self.factors.pop(dep, None)
                        if dep in self.lazy or dep in self.streamed or dep in self.recomputed:
                            pending.append(dep)

        # Overflow, 0/0 and inf - inf give inf or NaN in the results (and assertions catch
        # them); numpy's warnings about them would only be noise on the user's terminal.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            streaming = {reader: (dim, step) for reader, dim, step in self.streamed.values()}
            for q in self._schedule(need, reads):
                if q in self.values or q in self.lazy or q in self.streamed or q in self.recomputed:
                    continue
                if q in streaming:
                    self.values[q] = self._evaluate_sliced(q, *streaming[q])
                else:
                    self.values[q] = self.evaluate(self.ir[q])
                release(q)
        return self.values

    def _streams(
        self, need: set[str], keep: set[str], reads: Mapping[str, set[str]]
    ) -> dict[str, tuple[str, str, int]]:
        """The large solves to stream through their only reader (see ``_evaluate_sliced``).

        A solve with many right-hand sides whose result only feeds a reduction (the domestic
        multipliers M_dom behind D_imp: 245 columns, 18 MiB at 9,800 sectors) need not exist
        whole: its reader is evaluated a slice at a time along a dim that reaches the solve's
        right-hand sides (one stressor: 49 columns), and each slice solves only its columns.
        The slices are one solver batch wide (``linalg.SOLVE_BATCH`` columns, one refinement batch
        of an LU; ``sparse_solve.PART_COLUMNS``, one sweep group of the sparse solver).
        Only readers made of ops that slice cleanly qualify (see ``_slices_cleanly``).
        """
        if self.n_samples:
            return {}
        users: dict[str, list[str]] = {q: [] for q in need}
        for q in need:
            for dep in reads[q]:
                users[dep].append(q)
        out: dict[str, tuple[str, str, int]] = {}
        for p in sorted(need - keep):  # (sorted: the same choice in every run)
            op = self._live(self.ir[p])
            if (
                not isinstance(op, ir.LeontiefSolve)
                or len(users[p]) != 1
                or _flat(self, op.dims) < BIG_ELEMENTS
            ):
                continue
            reader = users[p][0]
            refs = sum(isinstance(o, ir.Ref) and o.qname == p for o in _walk(self.ir[reader]))
            if reader in self.lazy or refs != 1:
                continue  # (a lazy matrix is read by rows; read twice, a slice solved twice)
            if any(r == reader for r, _, _ in out.values()):
                continue  # one streamed solve per reader: its slices follow one dim
            columns = _flat(self, tuple(d for d in op.dims if d not in op.rows))
            # One solver batch per slice: a refinement batch of an LU, a sweep group of the
            # sparse solver.
            swept = self.reads_sparse(op.a)
            batch = sparse_solve.PART_COLUMNS if swept else linalg.SOLVE_BATCH
            best: tuple[int, str, int] | None = None
            for dim in self.ir[reader].dims:
                at = _slices_cleanly(self, self.ir[reader], dim, p)
                if at is None or at in op.rows or _slices_cleanly(self, op.rhs, at, None) is None:
                    continue
                labels = len(self.labels[dim])
                step = max(1, batch // max(1, columns // labels))
                slices = -(-labels // step)
                step = -(-labels // slices)  # as many slices, of even widths
                if swept:
                    # With threads, a slice holds several sweep groups that run side by side;
                    # the groups are the same as on one thread, and so are the numbers.
                    step *= sparse_solve.side_by_side(step * (columns // labels), slices)
                    slices = -(-labels // step)
                if slices > 1 and (best is None or slices < best[0]):
                    best = (slices, dim, step)
            if best is not None:
                out[p] = (reader, best[1], best[2])
        return out

    def _recomputable(
        self, need: set[str], keep: set[str], reads: Mapping[str, set[str]]
    ) -> set[str]:
        """Intermediates recomputed at every read instead of stored: cheap functions of inputs.

        Final demand by consuming region (y = sum(Y, over=category), 3.7 MiB at 9,800 sectors)
        would otherwise stay in memory from before the first solve until the last account
        that reads it; recomputing it reads Y (seven times its size, held anyway) in a few
        milliseconds, and a read under a restriction (a slice, a block of rows) computes only
        that part. Candidates read only inputs (directly or through renames), through
        element-wise ops and reductions, and are at least ``RECOMPUTE_MIN_ELEMENTS`` large.
        None is read by a lazy matrix, whose every block of rows would compute it again.
        """
        if self.n_samples:
            return set()
        by_lazy = {dep for q in self.lazy for dep in reads.get(q, ())}
        inputs: set[str] = set()  # definitions whose value is an input (or a view of one)
        for q in self.order:
            if q not in need:
                continue
            op = self._live(self.ir[q])
            while isinstance(op, ir.Rename):
                op = self._live(op.x)
            if isinstance(op, ir.Load) or (isinstance(op, ir.Ref) and op.qname in inputs):
                inputs.add(q)
        out: set[str] = set()
        for q in need - keep - inputs - self.lazy - by_lazy - set(self.streamed):
            op = self.ir[q]
            size = _flat(self, op.dims)
            if size < RECOMPUTE_MIN_ELEMENTS:
                continue
            read = 0
            for o in _walk(self._live(op)):
                o = self._live(o)
                if isinstance(o, (ir.Ref, ir.Load)):
                    if isinstance(o, ir.Ref) and o.qname not in inputs:
                        break
                    read += _flat(self, o.dims)
                elif not isinstance(o, _RECOMPUTED_OPS):
                    break
            else:
                if read <= RECOMPUTE_MAX_READ * size:
                    out.add(q)
        return out

    def _evaluate_sliced(self, q: str, dim: str, step: int) -> LArray:
        """``q`` evaluated ``step`` labels of ``dim`` at a time, each slice into one result."""
        op = self.ir[q]
        axis = op.dims.index(dim)
        out: np.ndarray | None = None
        size = len(self.labels[dim])
        for i in range(0, size, step):
            part = self.eval_rows(op, {dim: slice(i, min(size, i + step))})
            if out is None:
                shape = tuple(len(self.labels[d]) for d in op.dims)
                out = np.empty(shape, dtype=part.values.dtype)
            index: list[slice] = [slice(None)] * len(op.dims)
            index[axis] = slice(i, min(size, i + step))
            out[tuple(index)] = part.aligned(op.dims)
        assert out is not None
        return LArray(out, op.dims)

    def _schedule(self, need: set[str], reads: Mapping[str, set[str]]) -> list[str]:
        """A topological order of ``need`` that keeps the largest arrays alive the shortest.

        Among the definitions ready to run, first come those that are the last reader of a
        large array (so it can be freed at once), then linear solves, widest first (the widest
        runs while little else is alive, and its reader then frees it; all solves finish early
        so the factors, the largest array of an input-output run, are freed before the
        element-wise work), then the rest in compile order.
        """
        rank = {q: i for i, q in enumerate(self.order)}
        width = {q: sum(self._rhs_columns(o) for o in _walk(self.ir[q])) for q in need}
        # What a solve reads is as urgent as the solve.
        for q in sorted((q for q in need if width[q]), key=lambda q: width[q]):
            stack = list(reads[q])
            while stack:
                dep = stack.pop()
                if width[dep] < width[q]:
                    width[dep] = width[q]
                    stack.extend(reads[dep])
        big = {q for q in need if _flat(self, self.ir[q].dims) >= BIG_ELEMENTS}
        readers_left = dict.fromkeys(need, 0)
        users: dict[str, list[str]] = {q: [] for q in need}
        for q in need:
            for dep in reads[q]:
                users[dep].append(q)
                readers_left[dep] += 1
        waiting = {q: len(reads[q]) for q in need}

        def key(q: str) -> tuple[int, int, int]:
            if any(readers_left[d] == 1 and d in big for d in reads[q]):
                return (0, 0, rank[q])
            return (1, -width[q], rank[q]) if width[q] else (2, 0, rank[q])

        ready = [q for q, n in waiting.items() if n == 0]
        out: list[str] = []
        while ready:
            q = min(ready, key=key)  # the ready set stays small, and keys change as we go
            ready.remove(q)
            out.append(q)
            for dep in reads[q]:
                readers_left[dep] -= 1
            for user in users[q]:
                waiting[user] -= 1
                if waiting[user] == 0:
                    ready.append(user)
        return out

    def _rhs_columns(self, op: ir.Op) -> int:
        """How many right-hand sides a solve op has (0 for other ops)."""
        if isinstance(op, ir.LeontiefSolve):
            return _flat(self, tuple(d for d in op.rhs.dims if d not in op.rows))
        if isinstance(op, ir.LeontiefInverse):
            return _flat(self, op.rows)
        return 0

    def evaluate(self, op: ir.Op) -> LArray:
        """Evaluate one op tree to a labelled array with exactly ``op.dims``.

        Under a row restriction (``eval_rows``), ops without the restricted dim, and ops that
        couple rows (solves, running sums along it), are evaluated whole; the rest see slices.
        """
        r = self.restrict
        if r:
            kept = {d: sl for d, sl in r.items() if d in op.dims}
            coupled = any(_couples_rows(op, d) for d in kept)
            if coupled or len(kept) != len(r):
                self.restrict = {} if coupled else kept
                try:
                    out = self.evaluate(op)
                finally:
                    self.restrict = r
                return _slice(out, kept) if coupled else out
        out = _EVAL[type(op)](self, op)
        if out.dims != op.dims:
            dims = (SAMPLE, *op.dims) if out.sampled else op.dims
            if out.dims != dims:
                if out.sparse is not None:
                    return sparse_ops.realign(out, dims)
                out = LArray(np.asarray(out.aligned(op.dims)), dims)
        return out

    def _case(self, op: ir.Switch) -> ir.Op:
        value = self.choices[op.choice]
        for label, case in op.cases:
            if label == value:
                return case
        assert op.default is not None
        return op.default


def _fill_system(
    buf: np.ndarray, row_blocks: linalg.RowBlocks, blocked: bool, by_rows: bool
) -> list[slice]:
    """Write I - A (``by_rows``) or (I - A)^T into ``buf`` from A's rows.

    Returns the diagonal blocks when ``blocked`` and A is block-diagonal, else the whole range.
    A function of its own so that no chunk of A outlives the filling (a loop variable would
    stay alive, and resident, through the factorisation).
    """
    n = buf.shape[0]
    diagonal: list[slice] = []
    block_diagonal = blocked
    for sl, block, chunk in row_blocks(True):
        if by_rows:
            np.negative(chunk, out=buf[sl])
        else:
            np.negative(chunk.T, out=buf[:, sl])
        if block_diagonal:  # (any() scans without a temporary copy)
            block_diagonal = not (chunk[:, : block.start].any() or chunk[:, block.stop :].any())
        if not diagonal or diagonal[-1] != block:
            diagonal.append(block)
    buf.flat[:: n + 1] += 1.0
    return diagonal if block_diagonal else [slice(0, n)]


def _binary(ex: Executor, op: ir.Binary) -> LArray:
    if op.op == "*":
        a, b = _zero_preserving(ex, op.a, op.b, either=True)
    else:
        a, b = ex.evaluate(op.a), ex.evaluate(op.b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        kept = _sparse_elementwise(ex, BINARY[op.op], [a, b], op)
        if kept is not None:
            return kept
        v = BINARY[op.op](a.aligned(op.dims), b.aligned(op.dims))
    return LArray.of(_full(v, op, ex), op.dims)


_POINTWISE = (ir.Binary, ir.Where, ir.Apply, ir.Unary, ir.Scale)


def _zero_preserving(
    ex: Executor, first: ir.Op, second: ir.Op, either: bool
) -> tuple[LArray, LArray]:
    """The operands of ``first * second`` (or of ``safe_divide(first, second)``).

    When one operand is sparse with fill 0, the result is zero wherever it stores nothing, so a
    large element-wise operand (``T * where(n > 1, basis, 1)``, whose broadcast of two vectors
    would fill a whole table) is computed only at the stored cells: see ``_fused``.
    """
    big = [o for o in ((first, second) if either else (second,)) if _fusible(ex, o)]
    if not big:
        return ex.evaluate(first), ex.evaluate(second)
    late = big[0]
    early = second if late is first else first
    x = ex.evaluate(early)
    y = _fused(ex, x, late) if x.sparse is not None and x.sparse.fill == 0 else None
    if y is None:
        y = ex.evaluate(late)
    return (y, x) if late is first else (x, y)


def _fusible(ex: Executor, op: ir.Op) -> bool:
    return isinstance(op, _POINTWISE) and not ex.restrict and _flat(ex, op.dims) >= SPARSE_MIN_CELLS


def _fused(ex: Executor, x: LArray, op: ir.Op) -> LArray | None:
    """``op``, an element-wise expression over ``x``'s dims, at the cells sparse ``x`` stores.

    The cells ``x`` does not store are left to ``x``'s zero: the result carries a fill of 1,
    which only a zero-preserving caller (a product or a ``safe_divide`` by it) may use.
    """
    order = sparse_ops.core(x.dims)
    if set(op.dims) != set(order):
        return None
    s = sparse_ops.in_order(x, order)
    values = _at(ex, op, order, s.coords(), s.index)
    if values is None:
        return None
    sampled = values.ndim == 2
    return LArray(Sparse(s.shape, s.index, values, 1.0), (SAMPLE, *order) if sampled else order)


def _at(
    ex: Executor,
    op: ir.Op,
    order: tuple[str, ...],
    coords: tuple[np.ndarray, ...],
    index: np.ndarray,
) -> np.ndarray | None:
    """The element-wise ``op`` evaluated at the cells ``coords`` (flat ``index``) only."""
    parts: list[ir.Op]
    if isinstance(op, ir.Binary):
        f, parts = BINARY[op.op], [op.a, op.b]
    elif isinstance(op, ir.Where):
        f, parts = np.where, [op.cond, op.a, op.b]
    elif isinstance(op, ir.Apply):
        f, parts = APPLY[op.fn], list(op.args)
    elif isinstance(op, ir.Unary):
        f, parts = UNARY[op.op], [op.x]
    elif isinstance(op, ir.Scale):
        factor = op.factor
        inner = _at(ex, op.x, order, coords, index)
        return None if inner is None else inner * factor
    else:
        x = ex.evaluate(op)
        if x.sparse is not None:
            if set(sparse_ops.core(x.dims)) != set(order):
                return None
            return sparse_ops.in_order(x, order).gather(index)
        if not set(sparse_ops.core(x.dims)) <= set(order):
            return None
        return sparse_ops.gather_dense(x, order, coords)
    args = [_at(ex, p, order, coords, index) for p in parts]
    if any(a is None for a in args):
        return None
    return np.asarray(f(*args))


def _sparse_elementwise(
    ex: Executor, f: Callable[..., np.ndarray], args: list[LArray], op: ir.Op
) -> LArray | None:
    """``f`` over ``args`` kept sparse, when one of them is sparse and the result can be."""
    if all(x.sparse is None for x in args):
        return None
    dims = (SAMPLE, *op.dims) if any(x.sampled for x in args) else op.dims
    return sparse_ops.elementwise(f, args, dims, ex.size)


def _couples_rows(op: ir.Op, dim: str) -> bool:
    """Whether rows of ``op`` along ``dim`` depend on other rows (so it cannot be sliced).

    A solve couples its rows, not its right-hand sides: a slice of those solves only them.
    """
    if isinstance(op, ir.LeontiefSolve):
        return dim in op.rows
    if isinstance(op, ir.LeontiefInverse):
        return True
    return isinstance(op, ir.Scan) and op.along == dim


# Ops whose slice along a dim of their result is computed from the same slice of their
# operands, with dims matched by name (a restriction passes straight down; see ``evaluate``).
_SLICE_BY_NAME = (
    ir.Binary,
    ir.Unary,
    ir.Apply,
    ir.Where,
    ir.Expand,
    ir.Scale,
    ir.SumProduct,
    ir.Reduce,
    ir.Select,
)
_SLICED_LEAVES = (ir.Load, ir.Const, ir.Identity, ir.Mask, ir.Assemble)
# Ops a recomputed intermediate may be made of (see Executor._recomputable), with its leaves.
_RECOMPUTED_OPS = (*_SLICE_BY_NAME, ir.Rename, ir.Switch, ir.Const, ir.Identity, ir.Mask)


def _slices_cleanly(ex: Executor, op: ir.Op, dim: str, target: str | None) -> str | None:
    """Whether ``op`` restricted along ``dim`` computes its slice without full-size work.

    Returns the name ``dim`` has where ``op`` reads ``target`` (renames change it), ``dim``
    itself when ``target`` is None or not read, and None when some op on the way does not
    pass the restriction down by name (a contraction over ``dim``, stacks, scans, other
    solves), or reads ``target`` where ``dim`` is not restricted (the whole solve would run for
    every slice).
    """
    names: set[str] = set()
    stack = [(op, dim)]
    while stack:
        o, d = stack.pop()
        o = ex._live(o)
        if d not in o.dims:
            if target is not None and any(
                isinstance(x, ir.Ref) and x.qname == target for x in _walk(o)
            ):
                return None
            continue
        if isinstance(o, ir.Ref):
            if o.qname == target:
                names.add(d)
        elif isinstance(o, ir.Rename):
            inner = [x for x in o.x.dims if dict(o.mapping).get(x, x) == d]
            if len(inner) != 1:
                return None
            stack.append((o.x, inner[0]))
        elif isinstance(o, _SLICE_BY_NAME):
            stack.extend((x, d) for x in ir.operands(o))
        elif isinstance(o, ir.Contract):
            kept = {new: old for old, new in o.renames}.get(d, d)
            if any(kept in pair for pair in o.pairs):
                return None  # the restriction, by name, would also cut a contracted dim
            stack.extend((x, kept) for x in (o.a, o.b))
        elif not isinstance(o, _SLICED_LEAVES):
            return None
    if target is None or not names:
        return dim
    return names.pop() if len(names) == 1 else None


def _slice(x: LArray, r: dict[str, slice]) -> LArray:
    if not any(d in r for d in x.dims):
        return x
    index = tuple(r.get(d, slice(None)) for d in x.dims)
    if x.sparse is not None and not x.sampled:
        return LArray(x.sparse.sliced(index), x.dims)
    return LArray(x.values[index], x.dims)


def _stored(ex: Executor, x: LArray) -> LArray:
    """A stored array, sliced to the current row restriction."""
    return _slice(x, ex.restrict) if ex.restrict else x


def _rename(ex: Executor, op: ir.Rename) -> LArray:
    mapping = dict(op.mapping)
    r = ex.restrict
    if not r:
        x = ex.evaluate(op.x)
    else:
        # A restriction on an output dim applies to the input dim renamed to it.
        ex.restrict = {d: r[mapping.get(d, d)] for d in op.x.dims if mapping.get(d, d) in r}
        try:
            x = ex.evaluate(op.x)
        finally:
            ex.restrict = r
    return LArray(x.raw, tuple(mapping.get(d, d) for d in x.dims))


def _full(v: Any, op: ir.Op, ex: Executor) -> np.ndarray:
    """Broadcast to the op's full shape (a scalar on one side must not shrink the result)."""
    arr = np.asarray(v)
    dims = (SAMPLE, *op.dims) if arr.ndim > len(op.dims) else op.dims
    shape = tuple(ex.size(d) for d in dims)
    return arr if arr.shape == shape else np.broadcast_to(arr, shape)


def _contract(ex: Executor, op: ir.Contract) -> LArray:
    a, b = ex.evaluate(op.a), ex.evaluate(op.b)
    if a.sparse is not None or b.sparse is not None:
        paired_a = {x for x, _ in op.pairs}
        paired_b = {y for _, y in op.pairs}
        kept_dims = tuple(d for d in a.dims if d != SAMPLE and d not in paired_a)
        kept_dims += tuple(d for d in b.dims if d != SAMPLE and d not in paired_b)
        held = sparse_ops.contract(a, b, op.pairs, kept_dims, ex.size)
        if held is not None:
            renames = dict(op.renames)
            return LArray(held.raw, tuple(renames.get(d, d) for d in held.dims))
    letters: dict[tuple[str, str], str] = {}

    def letter(side: str, d: str) -> str:
        return letters.setdefault((side, d), chr(ord("a") + len(letters)))

    for da, db in op.pairs:  # each contracted pair shares one letter
        letters[("b", db)] = letter("a", da)
    letters[("a", SAMPLE)] = letters[("b", SAMPLE)] = "Z"  # samples pair up, never contract
    sa = "".join(letter("a", d) for d in a.dims)
    sb = "".join(letter("b", d) for d in b.dims)
    kept = [("a", d) for d in a.dims if d != SAMPLE and all(d != x for x, _ in op.pairs)]
    kept += [("b", d) for d in b.dims if d != SAMPLE and all(d != y for _, y in op.pairs)]
    if a.sampled or b.sampled:
        kept.insert(0, ("a", SAMPLE))
    renames = dict(op.renames)
    dims = tuple(renames.get(d, d) for _, d in kept)
    out = "".join(letters[k] for k in kept)
    return LArray(np.einsum(f"{sa},{sb}->{out}", a.values, b.values, optimize=True), dims)


def _sum_product(ex: Executor, op: ir.SumProduct) -> LArray:
    a, b = ex.evaluate(op.a), ex.evaluate(op.b)
    if a.sparse is not None or b.sparse is not None:
        summed = {d for d in (*a.dims, *b.dims) if d != SAMPLE and d not in op.dims}
        if summed <= set(a.dims) & set(b.dims):  # a dim summed on one side only: dense
            pairs = tuple((d, d) for d in summed)
            out = tuple(d for d in op.dims if d in a.dims and d not in summed)
            out += tuple(d for d in op.dims if d in b.dims and d not in a.dims)
            kept = sparse_ops.contract(a, b, pairs, out, ex.size)
            if kept is not None:
                return kept
    letters = {d: chr(ord("a") + i) for i, d in enumerate(dict.fromkeys((*a.dims, *b.dims)))}
    spec = "".join(letters[d] for d in a.dims) + "," + "".join(letters[d] for d in b.dims)
    dims = (SAMPLE, *op.dims) if SAMPLE in letters else op.dims
    # No path optimisation: numpy's plain einsum loop needs no transposed copies of the inputs.
    out = np.einsum(f"{spec}->{''.join(letters[d] for d in dims)}", a.values, b.values)
    return LArray(np.asarray(out, dtype=float), dims)


def _walk(op: ir.Op) -> list[ir.Op]:
    out, stack = [], [op]
    while stack:
        o = stack.pop()
        out.append(o)
        stack.extend(ir.operands(o))
    return out


def _flat(ex: Executor, dims: tuple[str, ...]) -> int:
    return int(np.prod([len(ex.labels[d]) for d in dims], dtype=np.int64)) if dims else 1


def _leontief_solve(ex: Executor, op: ir.LeontiefSolve) -> LArray:
    if ex.is_sampled(op.a):
        return _sampled_solve(ex, op)
    n = _flat(ex, op.rows)
    others = tuple(d for d in op.rhs.dims if d not in op.rows)
    if ex.is_sampled(op.rhs):  # samples are more right-hand sides for the same factors
        others = (SAMPLE, *others)
    # The right-hand sides are built (or copied once) as one contiguous array in solve order,
    # then solved in place: a large solve holds the factors plus this array and small batches.
    if op.transposed:
        # Row vectors s over (…, rows): solve (I - A)^T m = s, one column per row vector.
        order = (*others, *op.rows)
        s = _fresh(ex, op.rhs, order)
        _solve(ex, op, s.reshape(-1, n).T, transposed=True)
        return LArray(s, order)
    order = (*op.rows, *others)
    y = _fresh(ex, op.rhs, order)
    _solve(ex, op, y.reshape(n, -1), transposed=False)
    return LArray(y, order)


def _sampled_system(
    ex: Executor, a: LArray, rows: tuple[str, ...], cols: tuple[str, ...]
) -> np.ndarray:
    """I - A for every sample of the evaluated ``a``, as an (samples, n, n) array."""
    n = _flat(ex, rows)
    m = -np.array(a.aligned((SAMPLE, *rows, *cols)), dtype=float)
    m = m.reshape(ex.n_samples, n, n)
    m[:, np.arange(n), np.arange(n)] += 1.0
    return m


def _sampled_solve(ex: Executor, op: ir.LeontiefSolve) -> LArray:
    """A solve whose matrix is uncertain: one factorisation per sample, batched in LAPACK."""
    a = ex.evaluate(op.a)
    if a.sparse is not None:
        return _sampled_sparse_solve(ex, op, a)
    n = _flat(ex, op.rows)
    m = _sampled_system(ex, a, op.rows, op.cols)
    others = tuple(d for d in op.rhs.dims if d not in op.rows and d != SAMPLE)
    rhs = ex.evaluate(op.rhs)
    if op.transposed:
        m = m.transpose(0, 2, 1)
    b = np.broadcast_to(
        rhs.aligned((SAMPLE, *others, *op.rows)),
        (ex.n_samples, *(ex.size(d) for d in (*others, *op.rows))),
    ).reshape(ex.n_samples, -1, n)
    try:
        x = np.linalg.solve(m, b.transpose(0, 2, 1))  # (samples, n, k)
    except np.linalg.LinAlgError:
        raise SolveError("I - A is singular in some sample", op.a.span, []) from None
    shape = tuple(ex.size(d) for d in (*others, *op.rows))
    return LArray(x.transpose(0, 2, 1).reshape(ex.n_samples, *shape), (SAMPLE, *others, *op.rows))


def _sampled_sparse_solve(ex: Executor, op: ir.LeontiefSolve, a: LArray) -> LArray:
    """A solve whose sparse matrix is uncertain: every sample's sweeps at once."""
    n = _flat(ex, op.rows)
    pattern = sparse_ops.in_order(a, (*op.rows, *op.cols))
    values = np.broadcast_to(pattern.data, (ex.n_samples, pattern.nnz))
    others = tuple(d for d in op.rhs.dims if d not in op.rows and d != SAMPLE)
    shape = (ex.n_samples, *(ex.size(d) for d in (*op.rows, *others)))
    rhs = np.broadcast_to(ex.evaluate(op.rhs).aligned((SAMPLE, *op.rows, *others)), shape)
    try:
        x = sparse_solve.solve_sampled(
            pattern.index, values, n, rhs.reshape(ex.n_samples, n, -1), op.transposed
        )
    except linalg.SingularSystem as exc:
        raise SolveError(str(exc), op.a.span, ex._column_labels(op.rows, exc.columns)) from None
    return LArray(x.reshape(shape), (SAMPLE, *op.rows, *others))


def _fresh(ex: Executor, op: ir.Op, order: tuple[str, ...]) -> np.ndarray:
    """``op`` as a new C-contiguous float64 array with axes ``order``, safe to overwrite.

    An element-wise product (the usual right-hand side, e.g. ``S * eye(region)``) is computed
    straight into that layout, so it is never held twice.
    """
    if isinstance(op, ir.Binary) and op.op in ("*", "/", "+", "-"):
        a, b = ex.evaluate(op.a), ex.evaluate(op.b)
        shape = tuple(ex.size(d) for d in order)
        out = np.empty(shape)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            BINARY[op.op](a.aligned(order), b.aligned(order), out=out)
        return out
    return np.array(ex.evaluate(op).aligned(order), dtype=np.float64, order="C")


def _solve(ex: Executor, op: ir.LeontiefSolve, rhs: np.ndarray, transposed: bool) -> None:
    """Overwrite ``rhs`` (n x k) with the solution."""
    x = _solution(ex, op, rhs, transposed)
    if x is not rhs:  # an LU solve works in place; block-Jacobi returns a new array
        rhs[...] = x


def _solution(ex: Executor, op: ir.LeontiefSolve, rhs: np.ndarray, transposed: bool) -> np.ndarray:
    f = ex.factors_for(op.a, op.rows, op.cols)
    if isinstance(f, sparse_solve.SparseGaussSeidel):
        try:
            return f.solve(rhs, transposed, out=rhs)
        except linalg.SingularSystem as exc:
            raise SolveError(str(exc), op.a.span, []) from None
    if isinstance(f, linalg.BlockJacobi):
        try:
            return f.solve(rhs, transposed)
        except linalg.SingularSystem:
            # The blocks do not dominate this table: factorise it after all.
            key = _matrix_key(op.a)
            ex.iterative[key] = False
            ex.factors.pop(key, None)
            f = ex.factors_for(op.a, op.rows, op.cols)
    assert isinstance(f, linalg.Factors)
    try:
        return linalg.solve(f, rhs, transposed)
    except linalg.SingularSystem as exc:
        raise SolveError(str(exc), op.a.span, []) from None


def _leontief_inverse(ex: Executor, op: ir.LeontiefInverse) -> LArray:
    if ex.is_sampled(op.a):
        # Only reached when a model names the inverse L itself; every footprint is a solve.
        try:
            inv = np.linalg.inv(_sampled_system(ex, ex.evaluate(op.a), op.rows, op.cols))
        except np.linalg.LinAlgError:
            raise SolveError("I - A is singular in some sample", op.a.span, []) from None
        shape = tuple(ex.size(d) for d in (SAMPLE, *op.rows, *op.cols))
        return LArray(inv.reshape(shape), (SAMPLE, *op.rows, *op.cols))
    f = ex.factors_for(op.a, op.rows, op.cols)
    shape = tuple(len(ex.labels[d]) for d in (*op.rows, *op.cols))
    if isinstance(f, sparse_solve.SparseGaussSeidel):
        return LArray(f.solve(np.eye(f.n), transposed=False).reshape(shape), (*op.rows, *op.cols))
    assert isinstance(f, linalg.Factors)  # the solver choice gives inverses an LU
    return LArray(linalg.inverse(f).reshape(shape), (*op.rows, *op.cols))


def _identity(ex: Executor, op: ir.Identity) -> LArray:
    return _stored(ex, LArray(np.eye(len(ex.labels[op.dims[0]])), op.dims))


def _reduce(ex: Executor, op: ir.Reduce) -> LArray:
    x = ex.evaluate(op.x)
    if x.sparse is not None and op.fn in ("sum", "mean"):
        summed = sparse_ops.reduce_sum(x, op.over, ex.size, mean=op.fn == "mean")
        if summed is not None:
            return summed
    axes = tuple(x.dims.index(d) for d in op.over)
    kept = tuple(d for d in x.dims if d not in op.over)
    return LArray(np.asarray(REDUCE[op.fn](x.values, axis=axes)), kept)


def _scan(ex: Executor, op: ir.Scan) -> LArray:
    x = ex.evaluate(op.x)
    return LArray(SCAN[op.fn](x.values, axis=x.dims.index(op.along)), x.dims)


def _rollup(ex: Executor, op: ir.Rollup) -> LArray:
    x = ex.evaluate(op.x)
    out = np.array(x.values, dtype=float)
    view = np.moveaxis(out, x.dims.index(op.along), 0)  # a view: writes land in `out`
    for parent, children in op.tree:  # deepest parents first, so children are final
        view[parent] = view[list(children)].sum(axis=0)
    return LArray(out, x.dims)


def _assemble(ex: Executor, op: ir.Assemble) -> LArray:
    values = [(at, ex.evaluate(cell)) for at, cell in op.cells]
    shape = tuple(len(ex.labels[d]) for d in op.dims)
    n = next((len(v.values) for _, v in values if v.sampled), 0)
    out = np.zeros((n, *shape) if n else shape)
    for (i, j), v in values:
        out[..., i, j] = v.values  # a scalar, or one value per sample
    return _stored(ex, LArray.of(out, op.dims))


def _mask(ex: Executor, op: ir.Mask) -> LArray:
    return _stored(ex, LArray(np.asarray(op.flags, dtype=bool), op.dims))


def _select(ex: Executor, op: ir.Select) -> LArray:
    x = ex.evaluate(op.x)
    index: list[Any] = [slice(None)] * len(x.dims)
    for p in op.picks:
        label = p.label if p.label is not None else ex.choices[str(p.choice)]
        index[x.dims.index(p.dim)] = ex.labels[p.dim][label]
    kept = tuple(d for d in x.dims if all(p.dim != d for p in op.picks))
    return LArray(np.asarray(x.values[tuple(index)]), kept)


def _where(ex: Executor, op: ir.Where) -> LArray:
    c, a, b = ex.evaluate(op.cond), ex.evaluate(op.a), ex.evaluate(op.b)
    kept = _sparse_elementwise(ex, np.where, [c, a, b], op)
    if kept is not None:
        return kept
    v = np.where(c.aligned(op.dims), a.aligned(op.dims), b.aligned(op.dims))
    return LArray.of(_full(v, op, ex), op.dims)


def _apply(ex: Executor, op: ir.Apply) -> LArray:
    if op.fn == "safe_divide":  # 0 / anything is 0 here: a sparse dividend keeps its pattern
        values = list(_zero_preserving(ex, op.args[0], op.args[1], either=False))
    else:
        values = [ex.evaluate(a) for a in op.args]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        kept = _sparse_elementwise(ex, APPLY[op.fn], values, op)
        if kept is not None:
            return kept
        v = APPLY[op.fn](*(x.aligned(op.dims) for x in values))
    return LArray.of(_full(v, op, ex), op.dims)


def _stack(ex: Executor, op: ir.Stack) -> LArray:
    inner = op.dims[:-1]
    values = [ex.evaluate(p) for p in op.parts]
    if any(v.sampled for v in values):
        inner = (SAMPLE, *inner)
    shape = tuple(ex.size(d) for d in inner)
    parts = [np.broadcast_to(v.aligned(inner), shape) for v in values]
    return LArray.of(np.stack(parts, axis=-1), op.dims)


def _expand(ex: Executor, op: ir.Expand) -> LArray:
    x = ex.evaluate(op.x)
    if not x.dims and not ex.restrict:
        shape = tuple(ex.size(d) for d in op.dims)
        if int(np.prod(shape, dtype=np.int64)) >= SPARSE_MIN_CELLS:
            # A constant over a large table: held as a fill value, nothing stored.
            empty = np.zeros(0, dtype=np.int64)
            return LArray(Sparse(shape, empty, np.zeros(0), x.scalar()), op.dims)
    if x.sparse is not None and set(sparse_ops.core(x.dims)) == set(op.dims):
        return sparse_ops.realign(x, (SAMPLE, *op.dims) if x.sampled else op.dims)
    return LArray.of(_full(x.aligned(op.dims), op, ex), op.dims)


def _scale(x: LArray, factor: float) -> LArray:
    if factor == 1.0:
        return x
    s = x.sparse
    if s is not None:
        return LArray(Sparse(s.shape, s.index, s.data * factor, s.fill * factor), x.dims)
    return LArray(x.values * factor, x.dims)


def _unary(ex: Executor, op: ir.Unary) -> LArray:
    x = ex.evaluate(op.x)
    kept = _sparse_elementwise(ex, UNARY[op.op], [x], op)
    return kept if kept is not None else LArray(UNARY[op.op](x.values), x.dims)


_EVAL: dict[type, Callable[[Executor, Any], LArray]] = {
    ir.Rename: _rename,
    ir.SumProduct: _sum_product,
    ir.Identity: _identity,
    ir.Rollup: _rollup,
    ir.Mask: _mask,
    ir.Assemble: _assemble,
    ir.LeontiefSolve: _leontief_solve,
    ir.LeontiefInverse: _leontief_inverse,
    ir.Expand: _expand,
    ir.Stack: _stack,
    ir.Const: lambda ex, op: LArray(np.asarray(op.value, dtype=float), ()),
    ir.Ref: lambda ex, op: (
        # A streamed solve: the slice asked for, solved now; a recomputed intermediate.
        ex.evaluate(ex.ir[op.qname])
        if (op.qname in ex.streamed or op.qname in ex.recomputed) and op.qname not in ex.values
        else _stored(ex, ex.values[op.qname])
    ),
    ir.Load: lambda ex, op: _stored(ex, ex.data[op.qname]),
    ir.Scale: lambda ex, op: _scale(ex.evaluate(op.x), op.factor),
    ir.Unary: lambda ex, op: _unary(ex, op),
    ir.Binary: _binary,
    ir.Contract: _contract,
    ir.Reduce: _reduce,
    ir.Scan: _scan,
    ir.Select: _select,
    ir.Where: _where,
    ir.Apply: _apply,
    ir.Switch: lambda ex, op: ex.evaluate(ex._case(op)),
}
