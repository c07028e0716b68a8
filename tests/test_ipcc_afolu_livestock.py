"""IPCC 2006 Vol. 4 livestock and managed soils: stdlib:ipcc2006/afolu/{enteric_fermentation,
manure_management, managed_soils_n2o}, through .carbon models.

No case of ../shared/data/reference_cases covers these categories, so each method is checked on a
worked example computed by hand from the Guidelines' equations (Eq. 10.19/10.20, Eq. 10.22,
Eq. 11.1) and the default tables as this package carries them, and against bonsai-ipcc (MIT), a
test-only peer: its elementary equation functions are called directly with every input pinned.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from statistics import NormalDist
from types import ModuleType

import pytest
import yaml

from carbonc.compiler import load
from carbonc.compiler.api import AssertionFailed, Uncertainty
from tests.conftest import bonsai

AFOLU = Path(__file__).resolve().parents[1] / "stdlib" / "ipcc2006" / "afolu"


def _values(d: dict[str, dict[str, float]]) -> str:
    """Inline YAML for a [livestock_region, livestock] array."""
    return (
        "{"
        + ", ".join(
            f"{r}: {{" + ", ".join(f"{k}: {v!r}" for k, v in row.items()) + "}"
            for r, row in d.items()
        )
        + "}"
    )


def _pinned(factors: dict[str, float]) -> str:
    """A data entry `pinned` over livestock (missing elsewhere), to override `ef` with."""
    values = ", ".join(f"{k}: {v!r}" for k, v in factors.items())
    return f"  pinned: {{dims: [livestock], unit: kg, fill: .nan, values: {{{values}}}}}\n"


def _bonsai(module: str) -> ModuleType:
    """A bonsai_ipcc.agriculture elementary module."""
    return bonsai(f"agriculture.{module}.elementary")


@pytest.mark.parametrize(
    ("method", "code", "gas"),
    [
        ("enteric_fermentation", "3.A.1", "CH4_nonfossil"),
        ("manure_management", "3.A.2", "CH4_nonfossil"),
        ("managed_soils_n2o", "3.C.4", "N2O"),
    ],
)
def test_conventions(method: str, code: str, gas: str) -> None:
    """Each method names its IPCC category first and emits one gas through `emissions` [gas] t;
    `gas` lists only that gas (0 for the gases of other methods)."""
    path = AFOLU / f"{method}.carbon"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert doc["description"].startswith(f"IPCC category {code} (")
    model = load(path)
    assert model.dims["gas"].labels == (gas,) and model.dims["gas"].decl.others_zero
    assert model.checked.ir["emissions"].dims == ("gas",)
    assert doc["rules"]["emissions"]["unit"] == "t"
    # the IPCC livestock regions are `livestock_region`: `region` stays free for an importer's
    # countries (MRIO regions, the natural methods)
    assert "region" not in model.dims


# -- 3.A.1 enteric fermentation ------------------------------------------------------------------

ENTERIC = """
carbon: 1
model: enteric-test
import:
  ef:
    from: stdlib:ipcc2006/afolu/enteric_fermentation
    with: {{population: population}}
dimensions:
  livestock_region: [{regions}]
data:
  population: {{dims: [livestock_region, livestock], fill: 0, values: {values}}}
{extra_data}rules:
  ch4: {{expr: "ef.ch4", unit: t}}
  by_category: {{expr: "ef.ch4_by_category", unit: t}}
  by_region: {{expr: "ef.ch4_by_region", unit: t}}
  emissions: {{expr: "ef.emissions", unit: t}}
  factor: {{expr: "ef.ef", unit: kg}}
