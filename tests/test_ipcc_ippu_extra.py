"""IPCC 2006 Vol. 3 IPPU Tier 1 methods: lime (2.A.2), glass (2.A.3), iron and steel (2.C.1)
and primary aluminium (2.C.3), through .carbon models importing `stdlib:ipcc2006/ippu/...`.

Every worked example below is our own arithmetic from the Guidelines' equations and the default
factors the methods carry (the numbers are written out in each test). The reference cases in
../shared/data/reference_cases cover none of these four categories. bonsai-ipcc (MIT, a
test-only peer) implements the iron and steel and the aluminium Tier 1 equations: its elementary
functions are called directly with every input pinned, never imported by carbonc. It has no lime
or glass equations.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from carbonc.compiler import load
from carbonc.compiler.api import Uncertainty
from tests.conftest import bonsai

Writer = Callable[..., Path]

IPPU = Path(__file__).resolve().parents[1] / "stdlib" / "ipcc2006" / "ippu"
GWP_CSV = IPPU.parents[1] / "gwp" / "gwp.csv"


def _model(alias: str, method: str, bindings: dict[str, str], body: str) -> str:
    """A model importing one method under `alias`, with `with:` bindings and extra blocks."""
    with_ = "\n".join(
        f"      {k}: {v!r}" if " " in v else f"      {k}: {v}" for k, v in bindings.items()
    )
    return (
        f"carbon: 1\nmodel: test-{method}\nimport:\n  {alias}:\n"
        f"    from: stdlib:ipcc2006/ippu/{method}\n    with:\n{with_}\n" + body
    )


def _gwp_gases() -> set[str]:
    lines = [
        ln for ln in GWP_CSV.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")
    ]
    return {row["gas"] for row in csv.DictReader(lines)}


# -- lime (2.A.2), Vol. 3 Ch. 2 Sec. 2.3 ----------------------------------------------------------

LIME_ALL = _model(
    "lime",
    "lime",
    {"lime_production": "production"},
    """
data:
  production:
    dims: [lime_type]
    unit: t
    values:
      high_calcium: 100000
      dolomitic_high_purity: 20000
      dolomitic_low_purity: 10000
      hydraulic: 5000
      unspecified: 50000
rules:
  co2: {expr: "lime.co2", unit: t}
  emissions: {expr: "lime.emissions", unit: t}
  ef_lime: {expr: "lime.ef_lime", unit: t/t}
  ef_mix: {expr: "lime.ef_default_mix", unit: t/t}
  ef_from_composition: {expr: "lime.ef_from_composition", unit: t/t}
""",
)


def test_lime_tier1_by_type_worked_example(write_model: Writer) -> None:
    """Eq. 2.8, CO2 = sum_i EF_lime,i x M_l,i, with Table 2.4's factors and Eq. 2.9's mix.

    By hand: 100,000 x 0.75 + 20,000 x 0.86 + 10,000 x 0.77 + 5,000 x 0.59 + 50,000 x 0.753
           = 75,000 + 17,200 + 7,700 + 2,950 + 37,650 = 140,500 t CO2,
    where 0.753 = 0.85 x 0.75 + 0.15 x 0.77 (the Tier 1 default mix, printed as 0.75).
    """
    r = load(write_model(LIME_ALL)).run()
    assert r["ef_mix"].item() == pytest.approx(0.753, rel=1e-12)
    ef = r["ef_lime"]
    expected_ef = {
        "high_calcium": 0.75,
        "dolomitic_high_purity": 0.86,
        "dolomitic_low_purity": 0.77,
        "hydraulic": 0.59,
        "unspecified": 0.753,
    }
    for lime_type, value in expected_ef.items():
        assert ef[lime_type] == pytest.approx(value, rel=1e-12)
    assert r["co2"].item() == pytest.approx(140_500.0, rel=1e-12)
    assert r["emissions"].labels["gas"] == ("CO2",)
    assert r["emissions"]["CO2"] == pytest.approx(140_500.0, rel=1e-12)


def test_lime_table_factors_are_the_stoichiometry_rounded(write_model: Writer) -> None:
    """Table 2.4: stoichiometric ratio x default content, e.g. 0.913 x 0.95 = 0.86735 (printed
    0.86), 0.785 x 0.95 = 0.74575 (0.75), 0.913 x 0.85 = 0.77605 (0.77), 0.785 x 0.75 = 0.58875
    (0.59). The method's assertion holds them within 0.011 of each other."""
    r = load(write_model(LIME_ALL)).run()
    comp = r["ef_from_composition"]
    assert comp["high_calcium"] == pytest.approx(0.74575, rel=1e-12)
    assert comp["dolomitic_high_purity"] == pytest.approx(0.86735, rel=1e-12)
    assert comp["dolomitic_low_purity"] == pytest.approx(0.77605, rel=1e-12)
    assert comp["hydraulic"] == pytest.approx(0.58875, rel=1e-12)
    assert math.isnan(comp["unspecified"])
    assert all(a["passed"] for a in r.asserts)


