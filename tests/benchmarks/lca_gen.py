"""A seeded synthetic LCA system (ecoinvent-like, sparse) for the LCA benchmarks.

``generate(n)`` returns a square, already allocated system of ``n`` activities, each delivering
one product of its own (activity j delivers product j), as sparse triplets:

- technosphere: about ``PER_ACTIVITY`` (20) input exchanges per activity, the issue's 500,000
  exchanges for 25,000 activities, plus one production exchange each;
- biosphere: ``n_flows = round(FLOWS_AT_FULL_SIZE * n / FULL_SIZE)`` elementary flows (2,000 at
  25,000 activities, scaled down in proportion: 40, 160 and 400 at 500, 2,000 and 5,000), and
  ``BIO_PER_ACTIVITY`` (16) entries per activity (400,000 at 25,000);
- characterisation: flows 0, 1 and 2 are CO2, CH4 and N2O, and about 10 % of the other flows
  are characterised as one of the three (ecoinvent has one flow per gas and compartment).

The structure is that of a database of markets and transforming activities, because sparse
direct solvers owe their speed on ecoinvent to it (a random sparse matrix of the same density
fills in almost completely: 375 million factor entries at 25,000 activities, against 26 million
for this structure, and a 265 s factorisation instead of 2.4 s with PARDISO):

- the first ``n // 5`` activities are markets, each mixing the products of the producers
  assigned to it (about 4 on average) and taking 2 inputs from popular markets (transport);
  their input coefficients add up to a value in [0.7, 0.9] per unit of output;
- the others are producers: about 24 inputs each, mostly from markets drawn by popularity
  (weights (rank + 1)^-0.8, so a few markets such as electricity are used by most producers),
  and with probability 0.3 one input straight from another producer; their coefficients add
  up to a value in [0.3, 0.7].

Each market feeds producers that feed markets, so the system is one large loop (a strongly
connected component), and every column of A sums to at most 0.9: I - A is well conditioned and
stays productive when the inputs are sampled (lognormal, ``GSD``).

Amounts: a production amount in [0.5, 2] per run of each activity, inputs per run = coefficient
x production amount, biosphere amounts lognormal, all rounded to float32 (stats_arrays keeps
distribution parameters in float32, so both tools see identical numbers).

For carbonc, ``model_text`` declares the three exchange tables (``technosphere_in``,
``technosphere_out``, ``biosphere``) and the demand (one unit of a product per functional unit)
``sparse: true`` and ``carbonc_arrays`` passes them as SciPy CSR matrices, as a user of a large
database would (Brightway takes each demand as a dict): carbonc then keeps A and B sparse and
solves I - A by block Gauss-Seidel sweeps, or by a dense LAPACK LU up to
``sparse_solve.DENSE_MAX`` products.
``carbonc_arrays(..., sparse=False)`` gives dense numpy arrays instead. bw2calc gets the same
numbers as bw_processing data packages (``brightway_packages``).

``child_main`` runs one measured call in a fresh process (see test_bench_lca.py). Nothing runs
at import time; numpy is imported only inside functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

FULL_SIZE = 25_000  # the target: activities
FLOWS_AT_FULL_SIZE = 2_000
PER_ACTIVITY = 20  # technosphere inputs per activity, on average
BIO_PER_ACTIVITY = 16
MARKET_SHARE = 5  # one activity in five is a market
MARKET_INPUTS_EXTRA = 2  # inputs of a market besides its producers
POPULARITY = 0.8  # markets are drawn with weights (rank + 1)^-POPULARITY
DIRECT_INPUT = 0.3  # probability a producer also takes a producer's product directly
GSD = 1.2  # lognormal geometric standard deviation of every technosphere input
GASES = ("CO2", "CH4", "N2O")
GWP = {"CO2": 1.0, "CH4": 28.0, "N2O": 265.0}  # AR5 GWP100, stdlib:gwp's default metric
CHARACTERISED_SHARE = 0.1

PRODUCT_BASE = 1  # Brightway ids: products (= activities) 1..n, flows from FLOW_BASE
FLOW_BASE = 10_000_000


@dataclass
class System:
    """A generated system as triplets; activity j delivers product j."""

    n: int
    n_flows: int
    tech_rows: np.ndarray  # product consumed
    tech_cols: np.ndarray  # activity consuming it
    tech_amounts: np.ndarray  # amount per run of the activity (> 0)
    production: np.ndarray  # amount of its product one run of each activity delivers
    bio_rows: np.ndarray  # flow
    bio_cols: np.ndarray  # activity
    bio_amounts: np.ndarray  # kg per run
    gas_of: dict[int, str]  # flow -> gas, for the characterised flows


def labels(prefix: str, n: int) -> list[str]:
    """``n`` zero-padded labels, e.g. ``labels("p", 12)`` -> p00 … p11."""
    width = len(str(max(n - 1, 0)))
    return [f"{prefix}{i:0{width}d}" for i in range(n)]


def n_flows_for(n: int) -> int:
    return max(len(GASES), round(FLOWS_AT_FULL_SIZE * n / FULL_SIZE))


def _f32(x: np.ndarray) -> np.ndarray:
    import numpy as np

    return x.astype(np.float32).astype(np.float64)


def generate(n: int, seed: int = 0) -> System:
    """The system of ``n`` activities (n >= 10); the same arguments give the same arrays."""
    import numpy as np

    if n < 10:
        raise ValueError(f"at least 10 activities, not {n}")
    rng = np.random.default_rng(seed)
    m = max(2, n // MARKET_SHARE)  # markets 0..m-1, producers m..n-1
    popularity = (np.arange(m) + 1.0) ** -POPULARITY
    popularity /= popularity.sum()
    market_of = rng.integers(0, m, size=n - m)  # the market each producer sells to
    # Producers take enough inputs that the average over all activities is PER_ACTIVITY.
    market_inputs = (n - m) / m + MARKET_INPUTS_EXTRA
    per_producer = max(1, round((PER_ACTIVITY * n - market_inputs * m) / (n - m)))
    per_producer = min(per_producer, m - 1)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    coef: list[np.ndarray] = []
    draws = rng.choice(m, size=(n - m, 2 * per_producer), p=popularity)
    direct = rng.uniform(size=n - m) < DIRECT_INPUT
    direct_from = rng.integers(m, n, size=n - m)
    for k in range(n - m):
        j = m + k
        picked = [int(i) for i in dict.fromkeys(draws[k].tolist()) if i != market_of[k]]
        inputs = picked[: per_producer - int(direct[k])]
        if direct[k] and direct_from[k] != j:
            inputs.append(int(direct_from[k]))
        rows.append(np.asarray(inputs, dtype=np.int64))
        cols.append(np.full(len(inputs), j, dtype=np.int64))
        w = rng.uniform(0.05, 1.0, size=len(inputs))
        coef.append(w / w.sum() * rng.uniform(0.3, 0.7))
    sellers: list[list[int]] = [[] for _ in range(m)]
    for k, g in enumerate(market_of.tolist()):
        sellers[g].append(m + k)
    extra = rng.choice(m, size=(m, MARKET_INPUTS_EXTRA + 2), p=popularity)
    for g in range(m):
        others = [int(i) for i in dict.fromkeys(extra[g].tolist()) if i != g]
        inputs = sellers[g] + others[:MARKET_INPUTS_EXTRA]
        if not sellers[g]:  # a market nobody sells to buys from any producer
            inputs.append(int(rng.integers(m, n)))
        rows.append(np.asarray(inputs, dtype=np.int64))
        cols.append(np.full(len(inputs), g, dtype=np.int64))
        w = rng.uniform(0.05, 1.0, size=len(inputs))
        coef.append(w / w.sum() * rng.uniform(0.7, 0.9))
    tech_rows, tech_cols = np.concatenate(rows), np.concatenate(cols)
    production = _f32(rng.uniform(0.5, 2.0, size=n))
    tech_amounts = _f32(np.concatenate(coef) * production[tech_cols])

    n_flows = n_flows_for(n)
    per = min(BIO_PER_ACTIVITY, n_flows)
    log_pop = -POPULARITY * np.log(np.arange(n_flows) + 1.0)
    # Gumbel top-k: `per` distinct flows per activity, drawn by popularity (weights
    # (rank + 1)^-POPULARITY), a block of activities at a time.
    block = max(1, (1 << 22) // n_flows)
    picks = []
    for start in range(0, n, block):
        keys = log_pop[None, :] + rng.gumbel(size=(min(block, n - start), n_flows))
        picks.append(np.argpartition(-keys, per - 1, axis=1)[:, :per])
    bio_rows = np.concatenate(picks).reshape(-1)
    bio_cols = np.repeat(np.arange(n, dtype=np.int64), per)
    bio_amounts = _f32(rng.lognormal(mean=-4.0, sigma=2.0, size=n * per) * production[bio_cols])
    gas_of = {i: GASES[i] for i in range(len(GASES))}
    for i in range(len(GASES), n_flows):
        if rng.uniform() < CHARACTERISED_SHARE:
            gas_of[i] = GASES[int(rng.integers(len(GASES)))]
    return System(
        n,
        n_flows,
        tech_rows,
        tech_cols,
        tech_amounts,
        production,
        bio_rows.astype(np.int64),
        bio_cols,
        bio_amounts,
        gas_of,
    )


def demands(s: System, n_units: int, seed: int = 0) -> list[int]:
    """``n_units`` distinct products, one unit of each is a functional unit."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [int(i) for i in rng.choice(s.n, size=n_units, replace=False)]


