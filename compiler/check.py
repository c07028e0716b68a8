"""Name resolution, dimension and unit checking, and lowering to IR, in one pass per definition.

Definitions are checked in dependency order, so each reference already has a known type. A
definition that fails poisons its users silently: one mistake gives one message, not a cascade.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from carbonc.dsl import ast
from carbonc.dsl.diagnostics import Diagnostics, did_you_mean
from carbonc.dsl.schema import DataSpec
from carbonc.dsl.span import Span

from . import ir
from .dims import Dimension
from .functions import REGISTRY, signature_list
from .program import AssertDef, ChoiceDef, Definition, ProcessTable, Program, Scope
from .uncertain_inputs import (
    Collector,
    Correlation,
    literal_unit,
    lower_distribution_parameter,
)
from .uncertainty import Dist, InputUncertainty, is_distribution
from .units import (
    DIMENSIONLESS,
    UnitError,
    compatible,
    conversion,
    describe_dimension,
    divide,
    fmt,
    multiply,
    parse_unit,
    power,
)

DEFAULT_RTOL = 1e-9
MAX_ELEMENTS = 600_000_000  # one array of 4.5 GiB; EXIOBASE's Z is 96 million
ANY_UNIT = "any"
_ARITH = {"+", "-", "*", "/", "^", "@"}
_COMPARE = {"==", "!=", "<", "<=", ">", ">="}


@dataclass(frozen=True)
class CheckedAssert:
    """An assertion ready to run: a boolean op, or two sides compared with a tolerance."""

    qname: str
    text: str
    span: Span
    message: str | None
    cond: ir.Op | None
    left: ir.Op | None = None
    right: ir.Op | None = None
    tolerance: float = 0.0
    relative: bool = True
    imported: bool = False  # declared in an imported method, not in the model being run

    @property
    def reads(self) -> set[str]:
        """The definitions the assertion reads."""
        out: set[str] = set()
        for op in (self.cond, self.left, self.right):
            if op is not None:
                out |= ir.references(op)
        return out


@dataclass
class Checked:
    """The result of checking: IR per definition, in an executable order."""

    ir: dict[str, ir.Op]
    order: list[str]
    graph: nx.DiGraph
    asserts: list[CheckedAssert]
    outputs: list[str]
    uncertain: dict[str, InputUncertainty] = field(default_factory=dict)
    correlations: list[Correlation] = field(default_factory=list)


class Resolver:
    """Turns names in formulas into definitions and choices, with did-you-mean on misses."""

    def __init__(self, program: Program, dims: dict[str, Dimension], diags: Diagnostics):
        self.program = program
        self.dims = dims
        self.diags = diags
        # Keyed by (scope, node): a method imported twice shares its AST but not its bindings.
        self.names: dict[tuple[int, int], Definition] = {}
        self.choices: dict[tuple[int, int], ChoiceDef] = {}

    def scope_of(
        self, scope: Scope, parts: tuple[str, ...], span: Span, whole: str
    ) -> Scope | None:
        here = scope
        for i, part in enumerate(parts):
            nxt = here.imports.get(part)
            if nxt is None and part in here.broken:
                return None  # the failed import was reported where it failed
            if nxt is None:
                known = list(here.imports) + list(here.names)
                hint = did_you_mean(part, list(here.imports)) or did_you_mean(part, known)
                if i == 0:
                    self.diags.error(
                        "E0301",
                        f"unknown name `{part}` in `{whole}`",
                        span,
                        help=hint or "`a.b` reads `b` from the import aliased `a`",
                    )
                else:
                    self.diags.error(
                        "E0302", f"`{'.'.join(parts[:i])}` has no import `{part}`", span, help=hint
                    )
                return None
            here = nxt
        return here

    def definition(self, scope: Scope, node: ast.Name) -> Definition | None:
        target = self.scope_of(scope, node.parts[:-1], node.span, node.dotted)
        if target is None:
            return None
        name = node.parts[-1]
        d = target.names.get(name)
        if d is not None:
            self.names[id(scope), id(node)] = d
            return d
        qual = f"`{node.dotted}`"
        if len(node.parts) == 1 and name in target.imports:
            self.diags.error(
                "E0301",
                f"`{name}` is an import, not a value",
                node.span,
                help=f"read one of its definitions, e.g. `{name}.{next(iter(target.imports[name].names), 'x')}`",
            )
        elif name in target.choices:
            self.diags.error(
                "E0301",
                f"`{name}` is a choice, not a value",
                node.span,
                help=f"read it with `choice.{name}` in a selection or `match choice.{name} {{ … }}`",
            )
        elif name in self.dims and len(node.parts) == 1:
            self.diags.error(
                "E0301",
                f"`{name}` is a dimension, not a value",
                node.span,
                help=f"use it as `sum(x, over={name})` or `x[{name}=label]`",
            )
        elif len(node.parts) > 1:
            self.diags.error(
                "E0302",
                f"{target.label} defines no `{name}`",
                node.span,
                help=did_you_mean(name, target.names)
                or f"it defines: {', '.join(sorted(target.names)[:10])}",
            )
        else:
            candidates = list(target.names) + list(target.imports)
            self.diags.error(
                "E0301",
                f"unknown name {qual}",
                node.span,
                help=did_you_mean(name, candidates) or _names_help(target),
            )
        return None

    def choice(self, scope: Scope, node: ast.ChoiceRef) -> ChoiceDef | None:
        target = self.scope_of(
            scope, node.prefix, node.span, f"{'.'.join(node.prefix)}.choice.{node.name}"
        )
        if target is None:
            return None
        c = target.choices.get(node.name)
        if c is None:
            hint = did_you_mean(node.name, target.choices)
            self.diags.error(
                "E0307",
                f"unknown choice `{node.name}` in {target.label}",
                node.span,
                help=hint
                or (
                    f"choices: {', '.join(target.choices)}"
                    if target.choices
                    else "declare it under `choices:`"
                ),
            )
            return None
        self.choices[id(scope), id(node)] = c
        return c

    def collect(self, scope: Scope, tree: ast.Node, current: Definition | None) -> set[str]:
        """Resolve every name in ``tree``; return the qualified names it depends on."""
        deps: set[str] = set()
        stack = [tree]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Call) and node.func in REGISTRY:
                # Arguments that name dimensions (`over=gas`, `eye(region)`) are not values.
                b = REGISTRY[node.func]
                stack.extend(a for a in node.args if not b.dim_positional)
                stack.extend(
                    k.value for k in node.kwargs if k.name not in b.dim_args and not b.dim_kwargs
                )
            else:
                stack.extend(ast.children(node))
            if isinstance(node, ast.Name):
                d = self.definition(scope, node)
                if d is not None:
                    deps.add(d.qname)
            elif isinstance(node, ast.ChoiceRef):
                self.choice(scope, node)
            elif isinstance(node, ast.Super):
                if current is None or current.super_def is None:
                    self.diags.error(
                        "E0312",
                        "`super` is only allowed in an `override:`",
                        node.span,
                        help="`super` refers to the definition an override replaces",
                    )
                else:
                    deps.add(current.super_def.qname)
            elif isinstance(node, ast.Call) and node.func not in REGISTRY:
                hint = did_you_mean(node.func, REGISTRY)
                py = node.func in {"eval", "exec", "open", "print", "compile", "getattr", "input"}
                self.diags.error(
                    "E0303",
                    f"unknown function `{node.func}`",
                    node.func_span,
                    help="formulas never run Python"
                    if py
                    else hint or f"built-ins: {signature_list()}",
                )
        return deps


def _names_help(scope: Scope) -> str:
    names = sorted(scope.names)
    if not names:
        return "define it under `rules:`, `data:` or `parameters:`"
    return f"defined here: {', '.join(names[:10])}{' …' if len(names) > 10 else ''}"


def _is_zero_literal(op: ir.Op) -> bool:
    return isinstance(op, ir.Const) and op.value == 0.0 and op.unit == DIMENSIONLESS


class Lowerer:
    """Checks and lowers the formulas of one definition (or assertion)."""

    def __init__(self, checker: Checker, scope: Scope, current: Definition | None):
        self.c = checker
        self.diags = checker.diags
        self.scope = scope
        self.current = current

    # -- helpers used by built-ins ----------------------------------------------------

    def broadcast(self, *ops: ir.Op) -> tuple[str, ...]:
        """The dims of an element-wise result over ``ops``."""
        out: list[str] = []
        for op in ops:
            out.extend(d for d in op.dims if d not in out)
        return tuple(out)

    def number(self, node: ast.Node) -> ir.Op | None:
        """Lower ``node`` and require a number (not a condition)."""
        op = self.lower(node)
        if op is not None and op.boolean:
            self.diags.error(
                "E0409",
                "expected a number, found a condition",
                node.span,
                help="use `where(condition, a, b)` to turn a condition into numbers",
            )
            return None
        return op

    def condition(self, node: ast.Node) -> ir.Op | None:
        """Lower ``node`` and require a condition (a comparison)."""
        op = self.lower(node)
        if op is not None and not op.boolean:
            self.diags.error(
                "E0409",
                "expected a condition, found a number",
                node.span,
                help="compare it, e.g. `x > 0 t`",
            )
            return None
        return op

    def same_unit(self, a: ir.Op, b: ir.Op, b_node: ast.Node, what: str) -> ir.Op | None:
        """``b`` converted to ``a``'s unit, or a unit-mismatch error at ``b_node``."""
        if a.unit == b.unit:
            return b
        if _is_zero_literal(b):
            return ir.Const(b.dims, a.unit, b.span, False, 0.0)
        try:
            factor = conversion(b.unit, a.unit)
        except UnitError:
            self.diags.error(
                "E0501",
                f"unit mismatch in {what}: {fmt(a.unit)} and {fmt(b.unit)}",
                b_node.span,
                help=_mismatch_help(a.unit, b.unit),
            )
            return None
        return b if factor == 1.0 else ir.Scale(b.dims, a.unit, b.span, False, b, factor)

    def combine(self, fn: Any, a: ir.Op, b: ir.Op, node: ast.Node) -> tuple[object, float] | None:
        """The unit (and scale) of multiplying or dividing ``a`` and ``b``, or an error."""
        try:
            result: tuple[object, float] = fn(a.unit, b.unit)
        except UnitError as exc:
            self.diags.error(
                "E0501",
                str(exc),
                node.span,
                help="offset units such as degC cannot be multiplied; use K",
            )
            return None
        return result

    def zero_as(self, a: ir.Op, b: ir.Op) -> ir.Op:
        """A bare literal ``0`` takes the unit of the other operand (zero is zero in any unit)."""
        if _is_zero_literal(a) and not _is_zero_literal(b):
            return ir.Const(a.dims, b.unit, a.span, False, 0.0)
        return a

    def dimensionless(self, x: ir.Op, node: ast.Node, what: str) -> ir.Op | None:
        """``x`` as a plain number, or an error when it has a unit."""
        if x.unit == DIMENSIONLESS:
            return x
        try:
            factor = conversion(x.unit, DIMENSIONLESS)
        except UnitError:
            self.diags.error(
                "E0505",
                f"{what} needs a dimensionless value, found {fmt(x.unit)}",
                node.span,
                help="divide by a reference quantity first",
            )
            return None
        return ir.Scale(x.dims, DIMENSIONLESS, x.span, False, x, factor)

    def over(self, call: ast.Call, x: ir.Op) -> tuple[str, ...] | None:
        """The dims named by ``over=`` (all of ``x``'s dims when absent), checked against ``x``."""
        kw = next((k for k in call.kwargs if k.name == "over"), None)
        if kw is None:  # everything but the dims the method is batched over
            return tuple(d for d in x.dims if d not in self.scope.batch)
        items = kw.value.items if isinstance(kw.value, ast.Tuple) else (kw.value,)
        out: list[str] = []
        for item in items:
            if not (isinstance(item, ast.Name) and len(item.parts) == 1):
                self.diags.error(
                    "E0304",
                    "`over=` takes a dimension name or a tuple of them",
                    item.span,
                    help=f"e.g. `{call.func}(x, over=gas)`",
                )
                return None
            dim = item.parts[0]
            if dim not in self.c.dims:
                self.diags.error(
                    "E0305",
                    f"unknown dimension `{dim}`",
                    item.span,
                    help=did_you_mean(dim, self.c.dims) or f"dimensions: {', '.join(self.c.dims)}",
                )
                return None
            if dim not in x.dims:
                self.diags.error(
                    "E0402",
                    f"cannot reduce over `{dim}`: the value has dims {_dims(x.dims)}",
                    item.span,
                    help=did_you_mean(dim, x.dims)
                    or (
                        f"it can be reduced over {', '.join(x.dims)}"
                        if x.dims
                        else "it is already a scalar"
                    ),
                )
                return None
            out.append(dim)
        return tuple(out)

    # -- lowering ---------------------------------------------------------------------

    def lower(self, node: ast.Node) -> ir.Op | None:
        """Check ``node`` and lower it to IR; None after reporting an error."""
        match node:
            case ast.Quantity(value=v, unit=u):
                unit = self.c.unit(u, node.span, self.scope)
                return None if unit is None else ir.Const((), unit, node.span, False, v)
            case ast.Name():
                d = self.c.resolver.names.get((id(self.scope), id(node)))
                return self.c.ref(d, node.span) if d is not None else None
            case ast.Super():
                if self.current is None or self.current.super_def is None:
                    return None
                return self.c.ref(self.current.super_def, node.span)
            case ast.Unary(op="-", operand=x):
                o = self.number(x)
                return None if o is None else ir.Unary(o.dims, o.unit, node.span, False, "neg", o)
            case ast.Unary(op="not", operand=x):
                o = self.condition(x)
                return (
                    None
                    if o is None
                    else ir.Unary(o.dims, DIMENSIONLESS, node.span, True, "not", o)
                )
            case ast.Binary():
                return self.binary(node)
            case ast.Call(func=f):
                b = REGISTRY.get(f)
                return b.lower(self, node) if b is not None else None
            case ast.Select():
                return self.select(node)
            case ast.Match():
                return self.match(node)
            case ast.Convert(expr=e, unit=u, unit_span=us):
                return self.convert(node, e, u, us)
            case ast.Within():
                self.diags.error(
                    "E0410",
                    "`within` is only allowed at the end of an assertion",
                    node.span,
                    help="write `a == b within 1e-9` directly under `assert:`",
                )
                return None
            case ast.Tuple():
                self.diags.error(
                    "E0304", "a tuple is only allowed as `over=(dim1, dim2)`", node.span
                )
                return None
            case ast.Label(text=t):
                self.diags.error(
                    "E0308",
                    f'"{t}" is a label, not a number',
                    node.span,
                    help='quoted labels select (`x[category="1.A.1"]`) or name a category '
                    '(`under(category="1.A")`)',
                )
                return None
            case ast.ChoiceRef(name=n):
                self.diags.error(
                    "E0308",
                    f"`choice.{n}` is a label, not a number",
                    node.span,
                    help=f"select with it, `x[dim=choice.{n}]`, or branch with `match choice.{n} {{ … }}`",
                )
                return None
        self.diags.error("E0201", "unsupported expression", node.span)
        return None

    def convert(self, node: ast.Node, expr: ast.Node, unit: str, unit_span: Span) -> ir.Op | None:
        """``expr in unit``."""
        x = self.number(expr)
        target = self.c.unit(unit, unit_span)
        if x is None or target is None:
            return None
        try:
            factor = conversion(x.unit, target)
        except UnitError:
            self.diags.error(
                "E0504",
                f"cannot convert {fmt(x.unit)} to {fmt(target)}",
                unit_span,
                help=_mismatch_help(target, x.unit),
            )
            return None
        return ir.Scale(x.dims, target, node.span, False, x, factor)

    def binary(self, node: ast.Binary) -> ir.Op | None:
        op = node.op
        if op == "@":
            return self.matmul(node)
        if op in ("and", "or"):
            a, b = self.condition(node.left), self.condition(node.right)
            if a is None or b is None:
                return None
            return ir.Binary(self.broadcast(a, b), DIMENSIONLESS, node.span, True, op, a, b)
        a, b = self.number(node.left), self.number(node.right)
        if a is None or b is None:
            return None
        if op in ("+", "-") or op in _COMPARE:
            a = self.zero_as(a, b)
            what = f"`{op}`" if op in _COMPARE else ("addition" if op == "+" else "subtraction")
            b2 = self.same_unit(a, b, node.right, what)
            if b2 is None:
                return None
            boolean = op in _COMPARE
            return ir.Binary(
                self.broadcast(a, b2),
                DIMENSIONLESS if boolean else a.unit,
                node.span,
                boolean,
                op,
                a,
                b2,
            )
        if op in ("*", "/"):
            combined = self.combine(multiply if op == "*" else divide, a, b, node)
            if combined is None:
                return None
            unit, factor = combined
            out: ir.Op = ir.Binary(self.broadcast(a, b), unit, node.span, False, op, a, b)
            return out if factor == 1.0 else ir.Scale(out.dims, unit, node.span, False, out, factor)
        if op == "^":
            return self.power(node, a, b)
        self.diags.error(
            "E0201", f"unknown operator `{op}`", node.span
        )  # pragma: no cover - grammar prevents it
        return None

    def dual(self, dim: str) -> str | None:
        """The dual of ``dim`` (``region`` <-> ``region_to``), if it has one."""
        d = self.c.dims.get(dim)
        return d.dual if d is not None else None

    def matrix(
        self, node: ast.Node, what: str
    ) -> tuple[ir.Op, tuple[str, ...], tuple[str, ...]] | None:
        """Lower a square matrix: dims in (base, dual) pairs, dimensionless. Returns (op, rows, cols)."""
        a = self.number(node)
        if a is None:
            return None
        rows = tuple(
            d for d in a.dims if self.dual(d) in a.dims and self.c.dims[d].decl.like is None
        )
        cols = tuple(self.dual(d) or d for d in rows)
        if not rows or set(a.dims) != set(rows) | set(cols):
            self.diags.error(
                "E0411",
                f"{what} needs a square matrix whose dims come in pairs like (region, region_to); "
                f"this one has dims {_dims(a.dims)}",
                node.span,
                help="declare the column dims with `like:`, e.g. `region_to: {like: region}`",
            )
            return None
        a = self.dimensionless(a, node, what)
        if a is None:
            return None
        return a, rows, cols

    def matmul(self, node: ast.Binary) -> ir.Op | None:
        """``a @ b``; products with ``leontief(A)`` become linear solves, never an inverse."""
        for side, transposed in ((node.left, False), (node.right, True)):
            if isinstance(side, ast.Call) and side.func == "leontief" and len(side.args) == 1:
                mat = self.matrix(side.args[0], "`leontief`")
                other = self.number(node.left if transposed else node.right)
                if mat is None or other is None:
                    return None
                a, rows, cols = mat
                missing = [d for d in rows if d not in other.dims]
                if missing:
                    where = "left" if transposed else "right"
                    self.diags.error(
                        "E0401",
                        f"the {where} side of this product with `leontief` lacks dims {_dims(tuple(missing))}",
                        (node.left if transposed else node.right).span,
                        help=f"it must be indexed by the matrix's rows {_dims(rows)}",
                    )
                    return None
                dims = (
                    (*rows, *(d for d in other.dims if d not in rows))
                    if not transposed
                    else (
                        *(d for d in other.dims if d not in rows),
                        *rows,
                    )
                )
                return ir.LeontiefSolve(
                    dims, other.unit, node.span, False, a, other, rows, cols, transposed
                )
        left, right = self.number(node.left), self.number(node.right)
        if left is None or right is None:
            return None
        a, b = left, right
        # A matrix's column (dual) dims meet a vector's base dims; otherwise shared dims meet.
        pairs = [
            (dual, d)
            for d in b.dims
            if self.c.dims[d].decl.like is None
            and (dual := self.dual(d)) is not None
            and dual in a.dims
        ]
        if not pairs:
            pairs = [(d, d) for d in a.dims if d in b.dims]
        if not pairs:
            self.diags.error(
                "E0401",
                f"`@` needs a shared dimension; left has {_dims(a.dims)}, right has {_dims(b.dims)}",
                node.span,
                help="use `*` for an element-wise product",
            )
            return None
        used_a = {x for x, _ in pairs}
        used_b = {y for _, y in pairs}
        raw = [*(d for d in a.dims if d not in used_a), *(d for d in b.dims if d not in used_b)]
        renames = tuple(
            (d, base)
            for d in raw
            if (base := self.dual(d)) is not None
            and self.c.dims[d].decl.like is not None
            and base not in raw
        )
        final = [dict(renames).get(d, d) for d in raw]
        if len(set(final)) != len(final):
            self.diags.error(
                "E0401",
                f"`@` would give a result with a repeated dimension: {_dims(tuple(final))}",
                node.span,
                help="use `transpose(x)` to turn one operand's dims into their duals first",
            )
            return None
        combined = self.combine(multiply, a, b, node)
        if combined is None:
            return None
        unit, factor = combined
        out: ir.Op = ir.Contract(tuple(final), unit, node.span, False, a, b, tuple(pairs), renames)
        return out if factor == 1.0 else ir.Scale(out.dims, unit, node.span, False, out, factor)

    def power(self, node: ast.Binary, a: ir.Op, exponent: ir.Op) -> ir.Op | None:
        b = self.dimensionless(exponent, node.right, "an exponent")
        if b is None:
            return None
        if a.unit == DIMENSIONLESS:
            return ir.Binary(self.broadcast(a, b), DIMENSIONLESS, node.span, False, "^", a, b)
        if not isinstance(b, ir.Const) or b.dims:
            self.diags.error(
                "E0505",
                f"a quantity in {fmt(a.unit)} can only be raised to a constant power",
                node.right.span,
                help="write the exponent as a number, e.g. `x ^ 2`",
            )
            return None
        try:
            unit = power(a.unit, b.value)
        except UnitError as exc:
            self.diags.error(
                "E0505", str(exc), node.span, help="use a plain number or a smaller power"
            )
            return None
        return ir.Binary(a.dims, unit, node.span, False, "^", a, b)

    def select(self, node: ast.Select) -> ir.Op | None:
        x = self.lower(node.target)
        if x is None:
            return None
        picks: list[ir.Pick] = []
        for sel in node.selectors:
            dim = self.c.dims.get(sel.dim)
            if dim is None:
                self.diags.error(
                    "E0305",
                    f"unknown dimension `{sel.dim}`",
                    sel.span,
                    help=did_you_mean(sel.dim, self.c.dims)
                    or f"dimensions: {', '.join(self.c.dims)}",
                )
                return None
            if sel.dim not in x.dims:
                self.diags.error(
                    "E0403",
                    f"cannot select `{sel.dim}`: the value has dims {_dims(x.dims)}",
                    sel.span,
                    help=did_you_mean(sel.dim, x.dims),
                )
                return None
            if any(p.dim == sel.dim for p in picks):
                self.diags.error("E0403", f"`{sel.dim}` is selected twice", sel.span)
                return None
            if isinstance(sel.label, ast.ChoiceRef):
                choice = self.c.resolver.choices.get((id(self.scope), id(sel.label)))
                if choice is None:
                    return None
                bad = [v for v in choice.values if v not in dim.index]
                if bad:
                    self.diags.error(
                        "E0306",
                        f"choice `{choice.name}` can be `{bad[0]}`, which is not a label of "
                        f"dimension `{sel.dim}`",
                        sel.label.span,
                        help=f"make the choice's values labels of `{sel.dim}`",
                        notes=(f"choice declared at {choice.span}",),
                    )
                    return None
                picks.append(ir.Pick(sel.dim, None, choice.qname))
            else:
                if sel.label.text not in dim.index:
                    if sel.label.text in self.scope.choices:
                        self.diags.error(
                            "E0306",
                            f"`{sel.label.text}` is not a label of dimension `{sel.dim}`",
                            sel.label.span,
                            help=f"to select by the choice, write `choice.{sel.label.text}`",
                        )
                        return None
                    known = sel.label.text in dim.known
                    self.diags.error(
                        "E0306",
                        f"`{sel.label.text}` is not a label of dimension `{sel.dim}`"
                        + (" in this model" if known else ""),
                        sel.label.span,
                        help=(
                            f"the model narrows `{sel.dim}` to: {', '.join(dim.labels[:8])}"
                            if known
                            else did_you_mean(sel.label.text, dim.labels)
                            or f"labels: {', '.join(dim.labels[:8])}{' …' if len(dim.labels) > 8 else ''}"
                        ),
                    )
                    return None
                picks.append(ir.Pick(sel.dim, sel.label.text, None))
        dims = tuple(d for d in x.dims if all(p.dim != d for p in picks))
        return ir.Select(dims, x.unit, node.span, x.boolean, x, tuple(picks))

    def match(self, node: ast.Match) -> ir.Op | None:
        choice = self.c.resolver.choices.get((id(self.scope), id(node.choice)))
        if choice is None:
            return None
        cases: list[tuple[str, ir.Op]] = []
        default: ir.Op | None = None
        first: ir.Op | None = None
        seen: set[str] = set()
        ok = True
        for arm in node.arms:
            if arm.value is not None and arm.value not in choice.values:
                self.diags.error(
                    "E0308",
                    f"`{arm.value}` is not a value of choice `{choice.name}`",
                    arm.span,
                    help=did_you_mean(arm.value, choice.values)
                    or f"its values are: {', '.join(choice.values)}",
                )
                ok = False
                continue
            if arm.value in seen or (arm.value is None and default is not None):
                self.diags.error(
                    "E0308", f"`{arm.value or '_'}` has two arms in this match", arm.span
                )
                ok = False
                continue
            op = self.lower(arm.expr)
            if op is None:
                ok = False
                continue
            if first is None:
                first = op
            else:
                # Arms are broadcast to the union of their dims (below) when one's dims are
                # among the other's (`_ => 0`), or they differ only in the dims the method is
                # batched over; two arms each with a dim the other lacks are a mistake.
                a, b = set(op.dims), set(first.dims)
                if not (a <= b or b <= a or a ^ b <= self.scope.batch):
                    self.diags.error(
                        "E0405",
                        f"match arms disagree on dims: {_dims(first.dims)} and {_dims(op.dims)}",
                        arm.expr.span,
                        help="every arm must have the same dimensions",
                    )
                    ok = False
                    continue
                if op.boolean != first.boolean:
                    self.diags.error(
                        "E0409", "match arms mix conditions and numbers", arm.expr.span
                    )
                    ok = False
                    continue
                conv = op if op.boolean else self.same_unit(first, op, arm.expr, "match arms")
                if conv is None:
                    ok = False
                    continue
                op = conv
            if arm.value is None:
                default = op
            else:
                seen.add(arm.value)
                cases.append((arm.value, op))
        if not ok or first is None:
            return None
        missing = [v for v in choice.values if v not in seen]
        if missing and default is None:
            self.diags.error(
                "E0308",
                f"match on `{choice.name}` has no arm for {', '.join(f'`{m}`' for m in missing)}",
                node.span,
                help="add the missing arms, or a catch-all `_ => …`",
            )
            return None
        arms = [op for _, op in cases] + ([default] if default is not None else [])
        dims = self.broadcast(*arms)
        if any(op.dims != dims for op in arms):
            cases = [(v, _expanded(op, dims)) for v, op in cases]
            default = _expanded(default, dims) if default is not None else None
        return ir.Switch(
            dims, first.unit, node.span, first.boolean, choice.qname, tuple(cases), default
        )


