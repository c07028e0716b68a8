"""The wind and PV showcase (models/wind_pv) and stdlib:lca/avoided.

The footprints are recomputed here from the model's own process data, read from the
`.carbon` file and its CSVs with PyYAML and csv (not through carbonc), allocated by the
definitions written out below and solved with numpy; the footprint by stage is recomputed by a
walk down the foreground supply chain, a different algorithm from the model's.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from carbonc.compiler import load
from carbonc.compiler.api import Uncertainty
from carbonc.compiler.cli import main
from carbonc.dsl.diagnostics import CarbonError

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "models" / "wind_pv"
MODEL = FOLDER / "wind_pv.carbon"
RTOL = 1e-12
UNITS = {"wind_kwh": "wind_electricity", "pv_kwh": "pv_electricity"}
TECHNOLOGY = {"wind_turbine": "wind_kwh", "pv_system": "pv_kwh"}

# unit -> (kind, factor to the kind's base unit)
UNIT = {
    "": ("count", 1.0),
    "kWh": ("energy", 1.0),
    "t": ("mass", 1000.0),
    "kg": ("mass", 1.0),
    "g": ("mass", 1e-3),
    "t km": ("freight", 1.0),
    "m^2": ("area", 1.0),
    "m^3": ("volume", 1.0),
}
_QUANTITY = re.compile(r"^\s*([-+0-9.eE]+)\s*(.*?)\s*$")


def _quantity(text: str) -> tuple[float, str]:
    m = _QUANTITY.match(text)
    assert m, text
    return float(m.group(1)), m.group(2)


def _central(amount: Any) -> tuple[float, str]:
    """The value a deterministic run uses: the amount, a lognormal's median, a triangular's
    mode."""
    if isinstance(amount, (int, float)):
        return float(amount), ""
    m = re.match(r"^(lognormal|triangular)\((.*)\)$", amount.strip())
    if not m:
        return _quantity(amount)
    args = [a.strip() for a in m.group(2).split(",")]
    return _quantity(args[0] if m.group(1) == "lognormal" else args[1])


def _spec() -> dict[str, Any]:
    with MODEL.open(encoding="utf-8") as f:
        spec: dict[str, Any] = yaml.safe_load(f)
    return spec


def _lifetime_outputs(spec: dict[str, Any]) -> dict[str, float]:
    """kWh over life: capacity x full-load hours x years (x the average degradation for PV)."""
    p = {k: v["value"] for k, v in spec["parameters"].items()}
    wind = 1000 * _central(p["wind_capacity"])[0]  # MW -> kW
    wind *= _central(p["wind_full_load_hours"])[0] * _central(p["wind_lifetime"])[0]
    years = _central(p["pv_lifetime"])[0]
    pv = _central(p["pv_capacity"])[0] * _central(p["pv_specific_yield"])[0] * years
    pv *= 1 - _central(p["pv_degradation"])[0] / 100 * (years - 1) / 2
    return {"wind_lifetime_output": wind, "pv_lifetime_output": pv}


def _csv_rows(name: str) -> list[dict[str, str]]:
    with (FOLDER / "data" / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def _gwp() -> dict[str, float]:
    """AR5 GWP100, stdlib:gwp's default metric, from its data file."""
    with (REPO / "stdlib" / "gwp" / "gwp.csv").open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return {r["gas"]: float(r["gwp"]) for r in rows if r["metric"] == "AR5_GWP100"}


