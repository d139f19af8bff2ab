"""Parse the text with sqlglot (DuckDB dialect): exactly one statement, nothing echoed back."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from policies.checker.context import Context, refuse

# sqlglot logs unsupported statements with their text: the checker must not leak the query into logs.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

_STACK = 6000  # sqlglot's parser needs ~20 frames per bracket level; max_depth=64 needs ~1300


@contextmanager
def deep_stack(frames: int = _STACK):
    """Temporarily allow deeper recursion (bounded: inputs are depth-capped before)."""
    old = sys.getrecursionlimit()
    if old < frames:
        sys.setrecursionlimit(frames)
    try:
        yield
    finally:
        if old < frames:
            sys.setrecursionlimit(old)


def parse(ctx: Context) -> None:
    """Parse ``ctx.sql`` into ``ctx.tree``.

    >>> from common.types import CatalogSnapshot
    >>> c = Context("SELECT 1; SELECT 2", (), CatalogSnapshot())
    >>> parse(c)
    Traceback (most recent call last):
    ...
    common.errors.PolicyViolation: exactly one statement is allowed, found 2
    """
    try:
        with deep_stack():
            statements = [s for s in sqlglot.parse(ctx.sql, read="duckdb") if s is not None]
    except RecursionError:
        raise refuse(
            "too_deep",
            "the query is nested too deeply to analyse",
            hint="flatten the expression or move parts into CTEs",
        ) from None
    except (SqlglotError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        raise refuse(
            "parse_error",
            "the query could not be parsed as DuckDB SQL",
            hint="check the syntax; only a single SELECT statement is accepted",
        ) from None
    if len(statements) != 1:
        raise refuse(
            "multiple_statements" if statements else "parse_error",
            f"exactly one statement is allowed, found {len(statements)}",
            hint="send one SELECT per request",
        )
    ctx.tree = statements[0]


_QUERY_TYPES = (exp.Select, exp.SetOperation)


def statement_type(ctx: Context) -> None:
    """Only a SELECT (or a set operation of SELECTs) is accepted.

    >>> from common.types import CatalogSnapshot
    >>> c = Context("PRAGMA show_tables", (), CatalogSnapshot()); parse(c); statement_type(c)
    Traceback (most recent call last):
    ...
    common.errors.PolicyViolation: only SELECT queries are allowed, not a Pragma statement
    """
    tree = ctx.tree
    while isinstance(tree, exp.Subquery) and isinstance(tree.this, _QUERY_TYPES):
        tree = tree.this.pop()
    if not isinstance(tree, _QUERY_TYPES):
        kind = type(tree).__name__ if type(tree).__name__.isidentifier() else "other"
        raise refuse(
            "statement_type",
            f"only SELECT queries are allowed, not a {kind} statement",
            hint="write a single SELECT over your granted tables",
        )
    ctx.tree = tree