def test_lime_unknown_type_with_the_printed_default(write_model: Writer) -> None:
    """1 Mt of lime of unknown type: 753,000 t with the unrounded mix (Eq. 2.9), 750,000 t with
    the printed 0.75 t CO2/t lime, through an override with a reason."""
    text = _model(
        "lime",
        "lime",
        {"lime_production": "production"},
        """
dimensions:
  lime_type: [unspecified]
data:
  production: {dims: [lime_type], unit: t, values: {unspecified: 1000000}}
rules:
  co2: {expr: "lime.co2", unit: t}
""",
    )
    assert load(write_model(text)).run()["co2"].item() == pytest.approx(753_000.0, rel=1e-12)
    rounded = (
        text
        + """
override:
  lime.ef_default_mix:
    expr: "0.75 t/t"
    because: "2006 IPCC GL Vol. 3 Eq. 2.9: the printed Tier 1 default 0.75 t CO2/t lime"
"""
    )
    r = load(write_model(rounded, name="rounded.carbon")).run()
    assert r["co2"].item() == pytest.approx(750_000.0, rel=1e-12)
    assert r.provenance["overrides"][0]["because"].startswith("2006 IPCC GL Vol. 3 Eq. 2.9")


# -- glass (2.A.3), Vol. 3 Ch. 2 Sec. 2.4 ---------------------------------------------------------


def _glass(production: dict[str, float], cullet: str) -> str:
    values = ", ".join(f"{k}: {v!r}" for k, v in production.items())
    return _model(
        "glass",
        "glass",
        {"glass_production": "production", "cullet_ratio": cullet},
        f"""
dimensions:
  glass_type: [{", ".join(production)}]
data:
  production: {{dims: [glass_type], unit: t, values: {{{values}}}}}
rules:
  co2: {{expr: "glass.co2", unit: t}}
  emissions: {{expr: "glass.emissions", unit: t}}
  ef: {{expr: "glass.ef", unit: t/t}}
""",
    )


def test_glass_tier1_national_total_with_default_cullet_ratio(write_model: Writer) -> None:
    """Eq. 2.10 with the Tier 1 defaults: 500,000 t x 0.2 x (1 - 0.5) = 50,000 t CO2."""
    text = _glass({"unspecified": 500_000.0}, "glass.cullet_ratio_default")
    r = load(write_model(text)).run()
    assert r["co2"].item() == pytest.approx(50_000.0, rel=1e-12)
    assert r["emissions"]["CO2"] == pytest.approx(50_000.0, rel=1e-12)


