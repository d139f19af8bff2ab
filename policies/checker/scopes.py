"""Build sqlglot scopes and derive, children first, what every derived column may do (its lineage label),
whether each scope aggregates, and how privacy units flow through it ("carriers")."""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, ScopeType, traverse_scope

from common.errors import PolicyViolation
from common.types import Clause, Rule
from policies.checker.allowlist import aggregate_name
from policies.checker.context import PLAIN, Context, Label, ScopeInfo, refuse, strictest
from policies.checker.families import TEXT, family, family_of_type
from policies.checker.forms import ArgForm


def enclosing_select(node: exp.Expression) -> exp.Expression | None:
    """The nearest SELECT above ``node``."""
    parent = node.parent
    while parent is not None and not isinstance(parent, exp.Select):
        parent = parent.parent
    return parent


def base_label(ctx: Context, table: exp.Table, column: str) -> Label:
    dataset, name = table.db.lower(), table.name.lower()
    grant = ctx.used[(dataset, name)]
    rule = grant.rule_for(name, column)
    info = ctx.catalog.table(dataset, name)
    col = info.column(column) if info is not None else None
    kind = family_of_type(col.type) if col is not None else None
    if rule.rule is Rule.masked and (rule.mask or "").split(":")[0] in ("hash", "keep_first", "keep_last"):
        kind = TEXT
    return Label(rule, (f"{dataset}.{name}.{column.lower()}",), family=kind)


def resolve(ctx: Context, column: exp.Column, scope: Scope) -> Label | None:
    """The label of a qualified column as seen from ``scope`` (walking out for correlated references)."""
    table = column.table
    if not table:
        return None
    current = scope
    while current is not None:
        source = current.sources.get(table)
        if source is not None:
            if isinstance(source, exp.Table):
                return base_label(ctx, source, column.name)
            label = ctx.scope_info(source).labels.get(column.name)
            if label is None:
                raise refuse(
                    "unknown_column",
                    "a column does not exist in the referenced subquery",
                    hint="select the column in the subquery first",
                )
            return label
        current = current.parent
    raise refuse(
        "unknown_column",
        "a column references an unknown table alias",
        hint="qualify columns with the alias of a table in FROM",
    )


def scopes(ctx: Context) -> None:
    """Label every scope's outputs and decide aggregation and privacy-unit flow."""
    all_scopes = traverse_scope(ctx.tree)
    if not all_scopes:
        raise refuse("unsupported_syntax", "the query has no SELECT scope", hint="write a SELECT query")
    ctx.scopes, ctx.root = all_scopes, all_scopes[-1]
    aggregated: set[int] = set()
    for node in ctx.tree.find_all(exp.AggFunc, exp.Anonymous):
        if aggregate_name(node):
            select = enclosing_select(node)
            if select is not None:
                aggregated.add(id(select))
    kinds = {id(ctx.root.expression): "top"}
    for scope in reversed(all_scopes):
        kind = kinds.get(id(scope.expression))
        if kind is None:
            kind = "expr" if scope.scope_type == ScopeType.SUBQUERY else "inner"
            kinds[id(scope.expression)] = kind
        for branch in scope.set_operation_scopes:
            kinds[id(branch.expression)] = kind
    for scope in all_scopes:
        kind = kinds[id(scope.expression)]
        node = scope.expression
        if isinstance(node, exp.Select):
            info = ScopeInfo(kind, id(node) in aggregated or node.args.get("group") is not None)
            ctx.info[id(node)] = info
            _select_labels(ctx, scope, info)
            _select_carriers(ctx, scope, info)
        else:
            info = ScopeInfo(kind)
            ctx.info[id(node)] = info
            _union(ctx, scope, info)
        if kind == "expr" and scope.scope_type == ScopeType.SUBQUERY:
            _expression_subquery(node, info)
            _semi_join_only(ctx, scope, node, info)


def _select_labels(ctx: Context, scope: Scope, info: ScopeInfo) -> None:
    select = scope.expression
    for projection in select.expressions:
        name = projection.alias_or_name
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(inner, exp.Column):
            label = resolve(ctx, inner, scope) or Label(PLAIN)
        else:
            labels = [
                resolve(ctx, c, scope) for c in inner.find_all(exp.Column) if enclosing_select(c) is select
            ]
            has_agg = any(
                aggregate_name(n) and enclosing_select(n) is select
                for n in inner.find_all(exp.AggFunc, exp.Anonymous)
            )
            label = strictest([lab for lab in labels if lab is not None])
            kind = family(inner, lambda c: _family_of(ctx, scope, c))
            if has_agg:
                label = Label(PLAIN, label.columns, True, family=kind)
            else:
                label = replace(label, shaped=label.shaped or _shaped(ctx, scope, inner), family=kind)
        info.labels[name] = label
        info.order.append(name)


def _family_of(ctx: Context, scope: Scope, column: exp.Column) -> str | None:
    label = resolve(ctx, column, scope) if column.table else None
    return label.family if label is not None else None


