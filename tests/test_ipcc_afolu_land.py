"""IPCC 2006 Vol. 4 AFOLU land methods through .carbon models: biomass burning (3.C.1, Eq. 2.27)
and forest land remaining forest land (3.B.1.a, Eq. 2.7-2.14).

Cases B1, B2, F1 and F2 come from ../shared/data/reference_cases; the other cases are worked by
hand below, from the Guidelines' equations, with the arithmetic in the comments. bonsai-ipcc
0.3.2 (the installed test-only peer) implements neither Eq. 2.27 nor the forest biomass
equations (its AFOLU modules cover livestock, manure and managed soils only), so there is no
cross-check against it here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from carbonc.compiler import load
from carbonc.compiler.api import Uncertainty
from tests.conftest import reference_cases

Writer = Callable[..., Path]

# -- biomass burning (3.C.1) -------------------------------------------------------------------

BURNING = """
carbon: 1
model: burning-{case}
import:
  bb:
    from: stdlib:ipcc2006/afolu/biomass_burning
    with: {{area_burnt: area, fuel_mass: fuel}}
dimensions:
  vegetation: [{types}]
data:
  area: {{dims: [vegetation], unit: ha, values: {{{area}}}}}
  fuel: {{dims: [vegetation], unit: t/ha, values: {{{fuel}}}}}
rules:
  fire: {{expr: "bb.fire_emissions", unit: t}}
  co2_gross: {{expr: "bb.co2_gross", unit: t}}
  co2_regrowth: {{expr: "bb.co2_regrowth", unit: t}}
  dry_matter: {{expr: "bb.dry_matter_burnt", unit: t}}
  emissions: {{expr: "bb.emissions", unit: t}}
  by_subcategory: {{expr: "bb.emissions_by_subcategory", unit: t}}
  precursors: {{expr: "bb.precursors", unit: t}}
