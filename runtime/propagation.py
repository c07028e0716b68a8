"""IPCC Approach 1: first-order error propagation (2006 IPCC Guidelines Vol. 1 Ch. 3, Eq. 3.1–3.2).

Each uncertain input element's 95% half-width ``U`` (the larger side, for asymmetric
distributions, as the Guidelines advise) gives σ = U / 1.96. The model runs on a design of
central differences, x ± σ for one element at a time, all as one sample axis, so the
contribution of each element is (f(x + σ) − f(x − σ)) / 2 = ∂f/∂x · σ, exact for sums and
products. The combined variance is the sum of the squared contributions; for a product this is
Eq. 3.1 and for a sum Eq. 3.2, and shared inputs (one factor used in many categories) are
counted once, correctly correlated.

Where the combined uncertainty exceeds 100%, the Guidelines' correction for large
uncertainties (Vol. 1 Ch. 3, Eq. 3.3, after Frey 2003) scales it up:
``U_corrected = U · F_C`` with ``F_C = [(−0.72 + 1.0921·U − 1.63e-3·U² + 1.11e-5·U³) / U]²``,
U in percent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from carbonc.compiler.uncertainty import Z95

from .executor import Executor
from .larray import SAMPLE, LArray
from .montecarlo import run_monte_carlo
from .sampling import Plan


def half_widths(plan: Plan) -> np.ndarray:
    """Each element's 95% half-width: the larger distance from its value to the 2.5% or 97.5%
    quantile (flat)."""
    width = 1 if plan.shared else plan.size
    lo = plan.transform(np.full((1, width), 0.025)).reshape(-1)
    hi = plan.transform(np.full((1, width), 0.975)).reshape(-1)
    return np.maximum(plan.nominal - lo, hi - plan.nominal)


class Perturbations:
    """The central-difference design: rows 2j and 2j+1 move element j up and down by its σ."""

    def __init__(self, plans: Mapping[str, Plan]):
        self.plans = dict(plans)
        self.seed = 0
        owners, where, steps = [], [], []
        for k, p in enumerate(self.plans.values()):
            sigma = half_widths(p) / Z95
            idx = np.flatnonzero(sigma > 0)
            owners.append(np.full(idx.size, k))
            where.append(idx)
            steps.append(sigma[idx])
        self.owner = np.concatenate(owners) if owners else np.empty(0, int)
        self.where = np.concatenate(where) if where else np.empty(0, int)
        self.step = np.concatenate(steps) if steps else np.empty(0)
        self.n = 2 * self.owner.size
        self.pos = 0

    def draw(self, n: int) -> dict[str, LArray]:
        """The next ``n`` rows of the design."""
        rows = np.arange(self.pos, self.pos + n)
        self.pos += n
        j, sign = rows // 2, np.where(rows % 2 == 0, 1.0, -1.0)
        out = {}
        for k, (q, p) in enumerate(self.plans.items()):
            values = np.broadcast_to(p.nominal, (n, p.size)).copy()
            mine = self.owner[j] == k
            r = np.flatnonzero(mine)
            values[r, self.where[j[r]]] += sign[r] * self.step[j[r]]
            out[q] = LArray(values.reshape(n, *p.shape), (SAMPLE, *p.u.dims))
        return out


def large_uncertainty_factor(u_percent: np.ndarray) -> np.ndarray:
    """F_C of the Guidelines' correction for combined uncertainties above 100% (Eq. 3.3)."""
    u = np.asarray(u_percent, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = ((-0.72 + 1.0921 * u - 1.63e-3 * u**2 + 1.11e-5 * u**3) / u) ** 2
    return np.where(u > 100.0, f, 1.0)


def propagate(
    make_executor: Callable[[Mapping[str, LArray]], Executor],
    base: Mapping[str, LArray],
    plans: Mapping[str, Plan],
    roots: set[str],
    names: list[str],
    values: Mapping[str, LArray],
    budget: int,
) -> dict[str, dict[str, np.ndarray]]:
    """Approach 1 statistics of every output in ``names``.

    Returns:
        Per output: ``sd``, ``u95`` (the combined 95% half-width, % of the value, corrected for
        large uncertainties), and the interval ``p2.5`` / ``p97.5`` it implies.
    """
    design = Perturbations(plans)
    out: dict[str, dict[str, np.ndarray]] = {}
    if design.n == 0:
        contributions = {q: np.zeros((1, *values[q].values.shape)) for q in names}
    else:
        mc = run_monte_carlo(
            make_executor, base, design, roots, names, design.n, budget, summary=False
        )
        contributions = {
            q: (mc.samples.arrays[q][0::2] - mc.samples.arrays[q][1::2]) / 2.0 for q in names
        }
    for q in names:
        value = np.asarray(values[q].values, dtype=float)
        sd = np.sqrt(np.sum(np.square(contributions[q]), axis=0))
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where(
                value != 0, 100.0 * Z95 * sd / np.abs(value), np.where(sd > 0, np.inf, 0.0)
            )
        u = u * large_uncertainty_factor(u)
        half = np.abs(value) * u / 100.0
        half = np.where(np.isfinite(half), half, Z95 * sd)
        out[q] = {"sd": sd, "u95": u, "p2.5": value - half, "p97.5": value + half}
    return out
