"""Sparse tables end to end: kernels against numpy, and stdlib:lca/footprint on a sparse system
against SciPy's direct sparse solve and against carbonc's own dense path."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spl

from carbonc.compiler import load
from carbonc.compiler.api import Uncertainty
from carbonc.runtime import sparse_solve
from carbonc.runtime.larray import SAMPLE, LArray
from carbonc.runtime.sparse import Sparse
from carbonc.runtime.sparse_ops import contract, elementwise, reduce_sum

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
import lca_gen

SIZES = {"p": 7, "q": 5, "r": 3, SAMPLE: 4}


def size(d: str) -> int:
    return SIZES[d]


def random_sparse(shape: tuple[int, ...], seed: int, fill: float = 0.0, samples: int = 0) -> Any:
    rng = np.random.default_rng(seed)
    dense = np.where(rng.random(shape) < 0.3, rng.normal(size=shape), fill)
    if samples:
        dense = np.where(dense != fill, dense[None] * rng.lognormal(size=(samples, *shape)), fill)
        s = Sparse.from_dense(dense - fill, lead=1)
        return Sparse(s.shape, s.index, s.data + fill, fill), dense
    s = Sparse.from_dense(dense - fill)
    return Sparse(s.shape, s.index, s.data + fill, fill), dense


@pytest.mark.parametrize("fill", [0.0, 1.0])
@pytest.mark.parametrize("samples", [0, 4])
def test_elementwise_matches_dense(fill: float, samples: int) -> None:
    s, dense = random_sparse((7, 5), 1, fill, samples)
    dims = ("p", "q") if not samples else (SAMPLE, "p", "q")
    x = LArray(s, dims)
    v = LArray(np.arange(5.0) - 2.0, ("q",))
    out = elementwise(np.multiply, [x, v], dims, size)
    if fill == 0.0:  # 0 * v is 0 everywhere: the pattern is kept
        assert out is not None and out.sparse is not None
        np.testing.assert_allclose(out.values, dense * (np.arange(5.0) - 2.0))
    else:  # 1 * v differs from cell to cell: no single fill, left to the dense path
        assert out is None
    out = elementwise(np.multiply, [x, LArray(np.asarray(3.0), ())], dims, size)
    assert out is not None and out.sparse is not None and out.sparse.fill == 3.0 * fill
    np.testing.assert_allclose(out.values, dense * 3.0)
    cmp = elementwise(np.greater_equal, [x, LArray(np.asarray(-5.0), ())], dims, size)
    assert cmp is not None
    np.testing.assert_array_equal(cmp.values, dense >= -5.0)
    # a fill that would differ from cell to cell: left to the dense path
    assert elementwise(np.add, [x, v], dims, size) is None


def test_transposed_operands_and_union_of_patterns() -> None:
    a, da = random_sparse((7, 5), 2)
    b, db = random_sparse((5, 7), 3, fill=1.0)
    out = elementwise(np.subtract, [LArray(a, ("p", "q")), LArray(b, ("q", "p"))], ("p", "q"), size)
    assert out is not None and out.sparse is not None and out.sparse.fill == -1.0
    np.testing.assert_allclose(out.values, da - db.T)


@pytest.mark.parametrize("fill", [0.0, 2.0])
def test_sums_match_dense(fill: float) -> None:
    s, dense = random_sparse((7, 5, 3), 4, fill)
    x = LArray(s, ("p", "q", "r"))
    for over, axes in ((("q",), (1,)), (("p", "r"), (0, 2)), (("p", "q", "r"), (0, 1, 2))):
        out = reduce_sum(x, over, size)
        assert out is not None
        np.testing.assert_allclose(out.values, dense.sum(axis=axes))
    mean = reduce_sum(x, ("q",), size, mean=True)
    assert mean is not None
    np.testing.assert_allclose(mean.values, dense.mean(axis=1))


@pytest.mark.parametrize("samples", [0, 4])
def test_contractions_match_einsum(samples: int) -> None:
    a, da = random_sparse((7, 5), 5, samples=samples)
    b, db = random_sparse((5, 3), 6)
    a_dims = ("p", "q") if not samples else (SAMPLE, "p", "q")
    out = contract(LArray(a, a_dims), LArray(b, ("q", "r")), [("q", "q")], ("p", "r"), size)
    assert out is not None
    expected = np.einsum("...pq,qr->...pr", da, db)
    np.testing.assert_allclose(out.values, expected, atol=1e-12)
    # sparse times dense, with the dense operand's extra dim (a matrix product)
    dense_b = LArray(db, ("q", "r"))
    if not samples:
        out = contract(LArray(a, a_dims), dense_b, [("q", "q")], ("p", "r"), size)
        assert out is not None and out.sparse is None
        np.testing.assert_allclose(out.values, expected, atol=1e-12)


def test_sparse_product_stays_sparse() -> None:
    sizes = {"p": 60, "q": 50, "r": 40}
    rng = np.random.default_rng(9)
    da = np.where(rng.random((60, 50)) < 0.02, rng.normal(size=(60, 50)), 0.0)
    db = np.where(rng.random((50, 40)) < 0.02, rng.normal(size=(50, 40)), 0.0)
    a, b = LArray(Sparse.from_dense(da), ("p", "q")), LArray(Sparse.from_dense(db), ("q", "r"))
    out = contract(a, b, [("q", "q")], ("p", "r"), sizes.__getitem__)
    assert out is not None and out.sparse is not None
    assert out.sparse.nnz <= np.count_nonzero(da @ db) + 5  # no fill-in beyond the product's
    np.testing.assert_allclose(out.values, da @ db, atol=1e-12)


def _model(tmp_path: Path, n: int, k: int, uncertain: bool = False) -> Any:
    path = tmp_path / "m.carbon"
    path.write_text(lca_gen.model_text(n, k, uncertain=uncertain))
    return load(path)


def _scores(result: Any) -> np.ndarray:
    return np.asarray(result["lca.score"].array.aligned(("functional_unit",)))


def _reference(s: lca_gen.System, units: list[int]) -> np.ndarray:
    """c^T B (I - A)^-1 d by SciPy's direct sparse solve, from the generator's triplets."""
    n = s.n
    t = sp.csc_matrix((s.tech_amounts, (s.tech_rows, s.tech_cols)), shape=(n, n))
    a = t @ sp.diags(1.0 / s.production)
    b = sp.csr_matrix((s.bio_amounts, (s.bio_rows, s.bio_cols)), shape=(s.n_flows, n))
    b = b @ sp.diags(1.0 / s.production)
    c = np.zeros(s.n_flows)
    for flow, gas in s.gas_of.items():
        c[flow] = lca_gen.GWP[gas]
    d = np.zeros((n, len(units)))
    d[units, np.arange(len(units))] = 1.0
    x = spl.spsolve((sp.eye(n) - a).tocsc(), d)
    return np.asarray(c @ (b @ x.reshape(n, -1))).reshape(-1)


@pytest.mark.parametrize("dense_max", [100, 1000])  # Jacobi sweeps, and a dense LU
def test_sparse_footprint_matches_direct_solve(
    tmp_path: Path, dense_max: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sparse_solve, "DENSE_MAX", dense_max)
    s = lca_gen.generate(600, seed=3)
    units = lca_gen.demands(s, 5)
    model = _model(tmp_path, 600, 5)
    gases = list(model.dims["gas"].labels)
    sparse = _scores(model.run(arrays=lca_gen.carbonc_arrays(s, units, gases)))
    dense = _scores(model.run(arrays=lca_gen.carbonc_arrays(s, units, gases, sparse=False)))
    reference = _reference(s, units)
    np.testing.assert_allclose(sparse, reference, rtol=1e-10)
    np.testing.assert_allclose(dense, reference, rtol=1e-10)


def test_many_supplies_stream_through_the_inventory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """g = B s for 70 functional units: the supply is solved a sweep group at a time inside the
    inventory's contraction, never whole, and g equals B (I - A)^-1 d solved directly."""
    from carbonc.runtime import executor
    from carbonc.runtime.executor import Executor
    from tests.conftest import record_calls

    monkeypatch.setattr(executor, "BIG_ELEMENTS", 1 << 16)  # 105,000 supply cells are "large"
    s = lca_gen.generate(1500, seed=6)
    units = lca_gen.demands(s, 70)
    model = _model(tmp_path, 1500, 70)
    streams = record_calls(monkeypatch, Executor, "_streams")
    widths: list[int] = []
    run = sparse_solve.Sweeps.run

    def counted(self: sparse_solve.Sweeps, rhs: np.ndarray, *work: Any) -> tuple[np.ndarray, int]:
        widths.append(rhs.shape[1])
        return run(self, rhs, *work)

    monkeypatch.setattr(sparse_solve.Sweeps, "run", counted)
    arrays = lca_gen.carbonc_arrays(s, units, list(model.dims["gas"].labels))
    runs = []
    for count in ("1", "2"):  # on two threads, two groups of a slice run side by side
        monkeypatch.setenv("CARBONC_THREADS", count)
        r = model.run(arrays=arrays, outputs=["lca.score", "lca.inventory"])
        runs.append((r["lca.inventory"].array.aligned(("flow", "functional_unit")), widths[:]))
        widths.clear()
    assert "lca.supply" in streams[0] and max(runs[0][1]) <= sparse_solve.PART_COLUMNS
    assert [x["lca.supply"][2] for x in streams] == [24, 48]  # functional units a slice
    assert sorted(runs[0][1]) == sorted(runs[1][1]) == [1, 22, 24, 24]  # the same groups
    np.testing.assert_array_equal(runs[0][0], runs[1][0])  # and the same numbers
    n = s.n
    t = sp.csc_matrix((s.tech_amounts, (s.tech_rows, s.tech_cols)), shape=(n, n))
    a = t @ sp.diags(1.0 / s.production)
    b = sp.csr_matrix((s.bio_amounts, (s.bio_rows, s.bio_cols)), shape=(s.n_flows, n))
    d = np.zeros((n, 70))
    d[units, np.arange(70)] = 1.0
    supply = spl.spsolve((sp.eye(n) - a).tocsc(), d)
    expected = b @ sp.diags(1.0 / s.production) @ supply
    got = runs[0][0]
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max())


