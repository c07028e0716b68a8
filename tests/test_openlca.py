"""openLCA JSON-LD import: zips built with olca-schema, every CSV checked, bad zips refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import olca_schema as o
import pandas as pd
import pytest
from olca_schema import zipio

from carbonc.compiler import load
from carbonc.compiler.cli import main
from carbonc.compiler.uncertainty import parse_distribution
from carbonc.dsl.diagnostics import CarbonError, Diagnostic, Diagnostics
from carbonc.dsl.span import Span
from carbonc.runtime.openlca import _Flow, _gas, read_openlca, write_tidy

REPO = Path(__file__).resolve().parents[1]
AIR = "Elementary flows/Emission to air/unspecified"


def _with_id(entity: o.RootEntity, uid: str) -> o.RootEntity:
    entity.id = uid
    return entity


def _uncertainty(kind: o.UncertaintyType, **params: float) -> o.Uncertainty:
    return o.Uncertainty(distribution_type=kind, **params)


def build_zip(path: Path, *, with_method: bool = True) -> Path:
    """Three processes in a loop (electricity -> coal -> electricity, both -> steel), coal mining
    with a co-product and allocation factors, units to convert, every kind of uncertainty."""
    kg = o.Unit(id="u-kg", name="kg", conversion_factor=1.0, is_ref_unit=True)
    t = o.Unit(id="u-t", name="t", conversion_factor=1000.0)
    g = o.Unit(id="u-g", name="g", conversion_factor=0.001)
    mj = o.Unit(id="u-mj", name="MJ", conversion_factor=1.0, is_ref_unit=True)
    kwh = o.Unit(id="u-kwh", name="kWh", conversion_factor=3.6)
    mass_units = o.UnitGroup(id="ug-mass", name="Units of mass", units=[kg, t, g])
    energy_units = o.UnitGroup(id="ug-energy", name="Units of energy", units=[mj, kwh])
    mass = _with_id(o.new_flow_property("Mass", mass_units), "fp-mass")
    energy = _with_id(o.new_flow_property("Energy", energy_units), "fp-energy")

    steel = _with_id(o.new_product("Steel", mass), "f-steel")
    elec = _with_id(o.new_product("Electricity", energy), "f-elec")
    coal = _with_id(o.new_product("Hard coal", mass), "f-coal")
    coal.flow_properties.append(  # 25 MJ per kg
        o.FlowPropertyFactor(flow_property=o.as_ref(energy), conversion_factor=25.0)
    )
    mine_gas = _with_id(o.new_product("Mine gas", energy), "f-gas")

    def elementary(uid: str, name: str, category: str = AIR, cas: str | None = None) -> o.Flow:
        flow = _with_id(o.new_elementary_flow(name, mass), uid)
        flow.category, flow.cas = category, cas
        return flow

    co2 = elementary("f-co2", "Carbon dioxide, fossil", cas="000124-38-9")
    co2_urban = elementary(
        "f-co2-urban",
        "Carbon dioxide, fossil",
        "Elementary flows/Emission to air/high population density",
        "124-38-9",
    )
    ch4 = elementary("f-ch4", "Methane, biogenic", cas="74-82-8")
    n2o = elementary("f-n2o", "Dinitrogen monoxide")
    water = elementary("f-water", "Water, cooling", "Elementary flows/Resource/in water")
    co2_air = elementary("f-co2-air", "Carbon dioxide, in air", "Elementary flows/Resource/in air")
    de = _with_id(o.new_location("Germany", "DE"), "loc-de")

    el = _with_id(o.new_process("Electricity production"), "p-el")
    el.location, el.category = o.as_ref(de), "Energy/Power"
    o.new_output(el, elec, 1.0).is_quantitative_reference = True
    coal_in = o.new_input(el, coal, 0.4)
    coal_in.amount_formula = "coal_per_mj * 4"
    o.new_output(el, co2, 0.8).uncertainty = _uncertainty(
        o.UncertaintyType.LOG_NORMAL_DISTRIBUTION, geom_mean=0.8, geom_sd=1.2
    )
    n2o_out = o.new_output(el, n2o, 2.0, o.as_ref(g))
    n2o_out.amount_formula = "n2o_g"
    n2o_out.uncertainty = _uncertainty(
        o.UncertaintyType.UNIFORM_DISTRIBUTION, minimum=1.0, maximum=3.0
    )
    per_mj = o.new_parameter("coal_per_mj", "1 / efficiency / 25", o.ParameterScope.PROCESS_SCOPE)
    per_mj.value = 0.1
    n2o_g = o.new_parameter("n2o_g", 2.0, o.ParameterScope.PROCESS_SCOPE)
    n2o_g.uncertainty = _uncertainty(o.UncertaintyType.NORMAL_DISTRIBUTION, mean=2.0, sd=0.2)
    el.parameters = [per_mj, n2o_g]

    st = _with_id(o.new_process("Steel production"), "p-st")
    st.category = "Metals"
    out = o.new_output(st, steel, 1.0)
    out.is_quantitative_reference, out.cost_value = True, 1.5
    o.new_input(st, elec, 5.0, o.as_ref(kwh)).uncertainty = _uncertainty(
        o.UncertaintyType.NORMAL_DISTRIBUTION, mean=5.0, sd=0.5
    )
    o.new_input(st, coal, 0.002, o.as_ref(t)).uncertainty = _uncertainty(
        o.UncertaintyType.TRIANGLE_DISTRIBUTION, minimum=0.0015, mode=0.002, maximum=0.003
    )
    o.new_output(st, co2_urban, 0.1)
    o.new_input(st, water, 3.0).uncertainty = _uncertainty(
        o.UncertaintyType.UNIFORM_DISTRIBUTION, minimum=2.0, maximum=4.0
    )

    cm = _with_id(o.new_process("Coal mining"), "p-cm")
    out = o.new_output(cm, coal, 1.0)
    out.is_quantitative_reference, out.cost_value = True, 2.0
    o.new_output(cm, mine_gas, 2.0).cost_value = 0.1
    elec_in = o.new_input(cm, elec, 0.5)
    o.new_output(cm, ch4, 0.01)
    o.new_input(cm, co2_air, 0.05).uncertainty = _uncertainty(
        o.UncertaintyType.LOG_NORMAL_DISTRIBUTION, geom_mean=0.05, geom_sd=1.5
    )
    o.new_physical_allocation_factor(cm, coal, 0.8)
    o.new_physical_allocation_factor(cm, mine_gas, 0.2)
    o.new_economic_allocation_factor(cm, coal, 0.95)
    o.new_economic_allocation_factor(cm, mine_gas, 0.05)
    o.new_causal_allocation_factor(cm, coal, 0.7, elec_in)

    efficiency = _with_id(o.new_parameter("efficiency", 0.4), "par-eff")
    entities = [mass_units, energy_units, mass, energy, steel, elec, coal, mine_gas, co2]
    entities += [co2_urban, ch4, n2o, water, co2_air, de, el, st, cm, efficiency]
    if with_method:
        gwp = _with_id(o.new_impact_category("Climate change"), "c-gwp")
        gwp.ref_unit = "kg CO2 eq"
        for flow, factor in ((co2, 1.0), (co2_urban, 1.0), (ch4, 27.0)):
            o.new_impact_factor(gwp, flow, factor)
        o.new_impact_factor(gwp, n2o, 273000.0, o.as_ref(t))  # per tonne: 273 per kg
        entities += [gwp, _with_id(o.new_impact_method("IPCC 2021 GWP100", gwp), "m-ipcc")]
    with zipio.ZipWriter(path) as writer:
        for entity in entities:
            writer.write(entity)
    return path


EXPECTED = {
    "products.csv": """\
