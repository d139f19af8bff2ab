"""Pass 4: group keys come from a declared domain (the grant's, else public knowledge), not from the data."""

from __future__ import annotations

import math

from sqlglot import exp

from common.types import Rule
from policies.dp.context import Planning, refuse


def group_keys_pass(p: Planning) -> None:
    """Each GROUP BY is a plain group column with a declared key domain; the domains' product fits the cap.

    >>> from policies.dp.examples import planned
    >>> p = planned("group_keys_pass", "SELECT district, count(*) AS n FROM persons GROUP BY district")
    >>> p.group_columns, p.domains
    (['district'], {'district': ('A', 'B')})
    >>> planned("group_keys_pass", "SELECT age, count(*) FROM persons GROUP BY age")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    common.errors.PolicyViolation: `age` has no declared key domain: ... never from the data
    """
    group = p.select.args.get("group")
    for node in group.expressions if group else []:
        if not isinstance(node, exp.Column):
            raise refuse(
                "dp_group_expression",
                "under differential privacy GROUP BY takes plain group columns",
                clause="group_by",
                hint="group by the column itself, e.g. GROUP BY district",
            )
        p.group_columns.append(node.name.lower())
    for column in p.group_columns:
        p.domains[column] = _domain(p, column)
    cells = math.prod(len(d) for d in p.domains.values()) if p.domains else 1
    if cells > p.grant.max_rows:
        raise refuse(
            "dp_domain_too_large",
            f"the key domains give {cells} groups, more than the grant's row cap of {p.grant.max_rows}",
            clause="group_by",
            hint="group by fewer columns",
        )


def _domain(p: Planning, column: str) -> tuple[str, ...]:
    if p.grant.rule_for(p.table, column).rule not in (Rule.group, Rule.plain):
        raise refuse(
            "dp_group_column",
            f"`{column}` is not a group column of the grant",
            column=p.full(column),
            clause="group_by",
            hint="group by a column the grant marks `group`",
        )
    domain = p.grant.dp.key_domains.get(f"{p.table}.{column}") or p.public_domains.get(p.full(column))
    if not domain:
        raise refuse(
            "dp_no_key_domain",
            f"`{column}` has no declared key domain: under differential privacy "
            "group keys must come from a declared list, never from the data",
            column=p.full(column),
            clause="group_by",
            hint="ask the implementation institution to declare the keys of "
            f"{p.table}.{column} in the grant's dp.key_domains",
        )
    return tuple(dict.fromkeys(str(k) for k in domain))