"""


def _burning(case: str, area: dict[str, float], fuel: dict[str, float]) -> str:
    return BURNING.format(
        case=case,
        types=", ".join(area),
        area=", ".join(f"{k}: {v!r}" for k, v in area.items()),
        fuel=", ".join(f"{k}: {v!r}" for k, v in fuel.items()),
    )


SAVANNA = "savanna_grassland_mid_late_dry_season"


def test_b1_savanna_grassland_fire(write_model: Writer) -> None:
    """B1: 1,000 ha of savanna grassland burnt late in the dry season, M_B = 6 t d.m./ha.

    C_f = 0.77 (Table 2.6, all savanna grasslands, mid/late dry season burns); G_ef = 1613, 2.3
    and 0.21 g/kg for CO2, CH4 and N2O (Table 2.5, savanna and grassland). Grass regrows within
    the year, so its CO2 is a memo item: all of it is in `co2_regrowth`, none in `emissions`.
    """
    exp = reference_cases()
    r = load(write_model(_burning("B1", {SAVANNA: 1000.0}, {SAVANNA: 6.0}))).run()
    assert r["co2_gross"][SAVANNA] == pytest.approx(exp[("B1", "CO2")], rel=1e-12)
    assert r["fire"][SAVANNA, "CO2"] == pytest.approx(exp[("B1", "CO2")], rel=1e-12)
    assert r["fire"][SAVANNA, "CH4"] == pytest.approx(exp[("B1", "CH4")], rel=1e-12)
    assert r["fire"][SAVANNA, "N2O"] == pytest.approx(exp[("B1", "N2O")], rel=1e-12)
    assert r["co2_regrowth"][SAVANNA] == r["co2_gross"][SAVANNA]
    assert r["emissions"]["CO2"] == 0.0
    assert r["emissions"]["CH4"] == pytest.approx(exp[("B1", "CH4")], rel=1e-12)
    assert r["emissions"]["N2O"] == pytest.approx(exp[("B1", "N2O")], rel=1e-12)
    # grassland fires are reported under 3.C.1.c
    assert r["by_subcategory"]["3.C.1.c", "CH4"] == pytest.approx(exp[("B1", "CH4")], rel=1e-12)
    assert r["by_subcategory"]["3.C.1.a", "CH4"] == 0.0


def test_b2_wheat_residue_burning(write_model: Writer) -> None:
    """B2: 500 ha of wheat residues burnt in the field, M_B = 5 t d.m./ha.

    C_f = 0.90 (Table 2.6, wheat residues); G_ef = 2.7 g CH4/kg and 0.07 g N2O/kg (Table 2.5,
    agricultural residues). By hand: 500 x 5 x 0.9 = 2,250 t d.m. burnt, so CH4 = 6.075 t,
    N2O = 0.1575 t, and (memo) CO2 = 2,250 x 1.515 = 3,408.75 t, balanced by regrowth.
    """
    exp = reference_cases()
    r = load(write_model(_burning("B2", {"wheat_residues": 500.0}, {"wheat_residues": 5.0}))).run()
    assert r["dry_matter"]["wheat_residues"] == pytest.approx(2250.0, rel=1e-12)
    assert r["emissions"]["CH4"] == pytest.approx(exp[("B2", "CH4")], rel=1e-12)
    assert r["emissions"]["N2O"] == pytest.approx(exp[("B2", "N2O")], rel=1e-12)
    assert r["co2_gross"]["wheat_residues"] == pytest.approx(3408.75, rel=1e-12)
    assert r["emissions"]["CO2"] == 0.0
    assert r["by_subcategory"]["3.C.1.b", "N2O"] == pytest.approx(exp[("B2", "N2O")], rel=1e-12)


# Worked example, forest fire (inputs chosen for the test; the arithmetic is ours, Eq. 2.27):
#   200 ha of boreal forest burnt, M_B = 40 t d.m./ha; C_f = 0.34 (Table 2.6, all boreal
#   forest); G_ef for extra-tropical forest (Table 2.5): CO2 1569, CH4 4.7, N2O 0.26, CO 107,
#   NOx 3.0 g/kg.
#   dry matter burnt = 200 x 40 x 0.34 = 2,720 t
#   CO2 = 2,720 x 1.569 = 4,267.68 t; CH4 = 2,720 x 0.0047 = 12.784 t;
#   N2O = 2,720 x 0.00026 = 0.7072 t; CO = 2,720 x 0.107 = 291.04 t; NOx = 2,720 x 0.003 = 8.16 t.
#   Forest biomass does not regrow within the year, so its CO2 counts (choice `reported`).
FOREST_FIRE = {"CO2": 4267.68, "CH4": 12.784, "N2O": 0.7072}


def test_forest_fire_worked_example(write_model: Writer) -> None:
    r = load(write_model(_burning("BF", {"boreal_forest": 200.0}, {"boreal_forest": 40.0}))).run()
    assert r["dry_matter"]["boreal_forest"] == pytest.approx(2720.0, rel=1e-12)
    for gas, value in FOREST_FIRE.items():
        assert r["emissions"][gas] == pytest.approx(value, rel=1e-12)
        assert r["by_subcategory"]["3.C.1.a", gas] == pytest.approx(value, rel=1e-12)
    assert r["co2_regrowth"]["boreal_forest"] == 0.0
    assert r["precursors"]["boreal_forest", "CO"] == pytest.approx(291.04, rel=1e-12)
    assert r["precursors"]["boreal_forest", "NOx"] == pytest.approx(8.16, rel=1e-12)


def test_forest_fire_co2_left_to_carbon_stock_change(write_model: Writer) -> None:
    """`non_regrowing_co2=in_stock_change`: the forest's CO2 is counted under 3.B (Eq. 2.14),
    so 3.C.1 keeps only CH4 and N2O; `co2_gross` still holds the memo value."""
    model = load(write_model(_burning("BS", {"boreal_forest": 200.0}, {"boreal_forest": 40.0})))
    r = model.run(choose={"non_regrowing_co2": "in_stock_change"})
    assert r["emissions"]["CO2"] == 0.0
    assert r["emissions"]["CH4"] == pytest.approx(FOREST_FIRE["CH4"], rel=1e-12)
    assert r["emissions"]["N2O"] == pytest.approx(FOREST_FIRE["N2O"], rel=1e-12)
    assert r["co2_gross"]["boreal_forest"] == pytest.approx(FOREST_FIRE["CO2"], rel=1e-12)
    assert r.provenance["choices"] == {"bb.non_regrowing_co2": "in_stock_change"}


def test_mixed_fires_add_up_by_subcategory(write_model: Writer) -> None:
    """B1 + B2 + the forest fire in one model: `emissions` is the sum of the three fires and of
    the three land-use subcategories; only the forest's CO2 is counted."""
    exp = reference_cases()
    area = {SAVANNA: 1000.0, "wheat_residues": 500.0, "boreal_forest": 200.0}
    fuel = {SAVANNA: 6.0, "wheat_residues": 5.0, "boreal_forest": 40.0}
    r = load(write_model(_burning("BM", area, fuel))).run()
    ch4 = exp[("B1", "CH4")] + exp[("B2", "CH4")] + FOREST_FIRE["CH4"]
    n2o = exp[("B1", "N2O")] + exp[("B2", "N2O")] + FOREST_FIRE["N2O"]
    assert r["emissions"]["CO2"] == pytest.approx(FOREST_FIRE["CO2"], rel=1e-12)
    assert r["emissions"]["CH4"] == pytest.approx(ch4, rel=1e-12)
    assert r["emissions"]["N2O"] == pytest.approx(n2o, rel=1e-12)
    for i, gas in enumerate(("CO2", "CH4", "N2O")):
        total = sum(r["by_subcategory"].values[:, i])
        assert total == pytest.approx(r["emissions"][gas], rel=1e-12)
    memo = exp[("B1", "CO2")] + 3408.75
    assert sum(r["co2_regrowth"].values) == pytest.approx(memo, rel=1e-12)


def test_national_combustion_factor_through_override(write_model: Writer) -> None:
    """Tier 2: a national C_f replaces Table 2.6's through `override:` with a reason.

    B2 with C_f = 0.85: 500 x 5 x 0.85 = 2,125 t d.m.; CH4 = 2,125 x 0.0027 = 5.7375 t.
    """
    text = _burning("BT", {"wheat_residues": 500.0}, {"wheat_residues": 5.0})
    text += """
override:
  bb.combustion_factor:
    expr: "0.85"
    because: "national field trials of wheat stubble burning (worked test)"
"""
    r = load(write_model(text)).run()
    assert r["emissions"]["CH4"] == pytest.approx(5.7375, rel=1e-12)


def test_emission_factor_spread_from_table_2_5(write_model: Writer) -> None:
    """Approach 1 on B2's memo CO2: Table 2.5's 1515 ± 177 g/kg is one standard deviation, so
    the CO2's is 2,250 t x 0.177 = 398.25 t (the only uncertain input on that path)."""
    path = write_model(_burning("BU", {"wheat_residues": 500.0}, {"wheat_residues": 5.0}))
    r = load(path).run(uncertainty=Uncertainty(method="propagation"))
    assert float(r["co2_gross"].stats["sd"][0]) == pytest.approx(398.25, rel=1e-9)


# -- forest land remaining forest land (3.B.1.a) ---------------------------------------------