class System:
    """The model's processes as matrices, allocated, with numpy's answers."""

    def __init__(self, mode: str) -> None:
        spec = _spec()
        procs = spec["processes"]
        outputs = _lifetime_outputs(spec)
        self.processes = list(procs)
        self.products: list[str] = []
        self.flows: list[str] = []
        unit: dict[str, str] = {}
        tin: dict[tuple[str, str], float] = {}
        tout: dict[tuple[str, str], float] = {}
        bio: dict[tuple[str, str], float] = {}
        for j, proc in procs.items():
            for part, table in (("products", tout), ("inputs", tin)):
                for p, amount in proc.get(part, {}).items():
                    if isinstance(amount, str) and amount in outputs:
                        value, u = outputs[amount], "kWh"
                    else:
                        value, u = _central(amount)
                    if p not in self.products:
                        self.products.append(p)
                    unit.setdefault(p, u)
                    kind, factor = UNIT[u]
                    assert kind == UNIT[unit[p]][0], (j, p)
                    table[(p, j)] = value * factor / UNIT[unit[p]][1]
            for k, amount in proc.get("emissions", {}).items():
                if k not in self.flows:
                    self.flows.append(k)
                value, u = _central(amount)
                assert UNIT[u][0] == "mass"
                bio[(k, j)] = value * UNIT[u][1]  # kg
        self.stage = {next(iter(p["products"])): p["stage"] for p in procs.values() if "stage" in p}
        props = {r["product"]: r for r in _csv_rows("properties.csv")}
        basis = {"mass": "mass", "economic": "price"}[mode]
        n = len(self.products)
        self.A = np.zeros((n, n))
        self.B = np.zeros((len(self.flows), n))
        self.factors: dict[tuple[str, str], float] = {}
        for j in self.processes:
            outs = {p: v for (p, q), v in tout.items() if q == j}
            if len(outs) == 1:
                weights = dict.fromkeys(outs, 1.0)
            else:
                weights = {p: v * float(props[p][basis]) for p, v in outs.items()}
            total = sum(weights.values())
            for p, v in outs.items():
                f = weights[p] / total
                self.factors[(j, p)] = f
                col = self.products.index(p)
                for (i, q), x in tin.items():
                    if q == j:
                        self.A[self.products.index(i), col] += x * f / v
                for (k, q), x in bio.items():
                    if q == j:
                        self.B[self.flows.index(k), col] += x * f / v
        gwp = _gwp()
        self.direct = np.array([gwp[k] for k in self.flows]) @ self.B  # kg CO2e per unit
        technology = np.eye(n) - self.A
        self.per_product = np.linalg.solve(technology.T, self.direct)
        self.supply = {
            fu: np.linalg.solve(technology, np.eye(n)[self.products.index(p)])
            for fu, p in UNITS.items()
        }
        self.score = {fu: float(self.direct @ s) for fu, s in self.supply.items()}

    def by_stage(self, fu: str, whole_chain: set[str]) -> dict[str, float]:
        """Walk down the foreground tree from the functional unit: a foreground process charges
        its stage with its own emissions and its background inputs' cradle-to-gate footprint;
        a whole-chain process charges its stage with its whole cradle-to-gate footprint."""
        out: dict[str, float] = {}

        def visit(p: str, amount: float) -> None:
            i = self.products.index(p)
            stage = self.stage[p]
            if p in whole_chain:
                out[stage] = out.get(stage, 0.0) + amount * self.per_product[i]
                return
            charge = self.direct[i]
            for k, x in enumerate(self.A[:, i]):
                q = self.products[k]
                if x == 0:
                    continue
                if q in self.stage:
                    visit(q, amount * x)
                else:
                    charge += x * self.per_product[k]
            out[stage] = out.get(stage, 0.0) + amount * charge

        visit(UNITS[fu], 1.0)
        return out


def _run(**kw: Any) -> Any:
    return load(MODEL).run(**kw)


def _per_kwh(r: Any) -> dict[str, float]:
    return {fu: r["footprint"][fu] for fu in UNITS}


@pytest.fixture(scope="module")
def results() -> Any:
    return _run()


# -- the model runs, in range ----------------------------------------------------------------


def test_every_assertion_holds(results: Any) -> None:
    ran = [a for a in results.asserts if a["passed"] is not None]
    assert len(ran) >= 20
    assert all(a["passed"] for a in ran), [a for a in ran if not a["passed"]]
    own = {a["assert"] for a in ran if a["at"].startswith("wind_pv.carbon")}
    assert "sum(by_stage, over=stage) == footprint within 1e-9" in own
    assert any(a.startswith("sum(lca.B * rename(processes.technosphere_out") for a in own)


