"""Eleven stdlib inventory methods in one model, with no `gas` declared by the model.

Each method declares only the gases it has (`gas: {labels: [...], others: zero}`), so the model's
`gas` is the union of them all, and each method's `emissions` is 0 for the gases it does not
list. The same method imported alone gives the same numbers for its own gases. The activity data
are mostly those of each method's own tests, and the expected values in `METHODS` are quoted from
them (the arithmetic is in those tests' comments); incineration's are worked in the comment above
them.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from carbonc.compiler import load
from carbonc.runtime.results import Result
from tests.conftest import REPO

Writer = Callable[..., Path]


@dataclass(frozen=True)
class Method:
    alias: str
    source: str  # stdlib:...
    gases: tuple[str, ...]  # the gases the method lists
    with_: str  # the `with:` block, indented under the import
    dims: str = ""  # lines under `dimensions:`
    data: str = ""  # lines under `data:`
    expected: tuple[tuple[str, float], ...] = ()  # gas totals (t) from the method's own tests


# EF_clc = 0.65 / 0.5603 x 0.43971 x 1.02 (Eq. 2.4, unrounded; tests/test_ipcc_ippu.py, C1)
CEMENT_CO2 = 950_000 * 0.65 / 0.5603 * 0.43971 * 1.02

METHODS = [
    Method(
        "sc",
        "stdlib:ipcc2006/energy/stationary_combustion",
        ("CO2", "CH4", "N2O"),
        "{fuel_use: sc_fuel}",
        data="""  sc_fuel:
    dims: [source, fuel]
    unit: TJ
    fill: 0
    values: {energy_industries: {other_bituminous_coal: 1000}}
""",
        # 1,000 TJ coal in 1.A.1: CO2 94.6 t/TJ, CH4 1 and N2O 1.5 kg/TJ (test_ipcc_energy_extra)
        expected=(("CO2", 94_600.0), ("CH4", 1.0), ("N2O", 1.5)),
    ),
    Method(
        "road",
        "stdlib:ipcc2006/energy/road_transport",
        ("CO2", "CH4", "N2O"),
        "{fuel_sold: road_fuel}",
        data="""  road_fuel:
    dims: [road_fuel]
    unit: TJ
    fill: 0
    values: {gas_diesel_oil: 1000}
""",
        expected=(("CO2", 74_100.0), ("CH4", 3.9), ("N2O", 3.9)),
    ),
    Method(
        "coal",
        "stdlib:ipcc2006/energy/coal_mining",
        ("CH4",),
        "{coal_production: coal_production}",
        data="""  coal_production:
    dims: [mine_type]
    unit: Mt
    values: {underground: 10, surface: 5}
""",
        expected=(("CH4", 141_705.0),),
    ),
    Method(
        "cement",
        "stdlib:ipcc2006/ippu/cement",
        ("CO2",),
        """
      cement_production: cement_production
      clinker_fraction: cement.clinker_fraction_portland
      clinker_imports: 0 t
      clinker_exports: 0 t
      clinker_production: 0 t""",
        dims="  cement_type: [portland]\n",
        data="  cement_production: {dims: [cement_type], unit: t, values: {portland: 1000000}}\n",
        expected=(("CO2", CEMENT_CO2),),
    ),
    Method(
        "lime",
        "stdlib:ipcc2006/ippu/lime",
        ("CO2",),
        "{lime_production: lime_production}",
        data="""  lime_production:
    dims: [lime_type]
    unit: t
    values:
      high_calcium: 100000
      dolomitic_high_purity: 20000
      dolomitic_low_purity: 10000
      hydraulic: 5000
      unspecified: 50000
""",
        expected=(("CO2", 140_500.0),),
    ),
    Method(
        "al",
        "stdlib:ipcc2006/ippu/aluminium",
        ("CO2", "CF4", "C2F6"),
        "{aluminium_production: al_production}",
        data="""  al_production:
    dims: [technology]
    unit: t
    values: {cwpb: 100000, swpb: 20000, vss: 50000, hss: 30000}
