"""The grammar of aggregate arguments: what may stand inside ``sum(...)``, ``avg(...)``, ``count(...)``.

An aggregate over a group must depend on every row of the group in the same way, or its value is the
aggregate of a sub-cell that k never counted (``sum(CASE WHEN age = 99 THEN income END)`` is one person's
income). So an argument is a *uniform* expression of its row: columns, constants, ``+``/``-``, negation,
multiplication and division by constants, widening numeric casts, ``abs`` of a column and ``coalesce``
with constants. Comparisons, booleans, step functions (floor, round, greatest, %, //) and products of two
columns are refused: each can zero out (or single out) most rows. Conditions are allowed only as the
condition of ``FILTER (WHERE c)``, ``CASE WHEN c THEN <uniform> [ELSE <uniform>] END`` or ``IF(c, ...)``;
they are collected so the rewrite can count the units on both sides of ``c``.

The scale of the constants is bounded so no value of realistic data can overflow (``stddev(income * 1e300)``
would turn into an error or ``inf`` row by row).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from common.errors import PolicyViolation
from policies.checker.context import Label, refuse
from policies.checker.families import NUM, family

MAX_LITERAL = 1e12  # largest constant inside an aggregate argument
MAX_SCALE = 1e6  # largest factor a column may be multiplied by inside an aggregate argument
WIDENING_CASTS = frozenset(
    {
        exp.DataType.Type.DOUBLE,
        exp.DataType.Type.FLOAT,
        exp.DataType.Type.BIGINT,
        exp.DataType.Type.INT128,
    }
)
_BOOLEAN = (exp.Predicate, exp.Connector, exp.Not, exp.Exists, exp.Boolean)
_HINT = (
    "aggregate the column itself and put the condition in WHERE or GROUP BY (where k applies), "
    "e.g. SELECT district, sum(income) ... WHERE age >= 60 GROUP BY district"
)


def _violation(rule: str, message: str, column: str | None = None) -> PolicyViolation:
    return refuse(rule, message, column=column, clause="select", hint=_HINT)


def _too_large() -> PolicyViolation:
    return _violation("aggregate_argument", f"constants inside aggregates are limited to {MAX_LITERAL:g}")


def number(node: exp.Expression) -> float | None:
    """The value of a numeric constant (parentheses and signs allowed), else None.

    >>> import sqlglot
    >>> number(sqlglot.parse_one("-(2.5)")), number(sqlglot.parse_one("a"))
    (-2.5, None)
    """
    sign = 1.0
    while isinstance(node, (exp.Paren, exp.Neg)):
        sign = -sign if isinstance(node, exp.Neg) else sign
        node = node.this
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return sign * float(node.this)
        except ValueError:
            return None
    return None


class ArgForm:
    """Walk one aggregate argument; ``conditions`` collects (holder, arg key) of the conditions met."""

    def __init__(self, label_of: Callable[[exp.Column], Label | None]) -> None:
        self.label_of = label_of
        self.conditions: list[tuple[exp.Expression, str]] = []

    def check(self, node: exp.Expression) -> None:
        scale = self.scale(node)
        if scale > MAX_SCALE:
            raise _violation(
                "aggregate_argument",
                f"an aggregate argument multiplies a column by more than {MAX_SCALE:g}",
            )

    def scale(self, node: exp.Expression) -> float:
        """The largest factor a column is multiplied by in ``node`` (0 for constants)."""
        value = number(node)
        if value is not None:
            if abs(value) > MAX_LITERAL:
                raise _violation(
                    "aggregate_argument", f"constants inside aggregates are limited to {MAX_LITERAL:g}"
                )
            return 0.0
        if isinstance(node, exp.Paren):
            return self.scale(node.this)
        if isinstance(node, exp.Column):
            label = self.label_of(node)
            if label is not None and label.shaped:
                raise _violation(
                    "conditional_aggregate",
                    f"`{node.name}` was computed with a condition or step function in a subquery; "
                    "aggregating it aggregates a sub-cell",
                    label.column,
                )
            return 1.0
        if isinstance(node, (exp.Null, exp.Star)) or isinstance(node, exp.Literal):
            return 0.0
        if isinstance(node, exp.Distinct):
            return max((self.scale(e) for e in node.expressions), default=0.0)
        if isinstance(node, (exp.Add, exp.Sub)):
            return max(self.scale(node.this), self.scale(node.expression))
        if isinstance(node, exp.Neg):
            return self.scale(node.this)
        if isinstance(node, exp.Mul):
            return self._product(node)
        if isinstance(node, exp.Div):
            divisor = number(node.expression)
            if divisor is None or abs(divisor) < 1 / MAX_SCALE:
                raise _violation(
                    "aggregate_argument",
                    "inside an aggregate a value may be divided only by a constant (at least 1e-6)",
                )
            return self.scale(node.this) / abs(divisor)
        return self._function(node)

    def _product(self, node: exp.Mul) -> float:
        left, right = number(node.this), number(node.expression)
        if left is None and right is None:
            raise _violation(
                "conditional_aggregate",
                "inside an aggregate a value may be multiplied only by a constant: a product with another "
                "column or a boolean can zero out most rows",
            )
        if left is not None and right is not None:
            return 0.0
        factor, other = (left, node.expression) if left is not None else (right, node.this)
        if abs(factor) > MAX_LITERAL:
            raise _violation(
                "aggregate_argument", f"constants inside aggregates are limited to {MAX_LITERAL:g}"
            )
        return self.scale(other) * abs(factor)

    def _function(self, node: exp.Expression) -> float:
        if isinstance(node, exp.Cast):
            inner = node.this
            while isinstance(inner, exp.Paren):
                inner = inner.this
            if isinstance(inner, _BOOLEAN):
                raise _violation(
                    "conditional_aggregate",
                    "a condition cast to a number inside an aggregate counts a sub-cell k does not count",
                )
            scale = self.scale(node.this)
            to = node.args.get("to")
            source = family(node.this, lambda c: lab.family if (lab := self.label_of(c)) else None)
            if source not in (NUM, None) or (source is None and not isinstance(inner, exp.Column)):
                raise _violation(
                    "aggregate_argument",
                    "inside an aggregate only numbers may be cast: a text or date cast makes some rows NULL",
                )
            if to is None or to.this not in WIDENING_CASTS:
                raise _violation(
                    "aggregate_argument",
                    "inside an aggregate only widening casts (DOUBLE, FLOAT, BIGINT, HUGEINT) are allowed: "
                    "a narrowing cast turns some rows into NULL",
                )
            return scale
        if isinstance(node, exp.Abs):
            inner = node.this
            while isinstance(inner, exp.Paren):
                inner = inner.this
            if not isinstance(inner, exp.Column):
                raise _violation(
                    "conditional_aggregate",
                    "inside an aggregate abs() may only wrap a column: abs(x - c) builds a step function",
                )
            return self.scale(inner)
        if isinstance(node, exp.Coalesce):
            if any(number(e) is None and not isinstance(e, exp.Null) for e in node.expressions):
                raise _violation(
                    "conditional_aggregate",
                    "inside an aggregate coalesce() may only fall back to constants",
                )
            return self.scale(node.this)
        if isinstance(node, exp.Case):
            return self._case(node)
        if isinstance(node, exp.If):
            self.conditions.append((node, "this"))
            return max(self.scale(node.args["true"]), self.scale(node.args.get("false") or exp.null()))
        if isinstance(node, _BOOLEAN):
            raise _violation(
                "conditional_aggregate",
                "comparisons and booleans inside an aggregate make a sub-cell that k does not count",
            )
        raise _violation(
            "aggregate_argument",
            f"{type(node).__name__.lower()} is not allowed inside an aggregate: only columns, constants, "
            "arithmetic with constants, widening casts, abs(column) and coalesce(column, constant)",
        )

    def _case(self, node: exp.Case) -> float:
        if node.args.get("this") is not None:
            raise _violation(
                "conditional_aggregate",
                "inside an aggregate write CASE WHEN <condition> THEN ... END, not CASE <value> WHEN ...",
            )
        scale = 0.0
        for branch in node.args.get("ifs") or []:
            self.conditions.append((branch, "this"))
            scale = max(scale, self.scale(branch.args["true"]))
        default = node.args.get("default")
        return max(scale, self.scale(default)) if default is not None else scale
