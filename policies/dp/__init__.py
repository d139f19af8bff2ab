"""Differential-privacy planner: from a checked aggregate query to a DP plan and the trusted SQL feeding it.

Pure (no DB, no I/O, no randomness): ``plan(checked, grant, catalog, epsilon, public_domains)`` returns a
:class:`DPPlan` whose ``sql`` replaces the checked SQL and whose ``to_dict()`` travels in the job plan to the
trusted host, where ``sandbox.dp_noise`` adds the noise to the sandbox's exact measurements.

Supported shape (anything else is a ``PolicyViolation`` naming what to change)::

    SELECT <group keys>, COUNT(*) | COUNT(DISTINCT <privacy unit>) | SUM(<col>) | AVG(<col>) [AS name], ...
    FROM <one granted table> [WHERE <row predicate>] [GROUP BY <group keys>]

Built as small passes over the sqlglot tree of the checked query, in the checker's ``RULES`` style; the
pipeline is ``PASSES``:

>>> [step.__name__ for step in PASSES]  # doctest: +NORMALIZE_WHITESPACE
['budget_pass', 'parse_pass', 'source_pass', 'group_keys_pass', 'outputs_pass', 'measurements_pass',
 'scope_pass', 'bound_pass', 'measure_sql_pass']

Each output states in ``covers`` the bounded quantity it estimates (at most ``max_contributions`` rows per
privacy unit, kept by a hash of the row; values clamped to the catalog bounds; NULLs absent): the released
interval is for that quantity. Budget: the query's epsilon is split evenly across its mechanisms (an AVG is
two: a centred sum and a count) and the split is reported per output aggregate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from common.types import CatalogSnapshot, CheckedQuery, DPMode, Grant
from policies.dp.context import HIDDEN, MEASURE_PREFIX, Planning, refuse
from policies.dp.keys import group_keys_pass
from policies.dp.measure import measurements_pass
from policies.dp.model import CI_SUFFIXES, DPAggregate, DPPlan, Measurement, mechanism_of, released_columns
from policies.dp.outputs import outputs_pass
from policies.dp.rewrite import bound_pass, measure_sql_pass, render, scope_pass
from policies.dp.shape import MAX_EPSILON, MIN_EPSILON_FLOOR, budget_pass, parse_pass, source_pass

PASSES = (
    budget_pass,
    parse_pass,
    source_pass,
    group_keys_pass,
    outputs_pass,
    measurements_pass,
    scope_pass,
    bound_pass,
    measure_sql_pass,
)

__all__ = [
    "CI_SUFFIXES",
    "DPAggregate",
    "DPPlan",
    "HIDDEN",
    "MAX_EPSILON",
    "MEASURE_PREFIX",
    "MIN_EPSILON_FLOOR",
    "Measurement",
    "PASSES",
    "mechanism_of",
    "plan",
    "released_columns",
    "wants_dp",
]


def wants_dp(grant: Grant, requested: bool) -> bool:
    """Does a query on ``grant`` run under DP? ``required`` always, ``optional`` when asked, ``off`` never."""
    if grant.dp.mode is DPMode.required:
        return True
    if grant.dp.mode is DPMode.optional:
        return requested
    if requested:
        raise refuse(
            "dp_not_enabled",
            f"differential privacy is not enabled on grant {grant.id}",
            hint="submit without the dp option, or ask the implementation institution to enable DP "
            "on the grant",
        )
    return False


def plan(
    checked: CheckedQuery,
    grant: Grant,
    catalog: CatalogSnapshot,
    *,
    epsilon: float | None = None,
    public_domains: Mapping[str, Sequence[str]] | None = None,
) -> DPPlan:
    """Plan the DP release of ``checked`` (an accepted query) under ``grant``.

    ``public_domains`` maps "dataset.table.column" to publicly known keys (e.g. the 38 district names);
    the grant's own ``dp.key_domains`` ("table.column" -> keys) take precedence.
    """
    p = Planning(checked, grant, catalog, epsilon, public_domains or {})
    for step in PASSES:
        step(p)
    return DPPlan(
        grant_id=grant.id,
        epsilon=p.epsilon,
        max_contributions=p.max_contributions,
        keys=tuple(p.keys),
        key_columns=tuple(p.full(c) for c in p.key_columns),
        domains=tuple(p.domains[c] for c in p.key_columns),
        outputs=tuple(p.outputs),
        aggregates=tuple(p.aggregates),
        measurements=tuple(p.measurements),
        sql=render(p),
    )
