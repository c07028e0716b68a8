"""The `carbonc` command: exit codes, outputs, provenance, atomic writes, graph and schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from carbonc.compiler.cli import main

REPO = Path(__file__).resolve().parents[1]
SHOWCASE = REPO / "models" / "ruritania" / "inventory.carbon"


def test_check_is_silent_on_a_clean_model(capsys: pytest.CaptureFixture[str]) -> None:
    """`carbonc check` prints nothing and exits 0 when the model and its data are clean."""
    assert main(["check", str(SHOWCASE)]) == 0
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_check_reports_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--json` gives the same diagnostics in machine-readable form."""
    path = tmp_path / "m.carbon"
    path.write_text('carbon: 1\nmodel: x\nrules:\n  a: "1 TJ + 1 t"\n')
    assert main(["check", str(path), "--json"]) == 1
    doc = json.loads(capsys.readouterr().err)
    (d,) = doc["diagnostics"]
    assert d["code"] == "E0501" and d["line"] == 4 and d["column"] == 14 and "help" in d


def test_run_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    """Without `-o`, a readable table goes to stdout."""
    assert main(["run", str(SHOWCASE)]) == 0
    out = capsys.readouterr().out
    assert "total = 21.6537 Mt CO2e" in out
    assert "energy_industries" in out and "4 of 4 assertions hold" in out


def test_run_writes_tidy_csv_and_provenance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`-o DIR` writes one tidy CSV per output and provenance.json with hashes and choices."""
    out = tmp_path / "out"
    assert main(["run", str(SHOWCASE), "--choose", "metric=AR6_GWP100", "-o", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "total.csv",
            "co2e_by_source.csv",
            "co2e_by_gas.csv",
            "source_share.csv",
            "biomass_co2_memo.csv",
            "provenance.json",
        ]
    )
    lines = (out / "co2e_by_gas.csv").read_text().splitlines()
    assert (
        lines[0] == "gas,value,unit"
        and lines[1].startswith("CO2,")
        and lines[1].endswith(",kt CO2e")
    )
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["choices"]["gwp.metric"] == "AR6_GWP100"
    assert set(prov["model_files"]) >= {"inventory.carbon", "stdlib:gwp.carbon"}
    assert "data/fuel_use_2022.csv" in prov["data_files"]
    assert all(len(h) == 64 for h in prov["data_files"].values())
    assert prov["asserts"] and all(a["passed"] is not False for a in prov["asserts"])


def test_same_run_twice_gives_identical_bytes(tmp_path: Path) -> None:
    """Reproducibility: the same inputs and choices give byte-identical output files."""
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["run", str(SHOWCASE), "-o", str(a)]) == 0
    assert main(["run", str(SHOWCASE), "-o", str(b)]) == 0
    for f in a.iterdir():
        assert f.read_bytes() == (b / f.name).read_bytes(), f.name


def test_rerun_on_other_data_and_tier2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--data` reruns the same methodology on this year's data; the Tier 2 model records its reason."""
    data = REPO / "models" / "ruritania" / "data" / "fuel_use_2023.csv"
    assert main(["run", str(SHOWCASE), "--data", f"fuel_use={data}"]) == 0
    assert "total = 20.3458 Mt CO2e" in capsys.readouterr().out
    out = tmp_path / "t2"
    assert main(["run", str(SHOWCASE.with_name("inventory-tier2.carbon")), "-o", str(out)]) == 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["overrides"][0]["target"] == "sc.ef_co2"
    assert "Annex 3" in prov["overrides"][0]["because"]


def test_failed_assertion_exits_3_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed assertion is reported against its line, and no output folder appears."""
    path = tmp_path / "m.carbon"
    path.write_text('carbon: 1\nmodel: x\nrules:\n  a: "2 t"\nassert:\n  - "a < 1 t"\n')
    out = tmp_path / "out"
    assert main(["run", str(path), "-o", str(out)]) == 3
    assert "m.carbon:6:6: error[E1001]: assertion failed: a < 1 t" in capsys.readouterr().err
    assert not out.exists()


def test_output_is_replaced_atomically_and_foreign_folders_are_kept(tmp_path: Path) -> None:
    """An earlier output folder is replaced whole; a folder that is not an output is refused."""
    out = tmp_path / "out"
    assert main(["run", str(SHOWCASE), "-o", str(out)]) == 0
    (out / "stale.csv").write_text("old")
    assert main(["run", str(SHOWCASE), "-o", str(out)]) == 0
    assert not (out / "stale.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("precious")
    assert main(["run", str(SHOWCASE), "-o", str(foreign)]) == 4
    assert (foreign / "thesis.txt").read_text() == "precious"


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--format json` prints (or writes) every output with its dims and unit."""
    assert main(["run", str(SHOWCASE), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["outputs"]["total"]["unit"] == "Mt CO2e"
    assert doc["outputs"]["co2e_by_gas"]["dims"] == ["gas"]
    assert main(["run", str(SHOWCASE), "--format", "json", "-o", str(tmp_path / "j")]) == 0
    assert (
        json.loads((tmp_path / "j" / "results.json").read_text())["total"]["rows"][0]["value"] > 0
    )


def test_graph_dot_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`carbonc graph` draws the computation graph as DOT, or JSON with nodes and edges."""
    assert main(["graph", str(SHOWCASE)]) == 0
    dot = capsys.readouterr().out
    assert (
        dot.startswith('digraph "ruritania-energy-2022"')
        and '"sc.emissions" -> "sc.biomass_co2"' in dot
    )
    assert main(["graph", str(SHOWCASE), "--json"]) == 0
    g = json.loads(capsys.readouterr().out)
    nodes = {n["id"]: n for n in g["nodes"]}
    assert nodes["total"]["unit"] == "Mt CO2e" and nodes["total"]["dims"] == []
    assert nodes["fuel_use"]["kind"] == "data"
    assert ["sc.emissions", "sc.biomass_co2"] in g["edges"]


def test_schema_is_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    """`carbonc schema` prints a JSON Schema an editor can use."""
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"carbon", "model", "rules", "import", "assert", "override"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("argv", "code", "text"),
    [
        (["run", str(SHOWCASE), "--choose", "metric"], 2, "--choose expects NAME=VALUE"),
        (["run", str(SHOWCASE), "--choose", "metric=AR9"], 1, "not a value of choice"),
        (["run", str(SHOWCASE), "--data", "nothing=x.csv"], 1, "E0903"),
        (["run", str(SHOWCASE), "--data", "fuel_use=/nonexistent.csv"], 1, "E0801"),
        (["check", "missing.carbon"], 1, "E0701"),
        (["frobnicate"], 2, "invalid choice"),
        ([], 2, "usage"),
    ],
)
def test_usage_and_input_errors(
    argv: list[str], code: int, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Wrong command lines exit 2; wrong choices or data exit 1; never a traceback."""
    assert main(argv) == code
    captured = capsys.readouterr()
    both = captured.out + captured.err
    assert text in both and "Traceback" not in both


def test_version_help_and_entry_point() -> None:
    """The installed `carbonc` command answers --version and documents exit codes in --help."""
    exe = Path(sys.executable).with_name("carbonc")
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("carbonc ")
    helptext = subprocess.run(
        [str(exe), "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "exit codes:" in helptext and "70" in helptext
    run = subprocess.run([str(exe), "check", str(SHOWCASE)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout == "" and run.stderr == ""