def _dims(dims: tuple[str, ...]) -> str:
    return f"[{', '.join(dims)}]" if dims else "[] (a scalar)"


def _mismatch_help(a: object, b: object) -> str:
    """Why two units cannot meet, and the factor that would convert one into the other."""
    try:
        unit, _ = divide(a, b)
    except UnitError:
        return f"{fmt(a)} and {fmt(b)} measure different things"
    return (
        f"{fmt(a)} is {describe_dimension(a)} and {fmt(b)} is {describe_dimension(b)}; "
        f"multiply the {fmt(b)} side by a factor in {fmt(unit)} to convert it"
    )


class Checker:
    """Checks a whole program and lowers it to IR."""

    def __init__(self, program: Program, dims: dict[str, Dimension], diags: Diagnostics):
        self.program = program
        self.dims = dims
        self.diags = diags
        self.resolver = Resolver(program, dims, diags)
        self.ir: dict[str, ir.Op] = {}
        self.failed: set[str] = set()
        self.distributions: dict[str, Dist] = {}  # parameters whose value is a distribution

    def unit(self, text: str | None, span: Span, scope: Scope | None = None) -> object | None:
        """Parse a unit, reporting an error at ``span`` when it is not one."""
        try:
            return parse_unit(text)
        except UnitError as exc:
            help_ = "units follow pint syntax, e.g. `t/TJ`, `kt CO2e`, `%`"
            words = (text or "").replace("/", " ").split()
            named = [w for w in words if scope is not None and w in scope.names]
            if named:
                help_ = (
                    f"`{named[0]}` is a name, not a unit: put the quantity in parentheses, "
                    f"e.g. `(2 kg) / {named[0]}`"
                )
            self.diags.error("E0502", str(exc), span, help=help_)
            return None

    def ref(self, d: Definition, span: Span) -> ir.Op | None:
        if d.qname in self.failed:
            return None
        if d.qname not in self.ir:  # pragma: no cover - the topological order guarantees this
            raise RuntimeError(f"internal: `{d.qname}` used before it was checked")
        t = self.ir[d.qname]
        return ir.Ref(t.dims, t.unit, span, t.boolean, d.qname)

    def check_dims(self, dims: tuple[str, ...], span: Span | None) -> bool:
        ok = True
        for d in dims:
            if d not in self.dims:
                self.diags.error(
                    "E0305",
                    f"unknown dimension `{d}`",
                    span,
                    help=did_you_mean(d, self.dims) or "declare it under `dimensions:`",
                )
                ok = False
        return ok

    def run(self) -> Checked:
        """Resolve, order, check and lower every definition and assertion."""
        defs = self.program.definitions
        graph: nx.DiGraph = nx.DiGraph()
        for q, d in defs.items():
            graph.add_node(q)
            deps = (
                self.resolver.collect(d.scope, d.expr, d)
                if d.expr is not None and not self.is_distribution(d)
                else set()
            )
            if isinstance(d.spec, ProcessTable):
                for cell in d.spec.cells:
                    deps |= self.resolver.collect(d.scope, cell.expr, d)
            for dep in deps:
                graph.add_edge(dep, q)
        assert_deps: list[set[str]] = []
        for a in self.program.asserts:
            deps = self.resolver.collect(a.scope, a.expr, None)
            if isinstance(a.within, ast.Node):
                deps |= self.resolver.collect(a.scope, a.within, None)
            assert_deps.append(deps)
        cyclic = self.report_cycles(graph)
        order = [
            q for q in nx.lexicographical_topological_sort(graph.subgraph(set(graph) - cyclic))
        ]
        self.failed |= cyclic
        for q in order:
            self.define(defs[q])
        asserts = [
            ca
            for a, deps in zip(self.program.asserts, assert_deps, strict=True)
            if not deps & self.failed and (ca := self.check_assert(a)) is not None
        ]
        outputs = self.outputs()
        uncertain, correlations = Collector(self.program, self.ir, self.diags).run(
            self.distributions
        )
        return Checked(
            self.ir,
            [q for q in order if q in self.ir],
            graph,
            asserts,
            outputs,
            uncertain,
            correlations,
        )

    @staticmethod
    def is_distribution(d: Definition) -> bool:
        """Whether ``d`` is a parameter whose value is a distribution, e.g. ``pert(1, 2, 4)``."""
        return d.kind == "parameter" and is_distribution(d.expr)

    def lower_distribution(self, d: Definition) -> ir.Op | None:
        """A distribution-valued parameter is its central value in a deterministic run."""
        assert d.expr is not None
        declared = d.unit if d.unit not in (None, ANY_UNIT) else literal_unit(d.expr)
        unit = self.unit(declared, d.unit_span or d.span)
        if unit is None:
            return None
        lowered = lower_distribution_parameter(d, unit, self.diags)
        if lowered is None:
            return None
        value, dist = lowered
        self.distributions[d.qname] = dist
        op: ir.Op = ir.Const((), unit, d.expr.span, False, value)
        if d.dims:
            if not self.check_dims(d.dims, d.dims_span):
                return None
            op = ir.Expand(d.dims, unit, d.expr.span, False, op)
        return op

    def report_cycles(self, graph: nx.DiGraph) -> set[str]:
        cyclic: set[str] = set()
        for comp in nx.strongly_connected_components(graph):
            if len(comp) == 1:
                (q,) = comp
                if not graph.has_edge(q, q):
                    continue
            cyclic |= comp
            start = min(comp)
            cycle = [start]
            # Walk edges inside the component back to the start to show one concrete cycle.
            path = (
                nx.shortest_path(graph.subgraph(comp), start, start)
                if graph.has_edge(start, start)
                else None
            )
            if path is None:
                succ = next(s for s in graph.successors(start) if s in comp)
                cycle = [start, *nx.shortest_path(graph.subgraph(comp), succ, start)]
            else:
                cycle = [start, start]
            d = self.program.definitions[start]
            shown = " -> ".join(reversed(cycle))
            self.diags.error(
                "E0601",
                f"definitions depend on each other in a cycle: {shown}",
                d.span,
                help="a value cannot depend on itself; break the cycle by computing one of them from data",
            )
        return cyclic

    def define(self, d: Definition) -> None:
        op = self.lower_definition(d)
        if op is not None and not self.fits(op):
            op = None
        if op is None:
            self.failed.add(d.qname)
        else:
            self.ir[d.qname] = op

    def may_be_sparse(self, op: ir.Op) -> bool:
        """Whether ``op`` may stay sparse at run time: it reads a ``sparse: true`` entry, or is a
        constant spread over dims (held as a fill value). Optimistic: the runtime computes
        densely what it cannot keep sparse."""
        stack = [op]
        while stack:
            o = stack.pop()
            if isinstance(o, ir.Expand) and not o.x.dims:
                return True
            if isinstance(o, (ir.Load, ir.Ref)):
                d = self.program.definitions.get(o.qname)
                if d is not None and isinstance(d.spec, DataSpec) and d.spec.sparse:
                    return True
                if isinstance(o, ir.Ref) and o.qname in self.ir:
                    stack.append(self.ir[o.qname])
            stack.extend(ir.operands(o))
        return False

    def fits(self, root: ir.Op) -> bool:
        """Whether every array the definition computes stays under ``MAX_ELEMENTS``."""
        stack = [root]
        while stack:
            op = stack.pop()
            n = 1
            for dim in op.dims:
                n *= len(self.dims[dim].labels)
            if n > MAX_ELEMENTS and not self.may_be_sparse(op):
                self.diags.error(
                    "E0412",
                    f"this would compute an array of {n:,} values over {_dims(op.dims)} "
                    f"({n * 8 / 2**30:,.0f} GiB)",
                    op.span,
                    help="reduce over a dimension first (e.g. `sum(x, over=d)`), or select labels",
                )
                return False
            stack.extend(ir.operands(op))
        return True

    def lower_process_table(self, d: Definition, table: ProcessTable) -> ir.Op | None:
        """Assemble a table of exchanges: each amount in its row's unit (a product's own unit,
        or kg for an elementary flow), as plain numbers."""
        rows = self.dims[table.row_dim]
        processes = self.dims["process"]
        units = dict(table.units)
        # Flows are masses (kg); products are plain numbers, each in its own unit.
        out_unit = parse_unit("kg") if table.row_dim == "flow" else DIMENSIONLESS
        lw = Lowerer(self, d.scope, d)
        cells: list[tuple[tuple[int, int], ir.Op]] = []
        ok = True
        for cell in table.cells:
            op = lw.number(cell.expr)
            if op is None:
                ok = False
                continue
            if op.dims:
                self.diags.error(
                    "E0406",
                    f"an exchange amount must be one number, but this one has dims {_dims(op.dims)}",
                    cell.span,
                    help="select a label, e.g. `share[fuel=coal] * 2 t`",
                )
                ok = False
                continue
            target = (
                "1"
                if table.kind in ("reference", "stage")
                else ("kg" if table.row_dim == "flow" else units.get(cell.row))
            )
            if target is None:
                if op.unit != DIMENSIONLESS:
                    units[cell.row] = fmt(op.unit)  # an input met before the product's output
                target = units.get(cell.row, "1")
            unit = parse_unit(target)
            try:
                factor = conversion(op.unit, unit)
            except UnitError:
                what = "an elementary flow" if table.row_dim == "flow" else f"product `{cell.row}`"
                self.diags.error(
                    "E0503",
                    f"{what} is measured in {fmt(unit)}, but this amount is in {fmt(op.unit)}",
                    cell.span,
                    help="give the amount in a unit of the same kind"
                    + (", e.g. `1.8 t` or `2 kg`" if table.row_dim == "flow" else ""),
                )
                ok = False
                continue
            value: ir.Op = ir.Scale((), out_unit, op.span, False, op, factor)
            cells.append(((rows.index[cell.row], processes.index[cell.process]), value))
        if not ok:
            return None
        return ir.Assemble((table.row_dim, "process"), out_unit, d.span, False, tuple(cells))

    def lower_definition(self, d: Definition) -> ir.Op | None:
        if isinstance(d.spec, ProcessTable):
            return self.lower_process_table(d, d.spec)
        if d.expr is None:
            loads = d.kind in ("data", "input") or (
                d.kind == "parameter" and getattr(d.spec, "values", None) is not None
            )
            if not loads:
                if d.kind == "parameter" and d.spec is not None:
                    self.diags.error(
                        "E0102",
                        f"parameter `{d.name}` has no `value:` or `values:`",
                        d.span,
                        help="give `value: 0.5` (a number or formula) or `values:` by label",
                    )
                return None  # a formula that failed to parse was already reported
            dims = d.dims or ()
            unit = self.unit(None if d.unit == ANY_UNIT else d.unit, d.unit_span or d.span)
            if not self.check_dims(dims, d.dims_span) or unit is None:
                return None
            return ir.Load(dims, unit, d.span, False, d.qname)
        if self.is_distribution(d):
            return self.lower_distribution(d)
        lw = Lowerer(self, d.scope, d)
        op = lw.lower(d.expr)
        if op is None:
            return None
        if d.kind == "parameter":
            bad = [
                q
                for q in ir.references(op)
                if self.program.definitions[q].kind not in ("parameter",)
            ]
            if bad:
                self.diags.error(
                    "E0314",
                    f"parameter `{d.name}` depends on `{bad[0]}`, which is not a parameter",
                    d.expr.span,
                    help="parameters are inputs; move formulas over data to `rules:`",
                )
                return None
        # An input declared `unit: any` keeps the unit of whatever is bound to it; the method's
        # rules are checked per instance, so `Z / x` is still checked with the real units.
        target_unit = None if d.kind == "input" and d.unit == ANY_UNIT else d.unit
        target_dims = d.dims
        if d.super_def is not None and d.super_def.qname in self.ir:
            sup = self.ir[d.super_def.qname]
            target_dims = sup.dims
            if target_unit is None:
                return self.conform(d, op, sup.unit, target_dims, "the definition it overrides")
        if target_unit is None and target_dims is None:
            return op
        unit = self.unit(target_unit, d.unit_span or d.span) if target_unit is not None else op.unit
        if unit is None:
            return None
        if target_dims is not None and not self.check_dims(target_dims, d.dims_span):
            return None
        what = "as declared" if d.kind != "input" else f"the input contract of `{d.owner.label}`"
        return self.conform(d, op, unit, target_dims, what)

    def declares(self, scope: Scope, dim: str) -> bool:
        """Whether a module of ``scope`` (or of what it imports) declares dimension ``dim``."""
        modules = {id(m) for s in self.program.scopes if _within(s, scope) for m in s.modules}
        return any(id(decl.module) in modules for decl in self.program.dims.get(dim, []))

    def conform(
        self, d: Definition, op: ir.Op, unit: object, dims: tuple[str, ...] | None, what: str
    ) -> ir.Op | None:
        """Convert ``op`` to ``unit`` and give it exactly ``dims``.

        Dims the formula lacks are broadcast (a scalar override of a per-fuel factor applies to
        every fuel); dims it has beyond ``dims`` are an error, as is a different unit. A bare
        ``0`` fits any unit.
        """
        span = d.expr.span if d.expr is not None else d.span
        if _is_zero_literal(op):
            op = ir.Const(op.dims, unit, op.span, False, 0.0)  # zero is zero in any unit
        if op.boolean:
            self.diags.error("E0409", f"`{d.name}` must be a number, found a condition", span)
            return None
        if dims is not None:
            # An input bound to a formula with more dims batches its method over them (one
            # instance computes every region); the method's definitions then carry them too.
            extra = [x for x in op.dims if x not in dims]
            if d.kind == "input" and d.owner is not d.scope:
                own = [x for x in extra if self.declares(d.owner, x)]
                lacking = [x for x in dims if x not in op.dims]
                if extra and lacking:
                    self.diags.error(
                        "E0406",
                        f"`{d.qname}` must have dims {_dims(dims)} ({what}), but its formula "
                        f"has dims {_dims(op.dims)}: it lacks `{lacking[0]}` and adds "
                        f"`{extra[0]}`",
                        span,
                        help=f"if `{extra[0]}` is `{lacking[0]}` under another name, write "
                        f"`rename(x, {extra[0]}={lacking[0]})`; a method runs for each label of "
                        "an added dimension only when the formula has all of its input's dims",
                    )
                    return None
                if own:
                    self.diags.error(
                        "E0406",
                        f"`{d.qname}` must have dims {_dims(dims)} ({what}); its formula adds "
                        f"`{own[0]}`, a dimension the method itself uses",
                        span,
                        help=f"sum over {own[0]} or select a label; only dimensions the method "
                        "does not know (a region, a year) can run it for each label at once",
                    )
                    return None
                d.owner.batch.update(extra)
            if extra and set(extra) <= d.owner.batch:
                dims = (*extra, *dims)
        if dims is not None and not set(op.dims) <= set(dims):
            self.diags.error(
                "E0406",
                f"`{d.qname}` must have dims {_dims(dims)} ({what}), but its formula has "
                f"dims {_dims(op.dims)}",
                span,
                help=_dims_help(dims, op.dims),
            )
            return None
        if op.unit != unit:
            try:
                factor = conversion(op.unit, unit)
            except UnitError:
                self.diags.error(
                    "E0503",
                    f"`{d.qname}` must be in {fmt(unit)} ({what}), but its formula gives "
                    f"{fmt(op.unit)}",
                    span,
                    help=_mismatch_help(unit, op.unit),
                )
                return None
            op = ir.Scale(op.dims, unit, op.span, False, op, factor)
        if dims is not None and tuple(dims) != op.dims:
            op = ir.Expand(tuple(dims), op.unit, op.span, False, op)
        return op

    def check_assert(self, a: AssertDef) -> CheckedAssert | None:
        lw = Lowerer(self, a.scope, None)
        text = a.module.text
        expr: ast.Node = a.expr
        tol_node: ast.Node | float | None = a.within
        if isinstance(a.expr, ast.Within):
            expr, tol_node = a.expr.expr, a.expr.tolerance
        src = _source_text(text, a.span)
        if tol_node is not None or (isinstance(expr, ast.Binary) and expr.op == "=="):
            if not (isinstance(expr, ast.Binary) and expr.op == "=="):
                self.diags.error(
                    "E0410",
                    "a tolerance (`within`) needs an `==` comparison",
                    expr.span,
                    help="write `a == b within 1e-9`",
                )
                return None
            left, right = lw.number(expr.left), lw.number(expr.right)
            if left is None or right is None:
                return None
            right = lw.same_unit(left, right, expr.right, "`==`")
            if right is None:
                return None
            tol, relative = DEFAULT_RTOL, True
            if isinstance(tol_node, float):
                tol = tol_node
            elif isinstance(tol_node, ast.Node):
                t = lw.number(tol_node)
                if t is None:
                    return None
                if not isinstance(t, ir.Const) and not (
                    isinstance(t, ir.Scale) and isinstance(t.x, ir.Const)
                ):
                    self.diags.error("E0410", "a tolerance must be a constant", tol_node.span)
                    return None
                value = t.value if isinstance(t, ir.Const) else t.x.value * t.factor  # type: ignore[attr-defined]
                if (
                    compatible(t.unit, DIMENSIONLESS) and not compatible(left.unit, DIMENSIONLESS)
                ) or t.unit == DIMENSIONLESS:
                    tol = value * conversion(t.unit, DIMENSIONLESS)
                else:
                    try:
                        tol, relative = value * conversion(t.unit, left.unit), False
                    except UnitError:
                        self.diags.error(
                            "E0501",
                            f"tolerance in {fmt(t.unit)} does not match the compared values "
                            f"in {fmt(left.unit)}",
                            tol_node.span,
                            help="give a relative tolerance (a plain number or %) or one in the same unit",
                        )
                        return None
            if tol < 0:
                self.diags.error("E0410", "a tolerance cannot be negative", expr.span)
                return None
            return CheckedAssert(
                a.qname,
                src,
                a.span,
                a.message,
                None,
                left,
                right,
                tol,
                relative,
                bool(a.scope.prefix),
            )
        cond = lw.condition(expr)
        if cond is None:
            return None
        return CheckedAssert(a.qname, src, a.span, a.message, cond, imported=bool(a.scope.prefix))

    def outputs(self) -> list[str]:
        root = self.program.root
        if not self.program.outputs:
            return [
                q
                for q, d in self.program.definitions.items()
                if d.owner is root and d.kind == "rule" and "@" not in q and q in self.ir
            ]
        out: list[str] = []
        for name, span in self.program.outputs:
            node = ast.Name(span, tuple(name.split(".")))
            d = self.resolver.definition(root, node)
            if d is None:
                continue
            if d.qname in self.ir:
                out.append(d.qname)
        return out


