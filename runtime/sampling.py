"""Turn declared uncertainties into draws: seeded, per-input streams, correlated where declared.

Every uncertain input owns a random stream named after it (or after its shared ``source:``),
seeded from the run's seed and a hash of that name. Adding an input therefore never reshuffles
the others, and drawing in chunks gives the same numbers as drawing at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import special

from carbonc.compiler.dims import Dimension
from carbonc.compiler.paths import PathError, safe_path
from carbonc.compiler.program import Definition
from carbonc.compiler.uncertain_inputs import Correlation, converter
from carbonc.compiler.uncertainty import (
    DOMAINS,
    LOCATION,
    Z95,
    Dist,
    InputUncertainty,
    parse_distribution,
)
from carbonc.dsl.diagnostics import CarbonError, Diagnostics
from carbonc.dsl.schema import DataSpec
from carbonc.dsl.span import Span

from . import distributions
from .data import axes_for
from .larray import SAMPLE, LArray
from .readers import DataError, read_cells
from .sparse import Sparse

TINY = 2.0**-54  # keeps uniforms strictly inside (0, 1), where every quantile is finite


@dataclass
class Group:
    """Elements of one input sharing a distribution family, with per-element parameters."""

    kind: str
    index: np.ndarray  # flat element positions
    params: dict[str, np.ndarray]
    truncate: tuple[float, float] | None


@dataclass
class Plan:
    """How to turn an input's uniforms into values."""

    u: InputUncertainty
    shape: tuple[int, ...]
    nominal: np.ndarray  # flat
    groups: list[Group] = field(default_factory=list)
    dirichlet_alpha: np.ndarray | None = None  # over the shape, for Dirichlet shares
    draws: np.ndarray | None = None  # empirical: (elements, max count), sorted
    counts: np.ndarray | None = None
    pattern: Sparse | None = None  # a sparse input: its stored cells are the elements

    def wrap(self, values: np.ndarray) -> np.ndarray | Sparse:
        """Sampled values ``(n, *shape)`` as the input's array (sparse when the input is)."""
        p = self.pattern
        return values if p is None else Sparse(p.shape, p.index, values, p.fill)

    @property
    def size(self) -> int:
        """How many values the input has."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def shared(self) -> bool:
        """Whether one draw per sample serves every element (a shared ``source:``)."""
        return self.u.source is not None

    def transform(self, u: np.ndarray) -> np.ndarray:
        """Values of shape (n, *shape) from uniforms (n, size) or (n, 1) when shared."""
        n = u.shape[0]
        if self.shared:
            u = np.broadcast_to(u, (n, self.size))
        if self.dirichlet_alpha is not None:
            axis = 1 + self.u.dims.index(str(self.u.sums_to_one))
            x = distributions.dirichlet(u.reshape(n, *self.shape), self.dirichlet_alpha, axis)
            return x
        out = np.broadcast_to(self.nominal, (n, self.size)).copy()
        if self.draws is not None and self.counts is not None:
            has = self.counts > 0
            picked = distributions.empirical(u[:, has], self.draws[has], self.counts[has])
            out[:, has] = picked
        for g in self.groups:
            out[:, g.index] = distributions.quantiles(g.kind, u[:, g.index], g.params, g.truncate)
        return out.reshape(n, *self.shape)


def stream_seed(seed: int, name: str) -> np.random.SeedSequence:
    """The seed sequence of stream ``name``: the run's seed plus a stable hash of the name."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    words = np.frombuffer(digest[:16], dtype="<u4").tolist()
    return np.random.SeedSequence([seed & 0xFFFFFFFF, seed >> 32, *words])


