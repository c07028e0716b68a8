"""stdlib:ipcc2006/key_categories against worked examples computed by hand.

The example inventory (kt CO2e; removals negative) has seven categories, a removal
(forest_land), a category new since the base year (refrigeration: Eq. 4.3) and a tie in the
latest year (enteric_fermentation and refrigeration, 35 each):

    category               latest t   base 0   uncertainty U (%)
    energy_industries          450      500        5
    road_transport             250      150       10
    forest_land               -150     -200       30
    cement                      75      100       10
    enteric_fermentation        35       35       50
    refrigeration               35        0       60
    wastewater                   5       15       80

Every expected value below is an exact fraction worked out on paper from these numbers; each
test's comments show the arithmetic. The model's floating-point results must match to 1e-12.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from carbonc.compiler import AssertionFailed, load
from carbonc.compiler.cli import main
from carbonc.runtime.results import Result, Results
from tests.conftest import REPO

METHOD = REPO / "stdlib" / "ipcc2006" / "key_categories.carbon"
TOL = 1e-12

CATEGORIES = [
    "energy_industries",
    "road_transport",
    "forest_land",
    "cement",
    "enteric_fermentation",
    "refrigeration",
    "wastewater",
]

MODEL = """
carbon: 1
model: key-categories-example
import:
  kc:
    from: stdlib:ipcc2006/key_categories
    with: {{emissions: latest, base_emissions: {base}, uncertainty: {uncertainty}}}
{imports}
dimensions:
  category: [energy_industries, road_transport, forest_land, cement, enteric_fermentation,
             refrigeration, wastewater]
{dims}
data:
  latest:
    dims: [category]
    unit: kt CO2e
    values: {{energy_industries: 450, road_transport: 250, forest_land: -150, cement: 75,
              enteric_fermentation: 35, refrigeration: 35, wastewater: 5}}
  base:
    dims: [category]
    unit: kt CO2e
    values: {{energy_industries: 500, road_transport: 150, forest_land: -200, cement: 100,
              enteric_fermentation: 35, refrigeration: 0, wastewater: 15}}
  unc:
    dims: [category]
    unit: "%"
    values: {{energy_industries: 5, road_transport: 10, forest_land: 30, cement: 10,
              enteric_fermentation: 50, refrigeration: 60, wastewater: 80}}
{data}
{rest}
"""


def _model(
    write_model: Callable[..., Path],
    base: str = "base",
    uncertainty: str = "unc",
    **slots: str,
) -> Path:
    """The example model; `slots` adds text under `import:`, `dimensions:`, `data:` or at the end."""
    parts = {"imports": "", "dims": "", "data": "", "rest": "", **slots}
    return write_model(MODEL.format(base=base, uncertainty=uncertainty, **parts))


def _run(path: Path, *names: str) -> Results:
    return load(path).run(outputs=[f"kc.{n}" for n in names])


def _values(result: Result) -> dict[str, float]:
    return {labels[0]: float(v) for labels, v in result.rows()}


def _keys(result: Result) -> set[str]:
    assert result.values.dtype == bool
    return {labels[0] for labels, v in result.rows() if v}


def _assert_fractions(result: Result, expected: dict[str, Fraction]) -> None:
    got = _values(result)
    assert set(got) == set(expected)
    for cat, frac in expected.items():
        assert got[cat] == pytest.approx(float(frac), abs=TOL, rel=0), cat


def _over(denominator: int, numerators: dict[str, int]) -> dict[str, Fraction]:
    return {c: Fraction(n, denominator) for c, n in numerators.items()}


def test_method_checks_on_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    """`carbonc check` on the method file alone is silent and clean (`category` left open)."""
    assert main(["check", str(METHOD)]) == 0
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_level_assessment_approach1(write_model: Callable[..., Path]) -> None:
    """Eq. 4.1 and the 95 % rule, with a removal and a tie that straddles the threshold."""
    r = _run(
        _model(write_model),
        "level_total",
        "level",
        "level_before",
        "level_cumulative",
        "level_key",
    )
    # sum |E_y,t| = 450 + 250 + |-150| + 75 + 35 + 35 + 5 = 1000 kt = 1e6 t CO2e
    assert r["kc.level_total"].item() == pytest.approx(1e6, rel=TOL)
    assert r["kc.level_total"].unit == "t CO2e"
    # L_x,t = |E_x,t| / 1000; the removal enters as +150
    level = {
        "energy_industries": 450,
        "road_transport": 250,
        "forest_land": 150,
        "cement": 75,
        "enteric_fermentation": 35,
        "refrigeration": 35,
        "wastewater": 5,
    }
    _assert_fractions(r["kc.level"], _over(1000, level))
    # descending: energy 450, road 250, forest 150, cement 75, {enteric, refrigeration} 35, waste 5
    # before = sum of the strictly larger shares; the tied pair both get 450+250+150+75 = 925
    before = {
        "energy_industries": 0,
        "road_transport": 450,
        "forest_land": 700,
        "cement": 850,
        "enteric_fermentation": 925,
        "refrigeration": 925,
        "wastewater": 995,
    }
    _assert_fractions(r["kc.level_before"], _over(1000, before))
    # cumulative = before + the whole tie group (x included): 925 + 35 + 35 = 995 for the pair
    cumulative = {
        "energy_industries": 450,
        "road_transport": 700,
        "forest_land": 850,
        "cement": 925,
        "enteric_fermentation": 995,
        "refrigeration": 995,
        "wastewater": 1000,
    }
    _assert_fractions(r["kc.level_cumulative"], _over(1000, cumulative))
    # key when before < 0.95: every category but wastewater (0.995). Taken one at a time, the
    # second of the tied pair would start at 0.925 + 0.035 = 0.96 and not be key; ranked
    # together, both are key.
    assert _keys(r["kc.level_key"]) == set(CATEGORIES) - {"wastewater"}


def test_trend_assessment_approach1(write_model: Callable[..., Path]) -> None:
    """Eq. 4.2 (and 4.3 for the new category), trend contributions and the 95 % rule."""
    r = _run(
        _model(write_model),
        "net_total",
        "base_net_total",
        "base_level_total",
        "total_trend",
        "trend",
        "trend_share",
        "trend_before",
        "trend_cumulative",
        "trend_key",
    )
    # net totals: t: 1000 - 2*150 = 700 kt; 0: (500+150+100+35+0+15) - 200 = 600 kt
    # base level total: sum |E_y,0| = 500 + 150 + 200 + 100 + 35 + 0 + 15 = 1000 kt
    assert r["kc.net_total"].item() == pytest.approx(700e3, rel=TOL)
    assert r["kc.base_net_total"].item() == pytest.approx(600e3, rel=TOL)
    assert r["kc.base_level_total"].item() == pytest.approx(1000e3, rel=TOL)
    # total trend = (700 - 600) / |600| = 1/6
    assert r["kc.total_trend"].item() == pytest.approx(1 / 6, abs=TOL)
    # T_x = |E_x,0|/1000 * |(E_x,t - E_x,0)/|E_x,0| - 1/6| = |dE_x - |E_x,0|/6| / 1000, so
    # 6000 T_x = |6 dE_x - |E_x,0||:
    #   energy        |6*(-50) - 500| = 800   (check: 0.5 * |-0.1 - 1/6| = 0.5 * 4/15 = 800/6000)
    #   road          |6*100 - 150|   = 450
    #   forest        |6*50 - 200|    = 100   (a removal shrinking: dE = -150 - (-200) = +50)
    #   cement        |6*(-25) - 100| = 250
    #   enteric       |6*0 - 35|      = 35    (unchanged while the total grew)
    #   refrigeration |6*35 - 0|      = 210   (E_x,0 = 0: Eq. 4.3, |E_x,t| / 1000 = 35/1000)
    #   wastewater    |6*(-10) - 15|  = 75
    trend = {
        "energy_industries": 800,
        "road_transport": 450,
        "forest_land": 100,
        "cement": 250,
        "enteric_fermentation": 35,
        "refrigeration": 210,
        "wastewater": 75,
    }
    _assert_fractions(r["kc.trend"], _over(6000, trend))
    # sum = 800+450+100+250+35+210+75 = 1920, so trend_share = numerator / 1920
    _assert_fractions(r["kc.trend_share"], _over(1920, trend))
    # descending: energy 800, road 450, cement 250, refrigeration 210, forest 100, waste 75,
    # enteric 35
    before = {
        "energy_industries": 0,
        "road_transport": 800,
        "cement": 1250,
        "refrigeration": 1500,
        "forest_land": 1710,
        "wastewater": 1810,
        "enteric_fermentation": 1885,
    }
    _assert_fractions(r["kc.trend_before"], _over(1920, before))
    cumulative = {
        "energy_industries": 800,
        "road_transport": 1250,
        "cement": 1500,
        "refrigeration": 1710,
        "forest_land": 1810,
        "wastewater": 1885,
        "enteric_fermentation": 1920,
    }
    _assert_fractions(r["kc.trend_cumulative"], _over(1920, cumulative))
    # key when before < 0.95 * 1920 = 1824: all but enteric (1885); wastewater (1810) is key by
    # trend though not by level, enteric by level though not by trend
    assert _keys(r["kc.trend_key"]) == set(CATEGORIES) - {"enteric_fermentation"}


def test_level_assessment_approach2(write_model: Callable[..., Path]) -> None:
    """Eq. 4.4: level x uncertainty, normalised, key at 90 %."""
    r = _run(
        _model(write_model),
        "level_uncertainty",
        "level_uncertainty_before",
        "level_uncertainty_cumulative",
        "level_uncertainty_key",
    )
    # 1000 L_x * U_x (%): energy 450*5, road 250*10, forest 150*30, cement 75*10,
    # enteric 35*50, refrigeration 35*60, wastewater 5*80; sum = 14250
    lu = {
        "energy_industries": 2250,
        "road_transport": 2500,
        "forest_land": 4500,
        "cement": 750,
        "enteric_fermentation": 1750,
        "refrigeration": 2100,
        "wastewater": 400,
    }
    _assert_fractions(r["kc.level_uncertainty"], _over(14250, lu))
    # descending: forest 4500, road 2500, energy 2250, refrigeration 2100, enteric 1750,
    # cement 750, wastewater 400
    before = {
        "forest_land": 0,
        "road_transport": 4500,
        "energy_industries": 7000,
        "refrigeration": 9250,
        "enteric_fermentation": 11350,
        "cement": 13100,
        "wastewater": 13850,
    }
    _assert_fractions(r["kc.level_uncertainty_before"], _over(14250, before))
    cumulative = {
        "forest_land": 4500,
        "road_transport": 7000,
        "energy_industries": 9250,
        "refrigeration": 11350,
        "enteric_fermentation": 13100,
        "cement": 13850,
        "wastewater": 14250,
    }
    _assert_fractions(r["kc.level_uncertainty_cumulative"], _over(14250, cumulative))
    # key when before < 0.90 * 14250 = 12825: cement (13100) is out, though it would be key at
    # 95 % (13537.5); the uncertain forest sink ranks first
    assert _keys(r["kc.level_uncertainty_key"]) == {
        "forest_land",
        "road_transport",
        "energy_industries",
        "refrigeration",
        "enteric_fermentation",
    }


def test_trend_assessment_approach2(write_model: Callable[..., Path]) -> None:
    """Eq. 4.5: trend x uncertainty, normalised, key at 90 %."""
    r = _run(
        _model(write_model),
        "trend_uncertainty",
        "trend_uncertainty_before",
        "trend_uncertainty_cumulative",
        "trend_uncertainty_key",
    )
    # 6000 T_x (from the trend test) * U_x: energy 800*5, road 450*10, forest 100*30,
    # cement 250*10, enteric 35*50, refrigeration 210*60, wastewater 75*80; sum = 34350
    tu = {
        "energy_industries": 4000,
        "road_transport": 4500,
        "forest_land": 3000,
        "cement": 2500,
        "enteric_fermentation": 1750,
        "refrigeration": 12600,
        "wastewater": 6000,
    }
    _assert_fractions(r["kc.trend_uncertainty"], _over(34350, tu))
    before = {
        "refrigeration": 0,
        "wastewater": 12600,
        "road_transport": 18600,
        "energy_industries": 23100,
        "forest_land": 27100,
        "cement": 30100,
        "enteric_fermentation": 32600,
    }
    _assert_fractions(r["kc.trend_uncertainty_before"], _over(34350, before))
    cumulative = {
        "refrigeration": 12600,
        "wastewater": 18600,
        "road_transport": 23100,
        "energy_industries": 27100,
        "forest_land": 30100,
        "cement": 32600,
        "enteric_fermentation": 34350,
    }
    _assert_fractions(r["kc.trend_uncertainty_cumulative"], _over(34350, cumulative))
    # key when before < 0.90 * 34350 = 30915: all but enteric (32600)
    assert _keys(r["kc.trend_uncertainty_key"]) == set(CATEGORIES) - {"enteric_fermentation"}


def test_threshold_is_a_parameter(write_model: Callable[..., Path]) -> None:
    """Overriding `threshold` to 0.90 drops the tied pair (before 0.925) from the level keys."""
    rest = """
