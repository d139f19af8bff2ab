"""Coarse value types ("families") of expressions, from the catalog's column types: enough to refuse the
comparisons DuckDB would answer with a data-dependent conversion error (``street = 5`` casts every street
to a number and fails on the first non-numeric one), without the cost of sqlglot's full type annotation."""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from common.types import NUMERIC_TYPES

NUM, TEXT, DATE, BOOL, STRLIT = "num", "text", "date", "bool", "strlit"

_TEXT_TYPES = frozenset({"VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR", "NVARCHAR", "UUID"})
_DATE_TYPES = frozenset({"DATE", "TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE", "TIME", "DATETIME"})
_TO_TEXT = (
    exp.Lower,
    exp.Upper,
    exp.Concat,
    exp.ConcatWs,
    exp.DPipe,
    exp.Substring,
    exp.Left,
    exp.Right,
    exp.Trim,
    exp.TimeToStr,
)
_TO_NUM = (
    exp.Length,
    exp.Year,
    exp.Month,
    exp.Quarter,
    exp.Day,
    exp.Extract,
    exp.Count,
    exp.Sum,
    exp.Avg,
    exp.Stddev,
    exp.StddevPop,
    exp.StddevSamp,
    exp.Variance,
    exp.VariancePop,
    exp.ApproxDistinct,
    exp.Round,
    exp.Abs,
    exp.Floor,
    exp.Ceil,
    exp.Mul,
    exp.Div,
    exp.IntDiv,
    exp.Mod,
)
_TO_BOOL = (exp.Predicate, exp.Connector, exp.Not, exp.Exists)
_FIRST_ARG = (exp.Coalesce, exp.Nullif, exp.Least, exp.Greatest, exp.Min, exp.Max, exp.Paren, exp.Neg)


def family_of_type(type_name: str | None) -> str | None:
    """The family of a catalog type name.

    >>> [family_of_type(t) for t in ("VARCHAR", "DECIMAL(15,2)", "DATE", "BLOB")]
    ['text', 'num', 'date', None]
    """
    if not type_name:
        return None
    base = type_name.upper().split("(")[0].strip()
    if base in NUMERIC_TYPES or base in {"NUMERIC", "INT", "INT4", "INT8", "FLOAT8", "FLOAT4"}:
        return NUM
    if base in _TEXT_TYPES:
        return TEXT
    if base in _DATE_TYPES:
        return DATE
    if base == "BOOLEAN":
        return BOOL
    return None


def family(node: exp.Expression, of_column: Callable[[exp.Column], str | None]) -> str | None:
    """The family of ``node``; ``of_column`` gives the family of a column reference.

    >>> import sqlglot
    >>> family(sqlglot.parse_one("lower(a) || 'x'"), lambda c: None), family(sqlglot.parse_one("'x'"), None)
    ('text', 'strlit')
    """
    if isinstance(node, exp.Column):
        return of_column(node)
    if isinstance(node, exp.Literal):
        return STRLIT if node.is_string else NUM
    if isinstance(node, exp.Cast):
        to = node.args.get("to")
        return family_of_type(to.sql(dialect="duckdb")) if to is not None else None
    if isinstance(node, _TO_TEXT):
        return TEXT
    if isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)):
        return DATE
    if isinstance(node, _TO_BOOL):
        return BOOL
    if isinstance(node, _TO_NUM):
        return NUM
    if isinstance(node, (exp.Add, exp.Sub)):
        sides = {family(node.this, of_column), family(node.expression, of_column)}
        return DATE if DATE in sides else NUM
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("date_part", "datepart"):
        return NUM
    if isinstance(node, _FIRST_ARG):
        return family(node.this, of_column)
    if isinstance(node, exp.If):
        return family(node.args["true"], of_column)
    if isinstance(node, exp.Case):
        ifs = node.args.get("ifs") or []
        return family(ifs[0].args["true"], of_column) if ifs else None
    return None


def mismatch(families: list[str | None]) -> bool:
    """True when DuckDB would cast a text *column* to a number/date/boolean at run time (data-dependent).

    >>> mismatch(["text", "num"]), mismatch(["num", "strlit"]), mismatch(["text", "strlit"])
    (True, False, False)
    """
    return TEXT in families and any(f in (NUM, DATE, BOOL) for f in families)
