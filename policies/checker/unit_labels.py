"""Columns that are functions of the privacy unit: an operator's own (social) data keyed by person.

A column of an operator-uploaded table (catalog ``origin`` "social", A34) is not a public attribute: the
operator chose its value person by person, so ``segment`` can be "everyone in S" for any set S it likes.
Grouping public personal data by it makes a custom partition of people. One partition per job is what k
protects (every part has at least k units); filters and conditions on such labels, or two of them in one
job, would intersect partitions the operator designed, so:

* in a query that also reads public data, a label column of a social table (any rule but ``join`` and
  ``aggregate``) may be used only as a group key: in GROUP BY and as that key in the output/ORDER BY;
  never in WHERE/ON conditions, FILTER, HAVING, CASE conditions or inside aggregates;
* at most one such label per query.

Differencing *across* jobs (S, then S plus one person) is the disclosure auditor's job (sandbox side).
"""

from __future__ import annotations

from common.types import Clause, Rule
from policies.checker.column_rules import Site, own_columns
from policies.checker.context import Context, refuse, short
from policies.checker.scopes import resolve

_ALLOWED = (Clause.group_by, Clause.select, Clause.order_by)


def _social_labels(ctx: Context) -> set[str]:
    labels = set()
    for (dataset, table), grant in ctx.used.items():
        info = ctx.catalog.table(dataset, table)
        if info is None or info.origin != "social":
            continue
        for column, rule in grant.columns.get(table, {}).items():
            if (
                rule.rule not in (Rule.join, Rule.aggregate, Rule.deny)
                and column != grant.privacy_unit.lower()
            ):
                labels.add(f"{dataset}.{table}.{column.lower()}")
    return labels


def unit_labels(ctx: Context) -> None:
    """Refuse operator-chosen labels outside a single GROUP BY key when public data is read too."""
    origins = {
        (ctx.catalog.table(d, t).origin if ctx.catalog.table(d, t) is not None else "public")
        for d, t in ctx.used
    }
    if origins != {"social", "public"}:
        return
    labels = _social_labels(ctx)
    grouped: set[str] = set()
    for scope in ctx.scopes:
        for column in own_columns(scope.expression):
            label = resolve(ctx, column, scope) if column.table else None
            used = set(label.columns) & labels if label is not None else set()
            if not used:
                continue
            site = Site(column, scope.expression)
            name = sorted(used)[0]
            if site.clause is None:
                continue
            if site.clause not in _ALLOWED or site.agg is not None:
                raise refuse(
                    "unit_label",
                    f"`{short(name)}` is a label the operator chose per person: with public data it may "
                    f"only be a group key, not used in {site.clause}",
                    column=name,
                    clause=site.clause,
                    hint=f"GROUP BY {short(name)} and filter only on public columns",
                )
            if site.clause is Clause.group_by:
                grouped |= used
    if len(grouped) > 1:
        raise refuse(
            "unit_label",
            f"the query groups public data by {len(grouped)} labels the operator chose per person; "
            "one per query is allowed",
            clause=Clause.group_by,
            hint="group by one of your own labels per query",
        )
