"""The sparse solver of I - A (runtime/sparse_solve.py) against SciPy's direct sparse solve."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spl

from carbonc.runtime import sparse_solve

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
import lca_gen

Array = np.ndarray


def technosphere(n: int, seed: int = 0) -> sp.csr_matrix:
    """A of the benchmark generator's system of ``n`` activities (inputs per unit of output)."""
    s = lca_gen.generate(n, seed=seed)
    t = sp.csr_matrix((s.tech_amounts, (s.tech_rows, s.tech_cols)), shape=(n, n))
    a = sp.csr_matrix(t @ sp.diags(1.0 / s.production))
    a.sort_indices()
    return a


def direct(a: sp.csr_matrix, rhs: Array, transposed: bool = False) -> Array:
    m = sp.eye(a.shape[0], format="csc") - a.tocsc()
    return np.asarray(spl.spsolve((m.T if transposed else m).tocsc(), rhs)).reshape(rhs.shape)


def positions(coo: sp.coo_matrix) -> Array:
    """The sorted flat positions of a canonical matrix's entries (row by row)."""
    flat = coo.row.astype(np.int64) * coo.shape[1] + coo.col
    assert np.all(np.diff(flat) > 0)
    return flat


def right_hand_sides(n: int, k: int, seed: int = 1) -> Array:
    return np.random.default_rng(seed).uniform(size=(n, k))


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("k", [1, 40])  # one column; two groups of columns
def test_sweeps_match_a_direct_solve(transposed: bool, k: int) -> None:
    a = technosphere(1500)
    rhs = right_hand_sides(1500, k)
    expected = direct(a, rhs, transposed)
    solver = sparse_solve.build(a)
    assert isinstance(solver, sparse_solve.SparseGaussSeidel)
    x = solver.solve(rhs, transposed)
    np.testing.assert_allclose(x, expected, rtol=1e-11, atol=1e-14)
    assert len(solver.counts) == (2 if k == 40 else 1) and solver.lu is None
    in_place = rhs.copy()
    assert solver.solve(in_place, transposed, out=in_place) is in_place
    np.testing.assert_array_equal(in_place, x)


@pytest.mark.parametrize("transposed", [False, True])
def test_credits_and_self_consumption_are_solved_exactly(transposed: bool) -> None:
    """Negative entries (substitution credits) and a stored diagonal (self-consumption): no
    longer an M-matrix, still productive; the sweeps agree with a direct solve."""
    a = technosphere(1600, seed=2).tolil()
    rng = np.random.default_rng(3)
    rows, cols = a.nonzero()
    credited = rng.random(rows.size) < 0.05
    for i, j in zip(rows[credited], cols[credited], strict=True):
        a[i, j] = -0.5 * a[i, j]
    for i in range(0, 1600, 7):
        a[i, i] = 0.2
    a = sp.csr_matrix(a)
    rhs = right_hand_sides(1600, 12)
    solver = sparse_solve.SparseGaussSeidel.build(a)
    expected = direct(a, rhs, transposed)
    # (the sweeps stop at RTOL of the largest entry: small entries are as exact in absolute terms)
    atol = 1e-12 * float(np.abs(expected).max())
    np.testing.assert_allclose(solver.solve(rhs, transposed), expected, rtol=1e-11, atol=atol)
    assert solver.lu is None


def test_a_vector_keeps_its_shape() -> None:
    a = technosphere(1200)
    b = right_hand_sides(1200, 1).reshape(-1)
    x = sparse_solve.build(a).solve(b, transposed=False)
    assert x.shape == (1200,)
    np.testing.assert_allclose(x, direct(a, b), rtol=1e-11)


def test_extrapolating_the_slowest_mode_saves_sweeps(monkeypatch: pytest.MonkeyPatch) -> None:
    a = technosphere(2000)
    rhs = right_hand_sides(2000, 3)
    expected = direct(a, rhs)
    counts: dict[str, int] = {}
    for label, agreement in (("extrapolated", sparse_solve.AGREEMENT), ("plain", -1.0)):
        monkeypatch.setattr(sparse_solve, "AGREEMENT", agreement)  # -1: never settles
        solver = sparse_solve.SparseGaussSeidel.build(a)
        np.testing.assert_allclose(solver.solve(rhs, False), expected, rtol=1e-11)
        counts[label] = solver.counts[0]
    assert counts["extrapolated"] < 0.7 * counts["plain"], counts


