"""bonsai-ipcc's cement Tier 1 in Monte Carlo mode: a peer for an uncertainty benchmark.

What runs
    ``bonsai_ipcc.industry.mineral.sequence.tier1_co2_cement(year=2006, region="World",
    cement_type="portland", uncertainty="monte_carlo")`` from bonsai-ipcc 0.3.2 (MIT), a test-only
    peer that carbonc never imports. The sequence evaluates 2006 IPCC Guidelines Vol. 3 Ch. 2
    Eq. 2.4 and Eq. 2.1 on sampled inputs:

        ef_clc = cao_in_clinker / 0.5603 * 0.43971 * ckd_correc_fact
        co2    = (m_c * c_cl - im_cl + ex_cl) * ef_clc                     [t]

    and :func:`run_bonsai_cement_mc` returns ``co2_emissions.value``, one sample per draw.

Inputs
    The activity data are case C1 of ``../shared/data/reference_cases`` (1 Mt of Portland
    cement, no clinker trade). bonsai ships its activity tables ``m_c``, ``im_cl`` and ``ex_cl``
    as empty placeholders (a single ``dummy`` row), so they are replaced in memory, for the
    duration of one call, by tables whose 2.5th and 97.5th percentiles equal the value: bonsai
    then treats them as constants (``m_c`` = 1e6 t, ``im_cl`` = ``ex_cl`` = 0 t). The three
    uncertain parameters are bonsai's own default rows for 2006 / World. bonsai reads the ``min``
    and ``max`` rows as the 2.5th and 97.5th percentiles. It centres every distribution on
    (min + max) / 2, not on the ``def`` row, and picks the distribution's family from the
    theoretical bounds ``abs_min``/``abs_max`` (``distribution="check"``):

    ================  ==================  ==========================================================
    input             bonsai row values   distribution sampled
    ================  ==================  ==========================================================
    cao_in_clinker    def 0.65,           normal, mean 0.65, sd (0.689 - 0.611) / 3.92 = 0.019898
                      0.611..0.689, [0,1]  (relative sd <= 0.3 of the distance to either bound)
    ckd_correc_fact   def 1.02,           lognormal, mu = (ln 0.714 + ln 1.326) / 2 = -0.0273527,
                      0.714..1.326,        sigma = (ln 1.326 - mu) / 1.96 = 0.157918 (median 0.97302,
                      [0, inf)             mean 0.98523, sd 0.15656: *below* the default 1.02)
    c_cl (portland)   def 0.95,           truncated normal on [0, 1], loc 0.9526765, scale
                      0.903..0.998, [0,1]  0.0263929 (mean 0.9505 and sd 0.0242347 of the percentiles,
                                           adjusted by bonsai's ``two_side_trunc`` after Rodrigues
                                           2015 so that the truncated distribution keeps them;
                                           actual mean 0.950487, sd 0.024252)
    m_c, im_cl, ex_cl  pinned (above)     constants 1e6 t, 0 t, 0 t
    ================  ==================  ==========================================================

    The inputs are independent. :func:`input_distributions` recomputes these parameters from
    bonsai's tables at run time (nothing is copied here). The expected CO2 is the product of
    the inputs' means, 1e6 x 0.950487 x 0.65 / 0.5603 x 0.43971 x 0.985227 = 477.68 kt (sd about
    78 kt): 3.4 % below the deterministic 494.29 kt of case C1, mostly because the CKD factor's
    lognormal is centred on the geometric mean of its percentiles, not on 1.02.

Sample size
    bonsai hard-codes ``size=1000`` in ``Sequence._read_parameter_uncertainty``, and none of
    its functions takes a sample size. By default this module wraps
    ``bonsai_ipcc.uncertainties.monte_carlo`` for the duration of the call so that it draws
    ``n`` values, and so runs the sequence once. With ``batched=True`` it runs the unmodified
    sequence ceil(n / 1000) times and concatenates the results.

Reproducibility
    bonsai takes no seed. It draws from numpy's legacy global ``RandomState``:
    ``np.random.normal``/``lognormal``, and ``scipy.stats.truncnorm.rvs`` with
    ``random_state=None``. Two runs after the same ``np.random.seed(s)`` give identical arrays;
    without seeding, every run differs. With ``seed=`` this function seeds the global state,
    runs, and then restores the state it found, so that callers' random streams are untouched.

Side effects contained
    Importing ``bonsai_ipcc`` calls ``logging.basicConfig(level=INFO)`` on the root logger, and
    each MC draw logs at INFO level. The import here undoes that (root handlers and level are
    restored), so bonsai's INFO messages stay silent.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

YEAR = 2006
REGION = "World"
CEMENT_TYPE = "portland"
CEMENT_PRODUCTION_T = 1.0e6  # case C1: 1 Mt of Portland cement
CLINKER_IMPORTS_T = 0.0
CLINKER_EXPORTS_T = 0.0
BONSAI_BATCH = 1000  # the sample size bonsai hard-codes


def _bonsai() -> tuple[ModuleType, ModuleType]:
    """``bonsai_ipcc.industry.mineral`` and ``bonsai_ipcc.uncertainties``, imported quietly."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        from bonsai_ipcc import uncertainties
        from bonsai_ipcc.industry import mineral
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    return mineral, uncertainties


