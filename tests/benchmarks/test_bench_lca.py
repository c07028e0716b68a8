"""LCA benchmark: carbonc's stdlib:lca/footprint against bw2calc 3.1 (Brightway's calculator).

Both tools get the same seeded synthetic system (``lca_gen.generate``: n activities, each
delivering one product; about 20 technosphere inputs and 16 biosphere entries per activity;
2,000 elementary flows at the issue's 25,000 activities, scaled down in proportion) in three
workloads:

- ``fu1``: one functional unit (one unit of one product);
- ``fu100``: 100 functional units (one unit of each of 100 products). bw2calc two ways:
  ``MultiLCA`` (one solve with 100 right-hand sides, and the 100 inventories) and
  ``bw2calc_loop`` (one ``LCA``, then ``lcia(demand=...)`` for each unit, reusing the
  factorisation). carbonc two ways: ``carbonc`` asks for the scores only, which
  stdlib:lca/footprint computes as per_product . demand, one transposed (adjoint) solve
  whatever the number of units; ``carbonc_inventory`` also asks for ``lca.inventory``, the 100
  inventories g = B s, so it solves for the 100 supplies as MultiLCA does (like for like);
- ``mc``: 200 Monte Carlo samples of one functional unit with every technosphere input
  lognormal (``lca_gen.GSD``); bw2calc ``LCA(..., use_distributions=True)`` and
  ``IterativeLCA`` (same packages, so the same draws), 199 ``next()`` after the first
  ``lci()``; carbonc ``model.run(uncertainty=Uncertainty(samples=200, seed=1))``, which also
  runs the deterministic model that centres the distributions.

Sizes: 500 and 2,000 activities under ``--benchmark-only``; 5,000 with ``CARBONC_BENCH_LARGE=1``;
the issue's 25,000 with ``CARBONC_BENCH_LCA_FULL=1`` (bw2calc's ``LCA`` Monte Carlo alone takes
9 to 13 minutes there). Both tools run every case at every size, with the full sample count;
``CARBONC_BENCH_LCA_SAMPLES`` changes the number of samples everywhere.

What is timed: carbonc, ``model.run(arrays=..., outputs=...)`` on the exchange tables as SciPy
CSR matrices (``lca_gen.carbonc_arrays``; the model declares them ``sparse: true``), built, like
the compiled model, before the call. carbonc keeps A and B sparse; up to
``sparse_solve.DENSE_MAX`` products it solves I - A by a dense LAPACK LU, above that by block
Gauss-Seidel sweeps (a SuperLU factorisation if the sweeps converge too slowly), and Monte Carlo
samples as one block-diagonal system per chunk of samples. Which solver ran, and its sweep counts, is in
each record's figures (see ``lca_gen.carbonc_call``). bw2calc, the construction of the
``LCA`` object from in-memory bw_processing data packages, ``lci()`` and ``lcia()``, the
packages being built before the call. If pypardiso is installed, bw2calc uses PARDISO (MKL),
as Brightway users on x86 do; otherwise SciPy's solver (SuperLU).

Every measured call runs in a fresh process with one BLAS and MKL thread (and carbonc's sweeps
on one thread; ``CARBONC_BENCH_THREADS=2`` gives both tools two), as in test_bench_mrio.py: the
child builds the inputs, makes the same call once on a 12-activity system (lazy imports, solver
set-up), gives the heap the generator freed back to the system (glibc ``malloc_trim``, both
tools alike), resets its peak RSS to its current RSS (Linux
``/proc/self/clear_refs``: generating the 25,000-activity system alone peaks at 527 MiB, which
would otherwise mask the call's own peak), takes a memory baseline, and waits; the timed part
tells it to go. Peak memory is the child's ``ru_maxrss`` after the call (its high-water mark
since the reset: the inputs, the libraries and the call), absolute and above the baseline.
Rounds (one fresh child each): 3, except the Monte Carlo cases at 25,000 (1). A summary table
is printed at the end of the module.

Checks: carbonc's scores equal bw2calc's to 1e-9 (relative to the largest) in ``fu1`` and
``fu100`` (both carbonc variants), ``carbonc_inventory``'s 100 inventories equal those of
``MultiLCA`` to 1e-9 (relative to the largest entry), and carbonc's deterministic score in
``mc`` equals bw2calc's single functional unit; the Monte Carlo mean and standard deviation of
the two tools agree within 4 standard errors (different random streams); ``IterativeLCA``'s
samples equal ``LCA``'s to 1e-5 (same draws, iterative tolerance). Nothing asserts on time.

``test_generated_system`` and ``test_carbonc_matches_bw2calc_on_a_small_system`` are not
benchmarks and run in the plain suite.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lca_gen
import numpy as np
import pytest
from child import Child, show_summary
from pytest_benchmark.fixture import BenchmarkFixture

HERE = Path(__file__).resolve().parent
SEED = 2024
RTOL = 1e-9
ITERATIVE_RTOL = 1e-5
LARGE = os.environ.get("CARBONC_BENCH_LARGE") == "1"
FULL = os.environ.get("CARBONC_BENCH_LCA_FULL") == "1"
SAMPLES = int(os.environ.get("CARBONC_BENCH_LCA_SAMPLES", "200"))
SIZES = (500, 2000, 5000, 25_000)
WORKLOADS = ("fu1", "fu100", "mc")
REFERENCE = {"fu1": "bw2calc", "fu100": "bw2calc_multi", "mc": "bw2calc"}
# carbonc's solver figures (lca_gen.carbonc_call) and bw2calc's, kept in each record
SOLVER_KEYS = (
    "factor_nnz",
    "solver_stats",
    "preconditioner",
    "solver",
    "lus",
    "sparse_builds",
    "gauss_seidel",
    "superlu",
    "sweeps",
    "sampled_solves",
    "chunk",
)
MIB = 1024.0  # ru_maxrss is in KiB

_large = pytest.mark.skipif(
    not LARGE, reason="5,000 activities: set CARBONC_BENCH_LARGE=1 to run it"
)
_full = pytest.mark.skipif(
    not FULL,
    reason="25,000 activities (bw2calc's Monte Carlo: minutes): set CARBONC_BENCH_LCA_FULL=1",
)


def _marks(n: int) -> list[pytest.MarkDecorator]:
    """Both tools alike: 500 and 2,000 always, 5,000 and 25,000 on request."""
    return {5000: [_large], 25_000: [_full]}.get(n, [])


def samples_for(n: int, workload: str, tool: str) -> int:
    return SAMPLES if workload == "mc" else 0


def rounds_for(n: int, workload: str, tool: str) -> int:
    """3 fresh children, except the Monte Carlo at 25,000 (bw2calc's LCA: 9 to 13 minutes)."""
    return 1 if (n == 25_000 and workload == "mc") else 3


CASES = [
    pytest.param(n, w, tool, id=f"{n}-{w}-{tool}", marks=_marks(n))
    for n in SIZES
    for w in WORKLOADS
    for tool in lca_gen.TOOLS[w]
]


# -- the child process ----------------------------------------------------------------------


def _job(n: int, workload: str, tool: str, model: Path, check_file: Path | None) -> dict[str, Any]:
    return {
        "tool": tool,
        "workload": workload,
        "n": n,
        "seed": SEED,
        "samples": samples_for(n, workload, tool),
        "model": str(model),
        "check_file": str(check_file) if check_file else None,
    }


def measure(
    benchmark: BenchmarkFixture, n: int, workload: str, tool: str, model: Path, check_file: Path
) -> dict[str, Any]:
    """Benchmark ``tool`` on ``workload`` at ``n``, one fresh child per round."""
    rounds = rounds_for(n, workload, tool)
    children: list[Child] = []

    def setup() -> tuple[tuple[Child], dict[str, Any]]:
        if children:
            children[-1].finish()  # one child alive at a time
        last = len(children) == rounds - 1
        children.append(
            Child("lca_gen", _job(n, workload, tool, model, check_file if last else None))
        )
        return (children[-1],), {}

    try:
        benchmark.pedantic(Child.go, setup=setup, rounds=rounds, iterations=1)
    finally:
        for child in children:
            if child.proc.poll() is None:
                child.finish()

    ready = [c.ready for c in children]
    done = [c.done for c in children]
    extra = {k: v for k, v in done[-1].items() if k not in ("call_s", "cpu_s")}
    figures: dict[str, Any] = {
        "tool": tool,
        "workload": workload,
        "activities": n,
        "technosphere_exchanges": ready[0]["technosphere_exchanges"],
        "biosphere_entries": ready[0]["biosphere_entries"],
        "flows": ready[0]["flows"],
        "functional_units": lca_gen.UNITS[workload],
        "samples": samples_for(n, workload, tool),
        "seed": SEED,
        "rounds": rounds,
        "call_s": [d["call_s"] for d in done],
        "cpu_s": [d["cpu_s"] for d in done],
        "inputs_mib": ready[0]["input_bytes"] / 2**20,
        "generate_s": ready[0]["generate_s"],
        "setup_s": [r["setup_s"] for r in ready],
        "baseline_maxrss_mib": max(r["maxrss_kib"] for r in ready) / MIB,
        "peak_maxrss_mib": max(d["peak_maxrss_kib"] for d in done) / MIB,
        "increment_mib": max(
            d["peak_maxrss_kib"] - r["maxrss_kib"] for d, r in zip(done, ready, strict=True)
        )
        / MIB,
        "peak_reset": all(r.get("peak_reset", False) for r in ready),
        "pypardiso": _has_pypardiso(),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        **{k: extra[k] for k in SOLVER_KEYS if k in extra},
    }
    benchmark.extra_info.update(figures)
    return figures


def _has_pypardiso() -> bool:
    try:
        import pypardiso  # noqa: F401
    except ImportError:
        return False
    return True


# -- fixtures --------------------------------------------------------------------------------

_RECORDS: dict[tuple[int, str, str], dict[str, Any]] = {}


@pytest.fixture(scope="module")
def lca_summary(request: pytest.FixtureRequest) -> Iterator[dict[tuple[int, str, str], Any]]:
    """Collects every benchmark's figures; prints the summary table when the module is done."""
    yield _RECORDS
    if _RECORDS:
        show_summary(request, summary_table(_RECORDS))


@pytest.fixture(scope="module")
def lca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench_lca")


def model_path(folder: Path, n: int, workload: str) -> Path:
    """The carbonc model for ``n`` activities and ``workload`` (labels only, written once)."""
    path = folder / f"lca_{n}_{workload}.carbon"
    if not path.exists():
        text = lca_gen.model_text(n, lca_gen.UNITS[workload], uncertain=workload == "mc")
        path.write_text(text, encoding="utf-8")
    return path


def check_path(folder: Path, n: int, workload: str, tool: str) -> Path:
    return folder / f"{tool}_{n}_{workload}.npz"


def reference(folder: Path, n: int, workload: str, tool: str | None = None) -> dict[str, Any]:
    """What ``tool`` (by default the workload's bw2calc reference) computed: from its
    benchmark's check file, else computed now in a child."""
    tool = tool or REFERENCE[workload]
    path = check_path(folder, n, workload, tool)
    if not path.exists():
        child = Child("lca_gen", _job(n, workload, tool, model_path(folder, n, workload), path))
        child.go()
        child.finish()
    with np.load(path) as npz:
        return dict(npz)


def summary_table(records: dict[tuple[int, str, str], dict[str, Any]]) -> str:
    """Times (min over rounds), peak memory and ratios to the bw2calc reference."""
    head = (
        f"{'LCA benchmark':<36}{'time s':>9}{'cpu s':>9}{'x bw2calc':>11}"
        f"{'peak MiB':>10}{'+MiB':>8}{'x bw2calc':>11}{'inputs MiB':>12}  solver"
    )
    lines = [head, "-" * len(head)]
    order = {w: i for i, w in enumerate(WORKLOADS)}
    for key in sorted(records, key=lambda k: (k[0], order[k[1]], k[2])):
        n, workload, tool = key
        f = records[key]
        ref = records.get((n, workload, REFERENCE[workload]))
        t, cpu = min(f["call_s"]), min(f["cpu_s"])
        t_ratio = f"{t / min(ref['call_s']):.2f}" if ref else "-"
        m_ratio = f"{f['peak_maxrss_mib'] / ref['peak_maxrss_mib']:.2f}" if ref else "-"
        name = f"{n} {workload} {tool}" + (f" ({f['samples']})" if f["samples"] else "")
        lines.append(
            f"{name:<36}{t:>9.3f}{cpu:>9.3f}{t_ratio:>11}{f['peak_maxrss_mib']:>10.0f}"
            f"{f['increment_mib']:>8.0f}{m_ratio:>11}{f['inputs_mib']:>12.1f}  {solver_text(f)}"
        )
    lines.append(
        "time: wall time of the call, min over rounds, one BLAS/MKL thread; peak: ru_maxrss after "
        "the call, reset to the RSS at the baseline (x bw2calc: peak / the reference's peak); "
        "+MiB: over the baseline taken once the inputs are built. (N): Monte Carlo samples. "
        "solver: carbonc's, with the sweep counts of its solves. "
        f"loadavg {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
    )
    return "\n".join(lines)


def solver_text(f: dict[str, Any]) -> str:
    """carbonc's solver and sweep counts, or IterativeLCA's solver statistics, in short."""
    if "solver" in f:
        sweeps = f.get("sweeps") or []
        if not sweeps:
            return f["solver"]
        shown = ",".join(str(s) for s in sweeps[:4]) + (",..." if len(sweeps) > 4 else "")
        return f"{f['solver']} (sweeps {shown})"
    if "solver_stats" in f:
        return f"{f.get('preconditioner')}: {f['solver_stats']}"
    return ""


# -- checks ----------------------------------------------------------------------------------


def close(got: np.ndarray, expected: np.ndarray, rtol: float, what: str) -> None:
    """Agreement to ``rtol`` relative to the largest entry."""
    expected = np.asarray(expected, dtype=float)
    assert np.shape(got) == expected.shape, what
    atol = rtol * float(np.abs(expected).max())
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=what)