def test_sparse_monte_carlo_agrees_with_the_dense_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sparse_solve, "DENSE_MAX", 50)
    s = lca_gen.generate(150, seed=4)
    units = lca_gen.demands(s, 1)
    model = _model(tmp_path, 150, 1, uncertain=True)
    gases = list(model.dims["gas"].labels)
    how = Uncertainty(samples=1000, seed=7)
    runs = [
        model.run(arrays=lca_gen.carbonc_arrays(s, units, gases, sparse=flag), uncertainty=how)
        for flag in (True, False)
    ]
    stats = [r["lca.score"].stats for r in runs]
    mean = [float(np.asarray(x["mean"]).reshape(-1)[0]) for x in stats]
    sd = [float(np.asarray(x["sd"]).reshape(-1)[0]) for x in stats]
    se = np.hypot(sd[0], sd[1]) / np.sqrt(1000)
    assert abs(mean[0] - mean[1]) < 4 * se  # different streams: the same distribution
    assert abs(sd[0] - sd[1]) < 0.15 * sd[1]
    again = model.run(arrays=lca_gen.carbonc_arrays(s, units, gases), uncertainty=how)
    assert np.array_equal(again["lca.score"].stats["mean"], stats[0]["mean"])  # seeded


def test_singular_sparse_system_names_the_product(tmp_path: Path) -> None:
    from carbonc.dsl.diagnostics import CarbonError

    s = lca_gen.generate(4000, seed=5)
    units = lca_gen.demands(s, 1)
    model = _model(tmp_path, 4000, 1)
    arrays = lca_gen.carbonc_arrays(s, units, list(model.dims["gas"].labels))
    tin = arrays["technosphere_in"].tolil()
    tin[7, 7] = s.production[7]  # the process uses all it makes
    arrays["technosphere_in"] = tin.tocsr()
    with pytest.raises(CarbonError) as exc:
        model.run(arrays=arrays)
    assert "singular" in str(exc.value) and "product=p0007" in str(exc.value)


