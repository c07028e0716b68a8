"""Built-in functions of the formula language: a registry, not an if/elif chain.

Each entry type-checks a call and lowers it to IR. Runtime kernels for the IR ops they
produce live in ``carbonc.runtime.kernels``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from carbonc.dsl import ast
from carbonc.dsl.diagnostics import did_you_mean
from carbonc.dsl.span import Span

from . import ir
from .categories import Hierarchy
from .units import DIMENSIONLESS, UnitError, divide, multiply, power

if TYPE_CHECKING:
    from .check import Lowerer


@dataclass(frozen=True)
class Builtin:
    """A built-in: how to check and lower a call, and a one-line signature for help texts.

    ``dim_args`` names the arguments that are dimension names, not values (e.g. ``over``).
    """

    name: str
    signature: str
    lower: Callable[[Lowerer, ast.Call], ir.Op | None]
    dim_args: frozenset[str] = frozenset({"over"})
    dim_positional: bool = False
    dim_kwargs: bool = False  # every keyword argument names a dimension (``rename``)


REGISTRY: dict[str, Builtin] = {}


def builtin(
    name: str, signature: str, dim_positional: bool = False, dim_kwargs: str = ""
) -> Callable[
    [Callable[[Lowerer, ast.Call], ir.Op | None]], Callable[[Lowerer, ast.Call], ir.Op | None]
]:
    """Register a built-in function under ``name``."""

    def deco(
        fn: Callable[[Lowerer, ast.Call], ir.Op | None],
    ) -> Callable[[Lowerer, ast.Call], ir.Op | None]:
        REGISTRY[name] = Builtin(
            name, signature, fn, dim_positional=dim_positional, dim_kwargs=dim_kwargs == "*"
        )
        return fn

    return deco


def _args(lw: Lowerer, call: ast.Call, n: int, kw: tuple[str, ...] = ()) -> bool:
    sig = REGISTRY[call.func].signature
    if len(call.args) != n:
        lw.diags.error(
            "E0304",
            f"`{call.func}` takes {n} argument{'s' if n != 1 else ''}, got {len(call.args)}",
            call.span,
            help=f"usage: {sig}",
        )
        return False
    for k in call.kwargs:
        if k.name not in kw:
            lw.diags.error(
                "E0304", f"`{call.func}` has no argument `{k.name}`", k.span, help=f"usage: {sig}"
            )
            return False
    return True


def _reduction(fn: str) -> Callable[[Lowerer, ast.Call], ir.Op | None]:
    def lower(lw: Lowerer, call: ast.Call) -> ir.Op | None:
        if fn in ("min", "max") and len(call.args) == 2 and not call.kwargs:
            return _elementwise_pair(lw, call, "minimum" if fn == "min" else "maximum")
        if not _args(lw, call, 1, ("over",)):
            return None
        x = lw.number(call.args[0])
        if x is None:
            return None
        over = lw.over(call, x)
        if over is None:
            return None
        dims = tuple(d for d in x.dims if d not in over)
        if fn == "sum" and isinstance(x, ir.Binary) and x.op == "*":
            # sum(a * b, over=d) is one contraction: the product is never materialised.
            return ir.SumProduct(dims, x.unit, call.span, False, x.a, x.b)
        return ir.Reduce(dims, x.unit, call.span, False, fn, x, over)

    return lower


for _fn in ("sum", "mean", "min", "max"):
    builtin(_fn, f"{_fn}(x, over=dim) or {_fn}(x, over=(dim1, dim2)); without `over`, all dims")(
        _reduction(_fn)
    )


def _elementwise_pair(lw: Lowerer, call: ast.Call, fn: str) -> ir.Op | None:
    a, b = lw.number(call.args[0]), lw.number(call.args[1])
    if a is None or b is None:
        return None
    b = lw.same_unit(a, b, call.args[1], f"`{call.func}`")
    if b is None:
        return None
    return ir.Apply(lw.broadcast(a, b), a.unit, call.span, False, fn, (a, b))


@builtin("where", "where(condition, value_if_true, value_if_false)")
def _where(lw: Lowerer, call: ast.Call) -> ir.Op | None:
    if not _args(lw, call, 3):
        return None
    c = lw.condition(call.args[0])
    a, b = lw.number(call.args[1]), lw.number(call.args[2])
    if c is None or a is None or b is None:
        return None
    a = lw.zero_as(a, b)
    b = lw.same_unit(a, b, call.args[2], "the two branches of `where`")
    if b is None:
        return None
    return ir.Where(lw.broadcast(c, a, b), a.unit, call.span, False, c, a, b)


@builtin("stack", "stack(over=dim, label1=x1, label2=x2, …): one value per label of dim")
def _stack(lw: Lowerer, call: ast.Call) -> ir.Op | None:
    over = next((k for k in call.kwargs if k.name == "over"), None)
    if (
        call.args
        or over is None
        or not (isinstance(over.value, ast.Name) and len(over.value.parts) == 1)
    ):
        lw.diags.error(
            "E0304",
            "`stack` takes `over=dim` and one `label=value` per label",
            call.span,
            help="usage: stack(over=gas, CO2=a, CH4=b, N2O=c)",
        )
        return None
    dim = over.value.parts[0]
    labels = lw.c.dims.get(dim)
    if labels is None:
        lw.diags.error("E0305", f"unknown dimension `{dim}`", over.value.span)
        return None
    parts = {k.name: k for k in call.kwargs if k is not over}
    for name, k in parts.items():
        if name not in labels.index:
            lw.diags.error(
                "E0306",
                f"`{name}` is not a label of dimension `{dim}`",
                k.span,
                help=f"labels: {', '.join(labels.labels[:8])}",
            )
            return None
    module = lw.current.module if lw.current is not None else None
    own = labels.own_labels(module)
    missing = [lab for lab in labels.labels if lab not in parts and (own is None or lab in own)]
    if missing:
        lw.diags.error(
            "E0306",
            f"`stack` over `{dim}` has no value for {', '.join(missing[:5])}",
            call.span,
            help="give one `label=value` for every label of the dimension",
        )
        return None
    ops: list[ir.Op] = []
    zeros: list[int] = []  # labels this module does not list (`others: zero`)
    for lab in labels.labels:
        if lab not in parts:
            zeros.append(len(ops))
            ops.append(ir.Const((), DIMENSIONLESS, call.span, False, 0.0))
            continue
        op = lw.number(parts[lab].value)
        if op is None:
            return None
        if dim in op.dims:
            lw.diags.error(
                "E0401",
                f"the value for `{lab}` already has dimension `{dim}`",
                parts[lab].value.span,
            )
            return None
        given = [o for i, o in enumerate(ops) if i not in zeros]
        if given:
            op = lw.same_unit(given[0], op, parts[lab].value, f"`stack` over `{dim}`")
            if op is None:
                return None
        ops.append(op)
    unit = next(o for i, o in enumerate(ops) if i not in zeros).unit
    ops = [
        ir.Const((), unit, call.span, False, 0.0) if i in zeros else o for i, o in enumerate(ops)
    ]
    dims = (*lw.broadcast(*ops), dim)
    return ir.Stack(dims, unit, call.span, False, dim, tuple(ops))


@builtin("safe_divide", "safe_divide(a, b): a / b, and 0 where b is 0 (input-output coefficients)")
def _safe_divide(lw: Lowerer, call: ast.Call) -> ir.Op | None:
    if not _args(lw, call, 2):
        return None
    a, b = lw.number(call.args[0]), lw.number(call.args[1])
    if a is None or b is None:
        return None
    combined = lw.combine(divide, a, b, call)
    if combined is None:
        return None
    unit, factor = combined
    out: ir.Op = ir.Apply(lw.broadcast(a, b), unit, call.span, False, "safe_divide", (a, b))
    return out if factor == 1.0 else ir.Scale(out.dims, unit, call.span, False, out, factor)


@builtin(
    "aggregate",
    "aggregate(x, by=mapping): move x through a concordance (or weights) it shares one dim with",
)
def _aggregate(lw: Lowerer, call: ast.Call) -> ir.Op | None:
    by = next((k for k in call.kwargs if k.name == "by"), None)
    if len(call.args) != 1 or by is None or len(call.kwargs) != 1:
        lw.diags.error(
            "E0304",
            "`aggregate` takes a value and `by=mapping`",
            call.span,
            help="usage: aggregate(emissions, by=sector_to_group)",
        )
        return None
    x, m = lw.number(call.args[0]), lw.number(by.value)
    if x is None or m is None:
        return None
    shared = [d for d in m.dims if d in x.dims]
    if len(m.dims) != 2 or len(shared) != 1:
        lw.diags.error(
            "E0401",
            f"`by=` must be a two-dim mapping sharing exactly one dim with the value; "
            f"the mapping has dims {list(m.dims)}, the value {list(x.dims)}",
            by.value.span,
            help="declare the concordance with `dims: [fine, coarse]` and `mapping: true`",
        )
        return None
    (fine,) = shared
    (coarse,) = (d for d in m.dims if d != fine)
    if coarse in x.dims:
        lw.diags.error("E0401", f"the value already has dimension `{coarse}`", by.value.span)
        return None
    combined = lw.combine(multiply, x, m, call)
    if combined is None:
        return None
    unit, factor = combined
    dims = tuple(coarse if d == fine else d for d in x.dims)
    out: ir.Op = ir.Contract(
        (*tuple(d for d in x.dims if d != fine), coarse),
        unit,
        call.span,
        False,
        x,
        m,
        ((fine, fine),),
    )
    out = ir.Expand(dims, unit, call.span, False, out)
    return out if factor == 1.0 else ir.Scale(dims, unit, call.span, False, out, factor)


@builtin("share", "share(x, over=dim): x divided by its sum over dim")
def _share(lw: Lowerer, call: ast.Call) -> ir.Op | None:
    if not _args(lw, call, 1, ("over",)):
        return None
    x = lw.number(call.args[0])
    if x is None:
        return None
    over = lw.over(call, x)
    if over is None:
        return None
    total = ir.Reduce(
        tuple(d for d in x.dims if d not in over), x.unit, call.span, False, "sum", x, over
    )
    return ir.Binary(x.dims, DIMENSIONLESS, call.span, False, "/", x, total)


def _along_one(lw: Lowerer, call: ast.Call, what: str, usage: str) -> tuple[ir.Op, str] | None:
    """The value and the single ``over=`` dimension of a call that works along one dim."""
    if not _args(lw, call, 1, ("over",)):
        return None
    x = lw.number(call.args[0])
    if x is None:
        return None
    over = lw.over(call, x)
    if over is None:
        return None
    if len(over) != 1 or not call.kwargs:
        lw.diags.error("E0304", f"`{call.func}` {what}", call.span, help=f"usage: {usage}")
        return None
    return x, over[0]


@builtin("cumsum", "cumsum(x, over=dim): running total along dim")
def _cumsum(lw: Lowerer, call: ast.Call) -> ir.Op | None:
    got = _along_one(lw, call, "runs along exactly one dimension", "cumsum(x, over=year)")
    if got is None:
        return None
    x, along = got
    return ir.Scan(x.dims, x.unit, call.span, False, "cumsum", x, along)


def _unary(fn: str, needs_dimensionless: bool) -> Callable[[Lowerer, ast.Call], ir.Op | None]:
    def lower(lw: Lowerer, call: ast.Call) -> ir.Op | None:
        if not _args(lw, call, 1):
            return None
        x = lw.number(call.args[0])
        if x is None:
            return None
        unit = x.unit
        if needs_dimensionless:
            x = lw.dimensionless(x, call.args[0], f"`{fn}`")
            if x is None:
                return None
            unit = DIMENSIONLESS
        elif fn == "sqrt":
            try:
                unit = power(x.unit, 0.5)
            except UnitError as exc:
                lw.diags.error("E0505", str(exc), call.span)
                return None
        return ir.Apply(x.dims, unit, call.span, False, fn, (x,))

    return lower


def _hierarchy(lw: Lowerer, dim: str, span: Span) -> Hierarchy | None:
    d = lw.c.dims.get(dim)
    tree = d.decl.hierarchy if d is not None else None
    if d is not None and tree is None:
        lw.diags.error(
            "E0307",
            f"dimension `{dim}` has no category hierarchy",
            span,
            help=f"declare it as `{dim}: {{categorization: IPCC2006, codes: [...]}}`",
        )
    elif d is None:
        lw.diags.error("E0305", f"unknown dimension `{dim}`", span)
    return tree


@builtin("rollup", "rollup(x, over=category): each parent category gets the sum of its children")
def _rollup(lw: Lowerer, call: ast.Call) -> ir.Op | None:
    got = _along_one(lw, call, "sums up exactly one category dimension", "rollup(x, over=category)")
    if got is None:
        return None
    x, along = got
    tree = _hierarchy(lw, along, call.span)
    if tree is None:
        return None
    labels = lw.c.dims[along].labels
    pos = {lab: i for i, lab in enumerate(labels)}
    children = tree.children(labels)
    depth = {lab: 0 for lab in labels}
    parent = dict(tree.parents)
    for lab in labels:
        node = lab
        while node in parent and parent[node] in pos:
            node = parent[node]
            depth[lab] += 1
    order = sorted((lab for lab in labels if children[lab]), key=lambda lab: -depth[lab])
    steps = tuple((pos[lab], tuple(pos[c] for c in children[lab])) for lab in order)
    return ir.Rollup(x.dims, x.unit, call.span, False, x, along, steps)


@builtin(
    "under",
    'under(category="3"): true for a category code and every code below it',
    dim_kwargs="*",
)
def _under(lw: Lowerer, call: ast.Call) -> ir.Op | None:
    if call.args or len(call.kwargs) != 1 or not isinstance(call.kwargs[0].value, ast.Label):
        lw.diags.error(
            "E0304",
            '`under` takes one `dim="code"`',
            call.span,
            help='usage: under(category="1.A"), e.g. where(under(category="3"), 0, x)',
        )
        return None
    k = call.kwargs[0]
    tree = _hierarchy(lw, k.name, k.span)
    if tree is None:
        return None
    assert isinstance(k.value, ast.Label)
    labels = lw.c.dims[k.name].labels
    code = k.value.text
    if code not in labels:
        lw.diags.error(
            "E0306",
            f"`{code}` is not a label of dimension `{k.name}`",
            k.value.span,
            help=did_you_mean(code, list(labels)) or f"labels: {', '.join(labels[:8])}",
        )
        return None
    flags = tuple(tree.under(labels, code))
    return ir.Mask((k.name,), DIMENSIONLESS, call.span, True, flags)


builtin("abs", "abs(x)")(_unary("abs", False))
builtin("sqrt", "sqrt(x)")(_unary("sqrt", False))
builtin("exp", "exp(x), x dimensionless")(_unary("exp", True))
builtin("log", "log(x), natural logarithm, x dimensionless")(_unary("log", True))
builtin("sin", "sin(x), x in radians (dimensionless)")(_unary("sin", True))
builtin("cos", "cos(x), x in radians (dimensionless)")(_unary("cos", True))


@builtin("is_present", "is_present(x): true where x has a value (data read with `fill: .nan`)")
def _is_present(lw: Lowerer, call: ast.Call) -> ir.Op | None:
    if not _args(lw, call, 1):
        return None
    x = lw.number(call.args[0])
    if x is None:
        return None
    return ir.Apply(x.dims, DIMENSIONLESS, call.span, True, "isfinite", (x,))


@builtin("transpose", "transpose(x): swap each dim with its dual (region <-> region_to)")
def _transpose(lw: Lowerer, call: ast.Call) -> ir.Op | None:
    if not _args(lw, call, 1):
        return None
    x = lw.number(call.args[0])
    if x is None:
        return None
    mapping = tuple((d, dual) for d in x.dims if (dual := lw.dual(d)) is not None)
    if not mapping:
        lw.diags.error(
            "E0411",
            f"`transpose` needs a dim with a dual; the value has dims {list(x.dims)}",
            call.span,
            help="declare a dual with `like:`, e.g. `region_to: {like: region}`",
        )
        return None
    names = dict(mapping)
    return ir.Rename(
        tuple(names.get(d, d) for d in x.dims), x.unit, call.span, x.boolean, x, mapping
    )


@builtin(
    "rename", "rename(x, old_dim=new_dim, …): the same values under other dim names", dim_kwargs="*"
)
def _rename(lw: Lowerer, call: ast.Call) -> ir.Op | None:
    if len(call.args) != 1 or not call.kwargs:
        lw.diags.error(
            "E0304",
            "`rename` takes a value and `old=new` dimension pairs",
            call.span,
            help="usage: rename(x, region_to=region)",
        )
        return None
    x = lw.number(call.args[0])
    if x is None:
        return None
    mapping: list[tuple[str, str]] = []
    for k in call.kwargs:
        new = (
            k.value.parts[0] if isinstance(k.value, ast.Name) and len(k.value.parts) == 1 else None
        )
        if k.name not in x.dims:
            lw.diags.error(
                "E0403", f"cannot rename `{k.name}`: the value has dims {list(x.dims)}", k.span
            )
            return None
        if new is None or new not in lw.c.dims:
            lw.diags.error(
                "E0305",
                f"`{k.name}=` must name a dimension",
                k.value.span,
                help=did_you_mean(str(new), lw.c.dims) if new else None,
            )
            return None
        if lw.c.dims[new].labels != lw.c.dims[k.name].labels:
            lw.diags.error(
                "E0404",
                f"`{k.name}` and `{new}` have different labels",
                k.span,
                help="rename only between dimensions with the same labels (e.g. a dim and its dual)",
            )
            return None
        mapping.append((k.name, new))
    names = dict(mapping)
    dims = tuple(names.get(d, d) for d in x.dims)
    if len(set(dims)) != len(dims):
        lw.diags.error("E0401", f"renaming gives a repeated dimension: {list(dims)}", call.span)
        return None
    return ir.Rename(dims, x.unit, call.span, x.boolean, x, tuple(mapping))


@builtin("eye", "eye(dim): the identity over (dim, its dual)", dim_positional=True)
def _eye(lw: Lowerer, call: ast.Call) -> ir.Op | None:
    if not _args(lw, call, 1):
        return None
    arg = call.args[0]
    if not (isinstance(arg, ast.Name) and len(arg.parts) == 1 and arg.parts[0] in lw.c.dims):
        lw.diags.error("E0304", "`eye` takes a dimension name", arg.span, help="usage: eye(region)")
        return None
    dim = arg.parts[0]
    dual = lw.dual(dim)
    if dual is None:
        lw.diags.error(
            "E0411",
            f"dimension `{dim}` has no dual",
            arg.span,
            help=f"declare one with `like:`, e.g. `{dim}_to: {{like: {dim}}}`",
        )
        return None
    return ir.Identity((dim, dual), DIMENSIONLESS, call.span, False)


@builtin(
    "leontief",
    "leontief(A): (I - A)^-1; write `leontief(A) @ y` or `s @ leontief(A)` to solve instead",
)
def _leontief(lw: Lowerer, call: ast.Call) -> ir.Op | None:
    if not _args(lw, call, 1):
        return None
    mat = lw.matrix(call.args[0], "`leontief`")
    if mat is None:
        return None
    a, rows, cols = mat
    return ir.LeontiefInverse(a.dims, DIMENSIONLESS, call.span, False, a, rows, cols)


def signature_list() -> str:
    """All built-ins, for help texts."""
    return ", ".join(sorted(REGISTRY))
