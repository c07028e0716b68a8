"""Load every data entry of a checked program into labelled arrays, collecting all problems."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from carbonc.compiler.dims import Dimension
from carbonc.compiler.paths import PathError, safe_path
from carbonc.compiler.program import Definition, MrioMember
from carbonc.dsl.diagnostics import Diagnostic, Diagnostics
from carbonc.dsl.schema import DataSpec, ParameterSpec
from carbonc.dsl.span import Span

from .larray import LArray
from .provenance import sha256_array, sha256_file
from .readers import Axis, DataError, inline_array, read_long, read_long_sparse, read_wide
from .sparse import Sparse


@dataclass
class Loaded:
    """Arrays by qualified name, and the SHA-256 of every file read.

    Hashes of large in-memory arrays are computed on a worker thread while the model runs
    (hashlib releases the GIL); ``hashes()`` waits for them.
    """

    arrays: dict[str, LArray] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    pending: dict[str, Future[str]] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)  # the file each entry was read from

    def hash_later(self, key: str, values: np.ndarray | Sparse) -> None:
        """Start hashing ``values`` in the background under ``key``."""
        pool = ThreadPoolExecutor(max_workers=1)
        self.pending[key] = pool.submit(sha256_array, values)
        pool.shutdown(wait=False)

    def hashes(self) -> dict[str, str]:
        """Every data hash, waiting for background ones."""
        return {**self.files, **{k: f.result() for k, f in self.pending.items()}}


def axes_for(
    dims: tuple[str, ...],
    coords: Mapping[str, Dimension],
    module: object = None,
    root: bool = False,
) -> list[Axis]:
    """Reader axes for ``dims`` in a file of ``module``: the program's labels, every label any
    module knows, the labels ``module`` lists when the others are zero there, and whether a
    label outside the program is an error (in the model's own data, when methods disagree)."""
    out = []
    for d in dims:
        c = coords[d]
        strict = root and not c.declared_by_model
        out.append(Axis(d, c.labels, c.index, c.known, c.own_labels(module), strict))
    return out


def load_all(
    defs: Mapping[str, Definition],
    wanted: Mapping[str, object],
    coords: Mapping[str, Dimension],
    overrides: Mapping[str, Path],
    diags: Diagnostics,
) -> Loaded:
    """Load the data behind every ``Load`` op.

    Args:
        defs: the program's definitions.
        wanted: qualified names whose IR is a ``Load``.
        coords: the program's dimensions.
        overrides: qualified name -> a file given on the command line (``--data``).
        diags: where problems go; every entry is tried so all errors are reported at once.
    """
    loaded = Loaded()
    mrios: dict[int, dict[str, np.ndarray]] = {}  # each MRIO folder is read once per run
    mrio_files: dict[Path, Any] = {}  # folders given with --data, located once
    for q in wanted:
        d = defs[q]
        arr: LArray | None
        path: Path | None
        try:
            if isinstance(d.spec, MrioMember):
                files = _mrio_files(d.spec, overrides.get(q), coords, mrio_files)
                arr, path = _mrio_member(d, d.spec.member, files, coords, mrios), None
                for t in files.tables.values():
                    loaded.files.setdefault(str(t.path), sha256_file(t.path))
            else:
                arr, path = load_one(d, coords, overrides.get(q))
        except DataError as exc:
            note = f"while reading `{d.qname}`, declared at {d.span}"
            diags.extend(replace(x, notes=(*x.notes, note)) for x in exc.diagnostics)
            continue
        except PathError as exc:
            spec = d.spec
            span = (
                d.module.span(_section(d), d.name, "csv") if isinstance(spec, DataSpec) else d.span
            )
            diags.error("E0801", str(exc), span, help=exc.help)
            continue
        if arr is None:
            where = f"`{d.qname}` is an input of {d.owner.label} and has no value"
            diags.error(
                "E0702",
                where,
                d.span,
                help=f"import this file and bind it with `with:`, or pass `--data {d.qname}=FILE.csv`",
            )
            continue
        loaded.arrays[q] = arr
        if path is not None:
            loaded.files[str(path)] = sha256_file(path)
            loaded.paths[q] = path
    return loaded


def _mrio_files(
    m: MrioMember, override: Path | None, coords: Mapping[str, Dimension], cache: dict[Path, Any]
) -> Any:
    """The tables to read: the entry's own folder, or one given with ``--data``, which must have
    the same labels (the model was compiled against them)."""
    from . import mrio

    if override is None:
        return m.files
    if override not in cache:
        if not override.is_dir():
            raise DataError(
                [
                    Diagnostic(
                        "E0801", f"MRIO folder `{override}` given with --data does not exist", None
                    )
                ]
            )
        files = mrio.locate(override, m.spec.extension, m.spec.files, m.spec.split)
        labels = mrio.labels(files)
        for dim in ("region", "sector", "category", "stressor"):
            have, want = getattr(labels, dim), coords[dim].labels if dim in coords else ()
            if want and tuple(have) != tuple(want):
                raise DataError(
                    [
                        Diagnostic(
                            "E0809",
                            f"the MRIO in `{override}` has other `{dim}` labels than the model's",
                            Span.point(str(files.tables["Z"].path), 1, 1),
                            "rerun on a table with the same regions, sectors, categories and stressors, "
                            "or aggregate it first",
                        )
                    ]
                )
        cache[override] = files
    return cache[override]


def _mrio_member(
    d: Definition,
    member: str,
    files: Any,
    coords: Mapping[str, Dimension],
    cache: dict[int, dict[str, np.ndarray]],
) -> LArray:
    from . import mrio

    key = id(files)
    if key not in cache:
        labels = mrio.MrioLabels(
            *(
                coords[k].labels if k in coords else ()
                for k in ("region", "sector", "category", "stressor")
            )
        )
        try:
            cache[key] = mrio.read(files, labels)
        except DataError:
            cache[key] = {}  # reported once, for the first table read
            raise
    if member not in cache[key]:
        raise DataError([])  # the folder's error was already reported
    return LArray(cache[key][member], d.dims or ())


def _section(d: Definition) -> str:
    return "data" if d.kind == "data" else "parameters"


def load_one(
    d: Definition, coords: Mapping[str, Dimension], override: Path | None
) -> tuple[LArray | None, Path | None]:
    """Load one entry; returns (array, file read) or (None, None) for an unbound input."""
    dims = d.dims or ()
    axes = axes_for(dims, coords, d.module, d.owner.depth == 0)
    spec = d.spec
    if override is not None:
        if not override.is_file():
            raise PathError(f"data file `{override}` given with --data does not exist")
        ds = spec if isinstance(spec, DataSpec) else DataSpec(dims=list(dims), unit=d.unit or "1")
        return LArray(_read_csv(override, ds, axes), dims), override
    if isinstance(spec, DataSpec):
        span = d.module.key_span("data", d.name)
        diags = Diagnostics()
        if (spec.csv is None) == (spec.values is None):
            diags.error(
                "E0102",
                f"data entry `{d.name}` needs exactly one of `csv:` or `values:`",
                span,
                help="`csv: file.csv` reads a table; `values:` gives numbers inline",
            )
        if spec.wide is not None and spec.wide not in dims:
            diags.error(
                "E0305",
                f"`wide: {spec.wide}` is not one of the entry's dims {list(dims)}",
                d.module.span("data", d.name, "wide"),
            )
        for k in spec.columns:
            if k not in dims:
                diags.error(
                    "E0305",
                    f"`columns` names `{k}`, which is not one of the entry's dims",
                    d.module.span("data", d.name, "columns", k),
                )
        if diags.has_errors:
            raise DataError(diags.items)
        if spec.sparse and isinstance(spec.values, (int, float)):
            # One value everywhere (a placeholder for arrays given in memory): nothing stored.
            shape = tuple(len(a.labels) for a in axes)
            empty = np.zeros(0, dtype=np.int64)
            return LArray(Sparse(shape, empty, np.zeros(0), float(spec.values)), dims), None
        if spec.values is not None:
            values = inline_array(
                spec.values, axes, d.module.span("data", d.name, "values"), spec.fill
            )
            return LArray(Sparse.from_dense(values) if spec.sparse else values, dims), None
        assert spec.csv is not None
        path = safe_path(d.module.folder, spec.csv, d.owner.sandbox, "data")
        if spec.sparse and spec.wide is None:
            value = None if spec.mapping else spec.value  # a concordance: each row is a 1
            table = read_long_sparse(path, axes, value, spec.columns, spec.fill)
            return LArray(table, dims), path
        values = _read_csv(path, spec, axes)
        return LArray(Sparse.from_dense(values) if spec.sparse else values, dims), path
    if isinstance(spec, ParameterSpec) and spec.values is not None:
        return LArray(
            inline_array(spec.values, axes, d.module.span("parameters", d.name, "values")), dims
        ), None
    return None, None


def _read_csv(path: Path, spec: DataSpec, axes: list[Axis]) -> np.ndarray:
    if spec.wide is not None:
        return read_wide(path, axes, spec.wide, spec.columns, spec.fill)
    if spec.mapping:
        return read_long(path, axes, None, spec.columns, 0.0 if spec.fill is None else spec.fill)
    return read_long(path, axes, spec.value, spec.columns, spec.fill)
