"""MRIO accounts benchmark: carbonc's stdlib:io/accounts against pymrio's ``calc_all()``.

Both tools get the same synthetic MRIO (``mrio_gen.generate``: 7 final-demand categories,
5 stressors, A about 10 % non-zero with dominant domestic blocks) at two sizes:

- 2,000 sectors (10 regions x 200 sectors), always run under ``--benchmark-only``;
- 9,800 sectors (49 x 200, the EXIOBASE size), only with ``CARBONC_BENCH_LARGE=1``.

Three benchmarks per size: pymrio ``calc_all()``; carbonc computing the full account set
(D_cba, D_pba, D_imp, D_exp, their ``_reg`` versions and the bilateral ``transfers``); carbonc
computing the footprints only (D_cba_reg). carbonc's time is ``model.run()`` on in-memory
arrays; compiling the model (``load``) is done before and reported apart.

Every measured call runs in a fresh process with one BLAS thread (``OPENBLAS_NUM_THREADS``,
``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` = 1, set in the child's environment before numpy
loads). The child builds the inputs, takes a memory baseline (``ru_maxrss``), and waits; the
timed part of the benchmark tells it to go and waits for it to report, so pytest-benchmark
times the call itself (plus a pipe round trip), not the start-up or the data generation. The
peak memory is the child's ``ru_maxrss`` after the call: absolute, and as the increment over the
baseline. The figures go to ``benchmark.extra_info`` (pytest-benchmark's JSON) and into a
summary table printed at the end of the module.

At 2,000 sectors carbonc's accounts are checked against pymrio's to 1e-9 (relative). Nothing
asserts on time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mrio_gen
import pytest
from child import Child, show_summary
from pytest_benchmark.fixture import BenchmarkFixture

HERE = Path(__file__).resolve().parent
N_CATEGORIES = 7
N_STRESSORS = 5
DENSITY = mrio_gen.DENSITY
SEED = 2024
RTOL = 1e-9
LARGE = os.environ.get("CARBONC_BENCH_LARGE") == "1"

# n_sectors -> (regions, sectors per region, rounds)
SIZES = {2000: (10, 200, 3), 9800: (49, 200, 1)}
TOOLS = {
    "pymrio": None,
    "carbonc_full": mrio_gen.FULL_OUTPUTS,
    "carbonc_footprint": mrio_gen.FOOTPRINT_OUTPUTS,
}
CHECKED_SIZE = 2000

_large = pytest.mark.skipif(
    not LARGE,
    reason="9,800-sector MRIO benchmark (minutes, ~6 GiB): set CARBONC_BENCH_LARGE=1 to run it",
)
CASES = [
    pytest.param(size, tool, id=f"{size}-{tool}", marks=[_large] if size == 9800 else [])
    for size in SIZES
    for tool in TOOLS
]

MIB = 1024.0  # ru_maxrss is in KiB


# -- the child process ----------------------------------------------------------------------


def _job(tool: str, size: int, model: Path, check_file: Path | None) -> dict[str, Any]:
    regions, sectors, _ = SIZES[size]
    return {
        "tool": tool,
        "shape": [regions, sectors, N_CATEGORIES, N_STRESSORS],
        "density": DENSITY,
        "seed": SEED,
        "model": str(model),
        "outputs": list(TOOLS[tool] or ()),
        "check_file": str(check_file) if check_file else None,
    }


def measure(
    benchmark: BenchmarkFixture, tool: str, size: int, model: Path, check_file: Path | None
) -> dict[str, Any]:
    """Benchmark ``tool`` at ``size``, one fresh child per round; return the figures."""
    rounds = SIZES[size][2]
    children: list[Child] = []

    def setup() -> tuple[tuple[Child], dict[str, Any]]:
        if children:
            children[-1].finish()  # one child alive at a time: the last one's memory is freed
        last = len(children) == rounds - 1
        children.append(Child("mrio_gen", _job(tool, size, model, check_file if last else None)))
        return (children[-1],), {}

    try:
        benchmark.pedantic(Child.go, setup=setup, rounds=rounds, iterations=1)
    finally:
        for child in children:
            if child.proc.poll() is None:
                child.finish()

    ready = [c.ready for c in children]
    done = [c.done for c in children]
    figures: dict[str, Any] = {
        "tool": tool,
        "n_sectors": size,
        "regions": SIZES[size][0],
        "sectors_per_region": SIZES[size][1],
        "categories": N_CATEGORIES,
        "stressors": N_STRESSORS,
        "density": DENSITY,
        "seed": SEED,
        "rounds": rounds,
        "call_s": [d["call_s"] for d in done],
        "cpu_s": [d["cpu_s"] for d in done],
        "inputs_mib": ready[0]["input_bytes"] / 2**20,
        "generate_s": ready[0]["generate_s"],
        "setup_s": [r["setup_s"] for r in ready],  # pymrio: IOSystem; carbonc: load() the model
        "baseline_maxrss_mib": max(r["maxrss_kib"] for r in ready) / MIB,
        "baseline_rss_mib": max(r["rss_kib"] for r in ready) / MIB,
        "peak_maxrss_mib": max(d["peak_maxrss_kib"] for d in done) / MIB,
        "increment_mib": max(
            d["peak_maxrss_kib"] - r["maxrss_kib"] for d, r in zip(done, ready, strict=True)
        )
        / MIB,
        "blas_threads": done[0]["blas_threads"],
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }
    benchmark.extra_info.update(figures)
    return figures


# -- fixtures --------------------------------------------------------------------------------

_RECORDS: dict[tuple[int, str], dict[str, Any]] = {}


@pytest.fixture(scope="module")
def mrio_summary(request: pytest.FixtureRequest) -> Iterator[dict[tuple[int, str], dict[str, Any]]]:
    """Collects every benchmark's figures; prints the summary table when the module is done."""
    yield _RECORDS
    if _RECORDS:
        show_summary(request, summary_table(_RECORDS))