def _write_csv_model(tmp_path: Path, s: lca_gen.System, units: list[int], gases: list[str]) -> Path:
    """The benchmark's model with its exchange tables read from long-form CSVs."""
    procs, prods = lca_gen.labels("P", s.n), lca_gen.labels("p", s.n)
    flows = lca_gen.labels("f", s.n_flows)
    rows = ["product,process,value"]
    rows += [
        f"{prods[r]},{procs[c]},{float(v)!r}"
        for r, c, v in zip(s.tech_rows, s.tech_cols, s.tech_amounts, strict=True)
    ]
    (tmp_path / "tin.csv").write_text("\n".join(rows) + "\n")
    rows = ["product,process,value"] + [
        f"{prods[i]},{procs[i]},{float(s.production[i])!r}" for i in range(s.n)
    ]
    (tmp_path / "tout.csv").write_text("\n".join(rows) + "\n")
    rows = ["flow,process,value"]
    rows += [
        f"{flows[r]},{procs[c]},{float(v)!r}"
        for r, c, v in zip(s.bio_rows, s.bio_cols, s.bio_amounts, strict=True)
    ]
    (tmp_path / "bio.csv").write_text("\n".join(rows) + "\n")
    text = lca_gen.model_text(s.n, len(units))
    text = (
        text.replace(
            "technosphere_in: {dims: [product, process], sparse: true, values: 0}",
            "technosphere_in: {dims: [product, process], sparse: true, csv: tin.csv}",
        )
        .replace(
            "technosphere_out: {dims: [product, process], sparse: true, values: 0}",
            "technosphere_out: {dims: [product, process], sparse: true, csv: tout.csv}",
        )
        .replace(
            "biosphere: {dims: [flow, process], unit: kg, sparse: true, values: 0}",
            "biosphere: {dims: [flow, process], unit: kg, sparse: true, csv: bio.csv}",
        )
    )
    assert text.count("csv:") == 3
    path = tmp_path / "m.carbon"
    path.write_text(text)
    return path