override:
  kc.threshold:
    expr: "0.90"
    because: "sensitivity test"
"""
    r = _run(_model(write_model, rest=rest), "level_key")
    assert _keys(r["kc.level_key"]) == {
        "energy_industries",
        "road_transport",
        "forest_land",
        "cement",
    }


def test_level_only_binding_gives_no_trend_or_approach2_keys(
    write_model: Callable[..., Path],
) -> None:
    """Without a base year or uncertainties (base := latest, U := 0), those shares are 0, not NaN."""
    path = _model(write_model, base="latest", uncertainty="0")
    r = load(path).run(
        outputs=[
            "kc.level_key",
            "kc.trend_share",
            "kc.trend_key",
            "kc.level_uncertainty",
            "kc.level_uncertainty_key",
            "kc.trend_uncertainty",
            "kc.trend_uncertainty_key",
        ]
    )
    assert _keys(r["kc.level_key"]) == set(CATEGORIES) - {"wastewater"}
    for name in ("trend_share", "level_uncertainty", "trend_uncertainty"):
        assert all(v == 0.0 for v in _values(r[f"kc.{name}"]).values()), name
    for name in ("trend_key", "level_uncertainty_key", "trend_uncertainty_key"):
        assert _keys(r[f"kc.{name}"]) == set(), name
    assert all(a["passed"] is not False for a in r.asserts)


@pytest.mark.parametrize("importer_declares_dual", [False, True])
def test_two_instances_with_and_without_lulucf(
    write_model: Callable[..., Path], importer_declares_dual: bool
) -> None:
    """A second instance excludes LULUCF; the dual `category_to` may also be the importer's."""
    nolulucf = """
  nolulucf:
    from: stdlib:ipcc2006/key_categories
    with: {emissions: "where(lulucf > 0, 0, latest)", base_emissions: base, uncertainty: unc}
"""
    lulucf = """
  lulucf:
    dims: [category]
    values: {energy_industries: 0, road_transport: 0, forest_land: 1, cement: 0,
             enteric_fermentation: 0, refrigeration: 0, wastewater: 0}
"""
    dual = "  category_to: {like: category}" if importer_declares_dual else ""
    path = _model(write_model, imports=nolulucf, dims=dual, data=lulucf)
    r = load(path).run(
        outputs=["kc.level_key", "nolulucf.level", "nolulucf.level_before", "nolulucf.level_key"]
    )
    assert _keys(r["kc.level_key"]) == set(CATEGORIES) - {"wastewater"}
    # without forest_land: sum |E| = 1000 - 150 = 850; forest_land's share is 0
    level = {
        "energy_industries": 450,
        "road_transport": 250,
        "forest_land": 0,
        "cement": 75,
        "enteric_fermentation": 35,
        "refrigeration": 35,
        "wastewater": 5,
    }
    _assert_fractions(r["nolulucf.level"], _over(850, level))
    # before: energy 0, road 450, cement 700, tied pair 775, wastewater 845, forest (0) 850
    before = {
        "energy_industries": 0,
        "road_transport": 450,
        "forest_land": 850,
        "cement": 700,
        "enteric_fermentation": 775,
        "refrigeration": 775,
        "wastewater": 845,
    }
    _assert_fractions(r["nolulucf.level_before"], _over(850, before))
    # key when before < 0.95 * 850 = 807.5: wastewater (845) and forest_land (share 0) are out
    assert _keys(r["nolulucf.level_key"]) == set(CATEGORIES) - {"wastewater", "forest_land"}


def test_zero_net_base_total_is_an_error(write_model: Callable[..., Path]) -> None:
    """Eq. 4.2 divides by the net base-year total: a zero total fails the method's assertion."""
    # a base year whose net total is 0: 300 kt of removals against 300 kt of emissions
    base_zero = """
  base_zero:
    dims: [category]
    unit: kt CO2e
    values: {energy_industries: 200, road_transport: 100, forest_land: -300, cement: 0,
             enteric_fermentation: 0, refrigeration: 0, wastewater: 0}
"""
    path = _model(write_model, base="base_zero", data=base_zero)
    with pytest.raises(AssertionFailed) as err:
        load(path).run(outputs=["kc.trend_key"])
    assert "net base-year total is 0" in str(err.value)


def test_negative_uncertainty_is_an_error(write_model: Callable[..., Path]) -> None:
    """Uncertainties are half-widths of a confidence interval: a negative one is refused."""
    path = _model(write_model, uncertainty="unc - 20 %")
    with pytest.raises(AssertionFailed) as err:
        load(path).run(outputs=["kc.level_uncertainty_key"])
    assert "cannot be negative" in str(err.value)
