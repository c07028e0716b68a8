"""IPCC 2006 Vol. 2 road transportation (1.A.3.b) and coal mining (1.B.1.a), Tier 1.

Methods: stdlib:ipcc2006/energy/road_transport and stdlib:ipcc2006/energy/coal_mining. The worked
examples below are computed by hand from the Guidelines' equations and the default factors in
the methods' CSVs (see stdlib/ipcc2006/energy/README-road-and-coal.md). Neither source category
has a case in ../shared/data/reference_cases, and bonsai-ipcc 0.3.2 implements neither
(its energy module ships only NCV and CH4 parameter tables for waste incineration), so there is
no reference-case reproduction and no peer cross-check here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from carbonc.compiler import load
from carbonc.compiler.api import Uncertainty
from carbonc.compiler.cli import main
from carbonc.runtime.results import Results

STDLIB = Path(__file__).resolve().parents[1] / "stdlib" / "ipcc2006" / "energy"

# -- road transportation (Vol. 2 Ch. 3 Sec. 3.2) -------------------------------------------------

ROAD = """
carbon: 1
model: road-{case}
import:
  road:
    from: stdlib:ipcc2006/energy/road_transport
    with: {{fuel_sold: fuel_sold}}
data:
  fuel_sold: {{dims: [road_fuel], unit: TJ, fill: 0, values: {{{fuel}}}}}
rules:
  emissions: {{expr: "road.emissions", unit: t}}
  by_fuel: {{expr: "road.reported", unit: t}}
  memo: {{expr: "sum(road.biomass_co2)", unit: t}}
  ef: {{expr: "road.ef", unit: kg/TJ}}
"""


def _road(case: str, fuel: dict[str, float]) -> str:
    return ROAD.format(case=case, fuel=", ".join(f"{k}: {v!r}" for k, v in fuel.items()))


# Worked example (activity numbers chosen for the test, factors from Tables 3.2.1/3.2.2/1.4):
#   fuel sold: motor gasoline 1,000 TJ; gas/diesel oil 2,000 TJ; LPG 100 TJ; natural gas (CNG)
#   50 TJ; biogasoline 50 TJ; biodiesels 200 TJ.
#   CO2 (Eq. 3.2.1, fossil only) = 1,000 x 69.3 + 2,000 x 74.1 + 100 x 63.1 + 50 x 56.1 t
#                                = 69,300 + 148,200 + 6,310 + 2,805 = 226,615 t
#   biofuel CO2 (memo)           = (50 + 200) x 70.8 = 17,700 t
#   CH4 (Eq. 3.2.3), gasoline uncontrolled 33 kg/TJ (also for biogasoline), diesel 3.9 (also for
#   biodiesels), LPG 62, CNG 92:
#       (1,000 + 50) x 33 + (2,000 + 200) x 3.9 + 100 x 62 + 50 x 92 kg
#     = 34,650 + 8,580 + 6,200 + 4,600 = 54,030 kg = 54.03 t
#   N2O, gasoline uncontrolled 3.2, diesel 3.9, LPG 0.2, CNG 3:
#       1,050 x 3.2 + 2,200 x 3.9 + 100 x 0.2 + 50 x 3 = 3,360 + 8,580 + 20 + 150 = 12,110 kg
#   With gasoline_control=oxidation_catalyst (CH4 25, N2O 8.0 kg/TJ for the 1,050 TJ):
#     CH4 = 26,250 + 8,580 + 6,200 + 4,600 = 45,630 kg; N2O = 8,400 + 8,580 + 20 + 150 = 17,150 kg
#   With low_mileage_ldv_1995 (CH4 3.8, N2O 5.7):
#     CH4 = 3,990 + 19,380 = 23,370 kg; N2O = 5,985 + 8,750 = 14,735 kg
ROAD_FUEL = {
    "motor_gasoline": 1000.0,
    "gas_diesel_oil": 2000.0,
    "lpg": 100.0,
    "natural_gas": 50.0,
    "biogasoline": 50.0,
    "biodiesels": 200.0,
}


def _gases(r: Results, name: str = "emissions") -> dict[str, float]:
    df = r[name].to_pandas()
    return dict(zip(df["gas"], df["value"], strict=True))


@pytest.mark.parametrize(
    ("control", "ch4", "n2o"),
    [
        ("uncontrolled", 54.03, 12.11),
        ("oxidation_catalyst", 45.63, 17.15),
        ("low_mileage_ldv_1995", 23.37, 14.735),
    ],
)
def test_road_worked_example(
    write_model: Callable[..., Path], control: str, ch4: float, n2o: float
) -> None:
    """Eq. 3.2.1 and 3.2.3 by hand (see the comment above), for each gasoline control row."""
    r = load(write_model(_road("W", ROAD_FUEL))).run(choose={"gasoline_control": control})
    got = _gases(r)
    assert got["CO2"] == pytest.approx(226_615.0, rel=1e-12)
    assert got["CH4"] == pytest.approx(ch4, rel=1e-12)
    assert got["N2O"] == pytest.approx(n2o, rel=1e-12)
    assert r["memo"].item() == pytest.approx(17_700.0, rel=1e-12)
    assert r.provenance["choices"] == {"road.gasoline_control": control}


def test_road_default_is_uncontrolled_and_biofuel_co2_is_memo(
    write_model: Callable[..., Path],
) -> None:
    """The default control row is uncontrolled; biofuel rows report CH4 and N2O but no CO2."""
    r = load(write_model(_road("D", ROAD_FUEL))).run()
    assert _gases(r)["CH4"] == pytest.approx(54.03, rel=1e-12)
    df = r["by_fuel"].to_pandas().set_index(["road_fuel", "gas"])["value"]
    assert df[("biodiesels", "CO2")] == 0.0
    assert df[("biodiesels", "CH4")] == pytest.approx(200 * 3.9e-3, rel=1e-12)
    assert df[("biogasoline", "N2O")] == pytest.approx(50 * 3.2e-3, rel=1e-12)
    # Table 3.2.1 CO2 factors equal Table 1.4's (the stationary combustion fuels.csv)
    ef = r["ef"].to_pandas().set_index(["road_fuel", "gas"])["value"]
    assert ef[("motor_gasoline", "CO2")] == 69_300.0
    assert ef[("gas_diesel_oil", "CO2")] == 74_100.0
    assert ef[("natural_gas", "CO2")] == 56_100.0


def test_road_single_fuel_in_guideline_units(write_model: Callable[..., Path]) -> None:
    """1 PJ of diesel: 1,000 TJ x 74,100 kg/TJ = 74.1 Gg CO2; 3.9 t CH4 and 3.9 t N2O."""
    r = load(write_model(_road("S", {"gas_diesel_oil": 1000.0}))).run()
    got = _gases(r)
    assert got == pytest.approx({"CO2": 74_100.0, "CH4": 3.9, "N2O": 3.9}, rel=1e-12)


def test_road_combines_with_stationary_combustion(write_model: Callable[..., Path]) -> None:
    """Road fuels have their own dimension (`road_fuel`), so importing both methods leaves the
    stationary method's 35 fuels intact (a shared `fuel` dimension would be narrowed to the
    road fuels, silently dropping coal from stationary combustion)."""
    text = """
carbon: 1
model: road-and-stationary
import:
  road:
    from: stdlib:ipcc2006/energy/road_transport
    with: {fuel_sold: road_fuel}
  sc:
    from: stdlib:ipcc2006/energy/stationary_combustion
    with: {fuel_use: sc_fuel}
  gwp: stdlib:gwp
data:
  road_fuel: {dims: [road_fuel], unit: TJ, fill: 0, values: {gas_diesel_oil: 1000}}
  sc_fuel:
    dims: [source, fuel]
    unit: TJ
    fill: 0
    values: {energy_industries: {other_bituminous_coal: 1000}}
rules:
  co2: {expr: "sum(road.emissions[gas=CO2]) + sum(sc.by_gas[gas=CO2])", unit: t}
  co2e: {expr: "sum(road.emissions * gwp.factor) + sum(sc.by_gas * gwp.factor)", unit: t CO2e}
