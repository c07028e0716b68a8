"""Sensitivity analysis: which inputs drive an output's uncertainty.

Two methods, both running the model once per chunk on a design of uniforms (the inputs'
distributions are inverse CDFs, so any design in the unit cube serves):

- ``rank`` (the cheap default): Spearman rank correlation between each input value and the
  output over a Monte Carlo sample, with ρ² normalised to a share of the explained variance,
  as spreadsheet Monte Carlo tools report it.
- ``sobol``: Sobol first-order and total indices from a Saltelli design (SALib), one factor per
  input (an input with many values is one group of factors).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .larray import LArray
from .sampling import TINY, Plan, Sampler


@dataclass(frozen=True)
class Factor:
    """One ranked input (or one element of an input), with its indices."""

    name: str
    values: dict[str, float]


class Replay:
    """A design of given uniforms, served chunk by chunk through the sampler's transforms."""

    def __init__(self, sampler: Sampler, uniforms: Mapping[str, np.ndarray]):
        self.sampler = sampler
        self.plans: dict[str, Plan] = sampler.plans
        self.seed = sampler.seed
        self.uniforms = uniforms
        self.pos = 0

    def draw(self, n: int) -> dict[str, LArray]:
        """The next ``n`` rows of the design as input values."""
        part = {s: u[self.pos : self.pos + n] for s, u in self.uniforms.items()}
        self.pos += n
        return self.sampler.values(part)


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks along axis 0 (ties are measure-zero for continuous draws)."""
    order = np.argsort(x, axis=0, kind="stable")
    ranks = np.empty_like(order, dtype=float)
    np.put_along_axis(ranks, order, np.arange(x.shape[0], dtype=float)[:, None], axis=0)
    return ranks


def rank_correlations(
    uniforms: Mapping[str, np.ndarray],
    y: np.ndarray,
    label: Callable[[str, int], str],
    varies: Mapping[str, np.ndarray],
) -> list[Factor]:
    """Spearman ρ of every input element that varies with ``y``, largest |ρ| first.

    The inputs' transforms are monotone, so ranking their uniforms ranks their values.
    ``varies`` marks, per stream, the elements whose distribution has any spread.
    """
    ry = _ranks(y.reshape(-1, 1))[:, 0]
    ry = (ry - ry.mean()) / (ry.std() or 1.0)
    rows: list[tuple[str, float]] = []
    for stream, u in uniforms.items():
        r = _ranks(u)
        r = (r - r.mean(axis=0)) / np.where(r.std(axis=0) > 0, r.std(axis=0), 1.0)
        rho = (r * ry[:, None]).mean(axis=0)
        rows += [(label(stream, int(j)), float(rho[j])) for j in np.flatnonzero(varies[stream])]
    total = sum(r * r for _, r in rows) or 1.0
    rows.sort(key=lambda t: -abs(t[1]))
    return [Factor(n, {"spearman": r, "share": r * r / total}) for n, r in rows]


def saltelli(
    widths: Mapping[str, int], n: int, seed: int
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """SALib's Saltelli/Sobol design over the streams: (problem, uniforms per stream)."""
    from SALib.sample import sobol as sobol_sample

    names = [f"{s}#{j}" for s, w in widths.items() for j in range(w)]
    groups = [s for s, w in widths.items() for _ in range(w)]
    problem: dict[str, Any] = {
        "num_vars": len(names),
        "names": names,
        "bounds": [[0.0, 1.0]] * len(names),
    }
    if len(set(groups)) != len(groups):
        problem["groups"] = groups
    x = sobol_sample.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    x = np.clip(x, TINY, 1.0 - TINY)
    out, col = {}, 0
    for s, w in widths.items():
        out[s] = np.ascontiguousarray(x[:, col : col + w])
        col += w
    return problem, out


def sobol_indices(
    problem: dict[str, Any], y: np.ndarray, seed: int, label: Callable[[str], str]
) -> list[Factor]:
    """First-order and total Sobol indices per input, largest total index first."""
    from SALib.analyze import sobol

    si = sobol.analyze(problem, y.reshape(-1), calc_second_order=False, seed=seed)
    groups = list(
        dict.fromkeys(problem.get("groups") or [n.split("#")[0] for n in problem["names"]])
    )
    rows = [
        Factor(
            label(g),
            {
                "S1": float(si["S1"][i]),
                "S1_conf": float(si["S1_conf"][i]),
                "ST": float(si["ST"][i]),
                "ST_conf": float(si["ST_conf"][i]),
            },
        )
        for i, g in enumerate(groups)
    ]
    rows.sort(key=lambda f: -f.values["ST"])
    return rows
