"""Joins only on ``join`` columns with equality; every other cross-table condition is refused."""

from __future__ import annotations

from sqlglot import exp

from common.types import Clause, Rule
from policies.checker.context import Context, refuse
from policies.checker.scopes import resolve

_HINT = (
    "join on join keys with equality, e.g. JOIN social_insurance.contributions c ON p.person_id = c.person_id"
)


def conjuncts(node: exp.Expression | None) -> list[exp.Expression]:
    """Split ``a AND (b AND c)`` into its terms.

    >>> import sqlglot
    >>> [t.sql() for t in conjuncts(sqlglot.parse_one("a = 1 AND (b = 2 AND c)"))]
    ['a = 1', 'b = 2', 'c']
    """
    if node is None:
        return []
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return conjuncts(node.this) + conjuncts(node.expression)
    return [node]


def _tables(term: exp.Expression, select: exp.Expression) -> set[str]:
    out = set()
    for column in term.find_all(exp.Column):
        parent = column.parent
        while parent is not None and parent is not select and not isinstance(parent, exp.Select):
            parent = parent.parent
        if parent is select or parent is None:
            if column.table:
                out.add(column.table)
    return out


def joins(ctx: Context) -> None:
    """Every joined table needs an equality on join keys with a table before it; no other cross-table term."""
    for scope in ctx.scopes:
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        where_terms = conjuncts(select.args.get("where").this) if select.args.get("where") else []
        pairs: list[tuple[str, str]] = []
        for term in where_terms:
            tables = _tables(term, select)
            if len(tables) > 1:
                pair = _join_pair(ctx, scope, term)
                if pair is None:
                    raise refuse(
                        "join_rule",
                        "conditions across tables must be equalities of join keys",
                        clause=Clause.where,
                        hint=_HINT,
                    )
                pairs.append(pair)
        joined = {select.args["from_"].this.alias_or_name} if select.args.get("from_") else set()
        for join in select.args.get("joins") or []:
            alias = join.this.alias_or_name
            terms = conjuncts(join.args.get("on"))
            if join.args.get("using"):
                raise refuse("join_rule", "USING joins are not supported", clause=Clause.join, hint=_HINT)
            ok = False
            for term in terms:
                tables = _tables(term, select)
                if len(tables) > 1:
                    pair = _join_pair(ctx, scope, term)
                    if pair is None:
                        raise refuse(
                            "join_rule",
                            "join conditions must be equalities of join keys",
                            clause=Clause.join,
                            hint=_HINT,
                        )
                    pairs.append(pair)
            for a, b in pairs:
                if (a == alias and b in joined) or (b == alias and a in joined):
                    ok = True
            if not ok:
                raise refuse(
                    "join_rule",
                    "every join needs an equality between join keys of the two tables "
                    "(cross joins are not allowed)",
                    clause=Clause.join,
                    hint=_HINT,
                )
            joined.add(alias)


def _join_pair(ctx: Context, scope, term: exp.Expression) -> tuple[str, str] | None:
    if not isinstance(term, exp.EQ):
        return None
    left, right = term.this, term.expression
    if not (isinstance(left, exp.Column) and isinstance(right, exp.Column)) or left.table == right.table:
        return None
    for column in (left, right):
        label = resolve(ctx, column, scope)
        if label is None or label.rule.rule is not Rule.join or label.aggregated:
            return None
    return left.table, right.table
