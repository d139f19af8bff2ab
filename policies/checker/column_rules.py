"""Check every column occurrence, in every clause, against the rule of the column it comes from.

The rule of a derived column (CTE/subquery output) is its lineage label (see :mod:`scopes`), so aliasing
and CTEs cannot launder a column.
"""

from __future__ import annotations

from sqlglot import exp

from common.types import Clause, Rule
from policies.checker.allowlist import REVEALING_AGGREGATES, SAFE_AGGREGATES, aggregate_name
from policies.checker.context import Context, Label, ScopeInfo, refuse, short
from policies.checker.scopes import resolve

COMPARISONS = (
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Between,
    exp.In,
    exp.Is,
    exp.Like,
    exp.ILike,
)
TRANSPARENT = (
    exp.Paren,
    exp.Where,
    exp.Having,
    exp.Join,
    exp.Group,
    exp.Order,
    exp.Ordered,
    exp.Qualify,
    exp.Alias,
)
# What may surround an `aggregate` column inside sum/avg/count: arithmetic, not comparisons.
NUMERIC = (
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Neg,
    exp.Abs,
    exp.Round,
    exp.Coalesce,
    exp.Cast,
    exp.TryCast,
    exp.Distinct,
    exp.Floor,
    exp.Ceil,
)
_ARG_CLAUSE = {
    "expressions": Clause.select,
    "where": Clause.where,
    "joins": Clause.join,
    "group": Clause.group_by,
    "having": Clause.having,
    "order": Clause.order_by,
    "qualify": Clause.qualify,
}


class Site:
    """Where one column occurrence sits: clause, enclosing aggregate, operators in between."""

    __slots__ = ("clause", "agg", "ops")

    def __init__(self, column: exp.Column, select: exp.Expression) -> None:
        self.agg: exp.Expression | None = None
        self.ops: list[tuple[exp.Expression, str]] = []  # (operator, arg key of the child we came from)
        clause = None
        frozen = False
        child, parent = column, column.parent
        while parent is not None and parent is not select:
            if isinstance(parent, exp.Select):  # lexically inside another scope: checked there
                self.clause = None
                return
            if isinstance(parent, exp.Filter) and child.arg_key == "expression":
                clause, frozen = Clause.filter, True
            elif not frozen:
                if aggregate_name(parent):
                    self.agg, frozen = parent, True
                elif not isinstance(parent, TRANSPARENT):
                    self.ops.append((parent, child.arg_key))
            child, parent = parent, parent.parent
        self.clause = clause or _ARG_CLAUSE.get(child.arg_key, Clause.select)


def column_rules(ctx: Context) -> None:
    """Refuse any column used where its rule does not allow it; record columns by clause."""
    for scope in ctx.scopes:
        select = scope.expression
        info = ctx.scope_info(scope)
        for column in own_columns(select):
            label = resolve(ctx, column, scope)
            site = Site(column, select)
            if site.clause is None:
                continue
            if label is None:  # unqualified: an ORDER BY alias reference or a row variable
                label = info.labels.get(column.name) if site.clause is Clause.order_by else None
                if label is None:
                    if column.name in scope.sources or column.name in scope.selected_sources:
                        raise refuse(
                            "row_variable",
                            "table names cannot be used as row values",
                            clause=site.clause,
                            hint="name the columns you need",
                        )
                    raise refuse(
                        "unknown_column",
                        "a column could not be resolved",
                        clause=site.clause,
                        hint="qualify columns with their table alias",
                    )
            ctx.note(site.clause, label.columns)
            if not label.aggregated:
                _check(ctx, scope, info, column, label, site)


def own_columns(query: exp.Expression) -> list[exp.Column]:
    """Columns lexically in ``query`` itself, not in nested queries or CTEs (their scopes check those).

    >>> import sqlglot
    >>> q = sqlglot.parse_one("SELECT a.x AS y FROM t AS a WHERE a.z IN (SELECT b.w FROM u AS b) ORDER BY y")
    >>> [c.sql() for c in own_columns(q)]
    ['a.x', 'a.z', 'y']
    """
    found: list[exp.Column] = []
    stack = list(reversed(list(query.iter_expressions())))
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Column):
            found.append(node)
        elif isinstance(node, exp.TableColumn):
            raise refuse(
                "row_variable",
                "table names cannot be used as row values (whole-row access)",
                hint="name the columns you need",
            )
        elif not isinstance(node, (exp.Query, exp.Subquery, exp.With)):
            stack.extend(reversed(list(node.iter_expressions())))
    return found


