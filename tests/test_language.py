"""Language semantics: imports as instances, interchangeable methods, extends/override, dims, units."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from carbonc import CarbonError
from carbonc.compiler import load

Write = Callable[..., Path]

METHOD_A = """
carbon: 1
model: method-a
inputs:
  activity: {dims: [fuel], unit: TJ}
data:
  ef: {dims: [fuel], unit: t/TJ, values: {coal: 94.6, gas: 56.1}}
rules:
  emissions: {expr: "activity * ef", unit: t}
"""

METHOD_B = """
carbon: 1
model: method-b
description: the same contract as method-a, a different methodology (a flat factor)
inputs:
  activity: {dims: [fuel], unit: TJ}
parameters:
  flat: "70 t/TJ"
rules:
  emissions: {expr: "activity * flat", unit: t, dims: [fuel]}
"""


def _codes(exc: pytest.ExceptionInfo[CarbonError]) -> list[str]:
    return [d.code for d in exc.value.diagnostics]


def test_one_method_instantiated_twice(tmp_path: Path) -> None:
    """The same method imported under two aliases with different bindings gives two instances."""
    (tmp_path / "method_a.carbon").write_text(METHOD_A)
    path = tmp_path / "m.carbon"
    path.write_text(
        textwrap.dedent(
            """
        carbon: 1
        model: twice
        dimensions:
          fuel: [coal, gas]
        import:
          y2022: {from: method_a.carbon, with: {activity: a2022}}
          y2023: {from: method_a.carbon, with: {activity: "a2022 * 1.5"}}
        data:
          a2022: {dims: [fuel], unit: GJ, values: {coal: 1000, gas: 2000}}
        rules:
          growth: "sum(y2023.emissions) / sum(y2022.emissions)"
        """
        )
    )
    r = load(path).run(outputs=["y2022.emissions", "y2023.emissions", "growth"])
    assert r["y2022.emissions"]["coal"] == pytest.approx(1000 * 1e-3 * 94.6)
    assert r["growth"].item() == pytest.approx(1.5)


def test_methods_with_one_contract_are_interchangeable(tmp_path: Path) -> None:
    """Swapping `from:` between two methods with the same inputs changes nothing else."""
    (tmp_path / "a.carbon").write_text(METHOD_A)
    (tmp_path / "b.carbon").write_text(METHOD_B)
    model = """
carbon: 1
model: swap
dimensions:
  fuel: [coal, gas]
import:
  m: {{from: {src}, with: {{activity: use}}}}
data:
  use: {{dims: [fuel], unit: TJ, values: [10, 20]}}
rules:
  total: "sum(m.emissions)"
"""
    (tmp_path / "ma.carbon").write_text(model.format(src="a.carbon"))
    (tmp_path / "mb.carbon").write_text(model.format(src="b.carbon"))
    assert load(tmp_path / "ma.carbon").run()["total"].item() == pytest.approx(
        10 * 94.6 + 20 * 56.1
    )
    assert load(tmp_path / "mb.carbon").run()["total"].item() == pytest.approx(30 * 70)


def test_extends_override_super_and_provenance(tmp_path: Path) -> None:
    """An override replaces a base definition, may use `super`, and its reason is recorded."""
    (tmp_path / "base.carbon").write_text(
        'carbon: 1\nmodel: base\nparameters:\n  ef: "2 t/TJ"\n  use: "10 TJ"\nrules:\n  e: "ef * use"\n'
    )
    (tmp_path / "child.carbon").write_text(
        "carbon: 1\nmodel: child\nextends: base.carbon\noverride:\n  ef:\n"
        '    expr: "super * 1.5"\n    because: measured\n'
    )
    r = load(tmp_path / "child.carbon").run()
    assert r["e"].item() == pytest.approx(30.0)
    assert r.provenance["overrides"] == [
        {"target": "ef", "because": "measured", "at": "child.carbon:5:3"}
    ] or (r.provenance["overrides"][0]["because"] == "measured")
    assert load(tmp_path / "base.carbon").run()["e"].item() == pytest.approx(20.0)


def test_redefining_a_base_name_needs_override(tmp_path: Path) -> None:
    """Redefining without `override:` is a compile error that points to `override:`."""
    (tmp_path / "base.carbon").write_text('carbon: 1\nmodel: base\nrules:\n  e: "1"\n')
    (tmp_path / "child.carbon").write_text(
        'carbon: 1\nmodel: c\nextends: base.carbon\nrules:\n  e: "2"\n'
    )
    with pytest.raises(CarbonError) as exc:
        load(tmp_path / "child.carbon")
    assert _codes(exc) == ["E0309"]
    assert "override" in (exc.value.diagnostics[0].help or "")


def test_model_narrows_an_imported_dimension(write_model: Write) -> None:
    """A model may use a subset of a method's labels; the default table is restricted to them."""
    path = write_model(
        """
        carbon: 1
        model: narrow
        import:
          gwp: stdlib:gwp
        dimensions:
          gas: [N2O, CH4]
        rules:
          f: "gwp.factor"
        """
    )
    r = load(path).run()
    assert r["f"].dims == ("gas",)
    assert list(r["f"].labels["gas"]) == ["N2O", "CH4"]
    assert list(r["f"].values) == [265.0, 28.0]


