"""Uncertainty: Monte Carlo (IPCC Approach 2), error propagation (Approach 1) and sensitivity.

Every number is checked against an independent computation written out here: analytic moments,
the Guidelines' Eq. 3.1/3.2 by hand, published Sobol indices, or the deterministic model run
once per sample.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from carbonc.compiler import load
from carbonc.compiler.api import Uncertainty
from carbonc.compiler.cli import main
from carbonc.dsl.diagnostics import CarbonError
from carbonc.runtime import linalg

Writer = Callable[..., Path]
Z95 = float(special.ndtri(0.975))


def mc(path: Path, n: int, seed: int = 1, **kw: object) -> object:
    return load(path).run(uncertainty=Uncertainty(samples=n, seed=seed, keep_samples=True, **kw))


# -- Monte Carlo against analytic results ---------------------------------------------------


def test_linear_model_with_normal_inputs_matches_the_analytic_moments(write_model: Writer) -> None:
    """y = 2a + 3b - c + sum(d): mean and SD within 3 standard errors at N = 100,000."""
    path = write_model(
        """
        carbon: 1
        model: linear
        dimensions: {k: [p, q, r]}
        parameters:
          a: "normal(10, 1)"
          b: {value: 5, uncertainty: "normal(sd=10%)"}
          c: {value: 3, uncertainty: "±19.6%"}
        data:
          d: {dims: [k], values: {p: 1, q: 2, r: 4}, uncertainty: "normal(sd=0.5)"}
        rules:
          y: "2 * a + 3 * b - c + sum(d)"
        outputs: [y]
        """
    )
    n = 100_000
    r = mc(path, n)["y"]  # type: ignore[index]
    mean = 2 * 10 + 3 * 5 - 3 + 7
    sd = math.sqrt(4 * 1 + 9 * 0.5**2 + (3 * 0.196 / Z95) ** 2 + 3 * 0.5**2)
    assert abs(float(r.stats["mean"]) - mean) < 3 * sd / math.sqrt(n)
    assert abs(float(r.stats["sd"]) - sd) < 3 * sd / math.sqrt(2 * (n - 1))
    assert r.item() == mean  # the deterministic value is the distributions' centre


@pytest.mark.parametrize(
    ("text", "mean", "var"),
    [
        ("uniform(2, 6)", 4.0, 16 / 12),
        ("triangular(1, 2, 6)", 3.0, (1 + 4 + 36 - 2 - 6 - 12) / 18),
        ("pert(0, 2, 10)", (0 + 4 * 2 + 10) / 6, None),
        ("lognormal(2, 1.5)", 2 * math.exp(math.log(1.5) ** 2 / 2), None),
    ],
)
def test_distribution_means(write_model: Writer, text: str, mean: float, var: float | None) -> None:
    path = write_model(
        f"""
        carbon: 1
        model: dist
        parameters:
          x: "{text}"
        rules:
          y: "x * 1"
        outputs: [y]
        """
    )
    n = 200_000
    r = mc(path, n)["y"]  # type: ignore[index]
    x = np.asarray(r.stats["mean"])
    sd = float(r.stats["sd"])
    assert abs(x - mean) < 3 * sd / math.sqrt(n)
    if var is not None:
        assert abs(sd**2 - var) < 0.02 * var


def test_lognormal_median_is_the_geometric_mean(write_model: Writer) -> None:
    """Brightway's convention: the stated amount (gm) is the median; ln x has SD ln(gsd)."""
    path = write_model(
        """
        carbon: 1
        model: ln
        parameters:
          x: {value: 2 t, unit: t, uncertainty: "lognormal(gsd=1.5)"}
        rules:
          y: "x * 1"
        outputs: [y]
        """
    )
    r = mc(path, 100_000)
    s = np.log(np.asarray(r.samples["y"]))  # type: ignore[attr-defined]
    assert np.median(np.exp(s)) == pytest.approx(2.0, rel=0.01)
    assert s.std() == pytest.approx(math.log(1.5), rel=0.01)


# -- IPCC Approach 1 ------------------------------------------------------------------------


