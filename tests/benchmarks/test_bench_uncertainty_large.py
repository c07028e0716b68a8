"""Uncertainty at scale: 100,000 Monte Carlo samples of a 2,000-sector MRIO footprint.

The issue's requirement: "A user can run 100,000 samples of a large model without running out
of memory". Opt-in, like the 9,800-sector MRIO benchmark: it runs only with
``CARBONC_BENCH_LARGE=1`` (and ``--benchmark-only``), for about three minutes::

    CARBONC_BENCH_LARGE=1 .venv/bin/pytest tests/benchmarks/test_bench_uncertainty_large.py \\
        --benchmark-only -p no:cacheprovider -p no:randomly -s

The model (``model_text``): a synthetic MRIO from ``mrio_gen.generate`` (10 regions x 200
sectors = 2,000 sectors, 7 final-demand categories, seed 2024) run through stdlib:io/accounts
for the consumption-based footprint of each region, ``acc.D_cba_reg`` (10 numbers). Z, Y and
F_Y are given as arrays (``run(arrays=...)``); F, the stressor of every producing sector, is a
long-form CSV with a per-row uncertainty column (``uncertainty: {column: uncertainty}``): each
row draws one of ``ROW_UNCERTAINTIES`` (a normal whose 95 % interval is the value +- x %, or
blank: exact), so every sector's F is an independent normal. An ``mrio:`` entry cannot carry
an uncertainty (``MrioSpec`` has no such field), hence F as its own data entry.

One stressor, not mrio_gen's usual five: each sample of each stressor is one more right-hand
side of the transposed Leontief solve ``S @ leontief(A)``, so 100,000 samples are 100,000
right-hand sides on a 2,000 x 2,000 system (five stressors would take five times as long).

Each run is a fresh child process with one BLAS thread (as in test_bench_mrio.py): it builds
the arrays, compiles the model, takes a memory baseline, then, on the parent's signal, runs
``model.run(uncertainty=Uncertainty(samples=100_000, seed=1, memory_budget=B))`` for
B = 1 GiB and 256 MiB. The child measures, around that one call: wall and CPU time, the peak
``ru_maxrss``, the chunk size (``provenance["uncertainty"]["chunk"]``), LU factorisations
(``carbonc.runtime.linalg.factorize_buffer`` wrapped and counted), block-Jacobi set-ups, the
time in linear solves, where the samples were stored (memory or a memory-mapped file), the
garbage collections, and the resident set size each time an ``Executor`` is created (one per
chunk) with how many executors were alive then.

Checks: one factorisation for all the samples; the deterministic value equals a numpy
computation (solve of I - A) to 1e-9; since the footprint is linear in F, its Monte Carlo mean
must match the deterministic value and its sd the analytic one, sum_j (sigma_j S_j X_jr)^2
under the square root, within 3 standard errors for the world total and 4 for each of the 10
regions (a family of 10 comparisons); the 95 % interval holds the value. And the requirement
itself: the peak resident memory above the baseline stays within the budget (plus the output
samples kept in memory, 8 MB here). Nothing asserts on time.

That last check failed until commit 597c314 (see BENCHMARKS.md, "Uncertainty at scale"): each
chunk's ``Executor`` sat in a reference cycle (``Executor.run``'s nested ``release`` closure
called itself), so it outlived its chunk, with the chunk's sampled inputs, until a full garbage
collection, which these runs never trigger. ``CARBONC_BENCH_MC_COLLECT=1`` is a diagnostic: the
child runs ``gc.collect()`` as each executor is created. With no cycle left it should not change
the memory figures; if it lowers them, something again outlives its chunk.

Other knobs: ``CARBONC_BENCH_MC_SAMPLES=N`` runs N samples instead (a quick try).

``test_small_model_matches_its_exact_statistics`` is not a benchmark and runs in the plain
suite: the same model and checks on a 15-sector MRIO, in about a second.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mrio_gen
import pytest
from child import Child, Protocol, show_summary
from pytest_benchmark.fixture import BenchmarkFixture

HERE = Path(__file__).resolve().parent
LARGE = os.environ.get("CARBONC_BENCH_LARGE") == "1"

REGIONS, SECTORS, CATEGORIES, STRESSORS = 10, 200, 7, 1
MRIO_SEED = 2024
SAMPLES = int(os.environ.get("CARBONC_BENCH_MC_SAMPLES", "100000"))  # fewer for a quick try
# Diagnostic: a full garbage collection as each chunk starts (see the module docstring).
COLLECT = os.environ.get("CARBONC_BENCH_MC_COLLECT") == "1"
MC_SEED = 1
BUDGETS = {"1GiB": 1 << 30, "256MiB": 256 << 20}
OUTPUT = "acc.D_cba_reg"
OUTPUT_DIMS = ("stressor", "region")
# Each row of F.csv draws one of these (uniformly, seeded): blank is an exact value.
ROW_UNCERTAINTIES = ("", "±5%", "±10%", "±15%", "±20%", "±25%")
Z95 = 1.959963984540054  # a +-x % interval is a normal with sd = x % / Z95 of the value
RTOL = 1e-9
MIB = 1024.0  # ru_maxrss and VmRSS are in KiB

large = pytest.mark.skipif(
    not LARGE,
    reason="100,000 samples of a 2,000-sector MRIO (about 3 minutes): "
    "set CARBONC_BENCH_LARGE=1 to run it",
)


# -- the model and its data ------------------------------------------------------------------


def model_text(m: mrio_gen.Mrio) -> str:
    """The footprint model: Z, Y, F_Y as array placeholders, F from ``F.csv`` with uncertainty."""
    return (
        "carbon: 1\n"
        "model: bench-mrio-monte-carlo\n"
        "description: consumption-based footprints of a synthetic MRIO, F uncertain per sector\n"
        "dimensions:\n"
        f"  region: {json.dumps(m.regions)}\n"
        f"  sector: {json.dumps(m.sectors)}\n"
        f"  category: {json.dumps(m.categories)}\n"
        f"  stressor: {json.dumps(m.stressors)}\n"
        "data:\n"
        "  Z: {dims: [region, sector, region_to, sector_to], unit: MEUR, values: 0}\n"
        "  Y: {dims: [region, sector, region_to, category], unit: MEUR, values: 0}\n"
        "  F:\n"
        "    csv: F.csv\n"
        "    dims: [stressor, region, sector]\n"
        "    unit: kg\n"
        "    uncertainty: {column: uncertainty}\n"
        "  F_Y: {dims: [stressor, region_to, category], unit: kg, values: 0}\n"
        "import:\n"
        "  acc:\n"
        "    from: stdlib:io/accounts\n"
        "    with: {Z: Z, Y: Y, F: F, F_Y: F_Y}\n"
        f"outputs: [{OUTPUT}]\n"
    )


def row_uncertainties(n: int, seed: int = MRIO_SEED) -> list[str]:
    """The uncertainty text of each of the ``n`` rows of F.csv (seeded)."""
    import numpy as np

    rng = np.random.default_rng(seed + 1)
    return [ROW_UNCERTAINTIES[i] for i in rng.integers(0, len(ROW_UNCERTAINTIES), n)]


def write_model(folder: Path, m: mrio_gen.Mrio) -> Path:
    """``folder/model.carbon`` and ``folder/F.csv`` (F in long form, exact float reprs)."""
    f = m.F.reshape(len(m.stressors), len(m.regions), len(m.sectors))
    texts = iter(row_uncertainties(f.size))
    lines = ["stressor,region,sector,value,uncertainty"]
    for k, g in enumerate(m.stressors):
        for r, region in enumerate(m.regions):
            for s, sector in enumerate(m.sectors):
                lines.append(f"{g},{region},{sector},{float(f[k, r, s])!r},{next(texts)}")
    (folder / "F.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = folder / "model.carbon"
    path.write_text(model_text(m), encoding="utf-8")
    return path


def reference(m: mrio_gen.Mrio) -> dict[str, Any]:
    """The footprint and its exact sd, by numpy: D_cba_reg[r] = sum_j S_j (L y_r)_j + F_Y_r.

    The footprint is linear in F, so with independent normal F_j (sd sigma_j) it is normal with
    the deterministic value as its mean and variance sum_j (sigma_j / x_j * X[j, r])^2.
    """
    import numpy as np
    import scipy.linalg as sla

    r, c, k = len(m.regions), len(m.categories), len(m.stressors)
    n = m.Z.shape[0]
    x = m.Z.sum(axis=1) + m.Y.sum(axis=1)
    a = m.Z / x  # columns scaled by output
    a *= -1.0
    a.flat[:: n + 1] += 1.0  # I - A
    y = m.Y.reshape(n, r, c).sum(axis=2)
    big_x = sla.solve(a, y)  # L y_r for every consuming region r (n x r)
    del a
    weight = big_x / x[:, None]  # d footprint_r / d F_j
    value = m.F @ weight + m.F_Y.reshape(k, r, c).sum(axis=2)
    rel = np.array([float(t.strip("±%")) / 100 / Z95 if t else 0.0 for t in row_uncertainties(n)])
    sd_f = rel * m.F  # (k, n)
    sd = np.sqrt(np.einsum("kj,jr->kr", sd_f**2, weight**2))
    # The regions' footprints share every F_j, so the world total's sd is not theirs combined.
    sd_world = np.sqrt(((sd_f * weight.sum(axis=1)) ** 2).sum(axis=1))
    return {"value": value, "sd": sd, "sd_world": sd_world}


# -- the child process ----------------------------------------------------------------------
#
# parent -> child  argv: the job as JSON {"model", "samples", "seed", "budget", "collect"}
# child -> parent  {"ready": ...} once the arrays are built and the model compiled
# parent -> child  "go"
# child -> parent  {"done": ...} right after the Monte Carlo call, then the child exits


def child_main() -> None:
    """Build the inputs, wait for "go", run the Monte Carlo call, report (stdin/stdout)."""
    import gc
    import time
    import weakref

    proto = Protocol()
    send, job = proto.send, proto.job
    t0 = time.perf_counter()
    m = mrio_gen.generate(REGIONS, SECTORS, CATEGORIES, STRESSORS, seed=MRIO_SEED)
    arrays = {q: v for q, v in mrio_gen.carbonc_arrays(m).items() if q != "F"}
    generate_s = time.perf_counter() - t0

    import scipy.linalg  # noqa: F401  (imported lazily by run(); not part of the timing)

    import carbonc.runtime.executor as executor
    import carbonc.runtime.linalg as linalg
    import carbonc.runtime.montecarlo as montecarlo
    import carbonc.runtime.provenance
    import carbonc.runtime.results
    import carbonc.runtime.sampling  # noqa: F401
    from carbonc.compiler import load
    from carbonc.compiler.api import Uncertainty

    counts: dict[str, Any] = {
        "factorizations": 0,
        "factorize_s": 0.0,
        "jacobi_builds": 0,
        "solve_calls": 0,
        "solve_s": 0.0,
        "executors": 0,
        "alive": 0,
        "alive_max": 0,
        "rss_at_executor_mib": [],
        "gc": [0, 0, 0],
        "store": None,
    }

    factorize = linalg.factorize_buffer

    def counted_factorize(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return factorize(*args, **kwargs)
        finally:
            counts["factorizations"] += 1
            counts["factorize_s"] += time.perf_counter() - t

    linalg.factorize_buffer = counted_factorize  # the executor calls linalg.factorize_buffer

    build = linalg.BlockJacobi.build.__func__  # type: ignore[attr-defined]

    def counted_build(cls: Any, *args: Any, **kwargs: Any) -> Any:
        counts["jacobi_builds"] += 1
        return build(cls, *args, **kwargs)

    linalg.BlockJacobi.build = classmethod(counted_build)  # type: ignore[method-assign,assignment]

    solve = linalg.solve
    depth = [0]

    def timed_solve(*args: Any, **kwargs: Any) -> Any:
        # linalg.solve recurses over batches of right-hand sides: time the outer call only.
        depth[0] += 1
        t = time.perf_counter()
        try:
            return solve(*args, **kwargs)
        finally:
            depth[0] -= 1
            if depth[0] == 0:
                counts["solve_calls"] += 1
                counts["solve_s"] += time.perf_counter() - t

    linalg.solve = timed_solve

    init = executor.Executor.__init__

    def gone() -> None:
        counts["alive"] -= 1

    def traced_init(self: Any, *args: Any, **kwargs: Any) -> None:
        # One executor per chunk: the memory in use as each chunk starts, and how many
        # executors (each holding its chunk's sampled inputs) are still alive then.
        if job["collect"]:
            gc.collect()
        counts["rss_at_executor_mib"].append(round(mrio_gen.rss_kib() / MIB, 1))
        counts["executors"] += 1
        counts["alive"] += 1
        counts["alive_max"] = max(counts["alive_max"], counts["alive"])
        weakref.finalize(self, gone)
        init(self, *args, **kwargs)

    executor.Executor.__init__ = traced_init  # type: ignore[method-assign]

    create = montecarlo.SampleStore.create.__func__  # type: ignore[attr-defined]

    def traced_create(cls: Any, shapes: Any, n: int, budget: int) -> Any:
        store = create(cls, shapes, n, budget)
        counts["store"] = "file" if store.folder is not None else "memory"
        counts["store_mib"] = sum(a.nbytes for a in store.arrays.values()) / 2**20
        return store

    montecarlo.SampleStore.create = classmethod(traced_create)  # type: ignore[method-assign,assignment]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop":
            counts["gc"][info["generation"]] += 1

    t0 = time.perf_counter()
    model = load(job["model"])
    load_s = time.perf_counter() - t0
    how = Uncertainty(samples=job["samples"], seed=job["seed"], memory_budget=job["budget"])
    gc.collect()
    before = {"maxrss_kib": mrio_gen.maxrss_kib(), "rss_kib": mrio_gen.rss_kib()}
    send({"ready": {**before, "generate_s": generate_s, "load_s": load_s}})
    if not proto.go():
        return

    counts["rss_at_executor_mib"].clear()
    counts["executors"] = counts["alive_max"] = counts["alive"] = 0
    gc.callbacks.append(on_gc)
    c0, t0 = time.process_time(), time.perf_counter()
    result = model.run(outputs=[OUTPUT], arrays=arrays, uncertainty=how)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = mrio_gen.maxrss_kib()
    gc.callbacks.remove(on_gc)
    out = result[OUTPUT]
    assert out.dims == OUTPUT_DIMS and out.stats is not None
    stats = {k: v.tolist() for k, v in out.stats.items()}
    mc_counts = {k: v for k, v in counts.items() if k != "alive"}

    # A deterministic run of the same model, for scale (after the peak was read).
    t0 = time.perf_counter()
    model.run(outputs=[OUTPUT], arrays=arrays)
    deterministic_s = time.perf_counter() - t0
    send(
        {
            "done": {
                "call_s": wall,
                "cpu_s": cpu,
                "peak_maxrss_kib": peak,
                "rss_after_kib": mrio_gen.rss_kib(),
                "chunk": result.provenance["uncertainty"]["chunk"],
                "samples": result.provenance["uncertainty"]["samples"],
                "value": out.values.tolist(),
                "stats": stats,
                "deterministic_s": deterministic_s,
                "blas_threads": mrio_gen.blas_threads(),
                **mc_counts,
            }
        }
    )


# -- fixtures --------------------------------------------------------------------------------

_RECORDS: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="module")
def mc_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The model and F.csv, written once, and the numpy reference of the footprint."""
    m = mrio_gen.generate(REGIONS, SECTORS, CATEGORIES, STRESSORS, seed=MRIO_SEED)
    path = write_model(tmp_path_factory.mktemp("bench_uncertainty_large"), m)
    return path, reference(m)


