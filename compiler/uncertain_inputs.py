"""Find the uncertain inputs of a checked program and check their declarations.

Runs after type checking, when every definition's unit and dims are known, so distribution
arguments are converted to the entry's unit here and the runtime sees plain numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carbonc.dsl import ast
from carbonc.dsl.diagnostics import Diagnostics, did_you_mean
from carbonc.dsl.schema import DataSpec, ParameterSpec, UncertaintySpec
from carbonc.dsl.span import Span

from . import ir
from .program import Definition, Program, Scope
from .uncertainty import (
    DOMAINS,
    USAGE,
    Dist,
    InputUncertainty,
    UnitConverter,
    check_support,
    distribution_call,
    parse_distribution,
)
from .units import UnitError, conversion, parse_unit


@dataclass(frozen=True)
class Correlation:
    """A group of inputs drawn with correlated normal scores."""

    inputs: tuple[str, ...]
    matrix: np.ndarray
    span: Span


def converter(unit: object, diags: Diagnostics) -> UnitConverter:
    """Convert a literal's unit to ``unit``; a bare number is already in it."""

    def to_unit(text: str | None, span: Span) -> float | None:
        if text is None:
            return 1.0
        try:
            return conversion(parse_unit(text), unit)
        except UnitError as exc:
            diags.error(
                "E1203",
                f"`{text}` does not fit the entry's unit: {exc}",
                span,
                help="give distribution arguments in the entry's unit, or as `%` of its value",
            )
            return None

    return to_unit


def lower_distribution_parameter(
    d: Definition, unit: object, diags: Diagnostics
) -> tuple[float, Dist] | None:
    """A parameter whose ``value:`` is a distribution: its central value and the distribution."""
    assert d.expr is not None
    text = d.module.formulas[d.formula_key or ("parameters", d.name)].text
    dist = distribution_call(d.expr, text, converter(unit, diags), diags)
    if dist is None:
        return None
    central = dist.central()
    if central is None or dist.kind == "dirichlet":
        diags.error(
            "E1204",
            f"`{d.name}`'s value `{dist.text}` has no central value of its own",
            dist.span,
            help=f"give every argument in units, not %, e.g. {USAGE[dist.kind]}; or write "
            "`value:` and put the distribution under `uncertainty:`",
        )
        return None
    return central, dist


def literal_unit(node: ast.Node) -> str | None:
    """The unit of a distribution call's first argument with one (a parameter's implied unit)."""
    if isinstance(node, ast.Call):
        for a in (*node.args, *(k.value for k in node.kwargs)):
            while isinstance(a, ast.Unary):
                a = a.operand
            if isinstance(a, ast.Quantity) and a.unit and a.unit.strip() != "%":
                return a.unit
    return None