def agree_in_distribution(mean: float, sd: float, count: int, theirs: np.ndarray) -> None:
    """Mean and sd of ``count`` samples agree with ``theirs`` within 4 standard errors."""
    m2, s2 = float(theirs.mean()), float(theirs.std(ddof=1))
    se_mean = math.hypot(sd / math.sqrt(count), s2 / math.sqrt(theirs.size))
    # the sd's standard error, for a near-normal score: sd / sqrt(2 (N - 1))
    se_sd = math.hypot(sd / math.sqrt(2 * (count - 1)), s2 / math.sqrt(2 * (theirs.size - 1)))
    assert abs(mean - m2) < 4 * se_mean, (mean, m2, se_mean)
    assert abs(sd - s2) < 4 * se_sd, (sd, s2, se_sd)


def check(folder: Path, n: int, workload: str, tool: str, ours: dict[str, Any]) -> None:
    if workload != "mc":
        if tool != REFERENCE[workload]:
            theirs = reference(folder, n, workload)
            close(ours["scores"], theirs["scores"], RTOL, tool)
            if tool == "carbonc_inventory":  # against MultiLCA's 100 inventories
                close(ours["inventory"], theirs["inventory"], RTOL, f"{tool}: inventory")
        return
    if tool == "bw2calc_iterative":
        close(ours["samples"], reference(folder, n, "mc")["samples"], ITERATIVE_RTOL, tool)
    elif tool == "carbonc":
        # the deterministic run, at the medians, is bw2calc's single functional unit
        close(ours["scores"], reference(folder, n, "fu1")["scores"], RTOL, "deterministic")
        count = samples_for(n, workload, tool)
        if count >= 100:
            theirs = reference(folder, n, "mc")["samples"]
            agree_in_distribution(float(ours["mean"][0]), float(ours["sd"][0]), count, theirs)


