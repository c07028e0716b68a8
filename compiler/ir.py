"""The IR: a small set of typed operations the runtime executes.

Each op knows its result dims (in order), its unit (pint, compile-time only) and the source span
it was lowered from. Unit conversions are already explicit ``Scale`` ops; the runtime never sees
a unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from carbonc.dsl.span import Span

from .units import Unit


@dataclass(frozen=True, slots=True)
class Op:
    """Base of every IR operation."""

    dims: tuple[str, ...]
    unit: Unit
    span: Span
    boolean: bool


@dataclass(frozen=True, slots=True)
class Const(Op):
    """A literal number."""

    value: float


@dataclass(frozen=True, slots=True)
class Ref(Op):
    """The value of another definition."""

    qname: str


@dataclass(frozen=True, slots=True)
class Load(Op):
    """A data entry (or a parameter array, or an input supplied with ``--data``)."""

    qname: str


@dataclass(frozen=True, slots=True)
class Scale(Op):
    """Multiply by a constant factor (unit conversions)."""

    x: Op
    factor: float


@dataclass(frozen=True, slots=True)
class Expand(Op):
    """Reorder ``x``'s axes to ``dims`` and broadcast it along the dims it lacks."""

    x: Op


@dataclass(frozen=True, slots=True)
class Rename(Op):
    """The same values under other dim names (``transpose`` swaps base and dual dims)."""

    x: Op
    mapping: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Identity(Op):
    """The identity matrix over ``dims`` = (a dimension, its dual)."""


@dataclass(frozen=True, slots=True)
class Assemble(Op):
    """A two-dim table of zeros with a few cells set from scalar ops (the exchanges of a
    `processes:` block); cells are (row index, column index) and op."""

    cells: tuple[tuple[tuple[int, int], Op], ...]


@dataclass(frozen=True, slots=True)
class Mask(Op):
    """A constant 0/1 array over one dimension (``under(category="3")``)."""

    flags: tuple[bool, ...]


@dataclass(frozen=True, slots=True)
class Rollup(Op):
    """Sum ``x`` up a category tree along ``along``: each label with children becomes the sum
    of its children, deepest first; ``tree`` lists (parent, children) positions in that order."""

    x: Op
    along: str
    tree: tuple[tuple[int, tuple[int, ...]], ...]


@dataclass(frozen=True, slots=True)
class LeontiefSolve(Op):
    """``leontief(a) @ rhs`` (solve (I - a) x = rhs) or, transposed, ``rhs @ leontief(a)``.

    ``rows`` are the matrix's base dims and ``cols`` their duals. The inverse is never formed:
    the runtime factorises I - a once and reuses the factors for every right-hand side.
    """

    a: Op
    rhs: Op
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    transposed: bool


@dataclass(frozen=True, slots=True)
class LeontiefInverse(Op):
    """(I - a)^-1 itself, only when a model asks for it by name."""

    a: Op
    rows: tuple[str, ...]
    cols: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Unary(Op):
    """``neg`` or ``not``."""

    op: str
    x: Op


@dataclass(frozen=True, slots=True)
class Binary(Op):
    """Element-wise arithmetic, comparison or logic, operands aligned to ``dims`` by name."""

    op: str
    a: Op
    b: Op


@dataclass(frozen=True, slots=True)
class Contract(Op):
    """``a @ b``: multiply and sum over pairs of dims (a's dim, b's dim), then rename.

    ``renames`` maps result dims to their final names (a dual left without its base becomes
    the base: a row vector times a matrix is again a row vector over the same index).
    """

    a: Op
    b: Op
    pairs: tuple[tuple[str, str], ...]
    renames: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SumProduct(Op):
    """``sum(a * b, over=…)``: multiply and sum in one contraction (dims of a and b meet by
    name; ``dims`` are the ones kept)."""

    a: Op
    b: Op


@dataclass(frozen=True, slots=True)
class Reduce(Op):
    """A reduction (``sum``, ``mean``, ``min``, ``max``) over some dims."""

    fn: str
    x: Op
    over: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Scan(Op):
    """A running reduction along one dim (``cumsum``)."""

    fn: str
    x: Op
    along: str


@dataclass(frozen=True, slots=True)
class Pick:
    """One selection: a fixed label, or the label named by a choice's value."""

    dim: str
    label: str | None
    choice: str | None


@dataclass(frozen=True, slots=True)
class Select(Op):
    """Pick one label of each of some dims, dropping those dims."""

    x: Op
    picks: tuple[Pick, ...]


