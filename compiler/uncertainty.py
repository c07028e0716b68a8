"""Uncertainty declarations on data and parameters: parsed, unit-converted and checked.

A distribution is written as a formula-like call, or in the IPCC shorthand:

- ``±5%``: a normal whose 95% interval is the nominal value ± 5% (σ = 5% / 1.96 of it);
- ``-30%/+50%``: a lognormal whose 95% interval is [nominal·0.7, nominal·1.5];
- ``normal(mean, sd)``; ``lognormal(gm, gsd)`` or ``lognormal(low=…, high=…)`` (a 95%
  interval); ``triangular(low, mode, high)``; ``uniform(low, high)``;
  ``pert(low, mode, high)``; ``dirichlet(concentration=…)`` for shares summing to one.

Under ``uncertainty:`` the location (mean, median or mode) may be left out: it is the entry's
own value. A ``%`` argument is relative to that value: ``sd=5%`` is 5% of it, ``low=-10%`` is
10% below it. A parameter whose ``value:`` is a distribution takes its central value
(mean, median, mode, or the middle of a uniform) in a deterministic run.

The lognormal is parameterised as Brightway does: ``gm`` is the median (the geometric mean) and
``gsd`` the geometric standard deviation, so ``ln x ~ normal(ln gm, ln gsd)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from carbonc.dsl import ast
from carbonc.dsl.diagnostics import Diagnostics, did_you_mean
from carbonc.dsl.parser import parse_formula
from carbonc.dsl.span import Span

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile: ±x% is a 95% interval

# name -> (positional parameters, keyword-only alternatives)
SIGNATURES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "normal": (("mean", "sd"), ()),
    "lognormal": (("gm", "gsd"), ("low", "high")),
    "triangular": (("low", "mode", "high"), ()),
    "uniform": (("low", "high"), ()),
    "pert": (("low", "mode", "high"), ()),
    "dirichlet": (("concentration",), ()),
}
LOCATION = {"normal": "mean", "lognormal": "gm", "triangular": "mode", "pert": "mode"}
USAGE = {
    "normal": "normal(mean, sd), or normal(sd=5%) around the entry's value",
    "lognormal": "lognormal(gm, gsd), lognormal(gsd=1.5), or lognormal(low=-30%, high=+50%)",
    "triangular": "triangular(low, mode, high), or triangular(low=-10%, high=+20%)",
    "uniform": "uniform(low, high)",
    "pert": "pert(low, mode, high), or pert(low=-10%, high=+20%)",
    "dirichlet": "dirichlet(concentration=100)",
}
DOMAINS: dict[str, tuple[float, float, bool]] = {  # (low, high, low bound is open)
    "real": (-math.inf, math.inf, False),
    "nonnegative": (0.0, math.inf, False),
    "positive": (0.0, math.inf, True),
    "share": (0.0, 1.0, False),
}

_NUMBER = r"((?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
_SYMMETRIC = re.compile(rf"^\s*(?:±|\+/-|\+-)\s*{_NUMBER}\s*%\s*$")
_ASYMMETRIC = re.compile(rf"^\s*-\s*{_NUMBER}\s*%\s*/\s*\+\s*{_NUMBER}\s*%\s*$")


@dataclass(frozen=True)
class Arg:
    """One parameter of a distribution, in the entry's unit, or relative to its value."""

    value: float
    relative: bool = False  # a fraction of the nominal value (written with %)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one per distinct text
class Dist:
    """A parsed distribution. Locations left out are the entry's nominal value."""

    kind: str
    args: dict[str, Arg]
    span: Span
    text: str

    def get(self, name: str) -> Arg | None:
        """The argument ``name``, if given."""
        return self.args.get(name)

    @property
    def relative(self) -> bool:
        """Whether any argument depends on the nominal value."""
        return any(a.relative for a in self.args.values()) or self.location_missing

    @property
    def location_missing(self) -> bool:
        """Whether the nominal value is the location (mean, median or mode)."""
        loc = LOCATION.get(self.kind)
        if self.kind == "lognormal" and "low" in self.args:
            return any(a.relative for a in self.args.values())
        return loc is not None and loc not in self.args

    def central(self) -> float | None:
        """The value a deterministic run uses, when every argument is absolute."""
        if self.relative:
            return None
        a = {k: v.value for k, v in self.args.items()}
        if self.kind == "lognormal" and "low" in a:
            return math.sqrt(a["low"] * a["high"])
        if self.kind == "uniform":
            return (a["low"] + a["high"]) / 2
        loc = LOCATION.get(self.kind)
        return a.get(loc) if loc else None

    def support(self, nominal: float | None = None) -> tuple[float, float]:
        """The closed hull of the values the distribution can take."""
        if self.kind in ("normal",):
            return (-math.inf, math.inf)
        if self.kind == "lognormal":
            return (0.0, math.inf)
        if self.kind == "dirichlet":
            return (0.0, 1.0)
        lo, hi = self.args["low"], self.args["high"]
        return (resolve(lo, nominal), resolve(hi, nominal))


