"""The natural account (stdlib:natural/...): fires on unmanaged land, natural wetland CH4, the
unmanaged-forest sink and external fluxes, through .carbon models.

Every worked example below is hand-computed from the method's equation and its default tables;
the arithmetic is in the comments. Reference cases B1 (Eq. 2.27) and F1 (Eq. 2.9/2.10, gain term)
come from ../shared/data/reference_cases. bonsai-ipcc 0.3.2 implements none of these equations
(no biomass burning, wetland or forest-land module), so there is no cross-check against it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from carbonc.compiler import load
from carbonc.compiler.api import Uncertainty
from carbonc.runtime.results import Result
from tests.conftest import REPO, reference_cases

NATURAL = REPO / "stdlib" / "natural"
METHODS = ["unmanaged_fires", "wetlands_ch4", "unmanaged_forest_sink", "external_fluxes"]
# The gases each method lists (`gas: {labels: [...], others: zero}`); 0 for the model's others.
GASES = {
    "unmanaged_fires": ("CO2", "CH4", "N2O"),
    "wetlands_ch4": ("CH4",),
    "unmanaged_forest_sink": ("CO2",),
    "external_fluxes": ("CO2", "CH4", "N2O"),
}
Writer = Callable[..., Path]


def _by(result: Result) -> dict[tuple[str, ...], float]:
    """A result's values keyed by their labels."""
    return dict(result.rows())


# -- the methods on their own -------------------------------------------------------------------


@pytest.mark.parametrize("name", METHODS)
def test_method_checks_on_its_own_and_is_labelled_natural(name: str) -> None:
    """Each method compiles and its data validates with `region` left open (`carbonc check`), and
    its description says it is a natural flux outside the IPCC inventory. Its `gas` lists only
    the gases it estimates, with the others of a combined model 0 (`others: zero`)."""
    path = NATURAL / f"{name}.carbon"
    model = load(path)
    model.check_data()
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert spec["description"].startswith("Natural flux (not part of the IPCC inventory): ")
    gas = model.dims["gas"]
    assert gas.labels == GASES[name] and gas.decl.others_zero
    assert model.checked.ir["emissions"].dims == ("region", "gas")
    assert model.checked.ir["by_gas"].dims == ("gas",)
    assert spec["rules"]["emissions"]["unit"] == "t"


def test_example_inversion_csv_is_small_and_marked_invented() -> None:
    text = (NATURAL / "example_inversion_fluxes.csv").read_text(encoding="utf-8")
    assert len(text.encode()) < 1024
    assert text.startswith("# INVENTED EXAMPLE DATA")


# -- fires on unmanaged land (Eq. 2.27 form) ----------------------------------------------------

FIRES = """
carbon: 1
model: fires-test
import:
  fires: {{from: stdlib:natural/unmanaged_fires, with: {{burned_area: burned}}}}
dimensions:
  region: [A, B]
data:
  burned:
    dims: [region, fire_vegetation]
    unit: ha
    fill: 0
    values: {{A: {{savanna_grassland: 1000, boreal_forest: 200}}, B: {{tropical_peatland: 50}}}}
rules:
  emissions: {{expr: "fires.emissions", unit: t}}
  by_gas: {{expr: "fires.by_gas", unit: t}}
  memo: {{expr: "fires.co2_regrowing_within_a_year", unit: t}}
  burned_dm: {{expr: "sum(fires.biomass_burned, over=fire_vegetation)", unit: t}}
{extra}
"""