def _check(ctx: Context, scope, info: ScopeInfo, column: exp.Column, label: Label, site: Site) -> None:
    rule, name, clause = label.rule.rule, label.column, site.clause
    ops = [op for op, _ in site.ops]
    passthrough = info.kind in ("inner", "expr") and clause is Clause.select and not ops and site.agg is None
    agg = aggregate_name(site.agg) if site.agg is not None else None
    if rule is Rule.deny:
        raise refuse(
            "deny_column",
            f"column `{short(name)}` is not granted for any use",
            column=name,
            clause=clause,
            hint=f"remove `{short(name)}`; it may not be output, filtered, joined or counted",
        )
    if rule is Rule.join:
        if (
            site.agg is not None
            and isinstance(site.agg, (exp.Count, exp.ApproxDistinct))
            and all(isinstance(op, exp.Distinct) for op in ops)
        ):
            return
        if passthrough:
            return
        if clause in (Clause.where, Clause.join) and site.agg is None and ops:
            head = ops[0]
            conj = all(isinstance(op, exp.And) for op in ops[1:])
            if isinstance(head, exp.EQ) and conj and _join_pair(ctx, scope, head):
                return
            if (
                isinstance(head, exp.In)
                and head.this is column
                and conj
                and head.args.get("query") is not None
            ):
                inner = _subquery_label(ctx, head)
                if inner is not None and inner.rule.rule is Rule.join:
                    return
        literal = ops and isinstance(ops[0], COMPARISONS) and _has_literal(ops[0])
        if literal:
            raise refuse(
                "identifier_literal",
                f"join key `{short(name)}` cannot be compared to constants",
                column=name,
                clause=clause,
                hint=f"use `{short(name)}` only to join, e.g. "
                f"a.{short(name)} = b.{short(name)}, or count(DISTINCT {short(name)})",
            )
        where = "output" if clause in (Clause.select, Clause.order_by, Clause.group_by) else "used here"
        raise refuse(
            "join_rule",
            f"join key `{short(name)}` cannot be {where}",
            column=name,
            clause=clause,
            hint=f"use `{short(name)}` only in an equality join with another join key "
            f"(JOIN ... ON a.{short(name)} = b.{short(name)}) or in count(DISTINCT ...)",
        )
    if rule is Rule.compare:
        # Never inside an aggregate (FILTER included) nor HAVING: `HAVING max(name = '张三')` or
        # `count(*) FILTER (WHERE name = '张三')` says in which group a named person is.
        if passthrough or (
            clause in (Clause.where, Clause.join)
            and site.agg is None
            and ops
            and isinstance(ops[0], COMPARISONS)
        ):
            return
        raise refuse(
            "compare_only",
            f"`{short(name)}` may only be compared in WHERE (never inside aggregates, FILTER or HAVING)",
            column=name,
            clause=clause,
            hint=f"compare `{short(name)}` in WHERE only (e.g. WHERE {short(name)} = '...'), never inside "
            "aggregates, FILTER, HAVING or the output",
        )
    if rule is Rule.aggregate:
        if agg is not None:
            if not isinstance(site.agg, SAFE_AGGREGATES):
                raise refuse(
                    "revealing_aggregate",
                    f"{agg}() over aggregate-only `{short(name)}` reveals individual values",
                    column=name,
                    clause=clause,
                    hint=f"`{short(name)}` is aggregate-only here: use sum/avg/count/stddev",
                )
            if _numeric_path(site):
                return
        elif passthrough or (info.kind == "inner" and clause is Clause.select and _numeric_path(site)):
            return
        raise refuse(
            "aggregate_only",
            f"`{short(name)}` is aggregate-only: it cannot be used row by row in {clause}",
            column=name,
            clause=clause,
            hint=f"`{short(name)}` is aggregate-only here: use sum/avg/count over it, with "
            "arithmetic only (no comparisons or string functions)",
        )
    if rule in (Rule.group, Rule.masked):
        if agg is not None and isinstance(site.agg, REVEALING_AGGREGATES + (exp.Anonymous,)):
            raise refuse(
                "revealing_aggregate",
                f"{agg}() over `{short(name)}` reveals individual values",
                column=name,
                clause=clause,
                hint=f"group by `{short(name)}` or use count(DISTINCT {short(name)}) instead",
            )
        if rule is Rule.group and info.kind == "top" and not ctx.is_aggregate and clause is Clause.select:
            raise refuse(
                "row_level_not_allowed",
                f"`{short(name)}` may only be output as a group key of an aggregate query",
                column=name,
                clause=clause,
                hint=f"add GROUP BY {short(name)} and aggregates such as count(*)",
            )


def _numeric_path(site: Site) -> bool:
    for op, key in site.ops:
        if isinstance(op, exp.If):
            if key == "this":
                return False
        elif isinstance(op, exp.Case):
            if key == "this":
                return False
        elif isinstance(op, (exp.Cast, exp.TryCast)):
            if not op.to.is_type(*exp.DataType.NUMERIC_TYPES):
                return False
        elif not isinstance(op, NUMERIC):
            return False
    return True


def _has_literal(node: exp.Expression) -> bool:
    return any(isinstance(n, exp.Literal) for n in node.find_all(exp.Literal))


def _join_pair(ctx: Context, scope, eq: exp.EQ) -> bool:
    left, right = eq.this, eq.expression
    while isinstance(left, exp.Paren):
        left = left.this
    while isinstance(right, exp.Paren):
        right = right.this
    if not (isinstance(left, exp.Column) and isinstance(right, exp.Column)) or left.table == right.table:
        return False
    return all(
        (lab := resolve(ctx, c, scope)) is not None and lab.rule.rule is Rule.join and not lab.aggregated
        for c in (left, right)
    )


def _subquery_label(ctx: Context, node: exp.In) -> Label | None:
    query = node.args["query"]
    query = query.this if isinstance(query, exp.Subquery) else query
    info = ctx.info.get(id(query))
    if info is None or len(info.order) != 1:
        return None
    return info.labels[info.order[0]]
