"""Read multi-regional input-output tables: pymrio folders (txt or parquet) and CSV matrices.

A pymrio folder is what ``pymrio.IOSystem.save_all()`` writes: ``file_parameters.json`` naming
``Z``, ``Y`` and ``population``, plus one sub-folder per extension (satellite account) with
``F``, ``F_Y`` and their own ``file_parameters.json``. A CSV folder holds ``Z.csv`` and
``Y.csv`` (two header rows, two index columns), ``F.csv``/``F_Y.csv`` (or ``<ext>_F.csv``,
``<ext>/F.csv``) and optionally ``population.csv``.

Labels are kept in order of first appearance. Arrays come back over named axes:
Z (region, sector, region_to, sector_to), Y (region, sector, region_to, category),
F (stressor, region, sector), F_Y (stressor, region_to, category), population (region).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carbonc.dsl.diagnostics import Diagnostic
from carbonc.dsl.span import Span

from .readers import DataError

MEMBERS = ("Z", "Y", "F", "F_Y", "population")


@dataclass(frozen=True)
class TableFile:
    """One table of an MRIO folder and how to read it."""

    path: Path
    index_cols: int
    header_rows: int
    split: str | None = None  # one label per row/column, split into two levels at this separator

    def read(self, **kwargs: Any) -> pd.DataFrame:
        """The table as a DataFrame with (multi-)indexed rows and columns."""
        if self.path.suffix == ".parquet":
            return pd.read_parquet(self.path)
        sep = "\t" if self.path.suffix == ".txt" else ","
        df = pd.read_csv(
            self.path,
            sep=sep,
            index_col=list(range(self.index_cols)) if self.index_cols > 1 else 0,
            header=list(range(self.header_rows)) if self.header_rows > 1 else 0,
            **kwargs,
        )
        if self.split:
            df.index = self._split(df.index)
            df.columns = self._split(df.columns)
        return df

    def _split(self, index: pd.Index) -> pd.Index:
        assert self.split is not None
        if isinstance(index, pd.MultiIndex) or not any(self.split in str(v) for v in index):
            return index
        pairs = [tuple(str(v).split(self.split, 1)) for v in index]
        if any(len(p) != 2 for p in pairs):
            raise _fail(
                self.path, f"labels of `{self.path.name}` cannot all be split at `{self.split}`"
            )
        return pd.MultiIndex.from_tuples(pairs)

    def index(self) -> pd.Index:
        """Only the row labels: the index columns, without parsing the numbers."""
        if self.path.suffix == ".parquet" or self.split:
            return self.read(usecols=[0]).index if self.split else self.read().index
        sep = "\t" if self.path.suffix == ".txt" else ","
        skip = self.header_rows
        with self.path.open(encoding="utf-8") as fh:
            lines = [fh.readline() for _ in range(skip + 1)]
        after = lines[skip].rstrip("\r\n").split(sep)
        if all(not v.strip() for v in after[self.index_cols :]):
            skip += 1  # pandas writes a row naming the index levels; it holds no data
        raw = pd.read_csv(
            self.path,
            sep=sep,
            header=None,
            skiprows=skip,
            usecols=list(range(self.index_cols)),
            dtype=str,
            keep_default_na=False,
        )
        if self.index_cols == 1:
            return pd.Index(raw.iloc[:, 0])
        return pd.MultiIndex.from_frame(raw)

    def columns(self) -> pd.Index:
        """Only the column labels (the header rows)."""
        if self.path.suffix == ".parquet":
            return self.read().columns
        return self.read(nrows=0).columns


@dataclass
class MrioFiles:
    """Where each table of an MRIO lives."""

    root: Path
    tables: dict[str, TableFile] = field(default_factory=dict)


def _fail(path: Path, message: str, help: str | None = None, line: int = 1) -> DataError:
    return DataError([Diagnostic("E0809", message, Span.point(str(path), line, 1), help)])


def locate(
    root: Path, extension: str | None, names: dict[str, str] | None = None, split: str | None = None
) -> MrioFiles:
    """Find the tables of the MRIO in ``root`` and of its chosen extension.

    Raises:
        DataError: the folder is not an MRIO, or the extension is missing or ambiguous.
    """
    files = MrioFiles(root)
    params = root / "file_parameters.json"
    if params.is_file():
        _pymrio_tables(params, files.tables, ("Z", "Y", "population"))
        exts = {}
        for sub in sorted(p for p in root.iterdir() if (p / "file_parameters.json").is_file()):
            meta = json.loads((sub / "file_parameters.json").read_text(encoding="utf-8"))
            exts[sub.name] = (sub, str(meta.get("name", sub.name)))
        chosen = _choose_extension(root, extension, {k: v[1] for k, v in exts.items()})
        if chosen is not None:
            _pymrio_tables(exts[chosen][0] / "file_parameters.json", files.tables, ("F", "F_Y"))
    else:
        levels = 1 if split else 2
        for name in MEMBERS:
            candidates = [root / f"{name}.csv"]
            if extension and name in ("F", "F_Y"):
                candidates = [
                    root / f"{extension}_{name}.csv",
                    root / extension / f"{name}.csv",
                    *candidates,
                ]
            if names and name in names:
                candidates = [root / names[name]]
                if not candidates[0].is_file():
                    raise _fail(
                        root, f"`files: {{{name}: {names[name]}}}`: no such file in `{root.name}`"
                    )
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                continue
            rows = 1 if name == "population" or (split and name in ("F", "F_Y")) else levels
            cols = 1 if name == "population" else levels
            files.tables[name] = TableFile(found, rows, cols, split)
    real_root = root.resolve()
    for name, table in files.tables.items():
        real = table.path.resolve()
        if real_root not in real.parents or not real.is_file():
            raise _fail(
                root,
                f"table `{name}` (`{table.path.name}`) is not a plain file inside `{root.name}`",
                "an MRIO folder may only name files inside itself",
            )
    for required in ("Z", "Y"):
        if required not in files.tables:
            raise _fail(
                root,
                f"`{root.name}` has no `{required}` table; it is not an MRIO folder",
                "give a folder written by pymrio's save_all(), or one with Z.csv and Y.csv",
            )
    return files


def _choose_extension(root: Path, extension: str | None, exts: dict[str, str]) -> str | None:
    if extension is None:
        if len(exts) > 1:
            raise _fail(
                root,
                f"`{root.name}` has several extensions: {', '.join(exts)}",
                "choose one with `extension:` on the data entry",
            )
        return next(iter(exts), None)
    for folder, name in exts.items():
        if extension.lower() in (folder.lower(), name.lower()):
            return folder
    raise _fail(
        root,
        f"`{root.name}` has no extension `{extension}`",
        f"its extensions are: {', '.join(exts) or 'none'}",
    )


def _pymrio_tables(params: Path, out: dict[str, TableFile], names: tuple[str, ...]) -> None:
    meta = json.loads(params.read_text(encoding="utf-8"))
    for name, spec in meta.get("files", {}).items():
        if name in names:
            out[name] = TableFile(
                params.parent / spec["name"],
                int(spec.get("nr_index_col", 1)),
                int(spec.get("nr_header", 1)),
            )


def _labels(values: Any) -> list[str]:
    return [str(v) for v in dict.fromkeys(values)]


def _stressor_labels(index: pd.Index) -> list[str]:
    if isinstance(index, pd.MultiIndex):
        return ["/".join(str(p) for p in t) for t in index]
    return [str(v) for v in index]


@dataclass(frozen=True)
class MrioLabels:
    """The label sets of an MRIO: regions, sectors, final-demand categories, stressors."""

    region: tuple[str, ...]
    sector: tuple[str, ...]
    category: tuple[str, ...]
    stressor: tuple[str, ...]


def labels(files: MrioFiles) -> MrioLabels:
    """Read only the labels (index columns and header rows), cheaply, for the compiler."""
    z = files.tables["Z"]
    rows = z.index()
    if not isinstance(rows, pd.MultiIndex) or rows.nlevels != 2:
        raise _fail(z.path, f"`{z.path.name}` rows must be labelled by (region, sector)")
    y = files.tables["Y"]
    ycols = y.columns()
    if not isinstance(ycols, pd.MultiIndex) or ycols.nlevels != 2:
        raise _fail(y.path, f"`{y.path.name}` columns must be labelled by (region, category)")
    stressor: list[str] = []
    if "F" in files.tables:
        stressor = _stressor_labels(files.tables["F"].index())
    return MrioLabels(
        tuple(_labels(rows.get_level_values(0))),
        tuple(_labels(rows.get_level_values(1))),
        tuple(_labels(ycols.get_level_values(1))),
        tuple(stressor),
    )


def _numeric(df: pd.DataFrame, table: TableFile) -> np.ndarray:
    values = df.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        line = table.header_rows + 1 + i + 1 if table.path.suffix != ".parquet" else 1
        raise _fail(
            table.path,
            f"non-numeric or missing value in `{table.path.name}` at row "
            f"{df.index[i]!r}, column {df.columns[j]!r} ({int(bad.sum())} such cell{'s' if int(bad.sum()) != 1 else ''})",
            "every cell of an MRIO table must be a finite number",
            line,
        )
    return values


def read(files: MrioFiles, lab: MrioLabels) -> dict[str, np.ndarray]:
    """Read every table as arrays over the named axes (see the module docstring)."""
    rs = pd.MultiIndex.from_product([lab.region, lab.sector])
    rc = pd.MultiIndex.from_product([lab.region, lab.category])
    out: dict[str, np.ndarray] = {}
    nr, ns, nc = len(lab.region), len(lab.sector), len(lab.category)
    z = files.tables["Z"]
    out["Z"] = _numeric(_align(z.read(), z, rs, rs), z).reshape(nr, ns, nr, ns)
    y = files.tables["Y"]
    out["Y"] = _numeric(_align(y.read(), y, rs, rc), y).reshape(nr, ns, nr, nc)
    if "F" in files.tables:
        f = files.tables["F"]
        fdf = f.read()
        fdf.index = pd.Index(_stressor_labels(fdf.index))
        out["F"] = _numeric(_align(fdf, f, None, rs), f).reshape(len(lab.stressor), nr, ns)
    if "F_Y" in files.tables:
        fy = files.tables["F_Y"]
        fydf = fy.read()
        fydf.index = pd.Index(_stressor_labels(fydf.index))
        out["F_Y"] = _numeric(_align(fydf, fy, pd.Index(list(lab.stressor)), rc), fy).reshape(
            len(lab.stressor), nr, nc
        )
    if "population" in files.tables:
        p = files.tables["population"]
        pdf = p.read()
        pdf.columns = pd.Index([str(c) for c in pdf.columns])
        out["population"] = _numeric(_align(pdf, p, None, pd.Index(list(lab.region))), p).sum(
            axis=0
        )
    return out


def _align(
    df: pd.DataFrame, table: TableFile, rows: pd.Index | None, cols: pd.Index
) -> pd.DataFrame:
    """Reorder to the expected labels, failing with the missing labels named."""
    df.columns = _as_str(df.columns)
    if rows is not None:
        df.index = _as_str(df.index)
        missing = rows.difference(df.index)
        if len(missing):
            raise _fail(
                table.path,
                f"`{table.path.name}` lacks rows {list(missing[:3])}",
                "every (region, sector) must have a row",
            )
        df = df.reindex(rows)
    missing_cols = cols.difference(df.columns)
    if len(missing_cols):
        raise _fail(
            table.path,
            f"`{table.path.name}` lacks columns {list(missing_cols[:3])}",
            "the tables of one MRIO must share their region, sector and category labels",
        )
    return df.reindex(columns=cols)


def _as_str(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        return pd.MultiIndex.from_tuples([tuple(str(p) for p in t) for t in index])
    return pd.Index([str(v) for v in index])