# -- carbonc ---------------------------------------------------------------------------------


def model_text(n: int, n_units: int, uncertain: bool = False) -> str:
    """A carbonc model for ``n`` activities (labels only: no data is generated) whose data
    entries are placeholders for ``run(arrays=...)``.

    Every activity has one output, so allocation is moot (each output takes factor 1): the
    model runs the method's default, mass, with ``reference`` and the allocation properties
    bound to 0 (the method reads none of them for single-output processes under mass). With
    ``uncertain``, every technosphere input is lognormal with geometric standard deviation
    ``GSD`` (the value is the median; a zero, an exchange that does not exist, stays zero).
    """
    import json

    unc = f', uncertainty: "lognormal(gsd={GSD})"' if uncertain else ""
    return (
        "carbon: 1\n"
        "model: bench-lca\n"
        "dimensions:\n"
        f"  process: {json.dumps(labels('P', n))}\n"
        f"  product: {json.dumps(labels('p', n))}\n"
        f"  flow: {json.dumps(labels('f', n_flows_for(n)))}\n"
        f"  functional_unit: {json.dumps(labels('fu', n_units))}\n"
        "data:\n"
        f"  technosphere_in: {{dims: [product, process], sparse: true, values: 0{unc}}}\n"
        "  technosphere_out: {dims: [product, process], sparse: true, values: 0}\n"
        "  biosphere: {dims: [flow, process], unit: kg, sparse: true, values: 0}\n"
        "  demand: {dims: [product, functional_unit], sparse: true, values: 0}\n"
        "  gas_of: {dims: [flow, gas], values: 0}\n"
        "import:\n"
        "  lca:\n"
        "    from: stdlib:lca/footprint\n"
        "    with: {technosphere_in: technosphere_in, technosphere_out: technosphere_out,\n"
        "           reference: 0, biosphere: biosphere, mass: 0, energy: 0, price: 0,\n"
        "           explicit_factors: 0, demand: demand, gas_of: gas_of}\n"
        "outputs: [lca.score]\n"
    )