def test_approach1_reproduces_eq_3_1_and_3_2_by_hand(write_model: Writer) -> None:
    """Activity ±5% and ±10%, factors ±2% and ±3% (per category, from CSV columns)."""
    path = write_model(
        """
        carbon: 1
        model: approach1
        dimensions: {category: [gas_power, oil_industry]}
        data:
          activity:
            csv: activity.csv
            dims: [category]
            unit: TJ
            uncertainty: {column: u}
          ef:
            csv: ef.csv
            dims: [category]
            unit: t/TJ
            uncertainty: {column: u}
        rules:
          emissions: {expr: "activity * ef", unit: t}
          total: {expr: "sum(emissions)", unit: t}
        outputs: [emissions, total]
        """,
        **{
            "activity.csv": "category,value,u\ngas_power,1000,±5%\noil_industry,500,±10%\n",
            "ef.csv": "category,value,u\ngas_power,56.1,±2%\noil_industry,74.1,±3%\n",
        },
    )
    r = load(path).run(uncertainty=Uncertainty(method="propagation"))
    # Eq. 3.1 per category: U = sqrt(U_AD^2 + U_EF^2).
    e = np.array([56_100.0, 37_050.0])
    u = np.array([math.sqrt(5**2 + 2**2), math.sqrt(10**2 + 3**2)])
    np.testing.assert_allclose(r["emissions"].stats["u95"], u, rtol=1e-12)
    # Eq. 3.2 for the total: U = sqrt(sum((U_i x_i)^2)) / |sum x_i|.
    u_total = math.sqrt(np.sum((u * e) ** 2)) / e.sum()
    assert float(r["total"].stats["u95"]) == pytest.approx(u_total, rel=1e-12)
    assert float(r["total"].stats["p97.5"]) == pytest.approx(
        e.sum() * (1 + u_total / 100), rel=1e-12
    )
    assert r.provenance["uncertainty"]["method"].startswith("IPCC Approach 1")


def test_approach1_shared_factor_is_counted_once(write_model: Writer) -> None:
    """One uncertain factor scaling two categories is fully correlated across them: the
    first-order result is U_total = sqrt(U_f^2 + (Eq. 3.2 of the activities)^2)."""
    path = write_model(
        """
        carbon: 1
        model: shared
        dimensions: {category: [a, b]}
        parameters:
          f: {value: 2, uncertainty: "±10%"}
        data:
          activity: {dims: [category], values: {a: 100, b: 300}, uncertainty: "±20%"}
        rules:
          total: "sum(activity * f)"
        outputs: [total]
        """
    )
    r = load(path).run(uncertainty=Uncertainty(method="propagation"))
    u_act = math.sqrt((20 * 100) ** 2 + (20 * 300) ** 2) / 400
    assert float(r["total"].stats["u95"]) == pytest.approx(math.hypot(10, u_act), rel=1e-12)


def test_approach1_correction_for_large_uncertainty(write_model: Writer) -> None:
    """Above 100%, U is scaled by F_C (Vol. 1 Ch. 3 Eq. 3.3, after Frey 2003)."""
    path = write_model(
        """
        carbon: 1
        model: large
        parameters:
          a: {value: 10, uncertainty: "±90%"}
          b: {value: 3, uncertainty: "±80%"}
        rules:
          y: "a * b"
        outputs: [y]
        """
    )
    r = load(path).run(uncertainty=Uncertainty(method="propagation"))
    uc = math.hypot(90, 80)
    fc = ((-0.72 + 1.0921 * uc - 1.63e-3 * uc**2 + 1.11e-5 * uc**3) / uc) ** 2
    assert float(r["y"].stats["u95"]) == pytest.approx(uc * fc, rel=1e-12)


def test_approach1_refuses_nonlinear_models(write_model: Writer) -> None:
    path = write_model(
        """
        carbon: 1
        model: nonlinear
        parameters:
          a: {value: 1, uncertainty: "±10%"}
        rules:
          y: "exp(a)"
        outputs: [y]
        """
    )
    with pytest.raises(CarbonError) as err:
        load(path).run(uncertainty=Uncertainty(method="propagation"))
    (d,) = err.value.diagnostics
    assert d.code == "E1214" and "exp" in d.message and "--samples" in (d.help or "")


# -- reproducibility, chunks and streams ----------------------------------------------------

SHOWCASE = Path(__file__).resolve().parents[1] / "models" / "ruritania" / "inventory.carbon"


def test_same_seed_same_bytes_different_seed_differs(tmp_path: Path) -> None:
    def run(seed: int, out: str) -> dict[str, bytes]:
        args = ["run", str(SHOWCASE), "--samples", "2000", "--seed", str(seed), "-o"]
        assert main([*args, str(tmp_path / out)]) == 0
        return {p.name: p.read_bytes() for p in sorted((tmp_path / out).iterdir())}

    first, again, other = run(7, "a"), run(7, "b"), run(8, "c")
    assert first == again
    assert first["total.csv"] != other["total.csv"]


