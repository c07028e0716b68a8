"""Data readers. Bad input names the file, the row and the column, with the line quoted."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from carbonc.dsl.diagnostics import Diagnostic, Diagnostics, did_you_mean
from carbonc.dsl.span import Span, register_source

from .sparse import Sparse

MAX_ERRORS = 20


class DataError(Exception):
    """Problems in a data file, as located diagnostics."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(d.message for d in self.diagnostics))


@dataclass(frozen=True)
class Table:
    """A CSV file: header, rows with their line numbers, and the raw lines for locating cells."""

    path: str
    header: tuple[str, ...]
    header_line: int
    rows: list[tuple[int, list[str]]]
    raw: list[str]

    def cell_span(self, line: int, col_index: int) -> Span:
        """The span of cell ``col_index`` on physical ``line`` (1-based)."""
        text = self.raw[line - 1] if 0 < line <= len(self.raw) else ""
        if '"' in text:
            return Span.point(self.path, line, 1, max(1, len(text)))
        parts = text.split(",")
        col = sum(len(p) + 1 for p in parts[:col_index]) + 1
        width = len(parts[col_index]) if col_index < len(parts) else 1
        return Span.point(self.path, line, col, max(1, width))

    def column(self, name: str) -> int:
        """The index of column ``name``.

        Raises:
            DataError: no such column, with a did-you-mean.
        """
        if name in self.header:
            return self.header.index(name)
        hint = did_you_mean(name, self.header)
        raise DataError(
            [
                Diagnostic(
                    "E0802",
                    f"column `{name}` not found in `{Path(self.path).name}`",
                    Span.point(
                        self.path, self.header_line, 1, max(1, len(self.raw[self.header_line - 1]))
                    ),
                    hint or f"the columns are: {', '.join(self.header)}",
                )
            ]
        )


