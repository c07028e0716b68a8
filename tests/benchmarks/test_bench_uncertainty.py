"""Uncertainty benchmarks: Monte Carlo (IPCC Approach 2) runs of carbonc, and bonsai-ipcc's.

Group ``uncertainty-inventory``: the showcase inventory (models/ruritania/inventory.carbon)
run once deterministically (``model.run()``) and with 10,000 Monte Carlo samples
(``model.run(uncertainty=Uncertainty(samples=10_000, seed=1))``). The model is compiled once,
outside the timing. It samples whatever uncertainties the model (and the stdlib methods it
imports) declares; should it declare none, a copy with ``uncertainty: "±5%"`` on its one data
entry, ``fuel_use``, is benchmarked instead (``extra_info["uncertain"]`` names the inputs
sampled). The issue's target is the 10,000-sample run in at most 20 times one deterministic run.

Group ``uncertainty-cement``: 10,000 samples of cement Tier 1 CO2 for case C1 of
``../shared/data/reference_cases`` (1 Mt of Portland cement, no clinker trade):

- carbonc: the model ``CEMENT`` below imports ``stdlib:ipcc2006/ippu/cement``. It binds the
  method's input ``clinker_fraction`` to its own parameter, and overrides the method's
  parameters ``cao_in_clinker`` and ``cf_ckd`` with its own; those three parameters carry the
  distributions bonsai samples (recomputed from bonsai's tables by
  ``bonsai_cement.input_distributions``). Their ``value:`` stays the IPCC default, so the
  deterministic run is case C1 (494,291 t); the distributions are bonsai's, centred where bonsai
  centres them (see bonsai_cement.py: its CKD lognormal has a median of 0.973, not 1.02).
- bonsai-ipcc: ``run_bonsai_cement_mc(10_000)`` (one call of its sequence, sample size patched
  to 10,000), and, as bonsai ships (1,000 samples a call), ten calls (``batched=True``).

bonsai's CKD correction lognormal puts 57 % of its draws below 1, which the method's assertion
``cf_ckd >= 1`` rejects (a CKD correction only adds CO2). The cement runs therefore pass
``check_asserts=False``; the assertions are still evaluated on every sample.

The plain tests (no ``benchmark`` fixture, so a plain ``pytest`` run keeps them) check that the
carbonc model is case C1 with bonsai's distributions, that carbonc's Monte Carlo mean and
standard deviation agree with bonsai's within 3 standard errors at 100,000 samples, that a seed
reproduces carbonc's samples exactly, and that bonsai, which takes no seed, draws different
samples on every unseeded call. Nothing asserts on time.
"""

from __future__ import annotations

import csv
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from bonsai_cement import CEMENT_PRODUCTION_T, input_distributions, run_bonsai_cement_mc
from pytest_benchmark.fixture import BenchmarkFixture

from carbonc.compiler import load
from carbonc.compiler.api import Model, Uncertainty
from carbonc.runtime.results import Results

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "models" / "ruritania" / "inventory.carbon"
CASES = REPO.parent / "shared" / "data" / "reference_cases" / "ipcc_tier1_reference_cases.csv"
SAMPLES = 10_000
CHECK_SAMPLES = 100_000  # for the agreement with bonsai: standard errors of about 0.05 %

CEMENT = """\
carbon: 1
model: cement-c1-monte-carlo
description: >
  Case C1 (1 Mt of Portland cement, no clinker trade) through stdlib:ipcc2006/ippu/cement,
  with the distributions bonsai-ipcc 0.3 samples for 2006 / World / Portland cement.
import:
  cement:
    from: stdlib:ipcc2006/ippu/cement
    with:
      cement_production: production
      clinker_fraction: clinker_fraction
      clinker_imports: 0 t
      clinker_exports: 0 t
      clinker_production: 0 t
dimensions:
  cement_type: [portland]
data:
  production: {{dims: [cement_type], unit: t, values: {{portland: {production!r}}}}}
parameters:
  clinker_fraction:
    value: 0.95
    dims: [cement_type]
    uncertainty:
      distribution: "normal({ccl_loc!r}, {ccl_scale!r})"
      truncate: [{ccl_lower!r}, {ccl_upper!r}]
  cao_content:
    value: 0.65
    uncertainty: "normal({cao_mean!r}, {cao_sd!r})"
  ckd_correction:
    value: 1.02
    uncertainty: "lognormal({ckd_gm!r}, {ckd_gsd!r})"
override:
  cement.cao_in_clinker:
    expr: "cao_content"
    because: "the default 0.65 with bonsai-ipcc's uncertainty (a benchmark against it)"
  cement.cf_ckd:
    expr: "ckd_correction"
    because: "the default 1.02 with bonsai-ipcc's uncertainty (a benchmark against it)"
rules:
  co2: {{expr: "cement.co2", unit: t}}
outputs: [co2]
"""