def carbonc_arrays(
    s: System, units: list[int], gases: list[str], sparse: bool = True
) -> dict[str, Any]:
    """Arrays for ``model.run(arrays=...)``; ``gases`` are the model's gas labels.

    The exchange tables and the demand are SciPy sparse matrices (``sparse``, as a user of a
    large database passes them), or dense numpy arrays.
    """
    import numpy as np
    import scipy.sparse as sp

    n = s.n
    tin = sp.csr_matrix((s.tech_amounts, (s.tech_rows, s.tech_cols)), shape=(n, n))
    tout = sp.csr_matrix((s.production, (np.arange(n), np.arange(n))), shape=(n, n))
    bio = sp.csr_matrix((s.bio_amounts, (s.bio_rows, s.bio_cols)), shape=(s.n_flows, n))
    k = len(units)
    demand = sp.csr_matrix((np.ones(k), (units, np.arange(k))), shape=(n, k))
    tables = {"technosphere_in": tin, "technosphere_out": tout, "biosphere": bio, "demand": demand}
    if not sparse:
        tables = {k: v.toarray() for k, v in tables.items()}
    gas_of = np.zeros((s.n_flows, len(gases)))
    for flow, gas in s.gas_of.items():
        gas_of[flow, gases.index(gas)] = 1.0
    return {**tables, "gas_of": gas_of}


# -- bw2calc ---------------------------------------------------------------------------------

