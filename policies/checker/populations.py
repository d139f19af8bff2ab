"""Hidden populations for the disclosure auditor: beside every ``COUNT(DISTINCT u) AS __shuyu_units_<i>`` the
rewrite added, ``ARRAY_AGG(DISTINCT u) AS __shuyu_pop_<i>`` lists the privacy units behind that output row.

The lists are computed in the sandbox and returned as hidden columns; the trusted host turns them into
compact bitmaps and compares them with earlier releases (``sandbox/disclosure.py``). Like every
``__shuyu_`` column they never leave. Runs after ``rewrite``; ``generate`` then writes the checked SQL.

>>> from policies.checker import RULES
>>> [rule.__name__ for rule in RULES][-3:]
['rewrite', 'populations', 'generate']
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from policies.checker.context import HIDDEN_PREFIX, Context

_DUCKDB = Dialect.get_or_raise("duckdb")
UNITS = f"{HIDDEN_PREFIX}_units_"
POPULATION = f"{HIDDEN_PREFIX}_pop_"


def population_of(units: exp.Expression) -> exp.Expression | None:
    """``ARRAY_AGG(DISTINCT u)`` (DuckDB's ``LIST``) for ``COUNT(DISTINCT u)``; None for anything else.

    >>> import sqlglot
    >>> population_of(sqlglot.parse_one("COUNT(DISTINCT p.person_id)")).sql("duckdb")
    'ARRAY_AGG(DISTINCT p.person_id)'
    >>> population_of(sqlglot.parse_one("COUNT(DISTINCT p.u) FILTER (WHERE p.a = 1)")).sql("duckdb")
    'ARRAY_AGG(DISTINCT p.u) FILTER(WHERE p.a = 1)'
    """
    if isinstance(units, exp.Filter):  # a conditional aggregate's cell: the same filter on the list
        inner = population_of(units.this)
        return None if inner is None else exp.Filter(this=inner, expression=units.expression.copy())
    if not isinstance(units, exp.Count) or not isinstance(units.this, exp.Distinct):
        return None
    return exp.ArrayAgg(this=units.this.copy())


def populations(ctx: Context) -> None:
    """Add a hidden population column per unit-count column of a k-only aggregate query."""
    if not ctx.is_aggregate or not ctx.unit_columns:
        return
    added: list[str] = []
    for select in _leaf_selects(ctx.tree):
        for projection in list(select.expressions):
            if not isinstance(projection, exp.Alias) or not projection.alias.startswith(UNITS):
                continue
            population = population_of(projection.this)
            if population is None:
                return  # a shape this pass does not know: no populations, the auditor fails closed
            alias = POPULATION + projection.alias[len(UNITS) :]
            select.select(exp.alias_(population, alias, quoted=False), copy=False)
            if alias not in added:
                added.append(alias)
    ctx.population_columns = tuple(added)
    ctx.unit_space = "|".join(sorted({g.privacy_unit.lower() for g in ctx.used.values()}))


def _leaf_selects(tree: exp.Expression) -> list[exp.Select]:
    if isinstance(tree, exp.SetOperation):
        return _leaf_selects(tree.this) + _leaf_selects(tree.expression)
    if isinstance(tree, exp.Subquery):
        return _leaf_selects(tree.this)
    return [tree] if isinstance(tree, exp.Select) else []