def test_footprints_are_plausible(results: Any) -> None:
    """Harmonised LCAs: ~11 g CO2e/kWh for onshore wind, ~45 g for c-Si PV (see README)."""
    kwh = _per_kwh(results)
    assert 5 < kwh["wind_kwh"] < 20
    assert 20 < kwh["pv_kwh"] < 80
    assert results["footprint"].unit == "g CO2e/kWh"


@pytest.mark.parametrize("mode", ["mass", "economic"])
def test_footprint_equals_a_numpy_solve(mode: str) -> None:
    s = System(mode)
    r = _run(choose={"allocation": mode}, outputs=["footprint", "lca.factors", "lca.per_product"])
    for fu in UNITS:
        assert r["footprint"][fu] == pytest.approx(1000 * s.score[fu], rel=RTOL)  # g/kWh
    # per unit of every product: A's entries span 14 orders of magnitude (a turbine per 1.56e8
    # kWh, 1000 t km of freight per tonne), so two solves agree to rounding at 1e-10
    per_product = r["lca.per_product"]
    for i, p in enumerate(s.products):
        assert per_product[p] == pytest.approx(s.per_product[i], rel=1e-10, abs=1e-15)
    for (j, p), f in s.factors.items():
        assert r["lca.factors"][j, p] == pytest.approx(f, rel=RTOL)


def test_footprint_by_stage_equals_a_tree_walk(results: Any) -> None:
    s = System("mass")
    whole_chain = {"wind_om", "pv_om", "wind_eol", "pv_eol"}
    stages = results["by_stage"]
    for fu in UNITS:
        expected = s.by_stage(fu, whole_chain)
        assert set(expected) == set(stages.labels["stage"])
        for stage, value in expected.items():
            assert stages[stage, fu] == pytest.approx(1000 * value, rel=1e-10)
        assert sum(expected.values()) == pytest.approx(s.score[fu], rel=1e-12)
    # the replacement inverter counts in operation, the first one in manufacturing
    assert stages["operation", "pv_kwh"] > 0.1 * stages["manufacturing", "pv_kwh"]


def test_stages_csv_agrees_with_the_processes_block() -> None:
    rows = {r["product"]: r["stage"] for r in _csv_rows("stages.csv")}
    assert rows == System("mass").stage


# -- allocation ---------------------------------------------------------------------------------


def test_allocation_choice_moves_the_footprint(results: Any) -> None:
    """By price, steel and silicon carry more of their works' emissions than by mass (slag
    and silica fume weigh much but sell for little), so both footprints rise; wind, made of
    steel, rises most."""
    mass, economic = _per_kwh(results), _per_kwh(_run(choose={"allocation": "economic"}))
    for fu in UNITS:
        assert economic[fu] > mass[fu]
    assert economic["wind_kwh"] / mass["wind_kwh"] > 1.1
    assert economic["wind_kwh"] / mass["wind_kwh"] > economic["pv_kwh"] / mass["pv_kwh"]
    r = _run(choose={"allocation": "economic"}, outputs=["lca.factors"])
    assert r["lca.factors"]["steel_works", "steel"] == pytest.approx(650 / (650 + 0.35 * 25))
    assert r["lca.factors"]["silicon_smelting", "mg_silicon"] == pytest.approx(
        2200 / (2200 + 0.3 * 350)
    )


def test_energy_allocation_is_refused() -> None:
    """Slag and silica fume have no energy content in the data: the footprint method's property
    check names them."""
    with pytest.raises(CarbonError) as exc:
        _run(choose={"allocation": "energy"})
    notes = " ".join(n for d in exc.value.diagnostics for n in d.notes)
    assert "steel_works" in notes and "silicon_smelting" in notes


# -- Monte Carlo --------------------------------------------------------------------------------


