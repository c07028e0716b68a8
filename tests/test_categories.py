"""IPCC category hierarchies (climate-categories): dims of codes, rollup and boundaries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import climate_categories
import numpy as np

from carbonc.compiler import load
from carbonc.compiler.api import Uncertainty

Writer = Callable[..., Path]

MODEL = """
carbon: 1
model: cats
dimensions:
  category: {categorization: IPCC2006, codes: ["1.A.1", "1.A.3.b", "2.A.1", "3.B.1.a", "4.A"]}
  gas: [CO2, CH4]
data:
  leaf:
    dims: [category, gas]
    fill: 0
    values:
      "1.A.1": {CO2: 100, CH4: 1}
      "1.A.3.b": {CO2: 50, CH4: 0.5}
      "2.A.1": {CO2: 20, CH4: 0}
      "3.B.1.a": {CO2: -30, CH4: 0}
      "4.A": {CO2: 0, CH4: 3}
    uncertainty: "±10%"
rules:
  total: "rollup(leaf, over=category)"
  energy: "sum(where(under(category=\\"1\\"), leaf, 0), over=category)"
  without_afolu: "sum(where(under(category=\\"3\\"), 0, leaf), over=category)"
  national: 'total[category="0"]'
  by_sector: 'stack(over=gas, CO2=total[category="1.A", gas=CO2], CH4=total[category="4", gas=CH4])'
assert:
  - expr: "total == rollup(total, over=category) within 1e-12"
    message: categories sum to their parents
outputs: [total, energy, without_afolu, national, by_sector]
"""


def test_codes_gain_their_ancestors_in_order(write_model: Writer) -> None:
    model = load(write_model(MODEL))
    labels = model.dims["category"].labels
    assert labels == (
        "0", "1", "1.A", "1.A.1", "1.A.3", "1.A.3.b", "2", "2.A", "2.A.1",
        "3", "3.B", "3.B.1", "3.B.1.a", "4", "4.A",
    )  # fmt: skip


def test_rollup_sums_up_the_tree_and_under_sets_the_boundary(write_model: Writer) -> None:
    r = load(write_model(MODEL)).run()
    total = r["total"]
    # Independent: every code's total is the sum of the leaves whose ancestors include it.
    tree = climate_categories.IPCC2006
    leaves = {"1.A.1": (100, 1), "1.A.3.b": (50, 0.5), "2.A.1": (20, 0), "3.B.1.a": (-30, 0)}
    leaves["4.A"] = (0, 3)
    for code in total.labels["category"]:
        expected = np.zeros(2)
        for leaf, v in leaves.items():
            ancestors = {leaf} | {c.codes[0] for c in tree.ancestors(leaf)}
            if code in ancestors:
                expected += v
        np.testing.assert_allclose([total[code, "CO2"], total[code, "CH4"]], expected)
    assert list(r["national"].values) == [140, 4.5]
    assert list(r["energy"].values) == [150, 1.5]
    assert list(r["without_afolu"].values) == [170, 4.5]
    assert list(r["by_sector"].values) == [150, 3]
    assert all(a["passed"] for a in r.asserts)


def test_rollup_carries_the_sample_axis(write_model: Writer) -> None:
    model = load(write_model(MODEL))
    r = model.run(uncertainty=Uncertainty(samples=200, seed=1, keep_samples=True))
    s = r.samples
    assert s is not None
    labels = model.dims["category"].labels
    zero, one, four = labels.index("0"), labels.index("1"), labels.index("4")
    np.testing.assert_allclose(
        s["total"][:, zero], s["total"][:, one] + s["total"][:, labels.index("2")]
        + s["total"][:, labels.index("3")] + s["total"][:, four], rtol=1e-12,
    )  # fmt: skip


def test_a_failed_parent_sum_is_reported(write_model: Writer) -> None:
    """Leaves without their parents' totals do not sum up: the identity names a category."""
    text = MODEL.replace("total == rollup(total", "leaf == rollup(leaf")
    r = load(write_model(text)).run(check_asserts=False)
    (outcome,) = r.asserts
    assert outcome["passed"] is False
    assert "at category=1, gas=CO2" in outcome["detail"]


def test_whole_categorization(write_model: Writer) -> None:
    model = load(
        write_model(
            """
            carbon: 1
            model: all
            dimensions:
              category: {categorization: IPCC2006}
            rules:
              y: "1"
            """
        )
    )
    assert len(model.dims["category"].labels) == len(list(climate_categories.IPCC2006.values()))
