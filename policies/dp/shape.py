"""Passes 1-3: the epsilon asked for, the one supported query shape, and the one granted table it reads.

Doctests use ``policies.dp.examples.planned`` (a small population grant): it runs the pipeline up to a pass.
"""

from __future__ import annotations

import math

import sqlglot
from sqlglot import exp

from policies.dp.context import D, Planning, refuse

MAX_EPSILON = 10.0
MIN_EPSILON_FLOOR = 0.001  # as policies.ledger: no grant may allow a cheaper query


def budget_pass(p: Planning) -> None:
    """The query's epsilon: the request's, else the grant's default, within [min_epsilon, 10].

    >>> from policies.dp.examples import planned
    >>> planned("budget_pass", "SELECT count(*) AS n FROM persons", epsilon=0.3).epsilon
    0.3
    >>> planned("budget_pass", "SELECT count(*) AS n FROM persons", epsilon=0.001)
    Traceback (most recent call last):
    ...
    common.errors.PolicyViolation: epsilon must be at least 0.01 (grant g1's minimum per query) and at most 10
    """
    settings = p.grant.dp
    eps = settings.default_epsilon if p.requested_epsilon is None else float(p.requested_epsilon)
    floor = max(settings.min_epsilon, MIN_EPSILON_FLOOR)
    if not (math.isfinite(eps) and floor <= eps <= MAX_EPSILON):
        raise refuse(
            "dp_epsilon",
            f"epsilon must be at least {floor:g} (grant {p.grant.id}'s minimum per query) and at most "
            f"{MAX_EPSILON:g}",
            hint=f"use e.g. epsilon {settings.default_epsilon:g} (the grant's default)",
        )
    p.epsilon = eps


def parse_pass(p: Planning) -> None:
    """One aggregate SELECT over one table: no set operations, CTEs, joins, subqueries, windows, HAVING,
    ORDER BY, LIMIT, QUALIFY or DISTINCT (each would act on exact values inside the sandbox).

    >>> from policies.dp.examples import planned
    >>> planned("parse_pass", "SELECT district, count(*) FROM persons GROUP BY district ORDER BY 2").select
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    common.errors.PolicyViolation: ORDER is not supported under differential privacy: it would act on exact...
    """
    if not p.checked.is_aggregate:
        raise refuse(
            "dp_row_level",
            "differential privacy releases aggregates only: row-level queries are not "
            f"allowed on grant {p.grant.id}",
            hint="use COUNT(*), SUM, AVG with GROUP BY on group columns",
        )
    tree = sqlglot.parse_one(p.checked.sql, read=D)
    _one_select(tree)
    _no_clauses(tree)
    p.select = tree


def _one_select(tree: exp.Expression) -> None:
    if not isinstance(tree, exp.Select):
        raise refuse(
            "dp_shape",
            "under differential privacy a query is one SELECT (no UNION/INTERSECT/EXCEPT)",
            hint="run each part as its own query",
        )
    if tree.args.get("with"):
        raise refuse(
            "dp_shape", "under differential privacy CTEs are not supported", hint="query the table directly"
        )
    if tree.args.get("joins"):
        raise refuse(
            "dp_join",
            "under differential privacy a query reads one table (no joins): contribution "
            "bounding is per privacy unit of that table",
            clause="join",
            hint="query one table",
        )
    source = tree.args.get("from_") or tree.args.get("from")
    if source is None or not isinstance(source.this, exp.Table) or not source.this.db:
        raise refuse(
            "dp_shape",
            "under differential privacy the query reads one granted table",
            hint="FROM <your granted table>, without subqueries",
        )


def _no_clauses(tree: exp.Select) -> None:
    for clause, key in (
        ("having", "having"),
        ("order_by", "order"),
        ("select", "limit"),
        ("select", "offset"),
        ("qualify", "qualify"),
    ):
        if tree.args.get(key):
            raise refuse(
                "dp_clause",
                f"{key.upper()} is not supported under differential privacy: it would act on "
                "exact values inside the sandbox",
                clause=clause,
                hint=f"drop {key.upper()}; filter or sort the noisy result yourself",
            )
    if tree.args.get("distinct"):
        raise refuse(
            "dp_clause", "SELECT DISTINCT is not supported under differential privacy", clause="select"
        )
    for node in tree.find_all(exp.Subquery, exp.Window, exp.Select):
        if node is not tree:
            raise refuse(
                "dp_subquery",
                "subqueries and window functions are not supported under differential "
                "privacy: one person's data could change which rows of others count",
                hint="use a plain WHERE on row values",
            )


def source_pass(p: Planning) -> None:
    """The table read must be a table of the DP grant's dataset.

    >>> from policies.dp.examples import planned
    >>> p = planned("source_pass", "SELECT count(*) AS n FROM persons")
    >>> p.dataset, p.table, p.alias
    ('population', 'persons', 'persons')
    """
    source = (p.select.args.get("from_") or p.select.args.get("from")).this
    p.alias = source.alias_or_name
    p.dataset, p.table = source.db.lower(), source.name.lower()
    p.info = p.catalog.table(p.dataset, p.table)
    if p.info is None or p.dataset != p.grant.dataset.lower():
        raise refuse("dp_table", "the DP query must read one table of the DP grant's dataset")