def test_glass_tier1_and_tier2_by_type_worked_example(write_model: Writer) -> None:
    """Float 200,000 t at a national cullet ratio of 0.20 and flint containers 300,000 t at 0.45.

    Tier 1 (Eq. 2.10): 0.2 x (200,000 x 0.80 + 300,000 x 0.55) = 0.2 x 325,000 = 65,000 t. This is
    also Eq. 2.10 on the national total with the production-weighted cullet ratio
    (40,000 + 135,000) / 500,000 = 0.35: 500,000 x 0.2 x 0.65 = 65,000 t.
    Tier 2 (Eq. 2.11, Table 2.6: 0.21 for both types): 0.21 x 325,000 = 68,250 t.
    """
    text = _glass(
        {"float": 200_000.0, "container_flint": 300_000.0},
        "stack(over=glass_type, float=0.20, container_flint=0.45)",
    )
    model = load(write_model(text))
    t1, t2 = model.run(), model.run(choose={"tier": "tier2"})
    assert t1["co2"].item() == pytest.approx(65_000.0, rel=1e-12)
    assert t1["co2"].item() == pytest.approx(500_000.0 * 0.2 * (1 - 0.35), rel=1e-12)
    assert t2["co2"].item() == pytest.approx(68_250.0, rel=1e-12)
    assert t2["ef"]["float"] == pytest.approx(0.21, rel=1e-12)
    assert t2.provenance["choices"] == {"glass.tier": "tier2"}


def test_glass_tier2_specialty_and_unspecified(write_model: Writer) -> None:
    """Tier 2: tableware 10,000 t at CR 0.4 (Table 2.6 factor 0.10) -> 0.10 x 6,000 = 600 t; glass
    of unknown type 1,000 t at CR 0.5 keeps the Tier 1 factor -> 0.2 x 500 = 100 t; total 700 t."""
    text = _glass(
        {"specialty_tableware": 10_000.0, "unspecified": 1_000.0},
        "stack(over=glass_type, specialty_tableware=0.4, unspecified=0.5)",
    )
    r = load(write_model(text)).run(choose={"tier": "tier2"})
    assert r["ef"]["specialty_tableware"] == pytest.approx(0.10, rel=1e-12)
    assert r["ef"]["unspecified"] == pytest.approx(0.2, rel=1e-12)
    assert r["co2"].item() == pytest.approx(700.0, rel=1e-12)


# -- iron and steel (2.C.1), Vol. 3 Ch. 4 Sec. 4.2 ------------------------------------------------

IRON_STEEL_ALL = _model(
    "is",
    "iron_steel",
    {"production": "production"},
    """
dimensions:
  process: [bof, eaf, ohf, pig_iron, dri, sinter, pellet]
data:
  production:
    dims: [process]
    unit: t
    values: {bof: 1000000, eaf: 500000, ohf: 100000, pig_iron: 50000, dri: 200000,
             sinter: 800000, pellet: 300000}
rules:
  co2: {expr: "is.co2", unit: t}
  co2_steelmaking: {expr: "is.co2_steelmaking", unit: t}
  ch4: {expr: "is.ch4", unit: t}
  emissions: {expr: "is.emissions", unit: t}
  co2_by_process: {expr: "is.co2_by_process", unit: t}
""",
)


def test_iron_steel_tier1_worked_example(write_model: Writer) -> None:
    """Eq. 4.4-4.8 with Table 4.1, Eq. 4.12 with Table 4.2.

    Steel (Eq. 4.4): 1,000,000 x 1.46 + 500,000 x 0.08 + 100,000 x 1.72
                   = 1,460,000 + 40,000 + 172,000 = 1,672,000 t
    pig iron not made into steel (Eq. 4.5): 50,000 x 1.35 = 67,500 t; DRI (Eq. 4.6): 200,000 x 0.70
    = 140,000 t; sinter (Eq. 4.7): 800,000 x 0.20 = 160,000 t; pellets (Eq. 4.8): 300,000 x 0.03
    = 9,000 t. CO2 = 1,672,000 + 67,500 + 140,000 + 160,000 + 9,000 = 2,048,500 t.
    CH4 from sinter (Eq. 4.12): 800,000 t x 0.07 kg/t = 56,000 kg = 56 t.
    """
    r = load(write_model(IRON_STEEL_ALL)).run()
    assert r["co2_steelmaking"].item() == pytest.approx(1_672_000.0, rel=1e-12)
    assert r["co2_by_process"]["pig_iron"] == pytest.approx(67_500.0, rel=1e-12)
    assert r["co2_by_process"]["dri"] == pytest.approx(140_000.0, rel=1e-12)
    assert r["co2_by_process"]["sinter"] == pytest.approx(160_000.0, rel=1e-12)
    assert r["co2_by_process"]["pellet"] == pytest.approx(9_000.0, rel=1e-12)
    assert r["co2"].item() == pytest.approx(2_048_500.0, rel=1e-12)
    assert r["ch4"].item() == pytest.approx(56.0, rel=1e-12)
    assert r["emissions"].labels["gas"] == ("CO2", "CH4")
    assert r["emissions"]["CO2"] == pytest.approx(2_048_500.0, rel=1e-12)
    assert r["emissions"]["CH4"] == pytest.approx(56.0, rel=1e-12)


