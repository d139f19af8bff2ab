"""The SQL policy checker: ``check(sql, grants, catalog) -> CheckedQuery`` (defence layer 0, see
docs/architecture.md).

Pure: parses and rewrites SQL text, never touches a database or the network. Built as small passes over a
shared :class:`~policies.checker.context.Context`, in the style of sqlglot's optimizer; the pipeline is
the ``RULES`` tuple.

>>> from policies.checker import RULES
>>> [rule.__name__ for rule in RULES][:3]
['limits', 'parse', 'statement_type']
"""

from __future__ import annotations

from collections.abc import Sequence

from common.errors import PolicyViolation
from common.types import CatalogSnapshot, CheckedQuery, Grant
from policies.checker.aggregate_args import aggregate_args
from policies.checker.aggregation import aggregation
from policies.checker.allowlist import allowlist
from policies.checker.column_rules import column_rules
from policies.checker.context import Context, refuse
from policies.checker.joins import joins
from policies.checker.limits import limits
from policies.checker.parse import parse, statement_type
from policies.checker.populations import populations
from policies.checker.qualify_columns import qualify_columns
from policies.checker.resolve_tables import resolve_tables
from policies.checker.rewrite import generate, rewrite
from policies.checker.runtime_errors import runtime_errors
from policies.checker.scopes import scopes
from policies.checker.unit_labels import unit_labels

RULES = (
    limits,
    parse,
    statement_type,
    allowlist,
    resolve_tables,
    qualify_columns,
    scopes,
    aggregation,
    joins,
    column_rules,
    aggregate_args,
    unit_labels,
    runtime_errors,
    rewrite,
    populations,
    generate,
)

__all__ = ["check", "RULES"]


def check(
    sql: str,
    grants: Sequence[Grant],
    catalog: CatalogSnapshot,
    *,
    max_chars: int = 20000,
    max_depth: int = 64,
) -> CheckedQuery:
    """Check ``sql`` against ``grants`` and return the rewritten query, or raise ``PolicyViolation``.

    >>> from datetime import date
    >>> from common.types import ColumnInfo, ColumnRule, TableInfo
    >>> rules = {"person_id": "join", "district": "group", "income": "aggregate"}
    >>> grant = Grant("g1", 1, "org", "population", "demo", date(2024, 1, 1), date(2030, 1, 1),
    ...               {"persons": {c: ColumnRule.parse(r) for c, r in rules.items()}}, "person_id")
    >>> columns = (ColumnInfo("person_id", "BIGINT"), ColumnInfo("district", "VARCHAR"),
    ...            ColumnInfo("income", "DOUBLE"))
    >>> catalog = CatalogSnapshot({("population", "persons"): TableInfo("population", "persons", columns)})
    >>> q = check("SELECT district, avg(income) AS a FROM persons GROUP BY district", [grant], catalog)
    >>> for part in q.sql.replace(" FROM", ", FROM").split(", "): print(part)
    SELECT persons.district AS district
    AVG(persons.income) AS a
    COUNT(DISTINCT persons.person_id) AS __shuyu_units_0
    ARRAY_AGG(DISTINCT persons.person_id) AS __shuyu_pop_0
    FROM population.persons AS persons GROUP BY persons.district
    >>> q.unit_columns, q.output_columns
    (('__shuyu_units_0',), ('district', 'a'))
    >>> check("SELECT max(income) FROM persons", [grant], catalog)
    Traceback (most recent call last):
    ...
    common.errors.PolicyViolation: max() over aggregate-only `income` reveals individual values
    """
    if not isinstance(sql, str):
        raise refuse("parse_error", "the query must be text", hint="send the SQL as a string")
    ctx = Context(sql, tuple(grants), catalog, max_chars, max_depth)
    try:
        for rule in RULES:
            rule(ctx)
        if ctx.deferred is not None:
            raise ctx.deferred
    except PolicyViolation:
        raise
    except RecursionError:
        raise refuse(
            "too_deep",
            "the query is nested too deeply to analyse",
            hint="flatten the expression or move parts into CTEs",
        ) from None
    except Exception as error:  # noqa: BLE001 - anything unexpected is a refusal, never a crash or a pass
        raise refuse(
            "unsupported_syntax",
            f"the query uses a construct the checker cannot verify ({type(error).__name__})",
            hint="simplify the query",
        ) from None
    grants_used = sorted({(g.id, g.version) for g in ctx.used.values()})
    return CheckedQuery(
        sql=ctx.checked_sql,
        output_columns=ctx.output_columns,
        unit_columns=ctx.unit_columns,
        is_aggregate=ctx.is_aggregate,
        tables=tuple(sorted(ctx.used)),
        grants=tuple(grants_used),
        columns_by_clause={
            clause: tuple(sorted(cols)) for clause, cols in sorted(ctx.columns_by_clause.items())
        },
        k=ctx.k,
        row_cap=ctx.row_cap,
        population_columns=getattr(ctx, "population_columns", ()),
        unit_space=getattr(ctx, "unit_space", None),
    )
