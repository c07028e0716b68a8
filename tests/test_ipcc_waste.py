"""IPCC 2006 Vol. 5 (Waste): stdlib:ipcc2006/waste/{incineration, solid_waste_disposal, wastewater}.

Each method is run through a small .carbon model that imports it and binds its inputs with
`with:`. Cases W1a/W1b come from ../shared/data/reference_cases (every input pinned, since
bonsai-ipcc picks between two default sets when they are not); the other worked examples are
computed by hand in the comments. The cross-checks call bonsai-ipcc's (MIT, a test-only peer)
elementary equation functions directly, with every input pinned to the value the method uses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from carbonc.compiler import AssertionFailed, load
from tests.conftest import bonsai, reference_cases

TOL = 1e-12


def _bonsai(module: str) -> ModuleType:
    """A bonsai_ipcc module."""
    return bonsai(module)


# == 4.C incineration and open burning (Vol. 5 Ch. 5) ==============================================

W1 = """
carbon: 1
model: incineration-{case}
import:
  inc:
    from: stdlib:ipcc2006/waste/incineration
    with:
      waste: "msw_incinerated * composition"
dimensions:
  waste_type: [plastics]
parameters:
  urban_population: 62940432
  msw_per_capita: "{rate} t"
  fraction_incinerated: {frac}
data:
  composition: {{dims: [waste_type], values: {{plastics: {plastics}}}}}
rules:
  msw_incinerated: {{expr: "urban_population * msw_per_capita * fraction_incinerated", unit: Gg}}
  waste_incinerated: {{expr: "sum(inc.waste)", unit: Gg}}
  co2: {{expr: "inc.emissions[gas=CO2]", unit: Gg}}
"""

# (case, MSW per capita (t), fraction incinerated, plastics fraction), from the case's inputs
W1_CASES = [("W1a", 0.6, 0.37, 0.104), ("W1b", 0.59, 0.4, 0.205)]


@pytest.mark.parametrize(("case", "rate", "frac", "plastics"), W1_CASES)
def test_w1_plastics_incinerated_reference_cases(
    write_model: Callable[..., Path], case: str, rate: float, frac: float, plastics: float
) -> None:
    """W1a/W1b: the plastics in incinerated MSW (Eq. 5.2 with one component).

    dm 1, CF 0.75, FCF 1 (Table 2.4, plastics) and OF 1 (Table 5.2, incineration): the
    method's defaults are the case's pinned inputs.
    """
    exp = reference_cases()
    text = W1.format(case=case, rate=rate, frac=frac, plastics=plastics)
    r = load(write_model(text)).run()
    assert r["waste_incinerated"].item() == pytest.approx(exp[(case, "waste incinerated")], rel=TOL)
    assert r["co2"].item() == pytest.approx(exp[(case, "CO2")], rel=TOL)


INCINERATION = """
carbon: 1
model: incineration-worked
import:
  inc:
    from: stdlib:ipcc2006/waste/incineration
    with: {{waste: waste}}
dimensions:
  waste_type: [{types}]
data:
  waste: {{dims: [waste_type], unit: t, values: {{{values}}}}}
rules:
  emissions: {{expr: "inc.emissions", unit: t}}
  co2_biogenic: {{expr: "sum(inc.co2_biogenic)", unit: t}}
  by_type: {{expr: "inc.by_waste_type", unit: t}}
"""

NATIONAL_DM = """
override:
  inc.dm:
    expr: "where(super > 0, super, 0.7)"
    because: "national data: dry matter of industrial waste burned (worked test)"
