"""Readable terminal tables for results printed without ``-o``."""

from __future__ import annotations

from .results import Result, Results

MAX_ROWS = 40


def _num(v: float) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    a = abs(v)
    if a != 0 and (a >= 1e9 or a < 1e-3):
        return f"{v:.6g}"
    return f"{v:,.6g}" if a < 1e6 else f"{v:,.0f}"


def _stat_label(name: str) -> str:
    return {"u95": "±95%", "p2.5": "2.5%", "p97.5": "97.5%"}.get(name, name)


def _stat_cell(name: str, v: float) -> str:
    return f"{v:.3g}%" if name == "u95" else _num(v)


def render_result(r: Result) -> str:
    """One output as an aligned table (or one line for a scalar), with its uncertainty."""
    stats = dict(r.stats or {})
    if not r.dims and not stats:
        return f"{r.name} = {_num(r.item())} {r.unit}"
    rows = list(r.rows())
    shown = rows[:MAX_ROWS]
    header = [*r.dims, f"value [{r.unit}]", *(_stat_label(k) for k in stats)]
    flat = {k: v.reshape(-1) for k, v in stats.items()}
    cells = [
        [*labels, _num(v), *(_stat_cell(k, float(flat[k][i])) for k in stats)]
        for i, (labels, v) in enumerate(shown)
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    out = [f"{r.name}:"]
    out.append(
        "  "
        + "  ".join(
            h.ljust(w) if i < len(r.dims) else h.rjust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    )
    for c in cells:
        out.append(
            "  "
            + "  ".join(
                x.ljust(w) if i < len(r.dims) else x.rjust(w)
                for i, (x, w) in enumerate(zip(c, widths, strict=True))
            )
        )
    if len(rows) > MAX_ROWS:
        out.append(f"  … {len(rows) - MAX_ROWS} more rows (write them all with -o DIR)")
    return "\n".join(out)


def render_results(results: Results) -> str:
    """Every output, then a line per assertion."""
    parts = [render_result(r) for r in results.outputs.values()]
    if results.asserts:
        n = sum(1 for a in results.asserts if a["passed"])
        skipped = sum(1 for a in results.asserts if a["passed"] is None)
        ran = len(results.asserts) - skipped
        note = (
            f" ({skipped} of an imported method's skipped: they check results not computed)"
            if skipped
            else ""
        )
        parts.append(f"{n} of {ran} assertions hold{note}")
    return "\n\n".join(parts)