"""


def _enteric(pop: dict[str, dict[str, float]], extra: str = "", extra_data: str = "") -> str:
    return (
        ENTERIC.format(regions=", ".join(pop), values=_values(pop), extra_data=extra_data) + extra
    )


# Worked example (numbers chosen for the test; arithmetic ours, Eq. 10.19 and 10.20):
#   Western Europe (Table 10.11 cattle; Table 10.10 "developed" column):
#     dairy cattle    250,000 x 117   = 29,250,000 kg
#     other cattle  1,200,000 x  57   = 68,400,000 kg
#     sheep           800,000 x   8   =  6,400,000 kg
#     market swine  2,000,000 x   1.5 =  3,000,000 kg
#     breeding swine  150,000 x   1.5 =    225,000 kg
#     horses           40,000 x  18   =    720,000 kg
#     sum = 107,995,000 kg = 107,995 t
#   Asia (Table 10.10 "developing" column):
#     buffalo 10,000 x 55 = 550,000; goats 30,000 x 5 = 150,000; sheep 5,000 x 5 = 25,000;
#     market swine 100,000 x 1.0 = 100,000; sum = 825,000 kg = 825 t
#   Eq. 10.20 total = 108,820 t (= 108.82 Gg, Eq. 10.19's unit)
ENTERIC_POP = {
    "western_europe": {
        "dairy_cattle": 250_000,
        "other_cattle": 1_200_000,
        "sheep": 800_000,
        "market_swine": 2_000_000,
        "breeding_swine": 150_000,
        "horses": 40_000,
    },
    "asia": {"buffalo": 10_000, "goats": 30_000, "sheep": 5_000, "market_swine": 100_000},
}


def test_enteric_worked_example(write_model: Callable[..., Path]) -> None:
    r = load(write_model(_enteric(ENTERIC_POP))).run()
    assert r["by_category"]["western_europe", "dairy_cattle"] == pytest.approx(29_250.0, rel=1e-12)
    assert r["by_category"]["asia", "buffalo"] == pytest.approx(550.0, rel=1e-12)
    assert r["by_region"]["western_europe"] == pytest.approx(107_995.0, rel=1e-12)
    assert r["by_region"]["asia"] == pytest.approx(825.0, rel=1e-12)
    assert r["ch4"].item() == pytest.approx(108_820.0, rel=1e-12)
    assert r["emissions"]["CH4_nonfossil"] == pytest.approx(108_820.0, rel=1e-12)


def test_enteric_default_factors(write_model: Callable[..., Path]) -> None:
    """Table 10.11 by region for cattle (Africa and Middle East share a row); Table 10.10 by
    development for the others."""
    regions = ["north_america", "africa", "middle_east", "indian_subcontinent", "oceania"]
    r = load(write_model(_enteric({k: {"dairy_cattle": 1} for k in regions}))).run()
    f = r["factor"]
    assert [f[k, "dairy_cattle"] for k in regions] == [128, 46, 46, 58, 90]
    assert [f[k, "other_cattle"] for k in regions] == [53, 31, 31, 27, 60]
    assert f["north_america", "sheep"] == 8 and f["africa", "sheep"] == 5
    assert f["oceania", "breeding_swine"] == 1.5 and f["indian_subcontinent", "market_swine"] == 1
    assert f["africa", "camels"] == 46 and f["north_america", "mules_asses"] == 10


def test_enteric_region_development_override(write_model: Callable[..., Path]) -> None:
    """A developed country in Asia (say Japan) overrides the region's default column."""
    extra = """
override:
  ef.region_development:
    expr: "stack(over=development, developed=1, developing=0)"
    because: "worked test: a developed country in the Asia region of Table 10.11"
"""
    r = load(write_model(_enteric({"asia": {"sheep": 1000, "dairy_cattle": 100}}, extra))).run()
    assert r["factor"]["asia", "sheep"] == 8  # Table 10.10, developed
    assert r["factor"]["asia", "dairy_cattle"] == 68  # Table 10.11 still by region
    assert r["ch4"].item() == pytest.approx((1000 * 8 + 100 * 68) / 1000, rel=1e-12)