"""


def _incineration(waste: dict[str, float], extra: str = "") -> str:
    values = ", ".join(f"{k}: {v!r}" for k, v in waste.items())
    return INCINERATION.format(types=", ".join(waste), values=values) + extra


MIXED = {"plastics": 100.0, "paper_cardboard": 200.0, "food": 300.0, "fossil_liquid": 50.0}


def test_incineration_worked_example_batch_stoker(write_model: Callable[..., Path]) -> None:
    """Eq. 5.1-5.5 by hand, batch stoker incinerator, with national dm for industrial waste.

    CO2 (fossil), SW x dm x CF x FCF x OF x 44/12 (Table 2.4 / 5.2 defaults, OF = 1):
      plastics      100 x 1.0 x 0.75 x 1.00 x 44/12 = 275
      paper         200 x 0.9 x 0.46 x 0.01 x 44/12 = 0.828 x 44/12 = 3.036
      food          300 x 0.4 x 0.38 x 0 = 0
      fossil liquid  50 x 1 x 0.80 x 1.00 x 44/12 (Eq. 5.3) = 40 x 44/12 = 146.6666...
      industrial     80 x 0.7 x 0.50 x 0.90 x 44/12 = 25.2 x 44/12 = 92.4  (dm 0.7: national)
      total 517.1026666...
    biogenic CO2 (1 - FCF): paper 82.8 x 0.99 x 44/12 = 300.564; food 45.6 x 44/12 = 167.2;
      industrial 28 x 0.10 x 44/12 = 10.2666...; total 478.0306666...
    CH4 (Table 5.3, batch stoker, MSW only): 600 t x 60 g/t = 0.036 t
    N2O (Table 5.4, batch): MSW 600 t x 60 g/t + industrial 80 t x 100 g/t = 0.036 + 0.008 t
    """
    waste = {**MIXED, "industrial": 80.0}
    model = load(write_model(_incineration(waste, NATIONAL_DM)))
    r = model.run(choose={"technology": "batch_stoker"})
    e = r["emissions"]
    assert e["CO2"] == pytest.approx(275 + 3.036 + 40 * 44 / 12 + 92.4, rel=TOL)
    assert e["CO2"] == pytest.approx(517.1026666666667, rel=TOL)
    assert e["CH4"] == pytest.approx(0.036, rel=TOL)
    assert e["N2O"] == pytest.approx(0.044, rel=TOL)
    assert r["co2_biogenic"].item() == pytest.approx(300.564 + 167.2 + 2.8 * 44 / 12, rel=TOL)
    assert r["by_type"]["paper_cardboard", "CO2"] == pytest.approx(3.036, rel=TOL)
    assert r["by_type"]["industrial", "CO2"] == pytest.approx(92.4, rel=TOL)

    # the default technology, a continuous stoker: CH4 0.2 g/t, N2O 50 g/t for MSW
    d = model.run()["emissions"]
    assert d["CO2"] == pytest.approx(517.1026666666667, rel=TOL)
    assert d["CH4"] == pytest.approx(600 * 0.2e-6, rel=TOL)
    assert d["N2O"] == pytest.approx(600 * 50e-6 + 80 * 100e-6, rel=TOL)


def test_open_burning_worked_example(write_model: Callable[..., Path]) -> None:
    """Open burning of MSW (category 4.C.2): OF 0.58 (Table 5.2), CH4 6500 g/t wet weight,
    N2O 150 g/t dry weight (Table 5.4).

    CO2: (275 + 3.036) x 0.58 = 161.26088 t
    CH4: 600 t x 6500 g/t = 3.9 t
    N2O: dry matter 100 x 1.0 + 200 x 0.9 + 300 x 0.4 = 400 t; x 150 g/t = 0.06 t
    """
    msw = {k: v for k, v in MIXED.items() if k != "fossil_liquid"}
    r = load(write_model(_incineration(msw))).run(choose={"technology": "open_burning"})
    e = r["emissions"]
    assert e["CO2"] == pytest.approx(161.26088, rel=TOL)
    assert e["CH4"] == pytest.approx(3.9, rel=TOL)
    assert e["N2O"] == pytest.approx(0.06, rel=TOL)


def test_incineration_refuses_missing_defaults(write_model: Callable[..., Path]) -> None:
    """No default dm for industrial waste (Table 5.2), no open burning of fossil liquid waste."""
    with pytest.raises(AssertionFailed) as err:
        load(write_model(_incineration({"plastics": 10.0, "industrial": 5.0}))).run()
    assert "no default dry matter content" in str(err.value)

    # a waste type with no default is fine when none of it is burned
    r = load(write_model(_incineration({"plastics": 10.0, "industrial": 0.0}))).run()
    assert r["emissions"]["CO2"] == pytest.approx(10 * 0.75 * 44 / 12, rel=TOL)

    with pytest.raises(AssertionFailed) as err:
        load(write_model(_incineration(MIXED))).run(choose={"technology": "open_burning"})
    assert "not occurring" in str(err.value)


def test_incineration_agrees_with_bonsai_ipcc(write_model: Callable[..., Path]) -> None:
    """Per waste type and gas, with every input pinned: waste, dm, CF, FCF, OF and the factors."""
    elem = _bonsai("waste.incineration.elementary")
    gen = _bonsai("waste.waste_generation.elementary")
    waste = {
        "plastics": 120.0,
        "textiles": 40.0,
        "nappies": 25.0,
        "other_inert": 60.0,
        "industrial": 80.0,
        "sewage_sludge": 30.0,
        "fossil_liquid": 15.0,
    }
    pinned = """
