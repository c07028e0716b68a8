"""carbonc: a language, compiler and vectorised runtime for panoramic carbon accounting."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

try:
    __version__ = version("carbonc")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

from carbonc.dsl.diagnostics import CarbonError, Diagnostic

if TYPE_CHECKING:
    from carbonc.compiler.api import Model

__all__ = ["CarbonError", "Diagnostic", "__version__", "load"]


def load(path: str | Path, allow: Iterable[str | Path] = ()) -> Model:
    """Load and compile a model file; see :func:`carbonc.compiler.load`."""
    from carbonc.compiler import load as _load

    return _load(path, allow)