def test_monte_carlo(results: Any) -> None:
    mc = load(MODEL).run(uncertainty=Uncertainty(samples=1000, seed=1))
    stats = mc["footprint"].stats
    assert stats is not None
    for i, fu in enumerate(mc["footprint"].labels["functional_unit"]):
        value = results["footprint"][fu]
        assert stats["p2.5"][i] < value < stats["p97.5"][i]
        assert 0.02 * value < stats["sd"][i] < 0.2 * value
        assert abs(stats["mean"][i] / value - 1) < 0.05
    assert all(a["passed"] is not False for a in mc.asserts)  # checked on every sample
    again = load(MODEL).run(uncertainty=Uncertainty(samples=1000, seed=1))
    np.testing.assert_array_equal(again["footprint"].stats["mean"], stats["mean"])


# -- avoided emissions --------------------------------------------------------------------------


def test_avoided_emissions_are_output_times_the_difference(results: Any) -> None:
    outputs = _lifetime_outputs(_spec())
    life = {"wind_turbine": 20.0, "pv_system": 30.0}
    lifetime_output = {
        "wind_turbine": results["wind_lifetime_output"].item(),
        "pv_system": results["pv_lifetime_output"].item(),
    }
    assert lifetime_output["wind_turbine"] == pytest.approx(outputs["wind_lifetime_output"])
    assert lifetime_output["pv_system"] == pytest.approx(outputs["pv_lifetime_output"])
    mix = {r["grid"]: r for r in _csv_rows("grid_mix.csv")}
    source = {r["source"]: float(r["value"]) / 1000 for r in _csv_rows("source_intensity.csv")}
    avoided, ratio, payback = (
        results[f"avoided.{n}"] for n in ("avoided", "ratio", "payback_time")
    )
    assert avoided.unit == "t CO2e" and payback.unit == "month"
    for grid in ("coal_heavy", "gas_heavy"):
        grid_intensity = results["grid_intensity"][grid]
        assert grid_intensity == pytest.approx(
            sum(float(mix[grid][k]) * v for k, v in source.items()), rel=RTOL
        )
        for tech, fu in TECHNOLOGY.items():
            own = results["footprint"][fu] / 1000  # kg CO2e/kWh
            expected = lifetime_output[tech] * (grid_intensity - own) / 1000  # t CO2e
            assert avoided[tech, grid] == pytest.approx(expected, rel=RTOL)
            footprint = lifetime_output[tech] * own / 1000
            assert results["avoided.footprint"][tech] == pytest.approx(footprint, rel=RTOL)
            assert ratio[tech, grid] == pytest.approx(expected / footprint, rel=RTOL)
            months = 12 * life[tech] * own / grid_intensity
            assert payback[tech, grid] == pytest.approx(months, rel=RTOL)
            assert 0 < payback[tech, grid] < 12 * life[tech]  # both pay back within their lives


def test_the_reference_never_changes_the_footprint(tmp_path: Path) -> None:
    """A cleaner counterfactual grid changes the avoided emissions, never the footprint."""
    clean = tmp_path / "grid_mix.csv"
    clean.write_text(
        "grid,coal,gas,nuclear,hydro,wind,solar\n"
        "coal_heavy,0.2,0.2,0.2,0.2,0.1,0.1\ngas_heavy,0,0.3,0.3,0.2,0.1,0.1\n",
        encoding="utf-8",
    )
    base = _run()
    other = load(MODEL, allow=[tmp_path]).run(data={"grid_mix": clean})
    for name in ("footprint", "by_stage", "avoided.footprint"):
        np.testing.assert_array_equal(other[name].values, base[name].values)
    assert (other["avoided.avoided"].values < base["avoided.avoided"].values).all()


