"""Inventory benchmark: 1,000 sources x 3 gases x 20 years from long-form CSV files.

``model.run()`` includes reading and validating the CSV files with carbonc's own readers
(runtime/readers.py), hashing them for provenance, evaluating the rules and checking the
assertions. ``load()`` of the same model is measured separately. Nothing asserts on time.
"""

from __future__ import annotations

import csv
from pathlib import Path

import gen
import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from carbonc.compiler import load
from carbonc.compiler.api import Model
from carbonc.runtime.results import Results

# AR5 GWP100, stdlib:gwp's default metric.
AR5 = {"CO2": 1.0, "CH4": 28.0, "N2O": 265.0}


def expected_total_mt(folder: Path) -> float:
    """The inventory total in Mt CO2e, computed from the CSV files without carbonc."""

    def rows(name: str) -> list[dict[str, str]]:
        with (folder / "data" / name).open(encoding="utf-8") as f:
            return list(csv.DictReader(line for line in f if not line.startswith("#")))

    activity: dict[str, float] = {}
    for r in rows("activity.csv"):
        activity[r["source"]] = activity.get(r["source"], 0.0) + float(r["value"])
    kg = sum(activity[r["source"]] * float(r["value"]) * AR5[r["gas"]] for r in rows("ef.csv"))
    return kg / 1e9


def check_results(model: Model, results: Results, n_sources: int, n_years: int) -> None:
    """Shapes, assertions and the total against an independent computation."""
    assert results.asserts
    assert all(a["passed"] for a in results.asserts)
    emissions = results["emissions"]
    assert sorted(emissions.values.shape) == sorted((n_sources, n_years, 3))
    assert results["total_by_year"].values.shape == (n_years,)
    assert results["total_by_gas"].values.shape == (3,)
    total = results["total"].item()
    assert total == pytest.approx(expected_total_mt(model.path.parent), rel=1e-9)


def test_generated_inventory_runs(tmp_path: Path) -> None:
    """Not a benchmark (so it runs in the plain suite): a small generated inventory is right."""
    model = load(gen.write_inventory(tmp_path, n_sources=25, n_years=4))
    check_results(model, model.run(), 25, 4)


def test_bench_inventory_load(benchmark: BenchmarkFixture, inventory_path: Path) -> None:
    benchmark.group = "inventory"
    model = benchmark.pedantic(
        load, args=(inventory_path,), rounds=10, iterations=1, warmup_rounds=1
    )
    assert len(model.dims["source"].labels) == gen.INVENTORY_SOURCES


def test_bench_inventory_run(benchmark: BenchmarkFixture, inventory_path: Path) -> None:
    benchmark.group = "inventory"
    model = load(inventory_path)
    benchmark.extra_info["cells"] = gen.INVENTORY_SOURCES * 3 * gen.INVENTORY_YEARS
    results = benchmark.pedantic(model.run, rounds=10, iterations=1, warmup_rounds=1)
    check_results(model, results, gen.INVENTORY_SOURCES, gen.INVENTORY_YEARS)
    assert np.isfinite(results["emissions"].values).all()
