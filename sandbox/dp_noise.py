"""Differential-privacy noise, applied in the TRUSTED host to the sandbox's exact measurements (never inside
the sandbox, whose code the analyst's SQL shapes).

``release(table, plan)`` takes the sandbox result of a DP query (group keys + hidden ``__shuyu_dp_<i>`` exact
measurements, see ``policies/dp``) and the plan's JSON form, and returns the table that may leave:

* one row per key of the declared domain (the cross product of the group columns' domains), in domain order:
  keys absent from the data are filled with exact 0 *before* noise, keys the data has outside the domain are
  dropped — so the set of released rows reveals nothing about the data;
* **floating-point safe noise** (Mironov 2012: textbook floating-point Laplace leaks through its low bits):
  counts get diffprivlib's ``Geometric`` mechanism (two-sided geometric noise: the release is an integer),
  sums get diffprivlib's ``Snapping`` mechanism (Laplace noise on a value clamped to a public bound, rounded
  to a power-of-two grid ``Λ`` of the sensitivity): the release is re-expressed exactly as ``k · grid``
  with ``grid = Λ · sensitivity``, so its digits carry nothing beyond the snapped integer ``k``. Snapping's
  bound is ``±2^32`` sensitivities (more than any population reaches; it costs a factor ``1 + 6e-6`` of
  noise);
* COUNT / COUNT DISTINCT / SUM outputs are the noisy measurement; AVG is ``mid + noisy SUM(v - mid) /
  noisy COUNT(v)`` (``mid`` the bounds' midpoint) over the non-NULL values, clamped to the column bounds
  (``mid`` when the noisy count is below 1);
* each output ``x`` is followed by ``x_ci_low`` and ``x_ci_high``, an interval for the **bounded** quantity
  (see ``covers`` in the report: at most ``max_contributions`` rows per privacy unit, values clamped, NULLs
  absent). Its level is in the report's ``confidence``: COUNT — the exact coverage of ``x ± t`` for the
  smallest integer ``t`` reaching 95% (at least 95% for every true count); SUM — 95% averaged over the true
  value's position on the grid (``confidence_min`` for the worst position); AVG — 95% by the delta method with
  the two noises' exact variances (measured by ``bench/bench_dp_coverage.py``). The bench's table is in
  ``docs/privacy.md``.

Noisy values are not clamped at 0, so COUNT and SUM are unbiased; AVG's clamp to the bounds is a bias toward
the inside of the bounds that only matters when the noisy count is small (documented in docs/privacy.md).
Everything here is post-processing of the noisy values except the noise itself.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
from diffprivlib.mechanisms import Geometric, Snapping

CONFIDENCE = 0.95
SNAP_BOUND = 2.0**32  # Snapping's clamp, in sensitivities: |true sum| <= 2^32 * sensitivity always holds
GEOMETRIC, SNAPPING = "geometric", "snapping"


def mechanism_of(kind: str) -> str:
    """Counts are integers: geometric; sums are real: snapping.

    >>> mechanism_of("count"), mechanism_of("centered_sum")
    ('geometric', 'snapping')
    """
    return GEOMETRIC if kind in ("count", "count_distinct") else SNAPPING


# ------------------------------------------------------------------------------------------- mechanisms


def geometric(sensitivity: float, epsilon: float, random_state=None) -> Geometric:
    return Geometric(epsilon=epsilon, sensitivity=int(round(sensitivity)), random_state=random_state)


def snapping(sensitivity: float, epsilon: float, random_state=None) -> Snapping:
    bound = SNAP_BOUND * sensitivity
    return Snapping(
        epsilon=epsilon, sensitivity=sensitivity, lower=-bound, upper=bound, random_state=random_state
    )


@functools.lru_cache(maxsize=256)
def snapping_grid(sensitivity: float, epsilon: float) -> tuple[float, float]:
    """(Laplace scale, grid) of the snapping mechanism, both in the value's units.

    The scale is ``sensitivity / effective epsilon``; the grid is ``Λ · sensitivity`` with ``Λ`` the smallest
    power of two at least ``1 / effective epsilon`` (Mironov's construction, as diffprivlib computes it).

    >>> scale, grid = snapping_grid(1000.0, 0.5)
    >>> round(scale, 2), grid
    (2000.01, 4000.0)
    """
    effective = float(snapping(sensitivity, epsilon).effective_epsilon())
    unit_scale = 1.0 / effective
    mantissa, exponent = math.frexp(unit_scale)
    lam = unit_scale if mantissa == 0.5 else math.ldexp(1.0, exponent)
    return sensitivity * unit_scale, sensitivity * lam


def noisy_values(kind: str, sensitivity: float, epsilon: float, exact: list[float], random_state=None):
    """Noise every exact value of one measurement: integers for counts, multiples of the grid for sums."""
    if mechanism_of(kind) == GEOMETRIC:
        mech = geometric(sensitivity, epsilon, random_state)
        return [float(mech.randomise(int(round(v)))) for v in exact]
    mech = snapping(sensitivity, epsilon, random_state)
    _, grid = snapping_grid(sensitivity, epsilon)
    # Re-express the snapped value exactly as k * grid: the last float operations of the library's inverse
    # scaling would otherwise add rounding digits (a deterministic function of k, but not the clean grid).
    return [round(float(mech.randomise(float(v))) / grid) * grid for v in exact]


# -------------------------------------------------------------------------------------------- intervals


@functools.lru_cache(maxsize=256)
def geometric_interval(sensitivity: float, epsilon: float, confidence: float = CONFIDENCE):
    """(t, level): the smallest integer half-width whose exact coverage reaches ``confidence``.

    Two-sided geometric noise with ``α = exp(-ε/Δ)``: ``P(|Z| >= k) = 2 α^k / (1 + α)``.

    >>> t, level = geometric_interval(1, 0.5)
    >>> t, round(level, 4)
    (6, 0.9624)
    """
    alpha = math.exp(-epsilon / sensitivity)
    t = max(0, math.ceil(math.log((1 - confidence) * (1 + alpha) / 2) / math.log(alpha)) - 1)
    while 2 * alpha ** (t + 1) / (1 + alpha) > 1 - confidence:
        t += 1
    return t, 1 - 2 * alpha ** (t + 1) / (1 + alpha)


def _laplace_cdf(x, b):
    return np.where(x < 0, 0.5 * np.exp(np.minimum(x, 0) / b), 1 - 0.5 * np.exp(-np.maximum(x, 0) / b))


def _snapped_coverage(h: float, scale: float, grid: float, offsets: np.ndarray) -> np.ndarray:
    """Coverage of ``[r - h, r + h]`` for a true value at each offset from the grid: the release ``r`` is the
    grid point nearest ``x + L``, so it lands within ``h`` of ``x`` iff ``x + L`` rounds to one of them."""
    g_low = np.ceil((offsets - h) / grid) * grid
    g_high = np.floor((offsets + h) / grid) * grid
    return _laplace_cdf(g_high + grid / 2 - offsets, scale) - _laplace_cdf(g_low - grid / 2 - offsets, scale)


@functools.lru_cache(maxsize=256)
def snapping_interval(sensitivity: float, epsilon: float, confidence: float = CONFIDENCE):
    """(h, level, worst): half-width with ``confidence`` averaged over the true value's position on the grid,
    and the coverage at the worst position.

    >>> h, level, worst = snapping_interval(1.0, 1.0)
    >>> round(h, 2), level, round(worst, 3)
    (3.16, 0.95, 0.931)
    """
    scale, grid = snapping_grid(sensitivity, epsilon)
    offsets = (np.arange(2000) + 0.5) / 2000 * grid
    low, high = 0.0, scale * math.log(1 / (1 - confidence)) + grid
    for _ in range(60):  # bisection: coverage grows with h
        mid = (low + high) / 2
        low, high = (
            (mid, high) if _snapped_coverage(mid, scale, grid, offsets).mean() < confidence else (low, mid)
        )
    worst = float(_snapped_coverage(high, scale, grid, offsets).min())
    return high, confidence, worst


def _laplace_like_scale(mechanism: str, sensitivity: float, epsilon: float) -> float:
    """The scale of a Laplace variable with the same variance as the mechanism's noise."""
    if mechanism == GEOMETRIC:
        alpha = math.exp(-epsilon / sensitivity)
        return math.sqrt(alpha) / (1 - alpha)
    scale, grid = snapping_grid(sensitivity, epsilon)
    return math.sqrt(scale**2 + grid**2 / 24)  # Laplace plus rounding uniform on ±grid/2


def two_laplace_quantile(b1: float, b2: float, confidence: float = CONFIDENCE) -> float:
    """``t`` with ``P(|L1 + L2| > t) = 1 - confidence`` for independent Laplace(b1), Laplace(b2).

    >>> round(two_laplace_quantile(1.0, 0.0), 4), round(two_laplace_quantile(1.0, 1.0), 3)
    (2.9957, 4.113)
    """
    b1, b2 = max(b1, b2), min(b1, b2)

    def tail(t: float) -> float:
        if b2 <= 1e-12 * b1:
            return math.exp(-t / b1)
        if abs(b1 - b2) <= 1e-9 * b1:
            return math.exp(-t / b1) * (1 + t / (2 * b1))
        return (b1**2 * math.exp(-t / b1) - b2**2 * math.exp(-t / b2)) / (b1**2 - b2**2)

    low, high = 0.0, 50 * b1
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if tail(mid) > 1 - confidence else (low, mid)
    return high


# ---------------------------------------------------------------------------------------------- release


def release(table: pa.Table, plan: Mapping[str, Any], random_state=None) -> tuple[pa.Table, dict[str, Any]]:
    """Noisy release of a DP result. Raises ``ValueError`` on a malformed result (the gate fails closed)."""
    keys: list[str] = list(plan["keys"])
    domains = [tuple(str(k) for k in d) for d in plan["domains"]]
    measures = {m["column"]: m for m in plan["measurements"]}
    exact = _exact_by_key(table, keys, list(measures))
    cells = list(itertools.product(*domains)) if keys else [()]
    noisy = {
        column: noisy_values(
            m["kind"],
            float(m["sensitivity"]),
            float(m["epsilon"]),
            [exact.get(cell, {}).get(column, 0.0) for cell in cells],
            random_state,
        )
        for column, m in measures.items()
    }
    columns: dict[str, pa.Array] = {}
    for j, name in enumerate(keys):
        columns[name] = pa.array([cell[j] for cell in cells], pa.string())
    report_aggs = []
    for agg in plan["aggregates"]:
        used = [measures[c] for c in agg["measurements"]]
        value, low, high, claim = _aggregate(agg, used, noisy)
        columns[agg["output"]] = pa.array(value, pa.float64())
        columns[agg["output"] + "_ci_low"] = pa.array(low, pa.float64())
        columns[agg["output"] + "_ci_high"] = pa.array(high, pa.float64())
        report_aggs.append(
            {
                "output": agg["output"],
                "kind": agg["kind"],
                "epsilon": agg["epsilon"],
                "mechanism": [mechanism_of(m["kind"]) for m in used],
                "noise_scale": [
                    _laplace_like_scale(mechanism_of(m["kind"]), m["sensitivity"], m["epsilon"]) for m in used
                ],
                "covers": agg.get("covers", ""),
                **claim,
            }
        )
    out = pa.table({c: columns[c] for c in plan["released_columns"]})
    report = {
        "epsilon": plan["epsilon"],
        "mechanism": "geometric (counts), snapping (sums)",
        "confidence": CONFIDENCE,
        "max_contributions": plan["max_contributions"],
        "groups_released": len(cells),
        "aggregates": report_aggs,
        "interval_columns": "<column>_ci_low / <column>_ci_high hold the interval of each noisy value for "
        "the bounded quantity named in `covers`, at the level in `confidence`",
        "rows_dropped_by_bounding": "not released (it would cost epsilon); the intervals cover the bounded "
        "quantity, not the unbounded one",
        "note": "every group of the declared key domain is released (no k-threshold under DP); asking "
        "again costs budget again",
    }
    return out, report


def _exact_by_key(table: pa.Table, keys: list[str], measures: list[str]) -> dict[tuple[str, ...], dict]:
    names = table.column_names
    for column in keys + measures:
        if names.count(column) != 1:
            raise ValueError("the DP result lacks (or repeats) an expected column")
    exact: dict[tuple[str, ...], dict[str, float]] = {}
    key_values = [table.column(k).to_pylist() for k in keys]
    measure_values = {c: table.column(c).to_pylist() for c in measures}
    for i in range(table.num_rows):
        key = tuple("" if v[i] is None else str(v[i]) for v in key_values)
        if key in exact:
            raise ValueError("the DP result repeats a group key")
        exact[key] = {c: _number(vals[i]) for c, vals in measure_values.items()}
    return exact


def _aggregate(agg: Mapping[str, Any], used: list[Mapping[str, Any]], noisy: dict[str, list[float]]):
    """(values, lows, highs, claim) of one output aggregate from its measurements' noisy values."""
    first = used[0]
    values = noisy[first["column"]]
    sens, eps = float(first["sensitivity"]), float(first["epsilon"])
    if agg["kind"] == "avg":
        return _average(values, noisy[used[1]["column"]], used, float(agg["lower"]), float(agg["upper"]))
    if mechanism_of(first["kind"]) == GEOMETRIC:
        t, level = geometric_interval(sens, eps)
        claim = {"confidence": level, "interval": f"value ± {t} (exact coverage for every true count)"}
        half = float(t)
    else:
        half, level, worst = snapping_interval(sens, eps)
        _, grid = snapping_grid(sens, eps)
        claim = {"confidence": level, "confidence_min": worst, "grid": grid}
    return values, [v - half for v in values], [v + half for v in values], claim


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("a DP measurement is not finite")
    return number


def _average(sums: list[float], counts: list[float], used, lo: float, hi: float):
    """``sums`` are noisy sums of ``v - mid`` (centred), ``counts`` noisy counts of non-NULL ``v``.

    Interval (delta method): ``avg - μ ≈ (E_s - a·E_c) / c`` with ``a = s / c`` the centred mean; the two
    noises are replaced by Laplace variables of the same variance and the 95% quantile of their combination
    is exact (``two_laplace_quantile``). When the count's own interval reaches 0: the whole bound range.
    """
    s_mech, c_mech = (mechanism_of(m["kind"]) for m in used)
    b_sum = _laplace_like_scale(s_mech, float(used[0]["sensitivity"]), float(used[0]["epsilon"]))
    b_count = _laplace_like_scale(c_mech, float(used[1]["sensitivity"]), float(used[1]["epsilon"]))
    t_count, _ = geometric_interval(float(used[1]["sensitivity"]), float(used[1]["epsilon"]))
    mid = (lo + hi) / 2
    values, lows, highs = [], [], []
    for s, c in zip(sums, counts):
        values.append(min(max(mid + s / c, lo), hi) if c >= 1 else mid)
        if c - t_count <= 0:
            lows.append(lo)
            highs.append(hi)
            continue
        a = min(max(s / c, lo - mid), hi - mid)
        half = two_laplace_quantile(b_sum, abs(a) * b_count) / c
        lows.append(min(max(mid + s / c - half, lo), hi))
        highs.append(min(max(mid + s / c + half, lo), hi))
    claim = {
        "confidence": CONFIDENCE,
        "interval": "delta method with the noises' exact variances; the whole bound range when the noisy "
        "count's own interval reaches 0",
    }
    return values, lows, highs, claim
