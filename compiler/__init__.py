"""The carbonc compiler: resolve imports, check names, dims and units, lower to IR."""

from .api import AssertionFailed, Model, compile_model, load

__all__ = ["AssertionFailed", "Model", "compile_model", "load"]