def test_chunks_and_disk_store_change_nothing(tmp_path: Path) -> None:
    """A tiny memory budget forces one-sample chunks and a memory-mapped sample store."""
    model = load(SHOWCASE)
    whole = model.run(uncertainty=Uncertainty(samples=500, seed=3, keep_samples=True))
    tiny = model.run(
        uncertainty=Uncertainty(samples=500, seed=3, memory_budget=4096, keep_samples=True)
    )
    assert tiny.provenance["uncertainty"]["chunk"] < whole.provenance["uncertainty"]["chunk"]
    assert tiny.keepalive.folder is not None  # type: ignore[attr-defined]
    for name in whole:
        np.testing.assert_array_equal(whole.samples[name], tiny.samples[name])  # type: ignore[index]
        for k, v in whole[name].stats.items():  # type: ignore[union-attr]
            np.testing.assert_array_equal(v, tiny[name].stats[k])  # type: ignore[index]


def test_adding_an_input_does_not_reshuffle_the_others(write_model: Writer) -> None:
    base = """
        carbon: 1
        model: streams
        parameters:
          a: {{value: 1, uncertainty: "±10%"}}
          {extra}
        rules:
          y: "a * 1"
        outputs: [y]
        """
    one = write_model(base.format(extra=""), name="one.carbon")
    two = write_model(base.format(extra='b: {value: 2, uncertainty: "±5%"}'), name="two.carbon")
    np.testing.assert_array_equal(mc(one, 1000).samples["y"], mc(two, 1000).samples["y"])  # type: ignore[attr-defined]


# -- the sample axis through every op -------------------------------------------------------


def test_every_sample_equals_a_deterministic_run(write_model: Writer) -> None:
    """Selections, stacks, where, running sums, concordances, matrix products and a solve with an
    uncertain matrix: sample k of the Monte Carlo run equals the model run on sample k's inputs."""
    path = write_model(
        """
        carbon: 1
        model: ops
        dimensions:
          s: [a, b, c]
          t: {like: s}
          g: [x, y]
          year: [y1, y2, y3]
        data:
          A: {dims: [s, t], values: {a: {a: 0.1, b: 0.2, c: 0.0}, b: {a: 0.05, b: 0.1, c: 0.3}, c: {a: 0.2, b: 0.0, c: 0.1}}, uncertainty: "±20%"}
          f: {dims: [s], values: {a: 1, b: 2, c: 3}, uncertainty: "-30%/+50%"}
          y: {dims: [s, year], values: {a: [1, 2, 3], b: [2, 2, 2], c: [0, 1, 5]}}
          m: {dims: [s, g], csv: map.csv, mapping: true}
          k: {values: 1, uncertainty: "triangular(0.5, 2)"}
        rules:
          x: "leontief(A) @ y"
          fp: "f @ leontief(A)"
          agg: "aggregate(x * k, by=m)"
          run: "cumsum(where(f > 1.5, x, -x), over=year)"
          pick: "stack(over=g, x=x[s=a] * f[s=a], y=max(x[s=b], k))"
          out: "sum(agg) + sum(run) + sum(pick) + sum(fp)"
          ins_A: "A * 1"
          ins_f: "f * 1"
          ins_k: "k * 1"
        outputs: [x, agg, run, pick, fp, out, ins_A, ins_f, ins_k]
        """,
        **{"map.csv": "s,g\na,x\nb,x\nc,y\n"},
    )
    model = load(path)
    n = 6
    r = model.run(uncertainty=Uncertainty(samples=n, seed=11, keep_samples=True))
    s = r.samples
    assert s is not None
    for i in range(n):
        one = model.run(arrays={"A": s["ins_A"][i], "f": s["ins_f"][i], "k": s["ins_k"][i]})
        for name in ("x", "agg", "run", "pick", "fp", "out"):
            np.testing.assert_allclose(s[name][i], one[name].values, rtol=1e-12, atol=1e-12)
    assert s["ins_k"].min() >= 0.5 and s["ins_k"].max() <= 2


