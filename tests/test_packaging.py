"""The wheel installs `carbonc.*` only, with the stdlib's .carbon and CSV files as package data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_contents(tmp_path: Path) -> None:
    """A built wheel holds the subpackages under `carbonc/` and the stdlib data, nothing generic."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("carbonc-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"carbonc", next(t for t in tops if t.endswith(".dist-info"))}
    for required in (
        "carbonc/dsl/grammar.lark",
        "carbonc/compiler/cli.py",
        "carbonc/runtime/executor.py",
        "carbonc/stdlib/gwp.carbon",
        "carbonc/stdlib/gwp/gwp.csv",
        "carbonc/stdlib/ipcc2006/energy/stationary_combustion.carbon",
        "carbonc/stdlib/ipcc2006/energy/default_ef.csv",
    ):
        assert required in names, required
