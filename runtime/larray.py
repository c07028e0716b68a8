"""Labelled arrays: numpy values whose axes are named dimensions, broadcast by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from carbonc.runtime.sparse import Sparse

Array = npt.NDArray[Any]

SAMPLE = "~sample"
"""The Monte Carlo sample axis. No model dim can take this name, and it always broadcasts:
an array that has it aligns to any dims with it first, so one run computes every sample."""


@dataclass(frozen=True, slots=True)
class LArray:
    """An array whose axes are named. Labels live once per program, in :class:`Coords`.

    ``raw`` is a numpy array, or a :class:`Sparse` for a large, mostly empty table. Kernels that
    know sparse arrays read ``sparse``; every other reader sees ``values``, the dense array
    (computed on each access, so it is the fallback and never the fast path).
    """

    raw: Array | Sparse
    dims: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.raw.ndim != len(self.dims):  # pragma: no cover - an internal invariant
            raise ValueError(f"array has {self.raw.ndim} axes but dims {self.dims}")

    @classmethod
    def of(cls, values: Array | Sparse, dims: tuple[str, ...]) -> LArray:
        """``values`` over ``dims``, or over ``(SAMPLE, *dims)`` when it has one axis more."""
        if values.ndim == len(dims) + 1 and SAMPLE not in dims:
            return cls(values, (SAMPLE, *dims))
        return cls(values, dims)

    @property
    def values(self) -> Array:
        """The values as a dense numpy array (the sample axis first when sampled)."""
        return self.raw.todense() if isinstance(self.raw, Sparse) else self.raw

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the dense form (the sample axis first when sampled)."""
        return self.raw.full_shape if isinstance(self.raw, Sparse) else self.raw.shape

    @property
    def sparse(self) -> Sparse | None:
        """The sparse form, when the array is held sparse."""
        return self.raw if isinstance(self.raw, Sparse) else None

    @property
    def sampled(self) -> bool:
        """Whether the array has a Monte Carlo sample axis."""
        return SAMPLE in self.dims

    def aligned(self, dims: tuple[str, ...]) -> Array:
        """The values with axes ordered as ``dims``; missing dims become length-1 axes.

        A sampled array keeps its sample axis, first, whatever ``dims`` asks for.
        """
        if SAMPLE in self.dims and SAMPLE not in dims:
            dims = (SAMPLE, *dims)
        if self.dims == dims:
            return self.values
        present = [d for d in dims if d in self.dims]
        order = [self.dims.index(d) for d in present]
        v = self.values.transpose(order) if order != list(range(len(order))) else self.values
        if len(present) == len(dims):
            return v
        shape = []
        it = iter(v.shape)
        for d in dims:
            shape.append(next(it) if d in self.dims else 1)
        return v.reshape(shape)

    def transposed(self, dims: tuple[str, ...]) -> LArray:
        """The same data with axes in the order ``dims`` (a permutation of ``self.dims``)."""
        if isinstance(self.raw, Sparse):
            core = [d for d in self.dims if d != SAMPLE]
            order = [core.index(d) for d in dims if d != SAMPLE]
            return LArray(self.raw.permuted(order), dims)
        return LArray(np.ascontiguousarray(self.aligned(dims)), dims)

    def scalar(self) -> float:
        """The single value of a zero-dimensional array."""
        return float(self.values.reshape(-1)[0])


def broadcast_dims(*dims: tuple[str, ...]) -> tuple[str, ...]:
    """The dims of a broadcast result: first operand's order, then new dims as they appear."""
    out: list[str] = []
    for ds in dims:
        for d in ds:
            if d not in out:
                out.append(d)
    return tuple(out)