class Sampler:
    """Draws every uncertain input of a run, chunk after chunk, from one seed."""

    def __init__(self, plans: Mapping[str, Plan], correlations: list[Correlation], seed: int):
        self.plans = dict(plans)
        self.seed = seed
        self.streams: dict[str, tuple[int, list[str]]] = {}  # stream -> (width, inputs)
        for q, p in self.plans.items():
            width = 1 if p.shared else p.size
            _, members = self.streams.setdefault(p.u.stream, (width, []))
            members.append(q)
        self.generators = {
            s: np.random.Generator(np.random.PCG64(stream_seed(seed, s))) for s in self.streams
        }
        self.copulas: list[tuple[list[str], np.ndarray]] = []
        for c in correlations:
            streams = list(dict.fromkeys(self.plans[q].u.stream for q in c.inputs))
            if len(streams) > 1:
                # A semi-definite matrix has no Cholesky factor; its eigen-square-root serves.
                vals, vecs = np.linalg.eigh(c.matrix)
                self.copulas.append((streams, vecs * np.sqrt(np.clip(vals, 0, None))))

    @property
    def dimension(self) -> int:
        """How many independent uniforms one sample needs (SALib's ``num_vars``)."""
        return sum(w for w, _ in self.streams.values())

    def uniforms(self, n: int) -> dict[str, np.ndarray]:
        """The next ``n`` uniforms of every stream, correlated where declared."""
        out = {}
        for s, (width, _) in self.streams.items():
            u = self.generators[s].random((n, width))
            out[s] = np.maximum(u, TINY)
        for streams, root in self.copulas:
            z = np.column_stack([special.ndtri(out[s][:, 0]) for s in streams]) @ root.T
            for i, s in enumerate(streams):
                out[s] = np.clip(special.ndtr(z[:, i : i + 1]), TINY, 1 - TINY)
        return out

    def values(self, uniforms: Mapping[str, np.ndarray]) -> dict[str, LArray]:
        """Every input's sampled values from its stream's uniforms."""
        out = {}
        for q, p in self.plans.items():
            out[q] = LArray(p.wrap(p.transform(uniforms[p.u.stream])), (SAMPLE, *p.u.dims))
        return out

    def draw(self, n: int) -> dict[str, LArray]:
        """The next ``n`` samples of every input."""
        return self.values(self.uniforms(n))

    def names(self) -> list[tuple[str, str, int]]:
        """(stream, input, width) for each stream, in draw order: the factors of a design."""
        return [(s, members[0], w) for s, (w, members) in self.streams.items()]


# -- building plans --------------------------------------------------------------------------