def read_table(path: Path) -> Table:
    """Read a CSV file; lines starting with ``#`` before the header are comments (citations)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(
            [Diagnostic("E0803", f"`{path.name}` is not UTF-8 text", Span.point(str(path), 1, 1))]
        ) from None
    except OSError as exc:
        raise DataError(
            [Diagnostic("E0801", f"cannot read `{path}`: {exc.strerror}", None)]
        ) from None
    file = str(path)
    register_source(file, text)
    raw = text.splitlines()
    start = 0
    while start < len(raw) and (not raw[start].strip() or raw[start].lstrip().startswith("#")):
        start += 1
    if start >= len(raw):
        raise DataError(
            [
                Diagnostic(
                    "E0802",
                    f"`{path.name}` has no header row",
                    Span.point(file, 1, 1),
                    "the first non-comment line must name the columns",
                )
            ]
        )
    reader = csv.reader(io.StringIO("\n".join(raw[start:])))
    header = tuple(h.strip() for h in next(reader))
    rows: list[tuple[int, list[str]]] = []
    for i, fields in enumerate(reader):
        line = start + 2 + i
        if (
            not fields
            or (len(fields) == 1 and not fields[0].strip())
            or fields[0].lstrip().startswith("#")
        ):
            continue
        rows.append((line, [f.strip() for f in fields]))
    return Table(file, header, start + 1, rows, raw)


def read_labels(path: Path, column: str) -> tuple[str, ...]:
    """The distinct values of ``column``, in order of first appearance."""
    table = read_table(path)
    idx = table.column(column)
    seen: dict[str, None] = {}
    diags = Diagnostics()
    for line, fields in table.rows:
        if idx >= len(fields) or not fields[idx]:
            diags.error("E0804", f"empty label in column `{column}`", table.cell_span(line, idx))
            continue
        seen.setdefault(fields[idx], None)
    if diags.has_errors:
        raise DataError(diags.items[:MAX_ERRORS])
    return tuple(seen)


@dataclass(frozen=True)
class Axis:
    """What a reader needs to know of a dimension: the program's labels and the declarer's universe."""

    name: str
    labels: tuple[str, ...]
    index: Mapping[str, int]
    known: frozenset[str]
    own: frozenset[str] | None = None  # labels the file's module lists; the others are 0
    strict: bool = False  # a known label outside the program is an error, not skipped


def _number(text: str) -> float | None:
    try:
        v = float(text.replace("_", ""))
    except ValueError:
        return None
    return v


def _long_rows(
    path: Path, axes: Sequence[Axis], value: str | None, columns: Mapping[str, str]
) -> tuple[Table, Iterable[tuple[int, list[str], list[str], int]], list[int]]:
    """The table, its rows as (line, fields, labels, value column), and the dim columns."""
    table = read_table(path)
    dim_cols = [table.column(columns.get(a.name, a.name)) for a in axes]
    val_col = table.column(value) if value is not None else -1
    rows = (
        (line, fields, [fields[c] if c < len(fields) else "" for c in dim_cols], val_col)
        for line, fields in table.rows
    )
    return table, rows, dim_cols


def read_long(
    path: Path,
    axes: Sequence[Axis],
    value: str | None,
    columns: Mapping[str, str],
    fill: float | None,
) -> np.ndarray:
    """Read a long-form table: one column per dimension plus a value column.

    With ``value=None`` the table is a concordance: every row stands for the value 1.
    """
    table, rows, dim_cols = _long_rows(path, axes, value, columns)
    return _fill(table, axes, rows, fill, dim_cols)


def read_long_sparse(
    path: Path,
    axes: Sequence[Axis],
    value: str | None,
    columns: Mapping[str, str],
    fill: float | None,
) -> Sparse:
    """Read a long-form table into a sparse array: only the listed cells are stored (with
    ``value=None``, a concordance: every listed cell is 1)."""
    table, rows, dim_cols = _long_rows(path, axes, value, columns)
    return _fill_sparse(table, axes, rows, fill, dim_cols)


def read_cells(
    path: Path,
    axes: Sequence[Axis],
    column: str,
    columns: Mapping[str, str],
    wide: str | None = None,
) -> list[tuple[tuple[int, ...], str, Span]]:
    """The non-empty cells of ``column`` with the element each row stands for and its span.

    Rows whose labels are outside the model's scope are skipped, as the value reader does;
    unknown labels are errors. In a wide table (``wide`` spread across columns) a row's cell
    applies to every label of ``wide``.
    """
    table = read_table(path)
    spread = [a.name for a in axes].index(wide) if wide is not None else -1
    dim_cols = [
        table.column(columns.get(a.name, a.name)) if i != spread else -1 for i, a in enumerate(axes)
    ]
    col = table.column(column)
    out: list[tuple[tuple[int, ...], str, Span]] = []
    diags = Diagnostics()
    for line, fields in table.rows:
        text = fields[col] if col < len(fields) else ""
        if not text:
            continue
        key: list[int] = []
        for axis, c in zip(axes, dim_cols, strict=True):
            if c < 0:
                key.append(-1)
                continue
            label = fields[c] if c < len(fields) else ""
            pos = axis.index.get(label)
            if pos is None:
                if label not in axis.known:
                    diags.error(
                        "E0806",
                        f"unknown label `{label}` for dimension `{axis.name}` in "
                        f"`{Path(path).name}`",
                        table.cell_span(line, c),
                        help=did_you_mean(label, axis.known),
                    )
                break
            key.append(pos)
        else:
            span = table.cell_span(line, col)
            if spread < 0:
                out.append((tuple(key), text, span))
            else:
                for pos in range(len(axes[spread].labels)):
                    key[spread] = pos
                    out.append((tuple(key), text, span))
        if len(diags) >= MAX_ERRORS:
            break
    if diags.has_errors:
        raise DataError(diags.items)
    return out


def read_wide(
    path: Path, axes: Sequence[Axis], wide: str, columns: Mapping[str, str], fill: float | None
) -> np.ndarray:
    """Read a wide table: dimension ``wide`` is spread across columns named by its labels."""
    table = read_table(path)
    wide_pos = [a.name for a in axes].index(wide)
    row_axes = [a for a in axes if a.name != wide]
    dim_cols = [table.column(columns.get(a.name, a.name)) for a in row_axes]
    wide_axis = axes[wide_pos]
    label_cols = [(i, h) for i, h in enumerate(table.header) if h in wide_axis.known]
    if not label_cols:
        raise DataError(
            [
                Diagnostic(
                    "E0802",
                    f"no column of `{Path(path).name}` is a label of dimension `{wide}`",
                    Span.point(table.path, table.header_line, 1),
                    f"the labels are: {', '.join(wide_axis.labels[:8])}",
                )
            ]
        )

    def cells() -> Iterable[tuple[int, list[str], list[str], int]]:
        for line, fields in table.rows:
            keys = [fields[c] if c < len(fields) else "" for c in dim_cols]
            for col, label in label_cols:
                yield line, fields, [*keys[:wide_pos], label, *keys[wide_pos:]], col

    return _fill(table, axes, cells(), fill, [*dim_cols[:wide_pos], -1, *dim_cols[wide_pos:]])


def _collect(
    table: Table,
    axes: Sequence[Axis],
    cells: Iterable[tuple[int, list[str], list[str], int]],
    dim_cols: list[int],
) -> tuple[np.ndarray, np.ndarray, Diagnostics]:
    """Validate the rows: (positions, one row per cell; values; the problems found)."""
    values: list[float] = []  # in the order of first_line's keys, the cells found
    first_line: dict[tuple[int, ...], int] = {}
    diags = Diagnostics()
    name = Path(table.path).name
    for line, fields, keys, val_col in cells:
        if len(diags) >= MAX_ERRORS:
            break
        idx: list[int] = []
        skip = False
        for k, (axis, label) in enumerate(zip(axes, keys, strict=True)):
            pos = axis.index.get(label)
            if pos is None:
                if label in axis.known and not axis.strict:
                    skip = True  # a known label outside this model's scope
                    continue
                if label in axis.known:
                    col = dim_cols[k] if dim_cols[k] >= 0 else val_col
                    diags.error(
                        "E0806",
                        f"label `{label}` of `{name}` is not in dimension `{axis.name}` as the "
                        "program has it: the row would be dropped",
                        table.cell_span(line, col),
                        help=f"two imported methods declare `{axis.name}` with different labels; "
                        f"declare `{axis.name}` in the model to choose its labels",
                    )
                    skip = True
                    continue
                col = dim_cols[k] if dim_cols[k] >= 0 else val_col
                what = "empty label" if not label else f"unknown label `{label}`"
                diags.error(
                    "E0806",
                    f"{what} for dimension `{axis.name}` in `{name}`",
                    table.cell_span(line, col),
                    help=did_you_mean(label, axis.known)
                    or f"dimension `{axis.name}` has labels: "
                    f"{', '.join(axis.labels[:8])}{' …' if len(axis.labels) > 8 else ''}",
                )
                skip = True
                continue
            idx.append(pos)
        if skip:
            continue
        key = tuple(idx)
        text = fields[val_col] if 0 <= val_col < len(fields) else ("1" if val_col < 0 else "")
        v = _number(text)
        if v is None or math.isnan(v):
            what = (
                "empty cell"
                if not text
                else ("NaN" if v is not None else f"non-numeric value `{text}`")
            )
            diags.error(
                "E0803" if text and v is None else "E0804",
                f"{what} in `{name}`",
                table.cell_span(line, val_col),
                help="every value must be a number; write 0 for a true zero"
                if not text or v is not None
                else "remove units and thousands separators from numeric cells",
            )
            continue
        if key in first_line:
            labels = ", ".join(f"{a.name}={a.labels[i]}" for a, i in zip(axes, key, strict=True))
            labels = labels or "the value"
            diags.error(
                "E0805",
                f"duplicate row for {labels} in `{name}`",
                table.cell_span(line, 0),
                help=f"first given on line {first_line[key]}",
                notes=(),
            )
            continue
        first_line[key] = line
        values.append(v)
    positions = np.array(list(first_line), dtype=np.int64).reshape(len(first_line), len(axes))
    return positions, np.array(values, dtype=float), diags


def _fill_sparse(
    table: Table,
    axes: Sequence[Axis],
    cells: Iterable[tuple[int, list[str], list[str], int]],
    fill: float | None,
    dim_cols: list[int],
) -> Sparse:
    """The rows as a sparse array: a cell no row lists takes ``fill`` (0 when not given)."""
    keys, values, diags = _collect(table, axes, cells, dim_cols)
    if diags.has_errors:
        raise DataError(diags.items[:MAX_ERRORS])
    shape = tuple(len(a.labels) for a in axes)
    return Sparse.from_coords(tuple(keys.T), values, shape, 0.0 if fill is None else fill)


def _fill(
    table: Table,
    axes: Sequence[Axis],
    cells: Iterable[tuple[int, list[str], list[str], int]],
    fill: float | None,
    dim_cols: list[int],
) -> np.ndarray:
    shape = tuple(len(a.labels) for a in axes)
    out = np.full(shape, np.nan)
    seen = np.zeros(shape, dtype=bool)
    name = Path(table.path).name
    keys, values, diags = _collect(table, axes, cells, dim_cols)
    if keys.size:
        out[tuple(keys.T)] = values
        seen[tuple(keys.T)] = True
    absent = _absent(axes)
    if absent is not None:  # labels the module does not list are structurally zero
        out[absent & ~seen] = 0.0
        seen |= absent
    if not diags.has_errors and not seen.all():
        if fill is not None:
            out[~seen] = fill
        else:
            missing = np.argwhere(~seen)
            examples = "; ".join(
                ", ".join(f"{a.name}={a.labels[i]}" for a, i in zip(axes, row, strict=True))
                for row in missing[:3]
            )
            diags.error(
                "E0807",
                f"`{name}` has no value for {len(missing)} combination"
                f"{'s' if len(missing) != 1 else ''} of labels, e.g. {examples}",
                Span.point(table.path, table.header_line, 1),
                help="add the missing rows, or declare `fill: 0` on the data entry if absence means zero",
            )
    if diags.has_errors:
        raise DataError(diags.items[:MAX_ERRORS])
    return out


def _absent(axes: Sequence[Axis]) -> np.ndarray | None:
    """Where an array lies outside its module's own labels (``others: zero``), or None."""
    mask = None
    for k, axis in enumerate(axes):
        if axis.own is None:
            continue
        flags = np.array([lab not in axis.own for lab in axis.labels])
        shape = [1] * len(axes)
        shape[k] = len(axis.labels)
        m = np.broadcast_to(flags.reshape(shape), tuple(len(a.labels) for a in axes))
        mask = m if mask is None else (mask | m)
    return None if mask is None else np.array(mask)