AVOIDED = """
carbon: 1
model: avoided-check
dimensions:
  grid: [coal_heavy, gas_heavy, clean]
  technology: [a, b]
data:
  grid_intensity: {dims: [grid], unit: g CO2e/kWh, values: {coal_heavy: 800, gas_heavy: 450, clean: GRID_CLEAN}}
  output: {dims: [technology], unit: MWh, values: {a: 150000, b: 30}}
  own: {dims: [technology], unit: g CO2e/kWh, values: {a: 10, b: 40}}
import:
  per_technology:
    from: stdlib:lca/avoided
    with: {lifetime_output: output, own_intensity: own, grid_intensity: grid_intensity,
           lifetime: "25 a"}
  one:
    from: stdlib:lca/avoided
    with: {lifetime_output: "2e6 kWh", own_intensity: "0.05 kg CO2e/kWh",
           grid_intensity: grid_intensity, lifetime: "20 a"}
outputs: [per_technology.avoided, per_technology.ratio, per_technology.payback_time,
          per_technology.payback_output, one.avoided, one.payback_time]
"""


def test_avoided_method_per_product_and_scalar(write_model: Callable[..., Path]) -> None:
    """Inputs bound over a dimension of the importer run the method per label; scalars once.
    Against a grid cleaner than the product, avoided is negative and payback exceeds life."""
    r = load(write_model(AVOIDED.replace("GRID_CLEAN", "20"))).run()
    grid = np.array([0.8, 0.45, 0.02])
    output, own = np.array([1.5e8, 3e4]), np.array([0.01, 0.04])
    avoided = r["per_technology.avoided"]
    assert avoided.dims == ("technology", "grid")
    expected = output[:, None] * (grid[None, :] - own[:, None]) / 1000
    np.testing.assert_allclose(avoided.array.aligned(("technology", "grid")), expected, rtol=RTOL)
    ratio = r["per_technology.ratio"].array.aligned(("technology", "grid"))
    np.testing.assert_allclose(ratio, grid[None, :] / own[:, None] - 1, rtol=RTOL)
    months = r["per_technology.payback_time"].array.aligned(("technology", "grid"))
    np.testing.assert_allclose(months, 25 * 12 * own[:, None] / grid[None, :], rtol=RTOL)
    kwh = r["per_technology.payback_output"].array.aligned(("technology", "grid"))
    np.testing.assert_allclose(kwh, output[:, None] * own[:, None] / grid[None, :], rtol=RTOL)
    assert avoided["b", "clean"] < 0 and months[1, 2] > 25 * 12
    assert r["one.avoided"].dims == ("grid",)
    np.testing.assert_allclose(r["one.avoided"].values, 2e6 * (grid - 0.05) / 1000, rtol=RTOL)
    np.testing.assert_allclose(r["one.payback_time"].values, 240 * 0.05 / grid, rtol=RTOL)


def test_avoided_method_refuses_a_zero_carbon_reference(write_model: Callable[..., Path]) -> None:
    with pytest.raises(CarbonError) as exc:
        load(write_model(AVOIDED.replace("GRID_CLEAN", "0"))).run()
    failed = [d for d in exc.value.diagnostics if d.code == "E1001"]
    assert failed and all("grid_intensity > 0" in d.message for d in failed)
    assert "grid=clean" in failed[0].notes[0]


# -- the command line ---------------------------------------------------------------------------


def test_cli_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(MODEL)]) == 0
    out = capsys.readouterr().out
    assert "avoided.avoided [t CO2e]:" in out and "assertions hold" in out
    assert main(["run", str(MODEL), "--choose", "allocation=economic"]) == 0
    capsys.readouterr()
    assert main(["run", str(MODEL), "--choose", "allocation=energy"]) == 3


@pytest.mark.parametrize(("unit", "root"), list(UNITS.items()))
def test_trace(unit: str, root: str, results: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", str(MODEL), "--lca", "lca", "--unit", unit]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"supply chain of functional unit `{unit}`:"
    assert out[2].split()[0] == root
    chosen, nodes = load(MODEL).trace("lca", unit)
    assert chosen == unit and nodes[0].product == root
    assert 1000 * nodes[0].cumulative == pytest.approx(results["footprint"][unit], rel=RTOL)
    installed = "wind_turbine" if unit == "wind_kwh" else "pv_system"
    assert any(n.depth == 1 and n.product == installed for n in nodes)
    assert math.isclose(nodes[0].share, 1.0)
