"""Generators of synthetic ``.carbon`` models for the benchmarks.

Standard library only and nothing runs at import time, so importing this module (as plain
``pytest --benchmark-skip`` does while collecting) costs next to nothing. Output is
deterministic: the same arguments always write the same files.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

# Sizes the benchmarks use (tests/benchmarks/test_bench_*.py).
COMPILE_SIZES = (1000, 2000, 5000)
INVENTORY_SOURCES = 1000
INVENTORY_YEARS = 20

GASES = ("CO2", "CH4", "N2O")
# Made-up but plausible magnitudes: kg of each gas per TJ of fuel burnt.
EF_KG_PER_TJ = {"CO2": (56_000.0, 101_000.0), "CH4": (1.0, 10.0), "N2O": (0.1, 4.0)}


def _labels(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:04d}" for i in range(n)]


def _flow(values: list[object]) -> str:
    """A YAML flow sequence (JSON is valid YAML flow syntax)."""
    return json.dumps(values)


# -- the compile benchmark -------------------------------------------------------------------
#
# Each rule has one of four "kinds" (dims and unit); rule i picks a kind and a template for it,
# then fills the template with earlier rules (or data entries) of the kinds it needs:
#
#   energy  [source]       TJ
#   mass    [source, gas]  t
#   co2e    [source]       t CO2e
#   total   []             kt CO2e
#
# One reference is drawn from the most recent rules of its kind (long dependency chains, as in
# a real inventory that builds each step on the last), the other from anywhere before.

_TEMPLATES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "energy": [
        ("{0} * 1.01 + {1}", ("energy", "energy")),
        ("{0} * share", ("energy",)),
        ("({0} + {1}) / 2", ("energy", "energy")),
        ("{0} * 0.97 + 3 TJ", ("energy",)),
        ("{0} * 1000 GJ/TJ in TJ", ("energy",)),
    ],
    "mass": [
        ("{0} * ef in t", ("energy",)),
        ("{0} * 0.99 + {1} * 2 t/TJ", ("mass", "energy")),
        ("{0} + {1} * ef", ("mass", "energy")),
        ("{0} * oxidised", ("mass",)),
        ("({0} - {1} * 0.5) in t", ("mass", "mass")),
    ],
    "co2e": [
        ("sum({0} * gwp, over=gas) in t CO2e", ("mass",)),
        ("{0} + {1} * 0.5", ("co2e", "co2e")),
        ("{0} * 1.02 + sum({1} * gwp, over=gas)", ("co2e", "mass")),
    ],
    "total": [
        ("sum({0}) in kt CO2e", ("co2e",)),
        ("{0} + sum({1}) in kt CO2e", ("total", "co2e")),
    ],
}
# How often each kind is picked: mostly per-source and per-gas arrays, a few totals.
_KIND_WEIGHTS = {"energy": 4, "mass": 4, "co2e": 3, "total": 1}
# Data entries usable wherever a rule of that kind is.
_SEEDS = {"energy": ["activity"], "mass": ["base_mass"], "co2e": [], "total": []}


def compile_model_text(n_rules: int, n_sources: int = 50, seed: int = 0) -> str:
    """The text of a model with ``n_rules`` rules (named ``r0000`` …) over inline data.

    Every rule is an output (the model has no ``outputs:`` list), so a compiled model has
    exactly ``n_rules`` outputs.
    """
    rng = random.Random(seed)
    sources = _labels("s", n_sources)
    activity = [round(rng.uniform(100.0, 50_000.0), 1) for _ in sources]
    ef = [[round(rng.uniform(*EF_KG_PER_TJ[g]), 3) for g in GASES] for _ in sources]
    share = [round(rng.uniform(0.2, 1.0), 3) for _ in sources]
    base_mass = [
        [round(a * e / 1000.0, 3) for e in row] for a, row in zip(activity, ef, strict=True)
    ]

    lines = [
        "carbon: 1",
        f"model: bench-compile-{n_rules}",
        "description: synthetic model for the compile benchmark (tests/benchmarks/gen.py)",
        "",
        "dimensions:",
        f"  source: {_flow(sources)}",
        f"  gas: {_flow(list(GASES))}",
        "",
        "data:",
        f"  activity: {{dims: [source], unit: TJ, values: {_flow(activity)}}}",
        f"  ef: {{dims: [source, gas], unit: kg/TJ, values: {_flow(ef)}}}",
        f"  share: {{dims: [source], unit: '1', values: {_flow(share)}}}",
        f"  base_mass: {{dims: [source, gas], unit: t, values: {_flow(base_mass)}}}",
        "  gwp: {dims: [gas], unit: t CO2e/t, values: [1, 28, 265]}",
        "",
        "parameters:",
        "  oxidised: 0.99",
        "",
        "rules:",
    ]
    by_kind: dict[str, list[str]] = {k: list(v) for k, v in _SEEDS.items()}
    kinds = list(_KIND_WEIGHTS)
    weights = list(_KIND_WEIGHTS.values())
    for i in range(n_rules):
        name = f"r{i:04d}"
        while True:
            kind = rng.choices(kinds, weights)[0]
            options = [t for t in _TEMPLATES[kind] if all(by_kind[need] for need in t[1])]
            if options:
                break
        template, needs = rng.choice(options)
        refs = []
        for j, need in enumerate(needs):
            pool = by_kind[need]
            refs.append(rng.choice(pool[-20:]) if j == 0 else rng.choice(pool))
        lines.append(f'  {name}: "{template.format(*refs)}"')
        by_kind[kind].append(name)
    last_total = by_kind["total"][-1] if by_kind["total"] else None
    if last_total is not None:
        lines += ["", "assert:", f'  - "{last_total} == {last_total} within 1e-9"']
    return "\n".join(lines) + "\n"


def write_compile_model(folder: Path, n_rules: int, n_sources: int = 50, seed: int = 0) -> Path:
    """Write :func:`compile_model_text` to ``folder/bench_<n_rules>.carbon``; returns the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench_{n_rules}.carbon"
    path.write_text(compile_model_text(n_rules, n_sources, seed), encoding="utf-8")
    return path


