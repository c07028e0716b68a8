"""Render the computation graph as DOT or JSON (``carbonc graph``)."""

from __future__ import annotations

import json
from typing import Any

from . import ir
from .api import Model
from .units import fmt


def _nodes(model: Model) -> list[dict[str, Any]]:
    defs = model.program.definitions
    out = []
    for q in model.checked.order:
        op = model.checked.ir[q]
        d = defs[q]
        out.append(
            {
                "id": q,
                "kind": d.kind,
                "dims": list(op.dims),
                "unit": fmt(op.unit),
                "op": ir.describe(op),
                "at": str(d.span),
                **({"because": d.because} if d.because else {}),
            }
        )
    return out


def graph_json(model: Model) -> str:
    """Nodes (with kind, dims, unit and lowered op) and dependency edges, as JSON."""
    g = model.checked.graph
    nodes = _nodes(model)
    ids = {n["id"] for n in nodes}
    edges = sorted([a, b] for a, b in g.edges if a in ids and b in ids)
    return json.dumps({"model": model.name, "nodes": nodes, "edges": edges}, indent=2)


_SHAPES = {"data": "cylinder", "parameter": "note", "input": "invhouse", "rule": "box"}


def graph_dot(model: Model) -> str:
    """The graph in Graphviz DOT; outputs are drawn bold."""
    g = model.checked.graph
    outputs = set(model.outputs)
    lines = [
        f'digraph "{model.name}" {{',
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=10];',
    ]
    for n in _nodes(model):
        label = f"{n['id']}\\n[{', '.join(n['dims'])}] {n['unit']}"
        style = ", style=bold" if n["id"] in outputs else ""
        lines.append(
            f'  "{n["id"]}" [label="{label}", shape={_SHAPES.get(n["kind"], "box")}{style}];'
        )
    for a, b in sorted(g.edges):
        if a in model.checked.ir and b in model.checked.ir:
            lines.append(f'  "{a}" -> "{b}";')
    lines.append("}")
    return "\n".join(lines)