FOREST = """
carbon: 1
model: forest-{case}
import:
  forest:
    from: stdlib:ipcc2006/afolu/forest_land
    with:
      area: "{area}"
      biomass_growth: "{growth}"
      root_shoot: "{r}"
      carbon_fraction: "{cf}"
      wood_removals: "{h}"
      bcef_r: "{bcef_r}"
      fuelwood_trees: "{fg_trees}"
      fuelwood_parts: "{fg_part}"
      wood_density: "{d}"
      disturbance_area: "{a_dist}"
      disturbance_biomass: "{b_w}"
      disturbance_fraction: "{fd}"
      volume: "{volume}"
      bcef_s: "{bcef_s}"
      inventory_period: "{period}"
dimensions:
  stratum: [{strata}]
rules:
  gain: {{expr: "sum(forest.gain)", unit: t C/yr}}
  loss_wood_removals: {{expr: "sum(forest.loss_wood_removals)", unit: t C/yr}}
  loss_fuelwood: {{expr: "sum(forest.loss_fuelwood)", unit: t C/yr}}
  loss_disturbance: {{expr: "sum(forest.loss_disturbance)", unit: t C/yr}}
  loss: {{expr: "sum(forest.loss)", unit: t C/yr}}
  stock: {{expr: "sum(forest.carbon_stock, over=stratum)", unit: t C}}
  change_by_stratum: {{expr: "forest.carbon_stock_change_by_stratum", unit: t C/yr}}
  change: {{expr: "forest.carbon_stock_change", unit: t C/yr}}
  co2: {{expr: "forest.emissions[gas=CO2]", unit: t}}
"""

R_CONIFER = "forest.root_shoot_default[r_class=temperate_conifer_agb_50_150]"
CF_DEFAULT = "forest.carbon_fraction_default[cf_class=default]"
NO_LOSS = {
    "fg_trees": "0 m^3/yr",
    "fg_part": "0 m^3/yr",
    "d": "0 t/m^3",
    "h": "0 m^3/yr",
    "bcef_r": "0 t/m^3",
    "a_dist": "0 ha/yr",
    "b_w": "0 t/ha",
    "fd": "0",
}
NO_STOCKS = {"volume": "0 m^3/ha", "bcef_s": "0 t/m^3", "period": "1 yr"}


def _forest(case: str, strata: str = "conifer", extra: str = "", **bindings: str) -> str:
    return FOREST.format(case=case, strata=strata, **bindings) + extra


# F1 inputs (reference case): A = 1000 ha, G_W = 4 t d.m./ha/yr, R = 0.29 (Table 4.4, temperate
# conifers, 50-150 t/ha above-ground biomass), CF = 0.47 (Table 4.3 default); H = 1500 m^3/yr,
# BCEF_R = 0.8 t/m^3; A_disturbance = 10 ha/yr, B_W = 100 t/ha, fd = 1; no fuelwood.
F1 = _forest(
    "F1",
    area="1000 ha",
    growth="4 t/ha/yr",
    r=R_CONIFER,
    cf=CF_DEFAULT,
    **{
        **NO_LOSS,
        "h": "1500 m^3/yr",
        "bcef_r": "0.8 t/m^3",
        "a_dist": "10 ha/yr",
        "b_w": "100 t/ha",
        "fd": "1",
    },
    **NO_STOCKS,
)


def test_f1_gain_loss(write_model: Writer) -> None:
    """F1: ΔC_G = 1000 x 4 x 1.29 x 0.47 (Eq. 2.9, 2.10); L_wood-removals = 1500 x 0.8 x 1.29 x
    0.47 (Eq. 2.12); L_disturbance = 10 x 100 x 1.29 x 0.47 x 1 (Eq. 2.14); ΔC_B = gain - losses
    (Eq. 2.7, 2.11); CO2 = -ΔC_B x 44/12, a removal."""
    exp = reference_cases()
    r = load(write_model(F1)).run()
    assert r["gain"].item() == pytest.approx(exp[("F1", "dC_G")], rel=1e-12)
    assert r["loss_wood_removals"].item() == pytest.approx(
        exp[("F1", "L_wood-removals")], rel=1e-12
    )
    assert r["loss_disturbance"].item() == pytest.approx(exp[("F1", "L_disturbance")], rel=1e-12)
    assert r["loss_fuelwood"].item() == 0.0
    assert r["change"].item() == pytest.approx(exp[("F1", "dC_B")], rel=1e-12)
    assert r["co2"].item() == pytest.approx(exp[("F1", "CO2 (emission +)")], rel=1e-12)
    assert r["co2"].item() < 0  # a growing carbon stock is a removal
    assert r.provenance["choices"] == {"forest.method": "gain_loss"}