# -- the inventory benchmark -----------------------------------------------------------------

INVENTORY_TEXT = """\
carbon: 1
model: bench-inventory
description: >
  Synthetic inventory for the run benchmark (tests/benchmarks/gen.py): {n_sources} sources x
  3 gases x {n_years} years, data in long-form CSV files, GWPs from stdlib:gwp.

import:
  gwp: stdlib:gwp

dimensions:
  source: {{csv: data/activity.csv, column: source}}
  gas: [CO2, CH4, N2O]
  year: {years}

data:
  activity:
    csv: data/activity.csv
    dims: [source, year]
    unit: TJ
    description: fuel burnt, by source and year
  ef:
    csv: data/ef.csv
    dims: [source, gas]
    unit: kg/TJ
    description: emission factor of each source for each gas

rules:
  emissions:
    expr: "activity * ef"
    unit: t
    description: emissions of each gas, by source and year
  co2e:
    expr: "emissions * gwp.factor"
    unit: kt CO2e
  co2e_by_source:
    expr: "sum(co2e, over=(gas, year))"
    unit: kt CO2e
  total_by_year:
    expr: "sum(co2e, over=(source, gas))"
    unit: Mt CO2e
  total_by_gas:
    expr: "sum(co2e, over=(source, year))"
    unit: Mt CO2e
  total:
    expr: "sum(total_by_year)"
    unit: Mt CO2e

assert:
  - expr: "sum(total_by_gas) == total within 1e-9"
    message: the totals by gas and by year must agree
  - expr: "total > 0 Mt CO2e"

outputs: [total, total_by_year, total_by_gas, co2e_by_source, emissions]
"""


def write_inventory(
    folder: Path, n_sources: int = 1000, n_years: int = 20, first_year: int = 2001, seed: int = 0
) -> Path:
    """Write the inventory model and its long-form CSV files into ``folder``; returns the model.

    ``data/activity.csv`` has columns ``source,year,value`` (``n_sources * n_years`` rows) and
    ``data/ef.csv`` has ``source,gas,value`` (``n_sources * 3`` rows).
    """
    rng = random.Random(seed)
    sources = _labels("src", n_sources)
    years = list(range(first_year, first_year + n_years))
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)

    rows = ["# Synthetic activity data, TJ (tests/benchmarks/gen.py).", "source,year,value"]
    for s in sources:
        level = rng.uniform(100.0, 50_000.0)
        for y in years:
            level *= rng.uniform(0.95, 1.05)
            rows.append(f"{s},{y},{level:.2f}")
    (data / "activity.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    rows = ["# Synthetic emission factors, kg/TJ (tests/benchmarks/gen.py).", "source,gas,value"]
    for s in sources:
        for g in GASES:
            rows.append(f"{s},{g},{rng.uniform(*EF_KG_PER_TJ[g]):.4f}")
    (data / "ef.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    path = folder / "inventory.carbon"
    path.write_text(
        INVENTORY_TEXT.format(n_sources=n_sources, n_years=n_years, years=_flow(years)),
        encoding="utf-8",
    )
    return path
