"""Execute checked IR: each needed definition once, in topological order, vectorised over numpy."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from carbonc.compiler import ir
from carbonc.dsl.span import Span

from . import linalg
from .kernels import APPLY, BINARY, REDUCE, SCAN, UNARY
from .larray import LArray


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
    ):
        self.ir = program_ir
        self.order = order
        self.labels = labels
        self.data = data
        self.choices = choices
        self.values: dict[str, LArray] = {}
        self.factors: dict[object, linalg.Factors] = {}

    def factors_for(self, a: ir.Op, rows: tuple[str, ...], cols: tuple[str, ...]) -> linalg.Factors:
        """The LU factors of I - a, computed once per matrix and reused by every solve."""
        key: object = a.qname if isinstance(a, ir.Ref) else id(a)
        if key not in self.factors:
            arr = self.eval(a)
            n = _flat(self, rows)
            mat = np.ascontiguousarray(arr.aligned((*rows, *cols)), dtype=float).reshape(n, n)
            try:
                self.factors[key] = linalg.factorize(mat)
            except linalg.SingularSystem as exc:
                raise SolveError(str(exc), a.span, self._column_labels(rows, exc.columns)) from None
        return self.factors[key]

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
            ops = [self.ir[q]]
            while ops:
                op = ops.pop()
                if isinstance(op, ir.Ref):
                    stack.append(op.qname)
                elif isinstance(op, ir.Switch):
                    ops.append(self._case(op))
                else:
                    ops.extend(ir.operands(op))
        return seen

    def run(self, roots: Iterable[str]) -> dict[str, LArray]:
        """Compute ``roots`` and everything they need."""
        need = self.needed(roots)
        for q in self.order:
            if q in need and q not in self.values:
                self.values[q] = self.eval(self.ir[q])
        return self.values

    def eval(self, op: ir.Op) -> LArray:
        """Evaluate one op tree to a labelled array with exactly ``op.dims``."""
        out = _EVAL[type(op)](self, op)
        if out.dims != op.dims:
            out = LArray(np.asarray(out.aligned(op.dims)), op.dims)
        return out

    def _case(self, op: ir.Switch) -> ir.Op:
        value = self.choices[op.choice]
        for label, case in op.cases:
            if label == value:
                return case
        assert op.default is not None
        return op.default


def _binary(ex: Executor, op: ir.Binary) -> LArray:
    a, b = ex.eval(op.a), ex.eval(op.b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        v = BINARY[op.op](a.aligned(op.dims), b.aligned(op.dims))
    return LArray(_full(v, op, ex), op.dims)


def _full(v: Any, op: ir.Op, ex: Executor) -> np.ndarray:
    """Broadcast to the op's full shape (a scalar on one side must not shrink the result)."""
    shape = tuple(len(ex.labels[d]) for d in op.dims)
    arr = np.asarray(v)
    return arr if arr.shape == shape else np.broadcast_to(arr, shape)


def _contract(ex: Executor, op: ir.Contract) -> LArray:
    a, b = ex.eval(op.a), ex.eval(op.b)
    letters: dict[tuple[str, str], str] = {}

    def letter(side: str, d: str) -> str:
        return letters.setdefault((side, d), chr(ord("a") + len(letters)))

    for da, db in op.pairs:  # each contracted pair shares one letter
        letters[("b", db)] = letter("a", da)
    sa = "".join(letter("a", d) for d in a.dims)
    sb = "".join(letter("b", d) for d in b.dims)
    kept = [("a", d) for d in a.dims if all(d != x for x, _ in op.pairs)]
    kept += [("b", d) for d in b.dims if all(d != y for _, y in op.pairs)]
    renames = dict(op.renames)
    dims = tuple(renames.get(d, d) for _, d in kept)
    out = "".join(letters[k] for k in kept)
    return LArray(np.einsum(f"{sa},{sb}->{out}", a.values, b.values, optimize=True), dims)


def _flat(ex: Executor, dims: tuple[str, ...]) -> int:
    return int(np.prod([len(ex.labels[d]) for d in dims], dtype=np.int64)) if dims else 1


