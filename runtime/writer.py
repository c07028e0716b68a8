"""Write results atomically: into a temporary folder beside the target, then rename."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .results import Result, Results

Format = Literal["csv", "json"]
_SAFE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


def _number(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    f = float(v)
    return (
        repr(f) if math.isfinite(f) else ("nan" if math.isnan(f) else ("inf" if f > 0 else "-inf"))
    )


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _stats(r: Result) -> dict[str, Any]:
    return {k: v.reshape(-1) for k, v in (r.stats or {}).items()}


def result_csv(r: Result) -> str:
    """A tidy CSV: one column per dimension, ``value``, any uncertainty statistics, ``unit``."""
    stats = _stats(r)
    lines = [",".join([*r.dims, "value", *stats, "unit"])]
    unit = _csv_field(r.unit)
    for i, (labels, value) in enumerate(r.rows()):
        extra = [_number(v[i]) for v in stats.values()]
        lines.append(",".join([*(_csv_field(lab) for lab in labels), _number(value), *extra, unit]))
    return "\n".join(lines) + "\n"


def result_json(r: Result) -> dict[str, Any]:
    """A JSON-ready record of one output."""
    stats = _stats(r)
    return {
        "dims": list(r.dims),
        "unit": r.unit,
        "rows": [
            {
                **dict(zip(r.dims, labels, strict=True)),
                "value": _json_number(v),
                **{k: _json_number(s[i]) for k, s in stats.items()},
            }
            for i, (labels, v) in enumerate(r.rows())
        ],
    }


def samples_frame(r: Result, samples: Any) -> Any:
    """Every sample of one output as a tidy pandas frame: ``sample``, the dims, ``value``."""
    import pandas as pd

    n = samples.shape[0]
    index = pd.MultiIndex.from_product(
        [range(n), *(list(r.labels[d]) for d in r.dims)], names=["sample", *r.dims]
    )
    return pd.DataFrame({"value": np.asarray(samples).reshape(-1)}, index=index).reset_index()


def _json_number(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    f = float(v)
    return f if math.isfinite(f) else None


class OutputError(OSError):
    """The output folder cannot be written or replaced safely."""


def write_results(
    results: Results, out: Path, fmt: Format = "csv", samples: bool = False
) -> list[Path]:
    """Write every output and ``provenance.json`` into ``out``, all or nothing.

    With ``samples``, each output's Monte Carlo samples go to ``samples/NAME.parquet`` too.

    An existing ``out`` is replaced only when it is empty or an earlier carbonc output (it holds a
    ``provenance.json``), so a mistyped ``-o`` never deletes unrelated files.

    Returns:
        The files written, at their final paths.

    Raises:
        OutputError: ``out`` exists and is not a carbonc output folder.
    """
    out = out.resolve()
    if samples and results.samples is not None:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise OutputError(
                "writing samples as Parquet needs pyarrow: pip install 'carbonc[parquet]'"
            ) from None
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / "provenance.json").is_file())
    ):
        raise OutputError(
            f"refusing to replace `{out}`: it exists and is not a carbonc output folder"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        names: list[str] = []
        for name in results.outputs:
            if not _SAFE_NAME.match(name):  # names are checked identifiers; this is a last guard
                raise OutputError(f"refusing to write an output named `{name}`")
        if fmt == "csv":
            for name, r in results.outputs.items():
                (tmp / f"{name}.csv").write_text(result_csv(r), encoding="utf-8")
                names.append(f"{name}.csv")
        else:
            doc = {name: result_json(r) for name, r in results.outputs.items()}
            (tmp / "results.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
            names.append("results.json")
        if samples and results.samples is not None:
            (tmp / "samples").mkdir()
            for name, r in results.outputs.items():
                rel = f"samples/{name}.parquet"
                samples_frame(r, results.samples[name]).to_parquet(tmp / rel, index=False)
                names.append(rel)
        prov = {**results.provenance, "asserts": results.asserts}
        (tmp / "provenance.json").write_text(json.dumps(prov, indent=2) + "\n", encoding="utf-8")
        names.append("provenance.json")
        for name in names:
            with (tmp / name).open("rb") as f:
                os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; outputs are ordinary files
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / n for n in names]


def _swap(tmp: Path, out: Path) -> None:
    """Replace ``out`` with ``tmp``; an existing folder is moved aside first, then removed."""
    if not out.exists():
        os.replace(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    old.rmdir()
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
