"""System boundary and mass cut-off in stdlib:lca/footprint, against figures worked by hand.

Per unit: electricity 0.5 kg CO2/kWh; steel 1,800 + 500 x 0.5 = 2,050 kg/t; copper 4,000 kg/t;
the use phase 1,000 kWh = 500 kg; disposal 20 kg. One item: 10 + 0.1 x 2,050 + 0.0005 x 4,000
+ 500 + 20 = 737 kg cradle to grave; 217 kg cradle to gate (use and end of life cut at the
boundary). The copper is 0.5 kg of the item's 100.5 kg of inputs (0.5 %), so a 1 % mass cut-off
(`--choose cutoff_rule=mass`, the default share) removes its 2 kg: 735 and 215; a 0.1 % share
keeps it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from carbonc.compiler import load

MODEL = """carbon: 1
model: boundary-test
dimensions:
  functional_unit: [one_item]
  stage: [production, use, end_of_life]
choices:
  boundary:
    one_of: [cradle_to_grave, cradle_to_gate]
    default: cradle_to_grave
    cite: "ISO 14044:2006, Sec. 4.2.3.3 (system boundary)"
processes:
  steel_making: {products: {steel: 1 t}, inputs: {electricity: 500 kWh}, emissions: {CO2: 1.8 t}, stage: production}
  power: {products: {electricity: 1 kWh}, emissions: {CO2: 0.5 kg}, stage: production}
  copper_making: {products: {copper: 1 t}, emissions: {CO2: 4 t}, stage: production}
  item_making:
    products: {item: 1 piece}
    inputs: {steel: 0.1 t, copper: 0.5 kg, use_phase: 1 piece, disposal: 1 piece}
    emissions: {CO2: 10 kg}
    stage: production
  use_phase: {products: {use_phase: 1 piece}, inputs: {electricity: 1000 kWh}, stage: use}
  disposal: {products: {disposal: 1 piece}, emissions: {CO2: 20 kg}, stage: end_of_life}
data:
  demand: {dims: [product, functional_unit], fill: 0, values: {item: {one_item: 1}}}
  gas_of: {dims: [flow, gas], fill: 0, values: {CO2: {CO2: 1}}}
  mass: {dims: [product], fill: 0, values: {steel: 1000, copper: 1000}, description: kg per unit}
  gate_stages: {dims: [stage], fill: 0, values: {production: 1}}
import:
  lca:
    from: stdlib:lca/footprint
    with: {technosphere_in: processes.technosphere_in, technosphere_out: processes.technosphere_out,
           reference: processes.reference, biosphere: processes.biosphere, mass: mass, energy: 0,
           price: 0, explicit_factors: 0, demand: demand, gas_of: gas_of}
override:
  lca.in_boundary:
    expr: |
      match choice.boundary {
        cradle_to_gate => sum(processes.stage * gate_stages, over=stage),
        _              => super
      }
    because: "ISO 14044 Sec. 4.2.3.3: the goal of the study sets the boundary"
outputs: [lca.score, lca.cut_off_inputs]
"""

FINER = """carbon: 1
model: boundary-test-finer-cutoff
extends: m.carbon
override:
  lca.cutoff:
    expr: "0.001"
    because: "a PCR with a 0.1 % mass cut-off keeps the copper (0.5 %)"
"""


@pytest.mark.parametrize(
    ("file", "boundary", "rule", "score", "left_out"),
    [
        ("m.carbon", "cradle_to_grave", "none", 737.0, 0),
        ("m.carbon", "cradle_to_gate", "none", 217.0, 1),  # the use phase's electricity
        ("m.carbon", "cradle_to_grave", "mass", 735.0, 1),  # the copper
        ("m.carbon", "cradle_to_gate", "mass", 215.0, 2),
        ("finer.carbon", "cradle_to_grave", "mass", 737.0, 0),
    ],
)
def test_boundary_and_cutoff_match_hand_figures(
    tmp_path: Path, file: str, boundary: str, rule: str, score: float, left_out: int
) -> None:
    (tmp_path / "m.carbon").write_text(MODEL)
    (tmp_path / "finer.carbon").write_text(FINER)
    r = load(tmp_path / file).run(choose={"boundary": boundary, "cutoff_rule": rule})
    assert r["lca.score"].array.values.reshape(-1)[0] == pytest.approx(score, rel=1e-12)
    assert r["lca.cut_off_inputs"].item() == left_out
    overrides = {o["target"] for o in r.provenance["overrides"]}
    assert "lca.in_boundary" in overrides
    assert ("lca.cutoff" in overrides) == (file == "finer.carbon")