METHOD = ("bench", "GWP100")


def brightway_packages(s: System, uncertain: bool = False, seed: int = 0) -> list[Any]:
    """bw_processing data packages (technosphere, biosphere, characterisation) of ``s``.

    Production exchanges carry the reference flag (as bw2data writes them) and are exact; with
    ``uncertain``, every input is lognormal with loc = ln(amount) (Brightway's median) and
    scale = ln(GSD).
    """
    import math

    import bw_processing as bwp
    import numpy as np

    n = s.n
    ids = np.arange(n, dtype=np.int64) + PRODUCT_BASE
    indices = np.empty(n + len(s.tech_rows), dtype=bwp.INDICES_DTYPE)
    indices["row"] = np.concatenate([ids, s.tech_rows + PRODUCT_BASE])
    indices["col"] = np.concatenate([ids, s.tech_cols + PRODUCT_BASE])
    data = np.concatenate([s.production, s.tech_amounts])
    flip = np.concatenate([np.zeros(n, bool), np.ones(len(s.tech_rows), bool)])
    reference = np.concatenate([np.ones(n, bool), np.zeros(len(s.tech_rows), bool)])
    tech = bwp.create_datapackage(seed=seed + 1)
    kwargs: dict[str, Any] = {}
    if uncertain:
        dist = np.zeros(len(data), dtype=bwp.UNCERTAINTY_DTYPE)
        dist["loc"] = data
        dist["scale"] = dist["shape"] = dist["minimum"] = dist["maximum"] = np.nan
        dist["uncertainty_type"][n:] = 2
        dist["loc"][n:] = np.log(s.tech_amounts)
        dist["scale"][n:] = math.log(GSD)
        kwargs["distributions_array"] = dist
    tech.add_persistent_vector(
        matrix="technosphere_matrix",
        name="technosphere",
        indices_array=indices,
        data_array=data,
        flip_array=flip,
        reference_array=reference,
        **kwargs,
    )
    bio = bwp.create_datapackage(seed=seed + 2)
    bio_indices = np.empty(len(s.bio_rows), dtype=bwp.INDICES_DTYPE)
    bio_indices["row"] = s.bio_rows + FLOW_BASE
    bio_indices["col"] = s.bio_cols + PRODUCT_BASE
    bio.add_persistent_vector(
        matrix="biosphere_matrix",
        name="biosphere",
        indices_array=bio_indices,
        data_array=s.bio_amounts.copy(),
    )
    cf = bwp.create_datapackage(metadata={"id": "cf"})
    flows = sorted(s.gas_of)
    cf_indices = np.empty(len(flows), dtype=bwp.INDICES_DTYPE)
    cf_indices["row"] = np.asarray(flows, dtype=np.int64) + FLOW_BASE
    cf_indices["col"] = cf_indices["row"]
    cf.add_persistent_vector(
        matrix="characterization_matrix",
        name="cf",
        identifier=list(METHOD),
        indices_array=cf_indices,
        data_array=np.array([GWP[s.gas_of[f]] for f in flows]),
    )
    return [tech, bio, cf]


def bw_demand(unit: int) -> dict[int, float]:
    return {unit + PRODUCT_BASE: 1.0}


def method_config() -> dict[str, Any]:
    return {"impact_categories": [METHOD]}


# -- one measured call in a fresh process ------------------------------------------------------
#
# The benchmark (test_bench_lca.py) starts ``python -c "import lca_gen; lca_gen.child_main()"``
# with one BLAS / MKL thread and talks to it by lines of JSON, as test_bench_mrio.py does:
#
#   parent -> child  the job: {"tool", "workload", "n", "seed", "samples", "model",
#                    "check_file"}
#   child -> parent  {"ready": ...} once the inputs are built, the model compiled (carbonc) and
#                    a warm-up call made on a 12-activity system: the baseline memory, taken
#                    after trimming the heap (``_trim_heap``) and resetting the peak RSS to the
#                    current RSS (``_reset_peak_rss``), so
#                    that the peak after the call is the call's, not the generator's (which
#                    reaches 527 MiB at 25,000 activities, against 250 MiB once it is done)
#   parent -> child  "go"
#   child -> parent  {"done": ...} right after the call: wall and CPU time, peak memory, and
#                    what the tool reported (bw2calc: PARDISO factor size, IterativeLCA's
#                    solver statistics; carbonc: which solver ran, LU count, sweeps,
#                    Monte Carlo chunk)
#
# then the child writes what it computed to ``check_file`` (an .npz) when one is given. A value
# of the call's outcome may be a function: check data that is costly to extract (bw2calc's
# inventories), computed only then, after the timed call.