override:
  inc.dm:
    expr: "where(super > 0, super, stack(over=waste_type, plastics=1, textiles=1, nappies=1,
           other_inert=1, industrial=0.7, sewage_sludge=0.25, fossil_liquid=1))"
    because: "pinned for the bonsai-ipcc cross-check"
"""
    model = load(write_model(_incineration(waste, pinned)))
    # (dm, CF, FCF) the method uses: Table 2.4 for MSW, Table 5.2 and the pinned dm otherwise
    carbon = {
        "plastics": (1.0, 0.75, 1.0),
        "textiles": (0.8, 0.5, 0.2),
        "nappies": (0.4, 0.7, 0.1),
        "other_inert": (0.9, 0.03, 1.0),
        "industrial": (0.7, 0.5, 0.9),
        "sewage_sludge": (0.25, 0.45, 0.0),
        "fossil_liquid": (1.0, 0.8, 1.0),
    }
    msw = {"plastics", "textiles", "nappies", "other_inert"}
    # technology -> (OF, CH4 g/t for MSW, N2O g/t for MSW (wet), industrial, sewage sludge)
    cases = {
        "semi_continuous_fluidised_bed": (1.0, 188.0, 50.0, 100.0, 900.0),
        "batch_fluidised_bed": (1.0, 237.0, 60.0, 100.0, 900.0),
    }
    for technology, (of, ch4_msw, n2o_msw, n2o_ind, n2o_sludge) in cases.items():
        r = model.run(choose={"technology": technology})["by_type"]
        for w, amount in waste.items():
            dm, cf, fcf = carbon[w]
            gg = amount / 1000  # bonsai works in Gg and kg/Gg (= g/t)
            ef_ch4 = ch4_msw if w in msw else 0.0
            ef_n2o = {"industrial": n2o_ind, "sewage_sludge": n2o_sludge}.get(
                w, n2o_msw if w in msw else 0.0
            )
            co2 = elem.co2_emissions(waste=gg, dm=dm, cf=cf, fcf=fcf, of=of) * 1000
            assert r[w, "CO2"] == pytest.approx(co2, rel=1e-9)
            assert r[w, "CH4"] == pytest.approx(elem.ch4_emissions(gg, ef_ch4) * 1000, rel=1e-9)
            assert r[w, "N2O"] == pytest.approx(elem.n2o_emissions(gg, ef_n2o) * 1000, rel=1e-9)

    # open burning of the MSW components: OF 0.58, CH4 6500 g/t, N2O 150 g/t of dry matter
    only_msw = {w: waste[w] for w in msw}
    r = load(write_model(_incineration(only_msw))).run(choose={"technology": "open_burning"})
    for w, amount in only_msw.items():
        dm, cf, fcf = carbon[w]
        gg = amount / 1000
        co2 = elem.co2_emissions(waste=gg, dm=dm, cf=cf, fcf=fcf, of=0.58) * 1000
        assert r["by_type"][w, "CO2"] == pytest.approx(co2, rel=1e-9)
        assert r["by_type"][w, "CH4"] == pytest.approx(elem.ch4_emissions(gg, 6500.0) * 1000)
        n2o = elem.n2o_emissions(gg, 150.0 * dm) * 1000
        assert r["by_type"][w, "N2O"] == pytest.approx(n2o, rel=1e-9)

    # W1a's plastics: bonsai's activity equation and Eq. 5.1 with the case's pinned inputs
    exp = reference_cases()
    tonnes = gen.msw_to_incin(62940432, 0.6, 0.37, 0.104)
    assert tonnes / 1000 == pytest.approx(exp[("W1a", "waste incinerated")], rel=1e-9)
    co2 = elem.co2_emissions(waste=tonnes / 1000, dm=1.0, cf=0.75, fcf=1.0, of=1.0)
    assert co2 == pytest.approx(exp[("W1a", "CO2")], rel=1e-9)


# == 4.A solid waste disposal, first-order decay (Vol. 5 Ch. 3) ====================================

SWD = """
carbon: 1
model: swd-{case}
import:
  swd:
    from: stdlib:ipcc2006/waste/solid_waste_disposal
    with:
      waste_deposited: deposited
      ch4_recovered: {recovered}
