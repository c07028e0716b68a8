"""Carbon tracing: the supply-chain tree of an LCA footprint, against a direct computation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from carbonc.compiler import load
from carbonc.compiler.cli import main
from carbonc.runtime.trace import supply_tree

MODEL = """
carbon: 1
model: lca-trace
processes:
  steel_making:
    products: {steel: 1 t}
    inputs: {electricity: 500 kWh, transport: 300 t km}
    emissions: {CO2: 1.8 t, CH4_fossil: 0.5 kg}
  power:
    products: {electricity: 1 MWh}
    inputs: {steel: 0.0002 t, electricity: 0.05 MWh}
    emissions: {CO2: 0.6 t}
  trucking:
    products: {transport: 1000 t km}
    emissions: {CO2: 80 kg}
dimensions:
  functional_unit: [one_mwh, one_tonne_steel]
  gas: [CO2, CH4_fossil]
data:
  demand:
    dims: [product, functional_unit]
    fill: 0
    values: {electricity: {one_mwh: 1}, steel: {one_tonne_steel: 1}}
  gas_of: {dims: [flow, gas], fill: 0, values: {CO2: {CO2: 1}, CH4_fossil: {CH4_fossil: 1}}}
  zero: {dims: [product], values: 0}
import:
  lca:
    from: stdlib:lca/footprint
    with:
      technosphere_in: processes.technosphere_in
      technosphere_out: processes.technosphere_out
      reference: processes.reference
      biosphere: processes.biosphere
      mass: zero
      energy: zero
      price: zero
      explicit_factors: 0
      demand: demand
      gas_of: gas_of
rules:
  score: "lca.score"
outputs: [score]
"""

# products in order of appearance: steel, electricity, transport
A = np.array([[0.0, 0.0002, 0.0], [0.5, 0.05, 0.0], [300.0, 0.0, 0.0]])


def _direct(gwp_ch4: float) -> np.ndarray:
    return np.array([1800.0 + 0.5 * gwp_ch4, 600.0, 80.0 / 1000.0])


def test_score_and_tree_match_a_direct_solve(write_model: Callable[..., Path]) -> None:
    model = load(write_model(MODEL))
    gwp = model.run(outputs=["lca.characterisation"])["lca.characterisation"]["CH4_fossil"]
    direct = _direct(gwp)
    per_unit = direct @ np.linalg.inv(np.eye(3) - A)  # only in the test: an independent answer
    r = model.run()
    assert r["score"]["one_tonne_steel"] == pytest.approx(per_unit[0], rel=1e-12)
    assert r["score"]["one_mwh"] == pytest.approx(per_unit[1], rel=1e-12)
    unit, nodes = model.trace("lca", "one_tonne_steel", cutoff=0.001)
    assert unit == "one_tonne_steel"
    assert [(n.depth, n.product) for n in nodes] == [
        (0, "steel"),
        (1, "electricity"),
        (2, "electricity"),
        (1, "transport"),
    ]
    assert nodes[0].cumulative == pytest.approx(per_unit[0], rel=1e-12)
    assert nodes[1].amount == pytest.approx(0.5) and nodes[1].direct == pytest.approx(300.0)
    assert nodes[1].cumulative == pytest.approx(0.5 * per_unit[1], rel=1e-12)


def test_untruncated_tree_adds_up_to_the_footprint() -> None:
    """With no cut-off on an acyclic system, the direct emissions of the tree are the total."""
    a = np.array([[0.0, 0.0, 0.0], [0.4, 0.0, 0.0], [2.0, 0.3, 0.0]])
    direct = np.array([5.0, 2.0, 0.1])
    per_unit = direct @ np.linalg.inv(np.eye(3) - a)
    nodes = supply_tree(a, direct, per_unit, np.array([1.0, 0, 0]), ("x", "y", "z"), cutoff=0)
    assert sum(n.direct for n in nodes) == pytest.approx(per_unit[0], rel=1e-12)


def test_trace_cli(write_model: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    path = write_model(MODEL)
    assert main(["trace", str(path), "--lca", "lca", "--unit", "one_mwh"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "supply chain of functional unit `one_mwh`:"
    assert out[2].split()[0] == "electricity"
    assert main(["trace", str(path), "--lca", "nope"]) == 1
    assert "E1217" in capsys.readouterr().err


def test_stages_and_counted_products(write_model: Callable[..., Path]) -> None:
    """`stage:` becomes `processes.stage`; a counted product is measured in pieces."""
    model = load(
        write_model(
            """
            carbon: 1
            model: stages
            processes:
              turbine_making:
                products: {turbine: 1 piece}
                inputs: {steel: 300 t}
                emissions: {CO2: 5 t}
                stage: manufacturing
              steel_making:
                products: {steel: 1 t}
                emissions: {CO2: 1.8 t}
                stage: materials
              wind_farm:
                products: {electricity: 1 GWh}
                inputs: {turbine: 0.00005 piece}
                stage: operation
            rules:
              stage_of: "processes.stage"
              turbines_per_gwh: "processes.technosphere_in[product=turbine, process=wind_farm]"
            """
        )
    )
    r = model.run()
    stage = r["stage_of"]
    assert stage.labels["stage"] == ("manufacturing", "materials", "operation")
    assert stage["materials", "steel_making"] == 1 and stage["materials", "wind_farm"] == 0
    assert r["turbines_per_gwh"].item() == pytest.approx(5e-5)