UNITS = {"fu1": 1, "fu100": 100, "mc": 1}  # functional units of each workload
UNIT_SEED = 3  # which products are the functional units
MC_SEED = 1  # carbonc's Uncertainty(seed=); Brightway's packages are seeded by `seed`
TOOLS = {
    "fu1": ("bw2calc", "carbonc"),
    "fu100": ("bw2calc_multi", "bw2calc_loop", "carbonc", "carbonc_inventory"),
    "mc": ("bw2calc", "bw2calc_iterative", "carbonc"),
}

# (arrays for the check file, or functions computing them after the timed call; figures)
Outcome = tuple[dict[str, Any], dict[str, Any]]


def bw2calc_call(
    tool: str, workload: str, s: System, units: list[int], samples: int, seed: int
) -> tuple[Any, int]:
    """The measured call of a bw2calc tool (a closure) and the bytes of its input arrays.

    The data packages are built here, outside the call; the call builds the matrices from them
    (``lci()`` loads the data), solves and characterises, as a Brightway user's script does.
    """
    import bw2calc as bc
    import numpy as np

    packages = brightway_packages(s, uncertain=workload == "mc", seed=seed)
    input_bytes = sum(a.nbytes for dp in packages for a in dp.data if isinstance(a, np.ndarray))

    def pardiso_nnz(lca: Any) -> int | None:
        solver = getattr(lca, "_pardiso_solver", None)
        return int(solver.iparm[17]) if solver is not None else None

    if workload == "fu1":

        def call() -> Outcome:
            lca = bc.LCA(bw_demand(units[0]), data_objs=packages, method=METHOD)
            lca.lci()
            lca.lcia()
            return {"scores": np.array([lca.score])}, {"factor_nnz": pardiso_nnz(lca)}

    elif tool == "bw2calc_multi":

        def call() -> Outcome:
            demands_ = {f"fu{i:03d}": bw_demand(u) for i, u in enumerate(units)}
            mlca = bc.MultiLCA(demands_, method_config(), data_objs=packages)
            mlca.lci()
            mlca.lcia()
            scores = np.array([mlca.scores[(METHOD, k)] for k in demands_])

            def inventory() -> np.ndarray:
                """The 100 inventories g = B s as [flow, functional unit], untimed: MultiLCA
                holds each as B diag(s), summed here over the activities."""
                rows = np.array(
                    [mlca.dicts.biosphere.get(FLOW_BASE + i, -1) for i in range(s.n_flows)]
                )
                have = rows >= 0
                g = np.zeros((s.n_flows, len(demands_)))
                for j, key in enumerate(demands_):
                    g[have, j] = np.asarray(mlca.inventories[key].sum(axis=1)).ravel()[rows[have]]
                return g

            return {"scores": scores, "inventory": inventory}, {"factor_nnz": pardiso_nnz(mlca)}

    elif tool == "bw2calc_loop":

        def call() -> Outcome:
            # One LCA; every further demand reuses the factorisation (pypardiso keeps it for
            # an unchanged matrix; `lci(factorize=True)` does the same with SciPy's solver).
            lca = bc.LCA(bw_demand(units[0]), data_objs=packages, method=METHOD)
            lca.lci(factorize=True)
            lca.lcia()
            scores = []
            for u in units:
                lca.lcia(demand=bw_demand(u))
                scores.append(lca.score)
            return {"scores": np.array(scores)}, {"factor_nnz": pardiso_nnz(lca)}

    else:  # Monte Carlo
        cls = bc.IterativeLCA if tool == "bw2calc_iterative" else bc.LCA

        def call() -> Outcome:
            lca = cls(
                bw_demand(units[0]), data_objs=packages, method=METHOD, use_distributions=True
            )
            lca.lci()
            lca.lcia()
            out = [lca.score]
            for _ in range(samples - 1):
                next(lca)  # a new draw of every uncertain exchange, then lci and lcia
                out.append(lca.score)
            info: dict[str, Any] = {}
            if tool == "bw2calc_iterative":
                info["solver_stats"] = dict(lca.solver_stats)
                info["preconditioner"] = lca.preconditioner_source
            return {"samples": np.array(out)}, info

    return call, input_bytes