def test_iron_steel_global_average_for_unknown_route(write_model: Writer) -> None:
    """1 Mt of steel of unknown route at Table 4.1's global average factor: 1,060,000 t. The
    average is the 65/30/5 % BOF/EAF/OHF mix of the route factors rounded:
    0.65 x 1.46 + 0.30 x 0.08 + 0.05 x 1.72 = 0.949 + 0.024 + 0.086 = 1.059."""
    text = _model(
        "is",
        "iron_steel",
        {"production": "production"},
        """
dimensions:
  process: [steel_unspecified]
data:
  production: {dims: [process], unit: t, values: {steel_unspecified: 1000000}}
rules:
  co2: {expr: "is.co2", unit: t}
  ch4: {expr: "is.ch4", unit: t}
""",
    )
    r = load(write_model(text)).run()
    assert r["co2"].item() == pytest.approx(1_060_000.0, rel=1e-12)
    assert r["ch4"].item() == 0.0
    mix = 0.65 * 1.46 + 0.30 * 0.08 + 0.05 * 1.72
    assert mix == pytest.approx(1.059, rel=1e-12)
    assert round(mix, 2) == 1.06


def test_iron_steel_default_factor_uncertainty(write_model: Writer) -> None:
    """Approach 1 on one route: the only uncertain input is the factor, +-25 %."""
    text = _model(
        "is",
        "iron_steel",
        {"production": "production"},
        """
dimensions:
  process: [bof]
data:
  production: {dims: [process], unit: t, values: {bof: 1000000}}
rules:
  co2: {expr: "is.co2", unit: t}
""",
    )
    r = load(write_model(text)).run(uncertainty=Uncertainty(method="propagation"))
    assert float(r["co2"].stats["u95"]) == pytest.approx(25.0, rel=1e-9)


# -- primary aluminium (2.C.3), Vol. 3 Ch. 4 Sec. 4.4 ---------------------------------------------

ALUMINIUM_ALL = _model(
    "al",
    "aluminium",
    {"aluminium_production": "production"},
    """
data:
  production:
    dims: [technology]
    unit: t
    values: {cwpb: 100000, swpb: 20000, vss: 50000, hss: 30000}
rules:
  co2: {expr: "al.co2", unit: t}
  cf4: {expr: "al.cf4", unit: t}
  c2f6: {expr: "al.c2f6", unit: t}
  emissions: {expr: "al.emissions", unit: t}
  by_anode: {expr: "al.production_by_anode", unit: t}
""",
)


