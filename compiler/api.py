"""The Python API: ``load(path)`` gives a checked :class:`Model`; ``model.run()`` gives results.

The CLI is a thin layer over this module.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar, overload

import numpy as np

import carbonc
from carbonc.dsl.diagnostics import (
    CarbonError,
    Diagnostic,
    Diagnostics,
    did_you_mean,
    sorted_diagnostics,
)

from . import ir
from .check import Checked, CheckedAssert, Checker
from .dims import Dimension, resolve_dims
from .program import ChoiceDef, Program, assemble
from .uncertainty import InputUncertainty
from .units import fmt

if TYPE_CHECKING:
    from carbonc.runtime.data import Loaded
    from carbonc.runtime.executor import Executor
    from carbonc.runtime.larray import LArray
    from carbonc.runtime.montecarlo import MonteCarlo
    from carbonc.runtime.results import Results
    from carbonc.runtime.sampling import Plan, Sampler
    from carbonc.runtime.sparse import Sparse


P = ParamSpec("P")
R = TypeVar("R")


def _sampled_patterns(method: Callable[P, R]) -> Callable[P, R]:
    """Run ``method`` with one cache of sparse patterns when it samples (``uncertainty=``): its
    Monte Carlo chunks repeat the same symbolic work. A deterministic run has nothing to reuse
    across chunks and keeps the memory instead (25 MiB at 25,000 LCA activities)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from carbonc.runtime.sparse import patterns

        if kwargs.get("uncertainty") is None:
            return method(*args, **kwargs)
        with patterns():
            return method(*args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class Uncertainty:
    """How a run reports uncertainty.

    Attributes:
        method: ``"montecarlo"`` (IPCC Approach 2) or ``"propagation"`` (Approach 1).
        samples: Monte Carlo samples.
        seed: the random seed; the same seed gives bit-identical results.
        memory_budget: bytes one chunk of samples may use; larger runs go in chunks.
        keep_samples: keep every output's samples (``Results.samples``), e.g. for Parquet.
    """

    method: Literal["montecarlo", "propagation"] = "montecarlo"
    samples: int = 10_000
    seed: int = 0
    memory_budget: int = 1 << 30
    keep_samples: bool = False


class AssertionFailed(CarbonError):
    """A run whose assertions did not all hold; ``results`` holds what was computed."""

    def __init__(self, diagnostics: Iterable[Diagnostic], results: Results):
        super().__init__(diagnostics)
        self.results = results


@dataclass
class Model:
    """A compiled model: checked IR, its dimensions and choices, ready to run."""

    path: Path
    program: Program
    dims: dict[str, Dimension]
    checked: Checked
    warnings: tuple[Diagnostic, ...] = ()

    def __repr__(self) -> str:
        # The program behind a model is large; a full dataclass repr (in a traceback, say)
        # would render all of it.
        return f"<carbonc Model {self.name!r} from {self.path}>"

    @property
    def name(self) -> str:
        """The ``model:`` name of the root file."""
        return self.program.root.module.spec.model

    @property
    def choices(self) -> dict[str, ChoiceDef]:
        """Every choice in the program, by qualified name."""
        return self.program.choices

    @property
    def outputs(self) -> list[str]:
        """The qualified names a run reports."""
        return self.checked.outputs

    # -- choices and data ---------------------------------------------------------------

    def resolve_choices(self, choose: Mapping[str, str] | None) -> dict[str, str]:
        """Every choice's value for a run: defaults, overridden by ``choose``.

        A key names a choice by qualified name (``gwp.metric``) or by its own name (``metric``),
        which sets every choice of that name.

        Raises:
            CarbonError: an unknown choice, or a value the choice does not allow.
        """
        values = {q: c.default for q, c in self.choices.items()}
        diags = Diagnostics()
        root_span = self.program.root.module.span("model")
        for key, value in (choose or {}).items():
            targets = [c for q, c in self.choices.items() if q == key] or [
                c for c in self.choices.values() if c.name == key
            ]
            if not targets:
                names = sorted({c.name for c in self.choices.values()} | set(self.choices))
                diags.error(
                    "E0901",
                    f"`--choose {key}={value}`: the model has no choice `{key}`",
                    root_span,
                    help=did_you_mean(key, names)
                    or (
                        f"its choices are: {', '.join(names)}"
                        if names
                        else "the model declares no `choices:`"
                    ),
                )
                continue
            for c in targets:
                if value not in c.values:
                    diags.error(
                        "E0902",
                        f"`--choose {key}={value}`: `{value}` is not a value of choice `{c.qname}`",
                        c.span,
                        help=did_you_mean(value, c.values)
                        or f"choose one of: {', '.join(c.values)}",
                    )
                else:
                    values[c.qname] = value
        diags.raise_if_errors()
        return values

    def data_targets(self, data: Mapping[str, str | Path] | None) -> dict[str, Path]:
        """Map ``--data NAME=PATH`` pairs to the data entries they replace.

        Raises:
            CarbonError: a name that is not a data entry or an input.
        """
        out: dict[str, Path] = {}
        diags = Diagnostics()
        loads = {q for q, op in self.checked.ir.items() if isinstance(op, ir.Load)}
        root = self.program.root
        for key, path in (data or {}).items():
            members = self._mrio_members(key)
            if members:  # `--data io=other_mrio_folder` replaces every table of the entry
                out.update(dict.fromkeys(members, Path(path)))
                continue
            q = key if key in self.program.definitions else ".".join((*root.prefix, key))
            d = self.program.definitions.get(q)
            if d is None or q not in loads or d.kind not in ("data", "input"):
                candidates = sorted(
                    q for q in loads if self.program.definitions[q].kind in ("data", "input")
                )
                diags.error(
                    "E0903",
                    f"`--data {key}=…`: the model has no data entry `{key}`",
                    root.module.span("model"),
                    help=did_you_mean(key, candidates) or f"data entries: {', '.join(candidates)}",
                )
                continue
            out[q] = Path(path)
        diags.raise_if_errors()
        return out

    def _mrio_members(self, key: str) -> list[str]:
        """The tables of MRIO data entry ``key`` (``io`` -> ``io.Z``, ``io.Y`` …), if it is one."""
        from .program import MrioMember

        scope = self.program.root.imports.get(key)
        if scope is None:
            return []
        defs = list(scope.names.values())
        if not defs or not all(isinstance(d.spec, MrioMember) for d in defs):
            return []
        return [d.qname for d in defs]

    def load_data(
        self,
        data: Mapping[str, str | Path] | None = None,
        arrays: Mapping[str, np.ndarray] | None = None,
    ) -> Loaded:
        """Read every data file the model declares (or ``data`` replaces).

        Args:
            data: data entries to read from other files.
            arrays: data entries given as numpy arrays instead (axes in the entry's dims order),
                for notebooks and scripts that already hold the numbers in memory. A
                two-dimensional entry may be a SciPy sparse matrix (an exchange table of a large
                LCA database): it stays sparse through the run.

        Raises:
            CarbonError: with a located diagnostic for each bad file, row or cell.
        """
        from carbonc.runtime.data import load_all
        from carbonc.runtime.larray import LArray

        targets = self.data_targets(data)
        given = self.data_targets({k: "" for k in arrays or {}})
        loads = {
            q: op for q, op in self.checked.ir.items() if isinstance(op, ir.Load) and q not in given
        }
        diags = Diagnostics()
        loaded = load_all(self.program.definitions, loads, self.dims, targets, diags)
        for (key, value), q in zip((arrays or {}).items(), given, strict=True):
            op = self.checked.ir[q]
            shape = tuple(len(self.dims[d].labels) for d in op.dims)
            arr = _in_memory(value)
            if arr.shape != shape:
                diags.error(
                    "E0810",
                    f"array for `{key}` has shape {arr.shape}; its dims "
                    f"{list(op.dims)} need {shape}",
                    self.program.definitions[q].span,
                )
                continue
            loaded.arrays[q] = LArray(arr, op.dims)
            loaded.hash_later(f"<array {key}>", arr)
        if diags.has_errors:
            raise CarbonError(sorted_diagnostics(diags.items))
        return loaded

    def check_data(
        self,
        data: Mapping[str, str | Path] | None = None,
        choose: Mapping[str, str] | None = None,
    ) -> None:
        """Load the data only to validate it, skipping unbound inputs of a method run on its own.

        Per-row uncertainties of data entries are checked too, against the values they spread,
        and so are the assertions about data alone: those that need no solve (the allocation
        factors of an LCA, the shares of a mix), under the given or default choices.

        Raises:
            CarbonError: a bad file, row or cell.
            AssertionFailed: an assertion about the data does not hold.
        """
        from carbonc.runtime.sampling import build_plans

        try:
            loaded = self.load_data(data)
        except CarbonError as exc:
            real = [d for d in exc.diagnostics if d.code != "E0702"]
            if real:
                raise CarbonError(real) from None
            return
        uncertain = {q: u for q, u in self.checked.uncertain.items() if q in loaded.arrays}
        nominal = {q: loaded.arrays[q].raw for q in uncertain}
        units = {q: self.checked.ir[q].unit for q in uncertain}
        defs = self.program.definitions
        build_plans(uncertain, nominal, defs, self.dims, units, loaded.paths)
        self._check_data_asserts(loaded, self.resolve_choices(choose))

    def _check_data_asserts(self, loaded: Loaded, choices: Mapping[str, str]) -> None:
        """Evaluate the assertions that read data and cheap rules only (no solve)."""
        from carbonc.runtime.executor import Executor
        from carbonc.runtime.results import Results

        labels = {d: dim.index for d, dim in self.dims.items()}
        ex = Executor(self.checked.ir, self.checked.order, labels, loaded.arrays, choices)

        @functools.cache
        def cheap(q: str) -> bool:
            ops = [ex.ir[q]]
            while ops:
                op = ops.pop()
                if isinstance(op, (ir.LeontiefSolve, ir.LeontiefInverse)):
                    return False
                ops.extend(ir.operands(op))
            return True

        active = [a for a in self.checked.asserts if all(cheap(q) for q in ex.needed(a.reads))]
        if not active:
            return
        with _solve_errors():
            ex.run(set().union(*(a.reads for a in active)))
        coords = {d: dim.labels for d, dim in self.dims.items()}
        _, failures = self._asserts(ex, coords, active, {})
        if failures:
            raise AssertionFailed(failures, Results({}, {}, [], None))

    # -- running ------------------------------------------------------------------------

    @_sampled_patterns
    def run(
        self,
        choose: Mapping[str, str] | None = None,
        data: Mapping[str, str | Path] | None = None,
        outputs: Iterable[str] | None = None,
        check_asserts: bool = True,
        arrays: Mapping[str, np.ndarray] | None = None,
        *,
        uncertainty: Uncertainty | None = None,
    ) -> Results:
        """Run the model.

        Args:
            choose: choice values for this run, e.g. ``{"metric": "AR6_GWP100"}``.
            data: data entries to read from other files, e.g. ``{"fuel_use": "2023.csv"}``.
            outputs: which outputs to report (default: the model's ``outputs:``).
            check_asserts: raise :class:`AssertionFailed` when an assertion fails.
            arrays: data entries given as numpy arrays (see :meth:`load_data`).
            uncertainty: also report each output's uncertainty, by Monte Carlo or by error
                propagation (see :class:`Uncertainty`).

        Returns:
            :class:`carbonc.runtime.results.Results`; with ``uncertainty``, each result's
            ``stats`` holds its mean, standard deviation, median and 95% interval.
        """
        from carbonc.runtime.executor import Executor
        from carbonc.runtime.provenance import display_path, provenance, sha256_text
        from carbonc.runtime.results import Result, Results

        choices = self.resolve_choices(choose)
        loaded = self.load_data(data, arrays)
        names = self._output_names(outputs)
        labels = {d: dim.index for d, dim in self.dims.items()}
        # An uncertainty run shares factors between the deterministic run and the samples; a
        # plain run frees them as soon as it can.
        make = self._executors(choices) if uncertainty is not None else None
        ex = (
            make(loaded.arrays)
            if make is not None
            else Executor(self.checked.ir, self.checked.order, labels, loaded.arrays, choices)
        )
        # The model's own assertions always run. An imported method's assertions guard that
        # method's results: they run when what they read is computed for this run anyway, and
        # are recorded as skipped otherwise (a footprint-only run need not solve for outputs
        # it never reports just to check them).
        roots = set(names)
        for a in self.checked.asserts:
            if not a.imported:
                roots |= a.reads
        computed = ex.needed(roots)
        active = [a for a in self.checked.asserts if not a.imported or a.reads <= computed]
        for a in active:
            roots |= a.reads  # kept alive until the assertions have run
        uncertain = {q: u for q, u in self.checked.uncertain.items() if q in ex.needed(roots)}
        if uncertainty is not None:
            self._check_uncertainty(uncertainty, uncertain, names, choices)
            roots |= set(uncertain)  # their nominal values centre the distributions
        with _solve_errors():
            values = ex.run(roots)
        coords = {d: dim.labels for d, dim in self.dims.items()}
        base = self.path.parent
        stats: dict[str, dict[str, np.ndarray]] = {}
        extra: dict[str, Any] = {}
        samples = None
        mc_failures: dict[int, Diagnostic] = {}  # by id() of the assertion
        with _solve_errors():
            if uncertainty is not None and uncertainty.method == "propagation":
                from carbonc.runtime.propagation import propagate

                assert make is not None
                plans = self._plans(ex, loaded, uncertain)
                budget = uncertainty.memory_budget
                stats = propagate(make, loaded.arrays, plans, roots, names, values, budget)
                extra = {"method": "IPCC Approach 1 (error propagation, Eq. 3.1-3.3)"}
            elif uncertainty is not None:
                assert make is not None
                mc, mc_failures = self._monte_carlo(
                    uncertainty, make, ex, loaded, uncertain, roots, names, active
                )
                stats, samples = mc.stats, (mc.samples if uncertainty.keep_samples else None)
                extra = {
                    "method": "IPCC Approach 2 (Monte Carlo)",
                    "samples": mc.n,
                    "seed": mc.seed,
                    "chunk": mc.chunk,
                }
        if extra:
            extra["inputs"] = {q: _describe(u) for q, u in sorted(uncertain.items())}
        out = {}
        for q in names:
            arr = values[q]  # a sparse result stays sparse; readers see it dense (LArray.values)
            d = self.program.definitions[q]
            out[q] = Result(
                q,
                arr,
                {k: coords[k] for k in arr.dims},
                fmt(self.checked.ir[q].unit),
                d.description,
                stats.get(q),
            )
        prov = provenance(
            version=carbonc.__version__,
            model=self.name,
            model_files={
                display_path(p, base): sha256_text(m.text) for p, m in self.program.modules.items()
            },
            data_files={
                p if p.startswith("<") else display_path(p, base): h
                for p, h in loaded.hashes().items()
            },
            choices=choices,
            overrides=[
                {"target": q, "because": d.because or "", "at": self._where(d.span)}
                for q, d in sorted(self.program.definitions.items())
                if d.is_override
            ],
        )
        if extra:
            prov["uncertainty"] = extra
        outcomes, failures = self._asserts(ex, coords, active, mc_failures)
        results = Results(out, prov, outcomes, samples.arrays if samples is not None else None)
        results.keepalive = samples
        if failures and check_asserts:
            raise AssertionFailed(failures, results)
        return results

    def _check_uncertainty(
        self,
        how: Uncertainty,
        uncertain: Mapping[str, InputUncertainty],
        names: list[str],
        choices: Mapping[str, str],
    ) -> None:
        """Refuse an uncertainty run the model cannot support, before any work is done."""
        root = self.program.root.module.span("model")
        if not uncertain:
            raise CarbonError(
                [
                    Diagnostic(
                        "E1212",
                        "no input of this run declares an uncertainty",
                        root,
                        help='add `uncertainty: "±5%"` (or a distribution) to the data '
                        "entries and parameters the outputs depend on",
                    )
                ]
            )
        if how.method == "propagation":
            from .approach1 import check_linear

            check_linear(self, uncertain, names, choices)
        elif how.samples < 2:
            raise CarbonError(
                [
                    Diagnostic(
                        "E1213",
                        f"{how.samples} samples are too few",
                        root,
                        help="use at least 2, typically 10,000",
                    )
                ]
            )

    def sensitivity(
        self,
        output: str,
        method: Literal["rank", "sobol"] = "rank",
        samples: int | None = None,
        seed: int = 0,
        choose: Mapping[str, str] | None = None,
        data: Mapping[str, str | Path] | None = None,
        memory_budget: int = 1 << 30,
    ) -> Sensitivity:
        """Rank the uncertain inputs by their contribution to a scalar output's variance.

        Args:
            output: a scalar output or rule.
            method: ``"rank"`` (Spearman rank correlation over a Monte Carlo sample) or
                ``"sobol"`` (first-order and total Sobol indices, Saltelli design via SALib).
            samples: Monte Carlo samples (rank; default 10,000) or the Saltelli base sample
                (sobol, a power of two; default 4,096, costing base x (inputs + 2) runs).
            seed: the random seed.
            choose: choice values for this run.
            data: data entries to read from other files.
            memory_budget: bytes one chunk of samples may use.

        Raises:
            CarbonError: a non-scalar output, no uncertain input, or Sobol with correlations.
        """
        from carbonc.runtime.montecarlo import run_monte_carlo
        from carbonc.runtime.sensitivity import (
            Replay,
            rank_correlations,
            saltelli,
            sobol_indices,
        )

        choices = self.resolve_choices(choose)
        loaded = self.load_data(data)
        (q,) = self._output_names([output])
        root = self.program.root.module.span("model")
        if self.checked.ir[q].dims:
            raise CarbonError(
                [
                    Diagnostic(
                        "E1215",
                        f"sensitivity needs a scalar output, but `{output}` has dims "
                        f"{list(self.checked.ir[q].dims)}",
                        self.program.definitions[q].span,
                        help=f"add a rule such as `{output}_total: sum({output})`, or select "
                        "labels in a rule, and rank the inputs of that",
                    )
                ]
            )
        make = self._executors(choices)
        ex = make(loaded.arrays)
        uncertain = {u: v for u, v in self.checked.uncertain.items() if u in ex.needed({q})}
        self._check_uncertainty(Uncertainty(), uncertain, [q], choices)
        with _solve_errors():
            ex.run({q, *uncertain})
            sampler = self.sampler(self._plans(ex, loaded, uncertain), seed)
            widths = {s: w for s, _, w in sampler.names()}
            problem: dict[str, Any] = {}
            if method == "sobol":
                if sampler.copulas or any(p.u.source for p in sampler.plans.values()):
                    raise CarbonError(
                        [
                            Diagnostic(
                                "E1216",
                                "Sobol indices need independent inputs, but this model "
                                "correlates some",
                                root,
                                help="use `--method rank`, which allows correlated inputs",
                            )
                        ]
                    )
                problem, uniforms = saltelli(widths, samples or 4096, seed)
            else:
                uniforms = sampler.uniforms(samples or 10_000)
            n = next(iter(uniforms.values())).shape[0]
            design = Replay(sampler, uniforms)
            mc = run_monte_carlo(
                make, loaded.arrays, design, {q}, [q], n, memory_budget, summary=False
            )
        y = np.asarray(mc.samples.arrays[q]).reshape(-1)
        members = {s: [m for m, p in sampler.plans.items() if p.u.stream == s] for s in widths}
        if method == "sobol":
            factors = sobol_indices(problem, y, seed, lambda s: _stream_label(s, members[s]))
        else:
            from carbonc.runtime.propagation import half_widths

            varies = {
                s: np.any([half_widths(sampler.plans[m]) > 0 for m in members[s]], axis=0)
                for s in widths
            }
            factors = rank_correlations(
                uniforms,
                y,
                lambda s, j: self._element_label(
                    s, members[s], j, widths[s], sampler.plans[members[s][0]].pattern
                ),
                varies,
            )
        return Sensitivity(q, method, n, seed, factors)

    def trace(
        self,
        lca: str,
        unit: str | None = None,
        cutoff: float = 0.01,
        depth: int = 8,
        choose: Mapping[str, str] | None = None,
        data: Mapping[str, str | Path] | None = None,
    ) -> tuple[str, list[Any]]:
        """The supply-chain tree of a functional unit of an imported `stdlib:lca/footprint`.

        Args:
            lca: the alias the model imports the footprint method under.
            unit: the functional unit (default: the first).
            cutoff: branches below this share of the footprint are not expanded.
            depth: the deepest level shown.
            choose: choice values for this run.
            data: data entries to read from other files.

        Returns:
            The functional unit traced, and the tree's nodes (see ``runtime.trace.Node``).

        Raises:
            CarbonError: no such import, or not an LCA footprint method.
        """
        from carbonc.runtime.trace import supply_tree

        names = [f"{lca}.{n}" for n in ("A", "direct", "per_product", "demand")]
        missing = [n for n in names if n not in self.checked.ir]
        if missing:
            raise CarbonError(
                [
                    Diagnostic(
                        "E1217",
                        f"`{lca}` is not an imported LCA method (no `{missing[0]}`)",
                        self.program.root.module.span("import"),
                        help="import stdlib:lca/footprint under an alias and pass that alias",
                    )
                ]
            )
        r = self.run(choose=choose, data=data, outputs=names, check_asserts=False)
        a, direct, per_unit, demand = (r[n] for n in names)
        units = demand.labels["functional_unit"]
        chosen = unit or units[0]
        if chosen not in units:
            raise CarbonError(
                [
                    Diagnostic(
                        "E1217",
                        f"no functional unit `{chosen}`",
                        self.program.root.module.span("model"),
                        help=did_you_mean(chosen, list(units)) or f"units: {', '.join(units)}",
                    )
                ]
            )
        d = demand.array.aligned(("product", "functional_unit"))[:, units.index(chosen)]
        if a.array.sparse is not None:  # a database-size A is walked column by column
            from carbonc.runtime.sparse_ops import to_csr

            size = lambda d: len(self.dims[d].labels)  # noqa: E731
            matrix: Any = to_csr(a.array, ("product",), ("product_to",), size).tocsc()
        else:
            matrix = np.asarray(a.array.aligned(("product", "product_to")))
        nodes = supply_tree(
            matrix,
            np.asarray(direct.array.aligned(("product_to",))),
            np.asarray(per_unit.array.aligned(("product_to",))),
            np.asarray(d),
            a.labels["product"],
            cutoff,
            depth,
        )
        return chosen, nodes

    def _element_label(
        self, stream: str, members: list[str], j: int, width: int, pattern: Sparse | None = None
    ) -> str:
        """How an input element is named in a ranking: ``ef[fuel=coal]``, or the input.

        The elements of a sparse input are its stored cells (``pattern``).
        """
        name = _stream_label(stream, members)
        if width == 1:
            return name
        if pattern is not None:
            j = int(pattern.index[j])
        dims = self.checked.ir[members[0]].dims
        idx = np.unravel_index(j, tuple(len(self.dims[d].labels) for d in dims))
        where = ", ".join(
            f"{d}={self.dims[d].labels[int(i)]}" for d, i in zip(dims, idx, strict=True)
        )
        return f"{name}[{where}]"

    def _plans(
        self, ex: Executor, loaded: Loaded, uncertain: Mapping[str, InputUncertainty]
    ) -> dict[str, Plan]:
        """Sampling plans of the uncertain inputs, centred on their values in this run."""
        from carbonc.runtime.sampling import build_plans

        nominal = {q: (ex.values[q] if q in ex.values else loaded.arrays[q]).raw for q in uncertain}
        units = {q: self.checked.ir[q].unit for q in uncertain}
        defs = self.program.definitions
        return build_plans(uncertain, nominal, defs, self.dims, units, loaded.paths)

    def sampler(self, plans: Mapping[str, Plan], seed: int) -> Sampler:
        """A seeded sampler of ``plans``, with the model's declared correlations."""
        from carbonc.runtime.sampling import Sampler

        correlations = [c for c in self.checked.correlations if set(c.inputs) <= set(plans)]
        return Sampler(plans, correlations, seed)

    def _executors(self, choices: Mapping[str, str]) -> Callable[[Mapping[str, LArray]], Executor]:
        """A factory of executors for this run's choices that share one cache of factors, so
        a matrix that is not uncertain is factorised once for every run over the samples."""
        from carbonc.runtime.executor import Executor

        labels = {d: dim.index for d, dim in self.dims.items()}
        shared: dict[object, Any] = {}

        def make(data: Mapping[str, LArray]) -> Executor:
            return Executor(self.checked.ir, self.checked.order, labels, data, choices, shared)

        return make

    def _monte_carlo(
        self,
        how: Uncertainty,
        make: Callable[[Mapping[str, LArray]], Executor],
        ex: Executor,
        loaded: Loaded,
        uncertain: Mapping[str, InputUncertainty],
        roots: set[str],
        names: list[str],
        active: list[CheckedAssert],
    ) -> tuple[MonteCarlo, dict[int, Diagnostic]]:
        from carbonc.runtime.larray import SAMPLE
        from carbonc.runtime.montecarlo import run_monte_carlo

        sampler = self.sampler(self._plans(ex, loaded, uncertain), how.seed)
        coords: dict[str, tuple[str, ...]] = {d: dim.labels for d, dim in self.dims.items()}
        failed: dict[int, Diagnostic] = {}

        def check(chunk: Executor, start: int) -> None:
            labels = {**coords, SAMPLE: _SampleNumbers(start, chunk.n_samples)}
            for a in active:
                if id(a) in failed:
                    continue
                ok, detail = _evaluate_assert(chunk, a, labels)
                if not ok:
                    failed[id(a)] = Diagnostic(
                        "E1001",
                        f"assertion failed in a Monte Carlo sample: {a.text}",
                        a.span,
                        a.message,
                        "error",
                        (detail.replace("~sample=", "sample "),),
                    )

        mc = run_monte_carlo(
            make, loaded.arrays, sampler, roots, names, how.samples, how.memory_budget, check
        )
        return mc, failed

    def _where(self, span: Any) -> str:
        """A span as ``file:line:col`` relative to the model's folder, so provenance is portable."""
        from carbonc.runtime.provenance import display_path

        return f"{display_path(span.file, self.path.parent)}:{span.line}:{span.col}"

    def _output_names(self, outputs: Iterable[str] | None) -> list[str]:
        if outputs is None:
            return list(self.outputs)
        names = []
        diags = Diagnostics()
        root = self.program.root
        for name in outputs:
            q = name if name in self.checked.ir else ".".join((*root.prefix, name))
            if q not in self.checked.ir:
                diags.error(
                    "E1003",
                    f"no definition `{name}` to output",
                    root.module.span("model"),
                    help=did_you_mean(name, list(self.checked.ir)),
                )
            else:
                names.append(q)
        diags.raise_if_errors()
        return names

    def _asserts(
        self,
        ex: Executor,
        coords: Mapping[str, Sequence[str]],
        active: list[CheckedAssert],
        in_samples: Mapping[int, Diagnostic],
    ) -> tuple[list[dict[str, Any]], list[Diagnostic]]:
        """Check the assertions on the deterministic run; ``in_samples`` holds, by ``id`` of
        the assertion, a failure found in a Monte Carlo sample."""
        outcomes: list[dict[str, Any]] = []
        failures: list[Diagnostic] = []
        for a in self.checked.asserts:
            if a not in active:
                outcomes.append(
                    {
                        "assert": a.text,
                        "at": self._where(a.span),
                        "passed": None,
                        "skipped": "reads results this run does not compute",
                    }
                )
                continue
            ok, detail = _evaluate_assert(ex, a, coords)
            sampled = in_samples.get(id(a))
            if ok and sampled is not None:
                ok, detail = False, f"in a Monte Carlo sample: {sampled.notes[0]}"
            outcomes.append(
                {
                    "assert": a.text,
                    "at": self._where(a.span),
                    "passed": ok,
                    **({"detail": detail} if detail else {}),
                }
            )
            if sampled is not None:
                failures.append(sampled)
            elif not ok:
                msg = f"assertion failed: {a.text}"
                failures.append(
                    Diagnostic(
                        "E1001", msg, a.span, a.message, "error", (detail,) if detail else ()
                    )
                )
        return outcomes, failures


class _SampleNumbers(Sequence[str]):
    """Labels of a chunk's sample axis, for messages: sample numbers counted from ``start``,
    made only when a message needs one."""

    def __init__(self, start: int, n: int):
        self.start, self.n = start, n

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...
    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if isinstance(i, slice):
            return [str(self.start + k) for k in range(self.n)[i]]
        return str(self.start + i)

    def __len__(self) -> int:
        return self.n


@dataclass(frozen=True)
class Sensitivity:
    """Inputs ranked by their contribution to one output's uncertainty."""

    output: str
    method: str
    samples: int
    seed: int
    factors: list[Any]


def _stream_label(stream: str, members: list[str]) -> str:
    if stream.startswith("source:"):
        return f"{stream.removeprefix('source:')} (shared by {', '.join(members)})"
    return members[0]


@contextmanager
def _solve_errors() -> Iterator[None]:
    """Report a linear system the runtime cannot solve as a located model error."""
    from carbonc.runtime.executor import SolveError

    try:
        yield
    except SolveError as exc:
        cols = "; ".join(exc.columns)
        raise CarbonError(
            [
                Diagnostic(
                    "E1101",
                    f"{exc}: cannot solve the Leontief system",
                    exc.span,
                    help=(
                        "check the columns in the note: a sector whose inputs exceed its "
                        "output, or a zero-output sector with inputs, makes I - A singular"
                        if cols
                        else "check for sectors whose inputs exceed their output"
                    ),
                    notes=(f"offending columns: {cols}",) if cols else (),
                )
            ]
        ) from None


def _describe(u: InputUncertainty) -> str:
    """An uncertain input as provenance records it."""
    if u.dist is not None:
        text = u.dist.text
    elif u.column is not None:
        text = f"per row, column `{u.column}`"
    else:
        text = f"draws from `{u.samples}`"
    extras = [f"source {u.source}"] if u.source else []
    if u.truncate is not None:
        extras.append(f"truncated to [{u.truncate[0]:g}, {u.truncate[1]:g}]")
    return text + (f" ({', '.join(extras)})" if extras else "")


def _in_memory(value: Any) -> np.ndarray | Sparse:
    """An array given in memory: dense as float, or a SciPy sparse matrix kept sparse."""
    import scipy.sparse as sp

    from carbonc.runtime.sparse_ops import from_csr

    if sp.issparse(value):
        # Only the flat positions are new: the values are shared with the caller's matrix
        # (as a dense array's are).
        return from_csr(sp.csr_matrix(value))
    return np.asarray(value, dtype=float)


def _evaluate_assert(
    ex: Executor, a: CheckedAssert, coords: Mapping[str, Sequence[str]]
) -> tuple[bool, str]:
    with np.errstate(invalid="ignore", over="ignore"):
        return _check_assert(ex, a, coords)


def _check_assert(
    ex: Executor, a: CheckedAssert, coords: Mapping[str, Sequence[str]]
) -> tuple[bool, str]:
    if a.cond is not None:
        c = ex.evaluate(a.cond)
        held = c.sparse
        if held is not None and bool(held.fill) and bool(np.all(held.data)):
            return True, ""  # every stored cell holds and so does every other one
        bad = ~np.asarray(c.values, dtype=bool)
        if not bad.any():
            return True, ""
        where = _first_where(bad, c.dims, coords)
        return False, f"false{where}" + f" ({int(bad.sum())} of {bad.size} values)"
    assert a.left is not None and a.right is not None
    left, right = ex.evaluate(a.left), ex.evaluate(a.right)
    dims = tuple(dict.fromkeys((*left.dims, *right.dims)))
    lv, rv = np.broadcast_arrays(left.aligned(dims), right.aligned(dims))
    diff = np.abs(lv - rv)
    limit = (
        a.tolerance * np.maximum(np.abs(lv), np.abs(rv))
        if a.relative
        else np.full(diff.shape, a.tolerance)
    )
    bad = ~(diff <= limit)
    if not bad.any():
        return True, ""
    i = np.unravel_index(int(np.argmax(np.where(bad, diff, -1.0))), diff.shape)
    where = _at(i, dims, coords)
    unit = fmt(a.left.unit)
    rel = diff[i] / max(abs(lv[i]), abs(rv[i])) if max(abs(lv[i]), abs(rv[i])) > 0 else float("inf")
    tol = (
        f"relative tolerance {a.tolerance:g}" if a.relative else f"tolerance {a.tolerance:g} {unit}"
    )
    return False, (
        f"left = {lv[i]:.10g} {unit}, right = {rv[i]:.10g} {unit}{where}: "
        f"difference {diff[i]:.3g} {unit} (relative {rel:.3g}) exceeds {tol}"
    )


def _at(i: tuple[Any, ...], dims: tuple[str, ...], coords: Mapping[str, Sequence[str]]) -> str:
    if not dims:
        return ""
    return " at " + ", ".join(f"{d}={coords[d][int(k)]}" for d, k in zip(dims, i, strict=True))


def _first_where(
    bad: np.ndarray, dims: tuple[str, ...], coords: Mapping[str, Sequence[str]]
) -> str:
    if not dims:
        return ""
    i = tuple(int(k) for k in np.argwhere(bad)[0])
    return _at(i, dims, coords)


def _open_method_dims(program: Program) -> None:
    """Let a method be checked on its own: dims its inputs use, which only an importer would
    declare (``region`` of an MRIO method), get one placeholder label."""
    from .program import DimDecl

    root = program.root
    for d in root.names.values():
        if d.kind != "input" or d.expr is not None:
            continue
        for dim in d.dims or ():
            if dim not in program.dims:
                program.dims[dim] = [DimDecl(dim, ("(from the importer)",), d.span, d.module, 0)]


def load(path: str | Path, allow: Iterable[str | Path] = ()) -> Model:
    """Load, check and compile a model file.

    Args:
        path: the ``.carbon`` file.
        allow: extra folders the model may read data from.

    Raises:
        CarbonError: carrying every diagnostic, when the model has errors.
    """
    diags = Diagnostics()
    model = compile_model(Path(path), diags, [Path(p) for p in allow])
    diags.raise_if_errors()
    assert model is not None
    return model


def compile_model(path: Path, diags: Diagnostics, allow: list[Path] | None = None) -> Model | None:
    """The compiler pipeline: assemble, resolve dims, check and lower. Problems go to ``diags``."""
    # The compiler allocates many small acyclic objects; the cyclic GC would walk the whole
    # heap (pint's registry included) again and again for nothing. Pause it while compiling.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _compile(path, diags, allow)
    finally:
        if was_enabled:
            gc.enable()


def _compile(path: Path, diags: Diagnostics, allow: list[Path] | None) -> Model | None:
    if not path.is_file():
        hint = None
        if path.parent.is_dir():
            hint = did_you_mean(
                path.name, [p.name for p in path.parent.iterdir() if p.suffix == ".carbon"]
            )
        diags.error("E0701", f"model file `{path}` does not exist", None, help=hint)
        return None
    program = assemble(path, diags, allow)
    if program is None:
        return None
    _open_method_dims(program)
    dims = resolve_dims(program.dims, diags)
    checked = Checker(program, dims, diags).run()
    if diags.has_errors:
        return None
    warnings = tuple(d for d in diags if d.severity != "error")
    return Model(path.resolve(), program, dims, checked, warnings)
