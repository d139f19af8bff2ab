"""Pass 5: the output columns — group keys and the supported aggregates with their declared bounds."""

from __future__ import annotations

from sqlglot import exp

from common.types import Rule
from policies.dp.context import HIDDEN, Planning, Spec, refuse
from policies.dp.model import released_columns


def outputs_pass(p: Planning) -> None:
    """Keys are grouped columns, every GROUP BY column is output, aggregates are COUNT(*), COUNT(DISTINCT
    unit), SUM(col) or AVG(col) over a bounded numeric column, and output names are unique.

    >>> from policies.dp.examples import planned
    >>> sql = "SELECT district, count(*) AS n, avg(income) AS a FROM persons GROUP BY district"
    >>> p = planned("outputs_pass", sql)
    >>> p.keys, [(s.output, s.kind, s.column, s.lower, s.upper) for s in p.specs]
    (['district'], [('n', 'count', None, None, None), ('a', 'avg', 'income', 0.0, 100000.0)])
    >>> planned("outputs_pass", "SELECT sum(score) AS s FROM persons")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    common.errors.PolicyViolation: SUM(`score`) under differential privacy needs declared bounds...
    """
    for item in p.select.expressions:
        out = item.alias_or_name
        if out.startswith(HIDDEN):
            continue  # the checker's hidden unit counts: the DP SQL has none
        node = item.this if isinstance(item, exp.Alias) else item
        if isinstance(node, exp.Column):
            column = node.name.lower()
            if column not in p.group_columns:
                raise refuse("dp_output", f"`{column}` is output but not grouped", column=p.full(column))
            p.keys.append(out)
            p.key_columns.append(column)
        else:
            p.specs.append(_aggregate(p, out, node))
        p.outputs.append(out)
    _complete(p)


def _complete(p: Planning) -> None:
    if not p.specs:
        raise refuse(
            "dp_no_aggregate",
            "a DP query needs at least one aggregate",
            hint="add COUNT(*), SUM(col) or AVG(col)",
        )
    if set(p.group_columns) - set(p.key_columns):
        raise refuse(
            "dp_group_not_output",
            "under differential privacy every GROUP BY column must be output",
            clause="group_by",
            hint="select the grouped columns",
        )
    released = released_columns(p.outputs, {s.output for s in p.specs})
    if len({c.lower() for c in released}) != len(released):
        raise refuse(
            "dp_duplicate_output",
            "output names (with their _ci_low/_ci_high columns) must be unique",
            clause="select",
            hint="alias each output column differently",
        )


def _aggregate(p: Planning, out: str, node: exp.Expression) -> Spec:
    if isinstance(node, exp.Count):
        return _count(p, out, node.this)
    if isinstance(node, (exp.Sum, exp.Avg)):
        return _summed(p, out, "sum" if isinstance(node, exp.Sum) else "avg", node.this)
    raise refuse(
        "dp_unsupported_aggregate",
        "under differential privacy the supported aggregates are COUNT(*), "
        f"COUNT(DISTINCT {p.unit}), SUM(col) and AVG(col)",
        clause="select",
        hint="rewrite the output with these aggregates",
    )


def _count(p: Planning, out: str, arg: exp.Expression) -> Spec:
    if isinstance(arg, exp.Star):
        return Spec(out, "count")
    if (
        isinstance(arg, exp.Distinct)
        and len(arg.expressions) == 1
        and isinstance(arg.expressions[0], exp.Column)
        and arg.expressions[0].name.lower() == p.unit
    ):
        return Spec(out, "count_distinct")
    raise refuse(
        "dp_unsupported_aggregate",
        f"under differential privacy COUNT is COUNT(*) or COUNT(DISTINCT {p.unit})",
        clause="select",
        hint="use COUNT(*)",
    )


def _summed(p: Planning, out: str, kind: str, arg: exp.Expression) -> Spec:
    name = kind.upper()
    if not isinstance(arg, exp.Column):
        raise refuse(
            "dp_unsupported_aggregate",
            f"under differential privacy {name} takes a plain column",
            clause="select",
            hint=f"{name}(column)",
        )
    column = arg.name.lower()
    full = p.full(column)
    if p.grant.rule_for(p.table, column).rule not in (Rule.aggregate, Rule.plain):
        raise refuse(
            "dp_aggregate_column",
            f"`{column}` may not be aggregated under this grant",
            column=full,
            clause="select",
        )
    info = p.info.column(column)
    if info is None or not info.is_numeric:
        raise refuse(
            "dp_aggregate_column", f"{name}(`{column}`) needs a numeric column", column=full, clause="select"
        )
    if info.lower is None or info.upper is None or not info.lower <= info.upper:
        raise refuse(
            "dp_missing_bounds",
            f"{name}(`{column}`) under differential privacy needs declared "
            f"bounds for `{column}`, and the catalog has none",
            column=full,
            clause="select",
            hint=f"ask the data department to declare lower and upper bounds for {p.table}.{column} "
            "in the catalog",
        )
    return Spec(out, kind, column, float(info.lower), float(info.upper))
