"""Life cycle footprints with stdlib:lca/footprint: worked examples, bw2calc, Monte Carlo.

bw2calc (Brightway's calculator, BSD) is a test-only peer: it is only imported here, never by
carbonc, and the systems it solves are built in this file with bw_processing data packages (no
bw2data). For the allocation modes the test builds the allocated square system itself (one
virtual activity per product, its process's exchanges times the product's allocation factor),
so Brightway checks carbonc's matrices, solve and characterisation, and the factors are checked
against the definitions written out here.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from carbonc.compiler import load
from carbonc.compiler.api import Uncertainty
from carbonc.dsl.diagnostics import CarbonError

MODES = ("mass", "energy", "economic", "explicit")
GWP = {"CO2": 1.0, "CH4": 28.0, "N2O": 265.0}  # AR5 GWP100, stdlib:gwp's default metric
RTOL = 1e-12

MODEL = """\
carbon: 1
model: lca-check
dimensions:
  process: {csv: processes.csv, column: process}
  product: {csv: products.csv, column: product}
  flow: {csv: flows.csv, column: flow}
  functional_unit: {csv: functional_units.csv, column: functional_unit}
data:
  technosphere_in:
    {csv: technosphere_in.csv, dims: [product, process], fill: 0, uncertainty: {column: uncertainty}}
  technosphere_out:
    {csv: technosphere_out.csv, dims: [product, process], fill: 0, uncertainty: {column: uncertainty}}
  reference: {csv: reference.csv, dims: [product, process], mapping: true}
  biosphere:
    {csv: biosphere.csv, dims: [flow, process], unit: kg, fill: 0, uncertainty: {column: uncertainty}}
  mass: {csv: properties.csv, dims: [product], value: mass}
  energy: {csv: properties.csv, dims: [product], value: energy}
  price: {csv: properties.csv, dims: [product], value: price}
  explicit_factors: {csv: allocation.csv, dims: [process, product], fill: 0}
  demand: {csv: demand.csv, dims: [product, functional_unit], fill: 0}
  gas_of: {csv: gas_of.csv, dims: [flow, gas], mapping: true}
import:
  lca:
    from: stdlib:lca/footprint
    with: {technosphere_in: technosphere_in, technosphere_out: technosphere_out,
           reference: reference, biosphere: biosphere, mass: mass, energy: energy, price: price,
           explicit_factors: explicit_factors, demand: demand, gas_of: gas_of}
outputs: [lca.factors, lca.A, lca.B, lca.supply, lca.inventory, lca.score, lca.per_product,
          lca.by_provider, lca.by_flow]
"""

Cell = tuple[str, str]


@dataclass
class System:
    """Unit processes in the method's long form; ``unc`` holds per-row uncertainty forms."""

    processes: list[str]
    products: list[str]
    flows: list[str]
    tin: dict[Cell, float]  # (product, process)
    tout: dict[Cell, float]  # (product, process)
    ref: dict[str, str]  # process -> reference product
    bio: dict[Cell, float]  # (flow, process)
    props: dict[str, tuple[float, float, float]]  # product -> (mass, energy, price)
    demand: dict[Cell, float]  # (product, functional unit)
    gas_of: dict[str, str]  # flow -> gas (uncharacterised flows left out)
    explicit: dict[Cell, float] = field(default_factory=dict)  # (process, product)
    unc: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (table, row, process)

    @property
    def units(self) -> list[str]:
        return list(dict.fromkeys(fu for _, fu in self.demand))


def _csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for row in rows:
            w.writerow([repr(v) if isinstance(v, float) else v for v in row])


def write_system(folder: Path, s: System) -> Path:
    """The tidy CSV files of the LCA interface and a model binding them to the method."""
    folder.mkdir(parents=True, exist_ok=True)
    _csv(folder / "processes.csv", ["process"], [[p] for p in s.processes])
    _csv(folder / "products.csv", ["product"], [[p] for p in s.products])
    _csv(folder / "flows.csv", ["flow"], [[k] for k in s.flows])
    _csv(folder / "functional_units.csv", ["functional_unit"], [[u] for u in s.units])
    for table, cells, row in (
        ("technosphere_in", s.tin, "product"),
        ("technosphere_out", s.tout, "product"),
        ("biosphere", s.bio, "flow"),
    ):
        _csv(
            folder / f"{table}.csv",
            [row, "process", "value", "uncertainty"],
            [(r, p, v, s.unc.get((table, r, p), "")) for (r, p), v in cells.items()],
        )
    _csv(folder / "reference.csv", ["product", "process"], [(r, p) for p, r in s.ref.items()])
    _csv(
        folder / "properties.csv",
        ["product", "mass", "energy", "price"],
        [(p, *s.props.get(p, (0.0, 0.0, 0.0))) for p in s.products],
    )
    _csv(
        folder / "allocation.csv",
        ["process", "product", "value"],
        [(p, r, v) for (p, r), v in s.explicit.items()],
    )
    _csv(
        folder / "demand.csv",
        ["product", "functional_unit", "value"],
        [(p, u, v) for (p, u), v in s.demand.items()],
    )
    _csv(folder / "gas_of.csv", ["flow", "gas"], list(s.gas_of.items()))
    path = folder / "model.carbon"
    path.write_text(MODEL, encoding="utf-8")
    return path


