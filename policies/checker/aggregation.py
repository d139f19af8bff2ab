"""Aggregate or row-level? Row-level queries need every involved grant to allow them."""

from __future__ import annotations

from common.types import Clause
from policies.checker.context import Context, refuse


def aggregation(ctx: Context) -> None:
    """Decide ``ctx.is_aggregate``, ``k`` and ``row_cap``.

    The query is aggregate when its outermost SELECT aggregates, or when it only reads aggregated
    subqueries/CTEs (their group sizes are carried out). Otherwise it is row-level.
    """
    info = ctx.scope_info(ctx.root)
    kinds = set(info.carriers)
    if kinds == {"row", "count"}:
        raise refuse(
            "mixed_aggregation",
            "the query mixes aggregated and row-level inputs",
            hint="aggregate once, over base rows",
        )
    ctx.is_aggregate = kinds == {"count"}
    grants = list({g.id: g for g in ctx.used.values()}.values())
    if not grants:
        raise refuse("no_table", "the query reads no granted table", hint="add FROM <your granted table>")
    ctx.k = max(g.k for g in grants)
    ctx.row_cap = min(g.max_rows for g in grants)
    if not ctx.is_aggregate:
        refusing = sorted(g.dataset.lower() for g in grants if not g.allow_row_level)
        if refusing:
            ctx.deferred = refuse(
                "row_level_not_allowed",
                f"row-level queries are not allowed on {', '.join(refusing)}: only aggregates are",
                clause=Clause.select,
                hint="add GROUP BY and aggregates, e.g. SELECT district, count(*), "
                "avg(income) ... GROUP BY district",
            )
