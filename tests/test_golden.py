"""Golden tests: models in, exact diagnostics or exact outputs out.

Set CARBONC_UPDATE_GOLDEN=1 to rewrite the expected files after a deliberate change, then review
the diff like any other code change.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

from carbonc.compiler.cli import main
from carbonc.compiler.paths import STDLIB_ROOT

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CARBONC_UPDATE_GOLDEN") == "1"
ERROR_CASES = sorted((GOLDEN / "errors").glob("*.carbon"))
MODEL_CASES = sorted(p for p in (GOLDEN / "models").iterdir() if p.is_dir())


def _command(model: Path) -> list[str]:
    first = model.read_text(encoding="utf-8").splitlines()[0]
    if first.startswith("# cmd:"):
        verb, *rest = shlex.split(first.removeprefix("# cmd:"))
        return [verb, model.name, *rest]
    return ["check", model.name]


def _compare(expected: Path, actual: str) -> None:
    if UPDATE:
        expected.write_text(actual, encoding="utf-8")
    assert expected.exists(), f"no snapshot {expected.name}; run with CARBONC_UPDATE_GOLDEN=1"
    assert actual == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("model", ERROR_CASES, ids=lambda p: p.stem)
def test_error_message_snapshot(
    model: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each mistake gives exactly the snapshotted, located message and a failing exit code."""
    monkeypatch.chdir(model.parent)
    code = main(_command(model))
    # A message located in the standard library names it wherever the checkout lives.
    err = capsys.readouterr().err.replace(str(STDLIB_ROOT), "stdlib")
    assert code in (1, 3), err
    assert re.match(r"^[\w./-]+:\d+:\d+: error\[E\d{4}\]: ", err), err
    assert "Traceback" not in err
    _compare(model.with_suffix(".txt"), err)


def test_error_catalog_is_broad() -> None:
    """The catalogue covers many distinct mistakes and error codes."""
    codes = set()
    for snap in (GOLDEN / "errors").glob("*.txt"):
        for line in snap.read_text(encoding="utf-8").splitlines():
            if "error[" in line:
                codes.add(line.split("error[", 1)[1].split("]", 1)[0])
    assert len(ERROR_CASES) >= 25
    assert len(codes) >= 25, sorted(codes)


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda p: p.name)
def test_model_outputs(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model's outputs, written by `carbonc run -o`, match the expected CSVs byte for byte."""
    monkeypatch.chdir(case)
    args_file = case / "args.txt"
    args = shlex.split(args_file.read_text(encoding="utf-8")) if args_file.exists() else []
    out = tmp_path / "out"
    code = main(["run", "model.carbon", "-o", str(out), *args])
    assert code == 0, capsys.readouterr().err
    expected = case / "expected"
    if UPDATE:
        expected.mkdir(exist_ok=True)
        for f in expected.glob("*.csv"):
            f.unlink()
    produced = sorted(p.name for p in out.glob("*.csv"))
    for name in produced:
        _compare(expected / name, (out / name).read_text(encoding="utf-8"))
    assert produced == sorted(p.name for p in expected.glob("*.csv"))