product,unit,name,id
electricity,MJ,Electricity,f-elec
hard_coal,kg,Hard coal,f-coal
mine_gas,MJ,Mine gas,f-gas
steel,kg,Steel,f-steel
""",
    "processes.csv": """\
process,name,location,stage,id
coal_mining,Coal mining,,,p-cm
electricity_production,Electricity production,DE,Energy/Power,p-el
steel_production,Steel production,,Metals,p-st
""",
    "flows.csv": """\
flow,unit,compartment,name,cas,id
carbon_dioxide_fossil,kg,Elementary flows/Emission to air/high population density,\
"Carbon dioxide, fossil",124-38-9,f-co2-urban
carbon_dioxide_fossil_2,kg,Elementary flows/Emission to air/unspecified,\
"Carbon dioxide, fossil",000124-38-9,f-co2
carbon_dioxide_in_air,kg,Elementary flows/Resource/in air,"Carbon dioxide, in air",,f-co2-air
dinitrogen_monoxide,kg,Elementary flows/Emission to air/unspecified,Dinitrogen monoxide,,f-n2o
methane_biogenic,kg,Elementary flows/Emission to air/unspecified,"Methane, biogenic",74-82-8,f-ch4
water_cooling,kg,Elementary flows/Resource/in water,"Water, cooling",,f-water
""",
    # 5 kWh = 18 MJ (sd 0.5 kWh = 1.8 MJ); 0.002 t = 2 kg, its triangle in kg too
    "technosphere_in.csv": """\