def _pinned(value: float, unit: str, names: list[str]) -> pd.DataFrame:
    """A bonsai parameter table for one (year, region, cement type) whose value is certain.

    ``names`` are the index levels of the table it replaces (the cement-type level is called
    ``cement_type`` in bonsai-ipcc 0.3 and ``product`` in later releases).
    """
    rows = [("def", value), ("min", value), ("max", value), ("abs_min", 0.0), ("abs_max", np.inf)]
    index = pd.MultiIndex.from_tuples(
        [(YEAR, REGION, CEMENT_TYPE, prop) for prop, _ in rows], names=names
    )
    return pd.DataFrame({"value": [v for _, v in rows], "unit": unit}, index=index)


@contextlib.contextmanager
def _patched(mineral: ModuleType, unc: ModuleType, size: int | None) -> Iterator[None]:
    """Pin the activity tables (and optionally bonsai's sample size) for one run."""
    par = mineral.parameter
    values = {"m_c": CEMENT_PRODUCTION_T, "im_cl": CLINKER_IMPORTS_T, "ex_cl": CLINKER_EXPORTS_T}
    tables = {
        name: _pinned(value, "t/yr", list(getattr(par, name).index.names))
        for name, value in values.items()
    }
    saved = {name: getattr(par, name) for name in tables}
    original = unc.monte_carlo

    def sized(*args: Any, **kwargs: Any) -> Any:
        kwargs["size"] = size
        return original(*args, **kwargs)

    try:
        for name, table in tables.items():
            setattr(par, name, table)
        if size is not None:
            unc.monte_carlo = sized
        yield
    finally:
        unc.monte_carlo = original
        for name, table in saved.items():
            setattr(par, name, table)


def _run_once(mineral: ModuleType) -> np.ndarray:
    sequence = mineral.sequence.tier1_co2_cement
    # the cement-type argument and the result were renamed after bonsai-ipcc 0.3
    kind = "cement_type" if "cement_type" in inspect.signature(sequence).parameters else "product"
    steps = sequence(year=YEAR, region=REGION, uncertainty="monte_carlo", **{kind: CEMENT_TYPE})
    result = steps.co2_emissions if hasattr(steps, "co2_emissions") else steps.co2_emissions_tier1_
    return np.asarray(result.value, dtype=float)


def run_bonsai_cement_mc(n: int, *, seed: int | None = None, batched: bool = False) -> np.ndarray:
    """``n`` Monte Carlo samples of cement Tier 1 CO2 (t) from bonsai-ipcc, for case C1.

    ``seed`` seeds numpy's global random state for this call only (restored afterwards); without
    it the result differs from run to run. ``batched=True`` leaves bonsai's sample size of 1,000
    alone and calls its sequence ceil(n / 1000) times instead of once.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    mineral, unc = _bonsai()
    state = np.random.get_state() if seed is not None else None
    try:
        if seed is not None:
            np.random.seed(seed)
        if batched:
            with _patched(mineral, unc, size=None):
                parts = [_run_once(mineral) for _ in range(math.ceil(n / BONSAI_BATCH))]
            return np.concatenate(parts)[:n]
        with _patched(mineral, unc, size=n):
            return _run_once(mineral)
    finally:
        if state is not None:
            np.random.set_state(state)


def input_distributions() -> dict[str, dict[str, float | str]]:
    """The distribution bonsai samples for each cement input, recomputed from its tables.

    Follows the branches bonsai's ``monte_carlo(distribution="check")`` takes for these rows
    (normal, lognormal, Rodrigues-adjusted truncated normal); see the module docstring.
    """
    mineral, unc = _bonsai()
    par = mineral.parameter

    def row(table: str, *coords: object) -> dict[str, float]:
        df = getattr(par, table)
        return {p: float(df.loc[(*coords, p)].value) for p in ("min", "max", "abs_min", "abs_max")}

    cao = row("cao_in_clinker", YEAR, REGION)
    ckd = row("ckd_correc_fact", YEAR, REGION)
    ccl = row("c_cl", YEAR, REGION, CEMENT_TYPE)
    mu = (math.log(ckd["min"]) + math.log(ckd["max"])) / 2
    mean = (ccl["min"] + ccl["max"]) / 2
    sd = (ccl["max"] - ccl["min"]) / (2 * 1.96)
    loc, scale = unc.two_side_trunc(mean, sd, ccl["abs_min"], ccl["abs_max"])
    return {
        "cao_in_clinker": {
            "dist": "normal",
            "mean": (cao["min"] + cao["max"]) / 2,
            "sd": (cao["max"] - cao["min"]) / (2 * 1.96),
        },
        "ckd_correc_fact": {
            "dist": "lognormal",
            "mu": mu,
            "sigma": (math.log(ckd["max"]) - mu) / 1.96,
        },
        "c_cl": {
            "dist": "truncnorm",
            "loc": float(loc),
            "scale": float(scale),
            "lower": ccl["abs_min"],
            "upper": ccl["abs_max"],
        },
        "m_c": {"dist": "constant", "value": CEMENT_PRODUCTION_T},
        "im_cl": {"dist": "constant", "value": CLINKER_IMPORTS_T},
        "ex_cl": {"dist": "constant", "value": CLINKER_EXPORTS_T},
    }