def test_sparse_entries_read_from_long_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sparse_solve, "DENSE_MAX", 50)
    s = lca_gen.generate(200, seed=6)
    units = lca_gen.demands(s, 3)
    path = _write_csv_model(tmp_path, s, units, list(lca_gen.GASES))
    model = load(path)
    gases = list(model.dims["gas"].labels)
    given = lca_gen.carbonc_arrays(s, units, gases)
    loaded = model.load_data()
    tin = loaded.arrays["technosphere_in"].sparse
    assert tin is not None and tin.nnz == len(s.tech_rows)
    result = model.run(arrays={"demand": given["demand"], "gas_of": given["gas_of"]})
    np.testing.assert_allclose(_scores(result), _reference(s, units), rtol=1e-10)
    assert any("tin.csv" in k for k in result.provenance["data_files"])


def test_bad_rows_of_a_sparse_csv_are_located(tmp_path: Path) -> None:
    from carbonc.dsl.diagnostics import CarbonError

    s = lca_gen.generate(60, seed=7)
    path = _write_csv_model(tmp_path, s, [0], list(lca_gen.GASES))
    lines = (tmp_path / "tin.csv").read_text().splitlines()
    lines.append(lines[1])  # a duplicate row
    lines.append("p9999,P0001,1.0")  # an unknown product
    (tmp_path / "tin.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(CarbonError) as exc:
        load(path).load_data()
    text = str(exc.value)
    assert f"tin.csv:{len(lines) - 1}:1: error[E0805]: duplicate row" in text
    assert f"tin.csv:{len(lines)}:1: error[E0806]: unknown label `p9999`" in text


def test_per_row_uncertainty_of_a_sparse_entry(tmp_path: Path) -> None:
    """Each stored cell takes the distribution of its own CSV row; absent cells stay zero."""
    rows = ["a,b,value,uncertainty", "a1,b1,10,±10%", "a2,b3,20,±20%", "a3,b2,5,"]
    (tmp_path / "x.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "m.carbon").write_text(
        "carbon: 1\nmodel: t\n"
        "dimensions: {a: [a1, a2, a3], b: [b1, b2, b3]}\n"
        "data:\n"
        "  x: {csv: x.csv, dims: [a, b], sparse: true, uncertainty: {column: uncertainty}}\n"
        "rules:\n"
        "  total: {expr: 'sum(sum(x, over=a), over=b)'}\n"
        "  by_b: {expr: 'sum(x, over=a)'}\n"
        "outputs: [total, by_b]\n"
    )
    model = load(tmp_path / "m.carbon")
    assert model.load_data().arrays["x"].sparse is not None
    r = model.run(uncertainty=Uncertainty(samples=20_000, seed=3))
    stats = r["total"].stats
    assert stats is not None
    sd = np.hypot(10 * 0.1 / 1.959964, 20 * 0.2 / 1.959964)
    assert abs(float(stats["mean"]) - 35.0) < 4 * sd / np.sqrt(20_000)
    assert abs(float(stats["sd"]) - sd) < 0.03 * sd
    by_b = r["by_b"].stats
    assert by_b is not None
    np.testing.assert_allclose(np.asarray(by_b["sd"])[1], 0.0, atol=1e-12)  # b2: exact 5
    ranking = model.sensitivity("total", samples=4000, seed=1).factors
    names = [f.name for f in ranking]
    assert names[:2] == ["x[a=a2, b=b3]", "x[a=a1, b=b1]"]  # the stored cells, by label


def test_trace_walks_a_sparse_technosphere(tmp_path: Path) -> None:
    """`carbonc trace` on sparse tables gives the tree of the same tables held dense."""
    s = lca_gen.generate(150, seed=8)
    units = lca_gen.demands(s, 1)
    path = _write_csv_model(tmp_path, s, units, list(lca_gen.GASES))
    text = path.read_text()
    demand = "demand: {dims: [product, functional_unit], sparse: true, values: 0}"
    assert demand in text
    text = text.replace(
        demand,
        f"demand: {{dims: [product, functional_unit], fill: 0, "
        f"values: {{{lca_gen.labels('p', s.n)[units[0]]}: {{fu0: 1}}}}}}",
    )
    text = text.replace(
        "gas_of: {dims: [flow, gas], values: 0}",
        "gas_of: {dims: [flow, gas], fill: 0, values: {f00: {CO2: 1}, f01: {CH4: 1}}}",
    )
    path.write_text(text)
    dense = tmp_path / "dense.carbon"
    dense.write_text(text.replace("sparse: true", "fill: 0"))
    a = load(path)
    assert a.load_data().arrays["technosphere_in"].sparse is not None
    trees = [load(p).trace("lca", cutoff=0.001, depth=5) for p in (path, dense)]
    assert trees[0][0] == trees[1][0] and len(trees[0][1]) > 10
    for x, y in zip(trees[0][1], trees[1][1], strict=True):
        assert (x.depth, x.product) == (y.depth, y.product)
        assert x.cumulative == pytest.approx(y.cumulative, rel=1e-9)