def resolve(arg: Arg, nominal: float | None) -> float:
    """An argument's absolute value: a relative bound is a deviation from ``nominal``."""
    if not arg.relative:
        return arg.value
    assert nominal is not None
    return nominal * (1.0 + arg.value)


@dataclass(frozen=True)
class InputUncertainty:
    """Everything the sampler needs to know about one uncertain data entry or parameter."""

    qname: str
    dims: tuple[str, ...]
    span: Span
    dist: Dist | None = None  # one distribution for every element
    column: str | None = None  # or one per CSV row, from this column
    samples: str | None = None  # or an empirical distribution from this CSV of draws
    samples_column: str = "value"
    source: str | None = None  # a shared draw
    truncate: tuple[float, float] | None = None
    domain: str = "real"
    sums_to_one: str | None = None
    is_parameter: bool = False
    replaces_formula: bool = False  # a parameter whose value: is the distribution itself
    correlated: tuple[str, ...] = field(default=())

    @property
    def stream(self) -> str:
        """The name of its random stream: the shared source, or the input itself."""
        return f"source:{self.source}" if self.source else self.qname


def shorthand(text: str, span: Span) -> Dist | None:
    """The IPCC shorthand ``±x%`` or ``-a%/+b%``, or None if ``text`` is not one."""
    m = _SYMMETRIC.match(text)
    if m:
        x = float(m.group(1)) / 100.0
        return Dist("normal", {"sd": Arg(x / Z95, True)}, span, text.strip())
    m = _ASYMMETRIC.match(text)
    if m:
        lo, hi = float(m.group(1)) / 100.0, float(m.group(2)) / 100.0
        return Dist("lognormal", {"low": Arg(-lo, True), "high": Arg(hi, True)}, span, text.strip())
    return None


UnitConverter = Callable[[str | None, Span], float | None]


def parse_distribution(
    text: str, span_of: Callable[[int, int], Span], to_unit: UnitConverter, diags: Diagnostics
) -> Dist | None:
    """Parse a distribution string; problems are reported at their place in ``text``."""
    span = span_of(0, max(1, len(text)))
    quick = shorthand(text, span)
    if quick is not None:
        return _checked(quick, diags)
    if "±" in text or re.match(r"^\s*-\s*[\d.]+\s*%\s*/", text):
        diags.error(
            "E1201",
            f"`{text.strip()}` is not an uncertainty",
            span,
            help="write a 95% interval as `±5%` or `-30%/+50%`",
        )
        return None
    tree = parse_formula(text, span_of, diags)
    if tree is None:
        return None
    return distribution_call(tree, text, to_unit, diags)


def is_distribution(node: ast.Node | None) -> bool:
    """Whether a parsed formula is a call to a distribution (a parameter's ``value:``)."""
    return isinstance(node, ast.Call) and node.func in SIGNATURES


def distribution_call(
    node: ast.Node, text: str, to_unit: UnitConverter, diags: Diagnostics
) -> Dist | None:
    """A distribution from a parsed call such as ``normal(56.1 t/TJ, 2%)``."""
    if not isinstance(node, ast.Call) or node.func not in SIGNATURES:
        name = node.func if isinstance(node, ast.Call) else None
        diags.error(
            "E1201",
            f"`{name}` is not a distribution" if name else "an uncertainty must be a distribution",
            node.func_span if isinstance(node, ast.Call) else node.span,
            help=did_you_mean(name, list(SIGNATURES))
            if name
            else "write `±5%`, `-30%/+50%` or a call such as `normal(sd=2%)`",
        )
        return None
    positional, alternatives = SIGNATURES[node.func]
    usage = f"usage: {USAGE[node.func]}"
    args: dict[str, Arg] = {}
    names = list(positional)
    if node.func in ("normal", "lognormal") and len(node.args) == 1:
        names = names[1:]  # one positional argument is the spread; the value is the location
    if node.func in ("triangular", "pert") and len(node.args) == 2:
        names = ["low", "high"]
    if len(node.args) > len(names):
        diags.error(
            "E1201",
            f"`{node.func}` takes at most {len(names)} positional arguments",
            node.span,
            help=usage,
        )
        return None
    pairs = list(zip(names, node.args, strict=False))
    for kw in node.kwargs:
        if kw.name not in (*positional, *alternatives):
            diags.error(
                "E1201",
                f"`{node.func}` has no argument `{kw.name}`",
                kw.span,
                help=did_you_mean(kw.name, [*positional, *alternatives]) or usage,
            )
            return None
        pairs.append((kw.name, kw.value))
    for name, value in pairs:
        arg = _arg(value, to_unit, diags)
        if arg is None:
            return None
        if name in args:
            diags.error("E1201", f"argument `{name}` given twice", value.span, help=usage)
            return None
        args[name] = arg
    dist = Dist(node.func, args, node.span, text.strip())
    missing = _missing(dist)
    if missing:
        diags.error("E1201", f"`{node.func}` needs `{missing}`", node.span, help=usage)
        return None
    return _checked(dist, diags)


