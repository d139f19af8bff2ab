"""Validation of a grant's row filter: a boolean predicate over one table's own columns, nothing else.

The filter is written by the implementation institution and applied when the scoped copy is built, so it
must be a plain predicate: columns, literals, comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL.

>>> row_filter("district = '渝中区' AND age >= 18", {"district", "age"})
"district = '渝中区' AND age >= 18"
>>> row_filter("income > (SELECT 1)", {"income"})
Traceback (most recent call last):
...
ValueError: row filter may use only columns, literals, comparisons, AND/OR/NOT, IN, BETWEEN, LIKE and IS NULL
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

ALLOWED = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.And,
    exp.Or,
    exp.Not,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Is,
    exp.Neg,
    exp.Tuple,
)


def row_filter(predicate: str, columns: set[str]) -> str:
    """Return the predicate regenerated from its parsed tree, or raise ValueError naming the problem."""
    if len(predicate) > 2000:
        raise ValueError("row filter is longer than 2000 characters")
    try:
        tree = sqlglot.parse_one(predicate, read="duckdb", into=exp.Condition)
    except sqlglot.errors.ParseError:
        raise ValueError("row filter is not a valid SQL predicate")
    for node in tree.walk():
        if not isinstance(node, ALLOWED):
            raise ValueError(
                "row filter may use only columns, literals, comparisons, AND/OR/NOT, IN, BETWEEN, "
                "LIKE and IS NULL"
            )
        if isinstance(node, exp.Column) and (node.table or node.name.lower() not in columns):
            raise ValueError("row filter names a column that is not in the table")
    return tree.sql(dialect="duckdb")