# F2 (reference case): C_t1 = 50,000 t C, C_t2 = 52,500 t C, 5 years apart (Eq. 2.8). The
# stocks are built from Eq. 2.8's C = A x V x BCEF_S x (1 + R) x CF with A = 1000 ha, V = 50 and
# 52.5 m^3/ha, R = 0.29, CF = 0.47 and BCEF_S = 1 / (1.29 x 0.47) t/m^3, chosen so that
# (1 + R) x CF x BCEF_S = 1 t C/m^3 and the stocks are exactly the case's.
F2 = _forest(
    "F2",
    area="1000 ha",
    growth="0 t/ha/yr",
    r=R_CONIFER,
    cf=CF_DEFAULT,
    volume="stack(over=inventory, t1=50 m^3/ha, t2=52.5 m^3/ha)",
    bcef_s="1 t/m^3 / ((1 + 0.29) * 0.47)",
    period="5 yr",
    **NO_LOSS,
)


def test_f2_stock_difference(write_model: Writer) -> None:
    """F2: ΔC_B = (52,500 - 50,000) / 5 = 500 t C/yr (Eq. 2.8); CO2 = -500 x 44/12."""
    exp = reference_cases()
    r = load(write_model(F2)).run(choose={"method": "stock_difference"})
    assert r["stock"]["t1"] == pytest.approx(50_000.0, rel=1e-12)
    assert r["stock"]["t2"] == pytest.approx(52_500.0, rel=1e-12)
    assert r["change"].item() == pytest.approx(exp[("F2", "dC_B")], rel=1e-12)
    assert r["co2"].item() == pytest.approx(exp[("F2", "CO2 (emission +)")], rel=1e-12)
    assert r.provenance["choices"] == {"forest.method": "stock_difference"}


# Worked example, gain-loss over two strata (inputs chosen for the test; arithmetic is ours):
#   conifer: A = 2000 ha; growth from the net increment, G_W = I_V x BCEF_I = 5 x 0.6 = 3 t/ha/yr
#     (Eq. 2.10); R = 0.29 (Table 4.4, temperate conifers 50-150 t/ha); CF = 0.51 (Table 4.3,
#     temperate and boreal conifers); H = 4000 m^3/yr, BCEF_R = 0.83 t/m^3; FG_trees = 500 and
#     FG_part = 300 m^3/yr, D = 0.45 t/m^3; A_disturbance = 20 ha/yr, B_W = 120 t/ha, fd = 0.6.
#     ΔC_G = 2000 x 3 x 1.29 x 0.51 = 3,947.4
#     L_wood-removals = 4000 x 0.83 x 1.29 x 0.51 = 2,184.228
#     L_fuelwood = (500 x 0.83 x 1.29 + 300 x 0.45) x 0.51 = (535.35 + 135) x 0.51 = 341.8785
#     L_disturbance = 20 x 120 x 1.29 x 0.51 x 0.6 = 947.376
#     ΔC_B = 3,947.4 - (2,184.228 + 341.8785 + 947.376) = 3,947.4 - 3,473.4825 = 473.9175
#   broadleaf: A = 1000 ha; G_W = 4 x 0.9 = 3.6 t/ha/yr; R = 0.23 (Table 4.4, other temperate
#     broadleaf 75-150 t/ha); CF = 0.48 (Table 4.3, temperate and boreal broad-leaved);
#     H = 1000 m^3/yr, BCEF_R = 1.17 t/m^3; FG_part = 200 m^3/yr, D = 0.55 t/m^3; no disturbance.
#     ΔC_G = 1000 x 3.6 x 1.23 x 0.48 = 2,125.44
#     L_wood-removals = 1000 x 1.17 x 1.23 x 0.48 = 690.768; L_fuelwood = 200 x 0.55 x 0.48 = 52.8
#     ΔC_B = 2,125.44 - 743.568 = 1,381.872
#   total ΔC_B = 473.9175 + 1,381.872 = 1,855.7895 t C/yr
#   CO2 = -1,855.7895 x 44/12 = -81,654.738 / 12 = -6,804.5615 t


