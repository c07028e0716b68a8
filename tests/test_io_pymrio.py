"""MRIO accounts against pymrio (a test-only peer): the shared test MRIO and random MRIOs.

pymrio is LGPL; it is only imported here, never by carbonc. Its test MRIO is read from
../shared and never copied into this repository.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from carbonc.compiler import load
from tests.conftest import SHARED, record_calls

PYMRIO_TEST = SHARED / "pymrio_test"
RTOL = 1e-9

MODEL = """
carbon: 1
model: io-accounts-check
data:
  io: {{mrio: "{path}", extension: emissions, unit: MUSD, stressor_unit: kg}}
import:
  acc:
    from: stdlib:io/accounts
    with: {{Z: io.Z, Y: io.Y, F: io.F, F_Y: io.F_Y}}
"""

PER_CAPITA = """
  cap:
    from: stdlib:io/per_capita
    with: {D_cba_reg: acc.D_cba_reg, D_pba_reg: acc.D_pba_reg, D_imp_reg: acc.D_imp_reg,
           D_exp_reg: acc.D_exp_reg, population: io.population}
"""

ACCOUNTS = [
    "S",
    "M",
    "D_cba",
    "D_pba",
    "D_imp",
    "D_exp",
    "D_cba_reg",
    "D_pba_reg",
    "D_imp_reg",
    "D_exp_reg",
]


def _model(tmp_path: Path, mrio: Path) -> Path:
    path = tmp_path / "model.carbon"
    path.write_text(textwrap.dedent(MODEL.format(path=mrio)), encoding="utf-8")
    return path


def _saved(tmp_path: Path, io: Any) -> Path:
    """``io`` written as a pymrio folder, with its accounts calculated by pymrio."""
    folder = tmp_path / "mrio"
    io.save_all(folder)
    io.calc_all()
    return folder


def _reference(io: Any) -> dict[str, Any]:
    """pymrio's accounts of the ``emissions`` extension, by name."""
    return {name: getattr(io.emissions, name) for name in ACCOUNTS}


def _run_all(tmp_path: Path, io: Any) -> tuple[Any, dict[str, Any]]:
    """carbonc's run of every account on ``io``, and pymrio's accounts to compare with."""
    folder = _saved(tmp_path, io)
    return load(_model(tmp_path, folder)).run(outputs=[f"acc.{a}" for a in ACCOUNTS]), _reference(
        io
    )


def _ours(
    results: object, name: str, regions: list[str], sectors: list[str], stressors: list[str]
) -> np.ndarray:
    """Our account as a (stressor, column) matrix in pymrio's layout."""
    r = results[f"acc.{name}"]  # type: ignore[index]
    if "sector" in r.dims:
        arr = r.array.aligned(("stressor", "region", "sector"))
        return arr.reshape(len(stressors), len(regions) * len(sectors))
    return r.array.aligned(("stressor", "region"))


def _compare(
    run: object, ref: dict[str, pd.DataFrame], regions: list[str], sectors: list[str]
) -> None:
    stressors = [
        "/".join(map(str, t)) if isinstance(t, tuple) else str(t) for t in ref["D_cba"].index
    ]
    for name in ACCOUNTS:
        expected = ref[name].to_numpy(dtype=float)
        got = _ours(run, name, regions, sectors, stressors)
        np.testing.assert_allclose(
            got, expected, rtol=RTOL, atol=1e-9 * np.abs(expected).max(), err_msg=name
        )


def test_pymrio_test_mrio_matches_reference_outputs(tmp_path: Path) -> None:
    """Every account pymrio 0.7 computed for its test MRIO, element by element, to 1e-9."""
    path = _model(tmp_path, PYMRIO_TEST / "input")
    path.write_text(path.read_text() + PER_CAPITA)
    model = load(path, allow=[PYMRIO_TEST])
    caps = ["D_cba_cap", "D_pba_cap", "D_imp_cap", "D_exp_cap"]
    run = model.run(outputs=[f"acc.{a}" for a in ACCOUNTS] + [f"cap.{c}" for c in caps])
    out = PYMRIO_TEST / "reference_output"
    ref = {}
    for name in ACCOUNTS:
        header = [0] if name.endswith("_reg") else [0, 1]
        ref[name] = pd.read_csv(out / f"emissions_{name}.csv", index_col=[0, 1], header=header)
    cols = ref["D_cba"].columns
    regions = list(dict.fromkeys(cols.get_level_values(0)))
    sectors = list(dict.fromkeys(cols.get_level_values(1)))
    _compare(run, ref, regions, sectors)
    for name in caps:
        expected = pd.read_csv(
            out / f"emissions_{name}.csv", index_col=[0, 1], header=[0]
        ).to_numpy()
        got = run[f"cap.{name}"].array.aligned(("stressor", "region"))
        np.testing.assert_allclose(got, expected, rtol=RTOL, err_msg=name)