product,process,value,uncertainty,formula
electricity,coal_mining,0.5,,
hard_coal,electricity_production,0.4,,coal_per_mj * 4
electricity,steel_production,18,normal(sd=1.8),
hard_coal,steel_production,2,"triangular(1.5, 2, 3)",
""",
    "technosphere_out.csv": """\
product,process,value,uncertainty,formula
hard_coal,coal_mining,1,,
mine_gas,coal_mining,2,,
electricity,electricity_production,1,,
steel,steel_production,1,,
""",
    "reference.csv": """\
product,process
hard_coal,coal_mining
electricity,electricity_production
steel,steel_production
""",
    # inputs from nature are negative, their bounds swapped; 2 g of N2O = 0.002 kg, its formula
    # scaled; the lognormal of the negative CO2 uptake has no carbonc form (see the warning)
    "biosphere.csv": """\
flow,process,value,uncertainty,formula
carbon_dioxide_in_air,coal_mining,-0.05,,
methane_biogenic,coal_mining,0.01,,
carbon_dioxide_fossil_2,electricity_production,0.8,lognormal(gsd=1.2),
dinitrogen_monoxide,electricity_production,0.002,"uniform(0.001, 0.003)",0.001 * (n2o_g)
carbon_dioxide_fossil,steel_production,0.1,,
water_cooling,steel_production,-3,"uniform(-4, -2)",
""",
    # coal: 25 MJ/kg; prices are costValue / amount (mine gas: 0.1 for 2 MJ)
    "properties.csv": """\
product,mass,energy,price
electricity,0,1,0
hard_coal,1,25,2
mine_gas,0,1,0.05
steel,1,0,1.5
""",
    "allocation.csv": """\
process,product,value
coal_mining,hard_coal,0.8
coal_mining,mine_gas,0.2
electricity_production,electricity,1
steel_production,steel,1
""",
    "demand.csv": """\
product,functional_unit,value
electricity,electricity,1
hard_coal,hard_coal,1
steel,steel,1
""",
    "gas_of.csv": """\
flow,gas
carbon_dioxide_fossil,CO2
carbon_dioxide_fossil_2,CO2
dinitrogen_monoxide,N2O
methane_biogenic,CH4_nonfossil
""",
    "parameters.csv": """\
name,scope,context,value,formula,uncertainty
efficiency,global,,0.4,,
coal_per_mj,process,electricity_production,0.1,1 / efficiency / 25,
n2o_g,process,electricity_production,2,,normal(sd=0.2)
""",
    # 273000 kg CO2 eq per tonne of N2O is 273 per kg
    "impact_factors.csv": """\