def _leontief_solve(ex: Executor, op: ir.LeontiefSolve) -> LArray:
    f = ex.factors_for(op.a, op.rows, op.cols)
    rhs = ex.eval(op.rhs)
    others = tuple(d for d in rhs.dims if d not in op.rows)
    if op.transposed:
        # Row vectors s over (…, rows): solve (I - A)^T m = s, one column per row vector.
        order = (*others, *op.rows)
        s = np.ascontiguousarray(rhs.aligned(order))
        m = linalg.solve(f, s.reshape(-1, f.n).T.copy(), transposed=True).T
        return LArray(m.reshape(s.shape), order)
    order = (*op.rows, *others)
    y = np.ascontiguousarray(rhs.aligned(order))
    x = linalg.solve(f, y.reshape(f.n, -1), transposed=False)
    return LArray(x.reshape(y.shape), order)


def _leontief_inverse(ex: Executor, op: ir.LeontiefInverse) -> LArray:
    f = ex.factors_for(op.a, op.rows, op.cols)
    shape = tuple(len(ex.labels[d]) for d in (*op.rows, *op.cols))
    return LArray(linalg.inverse(f).reshape(shape), (*op.rows, *op.cols))


def _identity(ex: Executor, op: ir.Identity) -> LArray:
    return LArray(np.eye(len(ex.labels[op.dims[0]])), op.dims)


def _reduce(ex: Executor, op: ir.Reduce) -> LArray:
    x = ex.eval(op.x)
    axes = tuple(x.dims.index(d) for d in op.over)
    kept = tuple(d for d in x.dims if d not in op.over)
    return LArray(np.asarray(REDUCE[op.fn](x.values, axis=axes)), kept)


def _scan(ex: Executor, op: ir.Scan) -> LArray:
    x = ex.eval(op.x)
    return LArray(SCAN[op.fn](x.values, axis=x.dims.index(op.along)), x.dims)


def _select(ex: Executor, op: ir.Select) -> LArray:
    x = ex.eval(op.x)
    index: list[Any] = [slice(None)] * len(x.dims)
    for p in op.picks:
        label = p.label if p.label is not None else ex.choices[str(p.choice)]
        index[x.dims.index(p.dim)] = ex.labels[p.dim][label]
    kept = tuple(d for d in x.dims if all(p.dim != d for p in op.picks))
    return LArray(np.asarray(x.values[tuple(index)]), kept)


def _where(ex: Executor, op: ir.Where) -> LArray:
    c, a, b = ex.eval(op.cond), ex.eval(op.a), ex.eval(op.b)
    v = np.where(c.aligned(op.dims), a.aligned(op.dims), b.aligned(op.dims))
    return LArray(_full(v, op, ex), op.dims)


def _apply(ex: Executor, op: ir.Apply) -> LArray:
    args = [ex.eval(a).aligned(op.dims) for a in op.args]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        v = APPLY[op.fn](*args)
    return LArray(_full(v, op, ex), op.dims)


def _stack(ex: Executor, op: ir.Stack) -> LArray:
    inner = op.dims[:-1]
    shape = tuple(len(ex.labels[d]) for d in inner)
    parts = [np.broadcast_to(ex.eval(p).aligned(inner), shape) for p in op.parts]
    return LArray(np.stack(parts, axis=-1), op.dims)


def _expand(ex: Executor, op: ir.Expand) -> LArray:
    x = ex.eval(op.x)
    return LArray(_full(x.aligned(op.dims), op, ex), op.dims)


_EVAL: dict[type, Callable[[Executor, Any], LArray]] = {
    ir.Rename: lambda ex, op: (
        lambda x: LArray(x.values, tuple(dict(op.mapping).get(d, d) for d in x.dims))
    )(ex.eval(op.x)),
    ir.Identity: _identity,
    ir.LeontiefSolve: _leontief_solve,
    ir.LeontiefInverse: _leontief_inverse,
    ir.Expand: _expand,
    ir.Stack: _stack,
    ir.Const: lambda ex, op: LArray(np.asarray(op.value, dtype=float), ()),
    ir.Ref: lambda ex, op: ex.values[op.qname],
    ir.Load: lambda ex, op: ex.data[op.qname],
    ir.Scale: lambda ex, op: (
        lambda x: LArray(x.values * op.factor if op.factor != 1.0 else x.values, x.dims)
    )(ex.eval(op.x)),
    ir.Unary: lambda ex, op: (lambda x: LArray(UNARY[op.op](x.values), x.dims))(ex.eval(op.x)),
    ir.Binary: _binary,
    ir.Contract: _contract,
    ir.Reduce: _reduce,
    ir.Scan: _scan,
    ir.Select: _select,
    ir.Where: _where,
    ir.Apply: _apply,
    ir.Switch: lambda ex, op: ex.eval(ex._case(op)),
}
