"""A seeded synthetic multi-regional input-output table (MRIO) for the MRIO benchmarks.

``generate()`` returns plain numpy arrays in pymrio's wide layout, rows and columns ordered
region-major ((region, sector) pairs, then (region, category) pairs):

- ``Z``: n x n intermediate flows, n = n_regions * n_sectors;
- ``Y``: n x (n_regions * n_categories) final demand;
- ``F``: n_stressors x n stressors of the producing sectors;
- ``F_Y``: n_stressors x (n_regions * n_categories) direct stressors of final demand.

The table is built from its technical coefficients A (n x n), with about ``density`` x n^2
non-zero entries. Half of them (up to full blocks) lie in the domestic blocks (producing region
= using region), which are far denser than the trade blocks and carry 75-90 % of each column's
inputs. Each column of A sums to a value drawn in [0.4, 0.7], so I - A is well conditioned.
A total final demand is drawn for every (region, sector); gross output x solves x = A x + y
(by fixed-point iteration), Z = A diag(x), and Y splits each row's final demand over the
consuming regions and categories, mostly to the producer's own region.

Memory: only one n x n float64 array is ever allocated: A, filled block by block in place and
then scaled in place into ``Z``. The other temporaries are one n_sectors x n_sectors block at a
time and a few length-n vectors. At n = 9,800, Z is 768 MB and the peak of ``generate`` is
about that plus Y (5.3 MB).

Nothing runs at import time, and numpy is imported only inside ``generate``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import numpy as np

DENSITY = 0.10
# Share of A's non-zero entries that lie in the domestic (diagonal-region) blocks; the domestic
# blocks also carry this share of each column's inputs, on average.
DOMESTIC_NNZ_SHARE = 0.5
DOMESTIC_VALUE_SHARE = (0.75, 0.9)
COLUMN_SUM = (0.4, 0.7)


class Mrio(NamedTuple):
    """The arrays of a generated MRIO (wide, region-major layout) and their labels."""

    Z: np.ndarray
    Y: np.ndarray
    F: np.ndarray
    F_Y: np.ndarray
    regions: list[str]
    sectors: list[str]
    categories: list[str]
    stressors: list[str]


def labels(prefix: str, n: int) -> list[str]:
    """``n`` zero-padded labels, e.g. ``labels("R", 12)`` -> R00 … R11."""
    width = len(str(max(n - 1, 0)))
    return [f"{prefix}{i:0{width}d}" for i in range(n)]


def generate(
    n_regions: int,
    n_sectors: int,
    n_categories: int = 7,
    n_stressors: int = 5,
    density: float = DENSITY,
    seed: int = 0,
) -> Mrio:
    """A synthetic MRIO; the same arguments always give the same arrays (see the module doc)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    r, s, c, k = n_regions, n_sectors, n_categories, n_stressors
    n = r * s
    if not 0 < density <= 1:
        raise ValueError(f"density must be in (0, 1], not {density}")

    # Fill probabilities of the domestic and the trade blocks so that about `density * n * n`
    # entries of A are non-zero, DOMESTIC_NNZ_SHARE of them domestic (capped at a full block).
    total = density * n * n
    p_dom = min(1.0, DOMESTIC_NNZ_SHARE * total / (r * s * s))
    p_trade = 0.0 if r == 1 else min(1.0, (total - p_dom * r * s * s) / ((r - 1) * r * s * s))
    if r > 1 and p_trade >= p_dom:
        raise ValueError(f"density {density} leaves trade blocks as dense as domestic ones")

    col_sum = rng.uniform(*COLUMN_SUM, n)  # column sums of A
    dom_share = rng.uniform(*DOMESTIC_VALUE_SHARE, n) if r > 1 else np.ones(n)
    a = np.zeros((n, n))  # A first; scaled in place to Z = A diag(x) below
    block = np.empty((s, s))
    for j in range(r):  # using region: one column block of A at a time
        cols = slice(j * s, (j + 1) * s)
        # Unnormalised coefficients, then each part of the column scaled to its share.
        dom_raw = np.zeros(s)
        trade_raw = np.zeros(s)
        for i in range(r):
            p = p_dom if i == j else p_trade
            rows = slice(i * s, (i + 1) * s)
            rng.random(out=block)
            mask = block < p
            if i == j:
                mask[np.arange(s), np.arange(s)] = True  # every sector uses its own product
            rng.random(out=block)
            block *= mask
            a[rows, cols] = block
            (dom_raw if i == j else trade_raw)[:] += block.sum(axis=0)
        # A column with no trade entries keeps all its inputs domestic.
        share = np.where(trade_raw > 0, dom_share[cols], 1.0)
        dom_scale = col_sum[cols] * share / dom_raw
        trade_scale = np.divide(
            col_sum[cols] * (1.0 - share), trade_raw, out=np.zeros(s), where=trade_raw > 0
        )
        for i in range(r):
            a[i * s : (i + 1) * s, cols] *= dom_scale if i == j else trade_scale

    # Gross output x = A x + y for a drawn total final demand y of each (region, sector), by
    # fixed-point iteration (||A||_1 <= 0.7, so 60 steps leave a relative error below 1e-9):
    # no factorisation, no second n x n array. Then Z = A diag(x), and the final demand is
    # recomputed as x - Z 1 so that the table balances exactly.
    y_total = rng.lognormal(mean=6.0, sigma=1.0, size=n)
    x = y_total.copy()
    for _ in range(60):
        x = a @ x + y_total
    z = a
    z *= x  # in place: column j times x[j]
    final = x - z.sum(axis=1)
    if not (final > 0).all():
        raise ValueError("generated final demand is not positive; lower the column sums")
    y = np.empty((n, r * c))
    for i in range(r):  # producing region: most final demand stays at home
        rows = slice(i * s, (i + 1) * s)
        w = rng.uniform(0.0, 1.0, (s, r, c))
        w[:, i, :] *= 10.0 * r
        w /= w.sum(axis=(1, 2), keepdims=True)
        y[rows] = (w * final[rows, None, None]).reshape(s, r * c)

    # Stressors: intensities of a few orders of magnitude, kg per MEUR of output.
    f = rng.lognormal(mean=3.0, sigma=1.5, size=(k, n)) * x
    f_y = np.zeros((k, r * c))
    f_y[:, ::c] = rng.uniform(0.0, 1.0, (k, r)) * f.sum(axis=1, keepdims=True) / (10 * r)
    return Mrio(
        z,
        y,
        f,
        f_y,
        labels("R", r),
        labels("s", s),
        labels("c", c),
        labels("g", k),
    )