method,category,flow,factor,unit
ipcc_2021_gwp100,climate_change,carbon_dioxide_fossil,1,kg CO2 eq/kg
ipcc_2021_gwp100,climate_change,carbon_dioxide_fossil_2,1,kg CO2 eq/kg
ipcc_2021_gwp100,climate_change,dinitrogen_monoxide,273,kg CO2 eq/kg
ipcc_2021_gwp100,climate_change,methane_biogenic,27,kg CO2 eq/kg
""",
}


def test_every_csv_of_a_small_database(tmp_path: Path) -> None:
    data = read_openlca(build_zip(tmp_path / "db.zip"))
    written = write_tidy(data, tmp_path / "out")
    assert [p.name for p in written] == list(EXPECTED)
    for path in written:
        assert path.read_text(encoding="utf-8") == EXPECTED[path.name], path.name
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(EXPECTED)  # no temps
    (warning,) = data.warnings
    assert warning.code == "W1302" and warning.severity == "warning"
    assert "lognormal cannot describe a negative amount" in warning.message
    assert warning.span is not None and warning.span.file.endswith("db.zip!/processes/p-cm.json")


def test_economic_allocation_and_no_method(tmp_path: Path) -> None:
    data = read_openlca(build_zip(tmp_path / "db.zip", with_method=False), allocation="economic")
    assert data.impact_factors is None
    rows = data.allocation.to_dict("records")
    assert rows[:2] == [
        {"process": "coal_mining", "product": "hard_coal", "value": 0.95},
        {"process": "coal_mining", "product": "mine_gas", "value": 0.05},
    ]
    assert "impact_factors.csv" not in [p.name for p in write_tidy(data, tmp_path / "out")]
    with pytest.raises(CarbonError) as err:
        read_openlca(tmp_path / "db.zip", allocation="CAUSAL")
    assert err.value.diagnostics[0].code == "E1308"


def test_uncertainties_are_carbonc_distributions(tmp_path: Path) -> None:
    data = read_openlca(build_zip(tmp_path / "db.zip"))
    texts = [t for table in (data.technosphere_in, data.biosphere, data.parameters)
             for t in table["uncertainty"] if t]  # fmt: skip
    assert len(texts) == 6
    diags = Diagnostics()
    for text in texts:
        dist = parse_distribution(text, lambda a, b: Span.point("u", 1, 1 + a, b), _one, diags)
        assert dist is not None, text
    assert not diags.items


def _one(unit: object, span: object) -> float:
    return 1.0


def test_the_tables_feed_stdlib_lca_footprint(tmp_path: Path) -> None:
    source = build_zip(tmp_path / "db.zip", with_method=False)
    assert main(["import", "openlca", str(source), "-o", str(tmp_path / "out")]) == 0
    model = load(tmp_path / "out" / "db.carbon")
    score = model.run(choose={"allocation": "explicit"})["lca.score"]
    # By hand, AR5 GWP100: electricity emits 0.8 CO2 + 0.002 N2O * 265 = 1.33 per MJ and takes
    # 0.4 kg coal; coal (factor 0.8 of mining) emits 0.008 biogenic CH4 * 28 = 0.224 per kg and
    # takes 0.4 MJ. 1 MJ electricity: 1/0.84 MJ and 0.4/0.84 kg coal; 1 kg coal: 1/0.84 kg and
    # 0.4/0.84 MJ; 1 kg steel (18 MJ, 2 kg coal, 0.1 CO2): 18.8/0.84 MJ and 9.2/0.84 kg coal.
    assert score.labels["functional_unit"] == ("electricity", "hard_coal", "steel")
    np.testing.assert_allclose(score.array.values, [1.69, 0.9, 32.32], rtol=1e-12)
    with pytest.raises(CarbonError) as err:  # mine gas is in MJ: it has no mass to allocate by
        model.run(choose={"allocation": "mass"})
    assert "mine_gas" in str(err.value)
    # the folder is never overwritten, and a bad zip is a located error, not a traceback
    assert main(["import", "openlca", str(source), "-o", str(tmp_path / "out")]) == 4
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    assert main(["import", "openlca", str(tmp_path / "bad.zip"), "-o", str(tmp_path / "x")]) == 1
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("name", "cas", "category", "gas"),
    [
        ("Carbon dioxide, fossil", "000124-38-9", AIR, "CO2"),
        ("Carbon dioxide", "", AIR, "CO2"),
        ("carbon dioxide (land use change)", "", AIR, "CO2"),
        ("Carbon dioxide, from soil or biomass stock", "124-38-9", AIR, "CO2"),
        ("Carbon dioxide, non-fossil", "124-38-9", AIR, None),
        ("carbon dioxide (biogenic)", "", AIR, None),
        ("Carbon dioxide, to soil or biomass stock", "124-38-9", "Elementary flows/soil", None),
        ("Carbon dioxide, in air", "124-38-9", "Elementary flows/Resource/in air", None),
        ("Methane, fossil", "74-82-8", AIR, "CH4_fossil"),
        ("methane (fossil)", "", AIR, "CH4_fossil"),
        ("Methane, non-fossil", "74-82-8", AIR, "CH4_nonfossil"),
        ("Methane, biogenic", "", AIR, "CH4_nonfossil"),
        ("Methane, from soil or biomass stock", "", AIR, "CH4_nonfossil"),
        ("Methane", "74-82-8", AIR, "CH4"),
        ("Methane, tetrafluoro-, R-14", "75-73-0", AIR, "CF4"),
        ("Methane, tetrafluoro-, R-14", "", AIR, None),
        ("Dinitrogen monoxide", "010024-97-2", AIR, "N2O"),
        ("Nitrous oxide", "", AIR, "N2O"),
        ("Sulfur hexafluoride", "", AIR, "SF6"),
        ("Ethane, 1,1,1,2-tetrafluoro-, HFC-134a", "811-97-2", AIR, "HFC134a"),
        ("Methane", "74-82-8", "Elementary flows/Emission to water/river", None),
        ("Sulfur dioxide", "7446-09-5", AIR, None),
    ],
)
def test_gas_of_by_cas_or_name(name: str, cas: str, category: str, gas: str | None) -> None:
    assert _gas(_Flow(name, "ELEMENTARY_FLOW", cas, category, "", {})) == gas


def test_gas_labels_are_stdlib_gwp_gases() -> None:
    from carbonc.runtime import openlca

    known = {line.split(",")[0] for line in (REPO / "stdlib/gwp/gwp.csv").read_text().splitlines()}
    mapped = {*openlca._CAS_GAS.values(), *openlca._NAME_GAS.values()}
    assert mapped | {"CH4_fossil", "CH4_nonfossil"} <= known


def test_waste_treatment_avoided_product_and_repeated_flows(tmp_path: Path) -> None:
    """A treatment delivers the treatment of its reference waste, which its producer consumes;
    an avoided product is delivered (substitution credits it); a flow listed twice is summed."""
    units = o.new_unit_group("Units of mass", "kg")
    mass = o.new_flow_property("Mass", units)
    steel, heat = o.new_product("Steel", mass), o.new_product("Heat", mass)
    scrap, co2 = o.new_waste("Scrap", mass), o.new_elementary_flow("Carbon dioxide", mass)
    mill = _with_id(o.new_process("Steel production"), "p-mill")
    o.new_output(mill, steel, 1.0).is_quantitative_reference = True
    o.new_output(mill, scrap, 0.1)
    o.new_input(mill, heat, 0.3).is_avoided_product = True
    o.new_output(mill, co2, 1.0).uncertainty = _uncertainty(
        o.UncertaintyType.NORMAL_DISTRIBUTION, mean=1.0, sd=0.1
    )
    o.new_output(mill, co2, 0.5).amount_formula = "x"
    treatment = _with_id(o.new_process("Scrap treatment"), "p-treat")
    o.new_input(treatment, scrap, 1.0).is_quantitative_reference = True
    with zipio.ZipWriter(tmp_path / "db.zip") as writer:
        for entity in (units, mass, steel, heat, scrap, co2, mill, treatment):
            writer.write(entity)
    data = read_openlca(tmp_path / "db.zip")

    def rows(table: pd.DataFrame) -> list[tuple[object, ...]]:
        return [tuple(row) for row in table.itertuples(index=False)]

    assert rows(data.technosphere_in) == [("scrap", "steel_production", 0.1, "", "")]
    assert rows(data.technosphere_out) == [
        ("scrap", "scrap_treatment", 1.0, "", ""),
        ("heat", "steel_production", 0.3, "", ""),
        ("steel", "steel_production", 1.0, "", ""),
    ]
    assert rows(data.reference) == [("scrap", "scrap_treatment"), ("steel", "steel_production")]
    assert rows(data.biosphere) == [("carbon_dioxide", "steel_production", 1.5, "", "1 + x")]
    assert rows(data.allocation) == [
        ("scrap_treatment", "scrap", 1.0),
        ("steel_production", "steel", 1.0),  # the avoided product is credited, not allocated
    ]
    assert [d.code for d in data.warnings] == ["W1302"]  # the summed flow loses its normal


def test_multi_output_process_without_factors_warns(tmp_path: Path) -> None:
    units = o.new_unit_group("Units of mass", "kg")
    mass = o.new_flow_property("Mass", units)
    grain, straw = o.new_product("Grain", mass), o.new_product("Straw", mass)
    farm = _with_id(o.new_process("Farming"), "p-farm")
    o.new_output(farm, grain, 1.0).is_quantitative_reference = True
    o.new_output(farm, straw, 2.0)
    with zipio.ZipWriter(tmp_path / "db.zip") as writer:
        for entity in (units, mass, grain, straw, farm):
            writer.write(entity)
    data = read_openlca(tmp_path / "db.zip")
    assert data.allocation.empty  # carbonc's explicit mode then fails its sum-to-1 assertion
    (warning,) = data.warnings
    assert warning.code == "W1301" and "2 outputs but no PHYSICAL_ALLOCATION" in warning.message


# --- bad input: every problem is a CarbonError whose diagnostic names the zip and the entry ---


def _refused(path: Path, code: str, entry: str, **kwargs: int) -> Diagnostic:
    with pytest.raises(CarbonError) as err:
        read_openlca(path, **kwargs)
    diag = next(d for d in err.value.diagnostics if d.code == code)
    assert diag.span is not None and diag.span.file == f"{path}!/{entry}", diag.span
    assert diag.help, diag
    assert str(err.value)  # renders without reading the zip as a source file
    return diag


def _zip(path: Path, entries: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
    return path


def test_not_a_zip_and_missing_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 this is not really a zip" * 10)
    assert "not a readable zip" in _refused(junk, "E1301", "").message
    _refused(tmp_path / "missing.zip", "E1301", "")


def test_too_many_entries(tmp_path: Path) -> None:
    path = _zip(tmp_path / "many.zip", {f"actors/{i}.json": "{}" for i in range(50)})
    assert "50 entries" in _refused(path, "E1302", "", max_entries=10).message
    read_openlca(path, max_entries=50)  # within the cap: nothing of interest, no error


def test_too_large_unpacked(tmp_path: Path) -> None:
    bomb = b'{"@type": "Flow", "name": "' + b" " * 4_000_000 + b'"}'
    path = _zip(tmp_path / "bomb.zip", {"flows/f.json": bomb})
    assert path.stat().st_size < 50_000  # a few MB that compress to almost nothing
    _refused(path, "E1302", "", max_bytes=1_000_000)


@pytest.mark.parametrize("entry", ["../evil.json", "flows/../../evil.json", "/etc/evil.json"])
def test_unsafe_entry_names(tmp_path: Path, entry: str) -> None:
    path = _zip(tmp_path / "evil.zip", {"flows/ok.json": "{}", entry: "{}"})
    _refused(path, "E1303", entry)


def test_invalid_json_names_the_entry_and_position(tmp_path: Path) -> None:
    build_zip(tmp_path / "db.zip")
    with zipfile.ZipFile(tmp_path / "db.zip", "a") as zf:
        zf.writestr("flows/broken.json", '{\n  "@type": "Flow",\n  "name": oops\n}')
    with pytest.raises(CarbonError) as err:
        read_openlca(tmp_path / "db.zip")
    (diag,) = err.value.diagnostics
    assert diag.code == "E1305" and diag.span is not None
    assert diag.span.file == f"{tmp_path / 'db.zip'}!/flows/broken.json"
    assert (diag.span.line, diag.span.col) == (3, 11)
    assert "oops" in diag.notes[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [("[1, 2]", "not a JSON object"), (b"\xff\xfe{}", "not UTF-8"), ("[" * 100_000, "invalid")],
)
def test_entry_not_an_object(tmp_path: Path, content: str | bytes, message: str) -> None:
    path = _zip(tmp_path / "bad.zip", {"processes/p.json": content})
    assert message in _refused(path, "E1305", "processes/p.json").message


def test_process_referencing_a_missing_flow(tmp_path: Path) -> None:
    units = o.new_unit_group("Units of mass", "kg")
    mass = o.new_flow_property("Mass", units)
    steel, ghost = o.new_product("Steel", mass), o.new_product("Ghost", mass)
    process = _with_id(o.new_process("Steel production"), "p-st")
    o.new_output(process, steel, 1.0).is_quantitative_reference = True
    o.new_input(process, ghost, 2.0)
    with zipio.ZipWriter(tmp_path / "db.zip") as writer:
        for entity in (units, mass, steel, process):
            writer.write(entity)
    diag = _refused(tmp_path / "db.zip", "E1307", "processes/p-st.json")
    assert "`Ghost`" in diag.message and "not in the zip" in diag.message


def test_data_set_errors_are_all_reported(tmp_path: Path) -> None:
    units = o.new_unit_group("Units of mass", "kg")
    mass = o.new_flow_property("Mass", units)
    steel = _with_id(o.new_product("Steel", mass), "f-steel")
    process = _with_id(o.new_process("Steel production"), "p-st")
    o.new_output(process, steel, "2 * x")  # a formula alone: never computed
    with zipio.ZipWriter(tmp_path / "db.zip") as writer:
        for entity in (units, mass, steel, process):
            writer.write(entity)
    with zipfile.ZipFile(tmp_path / "db.zip", "a") as zf:
        zf.writestr("flows/f-x.json", '{"@type": "Process", "@id": "f-x"}')
    with pytest.raises(CarbonError) as err:
        read_openlca(tmp_path / "db.zip")
    found = {(d.code, d.span.file.rsplit("!/", 1)[1]) for d in err.value.diagnostics if d.span}
    assert found == {
        ("E1306", "flows/f-x.json"),  # a Process in flows/
        ("E1308", "processes/p-st.json"),  # no numeric amount
    }


def test_other_schema_versions_are_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path / "v1.zip", {"olca-schema.json": '{"version": 1}'})
    assert "version" in _refused(path, "E1309", "olca-schema.json").message


# The system build_zip writes, by hand, in the zip's own units (carbonc converts: 5 kWh of
# electricity measured in MJ, 0.002 t of coal measured in kg, 2 g of N2O), without uncertainty.
HAND_WRITTEN = """\
carbon: 1
model: by_hand
processes:
  electricity_production:
    products: {electricity: 1 MJ}
    inputs: {hard_coal: 0.4 kg}
    emissions: {carbon_dioxide_fossil_2: 0.8 kg, dinitrogen_monoxide: 2 g}
  steel_production:
    products: {steel: 1 kg}
    inputs: {electricity: 5 kWh, hard_coal: 0.002 t}
    emissions: {carbon_dioxide_fossil: 0.1 kg, water_cooling: -3 kg}
  coal_mining:
    products: {hard_coal: 1 kg, mine_gas: 2 MJ}
    inputs: {electricity: 0.5 MJ}
    emissions: {methane_biogenic: 0.01 kg, carbon_dioxide_in_air: -0.05 kg}