def inline_array(
    values: Any, axes: Sequence[Axis], span: Span, default: float | None = None
) -> np.ndarray:
    """An array from inline YAML: a number, a list along one dim, or mappings keyed by label.

    Labels a mapping leaves out take ``default`` (the entry's ``fill:``), or are an error.
    """
    shape = tuple(len(a.labels) for a in axes)
    diags = Diagnostics()

    def fill(v: Any, depth: int, at: tuple[int, ...], where: str) -> None:
        if depth == len(axes):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                diags.error("E0808", f"inline value{where} must be a number, not `{v}`", span)
                return
            out[at] = float(v)
            return
        axis = axes[depth]
        if isinstance(v, Mapping):
            got = {
                str(int(k)) if isinstance(k, float) and k.is_integer() else str(k): x
                for k, x in v.items()
            }
            for label in got:
                if label not in axis.index and label not in axis.known:
                    diags.error(
                        "E0806",
                        f"unknown label `{label}` for dimension `{axis.name}` in inline values",
                        span,
                        help=did_you_mean(label, axis.labels),
                    )
            for i, label in enumerate(axis.labels):
                if label not in got and axis.own is not None and label not in axis.own:
                    out[(*at, i)] = 0.0  # a label the module does not list: structurally 0
                    continue
                if label not in got and default is not None:
                    out[(*at, i)] = default
                    continue
                if label not in got:
                    diags.error(
                        "E0807", f"inline values have no entry for {axis.name}={label}{where}", span
                    )
                    continue
                fill(got[label], depth + 1, (*at, i), f"{where} [{axis.name}={label}]")
        elif isinstance(v, list):
            if len(v) != len(axis.labels):
                diags.error(
                    "E0808",
                    f"inline list for dimension `{axis.name}` has {len(v)} values but the "
                    f"dimension has {len(axis.labels)} labels",
                    span,
                )
                return
            for i, x in enumerate(v):
                fill(x, depth + 1, (*at, i), where)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[at] = float(v)  # one number broadcast over the remaining dims
        else:
            diags.error(
                "E0808",
                f"inline values for dimension `{axis.name}` must be a list or a mapping by label",
                span,
            )

    out = np.full(shape, np.nan)
    fill(values, 0, (), "")
    if diags.has_errors:
        raise DataError(diags.items[:MAX_ERRORS])
    return out
