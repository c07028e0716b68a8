"""The example models in models/ run clean, under every value of their choices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from carbonc import CarbonError
from carbonc.compiler import load

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.mark.parametrize("path", sorted(MODELS.rglob("*.carbon")), ids=lambda p: p.name)
def test_every_example_model_runs_with_its_assertions(path: Path) -> None:
    """Each example compiles, reads its data and passes its own assertions."""
    results = load(path).run()
    assert results.asserts and all(a["passed"] is not False for a in results.asserts)


@pytest.mark.parametrize("perspective", ["production", "consumption", "shared", "income"])
def test_footprints_conserve_the_world_total(perspective: str) -> None:
    """Switching perspective moves emissions between regions but never changes the world total."""
    model = load(MODELS / "footprints" / "footprints.carbon")
    r = model.run(choose={"perspective": perspective})
    world = r["production"].values.sum()
    assert r["responsibility"].values.sum() == pytest.approx(world, rel=1e-9)
    if perspective == "production":
        np.testing.assert_array_equal(r["responsibility"].values, r["production"].values)
    else:
        assert not np.allclose(r["responsibility"].values, r["production"].values)


def test_footprints_gwp_choice_changes_co2e() -> None:
    """The GWP set is one more choice of the same model."""
    model = load(MODELS / "footprints" / "footprints.carbon")
    ar5 = model.run()["consumption"].values
    ar6_20 = model.run(choose={"metric": "AR6_GWP20"})["consumption"].values
    assert (ar6_20 > ar5).all()  # methane weighs more over 20 years


STDLIB = Path(__file__).resolve().parents[1] / "stdlib"


@pytest.mark.parametrize(
    "path", sorted(STDLIB.rglob("*.carbon")), ids=lambda p: str(p.relative_to(STDLIB))
)
def test_every_stdlib_method_checks_on_its_own(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`carbonc check` on a method file is clean: dims only an importer declares are left open."""
    from carbonc.compiler.cli import main

    assert main(["check", str(path)]) == 0, capsys.readouterr().err


def test_footprints_rerun_on_another_mrio_folder(tmp_path: Path) -> None:
    """`--data mrio=FOLDER` reruns the same methodology on another year's table of the same shape."""
    import shutil

    source = MODELS / "footprints" / "data" / "mrio"
    other = tmp_path / "mrio2030"
    shutil.copytree(source, other)
    lines = (other / "Y.csv").read_text().splitlines()
    scaled = [*lines[:3]]
    for line in lines[3:]:
        region, sector, *values = line.split(",")
        scaled.append(",".join([region, sector, *(repr(2 * float(v)) for v in values)]))
    (other / "Y.csv").write_text("\n".join(scaled) + "\n")
    model = load(MODELS / "footprints" / "footprints.carbon")
    base = model.run()["consumption"].values
    doubled = model.run(data={"mrio": other})["consumption"].values
    # Same emissions, twice the final demand: responsibility moves, the world total does not.
    assert not np.allclose(doubled, base)
    assert doubled.sum() == pytest.approx(base.sum(), rel=1e-9)
    # a table with other regions is refused, naming the difference
    (other / "population.csv").write_text((source / "population.csv").read_text())
    z = (other / "Z.csv").read_text().replace("Latveria", "Graustark")
    (other / "Z.csv").write_text(z)
    with pytest.raises(CarbonError) as exc:
        model.run(data={"mrio": other})
    assert "other `region` labels" in exc.value.diagnostics[0].message