""",
        expected=(("CO2", 328_000.0), ("CF4", 124.0), ("C2F6", 14.9)),
    ),
    Method(
        "ent",
        "stdlib:ipcc2006/afolu/enteric_fermentation",
        ("CH4_nonfossil",),
        "{population: livestock}",
        dims="  livestock_region: [western_europe]\n",
        data="""  livestock:
    dims: [livestock_region, livestock]
    fill: 0
    values: {western_europe: {dairy_cattle: 1000, sheep: 100}}
""",
        # 1,000 x 117 + 100 x 8 kg (test_enteric_and_manure_share_one_population)
        expected=(("CH4_nonfossil", 117.8),),
    ),
    Method(
        "soils",
        "stdlib:ipcc2006/afolu/managed_soils_n2o",
        ("N2O",),
        """
      f_sn: "stack(over=n_field, other_soils=1000000 kg, flooded_rice=200000 kg)"
      f_on: "stack(over=n_field, other_soils=500000 kg, flooded_rice=0 kg)"
      f_cr: "stack(over=n_field, other_soils=300000 kg, flooded_rice=50000 kg)"
      f_som: "stack(over=n_field, other_soils=20000 kg, flooded_rice=0 kg)"
      f_os: organic_soils
      f_prp: prp""",
        data="""  organic_soils:
    dims: [organic_soil]
    unit: ha
    values:
      cropland_grassland_temperate: 1000
      cropland_grassland_tropical: 200
      forest_temperate_boreal_nutrient_rich: 500
      forest_temperate_boreal_nutrient_poor: 300
      forest_tropical: 100
  prp: {dims: [prp_animal], unit: kg, values: {cattle_poultry_pigs: 400000, sheep_other: 100000}}
""",
        expected=(("N2O", 63.297142857142857),),
    ),
    Method(
        "forest",
        "stdlib:ipcc2006/afolu/forest_land",
        ("CO2",),
        """
      area: 1000 ha
      biomass_growth: 4 t/ha/yr
      root_shoot: "forest.root_shoot_default[r_class=temperate_conifer_agb_50_150]"
      carbon_fraction: "forest.carbon_fraction_default[cf_class=default]"
      wood_removals: 1500 m^3/yr
      bcef_r: 0.8 t/m^3
      fuelwood_trees: 0 m^3/yr
      fuelwood_parts: 0 m^3/yr
      wood_density: 0 t/m^3
      disturbance_area: 10 ha/yr
      disturbance_biomass: 100 t/ha
      disturbance_fraction: 1
      volume: 0 m^3/ha
      bcef_s: 0 t/m^3
      inventory_period: 1 yr""",
        dims="  stratum: [conifer]\n",
        # reference case F1: -(2425.2 - 727.56 - 606.3) x 44/12 (test_ipcc_afolu_land)
        expected=(("CO2", -(2425.2 - 727.56 - 606.3) * 44 / 12),),
    ),
    Method(
        "inc",
        "stdlib:ipcc2006/waste/incineration",
        ("CO2", "CH4", "N2O"),
        "{waste: inc_waste}",
        data="  inc_waste: {dims: [waste_type], unit: t, fill: 0, values: {plastics: 1000}}\n",
        # continuous stoker: 1,000 t x dm 1 x CF 0.75 x FCF 1 x OF 1 x 44/12 (Eq. 5.2); CH4 0.2
        # g/t; N2O 50 g/t (Tables 2.4, 5.3, 5.4)
        expected=(("CO2", 2750.0), ("CH4", 0.0002), ("N2O", 0.05)),
    ),
    Method(
        "ww",
        "stdlib:ipcc2006/waste/wastewater",
        ("CH4",),
        """
      population: 1000000
      bod: "ww.bod_default[bod_region=canada_europe_russia_oceania]"
      income_share: ww_share
      utilisation: ww_use
      sludge_removed: 0 kg
      ch4_recovered: 0 kg""",
        data="""  ww_share:
    dims: [income_group]
    values: {rural: 0.3, urban_high_income: 0.5, urban_low_income: 0.2}
  ww_use:
    dims: [income_group, wastewater_pathway]
    fill: 0
    values:
      rural: {latrine_dry_family: 0.4, septic_system: 0.3, sea_river_lake: 0.3}
      urban_high_income: {aerobic_plant_well_managed: 0.8, septic_system: 0.2}
      urban_low_income: {stagnant_sewer: 0.5, latrine_dry_communal: 0.5}