def test_widening_an_imported_dimension_is_an_error(write_model: Write) -> None:
    """Labels the method does not know cannot be added by the importer."""
    path = write_model(
        'carbon: 1\nmodel: wide\nimport:\n  gwp: stdlib:gwp\ndimensions:\n  gas: [CO2, XYZ]\nrules:\n  f: "gwp.factor"\n'
    )
    with pytest.raises(CarbonError) as exc:
        load(path)
    assert "E0404" in _codes(exc)


@pytest.mark.parametrize(
    ("formula", "unit", "value"),
    [
        ("56.1 t/TJ * 1000 TJ", "t", 56100.0),
        ("(56.1 t/TJ * 1 PJ) in kt", "kt", 56.1),
        ("44/12 t/t", "1", 44 / 12),
        ("1 kg/TJ * 1 GJ", "kg", 0.001),
        ("(12 t C) in t CO2", "t CO2", 44.0),
        ("5 % * 200 t", "t", 10.0),
        ("2 t CH4 * 28 t CO2e/t CH4", "t CO2e", 56.0),
    ],
)
def test_units_are_checked_and_converted(
    write_model: Write, formula: str, unit: str, value: float
) -> None:
    """Unit literals, conversions and reductions give the right magnitude and unit."""
    path = write_model(f'carbon: 1\nmodel: u\nrules:\n  x: "{formula}"\n')
    r = load(path).run()["x"]
    assert r.item() == pytest.approx(value, rel=1e-12)
    assert r.unit == unit


def test_species_units_do_not_mix(write_model: Write) -> None:
    """`t CH4 + t CO2` is a unit mismatch: greenhouse gases are distinct quantities."""
    path = write_model('carbon: 1\nmodel: u\nrules:\n  x: "1 t CH4 + 1 t CO2"\n')
    with pytest.raises(CarbonError) as exc:
        load(path)
    assert _codes(exc) == ["E0501"]


def test_all_errors_in_a_file_are_reported_at_once(write_model: Write) -> None:
    """Diagnostics are collected, not raised one by one."""
    path = write_model(
        'carbon: 1\nmodel: many\nrules:\n  a: "1 TJ + 1 t"\n  b: "nope * 2"\n  c: "summ(1)"\n  d: "2 +"\n'
    )
    with pytest.raises(CarbonError) as exc:
        load(path)
    assert sorted(_codes(exc)) == ["E0201", "E0301", "E0303", "E0501"]
    assert [d.span.line for d in exc.value.diagnostics if d.span] == [4, 5, 6, 7]


def test_builtins_reduce_stack_share_cumsum_where(write_model: Write) -> None:
    """The built-in functions compute what they say, broadcasting by dimension name."""
    path = write_model(
        """
        carbon: 1
        model: fns
        dimensions:
          year: [2020, 2021, 2022]
          gas: [CO2, CH4]
        data:
          e: {dims: [year, gas], unit: t, values: {2020: {CO2: 3, CH4: 1}, 2021: {CO2: 2, CH4: 2}, 2022: {CO2: 1, CH4: 3}}}
        rules:
          total: "sum(e)"
          by_year: "sum(e, over=gas)"
          peak: "max(e, over=year)"
          avg: "mean(e, over=(year, gas))"
          stock: "cumsum(by_year, over=year)"
          shares: "share(e, over=gas)"
          clipped: "where(e > 1.5 t, e, 0)"
          pair_max: "max(e, 2 t)"
          stacked: "stack(over=gas, CO2=by_year, CH4=2 t)"
        """
    )
    r = load(path).run()
    assert r["total"].item() == 12.0
    assert list(r["by_year"].values) == [4.0, 4.0, 4.0]
    assert list(r["peak"].values) == [3.0, 3.0]
    assert r["avg"].item() == 2.0
    assert list(r["stock"].values) == [4.0, 8.0, 12.0]
    np.testing.assert_allclose(r["shares"].values[:, 0], [0.75, 0.5, 0.25])
    np.testing.assert_array_equal(r["clipped"].values, [[3, 0], [2, 2], [0, 3]])
    np.testing.assert_array_equal(r["pair_max"].values, [[3, 2], [2, 2], [2, 3]])
    assert r["stacked"].dims == ("year", "gas")
    np.testing.assert_array_equal(r["stacked"].values, [[4, 2], [4, 2], [4, 2]])