def test_enteric_uncertainty_is_half_of_each_factor(write_model: Callable[..., Path]) -> None:
    """Approach 1 on one category gives the factor's ±50% (Tables 10.10/10.11, upper end)."""
    m = load(write_model(_enteric({"western_europe": {"dairy_cattle": 1000}})))
    r = m.run(uncertainty=Uncertainty(method="propagation"))
    # the ±50% is a 95% interval, sd = 50% / 1.95996; truncation at zero (a 4e-5 tail) moves the
    # quantiles by about 1e-5
    z975 = NormalDist().inv_cdf(0.975)
    assert r["ch4"].stats["sd"] == pytest.approx(117 * 0.5 / z975, rel=1e-4)
    mc = m.run(uncertainty=Uncertainty(samples=20_000, seed=7))
    assert mc["ch4"].stats["mean"] == pytest.approx(117.0, rel=0.01)
    assert mc["ch4"].stats["p2.5"] == pytest.approx(58.5, rel=0.03)


def test_enteric_agrees_with_bonsai_ipcc(write_model: Callable[..., Path]) -> None:
    """Eq. 10.19 with every factor pinned, against bonsai's `e(ef, n)` (Gg) summed (Eq. 10.20)."""
    elem = _bonsai("livestock_manure")
    pinned = {"dairy_cattle": 131.7, "other_cattle": 49.3, "sheep": 7.1, "market_swine": 1.37}
    pop = {"dairy_cattle": 123_457.0, "other_cattle": 654_321.0, "sheep": 98_765.0}
    pop["market_swine"] = 1_234_567.0
    extra = """
override:
  ef.ef:
    expr: "where(is_present(pinned), pinned, super)"
    because: "pinned for the bonsai-ipcc cross-check"
"""
    r = load(write_model(_enteric({"western_europe": pop}, extra, _pinned(pinned)))).run()
    gg = sum(elem.e(ef=pinned[k], n=pop[k]) for k in pop)
    assert r["ch4"].item() == pytest.approx(gg * 1000.0, rel=1e-9)
    for k in pop:
        assert r["by_category"]["western_europe", k] == pytest.approx(
            elem.e(ef=pinned[k], n=pop[k]) * 1000.0, rel=1e-9
        )


# -- 3.A.2 manure management (CH4) ---------------------------------------------------------------

MANURE = """
carbon: 1
model: manure-test
import:
  mm:
    from: stdlib:ipcc2006/afolu/manure_management
    with: {{population: population, annual_temperature: temperature}}
dimensions:
  livestock_region: [{regions}]
data:
  population: {{dims: [livestock_region, livestock], fill: 0, values: {values}}}
  temperature: {{dims: [livestock_region], values: {{{temps}}}}}
{extra_data}rules:
  ch4: {{expr: "mm.ch4", unit: t}}
  by_category: {{expr: "mm.ch4_by_category", unit: t}}
  by_region: {{expr: "mm.ch4_by_region", unit: t}}
  emissions: {{expr: "mm.emissions", unit: t}}
  factor: {{expr: "mm.ef", unit: kg}}
"""


def _manure(
    pop: dict[str, dict[str, float]], temps: dict[str, float], extra: str = "", extra_data: str = ""
) -> str:
    t = ", ".join(f"{k}: {v!r}" for k, v in temps.items())
    text = MANURE.format(
        regions=", ".join(pop), values=_values(pop), temps=t, extra_data=extra_data
    )
    return text + extra


# Worked example (numbers chosen for the test; arithmetic ours, Eq. 10.22):
#   Western Europe at 14.6 °C -> the 15 °C column of Table 10.14 (temperate in Table 10.15):
#     dairy 100,000 x 34 = 3,400,000; other cattle 200,000 x 10 = 2,000,000;
#     market swine 1,000,000 x 5 = 5,000,000; breeding swine 80,000 x 13 = 1,040,000;
#     sheep 300,000 x 0.28 = 84,000 (developed, temperate); horses 10,000 x 2.34 = 23,400
#     sum = 11,547,400 kg
#   North America at 9 °C -> the "10 °C or below" column (cool):
#     dairy 50,000 x 48 = 2,400,000; other cattle 400,000 x 1 = 400,000;
#     market swine 600,000 x 10 = 6,000,000; breeding swine 60,000 x 19 = 1,140,000;
#     goats 20,000 x 0.13 = 2,600 (developed, cool); sum = 9,942,600 kg
#   total = 21,490,000 kg = 21,490 t
MANURE_POP = {
    "western_europe": {
        "dairy_cattle": 100_000,
        "other_cattle": 200_000,
        "market_swine": 1_000_000,
        "breeding_swine": 80_000,
        "sheep": 300_000,
        "horses": 10_000,
    },
    "north_america": {
        "dairy_cattle": 50_000,
        "other_cattle": 400_000,
        "market_swine": 600_000,
        "breeding_swine": 60_000,
        "goats": 20_000,
    },
}