"""
    r = load(write_model(text)).run()
    # 1,000 TJ diesel x 74.1 t/TJ + 1,000 TJ coal x 94.6 t/TJ
    assert r["co2"].item() == pytest.approx(74_100.0 + 94_600.0, rel=1e-12)
    # AR5 GWP100 (default metric): road CH4 3.9 t x 28 + N2O 3.9 t x 265; coal in 1.A.1 (Table
    # 2.2): CH4 1 kg/TJ x 28 + N2O 1.5 kg/TJ x 265 over 1,000 TJ
    expected = 168_700.0 + 3.9 * 28 + 3.9 * 265 + 1.0 * 28 + 1.5 * 265
    assert r["co2e"].item() == pytest.approx(expected, rel=1e-12)


def test_road_narrowed_fuels(write_model: Callable[..., Path]) -> None:
    """An importer may narrow `road_fuel` to the fuels it has."""
    text = _road("N", {"motor_gasoline": 500.0, "lpg": 20.0}).replace(
        "data:", "dimensions:\n  road_fuel: [motor_gasoline, lpg]\ndata:"
    )
    got = _gases(load(write_model(text)).run())
    assert got["CO2"] == pytest.approx(500 * 69.3 + 20 * 63.1, rel=1e-12)
    assert got["CH4"] == pytest.approx((500 * 33 + 20 * 62) / 1000, rel=1e-12)
    assert got["N2O"] == pytest.approx((500 * 3.2 + 20 * 0.2) / 1000, rel=1e-12)


def test_road_monte_carlo_uses_table_ranges(write_model: Callable[..., Path]) -> None:
    """Factors are sampled from the Table 3.2.1/3.2.2 ranges; LPG's CH4 (no range) is exact."""
    r = load(write_model(_road("MC", ROAD_FUEL))).run(
        uncertainty=Uncertainty(samples=4000, seed=7, keep_samples=True)
    )
    ef = r.samples["ef"]
    assert np.all(np.isfinite(ef)) and np.all(ef >= 0)
    gases = list(r["emissions"].to_pandas()["gas"])
    co2_median = float(np.asarray(r["emissions"].stats["median"])[gases.index("CO2")])
    # Table 3.2.1 ranges are a few % wide: the CO2 median stays within 1 % of the default
    assert co2_median == pytest.approx(226_615.0, rel=0.01)


# -- coal mining (Vol. 2 Ch. 4 Sec. 4.1) ---------------------------------------------------------

COAL = """
carbon: 1
model: coal-{case}
import:
  coal:
    from: stdlib:ipcc2006/energy/coal_mining
    with: {{coal_production: production}}
{dims}data:
  production: {{dims: [mine_type], unit: Mt, values: {{{production}}}}}
rules:
  emissions: {{expr: "coal.emissions", unit: t}}
  ch4: {{expr: "coal.ch4", unit: Gg}}
  by_mine_type: {{expr: "coal.by_mine_type", unit: t}}
"""


def _coal(case: str, production: dict[str, float], dims: str = "") -> str:
    values = ", ".join(f"{k}: {v!r}" for k, v in production.items())
    return COAL.format(case=case, production=values, dims=dims)