@pytest.fixture(scope="module")
def mc_summary(request: pytest.FixtureRequest) -> Iterator[dict[str, dict[str, Any]]]:
    """Collects every run's figures; prints the summary table when the module is done."""
    yield _RECORDS
    if _RECORDS:
        show_summary(request, summary_table(_RECORDS))


def summary_table(records: dict[str, dict[str, Any]]) -> str:
    head = (
        f"{'budget':<11}{'samples':>9}{'chunk':>7}{'chunks':>7}{'time s':>8}{'cpu s':>8}"
        f"{'solve s':>9}{'peak MiB':>10}{'+MiB':>7}{'+/budget':>9}{'LUs':>5}{'alive':>7}"
    )
    lines = [head, "-" * len(head)]
    for name, f in records.items():
        lines.append(
            f"{name:<11}{f['samples']:>9,}{f['chunk']:>7}{f['chunks']:>7}{f['call_s']:>8.1f}"
            f"{f['cpu_s']:>8.1f}{f['solve_s']:>9.1f}{f['peak_maxrss_mib']:>10.0f}"
            f"{f['increment_mib']:>7.0f}{f['increment_per_budget']:>9.2f}"
            f"{f['factorizations']:>5}{f['executors_alive_max']:>7}"
        )
    lines.append(
        "peak: ru_maxrss of the child after the call; +MiB: above its RSS before the call; "
        "alive: most executors alive at once (3 = the run's own, the probe, the chunk's). "
        f"loadavg {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
    )
    return "\n".join(lines)


