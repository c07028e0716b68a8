"""runtime/linalg: the blocked single-precision LU and the refined solves, on small matrices.

The sizes that switch these paths on (1,500 sectors for the single-precision LU, 256 columns
for the blocked LU) are lowered here so that every branch runs.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import scipy.linalg as sla

from carbonc.runtime import linalg


def _technical(n: int, seed: int, column_sum: float = 0.6) -> np.ndarray:
    """A random A with the given column sums (so I - A is an M-matrix, as in input-output)."""
    rng = np.random.default_rng(seed)
    a = rng.random((n, n)) * (rng.random((n, n)) < 0.5)
    return a * (column_sum / a.sum(axis=0))


def _rows(a: np.ndarray, step: int = 4) -> linalg.RowBlocks:
    n = a.shape[0]

    def blocks(fine: bool) -> Iterator[tuple[slice, slice, np.ndarray]]:
        for i in range(0, n, step if fine else n):
            sl = slice(i, min(n, i + (step if fine else n)))
            yield sl, slice(0, n), a[sl]

    return blocks


def _factors(a: np.ndarray) -> linalg.Factors:
    n = a.shape[0]
    buf = np.array(np.eye(n) - a, dtype=np.float32, order="C")
    return linalg.factorize_buffer(buf, [slice(0, n)], _rows(a))


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linalg, "LU_PANEL", 8)
    monkeypatch.setattr(linalg, "LU_UPDATE_COLUMNS", 5)


def test_blocked_lu_equals_lapack(small_blocks: None) -> None:
    """Same pivots as sgetrf, same factors up to single-precision rounding."""
    rng = np.random.default_rng(1)
    n = 45
    m = rng.standard_normal((n, n)).astype(np.float32)  # no diagonal dominance: pivoting
    lu_ref, piv_ref, info_ref = sla.lapack.sgetrf(m)
    ft = np.asfortranarray(m)
    piv, info = linalg.blocked_getrf(ft)
    assert info == info_ref == 0
    np.testing.assert_array_equal(piv, piv_ref)
    np.testing.assert_allclose(ft, lu_ref, atol=1e-4)


def test_blocked_lu_reports_a_zero_pivot(small_blocks: None) -> None:
    a = _technical(30, 2)
    a[17, :] = 0.0
    a[17, 17] = 1.0  # row 17 of I - A is zero: column 17 of (I - A)^T, which is factorised
    with pytest.raises(linalg.SingularSystem) as err:
        _factors(a)
    assert err.value.columns == [17]