# Worked example, GFED4 factors (default), L = A x (M_B x C_f) x G_ef x 10^-3:
#   A savanna_grassland: 1000 ha x 4.6 t/ha = 4600 t d.m.
#       CO2 4600 x 1686e-3 = 7755.6; CH4 4600 x 1.94e-3 = 8.924; N2O 4600 x 0.2e-3 = 0.92
#   A boreal_forest:     200 ha x 35 t/ha = 7000 t d.m.
#       CO2 7000 x 1489e-3 = 10423; CH4 7000 x 5.96e-3 = 41.72; N2O 7000 x 0.41e-3 = 2.87
#   A: CO2 7755.6 + 10423 = 18178.6; CH4 8.924 + 41.72 = 50.644; N2O 0.92 + 2.87 = 3.79
#   B tropical_peatland:  50 ha x 314 t/ha = 15700 t d.m.
#       CO2 15700 x 1703e-3 = 26737.1; CH4 15700 x 20.8e-3 = 326.56; N2O 15700 x 0.2e-3 = 3.14
#   all regions: CO2 44915.7, CH4 377.204, N2O 6.93
#   memo (vegetation regrowing within a year: savanna_grassland only): A 7755.6, B 0
FIRES_GFED4 = {
    ("A", "CO2"): 18178.6,
    ("A", "CH4"): 50.644,
    ("A", "N2O"): 3.79,
    ("B", "CO2"): 26737.1,
    ("B", "CH4"): 326.56,
    ("B", "N2O"): 3.14,
}


def test_fires_worked_example_gfed4(write_model: Writer) -> None:
    r = load(write_model(FIRES.format(extra=""))).run()
    got = _by(r["emissions"])
    assert set(got) == set(FIRES_GFED4)
    for key, value in FIRES_GFED4.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key
    assert _by(r["by_gas"]) == pytest.approx(
        {("CO2",): 44915.7, ("CH4",): 377.204, ("N2O",): 6.93}, rel=1e-12
    )
    assert _by(r["memo"]) == pytest.approx({("A",): 7755.6, ("B",): 0.0}, rel=1e-12, abs=0)
    assert _by(r["burned_dm"]) == pytest.approx({("A",): 11600.0, ("B",): 15700.0}, rel=1e-12)
    assert r.provenance["choices"] == {"fires.ef_set": "gfed4"}


def test_fires_worked_example_ipcc2006_factors(write_model: Writer) -> None:
    """Table 2.5 factors; peat keeps GFED4's PEAT factors (Table 2.5 has no peat row).

    A savanna_grassland (Table 2.5 savanna and grassland): 4600 t x 1613e-3 = 7419.8 CO2,
    x 2.3e-3 = 10.58 CH4, x 0.21e-3 = 0.966 N2O. A boreal_forest (extra-tropical forest):
    7000 t x 1569e-3 = 10983 CO2, x 4.7e-3 = 32.9 CH4, x 0.26e-3 = 1.82 N2O.
    A: CO2 18402.8, CH4 43.48, N2O 2.786. B: as with GFED4 (PEAT).
    """
    r = load(write_model(FIRES.format(extra=""))).run(choose={"ef_set": "ipcc2006"})
    got = _by(r["emissions"])
    expected = {
        **FIRES_GFED4,
        ("A", "CO2"): 18402.8,
        ("A", "CH4"): 43.48,
        ("A", "N2O"): 2.786,
    }
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key


B1_OVERRIDE = """
override:
  fires.fuel_consumption:
    expr: "6 t/ha * 0.77"
    because: "reference case B1: M_B = 6 t d.m./ha (hypothetical), C_f = 0.77"
"""


def test_fires_reproduce_reference_case_b1(write_model: Writer) -> None:
    """B1: 1000 ha of savanna, M_B = 6, C_f = 0.77, Table 2.5 savanna factors (Eq. 2.27):
    CO2 = 1000 x 6 x 0.77 x 1613e-3 = 7452.06 t, CH4 = 4620 x 2.3e-3 = 10.626 t,
    N2O = 4620 x 0.21e-3 = 0.9702 t."""
    exp = reference_cases()
    text = """
carbon: 1
model: fires-b1
import:
  fires: {from: stdlib:natural/unmanaged_fires, with: {burned_area: burned}}
dimensions:
  region: [X]
  fire_vegetation: [savanna_grassland]
data:
  burned: {dims: [region, fire_vegetation], unit: ha, values: {X: {savanna_grassland: 1000}}}
rules:
  co2: {expr: "fires.by_gas[gas=CO2]", unit: t}
  ch4: {expr: "fires.by_gas[gas=CH4]", unit: t}
  n2o: {expr: "fires.by_gas[gas=N2O]", unit: t}
"""
    r = load(write_model(text + B1_OVERRIDE)).run(choose={"ef_set": "ipcc2006"})
    assert r["co2"].item() == pytest.approx(exp[("B1", "CO2")], rel=1e-12)
    assert r["ch4"].item() == pytest.approx(exp[("B1", "CH4")], rel=1e-12)
    assert r["n2o"].item() == pytest.approx(exp[("B1", "N2O")], rel=1e-12)
    assert r.provenance["overrides"][0]["because"].startswith("reference case B1")


# -- natural wetland CH4 (rate x area x days) -------------------------------------------------

WETLANDS = """
carbon: 1
model: wetlands-test
import:
  wet:
    from: stdlib:natural/wetlands_ch4
    with: {{wetland_area: area, season_length: "{season}"}}
dimensions:
  region: [R1, R2]
data:
  area:
    dims: [region, wetland_zone, wetland_type]
    unit: ha
    fill: 0
    values: {{R1: {{boreal: {{fen: 10000}}, tropical: {{swamp: 5000}}}}, R2: {{temperate: {{marsh: 200}}}}}}
rules:
  emissions: {{expr: "wet.emissions", unit: t}}
  by_gas: {{expr: "wet.by_gas", unit: t}}
  by_type: {{expr: "sum(wet.by_type, over=wetland_zone)", unit: t}}
"""

# Worked example (1 ha = 1e4 m2, 1 mg = 1e-9 t), with the default seasons:
#   R1 boreal fen:     1e8 m2 x  80 mg/m2/d x 100 d = 8.0e11 mg   =  800 t CH4
#   R1 tropical swamp: 5e7 m2 x  84 mg/m2/d x 365 d = 1.533e12 mg = 1533 t CH4
#   R2 temperate marsh: 2e6 m2 x 253 mg/m2/d x 180 d = 9.108e10 mg = 91.08 t CH4
#   R1: 2333 t; all regions: 2424.08 t. Imported alone, the method has only CH4 (in a model
#   with CO2 and N2O they are 0, not estimated: see the natural account below).


def test_wetlands_worked_example(write_model: Writer) -> None:
    r = load(write_model(WETLANDS.format(season="wet.season_days"))).run()
    got = _by(r["emissions"])
    assert got[("R1", "CH4")] == pytest.approx(2333.0, rel=1e-12)
    assert got[("R2", "CH4")] == pytest.approx(91.08, rel=1e-12)
    assert set(got) == {("R1", "CH4"), ("R2", "CH4")}
    assert _by(r["by_gas"])[("CH4",)] == pytest.approx(2424.08, rel=1e-12)
    by_type = _by(r["by_type"])
    assert by_type[("R1", "fen")] == pytest.approx(800.0, rel=1e-12)
    assert by_type[("R1", "swamp")] == pytest.approx(1533.0, rel=1e-12)


def test_wetlands_season_by_region(write_model: Writer) -> None:
    """The season is an input, so it may vary by region: R2's season halved (90 d) halves its CH4
    (91.08 / 2 = 45.54 t); R1 keeps 2333 t."""
    season = "stack(over=region, R1=wet.season_days, R2=wet.season_days * 0.5)"
    got = _by(load(write_model(WETLANDS.format(season=season))).run()["emissions"])
    assert got[("R1", "CH4")] == pytest.approx(2333.0, rel=1e-12)
    assert got[("R2", "CH4")] == pytest.approx(45.54, rel=1e-12)


# -- unmanaged forest sink (Eq. 2.9/2.10 form) --------------------------------------------------

SINK = """
carbon: 1
model: sink-test
import:
  sink: {from: stdlib:natural/unmanaged_forest_sink, with: {forest_area: area}}
dimensions:
  region: [N, S]
data:
  area:
    dims: [region, natural_forest_zone]
    unit: ha
    fill: 0
    values:
      N: {boreal_coniferous: 10000, boreal_tundra_woodland: 5000}
      S: {tropical_rainforest_africa_oldgrowth: 1000}
rules:
  emissions: {expr: "sink.emissions", unit: t}
  carbon_gain: {expr: "sum(sink.carbon_gain, over=natural_forest_zone)", unit: t/yr}
  growth: {expr: "sink.growth", unit: t/ha/yr}
"""

# Worked example, A x G_W x (1 + R) x CF (Eq. 2.10, 2.9), x 44/12 for CO2, reported negative:
#   N boreal_coniferous:      10000 ha x 1.0 x 1.24 x 0.47 = 5828   t C/yr
#   N boreal_tundra_woodland:  5000 ha x 0.4 x 1.39 x 0.47 = 1306.6 t C/yr
#   N: 7134.6 t C/yr -> CO2 = -7134.6 x 44/12 = -26160.2 t
#   S tropical_rainforest_africa_oldgrowth: 1000 ha x 1.3 x 1.37 x 0.47 = 837.07 t C/yr
#       -> CO2 = -837.07 x 44/12 = -3069.2566666666666 t


def test_forest_sink_worked_example(write_model: Writer) -> None:
    r = load(write_model(SINK)).run()
    assert _by(r["carbon_gain"]) == pytest.approx({("N",): 7134.6, ("S",): 837.07}, rel=1e-12)
    got = _by(r["emissions"])
    assert got[("N", "CO2")] == pytest.approx(-26160.2, rel=1e-12)
    assert got[("S", "CO2")] == pytest.approx(-3069.2566666666666, rel=1e-12)
    assert set(got) == {("N", "CO2"), ("S", "CO2")}  # alone, the method has only CO2


def test_forest_sink_reproduces_reference_case_f1_gain(write_model: Writer) -> None:
    """F1's gain term: A = 1000 ha, G_W = 4.0, R = 0.29 (Table 4.4, temperate conifer 50-150,
    this method's default for `temperate_mountain`), CF = 0.47:
    dC_G = 1000 x 4.0 x 1.29 x 0.47 = 2425.2 t C/yr; CO2 = -2425.2 x 44/12 = -8892.4 t."""
    exp = reference_cases()
    text = """
carbon: 1
model: sink-f1
import:
  sink: {from: stdlib:natural/unmanaged_forest_sink, with: {forest_area: area}}
dimensions:
  region: [X]
  natural_forest_zone: [temperate_mountain]
data:
  area: {dims: [region, natural_forest_zone], unit: ha, values: {X: {temperate_mountain: 1000}}}
override:
  sink.growth:
    expr: "stack(over=natural_forest_zone, temperate_mountain=4.0 t/ha/yr)"
    because: "reference case F1: G_W = 4.0 t d.m./ha/yr (arbitrary test input)"
rules:
  dc_g: {expr: "sum(sink.carbon_gain)", unit: t/yr}
  co2: {expr: "sink.by_gas[gas=CO2]", unit: t}
  r: "sink.root_shoot[natural_forest_zone=temperate_mountain]"
"""
    r = load(write_model(text)).run()
    assert r["r"].item() == 0.29
    assert r["dc_g"].item() == pytest.approx(exp[("F1", "dC_G")], rel=1e-12)
    assert r["co2"].item() == pytest.approx(-exp[("F1", "dC_G")] * 44 / 12, rel=1e-12)
    assert r["co2"].item() == pytest.approx(-8892.4, rel=1e-12)


def test_forest_sink_growth_samples_follow_the_triangular_ranges(write_model: Writer) -> None:
    """Monte Carlo draws of G_W keep the default as mode: boreal_coniferous triangular(0.1, 1.0,
    2.1) has mean 3.2 / 3 = 1.0667 and sd sqrt(3.01 / 18) = 0.409 (SE 0.003 at 20,000 samples);
    tropical rows carry no distribution."""
    r = load(write_model(SINK)).run(uncertainty=Uncertainty(samples=20_000, seed=7))
    growth = r["growth"]
    labels = growth.labels["natural_forest_zone"]
    mean = dict(zip(labels, growth.stats["mean"], strict=True))
    assert mean["boreal_coniferous"] == pytest.approx(3.2 / 3, abs=0.015)
    assert mean["boreal_tundra_woodland"] == pytest.approx(1.1 / 3, abs=0.005)
    assert mean["tropical_rainforest_africa_oldgrowth"] == pytest.approx(1.3, rel=1e-9)


# -- external fluxes (inversions, bookkeeping models) -------------------------------------------

EXTERNAL = """
carbon: 1
model: external-test
import:
  ext: {{from: stdlib:natural/external_fluxes, with: {{flux: inversion}}}}
dimensions:
  region: {{csv: inversion.csv, column: region}}
data:
  inversion:
    csv: inversion.csv
    dims: [region, gas]
    unit: {unit}
    fill: 0
    cite: "invented example rows (stdlib/natural/example_inversion_fluxes.csv)"
rules:
  emissions: {{expr: "ext.emissions", unit: t}}
  sources: {{expr: "ext.sources", unit: t}}
  sinks: {{expr: "ext.sinks", unit: t}}
  by_gas: {{expr: "ext.by_gas", unit: t}}
"""


def test_external_fluxes_from_the_example_csv(write_model: Writer) -> None:
    """The five invented rows pass through unchanged; south N2O is absent, so 0 (`fill: 0`).
    by_gas: CO2 -1,250,000 + 830,000 = -420,000; CH4 42,000 + 96,500 = 138,500; N2O 310."""
    csv = (NATURAL / "example_inversion_fluxes.csv").read_text(encoding="utf-8")
    r = load(write_model(EXTERNAL.format(unit="t"), **{"inversion.csv": csv})).run()
    assert _by(r["emissions"]) == {
        ("north", "CO2"): -1_250_000.0,
        ("north", "CH4"): 42_000.0,
        ("north", "N2O"): 310.0,
        ("south", "CO2"): 830_000.0,
        ("south", "CH4"): 96_500.0,
        ("south", "N2O"): 0.0,
    }
    sinks = _by(r["sinks"])
    assert sinks[("north", "CO2")] == -1_250_000.0
    assert sum(sinks.values()) == -1_250_000.0
    assert _by(r["sources"])[("south", "CO2")] == 830_000.0
    assert _by(r["by_gas"]) == {("CO2",): -420_000.0, ("CH4",): 138_500.0, ("N2O",): 310.0}


def test_external_fluxes_in_kt_convert_on_binding(write_model: Writer) -> None:
    csv = "region,gas,value\nnorth,CO2,-1250\nnorth,CH4,42\n"
    r = load(write_model(EXTERNAL.format(unit="kt"), **{"inversion.csv": csv})).run()
    got = _by(r["emissions"])
    assert got[("north", "CO2")] == pytest.approx(-1_250_000.0, rel=1e-12)
    assert got[("north", "CH4")] == pytest.approx(42_000.0, rel=1e-12)
    assert got[("north", "N2O")] == 0.0


# -- the natural account: the four methods in one model -----------------------------------------

ACCOUNT = """
carbon: 1
model: natural-account
import:
  fires: {from: stdlib:natural/unmanaged_fires, with: {burned_area: burned}}
  wet:
    from: stdlib:natural/wetlands_ch4
    with: {wetland_area: wetland, season_length: wet.season_days}
  sink: {from: stdlib:natural/unmanaged_forest_sink, with: {forest_area: forest}}
  ext: {from: stdlib:natural/external_fluxes, with: {flux: inversion}}
  gwp: stdlib:gwp
dimensions:
  region: [north, south]
  gas: [CO2, CH4, N2O]
  method: [fires, wetlands, forest, external]
data:
  burned: {dims: [region, fire_vegetation], unit: ha, fill: 0, values: {north: {boreal_forest: 200}}}
  wetland:
    dims: [region, wetland_zone, wetland_type]
    unit: ha
    fill: 0
    values: {north: {boreal: {fen: 10000}}}
  forest:
    dims: [region, natural_forest_zone]
    unit: ha
    fill: 0
    values: {south: {tropical_rainforest_africa_oldgrowth: 1000}}
  inversion: {csv: inversion.csv, dims: [region, gas], unit: t, fill: 0}
rules:
  natural_by_method:
    expr: "stack(over=method, fires=fires.emissions, wetlands=wet.emissions, forest=sink.emissions, external=ext.emissions)"
    unit: t
  natural_co2e: {expr: "sum(natural_by_method * gwp.factor, over=gas)", unit: t CO2e}
"""


