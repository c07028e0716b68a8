"""Numeric kernels for IR ops: registries keyed by the op's function name."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Elementwise = Callable[..., np.ndarray]


def safe_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b with 0 where b is 0, in one pass and one output array.

    When the divisor is much smaller than the dividend (a matrix over a vector of outputs),
    its reciprocal is taken once and the big array is multiplied, which is faster than a
    masked division over every element.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if b.size * 4 <= a.size:
        inv = np.zeros(b.shape)
        np.divide(1.0, b, out=inv, where=b != 0)
        return np.multiply(a, inv)
    out = np.zeros(np.broadcast_shapes(a.shape, b.shape))
    np.divide(a, b, out=out, where=b != 0)
    return out


BINARY: dict[str, Elementwise] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "^": np.power,
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "and": np.logical_and,
    "or": np.logical_or,
}

UNARY: dict[str, Elementwise] = {
    "neg": np.negative,
    "not": np.logical_not,
}

APPLY: dict[str, Elementwise] = {
    "abs": np.abs,
    "sqrt": np.sqrt,
    "exp": np.exp,
    "log": np.log,
    "sin": np.sin,
    "cos": np.cos,
    "minimum": np.minimum,
    "maximum": np.maximum,
    "isfinite": np.isfinite,
    "safe_divide": safe_divide,
}

REDUCE: dict[str, Callable[..., np.ndarray]] = {
    "sum": np.sum,
    "mean": np.mean,
    "min": np.min,
    "max": np.max,
}

SCAN: dict[str, Callable[..., np.ndarray]] = {
    "cumsum": np.cumsum,
}
