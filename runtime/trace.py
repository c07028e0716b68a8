"""Carbon tracing: where a footprint comes from, as a supply-chain tree with a cut-off.

The tree starts at a functional unit's demand. Each node is a product bought on behalf of its
parent, with the amount needed, its own direct emissions (that amount times the provider's
direct CO2e per unit) and its cumulative footprint (that amount times the product's footprint
per unit, the whole upstream chain). A branch whose cumulative footprint is below ``cutoff`` of
the total is summarised, not expanded, so loops (steel for the power plant that makes steel)
end by themselves once each round trip becomes small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Node:
    """One line of the tree."""

    depth: int
    product: str
    amount: float
    direct: float
    cumulative: float
    share: float  # of the functional unit's total footprint


def supply_tree(
    a: Any,
    direct: np.ndarray,
    per_unit: np.ndarray,
    demand: np.ndarray,
    labels: tuple[str, ...],
    cutoff: float = 0.01,
    max_depth: int = 8,
    max_nodes: int = 2000,
) -> list[Node]:
    """The supply-chain tree of one functional unit, depth first, largest branch first.

    Args:
        a: input coefficients, ``a[i, j]`` = amount of product i per unit of product j: a
            numpy array, or a SciPy CSC matrix for a database-size system.
        direct: direct CO2e per unit of each product's provider.
        per_unit: cumulative CO2e per unit of each product (direct plus all upstream).
        demand: the functional unit's amount of each product.
        labels: product names.
        cutoff: branches below this share of the total are not expanded.
        max_depth: deepest level shown.
        max_nodes: a bound on the lines produced, whatever the cut-off.
    """
    total = float(per_unit @ demand)
    scale = abs(total) if total else 1.0
    out: list[Node] = []
    order = np.argsort(np.abs(demand * per_unit))  # smallest first, so the largest pops first
    stack = [(0, int(j), float(demand[j])) for j in order if demand[j] != 0.0]
    while stack and len(out) < max_nodes:
        depth, j, amount = stack.pop()
        cumulative = amount * float(per_unit[j])
        if abs(cumulative) < cutoff * scale and depth > 0:
            continue
        out.append(
            Node(
                depth, labels[j], amount, amount * float(direct[j]), cumulative, cumulative / scale
            )
        )
        if depth + 1 >= max_depth:
            continue
        inputs = _column(a, j) * amount
        order = np.argsort(np.abs(inputs * per_unit))  # smallest first: popped last
        stack.extend((depth + 1, int(i), float(inputs[i])) for i in order if inputs[i] != 0.0)
    return out


def _column(a: Any, j: int) -> np.ndarray:
    """Column ``j`` of a dense array or a SciPy sparse matrix, as a dense vector."""
    if isinstance(a, np.ndarray):
        return a[:, j]
    return np.asarray(a[:, [j]].toarray()).ravel()


def render_tree(nodes: list[Node], unit: str) -> str:
    """The tree as indented text, one product per line."""
    lines = [f"{'product':<40} {'amount':>12} {'direct':>12} {'cumulative':>12} {'share':>7}"]
    for n in nodes:
        name = "  " * n.depth + n.product
        lines.append(
            f"{name:<40} {n.amount:>12.4g} {n.direct:>12.4g} {n.cumulative:>12.4g} "
            f"{100 * n.share:>6.1f}%"
        )
    lines.append(f"(direct and cumulative in {unit}; branches under the cut-off are not shown)")
    return "\n".join(lines)