def test_threads_do_not_change_the_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    a = technosphere(1500)
    rhs = right_hand_sides(1500, 20)
    coo = a.tocoo()
    samples = np.random.default_rng(2).lognormal(0.0, 0.1, size=(6, coo.nnz)) * coo.data
    b = np.broadcast_to(rhs[:, :1], (6, 1500, 1))
    monkeypatch.setattr(sparse_solve, "SAMPLE_CHUNK_ENTRIES", 2 * coo.nnz)  # three chunks
    results = []
    for count in ("1", "2"):
        monkeypatch.setenv("CARBONC_THREADS", count)
        assert sparse_solve.threads() == int(count)
        x = sparse_solve.build(a).solve(rhs, False)
        xs = sparse_solve.solve_sampled(positions(coo), samples, 1500, b, False)
        results.append((x, xs))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_thread_count_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARBONC_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert sparse_solve.threads() == 3
    monkeypatch.setenv("CARBONC_THREADS", "many")  # not a count: the next source decides
    assert sparse_solve.threads() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.delenv("CARBONC_THREADS")
    assert sparse_solve.threads() >= 1


@pytest.mark.parametrize("transposed", [False, True])
def test_sampled_solves_match_each_sample_solved_directly(
    transposed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    n, count, k = 1100, 5, 2
    a = technosphere(n, seed=4)
    coo = a.tocoo()
    rows = np.concatenate([coo.row, [3]])  # a stored diagonal entry (self-consumption)
    cols = np.concatenate([coo.col, [3]])
    rng = np.random.default_rng(5)
    data = np.concatenate([coo.data, [0.05]])[None, :] * rng.lognormal(0, 0.2, (count, rows.size))
    rhs = rng.uniform(size=(count, n, k))
    monkeypatch.setattr(sparse_solve, "SAMPLE_CHUNK_ENTRIES", 2 * rows.size)  # chunks 2, 2, 1
    order = np.argsort(rows * n + cols)
    x = sparse_solve.solve_sampled((rows * n + cols)[order], data[:, order], n, rhs, transposed)
    for s in range(count):
        a_s = sp.csr_matrix((data[s], (rows, cols)), shape=(n, n))
        np.testing.assert_allclose(x[s], direct(a_s, rhs[s], transposed), rtol=1e-11)


def test_a_slow_system_is_factorised_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sparse_solve, "MAX_SWEEPS", 30)
    a = technosphere(1200)
    a = sp.csr_matrix(a * (0.995 / spectral_radius(a)))  # nearly unproductive
    rhs = right_hand_sides(1200, 2)
    solver = sparse_solve.SparseGaussSeidel.build(a)
    x = solver.solve(rhs, False)
    assert solver.lu is not None
    np.testing.assert_allclose(x, direct(a, rhs), rtol=1e-9)
    np.testing.assert_allclose(solver.solve(rhs, True), direct(a, rhs, True), rtol=1e-9)
    # Groups of a solve that overwrites its right-hand sides in place, the factors taking over
    # in the middle: every group still ends with its own solution.
    wide = right_hand_sides(1200, 40)
    fresh = sparse_solve.SparseGaussSeidel.build(a)
    expected = direct(a, wide)
    assert fresh.solve(wide, False, out=wide) is wide and fresh.lu is not None
    np.testing.assert_allclose(wide, expected, rtol=1e-9)


def spectral_radius(a: sp.csr_matrix) -> float:
    return float(abs(spl.eigs(a, k=1, which="LM", return_eigenvectors=False)[0]))


def test_a_divergent_sampled_system_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from carbonc.runtime import linalg

    a = technosphere(1100)
    coo = a.tocoo()
    data = np.stack([coo.data, coo.data * 3.0])  # the second sample is not productive
    rhs = np.ones((2, 1100, 1))
    with pytest.raises(linalg.SingularSystem, match="did not converge"):
        sparse_solve.solve_sampled(positions(coo), data, 1100, rhs, False)