def run(path: Path, mode: str, **kw: Any) -> Any:
    return load(path).run(choose={"allocation": mode}, **kw)


def values(results: Any, name: str, *dims: str) -> np.ndarray:
    return np.asarray(results[f"lca.{name}"].array.aligned(dims))


# -- worked examples, by hand -----------------------------------------------------------------


def steel() -> System:
    """A power plant using 2 % of its own electricity, and a blast furnace delivering steel and
    slag (two outputs) from electricity; water is an uncharacterised flow."""
    return System(
        processes=["power", "furnace"],
        products=["electricity", "steel", "slag"],
        flows=["CO2", "CH4", "water"],
        tin={("electricity", "power"): 0.02, ("electricity", "furnace"): 2.0},
        tout={("electricity", "power"): 1.0, ("steel", "furnace"): 1.0, ("slag", "furnace"): 0.25},
        ref={"power": "electricity", "furnace": "steel"},
        bio={
            ("CO2", "power"): 0.5,
            ("CO2", "furnace"): 2.0,
            ("CH4", "furnace"): 0.001,
            ("water", "furnace"): 3.0,
        },
        # electricity has no mass: the power plant has one output and needs none
        props={"electricity": (0.0, 3.6, 0.1), "steel": (1.0, 0.0, 0.8), "slag": (1.0, 0.0, 0.02)},
        demand={("steel", "kg_steel"): 1.0, ("electricity", "kWh"): 1.0},
        gas_of={"CO2": "CO2", "CH4": "CH4"},
    )


def test_mass_allocation_worked_example(tmp_path: Path) -> None:
    """Steel and slag by mass, with self-consumption of electricity (a loop on the diagonal).

    Factors: the furnace's outputs weigh 1 kg steel + 0.25 kg slag = 1.25 kg, so steel takes
    1/1.25 = 0.8 and slag 0.25/1.25 = 0.2 of its inputs and emissions.
    A[electricity, electricity] = 0.02 (self-consumption); A[electricity, steel] = 2 x 0.8 / 1
    = 1.6 kWh/kg; A[electricity, slag] = 2 x 0.2 / 0.25 = 1.6 kWh/kg.
    B[CO2, steel] = 2 x 0.8 = 1.6; B[CH4, steel] = 0.001 x 0.8 = 0.0008; B[water, steel] = 2.4;
    B[., slag] = B[., steel] (0.2 / 0.25 = 0.8 per kg as well).
    One kWh: the plant runs 1 / (1 - 0.02) = 1/0.98 times: 0.5 / 0.98 = 0.5102040816... kg.
    One kg of steel: 1.6 kWh -> 1.6 / 0.98 kWh of gross generation; CO2 = 1.6 + 0.8 / 0.98
    = 2.4163265306...; CH4 = 0.0008 kg = 0.0224 kg CO2e; score = 2.4387265306... kg CO2e.
    """
    r = run(write_system(tmp_path, steel()), "mass")
    f = values(r, "factors", "process", "product")
    np.testing.assert_allclose(f, [[1.0, 0, 0], [0, 0.8, 0.2]], rtol=RTOL)
    a = values(r, "A", "product", "product_to")
    np.testing.assert_allclose(a, [[0.02, 1.6, 1.6], [0.0, 0, 0], [0.0, 0, 0]], rtol=RTOL)
    b = values(r, "B", "flow", "product_to")
    np.testing.assert_allclose(b, [[0.5, 1.6, 1.6], [0, 0.0008, 0.0008], [0, 2.4, 2.4]], rtol=RTOL)
    kwh = 0.5 / 0.98
    kg = 1.6 + 0.0008 * 28 + 1.6 * 0.5 / 0.98
    np.testing.assert_allclose([kwh, kg], [0.5102040816326531, 2.4387265306122448], rtol=RTOL)
    np.testing.assert_allclose(values(r, "score", "functional_unit"), [kg, kwh], rtol=RTOL)
    np.testing.assert_allclose(
        values(r, "per_product", "product_to"), [kwh, kg, kg], rtol=RTOL
    )  # slag per kg = steel per kg: mass allocation makes a kilogram a kilogram
    inv = values(r, "inventory", "flow", "functional_unit")
    np.testing.assert_allclose(inv[:, 0], [1.6 + 0.8 / 0.98, 0.0008, 2.4], rtol=RTOL)
    np.testing.assert_allclose(
        values(r, "supply", "product", "functional_unit")[0], [1.6 / 0.98, 1 / 0.98], rtol=RTOL
    )
    # contributions: the power plant's CO2 and the furnace's own emissions
    prov = values(r, "by_provider", "product_to", "functional_unit")[:, 0]
    np.testing.assert_allclose(prov, [0.8 / 0.98, 1.6224, 0], rtol=RTOL, atol=1e-15)
    flows = values(r, "by_flow", "flow", "functional_unit")[:, 0]
    np.testing.assert_allclose(flows, [1.6 + 0.8 / 0.98, 0.0224, 0], rtol=RTOL, atol=1e-15)