def test_mrio_footprint_samples_share_one_factorisation(
    write_model: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uncertain stressor intensities, 1,000 samples in several chunks: one LU, not 1,000."""
    calls = []
    real = linalg.factorize_buffer

    def counting(*args: object, **kw: object) -> object:
        calls.append(1)
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(linalg, "factorize_buffer", counting)
    rng = np.random.default_rng(5)
    n = 12
    a = rng.uniform(0, 0.6 / n, (n, n))
    rows = "\n".join(f"s{i}," + ",".join(f"{v:.17g}" for v in a[i]) for i in range(n))
    header = "sector," + ",".join(f"s{i}" for i in range(n))
    intens = "\n".join(f"s{i},{rng.uniform(0.1, 2):.17g},±{rng.integers(5, 40)}%" for i in range(n))
    demand = "\n".join(f"s{i},{rng.uniform(1, 10):.17g}" for i in range(n))
    path = write_model(
        """
        carbon: 1
        model: fp
        dimensions:
          sector: {csv: s.csv, column: sector}
          sector_to: {like: sector}
        data:
          A: {csv: A.csv, dims: [sector, sector_to], wide: sector_to, columns: {sector: sector}}
          s: {csv: s.csv, dims: [sector], unit: kg/EUR, uncertainty: {column: u}}
          y: {csv: y.csv, dims: [sector], unit: EUR}
        rules:
          intensity: "s @ leontief(A)"
          footprint: {expr: "sum(intensity * y)", unit: kg}
          s_used: "s * 1"
        outputs: [footprint, s_used]
        """,
        **{
            "A.csv": header.replace("sector,", "sector,") + "\n" + rows + "\n",
            "s.csv": "sector,value,u\n" + intens + "\n",
            "y.csv": "sector,value\n" + demand + "\n",
        },
    )
    model = load(path)
    calls.clear()
    r = model.run(
        uncertainty=Uncertainty(samples=1000, seed=2, keep_samples=True, memory_budget=200_000)
    )
    assert r.provenance["uncertainty"]["chunk"] < 1000  # several chunks …
    assert len(calls) == 1  # … one factorisation
    s = r.samples
    assert s is not None
    yv = np.array([float(line.split(",")[1]) for line in demand.splitlines()])
    expected = np.linalg.solve((np.eye(n) - a).T, s["s_used"].T).T @ yv
    np.testing.assert_allclose(s["footprint"], expected, rtol=1e-10)


# -- correlation, shares, truncation, empirical ----------------------------------------------


def test_shared_source_and_correlation_matrix(write_model: Writer) -> None:
    path = write_model(
        """
        carbon: 1
        model: corr
        parameters:
          a: {value: 1, uncertainty: {distribution: "±10%", source: survey}}
          b: {value: 5, uncertainty: {distribution: "-20%/+40%", source: survey}}
          c: {value: 2, uncertainty: "±10%"}
          d: {value: 3, uncertainty: "±30%"}
        correlations:
          - inputs: [c, d]
            rho: 0.8
        rules:
          ya: "a * 1"
          yb: "b * 1"
          yc: "c * 1"
          yd: "d * 1"
        outputs: [ya, yb, yc, yd]
        """
    )
    s = mc(path, 20_000).samples  # type: ignore[attr-defined]
    assert stats.spearmanr(s["ya"], s["yb"]).statistic == pytest.approx(1.0)
    z = special.ndtri(stats.norm.cdf(s["yc"], 2, 0.2 / Z95))
    w = special.ndtri(stats.norm.cdf(s["yd"], 3, 0.9 / Z95))
    assert np.corrcoef(z, w)[0, 1] == pytest.approx(0.8, abs=0.02)


def test_dirichlet_shares_sum_to_one(write_model: Writer) -> None:
    path = write_model(
        """
        carbon: 1
        model: shares
        dimensions: {fuel: [coal, gas, oil]}
        data:
          split:
            dims: [fuel]
            values: {coal: 0.5, gas: 0.3, oil: 0.2}
            sums_to_one: fuel
            uncertainty: "dirichlet(concentration=50)"
        rules:
          x: "split * 1"
        outputs: [x]
        """
    )
    s = mc(path, 20_000).samples["x"]  # type: ignore[attr-defined]
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.mean(axis=0), [0.5, 0.3, 0.2], atol=0.005)


def test_truncation_keeps_samples_in_the_domain(write_model: Writer) -> None:
    path = write_model(
        """
        carbon: 1
        model: trunc
        parameters:
          share:
            value: 0.9
            domain: share
            uncertainty: {distribution: "normal(sd=0.1)", truncate: true}
        rules:
          x: "share * 1"
        outputs: [x]
        """
    )
    s = mc(path, 50_000).samples["x"]  # type: ignore[attr-defined]
    assert s.min() >= 0 and s.max() <= 1 and s.max() > 0.99


def test_empirical_draws(write_model: Writer) -> None:
    path = write_model(
        """
        carbon: 1
        model: emp
        parameters:
          y: {value: 2.5, uncertainty: {samples: draws.csv, samples_column: t_ha}}
        rules:
          x: "y * 1"
        outputs: [x]
        """,
        **{"draws.csv": "t_ha\n2.0\n2.5\n3.5\n"},
    )
    s = mc(path, 30_000).samples["x"]  # type: ignore[attr-defined]
    assert set(np.unique(s)) == {2.0, 2.5, 3.5}
    assert s.mean() == pytest.approx(8 / 3, abs=0.02)


# -- sensitivity ----------------------------------------------------------------------------

ISHIGAMI = """
carbon: 1
model: ishigami
parameters:
  x1: "uniform(-3.141592653589793, 3.141592653589793)"
  x2: "uniform(-3.141592653589793, 3.141592653589793)"
  x3: "uniform(-3.141592653589793, 3.141592653589793)"
rules:
  y: "sin(x1) + 7 * sin(x2)^2 + 0.1 * x3^4 * sin(x1)"
outputs: [y]
"""


def test_sobol_indices_of_the_ishigami_function(write_model: Writer) -> None:
    """Analytic values for a = 7, b = 0.1 (Ishigami and Homma 1990; Sobol' 2001)."""
    a, b, pi = 7.0, 0.1, math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    expected = {"x1": (v1 / v, (v1 + v13) / v), "x2": (v2 / v, v2 / v), "x3": (0.0, v13 / v)}
    report = load(write_model(ISHIGAMI)).sensitivity("y", "sobol", samples=2**14, seed=1)
    got = {f.name: (f.values["S1"], f.values["ST"]) for f in report.factors}
    for name, (s1, st) in expected.items():
        assert got[name][0] == pytest.approx(s1, abs=0.02)
        assert got[name][1] == pytest.approx(st, abs=0.02)


def test_rank_correlation_ranks_the_dominant_input_first(write_model: Writer) -> None:
    path = write_model(
        """
        carbon: 1
        model: rank
        parameters:
          big: {value: 100, uncertainty: "±50%"}
          small: {value: 100, uncertainty: "±5%"}
        rules:
          y: "big + small"
        outputs: [y]
        """
    )
    report = load(path).sensitivity("y", samples=5000, seed=3)
    assert [f.name for f in report.factors] == ["big", "small"]
    assert report.factors[0].values["share"] > 0.95


def test_sensitivity_cli_and_parquet_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sensitivity", str(SHOWCASE), "--output", "total", "--samples", "2000"]) == 0
    out = capsys.readouterr().out
    assert "sc.ef_co2[fuel=lignite]" in out.splitlines()[2]
    args = ["run", str(SHOWCASE), "--samples", "300", "--save-samples", "-o", str(tmp_path / "o")]
    assert main(args) == 0
    frame = pd.read_parquet(tmp_path / "o" / "samples" / "co2e_by_source.parquet")
    assert list(frame.columns) == ["sample", "source", "value"] and len(frame) == 300 * 4


# -- errors ---------------------------------------------------------------------------------


def test_failed_assertion_in_a_sample_is_reported(write_model: Writer) -> None:
    path = write_model(
        """
        carbon: 1
        model: negative
        parameters:
          ef: {value: 1, uncertainty: "±300%"}
        rules:
          y: "ef * 1"
        assert:
          - expr: "ef >= 0"
            message: emission factors cannot be negative
        outputs: [y]
        """
    )
    assert main(["run", str(path), "--samples", "1000"]) == 3


def test_per_row_uncertainty_errors_name_the_file_and_row(
    write_model: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_model(
        """
        carbon: 1
        model: rows
        dimensions: {fuel: [coal, gas]}
        data:
          ef: {csv: ef.csv, dims: [fuel], uncertainty: {column: u}}
        rules:
          y: "sum(ef)"
        outputs: [y]
        """,
        **{"ef.csv": "fuel,value,u\ncoal,1,±5%\ngas,2,normal(sd=-1)\n"},
    )
    assert main(["run", str(path), "--samples", "10"]) == 1
    err = capsys.readouterr().err
    assert "ef.csv:3:" in err and "E1202" in err and "standard deviation" in err