def test_manure_worked_example(write_model: Callable[..., Path]) -> None:
    text = _manure(MANURE_POP, {"western_europe": 14.6, "north_america": 9.0})
    r = load(write_model(text)).run()
    assert r["by_region"]["western_europe"] == pytest.approx(11_547.4, rel=1e-12)
    assert r["by_region"]["north_america"] == pytest.approx(9_942.6, rel=1e-12)
    assert r["by_category"]["western_europe", "sheep"] == pytest.approx(84.0, rel=1e-12)
    assert r["ch4"].item() == pytest.approx(21_490.0, rel=1e-12)
    assert r["emissions"]["CH4_nonfossil"] == pytest.approx(21_490.0, rel=1e-12)


@pytest.mark.parametrize(
    ("temperature", "dairy", "sheep"),
    [
        (-5.0, 21, 0.19),  # 10 °C or below; cool
        (14.4, 29, 0.19),  # rounds to 14: cool
        (14.5, 34, 0.28),  # rounds to 15: temperate
        (25.49, 73, 0.28),  # 25: temperate
        (25.5, 79, 0.37),  # 26: warm
        (31.0, 92, 0.37),  # 28 °C or above; warm
    ],
)
def test_manure_temperature_columns(
    write_model: Callable[..., Path], temperature: float, dairy: float, sheep: float
) -> None:
    """The annual average temperature picks the Table 10.14 column (nearest degree) and the
    Table 10.15 climate (cool < 15 °C, temperate 15-25 °C, warm > 25 °C) consistently."""
    text = _manure({"western_europe": {"dairy_cattle": 1}}, {"western_europe": temperature})
    f = load(write_model(text)).run()["factor"]
    assert f["western_europe", "dairy_cattle"] == dairy
    assert f["western_europe", "sheep"] == sheep


def test_manure_developing_region_uses_table_10_15_developing(
    write_model: Callable[..., Path],
) -> None:
    text = _manure({"africa": {"camels": 1000, "mules_asses": 500}}, {"africa": 27.0})
    r = load(write_model(text)).run()
    assert r["factor"]["africa", "camels"] == 2.56
    assert r["ch4"].item() == pytest.approx((1000 * 2.56 + 500 * 1.20) / 1000, rel=1e-12)


def test_manure_refuses_animals_without_a_factor(write_model: Callable[..., Path]) -> None:
    """Asia's cattle rows of Table 10.14 are not carried: dairy cows there are refused, not 0."""
    text = _manure({"asia": {"dairy_cattle": 1000, "sheep": 10}}, {"asia": 20.0})
    with pytest.raises(AssertionFailed) as err:
        load(write_model(text)).run()
    assert "no Tier 1 manure" in str(err.value)


def test_manure_factor_supplied_by_override(write_model: Callable[..., Path]) -> None:
    extra = """
override:
  mm.ef:
    expr: "where(is_present(super), super, 16 kg)"
    because: "worked test: a factor read off Table 10.14 for the region, not carried by the package"
"""
    text = _manure({"asia": {"dairy_cattle": 1000, "sheep": 10}}, {"asia": 20.0}, extra)
    r = load(write_model(text)).run()
    assert r["ch4"].item() == pytest.approx((1000 * 16 + 10 * 0.16) / 1000, rel=1e-12)


