"""Where IPCC Approach 1 (error propagation) applies, and where it must be refused.

Approach 1 (2006 IPCC Guidelines, Vol. 1, Ch. 3, Sec. 3.2.3.1) combines uncertainties through
sums (Eq. 3.2) and products (Eq. 3.1) of independent quantities. carbonc computes it as the
first-order propagation those equations are special cases of, so scaling, selection,
aggregation, matrix products and solves against a certain matrix are allowed too. Anything
else in the path of an uncertain input is refused, with the operation located: functions such
as ``exp`` or ``max``, comparisons and conditions, an uncertain matrix in a solve, and inputs
that are correlated (shared sources, correlation groups, Dirichlet shares).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from carbonc.dsl.diagnostics import CarbonError, Diagnostic

from . import ir
from .uncertainty import InputUncertainty

if TYPE_CHECKING:
    from .api import Model

LINEAR_APPLY = frozenset({"safe_divide"})  # a quotient, as `/`
LINEAR_REDUCE = frozenset({"sum", "mean"})
PRODUCT_BINARY = frozenset({"+", "-", "*", "/", "^"})
HELP = "use Monte Carlo (IPCC Approach 2) instead: `--samples 10000`"


def check_linear(
    model: Model,
    uncertain: Mapping[str, InputUncertainty],
    names: list[str],
    choices: Mapping[str, str],
) -> None:
    """Refuse Approach 1 for a run it cannot represent.

    Raises:
        CarbonError: a located diagnostic for each operation or input Approach 1 cannot carry.
    """
    problems: list[Diagnostic] = []
    correlated = {q for c in model.checked.correlations for q in c.inputs}
    for q, u in sorted(uncertain.items()):
        why = None
        if u.source is not None or q in correlated:
            why = "its draws are correlated with other inputs"
        elif u.dist is not None and u.dist.kind == "dirichlet":
            why = "Dirichlet shares are correlated with each other"
        if why:
            problems.append(
                Diagnostic(
                    "E1214",
                    f"Approach 1 assumes independent inputs, but `{q}`: {why}",
                    u.span,
                    help=HELP,
                )
            )
    reached: dict[str, bool] = {}

    def depends(op: ir.Op) -> bool:
        stack = [op]
        while stack:
            o = _live(stack.pop(), choices)
            if isinstance(o, (ir.Ref, ir.Load)) and reaches(o.qname):
                return True
            stack.extend(ir.operands(o))
        return False

    def reaches(q: str) -> bool:
        if q not in reached:
            reached[q] = False  # no cycles in checked IR; this only stops re-entry
            reached[q] = q in uncertain or (
                not isinstance(model.checked.ir[q], ir.Load) and depends(model.checked.ir[q])
            )
        return reached[q]

    seen: set[str] = set()
    stack = list(names)
    while stack:
        q = stack.pop()
        if q in seen or q in uncertain:
            continue
        seen.add(q)
        for op in _ops(model.checked.ir[q], choices):
            why = _nonlinear(op, depends)
            if why:
                problems.append(
                    Diagnostic(
                        "E1214",
                        f"Approach 1 (error propagation) cannot carry uncertainty through {why}",
                        op.span,
                        help=HELP,
                    )
                )
            if isinstance(op, (ir.Ref, ir.Load)) and op.qname in model.checked.ir:
                stack.append(op.qname)
    if problems:
        raise CarbonError(problems)


def _live(op: ir.Op, choices: Mapping[str, str]) -> ir.Op:
    if isinstance(op, ir.Switch):
        value = choices.get(op.choice)
        for label, case in op.cases:
            if label == value:
                return case
        if op.default is not None:
            return op.default
    return op


def _ops(root: ir.Op, choices: Mapping[str, str]) -> list[ir.Op]:
    out, stack = [], [root]
    while stack:
        op = _live(stack.pop(), choices)
        out.append(op)
        stack.extend(ir.operands(op))
    return out


def _nonlinear(op: ir.Op, dep: Callable[[ir.Op], bool]) -> str | None:
    """Why ``op`` is beyond Approach 1; ``dep`` tells whether an operand is uncertain."""
    if isinstance(op, ir.Apply) and op.fn not in LINEAR_APPLY and any(dep(a) for a in op.args):
        name = {"minimum": "min", "maximum": "max"}.get(op.fn, op.fn)
        return f"`{name}(…)`, which is neither a sum nor a product"
    if isinstance(op, ir.Binary) and op.op not in PRODUCT_BINARY and (dep(op.a) or dep(op.b)):
        return f"the comparison or condition `{op.op}`"
    if isinstance(op, ir.Binary) and op.op == "^" and dep(op.b):
        return "a power with an uncertain exponent"
    if isinstance(op, ir.Where) and dep(op.cond):
        return "a condition on an uncertain value (`where`)"
    if isinstance(op, ir.Reduce) and op.fn not in LINEAR_REDUCE and dep(op.x):
        return f"`{op.fn}` over a dimension"
    if isinstance(op, (ir.LeontiefSolve, ir.LeontiefInverse)) and dep(op.a):
        return "a solve with an uncertain matrix"
    if isinstance(op, ir.Unary) and op.op != "neg" and dep(op.x):
        return f"`{op.op}`"
    return None
