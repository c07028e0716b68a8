"""Readable terminal tables for results printed without ``-o``."""

from __future__ import annotations

from .results import Result, Results

MAX_ROWS = 40
WIDE_COLUMNS = 8  # a two-dim result whose second dim has at most this many labels prints wide


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


def _aligned(header: list[str], cells: list[list[str]], left: int) -> list[str]:
    """Rows of a table: the first ``left`` columns left-aligned, the rest right-aligned."""
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    return [
        "  "
        + "  ".join(
            x.ljust(w) if i < left else x.rjust(w)
            for i, (x, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in (header, *cells)
    ]


def _wide(r: Result) -> str:
    """A two-dim result as rows by columns (a region by perspective table, say)."""
    rows, cols = r.dims
    values = r.array.aligned((rows, cols))
    header = [f"{rows} \\ {cols}", *r.labels[cols]]
    cells = [
        [lab, *(_num(values[i, j].item()) for j in range(len(r.labels[cols])))]
        for i, lab in enumerate(r.labels[rows][:MAX_ROWS])
    ]
    out = [f"{r.name} [{r.unit}]:", *_aligned(header, cells, 1)]
    if len(r.labels[rows]) > MAX_ROWS:
        out.append(f"  … {len(r.labels[rows]) - MAX_ROWS} more rows (write them all with -o DIR)")
    return "\n".join(out)


def render_result(r: Result) -> str:
    """One output as an aligned table (or one line for a scalar), with its uncertainty."""
    stats = dict(r.stats or {})
    if not r.dims and not stats:
        return f"{r.name} = {_num(r.item())} {r.unit}"
    if len(r.dims) == 2 and not stats and len(r.labels[r.dims[1]]) <= WIDE_COLUMNS:
        return _wide(r)
    rows = list(r.rows())
    shown = rows[:MAX_ROWS]
    header = [*r.dims, f"value [{r.unit}]", *(_stat_label(k) for k in stats)]
    flat = {k: v.reshape(-1) for k, v in stats.items()}
    cells = [
        [*labels, _num(v), *(_stat_cell(k, float(flat[k][i])) for k in stats)]
        for i, (labels, v) in enumerate(shown)
    ]
    out = [f"{r.name}:", *_aligned(header, cells, len(r.dims))]
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
