"""Input-output algebra in the language: dual dims, `@`, `transpose`, `eye`, `leontief` solves."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from carbonc import CarbonError
from carbonc.compiler import load
from carbonc.compiler.graph import graph_json
from tests.conftest import SHARED, record_calls

MILLER_BLAIR = """
carbon: 1
model: miller-blair
dimensions:
  sector: [agriculture, manufacturing]
  sector_to: {like: sector}
data:
  Z: {dims: [sector, sector_to], unit: USD, values: {agriculture: {agriculture: 150, manufacturing: 500}, manufacturing: {agriculture: 200, manufacturing: 100}}}
  f: {dims: [sector], unit: USD, values: {agriculture: 350, manufacturing: 1700}}
  f_new: {dims: [sector], unit: USD, values: [600, 1500]}
  labour: {dims: [sector], unit: 1/USD, values: [0.3, 0.25]}
rules:
  x: "sum(Z, over=sector_to) + f"
  A: "Z / transpose(x)"
  L: "leontief(A)"
  x_solved: "leontief(A) @ f"
  x_new: "leontief(A) @ f_new"
  multipliers: "labour @ leontief(A)"
  jobs: "labour * x_new"
  via_inverse: "L @ f"
assert:
  - "x_solved == x within 1e-12"
  - "via_inverse == x within 1e-12"