def _source_text(text: str, span: Span) -> str:
    lines = text.splitlines()
    if 0 < span.line <= len(lines):
        line = lines[span.line - 1]
        if span.end_line == span.line:
            return line[span.col - 1 : span.end_col - 1].strip().strip("\"'")
        return line[span.col - 1 :].strip().strip("\"'")
    return ""


def _expanded(op: ir.Op, dims: tuple[str, ...]) -> ir.Op:
    """``op`` broadcast to ``dims`` (itself when it has them already)."""
    return op if op.dims == dims else ir.Expand(dims, op.unit, op.span, op.boolean, op)


def _within(inner: Scope, outer: Scope) -> bool:
    """Whether ``inner`` is ``outer`` or imported (directly or not) by it."""
    return inner.prefix[: len(outer.prefix)] == outer.prefix


def _dims_help(want: tuple[str, ...], got: tuple[str, ...]) -> str:
    extra = [d for d in got if d not in want]
    missing = [d for d in want if d not in got]
    parts = []
    if extra:
        parts.append(
            f"sum over {', '.join(extra)} (e.g. `sum(x, over={extra[0]})`) or select a label"
        )
    if missing:
        parts.append(f"the formula lacks {', '.join(missing)}")
    return "; ".join(parts) or "reorder nothing: dims are matched by name"