# -- the benchmark ---------------------------------------------------------------------------


def test_small_model_matches_its_exact_statistics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a benchmark (so it runs in the plain suite): the same model on a 15-sector MRIO.

    10,000 samples in chunks of a few hundred: one factorisation, and the deterministic value,
    the Monte Carlo mean and sd as ``reference`` computes them.
    """
    import numpy as np

    import carbonc.runtime.linalg as linalg
    from carbonc.compiler import load
    from carbonc.compiler.api import Uncertainty

    m = mrio_gen.generate(3, 5, 2, 1, seed=7)
    path = write_model(tmp_path, m)
    ref = reference(m)
    calls = []
    factorize = linalg.factorize_buffer

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return factorize(*args, **kwargs)

    monkeypatch.setattr(linalg, "factorize_buffer", counted)
    arrays = {q: v for q, v in mrio_gen.carbonc_arrays(m).items() if q != "F"}
    n = 10_000
    how = Uncertainty(samples=n, seed=3, memory_budget=1 << 19)
    r = load(path).run(arrays=arrays, uncertainty=how)
    out = r[OUTPUT]
    assert out.dims == OUTPUT_DIMS and out.stats is not None
    assert r.provenance["uncertainty"]["chunk"] < n // 10
    assert len(calls) == 1
    value, mean, sd = out.values, out.stats["mean"], out.stats["sd"]
    np.testing.assert_allclose(value, ref["value"], rtol=RTOL)
    assert (np.abs(mean - value) < 4 * sd / math.sqrt(n)).all()
    assert (np.abs(sd - ref["sd"]) < 4 * ref["sd"] / math.sqrt(2 * (n - 1))).all()


@large
@pytest.mark.parametrize("budget_name", list(BUDGETS))
def test_bench_uncertainty_large(
    benchmark: BenchmarkFixture,
    mc_model: tuple[Path, dict[str, Any]],
    mc_summary: dict[str, dict[str, Any]],
    budget_name: str,
) -> None:
    import numpy as np

    budget = BUDGETS[budget_name]
    path, ref = mc_model
    benchmark.group = "uncertainty-large"
    children: list[Child] = []

    def setup() -> tuple[tuple[Child], dict[str, Any]]:
        job = {
            "model": str(path),
            "samples": SAMPLES,
            "seed": MC_SEED,
            "budget": budget,
            "collect": COLLECT,
        }
        children.append(Child(Path(__file__).stem, job))
        return (children[-1],), {}

    try:
        benchmark.pedantic(Child.go, setup=setup, rounds=1, iterations=1)
    finally:
        for child in children:
            child.finish()
    ready, done = children[0].ready, children[0].done

    rss_trace = done["rss_at_executor_mib"]
    figures: dict[str, Any] = {
        "budget_mib": budget / 2**20,
        "collect_each_chunk": COLLECT,
        "n_sectors": REGIONS * SECTORS,
        "samples": done["samples"],
        "chunk": done["chunk"],
        "chunks": math.ceil(done["samples"] / done["chunk"]),
        "call_s": done["call_s"],
        "cpu_s": done["cpu_s"],
        "solve_s": done["solve_s"],
        "factorize_s": done["factorize_s"],
        "deterministic_s": done["deterministic_s"],
        "generate_s": ready["generate_s"],
        "load_s": ready["load_s"],
        "baseline_rss_mib": ready["rss_kib"] / MIB,
        "baseline_maxrss_mib": ready["maxrss_kib"] / MIB,
        "peak_maxrss_mib": done["peak_maxrss_kib"] / MIB,
        "increment_mib": (done["peak_maxrss_kib"] - ready["rss_kib"]) / MIB,
        "rss_after_mib": done["rss_after_kib"] / MIB,
        "factorizations": done["factorizations"],
        "jacobi_builds": done["jacobi_builds"],
        "solve_calls": done["solve_calls"],
        "executors": done["executors"],
        "executors_alive_max": done["alive_max"],
        "rss_at_executor_mib": rss_trace,
        "gc_collections": done["gc"],
        "store": done["store"],
        "store_mib": done.get("store_mib", 0.0),
        "blas_threads": done["blas_threads"],
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }
    figures["increment_per_budget"] = figures["increment_mib"] / figures["budget_mib"]
    figures["peak_per_budget"] = figures["peak_maxrss_mib"] / figures["budget_mib"]

    # Statistics: the footprint is linear in F, whose elements are independent normals.
    n = done["samples"]
    value = np.asarray(done["value"])
    mean, sd = np.asarray(done["stats"]["mean"]), np.asarray(done["stats"]["sd"])
    z_mean = (mean - value) / (sd / math.sqrt(n))
    z_sd = (sd - ref["sd"]) / (ref["sd"] / math.sqrt(2 * (n - 1)))
    se_world = float(ref["sd_world"].sum()) / math.sqrt(n)  # one stressor: a single number
    z_world = (float(mean.sum()) - float(value.sum())) / se_world
    figures |= {
        "value": value.tolist(),
        "mc_mean": mean.tolist(),
        "mc_sd": sd.tolist(),
        "exact_sd": ref["sd"].tolist(),
        "z_mean_max": float(np.abs(z_mean).max()),
        "z_sd_max": float(np.abs(z_sd).max()),
        "z_world_mean": z_world,
        "sd_per_value": (sd / value).tolist(),
    }
    benchmark.extra_info.update(figures)
    mc_summary[budget_name + (" gc" if COLLECT else "")] = figures

    assert figures["factorizations"] == 1, "I - A is factorised once for every sample"
    assert figures["jacobi_builds"] == 0
    assert figures["chunk"] < SAMPLES, "the samples did not need chunks: raise SAMPLES"
    np.testing.assert_allclose(value, ref["value"], rtol=RTOL)
    assert abs(z_world) < 3, f"world mean off by {z_world:.2f} standard errors"
    assert figures["z_mean_max"] < 4, f"a region's mean is off by {z_mean.round(2)} SEs"
    assert figures["z_sd_max"] < 4, f"a region's sd is off by {z_sd.round(2)} SEs"
    stats = done["stats"]
    assert (np.asarray(stats["p2.5"]) < value).all() and (value < np.asarray(stats["p97.5"])).all()
    # The requirement: the samples run within the budget (plus the outputs' samples kept in
    # memory), whatever their number.
    allowed = figures["budget_mib"] + (figures["store_mib"] if done["store"] == "memory" else 0)
    assert figures["increment_mib"] <= allowed, (
        f"{figures['increment_mib']:.0f} MiB above the baseline with a "
        f"{figures['budget_mib']:.0f} MiB budget; executors alive at once: "
        f"{figures['executors_alive_max']}; RSS as chunks started (MiB): {rss_trace}"
    )