@pytest.fixture(scope="module")
def mrio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench_mrio")


def model_path(folder: Path, size: int) -> Path:
    """The carbonc model over the labels of ``size`` (written once; no data generated)."""
    path = folder / f"mrio_{size}.carbon"
    if not path.exists():
        regions, sectors, _ = SIZES[size]
        text = mrio_gen.model_text(
            mrio_gen.labels("R", regions),
            mrio_gen.labels("s", sectors),
            mrio_gen.labels("c", N_CATEGORIES),
            mrio_gen.labels("g", N_STRESSORS),
        )
        path.write_text(text, encoding="utf-8")
    return path


def pymrio_reference(folder: Path, size: int) -> dict[str, Any]:
    """pymrio's accounts at ``size``: from the pymrio benchmark's check file, else computed."""
    import numpy as np

    path = folder / f"pymrio_{size}.npz"
    if not path.exists():
        child = Child("mrio_gen", _job("pymrio", size, model_path(folder, size), path))
        child.go()
        child.finish()
    with np.load(path) as npz:
        return dict(npz)


def summary_table(records: dict[tuple[int, str], dict[str, Any]]) -> str:
    """Times (min over rounds), peak memory and the ratios to pymrio at the same size."""
    head = (
        f"{'MRIO benchmark':<26}{'time s':>9}{'cpu s':>9}{'x pymrio':>10}"
        f"{'peak MiB':>10}{'+MiB':>9}{'x pymrio':>10}{'inputs MiB':>12}"
    )
    lines = [head, "-" * len(head)]
    for (size, tool), f in sorted(records.items()):
        ref = records.get((size, "pymrio"))
        t = min(f["call_s"])
        cpu = min(f["cpu_s"])
        t_ratio = f"{t / min(ref['call_s']):.2f}" if ref else "-"
        m_ratio = f"{f['increment_mib'] / ref['increment_mib']:.2f}" if ref else "-"
        lines.append(
            f"{f'{size} {tool}':<26}{t:>9.2f}{cpu:>9.2f}{t_ratio:>10}"
            f"{f['peak_maxrss_mib']:>10.0f}{f['increment_mib']:>9.0f}{m_ratio:>10}"
            f"{f['inputs_mib']:>12.0f}"
        )
    lines.append(
        "time: wall time of the call, min over rounds, one BLAS thread; peak: ru_maxrss after the"
        " call; +MiB: over the baseline taken once the inputs are built. "
        f"loadavg {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
    )
    return "\n".join(lines)


