"""Distributions as vectorised inverse CDFs: every draw is a transform of uniform numbers.

Sampling through the inverse CDF makes one design serve Monte Carlo (uniforms from a seeded
generator), correlated inputs (uniforms from a Gaussian copula), truncation (uniforms squeezed
into [F(low), F(high)]) and Sobol analysis (uniforms from SALib's Saltelli design).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class Family:
    """A distribution family: its quantile function and its CDF (for truncation)."""

    ppf: Callable[[np.ndarray, Params], np.ndarray]
    cdf: Callable[[np.ndarray, Params], np.ndarray]


def _normal_ppf(u: np.ndarray, p: Params) -> np.ndarray:
    return p["mean"] + p["sd"] * special.ndtri(u)


def _normal_cdf(x: np.ndarray, p: Params) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return special.ndtr((x - p["mean"]) / p["sd"])


def _lognormal_ppf(u: np.ndarray, p: Params) -> np.ndarray:
    return np.exp(p["mu"] + p["sigma"] * special.ndtri(u))


def _lognormal_cdf(x: np.ndarray, p: Params) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return special.ndtr((np.log(np.maximum(x, 0.0)) - p["mu"]) / p["sigma"])


def _uniform_ppf(u: np.ndarray, p: Params) -> np.ndarray:
    return p["low"] + u * (p["high"] - p["low"])


def _uniform_cdf(x: np.ndarray, p: Params) -> np.ndarray:
    width = p["high"] - p["low"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(np.where(width > 0, (x - p["low"]) / width, 1.0), 0.0, 1.0)


def _triangular_ppf(u: np.ndarray, p: Params) -> np.ndarray:
    lo, mode, hi = p["low"], p["mode"], p["high"]
    width = hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(width > 0, (mode - lo) / width, 0.5)
    left = lo + np.sqrt(u * width * (mode - lo))
    right = hi - np.sqrt((1.0 - u) * width * (hi - mode))
    return np.where(u < c, left, right)


def _triangular_cdf(x: np.ndarray, p: Params) -> np.ndarray:
    lo, mode, hi = p["low"], p["mode"], p["high"]
    width = hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        left = (x - lo) ** 2 / (width * (mode - lo))
        right = 1.0 - (hi - x) ** 2 / (width * (hi - mode))
    out = np.where(x <= mode, left, right)
    out = np.clip(np.nan_to_num(out, nan=1.0), 0.0, 1.0)
    return np.where(x <= lo, 0.0, np.where(x >= hi, 1.0, out))


def _pert_shape(p: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, mode, hi = p["low"], p["mode"], p["high"]
    width = hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(width > 0, 1.0 + 4.0 * (mode - lo) / width, 3.0)
        b = np.where(width > 0, 1.0 + 4.0 * (hi - mode) / width, 3.0)
    return a, b, width


def _pert_ppf(u: np.ndarray, p: Params) -> np.ndarray:
    a, b, width = _pert_shape(p)
    return p["low"] + width * special.betaincinv(a, b, u)


def _pert_cdf(x: np.ndarray, p: Params) -> np.ndarray:
    a, b, width = _pert_shape(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.clip(np.where(width > 0, (x - p["low"]) / width, 1.0), 0.0, 1.0)
    return special.betainc(a, b, z)


FAMILIES: dict[str, Family] = {
    "normal": Family(_normal_ppf, _normal_cdf),
    "lognormal": Family(_lognormal_ppf, _lognormal_cdf),
    "uniform": Family(_uniform_ppf, _uniform_cdf),
    "triangular": Family(_triangular_ppf, _triangular_cdf),
    "pert": Family(_pert_ppf, _pert_cdf),
}


def quantiles(
    kind: str, u: np.ndarray, params: Params, truncate: tuple[float, float] | None
) -> np.ndarray:
    """Values at probability levels ``u`` (in (0, 1)), optionally truncated to ``truncate``."""
    family = FAMILIES[kind]
    if truncate is not None:
        lo = family.cdf(np.asarray(truncate[0], dtype=float), params)
        hi = family.cdf(np.asarray(truncate[1], dtype=float), params)
        # A degenerate distribution (a spread of zero around an exact zero) has no CDF to
        # squeeze; its quantile is its value whatever the level.
        ok = np.isfinite(lo) & np.isfinite(hi)
        u = np.where(ok, np.where(ok, lo, 0.0) + u * np.where(ok, hi - lo, 1.0), u)
    x = family.ppf(u, params)
    if truncate is not None:  # rounding at the ends of the CDF must not step outside
        x = np.clip(x, truncate[0], truncate[1])
    return x


def dirichlet(u: np.ndarray, alpha: np.ndarray, axis: int) -> np.ndarray:
    """Dirichlet draws from uniforms: independent gamma quantiles, normalised along ``axis``."""
    g = special.gammaincinv(np.broadcast_to(alpha, u.shape), u)
    total = g.sum(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, g / total, np.broadcast_to(alpha, u.shape) / alpha.sum())


def empirical(u: np.ndarray, draws: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Resample given draws: element ``i`` takes ``draws[i, floor(u · counts[i])]``.

    Args:
        u: uniforms, shape (n, elements).
        draws: each element's draws, sorted, padded to a rectangle (elements, max count).
        counts: how many draws each element has.
    """
    k = np.minimum((u * counts).astype(np.int64), counts - 1)
    return np.take_along_axis(draws[None, :, :], k[:, :, None], axis=2)[:, :, 0]