def _nbytes(a: Any) -> int:
    """Bytes held by a numpy array or a SciPy sparse matrix."""
    if hasattr(a, "indptr"):
        return int(a.data.nbytes + a.indices.nbytes + a.indptr.nbytes)
    return int(a.nbytes)


def _instrument(module: Any, name: str, wrapper: Any) -> Any:
    """Replace ``module.name`` by ``wrapper(original)``; a wrapper of an earlier call is undone
    first. The runtime looks these functions up on the module at call time."""
    original = getattr(module, name)
    original = getattr(original, "__wrapped__", original)
    new = wrapper(original)
    new.__wrapped__ = original
    setattr(module, name, new)
    return new


def carbonc_call(
    workload: str,
    s: System,
    units: list[int],
    samples: int,
    model_path: str,
    inventory: bool = False,
) -> tuple[Any, int]:
    """The measured call of carbonc: ``model.run(arrays=...)`` on the exchange tables as SciPy
    CSR matrices (``carbonc_arrays``), which are built here, like the compiled model, outside
    the call. The outputs are ``lca.score``, and with ``inventory`` also ``lca.inventory``
    (the 100 inventories g = B s, which need the supply s of every functional unit: a solve
    with 100 right-hand sides; the score alone is one transposed solve, q = c B (I - A)^-1).

    The figures say which solver ran (``carbonc.runtime.sparse_solve``, instrumented here):

    - ``lus``: LU factorisations through ``linalg.factorize_buffer`` (the dense LAPACK LU that
      ``sparse_solve.build`` picks up to ``sparse_solve.DENSE_MAX`` products);
    - ``sparse_builds``: calls of ``sparse_solve.build``; ``gauss_seidel``: how many of them
      gave a ``SparseGaussSeidel`` (sweeps), and ``superlu`` whether one of those fell back to
      a SuperLU factorisation (``SparseGaussSeidel.lu`` set) because the sweeps were too slow;
    - ``sweeps``: the sweep count of each ``Sweeps.run`` (per group of right-hand sides of a
      deterministic solve, then one per
      block-diagonal chunk of Monte Carlo samples); ``sampled_solves``: calls of
      ``sparse_solve.solve_sampled``;
    - ``solver``: all that in a few words; ``chunk``: the Monte Carlo chunk (provenance).
    """
    import numpy as np

    from carbonc.compiler import load
    from carbonc.compiler.api import Uncertainty
    from carbonc.runtime import linalg, sparse_solve

    model = load(model_path)
    arrays = carbonc_arrays(s, units, list(model.dims["gas"].labels))
    input_bytes = sum(_nbytes(a) for a in arrays.values())
    stats: dict[str, Any] = {}
    built: list[Any] = []

    def reset() -> None:
        stats.update(lus=0, sparse_builds=0, sweeps=[], sampled_solves=0)
        built.clear()

    def count(key: str) -> Any:
        def wrapper(original: Any) -> Any:
            def counted(*args: Any, **kwargs: Any) -> Any:
                stats[key] += 1
                result = original(*args, **kwargs)
                if key == "sparse_builds":
                    built.append(result)
                return result

            return counted

        return wrapper

    def count_sweeps(original: Any) -> Any:
        def counted(*args: Any) -> Any:
            x, sweeps = original(*args)
            stats["sweeps"].append(sweeps)
            return x, sweeps

        return counted

    # the executor calls linalg.factorize_buffer and sparse_solve.build; sparse_solve sweeps
    # with Sweeps.run
    _instrument(linalg, "factorize_buffer", count("lus"))
    _instrument(sparse_solve, "build", count("sparse_builds"))
    _instrument(sparse_solve, "solve_sampled", count("sampled_solves"))
    _instrument(sparse_solve.Sweeps, "run", count_sweeps)
    how = Uncertainty(samples=samples, seed=MC_SEED) if workload == "mc" else None
    outputs = ("lca.score", "lca.inventory") if inventory else ("lca.score",)

    def solver() -> dict[str, Any]:
        swept = [f for f in built if isinstance(f, sparse_solve.SparseGaussSeidel)]
        superlu = any(f.lu is not None for f in swept)
        words = []
        if swept:
            words.append("Gauss-Seidel, then SuperLU" if superlu else "Gauss-Seidel")
        if stats["lus"]:
            words.append("dense LU")
        if stats["sampled_solves"]:
            words.append("samples: block-diagonal Gauss-Seidel")
        return {
            **stats,
            "gauss_seidel": len(swept),
            "superlu": superlu,
            "solver": "; ".join(words) or "none",
        }

    def call() -> Outcome:
        reset()
        r = model.run(arrays=arrays, outputs=outputs, uncertainty=how)
        score = r["lca.score"]
        out = {"scores": np.asarray(score.array.aligned(("functional_unit",)), dtype=float)}
        if inventory:
            g = r["lca.inventory"].array.aligned(("flow", "functional_unit"))
            out["inventory"] = np.asarray(g, dtype=float)
        info = solver()
        if how is not None:
            assert score.stats is not None
            out["mean"] = np.asarray(score.stats["mean"], dtype=float)
            out["sd"] = np.asarray(score.stats["sd"], dtype=float)
            info["chunk"] = r.provenance["uncertainty"].get("chunk")
        return out, info

    return call, input_bytes