dimensions:
  year: [{years}]
  waste_type: [{types}]
  swd_site: [{site}]
data:
  deposited: {{dims: [year, waste_type, swd_site], unit: t, values: {{{deposited}}}}}
{data}
rules:
  emissions: {{expr: "swd.emissions", unit: t}}
  ch4_by_year: {{expr: "swd.ch4_by_year", unit: t}}
  generated: {{expr: "sum(swd.ch4_generated, over=(waste_type, swd_site))", unit: t}}
  decomposed: {{expr: "sum(swd.ddocm_decomposed, over=swd_site)", unit: t}}
  accumulated: {{expr: "sum(swd.ddocm_accumulated, over=swd_site)", unit: t}}
{extra}
"""


def _swd(
    case: str,
    deposits: dict[str, dict[str, float]],
    site: str = "managed_anaerobic",
    recovered: str = '"0 t"',
    data: str = "",
    extra: str = "",
) -> str:
    years = list(deposits)
    types = list(next(iter(deposits.values())))
    values = ", ".join(
        f'"{y}": {{' + ", ".join(f"{w}: {{{site}: {v!r}}}" for w, v in row.items()) + "}"
        for y, row in deposits.items()
    )
    return SWD.format(
        case=case,
        years=", ".join(f'"{y}"' for y in years),
        types=", ".join(types),
        site=site,
        deposited=values,
        recovered=recovered,
        data=data,
        extra=extra,
    )


# The worked example: four years, food and paper in a managed anaerobic site (MCF 1), boreal or
# temperate wet climate (Table 3.3: k = 0.185 for food, 0.06 for paper), DOCf 0.5, F 0.5, OX 0,
# no recovery. Deposits (t wet weight) and DDOCmd = W x DOC x DOCf x MCF (Eq. 3.2):
#   food  (DOC 0.15): 1000, 1200, 0, 800  ->  75, 90, 0, 60
#   paper (DOC 0.40):  500,  400, 0, 600  -> 100, 80, 0, 120
# exp(-0.185) = 0.8311042838521256, exp(-0.06) = 0.9417645335842487. By Eq. 3.4-3.5 (decay
# starts on 1 January after deposition, so nothing decomposes in a deposit's own year):
#   2020: decomposed 0; accumulated food 75, paper 100; CH4 0
#   2021: decomposed food 75 x (1 - 0.83110428) = 12.66717871, paper 100 x (1 - 0.94176453)
#         = 5.82354664; accumulated food 90 + 75 x 0.83110428 = 152.33282129, paper 80 + 94.17645336
#         = 174.17645336; CH4 = (12.66717871 + 5.82354664) x 0.5 x 16/12 = 12.32715024
#   2022: decomposed food 152.33282129 x 0.16889572 = 25.72836094, paper 174.17645336 x 0.05823547
#         = 10.14324700; accumulated food 0 + 152.33282129 x 0.83110428 = 126.60446034, paper
#         164.03320636; CH4 = 35.87160794 x 2/3 = 23.91440530
#   2023: decomposed food 126.60446034 x 0.16889572 = 21.38295100, paper 164.03320636 x 0.05823547
#         = 9.55255028; CH4 = 30.93550128 x 2/3 = 20.62366752
SWD_DEPOSITS = {
    "2020": {"food": 1000.0, "paper_cardboard": 500.0},
    "2021": {"food": 1200.0, "paper_cardboard": 400.0},
    "2022": {"food": 0.0, "paper_cardboard": 0.0},
    "2023": {"food": 800.0, "paper_cardboard": 600.0},
}
SWD_CH4 = [0.0, 12.327150235110471, 23.914405296257158, 20.623667518236086]


def test_swd_worked_example_four_years(write_model: Callable[..., Path]) -> None:
    """The FOD worked example above: CH4 by year, DDOCm decomposed and accumulated."""
    r = load(write_model(_swd("worked", SWD_DEPOSITS))).run()
    assert list(r["ch4_by_year"].values) == pytest.approx(SWD_CH4, rel=TOL, abs=1e-15)
    assert r["emissions"]["CH4"] == pytest.approx(20.623667518236086, rel=TOL)
    dec, acc = r["decomposed"], r["accumulated"]
    assert dec["2021", "food"] == pytest.approx(75 * (1 - math.exp(-0.185)), rel=TOL)
    assert dec["2021", "paper_cardboard"] == pytest.approx(100 * (1 - math.exp(-0.06)), rel=TOL)
    assert acc["2021", "food"] == pytest.approx(90 + 75 * math.exp(-0.185), rel=TOL)
    assert acc["2022", "food"] == pytest.approx(126.6044603444929, rel=TOL)
    assert acc["2023", "paper_cardboard"] == pytest.approx(274.4806560784998, rel=TOL)
    assert dec["2023", "food"] == pytest.approx(21.38295099739829, rel=TOL)
    assert dec["2020", "food"] == 0.0


def test_swd_recursion_by_year(write_model: Callable[..., Path]) -> None:
    """The closed form equals Eq. 3.4-3.6 applied year by year, over ten irregular years and
    all six waste types in a tropical wet climate (k up to 0.4)."""
    k = {"food": 0.4, "garden_park": 0.17, "paper_cardboard": 0.07, "wood": 0.035}
    k |= {"textiles": 0.07, "sewage_sludge": 0.4}
    doc = {"food": 0.15, "garden_park": 0.20, "paper_cardboard": 0.40, "wood": 0.43}
    doc |= {"textiles": 0.24, "sewage_sludge": 0.05}
    deposits = {
        str(2000 + i): {w: float((37 * i + 11 * j) % 23) * 100 for j, w in enumerate(k)}
        for i in range(10)
    }
    text = _swd("recursion", deposits, site="unmanaged_deep")
    r = load(write_model(text)).run(choose={"climate_zone": "tropical_wet"})
    expected = []
    acc = dict.fromkeys(k, 0.0)
    for row in deposits.values():
        gen = 0.0
        for w, amount in row.items():
            decomposed = acc[w] * (1 - math.exp(-k[w]))  # Eq. 3.5
            acc[w] = amount * doc[w] * 0.5 * 0.8 + acc[w] * math.exp(-k[w])  # Eq. 3.2, 3.4
            gen += decomposed * 0.5 * 16 / 12  # Eq. 3.6
        expected.append(gen)
    assert list(r["ch4_by_year"].values) == pytest.approx(expected, rel=TOL, abs=1e-12)


def test_swd_delay_recovery_and_oxidation(write_model: Callable[..., Path]) -> None:
    """Annex 3A.1 with no delay (M = 7: half a year of decay in the deposit year), recovery R
    and an oxidising cover (OX 0.1, Table 3.2).

    With delay 0, (13 - M)/12 = 0.5: 2020's food deposit decomposes 75 x (1 - exp(-0.0925))
    = 6.62630918 in 2020, and 68.37369082 remains; in 2021, 68.37369082 x (1 - exp(-0.185))
    + 90 x (1 - exp(-0.0925)) = 11.54802 + 7.95157 = 19.49959. Paper: 100 x (1 - exp(-0.03))
    = 2.95544665 in 2020. CH4 2020 = (6.62630918 + 2.95544665) x 2/3 = 6.38783722;
    emitted with R = 1 t and OX 0.1: (6.38783722 - 1) x 0.9 = 4.84905349.
    """
    override = """