def _shaped(ctx: Context, scope: Scope, node: exp.Expression) -> bool:
    """Whether a derived column is not a uniform expression of its row (a condition or step function)."""
    form = ArgForm(lambda c: resolve(ctx, c, scope) if c.table else None)
    try:
        form.check(node)
    except PolicyViolation:
        return True
    return bool(form.conditions)


def _select_carriers(ctx: Context, scope: Scope, info: ScopeInfo) -> None:
    select = scope.expression
    inputs: list[str] = []
    for _name, (_node, source) in scope.selected_sources.items():
        inputs.extend(["row"] if isinstance(source, exp.Table) else ctx.scope_info(source).carriers)
    if info.kind != "expr" and not scope.selected_sources:
        raise refuse(
            "no_table",
            "every SELECT must read a granted table",
            clause=Clause.select,
            hint="add FROM <your granted table>",
        )
    if info.aggregated:
        if "count" in inputs:
            raise refuse(
                "nested_aggregate",
                "aggregating over an already aggregated subquery or CTE is not "
                "allowed (group sizes could not be checked)",
                clause=Clause.select,
                hint="aggregate once, directly over the (filtered) base rows",
            )
        info.carriers = ["count"] * len(inputs)
    else:
        if info.kind == "inner" and select.args.get("distinct") is not None and inputs:
            raise refuse(
                "distinct_subquery",
                "SELECT DISTINCT is not allowed inside subqueries or CTEs",
                clause=Clause.select,
                hint="use GROUP BY in the outer query",
            )
        info.carriers = inputs


def _union(ctx: Context, scope: Scope, info: ScopeInfo) -> None:
    branches = [ctx.scope_info(b) for b in scope.set_operation_scopes]
    left = branches[0]
    if any(len(b.order) != len(left.order) for b in branches):
        raise refuse(
            "unsupported_syntax",
            "both sides of a set operation must have the same number of columns",
            hint="select the same columns on each side",
        )
    for i, name in enumerate(left.order):
        info.labels[name] = strictest([b.labels[b.order[i]] for b in branches])
        info.order.append(name)
    width = max(len(b.carriers) for b in branches)
    padded = [b.carriers + b.carriers[-1:] * (width - len(b.carriers)) for b in branches]
    if any(p != padded[0] for p in padded):
        raise refuse(
            "mixed_aggregation",
            "a set operation mixes aggregated and row-level sides",
            hint="aggregate on every side, or on none",
        )
    info.carriers = padded[0]
    info.aggregated = all(b.aggregated for b in branches)


def _semi_join_only(ctx: Context, scope: Scope, node: exp.Expression, info: ScopeInfo) -> None:
    """IN/EXISTS subqueries must be semi-joins on join keys.

    ``district IN (SELECT district FROM persons WHERE age = 103)`` or an uncorrelated ``EXISTS`` would tell
    whether some group exists at all — a group the k-threshold may have withheld, possibly of one person.
    A semi-join on a join key keeps every fact inside the outer aggregate, whose group sizes are checked.
    The refusal is deferred so a more specific column violation in the same query is reported first.
    """
    parent = node.parent.parent if isinstance(node.parent, exp.Subquery) else node.parent
    refusal = None
    if isinstance(parent, exp.In):
        label = info.labels[info.order[0]] if len(info.order) == 1 else None
        if label is None or label.rule.rule is not Rule.join:
            refusal = refuse(
                "subquery_membership",
                "IN (SELECT ...) may only match join keys: membership in "
                "other columns reveals whether a (possibly tiny) group exists",
                clause=Clause.where,
                hint="filter the outer query directly, or use a semi-join on a join key, e.g. "
                "person_id IN (SELECT person_id FROM ... WHERE ...)",
            )
    elif isinstance(parent, exp.Exists) and not scope.external_columns:
        refusal = refuse(
            "subquery_membership",
            "an uncorrelated EXISTS reveals whether any matching row exists",
            clause=Clause.where,
            hint="correlate it on a join key, e.g. EXISTS (SELECT 1 FROM "
            "households h WHERE h.person_id = p.person_id AND ...)",
        )
    ctx.deferred = ctx.deferred or refusal


def _expression_subquery(node: exp.Expression, info: ScopeInfo) -> None:
    parent = node.parent
    if isinstance(parent, exp.Subquery):
        parent = parent.parent
    if not (isinstance(parent, exp.Exists) or isinstance(parent, exp.In) and parent.args.get("query")):
        raise refuse(
            "scalar_subquery",
            "scalar subqueries are not allowed (their value escapes the group-size check)",
            hint="compute it in a CTE and filter with IN/EXISTS, or aggregate once",
        )
    if info.aggregated or any(c == "count" for c in info.carriers):
        raise refuse(
            "subquery_aggregate",
            "aggregated subqueries inside IN/EXISTS are not allowed",
            hint="filter on group columns or join keys instead",
        )
