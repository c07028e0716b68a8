"""runtime/linalg: the blocked single-precision LU and the refined solves, on small matrices.

The sizes that switch these paths on (1,500 sectors for the single-precision LU, 256 columns
for the blocked LU, 64 right-hand sides a batch) are lowered here so that every branch runs.
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


def _factors(a: np.ndarray, of_transpose: bool) -> linalg.Factors:
    n = a.shape[0]
    m = np.eye(n) - a
    buf = np.array(m if of_transpose else m.T, dtype=np.float32, order="C")
    return linalg.factorize_buffer(buf, [slice(0, n)], _rows(a), of_transpose)


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linalg, "LU_PANEL", 8)
    monkeypatch.setattr(linalg, "LU_UPDATE_COLUMNS", 5)
    monkeypatch.setattr(linalg, "SOLVE_BATCH", 3)


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


@pytest.mark.parametrize("of_transpose", [True, False])
def test_blocked_lu_reports_a_zero_pivot(small_blocks: None, of_transpose: bool) -> None:
    """The index of the zero column of the factorised matrix: (I - A)^T, or I - A."""
    a = _technical(30, 2)
    if of_transpose:
        a[17, :] = 0.0  # row 17 of I - A is zero: column 17 of (I - A)^T
    else:
        a[:, 17] = 0.0  # column 17 of I - A is zero
    a[17, 17] = 1.0
    with pytest.raises(linalg.SingularSystem) as err:
        _factors(a, of_transpose)
    assert err.value.columns == [17]


@pytest.mark.parametrize("of_transpose", [True, False])
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("order", ["C", "F"])
def test_refined_solve_in_place(
    small_blocks: None, of_transpose: bool, transposed: bool, order: str
) -> None:
    """Either LU, either system, either layout: double-precision solutions, written in place."""
    n, k = 40, 7  # three batches of 3, 3 and 1
    a = _technical(n, 3)
    f = _factors(a, of_transpose)
    rng = np.random.default_rng(4)
    rhs = np.array(rng.random((n, k)), order=order)
    system = np.eye(n) - a
    expected = np.linalg.solve(system.T if transposed else system, rhs)
    out = linalg.solve(f, rhs, transposed)
    assert out is rhs
    np.testing.assert_allclose(rhs, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("transposed", [False, True])
def test_refinement_takes_further_steps_when_needed(
    small_blocks: None, monkeypatch: pytest.MonkeyPatch, transposed: bool
) -> None:
    """An ill-conditioned I - A needs several corrections; each updates the residual."""
    n = 30
    a = _technical(n, 5, column_sum=0.9999)
    f = _factors(a, of_transpose=True)
    calls = []
    real = linalg._lu_solve

    def counting(*args: object) -> None:
        calls.append(1)
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(linalg, "_lu_solve", counting)
    rhs = np.ones((n, 2), order="F")
    system = np.eye(n) - a
    expected = np.linalg.solve(system.T if transposed else system, rhs)
    linalg.solve(f, rhs, transposed)
    assert len(calls) > 2  # the first solve, then more than one correction
    np.testing.assert_allclose(rhs, expected, rtol=1e-10)


def test_one_dimensional_right_hand_side(small_blocks: None) -> None:
    n = 20
    a = _technical(n, 6)
    f = _factors(a, of_transpose=False)
    rhs = np.linspace(1.0, 2.0, n)
    expected = np.linalg.solve((np.eye(n) - a).T, rhs)
    linalg.solve(f, rhs, transposed=True)
    np.testing.assert_allclose(rhs, expected, rtol=1e-12)