def chp(boiler: bool = False) -> System:
    """Gas supply and a combined heat and power plant (1 kWh electricity and 5 MJ heat from
    10 MJ gas); with ``boiler``, a gas boiler as the reference process of heat (for
    substitution)."""
    s = System(
        processes=["gas_supply", "chp"],
        products=["gas", "electricity", "heat"],
        flows=["CO2", "CH4", "N2O"],
        tin={("gas", "chp"): 10.0},
        tout={("gas", "gas_supply"): 1.0, ("electricity", "chp"): 1.0, ("heat", "chp"): 5.0},
        ref={"gas_supply": "gas", "chp": "electricity"},
        bio={
            ("CO2", "gas_supply"): 0.004,
            ("CH4", "gas_supply"): 0.0002,
            ("CO2", "chp"): 0.56,
            ("N2O", "chp"): 0.00001,
        },
        # energy per unit: 3.6 MJ/kWh and 1 MJ/MJ; price 0.12 per kWh and 0.01 per MJ; gas
        # (single output) has none
        props={"electricity": (0.0, 3.6, 0.12), "heat": (0.0, 1.0, 0.01)},
        demand={("electricity", "kWh"): 1.0, ("heat", "MJ_heat"): 1.0},
        gas_of={"CO2": "CO2", "CH4": "CH4", "N2O": "N2O"},
        explicit={("chp", "electricity"): 0.6, ("chp", "heat"): 0.4},  # gas_supply: 1 by default
    )
    if boiler:
        s.processes.append("boiler")
        s.tin[("gas", "boiler")] = 1.25
        s.tout[("heat", "boiler")] = 1.0
        s.ref["boiler"] = "heat"
        s.bio[("CO2", "boiler")] = 0.07
    return s


# One MJ of gas: 0.004 + 0.0002 x 28 = 0.0096 kg CO2e. One run of the CHP plant: 0.56 + 0.00001 x
# 265 = 0.56265 direct, plus 10 x 0.0096 = 0.096 upstream: 0.65865 kg CO2e in all.
CHP_RUN = 0.56 + 0.00001 * 265 + 10 * (0.004 + 0.0002 * 28)


@pytest.mark.parametrize(
    ("mode", "electricity_factor", "per_kwh", "per_mj"),
    [
        # energy: 1 kWh x 3.6 MJ/kWh = 3.6 MJ against 5 MJ of heat: 3.6 / 8.6 to electricity;
        # 0.65865 x 3.6 / 8.6 = 2.37114 / 8.6 per kWh, 0.65865 x 5 / 8.6 / 5 = 0.65865 / 8.6 per MJ
        ("energy", 3.6 / 8.6, 0.2757139534883721, 0.07658720930232558),
        # economic: 1 kWh x 0.12 = 0.12 against 5 MJ x 0.01 = 0.05: 0.12 / 0.17 to electricity;
        # 0.65865 x 12 / 17 = 7.9038 / 17 per kWh, 0.65865 / 17 per MJ
        ("economic", 0.12 / 0.17, 0.46492941176470587, 0.038744117647058825),
        # explicit: as given, 0.6 (and 0.4 to heat; gas_supply has no row and takes 1);
        # 0.65865 x 0.6 = 0.39519 per kWh, 0.65865 x 0.4 / 5 = 0.052692 per MJ
        ("explicit", 0.6, 0.39519, 0.052692),
    ],
)
def test_chp_allocation_worked_examples(
    tmp_path: Path, mode: str, electricity_factor: float, per_kwh: float, per_mj: float
) -> None:
    """A CHP plant's 0.65865 kg CO2e per run (see CHP_RUN) split between 1 kWh of electricity
    and 5 MJ of heat: per kWh 0.65865 x factor, per MJ 0.65865 x (1 - factor) / 5."""
    r = run(write_system(tmp_path, chp()), mode)
    heat_factor = 1 - electricity_factor
    np.testing.assert_allclose(
        values(r, "factors", "process", "product"),
        [[1.0, 0, 0], [0, electricity_factor, heat_factor]],
        rtol=RTOL,
    )
    kwh, mj = CHP_RUN * electricity_factor, CHP_RUN * heat_factor / 5
    np.testing.assert_allclose([kwh, mj], [per_kwh, per_mj], rtol=RTOL)  # the comment's figures
    np.testing.assert_allclose(values(r, "score", "functional_unit"), [kwh, mj], rtol=RTOL)
    np.testing.assert_allclose(values(r, "per_product", "product_to"), [0.0096, kwh, mj], rtol=RTOL)
    # A: 10 MJ gas x factor per kWh, and 10 x (1 - factor) / 5 per MJ of heat
    np.testing.assert_allclose(
        values(r, "A", "product", "product_to")[0],
        [0, 10 * electricity_factor, 2 * heat_factor],
        rtol=RTOL,
    )
    # the inventory of one kWh: N2O only from the CHP plant, 0.00001 x factor
    inv = values(r, "inventory", "flow", "functional_unit")[:, 0]
    f = electricity_factor
    np.testing.assert_allclose(inv, [0.56 * f + 0.04 * f, 0.002 * f, 0.00001 * f], rtol=RTOL)


