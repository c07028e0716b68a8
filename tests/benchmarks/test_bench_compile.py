"""Compile benchmark: ``load(path)`` of a generated model of N rules (N = 1000, 2000, 5000).

``load`` is the whole compile: read, YAML, schema, formula parsing, name resolution, dimension
and unit checking, lowering to IR. The issue's target is 5,000 rules "well under a second",
scaling about linearly; compare the three sizes in BENCHMARKS.md. Nothing here asserts on time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gen
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from carbonc.compiler import load
from carbonc.compiler.api import Model


def check_compiled(model: Model, n_rules: int) -> None:
    """The model really holds ``n_rules`` checked rules, all reported as outputs."""
    outputs = model.outputs
    assert len(outputs) == n_rules
    assert outputs[0].endswith("r0000")
    assert outputs[-1].endswith(f"r{n_rules - 1:04d}")
    assert all(q in model.checked.ir for q in outputs)


def test_generated_model_compiles_and_runs(tmp_path: Path) -> None:
    """Not a benchmark (so it runs in the plain suite): a small generated model is valid."""
    n = 60
    model = load(gen.write_compile_model(tmp_path, n))
    assert not model.warnings
    check_compiled(model, n)
    results = model.run()
    assert results.asserts
    assert all(a["passed"] for a in results.asserts)


@pytest.mark.parametrize("n_rules", gen.COMPILE_SIZES)
def test_bench_compile(
    benchmark: BenchmarkFixture, compile_model_path: Callable[[int], Path], n_rules: int
) -> None:
    path = compile_model_path(n_rules)
    benchmark.group = "compile"
    benchmark.extra_info["rules"] = n_rules
    # The warm-up round pays the once-per-process costs (grammar construction, unit registry),
    # so the timed rounds measure the compile itself.
    model = benchmark.pedantic(load, args=(path,), rounds=5, iterations=1, warmup_rounds=1)
    check_compiled(model, n_rules)