# -- checks ----------------------------------------------------------------------------------


def check_against(ours: dict[str, Any], ref: dict[str, Any]) -> None:
    """Every account carbonc computed equals pymrio's to RTOL, relative to the largest entry."""
    import numpy as np

    assert ours
    for name, got in ours.items():
        expected = ref[name]
        assert got.shape == expected.shape, name
        np.testing.assert_allclose(
            got, expected, rtol=RTOL, atol=RTOL * np.abs(expected).max(), err_msg=name
        )


def test_generated_mrio_is_balanced_and_carbonc_matches_pymrio(tmp_path: Path) -> None:
    """Not a benchmark (so it runs in the plain suite): a tiny generated MRIO, both tools."""
    import numpy as np

    from carbonc.compiler import load

    r, s, c, k = 3, 5, 2, 2
    m = mrio_gen.generate(r, s, c, k, seed=7)
    n = r * s
    x = m.Z.sum(axis=1) + m.Y.sum(axis=1)
    a = m.Z / x
    col = a.sum(axis=0)
    assert ((col > 0.39) & (col < 0.71)).all()
    blocks = a.reshape(r, s, r, s)
    domestic = sum(blocks[i, :, i, :].sum() for i in range(r))
    assert domestic > 0.7 * a.sum()
    assert (m.Y >= 0).all()
    assert (m.Y.sum(axis=1) > 0).all()
    assert np.array_equal(m.Z, mrio_gen.generate(r, s, c, k, seed=7).Z)
    assert m.Z.shape == (n, n)
    assert m.Y.shape == (n, r * c)
    assert m.F.shape == (k, n)
    assert m.F_Y.shape == (k, r * c)

    path = tmp_path / "mrio.carbon"
    path.write_text(mrio_gen.model_text(m.regions, m.sectors, m.categories, m.stressors))
    results = load(path).run(outputs=mrio_gen.FULL_OUTPUTS, arrays=mrio_gen.carbonc_arrays(m))
    io = mrio_gen.pymrio_system(m)
    io.calc_all()  # type: ignore[attr-defined]
    check_against(
        mrio_gen.carbonc_accounts(results, mrio_gen.FULL_OUTPUTS), mrio_gen.pymrio_accounts(io, m)
    )


# -- the benchmarks --------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "tool"), CASES)
def test_bench_mrio(
    benchmark: BenchmarkFixture,
    mrio_summary: dict[tuple[int, str], dict[str, Any]],
    mrio_dir: Path,
    size: int,
    tool: str,
) -> None:
    import numpy as np

    benchmark.group = f"mrio-{size}"
    model = model_path(mrio_dir, size)
    check = size == CHECKED_SIZE
    check_file = mrio_dir / f"{tool}_{size}.npz" if check else None
    figures = measure(benchmark, tool, size, model, check_file)
    if check and check_file is not None:
        with np.load(check_file) as npz:
            ours = dict(npz)
        if tool == "pymrio":
            # The file is the reference the carbonc benchmarks read (see pymrio_reference).
            assert set(ours) >= {*mrio_gen.SECTOR_ACCOUNTS, *mrio_gen.REGION_ACCOUNTS}
        else:
            check_against(ours, pymrio_reference(mrio_dir, size))
            assert len(ours) == len(TOOLS[tool] or ())
        figures["checked_rtol"] = RTOL
        benchmark.extra_info["checked_rtol"] = RTOL
    mrio_summary[size, tool] = figures