override:
  swd.delay_months:
    expr: "0"
    because: "worked test: decay starts at deposition (Annex 3A.1, M = 7)"
"""
    values = '{"2020": 1, "2021": 2, "2022": 0, "2023": 3}'
    data = f"  recovered: {{dims: [year], unit: t, values: {values}}}"
    text = _swd("delay", SWD_DEPOSITS, recovered="recovered", data=data, extra=override)
    r = load(write_model(text)).run(choose={"cover": "oxidising_cover"})
    dec = r["decomposed"]
    assert dec["2020", "food"] == pytest.approx(75 * (1 - math.exp(-0.185 / 2)), rel=TOL)
    assert dec["2021", "food"] == pytest.approx(19.499594490309995, rel=TOL)
    generated = [6.387837215209704, 18.343591089438227, 22.19913913412375, 25.07437564957461]
    assert list(r["generated"].values) == pytest.approx(generated, rel=TOL)
    emitted = [(g - rec) * 0.9 for g, rec in zip(generated, [1, 2, 0, 3], strict=True)]
    assert list(r["ch4_by_year"].values) == pytest.approx(emitted, rel=TOL)
    assert r["ch4_by_year"]["2020"] == pytest.approx(4.849053493688734, rel=TOL)
    assert r["emissions"]["CH4"] == pytest.approx(emitted[-1], rel=TOL)


def test_swd_inert_and_missing_defaults(write_model: Callable[..., Path]) -> None:
    """Plastics (inert: no DOC) give no CH4; industrial waste (no default DOC, Table 2.5 is by
    industry) is refused until `doc` and `k` are overridden, then decays like any other type.

    With DOC 0.15 and k 0.185 for industrial waste, its 1000 t a year give the food rows of the
    worked example: 75 t DDOCm a year, 75 x (1 - exp(-0.185)) = 12.66717871 t decomposed in
    2021, CH4 = 12.66717871 x 0.5 x 16/12 = 8.44478581 t.
    """
    plastics = {y: {"food": 0.0, "plastics": 5000.0} for y in ("2020", "2021")}
    r = load(write_model(_swd("inert", plastics))).run()
    assert list(r["ch4_by_year"].values) == [0.0, 0.0]

    industrial = {y: {"industrial": 1000.0} for y in ("2020", "2021")}
    with pytest.raises(AssertionFailed) as err:
        load(write_model(_swd("industrial", industrial))).run()
    assert "no default DOC" in str(err.value)

    national = """