"""


def test_miller_blair_two_sector(write_model: Callable[..., Path]) -> None:
    """Miller & Blair (2009) ch. 2: A, L and the new-demand example, by solving, not inverting."""
    ref = json.loads((SHARED / "io_golden_tests" / "miller_blair_2sector.json").read_text())
    model = load(write_model(MILLER_BLAIR))
    r = model.run()
    np.testing.assert_allclose(r["A"].values, ref["A_technical_coefficients"], rtol=1e-12)
    np.testing.assert_allclose(r["L"].values, ref["L_leontief_inverse"], rtol=1e-6)
    np.testing.assert_allclose(
        r["x_new"].values, ref["new_demand_example"]["x_new_total_output"], atol=0.05
    )
    np.testing.assert_allclose(
        r["jobs"].values, ref["new_demand_example"]["labour_totals"], atol=0.01
    )
    # labour multipliers = labour @ L, computed by a transposed solve
    expected = np.array(ref["new_demand_example"]["labour_coefficients"]) @ np.array(
        ref["L_leontief_inverse"]
    )
    np.testing.assert_allclose(r["multipliers"].values, expected, rtol=1e-6)
    ops = {n["id"]: n["op"] for n in json.loads(graph_json(model))["nodes"]}
    assert ops["x_new"] == "solve(I - A, f_new)"
    assert ops["multipliers"] == "solve(I - A, labour, transposed)"
    assert ops["L"] == "inverse(I - A)"  # only because the model names L itself


def test_matrix_products_follow_rows_and_columns(write_model: Callable[..., Path]) -> None:
    """`M @ v` contracts M's columns with v; `v @ M` contracts v with M's rows, giving a row vector."""
    path = write_model(
        """
        carbon: 1
        model: mm
        dimensions:
          r: [a, b, c]
          r_to: {like: r}
        data:
          M: {dims: [r, r_to], values: [[1, 2, 3], [4, 5, 6], [7, 8, 10]]}
          v: {dims: [r], values: [1, 0, 2]}
        rules:
          Mv: "M @ v"
          vM: "v @ M"
          MM: "M @ M"
          Mt: "transpose(M)"
          I: "eye(r)"
          dot: "v @ v"
        """
    )
    r = load(path).run()
    m = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 10]], dtype=float)
    v = np.array([1, 0, 2], dtype=float)
    np.testing.assert_allclose(r["Mv"].values, m @ v)
    assert r["vM"].dims == ("r",)
    np.testing.assert_allclose(r["vM"].values, v @ m)
    assert r["MM"].dims == ("r", "r_to")
    np.testing.assert_allclose(r["MM"].values, m @ m)
    assert r["Mt"].dims == ("r_to", "r")
    np.testing.assert_allclose(r["Mt"].array.aligned(("r", "r_to")), m.T)
    np.testing.assert_allclose(r["I"].values, np.eye(3))
    assert r["dot"].item() == 5.0


def test_singular_leontief_system_names_columns(write_model: Callable[..., Path]) -> None:
    """A sector that uses up all of its own output makes I - A singular: the error names it."""
    path = write_model(
        """
        carbon: 1
        model: singular
        dimensions:
          sector: [farm, mill]
          sector_to: {like: sector}
        data:
          A: {dims: [sector, sector_to], values: {farm: {farm: 0.2, mill: 0.1}, mill: {farm: 0, mill: 1}}}
          y: {dims: [sector], values: [1, 1]}
        rules:
          x: "leontief(A) @ y"
        """
    )
    with pytest.raises(CarbonError) as exc:
        load(path).run()
    (d,) = exc.value.diagnostics
    assert d.code == "E1101" and d.span is not None and d.span.line == 10
    assert "sector=mill" in d.notes[0]


@pytest.mark.parametrize(
    ("formula", "code"),
    [
        ('"leontief(v)"', "E0411"),
        ('"transpose(w)"', "E0411"),
        ('"eye(q)"', "E0411"),
        ('"leontief(M) @ w"', "E0401"),
        ('"leontief(M * 1 t)"', "E0505"),
    ],
)
def test_io_algebra_mistakes(write_model: Callable[..., Path], formula: str, code: str) -> None:
    """Non-square matrices, missing duals, unit-carrying coefficients: located errors."""
    path = write_model(
        "carbon: 1\nmodel: bad\ndimensions:\n  r: [a, b]\n  r_to: {like: r}\n  q: [x, y]\n"
        "data:\n  M: {dims: [r, r_to], values: [[0.1, 0.2], [0.3, 0.1]]}\n  v: {dims: [r], values: [1, 2]}\n"
        "  w: {dims: [q], values: [1, 2]}\n"
        f"rules:\n  bad: {formula}\n"
    )
    with pytest.raises(CarbonError) as exc:
        load(path)
    assert [d.code for d in exc.value.diagnostics] == [code]


def test_concordance_aggregates_and_weights_disaggregate(tmp_path: Path) -> None:
    """`aggregate(x, by=map)` moves a value through a concordance (0/1) or a weight table."""
    (tmp_path / "groups.csv").write_text(
        "# sector -> group\nsector,group\nwheat,farming\nrice,farming\nsteel,industry\n"
    )
    (tmp_path / "m.carbon").write_text(
        "carbon: 1\nmodel: conc\ndimensions:\n  sector: [wheat, rice, steel]\n  group: [farming, industry]\n"
        "  region: [north, south]\n"
        "data:\n  to_group: {csv: groups.csv, dims: [sector, group], mapping: true}\n"
        "  e: {dims: [region, sector], unit: kt, values: {north: [1, 2, 3], south: [4, 5, 6]}}\n"
        "  split: {dims: [group, sector], values: {farming: [0.25, 0.75, 0], industry: [0, 0, 1]}}\n"
        'rules:\n  by_group: "aggregate(e, by=to_group)"\n  back: "aggregate(by_group, by=split)"\n'
        'assert:\n  - "sum(by_group) == sum(e) within 1e-12"\n  - "sum(to_group, over=group) == 1"\n'
    )
    r = load(tmp_path / "m.carbon").run()
    assert r["by_group"].dims == ("region", "group")
    np.testing.assert_array_equal(r["by_group"].values, [[3, 3], [9, 6]])
    assert r["by_group"].unit == "kt"
    np.testing.assert_allclose(r["back"].values, [[0.75, 2.25, 3], [2.25, 6.75, 6]])


# The numbers of STREAMED's data (below), for the expected values.
STREAMED_Z = np.array([[10, 2, 3, 1], [4, 20, 1, 2], [1, 3, 15, 2], [2, 1, 4, 30]], dtype=float)
STREAMED_DEMAND = np.array(
    [
        [50, 60, 70, 80, 90, 100],
        [40, 30, 20, 10, 5, 1],
        [7, 8, 9, 10, 11, 12],
        [60, 50, 40, 30, 20, 10],
    ],
    dtype=float,
)
STREAMED = """
carbon: 1
model: streamed-solve
dimensions:
  sector: [a, b, c, d]
  sector_to: {like: sector}
  scenario: [s1, s2, s3, s4, s5, s6]