# Worked example (production chosen for the test; Tier 1 factors and the conversion factor
# 0.67e-6 Gg/m3 of Sec. 4.1.3.2 and 4.1.4.2): 10 Mt raw coal from underground mines, 5 Mt from
# surface mines.
#   average factors (underground 18 and 2.5 m3/t; surface 1.2 and 0.1 m3/t):
#     underground mining      10e6 t x 18  m3/t x 0.67e-6 Gg/m3 = 120.6  Gg
#     underground post-mining 10e6 t x 2.5 m3/t x 0.67e-6       =  16.75 Gg
#     surface mining           5e6 t x 1.2 m3/t x 0.67e-6       =   4.02 Gg
#     surface post-mining      5e6 t x 0.1 m3/t x 0.67e-6       =   0.335 Gg
#     total = 141.705 Gg = 141,705 t CH4
#   low factors (10 and 0.9; 0.3 and 0): 10e6 x 10.9 x 0.67e-6 = 73.03 Gg; 5e6 x 0.3 x 0.67e-6
#     = 1.005 Gg; total 74,035 t
#   high factors (25 and 4.0; 2.0 and 0.2): 10e6 x 29 x 0.67e-6 = 194.3 Gg; 5e6 x 2.2 x 0.67e-6
#     = 7.37 Gg; total 201,670 t
#   high underground with low surface: 194,300 + 1,005 = 195,305 t
COAL_PRODUCTION = {"underground": 10.0, "surface": 5.0}


def test_coal_worked_example_average(write_model: Callable[..., Path]) -> None:
    """Default (average) factors, by stage and in total (Eq. 4.1.4, 4.1.5, 4.1.7, 4.1.8)."""
    r = load(write_model(_coal("A", COAL_PRODUCTION))).run()
    ch4 = r["ch4"].to_pandas().set_index(["mine_type", "mining_stage"])["value"]
    assert ch4[("underground", "mining")] == pytest.approx(120.6, rel=1e-12)
    assert ch4[("underground", "post_mining")] == pytest.approx(16.75, rel=1e-12)
    assert ch4[("surface", "mining")] == pytest.approx(4.02, rel=1e-12)
    assert ch4[("surface", "post_mining")] == pytest.approx(0.335, rel=1e-12)
    assert _gases(r) == pytest.approx({"CH4": 141_705.0}, rel=1e-12)
    by_type = r["by_mine_type"].to_pandas().set_index("mine_type")["value"]
    assert by_type["underground"] == pytest.approx(137_350.0, rel=1e-12)
    assert by_type["surface"] == pytest.approx(4_355.0, rel=1e-12)


@pytest.mark.parametrize(
    ("underground", "surface", "total"),
    [
        ("low", "low", 74_035.0),
        ("high", "high", 201_670.0),
        ("high", "low", 195_305.0),
        ("average", "average", 141_705.0),
    ],
)
def test_coal_ef_levels(
    write_model: Callable[..., Path], underground: str, surface: str, total: float
) -> None:
    """Each mine type's low/average/high level is chosen on its own."""
    model = load(write_model(_coal("L", COAL_PRODUCTION)))
    r = model.run(choose={"ef_level_underground": underground, "ef_level_surface": surface})
    assert _gases(r)["CH4"] == pytest.approx(total, rel=1e-12)


def test_coal_underground_only(write_model: Callable[..., Path]) -> None:
    """An importer without surface mines narrows `mine_type`; 1 Mt x 20.5 m3/t x 0.67 kg/m3."""
    text = _coal("U", {"underground": 1.0}, dims="dimensions:\n  mine_type: [underground]\n")
    r = load(write_model(text)).run()
    assert _gases(r)["CH4"] == pytest.approx(1e6 * 20.5 * 0.67e-3, rel=1e-12)


def test_coal_tier2_override(write_model: Callable[..., Path]) -> None:
    """Tier 2: a basin-specific underground factor replaces the default through `override:`."""
    text = (
        _coal("T2", COAL_PRODUCTION)
        + """
override:
  coal.ef:
    expr: "where(coal.underground > 0, stack(over=mining_stage, mining=12 m^3/t, post_mining=1.5 m^3/t), super)"
    because: "country-specific underground factors from basin gas-content surveys (worked test)"
"""
    )
    r = load(write_model(text)).run()
    # 10e6 x 13.5 x 0.67e-6 = 90.45 Gg underground; surface as in the average case, 4.355 Gg
    assert _gases(r)["CH4"] == pytest.approx(90_450.0 + 4_355.0, rel=1e-12)


@pytest.mark.parametrize("name", ["road_transport.carbon", "coal_mining.carbon"])
def test_methods_check_on_their_own(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(STDLIB / name)]) == 0, capsys.readouterr().err
