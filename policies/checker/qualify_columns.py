"""Qualify every column with sqlglot's ``qualify`` over a schema restricted to the granted tables."""

from __future__ import annotations

from functools import lru_cache

from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from policies.checker.context import Context, refuse
from policies.checker.parse import deep_stack


@lru_cache(maxsize=256)
def _schema(key: tuple) -> MappingSchema:
    mapping: dict = {}
    for dataset, table, columns in key:
        mapping.setdefault(dataset, {})[table] = dict(columns)
    return MappingSchema(mapping, dialect="duckdb")


def schema_for(ctx: Context) -> MappingSchema:
    """The (cached) schema of the granted tables, as the catalog describes them.

    >>> from common.types import CatalogSnapshot
    >>> schema_for(Context("", (), CatalogSnapshot())).empty
    True
    """
    key = []
    for dataset, grant in sorted(ctx.grant_by_dataset.items()):
        for table in sorted(t.lower() for t in grant.tables):
            info = ctx.catalog.table(dataset, table)
            if info is not None:
                key.append((dataset, table, tuple((c.name.lower(), c.type) for c in info.columns)))
    return _schema(tuple(key))


def qualify_columns(ctx: Context) -> None:
    """Qualify columns (``t.c``), normalise identifiers as DuckDB does, expand aliases and USING.

    Unknown columns are refused with ``unknown_column``; row variables (``SELECT persons FROM persons``)
    with ``row_variable``.
    """
    try:
        with deep_stack():
            ctx.tree = qualify(
                ctx.tree,
                schema=schema_for(ctx),
                dialect="duckdb",
                quote_identifiers=True,
                validate_qualify_columns=True,
                identify=False,
            )
    except RecursionError:
        raise refuse(
            "too_deep",
            "the query is nested too deeply to analyse",
            hint="flatten the expression or move parts into CTEs",
        ) from None
    except OptimizeError as error:
        text = str(error)
        if "could not be resolved" in text or "Unknown column" in text or "Ambiguous" in text:
            # the unknown name is not echoed: identifiers could carry planted values
            raise refuse(
                "unknown_column",
                "a column does not exist in the referenced granted tables or is ambiguous",
                column=None,
                hint="qualify columns with their table alias and check the catalog for column names",
            ) from None
        raise refuse(
            "unsupported_syntax",
            "the query's column references could not be resolved",
            hint="qualify columns with their table alias",
        ) from None
    except SqlglotError:
        raise refuse(
            "unsupported_syntax",
            "the query's column references could not be resolved",
            hint="qualify columns with their table alias",
        ) from None
