"""Category hierarchies (IPCC 2006 and others) from the ``climate-categories`` package.

A dimension declared ``{categorization: IPCC2006, codes: [1.A.1, 3.B.1.a]}`` gets the given
codes and every ancestor of them up to the root (``0``, the national total), in the
categorization's order, with the parent of each label. ``rollup`` then sums leaves up the tree
(1.A.1 into 1.A into 1 into 0), and ``under(category="3")`` selects a subtree, so a model can
set its boundary by category.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from natsort import natsorted


class CategoryError(ValueError):
    """An unknown categorization or code; ``suggestions`` are close names."""

    def __init__(self, message: str, suggestions: Iterable[str] = (), code: str | None = None):
        super().__init__(message)
        self.suggestions = tuple(suggestions)
        self.code = code  # the unknown code, when it is a code and not the categorization


@dataclass(frozen=True)
class Hierarchy:
    """A tree over a dimension's labels: the parent of each label that has one in the dim."""

    categorization: str
    parents: tuple[tuple[str, str], ...]  # (child, parent)

    def children(self, labels: tuple[str, ...]) -> dict[str, list[str]]:
        """Each label's children among ``labels`` (a narrowed dimension keeps only its own)."""
        present = set(labels)
        out: dict[str, list[str]] = {lab: [] for lab in labels}
        for child, parent in self.parents:
            if child in present and parent in present:
                out[parent].append(child)
        return out

    def under(self, labels: tuple[str, ...], root: str) -> list[bool]:
        """Whether each label is ``root`` or descends from it."""
        parent = dict(self.parents)
        flags = []
        for lab in labels:
            node: str | None = lab
            while node is not None and node != root:
                node = parent.get(node)
            flags.append(node == root)
        return flags


@cache
def _categorization(name: str) -> Any:
    import climate_categories

    if name not in climate_categories.cats:
        raise CategoryError(
            f"`{name}` is not a categorization climate-categories knows",
            list(climate_categories.cats),
        )
    return climate_categories.cats[name]


def known_codes(name: str) -> list[str]:
    """Every code of categorization ``name``, in its natural order."""
    return natsorted(c.codes[0] for c in _categorization(name).values())


def hierarchy_labels(name: str, codes: list[str] | None) -> tuple[tuple[str, ...], Hierarchy]:
    """The labels of a dimension over ``codes`` (all codes if None) and their ancestors.

    Raises:
        CategoryError: an unknown categorization or code.
    """
    cat = _categorization(name)
    if not hasattr(cat, "children"):
        raise CategoryError(f"`{name}` has no hierarchy", [])
    parent: dict[str, str] = {}
    for category in cat.values():
        sets = cat.children(category)
        for child in sets[0] if sets else ():  # the first (main) breakdown of each node
            parent.setdefault(child.codes[0], category.codes[0])
    wanted: list[str] = []
    for code in codes if codes is not None else known_codes(name):
        try:
            canonical = cat[str(code)].codes[0]
        except KeyError:
            raise CategoryError(
                f"`{code}` is not a code of {name}", known_codes(name), str(code)
            ) from None
        node: str | None = canonical
        while node is not None:
            wanted.append(node)
            node = parent.get(node)
    labels = tuple(natsorted(dict.fromkeys(wanted)))
    present = set(labels)
    pairs = tuple((c, p) for c, p in parent.items() if c in present and p in present)
    return labels, Hierarchy(name, pairs)