@pytest.mark.parametrize("declared", [True, False], ids=["gas-declared", "gas-union"])
def test_natural_account_combines_the_four_methods(write_model: Writer, declared: bool) -> None:
    """One model imports all four methods (they share `region`; `gas` is the model's, or else
    the union of the methods' gases) and weighs them with AR5 GWP100 (CO2 1, CH4 28, N2O 265),
    keeping each method apart on a `method` dimension. The gases a method does not list are +0.

    north fires (boreal_forest 200 ha, see the fires example): 10423 + 41.72 x 28 + 2.87 x 265
        = 10423 + 1168.16 + 760.55 = 12351.71 t CO2e
    north wetlands (boreal fen 10,000 ha): 800 t CH4 x 28 = 22400 t CO2e
    south forest (Africa old-growth 1000 ha): -3069.2566666666666 t CO2e
    external (invented CSV): north -1,250,000 + 42,000 x 28 + 310 x 265 = 8150;
        south 830,000 + 96,500 x 28 = 3,532,000 t CO2e
    """
    csv = (NATURAL / "example_inversion_fluxes.csv").read_text(encoding="utf-8")
    text = ACCOUNT if declared else ACCOUNT.replace("  gas: [CO2, CH4, N2O]\n", "")
    assert (text == ACCOUNT) == declared
    model = load(write_model(text, **{"inversion.csv": csv}))
    assert model.dims["gas"].labels == ("CO2", "CH4", "N2O")
    r = model.run()
    by_method = _by(r["natural_by_method"])
    unlisted = {"wetlands": ("CO2", "N2O"), "forest": ("CH4", "N2O")}
    for (region, gas, method), value in by_method.items():
        if gas in unlisted.get(method, ()):  # not estimated: exactly +0, never -0
            assert value == 0.0 and not np.signbit(value), (region, gas, method)
    assert by_method[("north", "CH4", "wetlands")] == pytest.approx(800.0, rel=1e-12)
    got = _by(r["natural_co2e"])
    expected = {
        ("north", "fires"): 12351.71,
        ("north", "wetlands"): 22400.0,
        ("north", "forest"): 0.0,
        ("north", "external"): 8150.0,
        ("south", "fires"): 0.0,
        ("south", "wetlands"): 0.0,
        ("south", "forest"): -3069.2566666666666,
        ("south", "external"): 3_532_000.0,
    }
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-9), key


def test_natural_account_monte_carlo_runs_with_every_default_distribution(
    write_model: Writer,
) -> None:
    """Every per-row distribution of the four methods parses and samples (fires under both
    factor sets); the fires' CO2 draws stay positive and centre near the deterministic value."""
    csv = (NATURAL / "example_inversion_fluxes.csv").read_text(encoding="utf-8")
    model = load(write_model(ACCOUNT, **{"inversion.csv": csv}))
    for ef_set in ("gfed4", "ipcc2006"):
        r = model.run(
            choose={"ef_set": ef_set},
            uncertainty=Uncertainty(samples=2_000, seed=1, keep_samples=True),
        )
        samples = np.asarray(r.samples["natural_by_method"])
        assert np.isfinite(samples).all()
        result = r["natural_by_method"]
        where = {"region": "north", "gas": "CO2", "method": "fires"}
        idx = tuple(result.labels[d].index(where[d]) for d in result.dims)
        fire_co2 = samples[(slice(None), *idx)]
        assert (fire_co2 > 0).all()
        assert np.mean(fire_co2) == pytest.approx(result.values[idx], rel=0.1)
