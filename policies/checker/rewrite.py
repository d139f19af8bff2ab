"""Rewrite the checked tree: privacy-unit counts for aggregate queries, row cap for row-level ones, and
regenerate the SQL from the tree (never the raw text: comments and formatting are dropped)."""

from __future__ import annotations

from itertools import count

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.optimizer.scope import Scope

from policies.checker.context import HIDDEN_PREFIX, Context
from policies.checker.parse import deep_stack

_DUCKDB = Dialect.get_or_raise("duckdb")


def _carrier_exprs(ctx: Context, scope: Scope, names: count) -> list[exp.Expression]:
    """Expressions (in ``scope``) carrying privacy units, after adding hidden outputs to inner scopes."""
    node = scope.expression
    if isinstance(node, exp.Select):
        inputs: list[exp.Expression] = []
        for alias, (_node, source) in scope.selected_sources.items():
            if isinstance(source, exp.Table):
                unit = ctx.used[(source.db.lower(), source.name.lower())].privacy_unit.lower()
                inputs.append(exp.column(unit, table=alias, quoted=False))
            else:
                inputs.extend(exp.column(n, table=alias, quoted=False) for n in _hidden(ctx, source, names))
        info = ctx.scope_info(scope)
        if info.aggregated:
            counts: list[exp.Expression] = [exp.Count(this=exp.Distinct(expressions=[e])) for e in inputs]
            if info.condition is not None:
                holder, key = info.condition
                counts += _cell_counts(inputs, holder.args[key])
            return counts
        return inputs
    return []


def _cell_counts(inputs: list[exp.Expression], condition: exp.Expression) -> list[exp.Expression]:
    """Unit counts of the rows meeting ``condition`` and of the others (NULL counts as not meeting it).

    >>> import sqlglot
    >>> for e in _cell_counts([exp.column("u", "t")], sqlglot.parse_one("t.a = 1")): print(e.sql())
    COUNT(DISTINCT t.u) FILTER(WHERE t.a = 1)
    COUNT(DISTINCT t.u) FILTER(WHERE NOT COALESCE(t.a = 1, FALSE))
    """
    out: list[exp.Expression] = []
    for cell in (condition, exp.Not(this=exp.Coalesce(this=condition, expressions=[exp.false()]))):
        for e in inputs:
            count_ = exp.Count(this=exp.Distinct(expressions=[e.copy()]))
            out.append(exp.Filter(this=count_, expression=exp.Where(this=cell.copy())))
    return out


def _hidden(ctx: Context, scope: Scope, names: count) -> list[str]:
    """Add hidden carrier outputs to a derived scope (memoised) and return their names."""
    memo = ctx.__dict__.setdefault("_hidden", {})
    cached = memo.get(id(scope.expression))
    if cached is not None:
        return cached
    branches = scope.set_operation_scopes or [scope]
    exprs = [_carrier_exprs(ctx, b, names) for b in branches]
    width = max(len(e) for e in exprs)
    aliases = [f"{HIDDEN_PREFIX}_u{next(names)}" for _ in range(width)]
    for branch, carried in zip(branches, exprs):
        carried = carried + carried[-1:] * (width - len(carried))
        for expr, alias in zip(carried, aliases):
            branch.expression.select(exp.alias_(expr, alias, quoted=False), copy=False)
    memo[id(scope.expression)] = aliases
    return aliases


def rewrite(ctx: Context) -> None:
    """Add ``COUNT(DISTINCT unit) AS __shuyu_units_<i>`` to the outermost SELECT(s) of aggregate queries,
    and cap row-level queries with ``LIMIT`` (:func:`generate` regenerates the SQL afterwards)."""
    root = ctx.root
    first = root
    while first.set_operation_scopes:
        first = first.set_operation_scopes[0]
    ctx.output_columns = tuple(p.alias_or_name for p in first.expression.expressions)
    names = count()
    if ctx.is_aggregate:
        branches = _leaves(root)
        exprs = [_carrier_exprs(ctx, b, names) for b in branches]
        width = max(len(e) for e in exprs)
        units = tuple(f"{HIDDEN_PREFIX}_units_{i}" for i in range(width))
        for branch, carried in zip(branches, exprs):
            carried = carried + carried[-1:] * (width - len(carried))
            for expr, alias in zip(carried, units):
                branch.expression.select(exp.alias_(expr, alias, quoted=False), copy=False)
        ctx.unit_columns = units
    else:
        tree = ctx.tree
        limit = tree.args.get("limit")
        existing = int(limit.expression.this) if limit is not None else None
        cap = ctx.row_cap if existing is None else min(existing, ctx.row_cap)
        tree.set("limit", exp.Limit(expression=exp.Literal.number(cap)))


def generate(ctx: Context) -> None:
    """Regenerate ``ctx.checked_sql`` from the checked tree, once, after every rewriting pass (never the raw
    text: comments and formatting are dropped)."""
    with deep_stack():
        ctx.checked_sql = _DUCKDB.generator(comments=False).generate(ctx.tree, copy=False)


def _leaves(scope: Scope) -> list[Scope]:
    if not scope.set_operation_scopes:
        return [scope]
    return [leaf for branch in scope.set_operation_scopes for leaf in _leaves(branch)]