def _random_mrio(seed: int, n_reg: int, n_sec: int, n_cat: int, n_str: int) -> object:
    pymrio = pytest.importorskip("pymrio")
    rng = np.random.default_rng(seed)
    regions = [f"R{i}" for i in range(n_reg)]
    sectors = [f"s{i}" for i in range(n_sec)]
    cats = [f"c{i}" for i in range(n_cat)]
    rs = pd.MultiIndex.from_product([regions, sectors], names=["region", "sector"])
    rc = pd.MultiIndex.from_product([regions, cats], names=["region", "category"])
    n = n_reg * n_sec
    z = rng.uniform(0, 10, (n, n)) * (rng.uniform(0, 1, (n, n)) < 0.6)
    z += np.kron(np.eye(n_reg), rng.uniform(5, 40, (n_sec, n_sec)))  # strong domestic blocks
    y = rng.uniform(50, 500, (n, n_reg * n_cat))
    f = rng.uniform(0, 1e3, (n_str, n))
    fy = np.zeros((n_str, n_reg * n_cat))
    fy[:, ::n_cat] = rng.uniform(0, 200, (n_str, n_reg))  # households emit directly
    stress = pd.Index([f"gas{i}" for i in range(n_str)], name="stressor")
    io = pymrio.IOSystem(
        Z=pd.DataFrame(z, index=rs, columns=rs),
        Y=pd.DataFrame(y, index=rs, columns=rc),
        unit=pd.DataFrame({"unit": ["MEUR"] * n}, index=rs),
    )
    io.emissions = pymrio.Extension(
        name="emissions",
        F=pd.DataFrame(f, index=stress, columns=rs),
        F_Y=pd.DataFrame(fy, index=stress, columns=rc),
        unit=pd.DataFrame({"unit": ["kg"] * n_str}, index=stress),
    )
    return io


@pytest.mark.parametrize(
    ("seed", "shape", "fmt"),
    [
        (1, (3, 4, 2, 1), "txt"),
        (2, (5, 7, 3, 3), "parquet"),
        (3, (2, 12, 4, 2), "txt"),
        (4, (7, 3, 1, 4), "txt"),
    ],
)
def test_random_mrios_match_pymrio_calc_all(
    tmp_path: Path, seed: int, shape: tuple[int, ...], fmt: str
) -> None:
    """Random MRIOs saved by pymrio (txt and parquet) give pymrio's calc_all() accounts to 1e-9."""
    io = _random_mrio(seed, *shape)
    folder = tmp_path / "mrio"
    io.save_all(folder, table_format=fmt)  # type: ignore[attr-defined]
    io.calc_all()  # type: ignore[attr-defined]
    ref = _reference(io)
    model = load(_model(tmp_path, folder))
    run = model.run(outputs=[f"acc.{a}" for a in ACCOUNTS])
    cols = ref["D_cba"].columns
    _compare(
        run,
        ref,
        list(dict.fromkeys(cols.get_level_values(0))),
        list(dict.fromkeys(cols.get_level_values(1))),
    )


