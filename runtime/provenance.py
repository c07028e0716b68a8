"""Provenance: what produced a result, enough to reproduce it bit for bit."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from carbonc.runtime.sparse import Sparse


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_array(values: np.ndarray | Sparse) -> str:
    """The SHA-256 of an array's shape and bytes (for data given in memory).

    A sparse array hashes its shape, positions, values and fill, never its dense form.
    """
    if isinstance(values, Sparse):
        h = hashlib.sha256(repr(("sparse", values.shape, values.fill)).encode())
        h.update(np.ascontiguousarray(values.index).data)
        h.update(np.ascontiguousarray(values.data).data)
        return h.hexdigest()
    h = hashlib.sha256(repr(values.shape).encode())
    h.update(np.ascontiguousarray(values).data)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    """The SHA-256 of a text, UTF-8 encoded."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def display_path(path: Path | str, base: Path) -> str:
    """``path`` relative to ``base`` when below it; stdlib files as ``stdlib:…``; else as is."""
    from carbonc.compiler.paths import STDLIB_ROOT

    p = Path(path).resolve()
    for root, prefix in ((base.resolve(), ""), (STDLIB_ROOT, "stdlib:")):
        try:
            return prefix + p.relative_to(root).as_posix()
        except ValueError:
            continue
    return p.as_posix()


def provenance(
    *,
    version: str,
    model: str,
    model_files: Mapping[str, str],
    data_files: Mapping[str, str],
    choices: Mapping[str, str],
    overrides: Iterable[Mapping[str, str]],
    seed: int | None = None,
) -> dict[str, Any]:
    """The provenance record written beside every result.

    Args:
        version: the carbonc version.
        model: the root model's name.
        model_files: file -> SHA-256 for the model and everything it imports or extends.
        data_files: file -> SHA-256 for every data file read.
        choices: choice -> value used in this run.
        overrides: the overrides applied, each with its target and `because`.
        seed: the random seed, when sampling.
    """
    combined = hashlib.sha256(
        "".join(f"{k}\0{v}\n" for k, v in sorted(model_files.items())).encode()
    ).hexdigest()
    return {
        "carbonc_version": version,
        "model": model,
        "model_hash": combined,
        "model_files": dict(sorted(model_files.items())),
        "data_files": dict(sorted(data_files.items())),
        "choices": dict(sorted(choices.items())),
        "overrides": list(overrides),
        "seed": seed,
        "numpy_version": np.__version__,
    }
