"""IPCC 2006 Tier 1 worked cases S1 and S2 (../shared/data/reference_cases), through .carbon models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from carbonc.compiler import load
from tests.conftest import reference_cases

STATIONARY = """
carbon: 1
model: reference-{case}
import:
  sc:
    from: stdlib:ipcc2006/energy/stationary_combustion
    with: {{fuel_use: "{binding}"}}
dimensions:
  source: [energy_industries]
  fuel: [{fuel}]
data:
  activity: {{dims: [source, fuel], unit: {unit}, values: {value}}}
rules:
  energy: {{expr: "sum(sc.fuel_use)", unit: TJ}}
  co2: {{expr: "sum(sc.emissions[gas=CO2])", unit: t}}
  ch4: {{expr: "sum(sc.emissions[gas=CH4])", unit: t}}
  n2o: {{expr: "sum(sc.emissions[gas=N2O])", unit: t}}
  ef_co2: {{expr: "sc.ef_co2[fuel={fuel}]", unit: kg/TJ}}
  fuel_mass: {{expr: "sum(sc.fuel_use / sc.ncv)", unit: Gg}}
"""


def test_s1_natural_gas_energy_industries(write_model: Callable[..., Path]) -> None:
    """S1: 1,000 TJ of natural gas in energy industries (Vol. 2 Eq. 2.1, Tables 1.2, 1.4, 2.2)."""
    exp = reference_cases()
    path = write_model(
        STATIONARY.format(case="S1", fuel="natural_gas", binding="activity", unit="TJ", value=1000)
    )
    r = load(path).run()
    assert r["ef_co2"].item() == pytest.approx(exp[("S1", "EF_CO2 derived")], rel=1e-12)
    assert r["co2"].item() == pytest.approx(exp[("S1", "CO2")], rel=1e-12)
    assert r["ch4"].item() == pytest.approx(exp[("S1", "CH4")], rel=1e-12)
    assert r["n2o"].item() == pytest.approx(exp[("S1", "N2O")], rel=1e-12)
    assert r["fuel_mass"].item() == pytest.approx(exp[("S1", "fuel mass for 1000 TJ")], rel=1e-12)


def test_s2_gas_diesel_oil_from_mass_with_rounded_default_ef(
    write_model: Callable[..., Path],
) -> None:
    """S2: 10 Gg of gas/diesel oil, converted with NCV 43 TJ/Gg; CO2 with the rounded default EF 74,100."""
    exp = reference_cases()
    path = write_model(
        STATIONARY.format(
            case="S2", fuel="gas_diesel_oil", binding="activity * sc.ncv", unit="Gg", value=10
        )
    )
    r = load(path).run()
    assert r["energy"].item() == pytest.approx(exp[("S2", "energy")], rel=1e-12)
    assert r["co2"].item() == pytest.approx(exp[("S2", "CO2 (EF 74100 kg/TJ rounded)")], rel=1e-12)


def test_s2_tier2_override_from_carbon_content(write_model: Callable[..., Path]) -> None:
    """S2 with the unrounded EF from carbon content 20.2 kg C/GJ x 44/12, supplied as an override."""
    exp = reference_cases()
    text = STATIONARY.format(
        case="S2", fuel="gas_diesel_oil", binding="activity * sc.ncv", unit="Gg", value=10
    )
    text += """
override:
  sc.ef_co2:
    expr: "20.2 kg/GJ * 44/12"
    because: "Vol. 2 Table 1.3 carbon content 20.2 kg C/GJ, full oxidation"
"""
    r = load(write_model(text)).run()
    assert r["co2"].item() == pytest.approx(exp[("S2", "CO2 (EF from CC, unrounded)")], rel=1e-12)
    assert r.provenance["overrides"][0]["because"].startswith("Vol. 2 Table 1.3")