def cement_text() -> str:
    """``CEMENT`` with bonsai's distributions, at full precision."""
    d = input_distributions()
    cao, ckd, ccl = d["cao_in_clinker"], d["ckd_correc_fact"], d["c_cl"]
    return CEMENT.format(
        production=CEMENT_PRODUCTION_T,
        ccl_loc=ccl["loc"],
        ccl_scale=ccl["scale"],
        ccl_lower=ccl["lower"],
        ccl_upper=ccl["upper"],
        cao_mean=cao["mean"],
        cao_sd=cao["sd"],
        ckd_gm=math.exp(float(ckd["mu"])),
        ckd_gsd=math.exp(float(ckd["sigma"])),
    )


def _with_fuel_use_uncertainty(model: Path, folder: Path) -> Path:
    """A copy of the inventory (and its data) with ``uncertainty: "±5%"`` on ``fuel_use``."""
    shutil.copytree(model.parent, folder, dirs_exist_ok=True)
    copy = folder / model.name
    text, n = re.subn(
        r"(?m)^(  fuel_use:\n)", '\\1    uncertainty: "±5%"\n', copy.read_text(encoding="utf-8")
    )
    assert n == 1, "the inventory has no `fuel_use:` data entry to put an uncertainty on"
    copy.write_text(text, encoding="utf-8")
    return copy


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Model:
    """The showcase inventory, compiled; with an uncertainty added only if it declares none."""
    model = load(INVENTORY)
    if not model.checked.uncertain:
        model = load(_with_fuel_use_uncertainty(INVENTORY, tmp_path_factory.mktemp("ruritania")))
    return model


@pytest.fixture(scope="module")
def cement(tmp_path_factory: pytest.TempPathFactory) -> Model:
    path = tmp_path_factory.mktemp("cement") / "cement.carbon"
    path.write_text(cement_text(), encoding="utf-8")
    return load(path)


def run_cement(model: Model, n: int, seed: int, keep_samples: bool = False) -> Results:
    how = Uncertainty(samples=n, seed=seed, keep_samples=keep_samples)
    return model.run(uncertainty=how, check_asserts=False)


# -- the showcase inventory ------------------------------------------------------------------


def test_bench_inventory_deterministic(benchmark: BenchmarkFixture, inventory: Model) -> None:
    benchmark.group = "uncertainty-inventory"
    results = benchmark.pedantic(inventory.run, rounds=20, iterations=1, warmup_rounds=1)
    assert all(a["passed"] is not False for a in results.asserts)
    assert results["total"].stats is None


def test_bench_inventory_monte_carlo(benchmark: BenchmarkFixture, inventory: Model) -> None:
    benchmark.group = "uncertainty-inventory"
    benchmark.extra_info["samples"] = SAMPLES
    benchmark.extra_info["uncertain"] = sorted(inventory.checked.uncertain)
    how = Uncertainty(samples=SAMPLES, seed=1)
    results = benchmark.pedantic(
        inventory.run, kwargs={"uncertainty": how}, rounds=10, iterations=1, warmup_rounds=1
    )
    stats = results["total"].stats
    assert stats is not None
    assert results.provenance["uncertainty"]["samples"] == SAMPLES
    assert stats["p2.5"] < results["total"].item() < stats["p97.5"]
    assert 0 < stats["sd"] < 0.5 * stats["mean"]


# -- cement: carbonc against bonsai-ipcc -----------------------------------------------------


def test_bench_cement_carbonc(benchmark: BenchmarkFixture, cement: Model) -> None:
    benchmark.group = "uncertainty-cement"
    benchmark.extra_info["samples"] = SAMPLES
    results = benchmark.pedantic(
        run_cement, args=(cement, SAMPLES, 1), rounds=20, iterations=1, warmup_rounds=1
    )
    stats = results["co2"].stats
    assert stats is not None
    assert stats["mean"] == pytest.approx(477_680, rel=0.02)  # bonsai_cement.py: 477.68 kt


def test_bench_cement_bonsai(benchmark: BenchmarkFixture) -> None:
    benchmark.group = "uncertainty-cement"
    benchmark.extra_info["samples"] = SAMPLES
    co2 = benchmark.pedantic(
        run_bonsai_cement_mc, args=(SAMPLES,), rounds=20, iterations=1, warmup_rounds=1
    )
    assert co2.shape == (SAMPLES,)
    assert co2.mean() == pytest.approx(477_680, rel=0.02)