# -- plain tests (they run in the normal suite) ----------------------------------------------


def test_generated_system() -> None:
    """The generator's sizes, structure and determinism (no tool involved)."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    n = 500
    s = lca_gen.generate(n, seed=7)
    assert lca_gen.n_flows_for(25_000) == 2000
    assert (lca_gen.n_flows_for(500), lca_gen.n_flows_for(5000)) == (40, 400)
    assert s.n_flows == 40
    per_activity = np.bincount(s.tech_cols, minlength=n)
    assert 19 <= per_activity.mean() <= 21.5
    assert (per_activity >= 1).all()
    assert len(s.bio_rows) == 16 * n
    assert not (s.tech_rows == s.tech_cols).any()
    pairs = s.tech_rows * n + s.tech_cols
    assert len(np.unique(pairs)) == len(pairs)  # no duplicate exchange
    a = sp.csc_matrix((s.tech_amounts / s.production[s.tech_cols], (s.tech_rows, s.tech_cols)))
    col = np.asarray(a.sum(axis=0)).ravel()
    assert col.max() <= 0.9 + 1e-6
    assert connected_components(a, directed=True, connection="strong")[0] == 1  # one loop
    assert np.array_equal(s.tech_amounts, np.float32(s.tech_amounts))
    again = lca_gen.generate(n, seed=7)
    assert np.array_equal(s.tech_amounts, again.tech_amounts)
    assert np.array_equal(s.bio_rows, again.bio_rows)
    assert {0: "CO2", 1: "CH4", 2: "N2O"}.items() <= s.gas_of.items()


def test_carbonc_matches_bw2calc_on_a_small_system(tmp_path: Path) -> None:
    """Not a benchmark: a 40-activity system, both tools, deterministic and Monte Carlo."""
    bc = pytest.importorskip("bw2calc")
    from carbonc.compiler import load
    from carbonc.compiler.api import Uncertainty

    n, n_units, samples = 40, 3, 400
    s = lca_gen.generate(n, seed=7)
    units = lca_gen.demands(s, n_units, seed=lca_gen.UNIT_SEED)
    path = tmp_path / "lca.carbon"
    path.write_text(lca_gen.model_text(n, n_units), encoding="utf-8")
    model = load(path)
    arrays = lca_gen.carbonc_arrays(s, units, list(model.dims["gas"].labels))
    ours = model.run(arrays=arrays)["lca.score"].array.aligned(("functional_unit",))
    lca = bc.LCA(
        lca_gen.bw_demand(units[0]),
        data_objs=lca_gen.brightway_packages(s),
        method=lca_gen.METHOD,
    )
    lca.lci()
    lca.lcia()
    theirs = []
    for u in units:
        lca.lcia(demand=lca_gen.bw_demand(u))
        theirs.append(lca.score)
    close(np.asarray(ours), np.array(theirs), RTOL, "scores")
    assert min(theirs) > 0

    # Monte Carlo: the uncertain model runs, and agrees with bw2calc in distribution
    path.write_text(lca_gen.model_text(n, 1, uncertain=True), encoding="utf-8")
    model = load(path)
    arrays = lca_gen.carbonc_arrays(s, units[:1], list(model.dims["gas"].labels))
    how = Uncertainty(samples=samples, seed=lca_gen.MC_SEED)
    score = model.run(arrays=arrays, uncertainty=how)["lca.score"]
    assert score.stats is not None
    close(np.asarray(score.values), np.array(theirs[:1]), RTOL, "deterministic")
    lca = bc.LCA(
        lca_gen.bw_demand(units[0]),
        data_objs=lca_gen.brightway_packages(s, uncertain=True, seed=SEED),
        method=lca_gen.METHOD,
        use_distributions=True,
    )
    lca.lci()
    lca.lcia()
    draws = [lca.score]
    for _ in range(samples - 1):
        next(lca)
        draws.append(lca.score)
    mean, sd = float(score.stats["mean"][0]), float(score.stats["sd"][0])
    assert sd > 0.02 * mean  # not two constants
    agree_in_distribution(mean, sd, samples, np.array(draws))


# -- the benchmarks --------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "workload", "tool"), CASES)
def test_bench_lca(
    benchmark: BenchmarkFixture,
    lca_summary: dict[tuple[int, str, str], dict[str, Any]],
    lca_dir: Path,
    n: int,
    workload: str,
    tool: str,
) -> None:
    benchmark.group = f"lca-{workload}-{n}"
    check_file = check_path(lca_dir, n, workload, tool)
    figures = measure(benchmark, n, workload, tool, model_path(lca_dir, n, workload), check_file)
    with np.load(check_file) as npz:
        check(lca_dir, n, workload, tool, dict(npz))
    figures["checked"] = True
    benchmark.extra_info["checked"] = True
    lca_summary[n, workload, tool] = figures