override:
  swd.doc:
    expr: "where(super > 0, super, 0.15)"
    because: "national data: DOC of industrial waste (worked test)"
  swd.k:
    expr: "where(super > 0, super, 0.185)"
    because: "national data: decay rate of industrial waste (worked test)"
"""
    r = load(write_model(_swd("industrial", industrial, extra=national))).run()
    assert r["ch4_by_year"]["2021"] == pytest.approx(
        75 * (1 - math.exp(-0.185)) * 0.5 * 16 / 12, rel=TOL
    )


def test_swd_agrees_with_bonsai_ipcc(write_model: Callable[..., Path]) -> None:
    """bonsai's Eq. 3.1, 3.2, 3.4, 3.5 and 3.6, year by year, with every parameter pinned:
    DOC (Table 2.4), DOCf 0.5, MCF 0.4 (unmanaged shallow), k (Table 3.3, tropical dry),
    F 0.5, OX 0.1 and a recovery of 20 % of the CH4 generated."""
    elem = _bonsai("waste.swd.elementary")
    k = {"wood": 0.025, "garden_park": 0.065, "textiles": 0.045, "food": 0.085}
    doc = {"wood": 0.43, "garden_park": 0.20, "textiles": 0.24, "food": 0.15}
    deposits = {
        str(1990 + i): {w: 1000.0 + 250 * ((3 * i + 5 * j) % 7) for j, w in enumerate(k)}
        for i in range(8)
    }
    generated, emitted = [], []
    acc = dict.fromkeys(k, 0.0)
    for row in deposits.values():
        gen = 0.0
        for w, amount in row.items():
            ddocm = elem.ddoc_from_wd_data(amount, doc[w], 0.5, 0.4)
            decomposed = elem.ddoc_m_decomp_t(acc[w], k[w])
            acc[w] = elem.ddoc_ma_t(ddocm, acc[w], k[w])
            gen += elem.ch4_generated(decomposed, 0.5)
        generated.append(gen)
        emitted.append(elem.ch4_emissions(gen, 0.1, 0.2))
    recovered = ", ".join(f'"{y}": {0.2 * g!r}' for y, g in zip(deposits, generated, strict=True))
    data = f"  recovered: {{dims: [year], unit: t, values: {{{recovered}}}}}"
    text = _swd("bonsai", deposits, site="unmanaged_shallow", recovered="recovered", data=data)
    r = load(write_model(text)).run(
        choose={"climate_zone": "tropical_dry", "cover": "oxidising_cover"}
    )
    assert list(r["generated"].values) == pytest.approx(generated, rel=1e-9, abs=1e-12)
    assert list(r["ch4_by_year"].values) == pytest.approx(emitted, rel=1e-9, abs=1e-12)


# == 4.D.1 domestic wastewater, CH4 (Vol. 5 Ch. 6) =================================================

WASTEWATER = """
carbon: 1
model: wastewater-worked
import:
  ww:
    from: stdlib:ipcc2006/waste/wastewater
    with:
      population: 1000000
      bod: {bod}
      income_share: u
      utilisation: t
      sludge_removed: {sludge}
      ch4_recovered: {recovered}
