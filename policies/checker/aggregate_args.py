"""Every released number depends on at least k privacy units: no aggregate of a sub-cell.

The gate counts units per output *row*. A condition inside an aggregate (``FILTER (WHERE age = 99)``,
``CASE WHEN ... THEN income END``, ``income * (age = 99)``) makes a value depend on a sub-cell of the row
that the count never saw. So:

* aggregate arguments follow the uniform grammar of :mod:`policies.checker.forms`;
* a condition is allowed only in the forms ``FILTER (WHERE c)``, ``CASE WHEN c THEN ... END`` and
  ``IF(c, ...)``, only in the SELECT list of the outermost query (never in HAVING, ORDER BY, or a subquery
  whose result an outer query could filter), and a query may use *one* condition: the rewrite then counts
  the units meeting ``c`` and the units not meeting it, and the gate withholds the row unless both meet k.
  With one condition every released number is a sum over the cells {c, not c} of a group, each with at
  least k units, so even differences between the columns of one row (``sum(x) - sum(x) FILTER (WHERE c)``)
  depend on k units. Two conditions would let ``c1 AND NOT c2`` be one person.
"""

from __future__ import annotations

from sqlglot import exp

from common.types import Clause, Rule
from policies.checker.allowlist import aggregate_name
from policies.checker.context import Context, refuse
from policies.checker.forms import ArgForm
from policies.checker.scopes import enclosing_select, resolve

_ONE_CONDITION_HINT = (
    "use one condition per query, or group by the condition instead: "
    "SELECT CASE WHEN age >= 60 THEN 'senior' ELSE 'other' END AS band, sum(income) ... GROUP BY band"
)


def aggregate_args(ctx: Context) -> None:
    """Check every aggregate's argument and collect the (at most one) condition of each scope."""
    own: dict[int, list[exp.Expression]] = {}
    for node in ctx.tree.find_all(exp.AggFunc, exp.Anonymous):
        select = enclosing_select(node) if aggregate_name(node) else None
        if select is not None:
            own.setdefault(id(select), []).append(node)
    for scope in ctx.scopes:
        select = scope.expression
        if ctx.scope_info(scope).kind != "top":
            _no_ranking(select)
        aggregates = own.get(id(select))
        if not aggregates:
            continue
        info = ctx.scope_info(scope)
        found: dict[str, tuple[exp.Expression, str]] = {}
        for agg in aggregates:
            for holder, key in _conditions(ctx, scope, agg):
                _placement(ctx, scope, agg)
                found.setdefault(holder.args[key].sql(dialect="duckdb"), (holder, key))
        if len(found) > 1:
            raise refuse(
                "conditional_aggregate",
                f"the query uses {len(found)} different conditions inside aggregates; their overlaps could "
                "isolate a few people",
                clause=Clause.select,
                hint=_ONE_CONDITION_HINT,
            )
        info.condition = next(iter(found.values()), None)


def _conditions(ctx: Context, scope, agg: exp.Expression) -> list[tuple[exp.Expression, str]]:
    def label_of(column: exp.Column):
        return resolve(ctx, column, scope) if column.table else None

    form = ArgForm(label_of)
    parent = agg.parent
    if isinstance(parent, exp.Filter) and agg.arg_key == "this":
        form.conditions.append((parent.expression, "this"))
    args = [a for k, a in agg.args.items() if k not in ("order",) and isinstance(a, exp.Expression)]
    args += [e for e in agg.expressions if isinstance(e, exp.Expression)]
    labels = [label_of(c) for arg in args for c in arg.find_all(exp.Column)]
    if all(lab is not None and lab.rule.rule is Rule.plain and not lab.shaped for lab in labels) and labels:
        args = []  # public columns only: any expression, but conditions still count (below)
    for arg in args:
        form.check(arg)
    return form.conditions


def _placement(ctx: Context, scope, agg: exp.Expression) -> None:
    """A conditional aggregate may stand only in the outermost SELECT list, outside ORDER BY/HAVING."""
    info = ctx.scope_info(scope)
    name = aggregate_name(agg) or "aggregate"
    if info.kind != "top":
        raise refuse(
            "conditional_aggregate",
            f"conditional {name}() is allowed only in the outermost SELECT: a subquery's result could be "
            "filtered on a sub-cell",
            clause=Clause.select,
            hint="move the conditional aggregate to the outermost query, or the condition to WHERE",
        )
    child, parent = agg, agg.parent
    while parent is not None and parent is not scope.expression:
        child, parent = parent, parent.parent
    if child.arg_key != "expressions":
        clause = {"having": Clause.having, "order": Clause.order_by}.get(child.arg_key, Clause.select)
        raise refuse(
            "conditional_aggregate",
            f"conditional {name}() cannot be used in {clause}: "
            "HAVING and ORDER BY may only test aggregates over the whole group",
            clause=clause,
            hint="filter with WHERE, or test aggregates over the whole group, e.g. HAVING count(*) > 20",
        )
    if (
        scope.expression.args.get("limit")
        or scope.expression.args.get("offset")
        or ctx.tree.args.get("limit")
    ):
        raise refuse(
            "conditional_aggregate",
            "LIMIT/OFFSET cannot be combined with conditional aggregates (the choice of rows would "
            "depend on sub-cells)",
            clause=Clause.select,
            hint="drop LIMIT, or move the condition to WHERE",
        )


def _no_ranking(node: exp.Expression) -> None:
    """LIMIT/OFFSET inside a subquery or CTE picks rows by rank: `LIMIT 11` and `LIMIT 10 OFFSET 1` over
    the same order differ by exactly one person, whatever aggregate is computed over them."""
    if node.args.get("limit") is not None or node.args.get("offset") is not None:
        raise refuse(
            "ranking_subquery",
            "LIMIT/OFFSET is allowed only on the outermost query: inside a subquery or CTE it selects "
            "people by rank",
            hint="filter the rows with WHERE conditions and put LIMIT on the outermost query only",
        )
