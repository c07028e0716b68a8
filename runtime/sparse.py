"""Sparse arrays: the cells a table stores, one fill value for the rest, and a pattern cache.

An LCA database of ecoinvent's size has 25,000 products and processes: a [product, process]
exchange table is 625 million cells, of which about 500,000 are not zero. Such a table is held
as a :class:`Sparse`: the flat positions of its stored cells (sorted, unique), their values and
one *fill* value for every other cell. The fill need not be zero: ``1 - reference`` keeps the
pattern of ``reference`` with fill 1, and a comparison such as ``technosphere_in >= 0`` gives
stored booleans with fill ``True``.

The kernels in ``sparse_ops`` cover what matrix-method LCA needs: element-wise operations (the
result keeps the union of the patterns, and the fill is the operation applied to the fills),
sums over dims, and contractions (``sum(a * b, over=...)`` and ``@``) as sparse products. Each
returns ``None`` when it cannot keep its result sparse (for example when the fill would differ
from cell to cell); the executor then falls back to dense arrays, which is always correct.
Tables become sparse only when declared (``sparse: true``) or given as SciPy sparse matrices,
and a constant spread over a large table is held as a fill value.

A sampled array stores one row of values per Monte Carlo sample over the same pattern: the
sample axis stays dense and first, as everywhere else.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]
# A constant spread over at least this many cells is held as a fill value (nothing stored).
SPARSE_MIN_CELLS = 1 << 20


T = TypeVar("T")

PATTERN_CACHE_BYTES = 256 << 20


class PatternCache:
    """Results of symbolic work on patterns (unions, joins, permutations, lookups), keyed by
    the identity of the position arrays they read.

    Every Monte Carlo chunk runs the same operations on the same patterns; only the values
    differ. The cached results are themselves reused position arrays, so whole chains of
    operations hit the cache after the first chunk. Entries hold their keys' arrays, so an
    ``id`` cannot be reused while its entry lives; the cache lives for one run (``patterns``).
    """

    def __init__(self, budget: int = PATTERN_CACHE_BYTES):
        self.budget = budget
        self.entries: OrderedDict[tuple[Any, ...], tuple[tuple[Array, ...], Any, int]] = (
            OrderedDict()
        )
        self.bytes = 0

    def get(self, arrays: tuple[Array, ...], extra: Any, compute: Callable[[], T]) -> T:
        """The cached ``compute()`` for these arrays (by identity) and ``extra``."""
        key = (tuple(id(a) for a in arrays), extra)
        hit = self.entries.get(key)
        if hit is not None and all(x is y for x, y in zip(hit[0], arrays, strict=True)):
            self.entries.move_to_end(key)
            value: T = hit[1]
            return value
        value = compute()
        # The keys count too: an entry keeps its key arrays alive.
        size = _nbytes(value) + sum(int(a.nbytes) for a in arrays)
        self.entries[key] = (arrays, value, size)
        self.bytes += size
        while self.bytes > self.budget and len(self.entries) > 1:
            _, (_, _, dropped) = self.entries.popitem(last=False)
            self.bytes -= dropped
        return value


def _nbytes(value: Any) -> int:
    if isinstance(value, tuple):
        return sum(_nbytes(v) for v in value)
    nbytes = getattr(value, "nbytes", None)  # arrays, and objects that say what they hold
    return int(nbytes) if nbytes is not None else 64


_ACTIVE: ContextVar[PatternCache | None] = ContextVar("carbonc_patterns", default=None)


@contextmanager
def patterns() -> Iterator[PatternCache]:
    """A pattern cache for the operations run inside the block (one model run)."""
    cache = _ACTIVE.get() or PatternCache()
    token = _ACTIVE.set(cache)
    try:
        yield cache
    finally:
        _ACTIVE.reset(token)


def caching() -> bool:
    """Whether a pattern cache is active (a Monte Carlo run: its chunks repeat the work)."""
    return _ACTIVE.get() is not None


def cached(arrays: tuple[Array, ...], extra: Any, compute: Callable[[], T]) -> T:
    """``compute()``, from the active pattern cache when there is one."""
    cache = _ACTIVE.get()
    return compute() if cache is None else cache.get(arrays, extra, compute)


@dataclass(frozen=True, slots=True)
class Sparse:
    """Cells of an array over ``shape`` stored at sorted flat positions; the rest equal ``fill``.

    ``data`` is ``(nnz,)``, or ``(samples, nnz)`` for a Monte Carlo array (``lead``).
    """

    shape: tuple[int, ...]
    index: Array  # int64 flat positions (C order over ``shape``), sorted and unique
    data: Array
    fill: Any = 0.0

    @property
    def lead(self) -> tuple[int, ...]:
        """The dense leading axes of ``data`` (the sample axis, when sampled)."""
        return tuple(self.data.shape[:-1])

    @property
    def full_shape(self) -> tuple[int, ...]:
        """The shape of the dense form, the sample axis first."""
        return (*self.lead, *self.shape)

    @property
    def ndim(self) -> int:
        """Axes of the array, the sample axis included."""
        return len(self.lead) + len(self.shape)

    @property
    def nnz(self) -> int:
        """How many cells are stored."""
        return int(self.index.size)

    @property
    def cells(self) -> int:
        """How many cells the array has (per sample)."""
        return int(np.prod(self.shape, dtype=np.int64))

    def coords(self) -> tuple[Array, ...]:
        """The position of every stored cell along each axis."""
        if not self.shape:
            return ()
        shape = self.shape
        return cached((self.index,), ("coords", shape), lambda: _coords(self.index, shape))

    def todense(self) -> Array:
        """The full array (the sample axis first when sampled)."""
        dtype = np.result_type(self.data.dtype, np.asarray(self.fill).dtype)
        out = np.full((*self.lead, self.cells), self.fill, dtype=dtype)
        out[..., self.index] = self.data
        return out.reshape(*self.lead, *self.shape)

    def sliced(self, index: tuple[slice, ...]) -> Sparse:
        """The cells inside a box of ranges (one slice of step 1 per axis)."""
        bounds = []
        for sl, n in zip(index, self.shape, strict=True):
            lo, hi, step = sl.indices(n)
            if step != 1:
                raise ValueError("a sparse array is sliced by ranges of step 1")
            bounds.append((lo, max(lo, hi)))
        shape = tuple(hi - lo for lo, hi in bounds)
        coords = self.coords()
        keep = np.ones(self.nnz, dtype=bool)
        for c, (lo, hi), n in zip(coords, bounds, self.shape, strict=True):
            if (lo, hi) != (0, n):
                keep &= (c >= lo) & (c < hi)
        # Restricting to a box and shifting keeps C order: the positions stay sorted.
        kept = tuple(c[keep] - lo for c, (lo, _) in zip(coords, bounds, strict=True))
        flat = np.ravel_multi_index(kept, shape).astype(np.int64)
        return Sparse(shape, flat, self.data[..., keep], self.fill)

    def gather(self, index: Array) -> Array:
        """Values at the flat positions ``index`` (the fill where nothing is stored)."""
        if index is self.index or (
            index.size == self.index.size and np.array_equal(index, self.index)
        ):
            return self.data
        if not self.nnz:
            return np.full((*self.lead, index.size), self.fill, dtype=self.data.dtype)
        pos, hit = cached((self.index, index), "lookup", lambda: _lookup(self.index, index))
        taken = self.data[..., pos]
        if hit is None:
            return taken
        return np.where(hit, taken, np.asarray(self.fill, dtype=taken.dtype))

    def permuted(self, order: Sequence[int]) -> Sparse:
        """The same array with its (non-sample) axes in ``order``."""
        order = list(order)
        if order == list(range(len(self.shape))):
            return self
        shape = tuple(self.shape[i] for i in order)
        index, perm = cached(
            (self.index,), ("permute", self.shape, tuple(order)), lambda: self._permutation(order)
        )
        return Sparse(shape, index, self.data[..., perm], self.fill)

    def _permutation(self, order: list[int]) -> tuple[Array, Array]:
        coords = self.coords()
        shape = tuple(self.shape[i] for i in order)
        index = np.ravel_multi_index(tuple(coords[i] for i in order), shape).astype(np.int64)
        perm = np.argsort(index, kind="stable")
        return index[perm], perm

    @classmethod
    def from_coords(
        cls, coords: Sequence[Array], data: Array, shape: tuple[int, ...], fill: Any = 0.0
    ) -> Sparse:
        """A sparse array from the positions of its cells; repeated cells are added up."""
        index = np.ravel_multi_index(tuple(np.asarray(c) for c in coords), shape).astype(np.int64)
        data = np.asarray(data, dtype=float)
        unique, inverse = unique_inverse(index)
        if unique.size == index.size:
            perm = np.argsort(index, kind="stable")
            return cls(shape, index[perm], data[..., perm], fill)
        summed = np.zeros((*data.shape[:-1], unique.size))
        np.add.at(summed, (..., inverse), data)  # type: ignore[arg-type]
        return cls(shape, unique, summed, fill)

    @classmethod
    def from_dense(cls, values: Array, lead: int = 0) -> Sparse:
        """The non-zero cells of a dense array (its first ``lead`` axes stay dense)."""
        shape = tuple(values.shape[lead:])
        flat = values.reshape(*values.shape[:lead], -1)
        nonzero = flat != 0 if lead == 0 else (flat != 0).any(axis=tuple(range(lead)))
        index = np.flatnonzero(nonzero).astype(np.int64)
        return cls(shape, index, flat[..., index], 0.0)


def _small(x: Array, bound: int) -> Array:
    """Positions below ``bound`` in 32 bits when they fit: the cached patterns take half the room."""
    return x.astype(np.int32) if bound < 2**31 else x


def _coords(index: Array, shape: tuple[int, ...]) -> tuple[Array, ...]:
    return tuple(_small(c, max(shape)) for c in np.unravel_index(index, shape))


def _lookup(stored: Array, index: Array) -> tuple[Array, Array | None]:
    """Where each of ``index`` sits in ``stored``, and whether it is there (None: all are)."""
    pos = _small(np.minimum(np.searchsorted(stored, index), stored.size - 1), stored.size)
    hit = stored[pos] == index
    return pos, (None if bool(hit.all()) else hit)


def union(indexes: Sequence[Array]) -> Array:
    """The union of sorted position arrays (the first itself when they are all equal)."""
    first = indexes[0]
    if all(x is first or (x.size == first.size and np.array_equal(x, first)) for x in indexes):
        return first

    def compute() -> Array:
        # Sorted runs: a stable sort merges them in linear time, then duplicates go.
        merged = np.sort(np.concatenate(indexes), kind="stable")
        keep = np.ones(merged.size, dtype=bool)
        np.not_equal(merged[1:], merged[:-1], out=keep[1:])
        return merged[keep]

    return cached(tuple(indexes), "union", compute)


def unique_inverse(key: Array) -> tuple[Array, Array]:
    """The sorted distinct values of ``key`` and where each element of ``key`` lands in them
    (``np.unique(..., return_inverse=True)``, by one sort: numpy's hash-based unique is slower
    on the hundreds of thousands of positions of an exchange table)."""
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    new = np.ones(ordered.size, dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = np.empty(key.size, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse
