"""Kernels that keep :class:`~carbonc.runtime.sparse.Sparse` arrays sparse.

Each returns ``None`` when it cannot keep its result sparse; the executor then computes densely
from ``LArray.values``, which is always correct but costs the full array. See ``sparse.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from carbonc.runtime.larray import SAMPLE, Array, LArray
from carbonc.runtime.sparse import Sparse, cached, caching, union, unique_inverse

# A contraction's result is made dense when more than this share of its cells is stored.
DENSE_RESULT_DENSITY = 0.25
# Dense operands larger than this (in all) are not broadcast to compute a result's fill.
FILL_CHECK_MAX_CELLS = 1 << 24
# A join of two sparse operands with more pairs than this is left to the dense path.
MAX_PAIRS = 1 << 27

Size = Callable[[str], int]


def core(dims: Sequence[str]) -> tuple[str, ...]:
    """``dims`` without the sample axis."""
    return tuple(d for d in dims if d != SAMPLE)


def in_order(x: LArray, order: Sequence[str]) -> Sparse:
    """The sparse ``x`` with its (non-sample) axes in ``order``."""
    assert x.sparse is not None
    own = core(x.dims)
    return x.sparse.permuted([own.index(d) for d in order])


def _labelled(s: Sparse | Array, dims: tuple[str, ...], sampled: bool) -> LArray:
    return LArray(s, (SAMPLE, *dims) if sampled else dims)


def _coords(index: Array, shape: tuple[int, ...]) -> tuple[Array, ...]:
    """The position of each flat ``index`` along every axis of ``shape``."""
    return Sparse(shape, index, index).coords()


def gather_dense(x: LArray, order: tuple[str, ...], coords: tuple[Array, ...]) -> Array:
    """Values of a dense ``x`` (over a subset of ``order``) at cells ``coords`` along ``order``."""
    v = x.aligned(order)  # sample axis first, length-1 axes where x lacks a dim
    lead = 1 if x.sampled else 0
    index = tuple(c if v.shape[lead + i] != 1 else np.zeros_like(c) for i, c in enumerate(coords))
    if lead:
        return np.asarray(v[(slice(None), *index)])  # type: ignore[arg-type]
    return np.asarray(v[index])


def elementwise(
    f: Callable[..., Array], operands: Sequence[LArray], dims: tuple[str, ...], size: Size
) -> LArray | None:
    """``f`` applied cell by cell, kept sparse when at least one operand is.

    Every sparse operand must span the result's dims and every dense one a subset of them.
    The result's pattern is the union of the operands' patterns and its fill is ``f`` of their
    fills, which must come out as one value (``T * (1 - R)`` does; ``T + v`` for a vector ``v``
    does not, and is computed densely).
    """
    order = core(dims)
    if not any(x.sparse is not None for x in operands):
        return None
    for x in operands:
        own = set(core(x.dims))
        if (own != set(order)) if x.sparse is not None else not own <= set(order):
            return None
    if sum(x.values.size for x in operands if x.sparse is None) > FILL_CHECK_MAX_CELLS:
        return None
    shape = tuple(size(d) for d in order)
    aligned = [in_order(x, order) if x.sparse is not None else None for x in operands]
    index = union([s.index for s in aligned if s is not None])
    coords = _coords(index, shape)
    gathered, fills = [], []
    for x, s in zip(operands, aligned, strict=True):
        if s is not None:
            gathered.append(s.gather(index))
            fills.append(np.asarray(s.fill))
        else:
            gathered.append(gather_dense(x, order, coords))
            fills.append(x.aligned(order))
    fill = np.asarray(f(*fills)).reshape(-1)
    if fill.size > 1 and not (np.all(fill == fill[0]) or np.all(np.isnan(fill))):
        return None
    data = np.asarray(f(*gathered))
    sampled = any(x.sampled for x in operands)
    lead = (size(SAMPLE),) if sampled else ()
    if data.shape != (*lead, index.size):
        data = np.ascontiguousarray(np.broadcast_to(data, (*lead, index.size)))
    value = fill[0].item() if fill.size else 0.0
    return _labelled(Sparse(shape, index, data, value), order, sampled)


def reduce_sum(x: LArray, over: Sequence[str], size: Size, mean: bool = False) -> LArray | None:
    """``sum`` (or ``mean``) of a sparse ``x`` over ``over``, as a dense array."""
    s = x.sparse
    if s is None:
        return None
    own = core(x.dims)
    kept = tuple(d for d in own if d not in over)
    kept_shape = tuple(size(d) for d in kept)
    m = int(np.prod(kept_shape, dtype=np.int64))
    coords = s.coords()
    key = (
        np.ravel_multi_index(tuple(coords[own.index(d)] for d in kept), kept_shape)
        if kept
        else np.zeros(s.nnz, dtype=np.int64)
    )
    data = s.data.astype(float, copy=False)
    if s.lead:
        scatter = sp.csr_matrix((np.ones(s.nnz), (key, np.arange(s.nnz))), shape=(m, s.nnz))
        out = np.asarray((scatter @ data.T).T)
    else:
        out = np.bincount(key, weights=data, minlength=m)
    per_out = s.cells // max(m, 1)
    if s.fill:
        out = out + float(s.fill) * (per_out - np.bincount(key, minlength=m))
    if mean:
        out = out / max(per_out, 1)
    return _labelled(out.reshape((*s.lead, *kept_shape)), kept, bool(s.lead))


def contract(
    a: LArray, b: LArray, pairs: Sequence[tuple[str, str]], out: tuple[str, ...], size: Size
) -> LArray | None:
    """``sum(a * b)`` over the paired dims (``a``'s name, ``b``'s name), with a sparse operand.

    ``out`` lists the result's dims (``a``'s kept dims, then ``b``'s, sample axis aside). Two
    sparse operands give a sparse product (or a dense one when it fills up); a sparse and a
    dense one give a dense result through a sparse matrix product. No other dim may be shared.
    """
    if a.sparse is None and b.sparse is None:
        return None
    rename = {db: da for da, db in pairs}
    b_dims = tuple(rename.get(d, d) for d in b.dims)
    if len(set(core(b_dims))) != len(core(b_dims)):
        return None
    b = LArray(b.raw, b_dims)
    summed = tuple(da for da, _ in pairs)
    shared = (set(core(a.dims)) & set(core(b.dims))) - set(summed)
    if shared:
        return None
    if a.sparse is not None and b.sparse is not None:
        return _sparse_sparse(a, b, summed, out, size)
    if a.sparse is None:
        a, b = b, a
    return _sparse_dense(a, b, summed, out, size)


def _sparse_sparse(
    a: LArray, b: LArray, summed: tuple[str, ...], out: tuple[str, ...], size: Size
) -> LArray | None:
    sa, sb = a.sparse, b.sparse
    assert sa is not None and sb is not None
    if sa.fill != 0 or sb.fill != 0 or (sa.lead and sb.lead and sa.lead != sb.lead):
        return None
    a_own, b_own = core(a.dims), core(b.dims)
    out_shape = tuple(size(d) for d in out)
    if not sa.lead and not sb.lead and not caching():
        return _sparse_product(a, b, summed, out, size)
    key = (a_own, b_own, summed, out, out_shape, sa.shape, sb.shape)
    join = cached((sa.index, sb.index), key, lambda: _join(sa, sb, a_own, b_own, summed, out, size))
    if join is None:
        return None
    ia, ib, index, scatter = join
    products = np.asarray(sa.data[..., ia] * sb.data[..., ib], dtype=float)
    lead = sa.lead or sb.lead
    values = np.asarray((scatter @ products.T).T) if lead else scatter @ products
    cells = int(np.prod(out_shape, dtype=np.int64))
    result = Sparse(out_shape, index, values, 0.0)
    if index.size > DENSE_RESULT_DENSITY * cells:
        return _labelled(result.todense(), out, bool(lead))
    return _labelled(result, out, bool(lead))


def _sparse_product(
    a: LArray, b: LArray, summed: tuple[str, ...], out: tuple[str, ...], size: Size
) -> LArray:
    """Unsampled sparse ``a`` times sparse ``b`` by SciPy's sparse product, which holds little
    more than its result. In a Monte Carlo run the join below serves instead: its symbolic part
    is cached, and every chunk then gets the same result pattern (the same array), on which
    the later operations hit the cache too. (SciPy's pattern, which drops exact zeros, could
    differ from chunk to chunk.)"""
    a_kept = tuple(d for d in core(a.dims) if d not in summed)
    b_kept = tuple(d for d in core(b.dims) if d not in summed)
    n_sum = _count(summed, size)
    ma = as_csr(in_order(a, (*a_kept, *summed)), _count(a_kept, size), n_sum)
    mb = as_csr(in_order(b, (*summed, *b_kept)), n_sum, _count(b_kept, size))
    product = sp.csr_matrix(ma @ mb)
    del ma, mb
    product.sort_indices()  # (it is ours: sorted in place rather than copied by from_csr)
    dims = (*a_kept, *b_kept)
    result = from_csr(product, tuple(size(d) for d in dims))
    if result.nnz > DENSE_RESULT_DENSITY * result.cells:
        return LArray(LArray(result.todense(), dims).aligned(out), out)
    return realign(LArray(result, dims), out)


def _count(dims: Sequence[str], size: Size) -> int:
    return int(np.prod([size(d) for d in dims], dtype=np.int64))


def as_csr(s: Sparse, n_rows: int, n_cols: int) -> sp.csr_matrix:
    """An unsampled ``s`` laid out as ``n_rows`` x ``n_cols`` (its flat positions are
    row * n_cols + col) as a SciPy CSR matrix sharing its values: sorted positions are CSR
    order already."""
    data = s.data if not s.lead else s.data[0]
    indptr = np.searchsorted(s.index, np.arange(n_rows + 1, dtype=np.int64) * n_cols)
    cols = s.index % n_cols
    index_type = np.int32 if max(n_cols, s.nnz) < 2**31 else np.int64
    return sp.csr_matrix(
        (np.asarray(data, dtype=float), cols.astype(index_type), indptr.astype(index_type)),
        shape=(n_rows, n_cols),
    )


def from_csr(m: sp.csr_matrix, shape: tuple[int, ...] | None = None) -> Sparse:
    """A CSR matrix as a ``Sparse`` over ``shape`` (default its own; the same cells in C
    order), sharing its values; the inverse of ``as_csr``. Duplicates are added up."""
    if not m.has_canonical_format:
        m = m.copy()
        m.sum_duplicates()  # (which also sorts each row's positions)
    n_rows, n_cols = m.shape
    index = np.repeat(np.arange(n_rows, dtype=np.int64) * n_cols, np.diff(m.indptr))
    index += m.indices
    return Sparse(shape or (n_rows, n_cols), index, np.asarray(m.data, dtype=float), 0.0)


def _join(
    sa: Sparse,
    sb: Sparse,
    a_own: tuple[str, ...],
    b_own: tuple[str, ...],
    summed: tuple[str, ...],
    out: tuple[str, ...],
    size: Size,
) -> tuple[Array, Array, Array, sp.csr_matrix] | None:
    """The pairs of stored cells of ``a`` and ``b`` that meet over ``summed``: their positions
    ``ia``, ``ib``, the result's pattern, and the matrix adding each pair into its cell."""
    ca, cb = sa.coords(), sb.coords()
    sum_shape = tuple(size(d) for d in summed)
    ka = np.ravel_multi_index(tuple(ca[a_own.index(d)] for d in summed), sum_shape)
    kb = np.ravel_multi_index(tuple(cb[b_own.index(d)] for d in summed), sum_shape)
    by_key = np.argsort(kb, kind="stable")
    kb_sorted = kb[by_key]
    lo = np.searchsorted(kb_sorted, ka, "left")
    count = np.searchsorted(kb_sorted, ka, "right") - lo
    total = int(count.sum())
    if total > MAX_PAIRS:
        return None
    ia = np.repeat(np.arange(sa.nnz, dtype=np.int32 if sa.nnz < 2**31 else np.int64), count)
    starts = np.repeat(lo - (np.cumsum(count) - count), count)
    ib = by_key[starts + np.arange(total)].astype(ia.dtype)
    out_shape = tuple(size(d) for d in out)
    out_coords = tuple(
        ca[a_own.index(d)][ia] if d in a_own else cb[b_own.index(d)][ib] for d in out
    )
    key = np.ravel_multi_index(out_coords, out_shape) if out else np.zeros(total, dtype=np.int64)
    index, inverse = unique_inverse(key)
    scatter = sp.csr_matrix(
        (np.ones(total), (inverse, np.arange(total))), shape=(index.size, total)
    )
    return ia, ib, index.astype(np.int64), scatter


