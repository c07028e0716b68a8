"""IPCC 2006 Vol. 3 Ch. 2 cement production (stdlib:ipcc2006/ippu/cement), through .carbon models.

Case C1 comes from ../shared/data/reference_cases; the Tier 2 case is worked by hand below; the
last tests check both tiers against bonsai-ipcc (MIT), a test-only peer: its elementary equation
functions are called directly with every input pinned, never imported by carbonc.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from carbonc.compiler import load
from tests.conftest import bonsai, reference_cases

CEMENT = """
carbon: 1
model: cement-{case}
import:
  cement:
    from: stdlib:ipcc2006/ippu/cement
    with:
      cement_production: production
      clinker_fraction: "{fraction}"
      clinker_imports: {imports}
      clinker_exports: {exports}
      clinker_production: {clinker}
dimensions:
  cement_type: [{types}]
data:
  production: {{dims: [cement_type], unit: t, values: {{{production}}}}}
rules:
  co2: {{expr: "cement.co2", unit: t}}
  co2_tier1: {{expr: "cement.co2_tier1", unit: t}}
  co2_tier2: {{expr: "cement.co2_tier2", unit: t}}
  clinker: {{expr: "cement.clinker_tier1", unit: t}}
  ef_clc: {{expr: "cement.ef_clc", unit: t/t}}
  ef_cl: {{expr: "cement.ef_cl", unit: t/t}}
  cf_ckd: "cement.cf_ckd"
"""

DEFAULT_FRACTIONS = (
    "stack(over=cement_type, portland=cement.clinker_fraction_portland,"
    " masonry=cement.clinker_fraction_masonry)"
)


def _model(
    case: str,
    production: dict[str, float],
    fraction: str = DEFAULT_FRACTIONS,
    imports: str = "0 t",
    exports: str = "0 t",
    clinker: str = "0 t",
    extra: str = "",
) -> str:
    return (
        CEMENT.format(
            case=case,
            fraction=fraction,
            imports=imports,
            exports=exports,
            clinker=clinker,
            types=", ".join(production),
            production=", ".join(f"{k}: {v!r}" for k, v in production.items()),
        )
        + extra
    )


C1_MODEL = _model("C1", {"portland": 1.0e6}, fraction="cement.clinker_fraction_portland")


def test_c1_portland_tier1_unrounded_ef(write_model: Callable[..., Path]) -> None:
    """C1: 1 Mt Portland cement, clinker fraction 0.95, no clinker trade (Eq. 2.1, Eq. 2.4).

    EF_clc = 0.65 / 0.5603 x 0.43971 x 1.02, built from the default CaO content, CaCO3's CaO
    fraction, Table 2.1's CaCO3 factor and the CKD correction, unrounded.
    """
    exp = reference_cases()
    r = load(write_model(C1_MODEL)).run()
    assert r["ef_clc"].item() == pytest.approx(exp[("C1", "EF_clc")], rel=1e-12)
    assert r["co2"].item() == pytest.approx(exp[("C1", "CO2 (bonsai EF)")], rel=1e-12)
    assert r["co2"].item() == r["co2_tier1"].item()  # tier1 is the default choice
    assert r["clinker"].item() == pytest.approx(950_000.0, rel=1e-15)


def test_c1_portland_tier1_rounded_default_ef(write_model: Callable[..., Path]) -> None:
    """C1 with the published, rounded EF_clc = 0.51 x 1.02 = 0.52 t CO2/t clinker (Eq. 2.4)."""
    exp = reference_cases()
    text = (
        C1_MODEL
        + """
override:
  cement.ef_clc:
    expr: "0.52 t/t"
    because: "2006 IPCC GL Vol. 3 Eq. 2.4: the rounded default 0.52 t CO2/t clinker"
"""
    )
    r = load(write_model(text)).run()
    assert r["co2"].item() == pytest.approx(exp[("C1", "CO2 (EF_clc=0.52 rounded)")], rel=1e-12)
    assert r.provenance["overrides"][0]["because"].startswith("2006 IPCC GL Vol. 3 Eq. 2.4")


def test_tier1_cement_types_and_clinker_trade(write_model: Callable[..., Path]) -> None:
    """Eq. 2.1 over two cement types with the default clinker fractions and clinker trade.

    By hand: clinker = 800,000 x 0.95 + 200,000 x 0.64 - 50,000 + 10,000 = 848,000 t;
    CO2 = 848,000 x 0.5203064965197216 (C1's EF_clc) = 441,219.9090487239 t.
    """
    text = _model("T1", {"portland": 8.0e5, "masonry": 2.0e5}, imports="50000 t", exports="10000 t")
    r = load(write_model(text)).run()
    assert r["clinker"].item() == pytest.approx(848_000.0, rel=1e-12)
    assert r["co2"].item() == pytest.approx(441_219.9090487239, rel=1e-12)


# Tier 2 worked example (numbers chosen for the test; the arithmetic is ours, from the equations):
#   plant data: clinker produced M_cl = 1,000,000 t; CaO content of clinker 0.66, of which 0.01
#   (mass fraction of clinker) comes from non-carbonate sources (slag), so 0.65 is carbonate CaO;
#   CKD not recycled M_d = 20,000 t, carbonate fraction in CKD C_d = 0.8, calcined F_d = 0.5.
#   EF_cl  = (0.66 - 0.01) / 0.5603 x 0.43971 = 0.5101044083526682 t CO2/t clinker
#   CF_ckd = 1 + (M_d / M_cl) x C_d x F_d x EF_c / EF_cl  (Eq. 2.5, EF_c = 0.43971 for CaCO3)
#          = 1 + 0.02 x 0.4 x 0.43971 / 0.5101044083526682 = 1 + 0.008 x 0.862 = 1.006896
#   CO2    = M_cl x EF_cl x CF_ckd (Eq. 2.2) = 510,104.4083526682 x 1.006896 = 513,622.0883526682 t
#   check: Eq. 2.5 adds M_d x C_d x F_d x EF_c = 20,000 x 0.4 x 0.43971 = 3,517.68 t, and
#   510,104.4083526682 + 3,517.68 = 513,622.0883526682 t.
TIER2_PLANT = """
override:
  cement.cao_in_clinker:
    expr: "0.66"
    because: "plant laboratory data: CaO content of clinker (worked test)"
  cement.cao_non_carbonate:
    expr: "0.01"
    because: "plant data: CaO from blast-furnace slag in the raw meal (worked test)"
  cement.cf_ckd:
    expr: "1 + (20000 t) / cement.clinker_production * 0.8 * 0.5 * cement.ef_caco3 / cement.ef_cl"
    because: "Eq. 2.5 from plant CKD data: 20,000 t lost, C_d 0.8, F_d 0.5 (worked test)"
"""


def test_tier2_worked_example_with_plant_data(write_model: Callable[..., Path]) -> None:
    """Tier 2 (Eq. 2.2) with plant CaO data and a CKD correction from Eq. 2.5 (see above)."""
    text = _model("T2", {"portland": 0.0}, fraction="0", clinker="1000000 t", extra=TIER2_PLANT)
    r = load(write_model(text)).run(choose={"tier": "tier2"})
    assert r["ef_cl"].item() == pytest.approx(0.5101044083526682, rel=1e-12)
    assert r["cf_ckd"].item() == pytest.approx(1.006896, rel=1e-12)
    assert r["co2"].item() == pytest.approx(513_622.0883526682, rel=1e-12)
    assert r["co2"].item() == r["co2_tier2"].item()
    assert r.provenance["choices"] == {"cement.tier": "tier2"}
    assert len(r.provenance["overrides"]) == 3


def test_tier2_with_defaults_agrees_with_tier1_per_tonne_of_clinker(
    write_model: Callable[..., Path],
) -> None:
    """With the default CaO content and CKD factor, EF_cl x CF_ckd is Tier 1's EF_clc, and C1's
    950,000 t of clinker gives C1's CO2 under either tier."""
    exp = reference_cases()
    text = _model("T2d", {"portland": 1.0e6}, fraction="0.95", clinker="950000 t")
    model = load(write_model(text))
    t1, t2 = model.run(), model.run(choose={"tier": "tier2"})
    assert t2["ef_cl"].item() == pytest.approx(0.5101044083526682, rel=1e-12)
    assert t2["ef_cl"].item() * t2["cf_ckd"].item() == pytest.approx(t1["ef_clc"].item(), rel=1e-12)
    assert t1["co2"].item() == pytest.approx(exp[("C1", "CO2 (bonsai EF)")], rel=1e-12)
    assert t2["co2"].item() == pytest.approx(exp[("C1", "CO2 (bonsai EF)")], rel=1e-12)


# -- cross-check against bonsai-ipcc's elementary equations --------------------------------------


def _bonsai_mineral() -> ModuleType:
    """bonsai_ipcc.industry.mineral.elementary."""
    return bonsai("industry.mineral.elementary")


PINNED = """
override:
  cement.cao_in_clinker: {expr: "0.64", because: "pinned for the bonsai-ipcc cross-check"}
  cement.cao_non_carbonate: {expr: "0.012", because: "pinned for the bonsai-ipcc cross-check"}
  cement.cf_ckd: {expr: "1.03", because: "pinned for the bonsai-ipcc cross-check"}
"""


def test_both_tiers_agree_with_bonsai_ipcc(write_model: Callable[..., Path]) -> None:
    """Every input pinned: cement by type, fractions, trade, CaO (total and non-carbonate), CKD."""
    elem = _bonsai_mineral()
    production = {"portland": 1.2e6, "masonry": 3.0e5}
    fraction = {"portland": 0.93, "masonry": 0.61}
    text = _model(
        "X",
        production,
        fraction="stack(over=cement_type, portland=0.93, masonry=0.61)",
        imports="50000 t",
        exports="20000 t",
        clinker="900000 t",
        extra=PINNED,
    )
    model = load(write_model(text))
    t1, t2 = model.run(), model.run(choose={"tier": "tier2"})

    # bonsai takes clinker trade per cement type; Eq. 2.1 needs only the totals, so all of it
    # goes to Portland cement.
    ef_clc = elem.ef_clc(cao_in_clinker=0.64, ckd_correc_fact=1.03)
    trade = {"portland": (50_000.0, 20_000.0), "masonry": (0.0, 0.0)}
    co2_t1 = sum(
        elem.co2_emissions_tier1_(
            m_c=production[c], c_cl=fraction[c], im_cl=trade[c][0], ex_cl=trade[c][1], ef_clc=ef_clc
        )
        for c in production
    )
    assert t1["ef_clc"].item() == pytest.approx(ef_clc, rel=1e-9)
    assert t1["co2"].item() == pytest.approx(co2_t1, rel=1e-9)

    ef_cl = elem.ef_cl(cao_in_clinker=0.64, cao_non_carbo_frac=0.012)
    co2_t2 = elem.co2_emissions_tier2_(m_cl=900_000.0, ef_cl=ef_cl, cf_ckd=1.03)
    assert t2["ef_cl"].item() == pytest.approx(ef_cl, rel=1e-9)
    assert t2["co2"].item() == pytest.approx(co2_t2, rel=1e-9)


def test_c1_agrees_with_bonsai_ipcc_defaults(write_model: Callable[..., Path]) -> None:
    """C1 with the method's defaults equals bonsai's equations at the same default values."""
    elem = _bonsai_mineral()
    expected = elem.co2_emissions_tier1_(
        m_c=1.0e6, c_cl=0.95, im_cl=0.0, ex_cl=0.0, ef_clc=elem.ef_clc(0.65, 1.02)
    )
    r = load(write_model(C1_MODEL)).run()
    assert r["co2"].item() == pytest.approx(expected, rel=1e-9)