def _two_strata_gain_loss() -> str:
    def per(values: tuple[float, float], unit: str) -> str:
        return f"stack(over=stratum, conifer={values[0]!r} {unit}, broadleaf={values[1]!r} {unit})"

    return _forest(
        "GL2",
        strata="conifer, broadleaf",
        area=per((2000.0, 1000.0), "ha"),
        growth=per((5.0, 4.0), "m^3/ha/yr") + " * " + per((0.6, 0.9), "t/m^3"),
        r=(
            "stack(over=stratum,"
            " conifer=forest.root_shoot_default[r_class=temperate_conifer_agb_50_150],"
            " broadleaf=forest.root_shoot_default[r_class=temperate_other_broadleaf_agb_75_150])"
        ),
        cf=(
            "stack(over=stratum,"
            " conifer=forest.carbon_fraction_default[cf_class=temperate_boreal_conifer],"
            " broadleaf=forest.carbon_fraction_default[cf_class=temperate_boreal_broadleaf])"
        ),
        h=per((4000.0, 1000.0), "m^3/yr"),
        bcef_r=per((0.83, 1.17), "t/m^3"),
        fg_trees=per((500.0, 0.0), "m^3/yr"),
        fg_part=per((300.0, 200.0), "m^3/yr"),
        d=per((0.45, 0.55), "t/m^3"),
        a_dist=per((20.0, 0.0), "ha/yr"),
        b_w=per((120.0, 0.0), "t/ha"),
        fd=per((0.6, 0.0), ""),
        **NO_STOCKS,
    )


def test_gain_loss_two_strata_worked_example(write_model: Writer) -> None:
    r = load(write_model(_two_strata_gain_loss())).run()
    assert r["gain"].item() == pytest.approx(3947.4 + 2125.44, rel=1e-12)
    assert r["loss_wood_removals"].item() == pytest.approx(2184.228 + 690.768, rel=1e-12)
    assert r["loss_fuelwood"].item() == pytest.approx(341.8785 + 52.8, rel=1e-12)
    assert r["loss_disturbance"].item() == pytest.approx(947.376, rel=1e-12)
    assert r["change_by_stratum"]["conifer"] == pytest.approx(473.9175, rel=1e-12)
    assert r["change_by_stratum"]["broadleaf"] == pytest.approx(1381.872, rel=1e-12)
    assert r["change"].item() == pytest.approx(1855.7895, rel=1e-12)
    assert r["co2"].item() == pytest.approx(-6804.5615, rel=1e-12)