@dataclass(frozen=True, slots=True)
class Where(Op):
    """``where(cond, a, b)``."""

    cond: Op
    a: Op
    b: Op


@dataclass(frozen=True, slots=True)
class Apply(Op):
    """An element-wise built-in function (``abs``, ``exp``, ``maximum`` …)."""

    fn: str
    args: tuple[Op, ...]


@dataclass(frozen=True, slots=True)
class Stack(Op):
    """One operand per label of a new dim ``along`` (the last of ``dims``)."""

    along: str
    parts: tuple[Op, ...]


@dataclass(frozen=True, slots=True)
class Switch(Op):
    """``match``: the case for the choice's value in this run."""

    choice: str
    cases: tuple[tuple[str, Op], ...]
    default: Op | None


def operands(op: Op) -> tuple[Op, ...]:
    """The direct inputs of ``op``."""
    match op:
        case (
            Scale(x=x)
            | Expand(x=x)
            | Unary(x=x)
            | Reduce(x=x)
            | Scan(x=x)
            | Select(x=x)
            | Rename(x=x)
            | Rollup(x=x)
        ):
            return (x,)
        case LeontiefSolve(a=a, rhs=rhs):
            return (a, rhs)
        case LeontiefInverse(a=a):
            return (a,)
        case Binary(a=a, b=b) | Contract(a=a, b=b) | SumProduct(a=a, b=b):
            return (a, b)
        case Where(cond=c, a=a, b=b):
            return (c, a, b)
        case Apply(args=args):
            return args
        case Stack(parts=parts):
            return parts
        case Assemble(cells=cells):
            return tuple(op for _, op in cells)
        case Switch(cases=cases, default=default):
            return (*(c for _, c in cases), *((default,) if default is not None else ()))
    return ()


def references(op: Op) -> set[str]:
    """The definitions ``op`` reads, through any depth."""
    out: set[str] = set()
    stack = [op]
    while stack:
        o = stack.pop()
        if isinstance(o, Ref):
            out.add(o.qname)
        stack.extend(operands(o))
    return out


def describe(op: Op) -> str:
    """A compact one-line rendering, for `carbonc graph` and debugging."""
    match op:
        case Const(value=v):
            return f"{v:g}"
        case Ref(qname=q) | Load(qname=q):
            return q
        case Scale(x=x, factor=f):
            return f"({describe(x)} * {f:g})"
        case Rename(x=x, mapping=mapping):
            return f"rename({describe(x)}, {', '.join(f'{a}->{b}' for a, b in mapping)})"
        case Identity(dims=dims):
            return f"eye({dims[0]})"
        case LeontiefSolve(a=a, rhs=rhs, transposed=t):
            return f"solve(I - {describe(a)}, {describe(rhs)}{', transposed' if t else ''})"
        case LeontiefInverse(a=a):
            return f"inverse(I - {describe(a)})"
        case Expand(x=x, dims=dims):
            return f"expand({describe(x)}, [{','.join(dims)}])"
        case Unary(op=o, x=x):
            return f"{'-' if o == 'neg' else 'not '}{describe(x)}"
        case Binary(op=o, a=a, b=b):
            return f"({describe(a)} {o} {describe(b)})"
        case Contract(a=a, b=b, pairs=pairs):
            return f"({describe(a)} @[{','.join(f'{x}~{y}' for x, y in pairs)}] {describe(b)})"
        case SumProduct(a=a, b=b, dims=dims):
            return f"sum({describe(a)} * {describe(b)}, keep=({','.join(dims)}))"
        case Reduce(fn=fn, x=x, over=over):
            return f"{fn}({describe(x)}, over=({','.join(over)}))"
        case Scan(fn=fn, x=x, along=along):
            return f"{fn}({describe(x)}, over={along})"
        case Select(x=x, picks=picks):
            sel = ", ".join(
                f"{p.dim}={p.label if p.label is not None else 'choice ' + str(p.choice)}"
                for p in picks
            )
            return f"{describe(x)}[{sel}]"
        case Where(cond=c, a=a, b=b):
            return f"where({describe(c)}, {describe(a)}, {describe(b)})"
        case Apply(fn=fn, args=args):
            return f"{fn}({', '.join(describe(a) for a in args)})"
        case Stack(along=along, parts=parts):
            return f"stack(over={along}, {', '.join(describe(p) for p in parts)})"
        case Switch(choice=c, cases=cases):
            return f"match {c} {{{', '.join(f'{k} => {describe(v)}' for k, v in cases)}}}"
    return type(op).__name__