# -- the two tools, on the same arrays -------------------------------------------------------

# carbonc's full account set, and its footprints only (stdlib:io/accounts, imported as `acc`).
FULL_OUTPUTS = (
    "acc.D_cba",
    "acc.D_pba",
    "acc.D_imp",
    "acc.D_exp",
    "acc.D_cba_reg",
    "acc.D_pba_reg",
    "acc.D_imp_reg",
    "acc.D_exp_reg",
    "acc.transfers",
)
FOOTPRINT_OUTPUTS = ("acc.D_cba_reg",)
# The accounts both tools compute: sector level (stressor, region, sector), regional
# (stressor, region), and the bilateral transfers (stressor, region, region_to).
SECTOR_ACCOUNTS = ("D_cba", "D_pba", "D_imp", "D_exp")
REGION_ACCOUNTS = ("D_cba_reg", "D_pba_reg", "D_imp_reg", "D_exp_reg")

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def model_text(
    regions: list[str], sectors: list[str], categories: list[str], stressors: list[str]
) -> str:
    """A carbonc model over inline dimensions whose data entries are placeholders for arrays.

    The placeholders (``values: 0``) are never built when ``run(arrays=...)`` replaces them.
    ``region_to`` and ``sector_to`` are declared by stdlib:io/accounts (``like:`` duals).
    """
    import json

    return (
        "carbon: 1\n"
        "model: bench-mrio\n"
        "dimensions:\n"
        f"  region: {json.dumps(regions)}\n"
        f"  sector: {json.dumps(sectors)}\n"
        f"  category: {json.dumps(categories)}\n"
        f"  stressor: {json.dumps(stressors)}\n"
        "data:\n"
        "  Z: {dims: [region, sector, region_to, sector_to], unit: MEUR, values: 0}\n"
        "  Y: {dims: [region, sector, region_to, category], unit: MEUR, values: 0}\n"
        "  F: {dims: [stressor, region, sector], unit: kg, values: 0}\n"
        "  F_Y: {dims: [stressor, region_to, category], unit: kg, values: 0}\n"
        "import:\n"
        "  acc:\n"
        "    from: stdlib:io/accounts\n"
        "    with: {Z: Z, Y: Y, F: F, F_Y: F_Y}\n"
    )