def _warm_up(tool: str, workload: str, folder: str) -> None:
    """The same call once on a 12-activity system: lazy imports, MKL and BLAS set-up."""
    import os

    tiny = generate(12, seed=99)
    units = demands(tiny, min(UNITS[workload], 3), seed=UNIT_SEED)
    if tool.startswith("carbonc"):
        path = os.path.join(folder, "warm_up.carbon")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(model_text(12, len(units), uncertain=workload == "mc"))
        call, _ = carbonc_call(workload, tiny, units, 10, path, tool == "carbonc_inventory")
    else:
        call, _ = bw2calc_call(tool, workload, tiny, units, 10, seed=99)
    call()


def _trim_heap() -> bool:
    """Give the heap the generator freed back to the system (glibc's ``malloc_trim``), for
    either tool alike: it is the benchmark's, not the tool's. (Generating 25,000 activities
    alone leaves 72 MiB to trim; in the child, the inputs and the warm-up reuse most of it
    first.) False where that is not glibc."""
    import ctypes

    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0) >= 0)
    except (OSError, AttributeError):
        return False


def _reset_peak_rss() -> bool:
    """Reset this process's peak resident set size (``ru_maxrss``, VmHWM) to its current RSS,
    by writing 5 to /proc/self/clear_refs (Linux 4.0 and later); False where that fails."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def child_main() -> None:
    """Run one job of the protocol above (stdin/stdout); stray output goes to stderr."""
    import gc
    import os
    import tempfile
    import time

    from child import Protocol

    proto = Protocol()
    send, job = proto.send, proto.job
    import numpy as np
    from mrio_gen import THREAD_VARS, blas_threads, maxrss_kib, rss_kib

    tool, workload, n = job["tool"], job["workload"], job["n"]
    t0 = time.perf_counter()
    s = generate(n, seed=job["seed"])
    units = demands(s, UNITS[workload], seed=UNIT_SEED)
    generate_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        _warm_up(tool, workload, folder)
    warm_up_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    if tool.startswith("carbonc"):
        call, input_bytes = carbonc_call(
            workload, s, units, job["samples"], job["model"], tool == "carbonc_inventory"
        )
    else:
        call, input_bytes = bw2calc_call(tool, workload, s, units, job["samples"], job["seed"])
    setup_s = time.perf_counter() - t0
    gc.collect()
    heap_trimmed = _trim_heap()
    peak_reset = _reset_peak_rss()
    before = {
        "maxrss_kib": maxrss_kib(),
        "rss_kib": rss_kib(),
        "peak_reset": peak_reset,
        "heap_trimmed": heap_trimmed,
    }
    send(
        {
            "ready": {
                **before,
                "input_bytes": input_bytes,
                "generate_s": generate_s,
                "warm_up_s": warm_up_s,
                "setup_s": setup_s,
                "technosphere_exchanges": len(s.tech_rows),
                "biosphere_entries": len(s.bio_rows),
                "flows": s.n_flows,
            }
        }
    )
    if not proto.go():
        return
    c0, t0 = time.process_time(), time.perf_counter()
    arrays, info = call()
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
                **info,
            }
        }
    )
    if job.get("check_file"):
        np.savez(job["check_file"], **{k: v() if callable(v) else v for k, v in arrays.items()})