def test_manure_region_without_animals_needs_no_temperature(
    write_model: Callable[..., Path],
) -> None:
    pop = {"western_europe": {"dairy_cattle": 10}, "asia": {"dairy_cattle": 0}}
    text = _manure(pop, {"western_europe": 20.0, "asia": float("nan")}).replace(
        "asia: nan", "asia: .nan"
    )
    r = load(write_model(text)).run()
    assert r["ch4"].item() == pytest.approx(10 * 50 / 1000, rel=1e-12)


def test_manure_region_with_animals_needs_a_temperature(write_model: Callable[..., Path]) -> None:
    text = _manure({"western_europe": {"sheep": 10}}, {"western_europe": float("nan")}).replace(
        "western_europe: nan", "western_europe: .nan"
    )
    with pytest.raises(AssertionFailed) as err:
        load(write_model(text)).run()
    assert "annual average temperature" in str(err.value)


def test_manure_agrees_with_bonsai_ipcc(write_model: Callable[..., Path]) -> None:
    """Eq. 10.22 with every factor pinned, against bonsai's per-head form `n x ef` (kg), which is
    the 2006 Tier 1 equation before its /10^6."""
    elem = _bonsai("livestock_manure")
    pinned = {"dairy_cattle": 33.3, "market_swine": 7.7, "sheep": 0.234, "horses": 1.98}
    pop = {"dairy_cattle": 87_654.0, "market_swine": 543_210.0, "sheep": 76_543.0}
    pop["horses"] = 6_789.0
    extra = """
override:
  mm.ef:
    expr: "where(is_present(pinned), pinned, super)"
    because: "pinned for the bonsai-ipcc cross-check"
"""
    text = _manure({"western_europe": pop}, {"western_europe": 17.0}, extra, _pinned(pinned))
    r = load(write_model(text)).run()
    kg = sum(elem.ch4_other_animals(n=pop[k], ef_others=pinned[k]) for k in pop)
    assert r["ch4"].item() == pytest.approx(kg / 1000.0, rel=1e-9)


# -- 3.C.4 direct N2O from managed soils ---------------------------------------------------------

SOILS = """
carbon: 1
model: soils-test
import:
  soils:
    from: stdlib:ipcc2006/afolu/managed_soils_n2o
    with:
      f_sn: "stack(over=n_field, other_soils={sn[0]} kg, flooded_rice={sn[1]} kg)"
      f_on: "stack(over=n_field, other_soils={on[0]} kg, flooded_rice={on[1]} kg)"
      f_cr: "stack(over=n_field, other_soils={cr[0]} kg, flooded_rice={cr[1]} kg)"
      f_som: "stack(over=n_field, other_soils={som[0]} kg, flooded_rice={som[1]} kg)"
      f_os: os
      f_prp: prp
data:
  os: {{dims: [organic_soil], unit: ha, values: {os}}}
  prp: {{dims: [prp_animal], unit: kg, values: {prp}}}
rules:
  n2o: {{expr: "soils.n2o", unit: t}}
  n2o_n: {{expr: "soils.n2o_n_direct", unit: kg}}
  n2o_n_inputs: {{expr: "soils.n2o_n_inputs", unit: kg}}
  n2o_n_os: {{expr: "soils.n2o_n_os", unit: kg}}
  n2o_n_prp: {{expr: "soils.n2o_n_prp", unit: kg}}
  by_pathway: {{expr: "soils.n2o_by_pathway", unit: t}}
  emissions: {{expr: "soils.emissions", unit: t}}
"""

ORGANIC = [
    "cropland_grassland_temperate",
    "cropland_grassland_tropical",
    "forest_temperate_boreal_nutrient_rich",
    "forest_temperate_boreal_nutrient_poor",
    "forest_tropical",
]


def _soils(
    sn: tuple[float, float] = (0, 0),
    on: tuple[float, float] = (0, 0),
    cr: tuple[float, float] = (0, 0),
    som: tuple[float, float] = (0, 0),
    os: tuple[float, ...] = (0, 0, 0, 0, 0),
    prp: tuple[float, float] = (0, 0),
    extra: str = "",
) -> str:
    return SOILS.format(sn=sn, on=on, cr=cr, som=som, os=list(os), prp=list(prp)) + extra