class PlanBuilder:
    """Resolves each input's distributions against its nominal values, checking every element."""

    def __init__(
        self,
        defs: Mapping[str, Definition],
        coords: Mapping[str, Dimension],
        units: Mapping[str, object],
        paths: Mapping[str, Path],
    ):
        self.defs = defs
        self.paths = paths
        self.coords = coords
        self.units = units
        self.diags = Diagnostics()

    def build(self, u: InputUncertainty, nominal: np.ndarray | Sparse) -> Plan | None:
        """The plan of one input, or None with problems recorded in ``self.diags``.

        A sparse input with one distribution for every element samples its stored cells only
        (a cell not stored is a zero, an exchange that does not exist, and stays zero); other
        forms of uncertainty see it dense.
        """
        if isinstance(nominal, Sparse):
            single = u.dist is not None and u.dist.kind != "dirichlet"
            if (single or u.column is not None) and nominal.fill == 0:
                return self.sparse(u, nominal)
            nominal = nominal.todense()
        shape = tuple(len(self.coords[d].labels) for d in u.dims)
        flat = np.broadcast_to(np.asarray(nominal, dtype=float), shape).reshape(-1).copy()
        plan = Plan(u, shape, flat)
        if u.dist is not None and u.dist.kind == "dirichlet":
            return self.dirichlet(plan)
        cells: dict[Dist, list[int]] = {}
        if u.dist is not None:
            cells[u.dist] = list(range(plan.size))
        elif u.column is not None:
            parsed = self.column_cells(u, shape)
            if parsed is None:
                return None
            cells = parsed
        elif u.samples is not None:
            return self.empirical(plan)
        for dist, index in cells.items():
            group = self.group(u, dist, np.asarray(index, dtype=np.int64), flat)
            if group is None:
                return None
            plan.groups.append(group)
        return plan

    def sparse(self, u: InputUncertainty, nominal: Sparse) -> Plan | None:
        """The plan of a sparse input: its stored cells are the elements (a cell not stored is
        a zero, an exchange that does not exist, and stays zero)."""
        flat = np.asarray(nominal.data, dtype=float).reshape(-1).copy()
        plan = Plan(u, (nominal.nnz,), flat, pattern=nominal)
        if u.dist is not None:
            cells = {u.dist: np.arange(plan.size, dtype=np.int64)}
        else:
            shape = tuple(len(self.coords[d].labels) for d in u.dims)
            parsed = self.column_cells(u, shape)
            if parsed is None:
                return None
            cells = {}
            for dist, positions in parsed.items():
                # A row's flat position in the table is found among the stored cells; a row
                # with an uncertainty is one of them (the same file gave its value).
                at = np.searchsorted(nominal.index, np.asarray(positions, dtype=np.int64))
                cells[dist] = at[nominal.index[np.minimum(at, nominal.nnz - 1)] == positions]
        for dist, index in cells.items():
            group = self.group(u, dist, index, flat)
            if group is None:
                return None
            plan.groups.append(group)
        return plan

    def column_cells(
        self, u: InputUncertainty, shape: tuple[int, ...]
    ) -> dict[Dist, list[int]] | None:
        d = self.defs[u.qname]
        spec = d.spec
        assert isinstance(spec, DataSpec) and spec.csv is not None and u.column is not None
        try:
            # A file given with --data carries its own per-row uncertainties.
            path = self.paths.get(u.qname) or safe_path(
                d.module.folder, spec.csv, d.owner.sandbox, "data"
            )
            axes = axes_for(u.dims, self.coords)
            cells = read_cells(path, axes, u.column, spec.columns, spec.wide)
        except DataError as exc:
            self.diags.extend(exc.diagnostics)
            return None
        except PathError:
            return None  # the value reader reports the path
        to_unit = converter(self.units[u.qname], self.diags)
        parsed: dict[str, Dist | None] = {}
        out: dict[Dist, list[int]] = {}
        for key, text, span in cells:
            if text not in parsed:
                parsed[text] = parse_distribution(text, _cell_spans(span), to_unit, self.diags)
            dist = parsed[text]
            if dist is not None:
                pos = int(np.ravel_multi_index(key, shape)) if shape else 0
                out.setdefault(dist, []).append(pos)
        return None if self.diags.has_errors else out

    def group(
        self, u: InputUncertainty, dist: Dist, index: np.ndarray, nominal: np.ndarray
    ) -> Group | None:
        if dist.kind == "lognormal" and dist.location_missing:
            # A multiplicative spread around zero is no spread: a zero stays an exact zero.
            index = index[nominal[index] != 0]
        x0 = nominal[index]
        a = dist.args

        def arg(name: str, default: np.ndarray) -> np.ndarray:
            given = a.get(name)
            if given is None:
                return default
            return x0 * (1.0 + given.value) if given.relative else np.full(x0.shape, given.value)

        params: dict[str, np.ndarray]
        if dist.kind == "normal":
            mean = np.full(x0.shape, a["mean"].value) if "mean" in a else x0
            sd = (
                a["sd"].value * np.abs(mean)
                if a["sd"].relative
                else np.full(x0.shape, a["sd"].value)
            )
            params = {"mean": mean, "sd": sd}
        elif dist.kind == "lognormal":
            if "gsd" in a:
                gm = np.full(x0.shape, a["gm"].value) if "gm" in a else x0
                bad = gm <= 0
                params = {
                    "mu": np.log(np.where(bad, 1.0, gm)),
                    "sigma": np.full(x0.shape, np.log(a["gsd"].value)),
                }
            else:
                lo, hi = arg("low", x0), arg("high", x0)
                bad = (lo <= 0) | (hi <= 0)
                lo, hi = np.where(bad, 1.0, lo), np.where(bad, 1.0, hi)
                params = {
                    "mu": (np.log(lo) + np.log(hi)) / 2,
                    "sigma": (np.log(hi) - np.log(lo)) / (2 * Z95),
                }
            if bad.any():
                self.element_error(
                    u,
                    dist,
                    index[np.argmax(bad)],
                    "a lognormal needs a positive value",
                    "use a normal (`±x%`) for quantities that can be zero or negative",
                )
                return None
        else:
            lo, hi = arg("low", x0), arg("high", x0)
            params = {"low": np.minimum(lo, hi), "high": np.maximum(lo, hi)}
            if dist.kind in LOCATION:
                mode = arg("mode", x0)
                off = (mode < params["low"]) | (mode > params["high"])
                if off.any():
                    self.element_error(
                        u, dist, index[np.argmax(off)], "the mode lies outside [low, high]", None
                    )
                    return None
                params["mode"] = mode
        support_lo, support_hi = _support(dist.kind, params)
        if u.truncate is not None:
            support_lo = np.maximum(support_lo, u.truncate[0])
            support_hi = np.minimum(support_hi, u.truncate[1])
        dlo, dhi, open_low = DOMAINS[u.domain]
        outside = (support_lo < dlo) | (support_hi > dhi)
        if open_low and dist.kind != "lognormal" and u.truncate is None:
            outside |= support_lo <= dlo
        if outside.any():
            i = int(np.argmax(outside))
            self.element_error(
                u,
                dist,
                index[i],
                f"`{dist.text}` reaches [{support_lo[i]:g}, {support_hi[i]:g}], outside the "
                f"declared `domain: {u.domain}`",
                "narrow the distribution, use one that fits the domain, or declare "
                "`truncate: true`",
            )
            return None
        return Group(dist.kind, index, params, u.truncate)

    def dirichlet(self, plan: Plan) -> Plan | None:
        u = plan.u
        assert u.dist is not None and u.sums_to_one is not None
        shares = plan.nominal.reshape(plan.shape)
        axis = u.dims.index(u.sums_to_one)
        total = shares.sum(axis=axis, keepdims=True)
        if np.any(shares < 0) or not np.allclose(total, 1.0, rtol=0, atol=1e-6):
            bad = np.argmax(np.abs(np.broadcast_to(total, shares.shape) - 1.0).reshape(-1))
            self.element_error(
                u,
                u.dist,
                int(bad),
                f"shares over `{u.sums_to_one}` sum to {float(np.broadcast_to(total, shares.shape).reshape(-1)[bad]):.6g}, not 1",
                "a Dirichlet is centred on shares that are non-negative and sum to one",
            )
            return None
        plan.dirichlet_alpha = u.dist.args["concentration"].value * shares
        return plan

    def empirical(self, plan: Plan) -> Plan | None:
        u = plan.u
        d = self.defs[u.qname]
        assert u.samples is not None
        try:
            path = safe_path(d.module.folder, u.samples, d.owner.sandbox, "data")
            cells = read_cells(path, axes_for(u.dims, self.coords), u.samples_column, {})
        except (DataError, PathError) as exc:
            if isinstance(exc, DataError):
                self.diags.extend(exc.diagnostics)
            else:
                self.diags.error(
                    "E0701",
                    str(exc),
                    d.module.span(
                        "data" if d.kind == "data" else "parameters",
                        d.name,
                        "uncertainty",
                        "samples",
                    ),
                )
            return None
        per: list[list[float]] = [[] for _ in range(plan.size)]
        for key, text, span in cells:
            try:
                per[int(np.ravel_multi_index(key, plan.shape)) if plan.shape else 0].append(
                    float(text)
                )
            except ValueError:
                self.diags.error(
                    "E0803",
                    f"non-numeric draw `{text}`",
                    span,
                    help="each row holds one draw, a number",
                )
        if self.diags.has_errors:
            return None
        counts = np.array([len(p) for p in per], dtype=np.int64)
        width = max(1, int(counts.max()))
        draws = np.full((plan.size, width), np.nan)
        for i, p in enumerate(per):
            draws[i, : len(p)] = np.sort(p)
        plan.draws, plan.counts = draws, counts
        return plan

    def element_error(
        self, u: InputUncertainty, dist: Dist, flat: int, what: str, help_: str | None
    ) -> None:
        d = self.defs[u.qname]
        where = ""
        if u.dims:
            shape = tuple(len(self.coords[x].labels) for x in u.dims)
            idx = np.unravel_index(flat, shape)
            where = " at " + ", ".join(
                f"{x}={self.coords[x].labels[int(i)]}" for x, i in zip(u.dims, idx, strict=True)
            )
        self.diags.error("E1206", f"`{d.name}`{where}: {what}", dist.span, help=help_)