data:
  Z: {dims: [sector, sector_to], unit: USD, values: [[10, 2, 3, 1], [4, 20, 1, 2], [1, 3, 15, 2], [2, 1, 4, 30]]}
  demand: {dims: [sector, scenario], unit: USD, values: [[50, 60, 70, 80, 90, 100], [40, 30, 20, 10, 5, 1], [7, 8, 9, 10, 11, 12], [60, 50, 40, 30, 20, 10]]}
  w: {dims: [sector], unit: 1/USD, values: [0.3, 0.25, 0.5, 0.1]}
rules:
  x: "sum(Z, over=sector_to) + sum(demand, over=scenario)"
  A: "Z / transpose(x)"
  X: "leontief(A) @ demand"
  {reader}
"""


@pytest.mark.parametrize(
    ("reader", "streamed"),
    [
        ('total: "sum(X * w, over=sector)"', True),  # a reduction: one scenario at a time
        ('total: "cumsum(X, over=scenario)"', False),  # a running sum couples the scenarios
    ],
)
def test_big_solve_streams_through_its_only_reader(
    write_model: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, reader: str, streamed: bool
) -> None:
    """A big solve read by one definition is solved a slice at a time when the reader slices."""
    from carbonc.runtime import executor, linalg

    monkeypatch.setattr(linalg, "SOLVE_BATCH", 2)
    monkeypatch.setattr(executor, "BIG_ELEMENTS", 1)
    solved = []
    real = executor._leontief_solve

    def counting(ex: executor.Executor, op: object) -> object:
        out = real(ex, op)  # type: ignore[arg-type]
        solved.append(out.values.shape)
        return out

    monkeypatch.setitem(executor._EVAL, executor.ir.LeontiefSolve, counting)
    model = load(write_model(STREAMED.replace("{reader}", reader)))
    got = model.run(outputs=["total"])["total"].values
    z, demand = STREAMED_Z, STREAMED_DEMAND
    x = z.sum(axis=1) + demand.sum(axis=1)
    solution = np.linalg.solve(np.eye(4) - z / x, demand)
    if streamed:
        expected = np.array([0.3, 0.25, 0.5, 0.1]) @ solution
        assert solved == [(4, 2)] * 3  # three slices of two scenarios
    else:
        expected = np.cumsum(solution, axis=1)
        assert solved == [(4, 6)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_cheap_intermediates_recomputed_unless_read_by_a_lazy_matrix(
    write_model: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cheap function of the inputs is recomputed where read, not where A's rows are built."""
    from carbonc.runtime import executor

    monkeypatch.setattr(executor, "RECOMPUTE_MIN_ELEMENTS", 1)
    chosen = record_calls(monkeypatch, executor.Executor, "_recomputable")
    text = STREAMED.replace(
        'A: "Z / transpose(x)"', 'scaled: "Z * 2"\n  A: "scaled / transpose(2 * x)"'
    )
    text = text.replace(
        'X: "leontief(A) @ demand"', 'doubled: "demand * 2"\n  X: "leontief(A) @ doubled"'
    )
    model = load(write_model(text.replace("{reader}", 'total: "sum(X * w, over=sector)"')))
    got = model.run(outputs=["total"])["total"].values
    assert chosen == [{"doubled"}]  # `scaled` is read by the lazy matrix A: stored
    z, demand = STREAMED_Z, STREAMED_DEMAND
    x = z.sum(axis=1) + demand.sum(axis=1)
    expected = np.array([0.3, 0.25, 0.5, 0.1]) @ np.linalg.solve(np.eye(4) - z / x, 2 * demand)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