def _sparse_dense(
    a: LArray, b: LArray, summed: tuple[str, ...], out: tuple[str, ...], size: Size
) -> LArray | None:
    """Sparse ``a`` times dense ``b``: a gather (``b`` over ``a``'s dims) or a matrix product."""
    sa = a.sparse
    assert sa is not None
    a_own, b_own = core(a.dims), core(b.dims)
    if set(b_own) <= set(a_own):
        product = elementwise(
            np.multiply, [a, b], a.dims if not b.sampled else (SAMPLE, *a_own), size
        )
        if product is None:
            return None
        return reduce_sum(product, summed, size)
    if sa.lead or sa.fill != 0:
        return None
    rows = tuple(d for d in a_own if d not in summed)
    rest = tuple(d for d in b_own if d not in summed)
    matrix = as_csr(in_order(a, (*rows, *summed)), _count(rows, size), _count(summed, size))
    n_sum = matrix.shape[1]
    v = b.aligned((*summed, *rest))  # the sample axis first when sampled
    if b.sampled:
        v = np.moveaxis(v, 0, -1)  # (*summed, *rest, samples)
    result = np.asarray(matrix @ v.reshape(n_sum, -1))
    shape = tuple(size(d) for d in (*rows, *rest))
    if b.sampled:
        result = np.moveaxis(result.reshape(*shape, size(SAMPLE)), -1, 0)
        return LArray(np.ascontiguousarray(result), (SAMPLE, *rows, *rest))
    return LArray(result.reshape(shape), (*rows, *rest))


def realign(x: LArray, dims: tuple[str, ...]) -> LArray:
    """A sparse ``x`` with its axes in the order ``dims`` (the sample axis stays first)."""
    order = core(dims)
    return LArray(in_order(x, order), (SAMPLE, *order) if x.sampled else order)


def to_csr(x: LArray, rows: tuple[str, ...], cols: tuple[str, ...], size: Size) -> sp.csr_matrix:
    """A sparse, unsampled matrix ``x`` over ``rows`` x ``cols`` as a SciPy CSR matrix."""
    return as_csr(in_order(x, (*rows, *cols)), _count(rows, size), _count(cols, size))