def carbonc_arrays(m: Mrio) -> dict[str, np.ndarray]:
    """The arrays for ``model.run(arrays=...)``: views of ``m`` over the entries' dims, no copy."""
    r, s, c, k = len(m.regions), len(m.sectors), len(m.categories), len(m.stressors)
    return {
        "Z": m.Z.reshape(r, s, r, s),
        "Y": m.Y.reshape(r, s, r, c),
        "F": m.F.reshape(k, r, s),
        "F_Y": m.F_Y.reshape(k, r, c),
    }


def carbonc_accounts(results: object, outputs: tuple[str, ...]) -> dict[str, np.ndarray]:
    """carbonc's accounts among ``outputs``, in the layouts named at ``SECTOR_ACCOUNTS``."""
    layout = {name: ("stressor", "region", "sector") for name in SECTOR_ACCOUNTS}
    layout |= {name: ("stressor", "region") for name in REGION_ACCOUNTS}
    layout["transfers"] = ("stressor", "region", "region_to")
    out = {}
    for q in outputs:
        name = q.removeprefix("acc.")
        out[name] = results[q].array.aligned(layout[name])  # type: ignore[index]
    return out


def pymrio_system(m: Mrio) -> object:
    """A pymrio ``IOSystem`` (extension ``emissions``) sharing ``m``'s arrays, no copy."""
    import pandas as pd
    import pymrio

    rs = pd.MultiIndex.from_product([m.regions, m.sectors], names=["region", "sector"])
    rc = pd.MultiIndex.from_product([m.regions, m.categories], names=["region", "category"])
    stress = pd.Index(m.stressors, name="stressor")
    io = pymrio.IOSystem(
        Z=pd.DataFrame(m.Z, index=rs, columns=rs, copy=False),
        Y=pd.DataFrame(m.Y, index=rs, columns=rc, copy=False),
        unit=pd.DataFrame({"unit": ["MEUR"] * len(rs)}, index=rs),
    )
    io.emissions = pymrio.Extension(
        name="emissions",
        F=pd.DataFrame(m.F, index=stress, columns=rs, copy=False),
        F_Y=pd.DataFrame(m.F_Y, index=stress, columns=rc, copy=False),
        unit=pd.DataFrame({"unit": ["kg"] * len(stress)}, index=stress),
    )
    return io


def pymrio_accounts(io: object, m: Mrio) -> dict[str, np.ndarray]:
    """pymrio's accounts after ``calc_all()``, in carbonc's layouts, plus the transfers.

    pymrio has no bilateral transfer matrix; it is computed here from pymrio's own L, S and Y:
    T[k, r, r'] = sum_s S[k, (r, s)] (L y_r')[(r, s)].
    """
    r, s, c, k = len(m.regions), len(m.sectors), len(m.categories), len(m.stressors)
    ext = io.emissions  # type: ignore[attr-defined]
    out = {name: getattr(ext, name).to_numpy(float).reshape(k, r, s) for name in SECTOR_ACCOUNTS}
    out |= {name: getattr(ext, name).to_numpy(float) for name in REGION_ACCOUNTS}
    y_by_region = io.Y.to_numpy(float).reshape(r * s, r, c).sum(axis=2)  # type: ignore[attr-defined]
    x_by_region = io.L.to_numpy(float) @ y_by_region  # type: ignore[attr-defined]
    sx = ext.S.to_numpy(float)[:, :, None] * x_by_region[None]
    out["transfers"] = sx.reshape(k, r, s, r).sum(axis=2)
    return out


# -- one measured call in a fresh process ------------------------------------------------------
#
# The benchmark (test_bench_mrio.py) starts ``python -c "import mrio_gen; mrio_gen.child_main()"``
# with one BLAS thread, and talks to it by lines of JSON:
#
#   parent -> child  the job: {"tool", "shape": [R, S, C, K], "density", "seed", "model",
#                    "outputs", "check_file"}
#   child -> parent  {"ready": ...} once the inputs are built (and, for carbonc, the model
#                    compiled): the baseline memory and the setup times
#   parent -> child  "go"
#   child -> parent  {"done": ...} right after the call: its wall and CPU time, the peak memory
#
# then the child writes the accounts to ``check_file`` (an .npz) when one is given, and exits.


def rss_kib() -> int:
    """The process's resident set size now (KiB)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def maxrss_kib() -> int:
    """The process's peak resident set size (KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def blas_threads() -> dict[str, int]:
    """Threads of every OpenBLAS library loaded in this process (numpy's and scipy's)."""
    import ctypes

    libs = set()
    with open("/proc/self/maps", encoding="utf-8") as fh:
        for line in fh:
            path = line.split()[-1]
            if "openblas" in path and ".so" in path:
                libs.add(path)
    out = {}
    for path in sorted(libs):
        lib = ctypes.CDLL(path)
        for fn in (
            "scipy_openblas_get_num_threads64_",
            "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_",
            "openblas_get_num_threads",
        ):
            if hasattr(lib, fn):
                out[path.rsplit("/", 1)[-1]] = int(getattr(lib, fn)())
                break
    return out


def child_main() -> None:
    """Run one job of the protocol above (stdin/stdout); stray output goes to stderr."""
    import gc
    import os
    import time

    from child import Protocol

    proto = Protocol()
    send, job = proto.send, proto.job
    import numpy as np

    r, s, c, k = job["shape"]
    t0 = time.perf_counter()
    m = generate(r, s, c, k, density=job["density"], seed=job["seed"])
    generate_s = time.perf_counter() - t0
    input_bytes = sum(a.nbytes for a in (m.Z, m.Y, m.F, m.F_Y))
    t0 = time.perf_counter()
    if job["tool"] == "pymrio":
        io = pymrio_system(m)

        def call() -> object:
            io.calc_all()  # type: ignore[attr-defined]
            return io

    else:
        # Modules run() imports lazily, imported now so the timed call measures the computing.
        import scipy.linalg  # noqa: F401

        import carbonc.runtime.executor
        import carbonc.runtime.provenance
        import carbonc.runtime.results  # noqa: F401
        from carbonc.compiler import load

        model = load(job["model"])
        arrays = carbonc_arrays(m)
        outputs = tuple(job["outputs"])

        def call() -> object:
            return model.run(outputs=outputs, arrays=arrays)

    setup_s = time.perf_counter() - t0
    gc.collect()
    before = {"maxrss_kib": maxrss_kib(), "rss_kib": rss_kib()}
    send(
        {
            "ready": {
                **before,
                "input_bytes": input_bytes,
                "generate_s": generate_s,
                "setup_s": setup_s,
            }
        }
    )
    if not proto.go():
        return
    c0, t0 = time.process_time(), time.perf_counter()
    result = call()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = maxrss_kib()
    send(
        {
            "done": {
                "call_s": wall,
                "cpu_s": cpu,
                "peak_maxrss_kib": peak,
                "rss_after_kib": rss_kib(),
                "blas_threads": blas_threads(),
                "threads_env": {v: os.environ.get(v) for v in THREAD_VARS},
            }
        }
    )
    if job.get("check_file"):
        if job["tool"] == "pymrio":
            accounts = pymrio_accounts(result, m)
        else:
            accounts = carbonc_accounts(result, outputs)
        np.savez(job["check_file"], **accounts)
