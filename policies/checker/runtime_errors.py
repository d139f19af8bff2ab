"""No data-dependent failures: a query that fails only when a hidden condition holds is a one-bit oracle,
even on a group the gate would withhold (a binary search recovered an income in 27 jobs).

Refused (the failure would depend on data and no rewrite keeps the meaning):
* comparisons that make DuckDB convert a text *column* to a number/date (``street = 5``,
  ``p.person_id = e.uscc``): the conversion fails on the first non-matching value;
* ``date_part(<column>, ...)`` and intervals computed from columns.

Rewritten (the value becomes NULL or a double instead of an error):
* every ``CAST`` becomes ``TRY_CAST``;
* every divisor that is not a non-zero constant becomes ``NULLIF(divisor, 0)`` (``/``, ``//``, ``%``);
* integer overflow: arithmetic outside aggregates is wrapped in DuckDB's ``TRY(...)`` (NULL on error; in
  WHERE/GROUP BY that is a filter or bucket of the row itself, where k applies); arithmetic *over*
  aggregate results works on ``DOUBLE`` casts of them; arithmetic *inside* an aggregate argument works on
  ``DOUBLE`` casts of its columns (a per-row NULL there would be a hidden condition) and its constants are
  bounded by :mod:`policies.checker.forms`, so it cannot overflow on realistic data.

Failures that remain possible (out of memory, time limits, disk) depend on the size of the data, which is
public (row counts are in the catalog), and on the query's shape, not on one person's value; see
``docs/privacy.md``.
"""

from __future__ import annotations

from sqlglot import exp

from policies.checker.allowlist import aggregate_name
from policies.checker.context import Context, refuse
from policies.checker.families import family, mismatch
from policies.checker.forms import number
from policies.checker.scopes import resolve

_COMPARE = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.In)
_ARITH = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Neg, exp.Abs)
_DIVISIONS = (exp.Div, exp.IntDiv, exp.Mod)
_DOUBLE = exp.DataType.build("DOUBLE")


def runtime_errors(ctx: Context) -> None:
    """Refuse data-dependent conversions, then rewrite casts, divisions and overflow-prone arithmetic."""
    for scope in ctx.scopes:
        for node in _own_nodes(scope.expression):
            if isinstance(node, _COMPARE):
                _check_comparison(ctx, scope, node)
            elif isinstance(node, exp.Anonymous) and node.name.lower() in ("date_part", "datepart"):
                if node.expressions and not isinstance(node.expressions[0], exp.Literal):
                    raise _constant_refusal("the part named in date_part()")
            elif isinstance(node, exp.Interval) and node.this is not None and node.this.find(exp.Column):
                raise _constant_refusal("an INTERVAL's length")
    tree = ctx.tree
    for cast in [c for c in tree.find_all(exp.Cast) if not isinstance(c, exp.TryCast)]:
        cast.replace(exp.TryCast(this=cast.this, to=cast.args["to"]))
    for node in list(tree.find_all(*_DIVISIONS)):
        divisor = number(node.expression)
        if divisor is None or divisor == 0:
            node.set("expression", exp.Nullif(this=node.expression, expression=exp.Literal.number(0)))
    roots = [n for n in tree.find_all(*_ARITH) if not isinstance(n.parent, _ARITH + (exp.Paren,))]
    for root in roots:
        _protect(root)


def _own_nodes(select: exp.Expression):
    stack = list(select.iter_expressions())
    while stack:
        node = stack.pop()
        if isinstance(node, (exp.Query, exp.Subquery, exp.With)):
            continue
        yield node
        stack.extend(node.iter_expressions())


def _check_comparison(ctx: Context, scope, node: exp.Expression) -> None:
    def of_column(column: exp.Column) -> str | None:
        label = resolve(ctx, column, scope) if column.table else None
        return label.family if label is not None else None

    operands = [node.this] + [
        node.args[k] for k in ("expression", "low", "high") if isinstance(node.args.get(k), exp.Expression)
    ]
    operands += list(node.expressions) if isinstance(node, exp.In) else []
    families = [family(o, of_column) for o in operands]
    query = node.args.get("query") if isinstance(node, exp.In) else None
    if query is not None:
        inner = ctx.info.get(id(query.this if isinstance(query, exp.Subquery) else query))
        if inner is not None and len(inner.order) == 1:
            families.append(inner.labels[inner.order[0]].family)
    if mismatch(families):
        raise refuse(
            "type_mismatch",
            "a text column is compared with a number, date or boolean: DuckDB would convert every value "
            "and fail on data-dependent ones",
            clause=None,
            hint="compare text columns with quoted text (street = '5'), or compare columns of the same type",
        )


def _constant_refusal(what: str):
    return refuse(
        "unsupported_syntax",
        f"{what} must be a constant: a value from the data could make the query fail",
        hint="write the part or length as a literal, e.g. date_part('year', birth_date)",
    )


def _inside_aggregate_value(node: exp.Expression) -> bool:
    """Whether ``node`` is (part of) the value an aggregate aggregates, not a condition or a filter."""
    child, parent = node, node.parent
    while parent is not None and not isinstance(parent, exp.Select):
        if isinstance(parent, exp.Filter) and child.arg_key == "expression":
            return False
        if isinstance(parent, exp.If) and child.arg_key == "this":
            return False
        if aggregate_name(parent):
            return True
        child, parent = parent, parent.parent
    return False


def _has_aggregate(node: exp.Expression) -> bool:
    return any(aggregate_name(n) for n in node.find_all(exp.AggFunc, exp.Anonymous))


def _protect(root: exp.Expression) -> None:
    if not root.find(exp.Column) and not _has_aggregate(root):
        return  # constants only: a failure would not depend on data
    if _inside_aggregate_value(root):
        for column in list(root.find_all(exp.Column)):
            if isinstance(column.parent, _ARITH + (exp.Paren,)):
                column.replace(exp.TryCast(this=column.copy(), to=_DOUBLE.copy()))
        return
    if root.find(exp.Query) is not None:
        return  # subqueries are refused in expressions elsewhere; never wrap them
    if not _has_aggregate(root):
        root.replace(exp.Try(this=root.copy()))
        return
    # Arithmetic over aggregate results (sum(a) * sum(a) * ... overflows HUGEINT): work in DOUBLE.
    for node in [root, *root.find_all(*_ARITH)]:
        for key in ("this", "expression"):
            operand = node.args.get(key)
            if isinstance(operand, exp.Expression) and not isinstance(
                operand, _ARITH + (exp.Paren, exp.Literal, exp.Interval, exp.TryCast, exp.Null)
            ):
                node.set(key, exp.TryCast(this=operand, to=_DOUBLE.copy()))