def test_mixed_precision_and_block_solves_keep_1e9(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The single-precision LU with refinement (used for large tables) still agrees to 1e-9."""
    from carbonc.runtime import executor, linalg

    monkeypatch.setattr(linalg, "MIXED_PRECISION_MIN", 8)
    monkeypatch.setattr(executor, "CHUNK_BYTES", 1)  # one row of A at a time
    io = _random_mrio(5, 4, 6, 2, 2)
    folder = _saved(tmp_path, io)
    ref = _reference(io)
    model = load(_model(tmp_path, folder))
    run = model.run(outputs=[f"acc.{a}" for a in ACCOUNTS] + ["acc.eebt"])
    cols = ref["D_cba"].columns
    regions = list(dict.fromkeys(cols.get_level_values(0)))
    sectors = list(dict.fromkeys(cols.get_level_values(1)))
    _compare(run, ref, regions, sectors)
    # EEBT by hand: each exporter's single-region multipliers times its gross bilateral exports.
    z = io.Z.to_numpy()  # type: ignore[attr-defined]
    y = io.Y.to_numpy()  # type: ignore[attr-defined]
    f = io.emissions.F.to_numpy()  # type: ignore[attr-defined]
    nr, ns, nc = len(regions), len(sectors), y.shape[1] // len(regions)
    x = z.sum(1) + y.sum(1)
    expected = np.zeros((f.shape[0], nr, nr))
    for r in range(nr):
        rows = slice(r * ns, (r + 1) * ns)
        a_rr = z[rows, rows] / x[rows][None, :]
        m_dom = np.linalg.solve((np.eye(ns) - a_rr).T, (f[:, rows] / x[rows]).T).T
        for r2 in range(nr):
            if r2 == r:
                continue
            exports = z[rows, r2 * ns : (r2 + 1) * ns].sum(1) + y[
                rows, r2 * nc : (r2 + 1) * nc
            ].sum(1)
            expected[:, r, r2] = m_dom @ exports
    got = run["acc.eebt"].array.aligned(("stressor", "region", "region_to"))
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize(
    ("outputs", "of_transpose"),
    [(["acc.x_total", "acc.D_cba_reg"], True), (["acc.D_imp", "acc.D_cba_reg"], False)],
)
def test_single_precision_lu_of_either_orientation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outputs: list[str], of_transpose: bool
) -> None:
    """The LU is of (I - A)^T when plain solves dominate, of I - A when transposed ones do."""
    from carbonc.runtime import executor, linalg

    monkeypatch.setattr(linalg, "MIXED_PRECISION_MIN", 8)
    monkeypatch.setattr(linalg, "LU_PANEL", 8)  # the blocked LU, too (n = 36)
    monkeypatch.setattr(executor, "CHUNK_BYTES", 1)
    seen = []
    real = linalg.factorize_buffer

    def recording(*args: object, **kw: object) -> object:
        f = real(*args, **kw)  # type: ignore[arg-type]
        seen.append(f.of_transpose)
        return f

    monkeypatch.setattr(linalg, "factorize_buffer", recording)
    io = _random_mrio(8, 6, 6, 2, 3)  # X: 6 plain columns; M: 3 and M_dom 18 transposed
    folder = _saved(tmp_path, io)
    run = load(_model(tmp_path, folder)).run(outputs=outputs)
    assert seen == [of_transpose]
    ext = io.emissions  # type: ignore[attr-defined]
    np.testing.assert_allclose(
        run["acc.D_cba_reg"].array.aligned(("stressor", "region")),
        ext.D_cba_reg.to_numpy(),
        rtol=RTOL,
    )
    if of_transpose:
        x = run["acc.x_total"].array.aligned(("region", "sector")).reshape(-1)
        np.testing.assert_allclose(x, io.x.to_numpy().reshape(-1), rtol=RTOL)  # type: ignore[attr-defined]
    else:
        d_imp = run["acc.D_imp"].array.aligned(("stressor", "region", "sector"))
        expected = ext.D_imp.to_numpy()
        np.testing.assert_allclose(
            d_imp.reshape(expected.shape), expected, rtol=RTOL, atol=RTOL * np.abs(expected).max()
        )


def test_streamed_domestic_multipliers_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """M_dom streamed through D_cba_domestic (a stressor at a time) gives pymrio's accounts."""
    from carbonc.runtime import executor, linalg

    monkeypatch.setattr(linalg, "MIXED_PRECISION_MIN", 8)
    monkeypatch.setattr(linalg, "SOLVE_BATCH", 4)  # 3 stressors x 5 regions: 15 columns
    monkeypatch.setattr(executor, "BIG_ELEMENTS", 64)
    monkeypatch.setattr(executor, "CHUNK_BYTES", 1)
    streams = record_calls(monkeypatch, executor.Executor, "_streams")
    io = _random_mrio(9, 5, 4, 2, 3)
    run, ref = _run_all(tmp_path, io)
    assert streams == [{"acc.M_dom": ("acc.D_cba_domestic", "stressor", 1)}]
    cols = ref["D_cba"].columns
    regions = list(dict.fromkeys(cols.get_level_values(0)))
    sectors = list(dict.fromkeys(cols.get_level_values(1)))
    _compare(run, ref, regions, sectors)


def test_cheap_intermediates_are_recomputed_not_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """y = sum(Y, over=category) is recomputed at each read; x (a pass over Z) is stored."""
    from carbonc.runtime import executor

    monkeypatch.setattr(executor, "RECOMPUTE_MIN_ELEMENTS", 1)
    chosen = record_calls(monkeypatch, executor.Executor, "_recomputable")
    io = _random_mrio(10, 4, 5, 3, 2)
    run, ref = _run_all(tmp_path, io)
    assert "acc.y" in chosen[0]
    assert "acc.x" not in chosen[0] and "acc.A" not in chosen[0]
    cols = ref["D_cba"].columns
    regions = list(dict.fromkeys(cols.get_level_values(0)))
    sectors = list(dict.fromkeys(cols.get_level_values(1)))
    _compare(run, ref, regions, sectors)


def test_block_jacobi_footprints_match(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The iterative path (large table, few right-hand sides) gives pymrio's footprints to 1e-9."""
    from carbonc.runtime import linalg

    monkeypatch.setattr(linalg, "ITERATIVE_MIN_N", 8)
    io = _random_mrio(6, 5, 6, 3, 2)
    folder = _saved(tmp_path, io)
    expected = io.emissions.D_cba_reg.to_numpy()  # type: ignore[attr-defined]
    run = load(_model(tmp_path, folder)).run(outputs=["acc.D_cba_reg"])
    np.testing.assert_allclose(
        run["acc.D_cba_reg"].array.aligned(("stressor", "region")), expected, rtol=1e-9
    )
