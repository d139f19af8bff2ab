"""Differential-privacy noise, applied in the TRUSTED host to the sandbox's exact measurements (never inside the
sandbox, whose code the analyst's SQL shapes).

``release(table, plan)`` takes the sandbox result of a DP query (group keys + hidden ``__shuyu_dp_<i>`` exact
measurements, see ``policies/dp.py``) and the plan's JSON form, and returns the table that may leave:

* one row per key of the declared domain (the cross product of the group columns' domains), in domain order:
  keys absent from the data are filled with exact 0 *before* noise, keys the data has outside the domain are
  dropped — so the set of released rows reveals nothing about the data;
* every measurement gets Laplace noise (diffprivlib, scale = sensitivity / epsilon, secure RNG by default);
* COUNT / COUNT DISTINCT / SUM outputs are the noisy measurement; AVG is ``mid + noisy SUM(v - mid) / noisy
  COUNT(v)`` (``mid`` the bounds' midpoint), clamped to the column bounds (``mid`` when the noisy count is
  below 1);
* each output ``x`` is followed by ``x_ci_low`` and ``x_ci_high``: a 95% interval for the exact value. For a
  Laplace value it is ``x ± b·ln(20)`` (P(|noise| > t) = exp(-t/b)); for an average the sum and count
  intervals at 97.5% each (union bound) are divided corner to corner, clamped to the bounds.

Noisy values are neither rounded nor clamped at 0, so they are unbiased; the intervals say how far off they
may be. Everything here is post-processing of the noisy values except the noise itself.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from diffprivlib.mechanisms import Laplace

CONFIDENCE = 0.95
_Z95 = math.log(1 / (1 - CONFIDENCE))  # ln 20
_Z975 = math.log(2 / (1 - CONFIDENCE))  # ln 40: two intervals at 97.5% each hold together with >= 95%


def laplace_scale(sensitivity: float, epsilon: float) -> float:
    return sensitivity / epsilon


def interval_halfwidth(scale: float, confidence: float = CONFIDENCE) -> float:
    """Half-width of the central interval of Laplace(0, scale) at ``confidence``.

    >>> round(interval_halfwidth(1.0), 4)
    2.9957
    """
    return scale * math.log(1 / (1 - confidence))


def mechanism(sensitivity: float, epsilon: float, random_state=None) -> Laplace:
    return Laplace(epsilon=epsilon, sensitivity=sensitivity, random_state=random_state)


def release(table: pa.Table, plan: Mapping[str, Any], random_state=None) -> tuple[pa.Table, dict[str, Any]]:
    """Noisy release of a DP result. Raises ``ValueError`` on a malformed result (the gate fails closed)."""
    keys: list[str] = list(plan["keys"])
    domains = [tuple(str(k) for k in d) for d in plan["domains"]]
    measures = {m["column"]: m for m in plan["measurements"]}
    names = table.column_names
    for column in keys + list(measures):
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
    cells = list(itertools.product(*domains)) if keys else [()]
    rng_state = random_state
    noisy: dict[str, list[float]] = {}
    for column, m in measures.items():
        mech = mechanism(float(m["sensitivity"]), float(m["epsilon"]), rng_state)
        noisy[column] = [mech.randomise(exact.get(cell, {}).get(column, 0.0)) for cell in cells]

    columns: dict[str, pa.Array] = {}
    for j, name in enumerate(keys):
        columns[name] = pa.array([cell[j] for cell in cells], pa.string())
    report_aggs = []
    for agg in plan["aggregates"]:
        scales = [
            laplace_scale(measures[c]["sensitivity"], measures[c]["epsilon"]) for c in agg["measurements"]
        ]
        if agg["kind"] == "avg":
            value, low, high = _average(
                noisy[agg["measurements"][0]],
                noisy[agg["measurements"][1]],
                scales[0],
                scales[1],
                float(agg["lower"]),
                float(agg["upper"]),
            )
        else:
            value = noisy[agg["measurements"][0]]
            half = scales[0] * _Z95
            low, high = [v - half for v in value], [v + half for v in value]
        columns[agg["output"]] = pa.array(value, pa.float64())
        columns[agg["output"] + "_ci_low"] = pa.array(low, pa.float64())
        columns[agg["output"] + "_ci_high"] = pa.array(high, pa.float64())
        report_aggs.append(
            {
                "output": agg["output"],
                "kind": agg["kind"],
                "epsilon": agg["epsilon"],
                "noise_scale": scales,
                "mechanism": "laplace",
            }
        )
    ordered = [c for c in plan["released_columns"]]
    out = pa.table({c: columns[c] for c in ordered})
    report = {
        "epsilon": plan["epsilon"],
        "mechanism": "laplace",
        "confidence": CONFIDENCE,
        "max_contributions": plan["max_contributions"],
        "groups_released": len(cells),
        "aggregates": report_aggs,
        "interval_columns": "<column>_ci_low / <column>_ci_high hold the 95% interval of each noisy value",
        "note": "every group of the declared key domain is released (no k-threshold under DP); asking "
        "again costs budget again",
    }
    return out, report


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("a DP measurement is not finite")
    return number


def _average(sums: list[float], counts: list[float], b_sum: float, b_count: float, lo: float, hi: float):
    """``sums`` are noisy sums of ``v - mid`` (centred), ``counts`` noisy counts of ``v``."""
    values, lows, highs = [], [], []
    mid = (lo + hi) / 2
    h_sum, h_count = b_sum * _Z975, b_count * _Z975
    for s, c in zip(sums, counts):
        values.append(min(max(mid + s / c, lo), hi) if c >= 1 else mid)
        c_low, c_high = c - h_count, c + h_count
        if c_low <= 0:
            lows.append(lo)
            highs.append(hi)
            continue
        corners = [mid + a / b for a in (s - h_sum, s + h_sum) for b in (c_low, c_high)]
        lows.append(min(max(min(corners), lo), hi))
        highs.append(min(max(max(corners), lo), hi))
    return values, lows, highs