def test_csv_long_and_wide_forms_agree(tmp_path: Path) -> None:
    """The same table read long and wide gives the same array; comments and extra columns are fine."""
    files = {
        "fuels.csv": "code,name\ncoal,Coal\ngas,Natural gas\n",
        "long.csv": "# Table 2.2\nfuel,gas,ef,source\ncoal,CO2,94600,T2.2\ncoal,CH4,1,T2.2\ngas,CO2,56100,T2.2\ngas,CH4,1,T2.2\n",
        "wide.csv": "fuel,CO2,CH4,note\ncoal,94600,1,x\ngas,56100,1,y\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "m.carbon"
    path.write_text(
        textwrap.dedent(
            """
        carbon: 1
        model: csv
        dimensions:
          fuel: {csv: fuels.csv, column: code}
          gas: [CO2, CH4]
        data:
          long: {csv: long.csv, dims: [fuel, gas], unit: kg/TJ, value: ef}
          wide: {csv: wide.csv, dims: [fuel, gas], unit: kg/TJ, wide: gas}
        rules:
          same: "sum(abs(long - wide))"
        """
        )
    )
    r = load(path).run(outputs=["long", "same"])
    assert r["same"].item() == 0.0
    assert r["long"]["coal", "CO2"] == 94600.0


def test_data_rerun_on_another_file_and_bad_data(write_model: Write, tmp_path: Path) -> None:
    """`data=` reruns the methodology on another file; bad cells are located errors."""
    path = write_model(
        "carbon: 1\nmodel: d\ndimensions:\n  fuel: [coal, gas]\n"
        'data:\n  use: {csv: use.csv, dims: [fuel], unit: TJ}\nrules:\n  total: "sum(use)"\n'
    )
    (tmp_path / "use.csv").write_text("fuel,value\ncoal,1\ngas,2\n")
    other = tmp_path / "other.csv"
    other.write_text("fuel,value\ncoal,10\ngas,20\n")
    m = load(path)
    assert m.run()["total"].item() == 3.0
    assert m.run(data={"use": other})["total"].item() == 30.0
    other.write_text("fuel,value\ncoal,10\ngas,n/a\n")
    with pytest.raises(CarbonError) as exc:
        m.run(data={"use": other})
    d = exc.value.diagnostics[0]
    assert (d.code, d.span.line, d.span.col) == ("E0803", 3, 5)
    assert d.span.file.endswith("other.csv")


def test_same_inputs_same_numbers(write_model: Write) -> None:
    """Runs are deterministic: same model, data and choices give identical arrays and provenance."""
    path = write_model(
        'carbon: 1\nmodel: det\nparameters:\n  a: "0.1 t"\nrules:\n  b: "a * 3 + a / 7"\n'
    )
    r1, r2 = load(path).run(), load(path).run()
    assert r1["b"].values.tobytes() == r2["b"].values.tobytes()
    assert r1.provenance == r2.provenance
    assert len(r1.provenance["model_hash"]) == 64


def test_assertion_failure_reports_values(write_model: Write) -> None:
    """A failed identity is an error with both sides and the worst element named."""
    from carbonc.compiler import AssertionFailed

    path = write_model(
        "carbon: 1\nmodel: a\ndimensions:\n  r: [x, y]\ndata:\n  p: {dims: [r], unit: t, values: [1, 2]}\n"
        '  c: {dims: [r], unit: t, values: [1, 2.5]}\nassert:\n  - "p == c within 1e-9"\n'
    )
    with pytest.raises(AssertionFailed) as exc:
        load(path).run()
    (d,) = exc.value.diagnostics
    assert d.code == "E1001" and d.span.line == 9
    assert "at r=y" in d.notes[0] and "left = 2 t, right = 2.5 t" in d.notes[0]


def test_a_method_runs_for_every_region_at_once(write_model: Callable[..., Path]) -> None:
    """Binding an input to a formula with an extra dim (region) batches the method over it: the
    result equals one instance per region, and the method's own sums keep the region."""
    body = """
        carbon: 1
        model: batch
        import:
          all: {from: stdlib:ipcc2006/energy/stationary_combustion, with: {fuel_use: fuel_use}}
          north:
            from: stdlib:ipcc2006/energy/stationary_combustion
            with: {fuel_use: "fuel_use[region=north]"}
          south:
            from: stdlib:ipcc2006/energy/stationary_combustion
            with: {fuel_use: "fuel_use[region=south]"}
        dimensions:
          region: [north, south]
          source: [energy_industries, residential_agriculture]
          fuel: [natural_gas, other_bituminous_coal, wood_wood_waste]
        data:
          fuel_use:
            dims: [region, source, fuel]
            unit: TJ
            fill: 0
            values:
              north: {energy_industries: {natural_gas: 1000, other_bituminous_coal: 500}}
              south: {residential_agriculture: {wood_wood_waste: 70, natural_gas: 3}}
        rules:
          batched: "all.by_gas"
          one_by_one: "stack(over=region, north=north.by_gas, south=south.by_gas)"
          memo: "all.biomass_co2"
        outputs: [batched, one_by_one, memo]
        """
    r = load(write_model(body)).run()
    a = r["batched"].array.transposed(("region", "gas")).values
    b = r["one_by_one"].array.transposed(("region", "gas")).values
    np.testing.assert_array_equal(a, b)
    assert r["batched"]["north", "CO2"] == 1000 * 56.1 + 500 * 94.6
    assert "region" in r["memo"].dims