class Collector:
    """Builds :class:`InputUncertainty` for every data entry and parameter that declares one."""

    def __init__(self, program: Program, program_ir: dict[str, ir.Op], diags: Diagnostics):
        self.program = program
        self.ir = program_ir
        self.diags = diags
        self.out: dict[str, InputUncertainty] = {}

    def run(
        self, from_value: dict[str, Dist]
    ) -> tuple[dict[str, InputUncertainty], list[Correlation]]:
        """Collect every declaration; ``from_value`` holds parameters whose value is a distribution."""
        for q, d in self.program.definitions.items():
            if q not in self.ir:
                continue
            spec = d.spec
            if q in from_value:
                self.add(d, from_value[q], None, spec if isinstance(spec, ParameterSpec) else None)
            elif isinstance(spec, (DataSpec, ParameterSpec)) and spec.uncertainty is not None:
                self.declared(d, spec)
            elif isinstance(spec, (DataSpec, ParameterSpec)) and spec.sums_to_one is not None:
                self.check_shares(d, spec, None)
        correlations = [c for s in self.program.scopes for c in self.correlations(s)]
        return self.out, correlations

    def section(self, d: Definition) -> str:
        return "data" if d.kind == "data" else "parameters"

    def declared(self, d: Definition, spec: DataSpec | ParameterSpec) -> None:
        u = spec.uncertainty
        where = (self.section(d), d.name, "uncertainty")
        full = u if isinstance(u, UncertaintySpec) else UncertaintySpec(distribution=u)
        node = d.module.node(*where)
        if isinstance(u, UncertaintySpec):
            node = d.module.node(*where, "distribution")
        dist = None
        if full.distribution is not None:
            assert node is not None
            dist = parse_distribution(
                full.distribution,
                node.span_map(),
                converter(self.ir[d.qname].unit, self.diags),
                self.diags,
            )
            if dist is None:
                return
        given = [k for k in ("distribution", "column", "samples") if getattr(full, k) is not None]
        if len(given) != 1:
            self.diags.error(
                "E1205",
                f"`{d.name}`'s uncertainty needs exactly one of `distribution`, `column` or "
                f"`samples`{f' (found {len(given)})' if given else ''}",
                d.module.span(*where),
                help="`column:` names a CSV column of per-row uncertainties; `samples:` a file "
                "of draws",
            )
            return
        if full.column is not None and not (isinstance(spec, DataSpec) and spec.csv is not None):
            self.diags.error(
                "E1205",
                f"`column: {full.column}` needs a data entry read from a CSV file",
                d.module.span(*where, "column"),
                help="give the entry `csv:`, or one `distribution:` for every value",
            )
            return
        self.add(d, dist, full, spec)

    def add(
        self,
        d: Definition,
        dist: Dist | None,
        full: UncertaintySpec | None,
        spec: DataSpec | ParameterSpec | None,
    ) -> None:
        op = self.ir[d.qname]
        domain = (spec.domain if spec is not None else None) or "real"
        ok, truncate = self.truncation(d, full, domain)
        if not ok:
            return
        if dist is not None:
            problem = check_support(dist, domain, truncate, None)
            if problem:
                self.diags.error(
                    "E1206",
                    f"`{d.name}`: {problem}",
                    dist.span,
                    help=_support_help(dist, domain),
                )
                return
        sums = spec.sums_to_one if spec is not None else None
        if not self.check_shares(d, spec, dist):
            return
        if full is not None and full.source is not None and full.column is not None:
            self.diags.error(
                "E1205",
                f"`{d.name}`: per-row uncertainties (`column:`) cannot share one draw (`source:`)",
                d.module.span(self.section(d), d.name, "uncertainty", "source"),
            )
            return
        self.out[d.qname] = InputUncertainty(
            qname=d.qname,
            dims=op.dims,
            span=dist.span
            if dist is not None
            else d.module.span(self.section(d), d.name, "uncertainty"),
            dist=dist,
            column=full.column if full is not None else None,
            samples=full.samples if full is not None else None,
            samples_column=full.samples_column if full is not None else "value",
            source=full.source if full is not None else None,
            truncate=truncate,
            domain=domain,
            sums_to_one=sums,
            is_parameter=d.kind == "parameter",
            replaces_formula=full is None,
        )

    def truncation(
        self, d: Definition, full: UncertaintySpec | None, domain: str
    ) -> tuple[bool, tuple[float, float] | None]:
        """(whether the declaration is valid, the bounds to truncate to)."""
        t = full.truncate if full is not None else None
        if t is None or t is False:
            return True, None
        span = d.module.span(self.section(d), d.name, "uncertainty", "truncate")
        if t is True:
            if domain == "real":
                self.diags.error(
                    "E1207",
                    "`truncate: true` truncates to the `domain:`, but none is declared",
                    span,
                    help="declare `domain: nonnegative` (or positive, share), or give bounds: "
                    "`truncate: [0, 1]`",
                )
                return False, None
            lo, hi, _ = DOMAINS[domain]
            return True, (lo, hi)
        if isinstance(t, list) and len(t) == 2 and t[0] < t[1]:
            return True, (float(t[0]), float(t[1]))
        self.diags.error("E1207", "`truncate:` takes `true` or `[low, high]` with low < high", span)
        return False, None

    def check_shares(
        self, d: Definition, spec: DataSpec | ParameterSpec | None, dist: Dist | None
    ) -> bool:
        sums = spec.sums_to_one if spec is not None else None
        op = self.ir[d.qname]
        span = d.module.span(self.section(d), d.name, "sums_to_one")
        if sums is not None and sums not in op.dims:
            self.diags.error(
                "E1208",
                f"`sums_to_one: {sums}` is not one of `{d.name}`'s dims {list(op.dims)}",
                span,
                help=did_you_mean(sums, list(op.dims)),
            )
            return False
        is_dirichlet = dist is not None and dist.kind == "dirichlet"
        uncertain = (spec is not None and spec.uncertainty is not None) or dist is not None
        if sums is not None and uncertain and not is_dirichlet:
            self.diags.error(
                "E1208",
                f"`{d.name}` are shares summing to one over `{sums}`, but each is sampled "
                "independently, so the samples would not sum to one",
                dist.span
                if dist is not None
                else d.module.span(self.section(d), d.name, "uncertainty"),
                help="draw them together: `uncertainty: dirichlet(concentration=100)` keeps each "
                "sample on the simplex (a larger concentration means less spread)",
            )
            return False
        if is_dirichlet and sums is None:
            assert dist is not None
            self.diags.error(
                "E1208",
                f"a Dirichlet draws shares over a dimension, but `{d.name}` declares none",
                dist.span,
                help="add `sums_to_one: DIM`, the dimension the shares sum over",
            )
            return False
        return True

    def correlations(self, scope: Scope) -> list[Correlation]:
        out: list[Correlation] = []
        module = scope.module
        for i, c in enumerate(module.spec.correlations):
            span = module.span("correlations", i)
            names: list[str] = []
            for j, name in enumerate(c.inputs):
                q = scope.qname(name)
                if q not in self.out:
                    known = sorted(n for n in scope.names if scope.qname(n) in self.out)
                    self.diags.error(
                        "E1209",
                        f"`{name}` is not an uncertain input"
                        if q in self.program.definitions
                        else f"no data entry or parameter `{name}`",
                        module.span("correlations", i, "inputs", j),
                        help=did_you_mean(name, known)
                        or "correlate entries that declare an `uncertainty:`",
                    )
                    return out
                u = self.out[q]
                if u.dims and u.source is None:
                    self.diags.error(
                        "E1209",
                        f"`{name}` has dims {list(u.dims)}: each value is drawn on its own, so "
                        "there is no single draw to correlate",
                        module.span("correlations", i, "inputs", j),
                        help="correlate scalars, or give the entry a `source:` so its values "
                        "share one draw",
                    )
                    return out
                names.append(q)
            m = self.matrix(c.matrix, c.rho, len(names), span)
            if m is not None:
                out.append(Correlation(tuple(names), m, span))
        return out

    def matrix(
        self, given: list[list[float]] | None, rho: float | None, n: int, span: Span
    ) -> np.ndarray | None:
        if (given is None) == (rho is None):
            self.diags.error(
                "E1210", "a correlation needs exactly one of `matrix:` or `rho:`", span
            )
            return None
        m = np.full((n, n), float(rho)) if rho is not None else np.asarray(given, dtype=float)
        if rho is not None:
            np.fill_diagonal(m, 1.0)
        problem = None
        if m.shape != (n, n):
            problem = f"the matrix must be {n} x {n}, one row and column per input"
        elif not np.allclose(m, m.T) or not np.allclose(np.diag(m), 1.0):
            problem = "the matrix must be symmetric with ones on the diagonal"
        elif np.any(np.abs(m) > 1):
            problem = "correlations lie between -1 and 1"
        elif np.linalg.eigvalsh(m).min() < -1e-12:
            problem = (
                "these correlations contradict each other (the matrix is not positive "
                "semi-definite): no inputs can have them all"
            )
        if problem:
            self.diags.error("E1210", problem, span)
            return None
        return m


def _support_help(dist: Dist, domain: str) -> str:
    if domain == "share":
        return "use `pert(low, mode, high)` or `triangular(...)` within [0, 1], or truncate explicitly: `truncate: true`"
    return "use `lognormal(...)` (or `-a%/+b%`), which stays positive, or truncate explicitly: `truncate: true`"