dimensions:
  functional_unit: [electricity, hard_coal, steel]
  gas: [CO2, N2O, CH4_nonfossil]
data:
  explicit_factors:
    dims: [process, product]
    fill: 0
    values: {coal_mining: {hard_coal: 0.8, mine_gas: 0.2}}
  demand:
    dims: [product, functional_unit]
    fill: 0
    values: {electricity: {electricity: 1}, hard_coal: {hard_coal: 1}, steel: {steel: 1}}
  gas_of:
    dims: [flow, gas]
    fill: 0
    values:
      carbon_dioxide_fossil: {CO2: 1}
      carbon_dioxide_fossil_2: {CO2: 1}
      dinitrogen_monoxide: {N2O: 1}
      methane_biogenic: {CH4_nonfossil: 1}
  mass: {dims: [product], values: {electricity: 0, hard_coal: 1, mine_gas: 0, steel: 1}}
  energy: {dims: [product], values: {electricity: 1, hard_coal: 25, mine_gas: 1, steel: 0}}
  price: {dims: [product], values: {electricity: 0, hard_coal: 2, mine_gas: 0.05, steel: 1.5}}
import:
  lca:
    from: stdlib:lca/footprint
    with:
      technosphere_in: processes.technosphere_in
      technosphere_out: processes.technosphere_out
      reference: processes.reference
      biosphere: processes.biosphere
      mass: mass
      energy: energy
      price: price
      explicit_factors: explicit_factors
      demand: demand
      gas_of: gas_of
outputs: [lca.score, lca.per_product]
"""


def test_imported_scores_equal_the_same_system_written_in_carbon(tmp_path: Path) -> None:
    """Coal mining delivers coal and mine gas, split 0.8/0.2 by openLCA's physical factors."""
    source = build_zip(tmp_path / "db.zip", with_method=False)
    assert main(["import", "openlca", str(source), "-o", str(tmp_path / "out")]) == 0
    (tmp_path / "by_hand.carbon").write_text(HAND_WRITTEN, encoding="utf-8")
    imported = load(tmp_path / "out" / "db.carbon").run(choose={"allocation": "explicit"})
    by_hand = load(tmp_path / "by_hand.carbon").run(choose={"allocation": "explicit"})
    for name, dim in (("lca.score", "functional_unit"), ("lca.per_product", "product_to")):
        ours, theirs = (
            dict(zip(r[name].labels[dim], r[name].array.values.tolist(), strict=True))
            for r in (imported, by_hand)
        )
        assert sorted(ours) == sorted(theirs), name  # the importer's slugs are the names above
        assert len(ours) == (3 if dim == "functional_unit" else 4)
        for label, value in ours.items():
            assert value == pytest.approx(theirs[label], rel=1e-12), (name, label)