def test_aluminium_tier1_worked_example(write_model: Writer) -> None:
    """Eq. 4.20 (Table 4.10) and Eq. 4.25 (Table 4.15), 200,000 t of primary aluminium.

    CO2 = 1.6 x (100,000 + 20,000) + 1.7 x (50,000 + 30,000) = 192,000 + 136,000 = 328,000 t
    CF4 = 0.4 x 100,000 + 1.6 x 20,000 + 0.8 x 50,000 + 0.4 x 30,000
        = 40,000 + 32,000 + 40,000 + 12,000 = 124,000 kg = 124 t
    C2F6 = 0.04 x 100,000 + 0.4 x 20,000 + 0.04 x 50,000 + 0.03 x 30,000
         = 4,000 + 8,000 + 2,000 + 900 = 14,900 kg = 14.9 t
    """
    r = load(write_model(ALUMINIUM_ALL)).run()
    assert r["by_anode"]["prebake"] == pytest.approx(120_000.0, rel=1e-12)
    assert r["by_anode"]["soderberg"] == pytest.approx(80_000.0, rel=1e-12)
    assert r["co2"].item() == pytest.approx(328_000.0, rel=1e-12)
    assert r["cf4"].item() == pytest.approx(124.0, rel=1e-12)
    assert r["c2f6"].item() == pytest.approx(14.9, rel=1e-12)
    assert r["emissions"].labels["gas"] == ("CO2", "CF4", "C2F6")
    assert r["emissions"]["C2F6"] == pytest.approx(14.9, rel=1e-12)


def test_aluminium_one_cell_technology_and_its_uncertainty(write_model: Writer) -> None:
    """A smelter with vertical stud Soderberg cells only: 50,000 t x 1.7 = 85,000 t CO2; the
    importer narrows `technology` and the anode mapping follows. Approach 1 gives Table 4.10's
    +-10 % for the CO2."""
    text = _model(
        "al",
        "aluminium",
        {"aluminium_production": "production"},
        """
dimensions:
  technology: [vss]
data:
  production: {dims: [technology], unit: t, values: {vss: 50000}}
rules:
  co2: {expr: "al.co2", unit: t}
  cf4: {expr: "al.cf4", unit: t}
""",
    )
    model = load(write_model(text))
    r = model.run()
    assert r["co2"].item() == pytest.approx(85_000.0, rel=1e-12)
    assert r["cf4"].item() == pytest.approx(40.0, rel=1e-12)
    u = model.run(uncertainty=Uncertainty(method="propagation"))
    assert float(u["co2"].stats["u95"]) == pytest.approx(10.0, rel=1e-9)


# -- conventions shared by the four methods -------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "category", "gases"),
    [
        ("lime", "2.A.2", {"CO2"}),
        ("glass", "2.A.3", {"CO2"}),
        ("iron_steel", "2.C.1", {"CO2", "CH4"}),
        ("aluminium", "2.C.3", {"CO2", "CF4", "C2F6"}),
    ],
)
def test_method_conventions(method: str, category: str, gases: set[str]) -> None:
    """`description:` starts with the IPCC category; `gas` lists only the method's gases (0 for
    those of other methods), labels of stdlib/gwp, and `emissions` is [gas] in t."""
    path = IPPU / f"{method}.carbon"
    text = path.read_text(encoding="utf-8")
    match = re.search(r"^description: >\n\s+(IPCC category \S+ )", text, re.MULTILINE)
    assert match is not None and match.group(1) == f"IPCC category {category} "
    model = load(path)
    gas = model.dims["gas"]
    assert set(gas.labels) == gases and gas.decl.others_zero
    emissions = model.checked.ir["emissions"]
    assert emissions.dims == ("gas",) and str(emissions.unit) == "metric_ton"
    assert gases <= _gwp_gases()


def test_monte_carlo_runs_on_every_default_uncertainty(write_model: Writer) -> None:
    """The per-row distributions of Tables 4.1, 4.10 and 4.15 sample; the deterministic value is
    unchanged by a Monte Carlo run."""
    r = load(write_model(ALUMINIUM_ALL)).run(uncertainty=Uncertainty(samples=2_000, seed=7))
    assert r["co2"].item() == pytest.approx(328_000.0, rel=1e-12)
    assert float(r["cf4"].stats["sd"]) > 0.0
    s = load(write_model(IRON_STEEL_ALL, name="is.carbon")).run(
        uncertainty=Uncertainty(samples=2_000, seed=7)
    )
    assert s["co2"].item() == pytest.approx(2_048_500.0, rel=1e-12)
    assert float(s["co2"].stats["sd"]) > 0.0