def test_bench_cement_bonsai_batched(benchmark: BenchmarkFixture) -> None:
    """bonsai unmodified: it draws 1,000 samples a call, so ten calls for 10,000."""
    benchmark.group = "uncertainty-cement"
    benchmark.extra_info["samples"] = SAMPLES
    co2 = benchmark.pedantic(
        run_bonsai_cement_mc,
        args=(SAMPLES,),
        kwargs={"batched": True},
        rounds=20,
        iterations=1,
        warmup_rounds=1,
    )
    assert co2.shape == (SAMPLES,)


# -- plain tests (they run in the normal suite) ----------------------------------------------


def _c1_co2() -> float:
    if not CASES.exists():
        pytest.fail(f"reference data missing: {CASES} (CI provides ../shared)")
    with CASES.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["case"].startswith("C1 ") and row["quantity"] == "CO2 (bonsai EF)":
                return float(row["value"])
    pytest.fail(f"no C1 'CO2 (bonsai EF)' row in {CASES}")


def test_cement_model_is_c1_with_bonsais_distributions(cement: Model) -> None:
    """The deterministic run is case C1; the sampled inputs are bonsai's (bonsai_cement.py)."""
    r = cement.run()
    assert r["co2"].item() == pytest.approx(_c1_co2(), rel=1e-12)
    assert [o["target"] for o in r.provenance["overrides"]] == [
        "cement.cao_in_clinker",
        "cement.cf_ckd",
    ]
    assert sorted(cement.checked.uncertain) == ["cao_content", "ckd_correction", "clinker_fraction"]
    d = input_distributions()
    assert d["cao_in_clinker"]["mean"] == pytest.approx(0.65, rel=1e-12)
    assert d["cao_in_clinker"]["sd"] == pytest.approx(0.019898, rel=1e-5)
    assert d["ckd_correc_fact"]["mu"] == pytest.approx(-0.0273527, rel=1e-5)
    assert d["ckd_correc_fact"]["sigma"] == pytest.approx(0.157918, rel=1e-5)
    assert d["c_cl"]["loc"] == pytest.approx(0.9526765, rel=1e-6)
    assert d["c_cl"]["scale"] == pytest.approx(0.0263929, rel=1e-5)
    assert (d["c_cl"]["lower"], d["c_cl"]["upper"]) == (0.0, 1.0)


def _mean_sd_se(x: np.ndarray) -> tuple[float, float, float, float]:
    """Sample mean and sd, and their standard errors (the sd's from the fourth moment)."""
    n = x.size
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    m4 = float(np.mean((x - mean) ** 4))
    return mean, sd, sd / math.sqrt(n), math.sqrt((m4 - sd**4) / (4 * sd**2 * n))


def test_cement_monte_carlo_agrees_with_bonsai(cement: Model) -> None:
    """Mean and sd of 100,000 samples from each tool agree within 3 standard errors."""
    r = run_cement(cement, CHECK_SAMPLES, seed=2024, keep_samples=True)
    ours = np.asarray(r.samples["co2"], dtype=float).reshape(-1)
    theirs = run_bonsai_cement_mc(CHECK_SAMPLES, seed=2024)
    assert ours.size == theirs.size == CHECK_SAMPLES
    m1, s1, se_m1, se_s1 = _mean_sd_se(ours)
    m2, s2, se_m2, se_s2 = _mean_sd_se(theirs)
    assert abs(m1 - m2) < 3 * math.hypot(se_m1, se_m2)
    assert abs(s1 - s2) < 3 * math.hypot(se_s1, se_s2)
    # the summary carbonc reports is that of the samples it kept
    stats = r["co2"].stats
    assert stats is not None
    assert float(stats["mean"]) == pytest.approx(m1, rel=1e-12)
    assert float(stats["sd"]) == pytest.approx(s1, rel=1e-9)


def test_cement_monte_carlo_is_reproducible(cement: Model) -> None:
    """The same seed gives identical samples; another seed gives other samples."""
    n = 2_000
    a = run_cement(cement, n, seed=7, keep_samples=True).samples["co2"]
    b = run_cement(cement, n, seed=7, keep_samples=True).samples["co2"]
    c = run_cement(cement, n, seed=8, keep_samples=True).samples["co2"]
    assert np.asarray(a).size == n
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_bonsai_takes_no_seed() -> None:
    """bonsai draws from numpy's global random state: two unseeded runs differ.

    Only seeding that global state (``run_bonsai_cement_mc(..., seed=)`` does, and restores it)
    makes a run repeatable.
    """
    n = 1_000
    assert not np.array_equal(run_bonsai_cement_mc(n), run_bonsai_cement_mc(n))
    assert np.array_equal(run_bonsai_cement_mc(n, seed=5), run_bonsai_cement_mc(n, seed=5))
