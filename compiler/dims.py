"""Dimensions: one label set per name for the whole program.

A dimension may be declared by several modules. The declaration nearest the root model wins
(among equally near ones, the narrowest), and every other declaration must contain all of its
labels: a model may narrow a method's dimension (use 3 of the 30 fuels a default table knows),
never widen it.
"""

from __future__ import annotations

from dataclasses import dataclass

from carbonc.dsl.diagnostics import Diagnostics

from .program import DimDecl


@dataclass(frozen=True)
class Dimension:
    """The program-wide labels of a dimension, and every label any declaration knows."""

    name: str
    labels: tuple[str, ...]
    index: dict[str, int]
    known: frozenset[str]
    decl: DimDecl


def resolve_dims(decls: dict[str, list[DimDecl]], diags: Diagnostics) -> dict[str, Dimension]:
    """Choose each dimension's labels and check the other declarations agree."""
    out: dict[str, Dimension] = {}
    for name, ds in decls.items():
        chosen = min(ds, key=lambda d: (d.depth, len(d.labels)))
        labels = set(chosen.labels)
        known: set[str] = set()
        for d in ds:
            known.update(d.labels)
            if d is chosen or (d.depth == chosen.depth and d.module is chosen.module):
                continue
            missing = [lab for lab in chosen.labels if lab not in d.labels]
            if missing and d.depth == chosen.depth:
                diags.error(
                    "E0404",
                    f"dimension `{name}` is declared twice with different labels",
                    d.span,
                    notes=(f"also declared at {chosen.span}",),
                    help="declare it once, or give both declarations the same labels",
                )
            elif missing:
                shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
                diags.error(
                    "E0404",
                    f"dimension `{name}` here lacks labels the model uses: {shown}",
                    d.span,
                    notes=(f"the model declares `{name}` at {chosen.span}",),
                    help=f"a model may only narrow an imported method's `{name}`, using labels it knows",
                )
        out[name] = Dimension(
            name,
            chosen.labels,
            {lab: i for i, lab in enumerate(chosen.labels)},
            frozenset(known | labels),
            chosen,
        )
    return out