# -- cross-checks against bonsai-ipcc -------------------------------------------------------------


def _bonsai_metal() -> ModuleType:
    """bonsai_ipcc.industry.metal.elementary."""
    return bonsai("industry.metal.elementary")


IRON_STEEL_PINNED = """
override:
  is.ef_co2:
    expr: "stack(over=process, bof=1.52 t/t, eaf=0.11 t/t, ohf=1.69 t/t, pig_iron=1.41 t/t,
           dri=0.66 t/t, sinter=0.23 t/t, pellet=0.05 t/t)"
    because: "pinned for the bonsai-ipcc cross-check"
  is.ef_ch4:
    expr: "stack(over=process, bof=0 kg/t, eaf=0 kg/t, ohf=0 kg/t, pig_iron=0 kg/t, dri=0 kg/t,
           sinter=0.09 kg/t, pellet=0 kg/t)"
    because: "pinned for the bonsai-ipcc cross-check"
"""


def test_iron_steel_agrees_with_bonsai_ipcc(write_model: Writer) -> None:
    """Every input pinned (production and factors); bonsai's Eq. 4.4-4.8 and 4.12 functions.

    bonsai-ipcc 0.3.2 ships the 2019 Refinement's factors, so its tables are not used: the
    factors are pinned to the same made-up values on both sides.
    """
    elem = _bonsai_metal()
    production = {
        "bof": 1.0e6,
        "eaf": 5.0e5,
        "ohf": 1.0e5,
        "pig_iron": 5.0e4,
        "dri": 2.0e5,
        "sinter": 8.0e5,
        "pellet": 3.0e5,
    }
    ef = {
        "bof": 1.52,
        "eaf": 0.11,
        "ohf": 1.69,
        "pig_iron": 1.41,
        "dri": 0.66,
        "sinter": 0.23,
        "pellet": 0.05,
    }
    r = load(write_model(IRON_STEEL_ALL + IRON_STEEL_PINNED)).run()
    steel = sum(
        elem.co2_steelmaking_tier1_(q=production[p], ef_co2=ef[p]) for p in ("bof", "eaf", "ohf")
    )
    co2 = (
        steel
        + elem.co2_pigiron(q=production["pig_iron"], ef_co2=ef["pig_iron"])
        + elem.co2_dri_tier1_(q=production["dri"], ef_co2=ef["dri"])
        + elem.co2_sinter_tier1_(q=production["sinter"], ef_co2=ef["sinter"])
        + elem.co2_pellet(q=production["pellet"], ef_co2=ef["pellet"])
    )
    ch4 = elem.ch4_sinter(si=production["sinter"], ef_si=0.09e-3)  # kg/t -> t/t
    assert r["co2_steelmaking"].item() == pytest.approx(steel, rel=1e-9)
    assert r["co2"].item() == pytest.approx(co2, rel=1e-9)
    assert r["ch4"].item() == pytest.approx(ch4, rel=1e-9)


ALUMINIUM_PINNED = """
override:
  al.ef_co2:
    expr: "stack(over=anode, prebake=1.55 t/t, soderberg=1.82 t/t)"
    because: "pinned for the bonsai-ipcc cross-check"
  al.ef_cf4:
    expr: "stack(over=technology, cwpb=0.31 kg/t, swpb=1.4 kg/t, vss=0.9 kg/t, hss=0.45 kg/t)"
    because: "pinned for the bonsai-ipcc cross-check"
  al.ef_c2f6:
    expr: "stack(over=technology, cwpb=0.05 kg/t, swpb=0.33 kg/t, vss=0.06 kg/t, hss=0.02 kg/t)"
    because: "pinned for the bonsai-ipcc cross-check"
"""