dimensions:
  wastewater_pathway: [sea_river_lake, stagnant_sewer, aerobic_plant_well_managed, septic_system,
                       latrine_dry_family, latrine_dry_communal]
data:
  u: {{dims: [income_group], values: {{rural: 0.3, urban_high_income: 0.5, urban_low_income: 0.2}}}}
  t:
    dims: [income_group, wastewater_pathway]
    fill: 0
    values:
      rural: {{latrine_dry_family: 0.4, septic_system: 0.3, sea_river_lake: 0.3}}
      urban_high_income: {{aerobic_plant_well_managed: 0.8, septic_system: 0.2}}
      urban_low_income: {{stagnant_sewer: 0.5, latrine_dry_communal: 0.5}}
rules:
  ch4: {{expr: "ww.ch4", unit: kg}}
  tow: {{expr: "ww.tow_total", unit: kg}}
  ef_weighted: "ww.ef_weighted"
  emissions: {{expr: "ww.emissions", unit: t}}
  by_pathway: {{expr: "ww.ch4_by_pathway", unit: kg}}
"""

# Worked example: P = 1,000,000 people, BOD 60 g/person/day (Table 6.4, Canada, Europe, Russia,
# Oceania); P x BOD x 0.001 x 365 = 21,900,000 kg BOD a year before I. B0 = 0.6 (Table 6.2),
# EF_j = 0.6 x MCF_j (Table 6.3): latrine (dry, family) 0.06, septic 0.3, sea/river/lake 0.06,
# aerobic plant (well managed) 0, stagnant sewer 0.3, latrine (dry, communal) 0.3.
# I = 1.25 for collected pathways (sewer, plant), 1.00 otherwise.
#   group       pathway           U x T   TOW (kg BOD)                   CH4 (kg)
#   rural       latrine family    0.12    0.12 x 21.9e6       = 2,628,000  x 0.06 =   157,680
#   rural       septic            0.09                          1,971,000  x 0.3  =   591,300
#   rural       sea/river/lake    0.09                          1,971,000  x 0.06 =   118,260
#   urban high  aerobic plant     0.40    0.40 x 21.9e6 x 1.25 = 10,950,000 x 0    =         0
#   urban high  septic            0.10                          2,190,000  x 0.3  =   657,000
#   urban low   stagnant sewer    0.10    0.10 x 21.9e6 x 1.25 =  2,737,500 x 0.3  =   821,250
#   urban low   latrine communal  0.10                          2,190,000  x 0.3  =   657,000
#   TOW = 24,637,500 kg BOD; CH4 before S and R = 3,002,490 kg.
# sum U x T x EF = 0.0072 + 0.027 + 0.0054 + 0 + 0.03 + 0.03 + 0.03 = 0.1296; with S = 1,000,000
# kg BOD and R = 50,000 kg CH4 (Eq. 6.1): 3,002,490 - 0.1296 x 1,000,000 - 50,000 = 2,822,890 kg.


def test_wastewater_worked_example(write_model: Callable[..., Path]) -> None:
    text = WASTEWATER.format(
        bod='"ww.bod_default[bod_region=canada_europe_russia_oceania]"',
        sludge='"0 kg"',
        recovered='"0 kg"',
    )
    r = load(write_model(text)).run()
    assert r["tow"].item() == pytest.approx(24_637_500, rel=TOL)
    assert r["ch4"].item() == pytest.approx(3_002_490, rel=TOL)
    assert r["emissions"]["CH4"] == pytest.approx(3_002.49, rel=TOL)
    assert r["ef_weighted"].item() == pytest.approx(0.1296, rel=TOL)
    assert r["by_pathway"]["urban_low_income", "stagnant_sewer"] == pytest.approx(821_250, rel=TOL)

    text = WASTEWATER.format(bod='"60 g"', sludge='"1000000 kg"', recovered='"50000 kg"')
    r = load(write_model(text)).run()
    assert r["ch4"].item() == pytest.approx(2_822_890, rel=TOL)


def test_wastewater_single_i_is_eq_6_1_as_printed(write_model: Callable[..., Path]) -> None:
    """With one I for every pathway, CH4 = [sum U x T x EF] x (TOW - S) - R exactly."""
    override = """