def test_substitution_worked_example(tmp_path: Path) -> None:
    """System expansion: the CHP plant delivers electricity; its 5 MJ of heat displace heat
    from a gas boiler (1.25 MJ gas and 0.07 kg CO2 per MJ).

    Heat from the boiler: 0.07 + 1.25 x 0.0096 = 0.082 kg CO2e/MJ. Electricity: the whole CHP
    run, 0.65865, less the displaced heat, 5 x 0.082 = 0.41: 0.24865 kg CO2e/kWh.
    Supply for 1 kWh: 1 CHP run, -5 MJ of boiler heat, 10 - 5 x 1.25 = 3.75 MJ of gas.
    Inventory: CO2 = 0.56 + 3.75 x 0.004 - 5 x 0.07 = 0.225; CH4 = 3.75 x 0.0002 = 0.00075;
    N2O = 0.00001; score = 0.225 + 0.021 + 0.00265 = 0.24865.
    """
    r = run(write_system(tmp_path, chp(boiler=True)), "substitution")
    np.testing.assert_allclose(values(r, "factors", "process", "product"), np.eye(3), rtol=RTOL)
    a = values(r, "A", "product", "product_to")
    np.testing.assert_allclose(a, [[0.0, 10, 1.25], [0.0, 0, 0], [0.0, -5, 0]], rtol=RTOL)
    np.testing.assert_allclose(
        values(r, "score", "functional_unit"), [CHP_RUN - 5 * 0.082, 0.082], rtol=RTOL
    )
    np.testing.assert_allclose(
        values(r, "supply", "product", "functional_unit")[:, 0], [3.75, 1, -5], rtol=RTOL
    )
    np.testing.assert_allclose(
        values(r, "inventory", "flow", "functional_unit")[:, 0],
        [0.225, 0.00075, 0.00001],
        rtol=RTOL,
    )
    np.testing.assert_allclose(values(r, "score", "functional_unit")[0], 0.24865, rtol=RTOL)


def test_a_processes_block_binds_to_the_method(write_model: Any) -> None:
    """The tables of a `processes:` block (amounts with units, emissions in g or kg) are the
    method's inputs: the substitution example again, 0.24865 kg CO2e per kWh."""
    path = write_model(
        """
        carbon: 1
        model: chp-processes
        dimensions:
          functional_unit: [kWh]
        processes:
          gas_supply:
            products: {gas: 1 MJ}
            emissions: {CO2: 4 g, CH4: 0.2 g}
          chp:
            products: {electricity: 1 kWh, heat: 5 MJ}
            inputs: {gas: 10 MJ}
            emissions: {CO2: 0.56 kg, N2O: 0.01 g}
          boiler:
            products: {heat: 1 MJ}
            inputs: {gas: 1.25 MJ}
            emissions: {CO2: 0.07 kg}
        data:
          gas_of: {dims: [flow, gas], values: {CO2: {CO2: 1}, CH4: {CH4: 1}, N2O: {N2O: 1}}, fill: 0}
          demand: {dims: [product, functional_unit], values: {electricity: {kWh: 1}}, fill: 0}
        import:
          lca:
            from: stdlib:lca/footprint
            with: {technosphere_in: processes.technosphere_in,
                   technosphere_out: processes.technosphere_out, reference: processes.reference,
                   biosphere: processes.biosphere, mass: 0, energy: 0, price: 0,
                   explicit_factors: 0, demand: demand, gas_of: gas_of}
        outputs: [lca.score, lca.per_product]
        """
    )
    r = run(path, "substitution")
    np.testing.assert_allclose(r["lca.score"].values, [0.24865], rtol=RTOL)
    np.testing.assert_allclose(
        values(r, "per_product", "product_to"), [0.0096, 0.24865, 0.082], rtol=RTOL
    )


# -- random systems against bw2calc -----------------------------------------------------------

FLOWS = {  # flow -> (gas, probability a process emits it, low, high)
    "CO2_fossil": ("CO2", 0.9, 0.0, 2.0),
    "CO2_uptake": ("CO2", 0.2, -0.8, 0.0),  # a removal: negative
    "CH4": ("CH4", 0.5, 0.0, 0.01),
    "N2O": ("N2O", 0.3, 0.0, 0.001),
    "water": (None, 0.5, 0.0, 5.0),  # uncharacterised
}


def _f32(x: float) -> float:
    """A float32-representable amount: stats_arrays stores distribution parameters (and the
    amounts of certain entries in a Monte Carlo run) in float32."""
    return float(np.float32(x))


