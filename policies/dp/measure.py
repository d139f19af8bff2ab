"""Pass 6: one mechanism per measurement, the budget split evenly across them, and what each output covers.

Sensitivities (add/remove one privacy unit, L1 over all released cells): ``COUNT(*)`` and the count behind an
average: ``max_contributions``; ``SUM``: ``max_contributions * max(|lo|, |hi|)``; ``COUNT(DISTINCT unit)``: 1
without GROUP BY, ``max_contributions`` with it (one unit's rows may fall in that many groups). An ``AVG`` is
``mid + noisy SUM(v - mid) / noisy COUNT(v)`` with ``mid = (lo + hi) / 2``: the centred sum's sensitivity is
``max_contributions * (hi - lo) / 2``, half a plain sum's for a column bounded below by 0. Sequential
composition: the query's spend is the sum of its mechanisms' epsilons.
"""

from __future__ import annotations

from sqlglot import exp

from policies.dp.context import MEASURE_PREFIX, UNIT, Planning, Spec
from policies.dp.model import DPAggregate, Measurement


def measurements_pass(p: Planning) -> None:
    """Measurements in output order, each with its sensitivity and an even share of the epsilon.

    >>> from policies.dp.examples import planned
    >>> p = planned("measurements_pass", "SELECT count(*) AS n, avg(income) AS a FROM persons", epsilon=0.9,
    ...             max_contributions=2)
    >>> [(m.kind, m.sensitivity, round(m.epsilon, 2)) for m in p.measurements]
    [('count', 2.0, 0.3), ('centered_sum', 100000.0, 0.3), ('count', 2.0, 0.3)]
    >>> for m in p.measure_sql:
    ...     print(m.sql("duckdb"))
    COUNT(*) AS __shuyu_dp_0
    SUM(__shuyu_v0 - 50000.0) AS __shuyu_dp_1
    COUNT(__shuyu_v0) AS __shuyu_dp_2
    >>> print(p.aggregates[1].covers)  # doctest: +NORMALIZE_WHITESPACE
    AVG(income) over the non-NULL values of the kept rows (at most 2 rows per person_id),
    each value clamped to [0, 100000]
    """
    share = p.epsilon / sum(2 if s.kind == "avg" else 1 for s in p.specs)
    for spec in p.specs:
        used = tuple(_measure(p, kind, sensitivity, sql, share) for kind, sensitivity, sql in _parts(p, spec))
        p.aggregates.append(
            DPAggregate(
                spec.output,
                spec.kind,
                p.full(spec.column) if spec.column else None,
                spec.lower,
                spec.upper,
                used,
                share * len(used),
                _covers(p, spec),
            )
        )


def _parts(p: Planning, spec: Spec) -> list[tuple[str, float, exp.Expression]]:
    """(kind, sensitivity, SQL over the bounded rows) of each measurement behind one output."""
    mc = p.max_contributions
    if spec.kind == "count":
        return [("count", mc, exp.Count(this=exp.Star()))]
    if spec.kind == "count_distinct":
        distinct = exp.Count(this=exp.Distinct(expressions=[exp.column(UNIT)]))
        return [("count_distinct", 1 if not p.group_columns else mc, distinct)]
    value = exp.column(p.values.setdefault(spec.column, f"__shuyu_v{len(p.values)}"))
    lo, hi = spec.lower, spec.upper
    if spec.kind == "sum":
        return [("sum", mc * max(abs(lo), abs(hi)), exp.Sum(this=value))]
    centred = exp.Sum(this=exp.Sub(this=value, expression=exp.convert((lo + hi) / 2)))
    return [("centered_sum", mc * (hi - lo) / 2, centred), ("count", mc, exp.Count(this=value.copy()))]


def _measure(p: Planning, kind: str, sensitivity: float, sql: exp.Expression, share: float) -> str:
    column = f"{MEASURE_PREFIX}{len(p.measurements)}"
    p.measurements.append(Measurement(column, kind, float(sensitivity), share))
    p.measure_sql.append(exp.alias_(sql, column))
    return column


def _covers(p: Planning, spec: Spec) -> str:
    """The bounded quantity an output estimates (its interval is for this, not for the unbounded value)."""
    kept = f"at most {p.max_contributions} rows per {p.unit}"
    if spec.kind == "count":
        return f"COUNT(*) of the kept rows ({kept}, chosen by a hash of each row)"
    if spec.kind == "count_distinct":
        return f"the number of distinct {p.unit}"
    bounds = f"each value clamped to [{spec.lower:g}, {spec.upper:g}]"
    if spec.kind == "sum":
        return f"SUM({spec.column}) over the kept rows ({kept}), {bounds}; NULLs count as absent"
    return f"AVG({spec.column}) over the non-NULL values of the kept rows ({kept}), {bounds}"
