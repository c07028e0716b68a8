"""The panoramic model: every perspective per region, its identities, and one-flag metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from carbonc.compiler import load
from carbonc.compiler.api import Model
from carbonc.compiler.cli import main

PANORAMA = Path(__file__).resolve().parents[1] / "models" / "panorama" / "panorama.carbon"
REGIONS = ["Ruritania", "Freedonia", "Sylvania", "Latveria"]


@pytest.fixture(scope="module")
def model() -> Model:
    return load(PANORAMA)


def test_identities_hold_and_headline_comes_first(model: Model) -> None:
    r = model.run()
    assert all(a["passed"] for a in r.asserts if a["passed"] is not None)
    assert sum(1 for a in r.asserts if a["passed"]) >= 4
    assert next(iter(r)) == "panorama"
    p = r["panorama"]
    assert p.labels["region"] == tuple(REGIONS)
    # consumption = territorial + net imports, region by region; the world totals agree
    for region in REGIONS:
        assert p[region, "consumption"] == pytest.approx(
            p[region, "mrio_territorial"] + p[region, "net_imports"], rel=1e-12
        )
    world_c = sum(p[g, "consumption"] for g in REGIONS)
    world_p = sum(p[g, "mrio_territorial"] for g in REGIONS)
    assert world_c == pytest.approx(world_p, rel=1e-12)
    diff = r["consumption_vs_production"]
    for region in REGIONS:
        expected = 100 * (p[region, "consumption"] / p[region, "mrio_territorial"] - 1)
        assert diff[region] == pytest.approx(expected, rel=1e-12)


def test_inventory_is_the_methods_summed_up_the_tree(model: Model) -> None:
    """Independent check of the category tree: each parent is the sum of its leaves."""
    r = model.run(outputs=["inventory_co2e", "sc.reported", "gwp.factor"])
    inv = r["inventory_co2e"]
    leaves = ["1.A.1", "1.A.2", "1.A.3.b", "1.A.4.a", "1.A.4.b", "2.A.1", "3.B.1.a"]
    for region in REGIONS:
        leaf = {c: inv[c, region] for c in leaves}
        assert inv["1.A", region] == pytest.approx(
            sum(v for c, v in leaf.items() if c[:3] == "1.A")
        )
        assert inv["1.A.4", region] == pytest.approx(leaf["1.A.4.a"] + leaf["1.A.4.b"])
        assert inv["0", region] == pytest.approx(sum(leaf.values()), rel=1e-12)
        assert inv["3", region] < 0  # managed forests are a net sink here
    # 1.A.1 is stationary combustion in energy industries, converted with the run's GWPs
    rep = r["sc.reported"].array
    gwp = r["gwp.factor"]
    order = ("region", "source", "fuel", "gas")
    e = rep.transposed(order).values
    i = r["sc.reported"].labels["source"].index("energy_industries")
    gases = r["sc.reported"].labels["gas"]
    factors = np.array([gwp[g] for g in gases])
    by_region = (e[:, i].sum(axis=1) * factors).sum(axis=1) / 1e6  # t -> Mt
    for k, region in enumerate(r["sc.reported"].labels["region"]):
        assert inv["1.A.1", region] == pytest.approx(by_region[k], rel=1e-12)


def test_natural_fluxes_stay_out_of_the_inventory(model: Model) -> None:
    r = model.run()
    p = r["panorama"]
    inv = r["inventory_co2e"]
    for region in REGIONS:
        assert p[region, "ipcc_inventory"] == pytest.approx(inv["0", region], rel=1e-12)
        assert p[region, "natural"] < 0  # the unmanaged forests' sink dominates here


def test_switching_the_metric_is_one_choice(model: Model) -> None:
    ar5 = model.run()["panorama"]
    gwp20 = model.run(choose={"metric": "AR6_GWP20"})["panorama"]
    # CH4 weighs about three times more over 20 years: every view with methane grows
    for region in REGIONS:
        assert gwp20[region, "ipcc_without_lulucf"] > ar5[region, "ipcc_without_lulucf"]
        assert gwp20[region, "consumption"] > ar5[region, "consumption"]


def test_cli_prints_the_panorama_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(PANORAMA)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "panorama [Mt CO2e]:"
    assert out[1].split()[:3] == ["region", "\\", "view"]
    assert "ipcc_inventory" in out[1] and "consumption" in out[1] and "natural" in out[1]
