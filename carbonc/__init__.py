"""carbonc: a language, compiler and vectorised runtime for panoramic carbon accounting."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("carbonc")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

from carbonc.dsl.diagnostics import CarbonError, Diagnostic

__all__ = ["CarbonError", "Diagnostic", "__version__", "load"]


def load(path: str, **kwargs: object) -> object:
    """Load and compile a model file; see :func:`carbonc.compiler.load`."""
    from carbonc.compiler import load as _load

    return _load(path, **kwargs)  # type: ignore[arg-type]