override:
  ww.i_factor:
    expr: "1.25 + 0 * super"
    because: "worked test: the same I for every pathway"
"""
    text = WASTEWATER.format(bod='"60 g"', sludge='"1000000 kg"', recovered='"50000 kg"')
    r = load(write_model(text + override)).run()
    tow = 1_000_000 * 60 * 0.001 * 1.25 * 365  # Eq. 6.3: 27,375,000 kg BOD
    assert r["tow"].item() == pytest.approx(tow, rel=TOL)
    assert r["ch4"].item() == pytest.approx(0.1296 * (tow - 1_000_000) - 50_000, rel=TOL)


def test_wastewater_agrees_with_bonsai_ipcc(write_model: Callable[..., Path]) -> None:
    """bonsai's Eq. 6.1 per system, 6.2 and 6.3 with every input pinned (B0, MCF, I, U, T, S, R).

    bonsai's total (`ch4_emissions`) multiplies by 1e-5 to give Gg, which is not kg to Gg
    (1e-6); the per-system values are summed here instead.
    """
    elem = _bonsai("waste.wastewater.elementary")
    gen = _bonsai("waste.waste_generation.elementary")
    text = WASTEWATER.format(bod='"60 g"', sludge='"1000000 kg"', recovered='"50000 kg"')
    r = load(write_model(text)).run()
    u = {"rural": 0.3, "urban_high_income": 0.5, "urban_low_income": 0.2}
    t = {
        "rural": {"latrine_dry_family": 0.4, "septic_system": 0.3, "sea_river_lake": 0.3},
        "urban_high_income": {"aerobic_plant_well_managed": 0.8, "septic_system": 0.2},
        "urban_low_income": {"stagnant_sewer": 0.5, "latrine_dry_communal": 0.5},
    }
    mcf = {"latrine_dry_family": 0.1, "septic_system": 0.5, "sea_river_lake": 0.1}
    mcf |= {"aerobic_plant_well_managed": 0.0, "stagnant_sewer": 0.5, "latrine_dry_communal": 0.5}
    collected = {"aerobic_plant_well_managed", "stagnant_sewer"}
    tow = gen.ww_domestic(p=1_000_000, bod=60)
    total, recovered = 0.0, 50_000.0
    for i, row in t.items():
        for j, share in row.items():
            tow_ij = elem.tow_system(tow, u[i], share, 1.25 if j in collected else 1.0)
            ef = elem.ef_ch4(0.6, mcf[j])
            ch4 = elem.ch4_emissions_system(tow_ij, u[i] * share * 1_000_000, ef, 0.0)
            assert r["by_pathway"][i, j] == pytest.approx(ch4, rel=1e-9, abs=1e-9)
            total += ch4
    assert r["ch4"].item() == pytest.approx(total - recovered, rel=1e-9)
