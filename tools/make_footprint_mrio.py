"""Write the small synthetic MRIO of models/footprints (deterministic; run it to regenerate).

Four fictional regions, five sectors, three final-demand categories and three stressors (kt of
CO2, CH4 and N2O). The numbers are invented but keep the shape of a real MRIO: strong domestic
blocks, a few large trade flows, an emission-intensive energy sector, and households that emit
directly (F_Y) through heating and cars.

Run: .venv/bin/python tools/make_footprint_mrio.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

REGIONS = ["Ruritania", "Freedonia", "Sylvania", "Latveria"]
SECTORS = ["agriculture", "energy", "manufacturing", "transport", "services"]
CATEGORIES = ["households", "government", "investment"]
STRESSORS = ["CO2", "CH4", "N2O"]
OUT = Path(__file__).resolve().parents[1] / "models" / "footprints" / "data" / "mrio"

# kt of each stressor per MEUR of output, by sector (before a regional technology factor)
INTENSITY = {
    "CO2": [0.25, 2.8, 0.45, 0.9, 0.05],
    "CH4": [0.012, 0.006, 0.0004, 0.0002, 0.0001],
    "N2O": [0.0016, 0.00005, 0.00003, 0.00002, 0.00001],
}
TECH = [1.0, 0.6, 1.6, 2.4]  # regional emission intensity relative to the average
SIZE = [1.0, 3.0, 0.8, 0.5]  # economy size
POPULATION = [1.6e6, 3.5e6, 1.4e6, 0.9e6]


def _header(
    cols: list[tuple[str, str]], names: tuple[str, str], index: tuple[str, str]
) -> list[str]:
    return [
        ",".join([names[0], "", *(c[0] for c in cols)]),
        ",".join([names[1], "", *(c[1] for c in cols)]),
        ",".join([index[0], index[1], *([""] * len(cols))]),
    ]


def _write(
    name: str,
    rows: list[tuple[str, str]],
    cols: list[tuple[str, str]],
    values: np.ndarray,
    names: tuple[str, str],
    index: tuple[str, str],
) -> None:
    lines = _header(cols, names, index)
    for (a, b), row in zip(rows, values, strict=True):
        lines.append(",".join([a, b, *(f"{v:.6g}" for v in row)]))
    (OUT / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    """Write Z, Y, F, F_Y and population as CSV matrices."""
    rng = np.random.default_rng(20261128)
    OUT.mkdir(parents=True, exist_ok=True)
    rs = [(r, s) for r in REGIONS for s in SECTORS]
    rc = [(r, c) for r in REGIONS for c in CATEGORIES]
    n, nr, ns = len(rs), len(REGIONS), len(SECTORS)
    base = rng.uniform(20, 200, (ns, ns)) * np.array([0.6, 1.4, 1.2, 0.8, 1.0])[:, None]
    z = np.zeros((n, n))
    for i in range(nr):
        for j in range(nr):
            share = 1.0 if i == j else rng.uniform(0.02, 0.12)
            block = base * rng.uniform(0.7, 1.3, (ns, ns)) * share * np.sqrt(SIZE[i] * SIZE[j])
            z[i * ns : (i + 1) * ns, j * ns : (j + 1) * ns] = block
    y = np.zeros((n, nr * len(CATEGORIES)))
    weights = np.array([0.72, 0.18, 0.10])
    for i in range(nr):
        for j in range(nr):
            share = 1.0 if i == j else rng.uniform(0.03, 0.15)
            demand = rng.uniform(150, 900, ns) * share * np.sqrt(SIZE[i] * SIZE[j])
            y[i * ns : (i + 1) * ns, j * 3 : (j + 1) * 3] = demand[:, None] * weights[None, :]
    x = z.sum(axis=1) + y.sum(axis=1)
    f = np.array([[INTENSITY[g][k % ns] * TECH[k // ns] for k in range(n)] for g in STRESSORS]) * x
    fy = np.zeros((len(STRESSORS), nr * 3))
    for j in range(nr):  # households heat homes and drive cars
        fy[:, j * 3] = np.array([1.4e-3, 2e-6, 5e-8]) * POPULATION[j]  # kt per person
    _write("Z.csv", rs, rs, z, ("region", "sector"), ("region", "sector"))
    _write("Y.csv", rs, rc, y, ("region", "category"), ("region", "sector"))
    stress = [(g, "air") for g in STRESSORS]
    _write("F.csv", stress, rs, f, ("region", "sector"), ("stressor", "compartment"))
    _write("F_Y.csv", stress, rc, fy, ("region", "category"), ("stressor", "compartment"))
    (OUT / "population.csv").write_text(
        ",".join(["", *REGIONS])
        + "\n"
        + ",".join(["population", *(f"{p:.0f}" for p in POPULATION)])
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