def _missing(dist: Dist) -> str | None:
    a = dist.args
    required = {
        "normal": ("sd",),
        "lognormal": ("low", "high") if "low" in a or "high" in a else ("gsd",),
        "triangular": ("low", "high"),
        "uniform": ("low", "high"),
        "pert": ("low", "high"),
        "dirichlet": ("concentration",),
    }[dist.kind]
    return next((r for r in required if r not in a), None)


def _arg(node: ast.Node, to_unit: UnitConverter, diags: Diagnostics) -> Arg | None:
    sign = 1.0
    while isinstance(node, ast.Unary) and node.op in ("neg", "-", "+", "pos"):
        if node.op in ("neg", "-"):
            sign = -sign
        node = node.operand
    if not isinstance(node, ast.Quantity):
        diags.error(
            "E1201",
            "a distribution's arguments must be numbers, with a unit or `%`",
            node.span,
            help="e.g. `normal(56.1 t/TJ, 2 t/TJ)` or `normal(sd=5%)`",
        )
        return None
    if node.unit is not None and node.unit.strip() == "%":
        return Arg(sign * node.value / 100.0, True)
    factor = to_unit(node.unit, node.span)
    if factor is None:
        return None
    return Arg(sign * node.value * factor)


def _checked(dist: Dist, diags: Diagnostics) -> Dist | None:
    """Reject spreads and orderings no distribution can have."""
    a = dist.args
    problem = None
    if dist.kind == "normal" and a["sd"].value < 0:
        problem = "a standard deviation cannot be negative"
    elif dist.kind == "lognormal" and "gsd" in a and a["gsd"].value < 1:
        problem = "a geometric standard deviation must be at least 1 (1 means exact)"
    elif dist.kind == "lognormal" and "low" in a:
        lo, hi = a["low"], a["high"]
        if lo.relative and lo.value <= -1:
            problem = "a lognormal's lower bound must stay above zero (less than -100%)"
        elif lo.relative == hi.relative and lo.value >= hi.value:
            problem = "the lower bound of the 95% interval must be below the upper bound"
        elif not lo.relative and lo.value <= 0:
            problem = "a lognormal's 95% interval must be positive"
    elif dist.kind == "dirichlet" and a["concentration"].value <= 0:
        problem = "the concentration must be positive"
    elif dist.kind in ("triangular", "uniform", "pert"):
        lo, hi = a["low"], a["high"]
        mode = a.get("mode")
        if lo.relative == hi.relative and lo.value > hi.value:
            problem = "`low` must not exceed `high`"
        elif mode is not None and not lo.relative and not hi.relative:
            if not lo.value <= mode.value <= hi.value:
                problem = "the mode must lie between `low` and `high`"
        elif (lo.relative and lo.value > 0) or (hi.relative and hi.value < 0):
            problem = "a relative `low` must be at or below 0% and a relative `high` at or above"
    if problem:
        diags.error(
            "E1202", f"{problem}: `{dist.text}`", dist.span, help=f"usage: {USAGE[dist.kind]}"
        )
        return None
    return dist


def check_support(
    dist: Dist,
    domain: str,
    truncate: tuple[float, float] | None,
    nominal: float | None,
) -> str | None:
    """Why ``dist`` can take values outside ``domain``, or None when it fits."""
    support = (
        _relative_support(dist) if dist.relative and nominal is None else dist.support(nominal)
    )
    if support is None:
        return None  # decided once the nominal values are known
    lo, hi = support
    if truncate is not None:
        lo, hi = max(lo, truncate[0]), min(hi, truncate[1])
    dlo, dhi, open_low = DOMAINS[domain]
    if lo < dlo or hi > dhi or (open_low and lo <= dlo and dist.kind != "lognormal"):
        what = {"normal": "a normal can take any value"}.get(
            dist.kind, f"`{dist.text}` can take values in [{lo:g}, {hi:g}]"
        )
        return f"{what}, but the quantity is {_domain_text(domain)}"
    return None


def _relative_support(dist: Dist) -> tuple[float, float] | None:
    if dist.kind == "normal":
        return (-math.inf, math.inf)
    if dist.kind in ("lognormal",):
        return (0.0, math.inf)
    if dist.kind == "dirichlet":
        return (0.0, 1.0)
    return None


def _domain_text(domain: str) -> str:
    return {
        "nonnegative": "declared `domain: nonnegative`",
        "positive": "declared `domain: positive`",
        "share": "a share (`domain: share`, between 0 and 1)",
    }.get(domain, "real")