def test_aluminium_agrees_with_bonsai_ipcc(write_model: Writer) -> None:
    """Every input pinned; bonsai's Eq. 4.20 (CO2, per anode technology) and Eq. 4.25 (PFC, in kg)."""
    elem = _bonsai_metal()
    production = {"cwpb": 1.0e5, "swpb": 2.0e4, "vss": 5.0e4, "hss": 3.0e4}
    anode = {"cwpb": "prebake", "swpb": "prebake", "vss": "soderberg", "hss": "soderberg"}
    ef_co2 = {"prebake": 1.55, "soderberg": 1.82}
    ef_cf4 = {"cwpb": 0.31, "swpb": 1.4, "vss": 0.9, "hss": 0.45}
    ef_c2f6 = {"cwpb": 0.05, "swpb": 0.33, "vss": 0.06, "hss": 0.02}
    r = load(write_model(ALUMINIUM_ALL + ALUMINIUM_PINNED)).run()
    co2 = sum(elem.e_co2_tier1_(mp=production[t], ef=ef_co2[anode[t]]) for t in production)
    cf4_kg = sum(elem.e_cf4_tier1_(ef=ef_cf4[t], mp=production[t]) for t in production)
    c2f6_kg = sum(elem.e_c2f6_tier1_(ef=ef_c2f6[t], mp=production[t]) for t in production)
    assert r["co2"].item() == pytest.approx(co2, rel=1e-9)
    assert r["cf4"].item() == pytest.approx(cf4_kg / 1000.0, rel=1e-9)
    assert r["c2f6"].item() == pytest.approx(c2f6_kg / 1000.0, rel=1e-9)


def _bonsai_table(name: str) -> dict[tuple[str, str], float]:
    """A bonsai-ipcc 2006 aluminium default table: (technology, property) -> value."""
    import bonsai_ipcc  # test-only peer, imported late

    path = Path(bonsai_ipcc.__file__).parent / "data" / "industry" / "metal" / f"par_{name}.csv"
    with path.open(encoding="utf-8") as f:
        return {
            (row["aluprocess_type"], row["property"]): float(row["value"])
            for row in csv.DictReader(f)
        }


def _read(csv_name: str, key: str) -> list[dict[str, str]]:
    lines = (IPPU / csv_name).read_text(encoding="utf-8").splitlines()
    return [row for row in csv.DictReader(ln for ln in lines if not ln.startswith("#")) if row[key]]


def test_aluminium_defaults_match_bonsai_ipcc_2006_tables() -> None:
    """Tables 4.10 and 4.15 (typed from memory) against bonsai-ipcc's independent transcription
    of the 2006 tables: defaults, and the uncertainty ranges as bonsai's min/max."""
    _bonsai_metal()  # import bonsai once without its logging side effect
    co2 = _bonsai_table("ef_co2_alu")
    for row in _read("aluminium_table_4_10.csv", "anode"):
        value, u = float(row["ef_co2"]), float(row["uncertainty"].strip("±%")) / 100
        assert co2[(row["anode"], "def")] == pytest.approx(value, rel=1e-12)
        assert co2[(row["anode"], "min")] == pytest.approx(value * (1 - u), rel=1e-9)
        assert co2[(row["anode"], "max")] == pytest.approx(value * (1 + u), rel=1e-9)
    bonsai_name = {
        "cwpb": "prebake_cwpb",
        "swpb": "prebake_swpb",
        "vss": "soderberg_vss",
        "hss": "soderberg_hss",
    }
    tables = {"ef_cf4": _bonsai_table("ef_cf4_alu"), "ef_c2f6": _bonsai_table("ef_c2f6_alu")}
    for row in _read("aluminium_table_4_15.csv", "technology"):
        low, high = (float(x.strip("%")) / 100 for x in row["uncertainty"].split("/"))
        for column, table in tables.items():
            value, tech = float(row[column]), bonsai_name[row["technology"]]
            assert table[(tech, "def")] == pytest.approx(value, rel=1e-12)
            assert table[(tech, "min")] == pytest.approx(value * (1 + low), rel=1e-9)
            assert table[(tech, "max")] == pytest.approx(value * (1 + high), rel=1e-9)
