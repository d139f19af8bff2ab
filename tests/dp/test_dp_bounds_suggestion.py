"""Catalog bounds suggestions never publish a raw extreme (issue 21.4): tested with a planted outlier.

The suggested bounds become the clamp and the sensitivity of every DP sum; a department that accepts a raw
maximum publishes the richest person's income. Suggestions are coarsened (percentiles rounded outward to two
significant digits; powers of ten from a range) and say why."""

import numpy as np
import pyarrow as pa
import pytest

from catalog.profile import coarse_bounds, outward_bounds, suggest

OUTLIER = 98_765_432.17


def incomes(n=2_000, seed=3):
    rng = np.random.default_rng(seed)
    values = np.round(np.exp(rng.normal(np.log(60_000), 0.6, n)), 2)
    values[int(rng.integers(n))] = OUTLIER  # the richest person
    return values


def test_a_planted_outlier_is_neither_suggested_nor_recoverable():
    values = incomes()
    s = suggest(pa.table({"income": values, "age": np.arange(len(values)) % 90}))
    lower, upper = s["income"].lower, s["income"].upper
    assert lower not in (values.min(), values.max()) and upper not in (values.min(), values.max())
    assert (
        upper < OUTLIER / 10
    )  # nothing about the outlier's magnitude: the bound comes from the 99th percentile
    assert upper == float(f"{upper:.1e}") and upper > np.quantile(values, 0.99)  # two significant digits
    assert "never the observed minimum or maximum" in s["income"].reason
    assert "98765432" not in s["income"].reason.replace(",", "")
    age = s["age"]
    assert (age.lower, age.upper) == (-1.0, 90.0)  # 0 and 89 are observed: stepped out, not published


@pytest.mark.parametrize("seed", range(20))
def test_suggested_bounds_never_equal_an_observed_extreme(seed):
    rng = np.random.default_rng(seed)
    values = np.round(rng.choice([1, 10, 100, 1000]) * rng.gamma(2.0, 3.0, int(rng.integers(5, 400))))
    values[0] = rng.choice([0.0, 100.0, 1000.0, 10.0])  # round extremes are the hard case
    lower, upper = coarse_bounds(values)
    assert lower < upper
    assert lower not in (values.min(), values.max()) and upper not in (values.min(), values.max())
    r_lower, r_upper = outward_bounds(float(values.min()), float(values.max()))
    assert r_lower < values.min() and r_upper > values.max()  # strictly outside: never the extreme itself


def test_range_only_bounds_are_powers_of_ten():
    assert outward_bounds(1_000.0, OUTLIER) == (0.0, 100_000_000.0)
    assert outward_bounds(0.0, 100_000.0) == (-1.0, 1_000_000.0)