# Worked example, stock-difference over two strata, 10 years apart (arithmetic is ours, Eq. 2.8):
#   conifer: A = 2000 ha, V = 150 then 160 m^3/ha, BCEF_S = 0.70 then 0.69 t/m^3 (it falls as
#     the growing stock rises), R = 0.29, CF = 0.51.
#     C_t1 = 2000 x 150 x 0.70 x 1.29 x 0.51 = 138,159; C_t2 = 2000 x 160 x 0.69 x 1.29 x 0.51
#     = 145,264.32; ΔC_B = (145,264.32 - 138,159) / 10 = 710.532
#   broadleaf: A = 1000 ha, V = 100 then 95 m^3/ha, BCEF_S = 1.05 t/m^3, R = 0.23, CF = 0.48.
#     C_t1 = 1000 x 100 x 1.05 x 1.23 x 0.48 = 61,992; C_t2 = 1000 x 95 x 1.05 x 1.23 x 0.48
#     = 58,892.4; ΔC_B = (58,892.4 - 61,992) / 10 = -309.96 (a net loss)
#   total ΔC_B = 710.532 - 309.96 = 400.572 t C/yr; CO2 = -400.572 x 44/12 = -1,468.764 t
STOCK_DATA = """
data:
  volume_data:
    dims: [stratum, inventory]
    unit: m^3/ha
    values: {conifer: {t1: 150, t2: 160}, broadleaf: {t1: 100, t2: 95}}
  bcef_s_data:
    dims: [stratum, inventory]
    unit: t/m^3
    values: {conifer: {t1: 0.70, t2: 0.69}, broadleaf: {t1: 1.05, t2: 1.05}}
"""


def test_stock_difference_two_strata_worked_example(write_model: Writer) -> None:
    text = _forest(
        "SD2",
        strata="conifer, broadleaf",
        extra=STOCK_DATA,
        area="stack(over=stratum, conifer=2000 ha, broadleaf=1000 ha)",
        growth="0 t/ha/yr",
        r="stack(over=stratum, conifer=0.29, broadleaf=0.23)",
        cf="stack(over=stratum, conifer=0.51 t C/t, broadleaf=0.48 t C/t)",
        volume="volume_data",
        bcef_s="bcef_s_data",
        period="10 yr",
        **NO_LOSS,
    )
    r = load(write_model(text)).run(choose={"method": "stock_difference"})
    assert r["stock"]["t1"] == pytest.approx(138_159.0 + 61_992.0, rel=1e-12)
    assert r["stock"]["t2"] == pytest.approx(145_264.32 + 58_892.4, rel=1e-12)
    assert r["change_by_stratum"]["conifer"] == pytest.approx(710.532, rel=1e-12)
    assert r["change_by_stratum"]["broadleaf"] == pytest.approx(-309.96, rel=1e-12)
    assert r["change"].item() == pytest.approx(400.572, rel=1e-12)
    assert r["co2"].item() == pytest.approx(-1468.764, rel=1e-12)


def test_default_tables_hold_the_cited_values(write_model: Writer) -> None:
    """The defaults the cases use: R = 0.29 (Table 4.4, temperate conifers 50-150 t/ha),
    CF = 0.47 (Table 4.3 default), 0.51 conifers and 0.48 broad-leaved (temperate and boreal);
    the CO2/C ratio 44/12. (B1 and B2 check Table 2.6's C_f of 0.77 and 0.90.)"""
    text = (
        F1
        + """
  r: "forest.root_shoot_default"
  cf: {expr: "forest.carbon_fraction_default", unit: t C/t}
  co2_per_c: {expr: "forest.co2_per_carbon", unit: t/t C}
"""
    )
    r = load(write_model(text)).run()
    assert r["r"]["temperate_conifer_agb_50_150"] == 0.29
    assert r["cf"]["default"] == 0.47
    assert r["cf"]["temperate_boreal_conifer"] == 0.51
    assert r["cf"]["temperate_boreal_broadleaf"] == 0.48
    assert r["co2_per_c"].item() == pytest.approx(44 / 12, rel=1e-15)


def test_zero_inventory_period_is_refused_by_stock_difference(write_model: Writer) -> None:
    """Eq. 2.8 divides by t2 - t1: a zero period fails the method's assertion."""
    from carbonc.compiler.api import AssertionFailed

    text = F2.replace('inventory_period: "5 yr"', 'inventory_period: "0 yr"')
    with pytest.raises(AssertionFailed):
        load(write_model(text)).run(choose={"method": "stock_difference"})