""",
        expected=(("CH4", 3_002.49),),
    ),
]
UNION = {"CO2", "CH4", "N2O", "CF4", "C2F6", "CH4_nonfossil"}


def _model(name: str, methods: list[Method], gwp: bool) -> str:
    """A model importing `methods` (and stdlib:gwp), binding their inputs; `gas` undeclared."""
    lines = ["carbon: 1", f"model: {name}", "import:"]
    for m in methods:
        sep = "" if m.with_.startswith("\n") else " "
        lines += [f"  {m.alias}:", f"    from: {m.source}", f"    with:{sep}{m.with_}"]
    if gwp:
        lines.append("  gwp: stdlib:gwp")
    dims = "".join(m.dims for m in methods)
    data = "".join(m.data for m in methods)
    text = "\n".join(lines) + "\n"
    text += f"dimensions:\n{dims}" if dims else ""
    text += f"data:\n{data}" if data else ""
    text += "rules:\n"
    for m in methods:
        text += f'  e_{m.alias}: {{expr: "{m.alias}.emissions", unit: t}}\n'
        if gwp:
            text += (
                f'  co2e_{m.alias}: {{expr: "sum({m.alias}.emissions * gwp.factor)", '
                "unit: t CO2e}\n"
            )
    if gwp:
        total = " + ".join(f"sum({m.alias}.emissions * gwp.factor)" for m in methods)
        text += f'  total_co2e: {{expr: "{total}", unit: t CO2e}}\n'
    return text


def _ar5_gwp100() -> dict[str, float]:
    path = REPO / "stdlib" / "gwp" / "gwp.csv"
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    rows = csv.DictReader(lines)
    return {r["gas"]: float(r["gwp"]) for r in rows if r["metric"] == "AR5_GWP100"}


def _by_gas(result: Result) -> dict[str, float]:
    """A result's values summed over every dim but `gas`."""
    at = result.dims.index("gas")
    out: dict[str, float] = {}
    for key, value in result.rows():
        out[key[at]] = out.get(key[at], 0.0) + float(value)
    return out


def test_eleven_methods_in_one_model_take_the_union_of_their_gases(write_model: Writer) -> None:
    model = load(write_model(_model("combined", METHODS, gwp=True), name="combined.carbon"))
    labels = model.dims["gas"].labels
    assert set(labels) == UNION and len(labels) == len(UNION)
    r = model.run()

    gwp = _ar5_gwp100()
    total = 0.0
    for m in METHODS:
        alone_model = load(
            write_model(_model(f"alone-{m.alias}", [m], gwp=False), f"{m.alias}.carbon")
        )
        assert alone_model.dims["gas"].labels == m.gases, m.alias  # alone: only its own gases
        alone = dict(alone_model.run()[f"e_{m.alias}"].rows())

        result = r[f"e_{m.alias}"]
        assert result.labels["gas"] == labels
        at = result.dims.index("gas")
        got = dict(result.rows())
        assert len(got) == len(alone) * len(UNION) // len(m.gases)
        for key, value in got.items():
            if key[at] in m.gases:  # as when imported alone
                assert value == pytest.approx(alone[key], rel=1e-12, abs=0), (m.alias, key)
            else:  # a gas of the other methods: exactly +0
                assert value == 0.0 and not np.signbit(value), (m.alias, key)

        by_gas = _by_gas(result)
        for gas, value in m.expected:
            assert by_gas[gas] == pytest.approx(value, rel=1e-12), (m.alias, gas)
        co2e = sum(v * gwp[g] for g, v in by_gas.items())
        assert r[f"co2e_{m.alias}"].item() == pytest.approx(co2e, rel=1e-12), m.alias
        total += co2e

    assert r["total_co2e"].item() == pytest.approx(total, rel=1e-12)
    assert r["total_co2e"].item() == pytest.approx(
        sum(r[f"co2e_{m.alias}"].item() for m in METHODS), rel=1e-12
    )
