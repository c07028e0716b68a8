"""Dimensions: one label set per name for the whole program.

A dimension may be declared by several modules. The declaration nearest the root model wins
(among equally near ones, the narrowest), and every other declaration must contain all of its
labels: a model may narrow a method's dimension (use 3 of the 30 fuels a default table knows),
never widen it.

A dimension declared ``like:`` another is its *dual*: the same labels, a different role (the
columns of a matrix whose rows are the base dimension).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from carbonc.dsl.diagnostics import Diagnostics, did_you_mean

from .program import DimDecl


@dataclass(frozen=True)
class Dimension:
    """The program-wide labels of a dimension, and every label any declaration knows."""

    name: str
    labels: tuple[str, ...]
    index: dict[str, int]
    known: frozenset[str]
    decl: DimDecl
    dual: str | None = None  # the paired dimension (base <-> like), if any
    # Per module (by id) that declares the dim `others: zero` and lacks some labels: the labels
    # it lists; its arrays are zero for the rest.
    own: tuple[tuple[int, frozenset[str]], ...] = ()
    declared_by_model: bool = True  # the root model declares it (or only one module does)

    def own_labels(self, module: object) -> frozenset[str] | None:
        """The labels ``module`` lists, when the others are zero there (None: all of them)."""
        return dict(self.own).get(id(module))


def resolve_dims(decls: dict[str, list[DimDecl]], diags: Diagnostics) -> dict[str, Dimension]:
    """Choose each dimension's labels, check the other declarations agree, and pair duals."""
    out: dict[str, Dimension] = {}
    likes: dict[str, DimDecl] = {}
    for name, ds in decls.items():
        labelled = [d for d in ds if d.like is None]
        if not labelled:
            likes[name] = min(ds, key=lambda d: d.depth)
            continue
        out[name] = _choose(name, labelled, diags)
    for name, decl in likes.items():
        base = out.get(decl.like or "")
        if base is None:
            why = (
                f"`{decl.like}` is itself declared `like:`"
                if decl.like in likes
                else "it is not declared"
            )
            diags.error(
                "E0305",
                f"dimension `{name}` is `like: {decl.like}`, but {why}",
                decl.span,
                help=did_you_mean(decl.like or "", list(out))
                or "declare the base dimension's labels",
            )
            continue
        if base.dual is not None and base.dual != name:
            diags.error(
                "E0404",
                f"dimension `{base.name}` already has a dual, `{base.dual}`",
                decl.span,
                help=f"use `{base.dual}` instead of declaring `{name}`",
            )
            continue
        out[base.name] = replace(base, dual=name)
        out[name] = replace(base, name=name, decl=decl, dual=base.name)
    return out


def _choose(name: str, ds: list[DimDecl], diags: Diagnostics) -> Dimension:
    chosen = min(ds, key=lambda d: (d.depth, len(d.labels)))
    labels = chosen.labels
    zero = sorted((d for d in ds if d.others_zero), key=lambda d: d.depth)
    if chosen.depth > 0 and zero:
        # No model-level declaration: methods that list only what they emit (`others: zero`)
        # together give the program's labels, e.g. the union of every method's gases.
        chosen = zero[0]
        labels = tuple(dict.fromkeys(lab for d in zero for lab in d.labels))
    known: set[str] = set(labels)
    own: list[tuple[int, frozenset[str]]] = []
    for d in ds:
        known.update(d.labels)
        if d is chosen:
            continue
        missing = [lab for lab in labels if lab not in d.labels]
        if not missing:
            continue
        if d.others_zero:
            own.append((id(d.module), frozenset(d.labels)))
            continue
        if d.depth == chosen.depth and len(d.labels) == len(chosen.labels):
            diags.error(
                "E0404",
                f"dimension `{name}` is declared twice with different labels",
                d.span,
                notes=(f"also declared at {chosen.span}",),
                help="declare it once, or give both declarations the same labels",
            )
        else:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            diags.error(
                "E0404",
                f"dimension `{name}` here lacks labels the model uses: {shown}",
                d.span,
                notes=(f"the model declares `{name}` at {chosen.span}",),
                help=f"a model may only narrow an imported method's `{name}`, using labels it "
                f"knows; a method whose `{name}` lists only what it has can say so with "
                f"`{name}: {{labels: [...], others: zero}}`",
            )
    if chosen.others_zero and len(chosen.labels) < len(labels):
        own.append((id(chosen.module), frozenset(chosen.labels)))
    index = {lab: i for i, lab in enumerate(labels)}
    by_model = chosen.depth == 0 or len({id(d.module) for d in ds}) == 1
    return Dimension(name, labels, index, frozenset(known), chosen, None, tuple(own), by_model)