# Worked example (numbers chosen for the test; arithmetic ours, Eq. 11.1 and Table 11.1):
#   N inputs, other soils: F_SN 1,000,000 + F_ON 500,000 + F_CR 300,000 + F_SOM 20,000
#     = 1,820,000 kg N x EF1 0.01 = 18,200 kg N2O-N
#   N inputs, flooded rice: F_SN 200,000 + F_CR 50,000 = 250,000 x EF1FR 0.003 = 750
#   organic soils: 1,000 ha x 8 + 200 x 16 + 500 x 0.6 + 300 x 0.1 + 100 x 8 = 12,330
#   grazing: F_PRP,CPP 400,000 x 0.02 + F_PRP,SO 100,000 x 0.01 = 9,000
#   N2O-N = 18,200 + 750 + 12,330 + 9,000 = 40,280 kg
#   N2O = 40,280 x 44/28 = 63,297.142857142857 kg = 63.297142857142857 t
WORKED = {
    "sn": (1_000_000, 200_000),
    "on": (500_000, 0),
    "cr": (300_000, 50_000),
    "som": (20_000, 0),
    "os": (1_000, 200, 500, 300, 100),
    "prp": (400_000, 100_000),
}


def test_soils_worked_example(write_model: Callable[..., Path]) -> None:
    r = load(write_model(_soils(**WORKED))).run()  # type: ignore[arg-type]
    assert r["n2o_n_inputs"]["synthetic_fertiliser", "flooded_rice"] == pytest.approx(
        600.0, rel=1e-12
    )
    assert sum(r["n2o_n_inputs"].values.ravel()) == pytest.approx(18_950.0, rel=1e-12)
    assert sum(r["n2o_n_os"].values) == pytest.approx(12_330.0, rel=1e-12)
    assert r["n2o_n_prp"]["cattle_poultry_pigs"] == pytest.approx(8_000.0, rel=1e-12)
    assert r["n2o_n"].item() == pytest.approx(40_280.0, rel=1e-12)
    assert r["n2o"].item() == pytest.approx(63.297142857142857, rel=1e-12)
    assert r["emissions"]["N2O"] == pytest.approx(63.297142857142857, rel=1e-12)
    assert r["by_pathway"]["organic_soils"] == pytest.approx(12_330 * 44 / 28 / 1000, rel=1e-12)


def test_soils_table_11_1_defaults(write_model: Callable[..., Path]) -> None:
    """One unit of each input at a time recovers each Table 11.1 factor."""
    r = load(write_model(_soils(sn=(1, 0)))).run()
    assert r["n2o_n"].item() == pytest.approx(0.01, rel=1e-12)  # EF1
    r = load(write_model(_soils(som=(0, 1)))).run()
    assert r["n2o_n"].item() == pytest.approx(0.003, rel=1e-12)  # EF1FR
    for i, ef in enumerate([8, 16, 0.6, 0.1, 8]):  # EF2 CG Temp, CG Trop, F Temp NR/NP, F Trop
        os = tuple(1.0 if j == i else 0.0 for j in range(5))
        r = load(write_model(_soils(os=os))).run()
        assert r["n2o_n"].item() == pytest.approx(ef, rel=1e-12), ORGANIC[i]
    r = load(write_model(_soils(prp=(0, 1)))).run()
    assert r["n2o_n"].item() == pytest.approx(0.01, rel=1e-12)  # EF3PRP,SO


def test_soils_ef1_uncertainty_range(write_model: Callable[..., Path]) -> None:
    """Monte Carlo on synthetic fertiliser alone: the 95% interval is Table 11.1's 0.003-0.03."""
    m = load(write_model(_soils(sn=(1_000_000, 0))))
    r = m.run(uncertainty=Uncertainty(samples=40_000, seed=3))
    per_kg = 44 / 28 / 1000 * 1_000_000
    assert r["n2o"].stats["p2.5"] == pytest.approx(0.003 * per_kg, rel=0.03)
    assert r["n2o"].stats["p97.5"] == pytest.approx(0.03 * per_kg, rel=0.03)
    assert r["n2o"].stats["median"] == pytest.approx((0.003 * 0.03) ** 0.5 * per_kg, rel=0.03)