def random_system(seed: int, n: int, substitution: bool) -> System:
    """``n`` processes with loops, self-consumption and multi-output processes.

    Allocation modes: co-products are products of their own (each delivered by one process).
    Substitution: a co-product is another process's reference product, which it displaces.
    """
    rng = np.random.default_rng(seed)
    procs = [f"P{j:02d}" for j in range(n)]
    refs = [f"p{j:02d}" for j in range(n)]
    products = list(refs)
    tout = {(refs[j], procs[j]): _f32(rng.uniform(0.5, 2.0)) for j in range(n)}
    multi = [int(j) for j in rng.choice(n, size=max(1, n // 4), replace=False)]
    for j in multi:
        if substitution:
            k = int(rng.choice([k for k in range(n) if k != j]))
            tout[(refs[k], procs[j])] = _f32(rng.uniform(0.05, 0.3))
        else:
            for m in range(int(rng.integers(1, 3))):
                co = f"c{j:02d}{m}"
                products.append(co)
                tout[(co, procs[j])] = _f32(rng.uniform(0.1, 1.0))
    tin: dict[Cell, float] = {}
    for j in range(n):
        for i in rng.choice(len(products), size=int(rng.integers(1, 5)), replace=False):
            tin[(products[int(i)], procs[j])] = _f32(rng.uniform(0.01, 0.3))
    for j in rng.choice(n, size=max(1, n // 6), replace=False):  # self-consumption
        tin[(refs[int(j)], procs[int(j)])] = _f32(0.05 * tout[(refs[int(j)], procs[int(j)])])
    bio: dict[Cell, float] = {}
    for j in range(n):
        for flow, (_, p, low, high) in FLOWS.items():
            if rng.uniform() < p:
                bio[(flow, procs[j])] = _f32(rng.uniform(low, high))
    props = {
        p: (_f32(rng.uniform(0.5, 3)), _f32(rng.uniform(1, 50)), _f32(rng.uniform(0.1, 5)))
        for p in products
    }
    for j in range(n):  # single-output processes need no property: leave some unknown
        if j not in multi and rng.uniform() < 0.3:
            props[refs[j]] = (0.0, 0.0, 0.0)
    explicit: dict[Cell, float] = {}
    for j in range(n):
        outs = [p for (p, q) in tout if q == procs[j]]
        if len(outs) > 1:
            for out, share in zip(outs, rng.dirichlet(np.ones(len(outs))), strict=True):
                explicit[(procs[j], out)] = float(share)
        elif rng.uniform() < 0.5:
            explicit[(procs[j], outs[0])] = 1.0  # given, or left out (1 by default)
    fu_products = rng.choice(len(products), size=3, replace=False)
    demand = {
        (products[int(fu_products[0])], "fu1"): 1.0,
        (products[int(fu_products[1])], "fu2"): _f32(rng.uniform(1, 10)),
        (products[int(fu_products[2])], "fu2"): _f32(rng.uniform(1, 10)),
    }
    s = System(
        processes=procs,
        products=products,
        flows=list(FLOWS),
        tin=tin,
        tout=tout,
        ref=dict(zip(procs, refs, strict=True)),
        bio=bio,
        props=props,
        demand=demand,
        gas_of={k: g for k, (g, *_) in FLOWS.items() if g is not None},
        explicit=explicit,
    )
    # a productive system under every mode it is run with: halve the inputs until the
    # spectral radius of A is below 0.8
    modes = ("substitution",) if substitution else MODES
    while max(max(abs(np.linalg.eigvals(dense_a(s, m)))) for m in modes) >= 0.8:
        s.tin = {c: _f32(v / 2) for c, v in s.tin.items()}
    return s


def factors(s: System, mode: str) -> dict[Cell, float]:
    """Allocation factors (process, product) by the definitions, independently of carbonc."""
    out: dict[Cell, float] = {}
    for proc in s.processes:
        outs = {p: v for (p, q), v in s.tout.items() if q == proc}
        if mode == "substitution":
            out[(proc, s.ref[proc])] = 1.0
        elif len(outs) == 1:
            out[(proc, next(iter(outs)))] = 1.0
        elif mode == "explicit":
            out |= {(proc, p): s.explicit[(proc, p)] for p in outs}
        else:
            k = MODES.index(mode)
            w = {p: v * s.props[p][k] for p, v in outs.items()}
            out |= {(proc, p): w[p] / sum(w.values()) for p in outs}
    return out


def providers(s: System, mode: str) -> dict[str, str]:
    """product -> its provider process."""
    if mode == "substitution":
        return {p: q for q, p in s.ref.items()}
    return {p: q for (p, q) in s.tout}


def dense_a(s: System, mode: str) -> np.ndarray:
    """A by the textbook definition (used only to keep generated systems productive)."""
    idx = {p: i for i, p in enumerate(s.products)}
    f, prov = factors(s, mode), providers(s, mode)
    a = np.zeros((len(s.products), len(s.products)))
    for p, q in prov.items():
        scale = f.get((q, p), 0.0) / s.tout[(p, q)]
        for (i, q2), v in s.tin.items():
            if q2 == q:
                a[idx[i], idx[p]] += v * scale
        if mode == "substitution":
            for (i, q2), v in s.tout.items():
                if q2 == q and i != p:
                    a[idx[i], idx[p]] -= v * scale
    return a


@dataclass
class Brightway:
    """A system as bw_processing data packages, with the ids bw2calc knows it by."""

    packages: list[object]
    product_id: dict[str, int]
    flow_id: dict[str, int]
    activity_of: dict[str, int]  # product -> the activity delivering it
    output_of: dict[str, float]  # product -> amount one run of that activity delivers


def _distribution(form: str, amount: float) -> tuple[int, float, float]:
    """stats_arrays (type, loc, scale) of one of the carbonc forms these tests use."""
    if form.startswith("lognormal(gsd="):
        gsd = float(form.removeprefix("lognormal(gsd=").removesuffix(")"))
        return 2, math.log(abs(amount)), math.log(gsd)  # Brightway: loc = ln(median)
    if form.startswith("normal(sd="):
        return 3, amount, float(form.removeprefix("normal(sd=").removesuffix(")"))
    assert not form, form
    return 0, amount, math.nan


def brightway(s: System, mode: str, seed: int = 0) -> Brightway:
    """The square system bw2calc solves: under allocation, one virtual activity per product
    (its process's inputs and flows times the product's factor, delivering the product's
    amount); under substitution, one activity per process, its co-products as positive
    technosphere entries in other products' rows (Brightway's substitution). Technosphere,
    biosphere and characterisation are separate data packages with their own seeds: a shared
    seed would give the uncertain entries of the two matrices the same random streams."""
    import bw_processing as bwp

    product_id = {p: 1 + i for i, p in enumerate(s.products)}
    flow_id = {k: 10_000 + i for i, k in enumerate(s.flows)}
    prov = providers(s, mode)
    tech: list[tuple[int, int, float, bool, str]] = []
    bio: list[tuple[int, int, float, bool, str]] = []
    activity_of: dict[str, int] = {}
    output_of: dict[str, float] = {}
    if mode == "substitution":
        for proc, p in s.ref.items():
            activity_of[p], output_of[p] = product_id[p], s.tout[(p, proc)]
        act = {proc: product_id[p] for proc, p in s.ref.items()}
        for (i, q), v in s.tout.items():
            tech.append(
                (product_id[i], act[q], v, False, s.unc.get(("technosphere_out", i, q), ""))
            )
        for (i, q), v in s.tin.items():
            tech.append((product_id[i], act[q], v, True, s.unc.get(("technosphere_in", i, q), "")))
        for (k, q), v in s.bio.items():
            bio.append((flow_id[k], act[q], v, False, s.unc.get(("biosphere", k, q), "")))
    else:
        assert not s.unc, "uncertain allocated systems are not mapped to Brightway here"
        f = factors(s, mode)
        for p, q in prov.items():
            a = activity_of[p] = product_id[p]
            output_of[p] = s.tout[(p, q)]
            tech.append((product_id[p], a, s.tout[(p, q)], False, ""))
            tech += [
                (product_id[i], a, f[(q, p)] * v, True, "")
                for (i, q2), v in s.tin.items()
                if q2 == q
            ]
            bio += [
                (flow_id[k], a, f[(q, p)] * v, False, "") for (k, q2), v in s.bio.items() if q2 == q
            ]
    packages = []
    for n, (matrix, rows) in enumerate((("technosphere_matrix", tech), ("biosphere_matrix", bio))):
        dp = bwp.create_datapackage(seed=seed + 1 + n)
        dist = np.zeros(len(rows), dtype=bwp.UNCERTAINTY_DTYPE)
        dist["minimum"] = dist["maximum"] = np.nan
        for r, (_, _, v, _, form) in enumerate(rows):
            t, loc, scale = _distribution(form, v)
            dist[r]["uncertainty_type"], dist[r]["loc"], dist[r]["scale"] = t, loc, scale
        dp.add_persistent_vector(
            matrix=matrix,
            indices_array=np.array([(r, c) for r, c, *_ in rows], dtype=bwp.INDICES_DTYPE),
            data_array=np.array([v for _, _, v, *_ in rows]),
            flip_array=np.array([fl for *_, fl, _ in rows], dtype=bool),
            distributions_array=dist,
        )
        packages.append(dp)
    dp = bwp.create_datapackage()
    cf = [(flow_id[k], GWP[g]) for k, g in s.gas_of.items()]
    dp.add_persistent_vector(
        matrix="characterization_matrix",
        indices_array=np.array([(i, i) for i, _ in cf], dtype=bwp.INDICES_DTYPE),
        data_array=np.array([v for _, v in cf]),
    )
    packages.append(dp)
    return Brightway(packages, product_id, flow_id, activity_of, output_of)


def bw_demand(s: System, b: Brightway, unit: str) -> dict[int, float]:
    return {b.product_id[p]: v for (p, u), v in s.demand.items() if u == unit}


def _close(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Agreement to 1e-12 relative (to the largest entry where entries of either sign cancel)."""
    expected = np.asarray(expected, dtype=float)
    atol = RTOL * float(np.abs(expected).max()) if expected.size else 0.0
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=atol, err_msg=what)


CASES = [(1, 5), (2, 12), (3, 23), (4, 40)]


@pytest.mark.parametrize("mode", [*MODES, "substitution"])
@pytest.mark.parametrize(("seed", "n"), CASES)
def test_random_systems_match_bw2calc(tmp_path: Path, mode: str, seed: int, n: int) -> None:
    """Scores, inventories per flow, supply and per-product scores agree with bw2calc to 1e-12."""
    bc = pytest.importorskip("bw2calc")
    s = random_system(seed, n, substitution=mode == "substitution")
    r = run(write_system(tmp_path, s), mode)
    b = brightway(s, mode)
    score = values(r, "score", "functional_unit")
    inventory = values(r, "inventory", "flow", "functional_unit")
    supply = values(r, "supply", "product", "functional_unit")
    lca = bc.LCA(bw_demand(s, b, s.units[0]), data_objs=b.packages)
    lca.lci(factorize=True)
    lca.lcia()
    for u, unit in enumerate(s.units):
        lca.lcia(demand=bw_demand(s, b, unit))
        _close(score[u], lca.score, f"score of {unit}")
        by_flow = np.asarray(lca.inventory.sum(axis=1)).ravel()
        bw_inventory = [
            by_flow[lca.dicts.biosphere[b.flow_id[k]]] if b.flow_id[k] in lca.dicts.biosphere else 0
            for k in s.flows
        ]  # a flow no process emits is not in Brightway's matrix
        _close(inventory[:, u], np.array(bw_inventory), "inventory")
        runs = lca.supply_array[[lca.dicts.activity[b.activity_of[p]] for p in s.products]]
        _close(supply[:, u], runs * np.array([b.output_of[p] for p in s.products]), "supply")
    expected = []
    for p in s.products:
        lca.lcia(demand={b.product_id[p]: 1.0})
        expected.append(lca.score)
    _close(values(r, "per_product", "product_to"), np.array(expected), "per_product")
    # the factors carbonc used are the definitions'
    f = factors(s, mode)
    got = values(r, "factors", "process", "product")
    want = np.array([[f.get((q, p), 0.0) for p in s.products] for q in s.processes])
    _close(got, want, "factors")


# -- Monte Carlo --------------------------------------------------------------------------------

N_MC = 1_000


def uncertain(s: System, seed: int, technosphere: bool = True) -> System:
    """Per-row distributions: lognormals (the amount is the median, as in Brightway) and
    normals, on technosphere inputs and outputs and on elementary flows."""
    rng = np.random.default_rng(seed)
    if technosphere:
        for (p, q), v in s.tin.items():
            u = rng.uniform()
            if u < 0.5:
                s.unc[("technosphere_in", p, q)] = f"lognormal(gsd={rng.choice([1.1, 1.2, 1.3])})"
            elif u < 0.75:  # 5 %: twenty standard deviations above zero
                s.unc[("technosphere_in", p, q)] = f"normal(sd={_f32(0.05 * v)!r})"
        for p, q in s.tout:
            gsd = 1.05 if s.ref[q] == p else 1.2  # co-products (credits) vary more
            s.unc[("technosphere_out", p, q)] = f"lognormal(gsd={gsd})"
    for (k, q), v in s.bio.items():
        if k == "CO2_fossil":
            s.unc[("biosphere", k, q)] = f"lognormal(gsd={rng.choice([1.1, 1.5])})"
        elif k == "CH4" and v > 0:
            s.unc[("biosphere", k, q)] = "lognormal(gsd=2.0)"
        elif k in ("N2O", "CO2_uptake"):
            s.unc[("biosphere", k, q)] = f"normal(sd={_f32(0.3 * abs(v))!r})"
    return s


def _moments(x: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, SD and their standard errors (the SD's from the sample kurtosis)."""
    n = len(x)
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    kurtosis = float(((x - mean) ** 4).mean()) / float(((x - mean) ** 2).mean()) ** 2
    return mean, sd, sd / math.sqrt(n), sd * math.sqrt((kurtosis - 1) / (4 * n))


def carbonc_samples(path: Path, seed: int) -> np.ndarray:
    """(samples, functional units) of the score."""
    r = run(
        path, "substitution", uncertainty=Uncertainty(samples=N_MC, seed=seed, keep_samples=True)
    )
    x = np.asarray(r.samples["lca.score"])
    assert x.shape == (N_MC, 2)
    return x


def bw2calc_samples(s: System, seed: int) -> np.ndarray:
    """(samples, functional units) of bw2calc's score, drawing from the same distributions."""
    bc = pytest.importorskip("bw2calc")
    b = brightway(s, "substitution", seed=seed)
    lca = bc.LCA(bw_demand(s, b, "fu1"), data_objs=b.packages, use_distributions=True)
    lca.lci()
    lca.lcia()
    out = np.empty((N_MC, 2))
    for i in range(N_MC):
        if i:
            next(lca)  # a new draw of every uncertain matrix entry
        for u, unit in enumerate(s.units):
            lca.lcia(demand=bw_demand(s, b, unit))
            out[i, u] = lca.score
    return out


def test_monte_carlo_agrees_with_bw2calc(tmp_path: Path) -> None:
    """Uncertain inputs, outputs (credits) and flows of a looped system with substitution:
    carbonc's mean and SD of the score agree with bw2calc's within 3 standard errors."""
    s = uncertain(random_system(5, 15, substitution=True), seed=5)
    assert len(s.unc) > 40
    ours, theirs = carbonc_samples(write_system(tmp_path, s), seed=3), bw2calc_samples(s, seed=7)
    for u in range(2):
        m1, sd1, se_m1, se_sd1 = _moments(ours[:, u])
        m2, sd2, se_m2, se_sd2 = _moments(theirs[:, u])
        assert abs(m1 - m2) < 3 * math.hypot(se_m1, se_m2), (u, m1, m2)
        assert abs(sd1 - sd2) < 3 * math.hypot(se_sd1, se_sd2), (u, sd1, sd2)
        assert sd1 > 0.02 * abs(m1)  # the comparison is not of two constants


def test_monte_carlo_matches_exact_moments(tmp_path: Path) -> None:
    """Uncertain elementary flows only: the score is linear in them, so its mean and SD are
    exact: a lognormal(gsd) with median m has mean m exp(s^2 / 2) and variance
    m^2 exp(s^2) (exp(s^2) - 1), s = ln gsd. Both carbonc and bw2calc agree within 3 SE, and
    the deterministic score is the one at the medians (below the mean)."""
    s = uncertain(random_system(6, 20, substitution=True), seed=6, technosphere=False)
    path = write_system(tmp_path, s)
    det = run(path, "substitution")
    supply = values(det, "supply", "product", "functional_unit")
    runs = {q: supply[s.products.index(p)] / s.tout[(p, q)] for q, p in s.ref.items()}
    mean, var = np.zeros(2), np.zeros(2)
    for (k, q), v in s.bio.items():
        if k not in s.gas_of:
            continue
        c = GWP[s.gas_of[k]] * runs[q]
        form = s.unc.get(("biosphere", k, q), "")
        if form.startswith("lognormal"):
            sig2 = math.log(float(form[len("lognormal(gsd=") : -1])) ** 2
            mean += c * v * math.exp(sig2 / 2)
            var += (c * v) ** 2 * math.exp(sig2) * (math.exp(sig2) - 1)
        else:
            mean += c * v
            var += (c * float(form[len("normal(sd=") : -1])) ** 2 if form else 0
    assert (values(det, "score", "functional_unit") < mean).all()
    for x in (carbonc_samples(path, seed=4), bw2calc_samples(s, seed=8)):
        for u in range(2):
            m, sd, se_m, se_sd = _moments(x[:, u])
            assert abs(m - mean[u]) < 3 * se_m, (u, m, mean[u])
            assert abs(sd - math.sqrt(var[u])) < 3 * se_sd, (u, sd, math.sqrt(var[u]))


# -- wrong allocations fail the named assertion -------------------------------------------------

SUMS_TO_ONE = "sum(factors, over=product) == 1 within 1e-9"
PROPERTY = "technosphere_out == 0 or n_outputs == 1 or basis > 0"
ONE_PROVIDER = "sum(provides, over=process) == 1"


def failures(path: Path, mode: str) -> dict[str, tuple[str, str]]:
    """The failed assertions of a run: formula -> (message, where)."""
    with pytest.raises(CarbonError) as exc:
        run(path, mode)
    out = {}
    for d in exc.value.diagnostics:
        assert d.code == "E1001", d
        assert d.span is not None and str(d.span.file).endswith("lca/footprint.carbon")
        out[d.message.removeprefix("assertion failed: ")] = (" ".join(d.help.split()), d.notes[0])
    return out


def _at(where: str, **labels: str) -> bool:
    """Whether a failure note names these labels (in any order)."""
    return all(f"{k}={v}" in where for k, v in labels.items())


def test_factors_not_summing_to_one_fail(tmp_path: Path) -> None:
    s = chp()
    s.explicit[("chp", "heat")] = 0.3  # 0.6 + 0.3 = 0.9
    failed = failures(write_system(tmp_path, s), "explicit")
    assert list(failed) == [SUMS_TO_ONE]
    message, where = failed[SUMS_TO_ONE]
    assert message == "the allocation factors of each process must sum to 1 over its outputs"
    assert "process=chp" in where and "0.9" in where


def test_a_factor_for_a_product_not_delivered_fails(tmp_path: Path) -> None:
    s = chp()
    s.explicit[("gas_supply", "heat")] = 0.5  # gas_supply delivers only gas
    failed = failures(write_system(tmp_path, s), "explicit")
    assert "factors == 0 or technosphere_out > 0" in failed
    assert _at(
        failed["factors == 0 or technosphere_out > 0"][1], process="gas_supply", product="heat"
    )
    assert SUMS_TO_ONE in failed  # 1 (gas) + 0.5 (heat)


@pytest.mark.parametrize(("mode", "column"), [("mass", 0), ("energy", 1), ("economic", 2)])
def test_a_co_product_without_the_property_fails(tmp_path: Path, mode: str, column: int) -> None:
    """Slag has no mass, energy or price: the furnace's outputs cannot be partitioned."""
    s = steel()
    props = list(s.props["slag"])
    props[column] = 0.0
    s.props["slag"] = (props[0], props[1], props[2])
    s.props["steel"] = (1.0, 20.0, 0.8)
    failed = failures(write_system(tmp_path, s), mode)
    message, where = failed[PROPERTY]
    assert message == (
        "every co-product of a multi-output process needs a positive value of the property "
        "the allocation choice partitions by (mass, energy or price)"
    )
    assert _at(where, product="slag", process="furnace")
    assert "electricity" not in where  # a single-output process needs no property


def test_allocation_needs_one_provider_per_product(tmp_path: Path) -> None:
    """With allocation, heat from both the CHP plant and the boiler has two providers; with
    substitution, slag (a co-product nobody has as reference product) has none."""
    failed = failures(write_system(tmp_path / "a", chp(boiler=True)), "energy")
    assert list(failed) == [ONE_PROVIDER]
    assert failed[ONE_PROVIDER][0].startswith("every product needs exactly one provider")
    assert "product=heat" in failed[ONE_PROVIDER][1]
    failed = failures(write_system(tmp_path / "b", steel()), "substitution")
    assert list(failed) == [ONE_PROVIDER]
    assert "product=slag" in failed[ONE_PROVIDER][1]


def test_substitution_checks_the_reference_products(tmp_path: Path) -> None:
    s = chp(boiler=True)
    s.tout[("heat", "boiler")] = 0.0  # the boiler's reference product is not an output
    s.tout[("gas", "boiler")] = 0.1
    failed = failures(write_system(tmp_path, s), "substitution")
    assert "reference == 0 or technosphere_out > 0" in failed
    assert _at(
        failed["reference == 0 or technosphere_out > 0"][1], product="heat", process="boiler"
    )


def test_signs_are_checked(tmp_path: Path) -> None:
    """A co-product written as a negative input (another convention) is refused."""
    s = steel()
    del s.tout[("slag", "furnace")]
    s.tin[("slag", "furnace")] = -0.25
    failed = failures(write_system(tmp_path, s), "mass")
    assert "technosphere_in >= 0" in failed
