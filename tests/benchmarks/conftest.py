"""Fixtures for the benchmarks: generated models, written once per session.

Run the benchmarks with ``make bench`` (``pytest tests/benchmarks --benchmark-only``). A plain
``pytest`` run passes ``--benchmark-skip`` (pyproject ``addopts``): pytest-benchmark then marks
every test using the ``benchmark`` fixture as skipped at collection, so none of the fixtures
below is set up and no large model is generated. The small sanity tests in these files, which do
not use ``benchmark``, still run there.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# `gen` sits next to this file; tests/ is not a package, so make it importable by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import gen


@pytest.fixture(scope="session")
def compile_model_path(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Path]:
    """``compile_model_path(n)``: the generated ``n``-rule model (written on first request)."""
    folder = tmp_path_factory.mktemp("bench_compile")
    written: dict[int, Path] = {}

    def get(n_rules: int) -> Path:
        if n_rules not in written:
            written[n_rules] = gen.write_compile_model(folder, n_rules)
        return written[n_rules]

    return get


@pytest.fixture(scope="session")
def inventory_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated 1,000 sources x 3 gases x 20 years inventory and its CSV files."""
    folder = tmp_path_factory.mktemp("bench_inventory")
    return gen.write_inventory(folder, gen.INVENTORY_SOURCES, gen.INVENTORY_YEARS)