def test_soils_agrees_with_bonsai_ipcc(write_model: Callable[..., Path]) -> None:
    """Eq. 11.1 term by term against bonsai's n2o_n_inputs/os/prp, n2o_n_direct and n2o."""
    soils = _bonsai("soils")
    generic = _bonsai("generic")
    inputs = {
        "sn": (1_234_567.0, 234_567.0),
        "on": (345_678.0, 45_678.0),
        "cr": (456_789.0, 56_789.0),
        "som": (12_345.0, 1_234.0),
        "os": (1_111.0, 222.0, 333.0, 444.0, 55.0),
        "prp": (678_901.0, 78_901.0),
    }
    pinned = """
override:
  soils.ef1: {expr: "stack(over=n_field, other_soils=0.0123, flooded_rice=0.0041)", because: "pinned"}
  soils.ef2:
    expr: "stack(over=organic_soil, cropland_grassland_temperate=7.7 kg/ha, cropland_grassland_tropical=15.5 kg/ha, forest_temperate_boreal_nutrient_rich=0.55 kg/ha, forest_temperate_boreal_nutrient_poor=0.12 kg/ha, forest_tropical=8.8 kg/ha)"
    because: "pinned for the bonsai-ipcc cross-check"
  soils.ef3_prp: {expr: "stack(over=prp_animal, cattle_poultry_pigs=0.021, sheep_other=0.0095)", because: "pinned"}
"""
    r = load(write_model(_soils(**inputs, extra=pinned))).run()  # type: ignore[arg-type]
    ef1, ef2 = (0.0123, 0.0041), (7.7, 15.5, 0.55, 0.12, 8.8)
    sn, on, cr, som = inputs["sn"], inputs["on"], inputs["cr"], inputs["som"]
    n_in = sum(soils.n2o_n_inputs(sn[i], on[i], cr[i], som[i], ef1[i]) for i in range(2))
    n_os = sum(soils.n2o_n_os(a, e) for a, e in zip(inputs["os"], ef2, strict=True))
    n_prp = soils.n2o_n_prp(inputs["prp"][0], 0.021) + soils.n2o_n_prp(inputs["prp"][1], 0.0095)
    direct = soils.n2o_n_direct(n_in, n_os, n_prp)
    assert sum(r["n2o_n_inputs"].values.ravel()) == pytest.approx(n_in, rel=1e-9)
    assert sum(r["n2o_n_os"].values) == pytest.approx(n_os, rel=1e-9)
    assert sum(r["n2o_n_prp"].values) == pytest.approx(n_prp, rel=1e-9)
    assert r["n2o_n"].item() == pytest.approx(direct, rel=1e-9)
    assert r["n2o"].item() == pytest.approx(generic.n2o(direct) / 1000.0, rel=1e-9)


def test_enteric_and_manure_share_one_population(write_model: Callable[..., Path]) -> None:
    """Both 3.A methods in one model, on the same narrowed population (two of the categories).

    By hand: enteric 1,000 x 117 + 100 x 8 = 117,800 kg; manure at 9 °C (cool) 1,000 x 21 +
    100 x 0.19 = 21,019 kg; together 138,819 kg = 138.819 t.
    """
    text = """
carbon: 1
model: both
import:
  ent:
    from: stdlib:ipcc2006/afolu/enteric_fermentation
    with: {population: pop}
  mm:
    from: stdlib:ipcc2006/afolu/manure_management
    with: {population: pop, annual_temperature: "stack(over=livestock_region, western_europe=9)"}
dimensions:
  livestock_region: [western_europe]
  livestock: [dairy_cattle, sheep]
data:
  pop: {dims: [livestock_region, livestock], values: {western_europe: {dairy_cattle: 1000, sheep: 100}}}
rules:
  total: {expr: "sum(ent.emissions + mm.emissions)", unit: t}
"""
    r = load(write_model(text)).run()
    assert r["total"].item() == pytest.approx(138.819, rel=1e-12)