def _support(kind: str, p: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if kind == "normal":
        inf = np.full(p["mean"].shape, np.inf)
        exact = p["sd"] == 0
        return np.where(exact, p["mean"], -inf), np.where(exact, p["mean"], inf)
    if kind == "lognormal":
        return np.zeros(p["mu"].shape), np.full(p["mu"].shape, np.inf)
    return p["low"], p["high"]


def _cell_spans(cell: Span) -> Callable[[int, int], Span]:
    def span_of(start: int, end: int) -> Span:
        return Span(
            cell.file, cell.line, cell.col + start, cell.line, cell.col + max(end, start + 1)
        )

    return span_of


def build_plans(
    uncertain: Mapping[str, InputUncertainty],
    nominal: Mapping[str, np.ndarray | Sparse],
    defs: Mapping[str, Definition],
    coords: Mapping[str, Dimension],
    units: Mapping[str, object],
    paths: Mapping[str, Path],
) -> dict[str, Plan]:
    """A plan for every uncertain input a run reads.

    Raises:
        CarbonError: a distribution that does not fit an element's value or domain, or a bad
            per-row uncertainty cell, located in the model or the CSV file.
    """
    builder = PlanBuilder(defs, coords, units, paths)
    plans = {}
    for q, u in uncertain.items():
        if q not in nominal:
            continue
        plan = builder.build(u, nominal[q])
        if plan is not None:
            plans[q] = plan
    if builder.diags.has_errors:
        raise CarbonError(builder.diags.items)
    return plans
